//! Min/max decimation for waveforms of any length: a fixed number of buckets, each holding the
//! smallest and largest sample it covers. When the buckets run out, neighbours merge and each
//! covers twice as many samples, so a 2-hour stream costs the same memory and drawing time as
//! a second, and every peak stays visible.

/// Buckets kept at most (a little more than the pixels of a 1200-wide plot, times two).
const MAX_BUCKETS: usize = 4096;

/// Streaming min/max of one channel.
#[derive(Clone, Debug)]
pub struct MinMax {
    buckets: Vec<(f32, f32)>,
    /// Samples per full bucket.
    per: u64,
    /// Samples in the last (partial) bucket.
    fill: u64,
    samples: u64,
}

impl Default for MinMax {
    fn default() -> Self {
        MinMax {
            buckets: Vec::new(),
            per: 1,
            fill: 0,
            samples: 0,
        }
    }
}

impl MinMax {
    pub fn push(&mut self, xs: &[f32]) {
        let mut xs = xs;
        while !xs.is_empty() {
            if self.buckets.is_empty() || self.fill == self.per {
                if self.buckets.len() == MAX_BUCKETS {
                    // All full: pairs merge into full buckets of twice the size.
                    self.halve();
                }
                self.buckets.push((f32::INFINITY, f32::NEG_INFINITY));
                self.fill = 0;
            }
            // The rest of the current bucket in one pass (min/max folds vectorize).
            let take = ((self.per - self.fill) as usize).min(xs.len());
            // Plain comparisons vectorize (and skip NaN); infinities, which would wreck the
            // axis range, are dropped in a slow pass only when one turns up.
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &x in &xs[..take] {
                lo = if x < lo { x } else { lo };
                hi = if x > hi { x } else { hi };
            }
            if lo == f32::NEG_INFINITY || hi == f32::INFINITY {
                (lo, hi) = xs[..take]
                    .iter()
                    .filter(|x| x.is_finite())
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |a, &x| {
                        (a.0.min(x), a.1.max(x))
                    });
            }
            if let Some(b) = self.buckets.last_mut() {
                b.0 = b.0.min(lo);
                b.1 = b.1.max(hi);
            }
            self.fill += take as u64;
            self.samples += take as u64;
            xs = &xs[take..];
        }
    }

    fn halve(&mut self) {
        let merged: Vec<(f32, f32)> = self
            .buckets
            .chunks(2)
            .map(|p| {
                p.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                    (a.0.min(b.0), a.1.max(b.1))
                })
            })
            .collect();
        // Called only when every bucket is full and their count is even.
        self.fill = 2 * self.per;
        self.buckets = merged;
        self.per *= 2;
    }

    /// Samples seen.
    pub fn len(&self) -> u64 {
        self.samples
    }

    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// `(first sample index, min, max)` per bucket.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, f32, f32)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, &(lo, hi))| (i as u64 * self.per, lo, hi))
    }

    /// Samples per bucket.
    pub fn per_bucket(&self) -> u64 {
        self.per
    }

    /// Smallest and largest sample seen.
    pub fn range(&self) -> (f32, f32) {
        self.buckets
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |a, b| {
                (a.0.min(b.0), a.1.max(b.1))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_peak_and_bounded_memory() {
        let mut m = MinMax::default();
        let n = 10_000_000u64;
        let mut chunk = Vec::new();
        for i in 0..n {
            let v = if i == 7_654_321 {
                5.0
            } else if i == 123 {
                -3.0
            } else {
                ((i % 100) as f32) / 100.0
            };
            chunk.push(v);
            if chunk.len() == 4097 {
                m.push(&chunk);
                chunk.clear();
            }
        }
        m.push(&chunk);
        assert_eq!(m.len(), n);
        assert!(m.buckets().count() <= MAX_BUCKETS);
        assert_eq!(m.range(), (-3.0, 5.0));
        // The peak lands in the bucket that covers its index.
        let per = m.per_bucket();
        let (start, _, hi) = m.buckets().find(|b| b.2 == 5.0).unwrap();
        assert!(
            start <= 7_654_321 && 7_654_321 < start + per,
            "{start} {per}"
        );
        assert_eq!(hi, 5.0);
        // Buckets tile the samples: the last one starts before the end.
        let last = m.buckets().last().unwrap().0;
        assert!(last < n && last + per >= n, "{last} {per} {n}");
    }

    #[test]
    fn short_inputs_are_kept_sample_by_sample() {
        let mut m = MinMax::default();
        m.push(&[1.0, -2.0, 3.0]);
        let b: Vec<_> = m.buckets().collect();
        assert_eq!(b, vec![(0, 1.0, 1.0), (1, -2.0, -2.0), (2, 3.0, 3.0)]);
    }
}
