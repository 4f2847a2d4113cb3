//! `convoy run`: source -> blocks -> chain -> sink, on three threads.
//!
//! Main thread: parse and build everything (any bad input is reported before an output file
//! exists), then run the chain. A reader thread decodes blocks from the source and a writer
//! thread encodes them to the sink; bounded channels between them keep memory flat however long
//! the stream. Ctrl-C (SIGINT/SIGTERM) stops reading: what was read goes through the chain,
//! the tails are flushed, the WAV header is finalized, and the run ends normally.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossbeam_channel::{bounded, select};

use crate::chain::{Chain, Context};
use crate::cli::RunArgs;
use crate::error::{Error, Result};
use crate::stream::{Sink, Source};

/// Frames per block read from the source. The engine takes any chunk length and keeps its own
/// partitioning (the latency `--block` asks for), so reading in large blocks costs nothing in
/// output and saves per-block overhead.
const READ_FRAMES: usize = 16_384;

/// Blocks in flight between threads.
const DEPTH: usize = 4;

/// The stage words of `--chain FILE` (one or more per line, `#` comments) followed by those on
/// the command line.
pub fn stage_words(chain: Option<&std::path::Path>, stages: &[String]) -> Result<Vec<String>> {
    let mut words = Vec::new();
    if let Some(path) = chain {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, &e))?;
        for line in text.lines() {
            let body = line.split('#').next().unwrap_or("").trim();
            if !body.is_empty() {
                words.extend(body.split_whitespace().map(str::to_string));
            }
        }
    }
    words.extend(stages.iter().cloned());
    Ok(words)
}

/// Runs `convoy run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let words = stage_words(args.chain.as_deref(), &args.stages)?;
    let mut inputs: Vec<PathBuf> = args.chain.iter().cloned().collect();
    if let Some(b) = args.block {
        if b == 0 || b > 1 << 20 {
            return Err(Error::input(
                "--block",
                format!("{b}: must be 1 to 1048576 frames"),
            ));
        }
    }
    if let Some(c) = args.channels {
        if c == 0 || c > 1024 {
            return Err(Error::input(
                "--channels",
                format!("{c}: must be 1 to 1024"),
            ));
        }
    }
    if args.rate == Some(0) {
        return Err(Error::input("--rate", "must be above 0 Hz"));
    }
    if super::live::device_arg(&args.input, "mic").is_some()
        || super::live::device_arg(&args.output, "speakers").is_some()
    {
        return super::live::run(args, &words, inputs);
    }
    let mut source = Source::open(&args.input, args.in_format, args.rate, args.channels)?;
    if args.input != "-" {
        inputs.push(PathBuf::from(&args.input));
    }
    let ctx = Context {
        rate: source.info.rate,
        channels: source.info.channels,
        block: args.block,
    };
    let mut chain = Chain::build(&words, &ctx)?;
    if args.explain {
        print!("{}", chain.explain());
        return Ok(());
    }
    inputs.extend(chain.inputs.iter().cloned());
    let plan = Sink::plan(
        &args.output,
        args.out_format,
        args.bits,
        &source.info,
        &inputs,
    )?;
    if !args.quiet {
        for note in &chain.notes {
            eprintln!("convoy: {note}");
        }
    }
    let rate = source.info.rate.unwrap_or(48_000);
    let channels = source.info.channels;
    if let Some(png) = &args.plot {
        crate::io::check_output(png, &inputs)?;
        if args.output != "-" && crate::io::same_path(png, std::path::Path::new(&args.output)) {
            return Err(Error::input(
                "--plot",
                format!("{} is also the output", png.display()),
            ));
        }
    }
    let mut tap = args
        .plot
        .as_ref()
        .map(|_| crate::plot::RunTap::new(channels));
    let sink = Sink::create(&args.output, plan, rate, channels)?;

    let stop = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = bounded::<()>(1);
    {
        let stop = Arc::clone(&stop);
        // A second handler cannot be installed (tests run `run` once per process); ignore.
        let _ = ctrlc::set_handler(move || {
            stop.store(true, Ordering::SeqCst);
            let _ = stop_tx.try_send(());
        });
    }

    let progress = (!args.quiet && std::io::stderr().is_terminal())
        .then_some(source.info.frames)
        .flatten()
        .map(|frames| {
            let bar = indicatif::ProgressBar::new(frames);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {percent:>3}% {pos}/{len} frames, {elapsed} elapsed, eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });

    let started = Instant::now();
    // `Ok(None)` marks the end; a reader that vanishes without it failed.
    let (in_tx, in_rx) = bounded::<Result<Option<Vec<Vec<f32>>>>>(DEPTH);
    let reader_stop = Arc::clone(&stop);
    // --duration: read no more than that much input (offline as live).
    let mut budget: Option<u64> = match args.duration.as_deref() {
        Some(d) => Some((super::live::parse_duration(d)? * f64::from(rate)).round() as u64),
        None => None,
    };
    // The reader is not joined: on Ctrl-C it may be blocked in a read from a slow producer, and
    // the run must end anyway. It owns nothing that needs finishing.
    std::thread::Builder::new()
        .name("convoy-reader".into())
        .spawn(move || {
            while !reader_stop.load(Ordering::SeqCst) {
                let want = budget.map_or(READ_FRAMES, |b| (b as usize).min(READ_FRAMES));
                if want == 0 {
                    let _ = in_tx.send(Ok(None));
                    return;
                }
                match source.read_block(want) {
                    Ok(Some(block)) => {
                        if let Some(b) = &mut budget {
                            *b -= block.first().map_or(0, Vec::len) as u64;
                        }
                        if in_tx.send(Ok(Some(block))).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = in_tx.send(Ok(None));
                        return;
                    }
                    Err(e) => {
                        let _ = in_tx.send(Err(e));
                        return;
                    }
                }
            }
        })
        .map_err(|e| Error::Usage(format!("cannot start the reader thread: {e}")))?;

    let (out_tx, out_rx) = bounded::<Vec<Vec<f32>>>(DEPTH);
    let writer = std::thread::Builder::new()
        .name("convoy-writer".into())
        .spawn(move || -> Result<Sink> {
            let mut sink = sink;
            for block in out_rx {
                sink.write(&block)?;
                if sink.closed {
                    break;
                }
            }
            Ok(sink)
        })
        .map_err(|e| Error::Usage(format!("cannot start the writer thread: {e}")))?;

    crate::conv::simd::flush_denormals();
    let mut frames_in: u64 = 0;
    let mut failure = None;
    let mut interrupted = false;
    let mut push = |block: Vec<Vec<f32>>, out_tx: &crossbeam_channel::Sender<Vec<Vec<f32>>>| {
        if let Some(t) = &mut tap {
            t.push_input(&block);
        }
        let out = chain.process(block);
        if let Some(t) = &mut tap {
            t.push_output(&out);
        }
        out_tx.send(out).is_ok()
    };
    loop {
        select! {
            recv(in_rx) -> msg => match msg {
                Ok(Ok(Some(block))) => {
                    frames_in += block.first().map_or(0, Vec::len) as u64;
                    if let Some(bar) = &progress {
                        bar.set_position(frames_in);
                    }
                    if !push(block, &out_tx) {
                        break;
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    failure = Some(e);
                    break;
                }
                Err(_) => {
                    failure = Some(Error::input(&args.input, "reading failed unexpectedly"));
                    break;
                }
            },
            recv(stop_rx) -> _ => {
                interrupted = true;
                // Whatever was already read still goes through.
                while let Ok(msg) = in_rx.try_recv() {
                    match msg {
                        Ok(Some(block)) => {
                            frames_in += block.first().map_or(0, Vec::len) as u64;
                            if !push(block, &out_tx) {
                                break;
                            }
                        }
                        Ok(None) | Err(_) => break,
                    }
                }
                break;
            }
        }
    }
    if let Some(e) = failure {
        // Dropping the sink (in the writer) deletes its temp file: no partial output.
        drop(out_tx);
        let _ = writer.join();
        return Err(e);
    }
    let tail = chain.finish();
    if let Some(t) = &mut tap {
        t.push_output(&tail);
    }
    let _ = out_tx.send(tail);
    drop(out_tx);
    let sink = match writer.join() {
        Ok(result) => result?,
        Err(_) => return Err(Error::Usage("the writer thread failed".into())),
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let frames_out = sink.frames;
    let clipped = sink.clipped();
    let closed = sink.closed;
    let format = sink.sample_format();
    sink.finish()?;
    if let (Some(t), Some(png)) = (&mut tap, &args.plot) {
        let title = format!(
            "{} -> {}: {}",
            args.input,
            args.output,
            if words.is_empty() {
                "no stages".to_string()
            } else {
                words.join(" ")
            }
        );
        t.draw(png, rate, title)?;
    }
    if !args.quiet && !closed {
        let seconds = frames_in as f64 / f64::from(rate);
        let wall = started.elapsed().as_secs_f64();
        eprintln!(
            "convoy: {}{frames_in} frames in, {frames_out} out ({seconds:.3} s -> {:.3} s at {rate} Hz, {channels} ch, {} out), {:.1}x realtime, {clipped} clipped",
            if interrupted { "interrupted; " } else { "" },
            frames_out as f64 / f64::from(rate),
            format.describe(),
            seconds / wall.max(1e-9),
        );
    }
    Ok(())
}
