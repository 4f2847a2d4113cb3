//! `convoy plot`: arrays and WAVs overlaid in one picture.

use crate::cli::PlotArgs;
use convoy::error::Result;
use convoy::plot::charts::{self, Series};
use convoy::plot::decimate::MinMax;

/// Runs `convoy plot`.
pub fn run(args: &PlotArgs) -> Result<()> {
    convoy::plot::check_png(&args.output, &args.files, false)?;
    let mut series = Vec::new();
    let mut any_wav = false;
    let mut all_wav = true;
    for path in &args.files {
        let array = convoy::io::load_file(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let step = match array.sample_rate {
            Some(r) => {
                any_wav = true;
                1.0 / f64::from(r)
            }
            None => {
                all_wav = false;
                1.0
            }
        };
        let width = array.columns.len();
        for (c, col) in array.columns.iter().enumerate() {
            let mut m = MinMax::default();
            let as_f32: Vec<f32> = col.iter().map(|&v| v as f32).collect();
            m.push(&as_f32);
            series.push(Series {
                name: if width > 1 {
                    format!("{name} [{}]", c + 1)
                } else {
                    name.clone()
                },
                data: m,
                step,
            });
        }
    }
    // Mixed WAVs and arrays share the index axis.
    if any_wav && !all_wav {
        for s in &mut series {
            s.step = 1.0;
        }
    }
    let x_desc = if all_wav { "time (s)" } else { "sample index" };
    let title = args
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    charts::arrays_picture(&args.output, &series, x_desc, &title)
}
