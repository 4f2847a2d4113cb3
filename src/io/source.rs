//! The one reader of sample streams: WAV (any PCM/float encoding, RIFF/RF64, known or
//! streaming sizes), raw f32le/s16le and text frames, from a file, a pipe or stdin. Every
//! command reads audio through it: `convoy run`'s input, `fir:` IRs, noise profiles, and the
//! WAV operands of `convoy convolve` and `convoy plot`.
//!
//! Reader thread (or setup, for whole files). Decodes into planar `f32` or `f64` blocks.
//!
//! Reading stops cleanly on Ctrl-C: before every `read` the source checks for a stop request,
//! and on a pipe, FIFO or terminal it waits in `poll` beside [`crate::engine::stop::wake_fd`]
//! rather than in `read`, so a stop is seen at once even while the producer is silent. Every
//! byte already taken from the input is then decoded, and every complete frame among them is
//! handed on: a stopped stream ends early, it does not fail.
//!
//! Memory stays bounded whatever the input: binary data is decoded block by block, and a text
//! line longer than [`MAX_LINE`] (no newline in sight, binary data) is an error.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::codec::{SampleFormat, decode};
use super::media::{self, Media};
use super::riff;
use super::{StreamInfo, WireFormat};
use crate::block::Block;
use crate::conv::Sample;
use crate::error::{Error, Result};
use crate::io::text::{parse_number, tokens};

/// Read buffer: a file arrives in blocks of tens of thousands of frames.
const READ_BUFFER: usize = 1 << 16;

/// The longest text line (one frame) accepted: 1 MiB, room for 1024 channels of 1000 digits.
pub const MAX_LINE: usize = 1 << 20;

enum Decoder {
    Binary(SampleFormat),
    Text {
        line: usize,
    },
    /// FLAC, MP3, Ogg, AIFF, CAF, MP4/M4A, through symphonia.
    Media(Box<Media>),
}

/// Bytes from the input, with a buffer of our own so nothing read is ever lost to a stop.
struct Input {
    inner: Box<dyn Read + Send + Sync>,
    /// For pipes, FIFOs, terminals and sockets: the descriptor to `poll` before reading.
    poll: Option<OwnedFd>,
    /// Read bytes are `buf[start..end]`; the buffer keeps its length (its bytes past `end` are
    /// stale) so that a read does not first zero the space it reads into.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    stopped: bool,
}

impl Input {
    fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once more: up to `want` bytes beyond what is buffered (up to a read buffer's worth
    /// when `want` is small). Returns the bytes added: 0 at the end of the input or when a stop was asked for.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.eof || self.stopped {
            return Ok(0);
        }
        if crate::engine::stop::requested() {
            self.stopped = true;
            return Ok(0);
        }
        if let Some(fd) = &self.poll {
            if !wait_readable(fd) {
                self.stopped = true;
                return Ok(0);
            }
        }
        if self.start > 0 && self.start * 2 >= self.end {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let have = self.end;
        // A block-sized request reads exactly what it asks for: reading more would leave a
        // remainder to move down before every read (a copy of up to a block each time).
        let room = if want >= READ_BUFFER / 4 {
            want
        } else {
            READ_BUFFER
        };
        if self.buf.len() < have + room {
            self.buf.resize(have + room, 0);
        }
        let got = loop {
            match self.inner.read(&mut self.buf[have..have + room]) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let n = *got.as_ref().unwrap_or(&0);
        self.end = have + n;
        if got.is_ok() && n == 0 {
            self.eof = true;
        }
        got
    }
}

/// The bytes of the input as a plain reader (for symphonia on a pipe): what is buffered first,
/// then the input itself, still stopping on Ctrl-C.
impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buffered().is_empty() && self.fill(out.len())? == 0 {
            return Ok(0);
        }
        let n = self.buffered().len().min(out.len());
        out[..n].copy_from_slice(&self.buffered()[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Blocks until `fd` has data (or its writer hung up) or a stop is asked for; false on a stop.
fn wait_readable(fd: &OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    let Some(wake) = crate::engine::stop::wake_fd() else {
        return true;
    };
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::IN),
            PollFd::new(&wake, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {
                if !fds[1].revents().is_empty() {
                    return false;
                }
                if !fds[0].revents().is_empty() {
                    return true;
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            // poll itself failed (not a pollable descriptor): just read.
            Err(_) => return true,
        }
    }
}

/// Whether reads from this descriptor can block indefinitely (not a regular file).
fn pollable(fd: &impl AsFd) -> Option<OwnedFd> {
    let st = rustix::fs::fstat(fd).ok()?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile {
        return None;
    }
    fd.as_fd().try_clone_to_owned().ok()
}

/// A stream of frames to read.
pub struct Source {
    /// As typed (`in.wav`, `stdin`), for messages.
    pub name: String,
    pub info: StreamInfo,
    input: Input,
    decoder: Decoder,
    /// Frames still expected (WAV with a known size).
    remaining: Option<u64>,
    /// An error found after some complete frames, reported on the next read.
    deferred: Option<Error>,
    done: bool,
    /// Whether the input may be cut short by the producer (a pipe, not a regular file).
    pub streamed: bool,
}

impl Source {
    /// Opens `-i ARG` (a path or `-`). `format` forces the wire format; `rate`/`channels` are
    /// needed for raw input and checked against what a header says otherwise.
    ///
    /// # Errors
    /// The input cannot be opened, or its header is bad or disagrees with `rate`/`channels`.
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
        let (inner, poll): (Box<dyn Read + Send + Sync>, Option<OwnedFd>) = if arg == "-" {
            let stdin = io::stdin();
            let poll = pollable(&stdin);
            (Box::new(stdin), poll)
        } else {
            let path = Path::new(arg);
            if path.is_dir() {
                return Err(bad("is a directory, not an input file".into()));
            }
            let file = File::open(path).map_err(|e| Error::read(path, &e))?;
            let poll = pollable(&file);
            (Box::new(file), poll)
        };
        let streamed = poll.is_some();
        let mut input = Input {
            inner,
            poll,
            buf: Vec::with_capacity(READ_BUFFER),
            start: 0,
            end: 0,
            eof: false,
            stopped: false,
        };
        // Enough of the start to tell what it is.
        while input.buffered().len() < 12 && !input.eof && !input.stopped {
            input
                .fill(READ_BUFFER)
                .map_err(|e| bad(crate::error::describe_io(&e)))?;
        }
        let head = input.buffered();
        let sniffed = if riff::is_wav(head) {
            Some(WireFormat::Wav)
        } else if matches!(format, None | Some(WireFormat::Wav | WireFormat::Flac))
            && let Some(what) = media::sniff(head)
        {
            return Source::open_media(name, arg, input, what, rate, channels);
        } else if !head.is_empty()
            && head
                .iter()
                .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        {
            Some(WireFormat::Text)
        } else {
            None
        };
        if head.is_empty() && input.stopped {
            return Err(Error::Interrupted);
        }
        // A name that promises audio over content that is not (text, or nothing known) is
        // refused as load_file refuses it, not read as a table of numbers.
        if format.is_none() && arg != "-" && sniffed != Some(WireFormat::Wav) {
            match crate::io::extension(Path::new(arg)).as_str() {
                "wav" | "wave" => return Err(bad("not a WAV file (no RIFF header)".into())),
                "flac" | "mp3" | "ogg" | "oga" | "m4a" | "mp4" | "aiff" | "aif" | "aifc"
                | "caf" | "w64" => return Err(bad("not an audio file".into())),
                _ => {}
            }
        }
        let format = match (format, sniffed) {
            (Some(f), _) => f,
            (None, Some(f)) => f,
            (None, None) if head.is_empty() => {
                return Err(bad("empty input, not a WAV file".into()));
            }
            (None, None) => return Err(bad(describe_unknown(head))),
        };
        let (info, decoder) = match format {
            WireFormat::Flac => return Err(bad("is not a FLAC stream (no fLaC marker)".into())),
            WireFormat::Wav => {
                let h = riff::read_header(&mut HeaderReader(&mut input)).map_err(bad)?;
                agrees(h.channels, h.rate, channels, rate).map_err(bad)?;
                (
                    StreamInfo {
                        rate: Some(h.rate),
                        channels: h.channels,
                        frames: h.frames,
                        wav_format: Some(h.format),
                        columns: None,
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
                        columns: None,
                    },
                    Decoder::Binary(f),
                )
            }
            WireFormat::Text => {
                // A header line (`time,value`) names the columns; channels: from the first
                // data line, unless --channels says.
                let header = text_header(&mut input).map_err(bad)?;
                let had_header = header.is_some();
                let found = first_text_width(&mut input).map_err(bad)?;
                if let (Some(h), Some(f)) = (&header, found)
                    && h.len() != f
                {
                    return Err(bad(format!(
                        "the header names {} column(s) but the first data line has {f} value(s)",
                        h.len()
                    )));
                }
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
                        columns: header,
                    },
                    Decoder::Text {
                        line: usize::from(had_header),
                    },
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
            input,
            decoder,
            deferred: None,
            done: false,
            streamed,
        })
    }

    /// A FLAC, MP3, Ogg, AIFF, CAF or MP4 input ([`media::sniff`] said `what`): a regular file is
    /// opened again for symphonia, seekable (an MP4's index may sit at its end); a pipe is read
    /// on through `input`, which still stops on Ctrl-C.
    fn open_media(
        name: String,
        arg: &str,
        input: Input,
        what: &'static str,
        rate: Option<u32>,
        channels: Option<usize>,
    ) -> Result<Source> {
        use symphonia::core::io::{MediaSource, ReadOnlySource};
        let bad = |msg: String| Error::input(&name, msg);
        let streamed = input.poll.is_some();
        let mut edit = None;
        let source: Box<dyn MediaSource> = if arg != "-" && !streamed {
            let path = Path::new(arg);
            if what == "MP4/M4A" {
                edit = media::mp4_edit_list(path);
            }
            Box::new(File::open(path).map_err(|e| Error::read(path, &e))?)
        } else {
            Box::new(ReadOnlySource::new(input))
        };
        let m = Media::open(source, what, edit).map_err(bad)?;
        agrees(m.channels, m.rate, channels, rate).map_err(bad)?;
        if m.channels > 1024 {
            return Err(bad(format!("{} channels: must be 1 to 1024", m.channels)));
        }
        let info = StreamInfo {
            rate: Some(m.rate),
            channels: m.channels,
            frames: m.frames,
            wav_format: Some(m.depth),
            columns: None,
        };
        Ok(Source {
            name,
            remaining: None,
            info,
            input: Input {
                inner: Box::new(io::empty()),
                poll: None,
                buf: Vec::new(),
                start: 0,
                end: 0,
                eof: true,
                stopped: false,
            },
            decoder: Decoder::Media(Box::new(m)),
            deferred: None,
            done: false,
            streamed,
        })
    }

    /// Whether reading ended because a stop (Ctrl-C) was asked for.
    pub fn stopped(&self) -> bool {
        match self.decoder {
            // The input moved into the decoder; a stop there reads as the end of the data.
            Decoder::Media(_) => crate::engine::stop::requested(),
            _ => self.input.stopped,
        }
    }

    /// Whether the stream came from a pipe, FIFO or terminal and broke off early (a WAV shorter
    /// than its header, a partial frame at the end): what a producer killed by the same Ctrl-C
    /// leaves behind.
    pub fn cut_short(&self) -> bool {
        self.streamed && self.input.eof && !self.input.stopped && self.done
    }

    /// Whether this stream is text (the chain then runs in f64).
    pub fn is_text(&self) -> bool {
        matches!(self.decoder, Decoder::Text { .. })
    }

    /// Reads up to `frames` frames; `None` at the end of the stream (or after a stop).
    ///
    /// # Errors
    /// A read error, a bad text line, or a stream cut short (a WAV shorter than its header
    /// says, or ending mid-frame). The complete frames before such an end are returned first;
    /// the error comes with the next call.
    pub fn read_block<T: Sample>(&mut self, frames: usize) -> Result<Option<Vec<Vec<T>>>> {
        let mut out = Block::default();
        Ok((self.read_into(&mut out, frames)? > 0).then(|| out.into_planes()))
    }

    /// Reads up to `frames` frames into `out` (cleared to the stream's channels first, its
    /// capacity reused); `Ok(0)` at the end of the stream (or after a stop).
    ///
    /// # Errors
    /// As [`Source::read_block`].
    pub fn read_into<T: Sample>(&mut self, out: &mut Block<T>, frames: usize) -> Result<usize> {
        out.clear(self.info.channels);
        self.read_appending(out.planes_mut(), frames)
    }

    /// [`Source::read_into`] appending to `out` (one plane per channel) instead of replacing.
    fn read_appending<T: Sample>(&mut self, out: &mut [Vec<T>], frames: usize) -> Result<usize> {
        if let Some(e) = self.deferred.take() {
            self.done = true;
            return Err(e);
        }
        if self.done {
            return Ok(0);
        }
        let got = match &mut self.decoder {
            Decoder::Binary(format) => {
                let format = *format;
                self.read_binary(format, frames, out)?
            }
            Decoder::Text { .. } => self.read_text(frames, out)?,
            Decoder::Media(m) => m.read(frames, out).map_err(|e| {
                self.done = true;
                Error::input(&self.name, e)
            })?,
        };
        if got == 0 {
            self.done = true;
            if let Some(e) = self.deferred.take() {
                return Err(e);
            }
        }
        Ok(got)
    }

    /// Reads the rest of the stream (at most `limit` frames) into one block per channel.
    ///
    /// # Errors
    /// As [`Source::read_block`], or more than `limit` frames (naming the limit).
    pub fn read_all<T: Sample>(&mut self, limit: usize) -> Result<Vec<Vec<T>>> {
        if let Some(frames) = self.info.frames.filter(|&f| f > limit as u64) {
            return Err(Error::input(
                &self.name,
                format!("has {frames} frames: over the limit of {limit}"),
            ));
        }
        let mut columns: Vec<Vec<T>> = vec![Vec::new(); self.info.channels];
        if let Some(f) = self.info.frames {
            for c in &mut columns {
                crate::rt::try_reserve(c, f as usize, &self.name)?;
            }
        }
        // Decoded straight onto the columns (no block copied in after).
        while self.read_appending(&mut columns, 1 << 16)? > 0 {
            if columns[0].len() > limit {
                return Err(Error::input(
                    &self.name,
                    format!("is over the limit of {limit} frames"),
                ));
            }
        }
        Ok(columns)
    }

    fn read_binary<T: Sample>(
        &mut self,
        format: SampleFormat,
        frames: usize,
        out: &mut [Vec<T>],
    ) -> Result<usize> {
        let frame = format.bytes() * self.info.channels;
        let want = match self.remaining {
            Some(0) => return Ok(0),
            Some(r) => r.min(frames as u64) as usize,
            None => frames,
        } * frame;
        // Take what the stream has: stop at a full block, or, on a pipe, as soon as at least
        // one whole frame is in and the last read came back short, so a slow producer's frames
        // move on instead of waiting for a full block.
        while self.input.buffered().len() < want {
            let before = self.input.buffered().len();
            let n = self
                .input
                .fill(want - before)
                .map_err(|e| Error::input(&self.name, crate::error::describe_io(&e)))?;
            if n == 0 || (self.input.poll.is_some() && before + n >= frame && before + n < want) {
                break;
            }
        }
        let whole = self.input.buffered().len().min(want) / frame;
        decode(format, &self.input.buffered()[..whole * frame], out);
        self.input.consume(whole * frame);
        if let Some(r) = &mut self.remaining {
            *r -= whole as u64;
        }
        // The producer ended on its own (not a stop) before what was promised: report it after
        // the complete frames. A stop is an early end, not an error.
        if self.input.eof && !self.input.stopped && self.input.buffered().len() < frame {
            if let Some(r) = self.remaining.filter(|&r| r > 0) {
                let total = self.info.frames.unwrap_or(0);
                self.deferred = Some(Error::input(
                    &self.name,
                    format!(
                        "truncated WAV: the header promises {total} frames but the data ends after {}",
                        total - r
                    ),
                ));
            } else if self.remaining.is_none() && !self.input.buffered().is_empty() {
                self.deferred = Some(Error::input(
                    &self.name,
                    format!(
                        "ends in the middle of a frame ({} stray bytes)",
                        self.input.buffered().len()
                    ),
                ));
            }
        }
        Ok(whole)
    }

    fn read_text<T: Sample>(&mut self, frames: usize, out: &mut [Vec<T>]) -> Result<usize> {
        let channels = out.len();
        let mut got = 0;
        while got < frames {
            let line_end = self.input.buffered().iter().position(|&b| b == b'\n');
            let (len, take) = match line_end {
                Some(i) => (i, i + 1),
                None => {
                    if self.input.buffered().len() > MAX_LINE {
                        let Decoder::Text { line } = self.decoder else {
                            unreachable!()
                        };
                        return Err(Error::input(
                            &self.name,
                            format!(
                                "line {}: longer than {} bytes with no end (not text frames?)",
                                line + 1,
                                MAX_LINE
                            ),
                        ));
                    }
                    if got > 0 && self.input.poll.is_some() {
                        // Hand on what we have before waiting on a slow producer.
                        break;
                    }
                    let n = self
                        .input
                        .fill(READ_BUFFER)
                        .map_err(|e| Error::input(&self.name, crate::error::describe_io(&e)))?;
                    if n > 0 {
                        continue;
                    }
                    // The end: a last line without a newline is a frame, unless a stop cut it.
                    let rest = self.input.buffered().len();
                    if rest == 0 || self.input.stopped {
                        break;
                    }
                    (rest, rest)
                }
            };
            let bytes = &self.input.buffered()[..len];
            let Decoder::Text { ref mut line } = self.decoder else {
                unreachable!()
            };
            *line += 1;
            let text = std::str::from_utf8(bytes).map_err(|_| {
                Error::input(
                    &self.name,
                    format!("line {line}: not text (invalid UTF-8 or binary data)"),
                )
            })?;
            if text.contains('\0') {
                return Err(Error::input(
                    &self.name,
                    format!("line {line}: not text (binary data)"),
                ));
            }
            // The same tokens as `convoy convolve`'s text files (io::text).
            let body = text.split('#').next().unwrap_or("");
            let toks = tokens(body.trim_start_matches('\u{feff}'));
            if !toks.is_empty() {
                if toks.len() != channels {
                    return Err(Error::input(
                        &self.name,
                        format!(
                            "line {line}: {} value(s), expected {channels} (one per channel)",
                            toks.len()
                        ),
                    ));
                }
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
                    out[c].push(T::of_f64(v));
                }
                got += 1;
            }
            self.input.consume(take);
        }
        Ok(got)
    }
}

/// `Read` over the source's buffer, for the WAV header parser: whatever it takes is consumed.
struct HeaderReader<'a>(&'a mut Input);

impl Read for HeaderReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.buffered().is_empty() {
            self.0.fill(buf.len())?;
        }
        let n = self.0.buffered().len().min(buf.len());
        buf[..n].copy_from_slice(&self.0.buffered()[..n]);
        self.0.consume(n);
        Ok(n)
    }
}

/// What an input that is neither WAV nor text looks like, for the error.
/// A header's channels and rate against what `--channels` / `--rate` say, if they say.
fn agrees(
    found_channels: usize,
    found_rate: u32,
    channels: Option<usize>,
    rate: Option<u32>,
) -> std::result::Result<(), String> {
    if let Some(c) = channels.filter(|&c| c != found_channels) {
        return Err(format!(
            "has {found_channels} channel(s) but --channels says {c}"
        ));
    }
    if let Some(r) = rate.filter(|&r| r != found_rate) {
        return Err(format!("is {found_rate} Hz but --rate says {r}"));
    }
    Ok(())
}

fn describe_unknown(head: &[u8]) -> String {
    if head.starts_with(b"\x93NUMPY") {
        "is a .npy array, not audio (use convoy convolve for arrays)".into()
    } else {
        "not a WAV or any other audio file convoy reads (FLAC, MP3, Ogg Vorbis/FLAC, AIFF, CAF, \
         MP4/M4A), nor text; for raw samples say --in-format f32le|s16le with --rate and --channels"
            .into()
    }
}

/// A header line: the first line that is not blank or a comment, if any of its tokens is not a
/// number (`time,value`); consumed, its tokens returned as the columns' names.
fn text_header(input: &mut Input) -> std::result::Result<Option<Vec<String>>, String> {
    loop {
        let buf = input.buffered();
        let Some(i) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > MAX_LINE {
                return Err(format!(
                    "first line longer than {MAX_LINE} bytes with no end (not text frames?)"
                ));
            }
            if input
                .fill(READ_BUFFER)
                .map_err(|e| crate::error::describe_io(&e))?
                == 0
            {
                return Ok(None);
            }
            continue;
        };
        let line = String::from_utf8_lossy(&buf[..i]).into_owned();
        let body = line
            .split('#')
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}');
        let toks = tokens(body);
        if toks.is_empty() {
            // Blank or comment: data reading skips it too.
            return Ok(None);
        }
        if toks.iter().all(|t| parse_number(t).is_some()) {
            return Ok(None);
        }
        let names = toks
            .iter()
            .map(|t| t.trim_matches('"').to_string())
            .collect();
        input.consume(i + 1);
        return Ok(Some(names));
    }
}

/// Peeks at the buffered text for the number of values on the first data line, reading more
/// until one complete line is in (bounded by [`MAX_LINE`]).
fn first_text_width(input: &mut Input) -> std::result::Result<Option<usize>, String> {
    let mut skip = 0;
    loop {
        let buf = &input.buffered()[skip..];
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = String::from_utf8_lossy(&buf[..i]);
                let toks = tokens(
                    line.split('#')
                        .next()
                        .unwrap_or("")
                        .trim_start_matches('\u{feff}'),
                );
                if !toks.is_empty() {
                    return Ok(Some(toks.len()));
                }
                skip += i + 1;
            }
            None => {
                if buf.len() > MAX_LINE {
                    return Err(format!(
                        "first line longer than {MAX_LINE} bytes with no end (not text frames?)"
                    ));
                }
                let n = input
                    .fill(READ_BUFFER)
                    .map_err(|e| crate::error::describe_io(&e))?;
                if n == 0 {
                    let rest = String::from_utf8_lossy(&input.buffered()[skip..]).into_owned();
                    let toks = tokens(rest.split('#').next().unwrap_or(""));
                    return Ok((!toks.is_empty()).then_some(toks.len()));
                }
            }
        }
    }
}
