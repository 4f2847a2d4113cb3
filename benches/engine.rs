//! The streaming engine: the frequency-domain multiply-accumulate rate, and uniform vs
//! non-uniform partitioned convolution over a grid of kernel length x block, in samples/s.
//!
//!     cargo bench --bench engine

use std::hint::black_box;
use std::time::Duration;

use convoy::conv::simd::{multiply_accumulate, multiply_accumulate_portable};
use convoy::conv::{PartitionedConvolver, Schedule};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn noise(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as f32 / u32::MAX as f32 - 0.5
        })
        .collect()
}

/// Complex multiply-accumulates per second over a delay line of 64 partitions x 257 bins
/// (Throughput counts MACs).
fn mac(c: &mut Criterion) {
    let (bins, parts) = (257, 64);
    let (x_re, x_im, h_re, h_im) = (
        noise(bins * parts, 1),
        noise(bins * parts, 2),
        noise(bins * parts, 3),
        noise(bins * parts, 4),
    );
    let mut group = c.benchmark_group("engine/mac");
    group.throughput(Throughput::Elements((bins * parts) as u64));
    for (name, f) in [
        (
            "dispatched",
            multiply_accumulate::<f32>
                as fn(&mut [f32], &mut [f32], &[f32], &[f32], &[f32], &[f32]),
        ),
        ("portable", multiply_accumulate_portable::<f32>),
    ] {
        let (mut acc_re, mut acc_im) = (vec![0.0f32; bins], vec![0.0f32; bins]);
        group.bench_function(name, |b| {
            b.iter(|| {
                for p in 0..parts {
                    let r = p * bins..(p + 1) * bins;
                    f(
                        &mut acc_re,
                        &mut acc_im,
                        &x_re[r.clone()],
                        &x_im[r.clone()],
                        &h_re[r.clone()],
                        &h_im[r],
                    );
                }
                black_box(&acc_re);
            })
        });
    }
    group.finish();
}

/// One second of 48 kHz mono audio through each engine, block by block.
fn engines(c: &mut Criterion) {
    let rate = 48_000;
    for &(kernel_len, block) in &[(4_096usize, 64usize), (65_536, 128), (262_144, 64)] {
        let kernel = noise(kernel_len, 7);
        let input = noise(block, 9);
        let mut output = vec![0.0f32; block];
        let mut group = c.benchmark_group(format!("engine/M={kernel_len}/B={block}"));
        group.throughput(Throughput::Elements(rate as u64));
        group.sample_size(10);
        for (name, schedule) in [
            ("uniform", Schedule::uniform(kernel_len, block)),
            ("partitioned", Schedule::choose(kernel_len, block)),
        ] {
            if name == "uniform" && kernel_len > 100_000 {
                continue; // ~1 s per iteration; nobody runs it that way
            }
            let mut conv = PartitionedConvolver::with_schedule(&kernel, &schedule).unwrap();
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    for _ in 0..rate / block {
                        conv.process(&input, &mut output);
                    }
                    black_box(&output);
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = mac, engines
}
criterion_main!(benches);
