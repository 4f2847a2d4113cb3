//! Pictures: waveforms and spectra of a run, a chain's frequency response, arrays overlaid.
//!
//! Drawn with plotters into an RGB buffer, with DejaVu Sans embedded (assets/, ab_glyph), so
//! nothing is asked of the system: no fontconfig, no font files, works headless. The buffer is
//! encoded with the `png` crate into a temp file beside the target and renamed into place.

pub mod charts;
pub mod decimate;
pub mod response;
pub mod spectrum;

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::error::{Error, Result};

/// Picture size: readable at 1200x800.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 800;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse (tests draw text with it).
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Checks, before any work, that a picture can go to `path`: PNG is what convoy draws, so the
/// name must end in .png (or be stdout, `-`, or a FIFO/device), and the usual output checks
/// (directory, not a directory, not an input) pass.
///
/// # Errors
/// Another extension (`p.svg` would get PNG bytes), or a bad destination.
pub fn check_png(path: &Path, inputs: &[impl AsRef<Path>], reads_stdin: bool) -> Result<()> {
    let kind = crate::io::output::check(path, inputs, reads_stdin)?;
    let ext = crate::io::extension(path);
    if matches!(kind, crate::io::output::Kind::Regular(_)) && ext != "png" {
        return Err(Error::input(
            path.display().to_string(),
            format!(
                "convoy draws PNG; name the picture .png (not {})",
                if ext.is_empty() {
                    "without an extension".to_string()
                } else {
                    format!("'.{ext}'")
                }
            ),
        ));
    }
    Ok(())
}

/// Renders with `draw` onto a white WIDTH x HEIGHT canvas and writes it to `path` as PNG
/// (`-` for stdout; a file through a temp file and a rename: no partial picture is ever left).
pub fn render_png<F>(path: &Path, draw: F) -> Result<()>
where
    F: FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
{
    register_font();
    let mut buf = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        draw(&root)?;
        root.present().map_err(drawing)?;
    }
    let kind = crate::io::output::classify(path)?;
    crate::io::output::write_whole(path, &kind, |out| {
        let mut enc = png::Encoder::new(out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let io = |e: png::EncodingError| match e {
            png::EncodingError::IoError(e) => e,
            other => std::io::Error::other(other),
        };
        let mut w = enc.write_header().map_err(io)?;
        w.write_image_data(&buf).map_err(io)?;
        w.finish().map_err(io)
    })
}

/// A plotters error as convoy's.
pub fn drawing<E: std::fmt::Display>(e: E) -> Error {
    Error::Internal(format!("drawing failed: {e}"))
}

/// A channel as f32 for drawing (a copy only when the chain runs in f64). Takes the `Vec`
/// because that is the type the downcast can name.
#[allow(clippy::ptr_arg)]
fn as_f32<T: crate::conv::Sample>(x: &Vec<T>) -> std::borrow::Cow<'_, [f32]> {
    use std::any::Any;
    match (x as &dyn Any).downcast_ref::<Vec<f32>>() {
        Some(f) => std::borrow::Cow::Borrowed(&f[..]),
        None => std::borrow::Cow::Owned(x.iter().map(|v| v.as_f64() as f32).collect()),
    }
}

/// Series colours, distinguishable in print and for common colour blindness (Okabe-Ito).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// What `convoy run --plot` gathers as blocks go by: min/max waveforms of up to four channels
/// and the first channel's averaged spectrum, in and out. Memory stays fixed however long the
/// stream.
pub struct RunTap {
    pub input: Vec<decimate::MinMax>,
    pub output: Vec<decimate::MinMax>,
    input_spectrum: spectrum::Welch,
    output_spectrum: spectrum::Welch,
}

impl RunTap {
    pub fn new(channels: usize) -> RunTap {
        let n = channels.clamp(1, 4);
        RunTap {
            input: vec![decimate::MinMax::default(); n],
            output: vec![decimate::MinMax::default(); n],
            input_spectrum: spectrum::Welch::default(),
            output_spectrum: spectrum::Welch::default(),
        }
    }

    pub fn push_input<T: crate::conv::Sample>(&mut self, block: &[Vec<T>]) {
        for (m, ch) in self.input.iter_mut().zip(block) {
            m.push(&as_f32(ch));
        }
        if let Some(ch) = block.first() {
            self.input_spectrum.push(&as_f32(ch));
        }
    }

    pub fn push_output<T: crate::conv::Sample>(&mut self, block: &[Vec<T>]) {
        for (m, ch) in self.output.iter_mut().zip(block) {
            m.push(&as_f32(ch));
        }
        if let Some(ch) = block.first() {
            self.output_spectrum.push(&as_f32(ch));
        }
    }

    /// Draws the picture to `path`.
    pub fn draw(&mut self, path: &Path, rate: u32, title: String) -> Result<()> {
        let rate = f64::from(rate);
        charts::run_picture(
            path,
            &charts::RunPicture {
                rate,
                input: &self.input,
                output: &self.output,
                input_spectrum: self.input_spectrum.spectrum(rate),
                output_spectrum: self.output_spectrum.spectrum(rate),
                title,
            },
        )
    }
}
