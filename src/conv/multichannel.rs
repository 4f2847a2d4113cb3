//! Multichannel streaming convolution: one kernel for every channel, one kernel per channel,
//! or a true-stereo 2x2 matrix.
//!
//! Processing thread; builds on [`PartitionedConvolver`]. Where channels share a kernel they
//! share its transformed spectra ([`PartitionedKernel`]) and keep only their own delay lines.
//!
//! True stereo takes a 4-channel impulse response in the order L->L, L->R, R->L, R->R:
//!
//! ```text
//! out_L = in_L * h_LL + in_R * h_RL
//! out_R = in_L * h_LR + in_R * h_RR
//! ```

use super::partitioned::{PartitionedConvolver, PartitionedKernel, Schedule};
use super::sample::Sample;
use crate::error::{Error, Result};

/// How kernels map to channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// One kernel filters every channel.
    Shared,
    /// Kernel `c` filters channel `c`.
    PerChannel,
    /// Two channels through a 2x2 matrix of kernels (LL, LR, RL, RR).
    TrueStereo,
}

/// Pieces of at most this many frames go through the true-stereo scratch buffers.
const SCRATCH: usize = 1024;

/// A bank of partitioned convolvers for planar multichannel audio.
#[derive(Clone)]
pub struct MultiConvolver<T: Sample> {
    routing: Routing,
    convolvers: Vec<PartitionedConvolver<T>>,
    scratch: Vec<T>,
    latency: usize,
    tail: usize,
}

impl<T: Sample> MultiConvolver<T> {
    /// Builds the bank for `channels` channels from `kernels`: one kernel is shared by all
    /// channels, `channels` kernels go one per channel, and four kernels on two channels are
    /// a true-stereo matrix (LL, LR, RL, RR). `block` is the latency (a power of two).
    ///
    /// # Errors
    /// Any other combination of counts, an empty kernel, or a bad block.
    pub fn new(kernels: &[&[T]], channels: usize, block: usize) -> Result<Self> {
        let routing = match (kernels.len(), channels) {
            (_, 0) => return Err(Error::input("channels", "no channels")),
            (1, _) => {
                let shared = PartitionedKernel::new(kernels[0], block)?;
                return Ok(Self::shared(&shared, channels));
            }
            (4, 2) => Routing::TrueStereo,
            (k, c) if k == c => Routing::PerChannel,
            (k, c) => {
                return Err(Error::input(
                    "kernel",
                    format!(
                        "{k} kernel channels cannot filter {c} signal channels (use 1, {c}, or 4 for true stereo on 2)"
                    ),
                ));
            }
        };
        let convolvers = kernels
            .iter()
            .map(|k| PartitionedConvolver::new(k, block))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::assemble(routing, convolvers, block))
    }

    /// Like [`MultiConvolver::new`] with the partitioning given: kernels for `channels`
    /// channels (one shared, one per channel, or four for true stereo on two), all of the
    /// length `schedule` was chosen for.
    ///
    /// # Errors
    /// A count that fits none of those routings, or kernels the schedule does not fit.
    pub fn with_schedule(kernels: &[&[T]], channels: usize, schedule: &Schedule) -> Result<Self> {
        let routing = match (kernels.len(), channels) {
            (1, c) if c > 0 => {
                let shared = PartitionedKernel::with_schedule(kernels[0], schedule)?;
                return Ok(Self::shared(&shared, c));
            }
            (4, 2) => Routing::TrueStereo,
            (k, c) if k == c && c > 0 => Routing::PerChannel,
            (k, c) => {
                return Err(Error::input(
                    "kernel",
                    format!("{k} kernels cannot filter {c} channels"),
                ));
            }
        };
        let convolvers = kernels
            .iter()
            .map(|k| PartitionedConvolver::with_schedule(k, schedule))
            .collect::<Result<Vec<_>>>()?;
        let latency = convolvers.first().map_or(1, PartitionedConvolver::latency);
        Ok(Self::assemble(routing, convolvers, latency))
    }

    /// One already partitioned kernel for `channels` channels (spectra shared).
    pub fn shared(kernel: &PartitionedKernel<T>, channels: usize) -> Self {
        let convolvers = (0..channels)
            .map(|_| PartitionedConvolver::from_kernel(kernel))
            .collect();
        Self::assemble(Routing::Shared, convolvers, kernel.latency())
    }

    fn assemble(
        routing: Routing,
        mut convolvers: Vec<PartitionedConvolver<T>>,
        latency: usize,
    ) -> Self {
        // Stagger the big deferred transforms of the channels across each block.
        let count = convolvers.len();
        for (i, conv) in convolvers.iter_mut().enumerate() {
            conv.set_phase(i, count);
        }
        let tail = convolvers
            .iter()
            .map(PartitionedConvolver::tail_frames)
            .max()
            .unwrap_or(latency);
        MultiConvolver {
            routing,
            convolvers,
            scratch: vec![T::zero(); 2 * SCRATCH],
            latency,
            tail,
        }
    }

    /// How kernels map to channels.
    pub fn routing(&self) -> Routing {
        self.routing
    }

    /// Delay of every output channel behind the full convolution.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Output frames still to come after the last input (the longest kernel's).
    pub fn tail_frames(&self) -> usize {
        self.tail
    }

    /// Forgets all past input. Does not allocate.
    pub fn reset(&mut self) {
        self.convolvers
            .iter_mut()
            .for_each(PartitionedConvolver::reset);
    }

    /// Filters planar `input` channels into planar `output` channels (all the same length).
    /// Never allocates, locks or blocks.
    ///
    /// # Panics
    /// If the channel counts or lengths do not match the bank.
    pub fn process(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        self.run(Some(input), output);
    }

    /// Writes the next frames of the response to silence (the tail) into `output`.
    pub fn flush(&mut self, output: &mut [&mut [T]]) {
        self.run(None, output);
    }

    fn run(&mut self, input: Option<&[&[T]]>, output: &mut [&mut [T]]) {
        if let Some(input) = input {
            assert_eq!(input.len(), output.len(), "channel counts differ");
        }
        match self.routing {
            Routing::Shared | Routing::PerChannel => {
                assert_eq!(output.len(), self.convolvers.len(), "wrong channel count");
                for (c, (conv, out)) in self
                    .convolvers
                    .iter_mut()
                    .zip(output.iter_mut())
                    .enumerate()
                {
                    match input {
                        Some(input) => conv.process(input[c], out),
                        None => conv.flush(out),
                    }
                }
            }
            Routing::TrueStereo => {
                assert_eq!(output.len(), 2, "true stereo needs two channels");
                let frames = output[0].len();
                assert_eq!(output[1].len(), frames, "channel lengths differ");
                let (left_scratch, right_scratch) = self.scratch.split_at_mut(SCRATCH);
                let mut start = 0;
                while start < frames {
                    let n = (frames - start).min(SCRATCH);
                    let range = start..start + n;
                    let [ll, lr, rl, rr] = &mut self.convolvers[..] else {
                        unreachable!("true stereo is built with four convolvers")
                    };
                    let (a, b) = (&mut left_scratch[..n], &mut right_scratch[..n]);
                    let inputs = input.map(|i| [&i[0][range.clone()], &i[1][range.clone()]]);
                    // Left output: L through LL plus R through RL; right: L through LR plus
                    // R through RR.
                    mix(inputs, [ll, rl], a, b, &mut output[0][range.clone()]);
                    mix(inputs, [lr, rr], a, b, &mut output[1][range]);
                    start += n;
                }
            }
        }
    }
}

/// `out = from_left(in_L) + from_right(in_R)` (silence in when `inputs` is `None`), using two
/// scratch buffers of the output's length.
fn mix<T: Sample>(
    inputs: Option<[&[T]; 2]>,
    [from_left, from_right]: [&mut PartitionedConvolver<T>; 2],
    a: &mut [T],
    b: &mut [T],
    out: &mut [T],
) {
    match inputs {
        Some([left, right]) => {
            from_left.process(left, a);
            from_right.process(right, b);
        }
        None => {
            from_left.flush(a);
            from_right.flush(b);
        }
    }
    for ((o, &p), &q) in out.iter_mut().zip(a.iter()).zip(b.iter()) {
        *o = p + q;
    }
}
