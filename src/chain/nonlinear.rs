//! Stages that are not convolutions (`denoise`, `dehum`, and whatever implements
//! [`Processor`] next): they break fusion, stream with a fixed latency, and offline come out
//! time-aligned with their input (the latency trimmed at the front and flushed at the end, as
//! `mode=same` does for a kernel).
//!
//! They run in f32 whatever the chain's sample type, through buffers of their own, and keep
//! state that a NaN or infinity would poison for good (a noise estimate, a tone fit): such an
//! input sample is replaced by 0 on its way in, so it costs one sample, not the rest of the
//! channel, and is counted for the summary.

use crate::block::{Block, views, views_mut};
use crate::conv::Sample;

/// What a nonlinear stage runs: planar f32 blocks of every channel in, as many frames out,
/// delayed by a fixed latency. A new kind of stage is a type implementing this and a word for
/// it in `stages/` (see stages/dehum.rs: fifty lines).
pub trait Processor: Send {
    /// Filters one block; `input` and `output` have one slice per channel, all the same
    /// length (any length, 0 included). Must not allocate once built (it runs live).
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]);
    /// Samples by which the output trails the input.
    fn latency(&self) -> usize;
    /// Back to the state it was built in: the next block starts a new stream. Not called on
    /// the audio thread (it may allocate).
    fn reset(&mut self);
    /// A copy in the state it was built in (a batch run gives each file its own, sharing
    /// nothing mutable). Not called on the audio thread.
    fn fresh(&self) -> Box<dyn Processor>;
    /// The latency once [`Processor::go_live`] has run (a processor may look further ahead
    /// offline, where latency costs nothing, than it does live).
    fn live_latency(&self) -> usize {
        self.latency()
    }
    /// The stream is live: from here on the latency is [`Processor::live_latency`]. Setup
    /// only (may allocate).
    fn go_live(&mut self) {}
    /// Runs once on the thread that will call `process`, before the stream starts: whatever
    /// a library sets up per thread on first use (nnnoiseless's FFT plans and scratch) is set
    /// up here, not in the first real-time block. May allocate; must not change the state.
    fn warm(&mut self) {}
    /// Makes room for blocks of up to `block` frames (setup: a live chain calls it once, so a
    /// larger block later does not grow a buffer on the audio thread).
    fn reserve(&mut self, _block: usize) {}
}

/// A nonlinear processor with its f32 buffers and its count of replaced samples.
pub struct Nonlinear {
    processor: Box<dyn Processor>,
    ins: Vec<Vec<f32>>,
    outs: Vec<Vec<f32>>,
    /// Non-finite input samples replaced by 0 so far.
    pub replaced: u64,
}

impl Clone for Nonlinear {
    /// A copy as built: a batch run clones one built chain per file, never a used one.
    fn clone(&self) -> Nonlinear {
        Nonlinear {
            processor: self.processor.fresh(),
            ins: self.ins.clone(),
            outs: self.outs.clone(),
            replaced: 0,
        }
    }
}

impl Nonlinear {
    /// `processor` over `channels` channels, with buffers for blocks of `block` frames (they
    /// grow if a larger block comes, which a live chain never sends).
    pub fn new(processor: Box<dyn Processor>, channels: usize, block: usize) -> Nonlinear {
        Nonlinear {
            processor,
            ins: vec![vec![0.0; block]; channels],
            outs: vec![vec![0.0; block]; channels],
            replaced: 0,
        }
    }

    /// Samples by which the output trails the input.
    pub fn latency(&self) -> usize {
        self.processor.latency()
    }

    /// Back to the state it was built in (its noise estimate, its tone fits): the next input
    /// is the start of a new stream.
    pub fn reset(&mut self) {
        self.processor.reset();
        self.replaced = 0;
    }

    /// The latency it will have live.
    pub fn live_latency(&self) -> usize {
        self.processor.live_latency()
    }

    /// Switches to the live latency (setup: a live chain calls it once).
    pub(crate) fn go_live(&mut self) {
        self.processor.go_live();
    }

    /// See [`Processor::warm`].
    pub(crate) fn warm(&mut self) {
        self.processor.warm();
    }

    /// Makes room for blocks of `block` frames (setup: a live chain calls it once).
    pub(crate) fn reserve(&mut self, block: usize) {
        self.processor.reserve(block);
        for b in self.ins.iter_mut().chain(self.outs.iter_mut()) {
            if b.len() < block {
                b.resize(block, 0.0);
            }
        }
    }

    /// Streams one block (same length out as in). No allocation once the buffers are as large
    /// as the block.
    pub(crate) fn process<T: Sample>(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        let frames = input.first().map_or(0, |x| x.len());
        if self.ins.first().is_some_and(|b| b.len() < frames) {
            self.reserve(frames);
        }
        for (b, x) in self.ins.iter_mut().zip(input) {
            for (d, &v) in b[..frames].iter_mut().zip(x.iter()) {
                let f = v.as_f64() as f32;
                *d = if f.is_finite() {
                    f
                } else {
                    self.replaced += 1;
                    0.0
                };
            }
        }
        self.processor.process(
            &views(&self.ins, 0..frames),
            &mut views_mut(&mut self.outs, 0..frames),
        );
        for (y, b) in output.iter_mut().zip(&self.outs) {
            for (d, &v) in y.iter_mut().zip(&b[..frames]) {
                *d = T::of_f64(f64::from(v));
            }
        }
    }
}

/// A nonlinear stage in an offline chain.
#[derive(Clone)]
pub struct NonlinearStage {
    pub word: String,
    /// What `--explain` says about it.
    pub describe: String,
    processor: Nonlinear,
    /// Output samples still to drop at the front (the latency).
    to_trim: usize,
    channels: usize,
}

impl NonlinearStage {
    pub fn new(
        word: String,
        describe: String,
        processor: Box<dyn Processor>,
        channels: usize,
    ) -> Self {
        let processor = Nonlinear::new(processor, channels, 0);
        NonlinearStage {
            word,
            describe,
            to_trim: processor.latency(),
            processor,
            channels,
        }
    }

    pub fn latency(&self) -> usize {
        self.processor.latency()
    }

    /// The latency it will have in a live chain.
    pub fn live_latency(&self) -> usize {
        self.processor.live_latency()
    }

    /// Non-finite input samples replaced so far.
    pub fn replaced(&self) -> u64 {
        self.processor.replaced
    }

    /// Back to the state it was built in.
    pub fn reset(&mut self) {
        self.processor.reset();
        self.to_trim = self.processor.latency();
    }

    pub(crate) fn into_processor(self) -> Nonlinear {
        self.processor
    }

    /// Filters a block into `out`; the first `latency` outputs of the stream are dropped, so
    /// the result lines up with the input. No allocation once the buffers have grown to the
    /// run's largest block.
    pub fn process<T: Sample>(&mut self, input: &[Vec<T>], out: &mut Block<T>) {
        let frames = input.first().map_or(0, Vec::len);
        out.clear(self.channels);
        out.resize(self.channels, frames);
        self.processor
            .process(&views(input, 0..frames), &mut out.views_mut(0..frames));
        let drop = self.to_trim.min(frames);
        self.to_trim -= drop;
        out.drop_front(drop);
    }

    /// The end of the input: pushes the latency's worth of silence through, which brings out
    /// the last input samples.
    pub fn finish<T: Sample>(&mut self, out: &mut Block<T>) {
        let zeros = Block::<T>::zeros(self.channels, self.processor.latency());
        self.process(&zeros, out);
    }
}

/// Two processors one after the other, as one (`denoise,model=hybrid`: the spectral
/// reducer, then RNNoise). Its latency is the sum.
pub struct Series {
    first: Box<dyn Processor>,
    second: Box<dyn Processor>,
    /// The first's output, per channel: grows to the largest block once (a live chain's
    /// first block), then never again.
    mid: Vec<Vec<f32>>,
}

impl Series {
    pub fn new(first: Box<dyn Processor>, second: Box<dyn Processor>, channels: usize) -> Series {
        Series {
            first,
            second,
            mid: vec![Vec::new(); channels],
        }
    }
}

impl Processor for Series {
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        let frames = input.first().map_or(0, |x| x.len());
        for m in &mut self.mid {
            if m.len() < frames {
                m.resize(frames, 0.0);
            }
        }
        self.first
            .process(input, &mut views_mut(&mut self.mid, 0..frames));
        self.second.process(&views(&self.mid, 0..frames), output);
    }

    fn latency(&self) -> usize {
        self.first.latency() + self.second.latency()
    }

    fn live_latency(&self) -> usize {
        self.first.live_latency() + self.second.live_latency()
    }

    fn go_live(&mut self) {
        self.first.go_live();
        self.second.go_live();
    }

    fn warm(&mut self) {
        self.first.warm();
        self.second.warm();
    }

    fn reserve(&mut self, block: usize) {
        for m in &mut self.mid {
            if m.len() < block {
                m.resize(block, 0.0);
            }
        }
        self.first.reserve(block);
        self.second.reserve(block);
    }

    fn reset(&mut self) {
        self.first.reset();
        self.second.reset();
    }

    fn fresh(&self) -> Box<dyn Processor> {
        Box::new(Series::new(
            self.first.fresh(),
            self.second.fresh(),
            self.mid.len(),
        ))
    }
}

/// Input frames a [`Primed`] hands its processor per call (bounds its scratch).
const PRIME_PIECE: usize = 4096;

/// Offline, a processor whose state takes a while to settle (a recurrent network, a noise
/// tracker) is first run over the stream's start backwards: the first `prime` samples are
/// held, fed last-first (ending on the stream's first sample, so the join is continuous),
/// then fed again in order, and what the backwards pass gives is dropped. The processor then
/// meets the first real sample in the state it would have reached a few seconds into the
/// recording. The latency is the prime (or the processor's own, if longer); a stream shorter
/// than the prime is primed on what there is and the flush's silence.
///
/// Live ([`Processor::go_live`]) it is the processor alone: a live stream has no start to
/// look ahead into, so its first second is cleaned as the processor settles.
pub struct Primed {
    inner: Box<dyn Processor>,
    /// As built, and now (0 once live).
    built: usize,
    prime: usize,
    head: Vec<Vec<f32>>,
    held: usize,
    /// The processor's output for one piece.
    scratch: Vec<Vec<f32>>,
    /// Its output not yet given out, and how much of what comes still to drop.
    queue: Vec<std::collections::VecDeque<f32>>,
    discard: usize,
    /// Zeros still to give before the queue.
    lead: usize,
}

impl Primed {
    pub fn new(inner: Box<dyn Processor>, prime: usize, channels: usize) -> Primed {
        let room = prime + inner.latency() + 2 * PRIME_PIECE;
        let mut p = Primed {
            inner,
            built: prime,
            prime,
            head: vec![vec![0.0; prime]; channels],
            held: 0,
            scratch: vec![vec![0.0; PRIME_PIECE]; channels],
            queue: (0..channels)
                .map(|_| std::collections::VecDeque::with_capacity(room))
                .collect(),
            discard: 0,
            lead: 0,
        };
        p.restart();
        p
    }

    fn restart(&mut self) {
        self.held = 0;
        for q in &mut self.queue {
            q.clear();
        }
        self.discard = self.prime + self.inner.latency();
        self.lead = self.latency();
    }

    /// `span` of `planes` through the processor, a piece at a time, into the queue.
    fn feed<P: AsRef<[f32]>>(&mut self, planes: &[P], span: std::ops::Range<usize>) {
        let mut at = span.start;
        while at < span.end {
            let n = PRIME_PIECE.min(span.end - at);
            self.inner.process(
                &views(planes, at..at + n),
                &mut views_mut(&mut self.scratch, 0..n),
            );
            let drop = self.discard.min(n);
            self.discard -= drop;
            for (q, s) in self.queue.iter_mut().zip(&self.scratch) {
                q.extend(&s[drop..n]);
            }
            at += n;
        }
    }

    /// The held start, backwards and then forwards.
    fn run_prime(&mut self) {
        let mut head = std::mem::take(&mut self.head);
        let n = self.prime;
        for h in &mut head {
            h.reverse();
        }
        self.feed(&head, 0..n);
        for h in &mut head {
            h.reverse();
        }
        self.feed(&head, 0..n);
        self.head = head;
    }
}

impl Processor for Primed {
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        if self.prime == 0 {
            self.inner.process(input, output);
            return;
        }
        let frames = input.first().map_or(0, |x| x.len());
        let mut at = 0;
        while at < frames {
            let mut n = PRIME_PIECE.min(frames - at);
            if self.held < self.prime {
                n = n.min(self.prime - self.held);
                for (h, x) in self.head.iter_mut().zip(input) {
                    h[self.held..self.held + n].copy_from_slice(&x[at..at + n]);
                }
                self.held += n;
                if self.held == self.prime {
                    self.run_prime();
                }
            } else {
                self.feed(input, at..at + n);
            }
            let lead = self.lead.min(n);
            self.lead -= lead;
            for (y, q) in output.iter_mut().zip(&mut self.queue) {
                let y = &mut y[at..at + n];
                y[..lead].fill(0.0);
                let have = (n - lead).min(q.len());
                for (d, v) in y[lead..lead + have].iter_mut().zip(q.drain(..have)) {
                    *d = v;
                }
                // Never short once the lead is right; silence rather than a panic if it were.
                y[lead + have..].fill(0.0);
            }
            at += n;
        }
    }

    fn latency(&self) -> usize {
        if self.prime == 0 {
            self.inner.latency()
        } else {
            self.prime.max(self.inner.latency())
        }
    }

    fn live_latency(&self) -> usize {
        self.inner.live_latency()
    }

    fn warm(&mut self) {
        self.inner.warm();
    }

    fn reserve(&mut self, block: usize) {
        self.inner.reserve(block);
    }

    fn go_live(&mut self) {
        self.inner.go_live();
        self.prime = 0;
        self.head = vec![Vec::new(); self.head.len()];
        self.restart();
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.restart();
    }

    fn fresh(&self) -> Box<dyn Processor> {
        Box::new(Primed::new(self.inner.fresh(), self.built, self.head.len()))
    }
}
