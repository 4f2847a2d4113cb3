//! `convoy run` over many files: `-i` a glob, a folder or `@LIST`, `-o` a folder.
//!
//! Main thread lists the inputs ([`convoy::engine::corpus`]), keeps this shard's, maps each to
//! its output and refuses collisions before anything runs; `--jobs` worker threads then take
//! files in order, each through the same engine as a single `convoy run` (its own reader,
//! chain and writer threads; the output through a temp file and a rename). The chain is built
//! once per kind of stream (rate, channels, precision) and every file gets a fresh copy that
//! shares its kernels' spectra: a 65,536-tap IR is transformed once per run, not per file.
//!
//! One file failing is reported (stderr, `--report`) and the others go on; the exit status is
//! 0 when all were done or found complete, 1 when some failed, 2 when none could be done.
//! Ctrl-C aborts: the files under way leave nothing behind, the finished ones stay, and
//! `--resume` carries on from there.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::run_args::duration_frames;
use crate::cli::RunArgs;
use convoy::chain::{Chain, Context, StageWord};
use convoy::engine::corpus::{self, Item, Shard};
use convoy::engine::{Control, Options, Precision, Runner, stop};
use convoy::error::{Error, Result};
use convoy::io::{Sink, Source, WireFormat};

/// Frames per read, as for one file.
const READ_FRAMES: usize = 16_384;

/// How one input ended.
enum Outcome {
    Done {
        frames_in: u64,
        frames_out: u64,
        /// The input's rate and the output's.
        rate: u32,
        rate_out: u32,
        warnings: Vec<String>,
    },
    /// `--resume` found its output complete.
    Complete {
        frames: u64,
        rate: u32,
    },
    Failed(String),
}

/// The stream a chain is built for: its rate (if known) and channels.
type StreamKind = (Option<u32>, usize);

/// The chains built so far, by the stream they were built for; a build error is kept too, so
/// a chain that cannot be built for a kind of stream is tried once, not once per file.
struct Templates<T: Precision> {
    built: Mutex<HashMap<StreamKind, std::result::Result<Chain<T>, String>>>,
}

impl<T: Precision> Templates<T> {
    fn new() -> Self {
        Templates {
            built: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh chain for `ctx`'s stream (built the first time it is asked for).
    fn chain(&self, words: &[StageWord], ctx: &Context) -> Result<Chain<T>> {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = built
            .entry((ctx.rate, ctx.channels))
            .or_insert_with(|| T::build_chain(words, ctx).map_err(|e| e.to_string()));
        match entry {
            Ok(chain) => Ok(chain.fresh()),
            Err(msg) => Err(Error::Usage(msg.clone())),
        }
    }
}

/// What every worker shares.
struct Batch<'a> {
    args: &'a RunArgs,
    words: &'a [StageWord],
    f32: Templates<f32>,
    f64: Templates<f64>,
    /// Files no output may overwrite (the chain file, the report).
    protected: Vec<PathBuf>,
}

/// Runs `convoy run` over many inputs.
///
/// # Errors
/// Bad arguments, no inputs, colliding outputs, a chain that cannot be built for the first
/// input (exit 2, nothing written); or inputs that failed ([`Error::Batch`]).
pub fn run(args: &RunArgs, words: &[StageWord], mut protected: Vec<PathBuf>) -> Result<()> {
    // A stop aborts: the files under way are removed, the finished ones are complete.
    stop::set_graceful(false);
    let refuse = |what: &str| Err(Error::Usage(format!("{what} with many inputs")));
    if args.output == "-" || super::run_args::device_arg(&args.output, "speakers").is_some() {
        return refuse("-o must be a folder");
    }
    if args.plot.is_some() {
        return refuse("--plot draws one run; not");
    }
    if args.columns.is_some() {
        return refuse("--columns is for one text input; not");
    }
    if args.stats {
        return refuse("--stats is for live runs; not");
    }
    let out_dir = PathBuf::from(&args.output);
    if out_dir.exists() && !out_dir.is_dir() {
        return Err(Error::input(
            &args.output,
            "is a file; with many inputs -o is a folder (made if missing)",
        ));
    }
    let jobs = match args.jobs {
        Some(0) => return Err(Error::input("--jobs", "must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let mut items = corpus::list(&args.input, &out_dir)?;
    if items.is_empty() {
        return Err(Error::input(
            &args.input,
            if args.input.starts_with('@') {
                "lists no files"
            } else if Path::new(&args.input).is_dir() {
                "holds no audio files (looked for .wav, .flac, .mp3, .ogg, .aiff, .caf, .m4a...)"
            } else {
                "matches no files"
            },
        ));
    }
    let found = items.len();
    if let Some(s) = shard {
        items = s.take(&items);
    }
    let outputs: Vec<PathBuf> = items
        .iter()
        .map(|i| corpus::output_for(&out_dir, i, args.out_format))
        .collect::<Result<_>>()?;
    corpus::check_distinct(&items, &outputs)?;
    for (item, out) in items.iter().zip(&outputs) {
        if convoy::io::output::same_target(&item.input, out) {
            return Err(Error::input(
                item.input.display().to_string(),
                format!(
                    "would be overwritten by its own output ({}): choose another -o folder",
                    out.display()
                ),
            ));
        }
    }
    protected.extend(args.report.iter().cloned());
    let batch = Batch {
        args,
        words,
        f32: Templates::new(),
        f64: Templates::new(),
        protected,
    };
    // The chain as built for the first input: its notes said once, --explain, and a chain that
    // cannot be built at all stopped before any file is touched.
    if let Some(first) = items.first()
        && let Ok((source, first_words)) = open(args, words, first)
    {
        let ctx = context(args, &source);
        let notes = if uses_f64(&source) {
            batch
                .f64
                .chain(&first_words, &ctx)
                .map(|c| (c.notes.clone(), c.explain()))
        } else {
            batch
                .f32
                .chain(&first_words, &ctx)
                .map(|c| (c.notes.clone(), c.explain()))
        };
        let (notes, explain) = notes.map_err(|e| {
            Error::Usage(format!(
                "{e} (building the chain for the first input, {}; nothing was run)",
                first.input.display()
            ))
        })?;
        if args.explain {
            print!("{explain}");
            return Ok(());
        }
        if !args.quiet {
            for n in notes {
                eprintln!("convoy: {n}");
            }
        }
    }
    let mut report = match &args.report {
        Some(p) => Some(report_file(p, &items)?),
        None => None,
    };
    let jobs = jobs.min(items.len()).max(1);
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| progress(items.len()));
    let say = |line: String| match &bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    };
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let (tx, rx) = crossbeam_channel::unbounded::<(usize, Outcome, Duration)>();
    let mut tally = Tally::default();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (batch, items, outputs, next) = (&batch, &items, &outputs, &next);
            std::thread::Builder::new()
                .name("convoy-batch".into())
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else { break };
                        let t = Instant::now();
                        let outcome =
                            catch_unwind(AssertUnwindSafe(|| batch.one(item, &outputs[i])))
                                .unwrap_or_else(|_| {
                                    Outcome::Failed(
                                        "internal failure: the file's run panicked".into(),
                                    )
                                });
                        if tx.send((i, outcome, t.elapsed())).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a worker: {e}")))?;
        }
        drop(tx);
        for (i, outcome, took) in rx {
            let (item, out) = (&items[i], &outputs[i]);
            match &outcome {
                Outcome::Failed(e) => say(format!("convoy: error: {e}")),
                Outcome::Done { warnings, .. } => {
                    for w in warnings {
                        say(format!("convoy: {}: {w}", item.input.display()));
                    }
                }
                Outcome::Complete { .. } => {}
            }
            if let Some(r) = &mut report {
                r.line(item, out, &outcome, took)?;
            }
            tally.add(&outcome);
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        Ok(())
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(r) = report {
        r.finish()?;
    }
    let wall = start.elapsed().as_secs_f64();
    let line = tally.line(items.len(), found, shard, wall, jobs);
    if tally.failed == 0 {
        if !args.quiet {
            eprintln!("convoy: {line}");
        }
        return Ok(());
    }
    Err(Error::Batch {
        msg: line,
        none_done: tally.done + tally.complete == 0,
    })
}

/// Opens an input, with the stage words for it (`--rate` on an input at another rate appends
/// a resample, as for one file).
fn open(args: &RunArgs, words: &[StageWord], item: &Item) -> Result<(Source, Vec<StageWord>)> {
    let path = utf8(&item.input)?;
    super::run::open_with_rate(path, args, words, true)
}

fn utf8(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| {
        Error::input(
            p.to_string_lossy().into_owned(),
            "the path is not valid UTF-8",
        )
    })
}

/// Text and 64-bit float WAVs run in f64, as for one file.
fn uses_f64(source: &Source) -> bool {
    source.is_text() || source.info.wav_format == Some(convoy::io::SampleFormat::F64)
}

fn context(args: &RunArgs, source: &Source) -> Context {
    Context {
        rate: source.info.rate,
        channels: source.info.channels,
        block: args.block,
    }
}

impl Batch<'_> {
    /// One input, start to end.
    fn one(&self, item: &Item, out: &Path) -> Outcome {
        let (source, words) = match open(self.args, self.words, item) {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let done = if uses_f64(&source) {
            self.one_as(&self.f64, &words, item, out, source)
        } else {
            self.one_as(&self.f32, &words, item, out, source)
        };
        done.unwrap_or_else(|e| match e {
            // Errors about the input or the output already name the file; others get its name.
            Error::Input { .. } | Error::Write { .. } => Outcome::Failed(e.to_string()),
            e => Outcome::Failed(format!("{}: {e}", item.input.display())),
        })
    }

    fn one_as<T: Precision>(
        &self,
        templates: &Templates<T>,
        words: &[StageWord],
        item: &Item,
        out: &Path,
        source: Source,
    ) -> Result<Outcome> {
        let args = self.args;
        let ctx = context(args, &source);
        let chain = templates.chain(words, &ctx)?;
        let rate = source.info.rate.unwrap_or(48_000);
        let rate_out = chain.rate_out().unwrap_or(rate);
        let max_frames = duration_frames(args, rate)?;
        let expected = source
            .info
            .frames
            .map(|f| chain.frames_out(max_frames.map_or(f, |m| m.min(f))));
        let out_str = utf8(out)?;
        let mut inputs = vec![item.input.clone()];
        inputs.extend(chain.inputs.iter().cloned());
        inputs.extend(self.protected.iter().cloned());
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, &e))?;
        }
        let mut plan = Sink::plan(
            out_str,
            args.out_format,
            args.bits,
            &source.info,
            &inputs,
            false,
        )?;
        plan.dither = args.dither == convoy::io::Dither::Tpdf;
        let channels = chain.channels_out();
        if args.resume
            && let Some(frames) = expected
            && complete(out_str, plan.format, rate_out, channels, frames)
        {
            return Ok(Outcome::Complete {
                frames,
                rate: rate_out,
            });
        }
        let header = source.info.columns.clone();
        let mut sink = Sink::create(out_str, plan, rate_out, channels, expected)?;
        sink.text_layout(
            convoy::io::extension(out) == "csv",
            header.as_deref().filter(|h| h.len() == channels),
        )?;
        let summary = T::run(
            T::file_input(source, READ_FRAMES)?,
            Runner::Exact(chain),
            T::file_output(sink)?,
            Options {
                read_frames: READ_FRAMES,
                max_frames,
                realtime: false,
                plot: None,
                plot_title: String::new(),
                rate,
                lost_note: String::new(),
                watch: None,
            },
            Arc::new(Control::default()),
        )?;
        Ok(Outcome::Done {
            frames_in: summary.frames_in,
            frames_out: summary.frames_out,
            rate,
            rate_out,
            warnings: summary.warnings,
        })
    }
}

/// Whether `path` is a complete output: it decodes to the end without an error, at `rate`
/// (when its format says one) with `channels` channels and exactly `frames` frames.
fn complete(path: &str, format: WireFormat, rate: u32, channels: usize, frames: u64) -> bool {
    let raw = matches!(format, WireFormat::F32le | WireFormat::S16le);
    let Ok(mut source) = Source::open(
        path,
        raw.then_some(format),
        raw.then_some(rate),
        raw.then_some(channels),
    ) else {
        return false;
    };
    if source.info.channels != channels || source.info.rate.is_some_and(|r| r != rate) {
        return false;
    }
    let mut n = 0u64;
    loop {
        match source.read_block::<f32>(1 << 16) {
            Ok(Some(b)) => n += b.first().map_or(0, |c| c.len() as u64),
            Ok(None) => return n == frames,
            Err(_) => return false,
        }
    }
}

#[derive(Default)]
struct Tally {
    done: usize,
    complete: usize,
    failed: usize,
    /// Seconds of input audio processed.
    audio: f64,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Done {
                frames_in, rate, ..
            } => {
                self.done += 1;
                self.audio += *frames_in as f64 / f64::from(*rate);
            }
            Outcome::Complete { .. } => self.complete += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
    }

    /// `12 file(s): 10 done, 1 failed, 1 skipped (already complete); 1.8 min of audio in 4.1 s,
    /// 26x realtime, 2 job(s)`.
    fn line(&self, n: usize, found: usize, shard: Option<Shard>, wall: f64, jobs: usize) -> String {
        let of = match shard {
            Some(s) => format!(" (shard {}/{} of {found})", s.index, s.count),
            None => String::new(),
        };
        // Hours for a corpus, minutes or seconds for a handful of files.
        let audio = match self.audio {
            a if a >= 3600.0 => format!("{:.2} h", a / 3600.0),
            a if a >= 60.0 => format!("{:.1} min", a / 60.0),
            a => format!("{a:.1} s"),
        };
        let speed = if self.done > 0 {
            format!(", {:.0}x realtime", self.audio / wall.max(1e-9))
        } else {
            String::new()
        };
        format!(
            "{n} file(s){of}: {} done, {} failed, {} skipped (already complete); {audio} of audio in {wall:.1} s{speed}, {jobs} job(s)",
            self.done, self.failed, self.complete,
        )
    }
}

/// `--report`: one JSON object per line, written as each input ends (a run that is killed
/// still leaves the lines of what it finished).
struct Report {
    path: PathBuf,
    file: BufWriter<File>,
}

fn report_file(path: &Path, items: &[Item]) -> Result<Report> {
    if items
        .iter()
        .any(|i| convoy::io::output::same_target(&i.input, path))
    {
        return Err(Error::input(
            "--report",
            format!("{} is one of the inputs", path.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::input(
            "--report",
            format!("{} is a folder", path.display()),
        ));
    }
    let file = File::create(path).map_err(|e| Error::write(path, &e))?;
    Ok(Report {
        path: path.to_path_buf(),
        file: BufWriter::new(file),
    })
}

impl Report {
    fn line(&mut self, item: &Item, out: &Path, o: &Outcome, took: Duration) -> Result<()> {
        let (status, frames, audio, error) = match o {
            Outcome::Done {
                frames_out,
                rate_out,
                ..
            } => (
                "done",
                *frames_out,
                *frames_out as f64 / f64::from(*rate_out),
                None,
            ),
            Outcome::Complete { frames, rate } => {
                ("skipped", *frames, *frames as f64 / f64::from(*rate), None)
            }
            Outcome::Failed(e) => ("failed", 0, 0.0, Some(e.as_str())),
        };
        let line = format!(
            "{{\"input\":{},\"output\":{},\"status\":\"{status}\",\"frames\":{frames},\"audio_seconds\":{audio:.6},\"seconds\":{:.6},\"error\":{}}}",
            json(&item.input.to_string_lossy()),
            json(&out.to_string_lossy()),
            took.as_secs_f64(),
            error.map_or_else(|| "null".to_string(), json),
        );
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.flush())
            .map_err(|e| Error::write(&self.path, &e))
    }

    fn finish(mut self) -> Result<()> {
        self.file.flush().map_err(|e| Error::write(&self.path, &e))
    }
}

/// A JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A progress bar over files on a terminal.
fn progress(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files, {elapsed} elapsed, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::json;

    #[test]
    fn json_strings_escape_what_they_must() {
        assert_eq!(json("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }
}
