//! Streams of audio frames: where `convoy run` reads them from and writes them to.
//!
//! Reader and writer threads. A [`Source`] hands out planar `f32` or `f64` blocks from a WAV
//! file, a pipe or stdin (WAV recognized by its header, raw f32le/s16le, or text one frame per
//! line); it is the one reader of WAV for every command. A [`Sink`] takes planar blocks to a
//! WAV, raw or text output (a regular file through a temp file renamed at the end, a FIFO,
//! device or stdout streamed to).

pub mod codec;
pub mod sink;
pub mod source;
pub mod wav;

use codec::SampleFormat;
pub use sink::{Finished, Sink, SinkPlan};
pub use source::Source;

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

/// `--dither` for integer output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
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
}
