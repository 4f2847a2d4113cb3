//! Times forced FFT plans and the direct method over a grid, for fitting the cost model in
//! `src/conv/fft.rs` (`cost` module). Not a criterion bench: it prints one row per timing,
//! `method n m nfft blocks measured_ns modelled_ns`, best of 15 runs.
//!
//!     cargo bench --bench calibrate > /tmp/rows.txt
//!     python3 benches/fit_cost_model.py /tmp/rows.txt
//!
//! `cargo bench --bench calibrate -- stages` times one block of the streaming
//! `UniformConvolver` for every block size with 1 and 9 partitions: the fixed cost per block
//! and the cost per partition bin that `conv::partitioned::cost` holds.
//!
//! `cargo bench --bench calibrate -- auto` instead checks the outcome on the criterion grid of
//! `benches/oneshot.rs`, with the three methods timed in turn (direct, fft, auto, direct, ...)
//! so that the machine's drift hits them alike, and prints auto's ratio to the better one.

use std::hint::black_box;
use std::time::Instant;

use convoy::conv::{
    Method, Mode, Options, UniformConvolver, auto_method, convolve_with, direct, fft,
};

fn best_time(mut f: impl FnMut()) -> f64 {
    let mut reps = 1;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        if t.elapsed().as_secs_f64() > 0.002 {
            break;
        }
        reps *= 2;
    }
    (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / f64::from(reps)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Median time of each closure, timed in turn `rounds` times after a warm-up.
fn interleaved(fs: &[&dyn Fn()], rounds: usize) -> Vec<f64> {
    let reps: Vec<u32> = fs
        .iter()
        .map(|f| {
            let t = Instant::now();
            f();
            (2e-3 / t.elapsed().as_secs_f64().max(1e-9)).clamp(1.0, 1e5) as u32
        })
        .collect();
    let mut samples = vec![Vec::new(); fs.len()];
    for _ in 0..rounds {
        for (i, f) in fs.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..reps[i] {
                f();
            }
            samples[i].push(t.elapsed().as_secs_f64() / f64::from(reps[i]));
        }
    }
    samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect()
}

fn check_auto() {
    let signal = |len: usize, k: usize| -> Vec<f64> {
        (0..len)
            .map(|i| (((i + k) * 7919 % 1000) as f64) / 500.0 - 1.0)
            .collect()
    };
    println!("       N      M  direct us     fft us    auto us  auto picks  auto/best");
    let mut worst = 0.0f64;
    for &n in &[1_024usize, 16_384, 262_144] {
        for &m in &[4usize, 16, 32, 64, 256, 1_024] {
            if m > n {
                continue;
            }
            let (x, h) = (signal(n, 1), signal(m, 2));
            let run = |method| {
                let options = Options {
                    method,
                    ..Options::default()
                };
                black_box(convolve_with(&x, &h, &options).ok());
            };
            let times = interleaved(
                &[&|| run(Method::Direct), &|| run(Method::Fft), &|| {
                    run(Method::Auto)
                }],
                31,
            );
            let ratio = times[2] / times[0].min(times[1]);
            worst = worst.max(ratio);
            println!(
                "{n:>8} {m:>6} {:>10.1} {:>10.1} {:>10.1} {:>11} {ratio:>10.2}",
                times[0] * 1e6,
                times[1] * 1e6,
                times[2] * 1e6,
                auto_method(n, m, Mode::Full).name()
            );
        }
    }
    println!("worst auto/best: {worst:.2}");
}

fn time_stages() {
    for k in 0..17 {
        let block = 1usize << k;
        let per_block: Vec<f64> = [1usize, 9]
            .iter()
            .map(|&partitions| {
                let h: Vec<f32> = (0..block * partitions)
                    .map(|i| ((i * 7919 % 1000) as f32) / 500.0 - 1.0)
                    .collect();
                let mut conv = UniformConvolver::new(&h, block).expect("valid block");
                let x: Vec<f32> = (0..block).map(|i| ((i * 31 % 97) as f32) / 97.0).collect();
                let mut y = vec![0f32; block];
                best_time(|| conv.process(black_box(&x), &mut y))
            })
            .collect();
        let per_partition = (per_block[1] - per_block[0]) / 8.0;
        println!(
            "block {block:>6}: fixed {:>10.1} ns/block, {:.3} ns per partition bin",
            (per_block[0] - per_partition) * 1e9,
            per_partition * 1e9 / (block + 1) as f64
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes harness=false benches; nothing to list.
    }
    if std::env::args().any(|a| a == "auto") {
        check_auto();
        return;
    }
    if std::env::args().any(|a| a == "stages") {
        time_stages();
        return;
    }
    let signal = |len: usize| -> Vec<f64> {
        (0..len)
            .map(|i| ((i * 7919 % 1000) as f64) / 500.0 - 1.0)
            .collect()
    };
    for &n in &[256usize, 1024, 4096, 16384, 65536, 262144, 1048576] {
        for &m in &[1usize, 4, 16, 64, 256, 1024, 4096, 16384] {
            if m > n {
                continue;
            }
            let (x, h) = (signal(n), signal(m));
            let single = fft::fast_len(n + m - 1);
            let mut lengths = vec![single];
            for base in [2usize, 3, 9] {
                let mut len = base;
                while len < single {
                    if len >= (2 * m).max(16) && len % 2 == 0 && len <= 1 << 17 {
                        lengths.push(len);
                    }
                    len *= 2;
                }
            }
            for nfft in lengths {
                let step = nfft - m + 1;
                let plan = fft::FftPlan {
                    nfft,
                    step,
                    blocks: n.div_ceil(step),
                };
                let t = best_time(|| {
                    black_box(fft::convolve_full_with(&x, &h, plan));
                });
                println!(
                    "fft {n} {m} {nfft} {} {:.1} {:.1}",
                    plan.blocks,
                    t * 1e9,
                    plan.cost()
                );
            }
            if (n as f64) * (m as f64) <= 3e8 {
                let t = best_time(|| {
                    black_box(direct::convolve_full(&x, &h));
                });
                let model = fft::direct_cost((n * m) as f64, 0.0, n + m - 1);
                println!("direct {n} {m} 0 0 {:.1} {model:.1}", t * 1e9);
            }
        }
    }
}
