//! A stage's kernels and how they map input channels to output channels, and the product of
//! two such maps (what fusing two stages means).
//!
//! Setup and the exact edge computation (see [`super::fused`]); f64 throughout.

use crate::conv::{Mode, Sample, convolve};
use crate::error::Result;

/// How a linear stage's kernels map channels.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernels {
    /// One kernel for every channel.
    Shared(Vec<f64>),
    /// Kernel `c` for channel `c`.
    PerChannel(Vec<Vec<f64>>),
    /// `[out][in]`: output `o` is the sum over inputs `i` of `x_i * k[o][i]` (true stereo and
    /// anything fused with it).
    Matrix(Vec<Vec<Vec<f64>>>),
}

/// The full convolution of two kernels (neither is ever empty: every stage checks its own).
fn full(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    convolve(a, b, Mode::Full)
}

fn add_into(acc: &mut Vec<f64>, v: &[f64]) {
    if acc.len() < v.len() {
        acc.resize(v.len(), 0.0);
    }
    for (a, b) in acc.iter_mut().zip(v) {
        *a += b;
    }
}

impl Kernels {
    /// The longest kernel's length (the stage's M).
    pub fn len(&self) -> usize {
        match self {
            Kernels::Shared(k) => k.len(),
            Kernels::PerChannel(ks) => ks.iter().map(Vec::len).max().unwrap_or(1),
            Kernels::Matrix(m) => m.iter().flatten().map(Vec::len).max().unwrap_or(1),
        }
    }

    /// Whether the stage has no kernel taps at all (never: kernels are at least one tap).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As a dense `[out][in]` matrix for `channels` channels.
    pub fn matrix(&self, channels: usize) -> Vec<Vec<Vec<f64>>> {
        match self {
            Kernels::Matrix(m) => m.clone(),
            _ => (0..channels)
                .map(|o| {
                    (0..channels)
                        .map(|i| {
                            if o != i {
                                vec![0.0]
                            } else {
                                match self {
                                    Kernels::Shared(k) => k.clone(),
                                    Kernels::PerChannel(ks) => ks[o].clone(),
                                    Kernels::Matrix(_) => unreachable!(),
                                }
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// `self` after `first`: the kernels of applying `first`, then `self` (full convolutions
    /// compose by convolving their kernels).
    ///
    /// # Errors
    /// An empty kernel (a bug upstream: stages refuse them).
    pub fn after(&self, first: &Kernels, channels: usize) -> Result<Kernels> {
        Ok(match (self, first) {
            (Kernels::Shared(b), Kernels::Shared(a)) => Kernels::Shared(full(a, b)?),
            (Kernels::Shared(b), Kernels::PerChannel(a))
            | (Kernels::PerChannel(a), Kernels::Shared(b)) => {
                Kernels::PerChannel(a.iter().map(|k| full(k, b)).collect::<Result<_>>()?)
            }
            (Kernels::PerChannel(b), Kernels::PerChannel(a)) => Kernels::PerChannel(
                a.iter()
                    .zip(b)
                    .map(|(x, y)| full(x, y))
                    .collect::<Result<_>>()?,
            ),
            _ => {
                let (b, a) = (self.matrix(channels), first.matrix(channels));
                let mut out = vec![vec![vec![0.0]; channels]; channels];
                for (o, row) in out.iter_mut().enumerate() {
                    for (i, cell) in row.iter_mut().enumerate() {
                        let mut acc = vec![0.0];
                        for j in 0..channels {
                            let (bo, ai) = (&b[o][j], &a[j][i]);
                            if bo.iter().all(|&v| v == 0.0) || ai.iter().all(|&v| v == 0.0) {
                                continue;
                            }
                            add_into(&mut acc, &full(ai, bo)?);
                        }
                        *cell = acc;
                    }
                }
                Kernels::Matrix(out)
            }
        })
    }

    /// These kernels seen from a mono input copied to `n` channels: every output channel
    /// gets the mono path.
    pub fn upmixed(self, n: usize) -> Kernels {
        match self {
            Kernels::Shared(k) => Kernels::Shared(k),
            Kernels::PerChannel(ks) => {
                Kernels::PerChannel(vec![ks.into_iter().next().unwrap_or_else(|| vec![1.0]); n])
            }
            Kernels::Matrix(m) => {
                let k = m
                    .into_iter()
                    .next()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or_else(|| vec![1.0]);
                Kernels::PerChannel(vec![k; n])
            }
        }
    }

    /// Full convolution of planar `x` through these kernels (one vector per output channel).
    /// Empty channels give empty outputs.
    pub fn apply_full(&self, x: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let full = |a: &[f64], b: &[f64]| full(a, b).unwrap_or_default();
        match self {
            Kernels::Shared(k) => x.iter().map(|c| full(c, k)).collect(),
            Kernels::PerChannel(ks) => x.iter().zip(ks).map(|(c, k)| full(c, k)).collect(),
            Kernels::Matrix(m) => m
                .iter()
                .map(|row| {
                    let mut acc = vec![0.0];
                    for (xi, k) in x.iter().zip(row) {
                        if k.iter().all(|&v| v == 0.0) {
                            continue;
                        }
                        add_into(&mut acc, &full(xi, k));
                    }
                    let len = x.first().map_or(0, Vec::len) + self.len() - 1;
                    acc.resize(len, 0.0);
                    acc
                })
                .collect(),
        }
    }

    /// Scales every kernel by `g`.
    pub fn scale(&mut self, g: f64) {
        match self {
            Kernels::Shared(k) => k.iter_mut().for_each(|v| *v *= g),
            Kernels::PerChannel(ks) => ks.iter_mut().flatten().for_each(|v| *v *= g),
            Kernels::Matrix(m) => m.iter_mut().flatten().flatten().for_each(|v| *v *= g),
        }
    }

    /// The kernels for the engine, in [`crate::conv::MultiConvolver::new`]'s order (one shared,
    /// one per channel, or LL, LR, RL, RR), all padded to the same length.
    pub fn engine_kernels<T: Sample>(&self) -> Vec<Vec<T>> {
        let len = self.len();
        let pad = |k: &Vec<f64>| {
            let mut v: Vec<T> = k.iter().map(|&x| T::of_f64(x)).collect();
            v.resize(len, T::zero());
            v
        };
        match self {
            Kernels::Shared(k) => vec![pad(k)],
            Kernels::PerChannel(ks) => ks.iter().map(pad).collect(),
            Kernels::Matrix(m) => {
                // out_L = in_L * LL + in_R * RL ; out_R = in_L * LR + in_R * RR
                vec![pad(&m[0][0]), pad(&m[1][0]), pad(&m[0][1]), pad(&m[1][1])]
            }
        }
    }
}
