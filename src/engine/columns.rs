//! Text columns that pass through a run unchanged (`--columns`): a time column beside the
//! signals. The input is split (the signal columns to the chain, the rest queued) and the
//! output merged back in the input's column order, frame by frame, so a chain that keeps the
//! length and the alignment (`same`-mode stages, recursive stages, gains) leaves each row's
//! other values where they were.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Control, Input, Output, Written};
use crate::block::Block;
use crate::conv::Sample;
use crate::error::{Error, Result};

/// Which input columns are signals.
#[derive(Clone, Debug)]
pub struct Columns {
    /// `signal[c]`: column `c` goes through the chain.
    pub signal: Vec<bool>,
}

impl Columns {
    /// Resolves `--columns` (names from `header`, or numbers from 1) against `width` columns.
    ///
    /// # Errors
    /// An unknown name or a number out of range, or no signal column left.
    pub fn pick(wanted: &[String], header: Option<&[String]>, width: usize) -> Result<Columns> {
        let mut signal = vec![false; width];
        for w in wanted {
            let w = w.trim();
            let at = match w.parse::<usize>() {
                Ok(n) if (1..=width).contains(&n) => n - 1,
                Ok(n) => {
                    return Err(Error::input(
                        "--columns",
                        format!("column {n}: the input has {width} (numbered from 1)"),
                    ));
                }
                Err(_) => header
                    .and_then(|h| h.iter().position(|n| n == w))
                    .ok_or_else(|| {
                        Error::input(
                            "--columns",
                            match header {
                                Some(h) => format!(
                                    "no column named '{w}' (the header has {})",
                                    h.join(", ")
                                ),
                                None => format!(
                                    "'{w}': the input has no header line, so give column numbers (from 1)"
                                ),
                            },
                        )
                    })?,
            };
            signal[at] = true;
        }
        if !signal.contains(&true) {
            return Err(Error::input("--columns", "no signal column chosen"));
        }
        Ok(Columns { signal })
    }

    /// How many signal columns.
    pub fn signals(&self) -> usize {
        self.signal.iter().filter(|s| **s).count()
    }
}

/// The frames of the pass-through columns, oldest first.
type Queue = Arc<Mutex<VecDeque<Vec<f64>>>>;

/// The input with only its signal columns; the others queued for [`Merge`].
pub struct Split<T: Sample> {
    inner: Box<dyn Input<T>>,
    columns: Columns,
    queue: Queue,
    whole: Block<T>,
}

/// The output with the pass-through columns put back.
pub struct Merge<T: Sample> {
    inner: Box<dyn Output<T>>,
    columns: Columns,
    queue: Queue,
    whole: Block<T>,
}

/// The pair around `input` and `output`.
pub fn split<T: Sample + 'static>(
    input: Box<dyn Input<T>>,
    output: Box<dyn Output<T>>,
    columns: Columns,
) -> (Box<dyn Input<T>>, Box<dyn Output<T>>) {
    let queue: Queue = Arc::default();
    (
        Box::new(Split {
            inner: input,
            columns: columns.clone(),
            queue: Arc::clone(&queue),
            whole: Block::default(),
        }),
        Box::new(Merge {
            inner: output,
            columns,
            queue,
            whole: Block::default(),
        }),
    )
}

impl<T: Sample> Input<T> for Split<T> {
    fn channels(&self) -> usize {
        self.columns.signals()
    }

    fn start(&mut self) -> Result<()> {
        self.inner.start()
    }

    fn read(&mut self, block: &mut Block<T>, max: usize, ctl: &Control) -> Result<usize> {
        let n = self.inner.read(&mut self.whole, max, ctl)?;
        block.clear(self.columns.signals());
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for i in 0..n {
            q.push_back(
                self.whole
                    .iter()
                    .zip(&self.columns.signal)
                    .filter(|(_, s)| !**s)
                    .map(|(c, _)| c[i].as_f64())
                    .collect(),
            );
        }
        for (c, plane) in self
            .whole
            .iter()
            .zip(&self.columns.signal)
            .filter(|(_, s)| **s)
            .map(|(c, _)| c)
            .zip(block.planes_mut().iter_mut())
        {
            plane.extend_from_slice(&c.as_slice()[..n]);
        }
        Ok(n)
    }

    fn close(&mut self) {
        self.inner.close();
    }

    fn stopped(&self) -> bool {
        self.inner.stopped()
    }
}

impl<T: Sample> Output<T> for Merge<T> {
    fn write(&mut self, block: &mut Block<T>, ctl: &Control) -> Result<()> {
        let n = block.frames();
        let width = self.columns.signal.len();
        self.whole.clear(width);
        self.whole.resize(width, n);
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.len() < n {
            return Err(Error::Usage(
                "--columns: the chain gave more frames than it took; pass-through columns need a chain that keeps the length (mode=same stages, recursive stages, gains)".into(),
            ));
        }
        for i in 0..n {
            let row = q.pop_front().unwrap_or_default();
            let (mut s, mut p) = (block.iter(), row.into_iter());
            for (c, is_signal) in self.columns.signal.iter().enumerate() {
                self.whole.planes_mut()[c][i] = if *is_signal {
                    s.next().map_or(T::zero(), |plane| plane[i])
                } else {
                    T::of_f64(p.next().unwrap_or(0.0))
                };
            }
        }
        drop(q);
        self.inner.write(&mut self.whole, ctl)
    }

    fn drain(&mut self, ctl: &Control) -> Result<()> {
        self.inner.drain(ctl)
    }

    fn closed(&self) -> bool {
        self.inner.closed()
    }

    fn finish(self: Box<Self>) -> Result<Written> {
        let left = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        if left > 0 {
            return Err(Error::Usage(format!(
                "--columns: the chain gave {left} frame(s) fewer than it took; pass-through columns need a chain that keeps the length (mode=same stages, recursive stages, gains)"
            )));
        }
        self.inner.finish()
    }
}
