//! Capture by reads from an ALSA PCM (the pull model, as `arecord` records) instead of cpal's
//! callback pushing into a ring (why: [`super::pcm`]). Used when a microphone that is an ALSA
//! PCM feeds speakers: the capture buffer is then the whole cushion, where cpal's callback gets
//! two short periods (through PulseAudio's plugin, 2 x 213 frames = 8.9 ms at a 20 ms cushion)
//! and a capture held off longer than that can lose samples inside the sound server (the
//! unexplained losses of the earlier runs were on the capture side; on a quiet day both paths
//! held 10 runs of 10 s at 20 ms).
//! Nothing here allocates after `open`.

use std::time::{Duration, Instant};

use alsa::Direction;
use alsa::pcm::{PCM, State};

use super::pcm::{self, WAIT_SLICE_MS};
use super::streams;
use crate::block::Block;
use crate::engine::{Control, Input, STALL};
use crate::error::{Error, Result};

/// The longest a capture start waits for the audio to come at its real pace.
const SETTLE: Duration = Duration::from_millis(500);

/// A microphone read by the processing thread.
pub struct PullInput {
    pcm: Option<PCM>,
    name: String,
    dev_channels: usize,
    channels: usize,
    /// Interleaved frames as read (up to a few blocks).
    scratch: Vec<f32>,
    frame: Vec<f32>,
    xruns: u64,
    stopped: bool,
    /// When the device last gave a frame.
    moved: Instant,
    /// `input 'test_mic': 1 ch f32 48000 Hz, buffer 960 frames, period 240 (by reads)`.
    pub report: String,
    /// The rate the device runs at.
    pub rate: u32,
    /// The period the device delivers in (what a reader waits for at most once running).
    pub period: u32,
}

impl PullInput {
    /// Opens ALSA PCM `name` for float capture at `rate`, `channels` (`chain_channels` is what
    /// the chain wants; a device that refuses that many is remixed), a buffer of `cushion`
    /// frames in periods of a quarter of it. `label` names it in the report.
    ///
    /// # Errors
    /// The PCM cannot be opened or does not take float samples at this rate (the caller then
    /// uses cpal's callback).
    pub fn open(
        name: &str,
        label: &str,
        rate: u32,
        chain_channels: usize,
        cushion: usize,
        block: usize,
    ) -> Result<PullInput> {
        let pcm::Pcm {
            pcm,
            channels: dev_channels,
            buffer,
            period,
        } = pcm::open(
            name,
            Direction::Capture,
            rate,
            chain_channels,
            cushion,
            block,
        )?;
        let widest = dev_channels.max(chain_channels).max(1);
        Ok(PullInput {
            pcm: Some(pcm),
            name: name.to_string(),
            dev_channels,
            channels: chain_channels,
            scratch: vec![0.0; block.max(period).max(1) * 4 * widest],
            frame: vec![0.0; widest],
            xruns: 0,
            stopped: false,
            moved: Instant::now(),
            report: format!(
                "input {label}: {dev_channels} ch f32 {rate} Hz, buffer {buffer} frames, period {period} (by reads)"
            ),
            rate,
            period: u32::try_from(period).unwrap_or(u32::MAX),
        })
    }

    /// Reads what the device has, up to `frames` frames, into the start of `scratch`: `Ok(0)`
    /// when nothing is there yet (the caller waits). An overrun is counted and the capture
    /// restarted.
    fn read_some(&mut self, frames: usize) -> Result<usize> {
        let Some(pcm) = &self.pcm else {
            return Ok(0);
        };
        let dch = self.dev_channels;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.scratch[..frames * dch]);
        let io = pcm.io_bytes();
        match io.readi(bytes) {
            Ok(n) => {
                if n > 0 {
                    self.moved = Instant::now();
                }
                Ok(n)
            }
            Err(e) if e.errno() == libc::EAGAIN || e.errno() == libc::EINTR => Ok(0),
            Err(e) if e.errno() == libc::EPIPE || e.errno() == libc::ESTRPIPE => {
                // The buffer overflowed: the device dropped frames. Count it and go on.
                drop(io);
                self.xruns += 1;
                pcm.prepare()
                    .and_then(|()| pcm.start())
                    .map_err(|e| Error::Device(format!("the input device failed ({e})")))?;
                Ok(0)
            }
            Err(e) => Err(Error::Device(format!(
                "the input device disappeared while running ({e})"
            ))),
        }
    }

    /// Waits up to one slice for the device to have audio; a device that gave nothing for
    /// [`STALL`] is an error.
    fn wait(&self) -> Result<()> {
        if self.moved.elapsed() > STALL {
            return Err(Error::Device(format!(
                "the input device stopped moving audio ({} s without a frame)",
                STALL.as_secs()
            )));
        }
        if let Some(pcm) = &self.pcm {
            let _ = pcm.wait(Some(WAIT_SLICE_MS));
        }
        Ok(())
    }

    /// A sound server may hand over audio it held from before the start, in bursts with no
    /// pause; played, that backlog would add its length to the latency for the whole run. So
    /// until two deliveries come most of a period apart (the device's own pace; at most
    /// [`SETTLE`]) whatever arrives is dropped.
    fn settle(&mut self) -> Result<()> {
        let period = Duration::from_secs_f64(f64::from(self.period.max(1)) / f64::from(self.rate));
        let room = self.scratch.len() / self.dev_channels.max(1);
        let t0 = Instant::now();
        let mut last: Option<Instant> = None;
        while t0.elapsed() < SETTLE {
            let n = self.read_some(room)?;
            if n == 0 {
                self.wait()?;
                continue;
            }
            // Everything queued now goes at once: the next read sees only newer audio (a
            // device that always has more, like ALSA's `null`, within the same bound).
            while t0.elapsed() < SETTLE && self.read_some(room)? > 0 {}
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t) >= period * 7 / 10) {
                break;
            }
            last = Some(now);
        }
        Ok(())
    }
}

impl Input<f32> for PullInput {
    fn channels(&self) -> usize {
        self.channels
    }

    fn start(&mut self) -> Result<()> {
        if let Some(pcm) = &self.pcm {
            if pcm.state() == State::Prepared {
                pcm.start().map_err(|e| {
                    Error::Device(format!("cannot start input '{}' ({e})", self.name))
                })?;
            }
        }
        self.moved = Instant::now();
        self.settle()?;
        self.moved = Instant::now();
        Ok(())
    }

    fn read(&mut self, block: &mut Block<f32>, max: usize, ctl: &Control) -> Result<usize> {
        let dch = self.dev_channels;
        let want = max.min(self.scratch.len() / dch);
        block.resize(self.channels, want);
        let mut got = 0;
        while got < want {
            // A stop ends the input at once, however much the device has queued.
            if ctl.stopping() {
                self.stopped = true;
                return Ok(0);
            }
            let n = self.read_some(want - got)?;
            if n == 0 {
                self.wait()?;
                continue;
            }
            for i in 0..n {
                streams::remix(
                    &self.scratch[i * dch..(i + 1) * dch],
                    &mut self.frame[..self.channels],
                );
                for (c, b) in block.iter_mut().enumerate() {
                    b[got + i] = self.frame[c];
                }
            }
            got += n;
        }
        Ok(got)
    }

    fn close(&mut self) {
        if let Some(pcm) = &self.pcm {
            let _ = pcm.drop();
        }
    }

    fn stopped(&self) -> bool {
        self.stopped
    }

    fn xruns(&self) -> u64 {
        self.xruns
    }

    fn is_device(&self) -> bool {
        true
    }
}

impl Drop for PullInput {
    fn drop(&mut self) {
        pcm::close(self.pcm.take());
    }
}
