//! The chain for live streams: each fused run's engine, back to back, on fixed blocks, with
//! every buffer allocated before the stream starts.
//!
//! The offline [`FusedStage`](super::fused::FusedStage) computes exact `same`-mode edges, which
//! needs the end of the input; a live stream has no end, so here every run is the causal
//! convolution with its kernel (np.convolve 'full' as it streams), delayed by the engine's
//! latency. A `same` stage live is the same filter with its front trim left out: the trim is a
//! fixed time shift, which a real-time stream cannot take back.

use super::fused::Filter;
use super::resample::LiveResampler;
use crate::block::{views, views_mut};
use crate::conv::Sample;

/// Most channels a live chain carries (its slice tables live on the stack).
pub const MAX_LIVE_CHANNELS: usize = crate::block::STACK_CHANNELS;

/// The engines of a chain, run in order on blocks of at most `block` frames; with a
/// `resample:`, the engines after it run on what the resampler gives (up to `block_out`).
pub struct LiveChain<T: Sample = f32> {
    engines: Vec<Filter<T>>,
    /// The rate change, before engine `.0` (one per live chain).
    resample: Option<(usize, LiveResampler<T>)>,
    /// Channels into each step (and, last, out of the chain).
    widths: Vec<usize>,
    /// Ping-pong buffers between steps: `[which][channel][frame]`.
    bufs: [Vec<Vec<T>>; 2],
    block: usize,
    /// The most frames one call gives.
    block_out: usize,
}

impl<T: Sample> LiveChain<T> {
    pub(crate) fn new(
        engines: Vec<Filter<T>>,
        resample: Option<(usize, LiveResampler<T>)>,
        channels: usize,
        block: usize,
    ) -> LiveChain<T> {
        let mut widths = vec![channels];
        let at = resample.as_ref().map(|(i, _)| *i);
        for (i, e) in engines.iter().enumerate() {
            let w = *widths.last().unwrap_or(&channels);
            if at == Some(i) {
                widths.push(w);
            }
            widths.push(e.channels_out(w));
        }
        if at == Some(engines.len()) {
            widths.push(*widths.last().unwrap_or(&channels));
        }
        let block_out = resample.as_ref().map_or(block, |(_, r)| r.max_out(block));
        let widest = widths.iter().copied().max().unwrap_or(channels);
        let buf = || vec![vec![T::zero(); block.max(block_out)]; widest];
        LiveChain {
            engines,
            resample,
            widths,
            bufs: [buf(), buf()],
            block,
            block_out,
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

    /// Largest block `process` gives (the block, unless a resample raises the rate).
    pub fn block_out(&self) -> usize {
        self.block_out
    }

    /// Samples by which the output trails the causal convolution of the input: the engines'
    /// heads (with a resample, its delay too, all counted as if at the input's rate).
    pub fn latency(&self) -> usize {
        let engines: usize = self.engines.iter().map(Filter::latency).sum();
        engines
            + self
                .resample
                .as_ref()
                .map_or(0, |(_, r)| r.delay_in_input_frames() as usize)
    }

    /// Frames of zeros to feed after the input so every kernel tail has come out.
    pub fn tail_frames(&self) -> usize {
        // Each engine's tail already counts its latency.
        match &self.resample {
            None => self.engines.iter().map(Filter::tail_frames).sum(),
            Some((at, r)) => {
                let before: usize = self.engines[..*at].iter().map(Filter::tail_frames).sum();
                let after: usize = self.engines[*at..].iter().map(Filter::tail_frames).sum();
                before + r.frames_in(after) + r.delay_in_input_frames().ceil() as usize + 1
            }
        }
    }

    /// Runs once on the processing thread before the stream starts (see
    /// [`crate::chain::nonlinear::Processor::warm`]); the engine does, and so must any other
    /// caller that wants the first real-time block free of allocation.
    pub fn warm(&mut self) {
        for e in &mut self.engines {
            if let Filter::Nonlinear(p) = e {
                p.warm();
            }
        }
    }

    /// Forgets all past input (every engine as built). Not for the audio thread while it runs:
    /// a denoiser's reset copies its state.
    pub fn reset(&mut self) {
        self.engines.iter_mut().for_each(Filter::reset);
        if let Some((_, r)) = &mut self.resample {
            r.reset();
        }
    }

    /// Filters `frames` frames of `input` (one buffer per channel) into `output` (room for
    /// [`Self::block_out`] frames) and returns how many frames it wrote: `frames`, or after a
    /// resample what the resampler had ready. Neither allocates nor locks: every step works on
    /// buffers made at build time.
    ///
    /// # Panics
    /// If `frames` exceeds the block or a buffer is shorter than `frames` (a caller bug).
    pub fn process(&mut self, input: &[Vec<T>], frames: usize, output: &mut [Vec<T>]) -> usize {
        assert!(
            frames <= self.block,
            "block larger than the live chain was built for"
        );
        let at = self.resample.as_ref().map(|(i, _)| *i);
        let steps = self.engines.len() + usize::from(at.is_some());
        if steps == 0 {
            for (o, i) in output.iter_mut().zip(input) {
                o[..frames].copy_from_slice(&i[..frames]);
            }
            return frames;
        }
        let [a, b] = &mut self.bufs;
        let mut n = frames;
        let mut engine = 0;
        for i in 0..steps {
            let last = i + 1 == steps;
            let odd = i % 2 == 1;
            let (src, dst): (&[Vec<T>], &mut [Vec<T>]) = match (i == 0, last, odd) {
                (true, true, _) => (input, &mut output[..]),
                (true, false, _) => (input, &mut a[..]),
                // Step i reads what step i - 1 wrote: a after an even step, b after an odd one.
                (false, true, true) => (&a[..], &mut output[..]),
                (false, true, false) => (&b[..], &mut output[..]),
                (false, false, true) => (&a[..], &mut b[..]),
                (false, false, false) => (&b[..], &mut a[..]),
            };
            let (w_in, w_out) = (self.widths[i], self.widths[i + 1]);
            // The resampler sits before engine `at`: it is step `at`.
            if at == Some(i)
                && let Some((_, r)) = self.resample.as_mut()
            {
                let w = w_in.min(src.len()).min(MAX_LIVE_CHANNELS);
                let room = dst.first().map_or(0, Vec::len);
                n = r.process(
                    &views(&src[..w], 0..n),
                    n,
                    &mut views_mut(&mut dst[..w.min(w_out)], 0..room),
                );
                continue;
            }
            run(&mut self.engines[engine], src, dst, n, w_in, w_out);
            engine += 1;
        }
        n
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
