//! The one container frames travel in between the engine's threads and the chain's steps.
//!
//! A [`Block`] is planar (one buffer per channel, all the same length) because every stage
//! works a channel at a time. Its buffers keep their capacity when it is cleared, so a loop
//! that reuses its blocks allocates only while they grow to the largest size it meets, and
//! never per block after that (tests/no_alloc.rs holds the offline and the live loop to it).
//!
//! Engines take channels as slice tables (`&[&[T]]`, `&mut [&mut [T]]`); [`Views`] and
//! [`ViewsMut`] build those tables on the stack for up to [`STACK_CHANNELS`] channels, so
//! handing a block to an engine does not allocate either.
//!
//! ```
//! use convoy::Block;
//!
//! let mut block = Block::<f32>::new(2, 1024); // 2 channels, room for 1024 frames each
//! block.extend_from(&[[0.5f32, 0.25], [1.0, -1.0]], 0..2);
//! assert_eq!((block.channels(), block.frames()), (2, 2));
//! assert_eq!(block[1], [1.0, -1.0]);
//! let views = block.views(0..2); // &[&[f32]] for an engine, built on the stack
//! assert_eq!(views[0], [0.5, 0.25]);
//! ```

use std::ops::{Deref, DerefMut, Range};

/// Channels whose slice tables are built on the stack (a live chain carries at most this many;
/// an offline chain with more pays one small allocation per table).
pub const STACK_CHANNELS: usize = 32;

/// Planar frames: `channels` buffers of `frames` samples each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block<T> {
    planes: Vec<Vec<T>>,
}

impl<T: Copy + Default> Block<T> {
    /// An empty block of `channels` channels with room for `capacity` frames in each.
    pub fn new(channels: usize, capacity: usize) -> Block<T> {
        Block {
            planes: (0..channels)
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
        }
    }

    /// `channels` channels of `frames` zeros.
    pub fn zeros(channels: usize, frames: usize) -> Block<T> {
        Block {
            planes: vec![vec![T::default(); frames]; channels],
        }
    }

    /// A block holding these channels (all must be the same length).
    pub fn from_planes(planes: Vec<Vec<T>>) -> Block<T> {
        debug_assert!(planes.windows(2).all(|w| w[0].len() == w[1].len()));
        Block { planes }
    }

    /// The channels, given back.
    pub fn into_planes(self) -> Vec<Vec<T>> {
        self.planes
    }

    pub fn channels(&self) -> usize {
        self.planes.len()
    }

    pub fn frames(&self) -> usize {
        self.planes.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.frames() == 0
    }

    /// No frames, `channels` channels; capacity kept.
    pub fn clear(&mut self, channels: usize) {
        self.planes.truncate(channels);
        for p in &mut self.planes {
            p.clear();
        }
        self.planes.resize_with(channels, Vec::new);
    }

    /// `frames` frames in each of `channels` channels: existing samples kept, new ones zero.
    pub fn resize(&mut self, channels: usize, frames: usize) {
        self.planes.resize_with(channels, Vec::new);
        for p in &mut self.planes {
            p.resize(frames, T::default());
        }
    }

    /// Keeps the first `frames` frames.
    pub fn truncate(&mut self, frames: usize) {
        for p in &mut self.planes {
            p.truncate(frames);
        }
    }

    /// Drops the first `frames` frames (the rest moves to the front; nothing is allocated).
    pub fn drop_front(&mut self, frames: usize) {
        for p in &mut self.planes {
            let k = frames.min(p.len());
            p.drain(..k);
        }
    }

    /// Appends frames `range` of `src` (one slice per channel; the channel counts must agree).
    pub fn extend_from(&mut self, src: &[impl AsRef<[T]>], range: Range<usize>) {
        for (p, s) in self.planes.iter_mut().zip(src) {
            p.extend_from_slice(&s.as_ref()[range.clone()]);
        }
    }

    /// Becomes a copy of `src` (capacity kept).
    pub fn copy_from(&mut self, src: &[impl AsRef<[T]>]) {
        self.clear(src.len());
        let frames = src.first().map_or(0, |s| s.as_ref().len());
        self.extend_from(src, 0..frames);
    }

    /// The channel buffers themselves, for a codec that fills them. Whoever changes their
    /// lengths leaves them all equal.
    pub fn planes_mut(&mut self) -> &mut Vec<Vec<T>> {
        &mut self.planes
    }

    /// Slice tables over frames `range` of every channel.
    pub fn views(&self, range: Range<usize>) -> Views<'_, T> {
        views(&self.planes, range)
    }

    /// Mutable slice tables over frames `range` of every channel.
    pub fn views_mut(&mut self, range: Range<usize>) -> ViewsMut<'_, T> {
        views_mut(&mut self.planes, range)
    }
}

/// Reading a block reads its channels: `block[c]`, `block.iter()`.
impl<T> Deref for Block<T> {
    type Target = [Vec<T>];
    fn deref(&self) -> &[Vec<T>] {
        &self.planes
    }
}

/// Samples may be changed in place (lengths only through [`Block`]'s own methods).
impl<T> DerefMut for Block<T> {
    fn deref_mut(&mut self) -> &mut [Vec<T>] {
        &mut self.planes
    }
}

/// A table of channel slices, on the stack for up to [`STACK_CHANNELS`] channels.
// The large variant is the point: the table lives on the stack (half a kilobyte) so that
// handing channels to an engine allocates nothing.
#[allow(clippy::large_enum_variant)]
pub enum Views<'a, T> {
    Stack([&'a [T]; STACK_CHANNELS], usize),
    Heap(Vec<&'a [T]>),
}

/// Frames `range` of each buffer in `planes` (`Vec`s or slices), as a slice table.
pub fn views<T, P: AsRef<[T]>>(planes: &[P], range: Range<usize>) -> Views<'_, T> {
    if planes.len() <= STACK_CHANNELS {
        let mut table: [&[T]; STACK_CHANNELS] = [&[]; STACK_CHANNELS];
        for (slot, p) in table.iter_mut().zip(planes) {
            *slot = &p.as_ref()[range.clone()];
        }
        Views::Stack(table, planes.len())
    } else {
        Views::Heap(planes.iter().map(|p| &p.as_ref()[range.clone()]).collect())
    }
}

impl<'a, T> Deref for Views<'a, T> {
    type Target = [&'a [T]];
    fn deref(&self) -> &[&'a [T]] {
        match self {
            Views::Stack(t, n) => &t[..*n],
            Views::Heap(v) => v,
        }
    }
}

/// A table of mutable channel slices, on the stack for up to [`STACK_CHANNELS`] channels.
#[allow(clippy::large_enum_variant)]
pub enum ViewsMut<'a, T> {
    Stack([&'a mut [T]; STACK_CHANNELS], usize),
    Heap(Vec<&'a mut [T]>),
}

/// Frames `range` of each buffer in `planes`, as a mutable slice table.
pub fn views_mut<T>(planes: &mut [Vec<T>], range: Range<usize>) -> ViewsMut<'_, T> {
    if planes.len() <= STACK_CHANNELS {
        let n = planes.len();
        let mut table: [&mut [T]; STACK_CHANNELS] = Default::default();
        for (slot, p) in table.iter_mut().zip(planes.iter_mut()) {
            *slot = &mut p[range.clone()];
        }
        ViewsMut::Stack(table, n)
    } else {
        ViewsMut::Heap(planes.iter_mut().map(|p| &mut p[range.clone()]).collect())
    }
}

impl<'a, T> Deref for ViewsMut<'a, T> {
    type Target = [&'a mut [T]];
    fn deref(&self) -> &[&'a mut [T]] {
        match self {
            ViewsMut::Stack(t, n) => &t[..*n],
            ViewsMut::Heap(v) => v,
        }
    }
}

impl<'a, T> DerefMut for ViewsMut<'a, T> {
    fn deref_mut(&mut self) -> &mut [&'a mut [T]] {
        match self {
            ViewsMut::Stack(t, n) => &mut t[..*n],
            ViewsMut::Heap(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_keeps_its_channels_equal_and_its_capacity() {
        let mut b = Block::<f32>::new(2, 8);
        b.extend_from(&[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]], 1..3);
        assert_eq!((b.channels(), b.frames()), (2, 2));
        assert_eq!(&b[1], &[5.0, 6.0]);
        b.drop_front(1);
        assert_eq!(&b[0], &[3.0]);
        let cap = b[0].capacity();
        b.clear(3);
        assert_eq!((b.channels(), b.frames()), (3, 0));
        assert_eq!(b[0].capacity(), cap);
        b.resize(1, 4);
        assert_eq!(b.into_planes(), vec![vec![0.0; 4]]);
    }

    #[test]
    fn slice_tables_cover_the_range_on_the_stack_or_the_heap() {
        for channels in [1, STACK_CHANNELS, STACK_CHANNELS + 1] {
            let mut b = Block::<f64>::zeros(channels, 10);
            {
                let mut v = b.views_mut(2..5);
                assert_eq!(v.len(), channels);
                v[channels - 1][0] = 7.0;
            }
            let v = b.views(2..5);
            assert_eq!(v.len(), channels);
            assert!(v.iter().all(|s| s.len() == 3));
            assert_eq!(v[channels - 1][0], 7.0);
            assert_eq!(b[channels - 1][2], 7.0);
        }
    }
}
