//! Where `convoy run` writes frames: a WAV, raw or text stream to a file, a FIFO or device, or
//! stdout (see [`crate::io::output`] for which is which and how a file is committed).
//!
//! Writer thread. A regular file gets its WAV header fixed at the end (RF64 past 4 GiB when
//! room was reserved for it); a pipe, FIFO or device gets a streaming header (sizes
//! 0xFFFFFFFF), which sox, ffmpeg and convoy read.

use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use super::codec::{Encoder, SampleFormat};
use super::flac_out::FlacWriter;
use super::{Bits, StreamInfo, WireFormat, riff};
use crate::conv::Sample;
use crate::error::{Error, Result};
use crate::io::output::{self, Kind, OutputFile};

enum Target {
    Stdout(BufWriter<io::Stdout>),
    File(BufWriter<OutputFile>),
}

/// How a sink should encode, decided before any work.
#[derive(Clone, Debug)]
pub struct SinkPlan {
    pub format: WireFormat,
    pub sample: SampleFormat,
    /// What the output path is.
    pub kind: Kind,
    /// Dither integer output (`--dither tpdf`, the default).
    pub dither: bool,
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
    rf64_room: bool,
    /// Frames written so far.
    pub frames: u64,
    bytes: Vec<u8>,
    /// Between a text frame's values: a space, or a comma for CSV.
    separator: u8,
    /// The reader of stdout or the FIFO went away (EPIPE): the rest is dropped quietly.
    pub closed: bool,
    /// FLAC output: the encoder between the quantized samples and the bytes.
    flac: Option<Box<FlacWriter>>,
    /// FLAC output: the quantized samples' buffer, reused.
    flac_bytes: Vec<u8>,
}

impl Sink {
    /// Works out `-o ARG`'s format and checks the destination (directory exists, not a
    /// directory, not the same file as any of `inputs` or stdin) before any work is done.
    ///
    /// # Errors
    /// An unknown extension, `--bits` on a raw format, or a bad destination.
    pub fn plan(
        arg: &str,
        format: Option<WireFormat>,
        bits: Option<Bits>,
        input: &StreamInfo,
        inputs: &[std::path::PathBuf],
        reads_stdin: bool,
    ) -> Result<SinkPlan> {
        let name = if arg == "-" { "stdout" } else { arg };
        let bad = |msg: String| Error::input(name, msg);
        let format = match format {
            Some(f) => f,
            None if arg == "-" => WireFormat::Wav,
            None => match crate::io::extension(Path::new(arg)).as_str() {
                "wav" | "wave" => WireFormat::Wav,
                "flac" => WireFormat::Flac,
                "txt" | "csv" => WireFormat::Text,
                "f32" => WireFormat::F32le,
                "s16" | "raw" | "pcm" => WireFormat::S16le,
                // A FIFO or device has no extension to go by: WAV, as to a pipe.
                _ if !matches!(output::classify(Path::new(arg))?, Kind::Regular(_)) => {
                    WireFormat::Wav
                }
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
            // FLAC is integer: the input's depth where it is 16 bit or less, else 24.
            WireFormat::Flac => match (bits, input.wav_format) {
                (Some(Bits::S16), _) => SampleFormat::S16,
                (Some(Bits::S24), _) => SampleFormat::S24,
                (Some(_), _) => {
                    return Err(Error::Usage(
                        "FLAC output is 16 or 24 bit (--bits 16 or --bits 24)".into(),
                    ));
                }
                (None, Some(SampleFormat::U8 | SampleFormat::S16)) => SampleFormat::S16,
                (None, _) => SampleFormat::S24,
            },
        };
        if bits.is_some() && !matches!(format, WireFormat::Wav | WireFormat::Flac) {
            return Err(Error::Usage(
                "--bits applies to WAV and FLAC output only (raw formats fix their own)".into(),
            ));
        }
        let kind = output::check(Path::new(arg), inputs, reads_stdin)?;
        if kind == Kind::Stdout {
            output::check_stdout_open()?;
        }
        Ok(SinkPlan {
            format,
            sample,
            kind,
            dither: true,
        })
    }

    /// Opens the sink (a temp file next to the target, the special file, or stdout) and
    /// writes any header. `expected_frames` (when the input's length is known) decides whether
    /// room for an RF64 header is reserved: always when unknown, or when the output may pass
    /// 4 GiB.
    ///
    /// # Errors
    /// The output cannot be opened or written.
    pub fn create(
        arg: &str,
        plan: SinkPlan,
        rate: u32,
        channels: usize,
        expected_frames: Option<u64>,
    ) -> Result<Sink> {
        let name = if arg == "-" {
            "stdout".to_string()
        } else {
            arg.to_string()
        };
        let bytes_per_frame = (channels * plan.sample.bytes()) as u64;
        let mut target = match &plan.kind {
            Kind::Stdout => Target::Stdout(BufWriter::with_capacity(1 << 16, io::stdout())),
            kind => Target::File(BufWriter::with_capacity(
                1 << 16,
                OutputFile::create(Path::new(arg), kind)?,
            )),
        };
        let seekable = matches!(&target, Target::File(f) if f.get_ref().seekable());
        // Past 2 GiB of expected data (tails and delays may add more), or unknown: reserve.
        let rf64_room =
            seekable && expected_frames.is_none_or(|f| f.saturating_mul(bytes_per_frame) > 1 << 31);
        let wav_header = (plan.format == WireFormat::Wav)
            .then(|| riff::header_bytes(rate, channels, plan.sample, None, rf64_room));
        if let (Target::File(out), Some(frames)) = (&mut target, expected_frames) {
            // Fixed-size frames: the file's length is known (a header, then the samples).
            let header = match plan.format {
                WireFormat::Wav => wav_header.as_ref().map(|h| h.len() as u64),
                WireFormat::F32le | WireFormat::S16le => Some(0),
                WireFormat::Text | WireFormat::Flac => None,
            };
            if let Some(h) = header {
                out.get_mut()
                    .expect_len(h.saturating_add(frames.saturating_mul(bytes_per_frame)));
            }
        }
        let mut sink = Sink {
            name,
            target: Some(target),
            format: plan.format,
            encoder: Encoder::new(plan.sample, plan.dither),
            sample: plan.sample,
            rate,
            channels,
            rf64_room,
            frames: 0,
            bytes: Vec::new(),
            separator: b' ',
            closed: false,
            flac: None,
            flac_bytes: Vec::new(),
        };
        if let Some(header) = wav_header {
            sink.put(&header)?;
        }
        if plan.format == WireFormat::Flac {
            let bad = |msg: String| Error::input(&sink.name, msg);
            let w = FlacWriter::new(rate, channels, plan.sample.bytes() * 8).map_err(bad)?;
            let header = w.header().map_err(bad)?;
            sink.flac = Some(Box::new(w));
            sink.put(&header)?;
        }
        Ok(sink)
    }

    /// Samples clipped so far (integer output, or beyond f32's range).
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
            Some(Target::File(out)) => out.write_all(bytes),
            None => Ok(()),
        };
        let seekable = matches!(&self.target, Some(Target::File(f)) if f.get_ref().seekable());
        match result {
            // A reader that went away (stdout, a FIFO) ends the output quietly.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe && !seekable => {
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
    ///
    /// Text output: values separated by commas (`csv`) or spaces, and a header line of column
    /// names first when `header` is given (its names joined by the separator).
    ///
    /// # Errors
    /// Writing the header fails.
    pub fn text_layout(&mut self, csv: bool, header: Option<&[String]>) -> Result<()> {
        if self.format != WireFormat::Text {
            return Ok(());
        }
        self.separator = if csv { b',' } else { b' ' };
        if let Some(names) = header {
            let sep = if csv { "," } else { " " };
            let line = format!("{}\n", names.join(sep));
            self.put(line.as_bytes())?;
        }
        Ok(())
    }

    /// # Errors
    /// The write fails (disk full...).
    pub fn write<T: Sample>(&mut self, block: &[Vec<T>]) -> Result<()> {
        let frames = block.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        if self.format == WireFormat::Text {
            // Straight into the reused byte buffer (writing to a Vec cannot fail).
            use std::io::Write as _;
            for i in 0..frames {
                for (c, ch) in block.iter().enumerate() {
                    if c > 0 {
                        bytes.push(self.separator);
                    }
                    let v = ch[i];
                    if v.is_nan() {
                        bytes.extend_from_slice(b"nan");
                    } else if v.is_infinite() {
                        bytes.extend_from_slice(if v > T::zero() { b"inf" } else { b"-inf" });
                    } else {
                        // The shortest text that reads back to the same value.
                        let _ = write!(bytes, "{v}");
                    }
                }
                bytes.push(b'\n');
            }
        } else {
            let views = crate::block::views(block, 0..frames);
            self.encoder.encode(&views, frames, &mut bytes);
            if let Some(flac) = &mut self.flac {
                // The PCM bytes become FLAC frames; the two buffers swap roles and both stay.
                let mut encoded = std::mem::take(&mut self.flac_bytes);
                encoded.clear();
                flac.push(&bytes, &mut encoded)
                    .map_err(|e| Error::input(&self.name, e))?;
                self.flac_bytes = std::mem::replace(&mut bytes, encoded);
            }
        }
        let result = self.put(&bytes);
        self.bytes = bytes;
        self.frames += frames as u64;
        result
    }

    /// Flushes and fixes a file's WAV header; the output is committed by [`Finished::commit`]
    /// (so a picture that must be written too can fail before anything is replaced).
    ///
    /// # Errors
    /// Flushing or rewriting the header fails.
    pub fn finish(mut self) -> Result<Finished> {
        let (rate, channels, sample, frames) = (self.rate, self.channels, self.sample, self.frames);
        // FLAC: the last, shorter frame, and the header with the length and MD5 filled in.
        let mut flac_header = None;
        if let Some(mut flac) = self.flac.take() {
            let mut last = Vec::new();
            let header = flac
                .finish(&mut last)
                .map_err(|e| Error::input(&self.name, e))?;
            self.put(&last)?;
            flac_header = Some(header);
        }
        match self.target.take() {
            Some(Target::Stdout(mut out)) => match out.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Finished(None)),
                Err(e) => Err(Error::write(Path::new("stdout"), &e)),
                Ok(()) => Ok(Finished(None)),
            },
            Some(Target::File(out)) => {
                let path = Path::new(&self.name);
                let mut out = match out.into_inner() {
                    Ok(o) => o,
                    Err(e) if e.error().kind() == io::ErrorKind::BrokenPipe => {
                        e.into_inner().into_parts().0
                    }
                    Err(e) => return Err(Error::write(path, e.error())),
                };
                if let Some(header) = flac_header.filter(|_| out.seekable()) {
                    let file = out.file();
                    file.seek(SeekFrom::Start(0))
                        .and_then(|_| file.write_all(&header))
                        .map_err(|e| Error::write(path, &e))?;
                }
                if self.format == WireFormat::Wav && out.seekable() {
                    let header =
                        riff::header_bytes(rate, channels, sample, Some(frames), self.rf64_room);
                    let file = out.file();
                    file.seek(SeekFrom::Start(0))
                        .and_then(|_| file.write_all(&header))
                        .map_err(|e| Error::write(path, &e))?;
                }
                Ok(Finished(Some(out)))
            }
            None => Ok(Finished(None)),
        }
    }
}

/// A finished output waiting to be put in place.
pub struct Finished(Option<OutputFile>);

impl Finished {
    /// Renames the temp file over the target (or closes the special file).
    ///
    /// # Errors
    /// The rename fails.
    pub fn commit(self) -> Result<()> {
        match self.0 {
            Some(out) => out.commit(),
            None => Ok(()),
        }
    }
}
