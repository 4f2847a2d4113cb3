//! WAV headers (RIFF, RF64/BW64): parsing and writing, for files and pipes.
//!
//! Reader/writer threads. hound needs a seekable writer, decodes sample by sample and knows
//! neither 64-bit float, streaming sizes nor RF64; a pipeline has to write to pipes and move
//! millions of samples, so this module reads and writes the header itself and leaves the
//! sample data to [`super::codec`], which converts whole blocks. Every command reads WAV
//! through it (hound stays as the tests' independent reader and writer).
//!
//! A WAV streamed to a pipe cannot know its length: convoy writes 0xFFFFFFFF as the RIFF and
//! data sizes (what sox and ffmpeg expect; sox reads nothing when they are 0), and reads a data
//! size of 0 or 0xFFFFFFFF as "until the end of the stream".

use std::io::{self, Read};

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
///
/// RIFF, and RF64/BW64 (the 64-bit sizes of EBU Tech 3306, for data over 4 GiB, in a `ds64`
/// chunk). A data size of 0xFFFFFFFF means "until the end of the stream" (what streaming
/// writers, convoy among them, put there). A data size of 0 means the same only when the RIFF
/// size does not say otherwise: with a real RIFF size it is an empty chunk and the search goes
/// on to the next `data` chunk, so its header is never read as samples.
pub fn read_header(r: &mut impl Read) -> Result<WavHeader, String> {
    let mut riff = [0u8; 12];
    read_full(r, &mut riff)
        .map_err(|e| e.unwrap_or_else(|| "empty input, not a WAV file".into()))?;
    if riff.starts_with(&W64_RIFF[..12]) {
        return read_w64_header(r);
    }
    let rf64 = match &riff[0..4] {
        b"RIFF" => false,
        b"RF64" | b"BW64" => true,
        b"RIFX" => return Err("big-endian (RIFX) WAV is not supported".into()),
        _ => return Err("not a WAV file (no RIFF/WAVE header)".into()),
    };
    if &riff[8..12] != b"WAVE" {
        return Err("not a WAV file (a RIFF file, but not WAVE)".into());
    }
    let riff_size = u32::from_le_bytes([riff[4], riff[5], riff[6], riff[7]]);
    // A RIFF size that means something (not a streaming placeholder), and how much of the RIFF
    // body has been read.
    let riff_known = !rf64 && riff_size != 0 && riff_size != u32::MAX;
    let mut consumed: u64 = 4;
    let mut ds64_data: Option<u64> = None;
    let mut fmt: Option<(u16, usize, u32, u16, u16)> = None;
    loop {
        let mut chunk = [0u8; 8];
        read_full(r, &mut chunk)
            .map_err(|e| e.unwrap_or_else(|| "truncated WAV header (no data chunk)".into()))?;
        consumed += 8;
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        match &chunk[0..4] {
            b"ds64" if rf64 => {
                if size < 24 {
                    return Err(format!("bad RF64 ds64 chunk size {size}"));
                }
                let mut body = [0u8; 24];
                read_full(r, &mut body)
                    .map_err(|e| e.unwrap_or_else(|| "truncated RF64 ds64 chunk".into()))?;
                let u64_at = |i: usize| {
                    u64::from_le_bytes([
                        body[i],
                        body[i + 1],
                        body[i + 2],
                        body[i + 3],
                        body[i + 4],
                        body[i + 5],
                        body[i + 6],
                        body[i + 7],
                    ])
                };
                ds64_data = Some(u64_at(8));
                skip(r, u64::from(size) - 24 + u64::from(size & 1))?;
                consumed += u64::from(size) + u64::from(size & 1);
            }
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    return Err(format!("bad WAV fmt chunk size {size}"));
                }
                let mut body = vec![0u8; size as usize + (size as usize & 1)];
                read_full(r, &mut body)
                    .map_err(|e| e.unwrap_or_else(|| "truncated WAV fmt chunk".into()))?;
                consumed += body.len() as u64;
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
                if size == 0 && riff_known && u64::from(riff_size) > consumed {
                    // An empty data chunk with more chunks after it.
                    continue;
                }
                let format = sample_format(tag, channels, rate, block_align, bits)?;
                let bytes = match size {
                    u32::MAX if rf64 => ds64_data,
                    u32::MAX => None,
                    0 if !riff_known => None,
                    n => Some(u64::from(n)),
                };
                return Ok(WavHeader {
                    rate,
                    channels,
                    format,
                    frames: bytes.map(|b| b / u64::from(block_align)),
                });
            }
            _ => {
                // Any other chunk (LIST, fact, JUNK, cue...): skip it, with its pad byte.
                let len = u64::from(size) + u64::from(size & 1);
                skip(r, len)?;
                consumed += len;
            }
        }
    }
}

/// The encoding a fmt chunk describes (shared by RIFF/RF64 and Wave64), checked.
fn sample_format(
    tag: u16,
    channels: usize,
    rate: u32,
    block_align: u16,
    bits: u16,
) -> Result<SampleFormat, String> {
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
    Ok(format)
}

/// Sony Wave64: a RIFF whose chunk ids are GUIDs (the first 4 bytes a fourcc) and whose sizes
/// are 64-bit, counting the 24-byte chunk header, bodies aligned to 8 bytes. The 16-byte riff
/// GUID (then the file size and the wave GUID).
const W64_RIFF: [u8; 16] = [
    b'r', b'i', b'f', b'f', 0x2E, 0x91, 0xCF, 0x11, 0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00,
];
/// The tail shared by the `wave`, `fmt ` and `data` GUIDs.
const W64_TAIL: [u8; 12] = [
    0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1, 0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A,
];

/// Whether `head` starts like a WAV of any kind [`read_header`] knows: RIFF, RF64, BW64, RIFX
/// (to refuse it by name) or Wave64 (its riff GUID).
pub fn is_wav(head: &[u8]) -> bool {
    [b"RIFF", b"RF64", b"BW64", b"RIFX"]
        .iter()
        .any(|m| head.starts_with(*m))
        || (head.len() >= 12 && head.starts_with(&W64_RIFF[..12]))
}

/// The rest of a Wave64 header, after the first 12 bytes of its riff GUID.
fn read_w64_header(r: &mut impl Read) -> Result<WavHeader, String> {
    let truncated = |e: Option<String>| e.unwrap_or_else(|| "truncated Wave64 header".into());
    let mut rest = [0u8; 28];
    read_full(r, &mut rest).map_err(truncated)?;
    if rest[..4] != W64_RIFF[12..] || &rest[12..16] != b"wave" || rest[16..] != W64_TAIL {
        return Err("not a Wave64 file (a riff GUID, but not wave)".into());
    }
    let mut fmt: Option<(u16, usize, u32, u16, u16)> = None;
    loop {
        let mut head = [0u8; 24];
        read_full(r, &mut head)
            .map_err(|e| e.unwrap_or_else(|| "truncated Wave64 header (no data chunk)".into()))?;
        let size = u64::from_le_bytes(head[16..24].try_into().unwrap_or([0; 8]));
        let Some(body) = size.checked_sub(24) else {
            return Err(format!("bad Wave64 chunk size {size}"));
        };
        let pad = (8 - body % 8) % 8;
        let known = head[4..16] == W64_TAIL;
        match &head[0..4] {
            b"fmt " if known => {
                if !(16..=1024).contains(&body) {
                    return Err(format!("bad Wave64 fmt chunk size {body}"));
                }
                let mut b = vec![0u8; (body + pad) as usize];
                read_full(r, &mut b).map_err(truncated)?;
                let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
                let mut tag = u16_at(0);
                if tag == EXTENSIBLE {
                    if body < 40 {
                        return Err("bad WAVE_FORMAT_EXTENSIBLE fmt chunk".into());
                    }
                    tag = u16_at(24);
                }
                let rate = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                fmt = Some((tag, usize::from(u16_at(2)), rate, u16_at(12), u16_at(14)));
            }
            b"data" if known => {
                let Some((tag, channels, rate, block_align, bits)) = fmt else {
                    return Err("Wave64 data chunk before its fmt chunk".into());
                };
                let format = sample_format(tag, channels, rate, block_align, bits)?;
                return Ok(WavHeader {
                    rate,
                    channels,
                    format,
                    frames: Some(body / u64::from(block_align)),
                });
            }
            _ => skip(r, body + pad)?,
        }
    }
}

/// Reads and drops `len` bytes.
fn skip(r: &mut impl Read, len: u64) -> Result<(), String> {
    let mut left = len;
    let mut sink = [0u8; 4096];
    while left > 0 {
        let n = left.min(sink.len() as u64) as usize;
        read_full(r, &mut sink[..n])
            .map_err(|e| e.unwrap_or_else(|| "truncated WAV header".into()))?;
        left -= n as u64;
    }
    Ok(())
}

/// `read_exact` that tells "ended early" (`Err(None)`) from an I/O error (`Err(Some)`).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<(), Option<String>> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(None),
        Err(e) => Err(Some(crate::error::describe_io(&e))),
    }
}

/// Bytes a `JUNK` chunk reserves ahead of `fmt ` so the header can become RF64 in place
/// (a `ds64` chunk of the same size) when the data turns out to pass 4 GiB.
const DS64_CHUNK: usize = 8 + 28;

/// The WAV header for `frames` frames, or a streaming header (sizes 0xFFFFFFFF) when `frames`
/// is `None`. With `rf64_room`, a `JUNK` chunk holds room for a `ds64` chunk, and a known size
/// over 4 GiB is written as RF64 in the same number of bytes (what sox and ffmpeg read);
/// without it such a size is written as the streaming placeholder.
pub fn header_bytes(
    rate: u32,
    channels: usize,
    format: SampleFormat,
    frames: Option<u64>,
    rf64_room: bool,
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
    let junk = if rf64_room { DS64_CHUNK as u64 } else { 0 };
    let data_len = frames.map(|f| f.saturating_mul(u64::from(block_align)));
    let head = 4 + junk + 8 + u64::from(fmt_len) + 8;
    let fits = data_len.is_some_and(|d| d + head <= u64::from(u32::MAX));
    let big = data_len.filter(|_| !fits && rf64_room);
    let (riff_size, data_size) = match data_len {
        Some(d) if fits => ((d + head) as u32, d as u32),
        _ => (u32::MAX, u32::MAX),
    };
    let mut h = Vec::with_capacity(96);
    h.extend_from_slice(if big.is_some() { b"RF64" } else { b"RIFF" });
    h.extend_from_slice(&riff_size.to_le_bytes());
    h.extend_from_slice(b"WAVE");
    if rf64_room {
        match big {
            Some(d) => {
                h.extend_from_slice(b"ds64");
                h.extend_from_slice(&28u32.to_le_bytes());
                h.extend_from_slice(&(d + head).to_le_bytes());
                h.extend_from_slice(&d.to_le_bytes());
                h.extend_from_slice(&frames.unwrap_or(0).to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes());
            }
            None => {
                h.extend_from_slice(b"JUNK");
                h.extend_from_slice(&28u32.to_le_bytes());
                h.extend_from_slice(&[0u8; 28]);
            }
        }
    }
    h.extend_from_slice(b"fmt ");
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
                    for room in [false, true] {
                        let h = header_bytes(44_100, channels, format, frames, room);
                        let got = read_header(&mut &h[..]).unwrap();
                        assert_eq!(got.rate, 44_100);
                        assert_eq!(got.channels, channels);
                        assert_eq!(got.format, format);
                        // A complete file of 0 frames is empty, not "unknown".
                        assert_eq!(got.frames, frames);
                    }
                }
            }
        }
    }

    #[test]
    fn past_4_gib_the_reserved_header_becomes_rf64_of_the_same_length() {
        let frames = 700_000_000u64; // stereo f32: 5.6 GB
        let small = header_bytes(48_000, 2, SampleFormat::F32, Some(10), true);
        let big = header_bytes(48_000, 2, SampleFormat::F32, Some(frames), true);
        assert_eq!(small.len(), big.len());
        assert_eq!(&big[..4], b"RF64");
        assert_eq!(&small[12..16], b"JUNK");
        assert_eq!(&big[12..16], b"ds64");
        let got = read_header(&mut &big[..]).unwrap();
        assert_eq!(got.frames, Some(frames));
        // Without the room, the streaming placeholder (read as "until the end").
        let plain = header_bytes(48_000, 2, SampleFormat::F32, Some(frames), false);
        assert_eq!(read_header(&mut &plain[..]).unwrap().frames, None);
    }

    #[test]
    fn an_empty_data_chunk_before_the_real_one_is_skipped() {
        // RIFF size says more follows the empty chunk: its header is not samples.
        let real = header_bytes(8000, 1, SampleFormat::S16, Some(3), false);
        let fmt_end = real.len() - 8;
        let mut f = real[..fmt_end].to_vec();
        f.extend_from_slice(b"data");
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(b"data");
        f.extend_from_slice(&6u32.to_le_bytes());
        f.extend_from_slice(&[1, 0, 2, 0, 3, 0]);
        let riff = (f.len() - 8) as u32;
        f[4..8].copy_from_slice(&riff.to_le_bytes());
        let mut r = &f[..];
        let h = read_header(&mut r).unwrap();
        assert_eq!(h.frames, Some(3));
        assert_eq!(r, &[1, 0, 2, 0, 3, 0]);
    }

    #[test]
    fn rejects_non_wav_and_truncated_headers() {
        assert!(read_header(&mut &b"hello world, not a wav"[..]).is_err());
        let h = header_bytes(8000, 1, SampleFormat::S16, Some(10), false);
        assert!(
            read_header(&mut &h[..30])
                .unwrap_err()
                .contains("truncated")
        );
        assert!(read_header(&mut &b""[..]).unwrap_err().contains("empty"));
    }
}
