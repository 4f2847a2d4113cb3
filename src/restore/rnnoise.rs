//! RNNoise (Valin 2018: a small recurrent network that predicts a gain per Bark-like band from
//! the noisy spectrum, plus a pitch comb filter; Xiph's trained weights, through the
//! nnnoiseless crate) as a streaming [`Processor`] at any sample rate.
//!
//! The network only knows 48 kHz and 480-sample frames, so around it, per stream:
//!
//! ```text
//! input (rate) -> up to 48 kHz -> frames of 480 -> RNNoise -> down to rate -> output
//! ```
//!
//! Each resampler is rubato's synchronous FFT resampler, fed through a FIFO; every piece's
//! own delay (the resamplers', RNNoise's one frame) is dropped where it comes out, so what
//! reaches the output FIFO is aligned with the input. The output then trails the input by a
//! fixed lead of silence: the most the pipeline can owe at any point (found at build time by
//! feeding it one sample at a time, since the chunk boundaries depend on nothing else).
//!
//! Every buffer is made at build time; input is taken in pieces no longer than one chunk, so
//! no FIFO outgrows its capacity and `process` never allocates. nnnoiseless keeps its FFT
//! plans and scratch in thread-local caches filled by its first frame on a thread: that one
//! frame allocates, on whatever thread runs it first (the engine's no-allocation tests count
//! from the 50th block on).

use nnnoiseless::DenoiseState;
use rubato::{Fft, FixedSync, Resampler};

use crate::chain::nonlinear::Processor;
use crate::chain::resample::run_chunk;
use crate::error::{Error, Result};

/// RNNoise's rate and frame.
pub const RATE: u32 = 48_000;
const FRAME: usize = DenoiseState::FRAME_SIZE;
/// RNNoise works on samples scaled as 16-bit integers.
const SCALE: f32 = 32_768.0;

/// One direction of resampling, with its input FIFO and its delay still to drop.
struct Rate {
    engine: Fft<f32>,
    fifo: Vec<Vec<f32>>,
    out: Vec<Vec<f32>>,
    skip: usize,
}

impl Rate {
    fn new(from: u32, to: u32, chunk: usize, channels: usize) -> Result<Rate> {
        let engine = Fft::<f32>::new(from as usize, to as usize, chunk, channels, FixedSync::Both)
            .map_err(|e| Error::Usage(format!("denoise: resampling {from} Hz to {to} Hz: {e}")))?;
        let room = engine.input_frames_max();
        Ok(Rate {
            fifo: (0..channels)
                .map(|_| Vec::with_capacity(2 * room + 2 * chunk + FRAME * 4))
                .collect(),
            out: vec![vec![0.0; engine.output_frames_max()]; channels],
            skip: engine.output_delay(),
            engine,
        })
    }

    fn reset(&mut self) {
        self.engine.reset();
        self.skip = self.engine.output_delay();
        for f in &mut self.fifo {
            f.clear();
        }
    }

    /// Runs every full chunk in the FIFO, appending what comes out (its delay dropped) to
    /// `sink`, one Vec per channel.
    fn drain(&mut self, sink: &mut [Vec<f32>]) {
        loop {
            let need = self.engine.input_frames_next();
            if self.fifo.first().is_none_or(|f| f.len() < need) {
                return;
            }
            let written = run_chunk(&mut self.engine, &self.fifo, need, &mut self.out);
            for f in &mut self.fifo {
                f.drain(..need);
            }
            let skip = self.skip.min(written);
            self.skip -= skip;
            for (s, y) in sink.iter_mut().zip(&self.out) {
                s.extend_from_slice(&y[skip..written]);
            }
        }
    }
}

/// RNNoise over any number of channels at any rate.
pub struct Rnnoise {
    rate: u32,
    states: Vec<Box<DenoiseState<'static>>>,
    up: Option<Rate>,
    down: Option<Rate>,
    /// 48 kHz samples waiting for a whole frame.
    at48: Vec<Vec<f32>>,
    /// Output samples ready, aligned with the input.
    ready: Vec<Vec<f32>>,
    frame_in: Vec<f32>,
    frame_out: Vec<f32>,
    /// RNNoise's own delay (one frame) still to drop.
    rnn_skip: usize,
    /// Zeros still to give before the first ready sample.
    lead: usize,
    latency: usize,
    /// Most input frames taken per step (one chunk): bounds every FIFO.
    piece: usize,
}

impl Rnnoise {
    /// RNNoise for `channels` channels at `rate` Hz.
    ///
    /// # Errors
    /// A rate the resamplers cannot be built for.
    pub fn new(rate: u32, channels: usize) -> Result<Rnnoise> {
        // Input frames per chunk: a whole number of 10 ms frames at both rates (441 at
        // 44.1 kHz and 22.05 kHz, 160 at 16 kHz).
        let per_frame = u64::from(rate) * FRAME as u64;
        let frames = u64::from(RATE) / gcd(per_frame, u64::from(RATE));
        let piece = usize::try_from(per_frame * frames / u64::from(RATE))
            .map_err(|_| Error::Usage(format!("denoise: {rate} Hz is out of range")))?;
        let (up, down) = if rate == RATE {
            (None, None)
        } else {
            let chunk48 = FRAME * frames as usize;
            (
                Some(Rate::new(rate, RATE, piece, channels)?),
                Some(Rate::new(RATE, rate, chunk48, channels)?),
            )
        };
        let cap = 4 * (piece + FRAME * frames as usize) + 4 * FRAME + 8192;
        let mut r = Rnnoise {
            rate,
            states: (0..channels).map(|_| DenoiseState::new()).collect(),
            up,
            down,
            at48: (0..channels).map(|_| Vec::with_capacity(cap)).collect(),
            ready: (0..channels).map(|_| Vec::with_capacity(cap)).collect(),
            frame_in: vec![0.0; FRAME],
            frame_out: vec![0.0; FRAME],
            rnn_skip: FRAME,
            lead: 0,
            latency: 0,
            piece: piece.max(1),
        };
        r.latency = r.measure_latency();
        r.reset();
        Ok(r)
    }

    /// Writes `n` output frames at `at`: the lead's zeros first, then what is ready.
    fn emit(&mut self, output: &mut [&mut [f32]], at: usize, n: usize) {
        let lead = self.lead.min(n);
        self.lead -= lead;
        let take = (n - lead).min(self.ready.first().map_or(0, Vec::len));
        for (y, r) in output.iter_mut().zip(&mut self.ready) {
            let y = &mut y[at..at + n];
            y[..lead].fill(0.0);
            y[lead..lead + take].copy_from_slice(&r[..take]);
            // Never short once the lead is right; silence rather than a panic if it were.
            y[lead + take..].fill(0.0);
            r.drain(..take);
        }
    }

    /// The most output the pipeline can owe: after each of `n` single input samples, how far
    /// the aligned output lags; the largest is the lead every stream starts with.
    fn measure_latency(&mut self) -> usize {
        let channels = self.states.len();
        let zero = [0.0f32];
        let inputs: Vec<&[f32]> = vec![&zero[..]; channels];
        let settle = self.up.as_ref().map_or(0, |u| u.engine.output_delay())
            + self.down.as_ref().map_or(0, |d| d.engine.output_delay());
        // The transient (the delays) and then a few periods of the chunk pattern.
        let steps = settle * 2 + 2 * FRAME + 4 * self.piece + 4 * FRAME;
        let mut produced = 0usize;
        let mut most = 0usize;
        for n in 1..=steps {
            self.feed(&inputs, 0..1);
            produced += self.ready[0].len();
            for r in &mut self.ready {
                r.clear();
            }
            most = most.max(n.saturating_sub(produced));
        }
        most
    }

    /// Takes one piece (`span` of every channel, at most `self.piece` frames) through to
    /// `ready`.
    fn feed(&mut self, input: &[&[f32]], span: std::ops::Range<usize>) {
        let fifos = match self.up.as_mut() {
            Some(up) => &mut up.fifo,
            None => &mut self.at48,
        };
        for (f, x) in fifos.iter_mut().zip(input) {
            f.extend_from_slice(&x[span.clone()]);
        }
        if let Some(up) = self.up.as_mut() {
            up.drain(&mut self.at48);
        }
        while self.at48.first().is_some_and(|f| f.len() >= FRAME) {
            let skip = self.rnn_skip;
            self.rnn_skip = 0;
            let sink = match self.down.as_mut() {
                Some(d) => &mut d.fifo,
                None => &mut self.ready,
            };
            for ((state, f), s) in self.states.iter_mut().zip(&mut self.at48).zip(sink) {
                for (d, &v) in self.frame_in.iter_mut().zip(&f[..FRAME]) {
                    *d = v * SCALE;
                }
                state.process_frame(&mut self.frame_out, &self.frame_in);
                f.drain(..FRAME);
                s.extend(self.frame_out[skip..].iter().map(|&v| v / SCALE));
            }
        }
        if let Some(d) = self.down.as_mut() {
            d.drain(&mut self.ready);
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Processor for Rnnoise {
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        let frames = input.first().map_or(0, |x| x.len());
        let mut at = 0;
        while at < frames {
            let n = self.piece.min(frames - at);
            self.feed(input, at..at + n);
            self.emit(output, at, n);
            at += n;
        }
    }

    fn latency(&self) -> usize {
        self.latency
    }

    /// One frame of noise through a copy of a channel's network: nnnoiseless fills its
    /// thread-local FFT plans and scratch on a thread's first frame.
    fn warm(&mut self) {
        if let Some(s) = self.states.first() {
            let mut probe = s.clone();
            let mut seed = 1u32;
            for v in &mut self.frame_in {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                *v = ((seed >> 16) as f32 / 65_536.0 - 0.5) * 1000.0;
            }
            probe.process_frame(&mut self.frame_out, &self.frame_in);
        }
    }

    fn reset(&mut self) {
        self.states = (0..self.states.len())
            .map(|_| DenoiseState::new())
            .collect();
        for r in self.up.iter_mut().chain(self.down.iter_mut()) {
            r.reset();
        }
        for f in self.at48.iter_mut().chain(self.ready.iter_mut()) {
            f.clear();
        }
        self.rnn_skip = FRAME;
        self.lead = self.latency;
    }

    fn fresh(&self) -> Box<dyn Processor> {
        match Rnnoise::new(self.rate, self.states.len()) {
            Ok(r) => Box::new(r),
            // It was built with these parameters once already.
            Err(_) => unreachable!("an RNNoise that was built once builds again"),
        }
    }
}
