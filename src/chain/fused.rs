//! One run of adjacent linear stages, fused into one kernel and streamed through the
//! partitioned engine, with every output sample equal to what the stages give one after the
//! other.
//!
//! Chain thread. Full convolutions compose exactly: `(x * a) * b = x * (a * b)`. A `same` stage
//! is a full convolution followed by a truncation (numpy's centred window), and a truncation in
//! the middle of a chain does not commute with the convolutions after it: it drops samples the
//! later kernels would have smeared into the first and last few outputs. So in the interior a
//! fused run gives `y[j] = (x * K)[j + T]` (T the sum of the stages' front trims), which is
//! exact, while the first and last `R` outputs (`R` = the sum of the kernel lengths, a bound on
//! how far any truncation reaches) are computed stage by stage, in f64, from the first and last
//! few thousand input frames ([`staged`]). An input too short to have an interior is computed
//! stage by stage whole. Memory stays bounded by a few times `R` frames.

use std::collections::VecDeque;

use super::kernels::Kernels;
use crate::block::{Block, views, views_mut};
use crate::conv::fir::DirectFir;
use crate::conv::{Mode, MultiConvolver, Sample};

/// What computes a run's fused convolution, or (live chains only) one of the other steps.
/// (Named apart from [`crate::engine`], which drives whole runs.)
#[derive(Clone)]
pub enum Filter<T: Sample> {
    /// FFT partitions (any kernel length, latency = the head block).
    Partitioned(MultiConvolver<T>),
    /// Time-domain sums, one filter per channel (short kernels; no latency).
    Direct(Vec<DirectFir<T>>),
    /// A nonlinear stage (live chains only: offline it is a [`super::NonlinearStage`]).
    Nonlinear(super::nonlinear::Nonlinear),
    /// A delay line (live chains only: offline a delay is a shift of the stream).
    Delay(super::steps::DelayLine<T>),
    /// Mono copied to this many channels (live chains only).
    Upmix(usize),
    /// A cascade of second-order sections (causal; no latency beyond its phase).
    Iir(crate::conv::iir::Cascade),
}

impl<T: Sample> Filter<T> {
    /// Delay of the output behind the full convolution, in samples.
    pub fn latency(&self) -> usize {
        match self {
            Filter::Partitioned(m) => m.latency(),
            Filter::Nonlinear(p) => p.latency(),
            Filter::Direct(_) | Filter::Delay(_) | Filter::Upmix(_) | Filter::Iir(_) => 0,
        }
    }

    pub(crate) fn tail_frames(&self) -> usize {
        match self {
            Filter::Partitioned(m) => m.tail_frames(),
            Filter::Direct(f) => f.first().map_or(0, |f| f.kernel_len() - 1),
            Filter::Nonlinear(p) => p.latency(),
            Filter::Delay(d) => d.delay(),
            // sosfilt's output is as long as its input: nothing to flush.
            Filter::Upmix(_) | Filter::Iir(_) => 0,
        }
    }

    /// Channels out for `channels` in.
    pub(crate) fn channels_out(&self, channels: usize) -> usize {
        match self {
            Filter::Upmix(n) => *n,
            _ => channels,
        }
    }

    pub(crate) fn process(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        match self {
            Filter::Partitioned(m) => m.process(input, output),
            Filter::Direct(filters) => {
                for ((f, x), y) in filters.iter_mut().zip(input).zip(output.iter_mut()) {
                    f.process(x, y);
                }
            }
            Filter::Nonlinear(p) => p.process(input, output),
            Filter::Delay(d) => d.process(input, output),
            Filter::Iir(c) => c.process(input, output),
            Filter::Upmix(_) => {
                for y in output.iter_mut() {
                    y.copy_from_slice(input[0]);
                }
            }
        }
    }

    /// Forgets all past input.
    pub(crate) fn reset(&mut self) {
        match self {
            Filter::Partitioned(m) => m.reset(),
            Filter::Direct(filters) => filters.iter_mut().for_each(DirectFir::reset),
            Filter::Nonlinear(p) => p.reset(),
            Filter::Delay(d) => d.reset(),
            Filter::Iir(c) => c.reset(),
            Filter::Upmix(_) => {}
        }
    }

    fn flush(&mut self, output: &mut [&mut [T]]) {
        match self {
            Filter::Partitioned(m) => m.flush(output),
            _ => {
                let zeros =
                    vec![vec![T::zero(); output.first().map_or(0, |o| o.len())]; output.len()];
                let ins: Vec<&[T]> = zeros.iter().map(|z| &z[..]).collect();
                self.process(&ins, output);
            }
        }
    }
}

/// A linear stage as built from its word.
#[derive(Clone, Debug)]
pub struct LinearStage {
    /// The stage word exactly as typed.
    pub word: String,
    pub kernels: Kernels,
    /// How the stage's output relates to its full convolution, as np.convolve's `mode`.
    pub mode: Mode,
}

impl LinearStage {
    /// Front trim and output length for an input of `len` frames (`None`: long, at least M).
    fn shape(&self, len: Option<usize>) -> (usize, Option<usize>) {
        let m = self.kernels.len();
        match self.mode {
            Mode::Full => (0, len.map(|l| l + m - 1)),
            Mode::Same => match len {
                Some(l) => ((l.min(m).max(1) - 1) / 2, Some(l.max(m))),
                None => ((m - 1) / 2, None),
            },
            // np.convolve 'valid': the outputs where one sequence lies wholly inside the other.
            Mode::Valid => match len {
                Some(l) => (l.min(m).max(1) - 1, Some(l.max(m) - l.min(m) + 1)),
                None => (m - 1, None),
            },
        }
    }
}

/// Output length of `stages` for `n` input frames.
pub fn output_len(stages: &[LinearStage], n: usize) -> usize {
    stages
        .iter()
        .fold(n, |l, s| s.shape(Some(l)).1.unwrap_or(l))
}

/// Exact outputs of `stages` applied one after the other, over whatever range a segment of the
/// input determines. `x` (planar) holds input frames `start..start + len`; `total` is the input's
/// length if known (the segment then may reach the end). Returns the first output index and
/// the outputs from there on that the segment fully determines.
pub fn staged(
    stages: &[LinearStage],
    x: &[Vec<f64>],
    start: usize,
    total: Option<usize>,
) -> (usize, Vec<Vec<f64>>) {
    let mut seg: Vec<Vec<f64>> = x.to_vec();
    let mut a = start;
    let mut len_total = total;
    for stage in stages {
        let b = a + seg.first().map_or(0, Vec::len);
        let m = stage.kernels.len();
        let (trim, out_len) = stage.shape(len_total);
        let reaches_end = len_total == Some(b);
        if seg.first().is_none_or(Vec::is_empty) {
            return (a, seg);
        }
        let pre = stage.kernels.apply_full(&seg);
        // Pre-trim indices p (global) with every contributing input known or known to be zero.
        let lo = if a == 0 { 0 } else { a + m - 1 };
        let hi = if reaches_end { b + m - 1 } else { b };
        let new_a = lo.saturating_sub(trim);
        let mut new_b = hi.saturating_sub(trim);
        if let Some(l) = out_len {
            new_b = new_b.min(l);
        }
        let new_b = new_b.max(new_a);
        seg = pre
            .iter()
            .map(|ch| {
                (new_a..new_b)
                    .map(|j| ch.get(j + trim - a).copied().unwrap_or(0.0))
                    .collect()
            })
            .collect();
        a = new_a;
        len_total = out_len;
    }
    (a, seg)
}

/// The runtime of one fused run (see the module doc).
#[derive(Clone)]
pub struct FusedStage<T: Sample> {
    stages: Vec<LinearStage>,
    channels: usize,
    engine: Filter<T>,
    /// Outputs at each end computed stage by stage.
    margin: usize,
    /// Input frames held before streaming starts (shorter inputs are computed whole).
    hold: usize,
    /// `y[j] = (x * K)[j + shift]` in the interior.
    shift: usize,
    frames_in: usize,
    held: Vec<Vec<f64>>,
    streaming: bool,
    /// Next output index to emit.
    next: usize,
    /// Filter outputs not yet emitted (from `queue_head` on), and the full-convolution index
    /// of the first of them.
    queue: Vec<Vec<T>>,
    queue_head: usize,
    queue_start: i64,
    /// The last input frames (for the end's exact outputs).
    recent: Vec<VecDeque<f64>>,
    recent_cap: usize,
    scratch_out: Vec<Vec<T>>,
}

impl<T: Sample> FusedStage<T> {
    /// A run over `stages` whose fused kernels run in `engine`.
    pub fn new(stages: Vec<LinearStage>, channels: usize, engine: Filter<T>) -> Self {
        let latency = engine.latency();
        let n = stages.len();
        let needs_edges = stages[..n.saturating_sub(1)]
            .iter()
            .any(|s| s.mode != Mode::Full);
        let sum_m: usize = stages.iter().map(|s| s.kernels.len()).sum();
        let last = &stages[n - 1];
        let (margin, hold) = if needs_edges {
            (sum_m, 4 * sum_m + 16)
        } else if last.mode != Mode::Full {
            // The front trim depends on whether N >= M: wait until that is known.
            (0, last.kernels.len())
        } else {
            (0, 0)
        };
        let shift = stages.iter().map(|s| s.shape(None).0).sum();
        let recent_cap = if needs_edges { 3 * sum_m + 16 } else { 0 };
        FusedStage {
            stages,
            channels,
            engine,
            margin,
            hold,
            shift,
            frames_in: 0,
            held: vec![Vec::new(); channels],
            streaming: false,
            next: 0,
            queue: vec![Vec::new(); channels],
            queue_head: 0,
            queue_start: -(latency as i64),
            recent: (0..channels)
                .map(|_| VecDeque::with_capacity(recent_cap))
                .collect(),
            recent_cap,
            scratch_out: vec![Vec::new(); channels],
        }
    }

    /// The engine alone, for a live stream (no exact edges).
    pub(crate) fn into_engine(self) -> Filter<T> {
        self.engine
    }

    /// Back to the state it was built in: the next input is the start of a new stream.
    pub fn reset(&mut self) {
        self.engine.reset();
        self.frames_in = 0;
        // Streaming took the held frames away (channels and all).
        self.held.iter_mut().for_each(Vec::clear);
        self.held.resize_with(self.channels, Vec::new);
        self.streaming = false;
        self.next = 0;
        self.queue.iter_mut().for_each(Vec::clear);
        self.queue_head = 0;
        self.queue_start = -(self.engine.latency() as i64);
        self.recent.iter_mut().for_each(VecDeque::clear);
    }

    /// The stages in this run.
    pub fn stages(&self) -> &[LinearStage] {
        &self.stages
    }

    /// Filters a block; `out` becomes whatever outputs are final (possibly none, or more
    /// frames than came in). Allocates nothing once `out` and the queue have grown to the
    /// run's largest block.
    pub fn process(&mut self, input: &[Vec<T>], out: &mut Block<T>) {
        let frames = input.first().map_or(0, Vec::len);
        self.frames_in += frames;
        if !self.streaming {
            out.clear(self.channels);
            for (h, x) in self.held.iter_mut().zip(input) {
                h.extend(x.iter().map(|&v| v.as_f64()));
            }
            if self.frames_in >= self.hold && self.frames_in > 0 {
                self.start_streaming(out);
            }
            return;
        }
        // Steady state with nothing queued, nothing to drop and no exact edges to keep: the
        // engine writes straight into the output (no queue, no copy).
        let first_j = self.queue_start - self.shift as i64;
        let queued = self.queue[0].len() - self.queue_head;
        if self.margin == 0 && queued == 0 && first_j >= self.next as i64 && frames > 0 {
            // Not cleared first: the engine overwrites every sample, and a block of the last
            // one's size is then resized without being zeroed again.
            out.resize(self.channels, frames);
            self.engine
                .process(&views(input, 0..frames), &mut out.views_mut(0..frames));
            self.queue_start += frames as i64;
            self.next = (first_j + frames as i64) as usize;
            return;
        }
        out.clear(self.channels);
        self.feed(input);
        self.release(None, out);
    }

    /// The end of the input: `out` becomes everything still owed.
    pub fn finish(&mut self, out: &mut Block<T>) {
        out.clear(self.channels);
        let n = self.frames_in;
        if !self.streaming {
            if n == 0 {
                return;
            }
            let (_, ys) = staged(&self.stages, &self.held, 0, Some(n));
            for (o, y) in out.iter_mut().zip(ys) {
                o.extend(y.iter().map(|&v| T::of_f64(v)));
            }
            self.held.iter_mut().for_each(Vec::clear);
            return;
        }
        // Drain the engine: all of x * K has come out after its tail.
        let tail = self.engine.tail_frames();
        let total = output_len(&self.stages, n);
        let first_j = self.queue_start - self.shift as i64;
        let queued = self.queue[0].len() - self.queue_head;
        if self.margin == 0 && queued == 0 && first_j >= self.next as i64 {
            // The steady state of `process`: the tail goes straight into `out`, as much of it
            // as is owed (a long kernel's tail is megabytes: no queue to grow and copy out).
            let owed = ((total as i64 - first_j).max(0) as usize).min(tail);
            out.resize(self.channels, owed);
            self.engine.flush(&mut out.views_mut(0..owed));
            self.queue_start += owed as i64;
            self.next = total;
            return;
        }
        let mut remaining = tail;
        while remaining > 0 {
            let chunk = remaining.min(8192);
            for s in &mut self.scratch_out {
                s.clear();
                s.resize(chunk, T::zero());
            }
            self.engine
                .flush(&mut views_mut(&mut self.scratch_out, 0..chunk));
            for (q, s) in self.queue.iter_mut().zip(&self.scratch_out) {
                q.extend_from_slice(s);
            }
            remaining -= chunk;
        }
        let interior_end = total.saturating_sub(self.margin);
        self.release(Some(interior_end), out);
        if self.margin > 0 {
            let seg: Vec<Vec<f64>> = self
                .recent
                .iter()
                .map(|r| r.iter().copied().collect())
                .collect();
            let start = n - seg.first().map_or(0, Vec::len);
            let (a, ys) = staged(&self.stages, &seg, start, Some(n));
            debug_assert!(a <= self.next);
            for (o, y) in out.iter_mut().zip(ys) {
                let from = self.next.saturating_sub(a).min(y.len());
                o.extend(y[from..].iter().map(|&v| T::of_f64(v)));
            }
        }
        self.next = total;
    }

    fn start_streaming(&mut self, out: &mut [Vec<T>]) {
        if self.margin > 0 {
            let (_, ys) = staged(&self.stages, &self.held, 0, None);
            for (o, y) in out.iter_mut().zip(&ys) {
                o.extend(y[..self.margin.min(y.len())].iter().map(|&v| T::of_f64(v)));
            }
            self.next = self.margin;
        }
        self.streaming = true;
        let held = std::mem::take(&mut self.held);
        let as_t: Vec<Vec<T>> = held
            .iter()
            .map(|h| h.iter().map(|&v| T::of_f64(v)).collect())
            .collect();
        self.feed(&as_t);
        self.release(None, out);
    }

    fn feed(&mut self, input: &[Vec<T>]) {
        let frames = input.first().map_or(0, Vec::len);
        if frames == 0 {
            return;
        }
        // The engine writes straight onto the end of the queue.
        let start = self.queue[0].len();
        for q in &mut self.queue {
            q.resize(start + frames, T::zero());
        }
        self.engine.process(
            &views(input, 0..frames),
            &mut views_mut(&mut self.queue, start..start + frames),
        );
        if self.recent_cap > 0 {
            for (r, x) in self.recent.iter_mut().zip(input) {
                let skip = x.len().saturating_sub(self.recent_cap);
                r.extend(x[skip..].iter().map(|&v| v.as_f64()));
                let excess = r.len().saturating_sub(self.recent_cap);
                r.drain(..excess);
            }
        }
    }

    /// Emits queued engine outputs up to output index `end` (exclusive), or, while streaming,
    /// all but the last `margin` (they may turn out to be in the end's exact region).
    fn release(&mut self, end: Option<usize>, out: &mut [Vec<T>]) {
        let queued = self.queue[0].len() - self.queue_head;
        // Output index of the first queued value.
        let first_j = self.queue_start - self.shift as i64;
        let last_j = first_j + queued as i64; // exclusive
        let upto = match end {
            Some(e) => (e as i64).min(last_j),
            None => last_j - self.margin as i64,
        };
        // Drop values before `next` (pre-latency zeros, trimmed front, the exact head).
        let drop = (self.next as i64 - first_j).clamp(0, queued as i64) as usize;
        let take = (upto - (first_j + drop as i64)).max(0) as usize;
        let from = self.queue_head + drop;
        for (q, o) in self.queue.iter_mut().zip(out.iter_mut()) {
            o.extend_from_slice(&q[from..from + take]);
        }
        self.queue_head = from + take;
        // Compact once the consumed part dominates (amortized O(1) per sample).
        if self.queue_head > 1 << 16 && self.queue_head * 2 > self.queue[0].len() {
            let head = self.queue_head;
            for q in &mut self.queue {
                q.drain(..head);
            }
            self.queue_head = 0;
        }
        self.queue_start += (drop + take) as i64;
        self.next = (first_j + (drop + take) as i64).max(self.next as i64) as usize;
    }
}
