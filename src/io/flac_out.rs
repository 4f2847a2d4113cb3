//! FLAC output, encoded by flacenc (pure Rust) as the stream goes: frames of 4096 samples are
//! written as soon as they are full, so memory stays bounded whatever the length. The
//! STREAMINFO block (total samples, MD5 of the audio, frame sizes) is only known at the end:
//! a regular file gets it rewritten in place; a pipe keeps the placeholder's "unknown" length
//! and MD5, which FLAC allows and flac, ffmpeg and sox accept.
//!
//! Writer thread. The samples arrive already quantized to 16 or 24 bits (little-endian, dither
//! and clipping done by [`crate::io::codec::Encoder`], as for WAV), so FLAC holds exactly
//! what a WAV at the same depth would.

use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream};
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};

/// Samples per channel in a frame (the reference encoder's default).
const BLOCK: usize = 4096;

pub struct FlacWriter {
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    stream: Stream,
    frame: (FrameBuf, Context),
    /// Bytes of samples not yet a whole frame.
    pending: Vec<u8>,
    bytes_per_sample: usize,
    channels: usize,
    sink: MemSink<u8>,
}

impl FlacWriter {
    /// # Errors
    /// What FLAC cannot hold (more than 8 channels, a rate past 655,350 Hz, a depth other than
    /// 16 or 24 bits here), as one line.
    pub fn new(rate: u32, channels: usize, bits: usize) -> Result<FlacWriter, String> {
        if !(1..=8).contains(&channels) {
            return Err(format!("FLAC holds 1 to 8 channels, not {channels}"));
        }
        if rate == 0 || rate > 655_350 {
            return Err(format!("FLAC holds rates up to 655350 Hz, not {rate}"));
        }
        if bits != 16 && bits != 24 {
            return Err(format!("FLAC output is 16 or 24 bit, not {bits}"));
        }
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| format!("FLAC encoder setup: {e}"))?;
        let mut stream = Stream::new(rate as usize, channels, bits)
            .map_err(|e| format!("FLAC stream setup: {e}"))?;
        stream
            .stream_info_mut()
            .set_block_sizes(BLOCK, BLOCK)
            .map_err(|e| format!("FLAC stream setup: {e}"))?;
        Ok(FlacWriter {
            config,
            stream,
            frame: (
                FrameBuf::with_size(channels, BLOCK).map_err(|e| e.to_string())?,
                Context::new(bits, channels),
            ),
            pending: Vec::new(),
            bytes_per_sample: bits / 8,
            channels,
            sink: MemSink::new(),
        })
    }

    /// `fLaC` and the STREAMINFO block as they stand (a placeholder until [`Self::finish`]).
    ///
    /// # Errors
    /// The block cannot be serialized (not expected for a verified stream).
    pub fn header(&self) -> Result<Vec<u8>, String> {
        let mut sink = MemSink::<u8>::new();
        self.stream
            .write(&mut sink)
            .map_err(|e| format!("FLAC header: {e}"))?;
        Ok(sink.into_inner())
    }

    /// Takes little-endian samples (interleaved, 2 or 3 bytes each) and appends every frame
    /// now complete to `out`.
    ///
    /// # Errors
    /// A frame cannot be encoded.
    pub fn push(&mut self, samples: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(samples);
        let whole = BLOCK * self.channels * self.bytes_per_sample;
        let full = pending.len() / whole * whole;
        let result = pending[..full]
            .chunks_exact(whole)
            .try_for_each(|frame| self.encode(frame, out));
        pending.drain(..full);
        self.pending = pending;
        result
    }

    fn encode(&mut self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        self.frame
            .fill_le_bytes(bytes, self.bytes_per_sample)
            .map_err(|e| format!("FLAC frame: {e}"))?;
        let number = self.frame.1.current_frame_number().unwrap_or(0);
        let frame = flacenc::encode_fixed_size_frame(
            &self.config,
            &self.frame.0,
            number,
            self.stream.stream_info(),
        )
        .map_err(|e| format!("FLAC frame: {e}"))?;
        self.stream.stream_info_mut().update_frame_info(&frame);
        self.sink.clear();
        frame
            .write(&mut self.sink)
            .map_err(|e| format!("FLAC frame: {e}"))?;
        out.extend_from_slice(self.sink.as_slice());
        Ok(())
    }

    /// Encodes what is left (a last, shorter frame) into `out` and returns the final header:
    /// total samples and MD5 filled in.
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<Vec<u8>, String> {
        if !self.pending.is_empty() {
            // The frame buffer takes fewer samples than its size: a shorter last frame, as
            // flacenc's own whole-stream encoder ends.
            let rest = std::mem::take(&mut self.pending);
            self.encode(&rest, out)?;
        }
        let (md5, total) = (self.frame.1.md5_digest(), self.frame.1.total_samples());
        let info = self.stream.stream_info_mut();
        info.set_md5_digest(&md5);
        info.set_total_samples(total);
        // A fixed-blocksize stream says min = max = its block size (the last, shorter frame
        // does not count, as in the reference encoder); readers that take a smaller minimum
        // for a variable-blocksize stream (symphonia) misread it otherwise.
        info.set_block_sizes(BLOCK, BLOCK)
            .map_err(|e| format!("FLAC header: {e}"))?;
        self.header()
    }
}
