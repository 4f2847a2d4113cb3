//! FIR stages whose edges need the whole signal, against scipy and numpy
//! (tests/data/edges_cases.txt, made by tests/data/make_edge_fixtures.py): savgol with
//! scipy.signal.savgol_filter's modes (interp by default, mirror, nearest, constant, wrap) and
//! `boundary=` on any FIR stage in mode=same (np.pad then 'valid', as `convoy convolve
//! --boundary`), within 1e-9 of the peak in f64 text at any block size; the rules around them.

mod common;

use std::path::Path;

use std::fs;

use common::cmd as convoy;
use common::{numbers, read_text, write_text};
use convoy::chain::{Chain, Context};
use tempfile::TempDir;

fn run(input: &Path, out: &Path, word: &str, block: Option<&str>) -> std::process::Output {
    let mut c = convoy();
    c.args(["run", "-q", "-i"]).arg(input);
    c.args(["--rate", "48000", "-o"]).arg(out).arg(word);
    if let Some(b) = block {
        c.args(["--block", b]);
    }
    c.output().unwrap()
}

#[test]
fn edges_equal_scipy_and_numpy_at_any_block() {
    let text = include_str!("data/edges_cases.txt");
    let mut lines = text.lines();
    let x = numbers(lines.next().unwrap(), "x ");
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.txt");
    write_text(&input, &x);
    let out = dir.path().join("y.txt");
    let mut cases = 0;
    while let Some(head) = lines.next() {
        let word = head.strip_prefix("case ").unwrap();
        let want = numbers(lines.next().unwrap(), "y ");
        for block in [None, Some("1"), Some("50")] {
            let r = run(&input, &out, word, block);
            assert!(
                r.status.success(),
                "{word}: {}",
                String::from_utf8_lossy(&r.stderr)
            );
            let got = read_text(&out);
            assert_eq!(got.len(), want.len(), "{word}: length");
            let peak = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err <= 1e-9 * peak, "{word} block {block:?}: error {err:e}");
        }
        cases += 1;
    }
    assert_eq!(cases, 36);
}

#[test]
fn the_rules_around_whole_signal_edges() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("x.txt");
    write_text(&input, &[0.5; 10]);
    let out = dir.path().join("y.txt");
    for (word, needle) in [
        ("savgol:11,2,mode=interp", "at least the window"),
        ("savgol:6,2,mode=interp", "odd window"),
        ("savgol:5,2,mode=sideways", "not interp"),
        ("ma:5,boundary=circle", "not zero, reflect"),
        ("ma:5,mode=full,boundary=reflect", "mode=same"),
        (
            "butter:lowpass,1k,boundary=reflect",
            "applies to FIR stages",
        ),
    ] {
        let r = run(&input, &out, word, None);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{word}: {err}");
        assert!(err.contains(needle), "{word}: {err}");
        assert!(!out.exists(), "{word}: no output");
    }
    // The default interp falls back to zero padding on an input shorter than the window.
    let r = run(&input, &out, "savgol:11,2", None);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // boundary=zero is np.convolve's 'same' itself.
    let r = run(&input, &out, "ma:3,boundary=zero", None);
    assert!(r.status.success());
    let y = read_text(&out);
    assert!((y[0] - 1.0 / 3.0).abs() < 1e-12 && (y[5] - 0.5).abs() < 1e-12);
    // Live, the stage runs causally (its kernel as a causal filter): no error, same length.
    let ctx = Context {
        rate: Some(48_000),
        channels: 1,
        block: Some(64),
    };
    let words = vec!["savgol:11,3".into(), "ma:5,boundary=wrap".into()];
    let mut live = Chain::<f32>::build(&words, &ctx)
        .unwrap()
        .into_live(64)
        .unwrap();
    let mut y = vec![vec![0.0f32; 64]];
    live.process(&[vec![1.0; 64]], 64, &mut y);
    assert!((y[0][63] - 1.0).abs() < 1e-5, "a smoother passes DC live");
}

/// Sensor CSV: the header recognised, `--columns` choosing the signals, the other columns
/// passed through unchanged, `.csv` output comma-separated with the header.
#[test]
fn a_csv_with_a_header_keeps_its_time_column() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("log.csv");
    let rows: Vec<(f64, f64, f64)> = (0..50)
        .map(|i| {
            (
                i as f64 * 0.01,
                ((i * 37) % 11) as f64,
                20.0 + i as f64 * 0.1,
            )
        })
        .collect();
    let mut text = String::from("time,value,temp\n");
    for (t, v, c) in &rows {
        text.push_str(&format!("{t:?},{v:?},{c:?}\n"));
    }
    fs::write(&input, text).unwrap();
    let out = dir.path().join("smooth.csv");
    let r = convoy()
        .args(["run", "-q", "--rate", "100", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["--columns", "value", "ma:3"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = fs::read_to_string(&out).unwrap();
    let mut lines = got.lines();
    assert_eq!(lines.next(), Some("time,value,temp"));
    let values: Vec<f64> = rows.iter().map(|r| r.1).collect();
    for (i, line) in lines.enumerate() {
        let f: Vec<f64> = line.split(',').map(|t| t.parse().unwrap()).collect();
        assert_eq!(f.len(), 3, "row {i}");
        assert_eq!(f[0], rows[i].0, "time passes through exactly");
        assert_eq!(f[2], rows[i].2, "temp passes through exactly");
        let lo = i.saturating_sub(1);
        let hi = (i + 1).min(values.len() - 1);
        let want: f64 = values[lo..=hi].iter().sum::<f64>() / 3.0;
        assert!((f[1] - want).abs() < 1e-12, "row {i}: {} vs {want}", f[1]);
    }
    // By number (from 1), two signal columns, into plain text: spaces and the header.
    let txt = dir.path().join("out.txt");
    let r = convoy()
        .args(["run", "-q", "--rate", "100", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&txt)
        .args(["--columns", "2,3", "butter:lowpass,10,order=2"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got = fs::read_to_string(&txt).unwrap();
    assert!(got.starts_with("time value temp\n"), "{got}");
    assert_eq!(got.lines().count(), 51);
    for (args, needle) in [
        (
            vec!["--columns", "humidity", "ma:3"],
            "no column named 'humidity'",
        ),
        (vec!["--columns", "4", "ma:3"], "the input has 3"),
        (
            vec!["--columns", "value", "ma:3,mode=full"],
            "keeps the length",
        ),
        (vec!["--columns", "value", "delay:2"], "keeps the length"),
    ] {
        let r = convoy()
            .args(["run", "-q", "--rate", "100", "-i"])
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("bad.csv"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!dir.path().join("bad.csv").exists());
    }
    // Text without --rate into a WAV: the assumed rate is said.
    let r = convoy()
        .args(["run", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("x.wav"))
        .args(["--columns", "value", "ma:3"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("48000 Hz assumed"), "{err}");
}
