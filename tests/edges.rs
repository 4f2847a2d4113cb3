//! FIR stages whose edges need the whole signal, against scipy and numpy
//! (tests/data/edges_cases.txt, made by tests/data/make_edge_fixtures.py): savgol with
//! scipy.signal.savgol_filter's modes (interp by default, mirror, nearest, constant, wrap) and
//! `boundary=` on any FIR stage in mode=same (np.pad then 'valid', as `convoy convolve
//! --boundary`), within 1e-9 of the peak in f64 text at any block size; the rules around them.

mod common;

use std::path::Path;

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
