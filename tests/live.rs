#![cfg(feature = "device")]
//! The live path through real cpal and the real ALSA library, with no sound hardware: ALSA
//! `file` PCMs (tests/live/asound-file.conf) capture from a prepared raw file and play into
//! one. They are not paced, so every run stops on a frame count (`--duration`).

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

#[path = "live/common.rs"]
mod common;
use common::{RATE, noise, read_wav, write_wav};

fn convoy(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("convoy").unwrap();
    cmd.env_remove("RUST_BACKTRACE")
        .env(
            "ALSA_CONFIG_PATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/asound-file.conf"),
        )
        .env("LIVE_IN_FILE", dir.join("in.raw"))
        .env("LIVE_OUT_FILE", dir.join("out.raw"));
    cmd
}

fn write_raw(path: &Path, x: &[f32]) {
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(path, bytes).unwrap();
}

/// What the speaker file PCM received: 16-bit samples, as f64.
fn played(dir: &Path) -> Vec<f64> {
    fs::read(dir.join("out.raw"))
        .unwrap()
        .chunks_exact(2)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
        .collect()
}

#[test]
fn capture_through_ma31_equals_the_offline_run_exactly() {
    let dir = TempDir::new().unwrap();
    let frames = RATE / 2;
    // The capture PCM repeats its last period forever at the end of the file: give it more
    // than is read.
    let x = noise(frames + 8192, 0x9E37_79B9_7F4A_7C15);
    write_raw(&dir.path().join("in.raw"), &x);
    let live = dir.path().join("live.wav");
    let out = convoy(dir.path())
        .args([
            "run",
            "-i",
            "mic:test_in",
            "--channels",
            "1",
            "--rate",
            "48000",
        ])
        .args([
            "-o",
            live.to_str().unwrap(),
            "--duration",
            "0.5s",
            "--block",
            "100",
            "--plot",
            dir.path().join("live.png").to_str().unwrap(),
        ])
        .arg("ma:31")
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("input 'test_in'"), "{err}");
    assert!(err.contains("24000 frames in"), "{err}");
    // The same samples offline, through a WAV.
    let src = dir.path().join("src.wav");
    write_wav(&src, &x[..frames]);
    let offline = dir.path().join("offline.wav");
    convoy(dir.path())
        .args([
            "run",
            "-q",
            "-i",
            src.to_str().unwrap(),
            "-o",
            offline.to_str().unwrap(),
        ])
        .arg("ma:31")
        .assert()
        .success();
    let (a, b) = (read_wav(&live), read_wav(&offline));
    assert_eq!(a.len(), frames, "ma:31 is 'same' by default: N frames");
    assert_eq!(a, b, "mic -> WAV must equal the offline run bit for bit");
    let png = fs::read(dir.path().join("live.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "--plot drew the recording");
    // And both are np.convolve(x, ones(31)/31, 'same').
    for j in [0usize, 15, 1000, frames - 1] {
        let want: f64 = (0..31)
            .filter_map(|k| (j + 15).checked_sub(k).filter(|&i| i < frames))
            .map(|i| f64::from(x[i]) / 31.0)
            .sum();
        assert!((f64::from(a[j]) - want).abs() < 1e-6, "frame {j}");
    }
}

#[test]
fn playback_through_a_chain_lands_in_the_file_pcm() {
    let dir = TempDir::new().unwrap();
    let frames = RATE / 4;
    let x = noise(frames, 0x9E37_79B9_7F4A_7C15);
    let src = dir.path().join("src.wav");
    write_wav(&src, &x);
    // The file PCM is not paced: a cushion holding the whole result means the device never
    // waits for the chain.
    convoy(dir.path())
        .args([
            "run",
            "-q",
            "-i",
            src.to_str().unwrap(),
            "-o",
            "speakers:test_out",
        ])
        .args(["--latency", "1000", "--block", "64"])
        .args(["gain:0.5", "ma:9"])
        .assert()
        .success();
    let y = played(dir.path());
    // Live output is the causal filter: full convolution, kernel tail included.
    let full = frames + 8;
    assert!(y.len() >= full, "only {} frames played", y.len());
    for (j, got) in y.iter().enumerate().take(full) {
        let want: f64 = (0..9)
            .filter_map(|k| j.checked_sub(k).filter(|&i| i < frames))
            .map(|i| 0.5 * f64::from(x[i]) / 9.0)
            .sum();
        // The plug PCM converts to 16-bit: one LSB.
        assert!(
            (got - want).abs() <= 1.5 / 32768.0,
            "frame {j}: {got} vs {want}"
        );
    }
    assert!(
        y[full..].iter().all(|&v| v == 0.0),
        "silence after the tail"
    );
}

#[test]
fn a_44_1_khz_file_resampled_to_the_48_khz_speakers_is_a_clean_tone() {
    let dir = TempDir::new().unwrap();
    let frames = 44_100 / 2;
    let src = dir.path().join("src.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&src, spec).unwrap();
    for i in 0..frames {
        let t = i as f64 / 44_100.0;
        w.write_sample((0.5 * (2.0 * std::f64::consts::PI * 997.0 * t).sin()) as f32)
            .unwrap();
    }
    w.finalize().unwrap();
    let out = convoy(dir.path())
        .args([
            "run",
            "-i",
            src.to_str().unwrap(),
            "-o",
            "speakers:test_out",
        ])
        .args(["--latency", "1000", "--block", "64", "resample:48k"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("48000 Hz"),
        "the speakers run at the new rate: {err}"
    );
    let y = played(dir.path());
    // ceil(N * 48000 / 44100) frames, and a little silence around them.
    assert!(y.len() >= 24_000, "only {} frames played", y.len());
    // The tone at 48 kHz, fitted (its phase is the resampler's delay): what is left is the
    // 16-bit file PCM's rounding, -92 dB under this tone.
    let m = &y[6_000..18_000];
    let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let w = |k: usize| 2.0 * std::f64::consts::PI * 997.0 * (6_000 + k) as f64 / 48_000.0;
    for (k, &v) in m.iter().enumerate() {
        let (sn, cs) = w(k).sin_cos();
        ss += sn * sn;
        cc += cs * cs;
        sc += sn * cs;
        ys += v * sn;
        yc += v * cs;
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((ys * cc - yc * sc) / det, (yc * ss - ys * sc) / det);
    let rest = m
        .iter()
        .enumerate()
        .map(|(k, v)| (v - a * w(k).sin() - b * w(k).cos()).powi(2))
        .sum::<f64>()
        / m.len() as f64;
    let level = 10.0 * (rest / 0.125).log10();
    assert!(level < -85.0, "THD+N {level:.1} dB");
    assert!((a.hypot(b) - 0.5).abs() < 1e-3, "amplitude {}", a.hypot(b));
}

#[test]
fn denoise_to_the_speakers_is_the_offline_result_delayed_by_its_latency() {
    let dir = TempDir::new().unwrap();
    let frames = RATE / 2;
    // Noise with a louder burst in the middle: something to keep and something to remove.
    let x: Vec<f32> = noise(frames, 0x5151_2026)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if (frames / 3..frames / 2).contains(&i) {
                *v
            } else {
                0.1 * v
            }
        })
        .collect();
    let src = dir.path().join("src.wav");
    write_wav(&src, &x);
    let stage = "denoise,model=spectral,frame=1024,lookahead=1";
    let latency = 1023 + 256;
    convoy(dir.path())
        .args([
            "run",
            "-q",
            "-i",
            src.to_str().unwrap(),
            "-o",
            "speakers:test_out",
        ])
        .args(["--latency", "2000", "--block", "64", stage])
        .assert()
        .success();
    let offline = dir.path().join("offline.wav");
    convoy(dir.path())
        .args([
            "run",
            "-q",
            "-i",
            src.to_str().unwrap(),
            "-o",
            offline.to_str().unwrap(),
        ])
        .arg(stage)
        .assert()
        .success();
    let want = read_wav(&offline);
    let y = played(dir.path());
    assert!(
        y.len() >= frames + latency,
        "only {} frames played",
        y.len()
    );
    // Before the latency comes the pre-roll: what the first frames' gains spread back over
    // the time before the stream began (trimmed offline). Faint: measured 1.3e-3 at most,
    // where the input's first frame peaks at 0.05.
    let pre = y[..latency].iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(pre < 0.01, "pre-roll peaks at {pre}");
    for (j, w) in want.iter().enumerate() {
        assert!(
            (y[j + latency] - f64::from(*w)).abs() <= 1.5 / 32768.0,
            "frame {j}: {} vs {w}",
            y[j + latency]
        );
    }
}

#[test]
fn devices_lists_the_test_devices_and_unknown_names_list_candidates() {
    let dir = TempDir::new().unwrap();
    let out = convoy(dir.path())
        .arg("devices")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "input devices",
        "output devices",
        "test_in",
        "test_out",
        "Test capture",
    ] {
        assert!(text.contains(want), "missing {want}:\n{text}");
    }
    assert!(text.contains("* default"), "the default is marked:\n{text}");
    let out = convoy(dir.path())
        .args(["run", "-i", "mic:no-such-mic", "-o", "x.wav", "ma:3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("no input device matches 'no-such-mic'"),
        "{err}"
    );
    assert!(err.contains("test_in"), "candidates listed: {err}");
    assert!(!Path::new("x.wav").exists());
    // A substring of a description selects; an ambiguous one says so.
    let out = convoy(dir.path())
        .args(["run", "-i", "mic:test", "-o", "x.wav", "ma:3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ambiguous"), "{err}");
    // --plot cannot ride along to speakers (its taps allocate as they grow).
    let out = convoy(dir.path())
        .args(["run", "-i", "mic:test_in", "-o", "speakers:test_out"])
        .args(["--plot", "p.png", "ma:3"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--plot"));
    // Bad live arguments are usage errors.
    convoy(dir.path())
        .args([
            "run",
            "-i",
            "mic:test_in",
            "-o",
            "x.wav",
            "--duration",
            "-3s",
            "ma:3",
        ])
        .assert()
        .code(2);
}

#[test]
fn no_device_is_one_clear_line_exit_1_and_no_file() {
    let dir = TempDir::new().unwrap();
    let none = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/asound-none.conf");
    let out_path = dir.path().join("rec.wav");
    for args in [
        vec!["run", "-i", "mic", "-o", out_path.to_str().unwrap(), "ma:3"],
        vec!["run", "-i", "mic", "-o", "speakers", "ma:3"],
    ] {
        let out = convoy(dir.path())
            .env("ALSA_CONFIG_PATH", &none)
            .env_remove("PULSE_SERVER")
            .args(&args)
            .assert()
            .code(1)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.lines().count(),
            1,
            "one line, no alsa-lib chatter: {err}"
        );
        assert!(err.contains("no audio input device available"), "{err}");
    }
    assert!(!out_path.exists(), "no output file left behind");
    let src = dir.path().join("src.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&src, spec).unwrap();
    w.write_sample(0i16).unwrap();
    w.finalize().unwrap();
    let out = convoy(dir.path())
        .env("ALSA_CONFIG_PATH", &none)
        .args(["run", "-i", src.to_str().unwrap(), "-o", "speakers", "ma:3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no audio output device available"), "{err}");
}
