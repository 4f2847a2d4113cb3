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

use super::cost::oneshot as cost;
use super::sample::Sample;

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
    /// Modelled cost in (reference) nanoseconds, output included.
    pub fn cost(&self) -> f64 {
        let blocks = self.blocks as f64;
        let nfft = self.nfft as f64;
        let fresh = if self.nfft > RETAIN_MAX {
            cost::FFT_FRESH_PER_SAMPLE * nfft
        } else {
            0.0
        };
        // Kernel transform once; per block one forward and one inverse transform.
        cost::transform_ns(self.nfft) * (1.0 + 2.0 * blocks)
            + blocks * (cost::FFT_PER_BLOCK + cost::FFT_PER_BLOCK_SAMPLE * nfft)
            + cost::FFT_PER_SAMPLE * (self.step * self.blocks + self.nfft) as f64
            + fresh
            + cost::FFT_SETUP
    }
}

pub use super::cost::oneshot::direct_ns as direct_cost;

/// The smallest even 2^a 3^b 5^c that is at least `target` (scipy's `next_fast_len`, even).
pub fn fast_len(target: usize) -> usize {
    let target = target.max(2);
    let mut best = usize::MAX;
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            // The smallest even power-of-two multiple of p35 reaching the target.
            let mut len = p35 * 2;
            while len < target {
                len *= 2;
            }
            best = best.min(len);
            p35 = p35.saturating_mul(3);
        }
        p5 = p5.saturating_mul(5);
    }
    best
}

/// Chooses the cheapest FFT length for a full convolution of lengths `n >= m >= 1`.
///
/// Candidates: the single transform of length `fast_len(n + m - 1)`, and overlap-add blocks of
/// length 2^a, 3 * 2^a or 9 * 2^a from `2m` up to that (RustFFT's radix-5 and deep radix-3
/// passes cost more per sample than the model's log factor says). No allocation.
pub fn plan(n: usize, m: usize) -> FftPlan {
    debug_assert!(n >= m && m >= 1);
    let make = |nfft: usize| {
        let step = nfft - m + 1;
        FftPlan {
            nfft,
            step,
            blocks: n.div_ceil(step),
        }
    };
    let single = make(fast_len(n + m - 1));
    let mut best = single;
    let mut best_cost = single.cost();
    let lo = (2 * m).max(16);
    for base in [2usize, 3, 9] {
        let mut nfft = base;
        while nfft < single.nfft {
            if nfft >= lo && nfft % 2 == 0 {
                let candidate = make(nfft);
                let cost = candidate.cost();
                if cost < best_cost {
                    best = candidate;
                    best_cost = cost;
                }
            }
            nfft *= 2;
        }
    }
    best
}

/// The full convolution of `x` and `h` (`n + m - 1` samples) by FFT, length chosen by [`plan`].
///
/// # Panics
/// If `x` or `h` is empty.
pub fn convolve_full<T: Sample>(x: &[T], h: &[T]) -> Vec<T> {
    let (n, m) = (x.len().max(h.len()), x.len().min(h.len()));
    convolve_full_with(x, h, plan(n, m.max(1)))
}

/// The full convolution by FFT with a given plan (for benchmarks and calibration).
///
/// # Panics
/// If `x` or `h` is empty, or the plan does not fit their lengths.
pub fn convolve_full_with<T: Sample>(x: &[T], h: &[T], plan: FftPlan) -> Vec<T> {
    convolve_full_checked(x, h, plan).0
}

/// As [`convolve_full_with`], and also tells whether every input sample was finite. The check
/// rides along with the copies into the transform buffer, where the data is already in cache,
/// so `Method::Auto` can fall back to the direct sums (numpy's NaN/inf placement) for free.
pub(crate) fn convolve_full_checked<T: Sample>(x: &[T], h: &[T], plan: FftPlan) -> (Vec<T>, bool) {
    assert!(
        !x.is_empty() && !h.is_empty(),
        "FFT convolution of an empty input"
    );
    let (x, h) = if h.len() > x.len() { (h, x) } else { (x, h) };
    let (n, m) = (x.len(), h.len());
    assert!(
        plan.nfft >= m && plan.step == plan.nfft - m + 1,
        "plan does not fit"
    );
    let nfft = plan.nfft;
    let total = n + m - 1;
    let mut out = vec![T::zero(); total];
    // Sum of `sample * 0`: zero while every sample is finite, NaN once one is not.
    let mut poison = [T::zero(); 8];
    let mut check = |block: &[T]| {
        let chunks = block.chunks_exact(8);
        let tail = chunks.remainder();
        for chunk in chunks {
            for lane in 0..8 {
                poison[lane] = poison[lane] + chunk[lane] * T::zero();
            }
        }
        for &v in tail {
            poison[0] = poison[0] + v * T::zero();
        }
    };
    T::with_cache(|cache| {
        let forward = cache.planner.plan_fft_forward(nfft);
        let inverse = cache.planner.plan_fft_inverse(nfft);
        let bins = nfft / 2 + 1;
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let fresh = |buffer: &mut Vec<Complex<T>>, len: usize| {
            buffer.clear();
            buffer.resize(len, Complex::zero());
        };
        fresh(&mut cache.kernel, bins);
        fresh(&mut cache.spectrum, bins);
        fresh(&mut cache.scratch, scratch_len);
        cache.time.clear();
        cache.time.resize(nfft, T::zero());
        let (time, kernel, spectrum, scratch) = (
            &mut cache.time,
            &mut cache.kernel,
            &mut cache.spectrum,
            &mut cache.scratch,
        );

        // The kernel's spectrum, scaled once by 1/nfft so the inverse needs no normalisation.
        time[..m].copy_from_slice(h);
        check(h);
        forward
            .process_with_scratch(time, kernel, scratch)
            .expect("buffer lengths come from the plan itself");
        let scale = T::one() / T::of_f64(nfft as f64);
        for bin in kernel.iter_mut() {
            *bin = *bin * scale;
        }

        for start in (0..n).step_by(plan.step) {
            let len = plan.step.min(n - start);
            time[..len].copy_from_slice(&x[start..start + len]);
            check(&time[..len]);
            time[len..].fill(T::zero());
            forward
                .process_with_scratch(time, spectrum, scratch)
                .expect("buffer lengths come from the plan itself");
            for (s, k) in spectrum.iter_mut().zip(kernel.iter()) {
                *s = *s * *k;
            }
            // A real signal's spectrum has purely real DC and Nyquist bins; realfft insists.
            spectrum[0].im = T::zero();
            spectrum[bins - 1].im = T::zero();
            inverse
                .process_with_scratch(spectrum, time, scratch)
                .expect("buffer lengths come from the plan itself");
            let produced = (len + m - 1).min(total - start);
            for (y, &t) in out[start..start + produced]
                .iter_mut()
                .zip(&time[..produced])
            {
                *y = *y + t;
            }
        }
        cache.trim(RETAIN_MAX);
    });
    (out, poison.iter().all(|p| p.is_finite()))
}

/// Work buffers up to this many samples stay with the thread between calls.
const RETAIN_MAX: usize = 1 << 18;

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
