//! The convolution core: pure math, no I/O, no threads.
//!
//! One implementation serves both the one-shot `convolve` command and the streaming stages.
//!
//! * [`mode`]: numpy's output modes and where they sit inside the full convolution.
//! * [`boundary`]: `np.pad`-style signal extension.
//! * [`direct`]: time-domain sums (the oracle, and the fast path for short kernels).
//! * [`fft`]: FFT and overlap-add convolution with a cost-modelled transform length.
//! * [`iir`]: second-order-section cascades (scipy's sosfilt, sosfiltfilt, responses).
//! * [`minphase`]: the minimum-phase kernel with a kernel's own magnitude.
//! * [`multichannel`]: shared, per-channel and true-stereo kernels over planar channels.
//! * [`nd`]: 2-D/3-D convolution with scipy.signal / scipy.ndimage semantics.
//! * [`oneshot`]: `convolve` / `correlate` with numpy semantics, choosing direct or FFT.
//! * [`partitioned`]: streaming uniform and non-uniform partitioned convolution.
//! * [`simd`]: the frequency-domain multiply-accumulate, AVX2+FMA when the CPU has it.
//! * [`split_fft`]: the streaming engine's real FFT, its spectrum split re/im.
//! * [`swap`]: replacing a running convolver's kernel with a crossfade.
//! * [`sample`]: the f32/f64 sample trait and the per-thread FFT-plan cache.

pub mod boundary;
pub mod cost;
pub mod direct;
pub mod fft;
pub mod fir;
pub mod iir;
pub mod minphase;
pub mod mode;
pub mod multichannel;
pub mod named;
pub mod nd;
pub mod oneshot;
pub mod partitioned;
pub mod sample;
pub mod simd;
pub mod split_fft;
pub mod swap;

pub use boundary::{Boundary, Extend};
pub use mode::Mode;
pub use multichannel::{MultiConvolver, Routing};
pub use oneshot::{Method, Options, auto_method, convolve, convolve_with, correlate};
pub use partitioned::{
    KernelSpectra, PartitionedConvolver, PartitionedKernel, Schedule, Segment, UniformConvolver,
};
pub use sample::Sample;
pub use swap::SwappableConvolver;
