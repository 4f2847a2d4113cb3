//! WAV files as whole arrays, for the one-shot commands (`convoy convolve`, `convoy plot`,
//! `taps:@`): read through the streaming reader every command shares ([`crate::io::Source`]:
//! 8/16/24/32-bit integer, 32/64-bit float, RIFF or RF64, known or streaming sizes), written
//! as 32-bit float with the same header writer as `convoy run`.
//!
//! Setup/offline code; any thread.
//!
//! Integer PCM maps to float as `x / 2^(bits - 1)` (-32768 -> -1.0 for 16 bits), the libsndfile
//! and soundfile convention, so numbers match `soundfile.read(..., dtype='float64')`; 64-bit
//! float samples keep every bit.

use std::io::Write;
use std::path::Path;

use crate::array::Array;
use crate::error::Result;
use crate::io::codec::{Encoder, SampleFormat};
use crate::io::{Source, WireFormat};

/// Most samples (frames x channels) a WAV read as an array may hold: 2^28, 2 GiB of f64.
pub const MAX_SAMPLES: usize = 1 << 28;

/// Reads a WAV file; a mono file is 1-D, more channels give a (frames, channels) array.
///
/// # Errors
/// Not a readable WAV (one line naming the file), or too large.
pub fn read_wav(path: &Path) -> Result<Array> {
    let mut source = Source::open(
        &path.display().to_string(),
        Some(WireFormat::Wav),
        None,
        None,
    )?;
    let channels = source.info.channels;
    let columns: Vec<Vec<f64>> = source.read_all(MAX_SAMPLES / channels)?;
    let mut array = if channels == 1 {
        Array::from_vec(columns.into_iter().next().unwrap_or_default())
    } else {
        Array::from_columns(columns)
    };
    array.sample_rate = source.info.rate;
    Ok(array)
}

/// Writes `array` as 32-bit float WAV at `sample_rate` (each column one channel).
///
/// # Errors
/// The write fails, or there are more channels than WAV can hold.
pub fn write_wav(out: &mut dyn Write, array: &Array, sample_rate: u32) -> std::io::Result<()> {
    if array.width() > usize::from(u16::MAX) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "too many channels for WAV",
        ));
    }
    let header = crate::io::riff::header_bytes(
        sample_rate,
        array.width(),
        SampleFormat::F32,
        Some(array.rows() as u64),
        false,
    );
    out.write_all(&header)?;
    let mut encoder = Encoder::new(SampleFormat::F32, false);
    let mut bytes = Vec::new();
    for start in (0..array.rows()).step_by(1 << 16) {
        let end = (start + (1 << 16)).min(array.rows());
        let views: Vec<&[f64]> = array.columns.iter().map(|c| &c[start..end]).collect();
        bytes.clear();
        encoder.encode(&views, end - start, &mut bytes);
        out.write_all(&bytes)?;
    }
    Ok(())
}
