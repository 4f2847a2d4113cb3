//! `convoy run` with a sound device at either end: mic -> chain -> speakers, mic -> file,
//! file -> speakers.
//!
//! Threads: cpal's callbacks move samples through SPSC rings (src/live/streams.rs); one
//! processing thread, at real-time priority where the OS allows, runs the chain on fixed
//! blocks with buffers made before it starts; a reader or writer thread serves a file end;
//! the main thread only watches: Ctrl-C, `--duration`, `--stats` once a second, a failed device.
//!
//! Nothing waits on a device without a bound: every wait checks for a stop request, a device
//! that reported itself gone, and a device that stopped moving audio ([`STALL`] without a
//! frame: a sound server that died). A recording whose microphone is lost keeps everything
//! captured up to then, as a valid file, and the run ends with one error line. The streams are
//! dropped on a thread nobody waits for: a backend stuck inside a dead server cannot hold the
//! process.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::StreamTrait;
use crossbeam_channel::{Receiver, Sender, bounded};
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

use crate::chain::StageWord;
use crate::chain::live::LiveChain;
use crate::chain::{Chain, Context};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::io::output;
use crate::live::devices::{self, Direction};
use crate::live::quiet::AlsaChatter;
use crate::live::streams::{self, Counters, FAILED_GONE};
use crate::stream::{Sink, Source};

/// Processing block when `--block` is not given: 256 frames (5.3 ms at 48 kHz).
const DEFAULT_BLOCK: usize = 256;

/// A device that moves no audio for this long is gone (a sound server that died leaves the
/// backend polling a dead socket, reporting nothing).
const STALL: Duration = Duration::from_secs(2);

/// The device part of `mic`, `mic:NAME`, `speakers`, `speakers:NAME`: `Some(None)` for the
/// default device, `None` when `arg` is not a device at all.
pub fn device_arg<'a>(arg: &'a str, word: &str) -> Option<Option<&'a str>> {
    if arg == word {
        Some(None)
    } else {
        arg.strip_prefix(word)
            .and_then(|r| r.strip_prefix(':'))
            .map(|name| Some(name).filter(|n| !n.is_empty()))
    }
}

/// `--duration`: `10s`, `500ms`, `2.5` (seconds), `1m`.
pub(crate) fn parse_duration(text: &str) -> Result<f64> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("min") {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * scale),
        _ => Err(Error::input(
            "--duration",
            format!("'{text}': expected a positive time such as 10s, 500ms or 2.5"),
        )),
    }
}

/// Where the chain's input comes from.
enum In {
    Mic {
        ring: HeapCons<f32>,
        counters: Arc<Counters>,
        channels: usize,
        period: u32,
    },
    File {
        rx: Receiver<Result<Option<Vec<Vec<f32>>>>>,
        pending: Vec<Vec<f32>>,
        offset: usize,
        ended: bool,
    },
}

/// Where the chain's output goes.
enum Out {
    Speakers {
        ring: HeapProd<f32>,
        counters: Arc<Counters>,
        channels: usize,
    },
    File {
        tx: Sender<Vec<Vec<f32>>>,
        spare: Receiver<Vec<Vec<f32>>>,
    },
}

/// The chain as the processing thread runs it.
enum Runner {
    /// To speakers: the causal stream on fixed blocks, nothing allocated per block.
    Live(LiveChain),
    /// To a file or pipe: exactly what `convoy run` gives offline for the same input (`same`
    /// stages time-aligned, exact edges), since a file has no deadline.
    Offline(Chain<f32>),
}

/// What the processing thread shares with the main thread.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    done: AtomicBool,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    ring_fill: AtomicUsize,
    xruns_in: AtomicU64,
    xruns_out: AtomicU64,
}

/// Runs `convoy run` with `mic` and/or `speakers`.
///
/// # Errors
/// Bad arguments, no or a failing device, or a failure writing the output.
pub fn run(args: &RunArgs, words: &[StageWord], mut inputs: Vec<PathBuf>) -> Result<()> {
    // Opening devices can block inside a sound server that stopped answering: until the
    // stream runs, Ctrl-C aborts (nothing has been read or written yet).
    crate::interrupt::set_graceful(false);
    let chatter = AlsaChatter::capture();
    let result = run_inner(args, words, &mut inputs);
    if let Err(Error::Device(msg)) = &result {
        // alsa-lib's own words can say which PCM failed; keep them out of the one line but
        // available when asked for.
        if std::env::var_os("CONVOY_DEBUG").is_some() {
            eprintln!("{msg}\nalsa-lib said:\n{}", chatter.text());
        }
    }
    result
}

fn run_inner(args: &RunArgs, words: &[StageWord], inputs: &mut Vec<PathBuf>) -> Result<()> {
    let block = args.block.unwrap_or(DEFAULT_BLOCK);
    if !(args.latency.is_finite() && (0.0..=10_000.0).contains(&args.latency)) {
        return Err(Error::input(
            "--latency",
            format!("{}: must be 0 to 10000 ms", args.latency),
        ));
    }
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    if args.plot.is_some() && device_arg(&args.output, "speakers").is_some() {
        // The taps grow as the stream goes; the real-time thread that feeds speakers must not
        // allocate.
        return Err(Error::input(
            "--plot",
            "cannot draw a run that plays to speakers; record to a WAV (-o take.wav --plot take.png)",
        ));
    }
    // The device period: a third of the cushion, at least the block. Tying it to a small
    // block (64 frames) would ask the backend's thread to wake every 1.3 ms, which the
    // cushion exists to make unnecessary; the chain still runs on `block`-frame blocks.
    let device_period = ((args.latency * 1e-3 * f64::from(args.rate.unwrap_or(48_000)) / 3.0)
        as usize)
        .clamp(block, 2048.max(block)) as u32;
    let mic = device_arg(&args.input, "mic");
    let speakers = device_arg(&args.output, "speakers");
    let host = cpal::default_host();

    // The input decides the rate and the channels.
    let mut capture = None;
    let mut source = None;
    let (rate, in_channels) = if let Some(name) = mic {
        let device = devices::choose(&host, Direction::Input, name)?;
        let label = devices::id_and_name(&device).0;
        let want_ch = args.channels.map(|c| c.min(u16::MAX as usize) as u16);
        let (config, format) = streams::negotiate(
            &device,
            Direction::Input,
            &label,
            args.rate,
            want_ch,
            Some(device_period),
        )
        .or_else(|e| {
            // A device that cannot do the asked channel count: open its own, remix at the edge.
            if want_ch.is_some() {
                streams::negotiate(
                    &device,
                    Direction::Input,
                    &label,
                    args.rate,
                    None,
                    Some(device_period),
                )
            } else {
                Err(e)
            }
        })?;
        let rate = config.sample_rate;
        capture = Some((device, label, config, format));
        (rate, args.channels.unwrap_or(usize::from(config.channels)))
    } else {
        let s = Source::open(&args.input, args.in_format, args.rate, args.channels)?;
        if args.input != "-" {
            inputs.push(PathBuf::from(&args.input));
        }
        let rate = s.info.rate.unwrap_or(48_000);
        let ch = s.info.channels;
        source = Some(s);
        (rate, ch)
    };
    if in_channels == 0 || in_channels > crate::chain::live::MAX_LIVE_CHANNELS {
        return Err(Error::input(
            "--channels",
            format!(
                "{in_channels}: a live stream carries 1 to {} channels",
                crate::chain::live::MAX_LIVE_CHANNELS
            ),
        ));
    }
    let ctx = Context {
        rate: Some(rate),
        channels: in_channels,
        block: Some(block),
    };
    let chain = Chain::<f32>::build(words, &ctx)?;
    if args.explain {
        print!("{}", chain.explain());
        return Ok(());
    }
    let out_channels = chain.channels_out();
    inputs.extend(chain.inputs.iter().cloned());
    if !args.quiet {
        for note in &chain.notes {
            eprintln!("convoy: {note}");
        }
    }
    let runner = if speakers.is_some() {
        Runner::Live(chain.into_live(block)?)
    } else {
        Runner::Offline(chain)
    };
    let expected_frames = source.as_ref().and_then(|s| s.info.frames);
    let cushion = (args.latency * 1e-3 * f64::from(rate)).round() as usize;

    // The output: speakers at the chain's rate, or a file/pipe.
    let mut playback = None;
    let mut sink = None;
    if let Some(name) = speakers {
        let device = devices::choose(&host, Direction::Output, name)?;
        let label = devices::id_and_name(&device).0;
        let want = u16::try_from(out_channels).unwrap_or(2);
        let (config, format) = streams::negotiate(
            &device,
            Direction::Output,
            &label,
            Some(rate),
            Some(want),
            Some(device_period),
        )
        .or_else(|_| {
            streams::negotiate(
                &device,
                Direction::Output,
                &label,
                Some(rate),
                None,
                Some(device_period),
            )
        })?;
        playback = Some((device, label, config, format));
    } else {
        let info = crate::stream::StreamInfo {
            rate: Some(rate),
            channels: in_channels,
            frames: None,
            wav_format: source.as_ref().and_then(|s| s.info.wav_format),
        };
        let reads_stdin = args.input == "-";
        let mut plan = Sink::plan(
            &args.output,
            args.out_format,
            args.bits,
            &info,
            inputs,
            reads_stdin,
        )?;
        plan.dither = args.dither == crate::stream::Dither::Tpdf;
        if let Some(png) = &args.plot {
            crate::plot::check_png(png, inputs, reads_stdin)?;
            if output::same_target(png, std::path::Path::new(&args.output)) {
                return Err(Error::input(
                    "--plot",
                    format!("{} is also the output", png.display()),
                ));
            }
        }
        sink = Some(Sink::create(
            &args.output,
            plan,
            rate,
            out_channels,
            expected_frames,
        )?);
    }

    let shared = Arc::new(Shared::default());

    // Open the streams (paused) with their rings.
    let mut streams_to_start: Vec<cpal::Stream> = Vec::new();
    let mut report = Vec::new();
    let in_side = if let Some((device, label, config, format)) = capture {
        let dev_ch = usize::from(config.channels);
        let period = fixed_period(&config).unwrap_or(block as u32) as usize;
        // Room for the cushion, several periods and blocks; a file sink gets two seconds so a
        // slow disk never makes the capture drop samples.
        let mut frames = cushion + 4 * (block + period) + 1024;
        if playback.is_none() {
            frames = frames.max(2 * rate as usize);
        }
        let (prod, cons) = HeapRb::<f32>::new(frames * dev_ch).split();
        let counters = Arc::new(Counters::default());
        let opened = streams::open_capture(&device, &label, config, format, prod, &counters)?;
        let period = opened.stream.buffer_size().ok().unwrap_or(period as u32);
        report.push(format!(
            "input '{label}': {dev_ch} ch {} {} Hz, period {period} frames",
            opened.format, config.sample_rate
        ));
        streams_to_start.push(opened.stream);
        In::Mic {
            ring: cons,
            counters,
            channels: dev_ch,
            period,
        }
    } else {
        let mut src = source.ok_or_else(|| Error::Usage("no input".into()))?;
        let (tx, rx) = bounded(8);
        // Ctrl-C ends the source's reads (it sees the stop request itself, even in a blocked
        // read from a pipe), which ends this thread.
        std::thread::Builder::new()
            .name("convoy-reader".into())
            .spawn(move || {
                loop {
                    let r = src.read_block::<f32>(block.max(1024));
                    let end = !matches!(r, Ok(Some(_)));
                    if tx.send(r).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Usage(format!("cannot start the reader thread: {e}")))?;
        In::File {
            rx,
            pending: Vec::new(),
            offset: 0,
            ended: false,
        }
    };
    let mut writer = None;
    let out_side = if let Some((device, label, config, format)) = playback {
        let dev_ch = usize::from(config.channels);
        let period = fixed_period(&config).unwrap_or(block as u32) as usize;
        let frames = cushion + 2 * block + 2 * period;
        let (prod, cons) = HeapRb::<f32>::new(frames * dev_ch).split();
        let counters = Arc::new(Counters::default());
        let opened = streams::open_playback(&device, &label, config, format, cons, &counters)?;
        let period = opened.stream.buffer_size().ok().unwrap_or(period as u32);
        report.push(format!(
            "output '{label}': {dev_ch} ch {} {} Hz, period {period} frames",
            opened.format, config.sample_rate
        ));
        streams_to_start.push(opened.stream);
        Out::Speakers {
            ring: prod,
            counters,
            channels: dev_ch,
        }
    } else {
        let mut sink = sink.ok_or_else(|| Error::Usage("no output".into()))?;
        let (tx, rx) = bounded::<Vec<Vec<f32>>>(8);
        let (spare_tx, spare_rx) = bounded::<Vec<Vec<f32>>>(16);
        for _ in 0..12 {
            let _ = spare_tx.try_send(vec![Vec::with_capacity(block); out_channels]);
        }
        writer = Some(
            std::thread::Builder::new()
                .name("convoy-writer".into())
                .spawn(move || -> Result<Sink> {
                    for block in rx {
                        sink.write(&block)?;
                        let _ = spare_tx.try_send(block);
                        if sink.closed {
                            break;
                        }
                    }
                    Ok(sink)
                })
                .map_err(|e| Error::Usage(format!("cannot start the writer thread: {e}")))?,
        );
        Out::File {
            tx,
            spare: spare_rx,
        }
    };
    let latency = match &runner {
        Runner::Live(c) => c.latency(),
        Runner::Offline(_) => 0,
    };
    if !args.quiet {
        for line in &report {
            eprintln!("convoy: {line}");
        }
        let in_period = match &in_side {
            In::Mic { period, .. } => *period as usize,
            In::File { .. } => 0,
        };
        let total = in_period
            + block
            + latency
            + if matches!(out_side, Out::Speakers { .. }) {
                cushion
            } else {
                0
            };
        eprintln!(
            "convoy: block {block} frames, chain latency {latency} samples ({:.2} ms), ring cushion {:.1} ms; expected latency about {:.1} ms plus the output period",
            latency as f64 * 1e3 / f64::from(rate),
            cushion as f64 * 1e3 / f64::from(rate),
            total as f64 * 1e3 / f64::from(rate),
        );
    }

    let (times_prod, mut times_cons) = HeapRb::<u32>::new(1 << 16).split();
    let max_in = duration.map(|d| (d * f64::from(rate)).round() as u64);
    let worker = {
        let shared = Arc::clone(&shared);
        let mut job = Job {
            runner,
            block,
            channels: in_channels,
            channels_out: out_channels,
            input: in_side,
            output: out_side,
            cushion,
            max_in,
            times: times_prod,
            shared,
            rate,
            xruns_in: 0,
            input_done: false,
            input_failure: None,
            tap: args
                .plot
                .as_ref()
                .map(|_| crate::plot::RunTap::new(in_channels.max(out_channels))),
        };
        // From here on Ctrl-C stops the input and lets the chain's tail out.
        crate::interrupt::set_graceful(true);
        std::thread::Builder::new()
            .name("convoy-live".into())
            .spawn(move || {
                crate::rt::promote_current_thread();
                crate::conv::simd::flush_denormals();
                let result = job.run(&streams_to_start);
                (
                    result,
                    job.tap.take(),
                    job.input_failure.take(),
                    streams_to_start,
                )
            })
            .map_err(|e| Error::Usage(format!("cannot start the processing thread: {e}")))?
    };

    // Watch: stats once a second, until the processing thread ends.
    let period_ns = block as f64 * 1e9 / f64::from(rate);
    let mut samples: Vec<u32> = Vec::with_capacity(1 << 16);
    let mut all: Vec<u32> = Vec::new();
    let mut last = Instant::now();
    while !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(20));
        if crate::interrupt::requested() {
            shared.stop.store(true, Ordering::SeqCst);
        }
        if args.stats && last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            samples.clear();
            samples.extend(times_cons.pop_iter());
            all.extend_from_slice(&samples);
            print_stats(&shared, &mut samples, period_ns);
        }
    }
    let (outcome, mut tap, input_failure, streams) = worker
        .join()
        .map_err(|_| Error::Usage("the processing thread failed".into()))?;
    // A stream's drop joins cpal's thread, which a dead sound server can keep inside alsa-lib:
    // drop them where nobody waits (the process exits regardless).
    let _ = std::thread::Builder::new()
        .name("convoy-streams".into())
        .spawn(move || drop(streams));
    samples.clear();
    samples.extend(times_cons.pop_iter());
    all.extend_from_slice(&samples);
    let (xin, xout) = match &outcome {
        Ok(x) | Err((x, _)) => *x,
    };
    let mut failure = outcome.err().map(|(_, e)| e);
    let mut frames_out = shared.frames_out.load(Ordering::Relaxed);
    if let Some(w) = writer {
        match w.join() {
            Ok(Ok(sink)) => {
                frames_out = sink.frames;
                if failure.is_none() {
                    let finished = sink.finish()?;
                    if let (Some(t), Some(png)) = (&mut tap, &args.plot) {
                        let stages: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
                        t.draw(
                            png,
                            rate,
                            format!("{} -> {}: {}", args.input, args.output, stages.join(" ")),
                        )?;
                    }
                    finished.commit()?;
                }
            }
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(_) => failure = failure.or(Some(Error::Usage("the writer thread failed".into()))),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    // The microphone was lost, but what it captured is in the file: say so, and fail.
    if let Some(Error::Device(msg)) = input_failure {
        return Err(Error::Device(if args.output == "-" {
            msg
        } else {
            format!("{msg}; what was captured before is in {}", args.output)
        }));
    }
    if !args.quiet || args.stats {
        let (median, max) = median_max(&mut all);
        let frames_in = shared.frames_in.load(Ordering::Relaxed);
        eprintln!(
            "convoy: {frames_in} frames in, {frames_out} out ({:.3} s at {rate} Hz), xruns: input {xin}, output {xout}; block time median {:.1} %, max {:.1} % of the {:.2} ms period",
            frames_in as f64 / f64::from(rate),
            f64::from(median) * 100.0 / period_ns,
            f64::from(max) * 100.0 / period_ns,
            period_ns * 1e-6
        );
    }
    Ok(())
}

fn fixed_period(config: &cpal::StreamConfig) -> Option<u32> {
    match config.buffer_size {
        cpal::BufferSize::Fixed(p) => Some(p),
        cpal::BufferSize::Default => None,
    }
}

/// Median and largest of `times` (sorted in place); zeros when empty.
fn median_max(times: &mut [u32]) -> (u32, u32) {
    times.sort_unstable();
    (
        times.get(times.len() / 2).copied().unwrap_or(0),
        times.last().copied().unwrap_or(0),
    )
}

fn print_stats(shared: &Shared, samples: &mut [u32], period_ns: f64) {
    let blocks = samples.len();
    let (median, max) = median_max(samples);
    eprintln!(
        "convoy: {} frames in, {} out, xruns: input {}, output {}, ring fill {} frames, block time median {:.1} %, max {:.1} % ({} blocks)",
        shared.frames_in.load(Ordering::Relaxed),
        shared.frames_out.load(Ordering::Relaxed),
        shared.xruns_in.load(Ordering::Relaxed),
        shared.xruns_out.load(Ordering::Relaxed),
        shared.ring_fill.load(Ordering::Relaxed),
        f64::from(median) * 100.0 / period_ns,
        f64::from(max) * 100.0 / period_ns,
        blocks
    );
}

/// The processing thread's state.
struct Job {
    runner: Runner,
    block: usize,
    channels: usize,
    channels_out: usize,
    input: In,
    output: Out,
    cushion: usize,
    max_in: Option<u64>,
    times: HeapProd<u32>,
    shared: Arc<Shared>,
    rate: u32,
    /// Input xruns when the input ended (the capture is paused then).
    xruns_in: u64,
    input_done: bool,
    /// The microphone was lost while recording to a file: the file is completed and this is
    /// reported after.
    input_failure: Option<Error>,
    /// `--plot`: what the run looked like (file sinks only).
    tap: Option<crate::plot::RunTap>,
}

type Xruns = (u64, u64);

impl Job {
    /// Starts the streams, runs until the input ends, `--duration` is reached or Ctrl-C, then
    /// drains the chain's tail and lets the speakers play it out.
    fn run(&mut self, streams: &[cpal::Stream]) -> std::result::Result<Xruns, (Xruns, Error)> {
        let r = self.run_inner(streams);
        for s in streams {
            let _ = s.pause();
        }
        // Input xruns as counted up to the end of the input (the paused capture may still
        // report some); if the run failed before that, whatever was counted.
        let now = self.xruns();
        let x = (
            if self.input_done {
                self.xruns_in
            } else {
                now.0
            },
            now.1,
        );
        self.shared.done.store(true, Ordering::SeqCst);
        r.map(|()| x).map_err(|e| (x, e))
    }

    fn xruns(&self) -> Xruns {
        let xin = match &self.input {
            In::Mic { counters, .. } => counters.xruns.load(Ordering::Relaxed),
            In::File { .. } => 0,
        };
        let xout = match &self.output {
            Out::Speakers { counters, .. } => counters.xruns.load(Ordering::Relaxed),
            Out::File { .. } => 0,
        };
        (xin, xout)
    }

    fn run_inner(&mut self, streams: &[cpal::Stream]) -> Result<()> {
        let block = self.block;
        let channels = self.channels;
        let channels_out = self.channels_out;
        let mut inbuf = vec![vec![0.0f32; block]; channels];
        let mut outbuf = vec![vec![0.0f32; block]; channels_out];
        let dev_in = match &self.input {
            In::Mic { channels, .. } => *channels,
            In::File { .. } => channels,
        };
        let dev_out = match &self.output {
            Out::Speakers { channels, .. } => *channels,
            Out::File { .. } => channels,
        };
        let widest = dev_in.max(dev_out).max(channels).max(channels_out);
        let mut scratch = vec![0.0f32; block * widest];
        let mut frame = vec![0.0f32; widest];
        let period = Duration::from_secs_f64(block as f64 / f64::from(self.rate));

        // Speakers: queue the cushion first. From a mic it is silence (the mic cannot run
        // ahead); from a file it is the file's own filtered audio, so playback starts clean.
        let from_file = matches!(self.input, In::File { .. });
        if let Out::Speakers { ring, .. } = &mut self.output {
            if !from_file {
                let zeros = [0.0f32; 256];
                let mut left = self.cushion * dev_out;
                while left > 0 {
                    let n = left.min(zeros.len());
                    let pushed = ring.push_slice(&zeros[..n]);
                    if pushed == 0 {
                        break;
                    }
                    left -= pushed;
                }
            }
        }
        let mut started = false;
        if !from_file {
            start(streams)?;
            started = true;
        }
        let mut consumed: u64 = 0;
        let mut watch = Watch::new();
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let want = match self.max_in {
                Some(m) if consumed >= m => break,
                Some(m) => block.min((m - consumed) as usize),
                None => block,
            };
            // 1. A block of input.
            let n = match &mut self.input {
                In::Mic {
                    ring,
                    counters,
                    channels: dch,
                    ..
                } => {
                    let dch = *dch;
                    let mut lost = None;
                    loop {
                        if ring.occupied_len() >= want * dch {
                            break;
                        }
                        if self.shared.stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) =
                            check_device(counters, "input").and_then(|()| watch.input(counters))
                        {
                            lost = Some(e);
                            break;
                        }
                        std::thread::sleep(period / 4);
                    }
                    if let Some(e) = lost {
                        // Recording to a file: keep what was captured (finish the file, then
                        // report). To speakers there is nothing to keep.
                        if matches!(self.output, Out::File { .. }) {
                            self.input_failure = Some(e);
                            break;
                        }
                        return Err(e);
                    }
                    let got = ring.pop_slice(&mut scratch[..want * dch]) / dch;
                    for i in 0..got {
                        streams::remix(&scratch[i * dch..(i + 1) * dch], &mut frame[..channels]);
                        for (c, b) in inbuf.iter_mut().enumerate() {
                            b[i] = frame[c];
                        }
                    }
                    got
                }
                In::File {
                    rx,
                    pending,
                    offset,
                    ended,
                } => {
                    let mut got = 0;
                    while got < want && !*ended {
                        let have = pending.first().map_or(0, Vec::len) - *offset;
                        if have == 0 {
                            match rx.recv() {
                                Ok(Ok(Some(b))) => {
                                    *pending = b;
                                    *offset = 0;
                                }
                                Ok(Ok(None)) | Err(_) => *ended = true,
                                Ok(Err(e)) => return Err(e),
                            }
                            continue;
                        }
                        let take = have.min(want - got);
                        for (b, p) in inbuf.iter_mut().zip(pending.iter()) {
                            b[got..got + take].copy_from_slice(&p[*offset..*offset + take]);
                        }
                        *offset += take;
                        got += take;
                    }
                    got
                }
            };
            if n == 0 {
                break;
            }
            consumed += n as u64;
            self.shared.frames_in.store(consumed, Ordering::Relaxed);
            let (xin, xout) = self.xruns();
            self.shared.xruns_in.store(xin, Ordering::Relaxed);
            self.shared.xruns_out.store(xout, Ordering::Relaxed);
            // 2. The chain.
            let t = Instant::now();
            match &mut self.runner {
                Runner::Live(chain) => {
                    chain.process(&inbuf, n, &mut outbuf);
                    let ns = t.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32;
                    let _ = self.times.try_push(ns);
                    // 3. Out.
                    self.emit(&outbuf, n, &mut scratch, &mut frame, period, &mut watch)?;
                }
                Runner::Offline(chain) => {
                    let block_in: Vec<Vec<f32>> = inbuf.iter().map(|b| b[..n].to_vec()).collect();
                    if let Some(t) = &mut self.tap {
                        t.push_input(&block_in);
                    }
                    let mut outs = Vec::new();
                    chain.process(block_in, &mut |o| outs.push(o));
                    let ns = t.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32;
                    let _ = self.times.try_push(ns);
                    for out in outs {
                        if let Some(t) = &mut self.tap {
                            t.push_output(&out);
                        }
                        let m = out.first().map_or(0, Vec::len);
                        self.emit(&out, m, &mut scratch, &mut frame, period, &mut watch)?;
                    }
                }
            }
            if !started && self.output_full() {
                start(streams)?;
                started = true;
            }
        }
        // The input is over: stop capturing (later callbacks would only count overruns).
        if let Some(s) = streams
            .first()
            .filter(|_| matches!(self.input, In::Mic { .. }))
        {
            let _ = s.pause();
        }
        self.xruns_in = self.xruns().0;
        self.input_done = true;
        // Drain: the chain's tail.
        match &mut self.runner {
            Runner::Live(chain) => {
                for b in &mut inbuf {
                    b.fill(0.0);
                }
                let mut tail = chain.tail_frames();
                while tail > 0 {
                    let n = tail.min(block);
                    if let Runner::Live(chain) = &mut self.runner {
                        chain.process(&inbuf, n, &mut outbuf);
                    }
                    self.emit(&outbuf, n, &mut scratch, &mut frame, period, &mut watch)?;
                    tail -= n;
                }
            }
            Runner::Offline(chain) => {
                let mut outs = Vec::new();
                chain.finish(&mut |o| outs.push(o));
                for out in outs {
                    if let Some(t) = &mut self.tap {
                        t.push_output(&out);
                    }
                    let m = out.first().map_or(0, Vec::len);
                    self.emit(&out, m, &mut scratch, &mut frame, period, &mut watch)?;
                }
            }
        }
        if !started {
            start(streams)?;
        }
        // Speakers: let everything queued play out, then one more period of margin.
        if let Out::Speakers { ring, counters, .. } = &self.output {
            counters.draining.store(true, Ordering::Relaxed);
            while !ring.is_empty() {
                check_device(counters, "output")?;
                watch.output(counters)?;
                std::thread::sleep(period / 2);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Out::File { tx, .. } = &mut self.output {
            // Closing the channel ends the writer.
            let (dummy, _) = bounded(0);
            drop(std::mem::replace(tx, dummy));
        }
        Ok(())
    }

    fn output_full(&self) -> bool {
        match &self.output {
            Out::Speakers { ring, channels, .. } => ring.vacant_len() < self.block * channels,
            Out::File { .. } => true,
        }
    }

    /// Hands `n` frames of `out` to the output: into the speaker ring (waiting for room while
    /// the device plays) or to the writer thread.
    fn emit(
        &mut self,
        out: &[Vec<f32>],
        n: usize,
        scratch: &mut [f32],
        frame: &mut [f32],
        period: Duration,
        watch: &mut Watch,
    ) -> Result<()> {
        let channels = out.len();
        match &mut self.output {
            Out::Speakers {
                ring,
                counters,
                channels: dch,
            } => {
                let dch = *dch;
                for i in 0..n {
                    for (c, o) in out.iter().enumerate() {
                        frame[c] = o[i];
                    }
                    streams::remix(&frame[..channels], &mut scratch[i * dch..(i + 1) * dch]);
                }
                let mut done = 0;
                let total = n * dch;
                while done < total {
                    done += ring.push_slice(&scratch[done..total]);
                    if done < total {
                        // A stop before the device ever started, or a second thought while it
                        // is stuck: what does not fit is dropped, the run ends.
                        if self.shared.stop.load(Ordering::Relaxed)
                            && (counters.callbacks.load(Ordering::Relaxed) == 0
                                || watch.output_idle() > STALL / 2)
                        {
                            break;
                        }
                        check_device(counters, "output")?;
                        watch.output(counters)?;
                        std::thread::sleep(period / 4);
                    }
                }
                counters.primed.store(true, Ordering::Relaxed);
                self.shared
                    .ring_fill
                    .store(ring.occupied_len() / dch.max(1), Ordering::Relaxed);
            }
            Out::File { tx, spare } => {
                let mut b = spare
                    .try_recv()
                    .unwrap_or_else(|_| vec![Vec::with_capacity(n); channels]);
                for (d, o) in b.iter_mut().zip(out) {
                    d.clear();
                    d.extend_from_slice(&o[..n]);
                }
                if tx.send(b).is_err() {
                    // The writer stopped (a closed pipe, or a write error it will report).
                    self.shared.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        self.shared
            .frames_out
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Whether the devices still move audio: the frames each has moved, and when that last
/// changed. A stream that makes no progress for [`STALL`] is gone, whatever cpal says.
struct Watch {
    input: (u64, Instant),
    output: (u64, Instant),
}

impl Watch {
    fn new() -> Watch {
        Watch {
            input: (0, Instant::now()),
            output: (0, Instant::now()),
        }
    }

    /// The capture moved frames lately (called while waiting for it).
    fn input(&mut self, counters: &Counters) -> Result<()> {
        moving(&mut self.input, counters, "input")
    }

    /// The playback took frames lately (called while the ring is waiting on it).
    fn output(&mut self, counters: &Counters) -> Result<()> {
        moving(&mut self.output, counters, "output")
    }

    /// How long the playback has taken nothing.
    fn output_idle(&self) -> Duration {
        self.output.1.elapsed()
    }
}

/// Whether a device's frame count changed within [`STALL`] (`last`: the count and when it
/// last changed).
fn moving(last: &mut (u64, Instant), counters: &Counters, what: &str) -> Result<()> {
    let frames = counters.frames.load(Ordering::Relaxed);
    if frames != last.0 {
        *last = (frames, Instant::now());
    } else if last.1.elapsed() > STALL {
        return Err(Error::Device(stalled(what, counters)));
    }
    Ok(())
}

fn stalled(what: &str, counters: &Counters) -> String {
    format!(
        "the {what} device stopped moving audio ({} s without a frame{})",
        STALL.as_secs(),
        counters
            .message
            .get()
            .map(|m| format!("; last error: {m}"))
            .unwrap_or_default()
    )
}

fn start(streams: &[cpal::Stream]) -> Result<()> {
    for s in streams {
        s.play()
            .map_err(|e| Error::Device(format!("cannot start the audio stream: {e}")))?;
    }
    Ok(())
}

fn check_device(counters: &Counters, what: &str) -> Result<()> {
    match counters.failed.load(Ordering::Relaxed) {
        FAILED_GONE => Err(Error::Device(format!(
            "the {what} device disappeared while running{}",
            counters
                .message
                .get()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}
