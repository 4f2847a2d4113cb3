//! Convolution over some axes only, batched over the others: scipy.signal.fftconvolve /
//! oaconvolve's `axes=`.
//!
//! The axes in the list are convolved (a sub-array convolution for every position along the
//! other axes); along the other axes the operands pair up element by element, a length-1 side
//! broadcast against the other as numpy broadcasts. Like scipy, an axis in the list where either
//! operand has length 1 is treated as a broadcast axis (convolving with one sample is a product).

use super::{Nd, Recipe, advance};
use crate::error::{Error, Result};

/// Axes as the user gave them (negative from the end) checked against `ndim`, in ascending
/// order.
///
/// # Errors
/// An empty list, an axis out of range, or one given twice: scipy's words.
pub fn normalize_axes(axes: &[i64], ndim: usize) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Err(Error::Usage(
            "--axes: when provided, axes cannot be empty (scipy's words)".into(),
        ));
    }
    let n = ndim as i64;
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let b = if a < 0 { a + n } else { a };
        if !(0..n).contains(&b) {
            return Err(Error::Usage(format!(
                "--axes: axis {a} is out of range for {ndim}-D input (scipy: axes exceeds dimensionality of input)"
            )));
        }
        out.push(b as usize);
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::Usage(
            "--axes: all axes must be unique (scipy's words)".into(),
        ));
    }
    Ok(out)
}

/// `recipe` applied over `axes` of `x` and `k` (same number of dimensions), batched over the
/// other axes with broadcasting.
///
/// # Errors
/// Different numbers of dimensions, shapes that do not pair up along the other axes, or what
/// the recipe refuses.
pub fn apply_over_axes(recipe: &Recipe, x: &Nd, k: &Nd, axes: &[usize]) -> Result<Nd> {
    let nd = x.ndim();
    if k.ndim() != nd {
        return Err(Error::Usage(format!(
            "the signal is {nd}-D but the kernel {}-D: in1 and in2 should have the same dimensionality (scipy's words)",
            k.ndim()
        )));
    }
    let conv: Vec<usize> = axes
        .iter()
        .copied()
        .filter(|&a| x.shape[a] != 1 && k.shape[a] != 1)
        .collect();
    let batch: Vec<usize> = (0..nd).filter(|a| !conv.contains(a)).collect();
    if batch
        .iter()
        .any(|&a| x.shape[a] != k.shape[a] && x.shape[a] != 1 && k.shape[a] != 1)
    {
        return Err(Error::Usage(format!(
            "incompatible shapes for in1 and in2: {} and {} (scipy's words): along the axes not convolved they must be equal or 1",
            shape_tuple(&x.shape),
            shape_tuple(&k.shape)
        )));
    }
    let bshape: Vec<usize> = batch.iter().map(|&a| x.shape[a].max(k.shape[a])).collect();
    if conv.is_empty() {
        // Nothing to convolve: the broadcast product (scipy returns in1 * in2).
        let mut out = Nd::zeros(&bshape);
        let mut idx = vec![0usize; nd];
        for v in &mut out.data {
            *v = x.data[offset(x, &idx)] * k.data[offset(k, &idx)];
            advance(&mut idx, &bshape);
        }
        return Ok(out);
    }
    // Gathers the sub-array along the convolved axes at one batch position.
    let gather = |a: &Nd, bidx: &[usize]| -> Nd {
        let shape: Vec<usize> = conv.iter().map(|&c| a.shape[c]).collect();
        let mut full = vec![0usize; nd];
        for (&b, &i) in batch.iter().zip(bidx) {
            full[b] = if a.shape[b] == 1 { 0 } else { i };
        }
        let mut sub = Nd::zeros(&shape);
        let mut cidx = vec![0usize; conv.len()];
        for v in &mut sub.data {
            for (&c, &i) in conv.iter().zip(&cidx) {
                full[c] = i;
            }
            *v = a.data[offset(a, &full)];
            advance(&mut cidx, &shape);
        }
        sub
    };
    let mut out: Option<Nd> = None;
    let mut bidx = vec![0usize; batch.len()];
    let count: usize = bshape.iter().product();
    for _ in 0..count {
        let y = recipe.apply(&gather(x, &bidx), &gather(k, &bidx))?;
        let o = out.get_or_insert_with(|| {
            let mut shape = vec![0usize; nd];
            for (&b, &s) in batch.iter().zip(&bshape) {
                shape[b] = s;
            }
            for (&c, &s) in conv.iter().zip(&y.shape) {
                shape[c] = s;
            }
            Nd::zeros(&shape)
        });
        let mut full = vec![0usize; nd];
        for (&b, &i) in batch.iter().zip(&bidx) {
            full[b] = i;
        }
        let mut cidx = vec![0usize; conv.len()];
        for &v in &y.data {
            for (&c, &i) in conv.iter().zip(&cidx) {
                full[c] = i;
            }
            let at = offset(o, &full);
            o.data[at] = v;
            advance(&mut cidx, &y.shape);
        }
        advance(&mut bidx, &bshape);
    }
    out.ok_or_else(|| Error::Usage("an empty batch".into()))
}

/// The flat position of `idx` in `a`, a length-1 axis broadcast (index 0).
fn offset(a: &Nd, idx: &[usize]) -> usize {
    a.shape
        .iter()
        .zip(idx)
        .fold(0, |off, (&s, &i)| off * s + if s == 1 { 0 } else { i })
}

/// A shape as numpy prints it: `()`, `(5,)`, `(2, 3)`.
pub fn shape_tuple(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::Method;
    use crate::conv::nd::Mode;

    fn recipe(mode: Mode) -> Recipe {
        Recipe {
            mode,
            correlate: false,
            boundary: None,
            ndimage: None,
            method: Method::Direct,
        }
    }

    #[test]
    fn rows_convolved_one_by_one() {
        // x (2, 3), k (2, 2) over axis 1: row i of x with row i of k.
        let x = Nd::new(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let k = Nd::new(vec![2, 2], vec![1.0, 1.0, 1.0, -1.0]);
        let y = apply_over_axes(&recipe(Mode::Full), &x, &k, &[1]).unwrap();
        assert_eq!(y.shape, vec![2, 4]);
        assert_eq!(y.data, vec![1.0, 3.0, 5.0, 3.0, 4.0, 1.0, 1.0, -6.0]);
        // A one-row kernel is broadcast over the rows.
        let k1 = Nd::new(vec![1, 2], vec![1.0, 1.0]);
        let y = apply_over_axes(&recipe(Mode::Same), &x, &k1, &[1]).unwrap();
        assert_eq!(y.shape, vec![2, 3]);
        assert_eq!(y.data, vec![1.0, 3.0, 5.0, 4.0, 9.0, 11.0]);
        // Rows that do not pair up are refused.
        let k3 = Nd::new(vec![3, 2], vec![0.0; 6]);
        assert!(apply_over_axes(&recipe(Mode::Full), &x, &k3, &[1]).is_err());
    }

    #[test]
    fn axes_are_checked_like_scipy() {
        assert_eq!(normalize_axes(&[-1, 0], 3).unwrap(), vec![0, 2]);
        assert!(normalize_axes(&[], 2).is_err());
        assert!(normalize_axes(&[2], 2).is_err());
        assert!(normalize_axes(&[1, -1], 2).is_err());
    }
}
