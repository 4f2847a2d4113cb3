//! Helpers shared by the integration tests: the binary under test, WAV files written and read
//! with hound (an implementation independent of convoy's own codec), a tiny parser for
//! streaming WAVs (sizes 0xFFFFFFFF, which hound refuses), a seeded RNG.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The convoy binary: `CONVOY_BIN` when set (to run the same tests against another build,
/// e.g. the commit before a fix), else the one cargo built. Every child started after this
/// gets the default signal dispositions (see [`default_signals`]).
pub fn bin() -> PathBuf {
    default_signals();
    std::env::var_os("CONVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_convoy")))
}

/// Gives this test process (and so every child it starts) the default dispositions of the
/// signals the tests send. A shell that runs the tests as a background job (`cmd &` in a
/// script, as a CI runner may) starts them with SIGINT and SIGQUIT ignored, and an ignored
/// disposition is inherited across exec: a Ctrl-C that reached convoy before it installed its
/// handler was then lost, and a trial waited for a run that never ended.
pub fn default_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: SIG_DFL installs no handler, so no code of ours can run in signal
            // context; signal(2) only replaces this process's disposition for `sig`.
            #[allow(unsafe_code)]
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
    });
}

/// A command for the binary, without the caller's RUST_BACKTRACE.
pub fn convoy() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("RUST_BACKTRACE");
    c
}

/// The binary as an assert_cmd command (`CONVOY_BIN` honoured), without RUST_BACKTRACE.
pub fn cmd() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(bin());
    c.env_remove("RUST_BACKTRACE");
    c
}

/// xorshift64: deterministic test data.
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [-1, 1).
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// Uniform in (0, 1), never 0 (for a logarithm).
    pub fn open01(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn gauss(&mut self) -> f64 {
        let (a, b) = (self.open01(), self.open01());
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    /// Uniform integer in lo..hi.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((self.next() + 1.0) / 2.0 * (hi - lo) as f64) as u64 % (hi - lo).max(1)
    }
}

/// Writes planar `data` as a WAV of `bits` (8/16/24/32 integer, or 32 with `float`); returns
/// the samples as they stand in the file (quantized), as f64.
pub fn write_wav(
    path: &Path,
    data: &[Vec<f64>],
    rate: u32,
    bits: u16,
    float: bool,
) -> Vec<Vec<f64>> {
    let spec = hound::WavSpec {
        channels: data.len() as u16,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut back = vec![Vec::new(); data.len()];
    for i in 0..data[0].len() {
        for (c, ch) in data.iter().enumerate() {
            if float {
                w.write_sample(ch[i] as f32).unwrap();
                back[c].push(f64::from(ch[i] as f32));
            } else {
                let scale = f64::from(1u32 << (bits - 1));
                let q = (ch[i] * scale).round() as i32;
                w.write_sample(q).unwrap();
                back[c].push(f64::from(q) / scale);
            }
        }
    }
    w.finalize().unwrap();
    back
}

/// A WAV's spec and planar samples as f64 (integers as x / 2^(bits-1)).
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f64>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let ch = usize::from(spec.channels);
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| f64::from(s.unwrap())).collect(),
        hound::SampleFormat::Int => {
            let scale = f64::from(1u32 << (spec.bits_per_sample - 1));
            r.samples::<i32>()
                .map(|s| f64::from(s.unwrap()) / scale)
                .collect()
        }
    };
    let mut out = vec![Vec::new(); ch];
    for (i, s) in samples.iter().enumerate() {
        out[i % ch].push(*s);
    }
    (spec, out)
}

/// A minimal WAV parse that accepts streaming sizes: (channels, bits, float, data bytes).
pub fn parse_wav(bytes: &[u8]) -> (usize, u16, bool, Vec<u8>) {
    assert!(
        bytes.len() >= 12 && &bytes[..4] == b"RIFF",
        "not a RIFF WAV"
    );
    let mut at = 12;
    let (mut channels, mut bits, mut float) = (0usize, 0u16, false);
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        let body = at + 8;
        if id == b"fmt " {
            let tag = u16::from_le_bytes([bytes[body], bytes[body + 1]]);
            channels = usize::from(u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]));
            bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
            float = tag == 3 || (tag == 0xFFFE && bytes[body + 24] == 3);
        } else if id == b"data" {
            let end = if size == u32::MAX as usize {
                bytes.len()
            } else {
                (body + size).min(bytes.len())
            };
            return (channels, bits, float, bytes[body..end].to_vec());
        }
        at = body + size + (size & 1);
    }
    panic!("no data chunk");
}

/// Frames of a WAV file, read by [`parse_wav`].
pub fn wav_frames(path: &Path) -> usize {
    let (channels, bits, _, data) = parse_wav(&std::fs::read(path).unwrap());
    data.len() / (channels * usize::from(bits / 8))
}

/// Stderr of an output, as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a run failed with `code`, one line on stderr containing every needle, no panic.
pub fn fails_with(out: &std::process::Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit status; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' missing from: {err}");
    }
}

/// Files in `dir` whose name starts with `.convoy-` (temp files that should be gone).
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".convoy-"))
        .collect()
}

/// The numbers after `key` on a fixture line (`x 1.5 2 ...`).
#[allow(dead_code)]
pub fn numbers(line: &str, key: &str) -> Vec<f64> {
    line.strip_prefix(key)
        .unwrap_or_else(|| panic!("expected '{key}'"))
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// One value per line, in the shortest form that reads back exactly.
#[allow(dead_code)]
pub fn write_text(path: &Path, x: &[f64]) {
    std::fs::write(
        path,
        x.iter().map(|v| format!("{v:?}\n")).collect::<String>(),
    )
    .unwrap();
}

/// One value per line.
#[allow(dead_code)]
pub fn read_text(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// `convoy response --rate 48000 --csv --points N WORDS...`: (Hz, dB, degrees) rows.
#[allow(dead_code)]
pub fn response_rows(points: usize, words: &[&str]) -> Vec<(f64, f64, f64)> {
    let run = convoy()
        .args([
            "response",
            "--rate",
            "48000",
            "--csv",
            "--points",
            &points.to_string(),
        ])
        .args(words)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{words:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|t| t.parse().unwrap()).collect();
            (v[0], v[1], v[2])
        })
        .collect()
}
