//! FFT convolution for one-shot calls: one large transform, or overlap-add over blocks when one
//! input is much longer than the other.
//!
//! Pure math; allocates its buffers per call (setup-style code, not the streaming engine); any
//! thread. Plans come from the per-thread cache in [`super::sample`].
//!
//! ```text
//! x: |---- step ----|---- step ----|---- step ----|...      step = nfft - m + 1
//!        | zero-pad to nfft, R2C, multiply by H (pre-scaled by 1/nfft), C2R
//!        v
//! y: |---- step ----|m-1|                                    each block's m - 1 tail samples
//!                   |---- step ----|m-1|                     overlap the next block and are added
//! ```
//!
//! A single transform is the special case of one block with `nfft >= n + m - 1`. The FFT length
//! is chosen by [`plan`] from a cost model over 2^a 3^b 5^c lengths (all fast in RustFFT):
//! per-block transforms cost `~ nfft log2 nfft`, the spectrum product `~ nfft / 2`, and the number
//! of blocks is `ceil(n / step)`, so small `nfft` wastes work on the overlap and large `nfft`
//! pays the log factor. The constants were measured with `cargo bench --bench oneshot`.

use realfft::num_complex::Complex;
use realfft::num_traits::Zero;

use super::sample::Sample;

/// Calibrated costs, in nanoseconds for f64 on the reference machine (see the module doc). Only
/// their ratios matter: they decide between FFT lengths and between direct and FFT.
pub(crate) mod cost {
    /// One real FFT (forward or inverse) per `n log2 n`.
    pub const FFT_PER_NLOGN: f64 = 0.085;
    /// Per complex bin of the spectrum product plus the copies and the overlap-add per sample.
    pub const PER_BIN: f64 = 1.6;
    /// Fixed cost of one block (plan lookups, slicing).
    pub const PER_BLOCK: f64 = 60.0;
    /// One multiply-accumulate of the direct method.
    pub const DIRECT_PER_MAC: f64 = 0.16;
    /// Per output sample of the direct method (loop overhead, the reduction of the partial sums).
    pub const DIRECT_PER_OUTPUT: f64 = 2.0;
}

/// How an FFT convolution of lengths `n >= m` is carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FftPlan {
    /// Transform length (even, 2^a 3^b 5^c).
    pub nfft: usize,
    /// Input samples consumed per block: `nfft - m + 1`.
    pub step: usize,
    /// Number of blocks: `ceil(n / step)`.
    pub blocks: usize,
}

impl FftPlan {
    /// Modelled cost in (reference) nanoseconds.
    pub fn cost(&self) -> f64 {
        let n = self.nfft as f64;
        let per_fft = cost::FFT_PER_NLOGN * n * n.log2().max(1.0);
        // Kernel transform once; per block one forward and one inverse transform.
        per_fft * (1 + 2 * self.blocks) as f64
            + self.blocks as f64 * (cost::PER_BIN * (n / 2.0 + 1.0) + cost::PER_BLOCK)
    }
}

/// The modelled cost of the direct method computing `macs` products for `outputs` samples.
pub fn direct_cost(macs: f64, outputs: usize) -> f64 {
    cost::DIRECT_PER_MAC * macs + cost::DIRECT_PER_OUTPUT * outputs as f64
}

/// Every even 2^a 3^b 5^c in `[lo, hi]`, ascending.
fn smooth_lengths(lo: usize, hi: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p2 = 2usize;
    while p2 <= hi {
        let mut p3 = p2;
        while p3 <= hi {
            let mut p5 = p3;
            while p5 <= hi {
                if p5 >= lo {
                    out.push(p5);
                }
                p5 = match p5.checked_mul(5) {
                    Some(v) => v,
                    None => break,
                };
            }
            p3 = match p3.checked_mul(3) {
                Some(v) => v,
                None => break,
            };
        }
        p2 = match p2.checked_mul(2) {
            Some(v) => v,
            None => break,
        };
    }
    out.sort_unstable();
    out
}

/// The smallest even 2^a 3^b 5^c that is at least `target`.
pub fn fast_len(target: usize) -> usize {
    let mut hi = target.max(2);
    loop {
        if let Some(&len) = smooth_lengths(target, hi).first() {
            return len;
        }
        hi = hi.saturating_mul(2);
    }
}

/// Chooses the cheapest FFT length for a full convolution of lengths `n >= m >= 1`.
pub fn plan(n: usize, m: usize) -> FftPlan {
    debug_assert!(n >= m && m >= 1);
    let single = fast_len(n + m - 1);
    let make = |nfft: usize| {
        let step = nfft - m + 1;
        FftPlan {
            nfft,
            step,
            blocks: n.div_ceil(step),
        }
    };
    // Blocks shorter than the kernel are never worth it: the overlap would dominate.
    smooth_lengths((2 * m).max(16), single)
        .into_iter()
        .chain(std::iter::once(single))
        .map(make)
        .min_by(|a, b| a.cost().total_cmp(&b.cost()))
        .unwrap_or_else(|| make(single))
}

/// The full convolution of `x` and `h` (`n + m - 1` samples) by FFT.
///
/// # Panics
/// If `x` or `h` is empty.
pub fn convolve_full<T: Sample>(x: &[T], h: &[T]) -> Vec<T> {
    assert!(
        !x.is_empty() && !h.is_empty(),
        "FFT convolution of an empty input"
    );
    let (x, h) = if h.len() > x.len() { (h, x) } else { (x, h) };
    let (n, m) = (x.len(), h.len());
    let plan = plan(n, m);
    let nfft = plan.nfft;
    let (forward, inverse) =
        T::with_planner(|p| (p.plan_fft_forward(nfft), p.plan_fft_inverse(nfft)));

    let mut scratch =
        vec![Complex::zero(); forward.get_scratch_len().max(inverse.get_scratch_len())];
    let mut time = forward.make_input_vec();
    let mut kernel = forward.make_output_vec();
    let mut spectrum = forward.make_output_vec();

    // The kernel's spectrum, scaled once by 1/nfft so the inverse needs no normalisation pass.
    time[..m].copy_from_slice(h);
    forward
        .process_with_scratch(&mut time, &mut kernel, &mut scratch)
        .expect("buffer lengths come from the plan itself");
    let scale = T::one() / T::of_f64(nfft as f64);
    for bin in kernel.iter_mut() {
        *bin = *bin * scale;
    }

    let total = n + m - 1;
    let mut out = vec![T::zero(); total];
    let last_bin = spectrum.len() - 1;
    for start in (0..n).step_by(plan.step) {
        let len = plan.step.min(n - start);
        time[..len].copy_from_slice(&x[start..start + len]);
        time[len..].fill(T::zero());
        forward
            .process_with_scratch(&mut time, &mut spectrum, &mut scratch)
            .expect("buffer lengths come from the plan itself");
        for (s, k) in spectrum.iter_mut().zip(&kernel) {
            *s = *s * *k;
        }
        // A real signal's spectrum has purely real DC and Nyquist bins; realfft insists on it.
        spectrum[0].im = T::zero();
        spectrum[last_bin].im = T::zero();
        inverse
            .process_with_scratch(&mut spectrum, &mut time, &mut scratch)
            .expect("buffer lengths come from the plan itself");
        let produced = (len + m - 1).min(total - start);
        for (y, &t) in out[start..start + produced]
            .iter_mut()
            .zip(&time[..produced])
        {
            *y = *y + t;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::direct;

    #[test]
    fn fast_lengths_are_smooth_and_minimal() {
        assert_eq!(fast_len(1), 2);
        assert_eq!(fast_len(7), 8);
        assert_eq!(fast_len(11), 12);
        assert_eq!(fast_len(31), 32);
        assert_eq!(fast_len(97), 100);
        assert_eq!(fast_len(1025), 1080);
    }

    #[test]
    fn plans_cover_the_input() {
        for &(n, m) in &[
            (1, 1),
            (10, 3),
            (1000, 7),
            (1 << 20, 31),
            (1 << 16, 1 << 15),
        ] {
            let p = plan(n, m);
            assert!(p.nfft >= m);
            assert_eq!(p.step, p.nfft - m + 1);
            assert!(p.step * p.blocks >= n);
        }
        // A long signal with a short kernel is cut into blocks; equal lengths use one transform.
        assert!(plan(1 << 20, 31).blocks > 1);
        assert_eq!(plan(4096, 4096).blocks, 1);
    }

    #[test]
    fn agrees_with_direct_in_both_precisions() {
        for &(n, m) in &[
            (1, 1),
            (2, 1),
            (5, 3),
            (64, 64),
            (1000, 7),
            (3000, 200),
            (17, 400),
        ] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
                .collect();
            let h: Vec<f64> = (0..m)
                .map(|i| ((i * 13 % 29) as f64 / 14.0) - 1.0)
                .collect();
            let exact = direct::convolve_full(&x, &h);
            let peak = exact.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let got = convolve_full(&x, &h);
            assert_eq!(got.len(), exact.len());
            for (g, e) in got.iter().zip(&exact) {
                assert!((g - e).abs() <= 1e-12 * peak, "n={n} m={m}: {g} vs {e}");
            }
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
            for (g, e) in convolve_full(&x32, &h32).iter().zip(&exact) {
                assert!((f64::from(*g) - e).abs() <= 1e-5 * peak, "f32 n={n} m={m}");
            }
        }
    }
}
