//! The chain's steps that move samples without filtering them: a delay and an upmix.
//!
//! A delay is a shift of the stream, not a kernel: offline it is `d` frames of silence sent
//! ahead of the input (in bounded chunks), so `delay:10min` costs what writing ten minutes of
//! silence costs and no memory; live it is a ring of `d` frames per channel, made at build
//! time. An upmix turns a mono stream into `n` channels (a mono voice into a stereo IR).

use crate::conv::Sample;

/// Frames of silence sent per chunk ahead of a delayed stream.
pub const SILENCE_CHUNK: usize = 1 << 16;

/// The most frames a live delay line holds (2^24, 5.8 minutes at 48 kHz, 64 MB per channel).
pub const MAX_LIVE_DELAY: usize = 1 << 24;

/// A live delay line: the last `delay` input frames of every channel.
#[derive(Clone)]
pub struct DelayLine<T> {
    rings: Vec<Vec<T>>,
    pos: usize,
}

impl<T: Sample> DelayLine<T> {
    /// A line of `delay` frames for `channels` channels.
    ///
    /// # Errors
    /// `delay` is over [`MAX_LIVE_DELAY`] or the memory cannot be had.
    pub fn new(delay: usize, channels: usize, what: &str) -> crate::Result<DelayLine<T>> {
        if delay > MAX_LIVE_DELAY {
            return Err(crate::Error::Usage(format!(
                "{what}: a live delay holds at most {MAX_LIVE_DELAY} frames, not {delay}"
            )));
        }
        let rings = (0..channels)
            .map(|_| crate::rt::try_filled(T::zero(), delay, what))
            .collect::<crate::Result<_>>()?;
        Ok(DelayLine { rings, pos: 0 })
    }

    /// The delay in frames.
    pub fn delay(&self) -> usize {
        self.rings.first().map_or(0, Vec::len)
    }

    /// Silence again, as built.
    pub fn reset(&mut self) {
        for r in &mut self.rings {
            r.fill(T::zero());
        }
        self.pos = 0;
    }

    /// `output[i] = input[i - delay]`, per channel. No allocation.
    pub fn process(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        let d = self.delay();
        if d == 0 {
            for (y, x) in output.iter_mut().zip(input) {
                y.copy_from_slice(x);
            }
            return;
        }
        let mut pos = self.pos;
        for ((ring, x), y) in self.rings.iter_mut().zip(input).zip(output.iter_mut()) {
            pos = self.pos;
            for (xi, yi) in x.iter().zip(y.iter_mut()) {
                *yi = std::mem::replace(&mut ring[pos], *xi);
                pos += 1;
                if pos == d {
                    pos = 0;
                }
            }
        }
        self.pos = pos;
    }
}

/// An offline delay: silence owed ahead of the stream.
#[derive(Clone)]
pub struct Shift {
    pub word: String,
    pub frames: u64,
    /// Silence not yet sent.
    pending: u64,
    started: bool,
}

impl Shift {
    pub fn new(word: String, frames: u64) -> Shift {
        Shift {
            word,
            frames,
            pending: frames,
            started: false,
        }
    }

    /// As built: the silence is owed again.
    pub fn reset(&mut self) {
        self.pending = self.frames;
        self.started = false;
    }

    /// Before the first input frames: the silence to send, in chunks of at most
    /// [`SILENCE_CHUNK`] frames (`None` when all has been sent). An input that never brings a
    /// frame gets no silence either.
    pub fn next_silence(&mut self, frames_in: usize) -> Option<usize> {
        if !self.started && frames_in == 0 {
            return None;
        }
        self.started = true;
        if self.pending == 0 {
            return None;
        }
        let n = self.pending.min(SILENCE_CHUNK as u64) as usize;
        self.pending -= n as u64;
        Some(n)
    }
}

/// The most samples (frames x channels) a step that needs the whole input holds: 2^28, 2 GiB
/// of f64.
pub const MAX_HELD: usize = 1 << 28;

/// Appends a block to `held` (one f64 buffer per channel) for a step that needs the end of
/// its input (zero phase, whole-signal edges).
///
/// # Errors
/// More than [`MAX_HELD`] samples in all: `{word}: {why} in memory, ...; split it, or
/// {instead}`.
pub fn hold<T: crate::conv::Sample>(
    held: &mut [Vec<f64>],
    input: &[Vec<T>],
    word: &str,
    why: &str,
    instead: &str,
) -> crate::error::Result<()> {
    let frames = input.first().map_or(0, Vec::len);
    let before = held.first().map_or(0, Vec::len);
    if (before + frames).saturating_mul(held.len()) > MAX_HELD {
        return Err(crate::error::Error::Usage(format!(
            "{word}: {why} in memory, and this one is over 2^28 samples (frames x channels); split it, or {instead}"
        )));
    }
    for (h, x) in held.iter_mut().zip(input) {
        h.extend(x.iter().map(|v| v.as_f64()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_line_delays_by_exactly_its_length_for_any_block() {
        let x: Vec<f32> = (1..=50).map(|i| i as f32).collect();
        for block in [1, 3, 7, 50] {
            let mut line = DelayLine::<f32>::new(5, 1, "delay:5").unwrap();
            let mut y = vec![0.0f32; x.len()];
            for (xi, yi) in x.chunks(block).zip(y.chunks_mut(block)) {
                line.process(&[xi], &mut [yi]);
            }
            assert_eq!(&y[..5], &[0.0; 5]);
            assert_eq!(&y[5..], &x[..45], "block {block}");
        }
        assert!(DelayLine::<f32>::new(MAX_LIVE_DELAY + 1, 1, "d").is_err());
    }

    #[test]
    fn the_offline_shift_sends_its_silence_in_chunks_once_input_comes() {
        let mut s = Shift::new("delay".into(), SILENCE_CHUNK as u64 + 10);
        assert_eq!(s.next_silence(0), None);
        assert_eq!(s.next_silence(4), Some(SILENCE_CHUNK));
        assert_eq!(s.next_silence(4), Some(10));
        assert_eq!(s.next_silence(4), None);
    }
}
