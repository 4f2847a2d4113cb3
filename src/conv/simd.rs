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

use super::sample::Sample;

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

/// `acc[i] += src[i] * h` over equal-length slices (the direct-form FIR's inner loop),
/// dispatched like [`multiply_accumulate`].
#[inline]
pub fn scaled_add<T: Sample>(acc: &mut [T], src: &[T], h: T) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the function only requires that the CPU supports AVX2 and FMA, which was
        // checked just above; its body is ordinary safe Rust.
        unsafe { scaled_add_avx2_fma(acc, src, h) };
        return;
    }
    scaled_add_loop::<T, false>(acc, src, h);
}

/// [`scaled_add`] compiled for AVX2 with fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn scaled_add_avx2_fma<T: Sample>(acc: &mut [T], src: &[T], h: T) {
    scaled_add_loop::<T, true>(acc, src, h);
}

#[inline(always)]
fn scaled_add_loop<T: Sample, const FUSED: bool>(acc: &mut [T], src: &[T], h: T) {
    let n = acc.len().min(src.len());
    let (acc, src) = (&mut acc[..n], &src[..n]);
    for (a, &s) in acc.iter_mut().zip(src) {
        *a = if FUSED { s.mul_add(h, *a) } else { *a + s * h };
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
        let make = |seed: usize| -> Vec<f32> {
            (0..n)
                .map(|i| (((i + seed) * 7919 % 1000) as f32) / 500.0 - 1.0)
                .collect()
        };
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

    #[test]
    fn dispatched_and_portable_agree() {
        for n in [1usize, 7, 8, 9, 129, 1025] {
            let make = |seed: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| (((i + seed) * 7919 % 1000) as f32) / 500.0 - 1.0)
                    .collect()
            };
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
