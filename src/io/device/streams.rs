//! cpal streams whose callbacks do nothing but move samples through lock-free SPSC rings.
//!
//! A capture callback converts the device's samples to f32 straight into the ring; a playback
//! callback pops f32 from the ring into the device's format and plays silence for whatever the
//! ring cannot supply. Neither allocates, locks, prints or waits: counters are atomics, the
//! rings are ringbuf's wait-free SPSC buffers, and every buffer exists before the stream
//! starts (tests/no_alloc.rs runs both callbacks under a counting allocator).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use cpal::traits::DeviceTrait;
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use ringbuf::traits::{Consumer, Observer, Producer};
use ringbuf::{HeapCons, HeapProd};

use super::choose::Direction;
use crate::error::{Error, Result};

/// What a stream's callbacks report to the rest of the program.
#[derive(Default)]
pub struct Counters {
    /// Callbacks that could not move all their samples: capture found the ring full (samples
    /// dropped), playback found it short (silence played) after audio had started.
    pub xruns: AtomicU64,
    /// Frames moved between the device and the ring.
    pub frames: AtomicU64,
    /// Callbacks so far (a stalled device stops counting).
    pub callbacks: AtomicU64,
    /// 0 running; [`FAILED_GONE`] the device disappeared.
    pub failed: AtomicU8,
    /// Stream errors the backend reported and carried on after (an xrun, a transient I/O
    /// error at start through the PulseAudio plugin): counted, not fatal. Whether the device
    /// is really lost is decided by whether audio keeps moving (the processing thread's
    /// watchdog).
    pub errors: AtomicU64,
    /// Xruns the backend itself reported (an ALSA underrun or overrun it recovered from):
    /// also in `xruns`, counted here too so a summary can tell them from a short ring.
    pub device_xruns: AtomicU64,
    /// Playback: real audio has been queued, so an empty ring from now on is an underrun.
    pub primed: AtomicBool,
    /// Playback: no more audio will come, so an empty ring is the end, not an underrun.
    pub draining: AtomicBool,
    /// The first stream error's text. Set from the error callback, which runs on cpal's
    /// thread, not in a data callback: a one-time allocation is fine there.
    pub message: std::sync::OnceLock<String>,
    /// The thread that waits for this stream (the processing thread, once it first waits):
    /// a capture callback wakes it as soon as audio is in the ring. After a stall (the sound
    /// server or the machine stops everyone for 10-20 ms) captured audio and the speaker's
    /// requests come back in one burst, a few hundred microseconds apart; a reader that
    /// looked at the ring every quarter block missed that window and the speaker played
    /// silence with the audio already captured. `Thread::unpark` is an atomic swap and, only if
    /// the thread sleeps, one futex wake: no lock, no allocation.
    pub waiter: std::sync::OnceLock<std::thread::Thread>,
}

impl Counters {
    /// `3 stream errors and 2 device xruns reported by the backend (the first error: ...)`,
    /// or `None` when the backend reported nothing.
    pub fn errors_line(&self) -> Option<String> {
        let errors = self.errors.load(Ordering::Relaxed);
        let device = self.device_xruns.load(Ordering::Relaxed);
        if errors == 0 && device == 0 {
            return None;
        }
        Some(format!(
            "{errors} stream error(s) and {device} device xrun(s) reported by the backend{}",
            self.message
                .get()
                .map(|m| format!(" (the first error: {m})"))
                .unwrap_or_default()
        ))
    }
}

/// [`Counters::failed`]: the device is gone.
pub const FAILED_GONE: u8 = 1;

/// The capture callback: whole frames of `data` into the ring, as f32.
pub fn capture_callback<T>(
    mut ring: HeapProd<f32>,
    counters: Arc<Counters>,
    channels: usize,
) -> impl FnMut(&[T]) + Send + 'static
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = channels.max(1);
    move |data: &[T]| {
        // Only whole frames, so the channels never slip against each other.
        let room = ring.vacant_len() / channels * channels;
        let n = data.len().min(room) / channels * channels;
        ring.push_iter(data[..n].iter().map(|&s| f32::from_sample_(s)));
        if n < data.len() {
            counters.xruns.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .frames
            .fetch_add((n / channels) as u64, Ordering::Relaxed);
        counters.callbacks.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = counters.waiter.get() {
            t.unpark();
        }
    }
}

/// The playback callback: whole frames from the ring into `data`, silence for the rest.
pub fn playback_callback<T>(
    mut ring: HeapCons<f32>,
    counters: Arc<Counters>,
    channels: usize,
) -> impl FnMut(&mut [T]) + Send + 'static
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = channels.max(1);
    move |data: &mut [T]| {
        let have = ring.occupied_len() / channels * channels;
        let n = data.len().min(have) / channels * channels;
        for (d, s) in data[..n].iter_mut().zip(ring.pop_iter()) {
            *d = T::from_sample_(s);
        }
        data[n..].fill(T::EQUILIBRIUM);
        if n < data.len()
            && counters.primed.load(Ordering::Relaxed)
            && !counters.draining.load(Ordering::Relaxed)
        {
            counters.xruns.fetch_add(1, Ordering::Relaxed);
        }
        counters
            .frames
            .fetch_add((n / channels) as u64, Ordering::Relaxed);
        counters.callbacks.fetch_add(1, Ordering::Relaxed);
    }
}

/// An open (paused) stream and what it was opened with.
pub struct Opened {
    pub stream: cpal::Stream,
    pub config: StreamConfig,
    pub format: SampleFormat,
}

/// Formats convoy converts at the edge, best first: f32 needs no conversion.
const FORMATS: [SampleFormat; 4] = [
    SampleFormat::F32,
    SampleFormat::I16,
    SampleFormat::I32,
    SampleFormat::U16,
];

/// The configuration to open `device` with: `rate` and `channels` if given, else the device
/// default's; the first format of `FORMATS` the device offers for them; `period` frames per
/// callback if the device allows it.
pub fn negotiate(
    device: &cpal::Device,
    dir: Direction,
    name: &str,
    rate: Option<u32>,
    channels: Option<u16>,
    period: Option<u32>,
) -> Result<(StreamConfig, SampleFormat)> {
    let unavailable = |e: cpal::Error| {
        Error::Device(match e.kind() {
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable => {
                format!("no audio {} device available ({name})", noun(dir))
            }
            cpal::ErrorKind::DeviceBusy => format!("{} device {name} is busy", noun(dir)),
            // ALSA's "default" always exists as a name; on a machine without sound it cannot
            // open in either direction.
            cpal::ErrorKind::UnsupportedOperation | cpal::ErrorKind::BackendError => format!(
                "no audio {} device available ({name}: {})",
                noun(dir),
                e.to_string().trim_end_matches('.').to_lowercase()
            ),
            _ => format!("{} device {name}: {e}", noun(dir)),
        })
    };
    let default = match dir {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(unavailable)?;
    let ranges: Vec<cpal::SupportedStreamConfigRange> = match dir {
        Direction::Input => device.supported_input_configs().map(Iterator::collect),
        Direction::Output => device.supported_output_configs().map(Iterator::collect),
    }
    .map_err(unavailable)?;
    let rate = rate.unwrap_or(default.sample_rate());
    let channels = channels.unwrap_or(default.channels());
    let fits = |r: &&cpal::SupportedStreamConfigRange, f: SampleFormat| {
        r.channels() == channels && r.sample_format() == f && r.contains_rate(rate)
    };
    let Some((format, range)) = FORMATS
        .iter()
        .find_map(|&f| ranges.iter().find(|r| fits(r, f)).map(|r| (f, *r)))
    else {
        let offered: Vec<String> = ranges
            .iter()
            .map(|r| {
                format!(
                    "{} ch {} {}-{} Hz",
                    r.channels(),
                    r.sample_format(),
                    r.min_sample_rate(),
                    r.max_sample_rate()
                )
            })
            .collect();
        return Err(Error::Device(format!(
            "{} device {name} cannot do {channels} channel(s) at {rate} Hz in f32/i16/i32/u16 (it offers: {})",
            noun(dir),
            if offered.is_empty() {
                "nothing".to_string()
            } else {
                offered.join("; ")
            }
        )));
    };
    let buffer_size = match (period, range.buffer_size()) {
        (Some(p), cpal::SupportedBufferSize::Range { min, max }) if (*min..=*max).contains(&p) => {
            cpal::BufferSize::Fixed(p)
        }
        (Some(p), cpal::SupportedBufferSize::Unknown) => cpal::BufferSize::Fixed(p),
        _ => cpal::BufferSize::Default,
    };
    Ok((
        StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size,
        },
        format,
    ))
}

fn noun(dir: Direction) -> &'static str {
    match dir {
        Direction::Input => "input",
        Direction::Output => "output",
    }
}

fn on_error(counters: Arc<Counters>) -> impl FnMut(cpal::Error) + Send + 'static {
    move |e: cpal::Error| match e.kind() {
        cpal::ErrorKind::DeviceNotAvailable => {
            let _ = counters.message.set(e.to_string());
            counters.failed.store(FAILED_GONE, Ordering::Relaxed);
        }
        // The backend prepared the stream again: a device xrun.
        cpal::ErrorKind::Xrun => {
            counters.xruns.fetch_add(1, Ordering::Relaxed);
            counters.device_xruns.fetch_add(1, Ordering::Relaxed);
        }
        cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
        // Anything else (the ALSA pulse plugin's EIO from snd_pcm_avail_delay at start, for
        // one): cpal keeps polling the stream, and it usually recovers within a period.
        // Counted as an xrun; if audio stops moving the watchdog ends the run.
        _ => {
            let _ = counters.message.set(e.to_string());
            counters.errors.fetch_add(1, Ordering::Relaxed);
            counters.xruns.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn build_error(dir: Direction, name: &str, e: &cpal::Error) -> Error {
    Error::Device(match e.kind() {
        cpal::ErrorKind::DeviceBusy => format!("{} device {name} is busy", noun(dir)),
        cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable => {
            format!("no audio {} device available ({name})", noun(dir))
        }
        cpal::ErrorKind::UnsupportedConfig => {
            format!(
                "{} device {name} does not support this configuration",
                noun(dir)
            )
        }
        _ => format!("{} device {name}: {e}", noun(dir)),
    })
}

/// A capture stream of sample type `T` around [`capture_callback`].
fn input_stream<T>(
    device: &cpal::Device,
    config: StreamConfig,
    ring: HeapProd<f32>,
    counters: &Arc<Counters>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let mut cb = capture_callback::<T>(ring, Arc::clone(counters), usize::from(config.channels));
    let err = on_error(Arc::clone(counters));
    device.build_input_stream(config, move |d: &[T], _: &_| cb(d), err, None)
}

/// A playback stream of sample type `T` around [`playback_callback`].
fn output_stream<T>(
    device: &cpal::Device,
    config: StreamConfig,
    ring: HeapCons<f32>,
    counters: &Arc<Counters>,
) -> std::result::Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let mut cb = playback_callback::<T>(ring, Arc::clone(counters), usize::from(config.channels));
    let err = on_error(Arc::clone(counters));
    device.build_output_stream(config, move |d: &mut [T], _: &_| cb(d), err, None)
}

/// Opens a capture stream feeding `ring` (paused; call `play`).
pub fn open_capture(
    device: &cpal::Device,
    name: &str,
    config: StreamConfig,
    format: SampleFormat,
    ring: HeapProd<f32>,
    counters: &Arc<Counters>,
) -> Result<Opened> {
    let stream = match format {
        SampleFormat::F32 => input_stream::<f32>(device, config, ring, counters),
        SampleFormat::I16 => input_stream::<i16>(device, config, ring, counters),
        SampleFormat::I32 => input_stream::<i32>(device, config, ring, counters),
        _ => input_stream::<u16>(device, config, ring, counters),
    }
    .map_err(|e| build_error(Direction::Input, name, &e))?;
    Ok(Opened {
        stream,
        config,
        format,
    })
}

/// Opens a playback stream draining `ring` (paused; call `play`).
pub fn open_playback(
    device: &cpal::Device,
    name: &str,
    config: StreamConfig,
    format: SampleFormat,
    ring: HeapCons<f32>,
    counters: &Arc<Counters>,
) -> Result<Opened> {
    let stream = match format {
        SampleFormat::F32 => output_stream::<f32>(device, config, ring, counters),
        SampleFormat::I16 => output_stream::<i16>(device, config, ring, counters),
        SampleFormat::I32 => output_stream::<i32>(device, config, ring, counters),
        _ => output_stream::<u16>(device, config, ring, counters),
    }
    .map_err(|e| build_error(Direction::Output, name, &e))?;
    Ok(Opened {
        stream,
        config,
        format,
    })
}

/// Copies one frame between channel layouts: equal counts copy; mono to many duplicates the
/// channel at unity gain; many to mono averages them; otherwise channel i goes to channel i
/// and extra output channels are silent.
#[inline]
pub fn remix(src: &[f32], dst: &mut [f32]) {
    if src.len() == dst.len() {
        dst.copy_from_slice(src);
    } else if src.len() == 1 {
        dst.fill(src[0]);
    } else if dst.len() == 1 {
        dst[0] = src.iter().sum::<f32>() / src.len() as f32;
    } else {
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        dst[n..].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::{Counters, capture_callback};
    use ringbuf::HeapRb;
    use ringbuf::traits::Split;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    /// The thread waiting for captured audio is woken by the capture itself, not by its own
    /// timeout (which here is 30 s).
    #[test]
    fn a_capture_wakes_the_thread_that_waits_for_it() {
        let counters = Arc::new(Counters::default());
        let (prod, _cons) = HeapRb::<f32>::new(64).split();
        let mut capture = capture_callback::<f32>(prod, Arc::clone(&counters), 1);
        let (ready, waiting) = std::sync::mpsc::channel();
        let watched = Arc::clone(&counters);
        let reader = std::thread::spawn(move || {
            let _ = watched.waiter.set(std::thread::current());
            ready.send(()).unwrap();
            let t0 = Instant::now();
            // park may return spuriously: wait until audio has really arrived.
            while watched.frames.load(Ordering::Relaxed) == 0
                && t0.elapsed() < Duration::from_secs(30)
            {
                std::thread::park_timeout(Duration::from_secs(30));
            }
            t0.elapsed()
        });
        waiting.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        capture(&[0.5f32; 8]);
        let waited = reader.join().unwrap();
        assert!(
            waited < Duration::from_secs(5),
            "woken after {waited:?}, not by the capture"
        );
    }
}
