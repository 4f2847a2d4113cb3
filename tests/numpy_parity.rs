//! convoy's one-shot convolution against numpy's own outputs (tests/data/numpy_cases.txt, made
//! by tests/data/make_fixtures.py), with every method, plus the issue's normative examples.

use convoy::conv::{Boundary, Method, Mode, Options, convolve, convolve_with, correlate};

struct Case {
    name: String,
    options: Options,
    a: Vec<f64>,
    v: Vec<f64>,
    out: Vec<f64>,
}

fn parse_values(text: &str) -> Vec<f64> {
    text.split_whitespace()
        .map(|t| match t {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => t.parse().unwrap(),
        })
        .collect()
}

fn load_cases() -> Vec<Case> {
    let text = include_str!("data/numpy_cases.txt");
    let mut cases = Vec::new();
    let mut lines = text.lines();
    let (mut last_a, mut last_v) = (Vec::new(), Vec::new());
    while let Some(header) = lines.next() {
        let mut words = header.split_whitespace();
        assert_eq!(words.next(), Some("case"));
        let name = words.next().unwrap().to_string();
        let mut options = Options::default();
        for word in words {
            let (key, value) = word.split_once('=').unwrap();
            match key {
                "op" => options.correlate = value == "correlate",
                "mode" => options.mode = value.parse().unwrap(),
                "boundary" => {
                    options.boundary = match value {
                        "zero" => Boundary::Zero,
                        "reflect" => Boundary::Reflect,
                        "symmetric" => Boundary::Symmetric,
                        "wrap" => Boundary::Wrap,
                        "edge" => Boundary::Edge,
                        other => panic!("unknown boundary {other}"),
                    }
                }
                other => panic!("unknown key {other}"),
            }
        }
        let mut field = |key: &str, last: &mut Vec<f64>| {
            let line = lines.next().unwrap();
            let rest = line.strip_prefix(key).unwrap().trim_start();
            if rest == "~" {
                last.clone()
            } else {
                *last = parse_values(rest);
                last.clone()
            }
        };
        let a = field("a", &mut last_a);
        let v = field("v", &mut last_v);
        let out = parse_values(lines.next().unwrap().strip_prefix("out").unwrap());
        cases.push(Case {
            name,
            options,
            a,
            v,
            out,
        });
    }
    cases
}

fn check(case: &Case, method: Method) {
    let options = Options {
        method,
        ..case.options
    };
    let got = convolve_with(&case.a, &case.v, &options).unwrap();
    let label = format!("{} {:?} via {method}", case.name, case.options);
    assert_eq!(got.len(), case.out.len(), "{label}: length");
    let peak = case
        .out
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let exact = case.name.starts_with("int") || case.name.starts_with("neg-int");
    for (i, (&g, &e)) in got.iter().zip(&case.out).enumerate() {
        if e.is_nan() {
            assert!(g.is_nan(), "{label}: [{i}] {g} should be nan");
        } else if e.is_infinite() {
            assert_eq!(g, e, "{label}: [{i}]");
        } else if exact {
            assert_eq!(g, e, "{label}: [{i}] integer data must be exact");
        } else {
            assert!(
                (g - e).abs() <= 1e-12 * peak,
                "{label}: [{i}] {g} vs numpy {e} (peak {peak})"
            );
        }
    }
}

#[test]
fn every_numpy_case_with_every_method() {
    let cases = load_cases();
    assert!(cases.len() > 2000, "fixture file truncated?");
    for case in &cases {
        check(case, Method::Auto);
        check(case, Method::Direct);
        let finite = case.a.iter().chain(&case.v).all(|v| v.is_finite());
        if finite {
            check(case, Method::Fft);
        }
    }
}

/// The examples quoted in issue #2 (numpy's own outputs) are normative.
#[test]
fn normative_examples_from_the_issue() {
    let full = |a: &[f64], v: &[f64]| convolve(a, v, Mode::Full).unwrap();
    assert_eq!(
        full(&[1.0, 2.0, 3.0], &[0.0, 1.0, 0.5]),
        [0.0, 1.0, 2.5, 4.0, 1.5]
    );
    assert_eq!(full(&[1.0, 2.0, 3.0], &[1.0, 1.0]), [1.0, 3.0, 5.0, 3.0]);
    assert_eq!(
        convolve(&[1.0, 2.0, 3.0], &[1.0, 1.0], Mode::Same).unwrap(),
        [1.0, 3.0, 5.0]
    );
    assert_eq!(
        convolve(&[1.0, 2.0, 3.0], &[1.0, 1.0], Mode::Valid).unwrap(),
        [3.0, 5.0]
    );
    assert_eq!(full(&[1.0, 5.0], &[3.0, 4.0, 2.0]), [3.0, 19.0, 22.0, 10.0]);
    let third = 1.0 / 3.0;
    let valid = convolve(&[10.0, 20.0, 30.0, 40.0, 50.0], &[third; 3], Mode::Valid).unwrap();
    for (g, e) in valid.iter().zip([20.0f64, 30.0, 40.0]) {
        assert!((g - e).abs() < 1e-12);
    }
    let nine: Vec<f64> = (1..=9).map(f64::from).collect();
    let same = convolve(&nine, &[0.2, 0.5, 0.2], Mode::Same).unwrap();
    let expected = [0.9, 1.8, 2.7, 3.6, 4.5, 5.4, 6.3, 7.2, 6.1];
    for (g, e) in same.iter().zip(expected) {
        assert!((g - e).abs() < 1e-12, "{same:?}");
    }
}

/// np.correlate(a, v, m) with v longer is np.correlate(v, a, m) reversed, which for 'same' is
/// not convolve(a, v[::-1], 'same').
#[test]
fn correlate_with_the_longer_kernel_reverses_like_numpy() {
    // numpy's own outputs; the naive flip would give [2, 4.5, 2, 2] and [20, 38, 60, ...].
    let a = [1.0, 2.0];
    let v = [0.0, 1.0, 0.5, 2.0];
    assert_eq!(correlate(&a, &v, Mode::Same).unwrap(), [4.5, 2.0, 2.0, 0.0]);
    let flipped: Vec<f64> = v.iter().rev().copied().collect();
    assert_eq!(
        convolve(&a, &flipped, Mode::Same).unwrap(),
        [2.0, 4.5, 2.0, 2.0]
    );
    let a = [1.0, 2.0, 3.0, 4.0];
    let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    assert_eq!(
        correlate(&a, &v, Mode::Same).unwrap(),
        [38.0, 60.0, 50.0, 40.0, 30.0, 20.0, 11.0]
    );
}

#[test]
fn f32_matches_f64_closely() {
    let x: Vec<f64> = (0..3000)
        .map(|i| ((i * 7919 % 1000) as f64 / 500.0) - 1.0)
        .collect();
    let h: Vec<f64> = (0..257)
        .map(|i| ((i * 31 % 97) as f64 / 48.0) - 1.0)
        .collect();
    let exact = convolve(&x, &h, Mode::Full).unwrap();
    let peak = exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let h32: Vec<f32> = h.iter().map(|&v| v as f32).collect();
    for method in [Method::Direct, Method::Fft] {
        let got = convolve_with(
            &x32,
            &h32,
            &Options {
                method,
                ..Options::default()
            },
        )
        .unwrap();
        for (g, e) in got.iter().zip(&exact) {
            assert!((f64::from(*g) - e).abs() <= 1e-5 * peak);
        }
    }
}

/// Where the cost model prefers the FFT, a NaN or infinity in the input must still land only
/// where numpy's direct sums put it.
#[test]
fn nonfinite_input_falls_back_to_direct_under_auto() {
    let n = 50_000;
    let m = 500;
    assert_eq!(convoy::conv::auto_method(n, m, Mode::Full), Method::Fft);
    let mut x: Vec<f64> = (0..n)
        .map(|i| ((i * 7919 % 1000) as f64) / 500.0 - 1.0)
        .collect();
    let h: Vec<f64> = (0..m).map(|i| ((i * 31 % 97) as f64) / 97.0).collect();
    x[20_000] = f64::NAN;
    x[30_000] = f64::INFINITY;
    for mode in [Mode::Full, Mode::Same, Mode::Valid] {
        let auto = convolve(&x, &h, mode).unwrap();
        let direct = convolve_with(
            &x,
            &h,
            &Options {
                mode,
                method: Method::Direct,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(auto.len(), direct.len());
        let nan_count = auto.iter().filter(|v| v.is_nan()).count();
        assert!(
            nan_count > 0 && nan_count < 2 * m,
            "NaN must stay local: {nan_count}"
        );
        for (a, d) in auto.iter().zip(&direct) {
            assert!(a == d || (a.is_nan() && d.is_nan()), "{a} vs {d}");
        }
    }
}
