//! `convoy run`: check the arguments, open the two ends, build the chain, hand all three to
//! the engine ([`convoy::engine::run`]), print what it did.
//!
//! Main thread. Everything that can be wrong with the input, the stages or the output is
//! reported before an output file exists.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::run_args::{
    check_args, check_terminals, csv_output, device_arg, duration_frames, notes, pick_columns,
    plan_output, plot_title,
};
use crate::cli::RunArgs;
use convoy::chain::{Context, StageWord};
use convoy::engine::columns::Columns;
use convoy::engine::{self, Control, Options, Precision, Runner};
use convoy::error::{Error, Result};
use convoy::io::{Sink, Source};

/// Frames per read from a file: the engine takes any chunk length and keeps its own
/// partitioning, so large blocks cost nothing in output and save per-block overhead.
const READ_FRAMES: usize = 16_384;

/// Runs `convoy run`.
///
/// # Errors
/// Bad arguments, stages, inputs or outputs (before anything is written), or a failure while
/// reading, processing or writing (the output is then not created or replaced).
pub fn run(args: &RunArgs) -> Result<()> {
    check_args(args)?;
    let words = convoy::chain::stage_words(args.chain.as_deref(), &args.stages)?;
    let inputs: Vec<PathBuf> = args.chain.iter().cloned().collect();
    if convoy::engine::corpus::is_many(&args.input) {
        return super::batch::run(args, &words, inputs);
    }
    for (flag, given) in [
        ("--jobs", args.jobs.is_some()),
        ("--report", args.report.is_some()),
        ("--resume", args.resume),
        ("--shard", args.shard.is_some()),
    ] {
        if given {
            return Err(Error::Usage(format!(
                "{flag} is for many inputs (-i a glob, a folder or @LIST), not one"
            )));
        }
    }
    if device_arg(&args.input, "mic").is_some() || device_arg(&args.output, "speakers").is_some() {
        #[cfg(feature = "device")]
        return super::live::run(args, &words, inputs);
        #[cfg(not(feature = "device"))]
        return Err(super::no_devices());
    }
    if !args.explain {
        check_terminals(args)?;
    }
    let (source, words) = open_input(args, &words)?;
    let words = &words[..];
    // Text (sensor data) and 64-bit float WAVs run in f64: nothing of their precision is lost.
    if source.is_text() || source.info.wav_format == Some(convoy::io::SampleFormat::F64) {
        offline::<f64>(args, words, source, inputs)
    } else {
        offline::<f32>(args, words, source, inputs)
    }
}

fn offline<T: Precision>(
    args: &RunArgs,
    words: &[StageWord],
    source: Source,
    mut inputs: Vec<PathBuf>,
) -> Result<()> {
    let rate = source.info.rate.unwrap_or(48_000);
    let columns = pick_columns(args, &source)?;
    let ctx = Context {
        rate: source.info.rate,
        channels: columns
            .as_ref()
            .map_or(source.info.channels, Columns::signals),
        block: args.block,
    };
    let chain = T::build_chain(words, &ctx)?;
    // A kernel longer than the input would make 'same' longer than it; Merge checks that.
    if columns.is_some()
        && (!chain.keeps_length(usize::MAX) || chain.channels_out() != ctx.channels)
    {
        return Err(Error::input(
            "--columns",
            "pass-through columns need a chain that keeps the length and the channels (mode=same stages, recursive stages, gains; no full mode, delay or upmix)",
        ));
    }
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
    if source.info.rate.is_none() && !args.quiet {
        // Text and raw input carry no rate: say where one was assumed rather than assume it
        // silently (stages that need it already refuse without --rate).
        let mut uses = Vec::new();
        if plan.format == convoy::io::WireFormat::Wav {
            uses.push("the WAV header");
        }
        if args.duration.is_some() {
            uses.push("--duration");
        }
        if args.plot.is_some() {
            uses.push("the picture's time axis");
        }
        if !uses.is_empty() {
            eprintln!(
                "convoy: the input does not say its rate: 48000 Hz assumed for {} (give --rate)",
                uses.join(", ")
            );
        }
    }
    let max_frames = duration_frames(args, rate)?;
    let expected = source
        .info
        .frames
        .map(|f| chain.frames_out(max_frames.map_or(f, |m| m.min(f))));
    let rate_out = chain.rate_out().unwrap_or(rate);
    if args.plot.is_some() && rate_out != rate {
        return Err(Error::Usage(
            "--plot overlays input and output at one rate; not with a resample: stage (plot the output with convoy plot)".into(),
        ));
    }
    let channels = match &columns {
        Some(c) => c.signal.len(),
        None => chain.channels_out(),
    };
    let header = source.info.columns.clone();
    let mut sink = Sink::create(&args.output, plan, rate_out, channels, expected)?;
    sink.text_layout(
        csv_output(args),
        header.as_deref().filter(|h| h.len() == channels),
    )?;
    let input = T::file_input(source, READ_FRAMES)?;
    let output = T::file_output(sink)?;
    let (input, output) = match columns {
        Some(c) => engine::columns::split(input, output, c),
        None => (input, output),
    };
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
    let summary = T::run(
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
        eprintln!("convoy: {}", summary.file_line(rate, rate_out, channels));
    }
    Ok(())
}

/// Opens `-i`. `--rate` is the rate of an input that carries none (raw, text); an input with
/// its own rate (WAV, FLAC, MP3...) and another `--rate` is resampled to it at the end of the
/// chain, as `sox in.wav -r 48000 out.wav` does (a `resample:` stage appended, and said).
///
/// # Errors
/// As [`Source::open`].
pub(crate) fn open_input(args: &RunArgs, words: &[StageWord]) -> Result<(Source, Vec<StageWord>)> {
    open_with_rate(&args.input, args, words, args.quiet)
}

/// [`open_input`] for any input path (a batch's files too).
pub(crate) fn open_with_rate(
    input: &str,
    args: &RunArgs,
    words: &[StageWord],
    quiet: bool,
) -> Result<(Source, Vec<StageWord>)> {
    let raw = matches!(
        args.in_format,
        Some(convoy::io::WireFormat::F32le | convoy::io::WireFormat::S16le)
    );
    let mut words = words.to_vec();
    if raw {
        let source = Source::open(input, args.in_format, args.rate, args.channels)?;
        return Ok((source, words));
    }
    let mut source = Source::open(input, args.in_format, None, args.channels)?;
    match (source.info.rate, args.rate) {
        (None, r) => source.info.rate = r,
        (Some(have), Some(want)) if have != want => {
            if !quiet {
                eprintln!(
                    "convoy: {}: {have} Hz, resampled to {want} Hz at the end (--rate)",
                    source.name
                );
            }
            words.push(StageWord::from(format!("resample:{want}").as_str()));
        }
        _ => {}
    }
    Ok((source, words))
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
