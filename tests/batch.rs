//! Batch runs (`convoy run -i GLOB|DIR|@LIST -o FOLDER`): every input lands at its relative
//! path, byte for byte what a single run gives; bad files are reported and the rest go on;
//! `--resume` skips complete outputs and redoes partial ones; shards split a corpus exactly;
//! Ctrl-C leaves nothing half-written. Plus, through the library, the two facts batch relies on:
//! copies of a built chain share its kernel transforms, and `Chain::frames_out` is the length
//! a run gives.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Rng, convoy, fails_with, stderr, write_wav};
use tempfile::TempDir;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A float WAV of noise (float: no dither, so runs are comparable byte for byte).
fn noise_wav(path: &Path, frames: usize, channels: usize, rate: u32, seed: u64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rng = Rng(seed);
    let data: Vec<Vec<f64>> = (0..channels)
        .map(|_| (0..frames).map(|_| 0.3 * rng.next()).collect())
        .collect();
    write_wav(path, &data, rate, 32, true);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name)
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn go(d: &Path, base: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                go(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        go(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// The report's lines as (input, status, frames, error-or-empty), by simple field extraction
/// (the values convoy writes contain no commas or quotes in these tests).
fn report(path: &Path) -> Vec<(String, String, u64, String)> {
    let field = |line: &str, key: &str| -> String {
        let at = line
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing: {line}"));
        let rest = &line[at + key.len() + 3..];
        if let Some(q) = rest.strip_prefix('"') {
            q[..q.find('"').unwrap()].to_string()
        } else {
            rest[..rest.find([',', '}']).unwrap()].to_string()
        }
    };
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            assert!(l.starts_with('{') && l.ends_with('}'), "{l}");
            (
                field(l, "input"),
                field(l, "status"),
                field(l, "frames").parse().unwrap(),
                field(l, "error"),
            )
        })
        .collect()
}

#[test]
fn a_folder_is_mirrored_and_each_output_is_what_a_single_run_gives() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    noise_wav(&rec.join("a.wav"), 30_000, 2, 48_000, 1);
    noise_wav(&rec.join("sub/b.wav"), 12_345, 1, 44_100, 2);
    fs::create_dir_all(rec.join("sub/deep")).unwrap();
    fs::copy(fixture("s16.flac"), rec.join("sub/deep/c.flac")).unwrap();
    fs::copy(fixture("s16.mp3"), rec.join("d.mp3")).unwrap();
    noise_wav(&rec.join(".hidden.wav"), 100, 1, 48_000, 3);
    fs::write(rec.join("notes.txt"), "not audio\n").unwrap();
    // The output folder inside the input folder: never taken as input.
    let out = rec.join("cleaned");
    noise_wav(&out.join("old.wav"), 100, 1, 48_000, 4);
    let chain = ["lowpass:3000", "ma:5"];
    let res = convoy()
        .args(["run", "-i", s(&rec), "-o", s(&out), "--jobs", "2"])
        .args(chain)
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        stderr(&res).contains("4 file(s): 4 done, 0 failed"),
        "{}",
        stderr(&res)
    );
    assert_eq!(
        tree(&out),
        ["a.wav", "d.wav", "old.wav", "sub/b.wav", "sub/deep/c.flac"]
    );
    let single = dir.path().join("single");
    fs::create_dir_all(&single).unwrap();
    for (input, output) in [
        ("a.wav", "a.wav"),
        ("sub/b.wav", "sub/b.wav"),
        ("sub/deep/c.flac", "sub/deep/c.flac"),
        ("d.mp3", "d.wav"),
    ] {
        let one = single.join(output.replace('/', "_"));
        let r = convoy()
            .args(["run", "-q", "-i", s(&rec.join(input)), "-o", s(&one)])
            .args(chain)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", stderr(&r));
        assert!(
            fs::read(out.join(output)).unwrap() == fs::read(&one).unwrap(),
            "{input}: the batch output differs from a single run's"
        );
    }
}

#[test]
fn globs_and_lists_name_their_inputs_and_keep_relative_paths() {
    let dir = TempDir::new().unwrap();
    for f in ["rec/x/1.wav", "rec/x/y/2.wav", "rec/3.wav", "other/4.wav"] {
        noise_wav(&dir.path().join(f), 1000, 1, 48_000, 5);
    }
    let run = |input: &str, out: &str| {
        let r = convoy()
            .current_dir(dir.path())
            .args(["run", "-q", "-i", input, "-o", out, "gain:1"])
            .output()
            .unwrap();
        assert!(r.status.success(), "{input}: {}", stderr(&r));
        tree(&dir.path().join(out))
    };
    assert_eq!(run("rec/**/*.wav", "g"), ["3.wav", "x/1.wav", "x/y/2.wav"]);
    assert_eq!(run("rec/x/*.wav", "g1"), ["1.wav"]);
    // A list of plain relative paths keeps them as written; with an absolute or `..` path,
    // every entry is placed under the list's common folder.
    fs::write(
        dir.path().join("l.txt"),
        "# two files\nrec/x/1.wav\n\nother/4.wav\n",
    )
    .unwrap();
    assert_eq!(run("@l.txt", "l"), ["other/4.wav", "rec/x/1.wav"]);
    let abs = dir.path().join("rec/x/y/2.wav");
    fs::write(
        dir.path().join("m.txt"),
        format!("{}\nrec/x/1.wav\n", abs.display()),
    )
    .unwrap();
    assert_eq!(run("@m.txt", "m"), ["1.wav", "y/2.wav"]);
}

#[test]
fn a_bad_file_is_reported_and_the_others_go_on() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    noise_wav(&rec.join("good1.wav"), 5000, 2, 48_000, 6);
    noise_wav(&rec.join("good2.wav"), 7000, 2, 48_000, 7);
    fs::write(rec.join("bad.wav"), b"RIFF\x10\x00\x00\x00WAVEjunk").unwrap();
    fs::copy(fixture("s16.opus"), rec.join("e.opus")).unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("log.jsonl");
    let res = convoy()
        .args(["run", "-i", s(&rec), "-o", s(&out), "--report", s(&log)])
        .args(["ma:3,mode=full"])
        .output()
        .unwrap();
    let err = stderr(&res);
    // One line per failed file, then the summary.
    assert_eq!(res.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 3, "{err}");
    for n in ["bad.wav", "e.opus", "2 done, 2 failed"] {
        assert!(err.contains(n), "{n}: {err}");
    }
    assert_eq!(tree(&out), ["good1.wav", "good2.wav"]);
    let mut lines = report(&log);
    lines.sort();
    let names: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|(i, st, f, _)| {
            (
                Path::new(i).file_name().unwrap().to_str().unwrap(),
                st.as_str(),
                *f,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("bad.wav", "failed", 0),
            ("e.opus", "failed", 0),
            ("good1.wav", "done", 5002),
            ("good2.wav", "done", 7002)
        ],
        "{err}"
    );
    assert!(
        lines[0].3.contains("bad.wav") && lines[1].3.contains("Opus"),
        "{lines:?}"
    );
    // Nothing could be done: exit 2.
    fs::remove_file(rec.join("good1.wav")).unwrap();
    fs::remove_file(rec.join("good2.wav")).unwrap();
    let res = convoy()
        .args(["run", "-i", s(&rec), "-o", s(&out), "ma:3"])
        .output()
        .unwrap();
    assert_eq!(res.status.code(), Some(2), "{}", stderr(&res));
    assert!(
        stderr(&res).contains("0 done, 2 failed"),
        "{}",
        stderr(&res)
    );
}

#[test]
fn what_cannot_start_is_one_line_and_nothing_written() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    noise_wav(&rec.join("a.wav"), 1000, 1, 48_000, 8);
    fs::copy(fixture("s16.mp3"), rec.join("b.mp3")).unwrap();
    fs::copy(fixture("s16.ogg"), rec.join("b.ogg")).unwrap();
    let out = dir.path().join("out");
    let run = |args: &[&str]| convoy().arg("run").args(args).output().unwrap();
    // Two inputs, one output.
    fails_with(
        &run(&["-i", s(&rec), "-o", s(&out), "ma:3"]),
        2,
        &["b.mp3", "b.ogg", "b.wav", "--out-format"],
    );
    assert!(!out.exists());
    fails_with(
        &run(&["-i", "nothing/*.wav", "-o", s(&out)]),
        2,
        &["matches no files"],
    );
    let file = dir.path().join("f.wav");
    noise_wav(&file, 10, 1, 48_000, 9);
    fails_with(
        &run(&["-i", s(&rec), "-o", s(&file)]),
        2,
        &["is a file", "folder"],
    );
    fails_with(
        &run(&["-i", s(&file), "-o", "x.wav", "--resume"]),
        2,
        &["--resume", "many inputs"],
    );
    fails_with(
        &run(&["-i", s(&rec), "-o", s(&out), "--shard", "3/3"]),
        2,
        &["--shard", "0 <= K < N"],
    );
    fails_with(
        &run(&["-i", s(&rec), "-o", s(&out), "--jobs", "0"]),
        2,
        &["--jobs"],
    );
    // A chain that cannot be built for the first input stops the run before any file.
    fails_with(
        &run(&[
            "-i",
            s(&rec.join("a.wav")).replace("a.wav", "*.wav").as_str(),
            "-o",
            s(&out),
            "fir:missing.wav",
        ]),
        2,
        &["missing.wav"],
    );
    assert!(!out.exists());
    // Outputs over their own inputs.
    fails_with(
        &run(&[
            "-i",
            &format!("{}/*.wav", rec.display()),
            "-o",
            s(&rec),
            "ma:3",
        ]),
        2,
        &["overwritten by its own output"],
    );
}

#[test]
fn resume_skips_complete_outputs_and_redoes_partial_ones() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    for i in 0..4 {
        noise_wav(
            &rec.join(format!("{i}.wav")),
            4000 + 100 * i,
            2,
            48_000,
            10 + i as u64,
        );
    }
    fs::copy(fixture("s16.flac"), rec.join("f.flac")).unwrap();
    let out = dir.path().join("out");
    let chain = ["ma:5,mode=full", "delay:7", "lowpass:5000"];
    let go = |extra: &[&str]| {
        let r = convoy()
            .args(["run", "-q", "-i", s(&rec), "-o", s(&out)])
            .args(extra)
            .args(chain)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", stderr(&r));
    };
    go(&[]);
    let before: Vec<Vec<u8>> = tree(&out)
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    let mtime = |f: &str| fs::metadata(out.join(f)).unwrap().modified().unwrap();
    let kept = mtime("0.wav");
    // One output cut short, one replaced by garbage, one removed.
    let len = fs::metadata(out.join("1.wav")).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(out.join("1.wav"))
        .unwrap()
        .set_len(len - 800)
        .unwrap();
    fs::write(out.join("2.wav"), b"garbage").unwrap();
    fs::remove_file(out.join("f.flac")).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let log = dir.path().join("log.jsonl");
    go(&["--resume", "--report", s(&log)]);
    let mut lines = report(&log);
    lines.sort();
    let status: Vec<(String, String)> = lines
        .iter()
        .map(|(i, st, _, _)| {
            (
                Path::new(i)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                st.clone(),
            )
        })
        .collect();
    let want = [
        ("0.wav", "skipped"),
        ("1.wav", "done"),
        ("2.wav", "done"),
        ("3.wav", "skipped"),
        ("f.flac", "done"),
    ];
    assert_eq!(status, want.map(|(a, b)| (a.to_string(), b.to_string())));
    assert_eq!(mtime("0.wav"), kept, "a complete output was rewritten");
    let after: Vec<Vec<u8>> = tree(&out)
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    assert!(before == after, "resumed outputs differ from a clean run's");
    // Expected lengths: 4000 + 4 (full) + 7 (delay).
    assert_eq!(lines[0].2, 4011);
}

#[test]
fn shards_split_a_corpus_exactly() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    for i in 0..24 {
        noise_wav(
            &rec.join(format!("d{}/{i}.wav", i % 3)),
            200,
            1,
            48_000,
            100 + i,
        );
    }
    let mut seen = Vec::new();
    for k in 0..3 {
        let out = dir.path().join(format!("s{k}"));
        let r = convoy()
            .args([
                "run",
                "-q",
                "-i",
                s(&rec),
                "-o",
                s(&out),
                "--shard",
                &format!("{k}/3"),
            ])
            .arg("gain:2")
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", stderr(&r));
        let files = tree(&out);
        assert!(
            !files.is_empty() && files.len() < 24,
            "shard {k}: {files:?}"
        );
        seen.extend(files);
    }
    let all = dir.path().join("all");
    let r = convoy()
        .args(["run", "-q", "-i", s(&rec), "-o", s(&all), "gain:2"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", stderr(&r));
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a file done twice");
    let seen: Vec<String> = unique.into_iter().cloned().collect();
    assert_eq!(seen, tree(&all));
}

#[test]
fn ctrl_c_keeps_finished_files_and_leaves_nothing_half_written() {
    let dir = TempDir::new().unwrap();
    let rec = dir.path().join("rec");
    for i in 0..8 {
        noise_wav(&rec.join(format!("{i}.wav")), 480_000, 2, 48_000, 200 + i);
    }
    let out = dir.path().join("out");
    let log = dir.path().join("log.jsonl");
    let mut child = convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&rec),
            "-o",
            s(&out),
            "--jobs",
            "1",
            "--report",
            s(&log),
        ])
        .args(["denoise", "lowpass:3000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while fs::read_to_string(&log).map_or(true, |t| t.lines().count() < 1)
        && start.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(10));
    }
    let res = child.wait_with_output().unwrap();
    let files = tree(&out);
    let done = report(&log).len();
    if res.status.code() == Some(130) {
        assert!(files.len() < 8, "{files:?}");
    } else {
        assert_eq!(res.status.code(), Some(0), "{}", stderr(&res));
    }
    assert!(files.iter().all(|f| !f.contains(".convoy-")), "{files:?}");
    // Every output left is complete (what the report said, at least, and each at full length).
    assert!(files.len() >= done);
    for f in &files {
        assert_eq!(common::wav_frames(&out.join(f)), 480_000, "{f}");
    }
}

mod library {
    use convoy::Block;
    use convoy::chain::{Chain, Context};
    use convoy::conv::partitioned::spectra_made;

    fn try_run(chain: &mut Chain<f64>, x: &[f64]) -> convoy::Result<Vec<f64>> {
        let mut out = Vec::new();
        let mut take = |b: &mut Block<f64>| {
            out.extend_from_slice(&b[0]);
            Ok(())
        };
        for piece in x.chunks(1000) {
            chain.process(&mut Block::from_planes(vec![piece.to_vec()]), &mut take)?;
        }
        chain.finish(&mut take)?;
        Ok(out)
    }

    fn run(chain: &mut Chain<f64>, x: &[f64]) -> Vec<f64> {
        try_run(chain, x).unwrap()
    }

    #[test]
    fn copies_of_a_built_chain_share_its_kernel_transforms() {
        let ctx = Context {
            rate: Some(48_000),
            channels: 1,
            block: None,
        };
        let before = spectra_made();
        let template =
            Chain::<f64>::build(&["highpass:20".into(), "denoise".into()], &ctx).unwrap();
        let built = spectra_made() - before;
        assert!(built > 0, "the long highpass should be FFT-partitioned");
        let x: Vec<f64> = (0..20_000)
            .map(|i| ((i * 37 % 101) as f64 - 50.0) / 60.0)
            .collect();
        let mut a = template.fresh();
        let ya = run(&mut a, &x);
        let mut b = template.fresh();
        let yb = run(&mut b, &x);
        assert_eq!(
            spectra_made() - before,
            built,
            "a copy transformed its kernel again"
        );
        // Independent state: the second copy gives what the first did, as does a used one reset.
        assert_eq!(ya, yb);
        a.reset();
        assert_eq!(run(&mut a, &x), ya);
    }

    #[test]
    fn frames_out_is_the_length_a_run_gives() {
        let ctx = Context {
            rate: Some(48_000),
            channels: 1,
            block: None,
        };
        let chains: [&[&str]; 6] = [
            &["ma:9"],
            &["ma:9,mode=full", "gauss:2,mode=valid"],
            &["taps:1,2,3,4,5,6,7,8,9,10,11,12,mode=valid", "delay:5"],
            &[
                "fir:tests/data/formats/ir.wav,mode=full,resample=yes",
                "butter:lowpass,1000",
                "denoise",
            ],
            &["savgol:11,3", "gain:2", "ma:4,mode=full"],
            &["lowpass:1000,mode=valid", "ma:3,mode=same"],
        ];
        let mut checked = 0;
        for words in chains {
            let w: Vec<_> = words.iter().map(|&s| s.into()).collect();
            let template = Chain::<f64>::build(&w, &ctx).unwrap();
            for n in [0usize, 1, 5, 11, 1000, 4321] {
                let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
                let mut c = template.fresh();
                // Some stages refuse inputs shorter than they need: nothing to predict there.
                let Ok(y) = try_run(&mut c, &x) else { continue };
                let got = y.len() as u64;
                assert_eq!(
                    template.frames_out(n as u64),
                    got,
                    "{words:?} on {n} frames"
                );
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} cases ran");
    }
}
