//! Recursive stages: `butter`, `notch`, `peak`, the cookbook biquads (`peq`, `lowshelf`,
//! `highshelf`, `allpass`), `biquad:` and `sos:@FILE`. Each is a cascade of second-order
//! sections run as scipy.signal.sosfilt runs it (`mode=causal`, the default) or as sosfiltfilt
//! (`mode=zero-phase`, offline only).
//!
//! Setup only.

use super::iir_design::{Band, Cookbook, butter, cookbook, notch_peak};
use super::spec::Spec;
use super::{Built, rate, units};
use crate::chain::{Context, IirStage, Stage};
use crate::conv::iir::{Section, normalize, stable};
use crate::error::Result;

/// The most sections one stage may have (a 32nd-order band filter).
const MAX_SECTIONS: usize = 64;

/// Q when a word does not give one: 1/sqrt(2), the Butterworth Q (a shelf with the
/// cookbook's slope S = 1, a peak about 1.9 octaves wide).
const DEFAULT_Q: f64 = std::f64::consts::FRAC_1_SQRT_2;

pub(super) fn iir_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    let mut reads = Vec::new();
    let (sos, allowed): (Vec<Section>, &[&str]) = match w.name {
        "butter" => (butter_word(w, ctx)?, &["order", "mode"]),
        "notch" | "peak" => {
            w.want_args(1..=1, &format!("{}:HZ[,q=Q]", w.name))?;
            let r = rate(w, ctx)?;
            let f = w.unit(units::hz(w.args[0], r))?;
            let q = quality(w, 30.0)?;
            (vec![notch_peak(f, q, r, w.name == "peak")], &["q", "mode"])
        }
        "peq" | "lowshelf" | "highshelf" | "allpass" => {
            let usage = if w.name == "allpass" {
                "allpass:HZ[,q=Q]".to_string()
            } else {
                format!("{}:HZ,gain=DB[,q=Q]", w.name)
            };
            w.want_args(1..=1, &usage)?;
            let r = rate(w, ctx)?;
            let f = w.unit(units::hz(w.args[0], r))?;
            let q = quality(w, DEFAULT_Q)?;
            let kind = if w.name == "allpass" {
                Cookbook::AllPass
            } else {
                let g = w
                    .opt("gain")
                    .ok_or_else(|| w.err(format!("usage: {usage} (the gain is required)")))?;
                let db = w.unit(units::decibels("gain", g))?;
                if db.abs() > 60.0 {
                    return Err(w.err(format!("gain {g} dB is beyond +-60 dB")));
                }
                match w.name {
                    "peq" => Cookbook::Peaking(db),
                    "lowshelf" => Cookbook::LowShelf(db),
                    _ => Cookbook::HighShelf(db),
                }
            };
            let allowed: &[&str] = if w.name == "allpass" {
                &["q", "mode"]
            } else {
                &["q", "gain", "mode"]
            };
            (vec![cookbook(kind, f, q, r)], allowed)
        }
        "biquad" => {
            w.want_args(6..=6, "biquad:b0,b1,b2,a0,a1,a2")?;
            let mut row = [0.0; 6];
            for (v, a) in row.iter_mut().zip(&w.args) {
                *v = w.number("coefficient", a)?;
            }
            (vec![w.unit(normalize(row))?], &["mode"])
        }
        _ => {
            // sos:@FILE
            let Some(file) = w.args.first().and_then(|a| a.strip_prefix('@')) else {
                return Err(w.err("usage: sos:@FILE (rows b0 b1 b2 a0 a1 a2; text or .npy)"));
            };
            w.want_args(1..=1, "sos:@FILE")?;
            let path = w.path(file);
            let array = crate::io::load_file(&path).map_err(|e| w.err(e))?;
            if array.width() != 6 {
                return Err(w.err(format!(
                    "{file} has {} column(s); second-order sections have 6 (b0 b1 b2 a0 a1 a2)",
                    array.width()
                )));
            }
            if array.rows() == 0 || array.rows() > MAX_SECTIONS {
                return Err(w.err(format!(
                    "{file} has {} sections (1 to {MAX_SECTIONS})",
                    array.rows()
                )));
            }
            let mut sos = Vec::with_capacity(array.rows());
            for r in 0..array.rows() {
                let row: [f64; 6] = std::array::from_fn(|c| array.columns[c][r]);
                sos.push(normalize(row).map_err(|e| w.err(format!("{file} row {}: {e}", r + 1)))?);
            }
            reads.push(path);
            (sos, &["mode"])
        }
    };
    w.check_opts(allowed)?;
    if !stable(&sos) {
        return Err(w.err(
            "is unstable (a pole on or outside the unit circle): its output would grow without bound",
        ));
    }
    let zero_phase = match w.opt("mode") {
        None | Some("causal") => false,
        Some("zero-phase") => true,
        Some(other) => {
            return Err(w.err(format!(
                "mode '{other}' is not causal or zero-phase (a recursive filter has no full/same/valid)"
            )));
        }
    };
    Ok(Built {
        stage: Stage::Iir(IirStage {
            word: w.text.to_string(),
            sos,
            zero_phase,
            reference_hz: reference(w, ctx),
        }),
        reads,
        note: None,
        upmix: None,
    })
}

/// `butter:lowpass|highpass|bandpass|bandstop,HZ[,HZ2][,order=N]`.
fn butter_word(w: &Spec, ctx: &Context) -> Result<Vec<Section>> {
    let usage = "butter:lowpass|highpass,HZ or butter:bandpass|bandstop,LO,HI [,order=N]";
    let Some(kind) = w.args.first() else {
        return Err(w.err(format!("usage: {usage}")));
    };
    let r = rate(w, ctx)?;
    let order = match w.opt("order") {
        Some(t) => w.count("order", t, 32, "32")?,
        None => 4,
    };
    let band = match *kind {
        "lowpass" | "highpass" => {
            w.want_args(2..=2, usage)?;
            let f = w.unit(units::hz(w.args[1], r))?;
            if *kind == "lowpass" {
                Band::Lowpass(f)
            } else {
                Band::Highpass(f)
            }
        }
        "bandpass" | "bandstop" => {
            w.want_args(3..=3, usage)?;
            let lo = w.unit(units::hz(w.args[1], r))?;
            let hi = w.unit(units::hz(w.args[2], r))?;
            if lo >= hi {
                return Err(w.err(format!(
                    "low edge {lo} Hz must be below the high edge {hi} Hz"
                )));
            }
            if *kind == "bandpass" {
                Band::Bandpass(lo, hi)
            } else {
                Band::Bandstop(lo, hi)
            }
        }
        other => {
            return Err(w.err(format!(
                "'{other}' is not lowpass, highpass, bandpass or bandstop (usage: {usage})"
            )));
        }
    };
    Ok(butter(order, band, r))
}

/// `q=Q`, above 0.
fn quality(w: &Spec, default: f64) -> Result<f64> {
    match w.opt("q") {
        None => Ok(default),
        Some(t) => {
            let q = w.number("q", t)?;
            if q <= 0.0 || q > 1000.0 {
                return Err(w.err(format!("q {t} must be above 0 and at most 1000")));
            }
            Ok(q)
        }
    }
}

/// The frequency a stage's delay is quoted at: inside the passband (the geometric mean of a
/// band's edges, a peak's centre, two octaves inside a low- or high-pass edge when that is
/// nearer than 1 kHz) or 1 kHz (shelves, EQ, notches, all-passes, filters from
/// coefficients); at most a quarter of the rate.
fn reference(w: &Spec, ctx: &Context) -> f64 {
    let r = ctx.rate.map_or(48_000.0, f64::from);
    let f = |i: usize| {
        w.args
            .get(i)
            .and_then(|t| units::hz(t, r).ok())
            .unwrap_or(1000.0)
    };
    let hz = match (w.name, w.args.first().copied()) {
        ("butter", Some("highpass")) => (f(1) * 4.0).max(1000.0),
        ("butter", Some("bandpass" | "bandstop")) => (f(1) * f(2)).sqrt(),
        ("butter", _) => (f(1) / 4.0).min(1000.0),
        ("peak", _) => f(0),
        _ => 1000.0,
    };
    hz.min(r / 4.0)
}
