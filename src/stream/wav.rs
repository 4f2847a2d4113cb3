//! Streaming WAV: header parsing and writing, for files and pipes.
//!
//! Reader/writer threads. hound (used by the one-shot commands) needs a seekable writer and
//! decodes sample by sample; a pipeline has to write to pipes and move millions of samples, so
//! this module reads and writes the header itself and leaves the sample data to
//! [`super::codec`], which converts whole blocks.
//!
//! A WAV streamed to a pipe cannot know its length: convoy writes 0xFFFFFFFF as the RIFF and
//! data sizes (what sox and ffmpeg expect; sox reads nothing when they are 0), and reads a data
//! size of 0 or 0xFFFFFFFF as "until the end of the stream".

use std::io::{self, Read, Write};

use super::codec::SampleFormat;

/// What a WAV header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavHeader {
    pub rate: u32,
    pub channels: usize,
    pub format: SampleFormat,
    /// Frames in the data chunk, when the header gives a usable size.
    pub frames: Option<u64>,
}

const PCM: u16 = 1;
const FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;

/// Reads a WAV header from `r`, leaving it at the first sample. Errors are worded for a person.
pub fn read_header(r: &mut impl Read) -> Result<WavHeader, String> {
    let mut riff = [0u8; 12];
    read_full(r, &mut riff)
        .map_err(|e| e.unwrap_or_else(|| "empty input, not a WAV file".into()))?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err("not a WAV file (no RIFF/WAVE header)".into());
    }
    let mut fmt: Option<(u16, usize, u32, u16, u16)> = None;
    loop {
        let mut chunk = [0u8; 8];
        read_full(r, &mut chunk)
            .map_err(|e| e.unwrap_or_else(|| "truncated WAV header (no data chunk)".into()))?;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match &chunk[0..4] {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(format!("bad WAV fmt chunk size {size}"));
                }
                let mut body = vec![0u8; size as usize + (size as usize & 1)];
                read_full(r, &mut body)
                    .map_err(|e| e.unwrap_or_else(|| "truncated WAV fmt chunk".into()))?;
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let mut tag = u16_at(0);
                let channels = usize::from(u16_at(2));
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let block_align = u16_at(12);
                let bits = u16_at(14);
                if tag == EXTENSIBLE {
                    if size < 40 {
                        return Err("bad WAVE_FORMAT_EXTENSIBLE fmt chunk".into());
                    }
                    tag = u16_at(24);
                }
                fmt = Some((tag, channels, rate, block_align, bits));
            }
            b"data" => {
                let Some((tag, channels, rate, block_align, bits)) = fmt else {
                    return Err("WAV data chunk before its fmt chunk".into());
                };
                let format = match (tag, bits) {
                    (PCM, 8) => SampleFormat::U8,
                    (PCM, 16) => SampleFormat::S16,
                    (PCM, 24) => SampleFormat::S24,
                    (PCM, 32) => SampleFormat::S32,
                    (FLOAT, 32) => SampleFormat::F32,
                    (FLOAT, 64) => SampleFormat::F64,
                    (PCM | FLOAT, b) => {
                        return Err(format!(
                            "{b}-bit {} WAV is not supported (8/16/24/32-bit integer, 32/64-bit float are)",
                            if tag == PCM { "integer" } else { "float" }
                        ));
                    }
                    (t, _) => {
                        return Err(format!(
                            "WAV encoding 0x{t:04x} is not supported (PCM or IEEE float only)"
                        ));
                    }
                };
                if channels == 0 {
                    return Err("WAV header says 0 channels".into());
                }
                if rate == 0 {
                    return Err("WAV header says 0 Hz".into());
                }
                if usize::from(block_align) != channels * format.bytes() {
                    return Err(format!(
                        "inconsistent WAV header (block align {block_align} for {channels} x {bits}-bit)"
                    ));
                }
                let frames = match size {
                    0 | u32::MAX => None,
                    n => Some(u64::from(n) / u64::from(block_align)),
                };
                return Ok(WavHeader {
                    rate,
                    channels,
                    format,
                    frames,
                });
            }
            _ => {
                // Any other chunk (LIST, fact, cue...): skip it, with its pad byte.
                let mut left = u64::from(size) + u64::from(size & 1);
                let mut sink = [0u8; 4096];
                while left > 0 {
                    let n = left.min(sink.len() as u64) as usize;
                    read_full(r, &mut sink[..n])
                        .map_err(|e| e.unwrap_or_else(|| "truncated WAV header".into()))?;
                    left -= n as u64;
                }
            }
        }
    }
}

/// `read_exact` that tells "ended early" (`Err(None)`) from an I/O error (`Err(Some)`).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<(), Option<String>> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(None),
        Err(e) => Err(Some(crate::error::describe_io(&e))),
    }
}

/// The 44-byte (or 80-byte extensible) header for `frames` frames, or a streaming header
/// (sizes 0xFFFFFFFF) when `frames` is `None`.
pub fn header_bytes(
    rate: u32,
    channels: usize,
    format: SampleFormat,
    frames: Option<u64>,
) -> Vec<u8> {
    let bytes = format.bytes();
    let block_align = (channels * bytes) as u16;
    let float = matches!(format, SampleFormat::F32 | SampleFormat::F64);
    // More than two channels, or more than 16 bits of integer: WAVE_FORMAT_EXTENSIBLE, as the
    // format's spec asks (sox and ffmpeg read both).
    let extensible = channels > 2 || (!float && bytes > 2);
    // Non-PCM formats carry a cbSize field (fmt chunk of 18 bytes); sox warns without it.
    let fmt_len: u32 = if extensible {
        40
    } else if float {
        18
    } else {
        16
    };
    let data_len = frames.map(|f| f.saturating_mul(u64::from(block_align)));
    let (riff_size, data_size) = match data_len {
        Some(d) if d + 20 + u64::from(fmt_len) + 8 <= u64::from(u32::MAX) => {
            (d as u32 + 4 + 8 + fmt_len + 8, d as u32)
        }
        _ => (u32::MAX, u32::MAX),
    };
    let mut h = Vec::with_capacity(80);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&riff_size.to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&fmt_len.to_le_bytes());
    let tag = if extensible {
        EXTENSIBLE
    } else if float {
        FLOAT
    } else {
        PCM
    };
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&(channels as u16).to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate.saturating_mul(u32::from(block_align))).to_le_bytes());
    h.extend_from_slice(&block_align.to_le_bytes());
    h.extend_from_slice(&((bytes * 8) as u16).to_le_bytes());
    if float && !extensible {
        h.extend_from_slice(&0u16.to_le_bytes());
    }
    if extensible {
        h.extend_from_slice(&22u16.to_le_bytes());
        h.extend_from_slice(&((bytes * 8) as u16).to_le_bytes());
        let mask: u32 = if channels <= 18 {
            (1u32 << channels) - 1
        } else {
            0
        };
        h.extend_from_slice(&mask.to_le_bytes());
        let sub = if float { FLOAT } else { PCM };
        h.extend_from_slice(&sub.to_le_bytes());
        h.extend_from_slice(&[
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
    }
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_size.to_le_bytes());
    h
}

/// Writes a header (see [`header_bytes`]).
pub fn write_header(
    w: &mut impl Write,
    rate: u32,
    channels: usize,
    format: SampleFormat,
    frames: Option<u64>,
) -> io::Result<()> {
    w.write_all(&header_bytes(rate, channels, format, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_for_every_format_and_streaming_sizes() {
        for format in [
            SampleFormat::U8,
            SampleFormat::S16,
            SampleFormat::S24,
            SampleFormat::S32,
            SampleFormat::F32,
            SampleFormat::F64,
        ] {
            for channels in [1, 2, 6] {
                for frames in [Some(0u64), Some(1000), None] {
                    let h = header_bytes(44_100, channels, format, frames);
                    let got = read_header(&mut &h[..]).unwrap();
                    assert_eq!(got.rate, 44_100);
                    assert_eq!(got.channels, channels);
                    assert_eq!(got.format, format);
                    // A data size of 0 reads as "unknown", like 0xFFFFFFFF.
                    let want = frames.filter(|&f| f > 0);
                    assert_eq!(got.frames, want);
                }
            }
        }
    }

    #[test]
    fn rejects_non_wav_and_truncated_headers() {
        assert!(read_header(&mut &b"hello world, not a wav"[..]).is_err());
        let h = header_bytes(8000, 1, SampleFormat::S16, Some(10));
        assert!(
            read_header(&mut &h[..30])
                .unwrap_err()
                .contains("truncated")
        );
        assert!(read_header(&mut &b""[..]).unwrap_err().contains("empty"));
    }
}
