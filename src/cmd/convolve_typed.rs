//! `convoy convolve` over numpy's dtypes: complex operands and exact integers by linearity,
//! the result cast to numpy's result type, written in it.
//!
//! The convolution engines are real and f64. Everything else is built from them:
//! - complex: (a + ib) * (c + id) = (a*c - b*d) + i(a*d + b*c), four real runs (two when one
//!   side is real), each with its own part of a complex `--fill`; correlation conjugates the
//!   kernel first, as np.correlate, scipy.signal.correlate and scipy.ndimage.correlate do.
//! - integers whose sums f64 cannot hold exactly (scipy's own test: max|a| * max|b| *
//!   min(size) >= 2^52): each operand split into four 16-bit limbs, the ten limb products that
//!   reach below bit 64 computed by direct summation (exact in f64: |limb products| < 2^32, so
//!   sums of up to 2^21 terms), and added with wrap-around in 64 bits. Wrapping is a ring
//!   homomorphism, so this is numpy's answer in any narrower integer type too.
//!
//! Main thread, offline.

use convoy::array::dtype::{self, Dtype, Scalar, Typed};
use convoy::conv::nd::shape_tuple;
use convoy::error::{Error, Result};
use convoy::io::operand::{Input, Loaded};

use super::convolve::Computed;
use crate::cli::{ConvolveArgs, Semantics};

/// Sums of integer products at or above this may not be exact in f64 (scipy's
/// choose_conv_method draws the line there too).
const EXACT_LIMIT: f64 = 4_503_599_627_370_495.0; // 2^52 - 1

/// One real convolution of real operands (`None`: the named kernel), as the command line asks.
pub type RealRun<'a> = dyn Fn(&ConvolveArgs, Loaded, Option<Loaded>) -> Result<Computed> + 'a;

/// Bits per limb of the exact integer path.
const LIMB: u32 = 16;

/// Computes and writes the result of `signal` with `kernel` (`None`: a named kernel) in its
/// dtype; `real` runs one real convolution.
pub fn run(
    args: &ConvolveArgs,
    signal: &Input,
    kernel: Option<&Input>,
    names: &(String, String),
    real: &RealRun,
) -> Result<()> {
    let ndimage = args.ndimage_mode.is_some();
    let scipy = args.semantics == Semantics::Scipy;
    let nd = signal.shape().len() >= 2 || kernel.is_some_and(|k| k.shape().len() >= 2);
    let kernel_dtype = kernel.map_or(Dtype::FLOAT64, |k| k.dtype);
    let fill = args.fill.unwrap_or_default();
    let any_complex = signal.dtype.is_complex() || kernel_dtype.is_complex();
    if any_complex && args.magnitude_with.is_some() {
        return Err(Error::Usage(
            "--magnitude-with takes real operands (the magnitude of complex responses is not a sum of parts)".into(),
        ));
    }
    if fill.is_complex() && !any_complex {
        return Err(Error::input(
            "--fill",
            if ndimage {
                "cannot provide a complex-valued cval when the input is real (scipy's words)"
            } else {
                "could not cast `fillvalue` directly to the output type (scipy's words): the inputs are real"
            },
        ));
    }
    // numpy's result type; scipy.ndimage keeps the input's (complex when the weights are).
    let natural = if ndimage {
        if kernel_dtype.is_complex() {
            signal.dtype.complexified()
        } else {
            signal.dtype
        }
    } else if args.magnitude_with.is_some() {
        signal.dtype.promote(kernel_dtype).promote(Dtype::FLOAT64)
    } else {
        signal.dtype.promote(kernel_dtype)
    };
    let out = args.dtype.unwrap_or(natural);
    if let Some(k) = kernel {
        // scipy.signal does not broadcast a 0-d operand against a 1-D one (numpy makes both 1-D).
        if scipy && signal.zero_d != k.zero_d {
            return Err(Error::input(
                format!("{} and {}", names.0, names.1),
                format!(
                    "shapes {} and {}: in1 and in2 should have the same dimensionality (scipy's words)",
                    shape_tuple(&signal.shape()),
                    shape_tuple(&k.shape())
                ),
            ));
        }
    }
    if signal.is_empty() || kernel.is_some_and(Input::is_empty) {
        // scipy.ndimage gives an empty array shaped like the input; scipy.signal's FFT
        // convolutions an empty 1-D array; numpy (and scipy's direct sums) refuse.
        let shape = if ndimage {
            Some(signal.shape())
        } else if args.method == convoy::conv::Method::Fft && (scipy || nd) {
            Some(vec![0])
        } else {
            None
        };
        let Some(shape) = shape else {
            let (name, role) = if signal.is_empty() {
                (&names.0, "signal")
            } else {
                (&names.1, "kernel")
            };
            return Err(Error::input(
                name,
                format!("the {role} is empty ({})", convoy::error::numpy_empty(role)),
            ));
        };
        let typed = Typed {
            shape,
            dtype: out,
            re: Vec::new(),
            im: out.is_complex().then(Vec::new),
            ints: out.is_integer().then(Vec::new),
        };
        return convoy::io::planes::write_typed(args.output.as_deref(), &typed);
    }
    // scipy.signal keeps two 0-d operands 0-d (numpy makes them 1-D).
    let zero_d = scipy && signal.zero_d && kernel.is_some_and(|k| k.zero_d);
    if any_complex && !out.is_complex() {
        return Err(Error::input(
            "--dtype",
            format!(
                "{out} would drop the imaginary part of a complex result; say complex64 or complex128"
            ),
        ));
    }
    // scipy.signal.convolve(..., method='fft') warns rather than refuses: NaN or infinity
    // spreads through a transform to every output sample (direct sums keep it local).
    let non_finite = |i: &Input| {
        i.c_order()
            .iter()
            .chain(i.imag.iter().flatten())
            .any(|v| !v.is_finite())
    };
    if args.method == convoy::conv::Method::Fft
        && (non_finite(signal) || kernel.is_some_and(non_finite))
    {
        eprintln!(
            "convoy: warning: Use of fft convolution on input with NAN or inf results in NAN or inf output (scipy's words)"
        );
    }
    let with_fill = |re: f64| {
        let mut a = args.clone();
        if args.fill.is_some() {
            a.fill = Some(Scalar { re, im: 0.0 });
        }
        a
    };

    let (computed, im, ints) = if any_complex {
        let (c, im) = complex(args, signal, kernel, fill, &with_fill, real)?;
        (c, Some(im), None)
    } else if out.is_integer() && !ndimage && needs_exact(signal, kernel) {
        let (c, ints) = exact(args, signal, kernel, fill, real)?;
        (c, None, Some(ints))
    } else {
        (
            real(
                args,
                signal.loaded.clone(),
                kernel.map(|k| k.loaded.clone()),
            )?,
            None,
            None,
        )
    };

    if out == Dtype::FLOAT64 && !zero_d {
        return write_real(args, computed);
    }
    let (shape, mut re) = shape_and_values(&computed);
    let shape = if zero_d { Vec::new() } else { shape };
    let ints = match (out.is_integer(), ints) {
        (true, Some(v)) => Some(v.into_iter().map(|v| dtype::wrap(v, out)).collect()),
        (true, None) => Some(
            re.iter()
                .map(|&v| dtype::to_integer(v, out, ndimage))
                .collect::<Vec<i64>>(),
        ),
        (false, _) => None,
    };
    if let Some(ints) = &ints {
        re = ints.iter().map(|&v| dtype::integer_value(v, out)).collect();
    } else if out.real_part() == Dtype::Float(32) {
        let round = |v: &mut f64| *v = f64::from(*v as f32);
        re.iter_mut().for_each(round);
    }
    let im = match (out.is_complex(), im) {
        (true, Some(mut v)) => {
            if out == Dtype::Complex(64) {
                v.iter_mut().for_each(|x| *x = f64::from(*x as f32));
            }
            Some(v)
        }
        (true, None) => Some(vec![0.0; re.len()]),
        (false, _) => None,
    };
    let typed = Typed {
        shape,
        dtype: out,
        re,
        im,
        ints,
    };
    let ext = args
        .output
        .as_deref()
        .map(convoy::io::extension)
        .unwrap_or_default();
    if matches!(ext.as_str(), "wav" | "png" | "jpg" | "jpeg") {
        if out.is_complex() {
            return Err(Error::input(
                args.output
                    .as_deref()
                    .map_or_else(String::new, |p| p.display().to_string()),
                format!("a {out} result goes to .npy or text (.txt/.csv), not .{ext}"),
            ));
        }
        return write_real(args, with_values(computed, &typed.re));
    }
    convoy::io::planes::write_typed(args.output.as_deref(), &typed)
}

/// A complex result from real runs: (computed real part, imaginary part in C order).
fn complex(
    args: &ConvolveArgs,
    signal: &Input,
    kernel: Option<&Input>,
    fill: Scalar,
    with_fill: &dyn Fn(f64) -> ConvolveArgs,
    real: &RealRun,
) -> Result<(Computed, Vec<f64>)> {
    let (args_re, args_im) = (with_fill(fill.re), with_fill(fill.im));
    let s_re = signal.loaded.clone();
    // A real signal under a complex fill has an imaginary part outside it only.
    let s_im = match &signal.imag {
        Some(v) => Some(signal.part(v.clone())),
        None if fill.is_complex() => Some(signal.part(vec![0.0; signal.c_order().len()])),
        None => None,
    };
    let k_re = kernel.map(|k| k.loaded.clone());
    let k_im = kernel.and_then(|k| {
        k.imag.as_ref().map(|v| {
            // Correlation conjugates the kernel.
            let sign = if args.correlate { -1.0 } else { 1.0 };
            k.part(v.iter().map(|x| sign * x).collect())
        })
    });
    let base = real(&args_re, s_re.clone(), k_re.clone())?;
    let (_, mut re) = shape_and_values(&base);
    let mut im = vec![0.0; re.len()];
    let add = |acc: &mut [f64], c: &Computed, sign: f64| {
        for (a, v) in acc.iter_mut().zip(shape_and_values(c).1) {
            *a += sign * v;
        }
    };
    if let Some(ki) = &k_im {
        add(&mut im, &real(&args_re, s_re, Some(ki.clone()))?, 1.0);
    }
    if let Some(si) = &s_im {
        add(&mut im, &real(&args_im, si.clone(), k_re)?, 1.0);
        if let Some(ki) = &k_im {
            add(
                &mut re,
                &real(&args_im, si.clone(), Some(ki.clone()))?,
                -1.0,
            );
        }
    }
    Ok((with_values(base, &re), im))
}

/// Whether an integer result may hold sums f64 cannot: max|a| * max|b| * min(size) at or
/// above 2^52 (scipy's bound).
fn needs_exact(signal: &Input, kernel: Option<&Input>) -> bool {
    let Some(kernel) = kernel else {
        return false;
    };
    let (a, b) = (signal.c_order(), kernel.c_order());
    let peak = |v: &[f64]| v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    peak(&a) * peak(&b) * a.len().min(b.len()) as f64 > EXACT_LIMIT
}

/// The 16-bit limbs of an integer: three unsigned, the top one signed (`v >> 48`).
fn limb(v: i64, k: u32) -> f64 {
    if k == 3 {
        (v >> (3 * LIMB)) as f64
    } else {
        ((v >> (k * LIMB)) & 0xFFFF) as f64
    }
}

/// An integer result exact in 64-bit wrap-around arithmetic, from limb products summed
/// directly (see the module doc).
fn exact(
    args: &ConvolveArgs,
    signal: &Input,
    kernel: Option<&Input>,
    fill: Scalar,
    real: &RealRun,
) -> Result<(Computed, Vec<i64>)> {
    let kernel = kernel.ok_or_else(|| Error::Internal("exact path without a kernel".into()))?;
    let ints = |i: &Input| {
        i.exact.clone().unwrap_or_else(|| {
            i.c_order()
                .iter()
                .map(|&v| dtype::to_integer(v, Dtype::Int(64), false))
                .collect()
        })
    };
    let (s, k) = (ints(signal), ints(kernel));
    let fill = dtype::to_integer(fill.re, Dtype::Int(64), false);
    let mut direct = args.clone();
    direct.method = convoy::conv::Method::Direct;
    let mut acc: Vec<i64> = Vec::new();
    let mut first: Option<Computed> = None;
    for j in 0..4 {
        let sj: Vec<f64> = s.iter().map(|&v| limb(v, j)).collect();
        if sj.iter().all(|&v| v == 0.0) && limb(fill, j) == 0.0 && first.is_some() {
            continue;
        }
        let mut a = direct.clone();
        if args.fill.is_some() {
            a.fill = Some(Scalar {
                re: limb(fill, j),
                im: 0.0,
            });
        }
        for m in 0..4 - j {
            let km: Vec<f64> = k.iter().map(|&v| limb(v, m)).collect();
            if km.iter().all(|&v| v == 0.0) && first.is_some() {
                continue;
            }
            let c = real(&a, signal.part(sj.clone()), Some(kernel.part(km)))?;
            let (_, y) = shape_and_values(&c);
            if acc.is_empty() {
                acc = vec![0; y.len()];
            }
            let shift = (j + m) * LIMB;
            for (t, v) in acc.iter_mut().zip(y) {
                *t = t.wrapping_add((v.round() as i64).wrapping_shl(shift));
            }
            first.get_or_insert(c);
        }
    }
    let computed = first.ok_or_else(|| Error::Internal("no limb computed".into()))?;
    Ok((computed, acc))
}

/// A computed result's shape and values in C order.
fn shape_and_values(c: &Computed) -> (Vec<usize>, Vec<f64>) {
    match c {
        Computed::Columns { array, .. } => (array.shape(), array.row_major()),
        Computed::Planes(planes) => {
            let shape = planes.first().map(|p| p.shape.clone()).unwrap_or_default();
            (shape, planes.iter().flat_map(|p| p.data.clone()).collect())
        }
    }
}

/// The computed result with its values replaced (C order).
fn with_values(c: Computed, values: &[f64]) -> Computed {
    match c {
        Computed::Columns {
            mut array,
            rate,
            destination,
        } => {
            let width = array.width().max(1);
            for (r, row) in values.chunks(width).enumerate() {
                for (col, &v) in array.columns.iter_mut().zip(row) {
                    col[r] = v;
                }
            }
            Computed::Columns {
                array,
                rate,
                destination,
            }
        }
        Computed::Planes(mut planes) => {
            let n = planes.first().map_or(0, |p| p.data.len()).max(1);
            for (p, chunk) in planes.iter_mut().zip(values.chunks(n)) {
                p.data.copy_from_slice(chunk);
            }
            Computed::Planes(planes)
        }
    }
}

/// Writes a float64 real result as the command always has (WAV, images, text, .npy).
fn write_real(args: &ConvolveArgs, c: Computed) -> Result<()> {
    match c {
        Computed::Columns {
            array,
            rate,
            destination,
        } => destination.write(&array, rate),
        Computed::Planes(planes) => {
            convoy::io::planes::write_planes(args.output.as_deref(), &planes, args.normalize)
        }
    }
}
