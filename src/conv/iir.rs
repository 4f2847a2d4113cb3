//! Recursive (IIR) filters as cascades of second-order sections, with scipy.signal's numbers:
//! [`sosfilt`] (direct form II transposed, f64 state), [`sosfilt_zi`], [`sosfiltfilt`] (odd
//! extension and steady-state initial conditions, as scipy's defaults), the frequency response
//! and group delay of a cascade, and [`Cascade`]: the same filter streaming over any block size
//! without allocating.
//!
//! A section is `[b0, b1, b2, a0, a1, a2]` with `a0 == 1` (scipy's `sos` rows; [`normalize`]
//! divides a row by its `a0`).

use realfft::num_complex::Complex64;

/// One second-order section, `[b0, b1, b2, 1, a1, a2]`.
pub type Section = [f64; 6];

/// States below this are flushed to zero at the end of a block: a recursive filter fed
/// silence decays towards zero forever, and in the subnormal range every multiply costs
/// about a hundred times more. Far below anything a 64-bit output can carry next to a
/// signal (the largest subnormal is 2.2e-308).
const FLUSH: f64 = 1e-200;

/// `row` divided by its `a0`.
///
/// # Errors
/// `a0` is zero or a coefficient is not finite.
pub fn normalize(row: [f64; 6]) -> Result<Section, String> {
    if let Some(v) = row.iter().find(|v| !v.is_finite()) {
        return Err(format!("a coefficient is not finite ({v})"));
    }
    let a0 = row[3];
    if a0 == 0.0 {
        return Err("a0 is 0 (the section divides by it)".into());
    }
    Ok(row.map(|v| v / a0))
}

/// One section over `x` in place from state `z` (direct form II transposed, as scipy's
/// `_sosfilt`: `y = b0 x + z0; z0 = b1 x - a1 y + z1; z1 = b2 x - a2 y`).
#[inline]
fn section_in_place(s: &Section, z: &mut [f64; 2], x: &mut [f64]) {
    let [b0, b1, b2, _, a1, a2] = *s;
    let [mut z0, mut z1] = *z;
    for v in x.iter_mut() {
        let xi = *v;
        let y = b0 * xi + z0;
        z0 = b1 * xi - a1 * y + z1;
        z1 = b2 * xi - a2 * y;
        *v = y;
    }
    *z = [z0, z1];
}

/// `scipy.signal.sosfilt(sos, x, zi=zi)`: the filtered signal, and the final state in `zi`
/// (`zi[i]` is section `i`'s; zeros for a filter at rest).
pub fn sosfilt(sos: &[Section], x: &[f64], zi: &mut [[f64; 2]]) -> Vec<f64> {
    let mut y = x.to_vec();
    for (s, z) in sos.iter().zip(zi.iter_mut()) {
        section_in_place(s, z, &mut y);
    }
    y
}

/// `scipy.signal.lfilter_zi(b, a)` for one section: the state of the section's step response
/// at rest (the 2x2 system `(I - A^T) zi = b[1:] - a[1:] b0`, solved in closed form).
fn section_zi(s: &Section) -> [f64; 2] {
    let [b0, b1, b2, _, a1, a2] = *s;
    let (c0, c1) = (b1 - a1 * b0, b2 - a2 * b0);
    let z0 = (c0 + c1) / (1.0 + a1 + a2);
    [z0, c1 - a2 * z0]
}

/// `scipy.signal.sosfilt_zi(sos)`: initial states for a step response at rest, each section's
/// scaled by the DC gain of the sections before it.
pub fn sosfilt_zi(sos: &[Section]) -> Vec<[f64; 2]> {
    let mut scale = 1.0;
    sos.iter()
        .map(|s| {
            let z = section_zi(s).map(|v| v * scale);
            scale *= dc_gain(s);
            z
        })
        .collect()
}

/// `H(1)`: `b.sum() / a.sum()`, as sosfilt_zi computes it.
fn dc_gain(s: &Section) -> f64 {
    (s[0] + s[1] + s[2]) / (s[3] + s[4] + s[5])
}

/// The padding `sosfiltfilt` uses by default: 3 x (2 x sections + 1), less the trailing
/// zeros both `b2` and `a2` have (first-order sections).
pub fn filtfilt_padlen(sos: &[Section]) -> usize {
    let zb = sos.iter().filter(|s| s[2] == 0.0).count();
    let za = sos.iter().filter(|s| s[5] == 0.0).count();
    3 * (2 * sos.len() + 1 - zb.min(za))
}

/// `scipy.signal.sosfiltfilt(sos, x)` with its defaults (`padtype='odd'`, `padlen` from
/// [`filtfilt_padlen`]): forward, then backward, each started from the steady state for the
/// edge sample, so the result has zero phase and no start-up transient.
///
/// # Errors
/// `x` is not longer than the padding (scipy raises the same).
pub fn sosfiltfilt(sos: &[Section], x: &[f64]) -> Result<Vec<f64>, String> {
    let edge = filtfilt_padlen(sos);
    if x.len() <= edge {
        return Err(format!(
            "zero-phase filtering needs more than {edge} samples per channel (3 x the filter's order, as scipy's sosfiltfilt), and the input has {}",
            x.len()
        ));
    }
    let n = x.len();
    // Odd extension: 2 x[0] - x[edge..1], x, 2 x[n-1] - x[n-2..n-1-edge].
    let mut ext = Vec::with_capacity(n + 2 * edge);
    ext.extend((1..=edge).rev().map(|i| 2.0 * x[0] - x[i]));
    ext.extend_from_slice(x);
    ext.extend((2..edge + 2).map(|i| 2.0 * x[n - 1] - x[n - i]));
    let zi = sosfilt_zi(sos);
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| z.map(|v| v * ext[0])).collect();
    let mut y = sosfilt(sos, &ext, &mut z);
    y.reverse();
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| z.map(|v| v * y[0])).collect();
    let mut y = sosfilt(sos, &y, &mut z);
    y.reverse();
    Ok(y[edge..edge + n].to_vec())
}

/// `H(e^{jw})` of a cascade at `w` radians per sample.
pub fn response(sos: &[Section], w: f64) -> Complex64 {
    let e1 = Complex64::from_polar(1.0, -w);
    let e2 = e1 * e1;
    sos.iter().fold(Complex64::new(1.0, 0.0), |h, s| {
        h * (s[0] + s[1] * e1 + s[2] * e2) / (s[3] + s[4] * e1 + s[5] * e2)
    })
}

/// The group delay of a cascade at `w` radians per sample, in samples: the sum over sections
/// of the numerator's delay less the denominator's (each `Re(sum k p_k e^{-jwk} / sum p_k
/// e^{-jwk})`).
pub fn group_delay(sos: &[Section], w: f64) -> f64 {
    let e1 = Complex64::from_polar(1.0, -w);
    let e2 = e1 * e1;
    let poly = |p0: f64, p1: f64, p2: f64| {
        let d = p0 + p1 * e1 + p2 * e2;
        if d.norm_sqr() == 0.0 {
            return 0.0;
        }
        ((p1 * e1 + 2.0 * p2 * e2) / d).re
    };
    sos.iter()
        .map(|s| poly(s[0], s[1], s[2]) - poly(s[3], s[4], s[5]))
        .sum()
}

/// Whether every pole of the cascade is inside the unit circle (the filter is stable).
pub fn stable(sos: &[Section]) -> bool {
    sos.iter().all(|s| {
        // z^2 + a1 z + a2: both roots inside the unit circle iff |a2| < 1 and |a1| < 1 + a2.
        let (a1, a2) = (s[4], s[5]);
        a2.abs() < 1.0 && a1.abs() < 1.0 + a2
    })
}

/// A cascade streaming over any number of channels and any block size: f64 state per
/// channel and section, samples of any type; nothing allocated per block.
#[derive(Clone, Debug)]
pub struct Cascade {
    sos: Vec<Section>,
    /// `[channel][section]`.
    state: Vec<Vec<[f64; 2]>>,
    scratch: Vec<f64>,
}

/// How many samples of a channel go through the cascade at once (the f64 scratch).
const CHUNK: usize = 256;

impl Cascade {
    /// `sos` at rest on `channels` channels.
    pub fn new(sos: Vec<Section>, channels: usize) -> Cascade {
        Cascade {
            state: vec![vec![[0.0; 2]; sos.len()]; channels],
            sos,
            scratch: vec![0.0; CHUNK],
        }
    }

    /// The sections.
    pub fn sections(&self) -> &[Section] {
        &self.sos
    }

    /// Back at rest.
    pub fn reset(&mut self) {
        for c in &mut self.state {
            c.iter_mut().for_each(|z| *z = [0.0; 2]);
        }
    }

    /// Filters one block: `output[c]` from `input[c]`, the same length (sosfilt continued
    /// from the previous block's state).
    pub fn process<T: crate::conv::Sample>(&mut self, input: &[&[T]], output: &mut [&mut [T]]) {
        for ((state, x), y) in self.state.iter_mut().zip(input).zip(output.iter_mut()) {
            for (xs, ys) in x.chunks(CHUNK).zip(y.chunks_mut(CHUNK)) {
                let buf = &mut self.scratch[..xs.len()];
                for (b, &v) in buf.iter_mut().zip(xs) {
                    *b = v.as_f64();
                }
                for (s, z) in self.sos.iter().zip(state.iter_mut()) {
                    section_in_place(s, z, buf);
                }
                for (d, &v) in ys.iter_mut().zip(buf.iter()) {
                    *d = T::of_f64(v);
                }
            }
            for z in state.iter_mut().flatten() {
                if z.abs() < FLUSH {
                    *z = 0.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_at_a_time_equals_the_whole_signal() {
        let sos = vec![
            [0.1, 0.2, 0.1, 1.0, -1.1, 0.4],
            [1.0, -2.0, 1.0, 1.0, -1.5, 0.7],
        ];
        let x: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64 - 50.0).collect();
        let whole = sosfilt(&sos, &x, &mut [[0.0; 2]; 2]);
        for block in [1, 7, 256, 300, 1000] {
            let mut c = Cascade::new(sos.clone(), 1);
            let mut y = vec![0.0; x.len()];
            for (xs, ys) in x.chunks(block).zip(y.chunks_mut(block)) {
                c.process(&[xs], &mut [ys]);
            }
            assert_eq!(y, whole, "block {block}");
        }
    }

    #[test]
    fn the_steady_state_of_a_step_is_its_initial_state() {
        let sos = vec![
            [0.1, 0.2, 0.1, 1.0, -1.1, 0.4],
            [1.0, 0.5, 0.0, 1.0, -0.5, 0.0],
        ];
        let mut z = sosfilt_zi(&sos);
        let y = sosfilt(&sos, &[1.0; 50], &mut z);
        let dc = dc_gain(&sos[0]) * dc_gain(&sos[1]);
        assert!(y.iter().all(|v| (v - dc).abs() < 1e-12), "{y:?}");
    }

    #[test]
    fn stability_is_the_poles_inside_the_circle() {
        assert!(stable(&[[1.0, 0.0, 0.0, 1.0, -1.8, 0.81]]));
        assert!(!stable(&[[1.0, 0.0, 0.0, 1.0, -2.0, 1.0]]));
        assert!(!stable(&[[1.0, 0.0, 0.0, 1.0, 0.0, 1.1]]));
    }
}
