//! The streaming engine's real FFT, with its spectrum split into real and imaginary slices.
//!
//! Runs on the processing thread; building plans and allocates, the transforms do not.
//!
//! A real signal of `N = 2M` samples is transformed as the complex signal of its `M` pairs
//! (`z[j] = x[2j] + i x[2j+1]`) by RustFFT, and the `M + 1` bins of the real spectrum are
//! untangled from that in one pass over the pairs `(k, M - k)` (the textbook split, as realfft
//! does it). Why not realfft itself: its pass reads the second half backwards through
//! interleaved complex numbers and was a fifth of the long-kernel engine's time, and the engine
//! then copied its output into the split layout that the multiply-accumulate wants (and back,
//! before the inverse): a quarter of the time in three passes over the spectrum. Here the
//! untangling writes the split spectrum directly (straight into the frequency-domain delay
//! line) and the inverse's tangling reads it directly, in loops compiled for AVX2 where the CPU
//! has it ([`super::simd::untangle_f32`]). Same transform, same scaling as realfft's
//! (unnormalized both ways); the rounding differs in the last bits.
//!
//! The inverse runs on the forward transform: `IDFT(z) = conj(DFT(conj z))`, the tangling
//! writes `conj z` at no cost, and the result comes out conjugated (`x[2j] - i x[2j+1]`),
//! which the caller's copy out of the pairs undoes as it reads them. One plan instead of two
//! halves the twiddle tables: their sin/cos at planning (~0.5 ms at 65,536 points), and the
//! tables the two directions pull through the cache on every block.

use std::sync::Arc;

use realfft::num_complex::Complex;
use rustfft::Fft;

use super::sample::{Sample, complex_fft, shared_split_fft};

/// A forward and inverse real FFT of one length whose frequency side is split re/im.
pub struct SplitFft<T: realfft::FftNum> {
    /// Real length `N` (even).
    len: usize,
    /// The one complex transform, of `M` points, both directions use.
    forward: Arc<dyn Fft<T>>,
    /// `cos(2 pi k / N)` and `sin(2 pi k / N)` for `k` in `0..=M/2`.
    cos: Vec<T>,
    sin: Vec<T>,
    scratch_len: usize,
}

impl<T: Sample> SplitFft<T> {
    /// Plans the transforms of real length `len` (even, at least 2).
    ///
    /// # Panics
    /// If `len` is odd or zero (the engine only asks for powers of two of at least 2).
    pub fn new(len: usize) -> Self {
        assert!(
            len >= 2 && len % 2 == 0,
            "split FFT length {len} is not even"
        );
        let m = len / 2;
        let forward = complex_fft::<T>(m, false);
        let angle = |k: usize| 2.0 * std::f64::consts::PI * k as f64 / len as f64;
        let (sin, cos) = (0..=m / 2)
            .map(|k| {
                let (s, c) = angle(k).sin_cos();
                (T::of_f64(s), T::of_f64(c))
            })
            .unzip();
        let scratch_len = forward.get_outofplace_scratch_len();
        SplitFft {
            len,
            forward,
            cos,
            sin,
            scratch_len,
        }
    }

    /// The transforms of real length `len`, planned once per thread and length: a stereo
    /// kernel's two channels (and any other kernel of the same partition size) share one
    /// (the twiddle tables alone are 2 x 16k sin/cos pairs at 65536 points, ~1 ms).
    ///
    /// # Panics
    /// As [`SplitFft::new`].
    pub fn shared(len: usize) -> Arc<Self> {
        shared_split_fft(len, || Self::new(len))
    }

    /// Number of spectrum bins, `N / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.len / 2 + 1
    }

    /// Length of the complex time buffers: `N / 2` pairs.
    pub fn pairs(&self) -> usize {
        self.len / 2
    }

    /// Scratch length both directions need.
    pub fn scratch_len(&self) -> usize {
        self.scratch_len
    }

    /// `re + i im` (each [`SplitFft::bins`] long) = the DFT of the real signal held as pairs in
    /// `time` ([`SplitFft::pairs`] long; used as work space and left undefined). `buf` is
    /// `pairs` long, `scratch` [`SplitFft::scratch_len`].
    pub fn forward(
        &self,
        time: &mut [Complex<T>],
        buf: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
        re: &mut [T],
        im: &mut [T],
    ) {
        self.forward
            .process_outofplace_with_scratch(time, buf, scratch);
        T::untangle(buf, &self.cos, &self.sin, re, im);
    }

    /// The real signal whose DFT is `re + i im`, times `N` (unnormalized, as realfft's
    /// inverse), as *conjugated* pairs in `time` ([`SplitFft::pairs`] long): `time[j]` is
    /// `x[2j] - i x[2j+1]` (see the module doc). The imaginary parts of DC and Nyquist are
    /// ignored. `buf` is `pairs` long and left undefined.
    pub fn inverse(
        &self,
        re: &[T],
        im: &[T],
        buf: &mut [Complex<T>],
        scratch: &mut [Complex<T>],
        time: &mut [Complex<T>],
    ) {
        T::tangle(re, im, &self.cos, &self.sin, buf);
        self.forward
            .process_outofplace_with_scratch(buf, time, scratch);
    }
}

/// The spectrum of the real signal from the complex DFT `z` of its pairs (`M = z.len()`),
/// the pairs `(k, M - k)` for `k` from `1 + from` on (the vector version does the ones before):
/// with `a = z[k]`, `b = z[M-k]` and `w = e^(-2 pi i k / N)`,
/// `X[k] = (a + conj b) / 2 - i w (a - conj b) / 2`, and `X[M-k]` from the same two numbers.
#[inline(always)]
pub(super) fn untangle<T: Sample>(
    z: &[Complex<T>],
    cos: &[T],
    sin: &[T],
    re: &mut [T],
    im: &mut [T],
    from: usize,
) {
    let m = z.len();
    let (re, im) = (&mut re[..m + 1], &mut im[..m + 1]);
    let half = T::of_f64(0.5);
    re[0] = z[0].re + z[0].im;
    im[0] = T::zero();
    re[m] = z[0].re - z[0].im;
    im[m] = T::zero();
    if m < 2 {
        return;
    }
    let h = m / 2;
    // k in 1..h pairs with M - k in (h, M): the low half read forwards, the high half backwards.
    let count = h - 1;
    let (z_lo, z_hi) = (&z[1..h], &z[h + 1..m]);
    let (cos, sin) = (&cos[1..h], &sin[1..h]);
    let (re_lo, re_rest) = re.split_at_mut(h);
    let (im_lo, im_rest) = im.split_at_mut(h);
    let (re_lo, im_lo) = (&mut re_lo[1..], &mut im_lo[1..]);
    let (re_hi, im_hi) = (&mut re_rest[1..m - h], &mut im_rest[1..m - h]);
    for i in from..count {
        let a = z_lo[i];
        let b = z_hi[count - 1 - i];
        let (sum_re, sum_im) = (a.re + b.re, a.im + b.im);
        let (diff_re, diff_im) = (a.re - b.re, a.im - b.im);
        // w = cos - i sin; -i w (a - conj b) / 2 = (-(sin) - i cos)(diff_re + i sum_im) / 2.
        let (c, s) = (cos[i] * half, sin[i] * half);
        let twisted_re = sum_im * c - diff_re * s;
        let twisted_im = -(sum_im * s) - diff_re * c;
        let (even_re, even_im) = (sum_re * half, diff_im * half);
        re_lo[i] = even_re + twisted_re;
        im_lo[i] = even_im + twisted_im;
        re_hi[count - 1 - i] = even_re - twisted_re;
        im_hi[count - 1 - i] = twisted_im - even_im;
    }
    // The middle bin (M even): X[M/2] = conj z[M/2].
    if m % 2 == 0 {
        re[h] = z[h].re;
        im[h] = -z[h].im;
    }
}

/// The inverse of [`untangle`], up to the factor `N` of an unnormalized transform and
/// conjugated: `conj z`, the pairs' complex spectrum (`z` of length `M`) from the real
/// signal's `M + 1` bins, for [`SplitFft::inverse`]'s forward transform; the pairs from
/// `1 + from` on, as [`untangle`].
#[inline(always)]
pub(super) fn tangle<T: Sample>(
    re: &[T],
    im: &[T],
    cos: &[T],
    sin: &[T],
    z: &mut [Complex<T>],
    from: usize,
) {
    let m = z.len();
    let (re, im) = (&re[..m + 1], &im[..m + 1]);
    z[0] = Complex::new(re[0] + re[m], re[m] - re[0]);
    if m < 2 {
        return;
    }
    let h = m / 2;
    let count = h - 1;
    let (cos, sin) = (&cos[1..h], &sin[1..h]);
    let (re_lo, im_lo) = (&re[1..h], &im[1..h]);
    let (re_hi, im_hi) = (&re[h + 1..m], &im[h + 1..m]);
    let (z_lo, z_rest) = z.split_at_mut(h);
    let z_lo = &mut z_lo[1..];
    let z_hi = &mut z_rest[1..];
    for i in from..count {
        let j = count - 1 - i;
        let (a_re, a_im) = (re_lo[i], im_lo[i]);
        let (b_re, b_im) = (re_hi[j], im_hi[j]);
        let (sum_re, sum_im) = (a_re + b_re, a_im + b_im);
        let (diff_re, diff_im) = (a_re - b_re, a_im - b_im);
        // The conjugate twiddle (cos + i sin) of the forward's.
        let twisted_re = sum_im * cos[i] + diff_re * sin[i];
        let twisted_im = sum_im * sin[i] - diff_re * cos[i];
        z_lo[i] = Complex::new(sum_re - twisted_re, twisted_im - diff_im);
        z_hi[j] = Complex::new(sum_re + twisted_re, twisted_im + diff_im);
    }
    if m % 2 == 0 {
        z[h] = Complex::new(re[h] + re[h], im[h] + im[h]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    fn pairs<T: Sample>(x: &[T]) -> Vec<Complex<T>> {
        x.chunks(2).map(|p| Complex::new(p[0], p[1])).collect()
    }

    /// The forward transform is the DFT by definition, and the inverse undoes it (times N),
    /// for every length the engine uses from 2 up.
    /// One transform per thread and length: the same one for the same length, another for
    /// another length, and it transforms like a fresh one.
    #[test]
    fn shared_transforms_are_made_once_per_length() {
        let a = SplitFft::<f32>::shared(64);
        let b = SplitFft::<f32>::shared(64);
        let c = SplitFft::<f32>::shared(128);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let fresh = SplitFft::<f32>::new(64);
        assert_eq!((a.cos.clone(), a.sin.clone()), (fresh.cos, fresh.sin));
    }

    #[test]
    fn forward_is_the_dft_and_inverse_undoes_it() {
        for n in [2usize, 4, 8, 16, 32, 64, 256, 1024] {
            let x = signal(n, n as u64);
            let fft = SplitFft::<f64>::new(n);
            let mut time = pairs(&x);
            let mut buf = vec![Complex::new(0.0, 0.0); fft.pairs()];
            let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
            let (mut re, mut im) = (vec![9.0; fft.bins()], vec![9.0; fft.bins()]);
            fft.forward(&mut time, &mut buf, &mut scratch, &mut re, &mut im);
            for k in 0..fft.bins() {
                let (mut sr, mut si) = (0.0, 0.0);
                for (t, v) in x.iter().enumerate() {
                    let w = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                    sr += v * w.cos();
                    si += v * w.sin();
                }
                assert!(
                    (re[k] - sr).abs() < 1e-9 && (im[k] - si).abs() < 1e-9,
                    "n {n} k {k}"
                );
            }
            let mut back = vec![Complex::new(0.0, 0.0); fft.pairs()];
            fft.inverse(&re, &im, &mut buf, &mut scratch, &mut back);
            for (j, c) in back.iter().enumerate() {
                let (a, b) = (c.re / n as f64, -c.im / n as f64);
                assert!((a - x[2 * j]).abs() < 1e-12, "n {n} j {j}");
                assert!((b - x[2 * j + 1]).abs() < 1e-12, "n {n} j {j}");
            }
        }
    }

    /// Against realfft in f32 (the AVX2 build when the CPU has it): within rounding, both ways.
    #[test]
    fn agrees_with_realfft_in_f32() {
        for n in [2usize, 4, 8, 128, 4096, 65536] {
            let x: Vec<f32> = signal(n, 7).iter().map(|&v| v as f32).collect();
            let fft = SplitFft::<f32>::new(n);
            let mut time = pairs(&x);
            let mut buf = vec![Complex::new(0.0, 0.0); fft.pairs()];
            let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
            let (mut re, mut im) = (vec![0.0; fft.bins()], vec![0.0; fft.bins()]);
            fft.forward(&mut time, &mut buf, &mut scratch, &mut re, &mut im);
            let theirs = crate::conv::sample::real_forward::<f32>(n);
            let mut input = x.clone();
            let mut spectrum = theirs.make_output_vec();
            theirs.process(&mut input, &mut spectrum).unwrap();
            let scale = (n as f32).sqrt();
            for (k, c) in spectrum.iter().enumerate() {
                assert!((re[k] - c.re).abs() <= 1e-5 * scale, "n {n} k {k}");
                assert!((im[k] - c.im).abs() <= 1e-5 * scale, "n {n} k {k}");
            }
            let mut back = vec![Complex::new(0.0, 0.0); fft.pairs()];
            fft.inverse(&re, &im, &mut buf, &mut scratch, &mut back);
            let inverse = crate::conv::sample::real_inverse::<f32>(n);
            let mut out = inverse.make_output_vec();
            inverse.process(&mut spectrum, &mut out).unwrap();
            for (j, c) in back.iter().enumerate() {
                assert!((c.re - out[2 * j]).abs() <= 1e-5 * n as f32, "n {n} j {j}");
                assert!(
                    (-c.im - out[2 * j + 1]).abs() <= 1e-5 * n as f32,
                    "n {n} j {j}"
                );
            }
        }
    }

    /// The f32 passes (AVX2 where the CPU has it, eight bins a step and a portable tail) give
    /// the portable loops' numbers bit for bit, at every length around a step's edges.
    #[test]
    fn the_vector_passes_equal_the_portable_ones() {
        for m in [1usize, 2, 4, 8, 16, 18, 20, 32, 34, 36, 50, 64, 1024] {
            let n = 2 * m;
            let fft = SplitFft::<f32>::new(n);
            let v: Vec<f32> = signal(4 * m + 2, m as u64)
                .iter()
                .map(|&x| x as f32)
                .collect();
            let z: Vec<Complex<f32>> = pairs(&v[..n]);
            let (mut re_a, mut im_a) = (vec![0.0f32; m + 1], vec![0.0f32; m + 1]);
            let (mut re_b, mut im_b) = (re_a.clone(), im_a.clone());
            f32::untangle(&z, &fft.cos, &fft.sin, &mut re_a, &mut im_a);
            untangle(&z, &fft.cos, &fft.sin, &mut re_b, &mut im_b, 0);
            assert_eq!((&re_a, &im_a), (&re_b, &im_b), "untangle, m {m}");
            let (re, im) = (&v[n..n + m + 1], &v[n + m + 1..n + 2 * m + 2]);
            let mut z_a = vec![Complex::new(0.0f32, 0.0); m];
            let mut z_b = z_a.clone();
            f32::tangle(re, im, &fft.cos, &fft.sin, &mut z_a);
            tangle(re, im, &fft.cos, &fft.sin, &mut z_b, 0);
            assert_eq!(z_a, z_b, "tangle, m {m}");
        }
    }

    /// The imaginary parts of DC and Nyquist, which a real signal's spectrum cannot have, are
    /// ignored rather than trusted.
    #[test]
    fn the_inverse_ignores_imaginary_dc_and_nyquist() {
        let n = 16;
        let fft = SplitFft::<f64>::new(n);
        let re: Vec<f64> = (0..fft.bins()).map(|k| k as f64).collect();
        let mut im: Vec<f64> = (0..fft.bins()).map(|k| 0.5 * k as f64).collect();
        let mut buf = vec![Complex::new(0.0, 0.0); fft.pairs()];
        let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
        let (mut a, mut b) = (buf.clone(), buf.clone());
        im[0] = 0.0;
        im[n / 2] = 0.0;
        fft.inverse(&re, &im, &mut buf, &mut scratch, &mut a);
        im[0] = 3.0;
        im[n / 2] = -7.0;
        fft.inverse(&re, &im, &mut buf, &mut scratch, &mut b);
        assert_eq!(a, b);
    }
}
