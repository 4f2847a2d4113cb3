//! `resample:RATE`: the stream changes rate mid-chain (the stages after it are built for the
//! new rate).
//!
//! Built on the main thread; runs on the chain thread with no allocation once its buffers have
//! grown to the largest block. rubato's synchronous FFT resampler does the work (a fixed
//! rational ratio, band-limited by a windowed sinc as long as its FFT), in f64 whatever the
//! chain's sample type. convoy adds what a stream needs around it: any block length in (a FIFO
//! up to the resampler's chunk), the resampler's delay trimmed at the front, the end flushed
//! with silence and cut to exactly `ceil(N * to / from)` frames, so output frame `k` is the
//! input's value at time `k / to` (as `sox rate` aligns it: no delay, no shift).

use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use crate::block::Block;
use crate::conv::Sample;
use crate::error::{Error, Result};

/// Input frames per FFT of the resampler, roughly: its anti-aliasing filter is a windowed
/// sinc this long, so this sets the width of the transition band (here ~1 % of the lower
/// Nyquist frequency: flat to 0.98 of it, -140 dB from it on).
const FFT_FRAMES: usize = 4096;

/// The resampling step of a chain.
pub struct ResampleStep {
    pub word: String,
    pub from: u32,
    pub to: u32,
    channels: usize,
    engine: Fft<f64>,
    /// Input frames waiting for a full chunk, per channel.
    fifo: Vec<Vec<f64>>,
    /// One chunk's output, per channel.
    out: Vec<Vec<f64>>,
    /// Output frames still to drop at the front (the resampler's delay).
    to_skip: usize,
    frames_in: u64,
    frames_out: u64,
}

impl ResampleStep {
    /// A resampler from `from` Hz to `to` Hz over `channels` channels.
    ///
    /// # Errors
    /// A ratio the resampler cannot be built for.
    pub fn new(word: String, from: u32, to: u32, channels: usize) -> Result<ResampleStep> {
        let engine =
            engine(from, to, channels).map_err(|e| Error::Usage(format!("{word}: {e}")))?;
        let out = vec![vec![0.0; engine.output_frames_max()]; channels];
        Ok(ResampleStep {
            word,
            from,
            to,
            channels,
            to_skip: engine.output_delay(),
            fifo: (0..channels)
                .map(|_| Vec::with_capacity(2 * engine.input_frames_max()))
                .collect(),
            out,
            engine,
            frames_in: 0,
            frames_out: 0,
        })
    }

    /// The resampler's delay, in output frames (trimmed offline; live, the stream's latency).
    pub fn delay(&self) -> usize {
        self.engine.output_delay()
    }

    /// Exactly how many frames `frames` input frames become: `ceil(frames * to / from)`.
    pub fn frames_out(&self, frames: u64) -> u64 {
        resampled_len(frames, self.from, self.to)
    }

    /// Back to the state it was built in.
    pub fn reset(&mut self) {
        self.engine.reset();
        self.to_skip = self.engine.output_delay();
        for f in &mut self.fifo {
            f.clear();
        }
        self.frames_in = 0;
        self.frames_out = 0;
    }

    /// Takes `input` (any length); puts what is ready in `out`.
    pub fn process<T: Sample>(&mut self, input: &Block<T>, out: &mut Block<T>) {
        out.clear(self.channels);
        for (f, x) in self.fifo.iter_mut().zip(input.iter()) {
            f.extend(x.iter().map(|v| v.as_f64()));
        }
        self.frames_in += input.frames() as u64;
        self.drain(out, None);
    }

    /// The end of the stream: the last chunk padded with silence, the output cut to length.
    pub fn finish<T: Sample>(&mut self, out: &mut Block<T>) {
        out.clear(self.channels);
        let total = resampled_len(self.frames_in, self.from, self.to);
        while self.frames_out < total {
            let need = self.engine.input_frames_next();
            for f in &mut self.fifo {
                if f.len() < need {
                    f.resize(need, 0.0);
                }
            }
            self.drain(out, Some(total));
        }
    }

    /// Runs every full chunk in the FIFO; output beyond `limit` frames (at the end) dropped.
    fn drain<T: Sample>(&mut self, out: &mut Block<T>, limit: Option<u64>) {
        loop {
            let need = self.engine.input_frames_next();
            if self.fifo.first().is_none_or(|f| f.len() < need) {
                return;
            }
            let produced = run_chunk(&mut self.engine, &self.fifo, need, &mut self.out);
            for f in &mut self.fifo {
                f.drain(..need);
            }
            let skip = self.to_skip.min(produced);
            self.to_skip -= skip;
            let mut take = produced - skip;
            if let Some(l) = limit {
                take = take.min(l.saturating_sub(self.frames_out) as usize);
            }
            for (o, y) in out.planes_mut().iter_mut().zip(&self.out) {
                o.extend(y[skip..skip + take].iter().map(|&v| T::of_f64(v)));
            }
            self.frames_out += take as u64;
        }
    }
}

impl Clone for ResampleStep {
    /// A fresh copy (rubato's engine is rebuilt: a few FFT plans, no kernel to transform).
    fn clone(&self) -> ResampleStep {
        match ResampleStep::new(self.word.clone(), self.from, self.to, self.channels) {
            Ok(s) => s,
            // It was built with these parameters once already.
            Err(_) => unreachable!("a resampler that was built once builds again"),
        }
    }
}

fn engine(from: u32, to: u32, channels: usize) -> std::result::Result<Fft<f64>, String> {
    Fft::<f64>::new_custom(
        from as usize,
        to as usize,
        FFT_FRAMES,
        1,
        channels,
        WindowFunction::BlackmanHarris2,
        FixedSync::Both,
    )
    .map_err(|e| e.to_string())
}

/// One chunk of `frames` input frames (every channel of `input`) through `engine` into
/// `output`: the frames written. The buffers are sized from the engine itself, so rubato has
/// nothing to refuse; if it ever did, the chunk gives nothing rather than a panic.
pub(crate) fn run_chunk<S: rubato::Sample>(
    engine: &mut dyn Resampler<S>,
    input: &[Vec<S>],
    frames: usize,
    output: &mut [Vec<S>],
) -> usize {
    let channels = input.len();
    let room = engine.output_frames_max();
    let (Ok(i), Ok(mut o)) = (
        SequentialSliceOfVecs::new(input, channels, frames),
        SequentialSliceOfVecs::new_mut(output, channels, room),
    ) else {
        return 0;
    };
    engine
        .process_into_buffer(&i, &mut o, None)
        .map_or(0, |(_, written)| written)
}

/// `ceil(frames * to / from)`, exactly.
pub fn resampled_len(frames: u64, from: u32, to: u32) -> u64 {
    let n = u128::from(frames) * u128::from(to);
    let d = u128::from(from);
    u64::try_from(n.div_ceil(d)).unwrap_or(u64::MAX)
}

/// Resamples a whole signal (an IR, a noise profile) from `from` Hz to `to` Hz with the same
/// resampler as the stage.
///
/// # Errors
/// A ratio the resampler cannot be built for.
pub fn resample_all(x: &[f64], from: u32, to: u32) -> Result<Vec<f64>> {
    let mut step = ResampleStep::new("resample".into(), from, to, 1)?;
    let mut out = Block::<f64>::default();
    let mut y = Vec::new();
    for piece in x.chunks(1 << 16) {
        step.process(&Block::from_planes(vec![piece.to_vec()]), &mut out);
        y.extend_from_slice(&out[0]);
    }
    step.finish(&mut out);
    y.extend_from_slice(&out[0]);
    Ok(y)
}

/// Input frames the live resampler takes per call of rubato (its FIFO holds up to one less).
const LIVE_CHUNK: usize = 64;

/// Length of the live resampler's sinc (its delay is half of it, at the output rate).
const LIVE_SINC: usize = 256;

/// The live resampler's delay in input frames: half its sinc (the sinc spans that many input
/// frames either side of a point) and at most a chunk less one waiting in its FIFO.
pub fn live_delay() -> f64 {
    (LIVE_SINC / 2 + LIVE_CHUNK - 1) as f64
}

/// `resample:` on a live stream: rubato's asynchronous sinc resampler at a fixed ratio (a
/// 256-point windowed sinc: ~2.7 ms of delay at 48 kHz where the offline FFT resampler would
/// need ~90 ms), fed through a FIFO in chunks of 64 frames. Every buffer is made
/// when it is built; `process` neither allocates nor locks.
pub struct LiveResampler<T: Sample> {
    pub word: String,
    from: u32,
    to: u32,
    engine: rubato::Async<f64>,
    fifo: Vec<Vec<f64>>,
    fill: usize,
    out: Vec<Vec<f64>>,
    _sample: std::marker::PhantomData<T>,
}

impl<T: Sample> LiveResampler<T> {
    /// A live resampler for blocks of at most `block` frames.
    ///
    /// # Errors
    /// A ratio rubato cannot be built for.
    pub fn new(word: String, from: u32, to: u32, channels: usize, block: usize) -> Result<Self> {
        let params = rubato::SincInterpolationParameters {
            sinc_len: LIVE_SINC,
            f_cutoff: None,
            oversampling_factor: 256,
            interpolation: rubato::SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let engine = rubato::Async::<f64>::new_sinc(
            f64::from(to) / f64::from(from),
            1.0,
            &params,
            LIVE_CHUNK,
            channels,
            rubato::FixedAsync::Input,
        )
        .map_err(|e| Error::Usage(format!("{word}: {e}")))?;
        let out = vec![vec![0.0; engine.output_frames_max()]; channels];
        Ok(LiveResampler {
            word,
            from,
            to,
            fifo: vec![vec![0.0; LIVE_CHUNK + block.max(1)]; channels],
            fill: 0,
            out,
            engine,
            _sample: std::marker::PhantomData,
        })
    }

    /// The most frames one call for `block` input frames can give.
    pub fn max_out(&self, block: usize) -> usize {
        (block / LIVE_CHUNK + 1) * self.engine.output_frames_max()
    }

    /// Its delay, in input frames: half the sinc, and the FIFO's wait for a full chunk.
    pub fn delay_in_input_frames(&self) -> f64 {
        live_delay()
    }

    /// Output frames `frames` input frames become, about (for a tail's length).
    pub fn frames_out(&self, frames: usize) -> usize {
        resampled_len(frames as u64, self.from, self.to) as usize
    }

    /// Input frames that make `frames` output frames, at least.
    pub fn frames_in(&self, frames: usize) -> usize {
        resampled_len(frames as u64, self.to, self.from) as usize
    }

    /// Back to the state it was built in (not on the audio thread while it runs).
    pub fn reset(&mut self) {
        self.engine.reset();
        self.fill = 0;
    }

    /// Takes `frames` frames of `src` (one slice per channel), writes what is ready to `dst`
    /// from its start, and returns how many frames that is (at most [`Self::max_out`]).
    pub fn process(&mut self, src: &[&[T]], frames: usize, dst: &mut [&mut [T]]) -> usize {
        let mut made = 0;
        let mut at = 0;
        while at < frames {
            let take = (LIVE_CHUNK - self.fill).min(frames - at);
            for (f, x) in self.fifo.iter_mut().zip(src) {
                for (d, s) in f[self.fill..self.fill + take]
                    .iter_mut()
                    .zip(&x[at..at + take])
                {
                    *d = s.as_f64();
                }
            }
            self.fill += take;
            at += take;
            if self.fill < LIVE_CHUNK {
                break;
            }
            self.fill = 0;
            let written = run_chunk(&mut self.engine, &self.fifo, LIVE_CHUNK, &mut self.out);
            for (d, y) in dst.iter_mut().zip(&self.out) {
                let room = d.len().saturating_sub(made);
                for (o, &v) in d[made..made + written.min(room)].iter_mut().zip(y) {
                    *o = T::of_f64(v);
                }
            }
            made += written;
        }
        made
    }
}
