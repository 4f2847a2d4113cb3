//! `convoy convolve` on 2-D and 3-D arrays and images, with scipy's semantics: signal.convolve
//! / correlate (modes), convolve2d (boundaries), ndimage.convolve / correlate (modes, origin).
//!
//! Which inputs take this path: a .npy of 2 or more dimensions, a text/CSV file of several rows
//! of several values, an inline kernel with `;` between rows, a PNG/JPEG, a named kernel
//! (box:N, gauss:S, sobel-x, ...), or any of the N-d options. A multichannel WAV stays audio
//! (channel by channel), and `--axis 0` keeps the column-by-column filtering of 2-D arrays.

use std::path::Path;

use crate::cli::{ConvolveArgs, NdimageMode};
use convoy::conv::nd::{Extend, Recipe};
use convoy::conv::{Boundary, named};
use convoy::error::{Error, Result};
use convoy::io::Operand;
use convoy::io::operand::{Loaded, as_planes, load};
use convoy::io::planes::Planes;

use super::convolve::Computed;

/// Runs the N-d path with the operands already loaded.
pub fn run(
    args: &ConvolveArgs,
    signal: Loaded,
    kernel_arg: KernelArg,
    names: (String, String),
) -> Result<Computed> {
    if let Loaded::Array(a) = &signal {
        if a.sample_rate.is_some() {
            return Err(Error::input(
                &names.0,
                "a WAV is audio: it is filtered channel by channel with a 1-D kernel, not as a 2-D array",
            ));
        }
    }
    let x = as_planes(signal);
    let ndim = x.ndim();
    let load_kernel = |k: KernelArg, name: &str| -> Result<Planes> {
        let p = match k {
            KernelArg::Named(text) => Planes::one(named::kernel(&text, ndim)?),
            KernelArg::Loaded(l) => {
                if let Loaded::Array(a) = &l {
                    if a.sample_rate.is_some() && a.width() > 1 {
                        return Err(Error::input(
                            name,
                            "a multichannel WAV cannot be an N-d kernel",
                        ));
                    }
                }
                as_planes(l)
            }
        };
        if p.planes.len() != 1 {
            return Err(Error::input(
                name,
                "a colour image cannot be a kernel; use a grayscale one",
            ));
        }
        Ok(p)
    };
    let k = load_kernel(kernel_arg, &names.1)?;
    let k2 = match &args.magnitude_with {
        Some(text) => {
            let arg = if named::is_named(text) && !Path::new(text).exists() {
                KernelArg::Named(text.clone())
            } else {
                let k = load(&Operand::classify(text, "kernel")?, "kernel")?;
                if k.is_empty() || k.dtype.is_complex() {
                    return Err(Error::input(
                        format!("--magnitude-with {text}"),
                        "must be a non-empty real kernel",
                    ));
                }
                KernelArg::Loaded(k.loaded)
            };
            Some(load_kernel(arg, &format!("--magnitude-with {text}"))?)
        }
        None => None,
    };
    // --axes: which axes are convolved (ascending), and for ndimage the kernel laid along them.
    let mut given_axes: Option<Vec<usize>> = None;
    let axes = match &args.axes {
        None => None,
        Some(text) => {
            let list = int_list("--axes", text)?;
            let sorted = convoy::conv::nd::normalize_axes(&list, ndim)?;
            // The order given (ndimage maps --origin values to it).
            given_axes = Some(
                list.iter()
                    .map(|&a| if a < 0 { a + ndim as i64 } else { a } as usize)
                    .collect(),
            );
            Some(sorted)
        }
    };
    let mut k = k;
    if let (Some(axes), Some(_)) = (&axes, args.ndimage_mode) {
        // ndimage: the weights have one dimension per listed axis; the others get length 1.
        let kd = k.ndim();
        if kd != axes.len() {
            return Err(Error::input(
                &names.1,
                format!(
                    "the kernel is {kd}-D but --axes lists {} axes (scipy: weights.ndim ({kd}) must match len(axes) ({}))",
                    axes.len(),
                    axes.len()
                ),
            ));
        }
        // (All axes listed: the kernel is used as it is, whatever their order, as ndimage.)
        if axes.len() < ndim {
            let mut shape = vec![1usize; ndim];
            for (&a, &s) in axes.iter().zip(&k.planes[0].shape) {
                shape[a] = s;
            }
            k.planes[0].shape = shape;
        }
    }
    for (kk, name) in [(Some(&k), &names.1)]
        .into_iter()
        .chain(k2.iter().map(|p| (Some(p), &names.1)))
    {
        let kk = kk.map_or(0, Planes::ndim);
        if kk != ndim {
            return Err(Error::input(
                format!("{} and {name}", names.0),
                format!(
                    "the signal is {ndim}-D ({}) but the kernel is {kk}-D: their dimensions must match (scipy: in1 and in2 should have the same dimensionality; ndimage: filter weights array has incorrect shape); to filter each column of a 2-D array with a 1-D kernel, say --axis 0",
                    x.shape_text()
                ),
            ));
        }
    }
    let mode = args.mode.unwrap_or_default();
    let fill = args.fill.map_or(0.0, |f| f.re);
    if !fill.is_finite() {
        return Err(Error::input("--fill", "must be a finite number"));
    }
    let boundary = match args.boundary {
        Boundary::Zero if fill == 0.0 => None,
        Boundary::Zero => Some(Extend::Constant(fill)),
        Boundary::Symmetric => Some(Extend::Symmetric),
        Boundary::Wrap => Some(Extend::Wrap),
        other => {
            return Err(Error::input(
                "--boundary",
                format!(
                    "{other} is not a convolve2d boundary (zero/fill, symmetric, wrap); for ndimage's modes say --ndimage-mode mirror|nearest|..."
                ),
            ));
        }
    };
    if boundary.is_some() && args.axes.is_some() && args.ndimage_mode.is_none() {
        return Err(Error::Usage(
            "--axes goes with scipy.signal's convolution (--mode) or --ndimage-mode; convolve2d's --boundary/--fill has no axes".into(),
        ));
    }
    if boundary.is_some() && ndim != 2 && args.ndimage_mode.is_none() {
        return Err(Error::input(
            "--boundary",
            format!(
                "is scipy.signal.convolve2d's and needs 2-D inputs, not {ndim}-D; use --ndimage-mode for 3-D"
            ),
        ));
    }
    let ndimage = match args.ndimage_mode {
        None => {
            if args.origin.is_some() {
                return Err(Error::Usage("--origin goes with --ndimage-mode".into()));
            }
            None
        }
        Some(m) => {
            if args.mode.is_some() || args.boundary != Boundary::Zero {
                return Err(Error::Usage(
                    "--ndimage-mode gives an output shaped like the signal; it cannot be combined with --mode or --boundary".into(),
                ));
            }
            let pad = match m {
                NdimageMode::Reflect => Extend::Symmetric,
                NdimageMode::Mirror => Extend::Reflect,
                NdimageMode::Nearest => Extend::Edge,
                NdimageMode::Wrap => Extend::Wrap,
                NdimageMode::Constant => Extend::Constant(fill),
            };
            let origin: Vec<i64> = match &args.origin {
                None => vec![0; ndim],
                Some(text) => {
                    // One integer applies to every axis; a list (any comma, as in Python's
                    // `(1,)`) has one value per axis, or per --axes axis in the order listed.
                    let v = int_list("--origin", text)?;
                    let listed = given_axes.clone().unwrap_or_else(|| (0..ndim).collect());
                    let scalar = !text.contains(',') && v.len() == 1;
                    if !scalar && v.len() != listed.len() {
                        return Err(Error::input(
                            "--origin",
                            format!(
                                "{} values for {} axes: sequence argument must have length equal to input rank (scipy's words)",
                                v.len(),
                                listed.len()
                            ),
                        ));
                    }
                    let mut o = vec![0; ndim];
                    for (i, &a) in listed.iter().enumerate() {
                        o[a] = if scalar { v[0] } else { v[i] };
                    }
                    o
                }
            };
            Some((pad, origin))
        }
    };
    let recipe = Recipe {
        mode,
        correlate: args.correlate,
        boundary,
        ndimage,
        method: args.method,
    };
    let wrap_err = |e: Error| match e {
        Error::Usage(msg) => Error::input(format!("{} and {}", names.0, names.1), msg),
        other => other,
    };
    let mut out = Vec::with_capacity(x.planes.len());
    for plane in &x.planes {
        let apply = |k: &convoy::conv::nd::Nd| match (&axes, args.ndimage_mode) {
            (Some(axes), None) => convoy::conv::nd::apply_over_axes(&recipe, plane, k, axes),
            _ => recipe.apply(plane, k),
        };
        let mut y = apply(&k.planes[0]).map_err(wrap_err)?;
        if let Some(k2) = &k2 {
            let y2 = apply(&k2.planes[0]).map_err(wrap_err)?;
            for (a, b) in y.data.iter_mut().zip(&y2.data) {
                *a = a.hypot(*b);
            }
        }
        out.push(y);
    }
    Ok(Computed::Planes(out))
}

/// A comma list of integers (`--axes`, `--origin`); empty items are skipped.
fn int_list(flag: &str, text: &str) -> Result<Vec<i64>> {
    text.split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().parse::<i64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::input(flag, format!("'{text}' is not a list of integers")))
}

/// The kernel operand before loading: a name, or something loaded.
pub enum KernelArg {
    Named(String),
    Loaded(Loaded),
}
