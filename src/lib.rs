//! convoy: a streaming DSP pipeline built around an FFT-partitioned overlap-add convolver, and a
//! one-shot convolution core with numpy/scipy's exact semantics.
//!
//! Module map (data flows top to bottom):
//!
//! * [`io`]: reading arrays from text, .npy, WAV, stdin and inline lists; atomic output.
//! * [`mod@array`]: the in-memory array the one-shot commands work on.
//! * [`block`]: the planar block frames travel in between threads and steps.
//! * [`conv`]: the math: modes, boundaries, direct and FFT convolution, numpy-exact one-shot API.
//! * [`rt`]: real-time scheduling for the processing thread; fallible large allocations.
//! * [`stages`]: stage words -> stages: the grammar, units, one file per family, one table.
//! * [`chain`]: built stages fused and run, offline (exact edges) or live (fixed blocks).
//! * [`engine`]: the drivers: one input, one chain, one output, whatever each end is; stopping.
//! * [`error`]: the one error type; every message names its culprit.
//!
//! ```
//! use convoy::conv::{convolve, Mode};
//! let y = convolve(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5], Mode::Full).unwrap();
//! assert_eq!(y, [0.0, 1.0, 2.5, 4.0, 1.5]);
//! ```

pub mod array;
pub mod block;
pub mod chain;
pub mod conv;
pub mod engine;
pub mod error;
pub mod io;
pub mod plot;
pub mod restore;
pub mod rt;
pub mod stages;

pub use block::Block;
pub use conv::{Boundary, Method, Mode, Options, Sample, convolve, convolve_with, correlate};
pub use error::{Error, Result};
