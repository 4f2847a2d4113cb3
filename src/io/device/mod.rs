//! Sound devices as one more input and output of the engine: all of cpal and its ringbuf
//! hand-off lives here (behind the `device` feature).
//!
//! Threads: cpal's callbacks ([`streams`]) only move whole frames between the device and an SPSC
//! ring, play silence and count an xrun when the ring is short; the engine's processing thread
//! reads the capture ring through [`DeviceInput`] and fills the playback ring through
//! [`DeviceOutput`]. Neither end allocates once running. Every wait has bounds: a stop request,
//! a device that reported itself gone, and a device that moved no frame for
//! [`crate::engine::STALL`] (a sound server that died or froze). A stream is dropped on a
//! thread nobody waits for: cpal's drop joins a backend thread that a dead server can hold.

pub mod choose;
pub mod pcm;
pub mod pull;
pub mod push;
pub mod quiet;
pub mod streams;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cpal::traits::StreamTrait;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

pub use choose::Direction;
use streams::{Counters, FAILED_GONE};

use crate::block::Block;
use crate::engine::{Control, Input, Output, STALL, Written};
use crate::error::{Error, Result};

/// Drops a stream where nobody waits for it.
fn let_go(stream: Option<cpal::Stream>) {
    if let Some(s) = stream {
        let _ = std::thread::Builder::new()
            .name("convoy-stream-close".into())
            .spawn(move || drop(s));
    }
}

/// The frame count a device moved, and when it last changed.
struct Progress(u64, Instant);

impl Progress {
    fn new() -> Progress {
        Progress(0, Instant::now())
    }

    /// Whether the device moved frames within [`STALL`].
    fn check(&mut self, counters: &Counters, what: &str) -> Result<()> {
        if counters.failed.load(Ordering::Relaxed) == FAILED_GONE {
            return Err(Error::Device(format!(
                "the {what} device disappeared while running{}",
                counters
                    .message
                    .get()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            )));
        }
        let frames = counters.frames.load(Ordering::Relaxed);
        if frames != self.0 {
            *self = Progress(frames, Instant::now());
        } else if self.1.elapsed() > STALL {
            return Err(Error::Device(format!(
                "the {what} device stopped moving audio ({} s without a frame{})",
                STALL.as_secs(),
                counters
                    .message
                    .get()
                    .map(|m| format!("; last error: {m}"))
                    .unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn idle(&self) -> Duration {
        self.1.elapsed()
    }
}

/// Opens `device_name` (`None`: the default) for `dir` at `rate`/`channels` when given, else
/// at the device's own channel count (a mono server source behind ALSA's `default` is opened
/// mono; anything else is remixed at the edge). Returns the device, how to name it, the
/// configuration and the sample format.
fn negotiate(
    hosts: &choose::Hosts,
    dir: Direction,
    device_name: Option<&str>,
    rate: Option<u32>,
    channels: Option<usize>,
    period: u32,
) -> Result<(cpal::Device, String, cpal::StreamConfig, cpal::SampleFormat)> {
    let chosen = choose::choose(hosts, dir, device_name)?;
    let label = chosen.label(dir);
    let (config, format) = configure(&chosen, dir, rate, channels, Some(period))?;
    Ok((chosen.device, label, config, format))
}

/// The configuration to open a chosen device with (see [`negotiate`]).
fn configure(
    chosen: &choose::Chosen,
    dir: Direction,
    rate: Option<u32>,
    channels: Option<usize>,
    period: Option<u32>,
) -> Result<(cpal::StreamConfig, cpal::SampleFormat)> {
    let want = channels
        .map(|c| c.min(u16::MAX as usize) as u16)
        .or(chosen.behind.as_ref().map(|b| b.2));
    let (device, id) = (&chosen.device, &chosen.id);
    streams::negotiate(device, dir, id, rate, want, period).or_else(|e| {
        if want.is_some() {
            streams::negotiate(device, dir, id, rate, None, period)
        } else {
            Err(e)
        }
    })
}

/// The period the backend granted: what the stream says, else what was fixed in the config,
/// else what was asked for.
fn granted_period(stream: &cpal::Stream, config: &cpal::StreamConfig, asked: u32) -> u32 {
    stream
        .buffer_size()
        .ok()
        .or(fixed_period(config))
        .unwrap_or(asked)
}

fn fixed_period(config: &cpal::StreamConfig) -> Option<u32> {
    match config.buffer_size {
        cpal::BufferSize::Fixed(p) => Some(p),
        cpal::BufferSize::Default => None,
    }
}

/// A microphone (or any capture device) as the engine's input.
pub struct DeviceInput {
    stream: Option<cpal::Stream>,
    ring: HeapCons<f32>,
    counters: Arc<Counters>,
    /// The device's channels, and the chain's.
    dev_channels: usize,
    channels: usize,
    scratch: Vec<f32>,
    frame: Vec<f32>,
    progress: Progress,
    /// How long to sleep between looks at the ring.
    nap: Duration,
    stopped: bool,
    /// Overruns counted up to the end of the input (a paused capture may count more).
    final_xruns: Option<u64>,
    /// Drop audio the backend held from before the start (see [`DeviceInput::play_live`] and
    /// `settle`).
    fresh_only: bool,
    /// `input 'hw:0': 2 ch f32 48000 Hz, period 256 frames`.
    pub report: String,
    /// The rate the device runs at.
    pub rate: u32,
    /// The period (frames per callback) the backend granted.
    pub period: u32,
}

impl DeviceInput {
    /// Opens a capture stream (paused until the engine starts it). `channels` is what the
    /// chain wants (`None`: the device's default); `ring_frames` the ring's room.
    ///
    /// # Errors
    /// No such device, a configuration it cannot do, a stream that cannot be built.
    pub fn open(
        hosts: &choose::Hosts,
        name: Option<&str>,
        rate: Option<u32>,
        channels: Option<usize>,
        period: u32,
        block: usize,
    ) -> Result<DeviceInput> {
        let (device, label, config, format) =
            negotiate(hosts, Direction::Input, name, rate, channels, period)?;
        let dev_channels = usize::from(config.channels);
        let channels = channels.unwrap_or(dev_channels);
        let rate = config.sample_rate;
        // Two seconds of room: a slow consumer (a file on a busy disk) never makes the capture
        // drop samples, and the live path's cushion fits many times over.
        let frames = (2 * rate as usize).max(8 * (block + period as usize));
        let (prod, cons) = HeapRb::<f32>::new(frames * dev_channels).split();
        let counters = Arc::new(Counters::default());
        let opened = streams::open_capture(&device, &label, config, format, prod, &counters)?;
        let got_period = granted_period(&opened.stream, &config, period);
        let widest = dev_channels.max(channels);
        Ok(DeviceInput {
            report: format!(
                "input {label}: {dev_channels} ch {} {rate} Hz, period {got_period} frames",
                opened.format
            ),
            stream: Some(opened.stream),
            ring: cons,
            counters,
            dev_channels,
            channels,
            scratch: vec![0.0; block.max(1) * widest * 4],
            frame: vec![0.0; widest],
            progress: Progress::new(),
            nap: Duration::from_secs_f64(block.max(1) as f64 / f64::from(rate) / 4.0),
            stopped: false,
            final_xruns: None,
            fresh_only: false,
            rate,
            period: got_period,
        })
    }
}

impl DeviceInput {
    /// The capture feeds speakers: the latency is what counts, so audio a sound server held
    /// from before the start is dropped instead of delaying everything after it by its length.
    /// (A recording keeps every frame the device gave, as before.)
    pub fn play_live(&mut self) {
        self.fresh_only = true;
    }
}

/// The longest a capture start waits for the audio to come at its real pace.
const SETTLE: Duration = Duration::from_millis(500);

impl DeviceInput {
    /// After the start, a sound server may hand over audio it buffered from before (PulseAudio's
    /// ALSA plugin: up to its whole buffer, callback after callback with no pause; more the
    /// longer the chain took to design after the device opened). Played, that backlog would
    /// add its length to the latency for the whole run. So until two callbacks come a period
    /// apart (the device's own pace; at most [`SETTLE`]) whatever arrives is dropped.
    fn settle(&mut self) {
        let period = Duration::from_secs_f64(f64::from(self.period.max(1)) / f64::from(self.rate));
        let t0 = Instant::now();
        let mut seen = self.counters.callbacks.load(Ordering::Relaxed);
        let mut since: Option<Instant> = None;
        while t0.elapsed() < SETTLE {
            std::thread::sleep(period / 8);
            let stale = self.ring.occupied_len();
            self.ring.skip(stale);
            let now_seen = self.counters.callbacks.load(Ordering::Relaxed);
            if now_seen == seen {
                continue;
            }
            let now = Instant::now();
            if now_seen == seen + 1
                && since.is_some_and(|t| now.duration_since(t) >= period * 7 / 10)
            {
                break;
            }
            seen = now_seen;
            since = Some(now);
        }
        let stale = self.ring.occupied_len();
        self.ring.skip(stale);
    }
}

impl Input<f32> for DeviceInput {
    fn channels(&self) -> usize {
        self.channels
    }

    fn start(&mut self) -> Result<()> {
        if let Some(s) = &self.stream {
            s.play()
                .map_err(|e| Error::Device(format!("cannot start the audio stream: {e}")))?;
        }
        // Audio captured before now (a backend may run the stream from the moment it is
        // built, while the chain was still being designed) is stale: played, it would add
        // its length to the latency for the whole run.
        if self.fresh_only {
            self.settle();
        }
        self.progress = Progress::new();
        Ok(())
    }

    fn read(&mut self, block: &mut Block<f32>, max: usize, ctl: &Control) -> Result<usize> {
        let dch = self.dev_channels;
        let want = max.min(self.scratch.len() / dch);
        // A stop ends the input at once, however much the device has queued.
        if ctl.stopping() {
            self.stopped = true;
        }
        if self.counters.waiter.get().is_none() {
            let _ = self.counters.waiter.set(std::thread::current());
        }
        while !self.stopped && self.ring.occupied_len() < want * dch {
            if ctl.stopping() {
                self.stopped = true;
                break;
            }
            self.progress.check(&self.counters, "input")?;
            // Woken by the capture callback as soon as audio arrives; the timeout keeps the
            // stop and the stall watchdog looked at.
            std::thread::park_timeout(self.nap);
        }
        if self.stopped {
            return Ok(0);
        }
        let got = self.ring.pop_slice(&mut self.scratch[..want * dch]) / dch;
        block.resize(self.channels, got);
        for i in 0..got {
            streams::remix(
                &self.scratch[i * dch..(i + 1) * dch],
                &mut self.frame[..self.channels],
            );
            for (c, b) in block.iter_mut().enumerate() {
                b[i] = self.frame[c];
            }
        }
        Ok(got)
    }

    fn close(&mut self) {
        if let Some(s) = &self.stream {
            let _ = s.pause();
        }
        self.final_xruns = Some(self.counters.xruns.load(Ordering::Relaxed));
    }

    fn stopped(&self) -> bool {
        self.stopped
    }

    fn xruns(&self) -> u64 {
        self.final_xruns
            .unwrap_or_else(|| self.counters.xruns.load(Ordering::Relaxed))
    }

    fn stream_errors(&self) -> Option<String> {
        self.counters.errors_line()
    }

    fn is_device(&self) -> bool {
        true
    }
}

impl Drop for DeviceInput {
    fn drop(&mut self) {
        let_go(self.stream.take());
    }
}

/// Speakers (or any playback device) as the engine's output.
pub struct DeviceOutput {
    stream: Option<cpal::Stream>,
    ring: HeapProd<f32>,
    counters: Arc<Counters>,
    dev_channels: usize,
    /// Frames of audio queued ahead of the device (the `--latency` cushion).
    cushion: usize,
    started: bool,
    scratch: Vec<f32>,
    frame: Vec<f32>,
    progress: Progress,
    nap: Duration,
    /// `output 'hw:0': 2 ch f32 48000 Hz, period 256 frames`.
    pub report: String,
}

impl DeviceOutput {
    /// Opens a playback stream (paused until enough audio is queued, or [`Output::prime`]).
    ///
    /// # Errors
    /// No such device, a configuration it cannot do, a stream that cannot be built.
    pub fn open(
        hosts: &choose::Hosts,
        name: Option<&str>,
        rate: u32,
        channels: usize,
        period: u32,
        block: usize,
        cushion: usize,
    ) -> Result<DeviceOutput> {
        let (device, label, config, format) = negotiate(
            hosts,
            Direction::Output,
            name,
            Some(rate),
            Some(channels),
            period,
        )?;
        let dev_channels = usize::from(config.channels);
        let frames = cushion + 2 * block + 2 * period as usize;
        let (prod, cons) = HeapRb::<f32>::new(frames * dev_channels).split();
        let counters = Arc::new(Counters::default());
        let opened = streams::open_playback(&device, &label, config, format, cons, &counters)?;
        let got_period = granted_period(&opened.stream, &config, period);
        let widest = dev_channels.max(channels);
        Ok(DeviceOutput {
            report: format!(
                "output {label}: {dev_channels} ch {} {} Hz, period {got_period} frames",
                opened.format, config.sample_rate
            ),
            stream: Some(opened.stream),
            ring: prod,
            counters,
            dev_channels,
            cushion,
            started: false,
            scratch: vec![0.0; block.max(1) * widest],
            frame: vec![0.0; widest],
            progress: Progress::new(),
            nap: Duration::from_secs_f64(block.max(1) as f64 / f64::from(rate) / 4.0),
        })
    }

    fn start(&mut self) -> Result<()> {
        if !self.started {
            if let Some(s) = &self.stream {
                s.play()
                    .map_err(|e| Error::Device(format!("cannot start the audio stream: {e}")))?;
            }
            self.started = true;
            self.progress = Progress::new();
        }
        Ok(())
    }
}

impl Output<f32> for DeviceOutput {
    fn prime(&mut self) -> Result<()> {
        // From a microphone the cushion is silence (the mic cannot run ahead).
        let zeros = [0.0f32; 256];
        let mut left = self.cushion * self.dev_channels;
        while left > 0 {
            let pushed = self.ring.push_slice(&zeros[..left.min(zeros.len())]);
            if pushed == 0 {
                break;
            }
            left -= pushed;
        }
        self.start()
    }

    fn write(&mut self, block: &mut Block<f32>, ctl: &Control) -> Result<()> {
        let n = block.frames();
        let dch = self.dev_channels;
        let channels = block.len();
        for start in (0..n).step_by((self.scratch.len() / dch).max(1)) {
            let k = (n - start).min(self.scratch.len() / dch);
            for i in 0..k {
                for (c, b) in block.iter().enumerate() {
                    self.frame[c] = b[start + i];
                }
                streams::remix(
                    &self.frame[..channels],
                    &mut self.scratch[i * dch..(i + 1) * dch],
                );
            }
            let total = k * dch;
            let mut done = 0;
            while done < total {
                done += self.ring.push_slice(&self.scratch[done..total]);
                if done == total {
                    break;
                }
                if !self.started {
                    // From a file, playback starts once the cushion is queued.
                    self.start()?;
                    continue;
                }
                // A stop while the device is stuck: what does not fit is dropped.
                if ctl.stopping() && self.progress.idle() > STALL / 2 {
                    break;
                }
                self.progress.check(&self.counters, "output")?;
                std::thread::sleep(self.nap);
            }
        }
        self.counters.primed.store(true, Ordering::Relaxed);
        ctl.ring_fill.store(
            (self.ring.occupied_len() / dch.max(1)) as u64,
            Ordering::Relaxed,
        );
        Ok(())
    }

    fn drain(&mut self, ctl: &Control) -> Result<()> {
        self.counters.draining.store(true, Ordering::Relaxed);
        self.start()?;
        // Let everything queued play out, then one more period of margin.
        while !self.ring.is_empty() {
            self.progress.check(&self.counters, "output")?;
            std::thread::sleep(self.nap * 2);
        }
        let _ = ctl;
        std::thread::sleep(Duration::from_millis(50));
        Ok(())
    }

    fn xruns(&self) -> u64 {
        self.counters.xruns.load(Ordering::Relaxed)
    }

    fn stream_errors(&self) -> Option<String> {
        self.counters.errors_line()
    }

    fn finish(mut self: Box<Self>) -> Result<Written> {
        if let Some(s) = &self.stream {
            let _ = s.pause();
        }
        let_go(self.stream.take());
        Ok(Written::device())
    }

    fn is_device(&self) -> bool {
        true
    }
}

pub use pull::PullInput;
pub use push::PushOutput;

/// The ALSA PCM behind `speakers[:NAME]` (`default`, `test_spk`, `hw:0`...), or `None` when the
/// name picks a device of the sound server's own host (those are played through cpal).
pub fn alsa_pcm(hosts: &choose::Hosts, name: Option<&str>) -> Option<String> {
    choose::choose(hosts, Direction::Output, name)
        .ok()
        .filter(|c| !c.on_server)
        .map(|c| c.id)
}

/// `mic[:NAME]` read by the processing thread ([`PullInput`]) with a buffer of `latency_ms`,
/// when it is an ALSA PCM that takes float samples at its rate (`rate`, else the device's
/// default, as [`DeviceInput`] opens it); `None` otherwise (the caller opens a
/// [`DeviceInput`], which also says what is wrong with a device that cannot be opened).
pub fn pull_input(
    hosts: &choose::Hosts,
    name: Option<&str>,
    rate: Option<u32>,
    channels: Option<usize>,
    latency_ms: f64,
    block: usize,
) -> Option<PullInput> {
    let chosen = choose::choose(hosts, Direction::Input, name)
        .ok()
        .filter(|c| !c.on_server)?;
    let (config, _) = configure(&chosen, Direction::Input, rate, channels, None).ok()?;
    let rate = config.sample_rate;
    let cushion = (latency_ms * 1e-3 * f64::from(rate)).round() as usize;
    let chain_channels = channels.unwrap_or(usize::from(config.channels));
    PullInput::open(
        &chosen.id,
        &chosen.label(Direction::Input),
        rate,
        chain_channels,
        cushion,
        block,
    )
    .ok()
}

impl Drop for DeviceOutput {
    fn drop(&mut self) {
        let_go(self.stream.take());
    }
}
