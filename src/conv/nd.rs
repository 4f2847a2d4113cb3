//! N-d convolution with scipy's semantics: `scipy.signal.convolve` / `correlate` (modes full,
//! same, valid), `scipy.signal.convolve2d` (boundary fill / symm / wrap) and
//! `scipy.ndimage.convolve` (modes reflect / mirror / nearest / wrap / constant, origin).
//!
//! Every one of them is "extend the input by a boundary rule, then take the valid correlation
//! with the (flipped) kernel": [`pad`] does the first, [`correlate_valid`] the second, by
//! direct sums (row by row, the inner loop a contiguous multiply-add), by two 1-D passes for a
//! separable (rank-1) 2-D kernel, or by FFT ([`super::ndfft`]) when that is cheaper.

use crate::error::{Error, Result};

/// A dense N-d array of f64 in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct Nd {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Nd {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Nd {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Nd { shape, data }
    }

    pub fn zeros(shape: &[usize]) -> Nd {
        Nd {
            shape: shape.to_vec(),
            data: crate::rt::big_zeroed(shape.iter().product()),
        }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Strides (in elements) of each axis.
    pub fn strides(&self) -> Vec<usize> {
        strides(&self.shape)
    }

    /// The array reversed along every axis (a kernel turned into its correlation partner).
    pub fn flipped(&self) -> Nd {
        let mut data = self.data.clone();
        data.reverse();
        Nd {
            shape: self.shape.clone(),
            data,
        }
    }

    /// `shape[0]xshape[1]...` for messages.
    pub fn shape_text(&self) -> String {
        self.shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x")
    }

    /// The sub-array starting at `start` with shape `shape`.
    pub fn window(&self, start: &[usize], shape: &[usize]) -> Nd {
        let mut out = Nd::zeros(shape);
        if out.is_empty() {
            return out;
        }
        let st = self.strides();
        let last = shape.len() - 1;
        let row = shape[last];
        let mut idx = vec![0usize; shape.len()];
        let mut o = 0;
        loop {
            let base: usize = (0..shape.len()).map(|a| (start[a] + idx[a]) * st[a]).sum();
            out.data[o..o + row].copy_from_slice(&self.data[base..base + row]);
            o += row;
            if !advance(&mut idx[..last], &shape[..last]) {
                break;
            }
        }
        out
    }
}

pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// Odometer step over `shape`; false when it wraps around (done).
pub(crate) fn advance(idx: &mut [usize], shape: &[usize]) -> bool {
    for a in (0..idx.len()).rev() {
        idx[a] += 1;
        if idx[a] < shape[a] {
            return true;
        }
        idx[a] = 0;
    }
    false
}

pub use super::boundary::Extend;
// The output mode is the 1-D one; here `same` has scipy.signal's N-d meaning (the first
// input's shape, centred at (M-1)/2).
pub use super::mode::Mode;

/// `x` extended by `before[a]` / `after[a]` elements on each axis under `pad`.
pub fn pad(x: &Nd, before: &[usize], after: &[usize], pad: Extend) -> Nd {
    let shape: Vec<usize> = (0..x.ndim())
        .map(|a| x.shape[a] + before[a] + after[a])
        .collect();
    let fill = pad.constant().unwrap_or(0.0);
    let mut out = Nd {
        data: vec![fill; shape.iter().product()],
        shape,
    };
    if out.is_empty() || x.is_empty() {
        return out;
    }
    let xs = x.strides();
    let nd = x.ndim();
    let last = nd - 1;
    // Per axis, the source index of every output index.
    let maps: Vec<Vec<Option<usize>>> = (0..nd)
        .map(|a| {
            (0..out.shape[a])
                .map(|i| pad.source_index(i as isize - before[a] as isize, x.shape[a]))
                .collect()
        })
        .collect();
    let mut idx = vec![0usize; nd];
    let row = out.shape[last];
    let mut o = 0;
    loop {
        let outer: Option<usize> = (0..last).map(|a| maps[a][idx[a]].map(|s| s * xs[a])).sum();
        if let Some(base) = outer {
            let src = &x.data[base..base + x.shape[last]];
            // The middle of the row is a straight copy.
            let (b, n) = (before[last], x.shape[last]);
            out.data[o + b..o + b + n].copy_from_slice(src);
            for (i, m) in maps[last].iter().enumerate() {
                if (b..b + n).contains(&i) {
                    continue;
                }
                if let Some(s) = m {
                    out.data[o + i] = src[*s];
                }
            }
        }
        o += row;
        if !advance(&mut idx[..last], &out.shape[..last]) {
            break;
        }
    }
    out
}

/// Which kernel taps the direct sums form products for. It matters only where an input is NaN
/// or infinite (`0 * inf` is NaN), and there the libraries differ: scipy.signal multiplies
/// every tap, scipy.ndimage leaves out weights of magnitude at most `DBL_EPSILON`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taps {
    /// Every tap (scipy.signal.convolve, correlate, convolve2d).
    Every,
    /// All but exact zeros: the same result for finite inputs, and cheaper.
    NonZero,
    /// Weights above `f64::EPSILON` in magnitude only (scipy.ndimage's footprint).
    AboveEpsilon,
}

impl Taps {
    fn skips(self, w: f64) -> bool {
        match self {
            Taps::Every => false,
            Taps::NonZero => w == 0.0,
            Taps::AboveEpsilon => w.abs() <= f64::EPSILON,
        }
    }

    /// scipy.signal's rule for these inputs: exact zeros may be skipped unless a value is not
    /// finite.
    fn signal(x: &Nd, k: &Nd) -> Taps {
        if all_finite(x) && all_finite(k) {
            Taps::NonZero
        } else {
            Taps::Every
        }
    }
}

fn all_finite(x: &Nd) -> bool {
    x.data.iter().all(|v| v.is_finite())
}

/// The valid correlation `y[i] = sum_j k[j] x[i + j]`, shape `x.shape - k.shape + 1` (every
/// axis of `x` at least as long as `k`'s). Picks direct sums, separable passes or the FFT by
/// cost; non-finite values go direct (a transform would smear one NaN over every output, and
/// two passes would miss where the kernel's zeros stop it).
pub fn correlate_valid(x: &Nd, k: &Nd, taps: Taps) -> Nd {
    if !(all_finite(x) && all_finite(k)) {
        return direct_valid(x, k, taps);
    }
    let out_shape: Vec<usize> = (0..x.ndim()).map(|a| x.shape[a] + 1 - k.shape[a]).collect();
    let outputs: usize = out_shape.iter().product();
    let direct_cost = outputs as f64 * k.len() as f64;
    if let Some((u, v)) = separable(k) {
        let pass_cost = outputs as f64 * (u.len() + v.len()) as f64 * 1.5;
        if pass_cost < direct_cost && pass_cost < fft_cost(&x.shape) {
            return separable_valid(x, &u, &v);
        }
    }
    if fft_cost(&x.shape) < direct_cost {
        return super::ndfft::correlate_valid(x, k);
    }
    direct_valid(x, k, taps)
}

/// Modelled cost of an FFT correlation of an array of `shape`, in direct multiply-add units:
/// a forward and an inverse real transform of the (fast-size) padded array plus the product.
fn fft_cost(shape: &[usize]) -> f64 {
    let n: f64 = shape
        .iter()
        .map(|&d| super::fft::fast_len(d) as f64)
        .product();
    // ~2.5 units per point per log2 for the pair of transforms, measured on 2-D f64.
    n * (2.5 * n.log2().max(1.0) + 4.0)
}

/// Direct valid correlation: each output row accumulates kernel rows times contiguous input
/// slices (a multiply-add loop the compiler vectorizes).
pub fn direct_valid(x: &Nd, k: &Nd, taps: Taps) -> Nd {
    let nd = x.ndim();
    let out_shape: Vec<usize> = (0..nd).map(|a| x.shape[a] + 1 - k.shape[a]).collect();
    let mut out = Nd::zeros(&out_shape);
    if out.is_empty() {
        return out;
    }
    let (xs, ks) = (x.strides(), k.strides());
    let last = nd - 1;
    let (row, krow) = (out_shape[last], k.shape[last]);
    let mut oidx = vec![0usize; nd];
    let mut o = 0;
    loop {
        let acc = &mut out.data[o..o + row];
        let mut kidx = vec![0usize; nd];
        loop {
            let kbase: usize = (0..last).map(|a| kidx[a] * ks[a]).sum();
            let xbase: usize = (0..last).map(|a| (oidx[a] + kidx[a]) * xs[a]).sum();
            for j in 0..krow {
                let w = k.data[kbase + j];
                if taps.skips(w) {
                    continue;
                }
                let src = &x.data[xbase + j..xbase + j + row];
                for (a, s) in acc.iter_mut().zip(src) {
                    *a += w * s;
                }
            }
            if !advance(&mut kidx[..last], &k.shape[..last]) {
                break;
            }
        }
        o += row;
        if !advance(&mut oidx[..last], &out_shape[..last]) {
            break;
        }
    }
    out
}

/// A 2-D kernel that is an outer product `u v^T`, as `(u, v)`.
fn separable(k: &Nd) -> Option<(Vec<f64>, Vec<f64>)> {
    if k.ndim() != 2 || k.shape[0] < 2 || k.shape[1] < 2 {
        return None;
    }
    let (r, c) = (k.shape[0], k.shape[1]);
    // The row with the largest entry defines v; every other row must be a multiple of it.
    let (p, _) = k
        .data
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    let (pr, pc) = (p / c, p % c);
    let pivot = k.data[p];
    if pivot == 0.0 {
        return None;
    }
    let v: Vec<f64> = k.data[pr * c..(pr + 1) * c].to_vec();
    let u: Vec<f64> = (0..r).map(|i| k.data[i * c + pc] / pivot).collect();
    let scale = pivot.abs();
    for i in 0..r {
        for j in 0..c {
            if (u[i] * v[j] - k.data[i * c + j]).abs() > 1e-12 * scale {
                return None;
            }
        }
    }
    Some((u, v))
}

/// Valid correlation with `u v^T` as a pass along rows (v) then along columns (u).
fn separable_valid(x: &Nd, u: &[f64], v: &[f64]) -> Nd {
    let (h, w) = (x.shape[0], x.shape[1]);
    let (ow, oh) = (w + 1 - v.len(), h + 1 - u.len());
    let mut tmp = vec![0.0; h * ow];
    for r in 0..h {
        let src = &x.data[r * w..(r + 1) * w];
        let dst = &mut tmp[r * ow..(r + 1) * ow];
        for (j, &wv) in v.iter().enumerate() {
            for (d, s) in dst.iter_mut().zip(&src[j..j + ow]) {
                *d += wv * s;
            }
        }
    }
    let mut out = vec![0.0; oh * ow];
    for r in 0..oh {
        let dst = &mut out[r * ow..(r + 1) * ow];
        for (i, &wu) in u.iter().enumerate() {
            for (d, s) in dst.iter_mut().zip(&tmp[(r + i) * ow..(r + i + 1) * ow]) {
                *d += wu * s;
            }
        }
    }
    Nd::new(vec![oh, ow], out)
}

/// `valid` needs one input at least as large as the other on every axis (scipy swaps them).
fn valid_swap(x: &Nd, k: &Nd) -> Result<bool> {
    let x_ge = x.shape.iter().zip(&k.shape).all(|(a, b)| a >= b);
    let k_ge = x.shape.iter().zip(&k.shape).all(|(a, b)| a <= b);
    match (x_ge, k_ge) {
        (true, _) => Ok(false),
        (false, true) => Ok(true),
        _ => Err(Error::Usage(format!(
            "--mode valid needs one input at least as large as the other on every axis ({} and {})",
            x.shape_text(),
            k.shape_text()
        ))),
    }
}

fn check_dims(x: &Nd, k: &Nd) -> Result<()> {
    if x.ndim() != k.ndim() {
        return Err(Error::Usage(format!(
            "the signal is {}-D ({}) but the kernel is {}-D ({}): their dimensions must match",
            x.ndim(),
            x.shape_text(),
            k.ndim(),
            k.shape_text()
        )));
    }
    if x.is_empty() || k.is_empty() {
        return Err(Error::Usage("an input is empty".into()));
    }
    Ok(())
}

/// The full convolution of `x` extended by `ext` (before and after every axis by `k - 1`),
/// cut to `mode` as scipy does: `same` is centred on the first input (start `(M-1)/2`),
/// `valid` keeps what needs no extension.
fn convolve_with(x: &Nd, k: &Nd, mode: Mode, ext: Extend) -> Result<Nd> {
    check_dims(x, k)?;
    let nd = x.ndim();
    if mode == Mode::Valid {
        let (a, b) = if valid_swap(x, k)? { (k, x) } else { (x, k) };
        return Ok(correlate_valid(a, &b.flipped(), Taps::signal(a, b)));
    }
    let m1: Vec<usize> = k.shape.iter().map(|m| m - 1).collect();
    // `same` is the full output from (M-1)/2 on: extend by only what that window reads.
    let (before, after): (Vec<usize>, Vec<usize>) = match mode {
        Mode::Full => (m1.clone(), m1),
        _ => (0..nd).map(|a| (m1[a] - m1[a] / 2, m1[a] / 2)).unzip(),
    };
    let taps = Taps::signal(x, k);
    Ok(correlate_extended(
        x,
        &before,
        &after,
        ext,
        &k.flipped(),
        taps,
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
    if ext != Extend::Constant(0.0) {
        return correlate_valid(&pad(x, before, after, ext), k, taps);
    }
    if !(all_finite(x) && all_finite(k)) {
        return if x.ndim() == 2 {
            direct2d_zero(x, before, after, k, taps)
        } else {
            direct_valid(&pad(x, before, after, ext), k, taps)
        };
    }
    let ext_shape: Vec<usize> = (0..x.ndim())
        .map(|a| x.shape[a] + before[a] + after[a])
        .collect();
    let outputs: usize = (0..x.ndim())
        .map(|a| ext_shape[a] + 1 - k.shape[a])
        .product();
    let direct_cost = outputs as f64 * k.len() as f64;
    // Separable kernels take correlate_valid's two 1-D passes over the materialized extension.
    if separable(k).is_none() {
        if x.ndim() == 2 && direct_cost <= fft_cost(&ext_shape) {
            return direct2d_zero(x, before, after, k, taps);
        }
        if fft_cost(&ext_shape) < direct_cost {
            return super::ndfft::correlate_valid_offset(x, before, &ext_shape, k);
        }
    }
    correlate_valid(&pad(x, before, after, ext), k, taps)
}

/// Runs `f(row index, row)` on every `row_len`-long row of `data`, the rows shared among the
/// cores when there is enough of them (each row is independent). The buffer is written here
/// first, so its pages are faulted in by this thread: page faults taken by several threads of
/// one process at once cost TLB-shootdown interrupts, which are slow in VMs.
pub(crate) fn par_rows<T: Send + Copy + Default>(
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let row_len = row_len.max(1);
    let rows = data.len() / row_len;
    let threads = if data.len() < 1 << 16 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(8)
    };
    if threads <= 1 {
        for (i, r) in data.chunks_mut(row_len).enumerate() {
            f(i, r);
        }
        return;
    }
    data.fill(T::default());
    let per = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        for (t, chunk) in data.chunks_mut(per * row_len).enumerate() {
            let f = &f;
            scope.spawn(move || {
                for (i, r) in chunk.chunks_mut(row_len).enumerate() {
                    f(t * per + i, r);
                }
            });
        }
    });
}

/// Direct 2-D valid correlation of `x` virtually zero-extended by `before`/`after`.
fn direct2d_zero(x: &Nd, before: &[usize], after: &[usize], k: &Nd, taps: Taps) -> Nd {
    let (h, w) = (x.shape[0], x.shape[1]);
    let (kh, kw) = (k.shape[0], k.shape[1]);
    let (oh, ow) = (
        h + before[0] + after[0] + 1 - kh,
        w + before[1] + after[1] + 1 - kw,
    );
    let mut out = Nd::zeros(&[oh, ow]);
    if out.is_empty() {
        return out;
    }
    par_rows(&mut out.data, ow, |r, acc| {
        for i in 0..kh {
            // Padded row r + i is x row r + i - before[0].
            let Some(xr) = (r + i).checked_sub(before[0]).filter(|&v| v < h) else {
                continue;
            };
            let src = &x.data[xr * w..(xr + 1) * w];
            for j in 0..kw {
                let wv = k.data[i * kw + j];
                if taps.skips(wv) {
                    continue;
                }
                // Output column c reads x column c + j - before[1].
                let c_lo = before[1].saturating_sub(j);
                let c_hi = (w + before[1]).saturating_sub(j).min(ow);
                if c_lo >= c_hi {
                    continue;
                }
                let x_lo = c_lo + j - before[1];
                for (a, s) in acc[c_lo..c_hi].iter_mut().zip(&src[x_lo..]) {
                    *a += wv * s;
                }
            }
        }
    });
    out
}

/// scipy.signal.convolve(x, k, mode).
pub fn convolve(x: &Nd, k: &Nd, mode: Mode) -> Result<Nd> {
    convolve_with(x, k, mode, Extend::Constant(0.0))
}

/// scipy.signal.correlate(x, k, mode): convolution with `k` reversed on every axis.
pub fn correlate(x: &Nd, k: &Nd, mode: Mode) -> Result<Nd> {
    check_dims(x, k)?;
    if mode == Mode::Valid && valid_swap(x, k)? {
        // scipy correlates the larger with the smaller and reverses the result.
        let z = correlate_valid(k, x, Taps::signal(x, k));
        return Ok(z.flipped());
    }
    convolve_with(x, &k.flipped(), mode, Extend::Constant(0.0))
}

/// scipy.signal.convolve2d(x, k, mode, boundary): the boundary rule changes values, the shape
/// comes from the mode (`valid` needs no boundary).
pub fn convolve2d(x: &Nd, k: &Nd, mode: Mode, boundary: Extend) -> Result<Nd> {
    if x.ndim() != 2 || k.ndim() != 2 {
        return Err(Error::Usage(format!(
            "--boundary symmetric|wrap|fill is scipy.signal.convolve2d's and takes 2-D inputs ({} and {})",
            x.shape_text(),
            k.shape_text()
        )));
    }
    convolve_with(x, k, mode, boundary)
}

/// scipy.ndimage.convolve(x, w, mode, cval, origin): output shaped like `x`; the filter's
/// centre is `w.shape // 2 + origin` (after ndimage's own flip for convolution).
pub fn ndimage_convolve(x: &Nd, w: &Nd, mode: Extend, origin: &[i64]) -> Result<Nd> {
    ndimage_filter(x, w, mode, origin, true)
}

/// scipy.ndimage.correlate(x, w, mode, cval, origin): no flip; the window of each output
/// starts `w.shape // 2 + origin` before it.
pub fn ndimage_correlate(x: &Nd, w: &Nd, mode: Extend, origin: &[i64]) -> Result<Nd> {
    ndimage_filter(x, w, mode, origin, false)
}

/// ndimage's filters: extend `x` so every output has its window, then one valid correlation.
fn ndimage_filter(x: &Nd, w: &Nd, mode: Extend, origin: &[i64], convolve: bool) -> Result<Nd> {
    check_dims(x, w)?;
    let nd = x.ndim();
    if origin.len() != nd {
        return Err(Error::Usage(format!(
            "--origin has {} value(s) but the arrays are {nd}-D",
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
                "--origin {o} on axis {a} is outside {}..={} for a kernel of {m}",
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
    Ok(correlate_extended(
        x,
        &before,
        &after,
        mode,
        k,
        Taps::AboveEpsilon,
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
}

impl Recipe {
    /// The result for one plane.
    ///
    /// # Errors
    /// Shapes that do not fit the recipe.
    pub fn apply(&self, x: &Nd, k: &Nd) -> Result<Nd> {
        if let Some((pad, origin)) = &self.ndimage {
            return if self.correlate {
                ndimage_correlate(x, k, *pad, origin)
            } else {
                ndimage_convolve(x, k, *pad, origin)
            };
        }
        match (self.boundary, self.correlate) {
            (None, false) => convolve(x, k, self.mode),
            (None, true) => correlate(x, k, self.mode),
            // With a boundary, correlation is convolve2d with the kernel flipped on both axes.
            (Some(b), false) => convolve2d(x, k, self.mode, b),
            (Some(b), true) => convolve2d(x, &k.flipped(), self.mode, b),
        }
    }
}
