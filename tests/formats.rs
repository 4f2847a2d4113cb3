//! Issue 17: audio that is not WAV. Fixtures in tests/data/formats, made by make_formats.sh
//! with ffmpeg from one 0.25 s stereo 44.1 kHz signal (src16.wav / src24.wav): lossless files
//! must decode to exactly the PCM they were made from; lossy ones to the container's stated
//! length (11,025 frames) and within -90 dB of ffmpeg's own decode (the *.ref.wav files).

mod common;
use common::{convoy, read_wav, stderr};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `convoy run -i INPUT -o OUT EXTRA... gain:1`; OUT's spec and samples.
fn decode(input: &Path, extra: &[&str]) -> (hound::WavSpec, Vec<Vec<f64>>) {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("out.wav");
    let o = convoy()
        .args(["run", "-q", "-i", s(input), "-o", s(&out)])
        .args(extra)
        .arg("gain:1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", input.display(), stderr(&o));
    read_wav(&out)
}

#[test]
fn lossless_formats_decode_to_exactly_the_pcm_they_were_made_from() {
    for (file, src, bits) in [
        ("s16.flac", "src16.wav", 16),
        ("s24.flac", "src24.wav", 24),
        ("s16.aiff", "src16.wav", 16),
        ("s24.aiff", "src24.wav", 24),
        ("s16.caf", "src16.wav", 16),
        ("s16_alac.m4a", "src16.wav", 16),
        ("s16_flac.ogg", "src16.wav", 16),
        ("s24.w64", "src24.wav", 24),
    ] {
        let (_, want) = read_wav(&data(src));
        let (spec, got) = decode(&data(file), &["--bits", "f32"]);
        assert_eq!(spec.sample_rate, 44_100, "{file}");
        assert_eq!(got.len(), 2, "{file}: channels");
        assert_eq!(got[0].len(), 11_025, "{file}: frames");
        assert!(got == want, "{file}: not bit-exact");
        // Without --bits a WAV keeps the source's depth, as from a WAV.
        let (spec, got) = decode(&data(file), &[]);
        assert_eq!(spec.bits_per_sample, bits, "{file}: default output depth");
        assert_eq!(spec.sample_format, hound::SampleFormat::Int, "{file}");
        assert!(got == want, "{file}: not bit-exact at its own depth");
    }
}

#[test]
fn lossy_formats_keep_the_stated_length_and_match_ffmpeg_within_90_db() {
    for (file, reference) in [
        ("s16.mp3", "s16_mp3.ref.wav"),
        ("s16.ogg", "s16_ogg.ref.wav"),
        ("s16_aac.m4a", "s16_aac_m4a.ref.wav"),
    ] {
        let (_, want) = read_wav(&data(reference));
        let (spec, got) = decode(&data(file), &[]);
        // A lossy decode is not on an integer grid: 32-bit float by default.
        assert_eq!(spec.sample_format, hound::SampleFormat::Float, "{file}");
        // The encoder's delay and padding gone: exactly the 11,025 frames encoded (ffprobe's
        // duration_ts; the MP3's LAME tag, the Ogg granule, the MP4 edit list). ffmpeg 5.1
        // decodes the same start, keeping Vorbis's and AAC's end padding.
        assert_eq!(got[0].len(), 11_025, "{file}: frames (gapless)");
        assert!(want[0].len() >= 11_025, "{reference}");
        let peak = want
            .iter()
            .flat_map(|c| &c[..11_025])
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let err = got
            .iter()
            .zip(&want)
            .flat_map(|(g, w)| g.iter().zip(w).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        let db = 20.0 * (err / peak).log10();
        assert!(db < -90.0, "{file}: {db:.1} dB from ffmpeg's decode");
    }
}

#[test]
fn every_command_reads_them_as_it_reads_wav() {
    let dir = tempfile::TempDir::new().unwrap();
    let w = dir.path();
    let run = |args: &[&str]| {
        let o = convoy().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    let same = |a: &Path, b: &Path| assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap());
    let (flac, wav, irf, irw) = (
        data("s16.flac"),
        data("src16.wav"),
        data("ir.flac"),
        data("ir.wav"),
    );
    // fir: and taps:@ with a FLAC kernel, on a FLAC input.
    for stage in ["fir", "taps"] {
        let (a, b) = (
            w.join(format!("{stage}_a.wav")),
            w.join(format!("{stage}_b.wav")),
        );
        let k = |p: &Path| {
            if stage == "fir" {
                format!("fir:{}", s(p))
            } else {
                format!("taps:@{}", s(p))
            }
        };
        run(&["run", "-q", "-i", s(&flac), "-o", s(&a), &k(&irf)]);
        run(&["run", "-q", "-i", s(&wav), "-o", s(&b), &k(&irw)]);
        same(&a, &b);
    }
    // convoy convolve with FLAC operands.
    let (a, b) = (w.join("a.npy"), w.join("b.npy"));
    run(&["convolve", s(&flac), s(&irf), "-o", s(&a)]);
    run(&["convolve", s(&wav), s(&irw), "-o", s(&b)]);
    same(&a, &b);
    // A noise profile as FLAC.
    let profiled = |profile: &Path, out: &Path| {
        let stage = format!("denoise:profile={}", s(profile));
        run(&["run", "-q", "-i", s(&wav), "-o", s(out), &stage]);
    };
    let (a, b) = (w.join("p_a.wav"), w.join("p_b.wav"));
    profiled(&flac, &a);
    profiled(&wav, &b);
    same(&a, &b);
    // convoy plot of an MP3, on a time axis (it has a rate).
    run(&["plot", s(&data("s16.mp3")), "-o", s(&w.join("p.png"))]);
    assert!(w.join("p.png").exists());
}

#[test]
fn a_pipe_decodes_as_the_file_does() {
    for file in ["s16.flac", "s16.mp3", "s16.ogg"] {
        let dir = tempfile::TempDir::new().unwrap();
        let (a, b) = (dir.path().join("a.wav"), dir.path().join("b.wav"));
        let o = convoy()
            .args(["run", "-q", "-i", "-", "-o", s(&a), "gain:1"])
            .stdin(std::fs::File::open(data(file)).unwrap())
            .output()
            .unwrap();
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let o = convoy()
            .args(["run", "-q", "-i", s(&data(file)), "-o", s(&b), "gain:1"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        // The samples and format (a header may differ: a pipe does not say its length up front).
        let ((sa, xa), (sb, xb)) = (read_wav(&a), read_wav(&b));
        assert_eq!(sa, sb, "{file}");
        assert!(xa == xb, "{file}");
        assert_eq!(xa[0].len(), 11_025, "{file}");
    }
}

#[test]
fn bad_files_say_what_they_are_and_leave_no_output() {
    for (file, needles) in [
        (
            "not_audio.zip",
            &["not_audio.zip", "not a WAV or any other audio file"][..],
        ),
        (
            "cut_header.flac",
            &["cut_header.flac", "FLAC", "cannot be read"],
        ),
        (
            "s16.opus",
            &["s16.opus", "Ogg with a codec convoy does not decode (Opus)"],
        ),
        (
            "cut.flac",
            &[
                "cut.flac",
                "truncated FLAC",
                "promises 11025 frames",
                "ends after",
            ],
        ),
    ] {
        let dir = tempfile::TempDir::new().unwrap();
        let out = dir.path().join("out.wav");
        let o = convoy()
            .args(["run", "-i", s(&data(file)), "-o", s(&out), "gain:1"])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!o.status.success(), "{file} was accepted");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{file}: one line: {err}");
        for n in needles {
            assert!(err.contains(n), "{file}: '{n}' missing from: {err}");
        }
        assert!(!out.exists(), "{file}: a partial output was left");
        assert!(common::leftovers(dir.path()).is_empty());
    }
    // A .flac name on something else is named for what it is, in convolve too.
    let dir = tempfile::TempDir::new().unwrap();
    let fake = dir.path().join("fake.flac");
    std::fs::write(&fake, "1 2 3\n").unwrap();
    let o = convoy().args(["convolve", s(&fake), "1"]).output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not an audio file"), "{}", stderr(&o));
}

/// `flac -t FILE` (the reference decoder: every frame's CRC and the stream's MD5), when the
/// tool is installed (.ci/deps installs it for CI); false when it is not.
/// A file whose name promises audio but whose content is text is refused by `convoy run` as
/// every other command refuses it (it used to be read as a table of numbers, or its first
/// line as a CSV header: a silent empty output).
#[test]
fn an_audio_name_over_text_is_refused_not_read_as_numbers() {
    let dir = tempfile::TempDir::new().unwrap();
    for (name, says) in [("x.wav", "not a WAV file"), ("x.flac", "not an audio file")] {
        let input = dir.path().join(name);
        std::fs::write(&input, "junk\n1 2\n").unwrap();
        let out = dir.path().join("out.wav");
        let o = convoy()
            .args(["run", "-i", s(&input), "-o", s(&out), "ma:3"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

fn flac_verifies(path: &Path) -> Option<bool> {
    let out = std::process::Command::new("flac")
        .args(["-t", "-s"])
        .arg(path)
        .output()
        .ok()?;
    Some(out.status.success())
}

#[test]
fn flac_output_is_lossless_at_16_and_24_bit_and_verified_by_the_reference_decoder() {
    let dir = tempfile::TempDir::new().unwrap();
    for (src, bits) in [("src16.wav", 16), ("src24.wav", 24)] {
        let out = dir.path().join(format!("out{bits}.flac"));
        let o = convoy()
            .args(["run", "-q", "-i", s(&data(src)), "-o", s(&out), "gain:1"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(std::fs::read(&out).unwrap().starts_with(b"fLaC"));
        // Read back through convoy's decoder (symphonia, another implementation): the samples
        // of the source exactly, at its depth.
        let (_, want) = read_wav(&data(src));
        let (spec, got) = decode(&out, &[]);
        assert_eq!(spec.bits_per_sample, bits);
        assert!(got == want, "{src}: FLAC round trip not exact");
        match flac_verifies(&out) {
            Some(ok) => assert!(ok, "flac -t rejects {}", out.display()),
            None => eprintln!("flac not installed: the reference check skipped"),
        }
    }
    // A float input is written at 24 bit (dithered), a lossy one too; --bits 16 asks for 16.
    let out = dir.path().join("mp3.flac");
    let o = convoy()
        .args([
            "run",
            "-q",
            "-i",
            s(&data("s16.mp3")),
            "-o",
            s(&out),
            "gain:1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, got) = decode(&out, &["--bits", "f32"]);
    assert_eq!(got[0].len(), 11_025);
    let (spec, _) = decode(&out, &[]);
    assert_eq!(spec.bits_per_sample, 24);
    let o = convoy()
        .args(["run", "-q", "-i", s(&data("s16.mp3")), "-o", s(&out)])
        .args(["--bits", "16", "gain:1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(decode(&out, &[]).0.bits_per_sample, 16);
    // What FLAC cannot hold: one line, no file.
    let bad = dir.path().join("bad.flac");
    let o = convoy()
        .args(["run", "-q", "-i", s(&data("src16.wav")), "-o", s(&bad)])
        .args(["--bits", "f32", "gain:1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("16 or 24 bit"), "{}", stderr(&o));
    assert!(!bad.exists());
}

#[test]
fn flac_to_a_pipe_streams_and_reads_back() {
    let dir = tempfile::TempDir::new().unwrap();
    let piped = dir.path().join("piped.flac");
    let o = convoy()
        .args(["run", "-q", "-i", s(&data("src24.wav")), "-o", "-"])
        .args(["--out-format", "flac", "gain:1"])
        .stdout(std::fs::File::create(&piped).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, want) = read_wav(&data("src24.wav"));
    let (_, got) = decode(&piped, &[]);
    assert!(got == want, "FLAC through a pipe not exact");
    // The pipe's STREAMINFO says "length unknown"; the reference decoder accepts that.
    if let Some(ok) = flac_verifies(&piped) {
        assert!(ok, "flac -t rejects the piped stream");
    }
}
