//! The chain for live streams: each fused run's engine, back to back, on fixed blocks, with
//! every buffer allocated before the stream starts.
//!
//! The offline [`FusedStage`](super::fused::FusedStage) computes exact `same`-mode edges, which
//! needs the end of the input; a live stream has no end, so here every run is the causal
//! convolution with its kernel (np.convolve 'full' as it streams), delayed by the engine's
//! latency. A `same` stage live is the same filter with its front trim left out: the trim is a
//! fixed time shift, which a real-time stream cannot take back.

use super::fused::Filter;
use crate::block::{views, views_mut};
use crate::conv::Sample;

/// Most channels a live chain carries (its slice tables live on the stack).
pub const MAX_LIVE_CHANNELS: usize = crate::block::STACK_CHANNELS;

/// The engines of a chain, run in order on blocks of at most `block` frames.
pub struct LiveChain<T: Sample = f32> {
    engines: Vec<Filter<T>>,
    /// Channels into each engine (and, last, out of the chain).
    widths: Vec<usize>,
    /// Ping-pong buffers between engines: `[which][channel][frame]`.
    bufs: [Vec<Vec<T>>; 2],
    block: usize,
}

impl<T: Sample> LiveChain<T> {
    pub(crate) fn new(engines: Vec<Filter<T>>, channels: usize, block: usize) -> LiveChain<T> {
        let mut widths = vec![channels];
        for e in &engines {
            let w = e.channels_out(*widths.last().unwrap_or(&channels));
            widths.push(w);
        }
        let widest = widths.iter().copied().max().unwrap_or(channels);
        let buf = || vec![vec![T::zero(); block]; widest];
        LiveChain {
            engines,
            widths,
            bufs: [buf(), buf()],
            block,
        }
    }

    /// Channels in.
    pub fn channels(&self) -> usize {
        self.widths[0]
    }

    /// Channels out.
    pub fn channels_out(&self) -> usize {
        *self.widths.last().unwrap_or(&self.widths[0])
    }

    /// Largest block `process` takes.
    pub fn block(&self) -> usize {
        self.block
    }

    /// Samples by which the output trails the causal convolution of the input.
    pub fn latency(&self) -> usize {
        self.engines.iter().map(Filter::latency).sum()
    }

    /// Frames of zeros to feed after the input so every kernel tail has come out.
    pub fn tail_frames(&self) -> usize {
        // Each engine's tail already counts its latency.
        self.engines.iter().map(Filter::tail_frames).sum()
    }

    /// Forgets all past input (every engine as built). Not for the audio thread while it runs:
    /// a denoiser's reset copies its state.
    pub fn reset(&mut self) {
        self.engines.iter_mut().for_each(Filter::reset);
    }

    /// Filters `frames` frames of `input` (one buffer per channel) into `output`. Neither
    /// allocates nor locks: every engine works in place on buffers made at build time.
    ///
    /// # Panics
    /// If `frames` exceeds the block or a buffer is shorter than `frames` (a caller bug).
    pub fn process(&mut self, input: &[Vec<T>], frames: usize, output: &mut [Vec<T>]) {
        assert!(
            frames <= self.block,
            "block larger than the live chain was built for"
        );
        let n = self.engines.len();
        if n == 0 {
            for (o, i) in output.iter_mut().zip(input) {
                o[..frames].copy_from_slice(&i[..frames]);
            }
            return;
        }
        let [a, b] = &mut self.bufs;
        for (i, engine) in self.engines.iter_mut().enumerate() {
            let last = i + 1 == n;
            let (w_in, w_out) = (self.widths[i], self.widths[i + 1]);
            match (i == 0, last) {
                (true, true) => run(engine, input, output, frames, w_in, w_out),
                (true, false) => run(engine, input, a, frames, w_in, w_out),
                (false, true) => run(
                    engine,
                    if (i - 1) % 2 == 0 { a } else { b },
                    output,
                    frames,
                    w_in,
                    w_out,
                ),
                (false, false) if (i - 1) % 2 == 0 => run(engine, a, b, frames, w_in, w_out),
                (false, false) => run(engine, b, a, frames, w_in, w_out),
            }
        }
    }
}

/// One engine over `frames` frames of `w_in` channels into `w_out` (slice tables on the
/// stack: a live chain carries at most [`MAX_LIVE_CHANNELS`] channels).
fn run<T: Sample>(
    engine: &mut Filter<T>,
    src: &[Vec<T>],
    dst: &mut [Vec<T>],
    frames: usize,
    w_in: usize,
    w_out: usize,
) {
    let w_in = w_in.min(src.len()).min(MAX_LIVE_CHANNELS);
    let w_out = w_out.min(dst.len()).min(MAX_LIVE_CHANNELS);
    engine.process(
        &views(&src[..w_in], 0..frames),
        &mut views_mut(&mut dst[..w_out], 0..frames),
    );
}
