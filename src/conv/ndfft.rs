//! N-d correlation by FFT: a real transform along the last axis, complex transforms along the
//! others, one product, the inverse. Sizes are the next 2^a 3^b 5^c at least the input's
//! (conv::fft::fast_len; the valid part of a circular correlation of that size has no
//! wrap-around).

use std::sync::Arc;

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::fft::fast_len;
use super::nd::{Nd, advance, strides};

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

/// Forward N-d transform of `x` zero-padded to `size` (complex shape: `size` with the last
/// axis halved plus one).
fn forward(x: &Nd, size: &[usize], plans: &Plans) -> Vec<Complex<f64>> {
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
        let inside = (0..last).all(|a| idx[a] < x.shape[a]);
        if inside {
            row.fill(0.0);
            let base: usize = (0..last).map(|a| idx[a] * xs[a]).sum();
            row[..x.shape[last]].copy_from_slice(&x.data[base..base + x.shape[last]]);
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
    let nd = x.ndim();
    let last = nd - 1;
    let size: Vec<usize> = x.shape.iter().map(|&n| fast_len(n)).collect();
    let mut rp = RealFftPlanner::<f64>::new();
    let mut cp = FftPlanner::<f64>::new();
    let plans = Plans {
        real: rp.plan_fft_forward(size[last]),
        real_inv: rp.plan_fft_inverse(size[last]),
        fwd: size[..last]
            .iter()
            .map(|&n| cp.plan_fft_forward(n))
            .collect(),
        inv: size[..last]
            .iter()
            .map(|&n| cp.plan_fft_inverse(n))
            .collect(),
    };
    // Correlation = convolution with the kernel reversed.
    let mut spec = forward(x, &size, &plans);
    let kspec = forward(&k.flipped(), &size, &plans);
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
    let out_shape: Vec<usize> = (0..nd).map(|a| x.shape[a] + 1 - k.shape[a]).collect();
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
            let a = super::super::nd::direct_valid(&x, &k);
            let b = correlate_valid(&x, &k);
            assert_eq!(a.shape, b.shape);
            for (p, q) in a.data.iter().zip(&b.data) {
                assert!((p - q).abs() < 1e-9, "{p} vs {q}");
            }
        }
    }
}
