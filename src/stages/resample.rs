//! `resample:48000`, `resample:44.1k`: the stream changes rate here (chain/resample.rs runs it;
//! the stages after it are built for the new rate).
//!
//! Setup only.

use super::spec::Spec;
use super::{Built, rate};
use crate::chain::{Context, Stage};
use crate::error::Result;

/// The highest rate a stream may be resampled to: 1,536,000 Hz (8x 192 kHz).
const MAX_RATE: f64 = 1_536_000.0;

/// `resample:RATE` (Hz, or with `k`/`kHz`: `44.1k`).
pub(super) fn resample_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    w.check_opts(&[])?;
    w.want_args(1..=1, "resample:48000 or resample:44.1k")?;
    rate(w, ctx)?;
    let to = parse_rate(w.args[0]).ok_or_else(|| {
        w.err(format!(
            "'{}' is not a rate: give whole hertz from 1 to {MAX_RATE} (48000, 44.1k, 96kHz)",
            w.args[0]
        ))
    })?;
    Ok(Built {
        stage: Stage::Resample(to),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// `48000`, `48000hz`, `44.1k`, `44.1khz` -> Hz (a whole number of them).
pub fn parse_rate(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix("hz").unwrap_or(&t);
    let (num, scale) = match t.strip_suffix('k') {
        Some(n) => (n, 1000.0),
        None => (t, 1.0),
    };
    let hz = num.trim().parse::<f64>().ok()? * scale;
    let whole = hz.round();
    ((hz - whole).abs() < 1e-6 && (1.0..=MAX_RATE).contains(&whole)).then_some(whole as u32)
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_are_whole_hertz() {
        assert_eq!(parse_rate("48000"), Some(48_000));
        assert_eq!(parse_rate("44.1k"), Some(44_100));
        assert_eq!(parse_rate("96kHz"), Some(96_000));
        for bad in ["0", "-1", "44.1", "x", "2000k", "22.05005k"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }
}
