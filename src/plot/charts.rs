//! The three pictures convoy draws.

use std::path::Path;

use plotters::prelude::*;

use super::decimate::MinMax;
use super::response::Point;
use super::{PALETTE, drawing, render_png};
use crate::error::Result;

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// A named spectrum and its colour.
type Curve<'a> = (&'a str, &'a Vec<(f64, f64)>, RGBColor);

/// Zig-zag through each bucket's min and max: a filled-looking trace of any length.
fn trace(m: &MinMax, scale: f64) -> Vec<(f64, f64)> {
    let mut pts = Vec::with_capacity(m.buckets().count() * 2);
    for (start, lo, hi) in m.buckets() {
        let x = start as f64 * scale;
        pts.push((x, f64::from(lo)));
        if hi != lo {
            pts.push((x, f64::from(hi)));
        }
    }
    pts
}

/// Value tick labels: as few digits as the step needs, and never "-0.0".
fn value(v: &f64) -> String {
    // A tick at "zero" computed as 0.1 * 3 - 0.3 is zero.
    if v.abs() < 1e-12 {
        return "0".into();
    }
    let t = if v.abs() >= 1e5 || (v.abs() < 1e-3 && *v != 0.0) {
        format!("{v:.2e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').to_string()
    };
    if t.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        t
    }
}

/// Draws min/max traces the same way in every picture (one pixel wide: a thicker stroke of
/// thousands of short vertical segments leaves gaps and stray spikes in plotters' bitmap
/// backend).
fn draw_trace<'a, CT>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    pts: Vec<(f64, f64)>,
    color: RGBColor,
    name: &str,
) -> Result<()>
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    chart
        .draw_series(LineSeries::new(pts, color.mix(0.85)))
        .map_err(drawing)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    Ok(())
}

/// The series legend, top right, in every chart.
fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(drawing)
}

/// Frequency tick labels: 20, 500, 2k, 10k.
fn hz(v: &f64) -> String {
    if *v >= 1000.0 {
        let k = v / 1000.0;
        if (k - k.round()).abs() < 1e-6 {
            format!("{}k", k.round())
        } else {
            format!("{k:.1}k")
        }
    } else if (v - v.round()).abs() < 1e-6 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// A symmetric-ish amplitude range covering `ranges`, never empty.
fn amplitude_range(ranges: &[(f32, f32)]) -> (f64, f64) {
    let lo = ranges.iter().map(|r| r.0).fold(f32::INFINITY, f32::min);
    let hi = ranges.iter().map(|r| r.1).fold(f32::NEG_INFINITY, f32::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    let a = f64::from(lo.abs().max(hi.abs())).max(1e-6) * 1.05;
    (-a, a)
}

/// Waveform panel(s) and the two spectra of a run.
pub struct RunPicture<'a> {
    pub rate: f64,
    pub input: &'a [MinMax],
    pub output: &'a [MinMax],
    pub input_spectrum: Vec<(f64, f64)>,
    pub output_spectrum: Vec<(f64, f64)>,
    pub title: String,
}

pub fn run_picture(path: &Path, pic: &RunPicture<'_>) -> Result<()> {
    render_png(path, |root| {
        let root = root
            .titled(&pic.title, ("sans-serif", 22))
            .map_err(drawing)?;
        let (top, bottom) = root.split_vertically((58).percent());
        let panels = pic.input.len().min(pic.output.len()).clamp(1, 4);
        let areas = top.split_evenly((panels, 1));
        let secs = |m: &MinMax| m.len() as f64 / pic.rate;
        let t_end = pic
            .input
            .iter()
            .chain(pic.output)
            .map(secs)
            .fold(0.0f64, f64::max)
            .max(1.0 / pic.rate);
        for (c, area) in areas.iter().enumerate() {
            let (inp, out) = (&pic.input[c], &pic.output[c]);
            let (lo, hi) = amplitude_range(&[inp.range(), out.range()]);
            let mut chart = ChartBuilder::on(area)
                .margin(8)
                .margin_right(24)
                .x_label_area_size(if c + 1 == panels { 36 } else { 20 })
                .y_label_area_size(64)
                .build_cartesian_2d(0.0..t_end, lo..hi)
                .map_err(drawing)?;
            let mut mesh = chart.configure_mesh();
            mesh.y_desc(if panels > 1 {
                format!("ch {} amplitude", c + 1)
            } else {
                "amplitude".into()
            })
            .label_style(("sans-serif", 14))
            .y_label_formatter(&value)
            .light_line_style(WHITE.mix(0.0));
            if c + 1 == panels {
                mesh.x_desc("time (s)");
            }
            mesh.draw().map_err(drawing)?;
            let scale = 1.0 / pic.rate;
            draw_trace(&mut chart, trace(inp, scale), PALETTE[0], "input")?;
            draw_trace(&mut chart, trace(out, scale), PALETTE[1], "output")?;
            if c == 0 {
                legend(&mut chart)?;
            }
        }
        spectra(
            &bottom,
            pic.rate,
            &[
                ("input", &pic.input_spectrum, PALETTE[0]),
                ("output", &pic.output_spectrum, PALETTE[1]),
            ],
        )
    })
}

fn spectra(area: &Area<'_>, rate: f64, series: &[Curve<'_>]) -> Result<()> {
    let f_lo = series
        .iter()
        .filter_map(|s| s.1.first().map(|p| p.0))
        .fold(f64::INFINITY, f64::min);
    let f_lo = if f_lo.is_finite() { f_lo } else { 10.0 };
    let f_hi = rate / 2.0;
    let peak = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(f64::NEG_INFINITY, f64::max);
    let top = if peak.is_finite() {
        (peak / 10.0).ceil() * 10.0 + 5.0
    } else {
        0.0
    };
    let bottom_db = top - 125.0;
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .caption("averaged spectrum (first channel)", ("sans-serif", 16))
        .build_cartesian_2d((f_lo..f_hi).log_scale(), bottom_db..top)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_desc("frequency (Hz)")
        .x_label_formatter(&hz)
        .y_desc("level (dB re full-scale sine)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    for (name, pts, color) in series {
        let color = *color;
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(f, db)| (f, db.max(bottom_db))),
                color,
            ))
            .map_err(drawing)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    legend(&mut chart)?;
    Ok(())
}

/// Magnitude and group delay of a chain.
pub fn response_picture(path: &Path, points: &[Point], rate: f64, title: &str) -> Result<()> {
    render_png(path, |root| {
        let root = root.titled(title, ("sans-serif", 22)).map_err(drawing)?;
        let (top, bottom) = root.split_vertically((60).percent());
        let f_lo = points.first().map_or(1.0, |p| p.hz);
        let f_hi = points.last().map_or(rate / 2.0, |p| p.hz).max(f_lo * 1.01);
        let peak = points
            .iter()
            .map(|p| p.magnitude_db)
            .fold(f64::NEG_INFINITY, f64::max);
        let db_top = if peak.is_finite() {
            (peak / 10.0).ceil() * 10.0 + 5.0
        } else {
            5.0
        };
        let db_bottom = db_top - 125.0;
        let mut chart = ChartBuilder::on(&top)
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .caption("magnitude", ("sans-serif", 16))
            .build_cartesian_2d((f_lo..f_hi).log_scale(), db_bottom..db_top)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .x_label_formatter(&hz)
            .y_desc("magnitude (dB)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(drawing)?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.hz, p.magnitude_db.max(db_bottom))),
                PALETTE[0].stroke_width(2),
            ))
            .map_err(drawing)?;
        // Group delay where the response is within 60 dB of its peak (elsewhere it is noise).
        let ms = |p: &Point| p.group_delay * 1e3 / rate;
        let shown: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.magnitude_db > peak - 60.0)
            .map(|p| (p.hz, ms(p)))
            .collect();
        let (lo, hi) = shown
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
                (a.0.min(p.1), a.1.max(p.1))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        // A constant delay (any linear-phase filter) is a flat line, not a zoom into rounding
        // noise: at least a quarter of the delay, and a sample, around it.
        let sample_ms = 1e3 / rate;
        let pad = ((hi - lo) * 0.1)
            .max(0.25 * lo.abs().max(hi.abs()))
            .max(sample_ms);
        let mut chart = ChartBuilder::on(&bottom)
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .caption(
                "group delay (where within 60 dB of the peak)",
                ("sans-serif", 16),
            )
            .build_cartesian_2d((f_lo..f_hi).log_scale(), (lo - pad)..(hi + pad))
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .x_label_formatter(&hz)
            .y_label_formatter(&value)
            .y_desc("group delay (ms)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(drawing)?;
        chart
            .draw_series(LineSeries::new(shown, PALETTE[1].stroke_width(2)))
            .map_err(drawing)?;
        Ok(())
    })
}

/// One overlaid series of `convoy plot`.
pub struct Series {
    pub name: String,
    pub data: MinMax,
    /// x of sample i is `i * step` (seconds for WAVs, the index otherwise).
    pub step: f64,
}

pub fn arrays_picture(path: &Path, series: &[Series], x_desc: &str, title: &str) -> Result<()> {
    render_png(path, |root| {
        let root = root.titled(title, ("sans-serif", 22)).map_err(drawing)?;
        let x_end = series
            .iter()
            .map(|s| (s.data.len().max(2) - 1) as f64 * s.step)
            .fold(0.0f64, f64::max)
            .max(1e-9);
        let ranges: Vec<(f32, f32)> = series.iter().map(|s| s.data.range()).collect();
        let lo = ranges.iter().map(|r| r.0).fold(f32::INFINITY, f32::min);
        let hi = ranges.iter().map(|r| r.1).fold(f32::NEG_INFINITY, f32::max);
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            let pad = (f64::from(hi - lo) * 0.05).max(1e-6);
            (f64::from(lo) - pad, f64::from(hi) + pad)
        } else {
            (-1.0, 1.0)
        };
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..x_end, lo..hi)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("value")
            .x_label_formatter(&value)
            .y_label_formatter(&value)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(drawing)?;
        for (i, s) in series.iter().enumerate() {
            draw_trace(
                &mut chart,
                trace(&s.data, s.step),
                PALETTE[i % PALETTE.len()],
                &s.name,
            )?;
        }
        legend(&mut chart)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn tick_labels_never_read_minus_zero() {
        assert_eq!(super::value(&-0.0), "0");
        assert_eq!(super::value(&5.55e-17), "0");
        assert_eq!(super::value(&-1e-13), "0");
        assert_eq!(super::value(&0.25), "0.25");
        assert_eq!(super::value(&-0.5), "-0.5");
        assert_eq!(super::value(&2.0), "2");
        assert_eq!(super::value(&1800.0), "1800");
    }
}
