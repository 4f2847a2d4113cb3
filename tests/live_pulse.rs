#![cfg(feature = "device")]
//! Real-time end to end through a private PulseAudio with two null sinks (tests/live/
//! pulse-e2e.sh): white noise into the mic sink, `convoy run -i mic -o speakers CHAIN`, the
//! speaker sink recorded, and verified here: one continuous segment (no dropout) equal to the
//! chain's offline output of what the mic actually received, within 1e-6 (ma:31) or 1e-5 (a
//! 2^16-tap IR, where the live and offline partitionings round differently).
//!
//! Needs pulseaudio, pacat and the ALSA pulse plugin (.ci/run installs them), so it is ignored
//! by default: `cargo test --release --test live_pulse -- --ignored --nocapture`.
//! `LIVE_RUNS=10` repeats each case (the measurement).

use std::fs;
use std::path::Path;
use std::process::Command;

#[path = "live/common.rs"]
mod common;
use common::{RATE, noise, read_wav, write_wav};

/// The live tests run one at a time: each is a real-time run on a 2-core machine, and one of
/// them (item 8) keeps both cores busy on purpose. Run side by side (cargo's default), they
/// starved each other into xruns the code under test did not cause.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A failed test poisons the lock; the next one still runs alone.
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn read_f32(path: &Path) -> Vec<f32> {
    fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// One live run of `seconds` of noise through `stages` at `block`; returns the measured
/// latency (frames from the mic sink to the speaker sink) and the max block time (% of period).
fn live_run(stages: &[&str], block: usize, seconds: f64, tol: f32, seed: u64) -> (usize, f64) {
    let (latency, max_pct, _) = live_run_at(stages, block, 100, seconds, tol, seed);
    (latency, max_pct)
}

/// How many times a live run may be tried before a dropout fails the test: `LIVE_ATTEMPTS`,
/// default 3. A run through a software sound server on a shared 2-core VM drops out now and
/// then whatever the program does (the server's or the machine's stalls; arecord | aplay on
/// the same devices too, README), so one dropout is not a verdict, while a cushion that does
/// not hold, xruns in every run, or output that differs from the offline chain fail every
/// attempt. Every failed attempt is printed.
fn attempts() -> usize {
    std::env::var("LIVE_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1)
}

/// [`live_run`] with a cushion of `cushion_ms`; also returns the start-up line's latency
/// (total samples, and the stages' part of it). Tried up to [`attempts`] times.
fn live_run_at(
    stages: &[&str],
    block: usize,
    cushion_ms: u32,
    seconds: f64,
    tol: f32,
    seed: u64,
) -> (usize, f64, (f64, f64)) {
    let mut failed = Vec::new();
    for k in 1..=attempts() {
        match attempt(stages, block, cushion_ms, seconds, tol, seed) {
            Ok(measured) => {
                if !failed.is_empty() {
                    eprintln!(
                        "live: {stages:?} at {cushion_ms} ms: clean on attempt {k} after {} failed",
                        failed.len()
                    );
                }
                return measured;
            }
            Err(e) => {
                eprintln!("live: {stages:?} at {cushion_ms} ms, attempt {k} failed: {e}");
                failed.push(e);
            }
        }
    }
    panic!(
        "{stages:?} at {cushion_ms} ms: every one of {} attempts failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// One live run; `Err` for a dropout, a mismatch or an xrun (what [`live_run_at`] may retry).
fn attempt(
    stages: &[&str],
    block: usize,
    cushion_ms: u32,
    seconds: f64,
    tol: f32,
    seed: u64,
) -> Result<(usize, f64, (f64, f64)), String> {
    let bin = env!("CARGO_BIN_EXE_convoy");
    let dir = tempfile::TempDir::new().unwrap();
    let w = dir.path();
    let n = (seconds * RATE as f64) as usize;
    let x = noise(n, seed);
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(w.join("in.raw"), bytes).unwrap();
    // Fixtures the stages read (a 2^16-tap IR) live in the work dir.
    let stages: Vec<String> = stages
        .iter()
        .map(|s| s.replace("@W", w.to_str().unwrap()))
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/pulse-e2e.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(w)
        .arg(bin)
        .args([
            "run",
            "-i",
            "mic:test_mic",
            "-o",
            "speakers:test_spk",
            "--channels",
            "1",
        ])
        .args([
            "--block",
            &block.to_string(),
            "--latency",
            &cushion_ms.to_string(),
            "--stats",
        ])
        .args(["--duration", &format!("{}s", seconds + 2.5)])
        .args(&stages)
        .output()
        .expect("bash runs");
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "live run failed:\n{log}");
    eprintln!("{log}");
    let mic = read_f32(&w.join("mic.raw"));
    let spk = read_f32(&w.join("out.raw"));
    // What the mic sink really carried (PulseAudio ramps a new stream in, so not exactly x).
    let m0 = mic
        .iter()
        .position(|v| *v != 0.0)
        .expect("the mic sink got the stimulus");
    // Everything the mic carried from the first sample on: PulseAudio ramps streams in and
    // out, so the stimulus as carried is not exactly `x` and not exactly `n` frames long.
    let after = (RATE / 2).min(mic.len() - m0 - n.min(mic.len() - m0));
    let got = &mic[m0..m0 + n + after];
    assert!(got.len() >= n, "the mic recording is short");
    let src = w.join("mic.wav");
    write_wav(&src, got);
    let reference = w.join("ref.wav");
    // Live, every FIR stage runs causally (mode=full); gains and recursive stages have no
    // modes to set.
    let full: Vec<String> = stages
        .iter()
        .map(|s| {
            let name = s.split([':', ',']).next().unwrap_or("");
            if ["gain", "butter", "peq", "notch", "lowshelf", "highshelf"].contains(&name)
                || s.contains("phase=minimum")
            {
                s.to_string()
            } else {
                format!("{s},mode=full")
            }
        })
        .collect();
    let st = Command::new(bin)
        .args([
            "run",
            "-q",
            "-i",
            src.to_str().unwrap(),
            "-o",
            reference.to_str().unwrap(),
        ])
        .args(&full)
        .status()
        .unwrap();
    assert!(st.success());
    // Compare what depends only on the recorded span: its length plus the kernel tail is
    // more than the run produced, so stop at the stimulus plus 0.5 s.
    let mut r = read_wav(&reference);
    r.truncate(got.len());
    let s0 = spk
        .iter()
        .position(|v| *v != 0.0)
        .expect("the speaker sink got audio");
    // Best offset near the first non-zero sample (the reference may start with tiny values).
    let span = 4800.min(r.len());
    let best = (s0.saturating_sub(64)..s0 + 64)
        .filter(|o| o + span <= spk.len())
        .min_by(|&a, &b| {
            let err = |o: usize| -> f32 {
                (0..span)
                    .map(|j| (spk[o + j] - r[j]).abs())
                    .fold(0.0, f32::max)
            };
            err(a).total_cmp(&err(b))
        })
        .expect("an offset");
    if best + r.len() > spk.len() {
        return Err("the speaker recording ends early".into());
    }
    let mut worst = 0.0f32;
    let mut first_bad = None;
    for j in 0..r.len() {
        let d = (spk[best + j] - r[j]).abs();
        if d > tol && first_bad.is_none() {
            first_bad = Some(j);
        }
        worst = worst.max(d);
    }
    if let Some(j) = first_bad {
        return Err(format!(
            "dropout or mismatch at output frame {j} (max |diff| {worst}); one continuous segment expected"
        ));
    }
    let latency = best - m0;
    let max_pct = log
        .lines()
        .rev()
        .find_map(|l| l.split("max ").nth(1))
        .and_then(|t| t.split(" %").next())
        .and_then(|t| t.trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    if !log.contains("xruns: input 0, output 0") {
        return Err(format!("xruns:\n{log}"));
    }
    eprintln!(
        "live: {stages:?} block {block}: one segment of {} frames, max |diff| {worst:.2e}, mic->speaker {latency} frames ({:.1} ms), max block time {max_pct} %",
        r.len(),
        latency as f64 * 1e3 / RATE as f64
    );
    // "latency 36.7 ms (1760 samples = ... + stage delays 0.0)"
    let line = log
        .lines()
        .find(|l| l.contains("; latency "))
        .expect("the start-up line gives the latency");
    let total: f64 = line
        .split('(')
        .nth(1)
        .and_then(|t| t.split(" samples").next())
        .and_then(|t| t.parse().ok())
        .expect("latency samples");
    let stage: f64 = line
        .rsplit("stage delays ")
        .next()
        .and_then(|t| t.trim_end_matches(')').parse().ok())
        .expect("stage delays");
    Ok((latency, max_pct, (total, stage)))
}

fn runs() -> usize {
    std::env::var("LIVE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn mic_to_speakers_through_ma31_is_continuous_and_exact() {
    let _alone = one_at_a_time();
    for i in 0..runs() {
        live_run(&["ma:31"], 256, 2.0, 1e-6, 11 + i as u64);
    }
}

/// A decaying-noise IR of 2^16 taps with energy 0.5 (the output stays well inside [-1, 1]),
/// written as a WAV in `dir`.
fn long_ir(dir: &Path) -> std::path::PathBuf {
    let m = 1 << 16;
    let raw = noise(m, 5);
    let mut k: Vec<f32> = raw
        .iter()
        .enumerate()
        .map(|(i, v)| v * (-(i as f32) / 8000.0).exp())
        .collect();
    let e: f32 = k.iter().map(|v| v * v).sum();
    k.iter_mut().for_each(|v| *v *= (0.5 / e).sqrt());
    let ir = dir.join("ir.wav");
    write_wav(&ir, &k);
    ir
}

#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn mic_to_speakers_through_a_65536_tap_ir_at_block_64() {
    let _alone = one_at_a_time();
    let dir = tempfile::TempDir::new().unwrap();
    let stage = format!("fir:{}", long_ir(dir.path()).display());
    let seconds = std::env::var("LIVE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let mut worst = 0.0f64;
    for i in 0..runs() {
        let (_, max_pct) = live_run(&[&stage], 64, seconds, 1e-5, 21 + i as u64);
        worst = worst.max(max_pct);
    }
    eprintln!(
        "live: 2^16 taps at block 64: worst max block time {worst} % over {} run(s)",
        runs()
    );
}

/// Issue 16: ten seconds without a dropout or an xrun at a short cushion, for `gain:1` at the
/// default live block (64) and a 2^16-tap IR at block 64 (one continuous segment, exact, and
/// `xruns: input 0, output 0` in the summary). The cushion is `LIVE_GLITCH_MS`, default 40 ms:
/// a margin over what held 5 runs of 10 s out of 5 for both chains on a noisy 2-core VM through
/// this PulseAudio (30 ms, as arecord | aplay; the README has the table).
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn ten_seconds_without_a_dropout_at_a_short_cushion() {
    let _alone = one_at_a_time();
    let ms: u32 = std::env::var("LIVE_GLITCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::TempDir::new().unwrap();
    let stage = format!("fir:{}", long_ir(dir.path()).display());
    for i in 0..runs() {
        live_run_at(&["gain:1"], 64, ms, 10.0, 1e-6, 60 + i as u64);
        live_run_at(&[&stage], 64, ms, 10.0, 1e-5, 70 + i as u64);
    }
}

/// Issue 16: the latency the start-up line prints is what the speaker shows, within 5 ms.
/// Measured: where the chain's offline output of what the mic carried lines up in the speaker
/// recording, plus the stages' own delay (the offline reference already contains it). The
/// instrument is two recorders, one per null sink monitor, and their relative start moves in
/// whole 10 ms steps from run to run (measured 12 runs of 4 chains: 30.0-31.1 ms in most,
/// 20.5/21.9 or 39.9-42.3 in the rest, for a path printed as 31.3; once, on a second CI run on
/// the same machine, 0.0: the whole cushion), so a chain gets up to 5 runs and one must agree
/// within 5 ms. A run further off is the instrument's and counts as another try: the class of
/// error the issue found (a linear-phase high-pass's 69 ms left out of the figure) is off in
/// every run, so it still fails.
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn the_printed_latency_is_what_the_speaker_shows() {
    let _alone = one_at_a_time();
    for (i, chain) in [
        "gain:1",
        "highpass:80",
        "highpass:80,phase=minimum",
        "butter:highpass,80",
    ]
    .into_iter()
    .enumerate()
    {
        let (mut seen, mut agreed) = (Vec::new(), false);
        for k in 0..5 {
            let (path, _, (total, stage)) =
                live_run_at(&[chain], 64, 30, 1.5, 1e-5, 40 + i as u64 + 10 * k);
            let measured = path as f64 + stage;
            let off_ms = (measured - total) * 1e3 / RATE as f64;
            eprintln!(
                "live latency {chain}: printed {:.1} ms, measured {:.1} ms",
                total * 1e3 / RATE as f64,
                measured * 1e3 / RATE as f64
            );
            seen.push(format!("{off_ms:+.1} ms"));
            if off_ms.abs() < 5.0 {
                agreed = true;
                break;
            }
        }
        assert!(
            agreed,
            "{chain}: measured minus printed latency {} in 5 runs",
            seen.join(", ")
        );
    }
}

#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn ctrl_c_stops_a_live_run_cleanly_with_a_summary() {
    let _alone = one_at_a_time();
    let bin = env!("CARGO_BIN_EXE_convoy");
    let dir = tempfile::TempDir::new().unwrap();
    let x = noise(RATE * 4, 3);
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(dir.path().join("in.raw"), bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/pulse-e2e.sh");
    let out = Command::new("bash")
        .env("STOP_AFTER", "3")
        .arg(&script)
        .arg(dir.path())
        .arg(bin)
        .args([
            "run",
            "-i",
            "mic:test_mic",
            "-o",
            "speakers:test_spk",
            "--channels",
            "1",
        ])
        // The 100 ms cushion of the other live tests: 60 ms drops a period now and then on
        // a loaded 2-core VM through PulseAudio (LIVE-TESTING.md measured 20 ms: 3 of 5).
        .args(["--latency", "100", "ma:31"])
        .output()
        .expect("bash runs");
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Ctrl-C must end the run with status 0:\n{log}"
    );
    assert!(log.contains("frames in,"), "the summary is printed:\n{log}");
    assert!(log.contains("xruns: input 0, output 0"), "{log}");
}

/// A private PulseAudio (tests/live/pulse-server.sh) that a test may kill or freeze; ended
/// when dropped.
struct Server {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    pid: i32,
    keepers: Vec<i32>,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::TempDir::new().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/live/pulse-server.sh");
        let st = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(st.success(), "the test PulseAudio did not start");
        let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();
        let env = read("env")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let pid = read("pa.pid").trim().parse().unwrap();
        let keepers = read("keepers.pid")
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        Server {
            dir,
            env,
            pid,
            keepers,
        }
    }

    fn signal(&self, pid: i32, sig: rustix::process::Signal) {
        if let Some(p) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, sig);
        }
    }

    /// convoy (`CONVOY_BIN` when set, to check another build) with this server's environment.
    fn convoy(&self) -> Command {
        let bin =
            std::env::var_os("CONVOY_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_convoy").into());
        let mut c = Command::new(bin);
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        use rustix::process::Signal;
        self.signal(self.pid, Signal::CONT);
        for &k in &self.keepers {
            self.signal(k, Signal::KILL);
        }
        self.signal(self.pid, Signal::KILL);
        let _ = &self.dir;
    }
}

/// Waits for `child` at most `limit`, killing it (and failing) if it does not end.
fn ends_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: still running {limit:?} after; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn error_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("convoy: error"))
        .map(str::to_string)
        .collect()
}

/// Issue 14 item 7: a sound server that dies (SIGKILL) or stops answering (SIGSTOP) under a
/// live run ends it within a few seconds with one error line; a recording keeps what was
/// captured as a valid WAV; and Ctrl-C ends a run whose server froze.
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn item_07_a_sound_server_that_goes_away_ends_the_run() {
    let _alone = one_at_a_time();
    use rustix::process::Signal;
    use std::time::Duration;
    let trials = runs().max(2);
    let mut report = Vec::new();
    for t in 0..trials {
        for (case, sig) in [
            ("mic->speakers", Signal::KILL),
            ("mic->file", Signal::KILL),
            ("mic->file", Signal::STOP),
            ("file->speakers", Signal::KILL),
        ] {
            let server = Server::start();
            let take = server.dir.path().join("take.wav");
            let song = server.dir.path().join("song.wav");
            write_wav(&song, &noise(RATE * 20, 4));
            let mut cmd = server.convoy();
            cmd.args(["run", "--channels", "1", "--duration", "15s"]);
            match case {
                "mic->speakers" => cmd.args(["-i", "mic:test_mic", "-o", "speakers:test_spk"]),
                "mic->file" => cmd.args(["-i", "mic:test_mic", "-o", take.to_str().unwrap()]),
                _ => cmd.args(["-i", song.to_str().unwrap(), "-o", "speakers:test_spk"]),
            };
            let child = cmd
                .arg("ma:3")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            let killed = std::time::Instant::now();
            server.signal(server.pid, sig);
            let out = ends_within(child, Duration::from_secs(8), case);
            let took = killed.elapsed();
            let errors = error_lines(&out);
            assert_eq!(out.status.code(), Some(1), "{case} {sig:?}: {errors:?}");
            assert_eq!(errors.len(), 1, "{case}: one error line: {errors:?}");
            if case == "mic->file" {
                let (spec, x) = {
                    let r = hound::WavReader::open(&take).expect("the recording is a valid WAV");
                    let spec = r.spec();
                    (spec, r.into_samples::<f32>().count())
                };
                assert_eq!(spec.sample_rate, RATE as u32);
                assert!(x >= RATE / 2, "{case}: only {x} frames kept");
                assert!(errors[0].contains("take.wav"), "{errors:?}");
            }
            report.push(format!("{case} {sig:?}: ended {took:.2?} after"));
        }
        // Ctrl-C ends a recording whose server froze, and keeps the recording.
        let server = Server::start();
        let take = server.dir.path().join("take.wav");
        let child = server
            .convoy()
            .args(["run", "-q", "--channels", "1", "-i", "mic:test_mic"])
            .args(["-o", take.to_str().unwrap(), "ma:3"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        server.signal(server.pid, Signal::STOP);
        std::thread::sleep(Duration::from_millis(300));
        server.signal(child.id() as i32, Signal::INT);
        let out = ends_within(child, Duration::from_secs(5), "Ctrl-C on a frozen server");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(hound::WavReader::open(&take).is_ok());
        eprintln!("trial {t}: {}", report.join("; "));
        report.clear();
    }
}

/// Issue 14 item 8: starting playback through the ALSA pulse plugin failed now and then with
/// an I/O error from snd_pcm_avail_delay (1 in 5 on a loaded machine). Twenty consecutive
/// starts, with both cores kept busy, all succeed.
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn item_08_twenty_starts_through_a_null_sink_all_succeed() {
    let _alone = one_at_a_time();
    let server = Server::start();
    let song = server.dir.path().join("short.wav");
    write_wav(&song, &noise(RATE / 2, 8));
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let busy = std::sync::Arc::clone(&busy);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while busy.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for i in 0..20 {
        let out = server
            .convoy()
            .args([
                "run",
                "-i",
                song.to_str().unwrap(),
                "-o",
                "speakers:test_spk",
            ])
            .args(["--block", "64", "--latency", "10", "ma:3"])
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "start {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    busy.store(false, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        let _ = l.join();
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Issue 16: `convoy devices` under PulseAudio lists what can be opened, by name, with no
/// JACK or alsa-lib chatter; `--all` adds the plugin PCMs that cannot be opened here.
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn devices_lists_what_can_be_opened_without_chatter() {
    let _alone = one_at_a_time();
    let server = Server::start();
    let out = server.convoy().arg("devices").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.trim().is_empty(), "nothing on stderr: {err}");
    assert!(
        text.contains("test_mic") && text.contains("test speaker"),
        "{text}"
    );
    assert!(!text.contains("cannot query"), "{text}");
    let all = server.convoy().args(["devices", "--all"]).output().unwrap();
    let all_text = String::from_utf8_lossy(&all.stdout);
    assert!(
        all_text.lines().count() > text.lines().count(),
        "{all_text}"
    );
    assert!(String::from_utf8_lossy(&all.stderr).trim().is_empty());
}

/// Issue 16: the sound server's sources and sinks by their own names (`mic:mic.monitor`, by
/// description too), listed by `convoy devices`; the start-up line says what was opened; a mono
/// source is opened mono, directly and behind an ALSA PCM of the server's plugin.
#[test]
#[ignore = "needs pulseaudio (installed by .ci/run)"]
fn server_devices_by_name_and_a_mono_source_opened_mono() {
    let _alone = one_at_a_time();
    let server = Server::start();
    let devices = server.convoy().arg("devices").output().unwrap();
    let text = String::from_utf8_lossy(&devices.stdout);
    assert!(
        text.contains("PulseAudio/PipeWire server sources")
            && text.contains("mic.monitor")
            && text.contains("Monitor of test-mic"),
        "{text}"
    );
    assert!(
        text.contains("goes to the PulseAudio/PipeWire server's 'mic.monitor'")
            && text.contains("default: 1 ch, f32, 48000 Hz (the server device's channels)"),
        "test_mic's target is named, with the channels it opens with: {text}"
    );
    let dir = tempfile::TempDir::new().unwrap();
    let record = |device: &str, name: &str| -> (String, u16, bool) {
        let out_path = dir.path().join(name);
        let out = server
            .convoy()
            .args(["run", "-i", device, "-o"])
            .arg(&out_path)
            .args(["--duration", "0.3s", "gain:1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let channels = if out.status.success() {
            hound::WavReader::open(&out_path).unwrap().spec().channels
        } else {
            0
        };
        (err, channels, out.status.success())
    };
    // On the server's own host, by name and by exact description; and through ALSA's plugin
    // PCM, named by the line after the server device it goes to. Mono each time.
    let on_server =
        "input 'mic.monitor' (Monitor of test-mic, on the PulseAudio/PipeWire server): 1 ch";
    let behind_plugin =
        "input 'test_mic' (PulseAudio/PipeWire source 'mic.monitor': Monitor of test-mic): 1 ch";
    for (device, out, line) in [
        ("mic:mic.monitor", "a.wav", on_server),
        ("mic:Monitor of test-mic", "a.wav", on_server),
        ("mic:pulseaudio:mic.monitor", "a.wav", on_server),
        ("mic:test_mic", "b.wav", behind_plugin),
    ] {
        let (err, channels, ok) = record(device, out);
        assert!(ok, "{device}: {err}");
        assert!(err.contains(line), "{device}: {err}");
        assert_eq!(channels, 1, "{device}: a mono source records mono");
    }
    // Ambiguous and unknown names: one line naming the candidates.
    let (err, _, ok) = record("mic:monitor", "c.wav");
    assert!(
        !ok && err.contains("ambiguous") && err.contains("'spk.monitor'"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (err, _, ok) = record("mic:no-such-thing", "d.wav");
    assert!(
        !ok && err.contains("no input device matches 'no-such-thing'"),
        "{err}"
    );
    // Playback to a server sink by name.
    let wav = dir.path().join("tone.wav");
    write_wav(&wav, &noise(RATE / 4, 9));
    let out = server
        .convoy()
        .args(["run", "-i"])
        .arg(&wav)
        .args(["-o", "speakers:spk", "gain:0.5"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("output 'spk' (test-speaker, on the PulseAudio/PipeWire server): 1 ch"),
        "{err}"
    );
}
