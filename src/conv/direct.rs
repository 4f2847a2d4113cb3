//! Direct (time-domain) convolution: the oracle every faster path is tested against, and the
//! fastest path for short kernels.
//!
//! Pure math, no allocation; any thread.
//!
//! Output sample `k` of the full convolution of `x` (length n) and `h` (length m <= n) is
//!
//! ```text
//! y[k] = sum over i of x[i] * h[k - i],   i in [max(0, k - m + 1), min(n - 1, k)]
//! ```
//!
//! The output is computed in blocks of `LANES` (16) consecutive samples whose partial sums live in
//! registers. For each kernel tap `j`, from the last to the first, the block adds
//! `h[j] * x[k - j]` to each of its samples: one broadcast tap times sixteen consecutive
//! inputs, which the compiler vectorises without any reassociation licence. Taps that reach past
//! either end of `x` for some of the block's samples (at most `LANES` of them at each end) take a
//! scalar path that skips the missing products. Two things follow from the order:
//!
//! * each `y[k]` is summed with `i` ascending, starting from zero, which is the order numpy's
//!   `correlate` uses for its dot products: for kernels short enough that numpy's dot stays
//!   sequential, the results are bit-identical to numpy's;
//! * only the products of overlapping samples are formed, so `inf * 0` appears (as NaN) exactly
//!   where numpy makes it and nowhere else.

use super::sample::Sample;

/// Output samples computed together, their partial sums held in registers.
const LANES: usize = 16;

/// Writes samples `start .. start + out.len()` of the full convolution of `x` and `h` into `out`.
///
/// Samples past the end of the full convolution (`n + m - 1`) are written as zero.
///
/// # Panics
/// If `x` or `h` is empty.
pub fn convolve_range<T: Sample>(x: &[T], h: &[T], start: usize, out: &mut [T]) {
    assert!(
        !x.is_empty() && !h.is_empty(),
        "direct convolution of an empty input"
    );
    // The taps loop over the shorter input; convolution is commutative.
    let (x, h) = if h.len() > x.len() { (h, x) } else { (x, h) };
    for (b, block) in out.chunks_mut(LANES).enumerate() {
        convolve_block(x, h, start + b * LANES, block);
    }
}

/// Samples `k0 .. k0 + out.len()` (at most [`LANES`]) of the full convolution, `x.len() >= h.len()`.
#[inline]
fn convolve_block<T: Sample>(x: &[T], h: &[T], k0: usize, out: &mut [T]) {
    let (n, m, width) = (x.len(), h.len(), out.len());
    let mut acc = [T::zero(); LANES];
    // Taps that contribute to some sample of the block: 0 <= k - j < n for some k.
    let j_hi = (k0 + width - 1).min(m - 1);
    let j_lo = (k0 + 1).saturating_sub(n);
    if j_lo > j_hi {
        // The block lies past the end of the full convolution.
        out.fill(T::zero());
        return;
    }
    // Taps that contribute to every sample of a full block; empty when full_lo > full_hi.
    let (full_lo, full_hi) = if width == LANES {
        ((k0 + LANES).saturating_sub(n).max(j_lo), k0.min(j_hi))
    } else {
        (j_hi + 1, j_hi)
    };
    let partial = |acc: &mut [T; LANES], j: usize| {
        let tap = h[j];
        for (lane, a) in acc.iter_mut().enumerate().take(width) {
            let k = k0 + lane;
            if k >= j && k - j < n {
                *a = *a + x[k - j] * tap;
            }
        }
    };
    // Three runs of taps, all in descending order: the loops stay separate so that the middle
    // one keeps `acc` in registers.
    if full_lo > full_hi {
        (j_lo..=j_hi).rev().for_each(|j| partial(&mut acc, j));
    } else {
        (full_hi + 1..=j_hi)
            .rev()
            .for_each(|j| partial(&mut acc, j));
        for j in (full_lo..=full_hi).rev() {
            let tap = h[j];
            let xs = &x[k0 - j..k0 - j + LANES];
            for lane in 0..LANES {
                acc[lane] = acc[lane] + xs[lane] * tap;
            }
        }
        (j_lo..full_lo).rev().for_each(|j| partial(&mut acc, j));
    }
    out.copy_from_slice(&acc[..width]);
}

/// The full convolution, `n + m - 1` samples.
///
/// # Panics
/// If `x` or `h` is empty.
pub fn convolve_full<T: Sample>(x: &[T], h: &[T]) -> Vec<T> {
    let mut out = vec![T::zero(); x.len() + h.len() - 1];
    convolve_range(x, h, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook double loop, as a second opinion on the index arithmetic.
    fn naive(x: &[f64], h: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len() + h.len() - 1];
        for (i, &xi) in x.iter().enumerate() {
            for (j, &hj) in h.iter().enumerate() {
                y[i + j] += xi * hj;
            }
        }
        y
    }

    #[test]
    fn hand_computed() {
        assert_eq!(
            convolve_full(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5]),
            vec![0.0, 1.0, 2.5, 4.0, 1.5]
        );
        assert_eq!(
            convolve_full(&[1.0, 5.0], &[3.0, 4.0, 2.0]),
            vec![3.0, 19.0, 22.0, 10.0]
        );
    }

    #[test]
    fn matches_naive_for_all_small_lengths_and_ranges() {
        for n in 1..20 {
            for m in 1..20 {
                let x: Vec<f64> = (0..n).map(|i| (i * 7 % 11) as f64 - 5.0).collect();
                let h: Vec<f64> = (0..m).map(|i| (i * 3 % 7) as f64 - 2.5).collect();
                let full = naive(&x, &h);
                assert_eq!(convolve_full(&x, &h), full);
                for start in 0..full.len() {
                    let mut part = vec![9.0; full.len() - start + 2];
                    convolve_range(&x, &h, start, &mut part);
                    assert_eq!(&part[..full.len() - start], &full[start..]);
                    assert_eq!(&part[full.len() - start..], &[0.0, 0.0]);
                }
            }
        }
    }
}
