//! Issue 19: numpy's dtypes, integer wrap-around, complex input, `--axes` and scipy's 1-D rules,
//! against numpy/scipy's own answers (tests/data/typed/, made by make_typed_fixtures.py): each
//! case runs `convoy convolve NAME.a.npy NAME.b.npy -o out.npy FLAGS` and the output must have
//! numpy's dtype and shape, integers bit for bit, floats within rounding.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/typed")
}

/// A .npy file's dtype descr, shape and data bytes (little-endian, C order).
fn read_npy(path: &Path) -> (String, Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{}", path.display());
    let (len, start) = if bytes[6] == 1 {
        (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + len]).unwrap();
    let field = |key: &str| {
        let at = header.find(key).unwrap() + key.len();
        header[at..].trim_start_matches([':', ' ']).to_string()
    };
    let descr = field("'descr'");
    let descr = descr.split('\'').nth(1).unwrap().to_string();
    assert!(field("'fortran_order'").starts_with("False"));
    let shape_text = field("'shape'");
    let inner = &shape_text[1..shape_text.find(')').unwrap()];
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    (descr, shape, bytes[start + len..].to_vec())
}

/// The values of float or complex data as f64 (complex: real, imaginary interleaved).
fn floats(descr: &str, data: &[u8]) -> Vec<f64> {
    let width = if descr.ends_with('4') || descr == "<c8" {
        4
    } else {
        8
    };
    data.chunks_exact(width)
        .map(|c| {
            if width == 4 {
                f64::from(f32::from_le_bytes(c.try_into().unwrap()))
            } else {
                f64::from_le_bytes(c.try_into().unwrap())
            }
        })
        .collect()
}

#[test]
fn results_match_numpy_and_scipy_in_their_dtype() {
    let dir = data();
    let cases = std::fs::read_to_string(dir.join("cases.txt")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in cases
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, flags) = line.split_once('\t').unwrap_or((line, ""));
        count += 1;
        let out = tmp.path().join(format!("{name}.npy"));
        let a = dir.join(format!("{name}.a.npy"));
        let b = dir.join(format!("{name}.b.npy"));
        let run = Command::cargo_bin("convoy")
            .unwrap()
            .arg("convolve")
            .arg(&a)
            .arg(&b)
            .arg("-o")
            .arg(&out)
            .args(flags.split_whitespace())
            .output()
            .unwrap();
        if !run.status.success() {
            failures.push(format!(
                "{name} ({flags}): {}",
                String::from_utf8_lossy(&run.stderr).trim()
            ));
            continue;
        }
        let (want_descr, want_shape, want) = read_npy(&dir.join(format!("{name}.want.npy")));
        let (got_descr, got_shape, got) = read_npy(&out);
        if (got_descr.as_str(), &got_shape) != (want_descr.as_str(), &want_shape) {
            failures.push(format!(
                "{name}: dtype/shape {got_descr} {got_shape:?}, numpy {want_descr} {want_shape:?}"
            ));
            continue;
        }
        let kind = want_descr.as_bytes()[1];
        if matches!(kind, b'i' | b'u' | b'b') {
            if got != want {
                failures.push(format!("{name}: integers differ"));
            }
            continue;
        }
        let (g, w) = (floats(&got_descr, &got), floats(&want_descr, &want));
        let peak = w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        // numpy sums float32 in float32; convoy in f64, then rounds.
        let tol = if want_descr.ends_with('4') || want_descr == "<c8" {
            2e-6
        } else {
            1e-12
        };
        let worst = g
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        if worst > tol * peak {
            failures.push(format!("{name}: off by {:.3e} of the peak", worst / peak));
        }
    }
    assert!(count > 100, "only {count} cases read");
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn convoy(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("convoy")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

/// Item 6: `[2**50] * [2**50]` wraps to 0 in int64, on every output format alike.
#[test]
fn integer_overflow_wraps_identically_on_every_output() {
    let dir = data();
    let a = dir.join("overflow_2p50.a.npy");
    let a = a.to_str().unwrap();
    let out = convoy(&["convolve", a, a]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n");
    let tmp = tempfile::tempdir().unwrap();
    for ext in ["txt", "csv"] {
        let p = tmp.path().join(format!("o.{ext}"));
        assert!(
            convoy(&["convolve", a, a, "-o", p.to_str().unwrap()])
                .status
                .success()
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "0\n");
    }
    // uint64 prints unsigned, from .npy in and out alike.
    let u = tmp.path().join("u.npy");
    let one = tmp.path().join("one.npy");
    write_u64(&u, &[u64::MAX, 3]);
    write_u64(&one, &[1]);
    let out = convoy(&["convolve", u.to_str().unwrap(), one.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "18446744073709551615 3\n"
    );
}

/// A 1-D uint64 .npy.
fn write_u64(path: &Path, values: &[u64]) {
    let mut dict = format!(
        "{{'descr': '<u8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// Item 1: complex numbers as text in and out, in Python's syntax.
#[test]
fn complex_text_in_and_out() {
    let out = convoy(&["convolve", "1+2j 3", "1 -1j"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // np.convolve([1+2j, 3], [1, -1j]) = [1+2j, 5-1j, -3j]
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "(1+2j) (5-1j) (0-3j)\n"
    );
    let out = convoy(&["convolve", "(1+1j)", "2", "--correlate"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "(2+2j)\n");
    // A complex fill needs a complex operand (scipy's words).
    let out = convoy(&[
        "convolve",
        "1 2; 3 4",
        "1",
        "--fill",
        "2j",
        "--boundary",
        "zero",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not cast `fillvalue`"));
    // Nowhere to put it: a complex result in a WAV.
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("o.wav");
    let out = convoy(&["convolve", "1j 2", "1", "-o", wav.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!wav.exists());
}

/// Item 3: scipy's rules refuse what numpy's broadcast, and keep empties empty only where
/// scipy does.
#[test]
fn scipy_rules_for_dimensions_and_empties() {
    let dir = data();
    let zero_d = dir.join("scipy_zero_d.a.npy");
    let one_d = dir.join("wrap_int8_full.a.npy");
    let (z, o) = (zero_d.to_str().unwrap(), one_d.to_str().unwrap());
    let out = convoy(&["convolve", z, o, "--semantics", "scipy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("in1 and in2 should have the same dimensionality")
    );
    // numpy makes the 0-d operand 1-D.
    assert!(convoy(&["convolve", z, o]).status.success());
    // An empty operand: numpy's error, unless scipy's FFT path or ndimage answers empty.
    let empty = dir.join("scipy_empty_fft.a.npy");
    let e = empty.to_str().unwrap();
    let out = convoy(&["convolve", e, "1 2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a cannot be empty"));
    let out = convoy(&[
        "convolve",
        e,
        "1 2",
        "--method",
        "direct",
        "--semantics",
        "scipy",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Item 2: --axes is checked as scipy checks axes.
#[test]
fn axes_errors_in_scipys_words() {
    let dir = data();
    let a = dir.join("axes_2_full.a.npy");
    let b = dir.join("axes_2_full.b.npy");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    for (axes, words) in [
        ("0,0", "all axes must be unique"),
        ("3", "axes exceeds dimensionality"),
        (",", "axes cannot be empty"),
        ("1", "incompatible shapes for in1 and in2"),
    ] {
        let out = convoy(&["convolve", a, b, "--axes", axes]);
        assert_eq!(out.status.code(), Some(2), "{axes}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{axes}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
