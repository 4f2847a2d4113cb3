//! `convoy run` with a sound device at either end: open the devices (the input decides the
//! rate and channels), build the chain for them, and run the same engine as any other run.
//!
//! Main thread. Opening a device can block inside a sound server that stopped answering, so
//! until audio flows Ctrl-C aborts (nothing has been read or written yet).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::run_args::{device_arg, duration_frames, notes, plan_output, plot_title};
use crate::cli::RunArgs;
use convoy::chain::live::MAX_LIVE_CHANNELS;
use convoy::chain::{Context, StageWord};
use convoy::engine::{Control, Input, Options, Output, Precision, Runner, stop};
use convoy::error::{Error, Result};
use convoy::io::device::quiet::AlsaChatter;
use convoy::io::device::{DeviceInput, DeviceOutput, PushOutput};
use convoy::io::{Sink, Source, StreamInfo};

/// Runs `convoy run` with `mic` and/or `speakers`.
///
/// # Errors
/// Bad arguments, no or a failing device, or a failure writing the output.
pub fn run(args: &RunArgs, words: &[StageWord], inputs: Vec<PathBuf>) -> Result<()> {
    stop::set_graceful(false);
    let chatter = AlsaChatter::capture();
    let result = run_inner(args, words, inputs);
    if let Err(Error::Device(msg)) = &result {
        // alsa-lib's own words can say which PCM failed; kept out of the one line, shown when
        // asked for.
        if std::env::var_os("CONVOY_DEBUG").is_some() {
            eprintln!("{msg}\nalsa-lib said:\n{}", chatter.text());
        }
    }
    result
}

fn run_inner(args: &RunArgs, words: &[StageWord], mut inputs: Vec<PathBuf>) -> Result<()> {
    if args.columns.is_some() {
        return Err(Error::input(
            "--columns",
            "chooses columns of a text file run to a file, not of a live run",
        ));
    }
    let block = args.block.unwrap_or(convoy::chain::LIVE_BLOCK);
    let (mic, speakers) = (
        device_arg(&args.input, "mic"),
        device_arg(&args.output, "speakers"),
    );
    if args.plot.is_some() && speakers.is_some() {
        // The picture's taps grow as the stream goes; the thread feeding speakers must not
        // allocate.
        return Err(Error::input(
            "--plot",
            "cannot draw a run that plays to speakers; record to a WAV (-o take.wav --plot take.png)",
        ));
    }
    // The capture period: a third of the cushion up to 6.7 ms, at least the block (tying it to
    // a small block would wake the backend every 1.3 ms, which the cushion exists to make
    // unnecessary). Larger capture periods arrive as larger bursts that the ring must absorb:
    // at a 40 ms cushion, 13 ms periods counted xruns where 6.7 ms periods did not.
    let rate_guess = f64::from(args.rate.unwrap_or(48_000));
    let period = ((args.latency.min(20.0) * 1e-3 * rate_guess / 3.0) as usize)
        .clamp(block, 2048.max(block)) as u32;
    let hosts = convoy::io::device::choose::Hosts::new();
    let mut report = Vec::new();

    // The input decides the rate and the channels.
    let mut input_period = 0;
    // Into speakers, an ALSA PCM is read by the processing thread (the whole cushion in its
    // buffer, as arecord records); a recording, a server's own device, or a PCM that refuses
    // float, through cpal's callback (whose two-second ring also survives a slow disk).
    // CONVOY_CAPTURE=callback forces the callback path (for comparisons).
    let pulled = match mic {
        Some(name) if speakers.is_some() && by_env("CONVOY_CAPTURE") => {
            convoy::io::device::pull_input(
                &hosts,
                name,
                args.rate,
                args.channels,
                args.latency,
                block,
            )
        }
        _ => None,
    };
    let (input, rate, channels, wav_format): (Box<dyn Input<f32>>, u32, usize, _) =
        match (mic, pulled) {
            (_, Some(dev)) => {
                report.push(dev.report.clone());
                // Read by the processing thread, each delivery is written to the speakers at
                // once, into a buffer the first read left one cushion deep: the audio's age is
                // the cushion and a block, not a capture period more (measured through
                // PulseAudio at 30 ms: 30.0-31.1 ms, where cushion + period printed 37.5).
                input_period = 0;
                let (rate, ch) = (dev.rate, Input::channels(&dev));
                (Box::new(dev), rate, ch, None)
            }
            (Some(name), None) => {
                let mut dev =
                    DeviceInput::open(&hosts, name, args.rate, args.channels, period, block)?;
                if speakers.is_some() {
                    dev.play_live();
                }
                report.push(dev.report.clone());
                input_period = dev.period as usize;
                let (rate, ch) = (dev.rate, Input::channels(&dev));
                (Box::new(dev), rate, ch, None)
            }
            (None, _) => {
                let s = Source::open(&args.input, args.in_format, args.rate, args.channels)?;
                if args.input != "-" {
                    inputs.push(PathBuf::from(&args.input));
                }
                let (rate, ch, fmt) = (
                    s.info.rate.unwrap_or(48_000),
                    s.info.channels,
                    s.info.wav_format,
                );
                (f32::file_input(s, block.max(1024))?, rate, ch, fmt)
            }
        };
    if channels == 0 || channels > MAX_LIVE_CHANNELS {
        return Err(Error::input(
            "--channels",
            format!("{channels}: a live stream carries 1 to {MAX_LIVE_CHANNELS} channels"),
        ));
    }
    let ctx = Context {
        rate: Some(rate),
        channels,
        block: Some(block),
    };
    let chain = f32::build_chain(words, &ctx)?;
    // What the chain gives: the input's rate, or a resample:'s.
    let rate_out = chain.rate_out().unwrap_or(rate);
    let cushion = (args.latency * 1e-3 * f64::from(rate)).round() as usize;
    let played = if speakers.is_some() { cushion } else { 0 };
    if args.explain {
        print!("{}", chain.explain_live(input_period, played));
        return Ok(());
    }
    let (total, breakdown) = chain.live_latency(input_period, played);
    let out_channels = chain.channels_out();
    inputs.extend(chain.inputs.iter().cloned());
    notes(args, &chain);

    // The output: speakers at the chain's rate, or a file or pipe.
    let (output, runner): (Box<dyn Output<f32>>, Runner<f32>) = match speakers {
        Some(name) => {
            // The playback side counts frames at the output's rate.
            let scale =
                |n: usize| (n as f64 * f64::from(rate_out) / f64::from(rate)).ceil() as usize;
            let (cushion_out, block_out) = (scale(cushion), scale(block));
            // An ALSA PCM is written to (the whole cushion in its buffer, as aplay plays);
            // anything else, or a PCM that refuses float at this rate, through cpal's callback.
            // CONVOY_PLAYBACK=callback forces the callback path (for comparisons).
            let pushed = by_env("CONVOY_PLAYBACK")
                .then(|| convoy::io::device::alsa_pcm(&hosts, name))
                .flatten()
                .and_then(|pcm| {
                    PushOutput::open(&pcm, rate_out, out_channels, cushion_out, block_out).ok()
                });
            let dev: Box<dyn Output<f32>> = match pushed {
                Some(dev) => {
                    report.push(dev.report.clone());
                    Box::new(dev)
                }
                None => {
                    let period = playback_period(cushion_out, block_out);
                    let dev = DeviceOutput::open(
                        &hosts,
                        name,
                        rate_out,
                        out_channels,
                        period,
                        block_out,
                        cushion_out,
                    )?;
                    report.push(dev.report.clone());
                    Box::new(dev)
                }
            };
            (dev, Runner::Causal(chain.into_live(block)?))
        }
        None => {
            let info = StreamInfo {
                rate: Some(rate_out),
                channels,
                frames: None,
                wav_format,
                columns: None,
            };
            let plan = plan_output(args, &info, &inputs)?;
            let sink = Sink::create(&args.output, plan, rate_out, out_channels, None)?;
            (f32::file_output(sink)?, Runner::Exact(chain))
        }
    };
    let period_ns = block as f64 * 1e9 / f64::from(rate);
    if !args.quiet {
        for line in &report {
            eprintln!("convoy: {line}");
        }
        eprintln!(
            "convoy: block {block} frames; latency {:.1} ms ({total:.0} samples = {breakdown})",
            total * 1e3 / f64::from(rate),
        );
    }
    let ctl = Arc::new(Control::default());
    let mut last = (Instant::now(), ctl.block_times.snapshot());
    let stats = args.stats;
    let opts = Options {
        read_frames: block,
        max_frames: duration_frames(args, rate)?,
        // Real-time priority only where nothing allocates or waits on a file: device to device.
        realtime: mic.is_some() && speakers.is_some(),
        plot: args.plot.clone(),
        plot_title: plot_title(args, words),
        rate,
        lost_note: if args.output == "-" {
            String::new()
        } else {
            format!("; what was captured before is in {}", args.output)
        },
        watch: Some(Box::new(move |c: &Control| {
            if stats && last.0.elapsed().as_secs() >= 1 {
                let now = c.block_times.snapshot();
                let f = now.since(&last.1);
                last = (Instant::now(), now);
                eprintln!(
                    "convoy: {} frames in, {} out, xruns: input {}, output {}, ring fill {} frames, block time median {:.1} %, max {:.1} % ({} blocks)",
                    c.frames_in.load(Ordering::Relaxed),
                    c.frames_out.load(Ordering::Relaxed),
                    c.xruns_in.load(Ordering::Relaxed),
                    c.xruns_out.load(Ordering::Relaxed),
                    c.ring_fill.load(Ordering::Relaxed),
                    f.median_ns * 100.0 / period_ns,
                    f.max_ns * 100.0 / period_ns,
                    f.blocks
                );
            }
        })),
    };
    // From here on Ctrl-C stops the input and lets the chain's tail out.
    stop::set_graceful(true);
    let summary = f32::run(input, runner, output, opts, ctl)?;
    if summary.realtime == Some(false) && !args.quiet {
        eprintln!(
            "convoy: real-time priority refused (no privilege or RLIMIT_RTPRIO); running at normal priority"
        );
    }
    if !args.quiet || args.stats {
        eprintln!("convoy: {}", summary.live_line(rate, block));
        for e in &summary.device_errors {
            eprintln!("convoy: {e}");
        }
    }
    Ok(())
}

/// Whether a device is read or written by the processing thread: unless `var` (CONVOY_CAPTURE,
/// CONVOY_PLAYBACK) is `callback`.
fn by_env(var: &str) -> bool {
    std::env::var_os(var).is_none_or(|v| v != "callback")
}

/// The playback period to ask for: a quarter of the cushion (at least the block), so that the
/// device's buffer (cpal asks for two periods) holds half the cushion and convoy's ring the
/// other half. The buffer is what survives a late playback thread or a stalled sound server
/// (the server's underrun is silent: no xrun reaches convoy, the audio just drops out); the
/// ring is what survives a late capture or a slow block (an xrun convoy counts). Measured
/// through PulseAudio on a noisy 2-core VM, 5 runs of 10 s each, `gain:1` at block 64: at a
/// 40 ms cushion a buffer of a third of it dropped out in 5 of 6 runs, of a half in none, of
/// two thirds in 1 of 5 (a ring too thin); at 30 ms, a half held 5 of 5, a bit more than a
/// half 4 of 5 and 2 of 5.
fn playback_period(cushion: usize, block: usize) -> u32 {
    u32::try_from((cushion / 4).max(block)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::playback_period;

    #[test]
    fn the_playback_buffer_is_half_the_cushion() {
        // 40 ms at 48 kHz: two periods of 480 frames, 20 ms, in the device.
        assert_eq!(playback_period(1920, 64), 480);
        // Never below the block: a block's worth must fit in one callback.
        assert_eq!(playback_period(100, 64), 64);
    }
}
