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

use super::convolve_typed as typed;
use crate::cli::{ConvolveArgs, Semantics};
use convoy::array::Array;
use convoy::conv::{Boundary, Mode, Options};
use convoy::error::{Error, Result};
use convoy::io::operand::Loaded;
use convoy::io::{Destination, Operand};

/// Sample rate of a WAV output when no input was a WAV.
pub const DEFAULT_RATE: u32 = 48_000;

/// Runs `convoy convolve`.
pub fn run(args: &ConvolveArgs) -> Result<()> {
    use convoy::io::operand::load;
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
        || args.axes.is_some()
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
    let signal = load(&signal_src, "signal")?;
    let kernel = match &kernel_src {
        Some(op) => Some(load(op, "kernel")?),
        None => None,
    };
    let names = (
        signal_src.display(),
        kernel_src
            .as_ref()
            .map_or_else(|| args.kernel.clone(), Operand::display),
    );
    let ctx = Context {
        inputs: &inputs,
        reads_stdin,
        image_out,
        nd_options,
        kernel_named,
        check_nd_output: &check_nd_output,
        names,
    };
    let real = |a: &ConvolveArgs, s: Loaded, k: Option<Loaded>| compute(a, s, k, &ctx);
    typed::run(args, &signal, kernel.as_ref(), &ctx.names, &real)
}

/// What `compute` needs from the command line's first checks.
pub struct Context<'a> {
    inputs: &'a [&'a Path],
    reads_stdin: bool,
    image_out: bool,
    nd_options: bool,
    kernel_named: bool,
    check_nd_output: &'a dyn Fn() -> Result<()>,
    names: (String, String),
}

/// A real result before it is written: columns (1-D or filtered column by column, with the
/// sample rate a WAV output gets) or N-d planes.
pub enum Computed {
    Columns {
        array: Array,
        rate: u32,
        destination: Destination,
    },
    Planes(Vec<convoy::conv::nd::Nd>),
}

/// One real convolution of the (real) operands as the command line asks for it.
fn compute(
    args: &ConvolveArgs,
    signal_loaded: Loaded,
    kernel_loaded: Option<Loaded>,
    ctx: &Context,
) -> Result<Computed> {
    use super::convolve_nd::{self as nd_cmd, KernelArg};
    let Context {
        inputs,
        reads_stdin,
        image_out,
        nd_options,
        kernel_named,
        check_nd_output,
        ..
    } = *ctx;
    let names = ctx.names.clone();
    let signal_src = &names.0;
    let any_nd = signal_loaded.is_nd() || kernel_loaded.as_ref().is_some_and(Loaded::is_nd);
    if args.semantics == Semantics::Convolve2d {
        // scipy.signal.convolve2d takes 2-D arrays and nothing else.
        let two_d = |l: &Loaded| match l {
            Loaded::Array(a) => a.two_d && a.sample_rate.is_none(),
            Loaded::Planes(p) => p.ndim() == 2,
        };
        let kernel_2d = kernel_loaded.as_ref().is_none_or(two_d);
        if !two_d(&signal_loaded) || !kernel_2d || args.axis.is_some() {
            return Err(Error::Usage(
                "--semantics convolve2d: convolve2d inputs must both be 2-D arrays (scipy's words)"
                    .into(),
            ));
        }
    }
    // A named 2-D kernel (sobel-x...) on a 1-D signal: the N-d path says what is wrong.
    let nd_name =
        kernel_named && convoy::conv::named::is_nd(&args.kernel) && !args.kernel.contains(':');
    // --axis 0 with ndimage's edges: scipy.ndimage.convolve1d(x, w, axis=0, mode=, origin=),
    // which is ndimage.convolve with the 1-D kernel laid along the first axis.
    if args.axis == Some(0) && (args.ndimage_mode.is_some() || args.origin.is_some()) {
        return convolve1d(args, signal_loaded, kernel_loaded, names);
    }
    if args.axis.is_some() {
        // What only the N-d path reads is refused rather than ignored.
        for (flag, given) in [
            ("--fill", args.fill.is_some()),
            ("--axes", args.axes.is_some()),
            ("--magnitude-with", args.magnitude_with.is_some()),
            ("--normalize", args.normalize),
            ("an image output", image_out),
        ] {
            if given {
                return Err(Error::Usage(format!(
                    "{flag} goes with 2-D/3-D convolution, not --axis 0 (which takes --mode, --boundary, --ndimage-mode and --origin)"
                )));
            }
        }
    }
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
    let destination = Destination::new(args.output.as_deref(), inputs, reads_stdin)?;
    let sample_rate = match (signal.sample_rate, kernel.sample_rate) {
        (Some(s), Some(k)) if s != k => {
            return Err(Error::input(
                kernel_name.clone(),
                format!("kernel is {k} Hz but the signal {signal_src} is {s} Hz",),
            ));
        }
        (s, k) => s.or(k).unwrap_or(DEFAULT_RATE),
    };
    let mode = args.mode.unwrap_or_default();
    // scipy.signal's 'same' is as long as the signal, centred on the full result (start
    // (M-1)//2); numpy's is as long as the longer input. They differ only for a longer kernel:
    // then take scipy's window out of the full result.
    let n = signal.columns.first().map_or(0, Vec::len);
    let m = kernel.columns.first().map_or(0, Vec::len);
    let scipy_same = args.semantics == Semantics::Scipy
        && mode == Mode::Same
        && args.boundary == Boundary::Zero
        && m > n;
    let options = Options {
        mode: if scipy_same { Mode::Full } else { mode },
        correlate: args.correlate,
        method: args.method,
        boundary: args.boundary,
    };
    let mut result =
        convoy::array::convolve_columns(&signal, &kernel, &options).map_err(|e| match e {
            Error::Usage(msg) => Error::input(format!("{signal_src} and {kernel_name}"), msg),
            other => other,
        })?;
    if scipy_same {
        let start = (m - 1) / 2;
        for c in &mut result.columns {
            c.drain(..start.min(c.len()));
            c.truncate(n);
        }
    }
    Ok(Computed::Columns {
        array: result,
        rate: sample_rate,
        destination,
    })
}

/// `--axis 0 --ndimage-mode M [--origin O]`: scipy.ndimage.convolve1d (correlate1d with
/// `--correlate`) along the first axis of a 1-D or 2-D array.
fn convolve1d(
    args: &ConvolveArgs,
    signal: Loaded,
    kernel: Option<Loaded>,
    names: (String, String),
) -> Result<Computed> {
    use super::convolve_nd::{self as nd_cmd, KernelArg};
    let two_d = match &signal {
        Loaded::Array(a) if a.sample_rate.is_some() => {
            return Err(Error::input(
                &names.0,
                "a WAV is audio: for ndimage-style edges on audio use convoy run with boundary= (reflect is np.pad's symmetric)",
            ));
        }
        Loaded::Array(a) => a.two_d,
        Loaded::Planes(_) => {
            return Err(Error::Usage(
                "--axis 0 filters 1-D or 2-D arrays column by column; images and 3-D arrays do not fit it".into(),
            ));
        }
    };
    let taps = match kernel {
        Some(Loaded::Array(k)) if !k.two_d && k.sample_rate.is_none() => {
            k.columns.into_iter().next().unwrap_or_default()
        }
        Some(_) => {
            return Err(Error::input(
                &names.1,
                "--axis 0 takes a 1-D kernel (scipy.ndimage.convolve1d's weights)",
            ));
        }
        None => convoy::chain::kernel_from_word(args.kernel.trim(), None)
            .map_err(|e| Error::input(format!("kernel '{}'", args.kernel), e.to_string()))?,
    };
    let m = taps.len();
    let shape = if two_d { vec![m, 1] } else { vec![m] };
    let planes = convoy::io::planes::Planes::one(convoy::conv::nd::Nd::new(shape, taps));
    // convolve1d's origin is one integer, along the axis.
    let mut args = args.clone();
    if let Some(text) = &args.origin {
        let o: i64 = text.trim().parse().map_err(|_| {
            Error::input(
                "--origin",
                format!("'{text}': with --axis 0 it is one integer (convolve1d's origin)"),
            )
        })?;
        args.origin = Some(if two_d {
            format!("{o},0")
        } else {
            o.to_string()
        });
    }
    if args.ndimage_mode.is_none() {
        return Err(Error::Usage("--origin goes with --ndimage-mode".into()));
    }
    nd_cmd::run(
        &args,
        signal,
        KernelArg::Loaded(Loaded::Planes(planes)),
        names,
    )
}
