//! `convoy run` end to end: outputs compared with a brute-force np.convolve computed here, for
//! mono/stereo, 16/24/float WAVs, block sizes, kernels shorter and longer than the block,
//! stdin/stdout in every format, a two-process pipe, bad input, and SIGINT mid-stream.

mod common;

use common::cmd as convoy;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use common::{Rng, read_wav, write_wav};
use tempfile::TempDir;

/// Runs to a successful exit and hands back what it printed.
trait Succeeds {
    fn succeeds(&mut self) -> std::process::Output;
}

impl Succeeds for Command {
    fn succeeds(&mut self) -> std::process::Output {
        self.assert().success().get_output().clone()
    }
}

/// np.convolve(x, k, mode) by the definition.
/// np.convolve(x, k, mode) for mode "full", "same" or "valid", by the definition.
fn np_convolve(x: &[f64], k: &[f64], mode: &str) -> Vec<f64> {
    let (n, m) = (x.len(), k.len());
    let mut full = vec![0.0; n + m - 1];
    for (i, &xi) in x.iter().enumerate() {
        for (j, &kj) in k.iter().enumerate() {
            full[i + j] += xi * kj;
        }
    }
    let (short, long) = (n.min(m), n.max(m));
    let (len, start) = match mode {
        "full" => return full,
        "same" => (long, (short - 1) / 2),
        "valid" => (long - short + 1, short - 1),
        _ => panic!("mode {mode}"),
    };
    full[start..start + len].to_vec()
}

fn signal(rng: &mut Rng, frames: usize, channels: usize) -> Vec<Vec<f64>> {
    (0..channels)
        .map(|_| (0..frames).map(|_| 0.4 * rng.next()).collect())
        .collect()
}

/// Writes planar `data` as a WAV with `bits` (16, 24 int; 32 float); returns what a reader
/// gets back (quantized values).
fn assert_close(got: &[Vec<f64>], want: &[Vec<f64>], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: channels");
    let peak = want
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(1e-12);
    for (c, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: length of channel {c}");
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() <= tol * peak,
                "{what}: channel {c} frame {i}: {a} vs {b}"
            );
        }
    }
}

fn p(dir: &TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn stages_match_np_convolve_across_blocks_formats_and_channels() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(0x5EED);
    // A 300-tap kernel (longer than blocks 1, 64, 100) from a text file, and short ones.
    let long: Vec<f64> = (0..300)
        .map(|i| rng.next() * (-(i as f64) / 80.0).exp())
        .collect();
    let ktxt = p(&dir, "k.txt");
    fs::write(
        &ktxt,
        long.iter()
            .map(|v| format!("{v:.17e}\n"))
            .collect::<String>(),
    )
    .unwrap();
    for &(channels, bits) in &[(1usize, 16u16), (2, 24), (2, 32)] {
        let input = p(&dir, &format!("in{channels}_{bits}.wav"));
        let x = write_wav(
            &input,
            &signal(&mut rng, 1500, channels),
            48_000,
            bits,
            bits == 32,
        );
        for block in ["", "1", "64", "100", "4096"] {
            for (stage, kernel, mode) in [
                ("ma:3".to_string(), vec![1.0 / 3.0; 3], "same"),
                ("ma:3,mode=valid".to_string(), vec![1.0 / 3.0; 3], "valid"),
                (
                    "taps:0.2,0.6,0.2,mode=full".into(),
                    vec![0.2, 0.6, 0.2],
                    "full",
                ),
                (
                    format!("taps:@{},mode=full", s(&ktxt)),
                    long.clone(),
                    "full",
                ),
                (format!("taps:@{}", s(&ktxt)), long.clone(), "same"),
                (
                    format!("taps:@{},mode=valid", s(&ktxt)),
                    long.clone(),
                    "valid",
                ),
            ] {
                let out = p(&dir, "out.wav");
                let mut cmd = convoy();
                cmd.args(["run", "-q", "-i", s(&input), "-o", s(&out), "--bits", "f32"]);
                if !block.is_empty() {
                    cmd.args(["--block", block]);
                }
                cmd.arg(&stage).assert().success();
                let (spec, y) = read_wav(&out);
                assert_eq!(spec.sample_rate, 48_000);
                let want: Vec<Vec<f64>> = x.iter().map(|c| np_convolve(c, &kernel, mode)).collect();
                assert_close(
                    &y,
                    &want,
                    1e-5,
                    &format!("{stage} block {block} {channels}ch {bits}-bit"),
                );
            }
        }
    }
}

#[test]
fn a_chain_of_same_stages_equals_the_stages_one_after_another_even_when_fused() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(7);
    let input = p(&dir, "in.wav");
    for frames in [5usize, 40, 3000] {
        let x = write_wav(&input, &signal(&mut rng, frames, 2), 8000, 32, 32 == 32);
        let out = p(&dir, "out.wav");
        convoy()
            .args(["run", "-q", "-i", s(&input), "-o", s(&out), "--block", "32"])
            .args([
                "ma:9",
                "taps:0.25,0.5,0.25,mode=valid",
                "ma:4",
                "ma:17,mode=full",
                "ma:2",
            ])
            .assert()
            .success();
        let (_, y) = read_wav(&out);
        let kernels: [(Vec<f64>, &str); 5] = [
            (vec![1.0 / 9.0; 9], "same"),
            (vec![0.25, 0.5, 0.25], "valid"),
            (vec![0.25; 4], "same"),
            (vec![1.0 / 17.0; 17], "full"),
            (vec![0.5; 2], "same"),
        ];
        let want: Vec<Vec<f64>> = x
            .iter()
            .map(|c| {
                kernels
                    .iter()
                    .fold(c.clone(), |a, (k, mode)| np_convolve(&a, k, mode))
            })
            .collect();
        assert_close(&y, &want, 1e-5, &format!("{frames} frames"));
    }
    // --explain says they were fused into one convolution.
    let text = String::from_utf8(
        convoy()
            .args([
                "run",
                "-i",
                s(&input),
                "--explain",
                "ma:9",
                "taps:0.25,0.5,0.25",
                "ma:4",
            ])
            .succeeds()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("fused 3 stages into one 14-tap convolution"),
        "{text}"
    );
}

#[test]
fn fir_routes_mono_per_channel_and_true_stereo_irs_and_applies_options() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(99);
    let input = p(&dir, "in.wav");
    let x = write_wav(&input, &signal(&mut rng, 2000, 2), 44_100, 32, 32 == 32);
    let ir = |n: usize, rng: &mut Rng| -> Vec<f64> { (0..n).map(|_| rng.next() * 0.5).collect() };
    // mono IR, gain and wet/dry
    let mono = ir(700, &mut rng);
    let mono_path = p(&dir, "mono.wav");
    let mono = write_wav(&mono_path, &[mono], 44_100, 32, 32 == 32).remove(0);
    let out = p(&dir, "o.wav");
    convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out)])
        .arg(format!(
            "fir:{},mode=full,gain=-6db,wet=0.5,dry=0.25",
            s(&mono_path)
        ))
        .assert()
        .success();
    let g = 10f64.powf(-6.0 / 20.0) * 0.5;
    let mut k: Vec<f64> = mono.iter().map(|v| v * g).collect();
    k[0] += 0.25;
    let want: Vec<Vec<f64>> = x.iter().map(|c| np_convolve(c, &k, "full")).collect();
    assert_close(&read_wav(&out).1, &want, 1e-5, "mono IR");
    // true stereo: LL, LR, RL, RR
    let irs: Vec<Vec<f64>> = (0..4).map(|_| ir(300, &mut rng)).collect();
    let ts = p(&dir, "ts.wav");
    let irs = write_wav(&ts, &irs, 44_100, 32, 32 == 32);
    convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out), "--block", "64"])
        .arg(format!("fir:{},mode=full", s(&ts)))
        .assert()
        .success();
    let add = |a: Vec<f64>, b: Vec<f64>| a.iter().zip(&b).map(|(p, q)| p + q).collect::<Vec<_>>();
    let want = vec![
        add(
            np_convolve(&x[0], &irs[0], "full"),
            np_convolve(&x[1], &irs[2], "full"),
        ),
        add(
            np_convolve(&x[0], &irs[1], "full"),
            np_convolve(&x[1], &irs[3], "full"),
        ),
    ];
    assert_close(&read_wav(&out).1, &want, 1e-5, "true stereo");
    // normalize=peak prints the gain it applied
    let err = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out)])
        .arg(format!("fir:{},normalize=peak", s(&mono_path)))
        .succeeds()
        .stderr;
    assert!(
        String::from_utf8(err)
            .unwrap()
            .contains("normalize=peak scales the IR")
    );
}

#[test]
fn stdin_and_stdout_in_every_format_and_a_two_process_pipe() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(3);
    let input = p(&dir, "in.wav");
    let x = write_wav(&input, &signal(&mut rng, 1000, 2), 48_000, 32, 32 == 32);
    let k = vec![0.2, 0.6, 0.2];
    let want: Vec<Vec<f64>> = x.iter().map(|c| np_convolve(c, &k, "same")).collect();
    let wav_bytes = fs::read(&input).unwrap();
    // WAV in on stdin, WAV out on stdout (streaming header, 32-bit float).
    let out = convoy()
        .args(["run", "-q", "-i", "-", "-o", "-", "taps:0.2,0.6,0.2"])
        .write_stdin(wav_bytes.clone())
        .succeeds()
        .stdout;
    assert_eq!(&out[4..8], &[0xFF; 4], "streaming RIFF size");
    let piped = p(&dir, "piped.wav");
    // hound needs real sizes; a second convoy reads the stream and writes a file.
    convoy()
        .args(["run", "-q", "-i", "-", "-o", s(&piped)])
        .write_stdin(out)
        .assert()
        .success();
    assert_close(&read_wav(&piped).1, &want, 1e-5, "wav pipe");
    // raw f32le both ways
    let raw: Vec<u8> = (0..1000)
        .flat_map(|i| [x[0][i] as f32, x[1][i] as f32])
        .flat_map(f32::to_le_bytes)
        .collect();
    let out = convoy()
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "--in-format",
            "f32le",
            "--rate",
            "48000",
            "--channels",
            "2",
        ])
        .args(["-o", "-", "--out-format", "f32le", "taps:0.2,0.6,0.2"])
        .write_stdin(raw)
        .succeeds()
        .stdout;
    let vals: Vec<f64> = out
        .chunks(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    let got = vec![
        vals.iter().step_by(2).copied().collect::<Vec<_>>(),
        vals.iter().skip(1).step_by(2).copied().collect(),
    ];
    assert_close(&got, &want, 1e-5, "f32le");
    // s16le out: quantized (dithered) to 16 bits
    let out = convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&input),
            "-o",
            "-",
            "--out-format",
            "s16le",
            "taps:0.2,0.6,0.2",
        ])
        .succeeds()
        .stdout;
    assert_eq!(out.len(), 1000 * 2 * 2);
    let first = f64::from(i16::from_le_bytes([out[0], out[1]])) / 32768.0;
    assert!((first - want[0][0]).abs() < 3.0 / 32768.0);
    // text in and out, one frame per line
    let text: String = (0..1000)
        .map(|i| format!("{} {}\n", x[0][i], x[1][i]))
        .collect();
    let out = convoy()
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "-o",
            "-",
            "--out-format",
            "text",
            "taps:0.2,0.6,0.2",
        ])
        .write_stdin(text)
        .succeeds()
        .stdout;
    let lines: Vec<Vec<f64>> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| l.split(' ').map(|t| t.parse().unwrap()).collect())
        .collect();
    let got = vec![
        lines.iter().map(|l| l[0]).collect::<Vec<_>>(),
        lines.iter().map(|l| l[1]).collect(),
    ];
    assert_close(&got, &want, 1e-5, "text");
    // Two processes equal one (within f32 rounding: the one-process chain is fused).
    let one = p(&dir, "one.wav");
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&input),
            "-o",
            s(&one),
            "ma:5",
            "lowpass:5000",
        ])
        .assert()
        .success();
    let mid = convoy()
        .args(["run", "-q", "-i", s(&input), "-o", "-", "ma:5"])
        .succeeds()
        .stdout;
    let two = p(&dir, "two.wav");
    convoy()
        .args(["run", "-q", "-i", "-", "-o", s(&two), "lowpass:5000"])
        .write_stdin(mid)
        .assert()
        .success();
    assert_close(
        &read_wav(&two).1,
        &read_wav(&one).1,
        1e-6,
        "pipe vs one process",
    );
}

#[test]
fn output_depth_follows_the_input_and_bits_overrides_it() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(11);
    let input = p(&dir, "in.wav");
    write_wav(&input, &signal(&mut rng, 500, 1), 16_000, 16, 16 == 32);
    let out = p(&dir, "o.wav");
    convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out), "ma:3"])
        .assert()
        .success();
    assert_eq!(read_wav(&out).0.bits_per_sample, 16);
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--bits",
            "24",
            "ma:3",
        ])
        .assert()
        .success();
    assert_eq!(read_wav(&out).0.bits_per_sample, 24);
    // Clipping is counted in the summary.
    let err = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out), "gain:40db"])
        .succeeds()
        .stderr;
    let err = String::from_utf8(err).unwrap();
    assert!(!err.contains(" 0 clipped"), "{err}");
}

/// One line on stderr, exit 2, no output file, an existing output untouched.
fn rejects(dir: &TempDir, args: &[&str], needles: &[&str]) {
    let out = p(dir, "existing.wav");
    fs::write(&out, b"keep me").unwrap();
    let mut cmd = convoy();
    cmd.args(["run", "-o", s(&out)]).args(args);
    let res = cmd.assert().code(2).get_output().clone();
    let err = String::from_utf8(res.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{n}' missing from {err}");
    }
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn bad_input_is_one_clear_line_and_leaves_no_file() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(5);
    let input = p(&dir, "in.wav");
    write_wav(&input, &signal(&mut rng, 400, 2), 48_000, 16, 16 == 32);
    let ir44 = p(&dir, "ir44.wav");
    write_wav(&ir44, &[vec![0.5, 0.25]], 44_100, 32, 32 == 32);
    let ir3 = p(&dir, "ir3.wav");
    write_wav(
        &ir3,
        &[vec![1.0], vec![1.0], vec![1.0]],
        48_000,
        32,
        32 == 32,
    );
    let irnan = p(&dir, "irnan.wav");
    write_wav(&irnan, &[vec![1.0, f64::NAN]], 48_000, 32, 32 == 32);
    let trunc = p(&dir, "trunc.wav");
    let bytes = fs::read(&input).unwrap();
    fs::write(&trunc, &bytes[..bytes.len() / 2]).unwrap();
    let text = p(&dir, "notwav.wav");
    fs::write(&text, [0u8, 1, 2, 3, 200, 201]).unwrap();
    let i = s(&input);
    rejects(
        &dir,
        &["-i", i, "ma:-3"],
        &["bad stage 'ma:-3'", "at least 1"],
    );
    rejects(&dir, &["-i", i, "ma:0"], &["'ma:0'"]);
    rejects(&dir, &["-i", i, "ma:x"], &["'ma:x'", "not a number"]);
    rejects(&dir, &["-i", i, "lowpas:1000"], &["did you mean 'lowpass'"]);
    rejects(&dir, &["-i", i, ":3"], &["bad stage ':3'", "no stage name"]);
    rejects(
        &dir,
        &["-i", i, "savgol:5,5"],
        &["'savgol:5,5'", "less than the window"],
    );
    rejects(
        &dir,
        &["-i", i, "gain:abc"],
        &["'gain:abc'", "not a number"],
    );
    rejects(
        &dir,
        &["-i", i, "lowpass:24000"],
        &["'lowpass:24000'", "Nyquist"],
    );
    rejects(&dir, &["-i", i, "lowpass:-5"], &["'lowpass:-5'"]);
    rejects(
        &dir,
        &["-i", i, "bandpass:3000,300"],
        &["'bandpass:3000,300'", "below"],
    );
    rejects(&dir, &["-i", i, "ma:200000000"], &["2^22"]);
    rejects(
        &dir,
        &["-i", i, "ma:3,mode=middle"],
        &["mode 'middle' is not full, same or valid"],
    );
    rejects(&dir, &["-i", i, "ma:3,foo=1"], &["unknown option 'foo'"]);
    rejects(
        &dir,
        &["-i", i, &format!("fir:{}", s(&ir44))],
        &["44100 Hz but the input is 48000 Hz"],
    );
    rejects(
        &dir,
        &["-i", i, &format!("fir:{}", s(&ir3))],
        &["3 channels", "input has 2"],
    );
    rejects(
        &dir,
        &["-i", i, &format!("fir:{}", s(&irnan))],
        &["irnan.wav", "non-finite"],
    );
    rejects(&dir, &["-i", i, "fir:/nonexistent/ir.wav"], &["ir.wav"]);
    rejects(
        &dir,
        &["-i", s(&trunc), "ma:3"],
        &["trunc.wav", "truncated"],
    );
    rejects(
        &dir,
        &["-i", s(&text), "ma:3"],
        &["notwav.wav", "not a WAV"],
    );
    rejects(
        &dir,
        &["-i", "/nonexistent.wav", "ma:3"],
        &["/nonexistent.wav"],
    );
    rejects(&dir, &["-i", i, "--block", "0", "ma:3"], &["--block"]);
    rejects(
        &dir,
        &["-i", i, "--in-format", "f32le", "ma:3"],
        &["--rate and --channels"],
    );
    // The output is an input, however spelled.
    let out = convoy()
        .current_dir(dir.path())
        .args(["run", "-i", "in.wav", "-o", "./in.wav", "ma:3"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("same file as input")
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&input, p(&dir, "link.wav")).unwrap();
        convoy()
            .args(["run", "-i", i, "-o", s(&p(&dir, "link.wav")), "ma:3"])
            .assert()
            .code(2);
    }
    assert_eq!(fs::read(&input).unwrap(), bytes);
    convoy()
        .args(["run", "-i", i, "-o", s(&p(&dir, "no/such/dir.wav")), "ma:3"])
        .assert()
        .code(2);
}

#[cfg(unix)]
#[test]
fn sigint_mid_stream_finishes_a_valid_file_with_every_frame_that_came_in() {
    let dir = TempDir::new().unwrap();
    let out = p(&dir, "out.wav");
    let bin = common::bin();
    let mut child = std::process::Command::new(bin)
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "-o",
            s(&out),
            "taps:1,0.5,mode=full",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A streaming WAV header (unknown length), then 1000 mono f32 frames, slowly.
    let mut header = Vec::new();
    header.extend_from_slice(b"RIFF\xff\xff\xff\xffWAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&3u16.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&8000u32.to_le_bytes());
    header.extend_from_slice(&32000u32.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&32u16.to_le_bytes());
    header.extend_from_slice(b"data\xff\xff\xff\xff");
    stdin.write_all(&header).unwrap();
    for chunk in 0..4 {
        let frames: Vec<u8> = (0..250)
            .flat_map(|i| ((chunk * 250 + i) as f32 / 1000.0).to_le_bytes())
            .collect();
        stdin.write_all(&frames).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Give the reader time to take everything in, then interrupt with stdin still open.
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: sending a signal to our own child process by its pid.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    drop(stdin);
    assert!(status.success(), "{status:?}");
    let (_, y) = read_wav(&out);
    let x: Vec<f64> = (0..1000).map(|i| f64::from(i as f32 / 1000.0)).collect();
    let want = np_convolve(&x, &[1.0, 0.5], "full");
    assert_close(&y, &[want], 1e-6, "interrupted run");
}

#[test]
fn chain_files_delays_resampled_irs_and_a_closed_stdout() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(21);
    let input = p(&dir, "in.wav");
    let x = write_wav(&input, &signal(&mut rng, 800, 1), 48_000, 32, 32 == 32);
    // --chain FILE: one stage per line, comments, then the command line's stages.
    let chain = p(&dir, "chain.txt");
    fs::write(&chain, "# smoothing\nma:3   # boxcar\n\ndelay:2\n").unwrap();
    let out = p(&dir, "o.wav");
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&input),
            "-o",
            s(&out),
            "--chain",
            s(&chain),
            "gain:0.5",
        ])
        .assert()
        .success();
    let smoothed = np_convolve(&x[0], &[1.0 / 3.0; 3], "same");
    let delayed = np_convolve(&smoothed, &[0.0, 0.0, 1.0], "full");
    let want: Vec<f64> = delayed.iter().map(|v| v * 0.5).collect();
    assert_close(
        &read_wav(&out).1,
        &[want],
        1e-5,
        "chain file + delay + gain",
    );
    // delay:1ms at 48 kHz = 48 samples, frames added at the end.
    convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out), "delay:1ms"])
        .assert()
        .success();
    assert_eq!(read_wav(&out).1[0].len(), 800 + 48);
    // An IR at another rate: refused, unless resample=yes (which says what it did).
    let ir = p(&dir, "ir44.wav");
    write_wav(&ir, &[vec![1.0, 0.5, 0.25]], 44_100, 32, 32 == 32);
    let err = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out)])
        .arg(format!("fir:{},resample=yes", s(&ir)))
        .succeeds()
        .stderr;
    assert!(String::from_utf8(err).unwrap().contains("resampled"));
    // A reader that stops early (EPIPE) ends the run quietly, status 0.
    let bin = common::bin();
    let mut child = std::process::Command::new(bin)
        .args(["run", "-q", "-i", s(&input), "-o", "-", "ma:3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let res = child.wait_with_output().unwrap();
    assert!(res.status.success());
    assert!(
        res.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
}

/// A 64-bit float WAV (WAVE_FORMAT_IEEE_FLOAT, 8-byte samples), written by hand: hound writes
/// no such files, and IRs from scipy/soundfile often are.
fn write_f64_wav(path: &Path, data: &[f64], rate: u32) {
    let bytes = (data.len() * 8) as u32;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + bytes).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&3u16.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * 8).to_le_bytes());
    v.extend_from_slice(&8u16.to_le_bytes());
    v.extend_from_slice(&64u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&bytes.to_le_bytes());
    for x in data {
        v.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, v).unwrap();
}

#[test]
fn irs_in_every_wav_format_the_input_accepts_and_options_after_the_stages() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(7);
    let input = p(&dir, "in.wav");
    let x = write_wav(&input, &signal(&mut rng, 3000, 1), 48_000, 32, 32 == 32);
    let k: Vec<f64> = (0..500).map(|_| rng.next() * 0.5).collect();
    let out = p(&dir, "o.wav");
    // 64-bit float: used at f32 precision, like every kernel the engine runs.
    let f64_ir = p(&dir, "ir64.wav");
    write_f64_wav(&f64_ir, &k, 48_000);
    convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out)])
        .arg(format!("fir:{},mode=full", s(&f64_ir)))
        .assert()
        .success();
    let k32: Vec<f64> = k.iter().map(|&v| f64::from(v as f32)).collect();
    assert_close(
        &read_wav(&out).1,
        &[np_convolve(&x[0], &k32, "full")],
        1e-5,
        "64-bit float IR",
    );
    // 8- and 24-bit integer IRs map as v / 2^(bits-1).
    for bits in [8u16, 24] {
        let ir = p(&dir, &format!("ir{bits}.wav"));
        let kq = write_wav(&ir, std::slice::from_ref(&k), 48_000, bits, bits == 32).remove(0);
        convoy()
            .args(["run", "-q", "-i", s(&input), "-o", s(&out)])
            .arg(format!("fir:{},mode=full", s(&ir)))
            .assert()
            .success();
        assert_close(
            &read_wav(&out).1,
            &[np_convolve(&x[0], &kq, "full")],
            1e-5,
            &format!("{bits}-bit IR"),
        );
    }
    // Options may follow the stage words, as with sox effects.
    let text = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out), "ma:5", "--explain"])
        .succeeds()
        .stdout;
    assert!(String::from_utf8(text).unwrap().contains("ma:5"));
}
