//! `convoy run`: source -> blocks -> chain -> sink, on three threads.
//!
//! Main thread: parse and build everything (any bad input is reported before an output file
//! exists), then run the chain. A reader thread decodes blocks from the source and a writer
//! thread encodes them to the sink; bounded channels between them keep memory flat however long
//! the stream.
//!
//! Ctrl-C (SIGINT/SIGTERM/SIGHUP) while streaming stops the reader, which hands on every
//! complete frame it had taken from the input and then says the stream ended: those frames go
//! through the chain, the tails are flushed, the output is finalized, and the run ends with
//! status 0. A pipe that breaks off mid-frame or mid-WAV at the moment of a Ctrl-C (the whole
//! pipeline was interrupted: `cat big.wav | convoy run ...`) is the same early end, not an error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;

use crate::chain::{Chain, Context, StageWord};
use crate::cli::RunArgs;
use crate::conv::Sample;
use crate::error::{Error, Result};
use crate::io::output;
use crate::stream::{Sink, Source, WireFormat};

/// Frames per block read from the source. The engine takes any chunk length and keeps its own
/// partitioning (the latency `--block` asks for), so reading in large blocks costs nothing in
/// output and saves per-block overhead.
const READ_FRAMES: usize = 16_384;

/// Blocks in flight between threads.
const DEPTH: usize = 4;

/// How long a pipe that broke off is given for the Ctrl-C that may have caused it to arrive.
const GRACE: Duration = Duration::from_millis(500);

/// The most bytes a `--chain` file may have (1 MiB of stage words).
const MAX_CHAIN_FILE: usize = 1 << 20;

/// The stage words of `--chain FILE` (one or more per line, `#` comments) followed by those on
/// the command line.
///
/// # Errors
/// The chain file cannot be read, is binary or too large.
pub fn stage_words(chain: Option<&Path>, stages: &[String]) -> Result<Vec<StageWord>> {
    let mut words = Vec::new();
    if let Some(path) = chain {
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
    words.extend(stages.iter().map(|s| StageWord {
        text: s.clone(),
        origin: None,
    }));
    Ok(words)
}

/// Checks the numeric options shared by the offline and live paths.
fn check_args(args: &RunArgs) -> Result<()> {
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
    Ok(())
}

/// Refuses what sox and ffmpeg refuse: reading binary audio from a terminal (a forgotten
/// `-i`), or writing it to one (a forgotten `-o`). Text is fine both ways.
fn check_terminals(args: &RunArgs) -> Result<()> {
    let text_in = args.in_format == Some(WireFormat::Text);
    if args.input == "-" && !text_in && std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no input: give -i FILE (stdin is a terminal; for typed text frames say --in-format text)"
                .into(),
        ));
    }
    let text_out = args.out_format == Some(WireFormat::Text)
        || (args.out_format.is_none()
            && matches!(
                crate::io::extension(Path::new(&args.output)).as_str(),
                "txt" | "csv"
            ));
    if args.output == "-" && !text_out && std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "no output: give -o FILE (stdout is a terminal and would get binary WAV; --out-format text prints frames)"
                .into(),
        ));
    }
    Ok(())
}

/// Runs `convoy run`.
///
/// # Errors
/// Bad arguments, stages, inputs or outputs (before anything is written), or a failure while
/// reading or writing (the output is then not created or replaced).
pub fn run(args: &RunArgs) -> Result<()> {
    check_args(args)?;
    let words = stage_words(args.chain.as_deref(), &args.stages)?;
    let mut inputs: Vec<PathBuf> = args.chain.iter().cloned().collect();
    if super::live::device_arg(&args.input, "mic").is_some()
        || super::live::device_arg(&args.output, "speakers").is_some()
    {
        return super::live::run(args, &words, inputs);
    }
    if !args.explain {
        check_terminals(args)?;
    }
    // From the first byte read on, a Ctrl-C ends the input instead of aborting: whatever was
    // taken from it (the source reads ahead while it opens) still goes into a valid output.
    crate::interrupt::set_graceful(true);
    let source = Source::open(&args.input, args.in_format, args.rate, args.channels)?;
    if args.input != "-" {
        inputs.push(PathBuf::from(&args.input));
    }
    // Text (sensor data) and 64-bit float WAVs run in f64: nothing of their precision is lost.
    if source.is_text() || source.info.wav_format == Some(crate::stream::codec::SampleFormat::F64) {
        offline::<f64>(args, &words, source, inputs)
    } else {
        offline::<f32>(args, &words, source, inputs)
    }
}

/// What the reader thread hands on.
enum Msg<T> {
    Block(Vec<Vec<T>>),
    /// The end of the input; `true` when a stop (Ctrl-C) ended it.
    End(bool),
    Failed(Error),
}

fn offline<T: Sample>(
    args: &RunArgs,
    words: &[StageWord],
    mut source: Source,
    mut inputs: Vec<PathBuf>,
) -> Result<()> {
    let ctx = Context {
        rate: source.info.rate,
        channels: source.info.channels,
        block: args.block,
    };
    let mut chain = Chain::<T>::build(words, &ctx)?;
    if args.explain {
        print!("{}", chain.explain());
        return Ok(());
    }
    inputs.extend(chain.inputs.iter().cloned());
    let reads_stdin = args.input == "-";
    let mut plan = crate::stream::Sink::plan(
        &args.output,
        args.out_format,
        args.bits,
        &source.info,
        &inputs,
        reads_stdin,
    )?;
    plan.dither = args.dither == crate::stream::Dither::Tpdf;
    if let Some(png) = &args.plot {
        crate::plot::check_png(png, &inputs, reads_stdin)?;
        if output::same_target(png, Path::new(&args.output)) {
            return Err(Error::input(
                "--plot",
                format!("{} is also the output", png.display()),
            ));
        }
    }
    if !args.quiet {
        for note in &chain.notes {
            eprintln!("convoy: {note}");
        }
    }
    let rate = source.info.rate.unwrap_or(48_000);
    let channels_in = source.info.channels;
    let channels = chain.channels_out();
    let mut tap = args
        .plot
        .as_ref()
        .map(|_| crate::plot::RunTap::new(channels_in.max(channels)));
    // --duration: read no more than that much input.
    let mut budget: Option<u64> = match args.duration.as_deref() {
        Some(d) => Some((super::live::parse_duration(d)? * f64::from(rate)).round() as u64),
        None => None,
    };
    let expected = source
        .info
        .frames
        .map(|f| budget.map_or(f, |b| b.min(f)) + chain.extra_frames());
    let sink = Sink::create(&args.output, plan, rate, channels, expected)?;

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
    let (in_tx, in_rx) = bounded::<Msg<T>>(DEPTH);
    // The reader is not joined: it always sends its last message before it ends.
    std::thread::Builder::new()
        .name("convoy-reader".into())
        .spawn(move || {
            loop {
                let want = budget.map_or(READ_FRAMES, |b| (b as usize).min(READ_FRAMES));
                if want == 0 {
                    let _ = in_tx.send(Msg::End(false));
                    return;
                }
                let msg = match source.read_block::<T>(want) {
                    Ok(Some(block)) => {
                        if let Some(b) = &mut budget {
                            *b -= block.first().map_or(0, Vec::len) as u64;
                        }
                        Msg::Block(block)
                    }
                    Ok(None) => Msg::End(source.stopped()),
                    // A pipe that broke off: if a Ctrl-C comes with it, the user stopped the
                    // pipeline (every process got the signal; the producer died first).
                    Err(_) if source.cut_short() && crate::interrupt::wait(GRACE) => Msg::End(true),
                    Err(e) => Msg::Failed(e),
                };
                let last = !matches!(msg, Msg::Block(_));
                if in_tx.send(msg).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| Error::Usage(format!("cannot start the reader thread: {e}")))?;

    let (out_tx, out_rx) = bounded::<Vec<Vec<T>>>(DEPTH);
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
    let mut interrupted = false;
    let mut failure = None;
    let send = |block: Vec<Vec<T>>, tap: &mut Option<crate::plot::RunTap>| {
        if let Some(t) = tap {
            t.push_output(&block);
        }
        out_tx.send(block).is_ok()
    };
    loop {
        match in_rx.recv() {
            Ok(Msg::Block(block)) => {
                frames_in += block.first().map_or(0, Vec::len) as u64;
                if let Some(bar) = &progress {
                    bar.set_position(frames_in);
                }
                if let Some(t) = &mut tap {
                    t.push_input(&block);
                }
                let mut open = true;
                chain.process(block, &mut |out| open &= send(out, &mut tap));
                if !open {
                    break;
                }
            }
            Ok(Msg::End(stopped)) => {
                interrupted = stopped;
                break;
            }
            Ok(Msg::Failed(e)) => {
                failure = Some(e);
                break;
            }
            Err(_) => {
                failure = Some(Error::Usage("the reader thread failed".into()));
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
    chain.finish(&mut |out| {
        send(out, &mut tap);
    });
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
    let finished = sink.finish()?;
    // The picture is committed first: if it fails, the output is not replaced either.
    if let (Some(t), Some(png)) = (&mut tap, &args.plot) {
        let stages: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        let title = format!(
            "{} -> {}: {}",
            args.input,
            args.output,
            if stages.is_empty() {
                "no stages".to_string()
            } else {
                stages.join(" ")
            }
        );
        t.draw(png, rate, title)?;
    }
    finished.commit()?;
    for warning in chain.warnings() {
        eprintln!("convoy: {warning}");
    }
    if !args.quiet && !closed {
        let seconds = frames_in as f64 / f64::from(rate);
        let wall = started.elapsed().as_secs_f64();
        eprintln!(
            "convoy: {}{frames_in} frames in, {frames_out} out ({seconds:.3} s -> {:.3} s at {rate} Hz, {channels} ch, {} out), {:.1}x realtime, {clipped} clipped{}",
            if interrupted { "interrupted; " } else { "" },
            frames_out as f64 / f64::from(rate),
            format.describe(),
            seconds / wall.max(1e-9),
            clip_hint(clipped, format),
        );
    }
    Ok(())
}

/// What to do about clipped samples, for the summary.
pub(crate) fn clip_hint(clipped: u64, format: crate::stream::codec::SampleFormat) -> &'static str {
    use crate::stream::codec::SampleFormat;
    match (clipped, format) {
        (0, _) => "",
        (_, SampleFormat::F32 | SampleFormat::F64) => {
            " (beyond the 32-bit float range; check the chain's gain)"
        }
        _ => {
            " (lower the level: gain:-6db, fir:...,normalize=energy, or keep the peaks with --bits f32)"
        }
    }
}
