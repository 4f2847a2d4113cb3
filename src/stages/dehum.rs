//! `dehum:50|60`: mains hum fitted and subtracted, harmonic by harmonic.
//!
//! Setup only.

use super::spec::Spec;
use super::{Built, rate};
use crate::chain::nonlinear::{NonlinearStage, Processor};
use crate::chain::{Context, Stage};
use crate::error::Result;
use crate::restore::dehum::Dehum;

pub(super) fn dehum_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    w.check_opts(&["harmonics"])?;
    w.want_args(1..=1, "dehum:50 or dehum:60 (the mains frequency in Hz)")?;
    let mains = w.number(
        "mains frequency",
        w.args[0].trim_end_matches(['h', 'H', 'z']),
    )?;
    let rate = rate(w, ctx)?;
    if !(10.0..=1000.0).contains(&mains) || mains >= rate / 4.0 {
        return Err(w.err(format!(
            "mains frequency {mains} Hz is out of range (10 Hz up to 1 kHz and below a quarter of the rate)"
        )));
    }
    let harmonics = match w.opt("harmonics") {
        Some(t) => {
            let n = w.count("harmonics", t, 200, "200")?;
            if n > 200 {
                return Err(w.err("harmonics over 200"));
            }
            (1..=n as u32).collect()
        }
        None => Dehum::all_harmonics(mains, 1000.0_f64.max(mains)),
    };
    let cancellers: Vec<Dehum> = (0..ctx.channels)
        .map(|_| Dehum::new(mains, rate, &harmonics))
        .collect();
    let fitted = cancellers.first().map_or(0, |d| d.harmonics().len());
    Ok(Built {
        stage: Stage::Nonlinear(NonlinearStage::new(
            w.text.to_string(),
            format!("dehum: {fitted} harmonics of {mains} Hz fitted and subtracted"),
            Box::new(Cancellers {
                built: cancellers.clone(),
                live: cancellers,
            }),
            ctx.channels,
        )),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// One canceller per channel, and the same as built (to reset to).
struct Cancellers {
    live: Vec<Dehum>,
    built: Vec<Dehum>,
}

impl Processor for Cancellers {
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        for ((d, x), y) in self.live.iter_mut().zip(input).zip(output.iter_mut()) {
            y.copy_from_slice(x);
            d.process(y);
        }
    }

    fn latency(&self) -> usize {
        0
    }

    fn reset(&mut self) {
        self.live.clone_from(&self.built);
    }

    fn fresh(&self) -> Box<dyn Processor> {
        Box::new(Cancellers {
            live: self.built.clone(),
            built: self.built.clone(),
        })
    }
}
