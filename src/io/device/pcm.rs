//! An ALSA PCM that the processing thread itself reads or writes (as `arecord` and `aplay` do),
//! instead of a cpal callback moving samples through a ring: what [`super::push`] and
//! [`super::pull`] share.
//!
//! Why both ends: a callback's device buffer and convoy's ring are two budgets that cannot lend
//! to each other (a callback that finds the ring short plays silence at once, though the
//! device still holds audio; a capture callback held off longer than its device's two short
//! periods loses samples inside the sound server). Read and written by one thread, the whole
//! cushion sits in each device's buffer: a stall of the server, of the machine or of the
//! thread is survived whole up to the cushion on either side.
//!
//! The PCM is opened non-blocking: the thread waits in `snd_pcm_wait` in slices of
//! [`WAIT_SLICE_MS`], so a sound server that froze or died still ends the run within
//! [`crate::engine::STALL`] with one line, and a stop is never stuck behind a device.

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};

use crate::error::{Error, Result};

/// Most time spent in one `snd_pcm_wait` before checking for a stop or a stall.
pub const WAIT_SLICE_MS: u32 = 50;

/// An open, configured (prepared, not started) PCM.
pub struct Pcm {
    pub pcm: PCM,
    /// The channels the device runs with (what was asked, or 2 when it refused that).
    pub channels: usize,
    /// Frames its buffer holds (the cushion, as granted).
    pub buffer: usize,
    /// Frames per period, as granted.
    pub period: usize,
}

/// What a message calls a PCM opened in `dir`: `output 'test_spk'`.
pub fn what(dir: Direction, name: &str) -> String {
    let side = match dir {
        Direction::Playback => "output",
        Direction::Capture => "input",
    };
    format!("{side} '{name}'")
}

/// Opens ALSA PCM `name` in `dir` for interleaved f32 at exactly `rate`, `channels` (else 2),
/// a buffer near `buffer` frames (at least two blocks) in periods of a quarter of it.
/// `avail_min` is how many frames wake a wait; playback also starts only once its buffer is
/// full (the cushion is then real audio, as aplay starts).
///
/// # Errors
/// The PCM cannot be opened or does not take float samples at this rate (the caller then
/// uses cpal's callback).
pub fn open(
    name: &str,
    dir: Direction,
    rate: u32,
    channels: usize,
    buffer: usize,
    block: usize,
) -> Result<Pcm> {
    let fail = |doing: &str, e: alsa::Error| {
        Error::Device(format!("{}: cannot {doing} ({e})", what(dir, name)))
    };
    let pcm = PCM::new(name, dir, true).map_err(|e| fail("open it", e))?;
    let (channels, buffer, period) = {
        let hw = HwParams::any(&pcm).map_err(|e| fail("query it", e))?;
        hw.set_access(Access::RWInterleaved)
            .map_err(|e| fail("move interleaved frames", e))?;
        hw.set_format(Format::float())
            .map_err(|e| fail("take float samples", e))?;
        hw.set_rate_resample(false)
            .map_err(|e| fail("set the rate", e))?;
        hw.set_rate(rate, ValueOr::Nearest)
            .map_err(|e| fail("set the rate", e))?;
        let ch = u32::try_from(channels).unwrap_or(2);
        if hw.set_channels(ch).is_err() {
            hw.set_channels(2)
                .map_err(|e| fail("set the channels", e))?;
        }
        let want = buffer.max(2 * block).max(64) as alsa::pcm::Frames;
        hw.set_buffer_size_near(want)
            .map_err(|e| fail("set the buffer size", e))?;
        hw.set_period_size_near((want / 4).max(1), ValueOr::Nearest)
            .map_err(|e| fail("set the period", e))?;
        pcm.hw_params(&hw).map_err(|e| fail("configure it", e))?;
        let got = pcm
            .hw_params_current()
            .map_err(|e| fail("configure it", e))?;
        let channels = got.get_channels().map_err(|e| fail("configure it", e))? as usize;
        let got_rate = got.get_rate().map_err(|e| fail("configure it", e))?;
        if got_rate != rate {
            return Err(Error::Device(format!(
                "{}: runs at {got_rate} Hz, not {rate}",
                what(dir, name)
            )));
        }
        let buffer = got.get_buffer_size().map_err(|e| fail("configure it", e))? as usize;
        let period = got.get_period_size().map_err(|e| fail("configure it", e))? as usize;
        (channels, buffer, period)
    };
    {
        let sw = pcm
            .sw_params_current()
            .map_err(|e| fail("configure it", e))?;
        let (start, wake) = match dir {
            Direction::Playback => (buffer, period),
            // A capture starts when told (after the chain is ready) and wakes its reader as
            // soon as a block is there.
            Direction::Capture => (2 * buffer, block.clamp(1, period.max(1))),
        };
        sw.set_start_threshold(start as alsa::pcm::Frames)
            .map_err(|e| fail("set the start threshold", e))?;
        sw.set_avail_min(wake as alsa::pcm::Frames)
            .map_err(|e| fail("configure it", e))?;
        pcm.sw_params(&sw).map_err(|e| fail("configure it", e))?;
    }
    Ok(Pcm {
        pcm,
        channels,
        buffer,
        period,
    })
}

/// Closes a PCM on a thread of its own: closing one whose sound server froze can block.
pub fn close(pcm: Option<PCM>) {
    if let Some(p) = pcm {
        let _ = p.drop();
        let _ = std::thread::Builder::new()
            .name("convoy-pcm-close".into())
            .spawn(move || drop(p));
    }
}
