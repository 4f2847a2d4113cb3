//! Boundary extension: what lies beyond the ends of a finite signal, as `np.pad` defines it.
//!
//! Pure math; any thread.
//!
//! With `x = a b c d`, three samples of extension on each side give
//!
//! ```text
//! reflect    d c b | a b c d | c b a      mirror about the end samples (period 2N - 2)
//! symmetric  c b a | a b c d | d c b      mirror about the ends, edges repeated (period 2N)
//! wrap       b c d | a b c d | a b c      periodic (period N)
//! edge       a a a | a b c d | d d d      the end samples held
//! ```
//!
//! Extensions longer than the signal keep going the same way (np.pad does this by repeated
//! reflection, which is the same periodic sequence). `reflect` of a one-sample signal repeats it.

use std::fmt;

/// How the signal is extended before filtering, using `np.pad`'s mode names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Boundary {
    /// No extension: the zero padding implied by `--mode` (numpy's np.convolve).
    #[default]
    Zero,
    /// d c b | a b c d | c b a (np.pad 'reflect'; scipy.ndimage 'mirror').
    Reflect,
    /// c b a | a b c d | d c b (np.pad 'symmetric'; scipy.ndimage 'reflect').
    Symmetric,
    /// b c d | a b c d | a b c (np.pad 'wrap'; periodic).
    Wrap,
    /// a a a | a b c d | d d d (np.pad 'edge'; scipy.ndimage 'nearest').
    Edge,
}

impl Boundary {
    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Zero => "zero",
            Boundary::Reflect => "reflect",
            Boundary::Symmetric => "symmetric",
            Boundary::Wrap => "wrap",
            Boundary::Edge => "edge",
        }
    }

    /// Which sample of a length-`n` signal stands at (possibly out-of-range) position `i`.
    /// `None` for [`Boundary::Zero`] outside the signal.
    pub fn source_index(self, i: isize, n: usize) -> Option<usize> {
        Extend::from(self).source_index(i, n)
    }
}

/// How an input is extended beyond its edges, for 1-D and N-d alike, with np.pad's names
/// (scipy.ndimage's names differ: its `reflect` is [`Extend::Symmetric`], its `mirror`
/// [`Extend::Reflect`], its `nearest` [`Extend::Edge`]). The one index mapping every boundary
/// rule of convoy goes through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extend {
    /// A constant outside (zero for plain convolution; convolve2d's `fillvalue`, ndimage's
    /// `cval`).
    Constant(f64),
    /// `d c b | a b c d | c b a`.
    Reflect,
    /// `c b a | a b c d | d c b`.
    Symmetric,
    /// `b c d | a b c d | a b c` (periodic).
    Wrap,
    /// `a a a | a b c d | d d d`.
    Edge,
}

impl From<Boundary> for Extend {
    fn from(b: Boundary) -> Extend {
        match b {
            Boundary::Zero => Extend::Constant(0.0),
            Boundary::Reflect => Extend::Reflect,
            Boundary::Symmetric => Extend::Symmetric,
            Boundary::Wrap => Extend::Wrap,
            Boundary::Edge => Extend::Edge,
        }
    }
}

impl Extend {
    /// Which sample of a length-`n` signal stands at (possibly out-of-range) position `i`;
    /// `None` where the constant stands.
    pub fn source_index(self, i: isize, n: usize) -> Option<usize> {
        let n_i = n as isize;
        if (0..n_i).contains(&i) {
            return Some(i as usize);
        }
        let index = match self {
            Extend::Constant(_) => return None,
            Extend::Edge => i.clamp(0, n_i - 1),
            Extend::Wrap => i.rem_euclid(n_i),
            Extend::Symmetric => {
                let j = i.rem_euclid(2 * n_i);
                if j < n_i { j } else { 2 * n_i - 1 - j }
            }
            Extend::Reflect => {
                if n == 1 {
                    0
                } else {
                    let period = 2 * (n_i - 1);
                    let j = i.rem_euclid(period);
                    if j < n_i { j } else { period - j }
                }
            }
        };
        Some(index as usize)
    }

    /// The constant outside, if any.
    pub fn constant(self) -> Option<f64> {
        match self {
            Extend::Constant(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `np.pad(x, (before, after), mode)`; zeros for [`Boundary::Zero`].
pub fn pad<T: Copy + Default>(x: &[T], before: usize, after: usize, mode: Boundary) -> Vec<T> {
    let n = x.len();
    (0..before + n + after)
        .map(|k| {
            mode.source_index(k as isize - before as isize, n)
                .map_or(T::default(), |i| x[i])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(mode: Boundary, before: usize, after: usize) -> Vec<i32> {
        pad(&[1, 2, 3, 4], before, after, mode)
    }

    #[test]
    fn the_diagram_holds() {
        assert_eq!(
            padded(Boundary::Reflect, 3, 3),
            [4, 3, 2, 1, 2, 3, 4, 3, 2, 1]
        );
        assert_eq!(
            padded(Boundary::Symmetric, 3, 3),
            [3, 2, 1, 1, 2, 3, 4, 4, 3, 2]
        );
        assert_eq!(padded(Boundary::Wrap, 3, 3), [2, 3, 4, 1, 2, 3, 4, 1, 2, 3]);
        assert_eq!(padded(Boundary::Edge, 3, 3), [1, 1, 1, 1, 2, 3, 4, 4, 4, 4]);
        assert_eq!(padded(Boundary::Zero, 1, 2), [0, 1, 2, 3, 4, 0, 0]);
    }

    #[test]
    fn long_extensions_and_tiny_signals() {
        // np.pad([1, 2, 3, 4], (7, 7), 'reflect') and friends.
        assert_eq!(
            padded(Boundary::Reflect, 7, 7),
            [2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3, 2, 1, 2, 3, 4, 3]
        );
        assert_eq!(
            padded(Boundary::Symmetric, 6, 6),
            [3, 4, 4, 3, 2, 1, 1, 2, 3, 4, 4, 3, 2, 1, 1, 2]
        );
        assert_eq!(pad(&[5], 2, 3, Boundary::Reflect), [5, 5, 5, 5, 5, 5]);
        assert_eq!(pad(&[5], 2, 1, Boundary::Wrap), [5, 5, 5, 5]);
    }
}
