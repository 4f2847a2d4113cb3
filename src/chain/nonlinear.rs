//! Stages that are not convolutions (`denoise`, `dehum`): they break fusion, stream with a
//! fixed latency, and offline come out time-aligned with their input (the latency trimmed at
//! the front and flushed at the end, as `mode=same` does for a kernel).

use crate::restore::dehum::Dehum;
use crate::restore::denoise::Denoiser;

/// What a nonlinear stage runs.
pub enum Processor {
    Denoise(Denoiser),
    /// One canceller per channel.
    Dehum(Vec<Dehum>),
}

impl Processor {
    /// Samples by which the output trails the input.
    pub fn latency(&self) -> usize {
        match self {
            Processor::Denoise(d) => d.latency(),
            Processor::Dehum(_) => 0,
        }
    }

    /// Streams one block (same length out as in). No allocation.
    pub(crate) fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        match self {
            Processor::Denoise(d) => d.process(input, output),
            Processor::Dehum(cancellers) => {
                for ((d, x), y) in cancellers.iter_mut().zip(input).zip(output.iter_mut()) {
                    y.copy_from_slice(x);
                    d.process(y);
                }
            }
        }
    }
}

/// A nonlinear stage in an offline chain.
pub struct NonlinearStage {
    pub word: String,
    /// What `--explain` says about it.
    pub describe: String,
    processor: Processor,
    /// Output samples still to drop at the front (the latency).
    to_trim: usize,
    channels: usize,
}

impl NonlinearStage {
    pub fn new(word: String, describe: String, processor: Processor, channels: usize) -> Self {
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

    pub(crate) fn into_processor(self) -> Processor {
        self.processor
    }

    /// Filters a block; the first `latency` outputs of the stream are dropped, so the result
    /// lines up with the input.
    pub fn process(&mut self, input: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let frames = input.first().map_or(0, Vec::len);
        let mut out = vec![vec![0.0f32; frames]; self.channels];
        {
            let ins: Vec<&[f32]> = input.iter().map(|v| &v[..]).collect();
            let mut outs: Vec<&mut [f32]> = out.iter_mut().map(|v| &mut v[..]).collect();
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
    pub fn finish(&mut self) -> Vec<Vec<f32>> {
        let zeros = vec![vec![0.0f32; self.processor.latency()]; self.channels];
        self.process(&zeros)
    }
}
