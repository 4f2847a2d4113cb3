//! What `convoy run`'s two paths (files only, and with a device end) share: checking the
//! arguments, planning the output, the words around a run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::RunArgs;
use convoy::chain::{Chain, StageWord};
use convoy::conv::Sample;
use convoy::engine::stop;
use convoy::error::{Error, Result};
use convoy::io::{Sink, SinkPlan, WireFormat};

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

pub(crate) fn check_args(args: &RunArgs) -> Result<()> {
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
pub(crate) fn check_terminals(args: &RunArgs) -> Result<()> {
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

/// `--columns` resolved against a text input's header or width (`None`: every column is a
/// signal).
pub(crate) fn pick_columns(
    args: &RunArgs,
    source: &convoy::io::Source,
) -> Result<Option<convoy::engine::columns::Columns>> {
    let Some(wanted) = &args.columns else {
        return Ok(None);
    };
    if !source.is_text() {
        return Err(Error::input(
            "--columns",
            "chooses columns of a text input; this input is not text",
        ));
    }
    convoy::engine::columns::Columns::pick(
        wanted,
        source.info.columns.as_deref(),
        source.info.channels,
    )
    .map(Some)
}

/// Text output separated by commas: a `.csv` path, or stdout from a `.csv` input.
pub(crate) fn csv_output(args: &RunArgs) -> bool {
    let csv = |p: &str| p.to_ascii_lowercase().ends_with(".csv");
    csv(&args.output) || (args.output == "-" && csv(&args.input))
}
