//! The floating-point sample types the convolution core works in, and the per-thread FFT-plan
//! cache.
//!
//! Runs on whichever thread calls it; setup only (planning allocates).
//!
//! `Sample` is implemented for `f32` (the streaming engine's default: twice the SIMD width) and
//! `f64` (the one-shot `convolve` command: numpy parity). Each type keeps its own
//! `RealFftPlanner` in a thread-local, so repeated calls of the same length reuse the plan (realfft
//! caches plans by length inside the planner) without any lock.

use std::cell::RefCell;
use std::fmt::{Debug, Display, LowerExp};

use realfft::num_traits::Float;
use realfft::{FftNum, RealFftPlanner};

/// A real sample type the convolution core can compute in.
pub trait Sample: FftNum + Float + Default + Display + LowerExp + Debug {
    /// Converts from f64, rounding to the nearest representable value.
    fn of_f64(x: f64) -> Self;
    /// Converts to f64 exactly.
    fn as_f64(self) -> f64;
    /// Runs `f` with this thread's cached FFT planner for this sample type.
    fn with_planner<R>(f: impl FnOnce(&mut RealFftPlanner<Self>) -> R) -> R;
}

thread_local! {
    static PLANNER_F32: RefCell<RealFftPlanner<f32>> = RefCell::new(RealFftPlanner::new());
    static PLANNER_F64: RefCell<RealFftPlanner<f64>> = RefCell::new(RealFftPlanner::new());
}

impl Sample for f32 {
    fn of_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    fn with_planner<R>(f: impl FnOnce(&mut RealFftPlanner<Self>) -> R) -> R {
        PLANNER_F32.with(|p| f(&mut p.borrow_mut()))
    }
}

impl Sample for f64 {
    fn of_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn with_planner<R>(f: impl FnOnce(&mut RealFftPlanner<Self>) -> R) -> R {
        PLANNER_F64.with(|p| f(&mut p.borrow_mut()))
    }
}
