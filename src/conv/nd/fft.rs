//! N-d correlation by FFT: a real transform along the last axis, complex transforms along the
//! others, one product, the inverse. Sizes are the next 2^a 3^b 5^c at least the input's
//! (conv::fft::fast_len; the valid part of a circular correlation of that size has no
//! wrap-around).

use std::sync::Arc;

use realfft::num_complex::Complex;
use rustfft::Fft;

use super::array::{Nd, advance, par_rows, strides};
use crate::conv::fft::fast_len;
use crate::conv::sample::{complex_fft, real_forward, real_inverse};

/// Complex FFT of every line of `data` (shape `shape`) along `axis`, in place.
fn along(data: &mut [Complex<f64>], shape: &[usize], axis: usize, fft: &Arc<dyn Fft<f64>>) {
    let st = strides(shape);
    let n = shape[axis];
    let step = st[axis];
    let mut line = vec![Complex::new(0.0, 0.0); n];
    let mut scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
    // Every line: all index combinations with the axis index at 0.
    let mut other: Vec<usize> = shape.to_vec();
    other[axis] = 1;
    let mut idx = vec![0usize; shape.len()];
    loop {
        let base: usize = idx.iter().zip(&st).map(|(i, s)| i * s).sum();
        for (j, l) in line.iter_mut().enumerate() {
            *l = data[base + j * step];
        }
        fft.process_with_scratch(&mut line, &mut scratch);
        for (j, l) in line.iter().enumerate() {
            data[base + j * step] = *l;
        }
        if !advance(&mut idx, &other) {
            break;
        }
    }
}

struct Plans {
    real: Arc<dyn realfft::RealToComplex<f64>>,
    real_inv: Arc<dyn realfft::ComplexToReal<f64>>,
    fwd: Vec<Arc<dyn Fft<f64>>>,
    inv: Vec<Arc<dyn Fft<f64>>>,
}

/// Forward N-d transform of `x` placed at `offset` in zeros of `size` (complex shape: `size`
/// with the last axis halved plus one).
fn forward(x: &Nd, offset: &[usize], size: &[usize], plans: &Plans) -> Vec<Complex<f64>> {
    let nd = size.len();
    let last = nd - 1;
    let half = size[last] / 2 + 1;
    let mut cshape = size.to_vec();
    cshape[last] = half;
    let rows: usize = size[..last].iter().product();
    let mut spec = vec![Complex::new(0.0, 0.0); rows * half];
    let mut row = vec![0.0; size[last]];
    let mut out = plans.real.make_output_vec();
    let mut scratch = plans.real.make_scratch_vec();
    let xs = x.strides();
    let mut idx = vec![0usize; nd];
    let mut r = 0;
    loop {
        let inside = (0..last).all(|a| idx[a] >= offset[a] && idx[a] - offset[a] < x.shape[a]);
        if inside {
            row.fill(0.0);
            let base: usize = (0..last).map(|a| (idx[a] - offset[a]) * xs[a]).sum();
            let o = offset[last];
            row[o..o + x.shape[last]].copy_from_slice(&x.data[base..base + x.shape[last]]);
            // Lengths match the plan by construction.
            let _ = plans
                .real
                .process_with_scratch(&mut row, &mut out, &mut scratch);
            spec[r * half..(r + 1) * half].copy_from_slice(&out);
        }
        r += 1;
        if !advance(&mut idx[..last], &size[..last]) {
            break;
        }
    }
    for a in 0..last {
        along(&mut spec, &cshape, a, &plans.fwd[a]);
    }
    spec
}

/// The valid correlation `sum_j k[j] x[i + j]` by FFT.
pub fn correlate_valid(x: &Nd, k: &Nd) -> Nd {
    correlate_valid_offset(x, &vec![0; x.ndim()], &x.shape, k)
}

/// The valid correlation with `k` of `x` placed at `offset` in zeros of shape `ext`.
pub fn correlate_valid_offset(x: &Nd, offset: &[usize], ext: &[usize], k: &Nd) -> Nd {
    if x.ndim() == 2 {
        // Tiles of ~4x the kernel (at least 256): the transform work per output stays near
        // its minimum while every buffer stays small.
        let tile = (4 * k.shape[0].max(k.shape[1])).max(256);
        return correlate2d_tiled(x, offset, ext, k, tile);
    }
    let nd = x.ndim();
    let last = nd - 1;
    let size: Vec<usize> = ext.iter().map(|&n| fast_len(n)).collect();
    let plans = Plans {
        real: real_forward(size[last]),
        real_inv: real_inverse(size[last]),
        fwd: size[..last]
            .iter()
            .map(|&n| complex_fft(n, false))
            .collect(),
        inv: size[..last].iter().map(|&n| complex_fft(n, true)).collect(),
    };
    // Correlation = convolution with the kernel reversed.
    let mut spec = forward(x, offset, &size, &plans);
    let kspec = forward(&k.flipped(), &vec![0; nd], &size, &plans);
    let norm = 1.0 / size.iter().product::<usize>() as f64;
    for (s, k) in spec.iter_mut().zip(&kspec) {
        *s *= k * norm;
    }
    let half = size[last] / 2 + 1;
    let mut cshape = size.to_vec();
    cshape[last] = half;
    for a in 0..last {
        along(&mut spec, &cshape, a, &plans.inv[a]);
    }
    // Inverse real transform of each row, keeping the valid part: index i + (M - 1).
    let out_shape: Vec<usize> = (0..nd).map(|a| ext[a] + 1 - k.shape[a]).collect();
    let mut out = Nd::zeros(&out_shape);
    if out.is_empty() {
        return out;
    }
    let mut row = vec![0.0; size[last]];
    let mut line = plans.real_inv.make_input_vec();
    let mut scratch = plans.real_inv.make_scratch_vec();
    let cs = strides(&cshape);
    let ow = out_shape[last];
    let mut idx = vec![0usize; nd];
    let mut o = 0;
    loop {
        let base: usize = (0..last).map(|a| (idx[a] + k.shape[a] - 1) * cs[a]).sum();
        line.copy_from_slice(&spec[base..base + half]);
        // The DC and Nyquist bins of a real signal's spectrum are real; rounding leaves a
        // trace of imaginary part that realfft rejects.
        line[0].im = 0.0;
        if size[last] % 2 == 0 {
            line[half - 1].im = 0.0;
        }
        let _ = plans
            .real_inv
            .process_with_scratch(&mut line, &mut row, &mut scratch);
        let m1 = k.shape[last] - 1;
        out.data[o..o + ow].copy_from_slice(&row[m1..m1 + ow]);
        o += ow;
        if !advance(&mut idx[..last], &out_shape[..last]) {
            break;
        }
    }
    out
}

/// 2-D valid correlation by overlap-save over tiles: the kernel's spectrum once at the tile's
/// transform size, then every tile of the (virtually zero-extended) input transformed,
/// multiplied and transformed back, keeping the part with no wrap-around. Each band of tiles
/// runs on one core with its own small buffers, so memory stays near the input and output
/// (one whole-image transform would need several image-sized complex buffers).
pub fn correlate2d_tiled(x: &Nd, offset: &[usize], ext: &[usize], k: &Nd, tile: usize) -> Nd {
    let (kh, kw) = (k.shape[0], k.shape[1]);
    let (oh, ow) = (ext[0] + 1 - kh, ext[1] + 1 - kw);
    let mut out = Nd::zeros(&[oh, ow]);
    if out.is_empty() {
        return out;
    }
    // Transform size per axis, and the outputs each tile yields.
    let lr = fast_len(tile.max(kh) + kh - 1).min(fast_len(ext[0]));
    let lc = fast_len(tile.max(kw) + kw - 1).min(fast_len(ext[1]));
    let (sr, sc) = (lr + 1 - kh, lc + 1 - kw);
    let half = lc / 2 + 1;
    let (rfwd, rinv) = (real_forward::<f64>(lc), real_inverse::<f64>(lc));
    let (cfwd, cinv) = (complex_fft::<f64>(lr, false), complex_fft::<f64>(lr, true));
    // Spectrum of a (lr x lc) real block given row by row; columns done in place on a
    // column-major copy (lr is small, so a tile's columns fit in cache).
    let transform = |fill: &dyn Fn(usize, &mut [f64]), buf: &mut Vec<Complex<f64>>| {
        // buf: column-major, half columns of lr values each.
        let mut row = vec![0.0; lc];
        let mut out_row = rfwd.make_output_vec();
        let mut scratch = rfwd.make_scratch_vec();
        for r in 0..lr {
            row.fill(0.0);
            fill(r, &mut row);
            let _ = rfwd.process_with_scratch(&mut row, &mut out_row, &mut scratch);
            for (c, v) in out_row.iter().enumerate() {
                buf[c * lr + r] = *v;
            }
        }
        let mut cs = vec![Complex::new(0.0, 0.0); cfwd.get_inplace_scratch_len()];
        for col in buf.chunks_mut(lr) {
            cfwd.process_with_scratch(col, &mut cs);
        }
    };
    let kf = k.flipped();
    let mut kspec = vec![Complex::new(0.0, 0.0); half * lr];
    transform(
        &|r, row: &mut [f64]| {
            if r < kh {
                row[..kw].copy_from_slice(&kf.data[r * kw..(r + 1) * kw]);
            }
        },
        &mut kspec,
    );
    let norm = 1.0 / (lr * lc) as f64;
    for v in &mut kspec {
        *v *= norm;
    }
    let (h, w) = (x.shape[0], x.shape[1]);
    // One band of output rows [band * sr, ..) per call.
    par_rows(&mut out.data, sr * ow, |band, dst| {
        let r0 = band * sr;
        let rows_here = dst.len() / ow;
        let mut buf = vec![Complex::new(0.0, 0.0); half * lr];
        let mut line = rinv.make_input_vec();
        let mut row = vec![0.0; lc];
        let mut scratch = rinv.make_scratch_vec();
        let mut cs = vec![Complex::new(0.0, 0.0); cinv.get_inplace_scratch_len()];
        let mut c0 = 0;
        while c0 < ow {
            // Input block: extended rows r0.., columns c0.. (x sits at `offset`).
            transform(
                &|r, rowbuf: &mut [f64]| {
                    let Some(xr) = (r0 + r).checked_sub(offset[0]).filter(|&v| v < h) else {
                        return;
                    };
                    for (c, v) in rowbuf.iter_mut().enumerate() {
                        if let Some(xc) = (c0 + c).checked_sub(offset[1]).filter(|&v| v < w) {
                            *v = x.data[xr * w + xc];
                        }
                    }
                },
                &mut buf,
            );
            for (b, kv) in buf.iter_mut().zip(&kspec) {
                *b *= kv;
            }
            for col in buf.chunks_mut(lr) {
                cinv.process_with_scratch(col, &mut cs);
            }
            let cols_here = sc.min(ow - c0);
            for r in 0..rows_here {
                for (c, l) in line.iter_mut().enumerate() {
                    *l = buf[c * lr + r + kh - 1];
                }
                line[0].im = 0.0;
                if lc % 2 == 0 {
                    line[half - 1].im = 0.0;
                }
                let _ = rinv.process_with_scratch(&mut line, &mut row, &mut scratch);
                dst[r * ow + c0..r * ow + c0 + cols_here]
                    .copy_from_slice(&row[kw - 1..kw - 1 + cols_here]);
            }
            c0 += sc;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_matches_direct_in_2d_and_3d() {
        for (xs, ks) in [
            (vec![13usize, 17], vec![4usize, 5]),
            (vec![6, 7, 5], vec![2, 3, 4]),
            (vec![1, 9], vec![1, 9]),
        ] {
            let n: usize = xs.iter().product();
            let m: usize = ks.iter().product();
            let x = Nd::new(xs, (0..n).map(|i| ((i * 37 % 11) as f64) - 5.0).collect());
            let k = Nd::new(
                ks,
                (0..m).map(|i| ((i * 13 % 7) as f64) * 0.5 - 1.0).collect(),
            );
            let a = super::super::direct::direct_valid(&x, &k, super::super::direct::Taps::Every);
            let b = correlate_valid(&x, &k);
            assert_eq!(a.shape, b.shape);
            for (p, q) in a.data.iter().zip(&b.data) {
                assert!((p - q).abs() < 1e-9, "{p} vs {q}");
            }
        }
    }
}
