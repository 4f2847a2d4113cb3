//! FIR stages whose edges need the whole signal: `mode=same` with `boundary=reflect|
//! symmetric|wrap|edge` (exactly `convoy convolve --boundary`: np.pad(x, (p, M-1-p), mode),
//! then 'valid'), and `savgol` with scipy.signal.savgol_filter's edge modes (`interp`, the
//! default: a polynomial fitted to the first and last windows; `mirror`, `nearest`, `wrap`).
//!
//! Offline, such a step holds its input and gives it out filtered at the end (a wrapped edge
//! needs the end of the signal at its start). Live, a stream has no end to reflect and cannot
//! wait for one: the stage runs causally, as every FIR stage does live (its front extended by
//! silence), and the chain says so.

use crate::block::Block;
use crate::conv::{Boundary, Mode, Options, Sample, convolve_with};
use crate::error::{Error, Result};

use super::kernels::Kernels;
use super::steps::hold;

/// How a whole-signal stage treats its edges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Edges {
    /// np.pad's mode before a 'valid' convolution.
    Extend(Boundary),
    /// savgol_filter's mode='interp': zero padding inside, then the first and last
    /// `window / 2` outputs replaced by the least-squares polynomial of this order through
    /// the first and last `window` inputs.
    /// `asked`: given as mode=interp; the default instead falls back to zero padding (mode
    /// 'constant') on an input shorter than the window, where scipy raises.
    Interp {
        window: usize,
        order: usize,
        asked: bool,
    },
}

/// A FIR stage with whole-signal edges, as parsed.
#[derive(Clone, Debug)]
pub struct WholeStage {
    pub word: String,
    pub kernels: Kernels,
    pub edges: Edges,
}

impl WholeStage {
    /// One channel, whole.
    fn apply(&self, x: &[f64], channel: usize) -> Result<Vec<f64>> {
        let k: &[f64] = match &self.kernels {
            Kernels::Shared(k) => k,
            Kernels::PerChannel(ks) => &ks[channel.min(ks.len() - 1)],
            Kernels::Matrix(_) => {
                return Err(Error::Usage(format!(
                    "{}: boundary= on a true-stereo IR is not supported (use mode=full)",
                    self.word
                )));
            }
        };
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let boundary = match self.edges {
            Edges::Extend(b) => b,
            Edges::Interp { .. } => Boundary::Zero,
        };
        let options = Options {
            mode: Mode::Same,
            boundary,
            ..Options::default()
        };
        let mut y = convolve_with(x, k, &options)?;
        // np.convolve's 'same' is as long as the longer input; the stream keeps its length.
        y.truncate(x.len());
        if let Edges::Interp {
            window,
            order,
            asked,
        } = self.edges
        {
            if x.len() < window && !asked {
                return Ok(y);
            }
            if x.len() < window {
                return Err(Error::Usage(format!(
                    "{}: mode=interp fits the first and last {window} samples, and the input has {} (as scipy's savgol_filter, it needs at least the window; use mode=same)",
                    self.word,
                    x.len()
                )));
            }
            let half = window / 2;
            let n = x.len();
            let head = crate::stages::design::polynomial_fit(&x[..window], order);
            y[..half].copy_from_slice(&head[..half]);
            let tail = crate::stages::design::polynomial_fit(&x[n - window..], order);
            y[n - half..].copy_from_slice(&tail[window - half..]);
        }
        Ok(y)
    }
}

/// The step: holds every channel's input until the end.
#[derive(Clone)]
pub struct WholeStep {
    pub stage: WholeStage,
    held: Vec<Vec<f64>>,
}

impl WholeStep {
    pub fn new(stage: WholeStage, channels: usize) -> WholeStep {
        WholeStep {
            stage,
            held: vec![Vec::new(); channels],
        }
    }

    pub fn reset(&mut self) {
        self.held.iter_mut().for_each(Vec::clear);
    }

    /// Holds a block.
    ///
    /// # Errors
    /// More than [`super::steps::MAX_HELD`] samples in all.
    pub fn process<T: Sample>(&mut self, input: &[Vec<T>], out: &mut Block<T>) -> Result<()> {
        out.clear(self.held.len());
        hold(
            &mut self.held,
            input,
            &self.stage.word,
            "these edges need the whole input",
            "use mode=same without boundary=",
        )
    }

    /// The end: every channel filtered, into `out`.
    ///
    /// # Errors
    /// The input is shorter than an interp window.
    pub fn finish<T: Sample>(&mut self, out: &mut Block<T>) -> Result<()> {
        out.clear(self.held.len());
        if self.held.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        let mut ys = Vec::with_capacity(self.held.len());
        for (c, h) in self.held.iter().enumerate() {
            ys.push(self.stage.apply(h, c)?);
        }
        for (o, y) in out.planes_mut().iter_mut().zip(ys) {
            o.extend(y.iter().map(|&v| T::of_f64(v)));
        }
        self.reset();
        Ok(())
    }
}
