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
use convoy::io::planes::{self, Planes};

/// Runs the N-d path with the operands already loaded.
pub fn run(
    args: &ConvolveArgs,
    signal: Loaded,
    kernel_arg: KernelArg,
    names: (String, String),
) -> Result<()> {
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
                KernelArg::Loaded(load(&Operand::classify(text, "kernel")?, "kernel")?)
            };
            Some(load_kernel(arg, &format!("--magnitude-with {text}"))?)
        }
        None => None,
    };
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
    let fill = args.fill.unwrap_or(0.0);
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
                    let v: Vec<i64> = text
                        .split(',')
                        .map(|t| t.trim().parse::<i64>())
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|_| {
                            Error::input("--origin", format!("'{text}' is not a list of integers"))
                        })?;
                    if v.len() == 1 { vec![v[0]; ndim] } else { v }
                }
            };
            Some((pad, origin))
        }
    };
    // scipy.signal.convolve(..., method='fft') warns rather than refuses over NaN or inf.
    let non_finite = |p: &Planes| {
        p.planes
            .iter()
            .any(|n| n.data.iter().any(|v| !v.is_finite()))
    };
    if args.method == convoy::conv::Method::Fft && (non_finite(&x) || non_finite(&k)) {
        eprintln!(
            "convoy: warning: use of fft convolution on input with NAN or inf results in NAN or inf output"
        );
    }
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
        let mut y = recipe.apply(plane, &k.planes[0]).map_err(wrap_err)?;
        if let Some(k2) = &k2 {
            let y2 = recipe.apply(plane, &k2.planes[0]).map_err(wrap_err)?;
            for (a, b) in y.data.iter_mut().zip(&y2.data) {
                *a = a.hypot(*b);
            }
        }
        out.push(y);
    }
    let as_int = x.integer
        && k.integer
        && k2.is_none()
        && out.iter().all(|p| p.data.iter().all(|v| v.fract() == 0.0));
    planes::write_planes(args.output.as_deref(), &out, as_int, args.normalize)
}

/// The kernel operand before loading: a name, or something loaded.
pub enum KernelArg {
    Named(String),
    Loaded(Loaded),
}
