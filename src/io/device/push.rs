//! Playback by writes into an ALSA PCM (the push model, as `aplay` plays) instead of cpal's
//! callback pulling from a ring (why: [`super::pcm`]). Playback starts when the buffer is full
//! (`start_threshold`), as aplay's does. Nothing here allocates after `open`.

use std::time::{Duration, Instant};

use alsa::Direction;
use alsa::pcm::{PCM, State};

use super::pcm::{self, WAIT_SLICE_MS};
use super::streams;
use crate::block::Block;
use crate::engine::{Control, Output, STALL, Written};
use crate::error::{Error, Result};

/// Playback through an ALSA PCM by writes.
pub struct PushOutput {
    pcm: Option<PCM>,
    dev_channels: usize,
    /// Frames the device's buffer holds (the cushion, as granted).
    buffer: usize,
    scratch: Vec<f32>,
    frame: Vec<f32>,
    xruns: u64,
    /// `output 'test_spk': 1 ch f32 48000 Hz, buffer 960 frames, period 240 (by writes)`.
    pub report: String,
}

impl PushOutput {
    /// Opens ALSA PCM `name` for float playback at `rate` with `channels` (or what the device
    /// takes: mono is duplicated, many are mixed as for the callback path), a buffer of
    /// `cushion` frames in periods of a quarter of it.
    ///
    /// # Errors
    /// The PCM cannot be opened or does not take float samples at this rate (the caller then
    /// uses the callback path).
    pub fn open(
        name: &str,
        rate: u32,
        channels: usize,
        cushion: usize,
        block: usize,
    ) -> Result<PushOutput> {
        let pcm::Pcm {
            pcm,
            channels: dev_channels,
            buffer,
            period,
        } = pcm::open(name, Direction::Playback, rate, channels, cushion, block)?;
        let widest = dev_channels.max(channels).max(1);
        Ok(PushOutput {
            pcm: Some(pcm),
            dev_channels,
            buffer,
            scratch: vec![0.0; block.max(period).max(1) * widest],
            frame: vec![0.0; widest],
            xruns: 0,
            report: format!(
                "output '{name}': {dev_channels} ch f32 {rate} Hz, buffer {buffer} frames, period {period} (by writes)"
            ),
        })
    }

    /// Writes interleaved `samples` (whole frames), waiting while the buffer is full.
    fn write_all(&mut self, samples: &[f32], ctl: &Control) -> Result<()> {
        let Some(pcm) = &self.pcm else {
            return Ok(());
        };
        let bytes: &[u8] = bytemuck::cast_slice(samples);
        let frame_bytes = self.dev_channels * std::mem::size_of::<f32>();
        let mut at = 0;
        // When the device last took a frame in this call (time between calls is the input's).
        let mut moved = Instant::now();
        while at < bytes.len() {
            // Whatever the device answers, no frame taken for STALL ends the run.
            if moved.elapsed() > STALL {
                if ctl.stopping() {
                    return Ok(());
                }
                return Err(Error::Device(format!(
                    "the output device stopped moving audio ({} s without a frame)",
                    STALL.as_secs()
                )));
            }
            let io = pcm.io_bytes();
            match io.writei(&bytes[at..]) {
                Ok(frames) => {
                    at += frames * frame_bytes;
                    if frames > 0 {
                        moved = Instant::now();
                    }
                }
                Err(e) if e.errno() == libc::EAGAIN => {
                    drop(io);
                    if ctl.stopping() && moved.elapsed() > STALL / 2 {
                        // A stop while the device is stuck: what does not fit is dropped.
                        return Ok(());
                    }
                    let _ = pcm.wait(Some(WAIT_SLICE_MS));
                }
                Err(e) if e.errno() == libc::EPIPE || e.errno() == libc::ESTRPIPE => {
                    // The buffer ran dry: count it (unless the run is ending: the input stopped
                    // first, so the buffer emptied while the chain's tail was computed) and start
                    // again once it is full.
                    drop(io);
                    if !ctl.stopping() {
                        self.xruns += 1;
                    }
                    pcm.prepare()
                        .map_err(|e| Error::Device(format!("the output device failed ({e})")))?;
                }
                Err(e) if e.errno() == libc::EINTR => {}
                Err(e) => {
                    return Err(Error::Device(format!(
                        "the output device disappeared while running ({e})"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl Output<f32> for PushOutput {
    /// From a microphone: the buffer is filled with silence and playback starts at once, as
    /// the callback path primes its ring. Without it, playback would start on the capture's
    /// first burst and run dry in the pause the sound server makes after it (an underrun in the
    /// first 50 ms of every run, as aplay has).
    fn prime(&mut self) -> Result<()> {
        let Some(pcm) = &self.pcm else {
            return Ok(());
        };
        let zeros = vec![0.0f32; self.buffer * self.dev_channels];
        let bytes: &[u8] = bytemuck::cast_slice(&zeros);
        let frame_bytes = self.dev_channels * std::mem::size_of::<f32>();
        let (mut at, start) = (0, Instant::now());
        while at < bytes.len() && start.elapsed() < STALL {
            match pcm.io_bytes().writei(&bytes[at..]) {
                Ok(frames) => at += frames * frame_bytes,
                Err(e) if e.errno() == libc::EAGAIN || e.errno() == libc::EINTR => {
                    let _ = pcm.wait(Some(WAIT_SLICE_MS));
                }
                Err(e) => {
                    return Err(Error::Device(format!(
                        "cannot start the output device ({e})"
                    )));
                }
            }
        }
        if pcm.state() == State::Prepared {
            let _ = pcm.start();
        }
        Ok(())
    }

    fn write(&mut self, block: &mut Block<f32>, ctl: &Control) -> Result<()> {
        let n = block.frames();
        let dch = self.dev_channels;
        let channels = block.len();
        let step = (self.scratch.len() / dch).max(1);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut result = Ok(());
        for start in (0..n).step_by(step) {
            let k = (n - start).min(step);
            for i in 0..k {
                for (c, b) in block.iter().enumerate() {
                    self.frame[c] = b[start + i];
                }
                streams::remix(
                    &self.frame[..channels],
                    &mut scratch[i * dch..(i + 1) * dch],
                );
            }
            result = self.write_all(&scratch[..k * dch], ctl);
            if result.is_err() {
                break;
            }
        }
        self.scratch = scratch;
        if let Some(pcm) = &self.pcm {
            let queued = pcm
                .avail_update()
                .map_or(0, |a| self.buffer.saturating_sub(a.max(0) as usize));
            ctl.ring_fill
                .store(queued as u64, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    fn drain(&mut self, ctl: &Control) -> Result<()> {
        let Some(pcm) = &self.pcm else {
            return Ok(());
        };
        // A buffer never filled has not started: start it, then wait until it played out.
        if pcm.state() == State::Prepared {
            let _ = pcm.start();
        }
        let start = Instant::now();
        let mut moved = start;
        let mut last = usize::MAX;
        while let Ok(avail) = pcm.avail_update() {
            let avail = avail.max(0) as usize;
            if avail >= self.buffer || pcm.state() != State::Running {
                break;
            }
            if avail != last {
                last = avail;
                moved = Instant::now();
            } else if moved.elapsed() > STALL || (ctl.stopping() && start.elapsed() > STALL) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20));
        Ok(())
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }

    fn finish(mut self: Box<Self>) -> Result<Written> {
        pcm::close(self.pcm.take());
        Ok(Written::device())
    }

    fn is_device(&self) -> bool {
        true
    }
}

impl Drop for PushOutput {
    fn drop(&mut self) {
        pcm::close(self.pcm.take());
    }
}
