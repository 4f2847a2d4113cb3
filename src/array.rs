//! The in-memory array the one-shot commands read, compute on and write: one or more equally
//! long columns of f64, with where it came from.
//!
//! A 1-D input is one column. A multichannel WAV is 2-D with shape (frames, channels), one column
//! per channel, as `soundfile.read` returns it.

pub mod dtype;

use crate::conv::Options;
use crate::error::{Error, Result};

/// A 1-D array, or a 2-D array of shape (rows, columns) stored column by column.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The columns, all the same length.
    pub columns: Vec<Vec<f64>>,
    /// True for a 2-D array (even with one column): the output keeps the second axis.
    pub two_d: bool,
    /// The sample rate, for arrays read from WAV.
    pub sample_rate: Option<u32>,
}

impl Array {
    /// A 1-D float array.
    pub fn from_vec(values: Vec<f64>) -> Self {
        Array {
            columns: vec![values],
            two_d: false,
            sample_rate: None,
        }
    }

    /// A 2-D float array from its columns.
    pub fn from_columns(columns: Vec<Vec<f64>>) -> Self {
        Array {
            columns,
            two_d: true,
            sample_rate: None,
        }
    }

    /// Rows (samples per column).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Number of columns (1 for a 1-D array).
    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// True when there is no sample at all.
    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// The values row by row (C order of the numpy shape).
    pub fn row_major(&self) -> Vec<f64> {
        (0..self.rows())
            .flat_map(|r| self.columns.iter().map(move |c| c[r]))
            .collect()
    }

    /// The shape as numpy reports it.
    pub fn shape(&self) -> Vec<usize> {
        if self.two_d {
            vec![self.rows(), self.width()]
        } else {
            vec![self.rows()]
        }
    }

    /// The shape written like numpy: `(5,)` or `(5, 2)`.
    pub fn shape_text(&self) -> String {
        if self.two_d {
            format!("({}, {})", self.rows(), self.width())
        } else {
            format!("({},)", self.rows())
        }
    }

    /// Builds a 2-D array from row-major values.
    pub fn from_rows(values: &[f64], rows: usize, width: usize) -> Self {
        let columns = (0..width)
            .map(|c| (0..rows).map(|r| values[r * width + c]).collect())
            .collect();
        Array::from_columns(columns)
    }
}

/// Convolves `signal` with `kernel` column by column along the first axis (like
/// `scipy.signal.oaconvolve(x, h, axes=0)`): a one-column side is broadcast against the other,
/// otherwise the column counts must match. Columns are spread over the cores when there is
/// real work to share.
///
/// # Errors
/// [`Error::Usage`] when the column counts cannot be paired.
pub fn convolve_columns(signal: &Array, kernel: &Array, options: &Options) -> Result<Array> {
    let (s, k) = (signal.width(), kernel.width());
    if s != k && s != 1 && k != 1 {
        return Err(Error::Usage(format!(
            "shapes {} and {} do not fit: 2-D inputs are filtered column by column, so their column counts must match (or one must have a single column)",
            signal.shape_text(),
            kernel.shape_text()
        )));
    }
    let width = s.max(k);
    let pair = |c: usize| {
        let x = &signal.columns[if s == 1 { 0 } else { c }];
        let h = &kernel.columns[if k == 1 { 0 } else { c }];
        crate::conv::convolve_with(x, h, options)
    };
    // Columns are independent: spread them over the cores when there is real work to share.
    let work = signal.rows() as f64 * kernel.rows().min(4096) as f64 * width as f64;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let columns = if width > 1 && threads > 1 && work > 1e7 {
        let mut results: Vec<Option<Result<Vec<f64>>>> = (0..width).map(|_| None).collect();
        std::thread::scope(|scope| {
            for (t, slots) in results.chunks_mut(width.div_ceil(threads)).enumerate() {
                let first = t * width.div_ceil(threads);
                let pair = &pair;
                scope.spawn(move || {
                    for (i, slot) in slots.iter_mut().enumerate() {
                        *slot = Some(pair(first + i));
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(Error::Internal("a worker thread failed".into()))))
            .collect::<Result<Vec<_>>>()?
    } else {
        (0..width).map(pair).collect::<Result<Vec<_>>>()?
    };
    Ok(Array {
        columns,
        two_d: signal.two_d || kernel.two_d,
        sample_rate: signal.sample_rate.or(kernel.sample_rate),
    })
}
