//! `denoise`: the spectral noise reducer's settings, and its noise profile analysed (mains
//! hum found in it first).
//!
//! Setup only.

use super::fir::load_ir;
use super::spec::Spec;
use super::units;
use super::{Built, rate, samples};
use crate::chain::nonlinear::{NonlinearStage, Processor};
use crate::chain::{Context, Stage};
use crate::error::Result;
use crate::restore::denoise::{self, Denoiser, Noise, Settings};

pub(super) fn denoise_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    w.check_opts(&[
        "profile",
        "reduce",
        "sensitivity",
        "frame",
        "lookahead",
        "resample",
    ])?;
    if !w.args.is_empty() {
        return Err(w.err(
            "usage: denoise[,profile=NOISE.wav,resample=yes,reduce=DB,sensitivity=DB,frame=MS,lookahead=N]",
        ));
    }
    let rate = rate(w, ctx)?;
    let frame = match w.opt("frame") {
        Some(t) => samples(w, "frame", t, ctx)?,
        None => 0.048 * rate,
    };
    // A multiple of 4 (hop = frame / 4) and of 16 when that is near (cheaper transforms).
    let mut frame = (frame.round() as usize / 4) * 4;
    if frame >= 256 {
        frame = (frame / 16) * 16;
    }
    if !(16..=1 << 16).contains(&frame) {
        return Err(w.err(format!(
            "frame must be 16 to 65536 samples ({:.1} to {:.0} ms at {rate} Hz), got {frame}",
            16.0e3 / rate,
            65536.0e3 / rate
        )));
    }
    let hop = frame / 4;
    let lookahead = match w.opt("lookahead") {
        None => 4,
        Some(t) if t.chars().all(|c| c.is_ascii_digit()) => w.number("lookahead", t)? as usize,
        Some(t) => (samples(w, "lookahead", t, ctx)? / hop as f64).ceil() as usize,
    };
    if lookahead > 64 {
        return Err(w.err("lookahead over 64 frames"));
    }
    let reduce_db = match w.opt("reduce") {
        Some(t) => w.unit(units::decibels("reduce", t))?.abs(),
        None => 20.0,
    };
    let sensitivity_db = match w.opt("sensitivity") {
        Some(t) => w.unit(units::decibels("sensitivity", t))?,
        None => 0.0,
    };
    if !(-30.0..=30.0).contains(&sensitivity_db) {
        return Err(w.err("sensitivity must be within -30..30 dB"));
    }
    let settings = Settings {
        frame,
        reduce_db,
        sensitivity_db,
        lookahead,
        rate,
    };
    let mut reads = Vec::new();
    let (noise, what) = match w.opt("profile") {
        Some(file) => {
            let path = w.path(file);
            let (mut columns, prate) = load_ir(w, &path)?;
            reads.push(path);
            let resample = match w.opt("resample") {
                None | Some("no") => false,
                Some("yes") => true,
                Some(r) => return Err(w.err(format!("resample '{r}' is not yes or no"))),
            };
            if let Some(pr) = prate.filter(|&pr| f64::from(pr) != rate) {
                if !resample {
                    return Err(w.err(format!(
                        "{file} is at {pr} Hz but the input is at {rate} Hz: record the noise at the input's rate, or add resample=yes"
                    )));
                }
                // The same band-limited resampler as the resample: stage.
                let to = rate as u32;
                for c in &mut columns {
                    *c = crate::chain::resample::resample_all(c, pr, to)?;
                }
            }
            if columns[0].len() < frame {
                return Err(w.err(format!(
                    "{file} has {} samples; a noise profile needs at least one frame ({frame}), and a second or more is better",
                    columns[0].len()
                )));
            }
            let per_channel = columns.len() == ctx.channels || columns.len() == 1;
            let analysed: Vec<(Vec<f64>, Option<denoise::Hum>)> = columns
                .iter()
                .map(|c| denoise::profile_channel(&settings, c))
                .collect();
            let hum = analysed.iter().find_map(|(_, h)| h.clone());
            let mut psd: Vec<Vec<f64>> = analysed.into_iter().map(|(p, _)| p).collect();
            if !per_channel {
                let n = psd.len() as f64;
                let mut mean = vec![0.0; psd[0].len()];
                for p in &psd {
                    for (m, v) in mean.iter_mut().zip(p) {
                        *m += v / n;
                    }
                }
                psd = vec![mean];
            }
            let hum_text = match &hum {
                Some((mains, ks)) => format!(
                    "; hum at {mains} Hz (harmonics {}) subtracted",
                    ks.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                ),
                None => String::new(),
            };
            (
                Noise::Profile { psd, hum },
                format!("noise from {file}{hum_text}"),
            )
        }
        None => (
            Noise::Learned,
            "noise learned from the input (minimum statistics)".to_string(),
        ),
    };
    let describe = format!(
        "denoise: frame {frame} ({:.1} ms), hop {hop}, lookahead {lookahead}, floor -{reduce_db} dB, sensitivity {sensitivity_db:+} dB, {what}",
        frame as f64 * 1e3 / rate
    );
    let denoiser = Denoiser::new(&settings, &noise, ctx.channels);
    Ok(Built {
        stage: Stage::Nonlinear(NonlinearStage::new(
            w.text.to_string(),
            describe,
            Box::new(AsBuilt {
                built: denoiser.clone(),
                live: denoiser,
            }),
            ctx.channels,
        )),
        reads,
        note: None,
        upmix: None,
    })
}

/// The denoiser, and the same as built (to reset to).
struct AsBuilt {
    live: Denoiser,
    built: Denoiser,
}

impl Processor for AsBuilt {
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        self.live.process(input, output);
    }

    fn latency(&self) -> usize {
        self.live.latency()
    }

    fn reset(&mut self) {
        self.live.clone_from(&self.built);
    }

    fn fresh(&self) -> Box<dyn Processor> {
        Box::new(AsBuilt {
            live: self.built.clone(),
            built: self.built.clone(),
        })
    }
}
