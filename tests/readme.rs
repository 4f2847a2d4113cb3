//! Every `convoy` command in README.md runs as written (issue 14, item 24), in a folder of
//! stand-in files with the names the README uses, with `convoy` and a `sensor` program on the
//! PATH. Where the README shows the output, it must be exactly that. Live examples run against
//! ALSA devices that read /dev/zero and discard what they play (tests/live/asound-readme.conf);
//! those that run "until Ctrl-C" get one after a second. The build and test commands at the
//! top (`.ci/deps && cargo run ...`, `cargo test`) are CI's own first steps; the benchmark
//! reproducers (python3, hyperfine) need numpy/scipy and are run by hand.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A README example: the command line and, when the README shows it, its output.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    shown: Vec<String>,
}

/// The `$ ...` lines of console blocks (with the output shown under them) and the `convoy`
/// lines of sh blocks.
fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut block: Option<&str> = None;
    for (i, raw) in readme.lines().enumerate() {
        let line = raw.trim_end();
        if let Some(lang) = line.strip_prefix("```") {
            block = if block.is_some() { None } else { Some(lang) };
            continue;
        }
        match block {
            Some("console") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    out.push(Example {
                        line: i + 1,
                        command: cmd.to_string(),
                        shown: Vec::new(),
                    });
                } else if let Some(last) = out.last_mut() {
                    last.shown.push(line.to_string());
                }
            }
            Some("sh") if line.starts_with("convoy ") => out.push(Example {
                line: i + 1,
                command: line.to_string(),
                shown: Vec::new(),
            }),
            _ => {}
        }
    }
    out
}

/// Stand-ins for every file the README's examples read.
fn fixtures(dir: &Path) {
    let rate = 48_000;
    let mut rng = common::Rng(17);
    let tone = |n: usize, f: f64, rng: &mut common::Rng| -> Vec<f64> {
        (0..n)
            .map(|i| {
                0.3 * (i as f64 * f * 2.0 * std::f64::consts::PI / 48_000.0).sin()
                    + 0.02 * rng.next()
            })
            .collect()
    };
    for name in ["noisy.wav", "dry.wav", "in.wav", "song.wav", "take.wav"] {
        let x = tone(rate, 440.0, &mut rng);
        common::write_wav(&dir.join(name), &[x], rate as u32, 16, false);
    }
    // Batch examples: a folder of recordings (one FLAC a level down), a list, an IR.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let flac = repo.join("tests/data/formats/s16.flac");
    fs::copy(&flac, dir.join("take.flac")).unwrap();
    fs::create_dir_all(dir.join("recordings/day2")).unwrap();
    let x = tone(rate / 2, 330.0, &mut rng);
    common::write_wav(&dir.join("recordings/a.wav"), &[x], rate as u32, 16, false);
    // A FLAC at the IR's rate, written by convoy itself.
    let made = common::convoy()
        .args(["run", "-q", "-i"])
        .arg(dir.join("recordings/a.wav"))
        .arg("-o")
        .arg(dir.join("recordings/day2/b.flac"))
        .status()
        .unwrap();
    assert!(made.success());
    fs::write(
        dir.join("todo.txt"),
        "recordings/a.wav\nrecordings/day2/b.flac\n",
    )
    .unwrap();
    let noise: Vec<f64> = (0..rate).map(|_| 0.02 * rng.next()).collect();
    common::write_wav(&dir.join("noise.wav"), &[noise], rate as u32, 16, false);
    let hall: Vec<f64> = (0..4800)
        .map(|i| (-(i as f64) / 800.0).exp() * rng.next() * 0.5)
        .collect();
    common::write_wav(
        &dir.join("hall.wav"),
        std::slice::from_ref(&hall),
        rate as u32,
        32,
        true,
    );
    common::write_wav(&dir.join("room.wav"), &[hall], rate as u32, 32, true);
    let column = |n: usize, rng: &mut common::Rng| -> String {
        (0..n).map(|_| format!("{}\n", rng.next())).collect()
    };
    fs::write(dir.join("noisy.txt"), column(500, &mut rng)).unwrap();
    fs::write(dir.join("smooth.txt"), column(500, &mut rng)).unwrap();
    fs::write(dir.join("data.txt"), column(50, &mut rng)).unwrap();
    let log: String = (0..200)
        .map(|i| format!("{},{},{}\n", i as f64 * 0.01, rng.next(), 20.0 + rng.next()))
        .collect();
    fs::write(dir.join("log.csv"), format!("time,value,temp\n{log}")).unwrap();
    let grid = |rows: usize, cols: usize, rng: &mut common::Rng| -> String {
        (0..rows)
            .map(|_| {
                let row: Vec<String> = (0..cols).map(|_| format!("{:.3}", rng.next())).collect();
                row.join(" ") + "\n"
            })
            .collect()
    };
    fs::write(dir.join("img.txt"), grid(20, 30, &mut rng)).unwrap();
    fs::write(dir.join("k.txt"), grid(3, 3, &mut rng)).unwrap();
    // A 3-D volume as .npy (6 x 7 x 8 float64).
    let n = 6 * 7 * 8;
    let mut dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (6, 7, 8), }".to_string();
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    npy.extend_from_slice(dict.as_bytes());
    for i in 0..n {
        npy.extend_from_slice(&((i % 13) as f64).to_le_bytes());
    }
    fs::write(dir.join("vol.npy"), npy).unwrap();
    // photo.png: the repository's own picture.
    fs::copy(repo.join("docs/response.png"), dir.join("photo.png")).unwrap();
    std::os::unix::fs::symlink(repo.join("samples"), dir.join("samples")).unwrap();
    fs::create_dir(dir.join("docs")).unwrap();
    fs::create_dir(dir.join("target")).unwrap();
}

/// A folder for the PATH: `convoy`, and `sensor` (text frames, as a sensor would send them).
fn path_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(common::bin(), bin.join("convoy")).unwrap();
    let sensor = bin.join("sensor");
    fs::write(
        &sensor,
        "#!/bin/sh\nawk 'BEGIN { for (i = 0; i < 300; i++) print sin(i / 10) + (i % 7) / 50 }'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&sensor, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn item_24_every_readme_command_runs_as_written() {
    // The shells below get a Ctrl-C when a command must be stopped.
    common::default_signals();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(repo.join("README.md")).unwrap();
    let all = examples(&readme);
    assert!(all.len() >= 30, "found only {} examples", all.len());
    let dir = tempfile::TempDir::new().unwrap();
    fixtures(dir.path());
    let bin = path_dir(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let alsa = repo.join("tests/live/asound-readme.conf");
    let mut failures = Vec::new();
    for ex in &all {
        // Commands that run until Ctrl-C: live input with no --duration.
        let live_in = ex.command.contains("-i mic");
        let endless = live_in && !ex.command.contains("--duration");
        use std::os::unix::process::CommandExt;
        // An endless command is the shell's last: `exec` it, so Ctrl-C reaches convoy alone.
        let script = if endless {
            format!("exec {}", ex.command)
        } else {
            ex.command.clone()
        };
        let mut child = Command::new("sh")
            .process_group(0)
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("ALSA_CONFIG_PATH", &alsa)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut interrupted = false;
        while child.try_wait().unwrap().is_none() {
            let group = rustix::process::Pid::from_raw(child.id() as i32);
            if endless && !interrupted && start.elapsed() > Duration::from_secs(1) {
                // Ctrl-C, as a terminal sends it: to the command's process group.
                if let Some(g) = group {
                    let _ = rustix::process::kill_process_group(g, rustix::process::Signal::INT);
                }
                interrupted = true;
            }
            if start.elapsed() > Duration::from_secs(60) {
                if let Some(g) = group {
                    let _ = rustix::process::kill_process_group(g, rustix::process::Signal::KILL);
                }
                failures.push(format!(
                    "README.md:{}: `{}` did not end",
                    ex.line, ex.command
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shows_error = ex
            .shown
            .first()
            .is_some_and(|l| l.starts_with("convoy: error"));
        let ok = if shows_error {
            out.status.code() == Some(2)
        } else {
            out.status.success()
        };
        if !ok {
            failures.push(format!(
                "README.md:{}: `{}` exited {:?}: {}",
                ex.line,
                ex.command,
                out.status.code(),
                stderr.trim()
            ));
            continue;
        }
        if ex.shown.is_empty() {
            continue;
        }
        let got: Vec<&str> = if shows_error {
            stderr.lines().collect()
        } else {
            stdout.lines().collect()
        };
        if ex.command.starts_with("convoy bench") {
            // Timings are the machine's: the same report, line for line by its labels.
            let labels = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
            let want: Vec<String> = ex.shown.iter().map(|l| labels(l)).collect();
            let have: Vec<String> = got.iter().map(|l| labels(l)).collect();
            if want != have {
                failures.push(format!("README.md:{}: bench report {have:?}", ex.line));
            }
            continue;
        }
        if got != ex.shown {
            failures.push(format!(
                "README.md:{}: `{}` printed\n{}\nbut the README shows\n{}",
                ex.line,
                ex.command,
                got.join("\n"),
                ex.shown.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
