//! One-shot convolution: direct vs FFT vs auto over a grid of (signal length N, kernel length M),
//! f64, full mode. `auto` should never be much slower than the better of the other two;
//! `python3 benches/auto_vs_best.py` summarises the saved medians.
//!
//!     cargo bench --bench oneshot
//!     python3 benches/auto_vs_best.py

use std::hint::black_box;
use std::time::Duration;

use convoy::conv::{Method, Mode, Options, convolve_with};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn signal(len: usize, seed: u64) -> Vec<f64> {
    // A cheap deterministic pseudo-random sequence (xorshift), uniform in [-1, 1).
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

fn grid(c: &mut Criterion) {
    for &n in &[1_024usize, 16_384, 262_144] {
        for &m in &[4usize, 16, 32, 64, 256, 1_024] {
            if m > n {
                continue;
            }
            let x = signal(n, 1);
            let h = signal(m, 2);
            let mut group = c.benchmark_group(format!("oneshot/N={n}/M={m}"));
            group.throughput(Throughput::Elements((n + m - 1) as u64));
            for method in [Method::Direct, Method::Fft, Method::Auto] {
                let options = Options {
                    method,
                    mode: Mode::Full,
                    ..Options::default()
                };
                group.bench_with_input(BenchmarkId::from_parameter(method), &options, |b, o| {
                    b.iter(|| black_box(convolve_with(&x, &h, o)))
                });
            }
            group.finish();
        }
    }
}

/// The case the closing note compares with scipy.signal.fftconvolve: N = 2^20, M = 2^15.
fn scipy_case(c: &mut Criterion) {
    let x = signal(1 << 20, 3);
    let h = signal(1 << 15, 4);
    let mut group = c.benchmark_group("oneshot/scipy-case");
    group.sample_size(10);
    group.throughput(Throughput::Elements(((1 << 20) + (1 << 15) - 1) as u64));
    group.bench_function("fft N=2^20 M=2^15", |b| {
        b.iter(|| black_box(convolve_with(&x, &h, &Options::default())))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = grid, scipy_case
}
criterion_main!(benches);
