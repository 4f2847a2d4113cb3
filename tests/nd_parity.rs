//! 2-D and 3-D convolution against scipy's own outputs (tests/data/nd_cases.txt, made by
//! tests/data/make_nd_fixtures.py): scipy.signal.convolve / correlate in every mode,
//! convolve2d with every boundary, ndimage.convolve with every mode and off-centre origins,
//! ndimage.correlate likewise, odd/even kernels, kernels larger than the input, and cases large enough for the FFT path.

use convoy::conv::nd::{self, Nd};
use convoy::conv::{Extend, Mode};

fn parse_nd(line: &str, tag: &str) -> Nd {
    let rest = line.strip_prefix(tag).unwrap().trim();
    let mut it = rest.split_whitespace();
    let shape: Vec<usize> = it
        .next()
        .unwrap()
        .split('x')
        .map(|d| d.parse().unwrap())
        .collect();
    let data: Vec<f64> = it.map(|v| v.parse().unwrap()).collect();
    Nd::new(shape, data)
}

#[test]
fn every_scipy_case() {
    let text = include_str!("data/nd_cases.txt");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut cases = 0;
    let mut failures = Vec::new();
    while let Some(head) = lines.next() {
        let name = head.strip_prefix("case ").unwrap().to_string();
        let op = lines
            .next()
            .unwrap()
            .strip_prefix("op ")
            .unwrap()
            .to_string();
        let args: Vec<(String, String)> = lines
            .next()
            .unwrap()
            .strip_prefix("args")
            .unwrap()
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let arg = |k: &str| args.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        let x = parse_nd(lines.next().unwrap(), "x ");
        let k = parse_nd(lines.next().unwrap(), "k ");
        let want = parse_nd(lines.next().unwrap(), "y ");
        let mode = match arg("mode") {
            Some("full") => Mode::Full,
            Some("same") => Mode::Same,
            Some("valid") => Mode::Valid,
            _ => Mode::Same,
        };
        let got = match op.as_str() {
            "convolve" => nd::convolve(&x, &k, mode),
            "correlate" => nd::correlate(&x, &k, mode),
            "convolve2d" => {
                let b = match arg("boundary").unwrap() {
                    "fill" => Extend::Constant(arg("fill").unwrap().parse().unwrap()),
                    "symm" => Extend::Symmetric,
                    "wrap" => Extend::Wrap,
                    other => panic!("{other}"),
                };
                nd::convolve2d(&x, &k, mode, b)
            }
            "ndimage" | "ndcorrelate" => {
                let m = match arg("mode").unwrap() {
                    "reflect" => Extend::Symmetric,
                    "mirror" => Extend::Reflect,
                    "nearest" => Extend::Edge,
                    "wrap" => Extend::Wrap,
                    "constant" => Extend::Constant(arg("cval").unwrap().parse().unwrap()),
                    other => panic!("{other}"),
                };
                let origin: Vec<i64> = arg("origin")
                    .unwrap()
                    .split(',')
                    .map(|v| v.parse().unwrap())
                    .collect();
                if op == "ndimage" {
                    nd::ndimage_convolve(&x, &k, m, &origin)
                } else {
                    nd::ndimage_correlate(&x, &k, m, &origin)
                }
            }
            other => panic!("{other}"),
        };
        cases += 1;
        let got = match got {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: error {e}"));
                continue;
            }
        };
        if got.shape != want.shape {
            failures.push(format!(
                "{name}: shape {:?} vs scipy {:?}",
                got.shape, want.shape
            ));
            continue;
        }
        let scale = want.data.iter().fold(1.0f64, |a, v| a.max(v.abs()));
        let err = got
            .data
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        if err > 1e-10 * scale {
            failures.push(format!("{name}: max error {err:.3e} (scale {scale})"));
        }
    }
    assert!(cases > 500, "{cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ:\n{}",
        failures.len(),
        failures[..failures.len().min(25)].join("\n")
    );
}
