//! Output modes and where each one sits inside the full convolution (numpy's rules).
//!
//! Pure arithmetic; any thread.
//!
//! For a longer input of length `n` and a shorter one of length `m`, the full convolution has
//! `n + m - 1` samples. numpy cuts the other modes out of it like this:
//!
//! ```text
//! full   |<------------------ n + m - 1 ------------------>|
//! same          |<------------- n ------------->|            starts at (m - 1) / 2
//! valid                |<------ n - m + 1 ------>|           starts at m - 1
//! ```
//!
//! numpy's 'same' is `max(n, m)` long (not scipy's "shape of the first input"), and for an even
//! `m` it keeps one more sample of the leading edge than of the trailing one.

use std::fmt;
use std::str::FromStr;

/// Which part of the full convolution to return, as in `np.convolve(a, v, mode)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Every point of overlap: length N + M - 1.
    #[default]
    Full,
    /// Length max(N, M), centred as numpy centres it.
    Same,
    /// Only points where the inputs overlap completely: length max(N, M) - min(N, M) + 1.
    Valid,
}

impl Mode {
    /// The output length for inputs of lengths `a` and `b` (either may be the longer; both >= 1).
    pub fn output_len(self, a: usize, b: usize) -> usize {
        let (n, m) = (a.max(b), a.min(b));
        match self {
            Mode::Full => n + m - 1,
            Mode::Same => n,
            Mode::Valid => n - m + 1,
        }
    }

    /// The `(start, len)` window of the full convolution this mode keeps, for a longer input of
    /// length `n` and a shorter one of length `m` (`n >= m >= 1`).
    pub fn window(self, n: usize, m: usize) -> (usize, usize) {
        debug_assert!(n >= m && m >= 1);
        match self {
            Mode::Full => (0, n + m - 1),
            Mode::Same => ((m - 1) / 2, n),
            Mode::Valid => (m - 1, n - m + 1),
        }
    }

    /// The lower-case name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Same => "same",
            Mode::Valid => "valid",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(Mode::Full),
            "same" => Ok(Mode::Same),
            "valid" => Ok(Mode::Valid),
            _ => Err(format!("unknown mode '{s}' (expected full, same or valid)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_numpy() {
        assert_eq!(Mode::Full.output_len(3, 2), 4);
        assert_eq!(Mode::Same.output_len(3, 2), 3);
        assert_eq!(Mode::Same.output_len(2, 5), 5);
        assert_eq!(Mode::Valid.output_len(2, 5), 4);
        assert_eq!(Mode::Valid.output_len(5, 5), 1);
    }

    #[test]
    fn windows_sit_inside_full() {
        for n in 1..12 {
            for m in 1..=n {
                for mode in [Mode::Full, Mode::Same, Mode::Valid] {
                    let (start, len) = mode.window(n, m);
                    assert!(start + len < n + m);
                    assert_eq!(len, mode.output_len(n, m));
                }
            }
        }
    }
}
