//! One-shot 1-D convolution and correlation with numpy's exact semantics.
//!
//! Pure math; any thread. This is what `convoy convolve` runs (in f64), and the reference the
//! streaming engine is tested against.
//!
//! Everything reduces to a window of one full convolution:
//!
//! * `convolve(a, v, mode)`: numpy swaps so the longer input comes first, then cuts `mode`'s
//!   window ([`Mode::window`]) out of the full convolution.
//! * `correlate(a, v, mode)`: the convolution of `a` with `v` reversed. When `v` is the longer,
//!   numpy computes `correlate(v, a, mode)` and reverses it, which for 'same' cuts a different
//!   window than convolving with the reversed kernel would; we do exactly what numpy does.
//! * A boundary other than zero extends the signal as `np.pad(a, (p, M - 1 - p), mode)` with
//!   `p = (M - 1) / 2` and keeps the 'valid' part: N samples, centred like 'same' (for an even M
//!   the centre is the one `scipy.ndimage.convolve1d` uses).
//!
//! The window is computed directly (only the needed outputs) or by FFT (the whole convolution,
//! then cut), whichever the cost model in [`super::fft`] says is cheaper. Non-finite inputs
//! always go direct under `Method::Auto`, because an FFT spreads one NaN over every output while
//! numpy's direct sum keeps it local. When both inputs hold only integers small enough that the
//! exact result is an integer the FFT error cannot hide, FFT outputs are rounded to it, so
//! integer data gives exactly numpy's integers whichever method runs.

use std::fmt;

use super::boundary::{self, Boundary};
use super::mode::Mode;
use super::sample::Sample;
use super::{direct, fft};
use crate::error::{Error, Result};

/// How the convolution is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Method {
    /// Direct or FFT, whichever the cost model predicts is faster (like scipy's
    /// `choose_conv_method`); direct whenever an input holds NaN or infinity.
    #[default]
    Auto,
    /// Time-domain sums: exact numpy arithmetic, O(N M).
    Direct,
    /// FFT (one transform, or overlap-add blocks when one input is much longer): O(N log M).
    Fft,
}

impl Method {
    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Auto => "auto",
            Method::Direct => "direct",
            Method::Fft => "fft",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that shapes a one-shot convolution besides the data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Output window; ignored (the output has the signal's length) when `boundary` is not zero.
    pub mode: Mode,
    /// Correlate (`np.correlate`) instead of convolving.
    pub correlate: bool,
    /// Direct, FFT, or chosen by cost.
    pub method: Method,
    /// How the signal is extended beyond its ends.
    pub boundary: Boundary,
}

/// `np.convolve(signal, kernel, mode)`, method chosen by cost.
///
/// # Errors
/// [`Error::EmptyInput`] if either input is empty (numpy raises too).
pub fn convolve<T: Sample>(signal: &[T], kernel: &[T], mode: Mode) -> Result<Vec<T>> {
    convolve_with(
        signal,
        kernel,
        &Options {
            mode,
            ..Options::default()
        },
    )
}

/// `np.correlate(signal, kernel, mode)`, method chosen by cost.
///
/// # Errors
/// [`Error::EmptyInput`] if either input is empty.
pub fn correlate<T: Sample>(signal: &[T], kernel: &[T], mode: Mode) -> Result<Vec<T>> {
    convolve_with(
        signal,
        kernel,
        &Options {
            mode,
            correlate: true,
            ..Options::default()
        },
    )
}

/// The general entry point: convolution or correlation, any mode, method and boundary.
///
/// # Errors
/// [`Error::EmptyInput`] if either input is empty.
pub fn convolve_with<T: Sample>(signal: &[T], kernel: &[T], options: &Options) -> Result<Vec<T>> {
    if signal.is_empty() {
        return Err(Error::EmptyInput { what: "signal" });
    }
    if kernel.is_empty() {
        return Err(Error::EmptyInput { what: "kernel" });
    }
    let method = options.method;
    if options.boundary != Boundary::Zero {
        let m = kernel.len();
        let before = (m - 1) / 2;
        let extended = boundary::pad(signal, before, m - 1 - before, options.boundary);
        // The extended signal is at least as long as the kernel, so no swap happens here.
        return Ok(if options.correlate {
            let reversed: Vec<T> = kernel.iter().rev().copied().collect();
            window(&extended, &reversed, Mode::Valid, method)
        } else {
            window(&extended, kernel, Mode::Valid, method)
        });
    }
    if !options.correlate {
        let (long, short) = longer_first(signal, kernel);
        return Ok(window(long, short, options.mode, method));
    }
    if signal.len() >= kernel.len() {
        let reversed: Vec<T> = kernel.iter().rev().copied().collect();
        Ok(window(signal, &reversed, options.mode, method))
    } else {
        let reversed: Vec<T> = signal.iter().rev().copied().collect();
        let mut out = window(kernel, &reversed, options.mode, method);
        out.reverse();
        Ok(out)
    }
}

fn longer_first<'a, T>(a: &'a [T], b: &'a [T]) -> (&'a [T], &'a [T]) {
    if b.len() > a.len() { (b, a) } else { (a, b) }
}

/// Which method `Auto` would pick for a `mode` convolution of lengths `a` and `b`, all samples
/// finite. Exposed for the benchmarks and `--explain`-style reporting.
pub fn auto_method(a: usize, b: usize, mode: Mode) -> Method {
    let (n, m) = (a.max(b), a.min(b));
    let (start, len) = mode.window(n, m);
    if direct_is_cheaper(n, m, start, len, fft::plan(n, m)) {
        Method::Direct
    } else {
        Method::Fft
    }
}

/// The `mode` window of the full convolution of `long` and `short` (`long.len() >= short.len()`).
fn window<T: Sample>(long: &[T], short: &[T], mode: Mode, method: Method) -> Vec<T> {
    let (n, m) = (long.len(), short.len());
    let (start, len) = mode.window(n, m);
    let plan = fft::plan(n, m);
    let direct = || {
        let mut out = vec![T::zero(); len];
        direct::convolve_range(long, short, start, &mut out);
        out
    };
    let mut full = match method {
        Method::Direct => return direct(),
        Method::Fft => fft::convolve_full_with(long, short, plan),
        Method::Auto => {
            if direct_is_cheaper(n, m, start, len, plan) {
                return direct();
            }
            // An FFT would spread a NaN or infinity over every output; numpy's direct sums keep
            // it where it belongs. The FFT notices non-finite input on its way through.
            let (full, finite) = fft::convolve_full_checked(long, short, plan);
            if !finite {
                return direct();
            }
            full
        }
    };
    if exact_integer_result(long, short, plan.nfft) {
        for y in full.iter_mut() {
            // `+ 0` turns a rounded -0 into 0, as the exact integer sum would be.
            *y = y.round() + T::zero();
        }
    }
    full.truncate(start + len);
    full.drain(..start);
    full
}

fn direct_is_cheaper(n: usize, m: usize, start: usize, len: usize, plan: fft::FftPlan) -> bool {
    let macs = overlap_prefix(n, m, start + len) - overlap_prefix(n, m, start);
    // Outputs on the ramps (partial overlap) run their edge taps on the scalar path: about
    // half of min(m, 16) taps each.
    let overlap = |lo: usize, hi: usize| (start + len).min(hi).saturating_sub(start.max(lo));
    let ramp_outputs = overlap(0, m - 1) + overlap(n, n + m - 1);
    let partial_macs = ramp_outputs as f64 * m.min(16) as f64 / 2.0;
    fft::direct_cost(macs, partial_macs, len) <= plan.cost()
}

/// Number of products in samples `0..k` of the full convolution of lengths `n >= m`: sample `j`
/// takes `min(j + 1, m, n + m - 1 - j)` of them (a ramp up, a plateau, a ramp down).
fn overlap_prefix(n: usize, m: usize, k: usize) -> f64 {
    let (n, m, k) = (n as f64, m as f64, k as f64);
    let rising = k.min(m);
    let plateau = (k.min(n) - m).max(0.0);
    let falling = (k - n).max(0.0);
    rising * (rising + 1.0) / 2.0 + plateau * m + falling * (m - 1.0)
        - falling * (falling - 1.0) / 2.0
}

/// True when both inputs are integers and the result is small enough that the FFT's rounding
/// error (a few ulps of the largest output per log2 of the length) stays far below 0.5.
fn exact_integer_result<T: Sample>(x: &[T], h: &[T], nfft: usize) -> bool {
    let integral = |v: &[T]| v.iter().all(|s| s.is_finite() && s.fract() == T::zero());
    if !integral(x) || !integral(h) {
        return false;
    }
    let peak = |v: &[T]| v.iter().fold(0.0f64, |a, s| a.max(s.as_f64().abs()));
    let sum_abs = |v: &[T]| v.iter().map(|s| s.as_f64().abs()).sum::<f64>();
    let bound = (peak(x) * sum_abs(h)).min(peak(h) * sum_abs(x));
    let eps = T::epsilon().as_f64();
    bound * eps * 64.0 * (nfft as f64).log2().max(1.0) < 0.25
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_prefix_counts_products() {
        for n in 1..15usize {
            for m in 1..=n {
                let mut acc = 0.0;
                for k in 0..=(n + m - 1) {
                    assert_eq!(overlap_prefix(n, m, k), acc, "n={n} m={m} k={k}");
                    if k < n + m - 1 {
                        acc += (k + 1).min(m).min(n + m - 1 - k) as f64;
                    }
                }
            }
        }
    }

    #[test]
    fn integer_rounding_is_exact() {
        let x: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 201) as f64 - 100.0)
            .collect();
        let h: Vec<f64> = (0..3000)
            .map(|i| ((i * 104729) % 61) as f64 - 30.0)
            .collect();
        let opts = |method| Options {
            method,
            ..Options::default()
        };
        let d = convolve_with(&x, &h, &opts(Method::Direct)).unwrap();
        let f = convolve_with(&x, &h, &opts(Method::Fft)).unwrap();
        assert_eq!(d, f);
    }

    #[test]
    fn empty_inputs_are_errors() {
        assert!(convolve::<f64>(&[], &[1.0], Mode::Full).is_err());
        assert!(correlate::<f64>(&[1.0], &[], Mode::Full).is_err());
    }
}
