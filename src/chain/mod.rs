//! The filter chain of `convoy run`: stage words parsed, kernels designed or loaded, adjacent
//! linear stages fused, and the runtime that pushes blocks through them.
//!
//! Setup on the main thread; [`Chain::process`] runs on the chain thread.
//!
//! A stage word is `name[:arg,...][,key=value...]`, e.g. `ma:9`, `lowpass:3000,window=kaiser`,
//! `fir:room.wav,normalize=peak,mode=full`. A linear, time-invariant stage becomes a [`Kernels`]
//! map plus a mode; runs of them are fused when the cost model says one convolution is cheaper
//! than several ([`fused`] keeps the output identical). `denoise` and `dehum` are not
//! convolutions: they stand alone between runs ([`nonlinear`]).

pub mod design;
pub mod fused;
pub mod kernels;
pub mod live;
pub mod nonlinear;
mod parse;

use std::path::PathBuf;

use crate::conv::fir::DirectFir;
use crate::conv::partitioned::MAX_BLOCK;
use crate::conv::{MultiConvolver, PartitionedKernel, Schedule};
use crate::error::{Error, Result};
pub use fused::{Engine, FusedStage, LinearStage, StageMode};
pub use kernels::Kernels;
pub use nonlinear::NonlinearStage;
pub use parse::{STAGE_HELP, parse_stage};

/// The most taps any stage may have (2^27, 0.5 GB of f32 per channel): refused before
/// allocating.
pub const MAX_TAPS: usize = 1 << 27;

/// What the chain is built for.
#[derive(Clone, Debug)]
pub struct Context {
    /// Sample rate of the stream, if known.
    pub rate: Option<u32>,
    pub channels: usize,
    /// `--block`: the latency the engine must meet; `None` offline (fastest).
    pub block: Option<usize>,
}

/// One step of a built chain.
enum Step {
    Linear(FusedStage),
    Nonlinear(NonlinearStage),
}

/// A parsed stage.
pub enum Stage {
    Linear(LinearStage),
    Nonlinear(NonlinearStage),
}

/// A built chain: fused runs of linear stages, and nonlinear stages between them.
pub struct Chain {
    runs: Vec<Step>,
    explain: Vec<String>,
    /// Files the stages read (never to be overwritten by the output).
    pub inputs: Vec<PathBuf>,
    /// Notes to print (normalization gains and the like).
    pub notes: Vec<String>,
    channels: usize,
}

/// Picks the engine's partitioning for a kernel of `len` taps.
fn schedule_for(len: usize, block: Option<usize>) -> Schedule {
    match block {
        Some(b) => {
            // Any host block: the head partition is the largest power of two not above it,
            // so every call of `b` frames has its output ready (latency <= b).
            let head = 1usize << (usize::BITS - 1 - b.max(1).leading_zeros());
            Schedule::choose(len, head.min(MAX_BLOCK))
        }
        None => {
            // Offline: the cheapest uniform partitioning by the cost model.
            let mut best = Schedule::uniform(len, 64);
            let mut b = 128;
            while b <= MAX_BLOCK {
                let s = Schedule::uniform(len, b);
                if s.cost_ns < best.cost_ns {
                    best = s;
                }
                b *= 2;
            }
            best
        }
    }
}

/// Modelled cost per sample of the direct form, in the units of the FFT cost model: measured
/// on W2 (2^22 samples, 31 taps, AVX2+FMA dispatch) the direct form took 21 ms of engine time
/// where the FFT engine took 37 ms and the model predicted 22 ms for the FFT, so one tap costs
/// about 0.1 model-ns per sample: the direct form wins up to about 50 taps.
fn direct_cost(len: usize) -> f64 {
    0.1 * len as f64 + 0.3
}

fn cost(len: usize, block: Option<usize>) -> f64 {
    schedule_for(len, block).cost_ns.min(direct_cost(len))
}

impl Chain {
    /// Parses and builds `words` (stage words in order).
    pub fn build(words: &[String], ctx: &Context) -> Result<Chain> {
        let mut stages = Vec::new();
        let mut inputs = Vec::new();
        let mut notes = Vec::new();
        for word in words {
            let built = parse_stage(word, ctx)?;
            inputs.extend(built.reads);
            notes.extend(built.note);
            stages.push(built.stage);
        }
        let channels = ctx.channels;
        // Greedy fusion: extend the current run while one convolution of the fused kernel costs
        // no more than the run and the next stage separately. A nonlinear stage ends the run.
        enum Group {
            Linear(Vec<LinearStage>, Kernels),
            Nonlinear(NonlinearStage),
        }
        let mut groups: Vec<Group> = Vec::new();
        for stage in stages {
            let stage = match stage {
                Stage::Nonlinear(n) => {
                    groups.push(Group::Nonlinear(n));
                    continue;
                }
                Stage::Linear(l) => l,
            };
            if let Some(Group::Linear(group, k)) = groups.last_mut() {
                let candidate = stage.kernels.after(k, channels);
                let separate = cost(k.len(), ctx.block) + cost(stage.kernels.len(), ctx.block);
                if candidate.len() <= MAX_TAPS && cost(candidate.len(), ctx.block) <= separate {
                    *k = candidate;
                    group.push(stage);
                    continue;
                }
            }
            let k = stage.kernels.clone();
            groups.push(Group::Linear(vec![stage], k));
        }
        let mut runs = Vec::new();
        let mut explain = Vec::new();
        for (i, group) in groups.into_iter().enumerate() {
            let (group, kernels) = match group {
                Group::Nonlinear(n) => {
                    explain.push(format!("  {:<28} {}", n.word, n.describe));
                    explain.push(format!(
                        "run {}: {} (not a convolution), latency {} samples{}",
                        i + 1,
                        n.word,
                        n.latency(),
                        ctx.rate
                            .map(|r| format!(
                                " ({:.3} ms)",
                                n.latency() as f64 * 1e3 / f64::from(r)
                            ))
                            .unwrap_or_default()
                    ));
                    runs.push(Step::Nonlinear(n));
                    continue;
                }
                Group::Linear(g, k) => (g, k),
            };
            let schedule = schedule_for(kernels.len(), ctx.block);
            let engine_kernels = kernels.engine_kernels();
            // Short kernels: a direct sum is cheaper than any FFT partitioning, and has no
            // latency. (True-stereo matrices always take the partitioned engine.)
            let direct = !matches!(kernels, Kernels::Matrix(_))
                && direct_cost(kernels.len()) < schedule.cost_ns;
            let engine = if direct {
                let per_channel: Vec<DirectFir<f32>> = (0..channels)
                    .map(|c| DirectFir::new(&engine_kernels[c.min(engine_kernels.len() - 1)]))
                    .collect();
                Engine::Direct(per_channel)
            } else if engine_kernels.len() == 1 {
                let pk = PartitionedKernel::with_schedule(&engine_kernels[0], &schedule)?;
                Engine::Partitioned(MultiConvolver::shared(&pk, channels))
            } else {
                let refs: Vec<&[f32]> = engine_kernels.iter().map(|k| &k[..]).collect();
                Engine::Partitioned(MultiConvolver::with_schedule(&refs, channels, &schedule)?)
            };
            let latency = engine.latency();
            let parts: Vec<String> = if direct {
                vec!["direct (time domain)".to_string()]
            } else {
                schedule
                    .segments
                    .iter()
                    .map(|s| format!("{}x{}", s.partitions, s.block))
                    .collect()
            };
            for s in &group {
                explain.push(format!(
                    "  {:<28} {:>8} taps  {:<4}  DC gain {}",
                    s.word,
                    s.kernels.len(),
                    if s.mode == StageMode::Full {
                        "full"
                    } else {
                        "same"
                    },
                    describe_gain(&s.kernels)
                ));
            }
            let what = if group.len() > 1 {
                format!("fused {} stages into", group.len())
            } else {
                "runs as".to_string()
            };
            explain.push(format!(
                "run {}: {what} one {}-tap convolution, partitions {}, engine latency {} samples{}",
                i + 1,
                kernels.len(),
                parts.join(" + "),
                latency,
                ctx.rate
                    .map(|r| format!(" ({:.3} ms)", latency as f64 * 1e3 / f64::from(r)))
                    .unwrap_or_default()
            ));
            runs.push(Step::Linear(FusedStage::new(group, channels, engine)));
        }
        Ok(Chain {
            runs,
            explain,
            inputs,
            notes,
            channels,
        })
    }

    /// The chain for a live stream on blocks of at most `block` frames (see [`live`]).
    ///
    /// # Errors
    /// More than [`live::MAX_LIVE_CHANNELS`] channels.
    pub fn into_live(self, block: usize) -> Result<live::LiveChain> {
        if self.channels > live::MAX_LIVE_CHANNELS {
            return Err(crate::error::Error::Usage(format!(
                "a live stream carries at most {} channels, not {}",
                live::MAX_LIVE_CHANNELS,
                self.channels
            )));
        }
        let engines = self
            .runs
            .into_iter()
            .map(|step| match step {
                Step::Linear(run) => run.into_engine(),
                Step::Nonlinear(n) => Engine::Nonlinear(n.into_processor()),
            })
            .collect();
        Ok(live::LiveChain::new(engines, self.channels, block.max(1)))
    }

    /// The whole chain's impulse response from input channel `channel` to the same output
    /// channel (for a true-stereo matrix, the direct path): the product of every stage's
    /// kernel, causal (a `same` stage's centring is a time shift, not part of its response).
    /// An empty chain is a unit impulse.
    pub fn impulse_response(&self, channel: usize) -> Vec<f64> {
        let mut total: Option<Kernels> = None;
        for run in &self.runs {
            let Step::Linear(run) = run else { continue };
            for stage in run.stages() {
                total = Some(match total {
                    None => stage.kernels.clone(),
                    Some(k) => stage.kernels.after(&k, self.channels),
                });
            }
        }
        match total {
            None => vec![1.0],
            Some(Kernels::Shared(k)) => k,
            Some(Kernels::PerChannel(ks)) => {
                let c = channel.min(ks.len().saturating_sub(1));
                ks.into_iter().nth(c).unwrap_or_else(|| vec![1.0])
            }
            Some(Kernels::Matrix(m)) => {
                let c = channel.min(m.len().saturating_sub(1));
                m.into_iter()
                    .nth(c)
                    .and_then(|row| row.into_iter().nth(c))
                    .unwrap_or_else(|| vec![1.0])
            }
        }
    }

    /// The first stage that is not linear (and so has no impulse response), if any.
    pub fn nonlinear_stage(&self) -> Option<&str> {
        self.runs.iter().find_map(|r| match r {
            Step::Nonlinear(n) => Some(n.word.as_str()),
            Step::Linear(_) => None,
        })
    }

    /// The `--explain` text.
    pub fn explain(&self) -> String {
        let mut s = format!(
            "chain: {} stage(s), {} channel(s), {} run(s)\n",
            self.runs
                .iter()
                .map(|r| match r {
                    Step::Linear(f) => f.stages().len(),
                    Step::Nonlinear(_) => 1,
                })
                .sum::<usize>(),
            self.channels,
            self.runs.len()
        );
        for line in &self.explain {
            s.push_str(line);
            s.push('\n');
        }
        if self.runs.is_empty() {
            s.push_str("  (no stages: input copied to output)\n");
        }
        s
    }

    /// Pushes a block through every run.
    pub fn process(&mut self, block: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
        let mut data = block;
        for run in &mut self.runs {
            data = match run {
                Step::Linear(f) => f.process(&data),
                Step::Nonlinear(n) => n.process(&data),
            };
        }
        data
    }

    /// The end of the input: flushes each run in turn (a run's tail goes through the rest).
    pub fn finish(&mut self) -> Vec<Vec<f32>> {
        let mut pending: Vec<Vec<f32>> = vec![Vec::new(); self.channels];
        for run in &mut self.runs {
            let (mut data, tail) = match run {
                Step::Linear(f) => (f.process(&pending), f.finish()),
                Step::Nonlinear(n) => (n.process(&pending), n.finish()),
            };
            for (d, t) in data.iter_mut().zip(tail) {
                d.extend(t);
            }
            pending = data;
        }
        pending
    }
}

fn describe_gain(k: &Kernels) -> String {
    let dc: f64 = match k {
        Kernels::Shared(k) => k.iter().sum(),
        Kernels::PerChannel(ks) => ks.first().map(|k| k.iter().sum()).unwrap_or(0.0),
        Kernels::Matrix(m) => m[0].iter().map(|k| k.iter().sum::<f64>()).sum(),
    };
    if dc.abs() < 1e-12 {
        "-inf dB (x0)".into()
    } else {
        format!("{:+.2} dB (x{:.4})", 20.0 * dc.abs().log10(), dc)
    }
}

/// An error about a stage word.
pub fn bad_stage(word: &str, msg: impl std::fmt::Display) -> Error {
    Error::Usage(format!("bad stage '{word}': {msg}"))
}
