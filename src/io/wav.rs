//! WAV files through hound: read any PCM/float WAV into (frames, channels) f64, write 32-bit
//! float.
//!
//! Setup/offline code; any thread.
//!
//! Integer PCM maps to float as `x / 2^(bits - 1)` (-32768 -> -1.0 for 16 bits), the libsndfile
//! and soundfile convention, so numbers match `soundfile.read(..., dtype='float64')`.

use std::io::{Read, Seek, Write};

use crate::array::Array;
use crate::error::{Error, Result};

/// Reads a WAV file; a mono file is 1-D, more channels give a (frames, channels) array.
pub fn read_wav(name: &str, reader: impl Read) -> Result<Array> {
    let bad = |msg: String| Error::input(name, msg);
    let mut wav = hound::WavReader::new(reader).map_err(|e| bad(describe_hound(&e)))?;
    let spec = wav.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(bad("WAV header says 0 channels".into()));
    }
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => {
            if spec.bits_per_sample != 32 {
                return Err(bad(format!(
                    "{}-bit float WAV is not supported by the reader (32-bit float is)",
                    spec.bits_per_sample
                )));
            }
            wav.samples::<f32>()
                .map(|s| s.map(f64::from))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(describe_hound(&e)))?
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / f64::from(1u32 << (spec.bits_per_sample - 1));
            wav.samples::<i32>()
                .map(|s| s.map(|v| f64::from(v) * scale))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(describe_hound(&e)))?
        }
    };
    let frames = samples.len() / channels;
    let mut array = if channels == 1 {
        Array::from_vec(samples)
    } else {
        Array::from_rows(&samples, frames, channels)
    };
    array.sample_rate = Some(spec.sample_rate);
    Ok(array)
}

fn describe_hound(e: &hound::Error) -> String {
    match e {
        hound::Error::IoError(io) => crate::error::describe_io(io),
        hound::Error::FormatError(msg) => format!("not a valid WAV file ({msg})"),
        hound::Error::TooWide => "sample width too large for this WAV reader".into(),
        hound::Error::Unsupported => "unsupported WAV format".into(),
        other => other.to_string(),
    }
}

/// Writes `array` as 32-bit float WAV at `sample_rate` (each column one channel).
pub fn write_wav(out: impl Write + Seek, array: &Array, sample_rate: u32) -> std::io::Result<()> {
    let channels = u16::try_from(array.width()).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "too many channels for WAV",
        )
    })?;
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let to_io = |e: hound::Error| match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    let mut writer = hound::WavWriter::new(out, spec).map_err(to_io)?;
    for r in 0..array.rows() {
        for column in &array.columns {
            writer.write_sample(column[r] as f32).map_err(to_io)?;
        }
    }
    writer.finalize().map_err(to_io)
}
