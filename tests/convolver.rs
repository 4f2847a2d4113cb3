//! The streaming convolvers against the one-shot core: fed in chunks of every size, their
//! output must be the full convolution delayed by the reported latency, and the tail must
//! come out on flush.

mod common;

use common::Rng;

use std::sync::Arc;

use convoy::conv::{
    KernelSpectra, Mode, MultiConvolver, PartitionedConvolver, Routing, Schedule, UniformConvolver,
    convolve,
};

/// What the tests need of a streaming convolver.
trait Streaming {
    fn process(&mut self, input: &[f32], output: &mut [f32]);
    fn flush(&mut self, output: &mut [f32]);
    fn tail_frames(&self) -> usize;
}

impl Streaming for UniformConvolver<f32> {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        UniformConvolver::process(self, input, output)
    }
    fn flush(&mut self, output: &mut [f32]) {
        UniformConvolver::flush(self, output)
    }
    fn tail_frames(&self) -> usize {
        UniformConvolver::tail_frames(self)
    }
}

impl Streaming for PartitionedConvolver<f32> {
    fn process(&mut self, input: &[f32], output: &mut [f32]) {
        PartitionedConvolver::process(self, input, output)
    }
    fn flush(&mut self, output: &mut [f32]) {
        PartitionedConvolver::flush(self, output)
    }
    fn tail_frames(&self) -> usize {
        PartitionedConvolver::tail_frames(self)
    }
}

/// xorshift64*: a seeded, dependency-free source of test signals and chunk sizes.
fn signal(rng: &mut Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.next()).collect()
}

/// A decaying-noise kernel, like a room response.
fn kernel(rng: &mut Rng, len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| rng.next() * (-4.0 * i as f64 / len as f64).exp())
        .collect()
}

/// Runs `x` through a streaming convolver in chunks drawn by `chunk`, then flushes the tail;
/// returns everything it emitted.
fn stream(conv: &mut impl Streaming, x: &[f64], mut chunk: impl FnMut() -> usize) -> Vec<f64> {
    let input: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let mut out = vec![0.0f32; input.len() + conv.tail_frames()];
    let mut pos = 0;
    while pos < input.len() {
        let n = chunk().clamp(1, input.len() - pos);
        conv.process(&input[pos..pos + n], &mut out[pos..pos + n]);
        pos += n;
    }
    conv.flush(&mut out[pos..]);
    out.into_iter().map(f64::from).collect()
}

fn assert_matches(got: &[f64], x: &[f64], h: &[f64], latency: usize, label: &str) {
    let exact = convolve(x, h, Mode::Full).unwrap();
    let peak = exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        got[..latency].iter().all(|&v| v == 0.0),
        "{label}: output before the latency"
    );
    let delayed = &got[latency..];
    assert_eq!(delayed.len(), exact.len(), "{label}: length");
    let worst = delayed
        .iter()
        .zip(&exact)
        .map(|(g, e)| (g - e).abs())
        .fold(0.0f64, f64::max);
    assert!(
        worst <= 1e-5 * peak,
        "{label}: max error {worst:e} vs peak {peak:e}"
    );
}

#[test]
fn uniform_matches_oneshot_for_every_kernel_and_chunk_size() {
    let mut rng = Rng(0x5EED);
    for &m in &[1usize, 2, 31, 64, 65, 1000] {
        for &block in &[1usize, 16, 64, 256] {
            let h = kernel(&mut rng, m);
            let x = signal(&mut rng, 3 * m + 5 * block + 17);
            let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
            for &chunk in &[1usize, 3, 64, 100, 4096] {
                let mut conv = UniformConvolver::new(&h32, block).unwrap();
                assert_eq!(conv.latency(), block);
                let got = stream(&mut conv, &x, || chunk);
                assert_matches(
                    &got,
                    &x,
                    &h,
                    block,
                    &format!("M={m} B={block} chunk={chunk}"),
                );
            }
            // Random chunk sizes, including many tiny ones.
            let mut conv = UniformConvolver::new(&h32, block).unwrap();
            let mut sizes = Rng(m as u64 * 31 + block as u64);
            let got = stream(&mut conv, &x, || {
                sizes.range(0, (3 * block + 2) as u64) as usize + 1
            });
            assert_matches(
                &got,
                &x,
                &h,
                block,
                &format!("M={m} B={block} random chunks"),
            );
        }
    }
}

#[test]
fn uniform_long_kernel() {
    let mut rng = Rng(99);
    let m = 1 << 16;
    let h = kernel(&mut rng, m);
    let x = signal(&mut rng, m + 3000);
    let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    let mut conv = UniformConvolver::new(&h32, 1024).unwrap();
    let mut sizes = Rng(7);
    let got = stream(&mut conv, &x, || sizes.range(0, 5000) as usize + 1);
    assert_matches(&got, &x, &h, 1024, "M=2^16 B=1024");
}

#[test]
fn impulse_gives_the_kernel_and_reset_reproduces() {
    let h: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut conv = UniformConvolver::new(&h, 32).unwrap();
    let mut impulse = vec![0.0f32; 200];
    impulse[0] = 1.0;
    let mut first = vec![0.0f32; 200];
    conv.process(&impulse, &mut first);
    for (i, &v) in h.iter().enumerate() {
        assert!((first[32 + i] - v).abs() < 1e-6, "tap {i}");
    }
    conv.reset();
    let mut second = vec![0.0f32; 200];
    conv.process(&impulse, &mut second);
    assert_eq!(first, second);
}

#[test]
fn bad_partition_sizes_are_errors() {
    assert!(UniformConvolver::<f32>::new(&[1.0], 0).is_err());
    assert!(UniformConvolver::<f32>::new(&[1.0], 48).is_err());
    assert!(UniformConvolver::<f32>::new(&[], 64).is_err());
}

#[test]
fn partitioned_matches_oneshot_across_schedules_and_chunks() {
    let mut rng = Rng(0xC0FFEE);
    for &(m, block) in &[
        (1usize, 1usize),
        (31, 4),
        (1000, 16),
        (5000, 32),
        (20_000, 64),
        (70_000, 128),
    ] {
        let h = kernel(&mut rng, m);
        let x = signal(&mut rng, m + 4 * block + 333);
        let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
        let schedule = Schedule::choose(m, block);
        for &chunk in &[1usize, 3, 64, 100, 4096] {
            if chunk == 1 && m > 5000 {
                continue; // covered by the random chunks below; slow in debug builds
            }
            let mut conv = PartitionedConvolver::new(&h32, block).unwrap();
            assert_eq!(conv.latency(), block);
            let got = stream(&mut conv, &x, || chunk);
            assert_matches(
                &got,
                &x,
                &h,
                block,
                &format!("M={m} B={block} chunk={chunk} {schedule:?}"),
            );
        }
        let mut conv = PartitionedConvolver::new(&h32, block).unwrap();
        let mut sizes = Rng(m as u64);
        let got = stream(&mut conv, &x, || {
            sizes.range(0, (2 * block + 7) as u64) as usize + 1
        });
        assert_matches(
            &got,
            &x,
            &h,
            block,
            &format!("M={m} B={block} random chunks"),
        );
    }
}

#[test]
fn schedules_tile_the_kernel_and_beat_uniform_for_long_kernels() {
    for &(m, block) in &[
        (1usize, 1usize),
        (100, 64),
        (65_536, 128),
        (262_144, 64),
        (1 << 20, 32),
    ] {
        let s = Schedule::choose(m, block);
        let mut start = 0;
        for (i, seg) in s.segments.iter().enumerate() {
            assert_eq!(seg.start, start);
            assert!(seg.block.is_power_of_two());
            if i > 0 {
                assert!(seg.start + block >= 2 * seg.block, "{s:?}");
            }
            start += seg.block * seg.partitions;
        }
        assert!(start >= m);
        assert!(s.cost_ns <= Schedule::uniform(m, block).cost_ns);
        // No indivisible transform larger than 256 head blocks (the worst-case bound).
        assert!(
            s.segments
                .iter()
                .all(|seg| seg.block <= Schedule::largest_block(block)),
            "{s:?}"
        );
    }
    let long = Schedule::choose(65_536, 128);
    assert!(long.segments.len() > 1);
    assert!(
        long.cost_ns * 3.0 < Schedule::uniform(65_536, 128).cost_ns,
        "{long:?}"
    );
}

#[test]
fn deferred_uniform_spreads_its_work_and_lags_two_blocks() {
    let mut rng = Rng(0xDEF);
    for &(m, block) in &[(1usize, 1usize), (40, 8), (1000, 64), (3000, 256)] {
        let h = kernel(&mut rng, m);
        let x = signal(&mut rng, 2 * m + 7 * block + 11);
        let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
        let spectra = Arc::new(KernelSpectra::new(&h32, block).unwrap());
        for &chunk in &[1usize, 3, 64, 100, 4096] {
            let mut conv = UniformConvolver::deferred(Arc::clone(&spectra));
            assert_eq!(conv.latency(), 2 * block);
            let got = stream(&mut conv, &x, || chunk);
            assert_matches(
                &got,
                &x,
                &h,
                2 * block,
                &format!("deferred M={m} B={block} chunk={chunk}"),
            );
        }
    }
}

/// Several blocks a pass (two, three, four): the outputs of the plain convolver bit for bit,
/// that many blocks less one later, for kernels of one partition up (and spectra long enough
/// to be padded apart), chunks of any size (including ones that end mid-batch), and again
/// after a reset; through a schedule, the engine reports and applies the longer latency.
#[test]
fn batched_uniform_gives_the_plain_outputs_later() {
    let mut rng = Rng(0xBA1);
    let cases = [
        (1usize, 1usize),
        (5, 2),
        (40, 8),
        (200, 16),
        (1000, 64),
        (3000, 1024),
    ];
    for (&(m, block), &blocks) in cases.iter().zip([2usize, 3, 4].iter().cycle()) {
        let h = kernel(&mut rng, m);
        let x = signal(&mut rng, 2 * m + 7 * block + 11);
        let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
        let spectra = Arc::new(KernelSpectra::new(&h32, block).unwrap());
        let mut plain = UniformConvolver::with_spectra(Arc::clone(&spectra));
        let want = stream(&mut plain, &x, || 64);
        for &chunk in &[1usize, 3, 64, 100, 4096] {
            let mut conv = UniformConvolver::batched(Arc::clone(&spectra), blocks);
            assert_eq!(conv.latency(), blocks * block);
            for round in 0..2 {
                let got = stream(&mut conv, &x, || chunk);
                let label = format!("{blocks} blocks M={m} B={block} chunk={chunk} round {round}");
                let later = (blocks - 1) * block;
                assert!(got[..later].iter().all(|&v| v == 0.0), "{label}");
                assert_eq!(&got[later..], &want[..], "{label}");
                assert_matches(&got, &x, &h, blocks * block, &label);
                conv.reset();
            }
        }
        let mut schedule = Schedule::uniform(m, block);
        schedule.batch = blocks;
        let mut conv = PartitionedConvolver::with_schedule(&h32, &schedule).unwrap();
        assert_eq!(conv.latency(), blocks * block);
        let mut sizes = Rng(m as u64);
        let got = stream(&mut conv, &x, || sizes.range(0, 300) as usize + 1);
        assert_matches(
            &got,
            &x,
            &h,
            blocks * block,
            &format!("schedule M={m} B={block} {blocks} blocks"),
        );
    }
    // Only one segment can be batched, and only a kernel whose spectra outgrow the cache is
    // (two blocks a pass).
    let mut split = Schedule::choose(65_536, 128);
    split.batch = 2;
    assert!(PartitionedConvolver::<f32>::with_schedule(&[1.0; 65_536], &split).is_err());
    assert_eq!(Schedule::uniform(1 << 17, 1 << 15).batched().batch, 1);
    assert_eq!(Schedule::uniform(3 << 16, 1 << 15).batched().batch, 2);
    assert_eq!(Schedule::choose(1 << 18, 64).batched().batch, 1);
}

/// Streams planar channels through a bank in random chunks, then flushes.
fn stream_bank(bank: &mut MultiConvolver<f32>, inputs: &[Vec<f64>], seed: u64) -> Vec<Vec<f64>> {
    let frames = inputs[0].len();
    let ins: Vec<Vec<f32>> = inputs
        .iter()
        .map(|c| c.iter().map(|&v| v as f32).collect())
        .collect();
    let total = frames + bank.tail_frames();
    let mut outs = vec![vec![0.0f32; total]; inputs.len()];
    let mut sizes = Rng(seed);
    let mut pos = 0;
    while pos < frames {
        let n = (sizes.range(0, 300) as usize + 1).min(frames - pos);
        let chunk_in: Vec<&[f32]> = ins.iter().map(|c| &c[pos..pos + n]).collect();
        let mut chunk_out: Vec<&mut [f32]> =
            outs.iter_mut().map(|c| &mut c[pos..pos + n]).collect();
        bank.process(&chunk_in, &mut chunk_out);
        pos += n;
    }
    let mut tail: Vec<&mut [f32]> = outs.iter_mut().map(|c| &mut c[pos..]).collect();
    bank.flush(&mut tail);
    outs.into_iter()
        .map(|c| c.into_iter().map(f64::from).collect())
        .collect()
}

fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn check_close(got: &[f64], want: &[f64], latency: usize, label: &str) {
    let peak = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert_eq!(got.len() - latency, want.len(), "{label}: length");
    for (g, w) in got[latency..].iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * peak, "{label}: {g} vs {w}");
    }
}

#[test]
fn multichannel_shared_per_channel_and_true_stereo() {
    let mut rng = Rng(0x57E4E0);
    let block = 32;
    let x: Vec<Vec<f64>> = (0..3).map(|_| signal(&mut rng, 9000)).collect();
    let h: Vec<Vec<f64>> = (0..4).map(|i| kernel(&mut rng, 3000 + 500 * i)).collect();
    let h32: Vec<Vec<f32>> = h
        .iter()
        .map(|k| k.iter().map(|&v| v as f32).collect())
        .collect();
    let full = |x: &[f64], h: &[f64]| convolve(x, h, Mode::Full).unwrap();

    let mut shared = MultiConvolver::new(&[&h32[0][..]], 3, block).unwrap();
    assert_eq!(shared.routing(), Routing::Shared);
    let out = stream_bank(&mut shared, &x, 1);
    for c in 0..3 {
        let want = full(&x[c], &h[0]);
        check_close(
            &out[c][..want.len() + block],
            &want,
            block,
            &format!("shared ch{c}"),
        );
    }

    let kernels: Vec<&[f32]> = h32[..3].iter().map(|k| &k[..]).collect();
    let mut per = MultiConvolver::new(&kernels, 3, block).unwrap();
    assert_eq!(per.routing(), Routing::PerChannel);
    let out = stream_bank(&mut per, &x, 2);
    for c in 0..3 {
        let want = full(&x[c], &h[c]);
        check_close(
            &out[c][..want.len() + block],
            &want,
            block,
            &format!("per-channel ch{c}"),
        );
    }

    let kernels: Vec<&[f32]> = h32.iter().map(|k| &k[..]).collect();
    let mut stereo = MultiConvolver::new(&kernels, 2, block).unwrap();
    assert_eq!(stereo.routing(), Routing::TrueStereo);
    let out = stream_bank(&mut stereo, &x[..2], 3);
    // Kernels in the order LL, LR, RL, RR; pad each product to the longest.
    let len = x[0].len() + h.iter().map(Vec::len).max().unwrap() - 1;
    let padded = |v: Vec<f64>| {
        let mut v = v;
        v.resize(len, 0.0);
        v
    };
    let left = add(&padded(full(&x[0], &h[0])), &padded(full(&x[1], &h[2])));
    let right = add(&padded(full(&x[0], &h[1])), &padded(full(&x[1], &h[3])));
    check_close(&out[0][..len + block], &left, block, "true stereo L");
    check_close(&out[1][..len + block], &right, block, "true stereo R");

    assert!(MultiConvolver::new(&kernels[..3], 2, block).is_err());
}

/// A reverb tail decaying into the subnormal range, fed silence after a loud burst: with the
/// processing thread's subnormals flushed the blocks of the silent tail cost no more than the
/// loud ones (generous factor: this machine is shared and noisy).
#[test]
fn silence_after_a_burst_does_not_slow_down() {
    use std::time::Instant;
    let m = 48_000;
    // exp(-100 i / m) reaches 1e-43, subnormal in f32, before the end.
    let h: Vec<f32> = (0..m)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * (-100.0 * i as f32 / m as f32).exp())
        .collect();
    assert!(h.iter().any(|v| v.is_subnormal()));
    convoy::conv::simd::flush_denormals();
    let mut conv = PartitionedConvolver::new(&h, 64).unwrap();
    let block = 64;
    let loud: Vec<f32> = (0..block)
        .map(|i| if i % 2 == 0 { 0.9 } else { -0.9 })
        .collect();
    let silence = vec![0.0f32; block];
    let mut out = vec![0.0f32; block];
    let mut time_blocks = |input: &[f32], count: usize, conv: &mut PartitionedConvolver<f32>| {
        let mut times: Vec<f64> = (0..count)
            .map(|_| {
                let t = Instant::now();
                conv.process(input, &mut out);
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[count / 2]
    };
    let loud_median = time_blocks(&loud, 750, &mut conv);
    let silent_median = time_blocks(&silence, 1500, &mut conv);
    assert!(
        silent_median <= 3.0 * loud_median + 2e-6,
        "silent tail {silent_median:e} s/block vs loud {loud_median:e}"
    );
}

#[test]
fn kernel_swap_crossfades_without_a_click_and_settles_on_the_new_kernel() {
    use convoy::conv::SwappableConvolver;
    let mut rng = Rng(0x5A4);
    let block = 64;
    let (h_old, h_new) = (kernel(&mut rng, 2000), kernel(&mut rng, 3000));
    let to32 = |v: &[f64]| -> Vec<f32> { v.iter().map(|&x| x as f32).collect() };
    // A smooth input (a low sine) so that any step in the output would stand out.
    let n = 40_000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.01).sin()).collect();
    let x32 = to32(&x);
    let (tx, rx) = crossbeam_channel::bounded(1);
    let mut conv =
        SwappableConvolver::new(PartitionedConvolver::new(&to32(&h_old), block).unwrap(), tx);
    let swap_at = 10_000;
    let fade = 2_048;
    let mut out = vec![0.0f32; n];
    conv.process(&x32[..swap_at], &mut out[..swap_at]);
    let next = PartitionedConvolver::new(&to32(&h_new), block).unwrap();
    conv.set_kernel(next, fade);
    assert!(conv.is_fading());
    let mut pos = swap_at;
    let mut sizes = Rng(3);
    while pos < n {
        let k = (sizes.range(0, 200) as usize + 1).min(n - pos);
        conv.process(&x32[pos..pos + k], &mut out[pos..pos + k]);
        pos += k;
    }
    assert!(!conv.is_fading());
    assert!(
        rx.try_recv().is_ok(),
        "the old convolver is handed back, not dropped"
    );

    // Before the swap: the old kernel. Long after it: the new kernel over the whole input.
    let old_full = convolve(&x, &h_old, Mode::Full).unwrap();
    let new_full = convolve(&x, &h_new, Mode::Full).unwrap();
    let peak = new_full.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for t in block..swap_at {
        assert!(
            (f64::from(out[t]) - old_full[t - block]).abs() <= 1e-4 * peak,
            "before swap t={t}"
        );
    }
    for t in swap_at + fade + h_new.len() + block..n {
        assert!(
            (f64::from(out[t]) - new_full[t - block]).abs() <= 1e-4 * peak,
            "after swap t={t}"
        );
    }
    // No click: the output never jumps more than the smooth signals themselves do.
    let step = |v: &[f64]| {
        v.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max)
    };
    let allowed = 2.0 * step(&old_full[..n]).max(step(&new_full[..n]));
    let out64: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
    assert!(step(&out64[swap_at - 10..swap_at + fade + 10]) <= allowed);
}

/// The long cases of issue #3: 2^16 and 2^20 taps through the partitioned engine, every chunk
/// size. Slow in a debug build; CI runs it once with `cargo test --release -- --ignored`.
#[test]
#[ignore = "slow: run with --release -- --ignored"]
fn partitioned_long_kernels_every_chunk_size() {
    let mut rng = Rng(0x1_0000);
    for &(m, block) in &[(1usize << 16, 128usize), (1 << 20, 32)] {
        let h = kernel(&mut rng, m);
        let x = signal(&mut rng, m + 5000);
        let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
        let shared = convoy::conv::PartitionedKernel::new(&h32, block).unwrap();
        for &chunk in &[1usize, 3, 64, 100, 4096] {
            let mut conv = PartitionedConvolver::from_kernel(&shared);
            let got = stream(&mut conv, &x, || chunk);
            assert_matches(
                &got,
                &x,
                &h,
                block,
                &format!("M={m} B={block} chunk={chunk}"),
            );
        }
    }
}
