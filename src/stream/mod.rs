//! Streams of audio frames: where `convoy run` reads them from and writes them to.
//!
//! Reader and writer threads. A [`Source`] hands out planar `f32` blocks from a WAV file, stdin
//! (WAV recognized by its header, raw f32le/s16le, or text one frame per line); a [`Sink`]
//! takes planar blocks to a WAV file (written to a temp file in the target directory and renamed
//! at the end, so an interrupted or failed run never leaves a partial file and never touches an
//! existing one), or to stdout (a streaming WAV by default). The live issue's `mic`/`speakers`
//! slot in as further variants of the same two types.

pub mod codec;
pub mod wav;

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::text::{parse_number, tokens};
use codec::{Encoder, SampleFormat, decode};

/// The wire formats of `--in-format` / `--out-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WireFormat {
    /// RIFF WAV (any PCM/float encoding when reading).
    Wav,
    /// Raw interleaved 32-bit float, little-endian (needs --rate and --channels to read).
    F32le,
    /// Raw interleaved signed 16-bit, little-endian (needs --rate and --channels to read).
    S16le,
    /// Text: one frame per line, channels separated by spaces or commas.
    Text,
}

/// `--bits` for WAV output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bits {
    #[value(name = "16")]
    S16,
    #[value(name = "24")]
    S24,
    #[value(name = "32")]
    S32,
    #[value(name = "f32")]
    F32,
}

impl Bits {
    fn format(self) -> SampleFormat {
        match self {
            Bits::S16 => SampleFormat::S16,
            Bits::S24 => SampleFormat::S24,
            Bits::S32 => SampleFormat::S32,
            Bits::F32 => SampleFormat::F32,
        }
    }
}

/// What a source delivers.
#[derive(Clone, Debug)]
pub struct StreamInfo {
    /// Sample rate, when known (text input without --rate has none).
    pub rate: Option<u32>,
    pub channels: usize,
    /// Frames, when the header says.
    pub frames: Option<u64>,
    /// The encoding, for WAV input (the default output depth follows it).
    pub wav_format: Option<SampleFormat>,
}

/// Read buffer: big enough that a file arrives in blocks of tens of thousands of frames.
const READ_BUFFER: usize = 1 << 16;

enum Decoder {
    Binary(SampleFormat),
    Text { line: usize },
}

/// A stream of frames to read.
pub struct Source {
    /// As typed (`in.wav`, `-`), for messages.
    pub name: String,
    pub info: StreamInfo,
    reader: BufReader<Box<dyn io::Read + Send>>,
    decoder: Decoder,
    /// Frames still expected (WAV with a known size).
    remaining: Option<u64>,
    bytes: Vec<u8>,
    eof: bool,
}

impl Source {
    /// Opens `-i ARG` (a path or `-`). `format` forces the wire format; `rate`/`channels` are
    /// needed for raw input and checked against what a header says otherwise.
    pub fn open(
        arg: &str,
        format: Option<WireFormat>,
        rate: Option<u32>,
        channels: Option<usize>,
    ) -> Result<Source> {
        let name = if arg == "-" {
            "stdin".to_string()
        } else {
            arg.to_string()
        };
        let bad = |msg: String| Error::input(&name, msg);
        let inner: Box<dyn io::Read + Send> = if arg == "-" {
            Box::new(io::stdin())
        } else {
            let path = Path::new(arg);
            if path.is_dir() {
                return Err(bad("is a directory, not an input file".into()));
            }
            Box::new(File::open(path).map_err(|e| Error::read(path, &e))?)
        };
        let mut reader = BufReader::with_capacity(READ_BUFFER, inner);
        let head = reader
            .fill_buf()
            .map_err(|e| bad(crate::error::describe_io(&e)))?;
        let sniffed = if head.starts_with(b"RIFF") {
            Some(WireFormat::Wav)
        } else if !head.is_empty()
            && head
                .iter()
                .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        {
            Some(WireFormat::Text)
        } else {
            None
        };
        let format = match (format, sniffed) {
            (Some(f), _) => f,
            (None, Some(f)) => f,
            (None, None) if head.is_empty() => {
                return Err(bad("empty input, not a WAV file".into()));
            }
            (None, None) => {
                return Err(bad(
                    "not a WAV file; for raw samples say --in-format f32le|s16le with --rate and --channels".into(),
                ));
            }
        };
        let (info, decoder) = match format {
            WireFormat::Wav => {
                let h = wav::read_header(&mut reader).map_err(bad)?;
                if let Some(c) = channels.filter(|&c| c != h.channels) {
                    return Err(bad(format!(
                        "has {} channel(s) but --channels says {c}",
                        h.channels
                    )));
                }
                if let Some(r) = rate.filter(|&r| r != h.rate) {
                    return Err(bad(format!("is {} Hz but --rate says {r}", h.rate)));
                }
                (
                    StreamInfo {
                        rate: Some(h.rate),
                        channels: h.channels,
                        frames: h.frames,
                        wav_format: Some(h.format),
                    },
                    Decoder::Binary(h.format),
                )
            }
            WireFormat::F32le | WireFormat::S16le => {
                let (Some(rate), Some(channels)) = (rate, channels) else {
                    return Err(bad(format!(
                        "raw {} input needs --rate and --channels",
                        if format == WireFormat::F32le {
                            "f32le"
                        } else {
                            "s16le"
                        }
                    )));
                };
                let f = if format == WireFormat::F32le {
                    SampleFormat::F32
                } else {
                    SampleFormat::S16
                };
                (
                    StreamInfo {
                        rate: Some(rate),
                        channels,
                        frames: None,
                        wav_format: None,
                    },
                    Decoder::Binary(f),
                )
            }
            WireFormat::Text => {
                // Channels: from the first data line, unless --channels says.
                let found = first_text_width(&mut reader).map_err(bad)?;
                let channels = match (channels, found) {
                    (Some(c), Some(f)) if c != f => {
                        return Err(bad(format!(
                            "first line has {f} value(s) but --channels says {c}"
                        )));
                    }
                    (Some(c), _) => c,
                    (None, Some(f)) => f,
                    (None, None) => 1,
                };
                (
                    StreamInfo {
                        rate,
                        channels,
                        frames: None,
                        wav_format: None,
                    },
                    Decoder::Text { line: 0 },
                )
            }
        };
        if info.channels == 0 || info.channels > 1024 {
            return Err(bad(format!(
                "{} channels: must be 1 to 1024",
                info.channels
            )));
        }
        Ok(Source {
            name,
            remaining: info.frames,
            info,
            reader,
            decoder,
            bytes: Vec::new(),
            eof: false,
        })
    }

    /// Reads up to `frames` frames; `None` at the end of the stream.
    pub fn read_block(&mut self, frames: usize) -> Result<Option<Vec<Vec<f32>>>> {
        if self.eof {
            return Ok(None);
        }
        let channels = self.info.channels;
        let mut out: Vec<Vec<f32>> = (0..channels).map(|_| Vec::with_capacity(frames)).collect();
        match self.decoder {
            Decoder::Binary(format) => {
                let frame = format.bytes() * channels;
                let want = match self.remaining {
                    Some(r) => (r.min(frames as u64)) as usize * frame,
                    None => frames * frame,
                };
                // Take what the stream has: stop at a full block, or as soon as at least one
                // whole frame is in and nothing more is buffered, so a slow producer's frames
                // move on (and survive a Ctrl-C) instead of waiting for a full block.
                while self.bytes.len() < want {
                    // Straight into our buffer (BufReader passes big reads through once its
                    // own buffer is empty), one `read` at a time.
                    let have = self.bytes.len();
                    self.bytes.resize(want, 0);
                    let asked = want - have;
                    let got = loop {
                        match self.reader.read(&mut self.bytes[have..]) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                return Err(Error::input(
                                    &self.name,
                                    crate::error::describe_io(&e),
                                ));
                            }
                        }
                    };
                    self.bytes.truncate(have + got);
                    if got == 0 {
                        self.eof = true;
                        break;
                    }
                    if self.bytes.len() >= frame && got < asked && self.reader.buffer().is_empty() {
                        break;
                    }
                }
                let whole = self.bytes.len() / frame;
                decode(format, &self.bytes[..whole * frame], &mut out);
                self.bytes.drain(..whole * frame);
                if let Some(r) = &mut self.remaining {
                    *r -= whole as u64;
                    if *r == 0 {
                        self.eof = true;
                    } else if self.eof {
                        let total = self.info.frames.unwrap_or(0);
                        return Err(Error::input(
                            &self.name,
                            format!(
                                "truncated WAV: the header promises {total} frames but the data ends after {}",
                                total - *r
                            ),
                        ));
                    }
                } else if self.eof && !self.bytes.is_empty() {
                    return Err(Error::input(
                        &self.name,
                        format!(
                            "ends in the middle of a frame ({} stray bytes)",
                            self.bytes.len()
                        ),
                    ));
                }
                if whole == 0 && self.eof {
                    return Ok(None);
                }
            }
            Decoder::Text { ref mut line } => {
                let mut text = String::new();
                while out[0].len() < frames {
                    text.clear();
                    let n = self
                        .reader
                        .read_line(&mut text)
                        .map_err(|e| Error::input(&self.name, crate::error::describe_io(&e)))?;
                    if n == 0 {
                        self.eof = true;
                        break;
                    }
                    *line += 1;
                    // The same tokens as `convoy convolve`'s text files (io::text).
                    let body = text.split('#').next().unwrap_or("");
                    let toks = tokens(body.trim_start_matches('\u{feff}'));
                    if toks.is_empty() {
                        continue;
                    }
                    let count = toks.len();
                    for (c, token) in toks.iter().enumerate() {
                        let Some(v) = parse_number(token) else {
                            return Err(Error::input(
                                &self.name,
                                if token.is_empty() {
                                    format!("line {line}: empty value at position {}", c + 1)
                                } else {
                                    format!("line {line}: '{token}' is not a number")
                                },
                            ));
                        };
                        if c < channels {
                            out[c].push(v as f32);
                        }
                    }
                    if count != channels {
                        return Err(Error::input(
                            &self.name,
                            format!(
                                "line {line}: {count} value(s), expected {channels} (one per channel)"
                            ),
                        ));
                    }
                    if self.reader.buffer().is_empty() {
                        // Nothing more buffered: hand these frames on (see the binary case).
                        break;
                    }
                }
                if out[0].is_empty() && self.eof {
                    return Ok(None);
                }
            }
        }
        Ok(Some(out))
    }
}

/// Peeks at the buffered text for the number of values on the first data line.
fn first_text_width(
    reader: &mut BufReader<Box<dyn io::Read + Send>>,
) -> std::result::Result<Option<usize>, String> {
    let buf = reader
        .fill_buf()
        .map_err(|e| crate::error::describe_io(&e))?;
    let text = String::from_utf8_lossy(buf);
    let mut lines = text.lines();
    // The last line of the buffer may be cut; only whole lines count.
    let complete = text.ends_with('\n');
    while let Some(l) = lines.next() {
        if !complete && lines.clone().next().is_none() && buf.len() >= 1 << 16 {
            break;
        }
        let toks = tokens(
            l.split('#')
                .next()
                .unwrap_or("")
                .trim_start_matches('\u{feff}'),
        );
        if toks.is_empty() {
            continue;
        }
        return Ok(Some(toks.len()));
    }
    Ok(None)
}

enum Target {
    Stdout(BufWriter<io::Stdout>),
    File {
        temp: tempfile::NamedTempFile,
        out: BufWriter<File>,
        path: PathBuf,
    },
}

/// Where output frames go.
pub struct Sink {
    /// As typed, for messages.
    pub name: String,
    target: Option<Target>,
    format: WireFormat,
    encoder: Encoder,
    sample: SampleFormat,
    rate: u32,
    channels: usize,
    /// Frames written so far.
    pub frames: u64,
    bytes: Vec<u8>,
    /// stdout was closed by the reader (EPIPE): the rest is dropped quietly.
    pub closed: bool,
}

/// How a sink should encode, decided before any work.
#[derive(Clone, Copy, Debug)]
pub struct SinkPlan {
    pub format: WireFormat,
    pub sample: SampleFormat,
}

impl Sink {
    /// Works out `-o ARG`'s format and checks the destination (directory exists, not a
    /// directory, not the same file as any of `inputs`) before any work is done.
    pub fn plan(
        arg: &str,
        format: Option<WireFormat>,
        bits: Option<Bits>,
        input: &StreamInfo,
        inputs: &[PathBuf],
    ) -> Result<SinkPlan> {
        let name = if arg == "-" { "stdout" } else { arg };
        let bad = |msg: String| Error::input(name, msg);
        let format = match format {
            Some(f) => f,
            None if arg == "-" => WireFormat::Wav,
            None => match crate::io::extension(Path::new(arg)).as_str() {
                "wav" | "wave" => WireFormat::Wav,
                "txt" | "csv" => WireFormat::Text,
                "f32" => WireFormat::F32le,
                "s16" | "raw" | "pcm" => WireFormat::S16le,
                other => {
                    return Err(bad(format!(
                        "cannot tell the output format from {}; use .wav or .txt, or say --out-format",
                        if other.is_empty() {
                            "no extension".to_string()
                        } else {
                            format!("'.{other}'")
                        }
                    )));
                }
            },
        };
        let sample = match format {
            WireFormat::Wav => match (bits, input.wav_format) {
                (Some(b), _) => b.format(),
                // A pipe gets 32-bit float: nothing is lost between convoy processes.
                (None, _) if arg == "-" => SampleFormat::F32,
                (None, Some(f)) => f,
                (None, None) => SampleFormat::F32,
            },
            WireFormat::F32le | WireFormat::Text => SampleFormat::F32,
            WireFormat::S16le => SampleFormat::S16,
        };
        if bits.is_some() && format != WireFormat::Wav {
            return Err(Error::Usage(
                "--bits applies to WAV output only (raw formats fix their own)".into(),
            ));
        }
        if arg != "-" {
            crate::io::check_output(Path::new(arg), inputs)?;
        }
        Ok(SinkPlan { format, sample })
    }

    /// Opens the sink (a temp file next to the target, or stdout) and writes any header.
    pub fn create(arg: &str, plan: SinkPlan, rate: u32, channels: usize) -> Result<Sink> {
        let name = if arg == "-" {
            "stdout".to_string()
        } else {
            arg.to_string()
        };
        let target = if arg == "-" {
            Target::Stdout(BufWriter::with_capacity(1 << 16, io::stdout()))
        } else {
            let path = PathBuf::from(arg);
            let temp = crate::io::temp_beside(&path)?;
            let file = temp.reopen().map_err(|e| Error::write(&path, &e))?;
            Target::File {
                temp,
                out: BufWriter::with_capacity(1 << 16, file),
                path,
            }
        };
        let mut sink = Sink {
            name,
            target: Some(target),
            format: plan.format,
            encoder: Encoder::new(plan.sample, true),
            sample: plan.sample,
            rate,
            channels,
            frames: 0,
            bytes: Vec::new(),
            closed: false,
        };
        if plan.format == WireFormat::Wav {
            let header = wav::header_bytes(rate, channels, plan.sample, None);
            sink.put(&header)?;
        }
        Ok(sink)
    }

    /// Samples clipped so far (integer output).
    pub fn clipped(&self) -> u64 {
        self.encoder.clipped
    }

    /// The encoding written.
    pub fn sample_format(&self) -> SampleFormat {
        self.sample
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = match self.target.as_mut() {
            Some(Target::Stdout(out)) => out.write_all(bytes),
            Some(Target::File { out, .. }) => out.write_all(bytes),
            None => Ok(()),
        };
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(Error::Write {
                path: self.name.clone(),
                msg: crate::error::describe_io(&e),
            }),
            Ok(()) => Ok(()),
        }
    }

    /// Writes planar frames.
    pub fn write(&mut self, block: &[Vec<f32>]) -> Result<()> {
        let frames = block.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        if self.format == WireFormat::Text {
            use std::fmt::Write as _;
            let mut s = String::with_capacity(frames * self.channels * 12);
            for i in 0..frames {
                for (c, ch) in block.iter().enumerate() {
                    if c > 0 {
                        s.push(' ');
                    }
                    let v = ch[i];
                    if v.is_nan() {
                        s.push_str("nan");
                    } else if v.is_infinite() {
                        s.push_str(if v > 0.0 { "inf" } else { "-inf" });
                    } else {
                        let _ = write!(s, "{v}");
                    }
                }
                s.push('\n');
            }
            bytes.extend_from_slice(s.as_bytes());
        } else {
            let views: Vec<&[f32]> = block.iter().map(|c| &c[..]).collect();
            self.encoder.encode(&views, frames, &mut bytes);
        }
        let result = self.put(&bytes);
        self.bytes = bytes;
        self.frames += frames as u64;
        result
    }

    /// Flushes, fixes the WAV header of a file, and renames the temp file into place.
    pub fn finish(mut self) -> Result<()> {
        let format = self.format;
        let (rate, channels, sample, frames) = (self.rate, self.channels, self.sample, self.frames);
        match self.target.take() {
            Some(Target::Stdout(mut out)) => match out.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::write(Path::new("stdout"), &e)),
                Ok(()) => Ok(()),
            },
            Some(Target::File { temp, out, path }) => {
                let mut file = out
                    .into_inner()
                    .map_err(|e| Error::write(&path, e.error()))?;
                if format == WireFormat::Wav {
                    let header = wav::header_bytes(rate, channels, sample, Some(frames));
                    file.seek(SeekFrom::Start(0))
                        .and_then(|_| file.write_all(&header))
                        .map_err(|e| Error::write(&path, &e))?;
                }
                // No fsync: like sox and ffmpeg, convoy leaves durability to the OS (an
                // fsync of a large file costs more CPU than the whole filtering).
                drop(file);
                temp.persist(&path)
                    .map_err(|e| Error::write(&path, &e.error))?;
                Ok(())
            }
            None => Ok(()),
        }
    }
}
