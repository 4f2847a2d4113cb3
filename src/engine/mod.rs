//! The drivers: one [`Input`], one chain, one [`Output`], whatever each end is.
//!
//! ```text
//!  Input (files.rs: reader thread   processing thread           Output (files.rs: writer thread
//!  over io::Source; io::device:     Runner::Exact (Chain: the   over io::Sink; io::device:
//!  a capture ring)           ──>    offline result, any length) ──> a playback ring)
//!                                   Runner::Causal (LiveChain:
//!                                   fixed blocks, no allocation)
//!  main thread: watches — Ctrl-C (stop.rs), --duration, --stats (stats.rs), progress
//! ```
//!
//! `file -> file`, `stdin -> stdout`, `mic -> file`, `file -> speakers` and `mic -> speakers`
//! are the same loop with different ends. What differs is said by the ends themselves: a device
//! input waits for its callback's frames (and gives up after [`STALL`] without any), a device
//! output waits for room (likewise), a file input hands over what its reader thread decoded
//! and ends when it ends (a Ctrl-C ends it through the source), a file output passes blocks to
//! its writer thread. To speakers the chain runs causally ([`Runner::Causal`]); anything else
//! gets the exact offline result ([`Runner::Exact`]: `same` stages aligned, exact edges).
//!
//! The processing thread gets real-time priority only when it never allocates or waits on
//! anything but the devices: a causal chain between two devices.
//!
//! A WAV file through a chain into another, as `convoy run -i in.wav -o out.wav lowpass:3000`
//! does it:
//!
//! ```
//! use std::sync::Arc;
//! use convoy::chain::{Chain, Context};
//! use convoy::engine::files::{FileInput, FileOutput};
//! use convoy::engine::{self, Control, Options, Runner};
//! use convoy::io::{Sink, Source};
//!
//! # fn main() -> convoy::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let out = dir.path().join("out.wav");
//! # let out = out.to_str().unwrap();
//! let source = Source::open("samples/speech_noisy.wav", None, None, None)?;
//! let (rate, channels) = (source.info.rate.unwrap_or(48_000), source.info.channels);
//! let ctx = Context { rate: Some(rate), channels, block: None };
//! let chain = Chain::<f32>::build(&["lowpass:3000".into()], &ctx)?;
//! let plan = Sink::plan(out, None, None, &source.info, &[], false)?;
//! let sink = Sink::create(out, plan, rate, chain.channels_out(), source.info.frames)?;
//! let summary = engine::run(
//!     Box::new(FileInput::<f32>::spawn(source, 16_384)?),
//!     Runner::Exact(chain),
//!     Box::new(FileOutput::<f32>::spawn(sink)?),
//!     Options { read_frames: 16_384, rate, ..Options::default() },
//!     Arc::new(Control::default()),
//! )?;
//! assert_eq!(summary.frames_out, summary.frames_in); // lowpass is mode=same: aligned
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod columns;
pub mod corpus;
pub mod files;
pub mod stats;
pub mod stop;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::block::Block;
use crate::chain::Chain;
use crate::chain::live::{LiveChain, MAX_LIVE_CHANNELS};
use crate::conv::Sample;
use crate::error::{Error, Result};
use crate::io::{Finished, SampleFormat};

/// A device that moves no audio for this long is gone (a sound server that died leaves the
/// backend polling a dead socket, reporting nothing).
pub const STALL: Duration = Duration::from_secs(2);

/// What the processing thread and the watcher share.
#[derive(Default)]
pub struct Control {
    /// Stop reading (Ctrl-C, a closed output).
    pub stop: AtomicBool,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    /// Frames queued towards a device output.
    pub ring_fill: AtomicU64,
    pub xruns_in: AtomicU64,
    pub xruns_out: AtomicU64,
    pub block_times: stats::Histogram,
}

impl Control {
    /// Whether a stop has been asked for.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Where a run's frames come from. Implementations wait as their input needs (a device's pace,
/// a pipe's); the loop never checks the clock.
pub trait Input<T>: Send {
    /// Channels and rate.
    fn channels(&self) -> usize;
    /// Starts the input (a device starts capturing); called once, on the processing thread.
    ///
    /// # Errors
    /// A device that cannot start.
    fn start(&mut self) -> Result<()> {
        Ok(())
    }
    /// Fills `block` (cleared to the input's channels first) with at most `max` frames.
    /// `Ok(0)` is the end of the input (a device returns it once a stop is asked for; a file
    /// when its reader has handed over everything it took).
    ///
    /// # Errors
    /// A read error, a bad input, a device lost.
    fn read(&mut self, block: &mut Block<T>, max: usize, ctl: &Control) -> Result<usize>;
    /// Reading is over (a device stops capturing).
    fn close(&mut self) {}
    /// Whether the input ended because a stop was asked for.
    fn stopped(&self) -> bool {
        false
    }
    /// Overruns so far.
    fn xruns(&self) -> u64 {
        0
    }
    /// A device: the errors its backend reported and carried on after, for the summary
    /// (`None` when there were none).
    fn stream_errors(&self) -> Option<String> {
        None
    }
    /// Whether this is a live device (its end is a stop, and a lost device may leave a file).
    fn is_device(&self) -> bool {
        false
    }
}

/// Where a run's frames go.
pub trait Output<T>: Send {
    /// Takes a block; may swap in a block of its own to reuse (whatever the caller gets back,
    /// it clears before use). Waits while a device plays.
    ///
    /// # Errors
    /// A write error, a device lost.
    fn write(&mut self, block: &mut Block<T>, ctl: &Control) -> Result<()>;
    /// Called when the input is live (a microphone): queue silence ahead and start at once.
    ///
    /// # Errors
    /// A device that cannot start.
    fn prime(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the last write: a device plays out what is queued; a file's writer finishes.
    ///
    /// # Errors
    /// A device lost while draining, a write error.
    fn drain(&mut self, ctl: &Control) -> Result<()>;
    /// The reader of a pipe or FIFO went away: stop quietly.
    fn closed(&self) -> bool {
        false
    }
    /// Underruns so far.
    fn xruns(&self) -> u64 {
        0
    }
    /// A device: the errors its backend reported and carried on after, for the summary
    /// (`None` when there were none).
    fn stream_errors(&self) -> Option<String> {
        None
    }
    /// The finished file output (`None` for a device or stdout), with its figures.
    ///
    /// # Errors
    /// Flushing or fixing the header fails.
    fn finish(self: Box<Self>) -> Result<Written>;
    /// Whether this is a device (the chain then runs causally).
    fn is_device(&self) -> bool {
        false
    }
}

/// What a finished output says.
pub struct Written {
    /// To commit (a regular file), after a picture that must not fail once it is in place.
    pub finished: Option<Finished>,
    pub frames: u64,
    pub clipped: u64,
    pub format: Option<SampleFormat>,
    /// The reader of stdout went away.
    pub closed: bool,
}

impl Written {
    /// What a device (speakers) says: no file, no frame count of its own.
    pub fn device() -> Written {
        Written {
            finished: None,
            frames: 0,
            clipped: 0,
            format: None,
            closed: false,
        }
    }
}

/// The chain as the loop runs it.
pub enum Runner<T: Sample> {
    /// The offline result (exact edges, `same` stages aligned), any output length per block.
    Exact(Chain<T>),
    /// Causal, fixed blocks, nothing allocated per block (for speakers).
    Causal(LiveChain<T>),
}

/// Something the main thread calls while a run goes on.
pub type Watcher = Box<dyn FnMut(&Control)>;

/// How to run.
#[derive(Default)]
pub struct Options {
    /// Frames read per call of the input (the live block, or a large offline block).
    pub read_frames: usize,
    /// Stop after this many input frames (`--duration`).
    pub max_frames: Option<u64>,
    /// Give the processing thread real-time priority (when nothing on it allocates).
    pub realtime: bool,
    /// Draw input and output (Exact runs only).
    pub plot: Option<PathBuf>,
    pub plot_title: String,
    pub rate: u32,
    /// Added to the error when a live input is lost while recording to a file (the file is
    /// kept): where the recording is.
    pub lost_note: String,
    /// Called on the main thread about every 20 ms (progress, `--stats`).
    pub watch: Option<Watcher>,
}

/// What a run did.
pub struct Summary {
    pub frames_in: u64,
    pub frames_out: u64,
    pub interrupted: bool,
    pub xruns_in: u64,
    pub xruns_out: u64,
    pub clipped: u64,
    pub format: Option<SampleFormat>,
    pub closed: bool,
    pub block_times: stats::Figures,
    pub wall: Duration,
    /// Things the chain wants said (non-finite samples replaced).
    pub warnings: Vec<String>,
    /// Whether the processing thread got real-time priority when asked.
    pub realtime: Option<bool>,
    /// What the devices' backends reported and carried on after (`input: 3 stream errors,
    /// the first: ...`): the why of xruns that the block times do not explain.
    pub device_errors: Vec<String>,
}

impl Summary {
    /// The one-line summary of a file run: `interrupted; 100 frames in, 104 out (...)`; the
    /// output at `rate_out` (another than the input's `rate` after a `resample:`).
    pub fn file_line(&self, rate: u32, rate_out: u32, channels: usize) -> String {
        let seconds = self.frames_in as f64 / f64::from(rate);
        let at = if rate_out == rate {
            format!("{rate} Hz")
        } else {
            format!("{rate} -> {rate_out} Hz")
        };
        format!(
            "{}{} frames in, {} out ({seconds:.3} s -> {:.3} s at {at}, {channels} ch, {} out), {:.1}x realtime, {} clipped{}",
            if self.interrupted {
                "interrupted; "
            } else {
                ""
            },
            self.frames_in,
            self.frames_out,
            self.frames_out as f64 / f64::from(rate_out),
            self.format.map_or("?", SampleFormat::describe),
            seconds / self.wall.as_secs_f64().max(1e-9),
            self.clipped,
            clip_hint(self.clipped, self.format),
        )
    }

    /// The one-line summary of a run with a device end: xruns and block times against the
    /// block period.
    pub fn live_line(&self, rate: u32, block: usize) -> String {
        let period_ns = block as f64 * 1e9 / f64::from(rate);
        format!(
            "{} frames in, {} out ({:.3} s at {rate} Hz), xruns: input {}, output {}; block time median {:.1} %, max {:.1} % of the {:.2} ms period",
            self.frames_in,
            self.frames_out,
            self.frames_in as f64 / f64::from(rate),
            self.xruns_in,
            self.xruns_out,
            self.block_times.median_ns * 100.0 / period_ns,
            self.block_times.max_ns * 100.0 / period_ns,
            period_ns * 1e-6
        )
    }
}

/// What to do about clipped samples, for a summary.
pub fn clip_hint(clipped: u64, format: Option<SampleFormat>) -> &'static str {
    match (clipped, format) {
        (0, _) => "",
        (_, Some(SampleFormat::F32 | SampleFormat::F64)) => {
            " (beyond the 32-bit float range; check the chain's gain)"
        }
        _ => {
            " (lower the level: gain:-6db, fir:...,normalize=energy, or keep the peaks with --bits f32)"
        }
    }
}

/// Runs `input` through `runner` into `output` on a processing thread while this thread
/// watches (stop requests, `opts.watch`). The output is finished and committed (after the
/// picture, when asked for) only if everything succeeded — or if a live input device was lost
/// while recording to a file: then what was captured is kept and the loss is the error.
///
/// # Errors
/// The first error of the input, the output, the picture or the commit.
pub fn run<T: Sample>(
    input: Box<dyn Input<T>>,
    runner: Runner<T>,
    output: Box<dyn Output<T>>,
    mut opts: Options,
    ctl: Arc<Control>,
) -> Result<Summary> {
    let started = Instant::now();
    let realtime = opts.realtime;
    // Flush-to-zero only where nothing but the f32 engine runs (see simd::flush_denormals).
    let flush = matches!(runner, Runner::Causal(_));
    let job = Job {
        input,
        runner,
        output,
        read_frames: opts.read_frames.max(1),
        max_frames: opts.max_frames,
        tap: opts
            .plot
            .as_ref()
            .map(|_| crate::plot::RunTap::new(MAX_LIVE_CHANNELS.min(4))),
        ctl: Arc::clone(&ctl),
    };
    // The worker says when it is done, so the watcher wakes at once rather than on its next
    // tick (20 ms of wall time on every short run otherwise).
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(1);
    let worker = std::thread::Builder::new()
        .name("convoy-engine".into())
        .spawn(move || {
            let promoted = realtime.then(crate::rt::promote_current_thread);
            if flush {
                crate::conv::simd::flush_denormals();
            }
            let mut job = job;
            if let Runner::Causal(chain) = &mut job.runner {
                chain.warm();
            }
            let result = job.drive();
            let _ = done_tx.send(());
            (result, job, promoted)
        })
        .map_err(|e| Error::Internal(format!("cannot start the processing thread: {e}")))?;
    while !worker.is_finished() {
        if done_rx.recv_timeout(Duration::from_millis(20)).is_ok() {
            break;
        }
        if stop::requested() {
            ctl.stop.store(true, Ordering::SeqCst);
        }
        if let Some(w) = &mut opts.watch {
            w(&ctl);
        }
    }
    let (result, job, promoted) = worker
        .join()
        .map_err(|_| Error::Internal("the processing thread failed".into()))?;
    let Job {
        input,
        runner,
        output,
        mut tap,
        ..
    } = job;
    let interrupted = input.stopped() || ctl.stopping();
    let xruns_in = input.xruns();
    let xruns_out = output.xruns();
    let device_errors = [
        input.stream_errors().map(|e| format!("input: {e}")),
        output.stream_errors().map(|e| format!("output: {e}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A device's streams close on a thread nobody waits for (see io::device).
    drop(input);
    let lost = result?;
    let written = output.finish()?;
    if let (Some(t), Some(png)) = (&mut tap, &opts.plot) {
        // The picture first: if it fails, the output is not replaced either.
        t.draw(png, opts.rate, opts.plot_title.clone())?;
    }
    if let Some(f) = written.finished {
        f.commit()?;
    }
    if let Some(e) = lost {
        return Err(match e {
            Error::Device(msg) => Error::Device(format!("{msg}{}", opts.lost_note)),
            other => other,
        });
    }
    let warnings = match &runner {
        Runner::Exact(c) => c.warnings(),
        Runner::Causal(_) => Vec::new(),
    };
    Ok(Summary {
        frames_in: ctl.frames_in.load(Ordering::Relaxed),
        frames_out: written.frames.max(ctl.frames_out.load(Ordering::Relaxed)),
        interrupted,
        xruns_in,
        xruns_out,
        clipped: written.clipped,
        format: written.format,
        closed: written.closed,
        block_times: ctl.block_times.snapshot().figures(),
        wall: started.elapsed(),
        warnings,
        realtime: promoted,
        device_errors,
    })
}

/// A sample type runs are made in: f32 (audio) or f64 (text and 64-bit WAVs). Its methods are
/// the engine's generic entry points compiled once, here in the library, for both types: a
/// program that goes through them instantiates none of the DSP code itself. (Called generically
/// from the binary, `run::<T>` and `Chain::<T>::build` compiled the whole engine a second time
/// into it: 36 s of a 79 s release rebuild.)
pub trait Precision: Sample {
    /// [`Chain::build`] for this type.
    ///
    /// # Errors
    /// As [`Chain::build`].
    fn build_chain(
        words: &[crate::chain::StageWord],
        ctx: &crate::chain::Context,
    ) -> Result<Chain<Self>>;
    /// A file, pipe or stdin as an input ([`files::FileInput`]).
    ///
    /// # Errors
    /// The reader thread cannot be started.
    fn file_input(source: crate::io::Source, read_frames: usize) -> Result<Box<dyn Input<Self>>>;
    /// A file, FIFO, device file or stdout as an output ([`files::FileOutput`]).
    ///
    /// # Errors
    /// The writer thread cannot be started.
    fn file_output(sink: crate::io::Sink) -> Result<Box<dyn Output<Self>>>;
    /// [`run`] for this type.
    ///
    /// # Errors
    /// As [`run`].
    fn run(
        input: Box<dyn Input<Self>>,
        runner: Runner<Self>,
        output: Box<dyn Output<Self>>,
        opts: Options,
        ctl: Arc<Control>,
    ) -> Result<Summary>;
}

macro_rules! precision {
    ($t:ty) => {
        impl Precision for $t {
            fn build_chain(
                words: &[crate::chain::StageWord],
                ctx: &crate::chain::Context,
            ) -> Result<Chain<$t>> {
                Chain::build(words, ctx)
            }
            fn file_input(
                source: crate::io::Source,
                read_frames: usize,
            ) -> Result<Box<dyn Input<$t>>> {
                Ok(Box::new(files::FileInput::<$t>::spawn(
                    source,
                    read_frames,
                )?))
            }
            fn file_output(sink: crate::io::Sink) -> Result<Box<dyn Output<$t>>> {
                Ok(Box::new(files::FileOutput::<$t>::spawn(sink)?))
            }
            fn run(
                input: Box<dyn Input<$t>>,
                runner: Runner<$t>,
                output: Box<dyn Output<$t>>,
                opts: Options,
                ctl: Arc<Control>,
            ) -> Result<Summary> {
                run(input, runner, output, opts, ctl)
            }
        }
    };
}
precision!(f32);
precision!(f64);

/// The processing thread's state.
struct Job<T: Sample> {
    input: Box<dyn Input<T>>,
    runner: Runner<T>,
    output: Box<dyn Output<T>>,
    read_frames: usize,
    max_frames: Option<u64>,
    tap: Option<crate::plot::RunTap>,
    ctl: Arc<Control>,
}

impl<T: Sample> Job<T> {
    /// The loop. `Ok(Some(e))`: the input device was lost while recording to a file; the
    /// output was drained and may be kept.
    fn drive(&mut self) -> Result<Option<Error>> {
        let live_in = self.input.is_device();
        if let Runner::Causal(chain) = &mut self.runner {
            warm_up(chain);
        }
        // The microphone first, and playback only once its first audio is here: starting a
        // capture can take a while through a sound server, and playback started earlier
        // would spend that time out of its cushion (the latency would then depend on how
        // long the capture took to start).
        self.input.start()?;
        let mut primed = !live_in;
        let channels = self.input.channels();
        let mut block = Block::new(channels, self.read_frames);
        let (mut scratch_in, mut scratch_out) = match &self.runner {
            Runner::Causal(c) => (
                Block::zeros(c.channels(), c.block()),
                Block::zeros(c.channels_out(), c.block_out()),
            ),
            Runner::Exact(_) => (Block::default(), Block::default()),
        };
        let mut consumed: u64 = 0;
        let mut lost = None;
        loop {
            let want = match self.max_frames {
                Some(m) if consumed >= m => break,
                Some(m) => self.read_frames.min((m - consumed) as usize),
                None => self.read_frames,
            };
            let n = match self.input.read(&mut block, want, &self.ctl) {
                Ok(n) => n,
                // The microphone is gone while recording to a file: keep what it gave.
                Err(e @ Error::Device(_)) if live_in && !self.output.is_device() => {
                    lost = Some(e);
                    0
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            if !primed {
                self.output.prime()?;
                primed = true;
            }
            consumed += n as u64;
            self.ctl.frames_in.store(consumed, Ordering::Relaxed);
            self.ctl
                .xruns_in
                .store(self.input.xruns(), Ordering::Relaxed);
            let t = Instant::now();
            let Job {
                runner,
                output,
                tap,
                ctl,
                ..
            } = self;
            match runner {
                Runner::Exact(chain) => {
                    if let Some(tap) = tap.as_mut() {
                        tap.push_input(&block);
                    }
                    // Block time here includes handing the output on (a bounded channel to
                    // the writer, which waits only when the writer is behind).
                    chain.process(&mut block, &mut |o| emit(o, tap, output.as_mut(), ctl))?;
                    ctl.block_times.record(nanos(t));
                }
                Runner::Causal(chain) => {
                    let step = chain.block();
                    let mut at = 0;
                    while at < n {
                        let t = Instant::now();
                        let k = step.min(n - at);
                        for (s, b) in scratch_in.iter_mut().zip(block.iter()) {
                            s[..k].copy_from_slice(&b[at..at + k]);
                        }
                        causal_block(
                            chain,
                            &scratch_in,
                            &mut scratch_out,
                            k,
                            output.as_mut(),
                            ctl,
                            Some(t),
                        )?;
                        at += k;
                    }
                }
            }
            if self.output.closed() {
                self.ctl.stop.store(true, Ordering::SeqCst);
                break;
            }
        }
        // The input is over: stop capturing (later callbacks would only count overruns).
        self.input.close();
        // The chain's tail.
        let Job {
            runner,
            output,
            tap,
            ctl,
            ..
        } = self;
        match runner {
            Runner::Exact(chain) => {
                chain.finish(&mut |o| emit(o, tap, output.as_mut(), ctl))?;
            }
            Runner::Causal(chain) => {
                scratch_in.resize(chain.channels(), chain.block());
                for s in scratch_in.iter_mut() {
                    s.fill(T::zero());
                }
                let mut tail = chain.tail_frames();
                while tail > 0 {
                    let k = tail.min(chain.block());
                    causal_block(
                        chain,
                        &scratch_in,
                        &mut scratch_out,
                        k,
                        output.as_mut(),
                        ctl,
                        None,
                    )?;
                    tail -= k;
                }
            }
        }
        self.output.drain(&self.ctl)?;
        self.ctl
            .xruns_out
            .store(self.output.xruns(), Ordering::Relaxed);
        Ok(lost)
    }
}

/// Runs silence through a live chain until every partition has worked once, then resets it:
/// the first blocks of a cold engine touch its buffers and spectra for the first time, and a
/// stall there would leave a backlog in the capture ring, which is latency for the rest of the
/// run (measured: up to 15 ms more with a 6601-tap kernel at block 64 on a loaded machine).
fn warm_up<T: Sample>(chain: &mut LiveChain<T>) {
    let block = chain.block();
    let zeros = Block::<T>::zeros(chain.channels(), block);
    let mut out = Block::<T>::zeros(chain.channels_out(), chain.block_out());
    let blocks = (chain.tail_frames() / block.max(1) + 2).min(4096);
    for _ in 0..blocks {
        chain.process(&zeros, block, &mut out);
    }
    chain.reset();
}

/// `k` frames of `input` through a causal chain to the output; the chain's time recorded
/// from `started` when given.
fn causal_block<T: Sample>(
    chain: &mut LiveChain<T>,
    input: &Block<T>,
    out: &mut Block<T>,
    k: usize,
    output: &mut dyn Output<T>,
    ctl: &Control,
    started: Option<Instant>,
) -> Result<()> {
    let made = chain.process(input, k, out);
    if let Some(t) = started {
        ctl.block_times.record(nanos(t));
    }
    if made > 0 {
        out.resize(chain.channels_out(), made);
        output.write(out, ctl)?;
        count_out(ctl, output, made);
    }
    // Back to a whole block for the next call (the output may have swapped in a block of
    // its own).
    out.resize(chain.channels_out(), chain.block_out());
    Ok(())
}

/// One piece of an exact chain's output to the output (and the picture).
fn emit<T: Sample>(
    out: &mut Block<T>,
    tap: &mut Option<crate::plot::RunTap>,
    output: &mut dyn Output<T>,
    ctl: &Control,
) -> Result<()> {
    let n = out.frames();
    if n == 0 {
        return Ok(());
    }
    if let Some(tap) = tap {
        tap.push_output(out);
    }
    output.write(out, ctl)?;
    count_out(ctl, output, n);
    Ok(())
}

/// Nanoseconds since `t`, for the block-time histogram.
fn nanos(t: Instant) -> u64 {
    t.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
}

fn count_out<T>(ctl: &Control, output: &dyn Output<T>, n: usize) {
    ctl.frames_out.fetch_add(n as u64, Ordering::Relaxed);
    ctl.xruns_out.store(output.xruns(), Ordering::Relaxed);
}
