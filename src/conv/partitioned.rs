//! Streaming convolution with FFT-partitioned kernels: the engine's heart.
//!
//! Runs on the processing thread. Building ([`UniformConvolver::new`],
//! [`PartitionedConvolver::new`]) plans FFTs and allocates everything; [`process`] never
//! allocates, locks, blocks or prints, whatever chunk length it is handed.
//!
//! ## Uniform partitions (UPOLS)
//!
//! The kernel `h` (length M) is cut into `P = ceil(M / B)` partitions of `B` samples. Each is
//! zero-padded to `2B` and transformed once; the spectra are pre-scaled by `1 / 2B` so the
//! inverse transform needs no normalisation. Every time `B` new input samples have arrived:
//!
//! ```text
//! window = [previous B inputs | newest B inputs]  --R2C-->  X_k   (stored in the frequency-
//!                                                                    domain delay line, FDL)
//! Y_k = sum over p of X_(k-p) * H_p            (complex multiply-accumulate, P x (B+1) bins)
//! y   = C2R(Y_k), keep its last B samples      (overlap-save: the first B are circular junk)
//! ```
//!
//! Those `B` outputs are the full convolution for the block that just completed; they are
//! handed out while the next block fills, so the output is the full convolution delayed by
//! exactly `B` samples ([`UniformConvolver::latency`]), for chunks of any length.
//! The spectra are stored split (real parts, imaginary parts) so the multiply-accumulate runs
//! on plain slices and vectorises without `-C target-cpu=native`.
//!
//! ## Non-uniform partitions
//!
//! A long kernel at a small block size spends almost all its time in the multiply-accumulate
//! (P grows as M / B). [`PartitionedConvolver`] splits the kernel into segments, each run by a
//! uniform convolver with its own block size: small blocks at the head for latency, blocks
//! growing towards the tail for efficiency (Gardner 1995, Garcia 2002; the scheme of
//! FFTConvolver's two stages and zita-convolver's levels):
//!
//! ```text
//! kernel: |B0 B0 B0 B0|  2B0  2B0  |    8B0     8B0    |        32B0        ...
//!          stage 0      stage 1       stage 2             stage 3
//! ```
//!
//! A stage with block `Bs` whose segment starts at `Ss` delivers its part `Bs` samples late,
//! so its output passes a delay of `L + Ss - Bs` samples (`L` = the head block, the whole
//! engine's latency). Every segment after the head starts at `Ss >= 2 Bs - L`: a stage's work
//! for one block is then not needed until a whole block later, so it runs *deferred*
//! ([`UniformConvolver::deferred`]): its forward FFT, its per-partition multiply-accumulates
//! and its inverse FFT are spread evenly over the samples of the following block, and no
//! single `process` call pays for a large block at once. Its output then lags `2 Bs`, and its
//! delay line is `L + Ss - 2 Bs` samples. The schedule (growth factor and partitions per stage)
//! is chosen by the cost model in [`Schedule::choose`].
//!
//! ## Several blocks a pass (offline)
//!
//! A long kernel at a large block keeps megabytes of spectra and delay line, more than a core's
//! cache: each block's product then streams them all from memory, and that, not the
//! arithmetic, is its cost. Offline, where latency does not matter, a long kernel's single
//! segment runs *batched* ([`UniformConvolver::batched`]): the products of two or four
//! consecutive blocks are formed in one pass, each spectrum read once for all of them, at the
//! price of that many blocks of latency ([`Schedule::batched`] decides).
//!
//! [`process`]: UniformConvolver::process

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::num_traits::Zero;

use super::sample::Sample;
use super::simd::{Ring, multiply_accumulate_ring, multiply_accumulate_ring_batch};
use super::split_fft::SplitFft;
use crate::error::{Error, Result};

thread_local! {
    /// Kernel transforms made on this thread (see [`spectra_made`]).
    static SPECTRA_MADE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many kernel spectra this thread has computed: lets a test show that copies of a built
/// chain ([`crate::chain::Chain::fresh`]) share their kernels' transforms instead of redoing them.
pub fn spectra_made() -> u64 {
    SPECTRA_MADE.with(std::cell::Cell::get)
}

/// A kernel cut into uniform partitions and transformed: shareable between channels (and
/// between convolvers) that use the same kernel and block size.
pub struct KernelSpectra<T: Sample> {
    /// The transform of `2 * block` points, shared by every convolver of these spectra.
    fft: Arc<SplitFft<T>>,
    block: usize,
    partitions: usize,
    bins: usize,
    /// Distance between consecutive spectra in `re` and `im` (and in a delay line over these
    /// spectra): `bins`, padded for long spectra (see [`spectrum_stride`]).
    stride: usize,
    kernel_len: usize,
    re: Vec<T>,
    im: Vec<T>,
}

/// The distance between consecutive spectra of `bins` bins in a kernel's spectra and a delay
/// line. A long spectrum of a power-of-two transform is `2^k + 1` bins, so unpadded every
/// partition's and every slot's bin `k` lies at (almost) the same offset within a 4 KiB page:
/// the batched product, which walks a strip of bins through all of them, then has every one of
/// its ~40 streams in the same few sets of the L1 cache, which holds 12 lines a set. Padded to
/// a multiple of 16 plus 16, consecutive spectra start two cache lines further on in the page
/// and the streams spread over the sets. Short spectra (a few cache lines) need no padding.
fn spectrum_stride(bins: usize) -> usize {
    if bins >= 1024 {
        bins.next_multiple_of(16) + 16
    } else {
        bins
    }
}

impl<T: Sample> KernelSpectra<T> {
    /// Partitions `kernel` into blocks of `block` samples (a power of two) and transforms them.
    ///
    /// # Errors
    /// An empty kernel, or a block that is not a power of two.
    pub fn new(kernel: &[T], block: usize) -> Result<Self> {
        check_block(block)?;
        if kernel.is_empty() {
            return Err(Error::EmptyInput { what: "kernel" });
        }
        let nfft = 2 * block;
        let fft = SplitFft::shared(nfft);
        let bins = fft.bins();
        let stride = spectrum_stride(bins);
        let partitions = kernel.len().div_ceil(block);
        let mut time = vec![Complex::zero(); fft.pairs()];
        let mut buf = vec![Complex::zero(); fft.pairs()];
        let mut scratch = vec![Complex::zero(); fft.scratch_len()];
        let mut re = vec![T::zero(); partitions * stride];
        let mut im = vec![T::zero(); partitions * stride];
        let scale = T::one() / T::of_f64(nfft as f64);
        for (p, part) in kernel.chunks(block).enumerate() {
            time.fill(Complex::zero());
            to_pairs(part, &mut time);
            let (re, im) = (
                &mut re[p * stride..p * stride + bins],
                &mut im[p * stride..p * stride + bins],
            );
            fft.forward(&mut time, &mut buf, &mut scratch, re, im);
            re.iter_mut()
                .chain(im.iter_mut())
                .for_each(|v| *v = *v * scale);
        }
        SPECTRA_MADE.with(|n| n.set(n.get() + 1));
        Ok(KernelSpectra {
            fft,
            block,
            partitions,
            bins,
            stride,
            kernel_len: kernel.len(),
            re,
            im,
        })
    }

    /// The partition (block) size.
    pub fn block(&self) -> usize {
        self.block
    }

    /// The kernel's length in samples.
    pub fn kernel_len(&self) -> usize {
        self.kernel_len
    }
}

/// Writes `samples` into the pairs `(x[2j], x[2j+1])` of `pairs` from the start (an odd count
/// leaves the last pair's imaginary part as it was).
fn to_pairs<T: Sample>(samples: &[T], pairs: &mut [Complex<T>]) {
    let mut chunks = samples.chunks_exact(2);
    for (c, two) in pairs.iter_mut().zip(&mut chunks) {
        *c = Complex::new(two[0], two[1]);
    }
    if let [last] = chunks.remainder() {
        pairs[samples.len() / 2].re = *last;
    }
}

/// Writes the samples of the conjugated pairs `pairs` ([`SplitFft::inverse`]'s output:
/// `x[2j] - i x[2j+1]`) from sample `start` on into `samples` (as many as it holds).
fn from_pairs<T: Sample>(pairs: &[Complex<T>], start: usize, samples: &mut [T]) {
    // An odd start (a chunk of odd length before) takes one imaginary part first; the rest
    // then starts on a pair.
    let (start, samples) = match samples.split_first_mut() {
        Some((first, rest)) if start % 2 == 1 => {
            *first = -pairs[start / 2].im;
            (start + 1, rest)
        }
        _ => (start, samples),
    };
    let end = start + samples.len();
    let mut chunks = samples.chunks_exact_mut(2);
    for (two, c) in (&mut chunks).zip(&pairs[start / 2..]) {
        two[0] = c.re;
        two[1] = -c.im;
    }
    if let [last] = chunks.into_remainder() {
        *last = pairs[end / 2].re;
    }
}

/// A vector of `len` copies of `value` whose pages are already faulted in: `vec![0.0; n]` gets
/// lazily mapped zero pages from the OS, and the first write to each page would then fault on
/// the audio thread (about 2 us a page on a VM) instead of here, at build time.
fn prefaulted<T: Copy>(len: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    v.resize(len, value);
    v
}

fn check_block(block: usize) -> Result<()> {
    if block == 0 || !block.is_power_of_two() {
        return Err(Error::input(
            "block",
            format!("partition size {block} is not a power of two"),
        ));
    }
    Ok(())
}

/// A uniformly partitioned overlap-save convolver for one channel (see the module doc).
#[derive(Clone)]
pub struct UniformConvolver<T: Sample> {
    kernel: Arc<KernelSpectra<T>>,
    fdl: DelayLineSpectra<T>,
    /// The last `2B` inputs, a block in each half; the newest is being filled at `fill`.
    window: Vec<T>,
    /// Which half of `window` (0 or 1) the newest block is filling; the other holds the block
    /// before it. Alternating halves instead of sliding the window saves a copy per block.
    newest: usize,
    fill: usize,
    /// Deferred mode: outputs of the last completed block, handed out while the next one
    /// fills (undeferred, they are read from `time`).
    ready: Vec<T>,
    /// The block being transformed, as `B` pairs of samples (the captured window going in,
    /// the inverse transform's output coming back).
    time: Vec<Complex<T>>,
    buf: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    /// The product of the block (empty when batched).
    acc_re: Vec<T>,
    acc_im: Vec<T>,
    /// Batched mode: `batch` consecutive blocks are computed in one pass (1: each on its own;
    /// see [`UniformConvolver::batched`]). `due` blocks of the batch being filled have
    /// completed; `accs` holds the batch's products (newest first) and `outs` the outputs of
    /// the blocks after the one in `time`, in the order they are handed out (both empty when
    /// not batched).
    batch: usize,
    due: usize,
    accs: Vec<(Vec<T>, Vec<T>)>,
    outs: Vec<Vec<Complex<T>>>,
    /// Deferred mode: a block's work is spread over the following block (latency 2B).
    deferred: bool,
    /// Work units of the block in flight already done (deferred mode): 0 = forward FFT,
    /// 1..=P = one partition's multiply-accumulate each, P + 1 = inverse FFT.
    units_done: usize,
    /// Whether a captured block is in flight (deferred mode).
    in_flight: bool,
    /// Where within a block this convolver's deferred units fall, as `phase / phases`, so that
    /// channels sharing a schedule do not all run their big transforms in the same call.
    phase: usize,
    phases: usize,
}

impl<T: Sample> UniformConvolver<T> {
    /// A convolver for `kernel` with partition size `block` (a power of two).
    ///
    /// # Errors
    /// An empty kernel, or a block that is not a power of two.
    pub fn new(kernel: &[T], block: usize) -> Result<Self> {
        Ok(Self::with_spectra(Arc::new(KernelSpectra::new(
            kernel, block,
        )?)))
    }

    /// A convolver sharing already transformed kernel spectra (one per channel, say).
    pub fn with_spectra(kernel: Arc<KernelSpectra<T>>) -> Self {
        Self::build(kernel, 1)
    }

    fn build(kernel: Arc<KernelSpectra<T>>, batch: usize) -> Self {
        let block = kernel.block;
        let nfft = 2 * block;
        let batch = batch.max(1);
        let slots = kernel.partitions + batch - 1;
        let single = |len: usize| if batch == 1 { len } else { 0 };
        let spares = if batch == 1 { 0 } else { batch };
        UniformConvolver {
            fdl: DelayLineSpectra {
                re: prefaulted(slots * kernel.stride, T::zero()),
                im: prefaulted(slots * kernel.stride, T::zero()),
                slots,
                head: 0,
            },
            window: prefaulted(nfft, T::zero()),
            newest: 0,
            fill: 0,
            ready: prefaulted(block, T::zero()),
            time: prefaulted(kernel.fft.pairs(), Complex::zero()),
            buf: prefaulted(kernel.fft.pairs(), Complex::zero()),
            scratch: prefaulted(kernel.fft.scratch_len(), Complex::zero()),
            acc_re: prefaulted(single(kernel.bins), T::zero()),
            acc_im: prefaulted(single(kernel.bins), T::zero()),
            batch,
            due: 0,
            accs: (0..spares)
                .map(|_| {
                    (
                        prefaulted(kernel.bins, T::zero()),
                        prefaulted(kernel.bins, T::zero()),
                    )
                })
                .collect(),
            outs: (1..spares)
                .map(|_| prefaulted(kernel.fft.pairs(), Complex::zero()))
                .collect(),
            deferred: false,
            units_done: 0,
            in_flight: false,
            phase: 0,
            phases: 1,
            kernel,
        }
    }

    /// A convolver that spreads each block's work (forward FFT, one multiply-accumulate per
    /// partition, inverse FFT) evenly over the samples of the following block instead of doing
    /// it all when the block completes: no single `process` call pays for a whole large block,
    /// at the price of one more block of latency (2B).
    pub fn deferred(kernel: Arc<KernelSpectra<T>>) -> Self {
        let mut conv = Self::with_spectra(kernel);
        conv.deferred = true;
        conv
    }

    /// A convolver that computes `blocks` consecutive blocks in one pass (offline runs, where
    /// latency does not matter): each block is transformed when it completes, and when the
    /// last of a batch does, all their products are formed in one pass over the kernel's
    /// spectra ([`multiply_accumulate_ring_batch`]) and transformed back. When the spectra
    /// outgrow the cache (a long kernel at a large block) that divides the product's memory
    /// traffic by `blocks`, for a latency of `blocks` blocks and `blocks - 1` more delay-line
    /// slots. Outputs are those of [`UniformConvolver::with_spectra`] bit for bit,
    /// `blocks - 1` blocks later (`blocks` 1 is that convolver).
    pub fn batched(kernel: Arc<KernelSpectra<T>>, blocks: usize) -> Self {
        Self::build(kernel, blocks)
    }

    /// Staggers a deferred convolver's work: with `phase` of `phases` (e.g. channel 1 of 2),
    /// its units fall between those of the other phases. Output is unchanged.
    pub fn set_phase(&mut self, phase: usize, phases: usize) {
        self.phases = phases.max(1);
        self.phase = phase % self.phases;
    }

    /// Delay of the output behind the full convolution, in samples: the block size, twice
    /// that when deferred.
    pub fn latency(&self) -> usize {
        if self.deferred {
            2 * self.kernel.block
        } else {
            self.batch * self.kernel.block
        }
    }

    /// The kernel's length.
    pub fn kernel_len(&self) -> usize {
        self.kernel.kernel_len
    }

    /// How many more output samples follow the last input sample before the full convolution
    /// has come out completely: `latency + kernel_len - 1`. Feed that many zeros (or call
    /// [`UniformConvolver::flush`]) at the end of a stream.
    pub fn tail_frames(&self) -> usize {
        self.latency() + self.kernel_len() - 1
    }

    /// Forgets all past input, as if freshly built. Does not allocate.
    pub fn reset(&mut self) {
        self.fdl.re.fill(T::zero());
        self.fdl.im.fill(T::zero());
        self.fdl.head = 0;
        self.window.fill(T::zero());
        self.ready.fill(T::zero());
        self.time.fill(Complex::zero());
        for out in &mut self.outs {
            out.fill(Complex::zero());
        }
        for (re, im) in &mut self.accs {
            re.fill(T::zero());
            im.fill(T::zero());
        }
        self.due = 0;
        self.newest = 0;
        self.fill = 0;
        self.units_done = 0;
        self.in_flight = false;
    }

    /// Filters `input` into `output` (same length; any length, including 0 and 1). The output
    /// is the full convolution delayed by [`UniformConvolver::latency`] samples. Never
    /// allocates, locks or blocks.
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn process(&mut self, input: &[T], output: &mut [T]) {
        assert_eq!(input.len(), output.len(), "input and output lengths differ");
        self.feed(Some(input), output);
    }

    /// Writes the next `output.len()` samples of the response to silence (the tail).
    pub fn flush(&mut self, output: &mut [T]) {
        self.feed(None, output);
    }

    /// `process` with `None` meaning silence.
    fn feed(&mut self, input: Option<&[T]>, output: &mut [T]) {
        let block = self.kernel.block;
        let mut done = 0;
        while done < output.len() {
            let n = (output.len() - done).min(block - self.fill);
            let at = self.newest * block + self.fill;
            match input {
                Some(input) => self.window[at..at + n].copy_from_slice(&input[done..done + n]),
                None => self.window[at..at + n].fill(T::zero()),
            }
            let out = &mut output[done..done + n];
            if self.deferred {
                out.copy_from_slice(&self.ready[self.fill..self.fill + n]);
            } else {
                // Undeferred, the finished block's outputs stay in `time` until the next
                // capture (which comes only after all of them were handed out).
                from_pairs(&self.time, block + self.fill, out);
            }
            self.fill += n;
            done += n;
            if self.fill == block {
                self.fill = 0;
                if self.deferred {
                    self.finish_in_flight();
                    self.capture();
                } else if self.batch > 1 {
                    self.complete_batched();
                } else {
                    self.capture();
                    self.advance(self.total_units());
                    self.in_flight = false;
                }
            } else if self.deferred && self.in_flight {
                // Unit i is due once (i + 1 + phase) / (units + 1) of this block has arrived:
                // evenly spread, the last one well before the block completes (when the next
                // capture happens), and shifted by the phase so channels take turns.
                let units = self.total_units();
                let progress = (units + 1) * self.fill * self.phases;
                let target = progress.saturating_sub(self.phase * block) / (block * self.phases);
                self.advance(target);
            }
        }
    }

    /// Batched mode, a block has completed: it is transformed into the delay line; when it is
    /// the last of its batch, all the batch's products are formed in one pass and transformed
    /// back, the oldest block's outputs into `time` (handed out while the next block fills)
    /// and the others' into `outs`, in turn. Otherwise `time` (whose outputs were all handed out
    /// while this block filled, and which the capture then used) takes the next outputs from
    /// `outs` and goes to its end, free.
    fn complete_batched(&mut self) {
        self.capture();
        self.forward_into_head();
        self.due += 1;
        if self.due == self.batch {
            self.due = 0;
            let ring = self.fdl.ring(&self.kernel);
            multiply_accumulate_ring_batch(&mut self.accs, &ring, self.kernel.partitions);
            let fft = &self.kernel.fft;
            let oldest = self.batch - 1;
            for (age, (re, im)) in self.accs.iter().enumerate() {
                let time = if age == oldest {
                    &mut self.time
                } else {
                    &mut self.outs[oldest - 1 - age]
                };
                fft.inverse(re, im, &mut self.buf, &mut self.scratch, time);
            }
        } else {
            std::mem::swap(&mut self.time, &mut self.outs[0]);
            self.outs.rotate_left(1);
        }
        self.fdl.step();
        self.in_flight = false;
    }

    /// The captured block's transform, straight into the delay line's newest slot.
    fn forward_into_head(&mut self) {
        let at = self.fdl.head * self.kernel.stride;
        let slot = at..at + self.kernel.bins;
        self.kernel.fft.forward(
            &mut self.time,
            &mut self.buf,
            &mut self.scratch,
            &mut self.fdl.re[slot.clone()],
            &mut self.fdl.im[slot],
        );
    }

    fn total_units(&self) -> usize {
        self.kernel.partitions + 2
    }

    /// Completes the block in flight (if any) and makes its outputs the next ones handed out.
    fn finish_in_flight(&mut self) {
        if self.in_flight {
            self.advance(self.total_units());
            self.publish();
        }
    }

    /// Takes the window (older half, newest half) as the next block to compute; the newest
    /// half becomes the older one.
    fn capture(&mut self) {
        let block = self.kernel.block;
        let (first, second) = self.window.split_at(block);
        let (older, newer) = if self.newest == 0 {
            (second, first)
        } else {
            (first, second)
        };
        if block % 2 == 0 {
            let (first, second) = self.time.split_at_mut(block / 2);
            to_pairs(older, first);
            to_pairs(newer, second);
        } else {
            // Block 1: one pair.
            self.time[0] = Complex::new(older[0], newer[0]);
        }
        self.newest ^= 1;
        self.units_done = 0;
        self.in_flight = true;
    }

    /// Hands out the finished block's outputs.
    fn publish(&mut self) {
        let block = self.kernel.block;
        from_pairs(&self.time, block, &mut self.ready);
        self.in_flight = false;
    }

    /// Does the captured block's work units up to (not including) `target`: the forward
    /// transform into the FDL, one partition's multiply-accumulate per unit, the inverse
    /// transform (see the module doc).
    fn advance(&mut self, target: usize) {
        let partitions = self.kernel.partitions;
        while self.units_done < target.min(partitions + 2) {
            let unit = self.units_done;
            if unit == 0 {
                self.forward_into_head();
            } else if unit <= partitions {
                // Every partition due now in one pass over the bins (all of them when the
                // block is not deferred); the first overwrites the accumulator.
                let last = target.min(partitions + 1);
                let ring = self.fdl.ring(&self.kernel);
                multiply_accumulate_ring(
                    &mut self.acc_re,
                    &mut self.acc_im,
                    &ring,
                    unit - 1..last - 1,
                );
                self.units_done = last;
                continue;
            } else {
                self.fdl.step();
                self.kernel.fft.inverse(
                    &self.acc_re,
                    &self.acc_im,
                    &mut self.buf,
                    &mut self.scratch,
                    &mut self.time,
                );
            }
            self.units_done += 1;
        }
    }
}

/// A uniform convolver's frequency-domain delay line: `slots` input spectra (the kernel's
/// partitions, and the spare ones of a batched convolver), split re/im, the newest at `head`.
#[derive(Clone)]
struct DelayLineSpectra<T> {
    re: Vec<T>,
    im: Vec<T>,
    slots: usize,
    head: usize,
}

impl<T: Sample> DelayLineSpectra<T> {
    /// The delay line with `kernel`'s spectra, for the products.
    fn ring<'a>(&'a self, kernel: &'a KernelSpectra<T>) -> Ring<'a, T> {
        Ring {
            fdl_re: &self.re,
            fdl_im: &self.im,
            h_re: &kernel.re,
            h_im: &kernel.im,
            bins: kernel.bins,
            stride: kernel.stride,
            slots: self.slots,
            head: self.head,
        }
    }

    /// Moves the head on to the oldest slot, the next block's.
    fn step(&mut self) {
        self.head = (self.head + 1) % self.slots;
    }
}

/// Kernel samples (partitions x block) above which an offline schedule computes several
/// blocks a pass (see [`Schedule::batched`]).
const PAIRED_FROM: usize = 1 << 17;

/// Largest partition the scheduler uses.
pub const MAX_BLOCK: usize = 1 << 16;

/// One segment of a non-uniform partitioning: `partitions` blocks of `block` samples starting
/// at kernel sample `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First kernel sample of the segment.
    pub start: usize,
    /// Partition size of the segment's uniform convolver.
    pub block: usize,
    /// Number of partitions.
    pub partitions: usize,
}

/// A partitioning of a kernel into segments of growing block size.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The segments, head first; they tile the kernel.
    pub segments: Vec<Segment>,
    /// Modelled CPU time per input sample, in nanoseconds.
    pub cost_ns: f64,
    /// Two blocks computed in each pass over the kernel's spectra (one segment only; see
    /// Blocks computed in each pass over the kernel's spectra (1, or for one segment only 2
    /// or 4; see [`UniformConvolver::batched`]): the latency is that many blocks, for offline
    /// runs.
    pub batch: usize,
}

impl Schedule {
    /// Modelled cost per input sample of a uniform stage.
    pub fn stage_cost(block: usize, partitions: usize) -> f64 {
        super::cost::streaming::stage_ns(block, partitions)
    }

    /// One uniform segment for the whole kernel.
    pub fn uniform(kernel_len: usize, block: usize) -> Schedule {
        let partitions = kernel_len.div_ceil(block);
        Schedule {
            segments: vec![Segment {
                start: 0,
                block,
                partitions,
            }],
            cost_ns: Self::stage_cost(block, partitions),
            batch: 1,
        }
    }

    /// This schedule with two blocks computed in each pass where that saves memory traffic
    /// (offline runs, where the extra block of latency is trimmed away): a single segment
    /// whose spectra and delay line outgrow a core's cache (2 MiB of f32, a kernel over 2^17
    /// samples). Below that the product runs from the cache and a pair would only add a block
    /// to the flush: paired whole runs over W3's input at 32768-sample partitions measured
    /// 4 partitions 1.00x, 6 partitions 0.96x, 8 partitions 0.91x the unpaired CPU. Four
    /// blocks a pass made W3's product a quarter cheaper again, but its two more blocks of
    /// flush and 1.8 MB more buffers (page faults) took it all back: 1.01x the paired run.
    #[must_use]
    pub fn batched(mut self) -> Schedule {
        let long = matches!(
            self.segments[..],
            [s] if s.partitions >= 2 && s.partitions * s.block > PAIRED_FROM
        );
        self.batch = if long { 2 } else { 1 };
        self
    }

    /// The cheapest schedule for a kernel of `kernel_len` samples whose head runs at `block`
    /// (the engine's latency), by the cost model: every growth factor 2..16 between stages and
    /// every minimum number of partitions per stage from 1 to 64 is tried, against the uniform
    /// partitioning.
    pub fn choose(kernel_len: usize, block: usize) -> Schedule {
        let mut best = Self::uniform(kernel_len, block);
        for growth in [2usize, 4, 8, 16] {
            for min_parts in [1usize, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64] {
                let candidate = Self::grown(kernel_len, block, growth, min_parts);
                if candidate.cost_ns < best.cost_ns {
                    best = candidate;
                }
            }
        }
        best
    }

    /// The largest partition a schedule whose head runs at `head` may use. A stage's forward
    /// and inverse transforms are indivisible work units (each runs inside one `process`
    /// call), and the cost of a transform of `2L` points grows like `L log L` while the block
    /// period grows like `head`: capping `L` at 256 head blocks keeps every such unit near 2 % of
    /// the period (a 16k-point transform is ~13 us against the 667 us of 32 samples at 48 kHz),
    /// for a few percent more average CPU than partitions of 64k would cost.
    pub fn largest_block(head: usize) -> usize {
        head.saturating_mul(256).clamp(head, MAX_BLOCK)
    }

    /// Segments whose block grows by `growth` each time, each with at least `min_parts`
    /// partitions and long enough that the next segment starts at `2 * next_block - head`.
    fn grown(kernel_len: usize, head: usize, growth: usize, min_parts: usize) -> Schedule {
        let mut segments = Vec::new();
        let mut start = 0;
        let mut block = head;
        while start < kernel_len {
            let next = (block * growth).min(Self::largest_block(head));
            let remaining = (kernel_len - start).div_ceil(block);
            let partitions = if next == block {
                remaining
            } else {
                let needed = (2 * next).saturating_sub(head + start).div_ceil(block);
                needed.max(min_parts).min(remaining)
            };
            segments.push(Segment {
                start,
                block,
                partitions,
            });
            start += partitions * block;
            block = next;
        }
        let cost_ns = segments
            .iter()
            .map(|s| Self::stage_cost(s.block, s.partitions))
            .sum();
        Schedule {
            segments,
            cost_ns,
            batch: 1,
        }
    }
}

/// A fixed delay of `len` samples, added into an output.
#[derive(Clone)]
struct DelayLine<T> {
    ring: Vec<T>,
    pos: usize,
}

impl<T: Sample> DelayLine<T> {
    fn new(len: usize) -> Self {
        DelayLine {
            ring: prefaulted(len, T::zero()),
            pos: 0,
        }
    }

    /// `output += input delayed by len`.
    fn add_delayed(&mut self, input: &[T], output: &mut [T]) {
        if self.ring.is_empty() {
            for (o, &i) in output.iter_mut().zip(input) {
                *o = *o + i;
            }
            return;
        }
        let len = self.ring.len();
        let mut done = 0;
        while done < input.len() {
            let n = (input.len() - done).min(len - self.pos);
            let ring = &mut self.ring[self.pos..self.pos + n];
            for ((o, r), &i) in output[done..done + n]
                .iter_mut()
                .zip(ring.iter_mut())
                .zip(&input[done..done + n])
            {
                *o = *o + *r;
                *r = i;
            }
            self.pos = (self.pos + n) % len;
            done += n;
        }
    }

    fn reset(&mut self) {
        self.ring.fill(T::zero());
        self.pos = 0;
    }
}

/// Stage outputs are produced in pieces of at most this many samples (the scratch size).
const SCRATCH: usize = 1024;

/// A kernel partitioned by a [`Schedule`] and transformed, shareable between channels.
pub struct PartitionedKernel<T: Sample> {
    segments: Vec<(Segment, Arc<KernelSpectra<T>>)>,
    batch: usize,
    latency: usize,
    kernel_len: usize,
}

impl<T: Sample> PartitionedKernel<T> {
    /// Partitions `kernel` with the cost model's schedule for a head block of `block` samples.
    ///
    /// # Errors
    /// An empty kernel, or a block that is not a power of two.
    pub fn new(kernel: &[T], block: usize) -> Result<Self> {
        check_block(block)?;
        Self::with_schedule(kernel, &Schedule::choose(kernel.len(), block))
    }

    /// Partitions `kernel` with an explicit schedule (its first segment's block is the
    /// latency).
    ///
    /// # Errors
    /// An empty kernel, a segment block that is not a power of two, or segments that do not
    /// tile the kernel with each starting at least `2 * block - latency`.
    pub fn with_schedule(kernel: &[T], schedule: &Schedule) -> Result<Self> {
        if kernel.is_empty() {
            return Err(Error::EmptyInput { what: "kernel" });
        }
        let head = schedule
            .segments
            .first()
            .map(|s| s.block)
            .ok_or_else(|| Error::input("schedule", "no segments"))?;
        if schedule.batch > 1 && schedule.segments.len() > 1 {
            return Err(Error::input(
                "schedule",
                "several blocks a pass needs a single segment",
            ));
        }
        let latency = schedule.batch.max(1) * head;
        let mut segments = Vec::with_capacity(schedule.segments.len());
        let mut expected_start = 0;
        for (i, seg) in schedule.segments.iter().enumerate() {
            check_block(seg.block)?;
            let ok = seg.start == expected_start
                && seg.partitions > 0
                && (i == 0 || seg.start + head >= 2 * seg.block);
            if !ok {
                return Err(Error::input(
                    "schedule",
                    format!("segment {i} ({seg:?}) does not fit"),
                ));
            }
            expected_start = seg.start + seg.partitions * seg.block;
            if seg.start >= kernel.len() {
                break;
            }
            let end = expected_start.min(kernel.len());
            let spectra = KernelSpectra::new(&kernel[seg.start..end], seg.block)?;
            segments.push((*seg, Arc::new(spectra)));
        }
        if expected_start < kernel.len() {
            return Err(Error::input(
                "schedule",
                "segments end before the kernel does",
            ));
        }
        Ok(PartitionedKernel {
            segments,
            batch: schedule.batch.max(1),
            latency,
            kernel_len: kernel.len(),
        })
    }

    /// The engine's latency: the head block (times the blocks of a batch).
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// The segments actually used (those that hold kernel samples).
    pub fn segments(&self) -> impl Iterator<Item = Segment> + '_ {
        self.segments.iter().map(|(s, _)| *s)
    }
}

/// A non-uniformly partitioned convolver for one channel (see the module doc): the latency of
/// its head block whatever the kernel's length, at a fraction of a uniform partitioning's cost.
#[derive(Clone)]
pub struct PartitionedConvolver<T: Sample> {
    stages: Vec<(UniformConvolver<T>, DelayLine<T>)>,
    scratch: Vec<T>,
    latency: usize,
    kernel_len: usize,
}

impl<T: Sample> PartitionedConvolver<T> {
    /// A convolver for `kernel` whose latency is `block` samples (a power of two), with the
    /// partition schedule chosen by the cost model.
    ///
    /// # Errors
    /// An empty kernel, or a block that is not a power of two.
    pub fn new(kernel: &[T], block: usize) -> Result<Self> {
        Ok(Self::from_kernel(&PartitionedKernel::new(kernel, block)?))
    }

    /// A convolver with an explicit schedule.
    ///
    /// # Errors
    /// As [`PartitionedKernel::with_schedule`].
    pub fn with_schedule(kernel: &[T], schedule: &Schedule) -> Result<Self> {
        Ok(Self::from_kernel(&PartitionedKernel::with_schedule(
            kernel, schedule,
        )?))
    }

    /// A convolver over a shared, already transformed kernel: channels filtered by the same
    /// kernel share its spectra and keep only their own delay lines.
    pub fn from_kernel(kernel: &PartitionedKernel<T>) -> Self {
        let latency = kernel.latency;
        // The head runs as blocks complete; every later stage spreads its work over the
        // following block (its segment starts late enough to absorb the extra block of delay).
        let stages = kernel
            .segments
            .iter()
            .enumerate()
            .map(|(i, (seg, spectra))| {
                let conv = if i == 0 {
                    UniformConvolver::batched(Arc::clone(spectra), kernel.batch)
                } else {
                    UniformConvolver::deferred(Arc::clone(spectra))
                };
                let delay = latency + seg.start - conv.latency();
                (conv, DelayLine::new(delay))
            })
            .collect();
        PartitionedConvolver {
            stages,
            scratch: vec![T::zero(); SCRATCH],
            latency,
            kernel_len: kernel.kernel_len,
        }
    }

    /// Staggers the deferred stages' work (see [`UniformConvolver::set_phase`]).
    pub fn set_phase(&mut self, phase: usize, phases: usize) {
        for (conv, _) in &mut self.stages {
            conv.set_phase(phase, phases);
        }
    }

    /// Delay of the output behind the full convolution: the head block.
    pub fn latency(&self) -> usize {
        self.latency
    }

    /// The kernel's length.
    pub fn kernel_len(&self) -> usize {
        self.kernel_len
    }

    /// Output samples still to come after the last input: `latency + kernel_len - 1`.
    pub fn tail_frames(&self) -> usize {
        self.latency + self.kernel_len - 1
    }

    /// Forgets all past input. Does not allocate.
    pub fn reset(&mut self) {
        for (conv, delay) in &mut self.stages {
            conv.reset();
            delay.reset();
        }
    }

    /// Filters `input` into `output` (same length, any length): the full convolution delayed
    /// by [`PartitionedConvolver::latency`]. Never allocates, locks or blocks.
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn process(&mut self, input: &[T], output: &mut [T]) {
        assert_eq!(input.len(), output.len(), "input and output lengths differ");
        if let [(conv, delay)] = &mut self.stages[..]
            && delay.ring.is_empty()
        {
            // One stage, no delay (a uniform schedule): straight into the output.
            conv.process(input, output);
            return;
        }
        output.fill(T::zero());
        for (piece_in, piece_out) in input.chunks(SCRATCH).zip(output.chunks_mut(SCRATCH)) {
            let scratch = &mut self.scratch[..piece_in.len()];
            for (conv, delay) in &mut self.stages {
                conv.process(piece_in, scratch);
                delay.add_delayed(scratch, piece_out);
            }
        }
    }

    /// Writes the next `output.len()` samples of the response to silence (the tail).
    pub fn flush(&mut self, output: &mut [T]) {
        if let [(conv, delay)] = &mut self.stages[..]
            && delay.ring.is_empty()
        {
            conv.flush(output);
            return;
        }
        output.fill(T::zero());
        for piece_out in output.chunks_mut(SCRATCH) {
            let scratch = &mut self.scratch[..piece_out.len()];
            for (conv, delay) in &mut self.stages {
                conv.flush(scratch);
                delay.add_delayed(scratch, piece_out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Samples in and out of pairs (out of conjugated ones, as the inverse leaves them) at
    /// every start and length, odd and even, against the flat sequence they stand for.
    #[test]
    fn pairs_round_trip_at_any_start_and_length() {
        let flat: Vec<f32> = (0..20).map(|i| i as f32 + 1.0).collect();
        let mut pairs = vec![Complex::new(0.0f32, 0.0); 10];
        to_pairs(&flat, &mut pairs);
        let conjugated: Vec<_> = pairs.iter().map(Complex::conj).collect();
        for start in 0..20 {
            for len in 0..=20 - start {
                let mut out = vec![-1.0f32; len];
                from_pairs(&conjugated, start, &mut out);
                assert_eq!(out, flat[start..start + len], "start {start} len {len}");
            }
        }
        let mut odd = vec![Complex::new(-1.0f32, -2.0); 2];
        to_pairs(&flat[..3], &mut odd);
        assert_eq!(odd, [Complex::new(1.0, 2.0), Complex::new(3.0, -2.0)]);
    }
}
