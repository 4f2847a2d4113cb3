//! `convoy convolve`: one-shot convolution/correlation of two arrays with numpy semantics.
//!
//! Main thread, offline. Order of work: classify and validate every argument (no I/O beyond
//! checking that paths exist), then read the inputs, then compute, then write atomically.
//!
//! 1-D inputs follow `np.convolve` / `np.correlate`. A 2-D input (a multichannel WAV, or a
//! (frames, channels) .npy/.txt) is filtered column by column along the first axis, like
//! `scipy.signal.oaconvolve(x, h, axes=0)`: a one-column side is broadcast against the other,
//! otherwise the column counts must match.

use std::path::Path;

use crate::cli::ConvolveArgs;
use convoy::array::Array;
use convoy::conv::{Boundary, Mode, Options};
use convoy::error::{Error, Result};
use convoy::io::{Destination, Operand};

/// Sample rate of a WAV output when no input was a WAV.
pub const DEFAULT_RATE: u32 = 48_000;

/// Runs `convoy convolve`.
pub fn run(args: &ConvolveArgs) -> Result<()> {
    use super::convolve_nd::{self as nd_cmd, KernelArg};
    use convoy::io::operand::{Loaded, load};
    if let Some(a) = args.axis.filter(|&a| a != 0) {
        return Err(Error::input(
            "--axis",
            format!("{a}: only 0 (filter each column along the first axis) is supported"),
        ));
    }
    let kernel_named =
        convoy::conv::named::is_named(&args.kernel) && !Path::new(&args.kernel).exists();
    let signal_src = Operand::classify(&args.signal, "signal")?;
    let kernel_src = if kernel_named {
        None
    } else {
        Some(Operand::classify(&args.kernel, "kernel")?)
    };
    if signal_src == Operand::Stdin && kernel_src == Some(Operand::Stdin) {
        return Err(Error::Usage(
            "only one of SIGNAL and KERNEL can be read from stdin (-)".into(),
        ));
    }
    let inputs: Vec<&Path> = [Some(&signal_src), kernel_src.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|op| match op {
            Operand::File(p) => Some(p.as_path()),
            _ => None,
        })
        .collect();
    let reads_stdin = signal_src == Operand::Stdin || kernel_src == Some(Operand::Stdin);
    let out_ext = args.output.as_deref().map(convoy::io::extension);
    let image_out = matches!(out_ext.as_deref(), Some("png" | "jpg" | "jpeg"));
    let nd_options = args.fill.is_some()
        || args.ndimage_mode.is_some()
        || args.origin.is_some()
        || args.magnitude_with.is_some()
        || args.normalize
        || image_out;
    // The output of an N-d result, checked once: before reading when the options already say
    // N-d, otherwise as soon as the inputs turn out to be N-d.
    let check_nd_output = || -> Result<()> {
        if let Some(out) = args.output.as_deref().filter(|p| p.as_os_str() != "-") {
            if !matches!(
                out_ext.as_deref(),
                Some("png" | "jpg" | "jpeg" | "npy" | "txt" | "csv")
            ) {
                return Err(Error::input(
                    out.display().to_string(),
                    "an N-d result goes to .npy, .txt/.csv (2-D) or .png/.jpg",
                ));
            }
            convoy::io::output::check(out, &inputs, reads_stdin)?;
        }
        Ok(())
    };
    if nd_options {
        check_nd_output()?;
    }
    let signal_loaded = load(&signal_src, "signal")?;
    let kernel_loaded = match &kernel_src {
        Some(op) => Some(load(op, "kernel")?),
        None => None,
    };
    let names = (
        signal_src.display(),
        kernel_src
            .as_ref()
            .map_or_else(|| args.kernel.clone(), Operand::display),
    );
    let any_nd = signal_loaded.is_nd() || kernel_loaded.as_ref().is_some_and(Loaded::is_nd);
    // A named 2-D kernel (sobel-x...) on a 1-D signal: the N-d path says what is wrong.
    let nd_name =
        kernel_named && convoy::conv::named::is_nd(&args.kernel) && !args.kernel.contains(':');
    if args.axis.is_none() && (any_nd || nd_options || nd_name) {
        if !nd_options {
            check_nd_output()?;
        }
        let k = match kernel_loaded {
            Some(l) => KernelArg::Loaded(l),
            None => KernelArg::Named(args.kernel.clone()),
        };
        return nd_cmd::run(args, signal_loaded, k, names);
    }
    let Some(signal) = signal_loaded.into_array() else {
        return Err(Error::Usage(
            "--axis 0 filters 1-D or 2-D arrays column by column; images and 3-D arrays do not fit it".into(),
        ));
    };
    // A named kernel for a 1-D signal: the stage word's kernel (ma:5, gauss:2, savgol:11,3...),
    // the same taps `convoy run` uses.
    let kernel = match kernel_loaded {
        Some(l) => l
            .into_array()
            .ok_or_else(|| Error::Usage("--axis 0 needs a 1-D or 2-D array kernel".into()))?,
        None => Array::from_vec(
            convoy::chain::kernel_from_word(args.kernel.trim(), signal.sample_rate)
                .map_err(|e| Error::input(format!("kernel '{}'", args.kernel), e.to_string()))?,
        ),
    };
    let kernel_name = names.1.clone();
    if args.boundary != Boundary::Zero {
        if let Some(mode) = args.mode.filter(|m| *m != Mode::Same) {
            return Err(Error::Usage(format!(
                "--boundary {} gives an output as long as the signal (like --mode same); it cannot be combined with --mode {mode}",
                args.boundary
            )));
        }
    }
    let destination = Destination::new(args.output.as_deref(), &inputs, reads_stdin)?;
    let sample_rate = match (signal.sample_rate, kernel.sample_rate) {
        (Some(s), Some(k)) if s != k => {
            return Err(Error::input(
                kernel_name.clone(),
                format!(
                    "kernel is {k} Hz but the signal {} is {s} Hz",
                    signal_src.display()
                ),
            ));
        }
        (s, k) => s.or(k).unwrap_or(DEFAULT_RATE),
    };
    // scipy.signal.convolve(..., method='fft') warns rather than refuses: NaN or infinity
    // spreads through a transform to every output sample (direct sums keep it local).
    let non_finite = |a: &Array| a.columns.iter().flatten().any(|v| !v.is_finite());
    if args.method == convoy::conv::Method::Fft && (non_finite(&signal) || non_finite(&kernel)) {
        eprintln!(
            "convoy: warning: use of fft convolution on input with NAN or inf results in NAN or inf output"
        );
    }
    let options = Options {
        mode: args.mode.unwrap_or_default(),
        correlate: args.correlate,
        method: args.method,
        boundary: args.boundary,
    };
    let result =
        convoy::array::convolve_columns(&signal, &kernel, &options).map_err(|e| match e {
            Error::Usage(msg) => {
                Error::input(format!("{} and {kernel_name}", signal_src.display()), msg)
            }
            other => other,
        })?;
    let as_int = signal.integer_dtype
        && kernel.integer_dtype
        && result.columns.iter().flatten().all(|v| v.fract() == 0.0);
    destination.write(&result, as_int, sample_rate)
}
