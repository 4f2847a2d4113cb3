//! `convoy convolve` driven as a user drives it: every input format, every output format, and
//! every bad-input path (one line on stderr, exit status 2, no panic, no file left behind).

mod common;

use common::cmd as convoy;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn stdout_of(args: &[&str]) -> String {
    let out = convoy()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// Runs and expects a one-line error with exit status 2 that contains every `needles`.
fn fails_with(cmd: &mut Command, needles: &[&str]) {
    let out = cmd.assert().code(2).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "want one line, got: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "'{needle}' missing from: {err}");
    }
    assert!(out.stdout.is_empty(), "no partial output on stdout");
}

/// `convoy ARGS` must fail as [`fails_with`] describes.
fn rejects(args: &[&str], needles: &[&str]) {
    fails_with(convoy().args(args), needles);
}

fn write_npy_f64(path: &Path, shape: &[u64], data: &[f64]) {
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn write_npy_i32(path: &Path, data: &[i32]) {
    use npyz::WriterBuilder;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[data.len() as u64])
        .writer(fs::File::create(path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn read_npy(path: &Path) -> (String, Vec<u64>, Vec<f64>) {
    let bytes = fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let dtype = npy.dtype().descr();
    let shape = npy.shape().to_vec();
    let values = if dtype.contains("i8") {
        npy.into_vec::<i64>()
            .unwrap()
            .into_iter()
            .map(|v| v as f64)
            .collect()
    } else if dtype.contains("i4") {
        npy.into_vec::<i32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    } else {
        npy.into_vec::<f64>().unwrap()
    };
    (dtype, shape, values)
}

/// A 16-bit WAV of interleaved `samples`.
fn write_wav_i16(path: &Path, channels: u16, rate: u32, samples: &[i16]) {
    let ch = usize::from(channels);
    let planar: Vec<Vec<f64>> = (0..ch)
        .map(|c| {
            samples
                .iter()
                .skip(c)
                .step_by(ch)
                .map(|&v| f64::from(v) / 32768.0)
                .collect()
        })
        .collect();
    common::write_wav(path, &planar, rate, 16, false);
}

fn tmp() -> TempDir {
    tempfile::tempdir().unwrap()
}

fn file(dir: &TempDir, name: &str, content: &str) -> PathBuf {
    let p = dir.path().join(name);
    fs::write(&p, content).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------- inputs and results

#[test]
fn normative_examples_on_the_command_line() {
    assert_eq!(
        stdout_of(&["convolve", "1 2 3", "0 1 0.5"]),
        "0 1 2.5 4 1.5\n"
    );
    assert_eq!(stdout_of(&["convolve", "1 2 3", "1 1"]), "1 3 5 3\n");
    assert_eq!(
        stdout_of(&["convolve", "1 2 3", "1 1", "--mode", "same"]),
        "1 3 5\n"
    );
    assert_eq!(
        stdout_of(&["convolve", "1 2 3", "1 1", "--mode", "valid"]),
        "3 5\n"
    );
    assert_eq!(stdout_of(&["convolve", "1,5", "3,4,2"]), "3 19 22 10\n");
    assert_eq!(
        stdout_of(&[
            "convolve",
            "1 2 3 4 5 6 7 8 9",
            "0.2 0.5 0.2",
            "--mode",
            "same"
        ]),
        "0.9 1.8 2.7 3.6 4.5 5.4 6.300000000000001 7.2 6.1\n"
    );
}

#[test]
fn inline_kernel_with_leading_minus_is_not_an_option() {
    let dir = tmp();
    let sig = file(&dir, "sig.txt", "1 2 3 4\n");
    assert_eq!(
        stdout_of(&["convolve", s(&sig), "-1 2 -1", "--mode", "same"]),
        "0 0 0 5\n"
    );
    assert_eq!(
        stdout_of(&["convolve", "--mode", "same", s(&sig), "-1 2 -1"]),
        "0 0 0 5\n"
    );
    assert_eq!(stdout_of(&["convolve", s(&sig), "-2"]), "-2 -4 -6 -8\n");
    assert_eq!(stdout_of(&["convolve", "-1", "0.5"]), "-0.5\n");
}

#[test]
fn text_files_in_every_layout() {
    let dir = tmp();
    let one_line = file(&dir, "a.txt", "1 2 3\n");
    let column = file(&dir, "b.txt", "# header comment\n1\n2\n\n3\n");
    let csv = file(&dir, "c.csv", "1,2,3\n");
    let special = file(&dir, "d.txt", "1 NaN 3 Inf -inf\n");
    for f in [&one_line, &column, &csv] {
        assert_eq!(stdout_of(&["convolve", s(f), "0 1 0.5"]), "0 1 2.5 4 1.5\n");
    }
    assert_eq!(
        stdout_of(&["convolve", s(&special), "1"]),
        "1 nan 3 inf -inf\n"
    );
}

/// Issue 19, item 8: a forced FFT over NaN or infinity warns as scipy.signal.convolve does
/// (and still answers); direct and auto (which picks direct for such input) stay quiet.
#[test]
fn a_forced_fft_over_nan_or_inf_warns_like_scipy() {
    let dir = tmp();
    let nan = file(&dir, "nan.txt", "1 NaN 3 4\n");
    let warning = "Use of fft convolution on input with NAN or inf results in NAN or inf output";
    for (method, warns) in [("fft", true), ("direct", false), ("auto", false)] {
        let out = convoy()
            .args(["convolve", s(&nan), "0.5 0.5", "--method", method])
            .output()
            .unwrap();
        assert!(out.status.success(), "{method}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.contains(warning), warns, "{method}: {err}");
    }
    // An infinity in the kernel counts too; finite input does not warn.
    let out = convoy()
        .args(["convolve", "1 2 3", "1 inf", "--method", "fft"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(warning));
    let out = convoy()
        .args(["convolve", "1 2 3", "1 1", "--method", "fft"])
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
}

#[test]
fn stdin_is_text() {
    convoy()
        .args(["convolve", "-", "0.2 0.5 0.2", "--mode", "same"])
        .write_stdin("1\n2\n3\n")
        .assert()
        .success()
        .stdout("0.9 1.8 1.9\n");
    convoy()
        .args(["convolve", "1 2 3", "-"])
        .write_stdin("0, 1, 0.5")
        .assert()
        .success()
        .stdout("0 1 2.5 4 1.5\n");
}

#[test]
fn npy_inputs_of_every_dtype_and_npy_output_shape() {
    let dir = tmp();
    let a = dir.path().join("a.npy");
    write_npy_f64(&a, &[3], &[1.0, 2.0, 3.0]);
    let ai = dir.path().join("ai.npy");
    write_npy_i32(&ai, &[1, 2, 3]);
    let vi = dir.path().join("vi.npy");
    write_npy_i32(&vi, &[1, -1]);
    assert_eq!(
        stdout_of(&["convolve", s(&a), "0 1 0.5"]),
        "0 1 2.5 4 1.5\n"
    );
    assert_eq!(stdout_of(&["convolve", s(&ai), s(&vi)]), "1 1 1 -3\n");

    // Two int32 arrays give int32, as np.convolve does (numpy's result type); with a float
    // (text is float64) float64.
    let out = dir.path().join("out.npy");
    convoy()
        .args(["convolve", s(&ai), s(&vi), "-o", s(&out)])
        .assert()
        .success();
    let (dtype, shape, values) = read_npy(&out);
    assert_eq!(
        (dtype.as_str(), shape, values),
        ("'<i4'", vec![4], vec![1.0, 1.0, 1.0, -3.0])
    );
    convoy()
        .args(["convolve", s(&ai), "0.5", "-o", s(&out)])
        .assert()
        .success();
    let (dtype, shape, values) = read_npy(&out);
    assert_eq!(
        (dtype.as_str(), shape, values),
        ("'<f8'", vec![3], vec![0.5, 1.0, 1.5])
    );
}

#[test]
fn two_d_npy_is_filtered_per_column_with_axis_0() {
    let dir = tmp();
    let a = dir.path().join("a.npy");
    // shape (3, 2): columns [1,2,3] and [10,20,30]
    write_npy_f64(&a, &[3, 2], &[1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
    assert_eq!(
        stdout_of(&["convolve", s(&a), "1 1", "--axis", "0"]),
        "1 10\n3 30\n5 50\n3 30\n"
    );
    let out = dir.path().join("o.npy");
    convoy()
        .args(["convolve", s(&a), "1 1", "--axis", "0", "-o", s(&out)])
        .assert()
        .success();
    let (_, shape, values) = read_npy(&out);
    assert_eq!(shape, vec![4, 2]);
    assert_eq!(values, vec![1.0, 10.0, 3.0, 30.0, 5.0, 50.0, 3.0, 30.0]);
}

#[test]
fn wav_inputs_map_pcm_like_libsndfile_and_write_float_wav() {
    let dir = tmp();
    let mono = dir.path().join("m.wav");
    write_wav_i16(&mono, 1, 8000, &[-32768, 16384, 0]);
    assert_eq!(stdout_of(&["convolve", s(&mono), "1"]), "-1 0.5 0\n");
    let stereo = dir.path().join("s.wav");
    write_wav_i16(&stereo, 2, 8000, &[16384, -16384, 8192, 0]);
    assert_eq!(
        stdout_of(&["convolve", s(&stereo), "1 1"]),
        "0.5 -0.5\n0.75 -0.5\n0.25 0\n"
    );

    let out = dir.path().join("o.wav");
    convoy()
        .args(["convolve", s(&stereo), "1 1", "-o", s(&out)])
        .assert()
        .success();
    let mut r = hound::WavReader::open(&out).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 32)
    );
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    let got: Vec<f32> = r.samples::<f32>().map(Result::unwrap).collect();
    assert_eq!(got, vec![0.5, -0.5, 0.75, -0.5, 0.25, 0.0]);
}

#[test]
fn text_and_csv_outputs_match_stdout() {
    let dir = tmp();
    let txt = dir.path().join("o.txt");
    let csv = dir.path().join("o.csv");
    convoy()
        .args(["convolve", "1 2 3", "0 1 0.5", "-o", s(&txt)])
        .assert()
        .success()
        .stdout("");
    convoy()
        .args(["convolve", "1 2 3", "0 1 0.5", "-o", s(&csv)])
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&txt).unwrap(), "0 1 2.5 4 1.5\n");
    assert_eq!(fs::read_to_string(&csv).unwrap(), "0,1,2.5,4,1.5\n");
    // No temporary file is left next to the output.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn correlate_boundary_and_method_flags() {
    assert_eq!(
        stdout_of(&["convolve", "1 2 3", "0 1 0.5", "--correlate"]),
        "0.5 2 3.5 3 0\n"
    );
    assert_eq!(
        stdout_of(&[
            "convolve",
            "1 2",
            "0 1 0.5 2",
            "--correlate",
            "--mode",
            "same"
        ]),
        "4.5 2 2 0\n"
    );
    // np.convolve(np.pad([1,2,3,4], (1,1), 'reflect'), [1,1,1], 'valid') -> [5, 6, 9, 10]
    assert_eq!(
        stdout_of(&["convolve", "1 2 3 4", "1 1 1", "--boundary", "reflect"]),
        "5 6 9 10\n"
    );
    assert_eq!(
        stdout_of(&["convolve", "1 2 3 4", "1 1 1", "--boundary", "symmetric"]),
        "4 6 9 11\n"
    );
    assert_eq!(
        stdout_of(&["convolve", "1 2 3 4", "1 1 1", "--boundary", "wrap"]),
        "7 6 9 8\n"
    );
    assert_eq!(
        stdout_of(&[
            "convolve",
            "1 2 3 4",
            "1 1 1",
            "--boundary",
            "edge",
            "--mode",
            "same"
        ]),
        "4 6 9 11\n"
    );
    assert_eq!(
        stdout_of(&["convolve", "5", "1 1 1", "--boundary", "reflect"]),
        "15\n"
    );
    for method in ["auto", "direct"] {
        assert_eq!(
            stdout_of(&["convolve", "1 2 3", "0 1 0.5", "--method", method]),
            "0 1 2.5 4 1.5\n"
        );
    }
    // FFT: scipy.signal.fftconvolve's numbers, equal to within rounding.
    let fft = stdout_of(&["convolve", "1 2 3", "0 1 0.5", "--method", "fft"]);
    let got: Vec<f64> = fft.split_whitespace().map(|t| t.parse().unwrap()).collect();
    for (g, e) in got.iter().zip([0.0, 1.0, 2.5, 4.0, 1.5]) {
        assert!((g - e).abs() < 1e-14, "{fft}");
    }
    // Integer data is rounded back to the exact integers after an FFT.
    assert_eq!(
        stdout_of(&["convolve", "1 2 3", "4 5 6", "--method", "fft"]),
        "4 13 28 27 18\n"
    );
}

#[test]
fn help_carries_examples() {
    convoy()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    convoy()
        .args(["convolve", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("--boundary")));
}

// ---------------------------------------------------------------- bad input

#[test]
fn empty_inputs() {
    let dir = tmp();
    let empty = file(&dir, "e.txt", "# only a comment\n\n");
    rejects(&["convolve", s(&empty), "1"], &["e.txt", "no numbers"]);
    rejects(&["convolve", "1 2", ""], &["kernel", "no numbers"]);
    fails_with(
        convoy().args(["convolve", "-", "1"]).write_stdin(""),
        &["stdin", "no numbers"],
    );
    let npy = dir.path().join("e.npy");
    write_npy_f64(&npy, &[0], &[]);
    rejects(&["convolve", "1 2", s(&npy)], &["e.npy", "empty"]);
    // numpy's own words ride along, so a search for them finds the same cause (#19 item 10).
    rejects(&["convolve", "1 2", s(&npy)], &["v cannot be empty"]);
    rejects(&["convolve", s(&npy), "1 2"], &["a cannot be empty"]);
    rejects(
        &["convolve", "1 2", s(&npy), "--correlate"],
        &["second array argument cannot be empty"],
    );
    let grid = file(&dir, "g.txt", "1 2\n3 4\n");
    rejects(
        &[
            "convolve",
            s(&grid),
            "1 2 3",
            "--mode",
            "same",
            "--fill",
            "0",
        ],
        &["in1 and in2 should have the same dimensionality"],
    );
}

#[test]
fn non_numeric_tokens_are_named_with_their_position() {
    let dir = tmp();
    rejects(&["convolve", "sig", "1 2 x"], &["sig", "no such file"]);
    rejects(
        &["convolve", "1 2 x", "1"],
        &["\"1 2 x\"", "token 'x' at position 3"],
    );
    let bad = file(&dir, "bad.txt", "1 2\n3 oops\n");
    rejects(
        &["convolve", s(&bad), "1"],
        &["bad.txt", "line 2", "token 'oops' at position 2"],
    );
    let ragged = file(&dir, "rag.csv", "1,2\n3\n");
    rejects(&["convolve", s(&ragged), "1"], &["rag.csv", "line 2"]);
    rejects(&["convolve", "1,,2", "1"], &["empty value at position 2"]);
    fails_with(
        convoy().args(["convolve", "-", "1"]).write_stdin("1\nzz\n"),
        &["stdin", "'zz'"],
    );
}

#[test]
fn unreadable_and_malformed_files() {
    let dir = tmp();
    rejects(
        &["convolve", "missing.txt", "1"],
        &["missing.txt", "no such file"],
    );
    rejects(&["convolve", s(dir.path()), "1"], &["directory"]);
    let fake_wav = file(&dir, "fake.wav", "1 2 3");
    rejects(&["convolve", s(&fake_wav), "1"], &["fake.wav", "not a WAV"]);
    let fake_npy = file(&dir, "fake.npy", "1 2 3");
    rejects(
        &["convolve", s(&fake_npy), "1"],
        &["fake.npy", "not a .npy"],
    );
    let wav = dir.path().join("t.wav");
    write_wav_i16(&wav, 1, 8000, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let bytes = fs::read(&wav).unwrap();
    let truncated = dir.path().join("trunc.wav");
    fs::write(&truncated, &bytes[..30]).unwrap();
    rejects(&["convolve", s(&truncated), "1"], &["trunc.wav"]);
    let binary = dir.path().join("bin.dat");
    fs::write(&binary, [0xff, 0xfe, 0x00, 0x81]).unwrap();
    rejects(&["convolve", s(&binary), "1"], &["bin.dat", "not text"]);
}

#[test]
fn unknown_mode_method_boundary() {
    rejects(
        &["convolve", "1", "1", "--mode", "middle"],
        &[
            "'middle'",
            "acceptable mode flags are 'valid', 'same', or 'full'",
        ],
    );
    rejects(
        &["convolve", "1", "1", "--method", "fast"],
        &["'fast'", "direct"],
    );
    rejects(
        &["convolve", "1", "1", "--boundary", "mirror"],
        &["'mirror'", "reflect"],
    );
    rejects(&["convolve", "1"], &["KERNEL"]);
    rejects(&["convolve", "1", "1", "--bogus"], &["--bogus"]);
}

#[test]
fn conflicting_arguments() {
    rejects(&["convolve", "-", "-"], &["stdin"]);
    rejects(
        &[
            "convolve",
            "1 2 3",
            "1 1",
            "--boundary",
            "wrap",
            "--mode",
            "valid",
        ],
        &["--boundary wrap", "--mode valid"],
    );
    let dir = tmp();
    let a = dir.path().join("a.npy");
    write_npy_f64(&a, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let b = dir.path().join("b.npy");
    write_npy_f64(&b, &[1, 3], &[1.0, 2.0, 3.0]);
    // Column by column (--axis 0), 2 and 3 columns cannot be paired; as 2-D arrays they
    // convolve (scipy.signal.convolve2d), and a 2-D signal with a 1-D kernel is an error.
    rejects(
        &["convolve", s(&a), s(&b), "--axis", "0"],
        &["(2, 2)", "(1, 3)"],
    );
    assert_eq!(
        stdout_of(&["convolve", s(&a), s(&b)]),
        "1 4 7 6\n3 10 17 12\n"
    );
    rejects(&["convolve", s(&a), "1 1"], &["2-D", "1-D", "--axis 0"]);
    let w1 = dir.path().join("a.wav");
    let w2 = dir.path().join("b.wav");
    write_wav_i16(&w1, 1, 48000, &[1, 2]);
    write_wav_i16(&w2, 1, 44100, &[1, 2]);
    rejects(&["convolve", s(&w1), s(&w2)], &["44100 Hz", "48000 Hz"]);
}

#[test]
fn bad_outputs_leave_nothing_behind_and_never_clobber_an_input() {
    let dir = tmp();
    let sig = file(&dir, "sig.txt", "1 2 3\n");
    rejects(
        &[
            "convolve",
            s(&sig),
            "1",
            "-o",
            s(&dir.path().join("nodir/out.txt")),
        ],
        &["nodir", "does not exist"],
    );
    rejects(
        &[
            "convolve",
            s(&sig),
            "1",
            "-o",
            s(&dir.path().join("out.mp3")),
        ],
        &["out.mp3", ".npy"],
    );
    // The output is the input, however it is spelled.
    let dotted = format!("{}/./sig.txt", dir.path().display());
    rejects(
        &["convolve", s(&sig), "1", "-o", &dotted],
        &["same file", "sig.txt"],
    );
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&sig, &link).unwrap();
    rejects(&["convolve", s(&sig), "2", "-o", s(&link)], &["same file"]);
    assert_eq!(fs::read_to_string(&sig).unwrap(), "1 2 3\n");

    // A failing run leaves an existing output intact.
    let out = file(&dir, "out.txt", "precious\n");
    rejects(&["convolve", "1 x", "1", "-o", s(&out)], &["'x'"]);
    assert_eq!(fs::read_to_string(&out).unwrap(), "precious\n");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "only sig.txt, link.txt and out.txt: {names:?}"
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("convoy");
    let dir = tmp();
    let big = dir.path().join("big.txt");
    let text: String = (0..200_000).map(|i| format!("{}\n", i % 97)).collect();
    fs::write(&big, text).unwrap();
    let mut child = Std::new(bin)
        .args(["convolve", s(&big), "1 2 3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn parallel_columns_match_single_column_runs() {
    // Big enough that the columns are spread over threads.
    let dir = tmp();
    let rows = 20_000usize;
    let data: Vec<f64> = (0..rows * 2)
        .map(|i| ((i * 7919 % 1013) as f64) / 500.0 - 1.0)
        .collect();
    let both = dir.path().join("both.npy");
    write_npy_f64(&both, &[rows as u64, 2], &data);
    let kernel: Vec<f64> = (0..300).map(|i| ((i * 31 % 97) as f64) / 97.0).collect();
    let ker = dir.path().join("k.npy");
    write_npy_f64(&ker, &[300], &kernel);
    let out = dir.path().join("out.npy");
    convoy()
        .args(["convolve", s(&both), s(&ker), "--axis", "0", "-o", s(&out)])
        .assert()
        .success();
    let (_, shape, values) = read_npy(&out);
    assert_eq!(shape, vec![(rows + 299) as u64, 2]);
    for c in 0..2 {
        let col: Vec<f64> = (0..rows).map(|r| data[r * 2 + c]).collect();
        let single = dir.path().join(format!("c{c}.npy"));
        write_npy_f64(&single, &[rows as u64], &col);
        let one = dir.path().join(format!("o{c}.npy"));
        convoy()
            .args(["convolve", s(&single), s(&ker), "-o", s(&one)])
            .assert()
            .success();
        let (_, _, expected) = read_npy(&one);
        let got: Vec<f64> = (0..rows + 299).map(|r| values[r * 2 + c]).collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn bench_reports_json_and_rejects_bad_arguments() {
    let out = stdout_of(&[
        "bench",
        "--kernel-len",
        "4096",
        "--block",
        "64",
        "--channels",
        "2",
        "--seconds",
        "0.5",
        "--json",
    ]);
    assert_eq!(out.lines().count(), 1, "{out}");
    for key in [
        "\"realtime_factor\":",
        "\"cpu_percent\":",
        "\"latency_samples\":64",
        "\"period_ms\":",
        "\"block_ms_median\":",
        "\"block_ms_p99\":",
        "\"block_ms_max\":",
        "\"deadline_misses\":0",
        "\"kernel_len\":4096",
        "\"block\":64",
        "\"channels\":2",
        "\"engine\":",
    ] {
        assert!(out.contains(key), "{key} missing from {out}");
    }
    rejects(&["bench", "--block", "100"], &["--block", "power of two"]);
    rejects(&["bench", "--kernel-len", "0"], &["--kernel-len"]);
    rejects(&["bench", "--channels", "0"], &["--channels"]);
    rejects(&["bench", "--seconds=-1"], &["--seconds"]);
    rejects(&["bench", "--seconds", "0"], &["--seconds"]);
    rejects(&["bench", "--engine", "magic"], &["'magic'"]);
}

/// Issue 19 item 3: `--semantics scipy` gives scipy.signal.convolve / correlate's 1-D answers
/// (tests/data/semantics_cases.txt: `same` as long as the signal even for a longer kernel),
/// numpy stays the default, and `--semantics convolve2d` takes 2-D inputs only.
#[test]
fn semantics_scipy_follows_scipy_signal_in_one_dimension() {
    let text = include_str!("data/semantics_cases.txt");
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut cases = 0;
    let list =
        |l: &str, tag: &str| -> String { l.strip_prefix(tag).unwrap().trim().replace(' ', ",") };
    while let Some(head) = lines.next() {
        let f: Vec<&str> = head.split_whitespace().collect();
        let (op, mode) = (f[1], f[2]);
        let x = list(lines.next().unwrap(), "x ");
        let h = list(lines.next().unwrap(), "h ");
        let want: Vec<f64> = lines
            .next()
            .unwrap()
            .strip_prefix("y ")
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let mut args = vec!["convolve", &x, &h, "--mode", mode, "--semantics", "scipy"];
        if op == "correlate" {
            args.push("--correlate");
        }
        let out = convoy().args(&args).assert().success().get_output().clone();
        let got: Vec<f64> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{head} x={x} h={h}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-12,
                "{head} x={x} h={h}: {got:?} vs {want:?}"
            );
        }
        cases += 1;
    }
    assert_eq!(cases, 54);
    // numpy's rules stay the default: 'same' as long as the longer input.
    let out = convoy()
        .args(["convolve", "1 2 3", "0 1 0.5 2 -1", "--mode", "same"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "1 2.5 6 4.5 4"
    );
    rejects(
        &["convolve", "1 2 3", "1 1", "--semantics", "convolve2d"],
        &["convolve2d inputs must both be 2-D arrays"],
    );
}
