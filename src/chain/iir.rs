//! Recursive stages in a chain. Consecutive causal ones become one cascade (sosfilt of the
//! stacked sections is the stages one after the other, and keeps f64 between them); each
//! zero-phase one stands alone, since sosfiltfilt of a cascade is not the cascade of
//! sosfiltfilts (the padding and the initial states differ).
//!
//! A causal step streams: the same number of frames out as in, block by block, nothing to
//! flush (sosfilt's output is as long as its input). A zero-phase step needs the whole signal
//! (it runs backwards), so it holds the input and gives it out filtered at the end: offline
//! only.

use super::steps::hold;
use crate::block::{Block, views};
use crate::conv::Sample;
use crate::conv::iir::{Cascade, Section, group_delay, sosfiltfilt};
use crate::error::{Error, Result};

/// A recursive stage as parsed.
#[derive(Clone, Debug)]
pub struct IirStage {
    pub word: String,
    /// Second-order sections, `a0 == 1`.
    pub sos: Vec<Section>,
    /// `mode=zero-phase` (scipy's sosfiltfilt) rather than causal (sosfilt).
    pub zero_phase: bool,
    /// Where its delay is quoted (Hz).
    pub reference_hz: f64,
}

impl IirStage {
    /// The group delay at the reference frequency, in samples (0 for zero phase).
    pub fn delay(&self, rate: Option<u32>) -> f64 {
        if self.zero_phase {
            return 0.0;
        }
        let r = rate.map_or(48_000.0, f64::from);
        group_delay(
            &self.sos,
            2.0 * std::f64::consts::PI * self.reference_hz / r,
        )
    }
}

/// One or more recursive stages run as one cascade.
#[derive(Clone)]
pub struct IirStep {
    stages: Vec<IirStage>,
    cascade: Cascade,
    zero_phase: bool,
    /// Zero phase: every channel's input so far.
    held: Vec<Vec<f64>>,
    channels: usize,
}

impl IirStep {
    /// `stages` (all causal, or one zero-phase) on `channels` channels.
    pub fn new(stages: Vec<IirStage>, channels: usize) -> IirStep {
        let sos: Vec<Section> = stages.iter().flat_map(|s| s.sos.iter().copied()).collect();
        let zero_phase = stages.first().is_some_and(|s| s.zero_phase);
        IirStep {
            cascade: Cascade::new(sos, channels),
            stages,
            zero_phase,
            held: vec![Vec::new(); if zero_phase { channels } else { 0 }],
            channels,
        }
    }

    pub fn stages(&self) -> &[IirStage] {
        &self.stages
    }

    pub fn zero_phase(&self) -> bool {
        self.zero_phase
    }

    /// The sections, in order.
    pub fn sections(&self) -> &[Section] {
        self.cascade.sections()
    }

    /// Back at rest, nothing held.
    pub fn reset(&mut self) {
        self.cascade.reset();
        self.held.iter_mut().for_each(Vec::clear);
    }

    /// The cascade, for a live chain.
    ///
    /// # Errors
    /// A zero-phase stage: it cannot run on a stream that has no end.
    pub fn into_cascade(self) -> Result<Cascade> {
        if let Some(s) = self.stages.iter().find(|s| s.zero_phase) {
            return Err(Error::Usage(format!(
                "{}: mode=zero-phase filters forwards and backwards over the whole input, so it runs offline only (live, use mode=causal)",
                s.word
            )));
        }
        Ok(self.cascade)
    }

    /// Filters a block into `out` (causal), or holds it (zero phase: `out` stays empty).
    ///
    /// # Errors
    /// A zero-phase step would hold more than [`super::steps::MAX_HELD`] samples.
    pub fn process<T: Sample>(&mut self, input: &[Vec<T>], out: &mut Block<T>) -> Result<()> {
        let frames = input.first().map_or(0, Vec::len);
        out.clear(self.channels);
        if self.zero_phase {
            return hold(
                &mut self.held,
                input,
                &self.stages[0].word,
                "mode=zero-phase holds the whole input",
                "use mode=causal",
            );
        }
        out.resize(self.channels, frames);
        self.cascade
            .process(&views(input, 0..frames), &mut out.views_mut(0..frames));
        Ok(())
    }

    /// The end of the input: a zero-phase step filters what it held into `out`.
    ///
    /// # Errors
    /// The input is too short for sosfiltfilt's padding.
    pub fn finish<T: Sample>(&mut self, out: &mut Block<T>) -> Result<()> {
        out.clear(self.channels);
        if !self.zero_phase || self.held.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        for (h, o) in self.held.iter_mut().zip(out.planes_mut()) {
            let y = sosfiltfilt(self.cascade.sections(), h)
                .map_err(|e| Error::Usage(format!("{}: {e}", self.stages[0].word)))?;
            o.extend(y.iter().map(|&v| T::of_f64(v)));
            *h = Vec::new();
        }
        Ok(())
    }
}
