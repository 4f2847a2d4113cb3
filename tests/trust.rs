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
        if code != Some(0) && taken == 0 {
            // Stopped before a byte was read: nothing to keep.
            continue;
        }
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
    // A result big enough to take a while to write as text (millions of values).
    let n: usize = 1 << 22;
    let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 997.0).collect();
    let sig = dir.path().join("x.npy");
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(&sig, npy("<f8", false, &format!("({n},)"), &bytes)).unwrap();
    let out = dir.path().join("y.txt");
    fs::write(&out, b"old").unwrap();
    let child = convoy()
        .args(["convolve", s(&sig), "0.5 0.25", "-o", s(&out)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while the temp file is being written.
    let start = Instant::now();
    while leftovers(dir.path()).is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let caught = !leftovers(dir.path()).is_empty();
    signal(&child, rustix::process::Signal::INT);
    let res = wait_within(child, Duration::from_secs(60), "convolve after Ctrl-C");
    match res.status.code() {
        Some(130) => assert_eq!(fs::read(&out).unwrap(), b"old"),
        // It finished first (the signal came after the rename): a complete output is fine.
        Some(0) => assert!(!caught || fs::read(&out).unwrap() != b"old"),
        other => panic!("exit {other:?}: {}", stderr(&res)),
    }
    assert!(caught, "the write was never seen under way");
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
    // The limit is on taps x channels too: 64 channels of a 2^22-tap average are refused
    // before anything is allocated.
    let mut child = convoy()
        .args(["run", "-i", "-", "--in-format", "f32le", "--rate", "48000"])
        .args(["--channels", "64", "-o", "/dev/null", "ma:4194304"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(&[0u8; 64 * 4 * 100]);
    let res = wait_within(child, Duration::from_secs(10), "64 channels of 2^22 taps");
    fails_with(&res, 2, &["taps x channels"]);
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

/// Writes a WAV byte by byte (formats hound cannot: 64-bit float, empty data chunks).
fn raw_wav(path: &Path, tag: u16, bits: u16, channels: u16, chunks: &[&[u8]]) {
    let align = channels * bits / 8;
    let mut body = Vec::new();
    body.extend_from_slice(b"WAVEfmt ");
    body.extend_from_slice(&18u32.to_le_bytes());
    body.extend_from_slice(&tag.to_le_bytes());
    body.extend_from_slice(&channels.to_le_bytes());
    body.extend_from_slice(&48_000u32.to_le_bytes());
    body.extend_from_slice(&(48_000 * u32::from(align)).to_le_bytes());
    body.extend_from_slice(&align.to_le_bytes());
    body.extend_from_slice(&bits.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    for data in chunks {
        body.extend_from_slice(b"data");
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
    }
    let mut f = b"RIFF".to_vec();
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(&body);
    fs::write(path, f).unwrap();
}

fn out_text(res: &std::process::Output) -> String {
    assert!(res.status.success(), "{}", stderr(res));
    String::from_utf8_lossy(&res.stdout).trim().to_string()
}

#[test]
fn item_12_one_reader_for_every_command() {
    let dir = TempDir::new().unwrap();
    let a = tone_wav(dir.path(), "a.wav", 1000, 1, 16);
    // convoy's own stdout WAV (streaming sizes) is read by convolve and plot.
    let res = convoy()
        .args(["run", "-q", "-i", s(&a), "-o", "-", "ma:3"])
        .output()
        .unwrap();
    assert!(res.status.success());
    let piped = dir.path().join("s.wav");
    fs::write(&piped, &res.stdout).unwrap();
    let res = convoy()
        .args([
            "convolve",
            s(&piped),
            "1",
            "-o",
            s(&dir.path().join("c.txt")),
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(
        fs::read_to_string(dir.path().join("c.txt"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    let res = convoy()
        .args(["plot", s(&piped), "-o", s(&dir.path().join("p.png"))])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    // 64-bit float keeps every bit through convolve, and as taps:@ and through run.
    let values = [1.0f64 + 1e-12, -0.5, 0.25];
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let f64wav = dir.path().join("f64.wav");
    raw_wav(&f64wav, 3, 64, 1, &[&bytes]);
    let res = convoy()
        .args(["convolve", s(&f64wav), "1"])
        .output()
        .unwrap();
    assert_eq!(out_text(&res), "1.000000000001 -0.5 0.25");
    // An empty data chunk before the real one: its header is not read as samples.
    let two = dir.path().join("two.wav");
    let pcm: Vec<u8> = [1000i16, -2000, 3000]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    raw_wav(&two, 1, 16, 1, &[&[], &pcm]);
    let res = convoy().args(["convolve", s(&two), "1"]).output().unwrap();
    assert_eq!(
        out_text(&res),
        "0.030517578125 -0.06103515625 0.091552734375"
    );
    let out = dir.path().join("two_out.wav");
    let res = convoy()
        .args(["run", "-q", "-i", s(&two), "-o", s(&out), "gain:1"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(read_wav(&out).1[0].len(), 3);
    // f64 beyond f32's range: kept in f64 by default; to f32 clipped and counted, with a hint.
    let big: Vec<u8> = [1e300f64, 0.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bigwav = dir.path().join("big.wav");
    raw_wav(&bigwav, 3, 64, 1, &[&big]);
    let res = convoy()
        .args([
            "run",
            "-i",
            s(&bigwav),
            "-o",
            s(&out),
            "--bits",
            "f32",
            "gain:1",
        ])
        .output()
        .unwrap();
    let err = stderr(&res);
    assert!(res.status.success(), "{err}");
    assert!(err.contains("1 clipped"), "{err}");
    assert!(err.contains("range"), "{err}");
}

/// The DC gain `--explain` prints for a chain on `input`.
fn explained_dc(input: &Path, stage: &str) -> f64 {
    let res = convoy()
        .args(["run", "-i", s(input), "--explain", stage])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&res.stdout).to_string();
    assert!(res.status.success(), "{}", stderr(&res));
    let db = text
        .split("DC gain ")
        .nth(1)
        .and_then(|t| t.split(" dB").next())
        .unwrap_or_else(|| panic!("no DC gain in {text}"));
    db.trim().parse().unwrap()
}

#[test]
fn item_13_a_resampled_ir_keeps_its_gain() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 4800, 1, 16);
    for rate in [24_000u32, 96_000] {
        let ir = dir.path().join(format!("ma5_{rate}.wav"));
        common::write_wav(&ir, &[vec![0.2; 5]], rate, 32, true);
        let db = explained_dc(&input, &format!("fir:{},resample=yes", s(&ir)));
        assert!(db.abs() < 0.05, "from {rate} Hz: DC gain {db} dB");
    }
}

#[test]
fn item_14_a_minus_3_db_point_the_design_cannot_reach_is_refused() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 4800, 1, 16);
    let res = convoy()
        .args([
            "run",
            "-i",
            s(&input),
            "-o",
            "/dev/null",
            "lowpass:100,taps=31",
        ])
        .output()
        .unwrap();
    fails_with(&res, 2, &["31 taps", "100 Hz", "taps"]);
    // The default design reaches its edge.
    let res = convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&input),
            "-o",
            "/dev/null",
            "lowpass:100",
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
}

fn npy_f64(path: &Path, shape: &[usize], data: &[f64]) {
    let tuple = if shape.len() == 1 {
        format!("({},)", shape[0])
    } else {
        format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(path, npy("<f8", false, &tuple, &bytes)).unwrap();
}

fn npy_values(path: &Path) -> Vec<f64> {
    let bytes = fs::read(path).unwrap();
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[10 + len..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn item_15_nan_in_n_d_lands_where_scipy_puts_it() {
    let dir = TempDir::new().unwrap();
    let img = dir.path().join("img.npy");
    let mut data = vec![0.5; 300 * 300];
    data[100 * 300 + 100] = f64::NAN;
    npy_f64(&img, &[300, 300], &data);
    let out = dir.path().join("y.npy");
    // scipy.ndimage.convolve(img, ones((41, 41)) / 41**2, mode='reflect'): 1681 NaN.
    let res = convoy()
        .args([
            "convolve",
            s(&img),
            "box:41",
            "--ndimage-mode",
            "reflect",
            "-o",
            s(&out),
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(npy_values(&out).iter().filter(|v| v.is_nan()).count(), 1681);
    // A Laplacian over one NaN: convolve2d multiplies its zeros too (9 NaN), ndimage leaves
    // zero weights out (5 NaN).
    let small = dir.path().join("small.npy");
    let mut d = vec![0.0; 100];
    d[55] = f64::NAN;
    npy_f64(&small, &[10, 10], &d);
    let res = convoy()
        .args([
            "convolve",
            s(&small),
            "laplace",
            "--mode",
            "same",
            "-o",
            s(&out),
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(npy_values(&out).iter().filter(|v| v.is_nan()).count(), 9);
    let res = convoy()
        .args([
            "convolve",
            s(&small),
            "laplace",
            "--ndimage-mode",
            "reflect",
            "-o",
            s(&out),
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(npy_values(&out).iter().filter(|v| v.is_nan()).count(), 5);
}

/// A 4-channel (LL, LR, RL, RR) IR of `taps` taps with distinct paths.
fn true_stereo_ir(dir: &Path) -> PathBuf {
    let ir = dir.join("ts.wav");
    let paths = vec![
        vec![0.5, 0.0, 0.0, 0.0],
        vec![0.0, 0.25, 0.0, 0.0],
        vec![0.0, 0.0, 0.125, 0.0],
        vec![0.0, 0.0, 0.0, 0.0625],
    ];
    common::write_wav(&ir, &paths, 48_000, 32, true);
    ir
}

#[test]
fn item_16_response_draws_a_true_stereo_ir_direct_path() {
    let dir = TempDir::new().unwrap();
    let ir = true_stereo_ir(dir.path());
    let res = convoy()
        .args([
            "response",
            &format!("fir:{}", s(&ir)),
            "--csv",
            "--points",
            "4",
        ])
        .output()
        .unwrap();
    let text = out_text(&res);
    // LL = 0.5 * delta: -6.02 dB everywhere.
    for line in text.lines().skip(1) {
        let db: f64 = line.split(',').nth(1).unwrap().parse().unwrap();
        assert!((db - 20.0 * 0.5f64.log10()).abs() < 1e-6, "{line}");
    }
    let res = convoy()
        .args([
            "response",
            &format!("fir:{}", s(&ir)),
            "-o",
            s(&dir.path().join("r.png")),
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
}

#[test]
fn item_17_a_mono_voice_through_a_stereo_or_true_stereo_ir() {
    let dir = TempDir::new().unwrap();
    let mono = dir.path().join("mono.wav");
    common::write_wav(&mono, &[vec![1.0, 0.0, 0.0, 0.0, 0.5]], 48_000, 32, true);
    let stereo_ir = dir.path().join("st.wav");
    common::write_wav(
        &stereo_ir,
        &[vec![1.0, 0.5], vec![0.25, 0.0]],
        48_000,
        32,
        true,
    );
    let out = dir.path().join("o.wav");
    let res = convoy()
        .args(["run", "-q", "-i", s(&mono), "-o", s(&out)])
        .arg(format!("fir:{}", s(&stereo_ir)))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let (spec, y) = read_wav(&out);
    assert_eq!(spec.channels, 2);
    assert_eq!(y[0], vec![1.0, 0.5, 0.0, 0.0, 0.5, 0.25]);
    assert_eq!(y[1], vec![0.25, 0.0, 0.0, 0.0, 0.125, 0.0]);
    // True stereo on mono: out_L = x*(LL+RL), out_R = x*(LR+RR).
    let ts = true_stereo_ir(dir.path());
    let res = convoy()
        .args(["run", "-q", "-i", s(&mono), "-o", s(&out)])
        .arg(format!("fir:{}", s(&ts)))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let (spec, y) = read_wav(&out);
    assert_eq!(spec.channels, 2);
    assert_eq!(&y[0][..4], &[0.5, 0.0, 0.125, 0.0]);
    assert_eq!(&y[1][..4], &[0.0, 0.25, 0.0, 0.0625]);
    // --help says so.
    let help = convoy().args(["run", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("mono input through an N-channel"));
}

#[test]
fn item_18_an_impulse_response_is_causal_by_default() {
    let dir = TempDir::new().unwrap();
    // A click at 0.1 s through a 0.5 s decaying IR.
    let mut x = vec![0.0; 48_000];
    x[4800] = 0.5;
    let click = dir.path().join("click.wav");
    common::write_wav(&click, &[x], 48_000, 32, true);
    let ir: Vec<f64> = (0..24_000)
        .map(|i| (-(i as f64) / 3000.0).exp() * 0.5)
        .collect();
    let irp = dir.path().join("hall.wav");
    common::write_wav(&irp, &[ir], 48_000, 32, true);
    let out = dir.path().join("wet.wav");
    let res = convoy()
        .args(["run", "-q", "-i", s(&click), "-o", s(&out)])
        .arg(format!("fir:{}", s(&irp)))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let y = &read_wav(&out).1[0];
    assert_eq!(
        y.len(),
        48_000 + 24_000 - 1,
        "full length: the tail is kept"
    );
    // Nothing before the click (the FFT engine's round-off aside).
    let early = y[..4800].iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(early < 1e-6, "{early} before the click");
    assert!(
        (y[4800] - 0.25).abs() < 1e-6,
        "the direct sound where it was"
    );
}

#[test]
fn item_19_a_no_op_chain_on_16_bit_is_bit_exact() {
    let dir = TempDir::new().unwrap();
    let a = tone_wav(dir.path(), "a16.wav", 20_000, 2, 16);
    let b = dir.path().join("b.wav");
    for stages in [vec!["gain:0db"], vec![], vec!["gain:1", "delay:0"]] {
        let res = convoy()
            .args(["run", "-q", "-i", s(&a), "-o", s(&b)])
            .args(&stages)
            .output()
            .unwrap();
        assert!(res.status.success(), "{}", stderr(&res));
        assert_eq!(read_wav(&b).1, read_wav(&a).1, "{stages:?}");
    }
    // --dither none rounds; tpdf (the default) dithers only what is off the grid.
    let res = convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&a),
            "-o",
            s(&b),
            "--dither",
            "none",
            "gain:0.5",
        ])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let (_, half) = read_wav(&b);
    let (_, orig) = read_wav(&a);
    for (h, o) in half[0].iter().zip(&orig[0]) {
        let want = (o * 0.5 * 32768.0).round() / 32768.0;
        assert_eq!(*h, want);
    }
}

#[test]
fn item_20_text_frames_keep_f64_precision() {
    let mut child = convoy()
        .args([
            "run",
            "-q",
            "-i",
            "-",
            "--rate",
            "100",
            "-o",
            "-",
            "--out-format",
            "text",
        ])
        .arg("gain:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"1700000000.1\n3\n0.1\n")
        .unwrap();
    let res = child.wait_with_output().unwrap();
    assert_eq!(out_text(&res), "1700000000.1\n3\n0.1");
}

#[test]
fn item_21_forgetting_i_or_o_on_a_terminal_is_refused() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 1000, 1, 16);
    let bin = common::bin();
    // `script` gives the command a terminal for stdin and stdout.
    let run = |cmd: String| {
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let res = run(format!("{} run -i {} ma:9", bin.display(), s(&input)));
    let text = String::from_utf8_lossy(&res.stdout).to_string();
    assert!(text.contains("no output"), "{text}");
    assert!(
        !text.contains("RIFF"),
        "binary went to the terminal: {text}"
    );
    let res = run(format!(
        "timeout 10 {} run -o {} ma:9",
        bin.display(),
        s(&dir.path().join("o.wav"))
    ));
    let text = String::from_utf8_lossy(&res.stdout).to_string();
    assert!(text.contains("no input"), "{text}");
    // Text is fine on a terminal.
    let res = run(format!(
        "{} run -i {} -o - --out-format text gain:1 | head -1",
        bin.display(),
        s(&input)
    ));
    assert!(res.status.success());
}

#[test]
fn item_22_chain_files_resolve_paths_from_their_folder_and_name_the_line() {
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 2000, 1, 16);
    let sub = dir.path().join("presets");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("k.txt"), "0.25 0.5 0.25\n").unwrap();
    common::write_wav(&sub.join("ir.wav"), &[vec![1.0, 0.5]], 48_000, 32, true);
    fs::write(
        sub.join("chain.txt"),
        "# smoothing\ntaps:@k.txt\nfir:ir.wav\n",
    )
    .unwrap();
    let out = dir.path().join("o.wav");
    let res = convoy()
        .current_dir(dir.path())
        .args(["run", "-q", "-i", s(&input), "-o", s(&out), "--chain"])
        .arg(sub.join("chain.txt"))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    fs::write(sub.join("bad.txt"), "ma:3\n\nlowpas:100\n").unwrap();
    let res = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out), "--chain"])
        .arg(sub.join("bad.txt"))
        .output()
        .unwrap();
    fails_with(&res, 2, &["bad.txt line 3", "lowpas:100", "lowpass"]);
}

#[test]
fn item_23_plot_refuses_other_formats_and_writes_png_to_stdout() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("d.txt");
    let text: String = (0..2000)
        .map(|i| format!("{}\n", (i as f64 * 0.01).sin()))
        .collect();
    fs::write(&data, text).unwrap();
    for bad in ["p.svg", "p.txt"] {
        let res = convoy()
            .args(["plot", s(&data), "-o", s(&dir.path().join(bad))])
            .output()
            .unwrap();
        fails_with(&res, 2, &["PNG"]);
        assert!(!dir.path().join(bad).exists());
    }
    let res = convoy()
        .current_dir(dir.path())
        .args(["plot", s(&data), "-o", "-"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(res.stdout.starts_with(b"\x89PNG"));
    assert!(!dir.path().join("-").exists());
}

#[test]
fn item_25_one_vocabulary_for_run_and_convolve() {
    let res = convoy()
        .args(["convolve", "1 2 3 4 5", "ma:3", "--mode", "same"])
        .output()
        .unwrap();
    let ma = out_text(&res);
    let res = convoy()
        .args(["convolve", "1 2 3 4 5", "box:3", "--mode", "same"])
        .output()
        .unwrap();
    assert_eq!(out_text(&res), ma);
    let res = convoy()
        .args(["convolve", "1 2 3 4 5", "taps:0.25 0.5 0.25"])
        .output()
        .unwrap();
    assert_eq!(out_text(&res), "0.25 1 2 3 4 3.5 1.25");
    // gauss: the same taps in both commands (scipy.ndimage's truncate=4 support).
    let res = convoy()
        .args(["convolve", "1", "gauss:1.1"])
        .output()
        .unwrap();
    assert_eq!(out_text(&res).split(' ').count(), 9);
    let dir = TempDir::new().unwrap();
    let input = tone_wav(dir.path(), "in.wav", 1000, 1, 16);
    let res = convoy()
        .args([
            "run",
            "-i",
            s(&input),
            "--explain",
            "gauss:1.1",
            "taps:0.25 0.5 0.25",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&res.stdout).to_string();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        text.contains("gauss:1.1                  9 taps") || text.contains(" 9 taps"),
        "{text}"
    );
    let help = convoy().args(["convolve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    for name in ["ma:N", "box:N", "gauss:SIGMA", "savgol:W,ORDER", "sobel-x"] {
        assert!(help.contains(name), "convolve --help lacks {name}");
    }
}

#[test]
fn item_26_output_details() {
    let dir = TempDir::new().unwrap();
    // convolve's WAV: plain float fmt with cbSize (no extensible header sox complains about).
    let w = dir.path().join("x.wav");
    let res = convoy()
        .args(["convolve", "0.1 0.2 0.3", "1 1", "-o", s(&w)])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    let bytes = fs::read(&w).unwrap();
    assert_eq!(&bytes[12..16], b"fmt ");
    assert_eq!(u32::from_le_bytes(bytes[16..20].try_into().unwrap()), 18);
    assert_eq!(u16::from_le_bytes([bytes[20], bytes[21]]), 3);
    // A replaced output keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    let t = dir.path().join("y.txt");
    fs::write(&t, "old").unwrap();
    fs::set_permissions(&t, fs::Permissions::from_mode(0o600)).unwrap();
    let res = convoy()
        .args(["convolve", "1 2", "1", "-o", s(&t)])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(
        fs::metadata(&t).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // stdout closed before the start: an error, not a silent success.
    let input = tone_wav(dir.path(), "in.wav", 100, 1, 16);
    let res = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} run -i {} -o - ma:3 >&-",
            common::bin().display(),
            s(&input)
        ))
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(1), "{}", stderr(&res));
    assert!(
        stderr(&res).contains("stdout is closed"),
        "{}",
        stderr(&res)
    );
    // Clipping comes with a hint.
    let out = dir.path().join("loud.wav");
    let res = convoy()
        .args(["run", "-i", s(&input), "-o", s(&out), "gain:40db"])
        .output()
        .unwrap();
    let err = stderr(&res);
    assert!(
        err.contains("clipped") && err.contains("--bits f32"),
        "{err}"
    );
}
