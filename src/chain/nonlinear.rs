//! Stages that are not convolutions (`denoise`, `dehum`): they break fusion, stream with a
//! fixed latency, and offline come out time-aligned with their input (the latency trimmed at
//! the front and flushed at the end, as `mode=same` does for a kernel).
//!
//! Both run in f32 whatever the chain's sample type, through buffers of their own, and both
//! keep state that a NaN or infinity would poison for good (a noise estimate, a tone fit):
//! such an input sample is replaced by 0 on its way in, so it costs one sample, not the rest
//! of the channel, and is counted for the summary.

use crate::conv::Sample;
use crate::restore::dehum::Dehum;
use crate::restore::denoise::Denoiser;

/// Channels whose slice tables fit on the stack (a live chain carries at most this many).
const STACK: usize = 32;

/// What a nonlinear stage runs.
pub enum Processor {
    Denoise(Denoiser),
    /// One canceller per channel.
    Dehum(Vec<Dehum>),
}

/// A nonlinear processor with its f32 buffers and its count of replaced samples.
pub struct Nonlinear {
    processor: Processor,
    ins: Vec<Vec<f32>>,
    outs: Vec<Vec<f32>>,
    /// Non-finite input samples replaced by 0 so far.
    pub replaced: u64,
}

impl Nonlinear {
    /// `processor` over `channels` channels, with buffers for blocks of `block` frames (they
    /// grow if a larger block comes, which a live chain never sends).
    pub fn new(processor: Processor, channels: usize, block: usize) -> Nonlinear {
        Nonlinear {
            processor,
            ins: vec![vec![0.0; block]; channels],
            outs: vec![vec![0.0; block]; channels],
            replaced: 0,
        }
    }

    /// Samples by which the output trails the input.
    pub fn latency(&self) -> usize {
        match &self.processor {
            Processor::Denoise(d) => d.latency(),
            Processor::Dehum(_) => 0,
        }
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
        match &mut self.processor {
            Processor::Denoise(d) => {
                let n = self.ins.len();
                if n <= STACK {
                    // The slice tables on the stack: nothing allocated per block (live).
                    let mut ins: [&[f32]; STACK] = [&[]; STACK];
                    let mut outs: [&mut [f32]; STACK] = Default::default();
                    for (slot, b) in ins.iter_mut().zip(&self.ins) {
                        *slot = &b[..frames];
                    }
                    for (slot, b) in outs.iter_mut().zip(self.outs.iter_mut()) {
                        *slot = &mut b[..frames];
                    }
                    d.process(&ins[..n], &mut outs[..n]);
                } else {
                    let ins: Vec<&[f32]> = self.ins.iter().map(|b| &b[..frames]).collect();
                    let mut outs: Vec<&mut [f32]> =
                        self.outs.iter_mut().map(|b| &mut b[..frames]).collect();
                    d.process(&ins, &mut outs);
                }
            }
            Processor::Dehum(cancellers) => {
                for ((d, x), y) in cancellers.iter_mut().zip(&self.ins).zip(&mut self.outs) {
                    y[..frames].copy_from_slice(&x[..frames]);
                    d.process(&mut y[..frames]);
                }
            }
        }
        for (y, b) in output.iter_mut().zip(&self.outs) {
            for (d, &v) in y.iter_mut().zip(&b[..frames]) {
                *d = T::of_f64(f64::from(v));
            }
        }
    }
}

/// A nonlinear stage in an offline chain.
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
    pub fn new(word: String, describe: String, processor: Processor, channels: usize) -> Self {
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

    pub(crate) fn into_processor(self) -> Nonlinear {
        self.processor
    }

    /// Filters a block; the first `latency` outputs of the stream are dropped, so the result
    /// lines up with the input.
    pub fn process<T: Sample>(&mut self, input: &[Vec<T>]) -> Vec<Vec<T>> {
        let frames = input.first().map_or(0, Vec::len);
        let mut out = vec![vec![T::zero(); frames]; self.channels];
        {
            let ins: Vec<&[T]> = input.iter().map(|v| &v[..]).collect();
            let mut outs: Vec<&mut [T]> = out.iter_mut().map(|v| &mut v[..]).collect();
            self.processor.process(&ins, &mut outs);
        }
        let drop = self.to_trim.min(frames);
        self.to_trim -= drop;
        if drop > 0 {
            for o in &mut out {
                o.drain(..drop);
            }
        }
        out
    }

    /// The end of the input: pushes the latency's worth of silence through, which brings out
    /// the last input samples.
    pub fn finish<T: Sample>(&mut self) -> Vec<Vec<T>> {
        let zeros = vec![vec![T::zero(); self.processor.latency()]; self.channels];
        self.process(&zeros)
    }
}
