//! N-d inputs and outputs of `convoy convolve`: .npy of any dimensionality, 2-D text/CSV, and
//! images (PNG/JPEG through the `image` crate: grayscale is one 2-D plane, colour three).

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::array::Array;
use crate::conv::nd::Nd;
use crate::error::{Error, Result};

/// An operand as N-d planes: one plane, or three for a colour image (R, G, B).
#[derive(Clone, Debug)]
pub struct Planes {
    pub planes: Vec<Nd>,
    /// Came from an image file.
    pub image: bool,
}

impl Planes {
    pub fn one(nd: Nd) -> Planes {
        Planes {
            planes: vec![nd],
            image: false,
        }
    }

    pub fn ndim(&self) -> usize {
        self.planes.first().map_or(0, Nd::ndim)
    }

    pub fn shape_text(&self) -> String {
        let s = self.planes.first().map(Nd::shape_text).unwrap_or_default();
        if self.planes.len() > 1 {
            format!("{s} x {} colour planes", self.planes.len())
        } else {
            s
        }
    }
}

/// A 2-D text array (rows of values) as one plane.
pub fn from_array(a: &Array) -> Nd {
    Nd::new(a.shape(), a.row_major())
}

/// Whether `head` starts a PNG or JPEG file.
pub fn is_image(head: &[u8]) -> bool {
    head.starts_with(b"\x89PNG\r\n\x1a\n") || head.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Reads a PNG/JPEG: a grayscale image is one plane, a colour one three (alpha is dropped);
/// values are 0..255 (16-bit images are scaled to 8 bits).
pub fn read_image(path: &Path) -> Result<Planes> {
    let name = path.display().to_string();
    let img = image::ImageReader::open(path)
        .map_err(|e| Error::read(path, &e))?
        .with_guessed_format()
        .map_err(|e| Error::read(path, &e))?
        .decode()
        .map_err(|e| Error::input(&name, format!("not a readable image ({e})")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let planes = if img.color().has_color() {
        let rgb = img.to_rgb8();
        (0..3)
            .map(|c| {
                Nd::new(
                    vec![h, w],
                    rgb.pixels().map(|p| f64::from(p.0[c])).collect(),
                )
            })
            .collect()
    } else {
        let g = img.to_luma8();
        vec![Nd::new(
            vec![h, w],
            g.pixels().map(|p| f64::from(p.0[0])).collect(),
        )]
    };
    Ok(Planes {
        planes,
        image: true,
    })
}

/// Writes planes as an image (`png`/`jpg` by extension): values rounded and clamped to 0..255,
/// or, with `normalize`, rescaled so the smallest is 0 and the largest 255.
pub fn write_image(out: &mut impl Write, planes: &[Nd], ext: &str, normalize: bool) -> Result<()> {
    let first = &planes[0];
    let (h, w) = (first.shape[0], first.shape[1]);
    let (lo, hi) = planes
        .iter()
        .flat_map(|p| p.data.iter())
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |a, &v| {
            (a.0.min(v), a.1.max(v))
        });
    let map = |v: f64| -> u8 {
        let v = if normalize {
            if hi > lo {
                (v - lo) * 255.0 / (hi - lo)
            } else {
                0.0
            }
        } else {
            v
        };
        if v.is_nan() {
            0
        } else {
            v.round().clamp(0.0, 255.0) as u8
        }
    };
    let format = if ext == "png" {
        image::ImageFormat::Png
    } else {
        image::ImageFormat::Jpeg
    };
    let dynimg = if planes.len() == 3 {
        let mut buf = Vec::with_capacity(h * w * 3);
        for i in 0..h * w {
            for p in planes {
                buf.push(map(p.data[i]));
            }
        }
        image::RgbImage::from_raw(w as u32, h as u32, buf).map(image::DynamicImage::ImageRgb8)
    } else {
        let buf: Vec<u8> = first.data.iter().map(|&v| map(v)).collect();
        image::GrayImage::from_raw(w as u32, h as u32, buf).map(image::DynamicImage::ImageLuma8)
    }
    .ok_or_else(|| Error::Internal("image buffer size mismatch".into()))?;
    let mut cursor = std::io::Cursor::new(Vec::new());
    dynimg
        .write_to(&mut cursor, format)
        .map_err(|e| Error::Usage(format!("cannot encode the image: {e}")))?;
    out.write_all(cursor.get_ref())
        .map_err(|e| Error::Usage(format!("cannot write the image: {e}")))
}

/// Writes N-d planes to `path` by extension (temp file + rename): .npy any shape (colour
/// planes as a last axis of 3), .txt/.csv 2-D rows, .png/.jpg images.
pub fn write_planes(path: Option<&Path>, planes: &[Nd], normalize: bool) -> Result<()> {
    let colour = planes.len() > 1;
    // Colour planes interleaved as a last axis (a single plane is written as it is).
    let interleaved;
    let (shape, data): (Vec<usize>, &[f64]) = if colour {
        let mut shape = planes[0].shape.clone();
        shape.push(planes.len());
        let n = planes[0].len();
        let mut data = Vec::with_capacity(n * planes.len());
        for i in 0..n {
            for p in planes {
                data.push(p.data[i]);
            }
        }
        interleaved = data;
        (shape, &interleaved)
    } else {
        (planes[0].shape.clone(), &planes[0].data)
    };
    let text = |sep: &str, name: &Path| {
        as_text(&shape, data.len(), sep, name, |i| {
            super::text::format_value(data[i])
        })
    };
    let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
        return to_stdout(&text(" ", path.map_or(Path::new("stdout"), |p| p))?);
    };
    let ext = super::extension(path);
    let kind = super::output::classify(path)?;
    if kind == super::output::Kind::Stdout {
        // `-o /dev/stdout`: as `-o -`.
        return write_planes(None, planes, normalize);
    }
    let mut file = super::output::OutputFile::create(path, &kind)?;
    {
        let mut out = BufWriter::new(file.file());
        match ext.as_str() {
            "npy" => super::npy::write_npy_nd(&mut out, &shape, data)
                .map_err(|e| Error::write(path, &e))?,
            "txt" | "csv" => {
                let text = text(if ext == "csv" { "," } else { " " }, path)?;
                out.write_all(text.as_bytes())
                    .map_err(|e| Error::write(path, &e))?;
            }
            "png" | "jpg" | "jpeg" => {
                if planes[0].ndim() != 2 {
                    return Err(Error::input(
                        path.display().to_string(),
                        format!("an image holds 2-D data, not {}-D", planes[0].ndim()),
                    ));
                }
                write_image(
                    &mut out,
                    planes,
                    if ext == "png" { "png" } else { "jpg" },
                    normalize,
                )?;
            }
            other => {
                return Err(Error::input(
                    path.display().to_string(),
                    format!(
                        "'.{other}' cannot hold a {}-D result; use .npy",
                        shape.len()
                    ),
                ));
            }
        }
        out.flush().map_err(|e| Error::write(path, &e))?;
    }
    file.commit()
}

/// Writes a result in its dtype to `path` by extension (temp file + rename): .npy, or text
/// (.txt, .csv, stdout) with integers exact and complex values as `(1+2j)`.
///
/// # Errors
/// Another extension, text of 3 or more dimensions, or the write failing: one line.
pub fn write_typed(path: Option<&Path>, typed: &crate::array::dtype::Typed) -> Result<()> {
    let text =
        |sep: &str, name: &Path| as_text(&typed.shape, typed.len(), sep, name, |i| typed.text(i));
    let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
        return to_stdout(&text(" ", Path::new("stdout"))?);
    };
    let kind = super::output::classify(path)?;
    if kind == super::output::Kind::Stdout {
        return to_stdout(&text(" ", path)?);
    }
    let ext = super::extension(path);
    if !matches!(ext.as_str(), "npy" | "txt" | "csv") {
        return Err(Error::input(
            path.display().to_string(),
            format!(
                "a {} result goes to .npy or .txt/.csv, not '.{ext}'",
                typed.dtype
            ),
        ));
    }
    let mut file = super::output::OutputFile::create(path, &kind)?;
    {
        let mut out = BufWriter::new(file.file());
        match ext.as_str() {
            "npy" => {
                super::npy::write_typed(&mut out, typed).map_err(|e| Error::write(path, &e))?
            }
            _ => {
                let s = text(if ext == "csv" { "," } else { " " }, path)?;
                out.write_all(s.as_bytes())
                    .map_err(|e| Error::write(path, &e))?;
            }
        }
        out.flush().map_err(|e| Error::write(path, &e))?;
    }
    file.commit()
}

/// Text on stdout; a reader that went away (`| head`) ends it quietly.
fn to_stdout(text: &str) -> Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::write(Path::new("stdout"), &e)),
        Ok(()) => Ok(()),
    }
}

/// `n` values of `shape` as text: one row per line (2-D), one line (0-D, 1-D), each value as
/// `value(i)` gives it, separated by `sep`; `path` names the output in the error for 3-D+.
fn as_text(
    shape: &[usize],
    n: usize,
    sep: &str,
    path: &Path,
    value: impl Fn(usize) -> String,
) -> Result<String> {
    let width = match shape.len() {
        0 => 1,
        1 => shape[0].max(1),
        2 => shape[1].max(1),
        d => {
            return Err(Error::input(
                path.display().to_string(),
                format!("text holds 1-D or 2-D arrays, not {d}-D; write .npy"),
            ));
        }
    };
    let mut s = String::with_capacity(n * 12);
    for start in (0..n).step_by(width) {
        let line: Vec<String> = (start..(start + width).min(n)).map(&value).collect();
        s.push_str(&line.join(sep));
        s.push('\n');
    }
    Ok(s)
}
