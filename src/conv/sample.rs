//! The floating-point sample types the convolution core works in, and the per-thread FFT-plan
//! cache.
//!
//! Runs on whichever thread calls it; setup only (planning allocates).
//!
//! `Sample` is implemented for `f32` (the streaming engine's default: twice the SIMD width) and
//! `f64` (the one-shot `convolve` command: numpy parity). Each type keeps a [`FftCache`] in a
//! thread-local: a `RealFftPlanner` (realfft caches plans by length inside it), so repeated calls
//! of the same length reuse the plan without any lock, and the work buffers of the last call.
//! Reusing buffers matters more than it looks: on a virtual machine a freshly mapped page costs
//! about 2 us to fault in, which for a 16k-point convolution is more than the FFTs themselves.

use std::cell::RefCell;
use std::fmt::{Debug, Display, LowerExp};
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::num_traits::Float;
use realfft::{ComplexToReal, FftNum, RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use super::split_fft::SplitFft;

/// Per-thread FFT state: the planners and reusable work buffers.
pub struct FftCache<T: FftNum> {
    /// Real-input plans by length.
    pub planner: RealFftPlanner<T>,
    /// Complex plans by length (the N-d transforms' outer axes).
    pub complex: FftPlanner<T>,
    /// Time-domain block.
    pub time: Vec<T>,
    /// The kernel's spectrum.
    pub kernel: Vec<Complex<T>>,
    /// A block's spectrum.
    pub spectrum: Vec<Complex<T>>,
    /// FFT scratch.
    pub scratch: Vec<Complex<T>>,
    /// The streaming engine's split transforms by length (see [`shared_split_fft`]).
    split: Vec<(usize, Arc<SplitFft<T>>)>,
}

impl<T: FftNum> FftCache<T> {
    fn new() -> Self {
        FftCache {
            planner: RealFftPlanner::new(),
            complex: FftPlanner::new(),
            time: Vec::new(),
            kernel: Vec::new(),
            spectrum: Vec::new(),
            scratch: Vec::new(),
            split: Vec::new(),
        }
    }

    /// Frees buffers above `max_len` samples so a one-off huge call does not pin its memory to
    /// the thread.
    pub fn trim(&mut self, max_len: usize) {
        if self.time.capacity() > max_len {
            self.time = Vec::new();
        }
        for buffer in [&mut self.kernel, &mut self.spectrum, &mut self.scratch] {
            if buffer.capacity() > max_len {
                *buffer = Vec::new();
            }
        }
    }
}

/// A real sample type the convolution core can compute in.
pub trait Sample: FftNum + Float + Default + Display + LowerExp + Debug {
    /// Converts from f64, rounding to the nearest representable value.
    fn of_f64(x: f64) -> Self;
    /// Converts to f64 exactly.
    fn as_f64(self) -> f64;
    /// Runs `f` with this thread's FFT cache for this sample type. `f` must not call back into
    /// `with_cache` (the cache is borrowed for the duration).
    fn with_cache<R>(f: impl FnOnce(&mut FftCache<Self>) -> R) -> R;
    /// The streaming real FFT's untangling pass ([`super::split_fft`]): portable, or the
    /// vector version the type has.
    fn untangle(z: &[Complex<Self>], cos: &[Self], sin: &[Self], re: &mut [Self], im: &mut [Self]) {
        super::split_fft::untangle(z, cos, sin, re, im, 0);
    }
    /// The streaming inverse real FFT's tangling pass, as [`Sample::untangle`].
    fn tangle(re: &[Self], im: &[Self], cos: &[Self], sin: &[Self], z: &mut [Complex<Self>]) {
        super::split_fft::tangle(re, im, cos, sin, z, 0);
    }
}

thread_local! {
    static CACHE_F32: RefCell<FftCache<f32>> = RefCell::new(FftCache::new());
    static CACHE_F64: RefCell<FftCache<f64>> = RefCell::new(FftCache::new());
}

impl Sample for f32 {
    fn of_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    fn with_cache<R>(f: impl FnOnce(&mut FftCache<Self>) -> R) -> R {
        CACHE_F32.with(|c| f(&mut c.borrow_mut()))
    }
    fn untangle(z: &[Complex<Self>], cos: &[Self], sin: &[Self], re: &mut [Self], im: &mut [Self]) {
        super::simd::untangle_f32(z, cos, sin, re, im);
    }
    fn tangle(re: &[Self], im: &[Self], cos: &[Self], sin: &[Self], z: &mut [Complex<Self>]) {
        super::simd::tangle_f32(re, im, cos, sin, z);
    }
}

impl Sample for f64 {
    fn of_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn with_cache<R>(f: impl FnOnce(&mut FftCache<Self>) -> R) -> R {
        CACHE_F64.with(|c| f(&mut c.borrow_mut()))
    }
}

/// The forward real FFT of length `n`, from this thread's planner: every part of convoy that
/// transforms (the engines, the N-d and 2-D paths, denoise, filter design, the plots) plans
/// through here, so a length planned once on a thread is a lookup after that.
pub fn real_forward<T: Sample>(n: usize) -> Arc<dyn RealToComplex<T>> {
    T::with_cache(|c| c.planner.plan_fft_forward(n))
}

/// The inverse real FFT of length `n` (unnormalized), from this thread's planner.
pub fn real_inverse<T: Sample>(n: usize) -> Arc<dyn ComplexToReal<T>> {
    T::with_cache(|c| c.planner.plan_fft_inverse(n))
}

/// The complex FFT of length `n`, forward or inverse (unnormalized), from this thread's
/// planner.
pub fn complex_fft<T: Sample>(n: usize, inverse: bool) -> Arc<dyn Fft<T>> {
    T::with_cache(|c| {
        if inverse {
            c.complex.plan_fft_inverse(n)
        } else {
            c.complex.plan_fft_forward(n)
        }
    })
}

/// This thread's split transform of length `len`, made by `make` the first time (a few
/// lengths per run: a linear search).
pub fn shared_split_fft<T: Sample>(
    len: usize,
    make: impl FnOnce() -> SplitFft<T>,
) -> Arc<SplitFft<T>> {
    let found = T::with_cache(|c| {
        c.split
            .iter()
            .find(|(l, _)| *l == len)
            .map(|(_, f)| Arc::clone(f))
    });
    found.unwrap_or_else(|| {
        // Made outside the cache's borrow: planning goes through the cache too.
        let made = Arc::new(make());
        T::with_cache(|c| c.split.push((len, Arc::clone(&made))));
        made
    })
}
