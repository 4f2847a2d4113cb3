//! `denoise`: the spectral noise reducer's settings, and its noise profile analysed (mains
//! hum found in it first).
//!
//! Setup only.

use super::fir::load_ir;
use super::spec::Spec;
use super::units;
use super::{Built, rate, samples};
use crate::chain::nonlinear::{NonlinearStage, Primed, Processor, Series};
use crate::chain::{Context, Stage};
use crate::error::Result;
use crate::restore::denoise::{self, Denoiser, Noise, Settings};
use crate::restore::rnnoise::{self, Rnnoise};

/// The options that set the spectral reducer (all but `model=`).
const SPECTRAL_OPTS: [&str; 6] = [
    "profile",
    "reduce",
    "sensitivity",
    "frame",
    "lookahead",
    "resample",
];

pub(super) fn denoise_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    let mut opts = SPECTRAL_OPTS.to_vec();
    opts.push("model");
    w.check_opts(&opts)?;
    if !w.args.is_empty() {
        return Err(w.err(
            "usage: denoise[,model=hybrid|spectral|rnnoise,profile=NOISE.wav,resample=yes,reduce=DB,sensitivity=DB,frame=MS,lookahead=N]",
        ));
    }
    let rate = rate(w, ctx)?;
    let model = match w.opt("model") {
        None | Some("hybrid") => Model::Hybrid,
        Some("spectral") => Model::Spectral,
        Some("rnnoise") => Model::Rnnoise,
        Some(m) => {
            return Err(w.err(format!(
                "model '{m}' is not hybrid (the spectral reducer, then RNNoise), spectral or rnnoise"
            )));
        }
    };
    if model == Model::Rnnoise {
        if let Some(o) = SPECTRAL_OPTS.into_iter().find(|o| w.opt(o).is_some()) {
            return Err(w.err(format!(
                "{o}= sets the spectral reducer, which model=rnnoise does not use (model=hybrid runs both)"
            )));
        }
    }
    let rnnoise = if model == Model::Spectral {
        None
    } else {
        if rate.fract() != 0.0 || !(8_000.0..=384_000.0).contains(&rate) {
            return Err(w.err(format!(
                "model={} needs a whole sample rate of 8 to 384 kHz, got {rate} Hz",
                model.word()
            )));
        }
        Some(Rnnoise::new(rate as u32, ctx.channels)?)
    };
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
    // Before RNNoise two frames of lookahead do as well as four (PESQ-WB 1.590 / STOI 0.858
    // against 1.589 / 0.857 on benches/denoise_real.py's set; none: 1.593 / 0.854), for 24 ms
    // less latency and less work.
    let lookahead = match w.opt("lookahead") {
        None if model == Model::Spectral => 4,
        None => 2,
        Some(t) if t.chars().all(|c| c.is_ascii_digit()) => w.number("lookahead", t)? as usize,
        Some(t) => (samples(w, "lookahead", t, ctx)? / hop as f64).ceil() as usize,
    };
    if lookahead > 64 {
        return Err(w.err("lookahead over 64 frames"));
    }
    // Before RNNoise the spectral reducer only takes the steady part of the noise down (a
    // 12 dB floor): RNNoise does the rest better from a cleaner start.
    let (reduce_default, sensitivity_default) = match model {
        Model::Spectral => (20.0, 0.0),
        _ => (HYBRID_REDUCE_DB, HYBRID_SENSITIVITY_DB),
    };
    let reduce_db = match w.opt("reduce") {
        Some(t) => w.unit(units::decibels("reduce", t))?.abs(),
        None => reduce_default,
    };
    let sensitivity_db = match w.opt("sensitivity") {
        Some(t) => w.unit(units::decibels("sensitivity", t))?,
        None => sensitivity_default,
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
            "noise learned from the input (tracked by speech presence)".to_string(),
        ),
    };
    let spectral = format!(
        "frame {frame} ({:.1} ms), hop {hop}, lookahead {lookahead}, floor -{reduce_db} dB, sensitivity {sensitivity_db:+} dB, {what}",
        frame as f64 * 1e3 / rate
    );
    let denoiser = Denoiser::new(&settings, &noise, ctx.channels);
    let spectral_stage: Box<dyn Processor> = Box::new(AsBuilt {
        built: denoiser.clone(),
        live: denoiser,
    });
    let ms = |n: usize| n as f64 * 1e3 / rate;
    let (processor, describe): (Box<dyn Processor>, String) = match (model, rnnoise) {
        (Model::Spectral, _) | (_, None) => (spectral_stage, format!("denoise: {spectral}")),
        (Model::Rnnoise, Some(r)) => {
            let d = format!(
                "denoise: RNNoise (Xiph's weights){}, latency {:.1} ms live; offline primed on the first {PRIME_SECONDS} s",
                resampled(rate),
                ms(r.latency())
            );
            (primed(Box::new(r), rate, ctx.channels), d)
        }
        (Model::Hybrid, Some(r)) => {
            let d = format!(
                "denoise: spectral ({spectral}), then RNNoise{}; latency {:.1} ms live; offline primed on the first {PRIME_SECONDS} s",
                resampled(rate),
                ms(spectral_stage.latency() + r.latency())
            );
            let both = Box::new(Series::new(spectral_stage, Box::new(r), ctx.channels));
            (primed(both, rate, ctx.channels), d)
        }
    };
    Ok(Built {
        stage: Stage::Nonlinear(NonlinearStage::new(
            w.text.to_string(),
            describe,
            processor,
            ctx.channels,
        )),
        reads,
        note: None,
        upmix: None,
    })
}

/// The spectral floor and noise scaling under `model=hybrid`, measured on
/// benches/denoise_real.py's set (PESQ-WB / STOI / worst STOI against the input): floor 12 dB
/// 1.587 / 0.857 / -0.002, 15 dB 1.584 / 0.854 / -0.005, 10 dB 1.539 / 0.861 / -0.002; with
/// -3 dB sensitivity 1.560 / 0.859 (12) and 1.550 / 0.855 (15). Below ~10 dB RNNoise does most
/// of the work and the hybrid tends to RNNoise alone (1.480 / 0.848); above ~20 dB the spectral
/// stage starts eating speech under babble (STOI -0.01 there).
const HYBRID_REDUCE_DB: f64 = 12.0;
const HYBRID_SENSITIVITY_DB: f64 = 0.0;

/// Which denoiser runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Model {
    /// The spectral reducer (streaming STFT, Wiener gain, tracked noise).
    Spectral,
    /// RNNoise alone.
    Rnnoise,
    /// The spectral reducer at a 12 dB floor, then RNNoise.
    Hybrid,
}

impl Model {
    fn word(self) -> &'static str {
        match self {
            Model::Spectral => "spectral",
            Model::Rnnoise => "rnnoise",
            Model::Hybrid => "hybrid",
        }
    }
}

/// Offline, how much of the stream's start RNNoise is primed on (from a cold start its gains
/// take a second or more to settle on steady noise: the first 0.1 s came through at -1 to
/// -20 dB where the rest was taken down by 25-50 dB).
const PRIME_SECONDS: f64 = 2.0;

fn primed(p: Box<dyn Processor>, rate: f64, channels: usize) -> Box<dyn Processor> {
    Box::new(Primed::new(p, (PRIME_SECONDS * rate) as usize, channels))
}

/// What the description says about RNNoise's rate.
fn resampled(rate: f64) -> String {
    if rate == f64::from(rnnoise::RATE) {
        String::new()
    } else {
        format!(" (at 48 kHz, resampled from and back to {rate} Hz)")
    }
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
