//! `phase=minimum` on the FIR stages: the magnitude of the linear-phase design kept within
//! 0.1 dB wherever that design is above -60 dB (measured with `convoy response`, on a grid of
//! 3000 log-spaced frequencies), the energy moved to the front (the delay is the group delay,
//! not (M - 1) / 2), the mode rules, and `fir:` on a measured-style IR.

mod common;

use common::cmd as convoy;
use common::{Rng, response_rows, write_wav};

/// (Hz, dB) of a stage.
fn response(word: &str) -> Vec<(f64, f64)> {
    response_rows(3000, &[word])
        .into_iter()
        .map(|(f, db, _)| (f, db))
        .collect()
}
use tempfile::TempDir;

/// The stage's kernel: an impulse through it (mode=full for the linear one).
fn kernel(word: &str) -> Vec<f64> {
    let run = convoy()
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "--in-format",
            "text",
            "--rate",
            "48000",
        ])
        .args(["-o", "-", "--out-format", "text", word])
        .write_stdin("1\n")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{word}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn centroid(h: &[f64]) -> f64 {
    let e: f64 = h.iter().map(|v| v * v).sum();
    h.iter()
        .enumerate()
        .map(|(n, v)| n as f64 * v * v)
        .sum::<f64>()
        / e
}

#[test]
fn minimum_phase_keeps_the_magnitude_and_moves_the_energy_forward() {
    // (word, the most the energy centroid may keep of the linear design's)
    for (word, keeps) in [
        ("highpass:80", 0.01),
        ("lowpass:3000", 0.3),
        ("bandpass:300,3400", 0.1),
        ("bandstop:45,55", 0.01),
        ("lowpass:1000,taps=101,window=kaiser", 0.7),
        ("gauss:5", 0.8),
        ("savgol:31,3", 0.7),
        // Zeros all on the unit circle: already as early as the magnitude allows.
        ("ma:31", 1.0),
        ("taps:0.25,0.5,0.25", 1.0),
    ] {
        let lin = response(word);
        let min = response(&format!("{word},phase=minimum"));
        let worst = lin
            .iter()
            .zip(&min)
            .filter(|(a, _)| a.1 > -60.0)
            .map(|(a, b)| (a.1 - b.1).abs())
            .fold(0.0, f64::max);
        assert!(worst < 0.1, "{word}: magnitude off by {worst} dB");
        let k_lin = kernel(&format!("{word},mode=full"));
        let k_min = kernel(&format!("{word},phase=minimum"));
        assert_eq!(k_lin.len(), k_min.len(), "{word}: same length");
        let (c_lin, c_min) = (centroid(&k_lin), centroid(&k_min));
        assert!(
            c_min <= keeps * c_lin + 1e-9,
            "{word}: centroid {c_lin} -> {c_min}"
        );
        // phase=linear is the stage as it was.
        assert_eq!(kernel(&format!("{word},mode=full,phase=linear")), k_lin);
    }
}

#[test]
fn a_measured_ir_converts_and_the_rules_are_clear() {
    let dir = TempDir::new().unwrap();
    // A room-like IR: 5 ms of pre-delay, a direct sound, and a decaying noise tail.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ir = vec![0.0; 4800];
    ir[240] = 0.8;
    for (i, v) in ir.iter_mut().enumerate().skip(300) {
        *v += 0.2 * rng.gauss() * (-(i as f64) / 900.0).exp();
    }
    let path = dir.path().join("room.wav");
    write_wav(&path, &[ir], 48_000, 32, true);
    let word = format!("fir:{},phase=minimum", path.display());
    let lin = response(&format!("fir:{}", path.display()));
    let min = response(&word);
    let worst = lin
        .iter()
        .zip(&min)
        .filter(|(a, _)| a.1 > -60.0)
        .map(|(a, b)| (a.1 - b.1).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.1, "room IR: {worst} dB");
    let k = kernel(&word);
    let peak = k
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap()
        .0;
    assert!(peak < 20, "the pre-delay is gone: peak at {peak}");
    for (word, needle) in [
        ("ma:9,phase=minimum,mode=same", "advance the signal"),
        ("ma:9,phase=sideways", "not linear or minimum"),
        ("butter:lowpass,1k,phase=minimum", "applies to FIR stages"),
        ("gain:2,phase=minimum", "applies to FIR stages"),
    ] {
        let run = convoy()
            .args([
                "run",
                "-q",
                "-i",
                "-",
                "--in-format",
                "text",
                "--rate",
                "48000",
            ])
            .args(["-o", "-", "--out-format", "text", word])
            .write_stdin("1\n")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{word}: {err}");
        assert!(err.contains(needle), "{word}: {err}");
    }
}
