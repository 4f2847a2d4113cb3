//! `convoy run`: check the arguments, open the two ends, build the chain, hand all three to
//! the engine ([`convoy::engine::run`]), print what it did.
//!
//! Main thread. Everything that can be wrong with the input, the stages or the output is
//! reported before an output file exists.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::RunArgs;
use convoy::chain::{Chain, Context, StageWord};
use convoy::conv::Sample;
use convoy::engine::files::{FileInput, FileOutput};
use convoy::engine::{self, Control, Input, Options, Output, Runner, stop};
use convoy::error::{Error, Result};
use convoy::io::{Sink, SinkPlan, Source, WireFormat};

/// Frames per read from a file: the engine takes any chunk length and keeps its own
/// partitioning, so large blocks cost nothing in output and save per-block overhead.
const READ_FRAMES: usize = 16_384;

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

fn check_args(args: &RunArgs) -> Result<()> {
    if let Some(b) = args.block.filter(|&b| b == 0 || b > 1 << 20) {
        return Err(Error::input(
            "--block",
            format!("{b}: must be 1 to 1048576 frames"),
        ));
    }
    if let Some(c) = args.channels.filter(|&c| c == 0 || c > 1024) {
        return Err(Error::input(
            "--channels",
            format!("{c}: must be 1 to 1024"),
        ));
    }
    if args.rate == Some(0) {
        return Err(Error::input("--rate", "must be above 0 Hz"));
    }
    if !(args.latency.is_finite() && (0.0..=10_000.0).contains(&args.latency)) {
        return Err(Error::input(
            "--latency",
            format!("{}: must be 0 to 10000 ms", args.latency),
        ));
    }
    Ok(())
}

/// Refuses what sox and ffmpeg refuse: reading binary audio from a terminal (a forgotten
/// `-i`), or writing it to one (a forgotten `-o`). Text is fine both ways.
fn check_terminals(args: &RunArgs) -> Result<()> {
    let text_in = args.in_format == Some(WireFormat::Text);
    if args.input == "-" && !text_in && std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "no input: give -i FILE (stdin is a terminal; for typed text frames say --in-format text)".into(),
        ));
    }
    let ext = convoy::io::extension(Path::new(&args.output));
    let text_out = args.out_format == Some(WireFormat::Text)
        || (args.out_format.is_none() && matches!(ext.as_str(), "txt" | "csv"));
    if args.output == "-" && !text_out && std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "no output: give -o FILE (stdout is a terminal and would get binary WAV; --out-format text prints frames)".into(),
        ));
    }
    Ok(())
}

/// Runs `convoy run`.
///
/// # Errors
/// Bad arguments, stages, inputs or outputs (before anything is written), or a failure while
/// reading, processing or writing (the output is then not created or replaced).
pub fn run(args: &RunArgs) -> Result<()> {
    check_args(args)?;
    let words = convoy::chain::stage_words(args.chain.as_deref(), &args.stages)?;
    let inputs: Vec<PathBuf> = args.chain.iter().cloned().collect();
    if device_arg(&args.input, "mic").is_some() || device_arg(&args.output, "speakers").is_some() {
        #[cfg(feature = "device")]
        return super::live::run(args, &words, inputs);
        #[cfg(not(feature = "device"))]
        return Err(super::no_devices());
    }
    if !args.explain {
        check_terminals(args)?;
    }
    let source = Source::open(&args.input, args.in_format, args.rate, args.channels)?;
    // Text (sensor data) and 64-bit float WAVs run in f64: nothing of their precision is lost.
    if source.is_text() || source.info.wav_format == Some(convoy::io::SampleFormat::F64) {
        offline::<f64>(args, &words, source, inputs)
    } else {
        offline::<f32>(args, &words, source, inputs)
    }
}

fn offline<T: Sample>(
    args: &RunArgs,
    words: &[StageWord],
    source: Source,
    mut inputs: Vec<PathBuf>,
) -> Result<()> {
    let rate = source.info.rate.unwrap_or(48_000);
    let ctx = Context {
        rate: source.info.rate,
        channels: source.info.channels,
        block: args.block,
    };
    let chain = Chain::<T>::build(words, &ctx)?;
    if args.explain {
        print!("{}", chain.explain());
        return Ok(());
    }
    if args.input != "-" {
        inputs.push(PathBuf::from(&args.input));
    }
    inputs.extend(chain.inputs.iter().cloned());
    let plan = plan_output(args, &source.info, &inputs)?;
    notes(args, &chain);
    let max_frames = duration_frames(args, rate)?;
    let expected = source
        .info
        .frames
        .map(|f| max_frames.map_or(f, |m| m.min(f)) + chain.extra_frames());
    let channels = chain.channels_out();
    let sink = Sink::create(&args.output, plan, rate, channels, expected)?;
    let input: Box<dyn Input<T>> = Box::new(FileInput::<T>::spawn(source, READ_FRAMES)?);
    let output: Box<dyn Output<T>> = Box::new(FileOutput::<T>::spawn(sink)?);
    let total = (!args.quiet && std::io::stderr().is_terminal())
        .then_some(expected)
        .flatten();
    let opts = Options {
        read_frames: READ_FRAMES,
        max_frames,
        realtime: false,
        plot: args.plot.clone(),
        plot_title: plot_title(args, words),
        rate,
        lost_note: String::new(),
        watch: total.map(progress),
    };
    let started = Instant::now();
    let summary = engine::run(
        input,
        Runner::Exact(chain),
        output,
        opts,
        Arc::new(Control::default()),
    )?;
    for w in &summary.warnings {
        eprintln!("convoy: {w}");
    }
    if !args.quiet && !summary.closed {
        let seconds = summary.frames_in as f64 / f64::from(rate);
        let format = summary
            .format
            .map_or("?", convoy::io::SampleFormat::describe);
        eprintln!(
            "convoy: {}{} frames in, {} out ({seconds:.3} s -> {:.3} s at {rate} Hz, {channels} ch, {format} out), {:.1}x realtime, {} clipped{}",
            if summary.interrupted {
                "interrupted; "
            } else {
                ""
            },
            summary.frames_in,
            summary.frames_out,
            summary.frames_out as f64 / f64::from(rate),
            seconds / started.elapsed().as_secs_f64().max(1e-9),
            summary.clipped,
            clip_hint(summary.clipped, summary.format),
        );
    }
    Ok(())
}

/// The output's plan, and the picture's checks, before anything is written.
pub(crate) fn plan_output(
    args: &RunArgs,
    info: &convoy::io::StreamInfo,
    inputs: &[PathBuf],
) -> Result<SinkPlan> {
    let reads_stdin = args.input == "-";
    let mut plan = Sink::plan(
        &args.output,
        args.out_format,
        args.bits,
        info,
        inputs,
        reads_stdin,
    )?;
    plan.dither = args.dither == convoy::io::Dither::Tpdf;
    if let Some(png) = &args.plot {
        convoy::plot::check_png(png, inputs, reads_stdin)?;
        if convoy::io::output::same_target(png, Path::new(&args.output)) {
            return Err(Error::input(
                "--plot",
                format!("{} is also the output", png.display()),
            ));
        }
    }
    Ok(plan)
}

pub(crate) fn notes<T: Sample>(args: &RunArgs, chain: &Chain<T>) {
    if !args.quiet {
        for note in &chain.notes {
            eprintln!("convoy: {note}");
        }
    }
}

pub(crate) fn duration_frames(args: &RunArgs, rate: u32) -> Result<Option<u64>> {
    args.duration
        .as_deref()
        .map(|d| Ok((stop::parse_duration(d)? * f64::from(rate)).round() as u64))
        .transpose()
}

pub(crate) fn plot_title(args: &RunArgs, words: &[StageWord]) -> String {
    let stages: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    let stages = if stages.is_empty() {
        "no stages".to_string()
    } else {
        stages.join(" ")
    };
    format!("{} -> {}: {stages}", args.input, args.output)
}

/// A progress bar on a terminal, fed by the engine's watcher, cleared when the run ends.
fn progress(total: u64) -> engine::Watcher {
    struct Bar(indicatif::ProgressBar);
    impl Drop for Bar {
        fn drop(&mut self) {
            self.0.finish_and_clear();
        }
    }
    let bar = Bar(indicatif::ProgressBar::new(total));
    bar.0.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {percent:>3}% {pos}/{len} frames, {elapsed} elapsed, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut last = Instant::now();
    Box::new(move |ctl: &Control| {
        if last.elapsed() > Duration::from_millis(100) {
            last = Instant::now();
            bar.0
                .set_position(ctl.frames_in.load(std::sync::atomic::Ordering::Relaxed));
        }
    })
}

/// What to do about clipped samples, for the summary.
pub(crate) fn clip_hint(clipped: u64, format: Option<convoy::io::SampleFormat>) -> &'static str {
    use convoy::io::SampleFormat;
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
