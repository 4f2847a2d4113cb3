//! `denoise` and `dehum`: measured on the committed speech samples (SNR gains the benchmark
//! also reports), exact reconstruction when there is nothing to remove, the same output for
//! every block size, live equal to offline shifted by the latency, time alignment, channels,
//! and every bad argument as one line.
//!
//! The peers (SoX, noisereduce) are compared in benches/denoise_vs_peers.py; these tests hold
//! convoy's own numbers so a regression shows here without Python.

mod common;

use common::{Rng, cmd as convoy, write_wav};

use std::fs;
use std::path::{Path, PathBuf};

use convoy::Block;
use convoy::chain::{Chain, Context, StageWord};
use tempfile::TempDir;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn read(path: &Path) -> (u32, Vec<Vec<f64>>) {
    let (spec, x) = common::read_wav(path);
    (spec.sample_rate, x)
}

fn power(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
}

/// SNR of `y` against `clean` after the least-squares gain (no shift: outputs are aligned).
fn snr(clean: &[f64], y: &[f64]) -> f64 {
    assert_eq!(clean.len(), y.len());
    let g =
        clean.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() / y.iter().map(|v| v * v).sum::<f64>();
    let err: f64 = clean.iter().zip(y).map(|(a, b)| (a - g * b).powi(2)).sum();
    10.0 * (clean.iter().map(|v| v * v).sum::<f64>() / err).log10()
}

/// Runs `convoy run -q -i input -o out STAGES` and reads the result's first channel.
fn run(dir: &TempDir, input: &Path, stages: &[&str]) -> Vec<Vec<f64>> {
    let out = dir.path().join("out.wav");
    convoy()
        .args(["run", "-q", "-i"])
        .arg(input)
        .arg("-o")
        .arg(&out)
        .args(stages)
        .assert()
        .success();
    read(&out).1
}

/// The benchmark's white-noise conditions, here without the peers: speech + white noise at
/// `snr_db`, with a separate 2 s noise clip for the profile.
fn white_condition(dir: &TempDir, snr_db: f64, seed: u64) -> (Vec<f64>, PathBuf, PathBuf) {
    let (rate, clean) = read(&sample("speech_clean.wav"));
    let s = &clean[0];
    let sigma = (power(s) / 10f64.powf(snr_db / 10.0)).sqrt();
    let mut rng = Rng(seed);
    let noisy: Vec<f64> = s.iter().map(|v| v + sigma * rng.gauss()).collect();
    let clip: Vec<f64> = (0..2 * rate).map(|_| sigma * rng.gauss()).collect();
    let (n, p) = (dir.path().join("noisy.wav"), dir.path().join("noise.wav"));
    write_wav(&n, &[noisy], rate, 32, true);
    write_wav(&p, &[clip], rate, 32, true);
    (s.clone(), n, p)
}

/// SNR gains of each model on speech in white noise and on the shipped hum + hiss sample,
/// with the noise's profile and learned. `want` holds per model the least gains at 0 and 10 dB
/// white (profile, learned) and on the sample (profile, learned); the measured figures are in
/// the comments.
#[test]
fn snr_gains_on_speech_in_white_noise_and_in_hum_and_hiss() {
    let dir = TempDir::new().unwrap();
    // spectral: measured +6.38 dB at 0 dB, +5.90 dB at 10 dB with the profile, +6.38 / +5.89
    // learned (on the benchmark's noise: SoX noisered 0.21 +4.6 / +1.3, noisereduce +5.9 /
    // +2.8). Before the floor went from 30 to 20 dB and the noise was tracked by speech
    // presence (issue 18: better on real recordings, benches/denoise_real.py), +7.55 / +6.54
    // and +7.30 / +6.35: white noise scored by SNR rewards the deepest floor. The sample:
    // +7.92 with the profile, +5.89 learned (the hum found by the monitor; +8.88 / +7.59 with
    // the 30 dB floor and minimum statistics alone).
    // hybrid (the default: the spectral reducer at a 12 dB floor, then RNNoise): +6.56 / +6.57
    // at 0 dB, +4.45 / +4.43 at 10 dB, the sample +6.29 / +7.19. Lower than the spectral
    // model's on this synthetic speech in steady white noise, which RNNoise (trained on real
    // noise) partly takes for speech; on real recordings it is the better one by every score.
    type Want = [(f64, f64); 3];
    let models: [(&str, Want); 2] = [
        ("model=spectral", [(6.0, 6.0), (5.5, 5.5), (7.5, 5.5)]),
        ("", [(6.0, 6.0), (4.0, 4.0), (5.9, 6.5)]),
    ];
    for (model, want) in models {
        let word = |extra: &str| {
            let opts: Vec<&str> = [model, extra]
                .into_iter()
                .filter(|o| !o.is_empty())
                .collect();
            if opts.is_empty() {
                "denoise".to_string()
            } else {
                format!("denoise,{}", opts.join(","))
            }
        };
        for (snr_db, (want_profile, want_learned)) in [(0.0, want[0]), (10.0, want[1])] {
            let (clean, noisy, profile) = white_condition(&dir, snr_db, 7);
            let y = read(&noisy).1.remove(0);
            let before = snr(&clean, &y);
            let profile_arg = word(&format!("profile={}", profile.display()));
            let with_profile = snr(&clean, &run(&dir, &noisy, &[&profile_arg])[0]) - before;
            let learned = snr(&clean, &run(&dir, &noisy, &[&word("")])[0]) - before;
            eprintln!(
                "{model}: white {snr_db} dB: profile +{with_profile:.2} dB, learned +{learned:.2} dB"
            );
            assert!(
                with_profile >= want_profile,
                "{model}: {snr_db} dB: +{with_profile:.2} dB with the profile, want >= {want_profile}"
            );
            assert!(
                learned >= want_learned,
                "{model}: {snr_db} dB: +{learned:.2} dB learned, want >= {want_learned}"
            );
        }
        // The shipped sample: speech + 50 Hz hum (8 harmonics, drifting) + hiss, with its profile.
        let clean = read(&sample("speech_clean.wav")).1.remove(0);
        let noisy = read(&sample("speech_noisy.wav")).1.remove(0);
        let before = snr(&clean, &noisy);
        let profile_arg = word(&format!("profile={}", sample("speech_noise.wav").display()));
        let gain = snr(
            &clean,
            &run(&dir, &sample("speech_noisy.wav"), &[&profile_arg])[0],
        ) - before;
        let learned = snr(
            &clean,
            &run(&dir, &sample("speech_noisy.wav"), &[&word("")])[0],
        ) - before;
        eprintln!("{model}: hum + hiss sample: profile +{gain:.2} dB, learned +{learned:.2} dB");
        assert!(
            gain >= want[2].0,
            "{model}: hum + hiss sample: +{gain:.2} dB"
        );
        assert!(
            learned >= want[2].1,
            "{model}: hum + hiss sample, learned: +{learned:.2} dB"
        );
    }
}

#[test]
fn clean_speech_comes_through_nearly_untouched_without_a_profile() {
    let dir = TempDir::new().unwrap();
    let clean = read(&sample("speech_clean.wav")).1.remove(0);
    // spectral: measured -33.7 dB (16-bit output: its dither alone is about -75 dB here).
    // hybrid: -19.3 dB (RNNoise's gains are not exactly 1 on speech).
    for (word, most) in [("denoise,model=spectral", -30.0), ("denoise", -16.0)] {
        let out = run(&dir, &sample("speech_clean.wav"), &[word]).remove(0);
        assert_eq!(out.len(), clean.len());
        let err: Vec<f64> = clean.iter().zip(&out).map(|(a, b)| a - b).collect();
        let rel = 10.0 * (power(&err) / power(&clean)).log10();
        eprintln!("{word}: clean speech changed by {rel:.1} dB");
        assert!(rel < most, "{word}: clean speech changed by {rel:.1} dB");
    }
}

#[test]
fn dehum_takes_a_drifting_hum_out_from_under_speech() {
    let dir = TempDir::new().unwrap();
    let (rate, clean) = read(&sample("speech_clean.wav"));
    let s = &clean[0];
    // 60 Hz mains running at 60.15 Hz, five harmonics, as loud as the speech.
    let mut hum: Vec<f64> = (0..s.len())
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            [1.0, 0.5, 0.4, 0.2, 0.1]
                .iter()
                .enumerate()
                .map(|(k, a)| {
                    a * (std::f64::consts::TAU * 60.15 * (k + 1) as f64 * t + k as f64).sin()
                })
                .sum()
        })
        .collect();
    let scale = (power(s) / power(&hum)).sqrt();
    hum.iter_mut().for_each(|h| *h *= scale);
    let noisy: Vec<f64> = s.iter().zip(&hum).map(|(a, b)| a + b).collect();
    let input = dir.path().join("hum.wav");
    write_wav(&input, std::slice::from_ref(&noisy), rate, 32, true);
    let out = run(&dir, &input, &["dehum:60"]).remove(0);
    // After the first second (the fit settling), what is left of the hum. Measured -19 dB:
    // the hum sits on the voice's own fundamental and second harmonic, which disturb the fit.
    let settle = rate as usize;
    let left: Vec<f64> = (settle..s.len()).map(|i| out[i] - s[i]).collect();
    let rel = 10.0 * (power(&left) / power(&hum[settle..])).log10();
    assert!(rel < -16.0, "hum reduced by only {rel:.1} dB");
    // Issue 18: settled within 0.5 s. What is left in 0.1-0.5 s and 0.5-1 s against the
    // rest: measured -19.1, -16.1 (the voice on the harmonics) and -19.1 dB; before the fit
    // started as a running mean, -4.7, -10.9 and -18.8 (about 2 s to settle).
    let window = |a: f64, b: f64| {
        let (a, b) = (
            (a * f64::from(rate)) as usize,
            (b * f64::from(rate)) as usize,
        );
        let left: Vec<f64> = (a..b).map(|i| out[i] - s[i]).collect();
        10.0 * (power(&left) / power(&hum[a..b])).log10()
    };
    let (early, half) = (window(0.1, 0.5), window(0.5, 1.0));
    eprintln!("dehum:60 left 0.1-0.5 s {early:.1} dB, 0.5-1 s {half:.1} dB, from 1 s {rel:.1} dB");
    assert!(
        half < rel + 3.5,
        "0.5-1 s: {half:.1} dB against {rel:.1} later"
    );
    assert!(
        early < rel + 3.5,
        "0.1-0.5 s: {early:.1} dB against {rel:.1} later"
    );
    // And the speech under it is kept (not notched away with the hum).
    let speech_err = 10.0 * (power(&left) / power(&s[settle..])).log10();
    assert!(speech_err < -16.0, "speech error {speech_err:.1} dB");
    // The wrong mains frequency leaves the hum in.
    let wrong = run(&dir, &input, &["dehum:50"]).remove(0);
    let wrong_left: Vec<f64> = (settle..s.len()).map(|i| wrong[i] - s[i]).collect();
    assert!(power(&wrong_left) > 0.5 * power(&hum[settle..]));
}

/// Runs a chain over `x` (one channel per entry) in blocks of `block` frames, offline.
fn offline(words: &[&str], x: &[Vec<f32>], rate: u32, block: usize) -> Vec<Vec<f32>> {
    stream(&mut offline_chain(words, x.len(), rate), x, block)
}

fn offline_chain(words: &[&str], channels: usize, rate: u32) -> Chain<f32> {
    let words: Vec<StageWord> = words.iter().map(|&w| w.into()).collect();
    let ctx = Context {
        rate: Some(rate),
        channels,
        block: None,
    };
    Chain::<f32>::build(&words, &ctx).unwrap()
}

/// `x` through `chain` in blocks of `block` frames, to its end.
fn stream(chain: &mut Chain<f32>, x: &[Vec<f32>], block: usize) -> Vec<Vec<f32>> {
    let mut out = vec![Vec::new(); x.len()];
    let n = x[0].len();
    let mut at = 0;
    let mut take = |piece: &mut Block<f32>| {
        for (o, p) in out.iter_mut().zip(piece.iter()) {
            o.extend_from_slice(p);
        }
        Ok(())
    };
    let mut piece = Block::new(x.len(), block);
    while at < n {
        let end = (at + block).min(n);
        piece.copy_from(&x.iter().map(|c| &c[at..end]).collect::<Vec<_>>());
        chain.process(&mut piece, &mut take).unwrap();
        at = end;
    }
    chain.finish(&mut take).unwrap();
    out
}

fn noisy_speech_f32() -> (u32, Vec<f32>) {
    let (rate, noisy) = read(&sample("speech_noisy.wav"));
    (rate, noisy[0].iter().map(|&v| v as f32).collect())
}

#[test]
fn every_block_size_gives_the_same_samples_and_live_is_offline_delayed() {
    let (rate, x) = noisy_speech_f32();
    let x = vec![x[..40_000].to_vec()];
    let profile = sample("speech_noise.wav");
    let with_profile = format!("denoise,profile={}", profile.display());
    let spectral_profile = format!("denoise,model=spectral,profile={}", profile.display());
    for words in [
        vec![spectral_profile.as_str()],
        vec!["denoise,model=spectral"],
        vec![with_profile.as_str()],
        vec!["denoise"],
        vec!["denoise,model=rnnoise"],
        vec!["denoise,lookahead=0,frame=20ms", "ma:3"],
        vec!["dehum:50", "lowpass:3000"],
    ] {
        let reference = offline(&words, &x, rate, 40_000);
        assert_eq!(reference[0].len(), x[0].len(), "{words:?}: length");
        for block in [1usize, 7, 64, 1000, 4097] {
            let got = offline(&words, &x, rate, block);
            assert!(got == reference, "{words:?}: block {block} differs");
        }
        // Live: the same filter, streaming, trailing by the chain's latency.
        let owned: Vec<StageWord> = words.iter().map(|&w| w.into()).collect();
        let ctx = Context {
            rate: Some(rate),
            channels: 1,
            block: Some(64),
        };
        if words
            .iter()
            .any(|w| w.starts_with("ma") || w.starts_with("low"))
        {
            continue; // linear stages live are causal ('full'); compared in tests/live.rs
        }
        let live_stream = |piece_len: usize| {
            let mut live = Chain::<f32>::build(&owned, &ctx)
                .unwrap()
                .into_live(64)
                .unwrap();
            let mut streamed = Vec::new();
            let mut out = vec![vec![0.0f32; 64]];
            for piece in x[0].chunks(piece_len) {
                let input = vec![piece.to_vec()];
                live.process(&input, piece.len(), &mut out);
                streamed.extend_from_slice(&out[0][..piece.len()]);
            }
            (streamed, live.latency())
        };
        let (streamed, latency) = live_stream(64);
        assert!(
            live_stream(7).0 == streamed,
            "{words:?}: live blocks of 7 differ from blocks of 64"
        );
        if words.iter().any(|w| w.contains("model=spectral")) {
            assert!(
                streamed[latency..] == reference[0][..x[0].len() - latency],
                "{words:?}: live differs from offline delayed by {latency}"
            );
        } else {
            // RNNoise is primed on the file's first seconds offline, not live: the two agree
            // once their states have forgotten how they started (measured after 1 s: -19.0 dB
            // with a profile, -14.9 learned, -30.3 for RNNoise alone: a recurrent network
            // started from two different states converges slowly).
            let tail = &streamed[latency + rate as usize..];
            let off = &reference[0][rate as usize..x[0].len() - latency];
            let err: Vec<f64> = tail
                .iter()
                .zip(off)
                .map(|(a, b)| f64::from(a - b))
                .collect();
            let sig: Vec<f64> = off.iter().map(|&v| f64::from(v)).collect();
            let rel = 10.0 * (power(&err) / power(&sig)).log10();
            eprintln!("{words:?}: live against offline after 1 s: {rel:.1} dB");
            assert!(
                rel < -12.0,
                "{words:?}: live against offline after 1 s: {rel:.1} dB"
            );
        }
    }
}

#[test]
fn with_nothing_to_remove_the_frames_add_back_to_the_input() {
    // A profile of digital silence: every gain is 1 and the overlap-add must rebuild the
    // input (sqrt-Hann analysis and synthesis at a quarter-frame hop).
    let dir = TempDir::new().unwrap();
    let (rate, x) = noisy_speech_f32();
    let silence = dir.path().join("silence.wav");
    write_wav(&silence, &[vec![0.0; rate as usize]], rate, 32, true);
    let word = format!("denoise,model=spectral,profile={}", silence.display());
    let x = vec![x[..30_000].to_vec()];
    let y = offline(&[&word], &x, rate, 512);
    let peak = x[0].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = x[0]
        .iter()
        .zip(&y[0])
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 1e-5 * peak,
        "reconstruction error {worst} (peak {peak})"
    );
}

#[test]
fn channels_are_denoised_independently_with_any_profile_layout() {
    let dir = TempDir::new().unwrap();
    let (rate, noisy) = read(&sample("speech_noisy.wav"));
    let (_, noise) = read(&sample("speech_noise.wav"));
    let n = 30_000;
    // Left: noisy speech; right: silence.
    let stereo = vec![noisy[0][..n].to_vec(), vec![0.0; n]];
    let input = dir.path().join("stereo.wav");
    write_wav(&input, &stereo, rate, 32, true);
    let mono_profile = sample("speech_noise.wav");
    let stereo_profile = dir.path().join("noise2.wav");
    write_wav(
        &stereo_profile,
        &[noise[0].clone(), noise[0].clone()],
        rate,
        32,
        true,
    );
    let three = dir.path().join("noise3.wav");
    write_wav(
        &three,
        &[noise[0].clone(), noise[0].clone(), noise[0].clone()],
        rate,
        32,
        true,
    );
    // The same n samples alone (RNNoise's state is primed on the first seconds offline, so
    // a longer file would be cleaned differently from its start).
    let mono_input = dir.path().join("mono.wav");
    write_wav(&mono_input, &stereo[..1], rate, 32, true);
    let mono_only = run(
        &dir,
        &mono_input,
        &[&format!("denoise,profile={}", mono_profile.display())],
    )
    .remove(0);
    for profile in [&mono_profile, &stereo_profile, &three] {
        let out = run(
            &dir,
            &input,
            &[&format!("denoise,profile={}", profile.display())],
        );
        assert_eq!(out.len(), 2);
        assert!(out[1].iter().all(|&v| v == 0.0), "silence stays silence");
        // The left channel is what the mono file gives (same noise on each profile channel).
        for (a, b) in out[0].iter().zip(&mono_only) {
            assert!((a - b).abs() < 1.5e-4, "{}: {a} vs {b}", profile.display()); // 16-bit + dither
        }
    }
}

fn rejects(args: &[&str], needles: &[&str]) {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("existing.wav");
    fs::write(&out, b"keep me").unwrap();
    let res = convoy()
        .args(["run", "-o"])
        .arg(&out)
        .args(args)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(res.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' missing from {err}");
    }
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
}

#[test]
fn bad_denoise_and_dehum_arguments_are_one_line_each() {
    let dir = TempDir::new().unwrap();
    let noisy = sample("speech_noisy.wav");
    let noisy = noisy.to_str().unwrap();
    let short = dir.path().join("short.wav");
    write_wav(&short, &[vec![0.01; 100]], 16_000, 32, true);
    let other_rate = dir.path().join("rate.wav");
    write_wav(&other_rate, &[vec![0.01; 44_100]], 44_100, 32, true);
    let short_arg = format!("denoise,profile={}", short.display());
    let rate_arg = format!("denoise,profile={}", other_rate.display());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["-i", noisy, "denoise,profile=/no/such/noise.wav"],
            vec!["denoise,profile=/no/such/noise.wav", "noise.wav"],
        ),
        (vec!["-i", noisy, &short_arg], vec!["100 samples", "frame"]),
        (vec!["-i", noisy, &rate_arg], vec!["44100 Hz", "16000"]),
        (
            vec!["-i", noisy, "denoise,strength=3"],
            vec!["unknown option 'strength'"],
        ),
        (
            vec!["-i", noisy, "denoise,reduce=lots"],
            vec!["reduce", "not a number"],
        ),
        (
            vec!["-i", noisy, "denoise,sensitivity=60"],
            vec!["sensitivity"],
        ),
        (vec!["-i", noisy, "denoise,frame=0.1ms"], vec!["frame"]),
        (
            vec!["-i", noisy, "denoise,lookahead=1000"],
            vec!["lookahead"],
        ),
        (vec!["-i", noisy, "dehum"], vec!["dehum:50"]),
        (vec!["-i", noisy, "dehum:5000"], vec!["out of range"]),
        (vec!["-i", noisy, "dehum:abc"], vec!["not a number"]),
        (
            vec![
                "-i",
                "-",
                "--in-format",
                "f32le",
                "--channels",
                "1",
                "denoise",
            ],
            vec!["rate"],
        ),
    ];
    for (args, needles) in cases {
        rejects(&args, &needles);
    }
    // No frequency response for a nonlinear stage.
    let res = convoy()
        .args(["response", "denoise", "-o"])
        .arg(dir.path().join("r.png"))
        .assert()
        .failure()
        .get_output()
        .clone();
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(err.contains("not a linear filter"), "{err}");
    assert!(!dir.path().join("r.png").exists());
}

#[test]
fn steady_noise_alone_is_brought_down_white_or_low_heavy() {
    // Noise with nothing else: after the learning window the learned estimate must hold it
    // down as a profile does, including a noise whose power sits at the bottom of the spectrum
    // (white noise through a leaky integrator: 1/f^2 above ~50 Hz, like rumble or wind).
    let dir = TempDir::new().unwrap();
    let rate = 16_000u32;
    let n = 8 * rate as usize;
    let mut rng = Rng(99);
    let white: Vec<f64> = (0..n).map(|_| rng.gauss()).collect();
    let mut low = Vec::with_capacity(n);
    let mut acc = 0.0;
    for w in &white {
        acc = 0.98 * acc + w;
        low.push(acc);
    }
    // Measured (other seeds: within ~1 dB): white -18.4 learned and with a profile (the
    // floor, `reduce=`, is 20 dB); low-heavy -14.4 / -14.4 dB.
    for (name, x, learned_db, profile_db) in [
        ("white", white, -17.0, -17.0),
        ("low-heavy", low, -13.0, -13.0),
    ] {
        let scale = 0.05 / power(&x).sqrt();
        let x: Vec<f64> = x.iter().map(|v| v * scale).collect();
        let input = dir.path().join("noise_alone.wav");
        write_wav(&input, std::slice::from_ref(&x), rate, 32, true);
        let after = 4 * rate as usize;
        let level = |y: &[f64]| 10.0 * (power(&y[after..]) / power(&x[after..])).log10();
        let learned = level(&run(&dir, &input, &["denoise"])[0]);
        let profiled = level(
            &run(
                &dir,
                &input,
                &[&format!("denoise,profile={}", input.display())],
            )[0],
        );
        eprintln!("{name}: learned {learned:.1} dB, profile {profiled:.1} dB");
        assert!(learned <= learned_db, "{name}: learned {learned:.1} dB");
        assert!(
            profiled <= profile_db,
            "{name}: with a profile {profiled:.1} dB"
        );
    }
}

/// A reset chain is a new chain: every stage's memory (filters, the noise estimate, the hum
/// fit, the delay) forgotten, so a second stream through it comes out as through a fresh one.
#[test]
fn a_reset_chain_gives_what_a_new_one_gives() {
    let (rate, speech) = noisy_speech_f32();
    let x = vec![speech.clone(), speech.iter().rev().copied().collect()];
    let other: Vec<Vec<f32>> = x
        .iter()
        .map(|c| c.iter().map(|v| v * 0.5 + 0.01).collect())
        .collect();
    let words = [
        "ma:9",
        "dehum:50",
        "denoise",
        "delay:37",
        "lowpass:3000",
        "butter:highpass,100",
        "butter:lowpass,5k,mode=zero-phase",
        "taps:0.5,0.5,mode=valid",
    ];
    let fresh = stream(&mut offline_chain(&words, 2, rate), &other, 999);
    let mut chain = offline_chain(&words, 2, rate);
    let first = stream(&mut chain, &x, 4096);
    assert_ne!(first, fresh);
    chain.reset();
    assert_eq!(stream(&mut chain, &other, 999), fresh);
    // Reset halfway through a stream too.
    let mut chain = offline_chain(&words, 2, rate);
    let mut take = |_: &mut Block<f32>| Ok(());
    let mut piece = Block::from_planes(x.iter().map(|c| c[..5000].to_vec()).collect());
    chain.process(&mut piece, &mut take).unwrap();
    chain.reset();
    assert_eq!(stream(&mut chain, &other, 999), fresh);
}

/// White noise alone, `seconds` long at 16 kHz, stepping up by `step_db` at `at` seconds.
fn stepped_noise(seconds: f64, at: f64, step_db: f64, seed: u64) -> Vec<f64> {
    let rate = 16_000.0;
    let mut rng = Rng(seed);
    (0..(seconds * rate) as usize)
        .map(|i| {
            let g = if (i as f64) < at * rate {
                1.0
            } else {
                10f64.powf(step_db / 20.0)
            };
            0.02 * g * rng.gauss()
        })
        .collect()
}

/// Issue 18: a noise that steps up 10 dB is followed: 0.5-1 s after the step it is already
/// brought down by most of what the steady noise was, and from 1 s on within 3 dB of it.
#[test]
fn a_noise_that_steps_up_10_db_is_followed_within_a_second() {
    let dir = TempDir::new().unwrap();
    let rate = 16_000usize;
    let x = stepped_noise(8.0, 4.0, 10.0, 5);
    let input = dir.path().join("step.wav");
    write_wav(&input, std::slice::from_ref(&x), rate as u32, 32, true);
    // spectral: measured -17.1, -11.6, -16.1 dB (minimum statistics alone: the louder noise
    // came through untouched for ~3 s). hybrid: -23.1, -25.6, -29.7 dB.
    for (word, steady, soon_most) in [
        ("denoise,model=spectral", -15.0, -9.0),
        ("denoise", -18.0, -12.0),
    ] {
        let y = run(&dir, &input, &[word]).remove(0);
        let level = |a: f64, b: f64| {
            let (a, b) = ((a * rate as f64) as usize, (b * rate as f64) as usize);
            10.0 * (power(&y[a..b]) / power(&x[a..b])).log10()
        };
        let (before, soon, later) = (level(2.0, 4.0), level(4.5, 5.0), level(5.0, 8.0));
        eprintln!(
            "{word}: step: before {before:.1} dB, 0.5-1 s after {soon:.1} dB, later {later:.1} dB"
        );
        assert!(
            before < steady,
            "{word}: steady noise only {before:.1} dB down"
        );
        assert!(
            soon < soon_most,
            "{word}: 0.5-1 s after the step: {soon:.1} dB"
        );
        assert!(
            later < before + 3.0 || later < steady,
            "{word}: after the step: {later:.1} dB against {before:.1}"
        );
    }
}

/// Issue 18: the first 0.2 s of a file is cleaned as well as the rest, with or without a
/// profile (no learning period in which the noise comes through).
#[test]
fn the_first_fifth_of_a_second_is_cleaned_as_well_as_the_rest() {
    let dir = TempDir::new().unwrap();
    let rate = 16_000usize;
    let x = stepped_noise(4.0, 4.0, 0.0, 9);
    let input = dir.path().join("noise.wav");
    write_wav(&input, std::slice::from_ref(&x), rate as u32, 32, true);
    let profile = dir.path().join("profile.wav");
    write_wav(
        &profile,
        &[stepped_noise(2.0, 2.0, 0.0, 10)],
        rate as u32,
        32,
        true,
    );
    let profile_word = format!("denoise,profile={}", profile.display());
    let spectral_profile = format!("denoise,model=spectral,profile={}", profile.display());
    for words in [
        vec!["denoise,model=spectral"],
        vec![spectral_profile.as_str()],
        vec!["denoise"],
        vec![profile_word.as_str()],
    ] {
        let y = run(&dir, &input, &words).remove(0);
        let level = |a: usize, b: usize| 10.0 * (power(&y[a..b]) / power(&x[a..b])).log10();
        let (first, rest) = (level(0, rate / 5), level(rate, 4 * rate));
        eprintln!("{words:?}: first 0.2 s {first:.1} dB, from 1 s on {rest:.1} dB");
        // The hybrid (primed on the first 2 s) goes far deeper than the spectral floor on this
        // steady white noise, and keeps deepening for seconds (RNNoise on a steady hiss):
        // measured -22.1 dB in the first 0.2 s and -25.8 after learned, -30.1 / -43.7 with
        // the profile (without the priming the first 0.1 s was -16). It is asked to beat the
        // spectral model's settled -18 dB from the start, not to match its own later depth.
        let settled = first < rest + 3.0 || (!words[0].contains("model=spectral") && first < -21.0);
        assert!(
            settled && first < -12.0,
            "{words:?}: first 0.2 s {first:.1} dB, the rest {rest:.1} dB"
        );
    }
}
