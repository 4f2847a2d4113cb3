//! The frequency-domain multiply-accumulate, with a runtime-dispatched AVX2+FMA version.
//!
//! Audio thread. `acc += x * h` over complex bins stored as split real/imaginary slices is
//! where a long kernel at a small block spends almost all of its time. The default build
//! targets baseline x86-64 (SSE2, 4 f32 lanes, no FMA); when the CPU has AVX2 and FMA (checked
//! at run time, cached by std) the same loop is compiled a second time with those features
//! enabled: 8 lanes and fused multiply-adds, about twice the throughput. The two differ only in
//! rounding (a fused multiply-add rounds once); `tests` compares them.
//!
//! It also holds [`with_avx2`], the same dispatch for any closure (the noise reducer's work
//! over bins), and [`flush_denormals`], which sets the CPU's flush-to-zero and
//! denormals-are-zero modes for the calling (processing) thread.
//!
//! One of the crate's two modules with `unsafe` (the other is `rt.rs`, for the system calls):
//! calling a `#[target_feature]` function and writing the SSE control register.

#![allow(unsafe_code)]

use realfft::num_complex::Complex;

use super::sample::Sample;

/// Defines `pub fn $name<T: Sample>(args)` running `$body::<T, true>(args)` compiled with AVX2
/// and FMA when the CPU has both (checked at run time, cached by std), `$body::<T, false>`
/// otherwise: one dispatch for every loop here that takes a `FUSED` flag.
macro_rules! dispatched {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$doc])*
        #[inline]
        pub fn $name<T: Sample>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                /// # Safety
                /// The CPU must support AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast<T: Sample>($($arg: $ty),*) {
                    $body::<T, true>($($arg),*);
                }
                // SAFETY: `fast` only requires that the CPU supports AVX2 and FMA, which was
                // checked just above; its body is ordinary safe Rust.
                unsafe { fast::<T>($($arg),*) };
                return;
            }
            $body::<T, false>($($arg),*);
        }
    };
}

/// `acc += x * h`, all slices of equal length, split real/imaginary.
#[inline]
pub fn multiply_accumulate<T: Sample>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    dispatch::<T, true>(acc_re, acc_im, x_re, x_im, h_re, h_im);
}

/// `acc = x * h` (the first partition of a block: saves clearing the accumulator first).
#[inline]
pub fn multiply<T: Sample>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    dispatch::<T, false>(acc_re, acc_im, x_re, x_im, h_re, h_im);
}

/// The baseline version of [`multiply_accumulate`] (any CPU), for comparison.
#[inline]
pub fn multiply_accumulate_portable<T: Sample>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    mac_loop::<T, false, true>(acc_re, acc_im, x_re, x_im, h_re, h_im);
}

/// Runs the AVX2+FMA build of the loop when the CPU has both, the baseline build otherwise.
#[inline]
fn dispatch<T: Sample, const ACCUMULATE: bool>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the function only requires that the CPU supports AVX2 and FMA, which was
        // checked just above; its body is ordinary safe Rust.
        unsafe { avx2_fma::<T, ACCUMULATE>(acc_re, acc_im, x_re, x_im, h_re, h_im) };
        return;
    }
    mac_loop::<T, false, ACCUMULATE>(acc_re, acc_im, x_re, x_im, h_re, h_im);
}

/// The loop compiled for AVX2 with fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<T: Sample, const ACCUMULATE: bool>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    mac_loop::<T, true, ACCUMULATE>(acc_re, acc_im, x_re, x_im, h_re, h_im);
}

/// Runs `f` compiled for AVX2 (8 lanes where 4) when the CPU has AVX2 and FMA, as it is
/// otherwise: for loops over many bins elsewhere (the noise reducer's per-frame work). Only
/// what is inlined into `f` is compiled so: mark its callees `#[inline(always)]`. Without
/// `mul_add` nothing is fused (Rust does not contract `a * b + c`), so the two builds give
/// the same numbers; only the vector width differs.
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the function only requires that the CPU supports AVX2 and FMA, which was
        // checked just above; `f` is safe Rust.
        return unsafe { run_avx2(f) };
    }
    f()
}

/// `f`, compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The loop itself, inlined into each caller so it is compiled with the caller's target
/// features. `FUSED` uses `mul_add`, which is one instruction with FMA and a slow library call
/// without it; `ACCUMULATE` adds to `acc` instead of overwriting it.
#[inline(always)]
fn mac_loop<T: Sample, const FUSED: bool, const ACCUMULATE: bool>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
) {
    let n = acc_re.len();
    let (acc_im, x_re, x_im, h_re, h_im) = (
        &mut acc_im[..n],
        &x_re[..n],
        &x_im[..n],
        &h_re[..n],
        &h_im[..n],
    );
    for k in 0..n {
        if !ACCUMULATE {
            if FUSED {
                acc_re[k] = x_re[k].mul_add(h_re[k], -(x_im[k] * h_im[k]));
                acc_im[k] = x_re[k].mul_add(h_im[k], x_im[k] * h_re[k]);
            } else {
                acc_re[k] = x_re[k] * h_re[k] - x_im[k] * h_im[k];
                acc_im[k] = x_re[k] * h_im[k] + x_im[k] * h_re[k];
            }
        } else if FUSED {
            acc_re[k] = x_re[k].mul_add(h_re[k], (-x_im[k]).mul_add(h_im[k], acc_re[k]));
            acc_im[k] = x_re[k].mul_add(h_im[k], x_im[k].mul_add(h_re[k], acc_im[k]));
        } else {
            acc_re[k] = acc_re[k] + x_re[k] * h_re[k] - x_im[k] * h_im[k];
            acc_im[k] = acc_im[k] + x_re[k] * h_im[k] + x_im[k] * h_re[k];
        }
    }
}

/// A frequency-domain delay line and a partitioned kernel's spectra, split re/im: `slots`
/// input spectra of `bins` each (as many as the kernel has partitions, one more when two
/// blocks are computed in a pass), the newest in slot `head`, so that partition `p` of the
/// kernel meets the input spectrum from `p` blocks ago in slot `(head - p) mod slots`.
pub struct Ring<'a, T> {
    pub fdl_re: &'a [T],
    pub fdl_im: &'a [T],
    pub h_re: &'a [T],
    pub h_im: &'a [T],
    pub bins: usize,
    /// Distance between consecutive spectra (`>= bins`) in both the delay line and the kernel.
    pub stride: usize,
    pub slots: usize,
    pub head: usize,
}

impl<T> Ring<'_, T> {
    /// The delay-line slot of the input spectrum from `p` blocks ago (`p < slots`).
    #[inline(always)]
    fn slot(&self, p: usize) -> usize {
        if p <= self.head {
            self.head - p
        } else {
            self.head + self.slots - p
        }
    }
}

dispatched! {
    /// `acc = sum over p in parts of X[slot(p)] * H[p]` when `parts` starts at partition 0, else
    /// `acc += ...`: several partitions' multiply-accumulates in one pass over the bins, a strip
    /// of bins at a time with its sums held in registers across the partitions, instead of one
    /// pass per partition that loads and stores the accumulator each time (half the memory
    /// traffic of the delay line's product). Partitions are added in the same order and each
    /// with the same operations as [`multiply`] then [`multiply_accumulate`] one partition at a
    /// time: the same numbers, bit for bit.
    pub fn multiply_accumulate_ring(
        acc_re: &mut [T],
        acc_im: &mut [T],
        ring: &Ring<'_, T>,
        parts: std::ops::Range<usize>,
    ) => ring_loop
}

/// Bins per strip: 32 f32 sums (re and im) are eight AVX registers, enough independent
/// chains to keep two fused multiply-adds a cycle in flight.
const STRIP: usize = 32;

#[inline(always)]
fn ring_loop<T: Sample, const FUSED: bool>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    ring: &Ring<'_, T>,
    parts: std::ops::Range<usize>,
) {
    let bins = ring.bins;
    if parts.is_empty() {
        return;
    }
    let (acc_re, acc_im) = (&mut acc_re[..bins], &mut acc_im[..bins]);
    let overwrite = parts.start == 0;
    // Wide strips, then narrow ones (a block of 8 or 16 has only 9 or 17 bins), then one bin
    // at a time (at least the Nyquist bin).
    let [wide, narrow, single] = strip_ranges(bins, STRIP);
    strips::<T, FUSED, STRIP>(acc_re, acc_im, ring, &parts, wide, overwrite);
    strips::<T, FUSED, 8>(acc_re, acc_im, ring, &parts, narrow, overwrite);
    strips::<T, FUSED, 1>(acc_re, acc_im, ring, &parts, single, overwrite);
}

/// `0..n` cut for strips of `wide`, then 8, then 1 element: the whole multiples of `wide`
/// first, then of 8 in what is left, then the rest.
fn strip_ranges(n: usize, wide: usize) -> [std::ops::Range<usize>; 3] {
    let w = n / wide * wide;
    let e = w + (n - w) / 8 * 8;
    [0..w, w..e, e..n]
}

/// [`ring_loop`] over `range` (a multiple of `W` bins long), `W` bins at a time.
#[inline(always)]
fn strips<T: Sample, const FUSED: bool, const W: usize>(
    acc_re: &mut [T],
    acc_im: &mut [T],
    ring: &Ring<'_, T>,
    parts: &std::ops::Range<usize>,
    range: std::ops::Range<usize>,
    overwrite: bool,
) {
    let mut start = range.start;
    while start + W <= range.end {
        let mut re = [T::zero(); W];
        let mut im = [T::zero(); W];
        if !overwrite {
            re.copy_from_slice(&acc_re[start..start + W]);
            im.copy_from_slice(&acc_im[start..start + W]);
        }
        for p in parts.clone() {
            let x = ring.slot(p) * ring.stride + start;
            let h = p * ring.stride + start;
            strip_product::<T, FUSED, W>(
                &mut re,
                &mut im,
                &ring.fdl_re[x..x + W],
                &ring.fdl_im[x..x + W],
                &ring.h_re[h..h + W],
                &ring.h_im[h..h + W],
                overwrite && p == 0,
            );
        }
        acc_re[start..start + W].copy_from_slice(&re);
        acc_im[start..start + W].copy_from_slice(&im);
        start += W;
    }
}

dispatched! {
    /// Consecutive blocks' products in one pass over the kernel's spectra, for a ring with
    /// `accs.len() - 1` more slots than `partitions`: `accs[age] = sum over p of
    /// X[slot(p + age)] * H[p]`, age 0 being the block whose spectrum is at the head and age
    /// `a` the block `a` before it. Each kernel spectrum is read from memory once for all the
    /// blocks, and each input spectrum once: when the spectra outgrow the cache (a long kernel
    /// at a large block) the product's memory traffic is divided by the number of blocks. Each
    /// block's sum is formed with the operations and in the order of
    /// [`multiply_accumulate_ring`] over all partitions: the same numbers, bit for bit.
    pub fn multiply_accumulate_ring_batch(
        accs: &mut [(Vec<T>, Vec<T>)],
        ring: &Ring<'_, T>,
        partitions: usize,
    ) => batch_loop
}

/// Bins per strip of the two-block product: its 16 f32 sums per block (re and im) are eight
/// AVX registers for the two blocks, as the single product's 32. Four blocks take strips of
/// 8 bins, the same eight registers.
const PAIR_STRIP: usize = 16;

#[inline(always)]
fn batch_loop<T: Sample, const FUSED: bool>(
    accs: &mut [(Vec<T>, Vec<T>)],
    ring: &Ring<'_, T>,
    partitions: usize,
) {
    let bins = ring.bins;
    if partitions == 0 {
        return;
    }
    match accs {
        [a, b] => {
            let mut accs = [
                (&mut a.0[..bins], &mut a.1[..bins]),
                (&mut b.0[..bins], &mut b.1[..bins]),
            ];
            let [wide, narrow, single] = strip_ranges(bins, PAIR_STRIP);
            batch_strips::<T, FUSED, 2, PAIR_STRIP>(&mut accs, ring, partitions, wide);
            batch_strips::<T, FUSED, 2, 8>(&mut accs, ring, partitions, narrow);
            batch_strips::<T, FUSED, 2, 1>(&mut accs, ring, partitions, single);
        }
        [a, b, c, d] => {
            let mut accs = [
                (&mut a.0[..bins], &mut a.1[..bins]),
                (&mut b.0[..bins], &mut b.1[..bins]),
                (&mut c.0[..bins], &mut c.1[..bins]),
                (&mut d.0[..bins], &mut d.1[..bins]),
            ];
            let [wide, narrow, single] = strip_ranges(bins, 8);
            batch_strips::<T, FUSED, 4, 8>(&mut accs, ring, partitions, wide);
            batch_strips::<T, FUSED, 4, 8>(&mut accs, ring, partitions, narrow);
            batch_strips::<T, FUSED, 4, 1>(&mut accs, ring, partitions, single);
        }
        // Any other count: one block at a time (same numbers, no saving).
        _ => {
            for (age, (re, im)) in accs.iter_mut().enumerate() {
                let older = Ring {
                    head: (ring.head + ring.slots - age % ring.slots) % ring.slots,
                    ..*ring
                };
                ring_loop::<T, FUSED>(re, im, &older, 0..partitions);
            }
        }
    }
}

/// [`batch_loop`] for `K` blocks over `range` (a multiple of `W` bins long), `W` bins at a
/// time.
#[inline(always)]
fn batch_strips<T: Sample, const FUSED: bool, const K: usize, const W: usize>(
    acc: &mut [(&mut [T], &mut [T]); K],
    ring: &Ring<'_, T>,
    partitions: usize,
    range: std::ops::Range<usize>,
) {
    let mut start = range.start;
    while start + W <= range.end {
        let mut re = [[T::zero(); W]; K];
        let mut im = [[T::zero(); W]; K];
        for p in 0..partitions {
            let h = p * ring.stride + start;
            let (h_re, h_im) = (&ring.h_re[h..h + W], &ring.h_im[h..h + W]);
            for age in 0..K {
                let x = ring.slot(p + age) * ring.stride + start;
                strip_product::<T, FUSED, W>(
                    &mut re[age],
                    &mut im[age],
                    &ring.fdl_re[x..x + W],
                    &ring.fdl_im[x..x + W],
                    h_re,
                    h_im,
                    p == 0,
                );
            }
        }
        for (age, (a_re, a_im)) in acc.iter_mut().enumerate() {
            a_re[start..start + W].copy_from_slice(&re[age]);
            a_im[start..start + W].copy_from_slice(&im[age]);
        }
        start += W;
    }
}

/// One partition's product over a strip, overwriting or accumulating: the operations of
/// `mac_loop`.
#[inline(always)]
fn strip_product<T: Sample, const FUSED: bool, const W: usize>(
    re: &mut [T; W],
    im: &mut [T; W],
    x_re: &[T],
    x_im: &[T],
    h_re: &[T],
    h_im: &[T],
    overwrite: bool,
) {
    let (x_re, x_im, h_re, h_im) = (&x_re[..W], &x_im[..W], &h_re[..W], &h_im[..W]);
    if overwrite {
        for k in 0..W {
            if FUSED {
                re[k] = x_re[k].mul_add(h_re[k], -(x_im[k] * h_im[k]));
                im[k] = x_re[k].mul_add(h_im[k], x_im[k] * h_re[k]);
            } else {
                re[k] = x_re[k] * h_re[k] - x_im[k] * h_im[k];
                im[k] = x_re[k] * h_im[k] + x_im[k] * h_re[k];
            }
        }
    } else {
        for k in 0..W {
            if FUSED {
                re[k] = x_re[k].mul_add(h_re[k], (-x_im[k]).mul_add(h_im[k], re[k]));
                im[k] = x_re[k].mul_add(h_im[k], x_im[k].mul_add(h_re[k], im[k]));
            } else {
                re[k] = re[k] + x_re[k] * h_re[k] - x_im[k] * h_im[k];
                im[k] = im[k] + x_re[k] * h_im[k] + x_im[k] * h_re[k];
            }
        }
    }
}

dispatched! {
    /// `acc[i] += src[i] * h` over equal-length slices (the direct-form FIR's inner loop, tap
    /// by tap), dispatched like [`multiply_accumulate`].
    pub fn scaled_add(acc: &mut [T], src: &[T], h: T) => scaled_add_loop
}

#[inline(always)]
fn scaled_add_loop<T: Sample, const FUSED: bool>(acc: &mut [T], src: &[T], h: T) {
    let n = acc.len().min(src.len());
    let (acc, src) = (&mut acc[..n], &src[..n]);
    for (a, &s) in acc.iter_mut().zip(src) {
        *a = if FUSED { s.mul_add(h, *a) } else { *a + s * h };
    }
}

/// The real FFT's untangling pass ([`super::split_fft`]) in f32, eight bins a step with AVX2
/// where the CPU has it. The same operations in the same order as the portable loop, without
/// fused multiply-adds: the same numbers either way (`tests` checks it bit for bit).
pub fn untangle_f32(z: &[Complex<f32>], cos: &[f32], sin: &[f32], re: &mut [f32], im: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the function only requires that the CPU supports AVX2, checked just above.
        let done = unsafe { untangle_avx2(z, cos, sin, re, im) };
        super::split_fft::untangle(z, cos, sin, re, im, done);
        return;
    }
    super::split_fft::untangle(z, cos, sin, re, im, 0);
}

/// The inverse real FFT's tangling pass in f32, dispatched like [`untangle_f32`].
pub fn tangle_f32(re: &[f32], im: &[f32], cos: &[f32], sin: &[f32], z: &mut [Complex<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the function only requires that the CPU supports AVX2, checked just above.
        let done = unsafe { tangle_avx2(re, im, cos, sin, z) };
        super::split_fft::tangle(re, im, cos, sin, z, done);
        return;
    }
    super::split_fft::tangle(re, im, cos, sin, z, 0);
}

/// Eight of the `(k, M - k)` pairs of [`super::split_fft::untangle`] at a time, as many whole
/// steps as fit; returns how many pairs it did (the portable loop does the rest and the edges).
///
/// # Safety
/// The CPU must support AVX2. Every load and store below stays in bounds: the slices are cut
/// to `count` elements (or the lengths the portable loop asserts by indexing, checked here up
/// front), and a step at `i` touches indices `i..i + 8` of the forward slices and
/// `count - 8 - i..count - i` of the backward ones, with `i + 8 <= count`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn untangle_avx2(
    z: &[Complex<f32>],
    cos: &[f32],
    sin: &[f32],
    re: &mut [f32],
    im: &mut [f32],
) -> usize {
    use std::arch::x86_64::*;
    let m = z.len();
    if m < 2 || re.len() <= m || im.len() <= m || cos.len() < m / 2 || sin.len() < m / 2 {
        return 0;
    }
    let h = m / 2;
    let count = h - 1;
    let (z_lo, z_hi) = (&z[1..h], &z[h + 1..m]);
    let (cos, sin) = (&cos[1..h], &sin[1..h]);
    let (re_lo, re_rest) = re.split_at_mut(h);
    let (im_lo, im_rest) = im.split_at_mut(h);
    let (re_lo, im_lo) = (&mut re_lo[1..], &mut im_lo[1..]);
    let (re_hi, im_hi) = (&mut re_rest[1..m - h], &mut im_rest[1..m - h]);
    let (zl, zh) = (z_lo.as_ptr().cast::<f32>(), z_hi.as_ptr().cast::<f32>());
    let half = _mm256_set1_ps(0.5);
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let mut i = 0;
    while i + 8 <= count {
        // SAFETY: in bounds, see the function's doc.
        unsafe {
            // Complex<f32> is repr(C) {re, im}: element e of a slice is floats 2e, 2e + 1.
            let (a0, a1) = (
                _mm256_loadu_ps(zl.add(2 * i)),
                _mm256_loadu_ps(zl.add(2 * i + 8)),
            );
            let j = count - 8 - i;
            // The mirrored eight, last first: reversing four complex numbers is reversing four
            // 64-bit lanes.
            let b0 = rev4(_mm256_loadu_ps(zh.add(2 * j + 8)));
            let b1 = rev4(_mm256_loadu_ps(zh.add(2 * j)));
            let (a_re, a_im) = deinterleave(a0, a1);
            let (b_re, b_im) = deinterleave(b0, b1);
            let (sum_re, sum_im) = (_mm256_add_ps(a_re, b_re), _mm256_add_ps(a_im, b_im));
            let (diff_re, diff_im) = (_mm256_sub_ps(a_re, b_re), _mm256_sub_ps(a_im, b_im));
            let c = _mm256_mul_ps(_mm256_loadu_ps(cos.as_ptr().add(i)), half);
            let s = _mm256_mul_ps(_mm256_loadu_ps(sin.as_ptr().add(i)), half);
            let twisted_re = _mm256_sub_ps(_mm256_mul_ps(sum_im, c), _mm256_mul_ps(diff_re, s));
            let twisted_im = _mm256_sub_ps(
                _mm256_xor_ps(_mm256_mul_ps(sum_im, s), _mm256_set1_ps(-0.0)),
                _mm256_mul_ps(diff_re, c),
            );
            let (even_re, even_im) = (_mm256_mul_ps(sum_re, half), _mm256_mul_ps(diff_im, half));
            _mm256_storeu_ps(
                re_lo.as_mut_ptr().add(i),
                _mm256_add_ps(even_re, twisted_re),
            );
            _mm256_storeu_ps(
                im_lo.as_mut_ptr().add(i),
                _mm256_add_ps(even_im, twisted_im),
            );
            let hi_re = _mm256_sub_ps(even_re, twisted_re);
            let hi_im = _mm256_sub_ps(twisted_im, even_im);
            _mm256_storeu_ps(
                re_hi.as_mut_ptr().add(j),
                _mm256_permutevar8x32_ps(hi_re, reverse),
            );
            _mm256_storeu_ps(
                im_hi.as_mut_ptr().add(j),
                _mm256_permutevar8x32_ps(hi_im, reverse),
            );
        }
        i += 8;
    }
    i
}

/// Eight pairs of [`super::split_fft::tangle`] at a time; returns how many it did.
///
/// # Safety
/// As [`untangle_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tangle_avx2(
    re: &[f32],
    im: &[f32],
    cos: &[f32],
    sin: &[f32],
    z: &mut [Complex<f32>],
) -> usize {
    use std::arch::x86_64::*;
    let m = z.len();
    if m < 2 || re.len() <= m || im.len() <= m || cos.len() < m / 2 || sin.len() < m / 2 {
        return 0;
    }
    let h = m / 2;
    let count = h - 1;
    let (cos, sin) = (&cos[1..h], &sin[1..h]);
    let (re_lo, im_lo) = (&re[1..h], &im[1..h]);
    let (re_hi, im_hi) = (&re[h + 1..m], &im[h + 1..m]);
    let (z_lo, z_rest) = z.split_at_mut(h);
    let (z_lo, z_hi) = (&mut z_lo[1..], &mut z_rest[1..]);
    let (zl, zh) = (
        z_lo.as_mut_ptr().cast::<f32>(),
        z_hi.as_mut_ptr().cast::<f32>(),
    );
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let mut i = 0;
    while i + 8 <= count {
        // SAFETY: in bounds, see the function's doc.
        unsafe {
            let j = count - 8 - i;
            let a_re = _mm256_loadu_ps(re_lo.as_ptr().add(i));
            let a_im = _mm256_loadu_ps(im_lo.as_ptr().add(i));
            let b_re = _mm256_permutevar8x32_ps(_mm256_loadu_ps(re_hi.as_ptr().add(j)), reverse);
            let b_im = _mm256_permutevar8x32_ps(_mm256_loadu_ps(im_hi.as_ptr().add(j)), reverse);
            let (sum_re, sum_im) = (_mm256_add_ps(a_re, b_re), _mm256_add_ps(a_im, b_im));
            let (diff_re, diff_im) = (_mm256_sub_ps(a_re, b_re), _mm256_sub_ps(a_im, b_im));
            let c = _mm256_loadu_ps(cos.as_ptr().add(i));
            let s = _mm256_loadu_ps(sin.as_ptr().add(i));
            let twisted_re = _mm256_add_ps(_mm256_mul_ps(sum_im, c), _mm256_mul_ps(diff_re, s));
            let twisted_im = _mm256_sub_ps(_mm256_mul_ps(sum_im, s), _mm256_mul_ps(diff_re, c));
            let lo_re = _mm256_sub_ps(sum_re, twisted_re);
            let lo_im = _mm256_sub_ps(twisted_im, diff_im);
            let hi_re = _mm256_add_ps(sum_re, twisted_re);
            let hi_im = _mm256_add_ps(twisted_im, diff_im);
            let (l0, l1) = interleave(lo_re, lo_im);
            _mm256_storeu_ps(zl.add(2 * i), l0);
            _mm256_storeu_ps(zl.add(2 * i + 8), l1);
            // The mirrored eight go to j..j + 8, last first.
            let (h0, h1) = interleave(
                _mm256_permutevar8x32_ps(hi_re, reverse),
                _mm256_permutevar8x32_ps(hi_im, reverse),
            );
            _mm256_storeu_ps(zh.add(2 * j), h0);
            _mm256_storeu_ps(zh.add(2 * j + 8), h1);
        }
        i += 8;
    }
    i
}

/// Four complex numbers (one per 64-bit lane) in reverse order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rev4(v: std::arch::x86_64::__m256) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    _mm256_castpd_ps(_mm256_permute4x64_pd::<0x1B>(_mm256_castps_pd(v)))
}

/// Eight interleaved complex numbers (two vectors) as their real and imaginary parts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn deinterleave(
    v0: std::arch::x86_64::__m256,
    v1: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    // Within 128-bit lanes: parts of elements 0 1 4 5 | 2 3 6 7; the 64-bit lane permute puts
    // them back in order.
    let re = _mm256_shuffle_ps::<0x88>(v0, v1);
    let im = _mm256_shuffle_ps::<0xDD>(v0, v1);
    let order = |x: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(x)));
    (order(re), order(im))
}

/// Real and imaginary parts of eight complex numbers as two interleaved vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn interleave(
    re: std::arch::x86_64::__m256,
    im: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    let low = _mm256_unpacklo_ps(re, im); // elements 0 1 | 4 5
    let high = _mm256_unpackhi_ps(re, im); // elements 2 3 | 6 7
    (
        _mm256_permute2f128_ps::<0x20>(low, high),
        _mm256_permute2f128_ps::<0x31>(low, high),
    )
}

dispatched! {
    /// `y[i] = sum over k of taps[k] * x[i + hist - k]` for every `i` of `y` (`x` holds `hist`
    /// older samples first; `hist = taps.len() - 1`): the direct-form FIR over a chunk, a strip of
    /// outputs at a time with its sums in registers across all the taps (one load and one
    /// multiply-add per tap and vector, where tap-by-tap passes over the chunk also load and store
    /// the sums every tap). Taps are added in order from 0, each with one multiply-add (fused
    /// with FMA): the numbers of [`scaled_add`] tap by tap into zeros, bit for bit.
    pub fn fir_chunk(y: &mut [T], x: &[T], taps: &[T]) => fir_chunk_loop
}

#[inline(always)]
fn fir_chunk_loop<T: Sample, const FUSED: bool>(y: &mut [T], x: &[T], taps: &[T]) {
    let n = y.len();
    if taps.is_empty() {
        y.fill(T::zero());
        return;
    }
    let hist = taps.len() - 1;
    let x = &x[..n + hist];
    // 64 f32 sums are eight AVX registers: each takes one multiply-add per tap, which must
    // wait for its last (four cycles), so eight chains keep two a cycle going.
    let [wide, narrow, single] = strip_ranges(n, 64);
    fir_strips::<T, FUSED, 64>(y, x, taps, wide);
    fir_strips::<T, FUSED, 8>(y, x, taps, narrow);
    fir_strips::<T, FUSED, 1>(y, x, taps, single);
}

#[inline(always)]
fn fir_strips<T: Sample, const FUSED: bool, const W: usize>(
    y: &mut [T],
    x: &[T],
    taps: &[T],
    range: std::ops::Range<usize>,
) {
    let hist = taps.len() - 1;
    let mut start = range.start;
    while start + W <= range.end {
        let mut sums = [T::zero(); W];
        for (k, &h) in taps.iter().enumerate() {
            let from = start + hist - k;
            let window = &x[from..from + W];
            for (s, &v) in sums.iter_mut().zip(window) {
                *s = if FUSED { v.mul_add(h, *s) } else { *s + v * h };
            }
        }
        y[start..start + W].copy_from_slice(&sums);
        start += W;
    }
}

/// Makes subnormal floats count as zero on the calling thread (x86-64: the MXCSR FTZ and DAZ
/// bits; other targets: nothing). A decaying reverb tail or an IIR stage feeding the engine can
/// otherwise produce subnormals, which cost some CPUs a hundred times the normal time per
/// operation. Audio loses nothing: subnormals are below -750 dBFS.
///
/// Call it only at the start of a thread that will run nothing but the real-time f32 engine
/// (the processing thread of a live run, `convoy bench`): numpy-exact arithmetic (the one-shot
/// core, the offline chain's f64 edges, text data) must never run with it set.
pub fn flush_denormals() {
    // The intrinsics are deprecated in favour of inline assembly, which would need `unsafe`
    // just the same; these are the documented, portable-across-compilers way.
    #[cfg(target_arch = "x86_64")]
    #[allow(deprecated)]
    {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        const FLUSH_TO_ZERO: u32 = 1 << 15;
        const DENORMALS_ARE_ZERO: u32 = 1 << 6;
        // SAFETY: SSE is part of the x86-64 baseline, so MXCSR exists and the intrinsics are
        // sound to call. What is not guaranteed is the result of float code afterwards: Rust
        // assumes the default floating-point environment, so once FTZ/DAZ are set, code that was
        // constant-folded at compile time and the same code run on this thread may disagree
        // about subnormals, which Rust's float model does not define. That is why this is
        // confined to the audio thread of a live run (and the bench), which from here on runs
        // only convoy's f32 streaming engine, where a subnormal flushed to zero is the intended
        // result; no code on that thread uses float results for indexing, lengths or anything
        // memory safety rests on. The thread ends with the run; the mode dies with it.
        unsafe {
            _mm_setcsr(_mm_getcsr() | FLUSH_TO_ZERO | DENORMALS_ARE_ZERO);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values in [-1, 1), a different sequence for each seed.
    fn make(seed: usize, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i + seed) * 7919 % 1000) as f32) / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn flush_denormals_zeroes_subnormal_arithmetic_on_this_thread_only() {
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        let before = std::thread::spawn(move || std::hint::black_box(tiny) / 4.0)
            .join()
            .unwrap();
        assert!(before > 0.0 && before.is_subnormal());
        let after = std::thread::spawn(move || {
            flush_denormals();
            std::hint::black_box(tiny) / 4.0
        })
        .join()
        .unwrap();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(after, 0.0);
        let _ = after;
    }

    #[test]
    fn multiply_equals_accumulating_into_zero() {
        let n = 131;
        let make = |seed: usize| make(seed, n);
        let (x_re, x_im, h_re, h_im) = (make(1), make(2), make(3), make(4));
        let mut product = (make(5), make(6));
        multiply(&mut product.0, &mut product.1, &x_re, &x_im, &h_re, &h_im);
        let mut acc = (vec![0.0f32; n], vec![0.0f32; n]);
        multiply_accumulate(&mut acc.0, &mut acc.1, &x_re, &x_im, &h_re, &h_im);
        for (p, q) in product
            .0
            .iter()
            .chain(&product.1)
            .zip(acc.0.iter().chain(&acc.1))
        {
            assert!((p - q).abs() <= 1e-6 * (1.0 + q.abs()), "{p} vs {q}");
        }
    }

    /// A ring over test arrays: the delay line's re and im, the kernel's re and im.
    fn ring_of(
        arrays: &[Vec<f32>; 4],
        bins: usize,
        stride: usize,
        slots: usize,
        head: usize,
    ) -> Ring<'_, f32> {
        let [fdl_re, fdl_im, h_re, h_im] = arrays;
        Ring {
            fdl_re,
            fdl_im,
            h_re,
            h_im,
            bins,
            stride,
            slots,
            head,
        }
    }

    /// The strip-wise product over several partitions gives exactly the numbers of one
    /// multiply (first partition) and multiply-accumulates (the rest) per partition, in the
    /// same order, for strips with and without a remainder, any head and any run of partitions,
    /// spectra packed or padded apart.
    #[test]
    fn the_ring_product_equals_one_partition_at_a_time() {
        for pad in [0usize, 5] {
            for (bins, partitions) in [
                (1usize, 1usize),
                (2, 3),
                (9, 4),
                (33, 2),
                (65, 5),
                (129, 15),
            ] {
                let stride = bins + pad;
                let n = stride * partitions;
                let arrays = [make(1, n), make(2, n), make(3, n), make(4, n)];
                let [fdl_re, fdl_im, h_re, h_im] = &arrays;
                for head in 0..partitions {
                    let ring = ring_of(&arrays, bins, stride, partitions, head);
                    for (from, to) in [
                        (0, partitions),
                        (0, 1),
                        (1, partitions),
                        (partitions / 2, partitions),
                    ] {
                        let mut fused = (make(5, bins), make(6, bins));
                        let mut single = fused.clone();
                        multiply_accumulate_ring(&mut fused.0, &mut fused.1, &ring, from..to);
                        for p in from..to {
                            let x = ((head + partitions - p) % partitions) * stride;
                            let h = p * stride;
                            let one = if p == 0 {
                                multiply::<f32>
                            } else {
                                multiply_accumulate::<f32>
                            };
                            one(
                                &mut single.0,
                                &mut single.1,
                                &fdl_re[x..x + bins],
                                &fdl_im[x..x + bins],
                                &h_re[h..h + bins],
                                &h_im[h..h + bins],
                            );
                        }
                        assert_eq!(
                            fused, single,
                            "bins {bins} stride {stride} partitions {partitions} head {head} {from}..{to}"
                        );
                    }
                }
            }
        }
    }

    /// The batched product gives each of its blocks exactly the numbers of the single product
    /// over all partitions, at every head of a ring with the spare slots, for two and four
    /// blocks (and three, done one by one), strips with and without a remainder.
    #[test]
    fn the_batched_product_equals_single_ones() {
        for blocks in [2usize, 3, 4] {
            for (bins, partitions) in [
                (1usize, 1usize),
                (2, 2),
                (9, 3),
                (17, 2),
                (33, 4),
                (65, 5),
                (129, 8),
            ] {
                let slots = partitions + blocks - 1;
                let stride = bins + 3;
                let (x, h) = (slots * stride, partitions * stride);
                let arrays = [make(1, x), make(2, x), make(3, h), make(4, h)];
                for head in 0..slots {
                    let ring = ring_of(&arrays, bins, stride, slots, head);
                    let mut got: Vec<(Vec<f32>, Vec<f32>)> = (0..blocks)
                        .map(|age| (make(5 + age, bins), make(9 + age, bins)))
                        .collect();
                    multiply_accumulate_ring_batch(&mut got, &ring, partitions);
                    for (age, got) in got.iter().enumerate() {
                        let older = Ring {
                            head: (head + slots - age) % slots,
                            ..ring
                        };
                        let mut single = (make(20, bins), make(21, bins));
                        multiply_accumulate_ring(
                            &mut single.0,
                            &mut single.1,
                            &older,
                            0..partitions,
                        );
                        assert_eq!(
                            *got, single,
                            "blocks {blocks} bins {bins} partitions {partitions} head {head} age {age}"
                        );
                    }
                }
            }
        }
    }

    /// The strip-wise FIR gives the tap-by-tap passes' numbers bit for bit, for strips with and
    /// without remainders and kernels of one tap up.
    #[test]
    fn the_fir_chunk_equals_tap_by_tap_passes() {
        for taps in [1usize, 2, 5, 31, 100] {
            for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 50, 2048] {
                let h = make(taps, taps);
                let x = make(n + 3, n + taps - 1);
                let mut fused = make(1, n);
                fir_chunk(&mut fused, &x, &h);
                let mut single = vec![0.0f32; n];
                for (k, &hk) in h.iter().enumerate() {
                    scaled_add(&mut single, &x[taps - 1 - k..taps - 1 - k + n], hk);
                }
                assert_eq!(fused, single, "taps {taps} n {n}");
            }
        }
    }

    #[test]
    fn dispatched_and_portable_agree() {
        for n in [1usize, 7, 8, 9, 129, 1025] {
            let make = |seed: usize| make(seed, n);
            let (x_re, x_im, h_re, h_im) = (make(1), make(2), make(3), make(4));
            let mut a = (make(5), make(6));
            let mut b = a.clone();
            multiply_accumulate(&mut a.0, &mut a.1, &x_re, &x_im, &h_re, &h_im);
            multiply_accumulate_portable(&mut b.0, &mut b.1, &x_re, &x_im, &h_re, &h_im);
            for (p, q) in a.0.iter().chain(&a.1).zip(b.0.iter().chain(&b.1)) {
                assert!((p - q).abs() <= 1e-6 * (1.0 + q.abs()), "{p} vs {q}");
            }
        }
    }
}
