//! `convoy bench`: checks the arguments, measures the streaming engine
//! ([`convoy::engine::bench`]) and prints the report (text or one JSON object).

use crate::cli::{BenchArgs, Engine};
use convoy::conv::Schedule;
use convoy::engine::bench::{self, Report, Spec};
use convoy::error::{Error, Result};

/// Runs `convoy bench`.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.kernel_len == 0 || args.kernel_len > 1 << 27 {
        return Err(Error::input(
            "--kernel-len",
            format!("{} taps: must be 1 to 2^27", args.kernel_len),
        ));
    }
    if args.block == 0 || !args.block.is_power_of_two() || args.block > 1 << 16 {
        return Err(Error::input(
            "--block",
            format!("{}: must be a power of two from 1 to 65536", args.block),
        ));
    }
    if args.channels == 0 || args.channels > 64 {
        return Err(Error::input("--channels", "must be 1 to 64"));
    }
    if args.rate == 0 {
        return Err(Error::input("--rate", "must be positive"));
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 86_400.0) {
        return Err(Error::input(
            "--seconds",
            "must be more than 0 and at most a day",
        ));
    }
    let report = bench::measure(&Spec {
        kernel_len: args.kernel_len,
        block: args.block,
        channels: args.channels,
        rate: args.rate,
        seconds: args.seconds,
        paced: args.paced,
        uniform: args.engine == Engine::Uniform,
    })?;
    print_report(args, &report);
    Ok(())
}

fn engine_name(args: &BenchArgs, schedule: &Schedule) -> &'static str {
    match (args.engine, schedule.segments.len()) {
        (Engine::Uniform, _) | (Engine::Auto, 1) => "uniform",
        _ => "partitioned",
    }
}

fn print_report(args: &BenchArgs, r: &Report) {
    let latency_ms = r.latency_samples as f64 / f64::from(args.rate) * 1e3;
    let engine = engine_name(args, &r.schedule);
    if args.json {
        println!(
            "{{\"realtime_factor\":{:.2},\"cpu_percent\":{:.4},\"latency_samples\":{},\"latency_ms\":{:.4},\"period_ms\":{:.4},\"block_ms_median\":{:.6},\"block_ms_p99\":{:.6},\"block_ms_max\":{:.6},\"deadline_misses\":{},\"late_wakeups\":{},\"stalled_blocks\":{},\"stalled_misses\":{},\"kernel_len\":{},\"block\":{},\"channels\":{},\"engine\":\"{}\",\"rate\":{},\"seconds\":{},\"paced\":{},\"realtime_priority\":{},\"stages\":{}}}",
            r.realtime_factor,
            r.cpu_percent,
            r.latency_samples,
            latency_ms,
            r.period_ms,
            r.block_ms[0],
            r.block_ms[1],
            r.block_ms[2],
            r.deadline_misses,
            r.late_wakeups,
            r.stalls,
            r.stalled_misses,
            args.kernel_len,
            args.block,
            args.channels,
            engine,
            args.rate,
            args.seconds,
            args.paced,
            r.realtime_priority,
            r.schedule.segments.len()
        );
        return;
    }
    let pct = |ms: f64| ms / r.period_ms * 100.0;
    println!(
        "engine       {engine}, {} taps, block {}, {} channel(s), {} Hz, {} s {}",
        args.kernel_len,
        args.block,
        args.channels,
        args.rate,
        args.seconds,
        if args.paced { "paced" } else { "unpaced" }
    );
    let stages: Vec<String> = r
        .schedule
        .segments
        .iter()
        .map(|s| format!("{}x{}", s.partitions, s.block))
        .collect();
    println!("partitions   {}", stages.join(" + "));
    println!(
        "realtime     {:.1}x  ({:.3} % of one core)",
        r.realtime_factor, r.cpu_percent
    );
    println!(
        "latency      {} samples = {latency_ms:.3} ms",
        r.latency_samples
    );
    println!(
        "block time   median {:.4} ms ({:.1} %), p99 {:.4} ms ({:.1} %), max {:.4} ms ({:.1} %) of the {:.4} ms period",
        r.block_ms[0],
        pct(r.block_ms[0]),
        r.block_ms[1],
        pct(r.block_ms[1]),
        r.block_ms[2],
        pct(r.block_ms[2]),
        r.period_ms
    );
    if args.paced {
        println!(
            "deadlines    {} missed, {} of them while the thread was descheduled ({} blocks stalled, {} released late by the OS; {} priority)",
            r.deadline_misses,
            r.stalled_misses,
            r.stalls,
            r.late_wakeups,
            if r.realtime_priority {
                "real-time"
            } else {
                "normal"
            }
        );
    }
}
