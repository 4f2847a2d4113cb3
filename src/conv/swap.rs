//! Changing the kernel of a running convolver without a click and without allocating on the
//! audio thread.
//!
//! The new kernel is partitioned and transformed on another thread (building allocates), then
//! moved into the running [`SwappableConvolver`] by [`SwappableConvolver::set_kernel`], which
//! only moves a value. For the chosen number of frames both convolvers run and their outputs
//! are crossfaded (equal-gain linear ramp: the kernels are correlated versions of one another
//! in the usual use, an EQ or reverb change). The old convolver is then handed back through a
//! bounded channel, so that its memory is freed off the audio thread; if that channel is full
//! it is kept and retried on the next call instead of being dropped.
//!
//! The incoming convolver starts from silence: for its first `kernel_len` frames it has not
//! seen the input before the swap, which the fade hides as a soft onset of the new response.

use crossbeam_channel::{Sender, TrySendError};

use super::partitioned::PartitionedConvolver;
use super::sample::Sample;

/// Pieces of at most this many frames are mixed through the scratch buffer.
const SCRATCH: usize = 1024;

/// A partitioned convolver whose kernel can be replaced while it runs.
pub struct SwappableConvolver<T: Sample> {
    current: PartitionedConvolver<T>,
    incoming: Option<PartitionedConvolver<T>>,
    /// Outgoing convolvers that could not be handed back yet.
    retiring: [Option<PartitionedConvolver<T>>; 2],
    retired: Sender<PartitionedConvolver<T>>,
    fade_len: usize,
    fade_pos: usize,
    scratch: Vec<T>,
}

impl<T: Sample> SwappableConvolver<T> {
    /// Wraps `current`; replaced convolvers are sent to `retired` (give it a capacity of at
    /// least one and drop what arrives on another thread).
    pub fn new(current: PartitionedConvolver<T>, retired: Sender<PartitionedConvolver<T>>) -> Self {
        SwappableConvolver {
            current,
            incoming: None,
            retiring: [None, None],
            retired,
            fade_len: 0,
            fade_pos: 0,
            scratch: vec![T::zero(); SCRATCH],
        }
    }

    /// Starts crossfading to `next` over `fade_frames` frames (0: switch at once). A fade in
    /// progress is completed first. Does not allocate. `next` should have the same latency.
    pub fn set_kernel(&mut self, next: PartitionedConvolver<T>, fade_frames: usize) {
        if let Some(pending) = self.incoming.take() {
            self.complete_fade(pending);
        }
        self.fade_len = fade_frames;
        self.fade_pos = 0;
        if fade_frames == 0 {
            self.complete_fade(next);
        } else {
            self.incoming = Some(next);
        }
    }

    /// True while a crossfade is running.
    pub fn is_fading(&self) -> bool {
        self.incoming.is_some()
    }

    /// Delay of the output behind the full convolution.
    pub fn latency(&self) -> usize {
        self.current.latency()
    }

    /// Filters `input` into `output` (same length). Never allocates, locks or blocks.
    ///
    /// # Panics
    /// If the two slices differ in length.
    pub fn process(&mut self, input: &[T], output: &mut [T]) {
        assert_eq!(input.len(), output.len(), "input and output lengths differ");
        self.retry_retire();
        let mut done = 0;
        while done < input.len() {
            let Some(incoming) = self.incoming.as_mut() else {
                self.current.process(&input[done..], &mut output[done..]);
                return;
            };
            let n = (input.len() - done)
                .min(SCRATCH)
                .min(self.fade_len - self.fade_pos);
            let new_out = &mut self.scratch[..n];
            self.current
                .process(&input[done..done + n], &mut output[done..done + n]);
            incoming.process(&input[done..done + n], new_out);
            let step = T::one() / T::of_f64(self.fade_len as f64);
            for (i, (o, &new)) in output[done..done + n]
                .iter_mut()
                .zip(new_out.iter())
                .enumerate()
            {
                let gain = T::of_f64((self.fade_pos + i + 1) as f64) * step;
                *o = *o + (new - *o) * gain;
            }
            self.fade_pos += n;
            done += n;
            if self.fade_pos == self.fade_len {
                if let Some(next) = self.incoming.take() {
                    self.complete_fade(next);
                }
            }
        }
    }

    fn complete_fade(&mut self, next: PartitionedConvolver<T>) {
        let old = std::mem::replace(&mut self.current, next);
        self.retire(old);
    }

    fn retire(&mut self, old: PartitionedConvolver<T>) {
        // Full: keep it and try again on the next call. Disconnected: nobody will free it
        // elsewhere; keeping it is still better than freeing on the audio thread.
        if let Err(TrySendError::Full(old) | TrySendError::Disconnected(old)) =
            self.retired.try_send(old)
        {
            match self.retiring.iter_mut().find(|slot| slot.is_none()) {
                Some(slot) => *slot = Some(old),
                // Swaps faster than the retiring thread drains, twice over: rare; this one
                // is dropped here rather than block.
                None => drop(old),
            }
        }
    }

    fn retry_retire(&mut self) {
        for slot in &mut self.retiring {
            if let Some(old) = slot.take() {
                if let Err(TrySendError::Full(old) | TrySendError::Disconnected(old)) =
                    self.retired.try_send(old)
                {
                    *slot = Some(old);
                }
            }
        }
    }
}
