//! Block-time figures for runs of any length: a fixed histogram of atomics.
//!
//! The processing thread records each block's time with one relaxed atomic add (no allocation,
//! no lock: safe on the audio thread); any other thread reads medians and maxima, for the whole
//! run or since it last looked. Memory is fixed whether the run lasts a second or a day.

use std::sync::atomic::{AtomicU64, Ordering};

/// Buckets: 8 per octave from 64 ns to about 70 s, so a median is within ~9 %.
const PER_OCTAVE: usize = 8;
const OCTAVES: usize = 30;
const BUCKETS: usize = PER_OCTAVE * OCTAVES;
const FLOOR_NS: f64 = 64.0;

/// Counts of block times.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    max_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_ns: AtomicU64::new(0),
        }
    }
}

fn bucket(ns: u64) -> usize {
    let x = (ns as f64 / FLOOR_NS).max(1.0);
    ((x.log2() * PER_OCTAVE as f64) as usize).min(BUCKETS - 1)
}

/// The upper edge of bucket `b`, in ns.
fn edge(b: usize) -> f64 {
    FLOOR_NS * ((b + 1) as f64 / PER_OCTAVE as f64).exp2()
}

/// What a histogram says.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Figures {
    pub blocks: u64,
    pub median_ns: f64,
    pub max_ns: f64,
}

impl Histogram {
    /// Records one block's time. Real-time safe.
    pub fn record(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// The counts as they are now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            max_ns: self.max_ns.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's counts at one moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    counts: Vec<u64>,
    max_ns: u64,
}

impl Snapshot {
    /// Median and maximum over everything recorded.
    pub fn figures(&self) -> Figures {
        figures(&self.counts, self.max_ns as f64)
    }

    /// Median and largest bucket of what was recorded since `earlier`.
    pub fn since(&self, earlier: &Snapshot) -> Figures {
        let diff: Vec<u64> = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, c)| c - earlier.counts.get(i).copied().unwrap_or(0))
            .collect();
        let top = diff.iter().rposition(|&c| c > 0).map_or(0.0, edge);
        figures(&diff, top.min(self.max_ns as f64))
    }
}

fn figures(counts: &[u64], max_ns: f64) -> Figures {
    let blocks: u64 = counts.iter().sum();
    if blocks == 0 {
        return Figures::default();
    }
    let half = blocks.div_ceil(2);
    let mut seen = 0;
    let mut median_ns = 0.0;
    for (b, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= half {
            // The bucket's geometric middle.
            median_ns = edge(b) * (-0.5 / PER_OCTAVE as f64).exp2();
            break;
        }
    }
    Figures {
        blocks,
        median_ns,
        max_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_within_a_bucket_and_exact_max() {
        let h = Histogram::default();
        for ns in [1_000u64, 2_000, 3_000, 4_000, 100_000] {
            h.record(ns);
        }
        let f = h.snapshot().figures();
        assert_eq!(f.blocks, 5);
        assert!((f.median_ns / 3_000.0 - 1.0).abs() < 0.1, "{f:?}");
        assert_eq!(f.max_ns, 100_000.0);
        let before = h.snapshot();
        h.record(500);
        let g = h.snapshot().since(&before);
        assert_eq!(g.blocks, 1);
        assert!((g.median_ns / 500.0 - 1.0).abs() < 0.1, "{g:?}");
    }
}
