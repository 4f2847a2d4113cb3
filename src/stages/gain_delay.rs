//! `gain:-6db` (a one-tap kernel, fused into its neighbours) and `delay:10ms` (a shift of the
//! stream: silence ahead of it offline, a ring live; no kernel, so any length is cheap).
//!
//! Setup only.

use super::spec::Spec;
use super::{Built, linear, samples, units};
use crate::chain::{Context, Kernels, MAX_DELAY, Stage};
use crate::conv::Mode;
use crate::error::Result;

/// `gain:-6db`, `gain:0.5`.
pub(super) fn gain_stage(w: &Spec, _ctx: &Context) -> Result<Built> {
    w.check_opts(&[])?;
    w.want_args(1..=1, "gain:-6db or gain:0.5")?;
    let k = Kernels::Shared(vec![w.unit(units::gain(w.args[0]))?]);
    Ok(Built {
        stage: linear(w, k, Mode::Full),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// `delay:10ms`, `delay:0.5s`, `delay:1m`, `delay:480` (samples).
pub(super) fn delay_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    w.check_opts(&[])?;
    w.want_args(1..=1, "delay:10ms, delay:0.5s or delay:480 (samples)")?;
    let d = samples(w, "delay", w.args[0], ctx)?.round();
    if d > MAX_DELAY as f64 {
        return Err(w.err(format!("delay over {MAX_DELAY} samples")));
    }
    Ok(Built {
        stage: Stage::Delay(d as u64),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}
