//! Measuring the streaming engine as an audio user would: realtime factor, CPU share of one
//! core, latency, and the time each block takes against its period (`convoy bench`).
//!
//! The calling thread. Unpaced, blocks are processed back to back; paced, one block is
//! released per period, as an audio callback would, sleeping in between, and a deadline miss
//! is counted for every block whose output was not ready one period after the block was
//! released (its arrival, or the pacer's actual wake-up when the OS woke it late; such late
//! wake-ups are counted apart). CPU time is the thread's own CPU clock summed over the
//! `process` calls only, so the pacer's waiting is not counted; comparing it with each block's
//! wall time tells a slow block from one during which the thread was descheduled (a "stall").
//! Paced, the thread asks for real-time priority, as a live run's processing thread does.

use std::time::{Duration, Instant};

use crate::conv::{MultiConvolver, PartitionedKernel, Schedule};
use crate::error::Result;

/// What to measure.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Taps of the generated decaying-noise impulse response.
    pub kernel_len: usize,
    /// Processing block (a power of two): the engine's latency.
    pub block: usize,
    pub channels: usize,
    pub rate: u32,
    pub seconds: f64,
    /// One block per period instead of back to back.
    pub paced: bool,
    /// Uniform partitions of the block instead of the cost model's schedule.
    pub uniform: bool,
}

/// What a measurement found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Seconds of audio per CPU second of the engine.
    pub realtime_factor: f64,
    /// Engine CPU time per second of audio, x 100.
    pub cpu_percent: f64,
    /// Latency in samples (the head block).
    pub latency_samples: usize,
    /// Block period in milliseconds.
    pub period_ms: f64,
    /// Per-block processing time: median, 99th percentile and maximum, in milliseconds.
    pub block_ms: [f64; 3],
    /// Blocks whose output was not ready one period after their release (paced mode).
    pub deadline_misses: usize,
    /// Blocks the pacer released more than half a period late (the OS woke it late).
    pub late_wakeups: usize,
    /// Blocks whose wall time exceeded the thread's CPU time by more than a quarter period: the
    /// thread was descheduled mid-block (by the OS or, on a VM, by the host).
    pub stalls: usize,
    /// Deadline misses that were such stalls.
    pub stalled_misses: usize,
    /// The partition schedule used.
    pub schedule: Schedule,
    /// Whether the paced thread got real-time (`SCHED_FIFO`) priority.
    pub realtime_priority: bool,
}

/// A decaying-noise impulse response (a room-like reverb tail), deterministic.
pub fn impulse_response(len: usize) -> Vec<f32> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            noise * (-6.9 * i as f32 / len as f32).exp()
        })
        .collect()
}

/// Builds the engine and runs it; see the module doc for what is timed.
pub fn measure(args: &Spec) -> Result<Report> {
    let kernel = impulse_response(args.kernel_len);
    let schedule = if args.uniform {
        Schedule::uniform(args.kernel_len, args.block)
    } else {
        Schedule::choose(args.kernel_len, args.block)
    };
    let shared = PartitionedKernel::with_schedule(&kernel, &schedule)?;
    let mut bank = MultiConvolver::shared(&shared, args.channels);

    let block = args.block;
    let period = Duration::from_secs_f64(block as f64 / f64::from(args.rate));
    let blocks = ((args.seconds * f64::from(args.rate)) / block as f64).ceil() as usize;
    // One block of input per channel, reused: the engine sees fresh-looking noise each time
    // because its state (the delay lines) moves on.
    let mut noise = 0x9E37_79B9u32;
    let inputs: Vec<Vec<f32>> = (0..args.channels)
        .map(|_| {
            (0..block)
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 17;
                    noise ^= noise << 5;
                    noise as f32 / u32::MAX as f32 - 0.5
                })
                .collect()
        })
        .collect();
    let mut outputs = vec![vec![0.0f32; block]; args.channels];
    // Channel views built once, outside the timed loop.
    let ins: Vec<&[f32]> = inputs.iter().map(|v| &v[..]).collect();
    let mut outs: Vec<&mut [f32]> = outputs.iter_mut().map(|v| &mut v[..]).collect();
    let mut times = Vec::with_capacity(blocks);
    // The processing thread runs with subnormals flushed, as the live engine does.
    crate::conv::simd::flush_denormals();
    // Paced, the thread stands in for an audio callback thread, which runs at real-time
    // priority where the OS allows (the live pipeline does the same).
    let realtime_priority = args.paced && crate::rt::promote_current_thread();
    let mut misses = 0;
    let mut late_wakeups = 0;
    let mut busy = 0.0;
    let mut stalls = 0;
    let mut stalled_misses = 0;
    let loop_cpu = crate::rt::thread_cpu_time();
    let start = Instant::now();
    for k in 0..blocks {
        if args.paced {
            wait_until(start + period * k as u32);
        }
        // Paced, the thread's CPU clock is read around each block (the waiting in between is
        // not the engine's); unpaced, once around the whole loop, which is all engine.
        let c0 = if args.paced {
            crate::rt::thread_cpu_time()
        } else {
            Duration::ZERO
        };
        let t0 = Instant::now();
        bank.process(&ins, &mut outs);
        let t1 = Instant::now();
        times.push((t1 - t0).as_secs_f64());
        let mut stalled = false;
        if args.paced {
            let cpu = crate::rt::thread_cpu_time().saturating_sub(c0);
            busy += cpu.as_secs_f64();
            // Wall time far beyond the thread's own CPU time: it was not running (preempted)
            // while the block was in progress. (A VM's host can also deschedule the virtual
            // CPU; without steal accounting the guest cannot see that, so such stalls show
            // up as slow blocks instead.)
            stalled = (t1 - t0).saturating_sub(cpu) > period / 4;
            stalls += usize::from(stalled);
        }
        if args.paced {
            // The block is released at its arrival time, or when the pacer actually woke if
            // that was later (the OS's lateness, counted apart); its output is due one period
            // after release.
            let arrival = start + period * k as u32;
            if t0 > arrival + period / 2 {
                late_wakeups += 1;
            }
            if t1 > t0.max(arrival) + period {
                misses += 1;
                stalled_misses += usize::from(stalled);
            }
        }
    }
    std::hint::black_box(&outs);
    if !args.paced {
        busy = (crate::rt::thread_cpu_time().saturating_sub(loop_cpu)).as_secs_f64();
    }
    if busy == 0.0 {
        // No per-thread CPU clock on this platform: fall back to the wall time in `process`.
        busy = times.iter().sum();
    }
    let audio_seconds = (blocks * block) as f64 / f64::from(args.rate);
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize] * 1e3;
    Ok(Report {
        realtime_factor: audio_seconds / busy.max(1e-12),
        cpu_percent: busy / audio_seconds * 100.0,
        latency_samples: block,
        period_ms: period.as_secs_f64() * 1e3,
        block_ms: [pick(0.5), pick(0.99), pick(1.0)],
        deadline_misses: misses,
        late_wakeups,
        stalls,
        stalled_misses,
        schedule,
        realtime_priority,
    })
}

/// Sleeps until shortly before `deadline`, then yields until it: `sleep` alone can overshoot
/// by a large part of a short block period on a busy machine.
fn wait_until(deadline: Instant) {
    const MARGIN: Duration = Duration::from_micros(300);
    let now = Instant::now();
    if deadline > now + MARGIN {
        std::thread::sleep(deadline - now - MARGIN);
    }
    while Instant::now() < deadline {
        std::thread::yield_now();
    }
}
