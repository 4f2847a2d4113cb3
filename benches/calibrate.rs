//! Times forced FFT plans and the direct method over a grid, for fitting the cost model in
//! `src/conv/fft.rs` (`cost` module). Not a criterion bench: it prints one row per timing,
//! `method n m nfft blocks measured_ns modelled_ns`, best of 15 runs.
//!
//!     cargo bench --bench calibrate > /tmp/rows.txt
//!     python3 benches/fit_cost_model.py /tmp/rows.txt

use std::hint::black_box;
use std::time::Instant;

use convoy::conv::{direct, fft};

fn best_time(f: impl Fn()) -> f64 {
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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes harness=false benches; nothing to list.
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
