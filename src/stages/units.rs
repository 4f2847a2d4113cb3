//! Quantities with units, parsed one way everywhere: frequencies (`80`, `1.5k`, `2khz`),
//! gains (`-6db`, `0.5`), levels (`30`, `30db`), and times (`10ms`, `0.5s`, `2min`, `1m`, or a
//! bare number in whatever unit the caller takes bare numbers in: samples for `delay:`,
//! seconds for `--duration`).
//!
//! Pure functions, any thread. Errors are short phrases; the caller says which word or flag.

use crate::io::text::parse_number;

/// A finite number, or what is wrong with it.
pub fn number(what: &str, text: &str) -> Result<f64, String> {
    match parse_number(text.trim()) {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{what} '{text}' is not a number")),
    }
}

/// A frequency in Hz (`80`, `80hz`, `1.5k`, `2khz`), above 0 and below Nyquist of `rate`.
pub fn hz(text: &str, rate: f64) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = lower.strip_suffix("khz") {
        (n, 1000.0)
    } else if let Some(n) = lower.strip_suffix('k') {
        (n, 1000.0)
    } else if let Some(n) = lower.strip_suffix("hz") {
        (n, 1.0)
    } else {
        (lower.as_str(), 1.0)
    };
    let f = number("frequency", num)? * mult;
    if f <= 0.0 {
        return Err(format!("frequency {text} must be above 0 Hz"));
    }
    if f >= rate / 2.0 {
        return Err(format!(
            "frequency {text} is at or above Nyquist ({} Hz at {rate} Hz)",
            rate / 2.0
        ));
    }
    Ok(f)
}

/// A gain as a factor: `-6db` (dB) or `0.5` (linear).
pub fn gain(text: &str) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    match lower.strip_suffix("db") {
        Some(db) => Ok(10f64.powf(number("gain", db)? / 20.0)),
        None => number("gain", text),
    }
}

/// A level in dB (`30`, `30db`).
pub fn decibels(what: &str, text: &str) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    number(what, lower.strip_suffix("db").unwrap_or(&lower))
}

/// What a bare number means to a caller of [`time`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bare {
    /// A whole number of samples (`delay:480`).
    Samples,
    /// Seconds (`--duration 2.5`).
    Seconds,
}

/// A time, as a (possibly fractional) number of samples at `rate`: `10ms`, `0.5s`, `2min`,
/// `1m`, or a bare number read as `bare` says. Not negative.
pub fn time(what: &str, text: &str, rate: f64, bare: Bare) -> Result<f64, String> {
    let t = text.trim().to_ascii_lowercase();
    let seconds = |n: &str, scale: f64| number(what, n).map(|v| v * scale * rate);
    let v = if let Some(n) = t.strip_suffix("ms") {
        seconds(n, 1e-3)?
    } else if let Some(n) = t.strip_suffix("min") {
        seconds(n, 60.0)?
    } else if let Some(n) = t.strip_suffix('s') {
        seconds(n, 1.0)?
    } else if let Some(n) = t.strip_suffix('m') {
        seconds(n, 60.0)?
    } else {
        match bare {
            Bare::Seconds => seconds(&t, 1.0)?,
            Bare::Samples => {
                let v = number(what, &t)?;
                if v.fract() != 0.0 {
                    return Err(format!(
                        "{what} in samples must be a whole number (or say ms, s or min)"
                    ));
                }
                v
            }
        }
    };
    if v < 0.0 {
        return Err(format!("{what} must not be negative"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_grammar_for_delays_and_durations() {
        let r = 48_000.0;
        assert_eq!(time("delay", "10ms", r, Bare::Samples), Ok(480.0));
        assert_eq!(time("delay", "1m", r, Bare::Samples), Ok(2_880_000.0));
        assert_eq!(time("delay", "1min", r, Bare::Samples), Ok(2_880_000.0));
        assert_eq!(time("delay", "480", r, Bare::Samples), Ok(480.0));
        assert!(time("delay", "4.5", r, Bare::Samples).is_err());
        assert_eq!(time("duration", "2.5", 1.0, Bare::Seconds), Ok(2.5));
        assert_eq!(time("duration", "1m", 1.0, Bare::Seconds), Ok(60.0));
        assert!(time("delay", "-1s", r, Bare::Samples).is_err());
        assert_eq!(hz("1.5k", r), Ok(1500.0));
        assert!(hz("24k", r).is_err());
        assert!((gain("-6db").unwrap() - 0.501_187).abs() < 1e-6);
        assert_eq!(decibels("reduce", "30dB"), Ok(30.0));
    }
}
