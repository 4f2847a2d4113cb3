//! Direct (time-domain) convolution: the oracle every faster path is tested against, and the
//! fastest path for short kernels.
//!
//! Pure math, no allocation beyond the reversed kernel; any thread.
//!
//! Output sample `k` of the full convolution of `x` (length n) and `h` (length m) is
//!
//! ```text
//! y[k] = sum over i of x[i] * h[k - i],   i in [max(0, k - m + 1), min(n - 1, k)]
//! ```
//!
//! With `r` = `h` reversed, `h[k - i] = r[m - 1 - k + i]`, so every `y[k]` is one dot product of
//! two contiguous slices. Only the products of overlapping samples are formed, exactly as numpy's
//! `correlate` does, so `inf * 0` appears (as NaN) precisely where numpy makes it and nowhere else.
//! The dot product keeps eight independent partial sums, which the compiler turns into SIMD
//! without any reassociation licence, and is rounded like any pairwise-ish summation (numpy's
//! own `dot` differs from it only in the last bits).

use super::sample::Sample;

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
    // The dot products run over the shorter input; convolution is commutative.
    let (x, h) = if h.len() > x.len() { (h, x) } else { (x, h) };
    let (n, m) = (x.len(), h.len());
    let reversed: Vec<T> = h.iter().rev().copied().collect();
    for (offset, y) in out.iter_mut().enumerate() {
        let k = start + offset;
        if k >= n + m - 1 {
            *y = T::zero();
            continue;
        }
        let i0 = (k + 1).saturating_sub(m);
        let i1 = k.min(n - 1);
        let r0 = m - 1 + i0 - k;
        let len = i1 + 1 - i0;
        *y = dot(&x[i0..i0 + len], &reversed[r0..r0 + len]);
    }
}

/// The full convolution, `n + m - 1` samples.
pub fn convolve_full<T: Sample>(x: &[T], h: &[T]) -> Vec<T> {
    let mut out = vec![T::zero(); x.len() + h.len() - 1];
    convolve_range(x, h, 0, &mut out);
    out
}

/// Dot product of two equally long slices with eight independent partial sums.
#[inline]
pub fn dot<T: Sample>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let chunks_a = a.chunks_exact(LANES);
    let chunks_b = b.chunks_exact(LANES);
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for lane in 0..LANES {
            acc[lane] = acc[lane] + ca[lane] * cb[lane];
        }
    }
    let mut tail = T::zero();
    for (&p, &q) in tail_a.iter().zip(tail_b) {
        tail = tail + p * q;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
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
