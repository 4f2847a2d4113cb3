//! `fir:IR.wav`: an impulse response from a WAV (any format the one reader takes), at the
//! input's rate or resampled, normalized, mixed wet/dry, routed to the channels (mono,
//! per channel, true stereo, or a mono input upmixed to the IR's channels).
//!
//! Setup only.

use std::path::Path;

use super::design;
use super::spec::Spec;
use super::{Built, linear, units};
use crate::chain::{Context, Kernels, MAX_TAPS};
use crate::conv::Mode;
use crate::error::Result;

/// `fir:IR.wav[,normalize=,gain=,wet=,dry=,mode=,resample=]`.
pub(super) fn fir_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    let mut reads = Vec::new();
    let mut note = None;
    let mut upmix = None;
    let (kernels, mode) = {
        w.check_opts(&["gain", "normalize", "wet", "dry", "mode", "resample"])?;
        w.want_args(
            1..=1,
            "fir:IR.wav[,normalize=...,gain=...,wet=...,dry=...,mode=...]",
        )?;
        let file = w.args[0];
        let path = w.path(file);
        let (mut channels, ir_rate) = load_ir(w, &path)?;
        reads.push(path);
        let resample = match w.opt("resample") {
            None | Some("no") => false,
            Some("yes") => true,
            Some(r) => return Err(w.err(format!("resample '{r}' is not yes or no"))),
        };
        if let (Some(ir_rate), Some(rate)) = (ir_rate, ctx.rate) {
            if ir_rate != rate {
                if !resample {
                    return Err(w.err(format!(
                        "{file} is {ir_rate} Hz but the input is {rate} Hz (add resample=yes to resample the IR)"
                    )));
                }
                for c in &mut channels {
                    *c = design::resample(c, ir_rate, rate);
                }
                note = Some(format!(
                    "{}: resampled {file} from {ir_rate} Hz to {rate} Hz (band-limited, DFT; the frequency response kept)",
                    w.text
                ));
            }
        }
        let factor = match w.opt("normalize").unwrap_or("none") {
            "none" => 1.0,
            "peak" => {
                let peak = channels
                    .iter()
                    .flatten()
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                if peak == 0.0 { 1.0 } else { 1.0 / peak }
            }
            "dc" => {
                let dc = channels
                    .iter()
                    .map(|c| c.iter().sum::<f64>().abs())
                    .fold(0.0, f64::max);
                if dc == 0.0 {
                    return Err(w.err(format!("{file} sums to 0: normalize=dc is undefined")));
                }
                1.0 / dc
            }
            "energy" => {
                let e = channels
                    .iter()
                    .map(|c| c.iter().map(|v| v * v).sum::<f64>())
                    .fold(0.0, f64::max);
                if e == 0.0 { 1.0 } else { 1.0 / e.sqrt() }
            }
            other => {
                return Err(w.err(format!(
                    "normalize '{other}' is not none, peak, dc or energy"
                )));
            }
        };
        let gain = match w.opt("gain") {
            Some(g) => w.unit(units::gain(g))?,
            None => 1.0,
        };
        let wet = match w.opt("wet") {
            Some(v) => w.number("wet", v)?,
            None => 1.0,
        };
        let dry = match w.opt("dry") {
            Some(v) => w.number("dry", v)?,
            None => 0.0,
        };
        let scale = factor * gain * wet;
        if factor != 1.0 {
            let before = note.take().map(|n| format!("{n}; ")).unwrap_or_default();
            note = Some(format!(
                "{before}{}: normalize={} scales the IR by {:.6} ({:+.2} dB)",
                w.text,
                w.opt("normalize").unwrap_or("none"),
                factor,
                20.0 * factor.log10()
            ));
        }
        for c in &mut channels {
            c.iter_mut().for_each(|v| *v *= scale);
        }
        let input_channels = ctx.channels;
        let n = channels.len();
        let mut kernels = if n == 1 {
            Kernels::Shared(channels.remove(0))
        } else if n == input_channels {
            Kernels::PerChannel(channels)
        } else if n == 4 && input_channels == 2 {
            let m = &channels;
            // LL, LR, RL, RR -> [out][in]
            Kernels::Matrix(vec![
                vec![m[0].clone(), m[2].clone()],
                vec![m[1].clone(), m[3].clone()],
            ])
        } else if input_channels == 1 && n == 4 {
            // True stereo on mono: the voice feeds both inputs, out_L = x*(LL+RL),
            // out_R = x*(LR+RR).
            let sum = |a: &[f64], b: &[f64]| -> Vec<f64> {
                let mut s = a.to_vec();
                s.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                s
            };
            upmix = Some(2);
            Kernels::PerChannel(vec![
                sum(&channels[0], &channels[2]),
                sum(&channels[1], &channels[3]),
            ])
        } else if input_channels == 1 {
            // A mono voice into an N-channel IR: N channels out, out_c = x * IR_c.
            upmix = Some(n);
            Kernels::PerChannel(channels)
        } else {
            return Err(w.err(format!(
                "{file} has {n} channels but the input has {input_channels} (use a mono IR, a {input_channels}-channel one{})",
                if input_channels == 2 { ", or 4 channels for true stereo" } else { "" }
            )));
        };
        if dry != 0.0 {
            kernels = add_dry(kernels, dry);
        }
        // An impulse response is causal: by default its direct sound stays where it was
        // and the tail is kept (as ffmpeg's afir), instead of np.convolve's centring.
        (kernels, w.mode(Mode::Full)?)
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads,
        note,
        upmix,
    })
}

fn add_dry(k: Kernels, dry: f64) -> Kernels {
    let bump = |mut v: Vec<f64>| {
        v[0] += dry;
        v
    };
    match k {
        Kernels::Shared(v) => Kernels::Shared(bump(v)),
        Kernels::PerChannel(vs) => Kernels::PerChannel(vs.into_iter().map(bump).collect()),
        Kernels::Matrix(mut m) => {
            for (i, row) in m.iter_mut().enumerate() {
                row[i][0] += dry;
            }
            Kernels::Matrix(m)
        }
    }
}

pub(super) fn load_ir(w: &Spec, path: &Path) -> Result<(Vec<Vec<f64>>, Option<u32>)> {
    let file = path.display().to_string();
    let mut source = crate::io::Source::open(&file, Some(crate::io::WireFormat::Wav), None, None)
        .map_err(|e| w.err(e))?;
    let columns: Vec<Vec<f64>> = source.read_all(MAX_TAPS).map_err(|e| w.err(e))?;
    if columns.first().is_none_or(Vec::is_empty) {
        return Err(w.err(format!("{file} has no samples")));
    }
    for (c, col) in columns.iter().enumerate() {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(w.err(format!(
                "{file} has a non-finite value ({}) at frame {i}, channel {}",
                col[i],
                c + 1
            )));
        }
    }
    Ok((columns, source.info.rate))
}
