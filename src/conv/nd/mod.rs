//! N-d convolution with scipy's semantics: `scipy.signal.convolve` / `correlate` (modes full,
//! same, valid), `scipy.signal.convolve2d` (boundary fill / symm / wrap) and
//! `scipy.ndimage.convolve` (modes reflect / mirror / nearest / wrap / constant, origin).
//!
//! Every one of them is "extend the input by a boundary rule, then take the valid correlation
//! with the (flipped) kernel": [`pad`] does the first, [`correlate_valid`] the second, by
//! direct sums (row by row, the inner loop a contiguous multiply-add), by two 1-D passes for a
//! separable (rank-1) 2-D kernel, or by FFT (`fft`) when that is cheaper.
//!
//! Layout: `array` (the array, its indexing and extension), `direct` (the sums), `fft` (the
//! transforms); this file chooses between them by cost and holds scipy's entry points. Neither
//! `direct` nor `fft` knows the other, so there is no cycle.

mod array;
mod batch;
mod direct;
mod fft;

pub(crate) use array::advance;
pub use array::{Nd, pad};
pub use batch::{apply_over_axes, normalize_axes, shape_tuple};
pub use direct::{Taps, direct_valid};
use direct::{all_finite, direct2d_zero, separable, separable_valid};

use crate::conv::Method;
use crate::conv::cost::oneshot as cost;
use crate::error::{Error, Result};

pub use super::boundary::Extend;
// The output mode is the 1-D one; here `same` has scipy.signal's N-d meaning (the first
// input's shape, centred at (M-1)/2).
pub use super::mode::Mode;

/// The valid correlation `y[i] = sum_j k[j] x[i + j]`, shape `x.shape - k.shape + 1` (every
/// axis of `x` at least as long as `k`'s). Picks direct sums, separable passes or the FFT by
/// cost; non-finite values go direct (a transform would smear one NaN over every output, and
/// two passes would miss where the kernel's zeros stop it).
pub fn correlate_valid(x: &Nd, k: &Nd, taps: Taps) -> Nd {
    correlate_valid_by(x, k, taps, Method::Auto)
}

/// [`correlate_valid`] with the method forced (`--method direct|fft`) or chosen by cost.
fn correlate_valid_by(x: &Nd, k: &Nd, taps: Taps, method: Method) -> Nd {
    match method {
        Method::Direct => return direct_valid(x, k, taps),
        Method::Fft => return fft::correlate_valid(x, k),
        Method::Auto => {}
    }
    if !(all_finite(x) && all_finite(k)) {
        return direct_valid(x, k, taps);
    }
    let out_shape: Vec<usize> = (0..x.ndim()).map(|a| x.shape[a] + 1 - k.shape[a]).collect();
    let outputs: usize = out_shape.iter().product();
    let direct_cost = cost::nd_direct_ns(outputs, k.len());
    if let Some((u, v)) = separable(k) {
        let pass_cost = cost::nd_separable_ns(outputs, u.len() + v.len());
        if pass_cost < direct_cost && pass_cost < cost::nd_fft_ns(&x.shape) {
            return separable_valid(x, &u, &v);
        }
    }
    if cost::nd_fft_ns(&x.shape) < direct_cost {
        return fft::correlate_valid(x, k);
    }
    direct_valid(x, k, taps)
}

/// `valid` needs one input at least as large as the other on every axis (scipy swaps them).
fn valid_swap(x: &Nd, k: &Nd) -> Result<bool> {
    let x_ge = x.shape.iter().zip(&k.shape).all(|(a, b)| a >= b);
    let k_ge = x.shape.iter().zip(&k.shape).all(|(a, b)| a <= b);
    match (x_ge, k_ge) {
        (true, _) => Ok(false),
        (false, true) => Ok(true),
        _ => Err(Error::Usage(format!(
            "--mode valid needs one input at least as large as the other on every axis ({} and {}; scipy: For 'valid' mode, one must be at least as large as the other in every dimension)",
            x.shape_text(),
            k.shape_text()
        ))),
    }
}

fn check_dims(x: &Nd, k: &Nd) -> Result<()> {
    if x.ndim() != k.ndim() {
        return Err(Error::Usage(format!(
            "the signal is {}-D ({}) but the kernel is {}-D ({}): their dimensions must match (scipy: in1 and in2 should have the same dimensionality)",
            x.ndim(),
            x.shape_text(),
            k.ndim(),
            k.shape_text()
        )));
    }
    if x.is_empty() || k.is_empty() {
        return Err(Error::Usage(
            "an input is empty (numpy: a cannot be empty / v cannot be empty)".into(),
        ));
    }
    Ok(())
}

/// The full convolution of `x` extended by `ext` (before and after every axis by `k - 1`),
/// cut to `mode` as scipy does: `same` is centred on the first input (start `(M-1)/2`),
/// `valid` keeps what needs no extension.
fn convolve_with(x: &Nd, k: &Nd, mode: Mode, ext: Extend, method: Method) -> Result<Nd> {
    check_dims(x, k)?;
    let nd = x.ndim();
    if mode == Mode::Valid {
        let (a, b) = if valid_swap(x, k)? { (k, x) } else { (x, k) };
        return Ok(correlate_valid_by(
            a,
            &b.flipped(),
            Taps::signal(a, b),
            method,
        ));
    }
    let m1: Vec<usize> = k.shape.iter().map(|m| m - 1).collect();
    // `same` is the full output from (M-1)/2 on: extend by only what that window reads.
    let (before, after): (Vec<usize>, Vec<usize>) = match mode {
        Mode::Full => (m1.clone(), m1),
        _ => (0..nd).map(|a| (m1[a] - m1[a] / 2, m1[a] / 2)).unzip(),
    };
    let taps = Taps::signal(x, k);
    Ok(correlate_extended_by(
        x,
        &before,
        &after,
        ext,
        &k.flipped(),
        taps,
        method,
    ))
}

/// The valid correlation of `x` extended by `before`/`after` under `ext` with `k`. A zero
/// extension is never materialized: the direct 2-D sums skip what lies outside, and the FFT
/// places `x` at its offset in the transform.
pub fn correlate_extended(
    x: &Nd,
    before: &[usize],
    after: &[usize],
    ext: Extend,
    k: &Nd,
    taps: Taps,
) -> Nd {
    correlate_extended_by(x, before, after, ext, k, taps, Method::Auto)
}

/// [`correlate_extended`] with the method forced or chosen by cost.
fn correlate_extended_by(
    x: &Nd,
    before: &[usize],
    after: &[usize],
    ext: Extend,
    k: &Nd,
    taps: Taps,
    method: Method,
) -> Nd {
    let zero = ext == Extend::Constant(0.0);
    let ext_shape: Vec<usize> = (0..x.ndim())
        .map(|a| x.shape[a] + before[a] + after[a])
        .collect();
    match method {
        Method::Direct if zero && x.ndim() == 2 => {
            return direct2d_zero(x, before, after, k, taps);
        }
        Method::Direct => return direct_valid(&pad(x, before, after, ext), k, taps),
        Method::Fft if zero => return fft::correlate_valid_offset(x, before, &ext_shape, k),
        Method::Fft => return fft::correlate_valid(&pad(x, before, after, ext), k),
        Method::Auto => {}
    }
    if !zero {
        return correlate_valid(&pad(x, before, after, ext), k, taps);
    }
    if !(all_finite(x) && all_finite(k)) {
        return if x.ndim() == 2 {
            direct2d_zero(x, before, after, k, taps)
        } else {
            direct_valid(&pad(x, before, after, ext), k, taps)
        };
    }
    let outputs: usize = (0..x.ndim())
        .map(|a| ext_shape[a] + 1 - k.shape[a])
        .product();
    let direct_cost = cost::nd_direct_ns(outputs, k.len());
    // Separable kernels take correlate_valid's two 1-D passes over the materialized extension.
    if separable(k).is_none() {
        if x.ndim() == 2 && direct_cost <= cost::nd_fft_ns(&ext_shape) {
            return direct2d_zero(x, before, after, k, taps);
        }
        if cost::nd_fft_ns(&ext_shape) < direct_cost {
            return fft::correlate_valid_offset(x, before, &ext_shape, k);
        }
    }
    correlate_valid(&pad(x, before, after, ext), k, taps)
}

/// scipy.signal.convolve(x, k, mode).
pub fn convolve(x: &Nd, k: &Nd, mode: Mode) -> Result<Nd> {
    convolve_with(x, k, mode, Extend::Constant(0.0), Method::Auto)
}

/// scipy.signal.correlate(x, k, mode): convolution with `k` reversed on every axis.
pub fn correlate(x: &Nd, k: &Nd, mode: Mode) -> Result<Nd> {
    correlate_by(x, k, mode, Method::Auto)
}

fn correlate_by(x: &Nd, k: &Nd, mode: Mode, method: Method) -> Result<Nd> {
    check_dims(x, k)?;
    if mode == Mode::Valid && valid_swap(x, k)? {
        // scipy correlates the larger with the smaller and reverses the result.
        let z = correlate_valid_by(k, x, Taps::signal(x, k), method);
        return Ok(z.flipped());
    }
    convolve_with(x, &k.flipped(), mode, Extend::Constant(0.0), method)
}

/// scipy.signal.convolve2d(x, k, mode, boundary): the boundary rule changes values, the shape
/// comes from the mode (`valid` needs no boundary).
pub fn convolve2d(x: &Nd, k: &Nd, mode: Mode, boundary: Extend) -> Result<Nd> {
    convolve2d_by(x, k, mode, boundary, Method::Auto)
}

fn convolve2d_by(x: &Nd, k: &Nd, mode: Mode, boundary: Extend, method: Method) -> Result<Nd> {
    if x.ndim() != 2 || k.ndim() != 2 {
        return Err(Error::Usage(format!(
            "--boundary symmetric|wrap|fill is scipy.signal.convolve2d's and takes 2-D inputs ({} and {})",
            x.shape_text(),
            k.shape_text()
        )));
    }
    convolve_with(x, k, mode, boundary, method)
}

/// scipy.ndimage.convolve(x, w, mode, cval, origin): output shaped like `x`; the filter's
/// centre is `w.shape // 2 + origin` (after ndimage's own flip for convolution).
pub fn ndimage_convolve(x: &Nd, w: &Nd, mode: Extend, origin: &[i64]) -> Result<Nd> {
    ndimage_filter(x, w, mode, origin, true, Method::Auto)
}

/// scipy.ndimage.correlate(x, w, mode, cval, origin): no flip; the window of each output
/// starts `w.shape // 2 + origin` before it.
pub fn ndimage_correlate(x: &Nd, w: &Nd, mode: Extend, origin: &[i64]) -> Result<Nd> {
    ndimage_filter(x, w, mode, origin, false, Method::Auto)
}

/// ndimage's filters: extend `x` so every output has its window, then one valid correlation.
fn ndimage_filter(
    x: &Nd,
    w: &Nd,
    mode: Extend,
    origin: &[i64],
    convolve: bool,
    method: Method,
) -> Result<Nd> {
    check_dims(x, w)?;
    let nd = x.ndim();
    if origin.len() != nd {
        return Err(Error::Usage(format!(
            "--origin has {} value(s) but the arrays are {nd}-D (scipy: sequence argument must have length equal to input rank)",
            origin.len()
        )));
    }
    let mut before = Vec::with_capacity(nd);
    let mut after = Vec::with_capacity(nd);
    for a in 0..nd {
        let m = w.shape[a] as i64;
        let o = origin[a];
        if o < -(m / 2) || o > (m - 1) / 2 {
            return Err(Error::Usage(format!(
                "--origin {o} on axis {a} is outside {}..={} for a kernel of {m} (scipy: Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= (weights.shape[k]-1) // 2)",
                -(m / 2),
                (m - 1) / 2
            )));
        }
        // Correlation: the window starts m // 2 + o before each output. Convolution flips
        // the kernel and ndimage moves the origin with it (negated, and one more for an even
        // length), so there it starts (m - 1) // 2 - o before.
        let b = if convolve { (m - 1) / 2 - o } else { m / 2 + o };
        before.push(b as usize);
        after.push((m - 1 - b) as usize);
    }
    let flipped;
    let k = if convolve {
        flipped = w.flipped();
        &flipped
    } else {
        w
    };
    // ndimage's footprint: weights of at most DBL_EPSILON take no part (NI_Correlate).
    Ok(correlate_extended_by(
        x,
        &before,
        &after,
        mode,
        k,
        Taps::AboveEpsilon,
        method,
    ))
}

/// Which of scipy's N-d functions a plane goes through, with its options.
pub struct Recipe {
    /// scipy.signal's output mode.
    pub mode: Mode,
    /// Correlate instead of convolving.
    pub correlate: bool,
    /// convolve2d's boundary (`None`: zero, with the mode's shape).
    pub boundary: Option<Extend>,
    /// ndimage's mode and origin (then `mode` and `boundary` do not apply).
    pub ndimage: Option<(Extend, Vec<i64>)>,
    /// Direct sums, FFT, or whichever the cost model prefers (`--method`).
    pub method: Method,
}

impl Recipe {
    /// The result for one plane.
    ///
    /// # Errors
    /// Shapes that do not fit the recipe.
    pub fn apply(&self, x: &Nd, k: &Nd) -> Result<Nd> {
        let m = self.method;
        if let Some((pad, origin)) = &self.ndimage {
            return ndimage_filter(x, k, *pad, origin, !self.correlate, m);
        }
        match (self.boundary, self.correlate) {
            (None, false) => convolve_with(x, k, self.mode, Extend::Constant(0.0), m),
            (None, true) => correlate_by(x, k, self.mode, m),
            // With a boundary, correlation is convolve2d with the kernel flipped on both axes.
            (Some(b), false) => convolve2d_by(x, k, self.mode, b, m),
            (Some(b), true) => convolve2d_by(x, &k.flipped(), self.mode, b, m),
        }
    }
}
