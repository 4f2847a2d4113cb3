//! Stage words -> built stages: the grammar ([`spec`]), the units ([`units`]), and one file
//! per stage family, dispatched from one table (`registry`: names, help, suggestions).
//!
//! Setup only: nothing here runs per block. What a word builds is a [`crate::chain::Stage`]:
//! a linear stage (kernels and a mode, which [`crate::chain`] fuses and runs), a nonlinear
//! one, or a delay.
//!
//! ```
//! use convoy::chain::{Context, Stage};
//! use convoy::stages::{build, units::{self, Bare}};
//!
//! # fn main() -> convoy::Result<()> {
//! let ctx = Context { rate: Some(48_000), channels: 2, block: None };
//! let built = build(&"gauss:3".into(), &ctx)?;
//! assert!(matches!(built.stage, Stage::Linear(_)));
//! let typo = build(&"lowpas:3000".into(), &ctx).err().map(|e| e.to_string());
//! assert!(typo.is_some_and(|e| e.contains("lowpass"))); // "did you mean"
//! // One time parser for stage words and flags: a minute at 48 kHz, in samples.
//! assert_eq!(units::time("delay", "1m", 48_000.0, Bare::Samples), Ok(2_880_000.0));
//! # Ok(())
//! # }
//! ```

mod dehum;
mod denoise;
pub mod design;
mod fir;
mod gain_delay;
mod iir;
pub mod iir_design;
mod registry;
pub mod resample;
pub mod spec;
pub mod units;

use std::path::PathBuf;

pub use registry::{build, help, kernel_from_word};
pub use spec::{Spec, StageWord, bad_stage};

use crate::chain::{Context, Kernels, LinearStage, Stage};
use crate::conv::Mode;
use crate::error::Result;

/// A parsed, built stage and what it needs from outside.
pub struct Built {
    pub stage: Stage,
    /// Files the stage reads.
    pub reads: Vec<PathBuf>,
    /// A note for the user (a gain convoy applied).
    pub note: Option<String>,
    /// A mono stream becomes this many channels before the stage (a mono input through an
    /// N-channel IR).
    pub upmix: Option<usize>,
}

/// The linear stage `w` stands for, with these kernels and mode.
fn linear(w: &Spec, kernels: Kernels, mode: Mode) -> Stage {
    Stage::Linear(LinearStage {
        word: w.text.to_string(),
        kernels,
        mode,
    })
}

/// The stream's rate, which some stages need.
fn rate(w: &Spec, ctx: &Context) -> Result<f64> {
    ctx.rate
        .map(f64::from)
        .ok_or_else(|| w.err("needs the sample rate, and the input does not say it: give --rate"))
}

/// A time (`48ms`, `0.05s`, `1m`) or a whole number of samples, in samples (the rate is asked
/// for only when a unit needs it).
fn samples(w: &Spec, what: &str, text: &str, ctx: &Context) -> Result<f64> {
    let bare = text.trim().bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let r = if bare { 1.0 } else { rate(w, ctx)? };
    w.unit(units::time(what, text, r, units::Bare::Samples))
}

/// A kernel is not empty and every tap is finite.
pub(crate) fn check_kernel(w: &Spec, k: &[f64], what: &str) -> Result<()> {
    if k.is_empty() {
        return Err(w.err(format!("{what} is empty")));
    }
    if let Some(i) = k.iter().position(|v| !v.is_finite()) {
        return Err(w.err(format!(
            "{what} has a non-finite value ({}) at tap {i}",
            k[i]
        )));
    }
    Ok(())
}
