//! Issue 14 (trust): every item has a test here, named after the item, driving the built
//! binary as a user (or a hostile file) would. `CONVOY_BIN=/path/to/old/convoy cargo test
//! --test trust` runs the same checks against another build.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Rng, convoy, fails_with, leftovers, parse_wav, read_wav, stderr, write_wav};
use tempfile::TempDir;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn signal(child: &Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let _ = rustix::process::kill_process(pid, sig);
}

/// Waits for `child` at most `limit`; kills it and fails the test if it takes longer.
fn wait_within(mut child: Child, limit: Duration, what: &str) -> std::process::Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: still running after {limit:?}; stderr: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A pipe whose read end goes to the child as stdin; the test keeps a duplicate of the read end
/// so what the child left unread can be counted after it exits.
struct Feed {
    child_end: Option<OwnedFd>,
    spare: OwnedFd,
    write: Option<OwnedFd>,
}

impl Feed {
    fn new() -> Feed {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let spare = r.try_clone().unwrap();
        Feed {
            child_end: Some(r),
            spare,
            write: Some(w),
        }
    }

    /// Bytes still in the pipe (the child's end is closed by then).
    fn unread(&self) -> u64 {
        rustix::fs::fcntl_setfl(&self.spare, rustix::fs::OFlags::NONBLOCK).unwrap();
        let mut n = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match rustix::io::read(&self.spare, &mut buf) {
                Ok(0) | Err(_) => return n,
                Ok(k) => n += k as u64,
            }
        }
    }
}

/// Writes `header` and then frames of 0.25 (f32) into the pipe as fast as it takes them, until
/// `stop`; counts the bytes written. Never blocks for long (non-blocking writes). Returns the
/// write end, so the caller decides when it closes.
fn producer(
    w: OwnedFd,
    header: Vec<u8>,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> std::thread::JoinHandle<OwnedFd> {
    std::thread::spawn(move || {
        rustix::fs::fcntl_setfl(&w, rustix::fs::OFlags::NONBLOCK).unwrap();
        // Non-zero samples, so a lost frame is not confused with silence.
        let body: Vec<u8> = 0.25f32.to_le_bytes().repeat(1 << 14);
        let mut block = header;
        let mut pending = 0;
        while !stop.load(Ordering::SeqCst) {
            match rustix::io::write(&w, &block[pending..]) {
                Ok(n) => {
                    written.fetch_add(n as u64, Ordering::SeqCst);
                    pending += n;
                    if pending == block.len() {
                        block.clone_from(&body);
                        pending = 0;
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_micros(200)),
            }
        }
        w
    })
}

/// One Ctrl-C trial: a fast producer into `convoy run`, a signal after `after` (with the
/// producer dying just before, when `producer_dies`: a whole pipeline interrupted).
/// Returns (frames taken from the pipe, frames in the output, exit status, stderr).
fn ctrl_c_trial(
    dir: &Path,
    args: &[&str],
    header: Vec<u8>,
    frame_bytes: usize,
    after: Duration,
    sig: rustix::process::Signal,
    producer_dies: Option<Duration>,
) -> (u64, u64, Option<i32>, String) {
    let out = dir.join("out.wav");
    let _ = fs::remove_file(&out);
    let mut feed = Feed::new();
    let header_len = header.len() as u64;
    let child = convoy()
        .args(["run", "-q", "-i", "-", "-o", s(&out)])
        .args(args)
        .stdin(Stdio::from(feed.child_end.take().unwrap()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let prod = producer(
        feed.write.take().unwrap(),
        header,
        Arc::clone(&stop),
        Arc::clone(&written),
    );
    std::thread::sleep(after);
    let mut prod = Some(prod);
    if let Some(before) = producer_dies {
        // The producer dies first (by `before`), as `cat` does when the whole pipeline gets
        // the signal: convoy sees its input cut short, then the signal.
        stop.store(true, Ordering::SeqCst);
        drop(prod.take().map(|p| p.join().unwrap()));
        std::thread::sleep(before);
    }
    signal(&child, sig);
    let child_out = wait_within(child, Duration::from_secs(20), "Ctrl-C");
    // Otherwise the producer kept going until convoy had exited.
    stop.store(true, Ordering::SeqCst);
    let write_end = prod.map(|p| p.join().unwrap());
    let taken = (written.load(Ordering::SeqCst) - feed.unread()).saturating_sub(header_len);
    drop(write_end);
    let frames_out = if out.exists() {
        common::wav_frames(&out) as u64
    } else {
        u64::MAX
    };
    (
        taken / frame_bytes as u64,
        frames_out,
        child_out.status.code(),
        stderr(&child_out),
    )
}

fn trials() -> usize {
    std::env::var("TRUST_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

#[test]
fn item_01_ctrl_c_keeps_every_frame_taken_from_a_fast_producer() {
    use rustix::process::Signal;
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(2024);
    let mut report = Vec::new();
    for t in 0..trials() {
        let after = Duration::from_millis(rng.range(5, 400));
        let sig = if t % 3 == 2 {
            Signal::TERM
        } else {
            Signal::INT
        };
        let (taken, out, code, err) = ctrl_c_trial(
            dir.path(),
            &[
                "--in-format",
                "f32le",
                "--rate",
                "48000",
                "--channels",
                "2",
                "gain:1",
            ],
            Vec::new(),
            8,
            after,
            sig,
            None,
        );
        report.push(format!("{after:?}: {taken} taken, {out} out"));
        if code != Some(0) && taken == 0 {
            // The signal came while the program was still loading or parsing its arguments
            // (killed, or 130): before it read a byte, so nothing was lost.
            continue;
        }
        assert_eq!(
            code,
            Some(0),
            "trial {t} ({after:?}, {sig:?}): exit status; stderr: {err}"
        );
        assert_eq!(
            out, taken,
            "trial {t} ({after:?}): frames written vs taken from the pipe"
        );
        assert!(leftovers(dir.path()).is_empty());
    }
    eprintln!("{} trials: {}", report.len(), report.join("; "));
}

/// A WAV header with a (large) promised size: the stream is cut off by the Ctrl-C.
fn wav_header(channels: u16, frames: u32) -> Vec<u8> {
    let data = frames * u32::from(channels) * 4;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&(data + 36 + 2).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&18u32.to_le_bytes());
    h.extend_from_slice(&3u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&(48_000 * 4 * u32::from(channels)).to_le_bytes());
    h.extend_from_slice(&(4 * channels).to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data.to_le_bytes());
    h
}

#[test]
fn item_01_ctrl_c_to_a_whole_pipeline_is_a_clean_early_end_not_a_truncated_wav() {
    use rustix::process::Signal;
    let dir = TempDir::new().unwrap();
    let mut rng = Rng(77);
    for t in 0..trials() {
        let after = Duration::from_millis(rng.range(20, 300));
        let (taken, out, code, err) = ctrl_c_trial(
            dir.path(),
            &["ma:5,mode=full"],
            wav_header(1, 400_000_000),
            4,
            after,
            if t % 2 == 0 {
                Signal::INT
            } else {
                Signal::TERM
            },
            Some(Duration::from_millis(rng.range(0, 40))),
        );
        assert_eq!(code, Some(0), "trial {t} ({after:?}): stderr: {err}");
        // ma:5 full: four more frames than came in.
        assert_eq!(out, taken + 4, "trial {t} ({after:?})");
    }
}

#[test]
fn item_01_a_stream_cut_mid_frame_by_a_stop_keeps_the_complete_frames_before_it() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("o.wav");
    // 1000 whole stereo f32 frames and 3 stray bytes, then the producer dies and the signal
    // comes: the frames are the output, the stray bytes are not a frame.
    let mut bytes = 0.5f32.to_le_bytes().repeat(2000);
    bytes.extend_from_slice(&[1, 2, 3]);
    let run = |signal_it: bool| {
        let mut child = convoy()
            .args([
                "run",
                "-q",
                "-i",
                "-",
                "--in-format",
                "f32le",
                "--rate",
                "8000",
            ])
            .args(["--channels", "2", "-o", s(&out), "gain:1"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut w = child.stdin.take().unwrap();
        w.write_all(&bytes).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        drop(w);
        if signal_it {
            signal(&child, rustix::process::Signal::INT);
        }
        wait_within(child, Duration::from_secs(20), "cut mid-frame")
    };
    let res = run(true);
    assert_eq!(res.status.code(), Some(0), "{}", stderr(&res));
    assert_eq!(common::wav_frames(&out), 1000);
    // Without a stop, a stream cut mid-frame is damaged input: one line, exit 2, no file.
    fs::remove_file(&out).unwrap();
    let res = run(false);
    fails_with(&res, 2, &["middle of a frame", "3 stray bytes"]);
    assert!(!out.exists());
}

#[test]
fn item_02_convolve_interrupted_leaves_no_partial_file_and_exits_130() {
    let dir = TempDir::new().unwrap();
    // A direct convolution long enough to be interrupted (seconds in a debug build).
    let n = 1 << 21;
    let mut rng = Rng(5);
    let x: Vec<String> = (0..n).map(|_| format!("{:.3}", rng.next())).collect();
    let sig = dir.path().join("x.txt");
    fs::write(&sig, x.join("\n")).unwrap();
    let k: Vec<String> = (0..2000)
        .map(|i| format!("{}", (i % 7) as f64 * 0.1))
        .collect();
    let ker = dir.path().join("k.txt");
    fs::write(&ker, k.join(" ")).unwrap();
    let out = dir.path().join("y.npy");
    fs::write(&out, b"old").unwrap();
    let child = convoy()
        .args([
            "convolve",
            s(&sig),
            s(&ker),
            "--method",
            "direct",
            "-o",
            s(&out),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    signal(&child, rustix::process::Signal::INT);
    let res = wait_within(child, Duration::from_secs(60), "convolve after Ctrl-C");
    match res.status.code() {
        Some(130) => assert_eq!(fs::read(&out).unwrap(), b"old"),
        Some(0) => {} // it finished first: a complete output is fine too
        other => panic!("exit {other:?}: {}", stderr(&res)),
    }
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

fn tone_wav(dir: &Path, name: &str, frames: usize, channels: usize, bits: u16) -> PathBuf {
    let path = dir.join(name);
    let data: Vec<Vec<f64>> = (0..channels)
        .map(|c| {
            (0..frames)
                .map(|i| 0.3 * ((i * (c + 3)) as f64 * 0.01).sin())
                .collect()
        })
        .collect();
    write_wav(&path, &data, 48_000, bits, bits == 32);
    path
}

#[test]
fn item_03_output_to_a_fifo_streams_and_dev_null_stays_a_device() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 5000, 2, 16);
    let fifo = dir.path().join("p");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            fs::File::open(&fifo).unwrap().read_to_end(&mut v).unwrap();
            v
        })
    };
    let child = convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&fifo), "ma:5"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let res = wait_within(child, Duration::from_secs(20), "writing to a FIFO");
    assert!(res.status.success(), "{}", stderr(&res));
    let got = reader.join().unwrap();
    let (channels, _, _, data) = parse_wav(&got);
    assert_eq!(channels, 2);
    assert_eq!(data.len(), 5000 * 2 * 2, "16-bit stereo, every frame");
    // The FIFO is still a FIFO.
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // /dev/null: written to, not replaced.
    let res = convoy()
        .args(["run", "-q", "-i", s(&input), "-o", "/dev/null", "ma:5"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn item_03_a_symlink_to_stdout_is_written_through_not_replaced() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 3000, 1, 16);
    let link = dir.path().join("to-stdout.wav");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).unwrap();
    let res = convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&link), "ma:3"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let (_, _, _, data) = parse_wav(&res.stdout);
    assert_eq!(data.len(), 3000 * 2);
    // /dev/stdout likewise, and the same for convoy convolve.
    let res = convoy()
        .args(["convolve", "1 2 3", "1 1", "-o", "/dev/stdout"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(String::from_utf8_lossy(&res.stdout).trim(), "1 3 5 3");
    // A symlink to a regular file: the file is replaced, the link stays a link.
    let target = dir.path().join("real.txt");
    fs::write(&target, "old").unwrap();
    let link2 = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&target, &link2).unwrap();
    let res = convoy()
        .args(["convolve", "1 2", "1", "-o", s(&link2)])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        fs::symlink_metadata(&link2)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&target).unwrap().trim(), "1 2");
}

#[test]
fn item_04_stdin_redirected_from_the_output_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let a = tone_wav(dir.path(), "a.wav", 2000, 1, 16);
    let before = fs::read(&a).unwrap();
    let res = convoy()
        .args(["run", "-i", "-", "-o", s(&a), "ma:5"])
        .stdin(fs::File::open(&a).unwrap())
        .output()
        .unwrap();
    fails_with(&res, 2, &["same file as stdin"]);
    assert_eq!(fs::read(&a).unwrap(), before);
    let k = dir.path().join("k.txt");
    fs::write(&k, "1 2 3\n").unwrap();
    let res = convoy()
        .args(["convolve", "-", "1 1", "-o", s(&k)])
        .stdin(fs::File::open(&k).unwrap())
        .output()
        .unwrap();
    fails_with(&res, 2, &["same file as stdin"]);
    assert_eq!(fs::read_to_string(&k).unwrap(), "1 2 3\n");
}

#[test]
fn item_05_a_plot_that_cannot_be_written_leaves_the_existing_output_alone() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 4000, 1, 16);
    let out = dir.path().join("out.wav");
    fs::write(&out, b"keep me").unwrap();
    // /proc takes no new files, even from root: the picture fails when it is written.
    let res = convoy()
        .args(["run", "-q", "-i", s(&input), "-o", s(&out)])
        .args(["--plot", "/proc/convoy-test-plot.png", "ma:5"])
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert_eq!(fs::read(&out).unwrap(), b"keep me");
    assert!(leftovers(dir.path()).is_empty());
}

/// Runs `args` with stdin from `/dev/zero` and checks it fails quickly with one line.
fn fails_fast_on(args: &[&str], stdin_zero: bool, needle: &str) {
    let mut cmd = convoy();
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    if stdin_zero {
        cmd.stdin(fs::File::open("/dev/zero").unwrap());
    }
    let child = cmd.spawn().unwrap();
    let res = wait_within(child, Duration::from_secs(20), &format!("{args:?}"));
    fails_with(&res, 2, &[needle]);
}

#[test]
fn item_06_endless_or_binary_input_is_bounded() {
    let dir = TempDir::new().unwrap();
    let i = tone_wav(dir.path(), "in.wav", 1000, 1, 16);
    fails_fast_on(
        &[
            "run",
            "-i",
            "-",
            "--in-format",
            "text",
            "--rate",
            "100",
            "-o",
            "-",
            "ma:5",
        ],
        true,
        "not text",
    );
    fails_fast_on(&["convolve", "/dev/zero", "1"], false, "/dev/zero");
    fails_fast_on(
        &["run", "-i", s(&i), "-o", "/dev/null", "taps:@/dev/zero"],
        false,
        "/dev/zero",
    );
    fails_fast_on(
        &[
            "run",
            "-i",
            s(&i),
            "-o",
            "/dev/null",
            "--chain",
            "/dev/zero",
        ],
        false,
        "/dev/zero",
    );
    fails_fast_on(
        &["plot", "/dev/zero", "-o", s(&dir.path().join("p.png"))],
        false,
        "/dev/zero",
    );
    // A line with no end (digits, never a newline): the line limit, not the memory.
    let mut child = convoy()
        .args([
            "run",
            "-i",
            "-",
            "--in-format",
            "text",
            "--rate",
            "100",
            "-o",
            "/dev/null",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = b"1 ".repeat(1 << 15);
        for _ in 0..200 {
            if w.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let res = wait_within(child, Duration::from_secs(20), "endless line");
    let _ = feeder.join();
    fails_with(&res, 2, &["longer than"]);
}

#[test]
fn item_06_memory_stays_flat_on_an_endless_text_stream() {
    let mut child = convoy()
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "--in-format",
            "text",
            "--rate",
            "100",
        ])
        .args(["-o", "-", "--out-format", "text", "ma:5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = child.stdin.take().unwrap();
    let mut r = child.stdout.take().unwrap();
    let pid = child.id();
    let drain = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0usize;
        while let Ok(k) = r.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k;
        }
        n
    });
    let start = Instant::now();
    let chunk = b"0.5\n-0.25\n".repeat(1 << 14);
    let mut peak_kb = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        w.write_all(&chunk).unwrap();
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kb) = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
    }
    drop(w);
    let res = wait_within(child, Duration::from_secs(20), "endless text");
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(drain.join().unwrap() > 1 << 20);
    assert!(peak_kb < 100_000, "resident memory grew to {peak_kb} kB");
}

/// A `.npy` header for `shape` (a Python tuple's text) and dtype `descr`, then `data`.
fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    v.extend_from_slice(dict.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn item_09_crafted_npy_headers_are_one_line_errors_not_aborts() {
    let dir = TempDir::new().unwrap();
    let eight: Vec<u8> = 1.0f64.to_le_bytes().repeat(2);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "huge.npy",
            npy("<f8", false, "(4294967296,)", &eight),
            "file has",
        ),
        (
            "huge63.npy",
            npy("<f8", false, "(9223372036854775808,)", &eight),
            "",
        ),
        (
            "wrap.npy",
            npy("<f8", false, "(4294967296, 4294967297)", &eight),
            "",
        ),
        (
            "fwrap.npy",
            npy("<f8", true, "(4294967296, 4294967296, 2)", &eight),
            "",
        ),
        (
            "fort.npy",
            npy("<f8", true, "(4294967296, 4294967297)", &eight),
            "",
        ),
        (
            "bad.npy",
            b"\x93NUMPY\x01\x00\x10\x00{'descr': <f8 ".to_vec(),
            "header",
        ),
        ("short.npy", npy("<f8", false, "(5,)", &eight), ""),
    ];
    let i = tone_wav(dir.path(), "in.wav", 100, 1, 16);
    for (name, bytes, needle) in &cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let res = convoy()
            .args(["convolve", s(&path), "1 1"])
            .output()
            .unwrap();
        fails_with(&res, 2, &[name, needle]);
        let res = convoy()
            .args(["convolve", "1 2 3", s(&path)])
            .output()
            .unwrap();
        fails_with(&res, 2, &[name]);
        let res = convoy()
            .args(["run", "-i", s(&i), "-o", "/dev/null"])
            .arg(format!("taps:@{}", s(&path)))
            .output()
            .unwrap();
        fails_with(&res, 2, &[name]);
    }
    // A truncated JPEG: one line too.
    let jpg = dir.path().join("cut.jpg");
    fs::write(
        &jpg,
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'],
    )
    .unwrap();
    let res = convoy()
        .args(["convolve", s(&jpg), "box:3"])
        .output()
        .unwrap();
    fails_with(&res, 2, &["cut.jpg"]);
}

/// Runs a chain over a 0.1 s input and requires it to finish (or be refused) quickly.
fn quick(dir: &Path, stages: &[&str], limit: Duration) -> std::process::Output {
    let i = dir.join("short.wav");
    if !i.exists() {
        write_wav(&i, &[vec![0.1; 4800]], 48_000, 16, false);
    }
    let child = convoy()
        .args(["run", "-q", "-i", s(&i), "-o", "/dev/null"])
        .args(stages)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_within(child, limit, &format!("{stages:?}"))
}

#[test]
fn item_10_stage_words_at_the_limits_are_cheap_or_refused_up_front() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let res = quick(d, &["savgol:5001,2500"], Duration::from_secs(30));
    assert!(res.status.success(), "{}", stderr(&res));
    fails_with(
        &quick(d, &["savgol:100001,99999"], Duration::from_secs(10)),
        2,
        &["limit"],
    );
    fails_with(
        &quick(d, &["ma:134217727"], Duration::from_secs(10)),
        2,
        &["limit"],
    );
    let res = convoy()
        .args(["run", "-i", s(&d.join("short.wav")), "--explain"])
        .args(["ma:100000000", "ma:100000000"])
        .output()
        .unwrap();
    fails_with(&res, 2, &["limit"]);
    // A delay is a shift: ten million frames of silence, no kernel.
    let res = quick(d, &["delay:10000000"], Duration::from_secs(60));
    assert!(res.status.success(), "{}", stderr(&res));
    let out = d.join("delayed.wav");
    let res = convoy()
        .args(["run", "-q", "-i", s(&d.join("short.wav")), "-o", s(&out)])
        .args(["delay:1s", "ma:3"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let (_, y) = read_wav(&out);
    assert_eq!(y[0].len(), 4800 + 48_000);
    // ma:3 (mode=same) takes its one-sample centring off the delayed stream.
    assert!(y[0][..47_999].iter().all(|&v| v == 0.0));
    assert!((y[0][48_000 + 100] - 0.1).abs() < 1e-4);
}

#[test]
fn item_11_one_nan_sample_does_not_silence_denoise_or_dehum() {
    let dir = TempDir::new().unwrap();
    let n = 48_000 * 3;
    let mut rng = Rng(9);
    // Bursts of tone over a noise floor: something a denoiser keeps.
    let x: Vec<f64> = (0..n)
        .map(|i| {
            let on = (i / 6000) % 2 == 0;
            (if on {
                0.3 * (i as f64 * 0.05).sin()
            } else {
                0.0
            }) + 0.01 * rng.next()
        })
        .collect();
    let write = |name: &str, nan: bool| {
        let text: String = x
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if nan && i == 24_000 {
                    "nan\n".to_string()
                } else {
                    format!("{v}\n")
                }
            })
            .collect();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    };
    let clean = write("clean.txt", false);
    let dirty = write("dirty.txt", true);
    let run = |input: &Path, stage: &str| -> (Vec<f64>, String) {
        let out = dir.path().join("y.txt");
        let res = convoy()
            .args([
                "run",
                "-i",
                s(input),
                "--rate",
                "48000",
                "-o",
                s(&out),
                stage,
            ])
            .output()
            .unwrap();
        assert!(res.status.success(), "{stage}: {}", stderr(&res));
        let y = fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse::<f64>().unwrap_or(f64::NAN))
            .collect();
        (y, stderr(&res))
    };
    for stage in ["denoise", "dehum:50"] {
        let (want, _) = run(&clean, stage);
        let (got, err) = run(&dirty, stage);
        assert_eq!(got.len(), n, "{stage}");
        let bad = got.iter().filter(|v| !v.is_finite()).count();
        assert_eq!(bad, 0, "{stage}: {bad} non-finite outputs");
        // The last second is as loud as without the NaN: the channel goes on.
        let power = |y: &[f64]| y[n - 48_000..].iter().map(|v| v * v).sum::<f64>();
        let ratio_db = 10.0 * (power(&got) / power(&want)).log10();
        assert!(
            ratio_db.abs() < 1.0,
            "{stage}: {ratio_db:.2} dB after the NaN"
        );
        assert!(
            err.contains("non-finite"),
            "{stage}: the summary says so: {err}"
        );
    }
}
