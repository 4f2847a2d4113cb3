//! Recursive stages against scipy.signal (tests/data/iir_cases.txt, made by
//! tests/data/make_iir_fixtures.py: butter + sosfilt/sosfiltfilt, iirnotch, iirpeak, and the
//! Audio EQ Cookbook's formulas written out independently): f64 text output within 1e-9 of the
//! peak, f32 WAVs within 1e-6, whatever the block size; live equals offline; the chain merges
//! and separates them as it should; bad words fail with one line.

mod common;

use std::fs;

use common::cmd as convoy;
use common::{numbers, read_text, read_wav, response_rows, write_text, write_wav};
use convoy::Block;
use convoy::chain::{Chain, Context};
use tempfile::TempDir;

struct Case {
    word: String,
    causal: Vec<f64>,
    zero: Vec<f64>,
}

fn fixtures() -> (Vec<f64>, Vec<Case>) {
    let text = include_str!("data/iir_cases.txt");
    let mut lines = text.lines();
    let x = numbers(lines.next().unwrap(), "x ");
    let mut cases = Vec::new();
    while let Some(head) = lines.next() {
        let word = head
            .strip_prefix("case ")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let _sos = lines.next();
        let causal = numbers(lines.next().unwrap(), "causal ");
        let zero = numbers(lines.next().unwrap(), "zero ");
        cases.push(Case { word, causal, zero });
    }
    assert!(cases.len() >= 18, "fixtures");
    (x, cases)
}

/// Largest difference over the reference's peak.
fn rel_err(got: &[f64], want: &[f64], what: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let peak = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
        / peak
}

#[test]
fn every_recursive_stage_equals_scipy_in_f64_text_at_any_block() {
    let (x, cases) = fixtures();
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.txt");
    write_text(&input, &x);
    let out = dir.path().join("y.txt");
    for case in &cases {
        for (mode, want) in [("", &case.causal), (",mode=zero-phase", &case.zero)] {
            for block in [None, Some("1"), Some("37")] {
                let word = format!("{}{mode}", case.word);
                let mut c = convoy();
                c.args(["run", "-q", "-i"]).arg(&input);
                c.args(["--rate", "48000", "-o"]).arg(&out).arg(&word);
                if let Some(b) = block {
                    c.args(["--block", b]);
                }
                let run = c.output().unwrap();
                assert!(
                    run.status.success(),
                    "{word}: {}",
                    String::from_utf8_lossy(&run.stderr)
                );
                let e = rel_err(&read_text(&out), want, &word);
                assert!(e < 1e-9, "{word} block {block:?}: error {e:e} of the peak");
            }
        }
    }
}

#[test]
fn f32_wavs_equal_scipy_within_1e_6_of_the_peak() {
    let (x, cases) = fixtures();
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.wav");
    // The fixture's input is f64; a 32-bit float WAV carries it rounded, which scipy's output
    // of the unrounded input covers well inside 1e-6 (the filters' gains are modest).
    write_wav(&input, std::slice::from_ref(&x), 48_000, 32, true);
    let out = dir.path().join("y.wav");
    for case in &cases {
        for (mode, want) in [("", &case.causal), (",mode=zero-phase", &case.zero)] {
            let word = format!("{}{mode}", case.word);
            let run = convoy()
                .args(["run", "-q", "-i"])
                .arg(&input)
                .arg("-o")
                .arg(&out)
                .args(["--bits", "f32", &word])
                .output()
                .unwrap();
            assert!(run.status.success(), "{word}");
            let got = read_wav(&out).1.remove(0);
            let e = rel_err(&got, want, &word);
            assert!(e < 1e-6, "{word}: error {e:e} of the peak");
        }
    }
}

/// A chain of f32 blocks through the offline chain and through its live form.
fn offline_and_live(
    words: &[&str],
    x: &[Vec<f32>],
    block: usize,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let ctx = Context {
        rate: Some(48_000),
        channels: x.len(),
        block: Some(block),
    };
    let words: Vec<_> = words.iter().map(|w| (*w).into()).collect();
    let mut offline = Chain::<f32>::build(&words, &ctx).unwrap();
    let mut got = vec![Vec::new(); x.len()];
    let mut take = |b: &mut Block<f32>| {
        for (g, p) in got.iter_mut().zip(b.iter()) {
            g.extend_from_slice(p);
        }
        Ok(())
    };
    for start in (0..x[0].len()).step_by(block) {
        let end = (start + block).min(x[0].len());
        let planes = x.iter().map(|c| c[start..end].to_vec()).collect();
        offline
            .process(&mut Block::from_planes(planes), &mut take)
            .unwrap();
    }
    offline.finish(&mut take).unwrap();
    let mut live = Chain::<f32>::build(&words, &ctx)
        .unwrap()
        .into_live(block)
        .unwrap();
    let mut out = vec![Vec::new(); x.len()];
    let mut y = vec![vec![0.0f32; block]; x.len()];
    for start in (0..x[0].len()).step_by(block) {
        let end = (start + block).min(x[0].len());
        let input: Vec<Vec<f32>> = x.iter().map(|c| c[start..end].to_vec()).collect();
        live.process(&input, end - start, &mut y);
        for (o, p) in out.iter_mut().zip(&y) {
            o.extend_from_slice(&p[..end - start]);
        }
    }
    (got, out)
}

#[test]
fn live_equals_offline_for_causal_recursive_stages() {
    let n = 5000;
    let x: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            (0..n)
                .map(|i| (((i * 7919 + c * 31) % 1000) as f32 / 1000.0 - 0.5) * 0.8)
                .collect()
        })
        .collect();
    for block in [1, 64, 256, 1000] {
        let (off, live) = offline_and_live(
            &[
                "butter:highpass,80",
                "peq:1000,gain=6",
                "notch:60",
                "lowshelf:200,gain=-3",
            ],
            &x,
            block,
        );
        assert_eq!(off, live, "block {block}");
    }
}

#[test]
fn causal_stages_in_a_row_are_one_cascade_and_fir_stages_stay_between() {
    let run = convoy()
        .args([
            "run",
            "--explain",
            "--rate",
            "48000",
            "-i",
            "-",
            "--in-format",
            "text",
        ])
        .args(["-o", "-", "butter:highpass,80", "peq:1k,gain=3", "ma:5"])
        .args(["notch:60", "butter:lowpass,8k,mode=zero-phase"])
        .write_stdin("")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(
        text.contains("2 recursive stages as one cascade of 3 second-order section(s)"),
        "{text}"
    );
    assert!(text.contains("zero phase, offline only"), "{text}");
    assert!(text.contains("delay"), "{text}");
}

#[test]
fn zero_phase_is_refused_live_and_bad_words_fail_with_one_line() {
    let ctx = Context {
        rate: Some(48_000),
        channels: 1,
        block: Some(64),
    };
    let words = vec!["butter:lowpass,1k,mode=zero-phase".into()];
    let live = Chain::<f32>::build(&words, &ctx).unwrap().into_live(64);
    let msg = live.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("offline only"), "{msg}");
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.txt");
    write_text(&input, &[0.0; 10]);
    for (word, needle) in [
        ("butter:lowpass", "usage"),
        ("butter:sideways,100", "not lowpass"),
        ("butter:lowpass,30k", "Nyquist"),
        ("butter:bandpass,500,100", "below the high edge"),
        ("butter:lowpass,100,order=0", "at least 1"),
        ("butter:lowpass,100,order=40", "limit"),
        ("peq:1000", "gain is required"),
        ("peq:1000,gain=6,q=0", "above 0"),
        ("notch:60,gain=3", "unknown option"),
        ("biquad:1,0,0,0,0,0", "a0 is 0"),
        ("biquad:1,0,0,1,-2,1.5", "unstable"),
        ("biquad:1,2", "usage"),
        ("sos:@missing.txt", "missing.txt"),
        ("butter:lowpass,100,mode=same", "not causal or zero-phase"),
        (
            "butter:lowpass,1000,mode=zero-phase",
            "more than 15 samples",
        ),
    ] {
        let run = convoy()
            .args(["run", "-q", "-i"])
            .arg(&input)
            .args(["--rate", "48000", "-o"])
            .arg(dir.path().join("y.txt"))
            .arg(word)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr).to_string();
        assert_eq!(run.status.code(), Some(2), "{word}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{word}: {err}");
        assert!(err.contains(needle), "{word}: {err}");
        assert!(!dir.path().join("y.txt").exists(), "{word}: no output");
    }
}

#[test]
fn a_scipy_sos_file_runs_as_scipy_runs_it() {
    let (x, cases) = fixtures();
    let text = include_str!("data/iir_cases.txt");
    // The bandpass case's scipy sections, as a scipy user would save them (np.savetxt).
    let block: Vec<&str> = text.lines().collect();
    let at = block
        .iter()
        .position(|l| l.starts_with("case butter:bandpass,300,3400 "))
        .unwrap();
    let sos = numbers(block[at + 1], "sos ");
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("bp_sos.txt");
    let rows: String = sos
        .chunks(6)
        .map(|r| {
            r.iter()
                .map(|v| format!("{v:e}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect();
    fs::write(&file, rows).unwrap();
    let input = dir.path().join("x.txt");
    write_text(&input, &x);
    let out = dir.path().join("y.txt");
    let run = convoy()
        .args(["run", "-q", "-i"])
        .arg(&input)
        .args(["--rate", "48000", "-o"])
        .arg(&out)
        .arg(format!("sos:@{}", file.display()))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let want = &cases
        .iter()
        .find(|c| c.word == "butter:bandpass,300,3400")
        .unwrap()
        .causal;
    let e = rel_err(&read_text(&out), want, "sos file");
    assert!(e < 1e-9, "sos file: {e:e}");
}

#[test]
fn the_response_of_a_recursive_stage_is_its_exact_one() {
    // A bilinear Butterworth high-pass: |H|^2 = 1 / (1 + (tan(wc/2) / tan(w/2))^(2N)).
    let (rate, fc, order) = (48_000.0f64, 80.0f64, 4);
    let t = |f: f64| (std::f64::consts::PI * f / rate).tan();
    let want = |f: f64| -10.0 * (1.0 + (t(fc) / t(f)).powi(2 * order)).log10();
    let causal = response_rows(300, &["butter:highpass,80"]);
    let zero = response_rows(300, &["butter:highpass,80,mode=zero-phase"]);
    for ((f, db, _), (_, db2, deg2)) in causal.iter().zip(&zero) {
        if want(*f) > -200.0 && *f < 23_000.0 {
            assert!((db - want(*f)).abs() < 1e-6, "{f} Hz: {db} vs {}", want(*f));
            assert!((db2 - 2.0 * want(*f)).abs() < 2e-6, "{f} Hz zero-phase");
            assert!(deg2.abs() < 1e-9, "zero phase has no phase");
        }
    }
    // A peaking EQ is +6 dB at its centre, in a chain with a FIR smoother after it.
    let rows = response_rows(300, &["peq:1k,gain=6,q=1"]);
    let near = rows
        .iter()
        .min_by(|a, b| (a.0 - 1000.0).abs().total_cmp(&(b.0 - 1000.0).abs()))
        .unwrap();
    assert!((near.1 - 6.0).abs() < 0.05, "{near:?}");
}
