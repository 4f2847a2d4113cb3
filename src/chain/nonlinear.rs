//! Stages that are not convolutions (`denoise`, `dehum`, and whatever implements
//! [`Processor`] next): they break fusion, stream with a fixed latency, and offline come out
//! time-aligned with their input (the latency trimmed at the front and flushed at the end, as
//! `mode=same` does for a kernel).
//!
//! They run in f32 whatever the chain's sample type, through buffers of their own, and keep
//! state that a NaN or infinity would poison for good (a noise estimate, a tone fit): such an
//! input sample is replaced by 0 on its way in, so it costs one sample, not the rest of the
//! channel, and is counted for the summary.

use crate::block::{Block, views, views_mut};
use crate::conv::Sample;

/// What a nonlinear stage runs: planar f32 blocks of every channel in, as many frames out,
/// delayed by a fixed latency. A new kind of stage is a type implementing this and a word for
/// it in `stages/` (see stages/dehum.rs: fifty lines).
pub trait Processor: Send {
    /// Filters one block; `input` and `output` have one slice per channel, all the same
    /// length (any length, 0 included). Must not allocate once built (it runs live).
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]);
    /// Samples by which the output trails the input.
    fn latency(&self) -> usize;
    /// Back to the state it was built in: the next block starts a new stream. Not called on
    /// the audio thread (it may allocate).
    fn reset(&mut self);
    /// A copy in the state it was built in (a batch run gives each file its own, sharing
    /// nothing mutable). Not called on the audio thread.
    fn fresh(&self) -> Box<dyn Processor>;
}

/// A nonlinear processor with its f32 buffers and its count of replaced samples.
pub struct Nonlinear {
    processor: Box<dyn Processor>,
    ins: Vec<Vec<f32>>,
    outs: Vec<Vec<f32>>,
    /// Non-finite input samples replaced by 0 so far.
    pub replaced: u64,
}

impl Clone for Nonlinear {
    /// A copy as built: a batch run clones one built chain per file, never a used one.
    fn clone(&self) -> Nonlinear {
        Nonlinear {
            processor: self.processor.fresh(),
            ins: self.ins.clone(),
            outs: self.outs.clone(),
            replaced: 0,
        }
    }
}

impl Nonlinear {
    /// `processor` over `channels` channels, with buffers for blocks of `block` frames (they
    /// grow if a larger block comes, which a live chain never sends).
    pub fn new(processor: Box<dyn Processor>, channels: usize, block: usize) -> Nonlinear {
        Nonlinear {
            processor,
            ins: vec![vec![0.0; block]; channels],
            outs: vec![vec![0.0; block]; channels],
            replaced: 0,
        }
    }

    /// Samples by which the output trails the input.
    pub fn latency(&self) -> usize {
        self.processor.latency()
    }

    /// Back to the state it was built in (its noise estimate, its tone fits): the next input
    /// is the start of a new stream.
    pub fn reset(&mut self) {
        self.processor.reset();
        self.replaced = 0;
    }

    /// Makes room for blocks of `block` frames (setup: a live chain calls it once).
    pub(crate) fn reserve(&mut self, block: usize) {
        for b in self.ins.iter_mut().chain(self.outs.iter_mut()) {
            if b.len() < block {
                b.resize(block, 0.0);
            }
        }
    }

    /// Streams one block (same length out as in). No allocation once the buffers are as large
    /// as the block.
    pub(crate) fn process<T: Sample>(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        let frames = input.first().map_or(0, |x| x.len());
        self.reserve(frames);
        for (b, x) in self.ins.iter_mut().zip(input) {
            for (d, &v) in b[..frames].iter_mut().zip(x.iter()) {
                let f = v.as_f64() as f32;
                *d = if f.is_finite() {
                    f
                } else {
                    self.replaced += 1;
                    0.0
                };
            }
        }
        self.processor.process(
            &views(&self.ins, 0..frames),
            &mut views_mut(&mut self.outs, 0..frames),
        );
        for (y, b) in output.iter_mut().zip(&self.outs) {
            for (d, &v) in y.iter_mut().zip(&b[..frames]) {
                *d = T::of_f64(f64::from(v));
            }
        }
    }
}

/// A nonlinear stage in an offline chain.
#[derive(Clone)]
pub struct NonlinearStage {
    pub word: String,
    /// What `--explain` says about it.
    pub describe: String,
    processor: Nonlinear,
    /// Output samples still to drop at the front (the latency).
    to_trim: usize,
    channels: usize,
}

impl NonlinearStage {
    pub fn new(
        word: String,
        describe: String,
        processor: Box<dyn Processor>,
        channels: usize,
    ) -> Self {
        let processor = Nonlinear::new(processor, channels, 0);
        NonlinearStage {
            word,
            describe,
            to_trim: processor.latency(),
            processor,
            channels,
        }
    }

    pub fn latency(&self) -> usize {
        self.processor.latency()
    }

    /// Non-finite input samples replaced so far.
    pub fn replaced(&self) -> u64 {
        self.processor.replaced
    }

    /// Back to the state it was built in.
    pub fn reset(&mut self) {
        self.processor.reset();
        self.to_trim = self.processor.latency();
    }

    pub(crate) fn into_processor(self) -> Nonlinear {
        self.processor
    }

    /// Filters a block into `out`; the first `latency` outputs of the stream are dropped, so
    /// the result lines up with the input. No allocation once the buffers have grown to the
    /// run's largest block.
    pub fn process<T: Sample>(&mut self, input: &[Vec<T>], out: &mut Block<T>) {
        let frames = input.first().map_or(0, Vec::len);
        out.clear(self.channels);
        out.resize(self.channels, frames);
        self.processor
            .process(&views(input, 0..frames), &mut out.views_mut(0..frames));
        let drop = self.to_trim.min(frames);
        self.to_trim -= drop;
        out.drop_front(drop);
    }

    /// The end of the input: pushes the latency's worth of silence through, which brings out
    /// the last input samples.
    pub fn finish<T: Sample>(&mut self, out: &mut Block<T>) {
        let zeros = Block::<T>::zeros(self.channels, self.processor.latency());
        self.process(&zeros, out);
    }
}
