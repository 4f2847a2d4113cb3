//! Pictures: `convoy run --plot`, `convoy response` (PNG and CSV) and `convoy plot`. The PNGs
//! must decode, be 1200x800 and show something; the response data must match the known
//! responses of a moving average and of the windowed-sinc lowpass.

mod common;

use common::cmd as convoy;

use std::path::Path;

use tempfile::TempDir;

/// Decodes a PNG: (width, height, fraction of pixels that are not white, distinct colours).
fn inspect(path: &Path) -> (u32, u32, f64, usize) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px: Vec<&[u8]> = buf[..info.buffer_size()].chunks_exact(3).collect();
    let inked = px.iter().filter(|p| **p != [255u8, 255, 255]).count();
    let mut colours: Vec<[u8; 3]> = px.iter().map(|p| [p[0], p[1], p[2]]).collect();
    colours.sort_unstable();
    colours.dedup();
    (
        info.width,
        info.height,
        inked as f64 / px.len() as f64,
        colours.len(),
    )
}

fn assert_picture(path: &Path) {
    let (w, h, inked, colours) = inspect(path);
    assert_eq!((w, h), (1200, 800));
    assert!(
        inked > 0.02,
        "{}: only {:.3} of the pixels drawn",
        path.display(),
        inked
    );
    assert!(colours > 10, "{}: {colours} colours", path.display());
}

#[test]
fn run_plot_draws_waveforms_and_spectra_beside_an_unchanged_output() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.wav");
    let n = 48_000;
    let tone = |f: f32| -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / 48_000.0).sin() * 0.5)
            .collect()
    };
    common::write_wav(
        &input,
        &as_f64(&[tone(440.0), tone(5000.0)]),
        48_000,
        32,
        true,
    );
    let (plain, plotted, png) = (
        dir.path().join("a.wav"),
        dir.path().join("b.wav"),
        dir.path().join("run.png"),
    );
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            input.to_str().unwrap(),
            "-o",
            plain.to_str().unwrap(),
        ])
        .arg("lowpass:1000")
        .assert()
        .success();
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            input.to_str().unwrap(),
            "-o",
            plotted.to_str().unwrap(),
        ])
        .args(["--plot", png.to_str().unwrap(), "lowpass:1000"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&plotted).unwrap()
    );
    assert_picture(&png);
    // A plot path that is an input, or the output itself, is refused before anything is written.
    for bad in [input.to_str().unwrap(), plotted.to_str().unwrap()] {
        let out = convoy()
            .args([
                "run",
                "-q",
                "-i",
                input.to_str().unwrap(),
                "-o",
                plotted.to_str().unwrap(),
            ])
            .args(["--plot", bad, "ma:3"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
    // No directory: one line, nothing left.
    let missing = dir.path().join("nope/run.png");
    convoy()
        .args([
            "run",
            "-q",
            "-i",
            input.to_str().unwrap(),
            "-o",
            plotted.to_str().unwrap(),
        ])
        .args(["--plot", missing.to_str().unwrap(), "ma:3"])
        .assert()
        .code(2);
}

/// `frequency_hz,magnitude_db,phase_deg` rows of `convoy response --csv`.
fn response(args: &[&str]) -> Vec<(f64, f64, f64)> {
    let out = convoy()
        .arg("response")
        .args(args)
        .arg("--csv")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("frequency_hz,magnitude_db,phase_deg"));
    lines
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v.len(), 3, "{l}");
            (v[0], v[1], v[2])
        })
        .collect()
}

#[test]
fn response_of_a_moving_average_is_its_closed_form() {
    for (m, rate) in [(9usize, 48_000.0f64), (4, 44_100.0)] {
        let rows = response(&[&format!("ma:{m}"), "--rate", &format!("{rate}")]);
        assert!(rows.len() >= 512);
        assert!((rows[0].0 - 1.0).abs() < 1e-9, "starts at 1 Hz");
        assert!(
            (rows.last().unwrap().0 - rate / 2.0).abs() < 1e-6,
            "ends at Nyquist"
        );
        assert!(rows.windows(2).all(|w| w[1].0 > w[0].0));
        for &(f, db, phase) in &rows {
            let x = std::f64::consts::PI * f / rate;
            let want = ((m as f64 * x).sin() / (m as f64 * x.sin())).abs();
            if want > 1e-4 {
                let got = 10f64.powf(db / 20.0);
                assert!(
                    (got - want).abs() < 1e-9,
                    "ma:{m} at {f} Hz: {got} vs {want}"
                );
            }
            assert!(phase > -180.0 && phase <= 180.0);
        }
        // Linear phase below the first null: -(M-1)/2 samples of delay.
        let (f, _, phase) = rows[100];
        let want = -360.0 * f / rate * (m as f64 - 1.0) / 2.0;
        assert!((phase - want).abs() < 1e-6, "{phase} vs {want}");
    }
}

#[test]
fn response_of_the_lowpass_is_flat_then_3_db_down_at_the_cutoff() {
    for cutoff in [1000.0f64, 5000.0] {
        let rows = response(&[&format!("lowpass:{cutoff}"), "--points", "4096"]);
        // Passband ripple below 0.8 fc.
        let ripple = rows
            .iter()
            .filter(|r| r.0 < 0.8 * cutoff)
            .map(|r| r.1.abs())
            .fold(0.0, f64::max);
        assert!(ripple < 0.1, "passband ripple {ripple} dB");
        // The -3 dB crossing, interpolated between rows.
        let i = rows
            .iter()
            .position(|r| r.0 > 0.5 * cutoff && r.1 < -3.0103)
            .unwrap();
        let (a, b) = (rows[i - 1], rows[i]);
        let f3 = a.0 + (b.0 - a.0) * (-3.0103 - a.1) / (b.1 - a.1);
        assert!(
            (f3 - cutoff).abs() < 0.02 * cutoff,
            "-3 dB at {f3} Hz for lowpass:{cutoff}"
        );
        // Stopband: well down an octave above.
        let stop = rows.iter().find(|r| r.0 > 2.0 * cutoff).unwrap().1;
        assert!(stop < -40.0, "{stop} dB an octave above");
    }
}

#[test]
fn response_and_plot_pictures_and_their_errors() {
    let dir = TempDir::new().unwrap();
    let png = dir.path().join("response.png");
    convoy()
        .args([
            "response",
            "highpass:80",
            "lowpass:8000",
            "-o",
            png.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_picture(&png);
    // An IR from a file, drawn as it is.
    let ir = dir.path().join("ir.wav");
    let k: Vec<f32> = (0..3000)
        .map(|i| (-(i as f32) / 300.0).exp() * if i % 2 == 0 { 0.1 } else { -0.05 })
        .collect();
    common::write_wav(&ir, &as_f64(&[k]), 48_000, 32, true);
    let png2 = dir.path().join("ir.png");
    convoy()
        .args([
            "response",
            &format!("fir:{}", ir.display()),
            "-o",
            png2.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_picture(&png2);
    // convoy plot: a text array and a WAV.
    let txt = dir.path().join("x.txt");
    std::fs::write(
        &txt,
        (0..500)
            .map(|i| format!("{}\n", (i as f64 * 0.05).sin()))
            .collect::<String>(),
    )
    .unwrap();
    let arrays = dir.path().join("arrays.png");
    convoy()
        .args([
            "plot",
            txt.to_str().unwrap(),
            ir.to_str().unwrap(),
            "-o",
            arrays.to_str().unwrap(),
        ])
        .assert()
        .success();
    assert_picture(&arrays);
    // Errors: nowhere to draw, a missing input, an output that is an input. One line each,
    // exit 2, no file.
    convoy().args(["response", "ma:3"]).assert().code(2);
    let out = convoy()
        .args([
            "plot",
            "missing.txt",
            "-o",
            dir.path().join("m.png").to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert!(!dir.path().join("m.png").exists());
    convoy()
        .args(["plot", txt.to_str().unwrap(), "-o", txt.to_str().unwrap()])
        .assert()
        .code(2);
    convoy()
        .args([
            "response",
            "ma:0",
            "-o",
            dir.path().join("z.png").to_str().unwrap(),
        ])
        .assert()
        .code(2);
    assert!(!dir.path().join("z.png").exists());
}

fn as_f64(chans: &[Vec<f32>]) -> Vec<Vec<f64>> {
    chans
        .iter()
        .map(|c| c.iter().map(|&v| f64::from(v)).collect())
        .collect()
}
