//! The filter chain of `convoy run`: stage words parsed, kernels designed or loaded, adjacent
//! linear stages fused, and the runtime that pushes blocks through them.
//!
//! Setup on the main thread; [`Chain::process`] runs on the chain thread, in f32 (audio) or
//! f64 (text and 64-bit float input).
//!
//! A stage word is `name[:arg,...][,key=value...]`, e.g. `ma:9`, `lowpass:3000,window=kaiser`,
//! `fir:room.wav,normalize=peak`. A linear, time-invariant stage becomes a [`Kernels`] map plus
//! a mode; runs of them are fused when the cost model says one convolution is cheaper than
//! several ([`fused`] keeps the output identical). `denoise` and `dehum` are not convolutions:
//! they stand alone between runs ([`nonlinear`]). A delay is a shift of the stream and an
//! upmix (mono into an N-channel IR) a copy ([`steps`]); both stand alone too.
//!
//! Built from stage words, fed blocks, flushed at the end; what comes out is what the stages
//! give one after the other (np.convolve's numbers for a smoother):
//!
//! ```
//! use convoy::Block;
//! use convoy::chain::{Chain, Context};
//!
//! # fn main() -> convoy::Result<()> {
//! let ctx = Context { rate: Some(48_000), channels: 1, block: None };
//! let mut chain = Chain::<f64>::build(&["ma:3".into(), "gain:2".into()], &ctx)?;
//! let mut out = Vec::new();
//! let mut take = |b: &mut Block<f64>| { out.extend_from_slice(&b[0]); Ok(()) };
//! for piece in [vec![3.0, 6.0], vec![9.0]] {
//!     chain.process(&mut Block::from_planes(vec![piece]), &mut take)?;
//! }
//! chain.finish(&mut take)?;
//! assert_eq!(out.len(), 3);
//! assert!((out[1] - 12.0).abs() < 1e-12); // 2 * (3 + 6 + 9) / 3
//! # Ok(())
//! # }
//! ```

pub mod fused;
pub mod iir;
pub mod kernels;
pub mod live;
pub mod nonlinear;
pub mod resample;
pub mod steps;
pub mod whole;

use std::path::PathBuf;

use crate::block::Block;
use crate::conv::cost::streaming::direct_ns as direct_cost;
use crate::conv::fir::DirectFir;
use crate::conv::partitioned::MAX_BLOCK;
use crate::conv::{Mode, MultiConvolver, PartitionedKernel, Sample, Schedule};
use crate::error::{Error, Result};
pub use crate::stages::{StageWord, bad_stage, kernel_from_word};
pub use fused::{Filter, FusedStage, LinearStage};
pub use iir::{IirStage, IirStep};
pub use kernels::Kernels;
pub use nonlinear::NonlinearStage;
pub use whole::{Edges, WholeStage, WholeStep};

/// The most taps any stage, or any fused run of stages, may have: 2^22 (87 s at 48 kHz; the
/// kernel, its spectra and the delay line take ~100 MB per channel). Refused before anything
/// that size is allocated. A delay is a shift, not a kernel, and is not bound by this.
pub const MAX_TAPS: usize = 1 << 22;

/// The most taps times channels of one run (2^26: 16 channels of 2^22 taps, about 1.6 GB).
pub const MAX_TAP_CHANNELS: usize = 1 << 26;

/// The longest delay: 2^34 frames (about 4 days at 48 kHz).
pub const MAX_DELAY: u64 = 1 << 34;

/// The most bytes a `--chain` file may have (1 MiB of stage words).
const MAX_CHAIN_FILE: usize = 1 << 20;

/// The stage words of a chain file (one or more per line, `#` comments; each remembers its
/// file and line) followed by `stages` (the command line's).
///
/// # Errors
/// The chain file cannot be read, is a directory, binary or too large.
pub fn stage_words(
    chain_file: Option<&std::path::Path>,
    stages: &[String],
) -> Result<Vec<StageWord>> {
    let mut words = Vec::new();
    if let Some(path) = chain_file {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, &e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::input(
                path.display().to_string(),
                "is a directory, not a chain file",
            ));
        }
        let text = crate::io::read_text(&path.display().to_string(), file, MAX_CHAIN_FILE)?;
        for (i, line) in text.lines().enumerate() {
            let body = line.split('#').next().unwrap_or("").trim();
            words.extend(body.split_whitespace().map(|w| StageWord {
                text: w.to_string(),
                origin: Some((path.to_path_buf(), i + 1)),
            }));
        }
    }
    words.extend(stages.iter().map(|s| StageWord::from(s.as_str())));
    Ok(words)
}

/// What the chain is built for.
#[derive(Clone, Debug)]
pub struct Context {
    /// Sample rate of the stream, if known.
    pub rate: Option<u32>,
    /// Channels entering the stage being built.
    pub channels: usize,
    /// `--block`: the latency the engine must meet; `None` offline (fastest).
    pub block: Option<usize>,
}

/// One step of a built chain.
#[derive(Clone)]
enum Step<T: Sample> {
    Linear(FusedStage<T>),
    Iir(IirStep),
    Whole(WholeStep),
    Nonlinear(NonlinearStage),
    Shift(steps::Shift),
    Upmix(usize),
    Resample(resample::ResampleStep),
}

/// A parsed stage.
pub enum Stage {
    Linear(LinearStage),
    /// A recursive filter (second-order sections).
    Iir(IirStage),
    /// A FIR stage whose edges need the whole signal (offline).
    Whole(WholeStage),
    Nonlinear(NonlinearStage),
    /// A delay of this many frames.
    Delay(u64),
    /// A change of the stream's rate, to this many Hz.
    Resample(u32),
}

/// A built chain: fused runs of linear stages, and the other steps between them.
#[derive(Clone)]
pub struct Chain<T: Sample> {
    steps: Vec<Step<T>>,
    /// Each step's output, reused from block to block (nothing allocated per block once they
    /// have grown to the largest block the run brings).
    bufs: Vec<Block<T>>,
    explain: Vec<Line>,
    /// Files the stages read (never to be overwritten by the output).
    pub inputs: Vec<PathBuf>,
    /// Notes to print (normalization gains and the like).
    pub notes: Vec<String>,
    channels_in: usize,
    channels_out: usize,
    /// What the stages other than FIR ones delay a live (causal) stream by, in samples:
    /// recursive stages their group delay, `delay:` its frames, denoise its frame latency.
    /// The FIR stages' delays are worked out when asked for ([`Chain::stage_delay`]).
    stage_delay: f64,
    /// The live block the latency line is quoted for, and the engines' delay at it.
    live_block: usize,
    live_engines: usize,
    rate: Option<u32>,
    /// The rate the chain gives (another after a `resample:`).
    rate_out: Option<u32>,
}

/// One line of the `--explain` text. A FIR stage's line (its delay and DC gain) is worked out
/// only when the text or the live latency is asked for: the delay of a kernel that is not
/// linear phase takes a transform of it and its group delay at a frequency, about 1 ms of a
/// 262,144-tap IR's 50 ms offline run, which needs neither.
#[derive(Clone)]
enum Line {
    Text(String),
    /// Stage `stage` of step `step` (a fused run or a whole-signal step), whose rate is
    /// `rate`; `to_input` converts its delay to samples at the chain's input rate.
    Fir {
        step: usize,
        stage: usize,
        rate: Option<u32>,
        to_input: f64,
    },
}

/// The processing block of a live run without `--block`: 64 frames (1.3 ms at 48 kHz).
pub const LIVE_BLOCK: usize = 64;

/// Whether a run of `kernels` streams through direct sums (no latency) rather than FFT
/// partitions, and the partitioning it would use, for engine block `block`.
fn engine_plan(kernels: &Kernels, block: Option<usize>) -> (bool, Schedule) {
    let schedule = schedule_for(kernels.len(), block);
    // Short kernels: a direct sum is cheaper than any FFT partitioning, and has no latency.
    // (True-stereo matrices always take the partitioned engine.)
    let direct =
        !matches!(kernels, Kernels::Matrix(_)) && direct_cost(kernels.len()) < schedule.cost_ns;
    (direct, schedule)
}

/// The streaming engine for `kernels` on `ch` channels at engine block `block`: direct sums
/// or FFT partitions, whichever the cost model prefers; with the choice and the partitioning.
fn causal_filter<T: Sample>(
    kernels: &Kernels,
    ch: usize,
    block: Option<usize>,
) -> Result<(Filter<T>, bool, Schedule)> {
    let (direct, schedule) = engine_plan(kernels, block);
    let engine_kernels = kernels.engine_kernels::<T>();
    let engine = if direct {
        let per_channel: Vec<DirectFir<T>> = (0..ch)
            .map(|c| DirectFir::new(&engine_kernels[c.min(engine_kernels.len() - 1)]))
            .collect::<Result<_>>()?;
        Filter::Direct(per_channel)
    } else if engine_kernels.len() == 1 {
        let pk = PartitionedKernel::with_schedule(&engine_kernels[0], &schedule)?;
        Filter::Partitioned(MultiConvolver::shared(&pk, ch))
    } else {
        let refs: Vec<&[T]> = engine_kernels.iter().map(|k| &k[..]).collect();
        Filter::Partitioned(MultiConvolver::with_schedule(&refs, ch, &schedule)?)
    };
    Ok((engine, direct, schedule))
}

/// The partition head (its latency) of `kernels`' engine at live block `block`.
fn live_head(kernels: &Kernels, block: usize) -> usize {
    match engine_plan(kernels, Some(block)) {
        (true, _) => 0,
        (false, s) => s.segments.first().map_or(0, |g| g.block),
    }
}

/// The delay of a FIR kernel on a causal stream, in samples, and the frequency it is quoted
/// at (`None`: the same at every frequency). A linear-phase kernel (symmetric or
/// antisymmetric) delays every frequency by (M-1)/2; any other (minimum phase, a measured IR)
/// by its group delay at 1 kHz, or at its response's peak when 1 kHz is 20 dB below it.
pub fn fir_delay(k: &Kernels, rate: Option<u32>) -> (f64, Option<f64>) {
    let h: &[f64] = match k {
        Kernels::Shared(h) => h,
        Kernels::PerChannel(hs) => hs.first().map_or(&[][..], |h| &h[..]),
        Kernels::Matrix(m) => m
            .first()
            .and_then(|r| r.first())
            .map_or(&[][..], |h| &h[..]),
    };
    let m = h.len();
    if m == 0 {
        return (0.0, None);
    }
    let scale = h.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let tol = scale * 1e-12;
    let symmetric = (0..m / 2).all(|i| (h[i] - h[m - 1 - i]).abs() <= tol);
    let anti = (0..m / 2).all(|i| (h[i] + h[m - 1 - i]).abs() <= tol);
    if symmetric || anti {
        return ((m - 1) as f64 / 2.0, None);
    }
    let r = rate.map_or(48_000.0, f64::from);
    let at = |f: f64| dtft_delay(h, 2.0 * std::f64::consts::PI * f / r);
    let reference = 1000.0f64.min(r / 4.0);
    let (mag, gd) = at(reference);
    // The peak on a coarse log grid, read off one transform of the kernel (the nearest of its
    // 2^13..2^15 bins): a sum over the taps per grid point cost 200 M sin/cos pairs, 0.6 s of
    // setup for a 262,144-tap IR, ten times the convolution itself. A kernel longer than the
    // transform is folded onto it first: the transform of the folded kernel is the kernel's
    // own spectrum sampled at the bins (time aliasing only changes what lies between them).
    let n = m.next_power_of_two().clamp(1 << 13, 1 << 15);
    let fft = crate::conv::sample::real_forward::<f64>(n);
    let mut padded = fft.make_input_vec();
    for chunk in h.chunks(n) {
        for (p, &v) in padded.iter_mut().zip(chunk) {
            *p += v;
        }
    }
    let mut spectrum = fft.make_output_vec();
    // realfft only fails on wrongly sized buffers, which these are not; a failure leaves the
    // spectrum zero and the reference frequency quoted.
    let _ = fft.process(&mut padded, &mut spectrum);
    let bin_mag = |f: f64| {
        let k = ((f / r * n as f64).round() as usize).min(spectrum.len() - 1);
        spectrum[k].norm()
    };
    let (peak_f, peak) = (0..200)
        .map(|i| 20.0 * (r / 2.0 / 20.0).powf(i as f64 / 199.0) * 0.999)
        .map(|f| (f, bin_mag(f)))
        .fold((reference, mag), |a, b| if b.1 > a.1 { b } else { a });
    if mag >= peak / 10.0 {
        (gd, Some(reference))
    } else {
        (at(peak_f).1, Some(peak_f))
    }
}

/// The magnitude and group delay (in samples) of `h` at `w` radians per sample.
fn dtft_delay(h: &[f64], w: f64) -> (f64, f64) {
    let d = crate::stages::design::Dtft::at(h, w);
    (d.magnitude(), d.group_delay())
}

/// Picks the engine's partitioning for a kernel of `len` taps.
fn schedule_for(len: usize, block: Option<usize>) -> Schedule {
    match block {
        Some(b) => {
            // Any host block: the head partition is the largest power of two not above it,
            // so every call of `b` frames has its output ready (latency <= b).
            let head = 1usize << (usize::BITS - 1 - b.max(1).leading_zeros());
            Schedule::choose(len, head.min(MAX_BLOCK))
        }
        None => {
            // Offline: the cheapest uniform partitioning by the offline cost model, two
            // blocks a pass where that saves memory traffic (latency does not matter here).
            let offline = |b: &usize| crate::conv::cost::streaming::offline_stage_ns(len, *b);
            let best = (6..=MAX_BLOCK.trailing_zeros())
                .map(|k| 1usize << k)
                .min_by(|a, b| offline(a).total_cmp(&offline(b)))
                .unwrap_or(MAX_BLOCK);
            Schedule::uniform(len, best).batched()
        }
    }
}

fn cost(len: usize, block: Option<usize>) -> f64 {
    schedule_for(len, block).cost_ns.min(direct_cost(len))
}

/// What the greedy fusion collects before engines are built.
enum Group {
    /// Linear stages, their fused kernel (`None` while there is only one: its own kernel,
    /// not copied), and the channels.
    Linear(Vec<LinearStage>, Option<Kernels>, usize),
    Iir(Vec<IirStage>, usize),
    Whole(WholeStage, usize),
    Nonlinear(NonlinearStage),
    Shift(String, u64),
    Upmix(usize),
    /// `resample:` from one rate to another, on this many channels.
    Resample(String, u32, u32, usize),
}

impl<T: Sample> Chain<T> {
    /// Parses and builds `words` (stage words in order) for a stream of `ctx.channels`
    /// channels.
    ///
    /// # Errors
    /// A bad stage word (named, with its `--chain` file and line when it came from one), a
    /// file it reads, or a kernel over [`MAX_TAPS`].
    pub fn build(words: &[StageWord], ctx: &Context) -> Result<Chain<T>> {
        let mut inputs = Vec::new();
        let mut notes = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut channels = ctx.channels;
        let mut rate = ctx.rate;
        let mut dehum_before: Option<&str> = None;
        for word in words {
            match word.text.split([':', ',']).next() {
                Some("dehum") => dehum_before = Some(&word.text),
                Some("denoise") if !word.text.contains("model=spectral") => {
                    if let Some(d) = dehum_before.take() {
                        notes.push(format!(
                            "{d} before denoise: denoise takes mains hum out itself (the harmonics its profile shows up to 1 kHz; without a profile, any that holds steady up to 500 Hz); on the shipped hum sample {d} first scored 0.2-0.7 dB lower (with model=spectral, learned, 1.2 dB higher), so keep it only for hum above those"
                        ));
                    }
                }
                _ => {}
            }
            let here = Context {
                channels,
                rate,
                ..ctx.clone()
            };
            let built = crate::stages::build(word, &here).map_err(|e| match &word.origin {
                Some((file, line)) => Error::Usage(format!("{} line {line}: {e}", file.display())),
                None => e,
            })?;
            inputs.extend(built.reads);
            notes.extend(built.note);
            if let Some(n) = built.upmix {
                groups.push(Group::Upmix(n));
                channels = n;
            }
            let stage = match built.stage {
                Stage::Nonlinear(n) => {
                    groups.push(Group::Nonlinear(n));
                    continue;
                }
                Stage::Delay(d) => {
                    groups.push(Group::Shift(word.text.clone(), d));
                    continue;
                }
                Stage::Resample(to) => {
                    // The stages after it are built for the new rate (checked by the stage:
                    // it needs a known rate).
                    let from = rate.unwrap_or(to);
                    if from != to {
                        groups.push(Group::Resample(word.text.clone(), from, to, channels));
                        rate = Some(to);
                    }
                    continue;
                }
                Stage::Whole(w) => {
                    groups.push(Group::Whole(w, channels));
                    continue;
                }
                Stage::Iir(r) => {
                    // Causal recursive stages in a row become one cascade.
                    if let Some(Group::Iir(run, ch)) = groups.last_mut()
                        && *ch == channels
                        && !r.zero_phase
                        && run.iter().all(|s| !s.zero_phase)
                    {
                        run.push(r);
                    } else {
                        groups.push(Group::Iir(vec![r], channels));
                    }
                    continue;
                }
                Stage::Linear(l) => l,
            };
            // Greedy fusion: extend the current run while one convolution of the fused kernel
            // costs no more than the run and the next stage separately (judged on lengths
            // first: the product is only computed when it will be used).
            if let Some(Group::Linear(group, fused, ch)) = groups.last_mut() {
                let k = fused.as_ref().unwrap_or(&group[0].kernels);
                let fused_len = k.len() + stage.kernels.len() - 1;
                let separate = cost(k.len(), ctx.block) + cost(stage.kernels.len(), ctx.block);
                if *ch == channels
                    && fused_len <= MAX_TAPS
                    && cost(fused_len, ctx.block) <= separate
                {
                    *fused = Some(stage.kernels.after(k, channels)?);
                    group.push(stage);
                    continue;
                }
            }
            groups.push(Group::Linear(vec![stage], None, channels));
        }
        let mut steps = Vec::new();
        let mut explain = Vec::new();
        let mut stage_delay = 0.0f64;
        let live_block = ctx.block.unwrap_or(LIVE_BLOCK).max(1);
        let mut live_engines = 0usize;
        // The rate at this point of the chain (a resample changes it); delays are summed in
        // samples at the input's rate.
        let mut rate_now = ctx.rate;
        for (i, group) in groups.into_iter().enumerate() {
            let run = i + 1;
            let to_input = match (ctx.rate, rate_now) {
                (Some(a), Some(b)) => f64::from(a) / f64::from(b),
                _ => 1.0,
            };
            let (group, kernels, ch) = match group {
                Group::Nonlinear(n) => {
                    stage_delay += n.live_latency() as f64 * to_input;
                    explain.push(Line::Text(format!("  {:<28} {}", n.word, n.describe)));
                    explain.push(Line::Text(format!(
                        "run {run}: {} (not a convolution), latency {} samples{}",
                        n.word,
                        n.latency(),
                        ms(n.latency() as u64, rate_now)
                    )));
                    steps.push(Step::Nonlinear(n));
                    continue;
                }
                Group::Shift(word, d) => {
                    stage_delay += d as f64 * to_input;
                    explain.push(Line::Text(format!(
                        "run {run}: {word}: the stream shifted by {d} frames{} (silence first; no kernel)",
                        ms(d, rate_now)
                    )));
                    steps.push(Step::Shift(steps::Shift::new(word, d)));
                    continue;
                }
                Group::Resample(word, from, to, ch) => {
                    let step = resample::ResampleStep::new(word, from, to, ch)?;
                    explain.push(Line::Text(format!(
                        "run {run}: {}: {from} Hz -> {to} Hz (rubato's FFT resampler, f64; flat to 0.98 of the lower Nyquist frequency; its delay of {} frames{} trimmed offline; live, a 256-point sinc resampler, delay {:.0} input frames); the stages after it run at {to} Hz",
                        step.word,
                        step.delay(),
                        ms(step.delay() as u64, Some(to)),
                        resample::live_delay()
                    )));
                    // Live (where the delay is heard) the sinc resampler runs: its delay.
                    stage_delay += resample::live_delay() * to_input;
                    steps.push(Step::Resample(step));
                    rate_now = Some(to);
                    continue;
                }
                Group::Upmix(n) => {
                    explain.push(Line::Text(format!(
                        "run {run}: mono copied to {n} channels"
                    )));
                    steps.push(Step::Upmix(n));
                    continue;
                }
                Group::Whole(w, ch) => {
                    live_engines += live_head(&w.kernels, live_block);
                    explain.push(Line::Fir {
                        step: steps.len(),
                        stage: 0,
                        rate: rate_now,
                        to_input,
                    });
                    explain.push(Line::Text(format!(
                        "run {run}: {} over the whole input ({}; live, the stream runs causally: its front extended by silence)",
                        w.word,
                        match w.edges {
                            Edges::Extend(b) => format!("edges extended as np.pad's '{}'", b.name()),
                            Edges::Interp { .. } => "edges fitted by polynomials, as savgol_filter's mode='interp'".to_string(),
                        }
                    )));
                    steps.push(Step::Whole(WholeStep::new(w, ch)));
                    continue;
                }
                Group::Iir(stages, ch) => {
                    let mut delay = 0.0;
                    for s in &stages {
                        let d = s.delay(rate_now);
                        delay += d;
                        stage_delay += d * to_input;
                        explain.push(Line::Text(format!(
                            "  {:<28} {:>3} section(s) {}  delay {d:.1} samples{} at {} Hz",
                            s.word,
                            s.sos.len(),
                            if s.zero_phase { "zero-phase" } else { "causal" },
                            ms_f(d, rate_now),
                            s.reference_hz
                        )));
                    }
                    let step = IirStep::new(stages, ch);
                    explain.push(Line::Text(format!(
                        "run {run}: {} as one cascade of {} second-order section(s) (recursive, f64 state){}",
                        if step.stages().len() > 1 {
                            format!("{} recursive stages", step.stages().len())
                        } else {
                            "a recursive stage".to_string()
                        },
                        step.sections().len(),
                        if step.zero_phase() {
                            ", forwards then backwards over the whole input (zero phase, offline only)".to_string()
                        } else {
                            format!(", delay {delay:.1} samples{}", ms_f(delay, rate_now))
                        }
                    )));
                    steps.push(Step::Iir(step));
                    continue;
                }
                Group::Linear(g, k, ch) => (g, k, ch),
            };
            let kernels = kernels.as_ref().unwrap_or(&group[0].kernels);
            // The engine and the exact edges hold a few copies of the kernel's length per
            // channel: bound the product before any of it is allocated.
            if kernels.len().saturating_mul(ch) > MAX_TAP_CHANNELS {
                let words: Vec<&str> = group.iter().map(|s| s.word.as_str()).collect();
                return Err(bad_stage(
                    &words.join(" "),
                    format!(
                        "{} taps on {ch} channels is over the limit of 2^26 taps x channels",
                        kernels.len()
                    ),
                ));
            }
            live_engines += live_head(kernels, live_block);
            let (engine, direct, schedule) = causal_filter(kernels, ch, ctx.block)?;
            let latency = engine.latency();
            let parts: Vec<String> = if direct {
                vec!["direct (time domain)".to_string()]
            } else {
                schedule
                    .segments
                    .iter()
                    .map(|s| format!("{}x{}", s.partitions, s.block))
                    .collect()
            };
            let pairs = if schedule.batch > 1 && !direct {
                format!(" ({} blocks a pass)", schedule.batch)
            } else {
                String::new()
            };
            explain.extend((0..group.len()).map(|stage| Line::Fir {
                step: steps.len(),
                stage,
                rate: rate_now,
                to_input,
            }));
            let what = if group.len() > 1 {
                format!("fused {} stages into", group.len())
            } else {
                "runs as".to_string()
            };
            explain.push(Line::Text(format!(
                "run {run}: {what} one {}-tap convolution, partitions {}{pairs}, engine latency {} samples{}",
                kernels.len(),
                parts.join(" + "),
                latency,
                ms(latency as u64, rate_now)
            )));
            steps.push(Step::Linear(FusedStage::new(group, ch, engine)));
        }
        Ok(Chain {
            bufs: (0..steps.len()).map(|_| Block::default()).collect(),
            steps,
            explain,
            inputs,
            notes,
            channels_in: ctx.channels,
            channels_out: channels,
            stage_delay,
            live_block,
            live_engines,
            rate: ctx.rate,
            rate_out: rate_now,
        })
    }

    /// The rate the chain gives: the input's, or the last `resample:`'s.
    pub fn rate_out(&self) -> Option<u32> {
        self.rate_out
    }

    /// The first `resample:` stage, if any.
    pub fn resample_stage(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| match s {
            Step::Resample(r) => Some(r.word.as_str()),
            _ => None,
        })
    }

    /// Channels the chain takes.
    pub fn channels_in(&self) -> usize {
        self.channels_in
    }

    /// Channels the chain gives (more than it takes when a mono input meets a stereo IR).
    pub fn channels_out(&self) -> usize {
        self.channels_out
    }

    /// Whether the output has exactly the input's frames, row for row: every linear stage in
    /// `mode=same` with a kernel no longer than the input (`min_frames`), no delay, no upmix.
    pub fn keeps_length(&self, min_frames: usize) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Linear(f) => f
                .stages()
                .iter()
                .all(|l| l.mode == Mode::Same && l.kernels.len() <= min_frames.max(1)),
            Step::Whole(w) => w.stage.kernels.len() <= min_frames.max(1),
            Step::Iir(_) | Step::Nonlinear(_) => true,
            Step::Shift(_) | Step::Upmix(_) | Step::Resample(_) => false,
        })
    }

    /// Exactly how many frames an input of `frames` frames comes out as, offline: each
    /// kernel's mode as numpy counts it (full N+M-1, same max(N, M), valid max(N, M)-min+1),
    /// a delay adds its frames, everything else keeps the length; nothing in, nothing out.
    /// What `--resume` expects of a complete output.
    pub fn frames_out(&self, frames: u64) -> u64 {
        self.steps.iter().fold(frames, |n, step| match step {
            _ if n == 0 => 0,
            Step::Linear(f) => f.stages().iter().fold(n, |n, l| {
                let m = l.kernels.len() as u64;
                let (long, short) = (n.max(m), n.min(m));
                match l.mode {
                    Mode::Full => n + m - 1,
                    Mode::Same => long,
                    Mode::Valid => long - short + 1,
                }
            }),
            Step::Shift(s) => n + s.frames,
            Step::Resample(r) => r.frames_out(n),
            Step::Iir(_) | Step::Whole(_) | Step::Nonlinear(_) | Step::Upmix(_) => n,
        })
    }

    /// A copy in the state it was built in, sharing the kernels' spectra (an `Arc`, not a new
    /// transform): a batch run builds a chain once and gives every file its own copy.
    pub fn fresh(&self) -> Chain<T> {
        let mut copy = self.clone();
        copy.reset();
        copy
    }

    /// The whole chain's impulse response from input channel `channel` to the same output
    /// channel (for a true-stereo matrix, the direct path), and the delay (frames) that goes
    /// with it: the product of every stage's kernel, causal (a `same` stage's centring is a
    /// time shift, not part of its response). An empty chain is a unit impulse.
    ///
    /// # Errors
    /// The product is longer than [`MAX_TAPS`].
    pub fn impulse_response(&self, channel: usize) -> Result<(Vec<f64>, u64)> {
        let mut total: Option<Kernels> = None;
        let mut delay = 0u64;
        let mut channels = self.channels_in;
        for step in &self.steps {
            match step {
                Step::Linear(run) => {
                    for stage in run.stages() {
                        total = Some(match total {
                            None => stage.kernels.clone(),
                            Some(k) => {
                                if k.len() + stage.kernels.len() - 1 > MAX_TAPS {
                                    return Err(Error::Usage(
                                        "the chain's impulse response is over 2^22 taps".into(),
                                    ));
                                }
                                stage.kernels.after(&k, channels)?
                            }
                        });
                    }
                }
                Step::Shift(s) => delay += s.frames,
                // Recursive stages have no finite impulse response: see `recursive()`.
                Step::Iir(_) => {}
                Step::Whole(w) => {
                    let k = &w.stage.kernels;
                    total = Some(match total {
                        None => k.clone(),
                        Some(t) => k.after(&t, channels)?,
                    });
                }
                Step::Upmix(n) => {
                    // Every output channel sees the mono input through what came before.
                    total = total.map(|k| k.upmixed(*n));
                    channels = *n;
                }
                Step::Nonlinear(_) | Step::Resample(_) => {}
            }
        }
        let h = match total {
            None => vec![1.0],
            Some(Kernels::Shared(k)) => k,
            Some(Kernels::PerChannel(ks)) => {
                let c = channel.min(ks.len().saturating_sub(1));
                ks.into_iter().nth(c).unwrap_or_else(|| vec![1.0])
            }
            Some(Kernels::Matrix(m)) => {
                let c = channel.min(m.len().saturating_sub(1));
                m.into_iter()
                    .nth(c)
                    .and_then(|row| {
                        let i = c.min(row.len().saturating_sub(1));
                        row.into_iter().nth(i)
                    })
                    .unwrap_or_else(|| vec![1.0])
            }
        };
        Ok((h, delay))
    }

    /// The recursive steps' sections, in order, each with whether it runs zero-phase (their
    /// responses multiply the one of [`Chain::impulse_response`]).
    pub fn recursive(&self) -> Vec<(&[crate::conv::iir::Section], bool)> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Iir(r) => Some((r.sections(), r.zero_phase())),
                _ => None,
            })
            .collect()
    }

    /// The first stage that is not linear (and so has no impulse response), if any.
    pub fn nonlinear_stage(&self) -> Option<&str> {
        self.steps.iter().find_map(|r| match r {
            Step::Nonlinear(n) => Some(n.word.as_str()),
            _ => None,
        })
    }

    /// What the run should say at the end (non-finite samples a nonlinear stage replaced).
    pub fn warnings(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Nonlinear(n) if n.replaced() > 0 => Some(format!(
                    "{}: {} non-finite input sample(s) (NaN or infinity) were replaced by 0",
                    n.word,
                    n.replaced()
                )),
                _ => None,
            })
            .collect()
    }

    /// The `--explain` text.
    pub fn explain(&self) -> String {
        let stages: usize = self
            .steps
            .iter()
            .map(|r| match r {
                Step::Linear(f) => f.stages().len(),
                Step::Iir(r) => r.stages().len(),
                Step::Whole(_) => 1,
                Step::Nonlinear(_) | Step::Shift(_) | Step::Resample(_) => 1,
                Step::Upmix(_) => 0,
            })
            .sum();
        let mut s = format!(
            "chain: {stages} stage(s), {} channel(s){}, {} run(s)\n",
            self.channels_in,
            if self.channels_out != self.channels_in {
                format!(" in, {} out", self.channels_out)
            } else {
                String::new()
            },
            self.steps.len()
        );
        for line in &self.explain {
            match line {
                Line::Text(text) => s.push_str(text),
                &Line::Fir {
                    step, stage, rate, ..
                } => {
                    if let Some((word, kernels, mode)) = self.fir_stage(step, stage) {
                        let (d, at) = fir_delay(kernels, rate);
                        s.push_str(&format!(
                            "  {word:<28} {:>8} taps  {mode:<4}  DC gain {}  delay {d:.1}{}{}",
                            kernels.len(),
                            describe_gain(kernels),
                            ms_f(d, rate),
                            at.map(|f| format!(" at {f:.0} Hz")).unwrap_or_default()
                        ));
                    }
                }
            }
            s.push('\n');
        }
        if self.steps.is_empty() {
            s.push_str("  (no stages: input copied to output)\n");
        }
        let (total, line) = self.live_latency(0, 0);
        s.push_str(&format!(
            "latency live: {total:.0} samples{} = {line}, plus the devices' periods and cushion\n",
            ms_f(total, self.rate)
        ));
        s
    }

    /// The `--explain` text of a live run whose capture period is `input_period` frames (0:
    /// not a device) and whose playback cushion is `cushion` frames.
    pub fn explain_live(&self, input_period: usize, cushion: usize) -> String {
        let mut s = self.explain();
        s.truncate(s.trim_end().rfind('\n').map_or(0, |i| i + 1));
        let (total, line) = self.live_latency(input_period, cushion);
        s.push_str(&format!(
            "latency live: {total:.0} samples{} = {line}\n",
            ms_f(total, self.rate)
        ));
        s
    }

    /// Stage `stage` of step `step` as a FIR stage: its word, kernels and output mode.
    fn fir_stage(&self, step: usize, stage: usize) -> Option<(&str, &Kernels, &'static str)> {
        match self.steps.get(step)? {
            Step::Linear(f) => f.stages().get(stage).map(|s| {
                let mode = match s.mode {
                    Mode::Full => "full",
                    Mode::Same => "same",
                    Mode::Valid => "valid",
                };
                (s.word.as_str(), &s.kernels, mode)
            }),
            Step::Whole(w) => Some((w.stage.word.as_str(), &w.stage.kernels, "same")),
            _ => None,
        }
    }

    /// What the stages delay a live (causal) stream by, in samples at the input's rate:
    /// linear-phase FIR (M-1)/2, other FIR and recursive stages their group delay, `delay:`
    /// its frames, denoise its frame latency.
    fn stage_delay(&self) -> f64 {
        let fir: f64 = self
            .explain
            .iter()
            .filter_map(|line| match *line {
                Line::Fir {
                    step,
                    stage,
                    rate,
                    to_input,
                } => self
                    .fir_stage(step, stage)
                    .map(|(_, k, _)| fir_delay(k, rate).0 * to_input),
                Line::Text(_) => None,
            })
            .sum();
        self.stage_delay + fir
    }

    /// The latency of this chain on a live stream at its live block, from the moment a sample
    /// is captured to the moment it is played, in samples, with its breakdown: the playback
    /// cushion, the age of the audio when it reaches the chain (a capture period: the device
    /// hands over a period once it is full; or the block when the block is longer), the
    /// engines' partition heads, and the stages' own delays. The playback period does not add
    /// (the cushion fills it). Through PulseAudio the measured figure lies within a few ms of
    /// this, plus now and then the server's own 10 ms steps (see the README).
    pub fn live_latency(&self, input_period: usize, cushion: usize) -> (f64, String) {
        let age = input_period.max(self.live_block);
        let stage_delay = self.stage_delay();
        let total = (cushion + age + self.live_engines) as f64 + stage_delay;
        let mut parts = Vec::new();
        if cushion > 0 {
            parts.push(format!("cushion {cushion}"));
        }
        parts.push(if input_period > self.live_block {
            format!("capture period {input_period}")
        } else {
            format!("block {}", self.live_block)
        });
        parts.push(format!("engines {}", self.live_engines));
        parts.push(format!("stage delays {stage_delay:.1}"));
        (total, parts.join(" + "))
    }

    /// Pushes a block through every step; `emit` gets whatever comes out (possibly several
    /// pieces, possibly none) and may swap each piece for a block of its own.
    ///
    /// # Errors
    /// The first error `emit` returns (the rest of the block is not processed).
    pub fn process(&mut self, block: &mut Block<T>, emit: &mut Emit<'_, T>) -> Result<()> {
        run_steps(&mut self.steps, &mut self.bufs, block, emit)
    }

    /// The end of the input: flushes each step in turn (a step's tail goes through the rest).
    ///
    /// # Errors
    /// The first error `emit` returns.
    pub fn finish(&mut self, emit: &mut Emit<'_, T>) -> Result<()> {
        for i in 0..self.steps.len() {
            let (head, rest) = self.steps.split_at_mut(i + 1);
            let (head_bufs, rest_bufs) = self.bufs.split_at_mut(i + 1);
            let buf = &mut head_bufs[i];
            match &mut head[i] {
                Step::Linear(f) => f.finish(buf),
                Step::Iir(r) => r.finish(buf)?,
                Step::Whole(w) => w.finish(buf)?,
                Step::Nonlinear(n) => n.finish(buf),
                Step::Resample(r) => r.finish(buf),
                Step::Shift(_) | Step::Upmix(_) => continue,
            }
            if !buf.is_empty() {
                run_steps(rest, rest_bufs, buf, emit)?;
            }
        }
        Ok(())
    }

    /// Back to the state it was built in (every filter's memory, every noise estimate and
    /// tone fit, every delay): the next block starts a new stream, as from a new chain.
    pub fn reset(&mut self) {
        for step in &mut self.steps {
            match step {
                Step::Linear(f) => f.reset(),
                Step::Iir(r) => r.reset(),
                Step::Whole(w) => w.reset(),
                Step::Nonlinear(n) => n.reset(),
                Step::Shift(s) => s.reset(),
                Step::Resample(r) => r.reset(),
                Step::Upmix(_) => {}
            }
        }
        for b in &mut self.bufs {
            b.clear(0);
        }
    }

    /// The chain for a live stream on blocks of at most `block` frames (see [`live`]).
    ///
    /// # Errors
    /// More than [`live::MAX_LIVE_CHANNELS`] channels, or a delay too long to hold live.
    pub fn into_live(self, block: usize) -> Result<live::LiveChain<T>> {
        let widest = self.channels_in.max(self.channels_out);
        if widest > live::MAX_LIVE_CHANNELS {
            return Err(Error::Usage(format!(
                "a live stream carries at most {} channels, not {widest}",
                live::MAX_LIVE_CHANNELS
            )));
        }
        let mut channels = self.channels_in;
        let mut engines = Vec::new();
        let mut resample: Option<(usize, resample::LiveResampler<T>)> = None;
        // The largest block a step sees: the live block, or after a resample what it gives.
        let mut most = block.max(1);
        for step in self.steps {
            engines.push(match step {
                Step::Linear(run) => run.into_engine(),
                Step::Iir(r) => Filter::Iir(r.into_cascade()?),
                Step::Whole(w) => causal_filter(&w.stage.kernels, channels, Some(block))?.0,
                Step::Nonlinear(n) => {
                    let mut p = n.into_processor();
                    p.go_live();
                    p.reserve(most);
                    Filter::Nonlinear(p)
                }
                Step::Shift(s) => {
                    let d = usize::try_from(s.frames).unwrap_or(usize::MAX);
                    Filter::Delay(steps::DelayLine::new(d, channels, &s.word)?)
                }
                Step::Upmix(n) => {
                    channels = n;
                    Filter::Upmix(n)
                }
                Step::Resample(r) => {
                    if let Some((_, first)) = &resample {
                        return Err(Error::Usage(format!(
                            "{}: a live chain takes one resample: stage ({} is the first)",
                            r.word, first.word
                        )));
                    }
                    let live = resample::LiveResampler::new(
                        r.word.clone(),
                        r.from,
                        r.to,
                        channels,
                        block.max(1),
                    )?;
                    most = live.max_out(block.max(1));
                    resample = Some((engines.len(), live));
                    continue;
                }
            });
        }
        Ok(live::LiveChain::new(
            engines,
            resample,
            self.channels_in,
            block.max(1),
        ))
    }
}

/// Where a chain's output goes: a piece at a time, which the callee may swap for a block of
/// its own.
pub type Emit<'a, T> = dyn FnMut(&mut Block<T>) -> Result<()> + 'a;

/// `block` through `steps` (each writing into its own buffer in `bufs`), in order, to `emit`.
fn run_steps<T: Sample>(
    steps: &mut [Step<T>],
    bufs: &mut [Block<T>],
    block: &mut Block<T>,
    emit: &mut Emit<'_, T>,
) -> Result<()> {
    let frames = block.frames();
    let (Some((first, rest)), Some((buf, rest_bufs))) =
        (steps.split_first_mut(), bufs.split_first_mut())
    else {
        return if frames > 0 { emit(block) } else { Ok(()) };
    };
    match first {
        Step::Linear(f) => f.process(block, buf),
        Step::Iir(r) => r.process(block, buf)?,
        Step::Whole(w) => w.process(block, buf)?,
        Step::Nonlinear(n) => n.process(block, buf),
        Step::Resample(r) => r.process(block, buf),
        Step::Shift(s) => {
            while let Some(n) = s.next_silence(frames) {
                buf.clear(block.channels());
                buf.resize(block.channels(), n);
                run_steps(rest, rest_bufs, buf, emit)?;
            }
            // The stream itself passes on as it is.
            return if frames > 0 {
                run_steps(rest, rest_bufs, block, emit)
            } else {
                Ok(())
            };
        }
        Step::Upmix(n) => {
            buf.clear(*n);
            if let Some(mono) = block.first() {
                for c in buf.planes_mut() {
                    c.extend_from_slice(mono);
                }
            }
        }
    }
    if buf.is_empty() {
        return Ok(());
    }
    run_steps(rest, rest_bufs, buf, emit)
}

/// " (1.250 ms)" for a fractional delay of `frames` at `rate`, or nothing without a rate.
fn ms_f(frames: f64, rate: Option<u32>) -> String {
    rate.map(|r| format!(" ({:.3} ms)", frames * 1e3 / f64::from(r)))
        .unwrap_or_default()
}

/// " (12.500 ms)" for `frames` at `rate`, or nothing without a rate.
fn ms(frames: u64, rate: Option<u32>) -> String {
    rate.map(|r| format!(" ({:.3} ms)", frames as f64 * 1e3 / f64::from(r)))
        .unwrap_or_default()
}

fn describe_gain(k: &Kernels) -> String {
    let dc: f64 = match k {
        Kernels::Shared(k) => k.iter().sum(),
        Kernels::PerChannel(ks) => ks.first().map(|k| k.iter().sum()).unwrap_or(0.0),
        Kernels::Matrix(m) => m[0].iter().map(|k| k.iter().sum::<f64>()).sum(),
    };
    if dc.abs() < 1e-12 {
        "-inf dB (x0)".into()
    } else {
        format!("{:+.2} dB (x{:.4})", 20.0 * dc.abs().log10(), dc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sums by the definition, a sin/cos pair per tap (what `fir_delay` did for every
    /// frequency it looked at).
    fn by_definition(h: &[f64], w: f64) -> (f64, f64) {
        let (mut re, mut im, mut nre, mut nim) = (0.0, 0.0, 0.0, 0.0);
        for (n, &v) in h.iter().enumerate() {
            let (s, c) = (w * n as f64).sin_cos();
            re += v * c;
            im -= v * s;
            nre += n as f64 * v * c;
            nim -= n as f64 * v * s;
        }
        let mag2 = re * re + im * im;
        (mag2.sqrt(), (nre * re + nim * im) / mag2)
    }

    /// A decaying resonance at `f0` Hz, `m` taps at 48 kHz: not linear phase, and far quieter
    /// at 1 kHz than at its peak when `f0` is far from it.
    fn resonance(m: usize, f0: f64, decay: f64) -> Vec<f64> {
        (0..m)
            .map(|n| {
                let t = n as f64;
                (-t / decay).exp() * (2.0 * std::f64::consts::PI * f0 * t / 48_000.0).cos()
                    + if n == 3 { 0.01 } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn the_turned_exponential_gives_the_sums_by_definition() {
        let h = resonance(5000, 1700.0, 900.0);
        for f in [20.0, 999.0, 1000.0, 1700.0, 11_025.0, 23_000.0] {
            let w = 2.0 * std::f64::consts::PI * f / 48_000.0;
            let (m0, d0) = by_definition(&h, w);
            let (m1, d1) = dtft_delay(&h, w);
            assert!((m1 - m0).abs() <= 1e-10 * m0, "{f} Hz: |H| {m1} vs {m0}");
            assert!(
                (d1 - d0).abs() <= 1e-7 * d0.abs().max(1.0),
                "{f} Hz: {d1} vs {d0}"
            );
        }
    }

    /// A long kernel whose 1 kHz response is far below its peak: the delay is quoted at the
    /// peak (found on the transform, folded when the kernel is longer than it), and is the
    /// group delay there by definition.
    #[test]
    fn a_long_kernel_is_quoted_at_its_peak_with_the_delay_by_definition() {
        for m in [3000usize, 100_000] {
            let h = resonance(m, 6000.0, 400.0);
            let (delay, at) = fir_delay(&Kernels::Shared(h.clone()), Some(48_000));
            let f = at.expect("a frequency");
            assert!((f - 6000.0).abs() < 150.0, "{m} taps: quoted at {f} Hz");
            let (_, want) = by_definition(&h, 2.0 * std::f64::consts::PI * f / 48_000.0);
            assert!(
                (delay - want).abs() < 1e-6 * want.abs().max(1.0),
                "{delay} vs {want}"
            );
        }
        // Linear phase: (M - 1) / 2 at every frequency.
        let sym = vec![1.0, 2.0, 3.0, 2.0, 1.0];
        assert_eq!(fir_delay(&Kernels::Shared(sym), Some(48_000)), (2.0, None));
    }
}
