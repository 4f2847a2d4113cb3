//! Everything that crosses the program's edge: sample streams ([`Source`], the one reader of
//! WAV/raw/text streams, and [`Sink`]), whole arrays for the one-shot commands (.txt/.csv, .npy,
//! .wav, images, stdin, inline lists), and [`output`], where every output of every command goes.
//!
//! Setup code, and the reader and writer threads of a run. Outputs go to a temporary file beside
//! the target and are renamed over it only when complete, so a failed run never leaves a partial
//! file or spoils an existing one, and an output that is one of the inputs is refused before
//! anything is written.
//!
//! Every stream any command reads goes through [`Source`] (WAV, RF64, raw, text; files, pipes,
//! stdin), a block at a time:
//!
//! ```
//! use convoy::Block;
//! use convoy::io::Source;
//!
//! # fn main() -> convoy::Result<()> {
//! let mut source = Source::open("samples/speech_noisy.wav", None, None, None)?;
//! let mut block = Block::<f32>::default();
//! let mut frames = 0;
//! loop {
//!     let n = source.read_into(&mut block, 4096)?;
//!     if n == 0 { break; }
//!     frames += n as u64;
//! }
//! assert_eq!(Some(frames), source.info.frames);
//! # Ok(())
//! # }
//! ```

pub mod codec;
#[cfg(feature = "device")]
pub mod device;
pub mod flac_out;
pub mod media;
pub mod npy;
pub mod operand;
pub mod output;
pub mod planes;
pub mod riff;
pub mod sink;
pub mod source;
pub mod text;
pub mod wav;

pub use codec::SampleFormat;
pub use sink::{Finished, Sink, SinkPlan};
pub use source::Source;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::error::{Error, Result};

/// Where a command-line operand gets its numbers from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, as text.
    Stdin,
    /// An inline list such as "0.25 0.5 0.25".
    Inline(String),
}

impl Operand {
    /// Classifies an argument: `-` is stdin; a path that exists is that file; an argument with
    /// whitespace or commas, or a single number, is an inline list; anything else is a file
    /// that does not exist (an error naming it).
    pub fn classify(arg: &str, role: &str) -> Result<Operand> {
        if arg == "-" {
            return Ok(Operand::Stdin);
        }
        let path = Path::new(arg);
        if !arg.is_empty() && path.exists() {
            return Ok(Operand::File(path.to_path_buf()));
        }
        if text::looks_inline(arg) {
            return Ok(Operand::Inline(arg.to_string()));
        }
        if arg.trim().is_empty() {
            return Err(Error::input(
                format!("{role} \"{arg}\""),
                format!("no numbers ({})", crate::error::numpy_empty(role)),
            ));
        }
        Err(Error::input(
            arg,
            format!("no such file (and not a list of numbers for the {role})"),
        ))
    }

    /// Reads the operand's array; `role` ("signal"/"kernel") names it in errors.
    pub fn load(&self, role: &str) -> Result<Array> {
        let array = match self {
            Operand::Inline(text) => text::parse_inline(role, text)?,
            Operand::Stdin => {
                let name = format!("{role} (stdin)");
                let buf = read_text(&name, io::stdin(), MAX_TEXT_BYTES)?;
                text::parse_text(&name, &buf)?
            }
            Operand::File(path) => load_file(path)?,
        };
        if array.is_empty() {
            return Err(Error::input(
                self.display(),
                format!("the {role} is empty ({})", crate::error::numpy_empty(role)),
            ));
        }
        Ok(array)
    }

    /// How the operand is named in messages.
    pub fn display(&self) -> String {
        match self {
            Operand::File(p) => p.display().to_string(),
            Operand::Stdin => "stdin".into(),
            Operand::Inline(t) => format!("\"{t}\""),
        }
    }
}

/// The formats a file can hold, from its first bytes (the extension only has to agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Npy,
    Wav,
}

/// A path's extension, lower-cased ("" when it has none).
pub fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The most text read as one array (a file, stdin or `--chain`): 1 GiB.
pub const MAX_TEXT_BYTES: usize = 1 << 30;

/// Reads a .txt/.csv, .npy or .wav file; the content decides, and a .wav or .npy name whose
/// content is something else is an error. Every read is bounded: text by [`MAX_TEXT_BYTES`]
/// (binary data is refused as soon as it shows), WAV and .npy by their sample limits, checked
/// against the header before anything is allocated.
///
/// # Errors
/// Unreadable, malformed or too large: one line naming the file.
pub fn load_file(path: &Path) -> Result<Array> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::read(path, &e))?;
    let meta = file.metadata().map_err(|e| Error::read(path, &e))?;
    if meta.is_dir() {
        return Err(Error::input(&name, "is a directory, not a file"));
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| Error::read(path, &e))?;
    let format = if head.starts_with(b"\x93NUMPY") {
        Format::Npy
    } else if riff::is_wav(head) || media::sniff(head).is_some() {
        // WAV, or audio decoded through symphonia (FLAC, MP3, ...): both by Source.
        Format::Wav
    } else {
        Format::Text
    };
    match (extension(path).as_str(), format) {
        ("wav", f) if f != Format::Wav => {
            return Err(Error::input(&name, "not a WAV file (no RIFF header)"));
        }
        ("flac" | "mp3" | "ogg" | "m4a" | "aiff" | "aif" | "caf", f) if f != Format::Wav => {
            return Err(Error::input(&name, "not an audio file"));
        }
        ("npy", f) if f != Format::Npy => {
            return Err(Error::input(&name, "not a .npy file (no NUMPY magic)"));
        }
        _ => {}
    }
    match format {
        Format::Npy => {
            let size = meta.is_file().then_some(meta.len());
            npy::read_npy(&name, reader, size)
        }
        Format::Wav => {
            drop(reader);
            wav::read_wav(path)
        }
        Format::Text => {
            let text = read_text(&name, reader, MAX_TEXT_BYTES)?;
            text::parse_text(&name, &text)
        }
    }
}

/// Reads at most `limit` bytes of text, refusing binary data (a NUL byte or invalid UTF-8) as
/// soon as it appears, so `/dev/zero` or a stray binary file fails at once instead of filling
/// memory.
///
/// # Errors
/// Binary data, more than `limit` bytes, or a read error.
pub fn read_text(name: &str, mut reader: impl Read, limit: usize) -> Result<String> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let mut checked = 0;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::input(name, crate::error::describe_io(&e))),
        };
        if bytes.len() + n > limit {
            return Err(Error::input(
                name,
                format!("is over the limit of {} MiB of text", limit >> 20),
            ));
        }
        bytes.extend_from_slice(&chunk[..n]);
        // Check what has arrived (a character cut at the chunk's end is checked next time).
        let fresh = &bytes[checked..];
        if fresh.contains(&0) {
            return Err(Error::input(name, "not text, .npy or WAV (binary data)"));
        }
        match std::str::from_utf8(fresh) {
            Ok(_) => checked = bytes.len(),
            Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
            Err(_) => {
                return Err(Error::input(name, "not text, .npy or WAV (invalid UTF-8)"));
            }
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::input(name, "not text, .npy or WAV (invalid UTF-8)"))
}

/// Where a result goes and in which form.
#[derive(Clone, Debug)]
pub struct Destination {
    /// `None` for stdout.
    pub path: Option<PathBuf>,
    kind: OutKind,
    target: output::Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutKind {
    Text,
    Csv,
    Npy,
    Wav,
}

impl Destination {
    /// Validates `-o PATH` before any work is done: a known extension, an existing directory,
    /// and not the same file as any of `inputs` (or stdin, when `reads_stdin`).
    pub fn new(path: Option<&Path>, inputs: &[&Path], reads_stdin: bool) -> Result<Destination> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            output::check_stdout_open()?;
            return Ok(Destination {
                path: None,
                kind: OutKind::Text,
                target: output::Kind::Stdout,
            });
        };
        let name = path.display().to_string();
        let target = output::check(path, inputs, reads_stdin)?;
        let kind = match extension(path).as_str() {
            "txt" => OutKind::Text,
            "csv" => OutKind::Csv,
            "npy" => OutKind::Npy,
            "wav" => OutKind::Wav,
            // stdout by another name, a FIFO, a device: text, as stdout gets.
            _ if !matches!(target, output::Kind::Regular(_)) => OutKind::Text,
            other => {
                let shown = if other.is_empty() {
                    "no extension".to_string()
                } else {
                    format!("'.{other}'")
                };
                return Err(Error::input(
                    &name,
                    format!("output has {shown}; use .txt, .csv, .npy or .wav (or - for stdout)"),
                ));
            }
        };
        if target == output::Kind::Stdout {
            output::check_stdout_open()?;
        }
        Ok(Destination {
            path: Some(path.to_path_buf()),
            kind,
            target,
        })
    }

    /// Writes `array` (float64 .npy); at `sample_rate` for WAV.
    pub fn write(&self, array: &Array, sample_rate: u32) -> Result<()> {
        let path = self.path.as_deref().unwrap_or(Path::new("-"));
        let kind = self.kind;
        output::write_whole(path, &self.target, |mut out| match kind {
            OutKind::Text => text::write_text(&mut out, array, " "),
            OutKind::Csv => text::write_text(&mut out, array, ","),
            OutKind::Npy => npy::write_npy(&mut out, array),
            OutKind::Wav => wav::write_wav(out, array, sample_rate),
        })
    }
}

/// The directory a path is in ("." for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The wire formats of `--in-format` / `--out-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFormat {
    /// RIFF WAV (any PCM/float encoding when reading).
    Wav,
    /// Raw interleaved 32-bit float, little-endian (needs --rate and --channels to read).
    F32le,
    /// Raw interleaved signed 16-bit, little-endian (needs --rate and --channels to read).
    S16le,
    /// Text: one frame per line, channels separated by spaces or commas.
    Text,
    /// FLAC, 16 or 24 bit (reading: any audio file is recognized by content anyway).
    Flac,
}

/// `--bits` for WAV output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bits {
    S16,
    S24,
    S32,
    F32,
}

/// `--dither` for integer output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dither {
    /// Triangular (TPDF) dither, +-1 LSB, on samples not already on the output's grid.
    #[default]
    Tpdf,
    /// Round to the nearest code.
    None,
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
    /// Text with a header line (`time,value,...`): the columns' names.
    pub columns: Option<Vec<String>>,
}
