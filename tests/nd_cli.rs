//! `convoy convolve` on 2-D/3-D arrays and images from the command line: the normative
//! example, .npy in every dimensionality, named kernels, ndimage modes with an origin, the
//! gradient magnitude, an image round trip, and the errors.

mod common;

use common::cmd as convoy;

use std::path::Path;

use tempfile::TempDir;

fn stdout_of(args: &[&str]) -> String {
    let out = convoy().args(args).assert().success().get_output().clone();
    String::from_utf8(out.stdout).unwrap()
}

fn numbers(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect()
}

fn fails(args: &[&str], needles: &[&str]) {
    let out = convoy().args(args).assert().code(2).get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' missing from: {err}");
    }
}

#[test]
fn the_normative_example_and_text_layouts() {
    let dir = TempDir::new().unwrap();
    let img = dir.path().join("img.txt");
    std::fs::write(&img, "1 2 3 4\n5 6 7 8\n9 10 11 12\n13 14 15 16\n").unwrap();
    let got = numbers(&stdout_of(&[
        "convolve",
        img.to_str().unwrap(),
        ".1 .2 .1; .2 .4 .2; .1 .2 .1",
        "--mode",
        "same",
    ]));
    let want = [
        [2.4, 4.0, 5.2, 4.5],
        [6.4, 9.6, 11.2, 9.2],
        [11.2, 16.0, 17.6, 14.0],
        [10.8, 15.2, 16.4, 12.9],
    ];
    for (g, w) in got.iter().zip(&want) {
        for (a, b) in g.iter().zip(w) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
    }
    // CSV in, CSV out, the same numbers; the kernel as a CSV file too.
    let csv = dir.path().join("img.csv");
    std::fs::write(&csv, "1,2,3,4\n5,6,7,8\n9,10,11,12\n13,14,15,16\n").unwrap();
    let ker = dir.path().join("k.csv");
    std::fs::write(&ker, ".1,.2,.1\n.2,.4,.2\n.1,.2,.1\n").unwrap();
    let out = dir.path().join("o.csv");
    convoy()
        .args([
            "convolve",
            csv.to_str().unwrap(),
            ker.to_str().unwrap(),
            "--mode",
            "same",
        ])
        .args(["-o", out.to_str().unwrap()])
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 4);
    assert!(text.lines().next().unwrap().split(',').count() == 4);
    // full and valid shapes; wrap and symmetric boundaries keep the mode's shape.
    assert_eq!(
        numbers(&stdout_of(&["convolve", img.to_str().unwrap(), "1 1; 1 1"])).len(),
        5
    );
    let valid = numbers(&stdout_of(&[
        "convolve",
        img.to_str().unwrap(),
        "1 1; 1 1",
        "--mode",
        "valid",
    ]));
    assert_eq!(
        valid,
        vec![
            vec![14.0, 18.0, 22.0],
            vec![30.0, 34.0, 38.0],
            vec![46.0, 50.0, 54.0]
        ]
    );
    let wrap = numbers(&stdout_of(&[
        "convolve",
        img.to_str().unwrap(),
        "0 0 0; 0 0 1; 0 0 0",
        "--mode",
        "same",
        "--boundary",
        "wrap",
    ]));
    // Convolving with a shifted impulse moves the image one column right, wrapping around.
    assert_eq!(wrap[0], vec![4.0, 1.0, 2.0, 3.0]);
}

fn write_npy(path: &Path, shape: &[usize], data: &[f64]) {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {tuple}, }}");
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    for v in data {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

fn read_npy(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (shape, npy.into_vec::<f64>().unwrap())
}

#[test]
fn three_d_npy_ndimage_modes_and_named_kernels() {
    let dir = TempDir::new().unwrap();
    let vol = dir.path().join("vol.npy");
    let data: Vec<f64> = (0..60).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
    write_npy(&vol, &[3, 4, 5], &data);
    let out = dir.path().join("o.npy");
    // box:3 in 3-D with ndimage's default reflect: the mean of the 27 neighbours, edges
    // reflected (d c b a | a b c d).
    convoy()
        .args([
            "convolve",
            vol.to_str().unwrap(),
            "box:3",
            "--ndimage-mode",
            "reflect",
        ])
        .args(["-o", out.to_str().unwrap()])
        .assert()
        .success();
    let (shape, y) = read_npy(&out);
    assert_eq!(shape, vec![3, 4, 5]);
    let at = |i: i64, j: i64, k: i64| -> f64 {
        let r = |v: i64, n: i64| {
            if v < 0 {
                -v - 1
            } else if v >= n {
                2 * n - v - 1
            } else {
                v
            }
        };
        data[(r(i, 3) * 20 + r(j, 4) * 5 + r(k, 5)) as usize]
    };
    for (i, j, k) in [(0i64, 0i64, 0i64), (1, 2, 3), (2, 3, 4)] {
        let mut s = 0.0;
        for a in -1..=1 {
            for b in -1..=1 {
                for c in -1..=1 {
                    s += at(i + a, j + b, k + c);
                }
            }
        }
        let got = y[(i * 20 + j * 5 + k) as usize];
        assert!(
            (got - s / 27.0).abs() < 1e-12,
            "({i},{j},{k}): {got} vs {}",
            s / 27.0
        );
    }
    // An off-centre origin and a constant mode with --fill.
    convoy()
        .args([
            "convolve",
            vol.to_str().unwrap(),
            "box:2",
            "--ndimage-mode",
            "constant",
        ])
        .args([
            "--fill",
            "1.5",
            "--origin",
            "0,-1,0",
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    // 3-D signal with a 2-D kernel: the dimensions must match.
    fails(
        &["convolve", vol.to_str().unwrap(), "sobel-x"],
        &["sobel-x", "2-D", "3-D"],
    );
    fails(
        &["convolve", vol.to_str().unwrap(), "1 1; 1 1"],
        &["3-D", "2-D", "must match"],
    );
    fails(
        &[
            "convolve",
            vol.to_str().unwrap(),
            "box:3",
            "--ndimage-mode",
            "reflect",
            "--origin",
            "5",
        ],
        &["--origin"],
    );
    fails(&["convolve", vol.to_str().unwrap(), "box:0"], &["box"]);
    fails(
        &[
            "convolve",
            vol.to_str().unwrap(),
            "box:3",
            "--boundary",
            "wrap",
        ],
        &["--boundary"],
    );
}

#[test]
fn an_image_round_trip_blur_and_sobel_magnitude() {
    let dir = TempDir::new().unwrap();
    // A 40x30 colour image with a bright square.
    let (w, h) = (40u32, 30u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if (10..20).contains(&x) && (8..18).contains(&y) {
            image::Rgb([250, 200, 100])
        } else {
            image::Rgb([10, 20, 30])
        }
    });
    let png = dir.path().join("photo.png");
    img.save(&png).unwrap();
    // box:1 is the identity: the image comes back pixel for pixel.
    let same = dir.path().join("same.png");
    convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "box:1",
            "--mode",
            "same",
            "-o",
            same.to_str().unwrap(),
        ])
        .assert()
        .success();
    let back = image::open(&same).unwrap().to_rgb8();
    assert_eq!(back.dimensions(), (w, h));
    assert_eq!(back.as_raw(), img.as_raw());
    // A blur keeps the size and lands between the two levels at the square's edge.
    let blur = dir.path().join("blur.png");
    convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "gauss:1.5",
            "--mode",
            "same",
            "-o",
            blur.to_str().unwrap(),
        ])
        .assert()
        .success();
    let b = image::open(&blur).unwrap().to_rgb8();
    assert_eq!(b.dimensions(), (w, h));
    let edge = b.get_pixel(10, 12).0[0];
    assert!(edge > 60 && edge < 200, "{edge}");
    assert!(
        b.get_pixel(15, 12).0[0] >= 245,
        "the square's middle stays bright"
    );
    // Sobel magnitude as .npy: zero in flat regions, large on the square's border.
    let mag = dir.path().join("edges.npy");
    convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "sobel-x",
            "--magnitude-with",
            "sobel-y",
        ])
        .args(["--mode", "same", "-o", mag.to_str().unwrap()])
        .assert()
        .success();
    let (shape, m) = read_npy(&mag);
    assert_eq!(shape, vec![30, 40, 3]);
    let px = |y: usize, x: usize, c: usize| m[(y * 40 + x) * 3 + c];
    assert_eq!(px(25, 30, 0), 0.0);
    assert!(px(12, 10, 0) > 500.0, "{}", px(12, 10, 0));
    // And as a normalized grayscale PNG of the first channel's kind.
    let edges = dir.path().join("edges.png");
    convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "sobel-x",
            "--magnitude-with",
            "sobel-y",
        ])
        .args([
            "--mode",
            "same",
            "--normalize",
            "-o",
            edges.to_str().unwrap(),
        ])
        .assert()
        .success();
    let e = image::open(&edges).unwrap().to_rgb8();
    assert_eq!(e.get_pixel(12, 12).0[0], 0);
    assert!(e.as_raw().contains(&255));
    // A non-image file named .png is refused in one line; an output that is the input too.
    let fake = dir.path().join("fake.png");
    std::fs::write(&fake, "1 2\n3 4\n").unwrap();
    convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "box:3",
            "-o",
            png.to_str().unwrap(),
        ])
        .assert()
        .code(2);
    let out = convoy()
        .args([
            "convolve",
            png.to_str().unwrap(),
            "box:3",
            "-o",
            dir.path().join("x.wav").to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains(".npy"));
}

/// Issue 19 item 5: `--axis 0 --ndimage-mode M --origin O` is scipy.ndimage.convolve1d (and
/// correlate1d) along the first axis, for 2-D and 1-D arrays, against scipy's own outputs
/// (tests/data/axis_cases.txt); N-d-only options with --axis 0 are refused, not ignored.
#[test]
fn axis_0_with_ndimage_modes_is_convolve1d() {
    let dir = TempDir::new().unwrap();
    let text = include_str!("data/axis_cases.txt");
    let values = |line: &str, skip: usize| -> Vec<f64> {
        line.split_whitespace()
            .skip(skip)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let x = values(lines.next().unwrap(), 1);
    let w = values(lines.next().unwrap(), 1);
    let x2 = dir.path().join("x2.txt");
    let rows: String = x
        .chunks(2)
        .map(|r| format!("{} {}\n", r[0], r[1]))
        .collect();
    std::fs::write(&x2, rows).unwrap();
    let x1 = dir.path().join("x1.txt");
    let col: String = x.chunks(2).map(|r| format!("{}\n", r[0])).collect();
    std::fs::write(&x1, col).unwrap();
    let kernel: Vec<String> = w.iter().map(f64::to_string).collect();
    let kernel = kernel.join(",");
    let mut cases = 0;
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (op, mode, origin, dims) = (f[1], f[2], f[3], f[4]);
        let want = values(line, 5);
        let input = if dims == "2d" { &x2 } else { &x1 };
        let mut args = vec![
            "convolve",
            input.to_str().unwrap(),
            &kernel,
            "--axis",
            "0",
            "--ndimage-mode",
            mode,
            "--origin",
            origin,
        ];
        if op == "correlate" {
            args.push("--correlate");
        }
        let got: Vec<f64> = numbers(&stdout_of(&args)).concat();
        assert_eq!(got.len(), want.len(), "{line}");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{line}: {got:?}");
        }
        cases += 1;
    }
    assert_eq!(cases, 80);
    let x2 = x2.to_str().unwrap();
    fails(
        &["convolve", x2, "1,2", "--axis", "0", "--fill", "1"],
        &["--fill", "--axis 0"],
    );
    fails(
        &[
            "convolve",
            x2,
            "1,2",
            "--axis",
            "0",
            "--ndimage-mode",
            "wrap",
            "--origin",
            "1,0",
        ],
        &["--origin", "one integer"],
    );
}

/// Issue 19 item 4: `--method` is honoured for 2-D input. A kernel of one 1.0 and taps of
/// 1e-21 (scipy's firwin_2d case: taps that small must come back as themselves) over a
/// 160 x 160 image of impulses: direct sums give every tap exactly; a transform buries them
/// under rounding of the 1.0; auto picks what the cost model says.
#[test]
fn the_method_is_honoured_for_two_d_input() {
    let dir = TempDir::new().unwrap();
    let (n, m) = (160usize, 15usize);
    let mut x = vec![0.0; n * n];
    for r in (20..n).step_by(40) {
        for c in (20..n).step_by(40) {
            x[r * n + c] = 1.0;
        }
    }
    let mut k: Vec<f64> = (0..m * m).map(|i| 1e-21 * (1.0 + (i % 7) as f64)).collect();
    k[(m / 2) * m + m / 2] = 1.0;
    let (xs, ks) = (dir.path().join("x.npy"), dir.path().join("k.npy"));
    write_npy(&xs, &[n, n], &x);
    write_npy(&ks, &[m, m], &k);
    let run = |method: &str| {
        let out = dir.path().join(format!("{method}.npy"));
        convoy()
            .args(["convolve", xs.to_str().unwrap(), ks.to_str().unwrap()])
            .args([
                "--mode",
                "same",
                "--method",
                method,
                "-o",
                out.to_str().unwrap(),
            ])
            .assert()
            .success();
        read_npy(&out)
    };
    let (shape, direct) = run("direct");
    assert_eq!(shape, vec![n, n]);
    // Around the impulse at (20, 20): output (20 + dr, 20 + dc) = k[7 + dr][7 + dc].
    for dr in -7i64..=7 {
        for dc in -7i64..=7 {
            let y = direct[((20 + dr) as usize) * n + (20 + dc) as usize];
            let want = k[((7 + dr) as usize) * m + (7 + dc) as usize];
            assert_eq!(y, want, "direct at ({dr}, {dc})");
        }
    }
    let (_, fft) = run("fft");
    let worst = fft
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    assert!(
        worst > 1e-19 && worst < 1e-14,
        "the FFT path ran: {worst:e}"
    );
    let (_, auto) = run("auto");
    let off = auto
        .iter()
        .zip(&direct)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    assert!(off < 1e-14, "auto: {off:e}");
    // A forced FFT over NaN warns as scipy does (and still answers).
    let mut xn = x.clone();
    xn[5] = f64::NAN;
    write_npy(&xs, &[n, n], &xn);
    let out = convoy()
        .args(["convolve", xs.to_str().unwrap(), ks.to_str().unwrap()])
        .args([
            "--method",
            "fft",
            "-o",
            dir.path().join("n.npy").to_str().unwrap(),
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAN or inf"));
}
