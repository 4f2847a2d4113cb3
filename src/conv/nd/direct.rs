//! Direct sums: row by row (the inner loop a contiguous multiply-add), two 1-D passes for a
//! separable 2-D kernel, and the 2-D zero-extended case without materializing the extension.

use super::array::{Nd, advance, par_rows};

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
    pub(super) fn signal(x: &Nd, k: &Nd) -> Taps {
        if all_finite(x) && all_finite(k) {
            Taps::NonZero
        } else {
            Taps::Every
        }
    }
}

pub(super) fn all_finite(x: &Nd) -> bool {
    x.data.iter().all(|v| v.is_finite())
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
pub(super) fn separable(k: &Nd) -> Option<(Vec<f64>, Vec<f64>)> {
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
pub(super) fn separable_valid(x: &Nd, u: &[f64], v: &[f64]) -> Nd {
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

/// Direct 2-D valid correlation of `x` virtually zero-extended by `before`/`after`.
pub(super) fn direct2d_zero(x: &Nd, before: &[usize], after: &[usize], k: &Nd, taps: Taps) -> Nd {
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
