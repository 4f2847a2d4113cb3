//! `convoy convolve` on 2-D and 3-D arrays and images, with scipy's semantics: signal.convolve
//! / correlate (modes), convolve2d (boundaries), ndimage.convolve / correlate (modes, origin).
//!
//! Which inputs take this path: a .npy of 2 or more dimensions, a text/CSV file of several rows
//! of several values, an inline kernel with `;` between rows, a PNG/JPEG, a named kernel
//! (box:N, gauss:S, sobel-x, ...), or any of the N-d options. A multichannel WAV stays audio
//! (channel by channel), and `--axis 0` keeps the column-by-column filtering of 2-D arrays.

use std::io::Read;
use std::path::Path;

use crate::cli::{ConvolveArgs, NdimageMode};
use convoy::array::Array;
use convoy::conv::nd::{self, Nd, NdMode, Pad};
use convoy::conv::{Boundary, Mode, named};
use convoy::error::{Error, Result};
use convoy::io::Operand;
use convoy::io::planes::{self, Planes};

/// An operand as loaded: 1-D/WAV data for the classic path, or N-d planes.
pub enum Loaded {
    Array(Array),
    Planes(Planes),
}

impl Loaded {
    /// N-d unless it is 1-D or audio.
    pub fn is_nd(&self) -> bool {
        match self {
            Loaded::Planes(_) => true,
            Loaded::Array(a) => a.two_d && a.sample_rate.is_none(),
        }
    }
}

impl Loaded {
    /// As a 1-D or (rows, columns) array for column-by-column filtering; `None` for images
    /// and 3-D arrays.
    pub fn into_array(self) -> Option<Array> {
        match self {
            Loaded::Array(a) => Some(a),
            Loaded::Planes(p) if !p.image && p.planes.len() == 1 && p.ndim() == 2 => {
                let nd = &p.planes[0];
                let mut a = Array::from_rows(&nd.data, nd.shape[0], nd.shape[1]);
                a.integer_dtype = p.integer;
                Some(a)
            }
            Loaded::Planes(_) => None,
        }
    }
}

/// Loads an operand, recognizing images and N-d .npy by their first bytes.
pub fn load(op: &Operand, role: &str) -> Result<Loaded> {
    match op {
        Operand::File(path) => {
            let mut head = [0u8; 8];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|e| Error::read(path, &e))?;
            if planes::is_image(&head[..n]) {
                return Ok(Loaded::Planes(planes::read_image(path)?));
            }
            if head[..n].starts_with(b"\x93NUMPY") {
                let name = path.display().to_string();
                let file = std::fs::File::open(path).map_err(|e| Error::read(path, &e))?;
                let size = file
                    .metadata()
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                let (shape, values, integer) =
                    convoy::io::npy::read_npy_nd(&name, std::io::BufReader::new(file), size)?;
                if values.is_empty() {
                    return Err(Error::input(&name, format!("the {role} is empty")));
                }
                if shape.len() >= 2 {
                    let mut p = Planes::one(Nd::new(shape, values));
                    p.integer = integer;
                    return Ok(Loaded::Planes(p));
                }
            }
            op.load(role).map(Loaded::Array)
        }
        Operand::Inline(text) if text.contains(';') => {
            let rows: Vec<Vec<f64>> = text
                .split(';')
                .map(|r| {
                    convoy::io::text::parse_inline(role, r)
                        .map(|a| a.columns.into_iter().flatten().collect::<Vec<f64>>())
                })
                .collect::<Result<_>>()?;
            let width = rows[0].len();
            if rows.iter().any(|r| r.len() != width) {
                return Err(Error::input(
                    format!("\"{text}\""),
                    "rows separated by ';' must all have the same number of values",
                ));
            }
            Ok(Loaded::Planes(Planes::one(Nd::new(
                vec![rows.len(), width],
                rows.into_iter().flatten().collect(),
            ))))
        }
        _ => op.load(role).map(Loaded::Array),
    }
}

fn as_planes(l: Loaded) -> Planes {
    match l {
        Loaded::Planes(p) => p,
        Loaded::Array(a) => {
            let integer = a.integer_dtype;
            let mut p = Planes::one(planes::from_array(&a));
            p.integer = integer;
            p
        }
    }
}

/// What one plane goes through.
struct Recipe {
    mode: NdMode,
    correlate: bool,
    boundary: Option<Pad>,
    ndimage: Option<(Pad, Vec<i64>)>,
}

impl Recipe {
    fn apply(&self, x: &Nd, k: &Nd) -> Result<Nd> {
        if let Some((pad, origin)) = &self.ndimage {
            return if self.correlate {
                nd::ndimage_correlate(x, k, *pad, origin)
            } else {
                nd::ndimage_convolve(x, k, *pad, origin)
            };
        }
        match (self.boundary, self.correlate) {
            (None, false) => nd::convolve(x, k, self.mode),
            (None, true) => nd::correlate(x, k, self.mode),
            // With a boundary, correlation is convolve2d with the kernel flipped on both axes.
            (Some(b), false) => nd::convolve2d(x, k, self.mode, b),
            (Some(b), true) => nd::convolve2d(x, &k.flipped(), self.mode, b),
        }
    }
}

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
                    "the signal is {ndim}-D ({}) but the kernel is {kk}-D: their dimensions must match (to filter each column of a 2-D array with a 1-D kernel, say --axis 0)",
                    x.shape_text()
                ),
            ));
        }
    }
    let mode = match args.mode.unwrap_or_default() {
        Mode::Full => NdMode::Full,
        Mode::Same => NdMode::Same,
        Mode::Valid => NdMode::Valid,
    };
    let fill = args.fill.unwrap_or(0.0);
    if !fill.is_finite() {
        return Err(Error::input("--fill", "must be a finite number"));
    }
    let boundary = match args.boundary {
        Boundary::Zero if fill == 0.0 => None,
        Boundary::Zero => Some(Pad::Constant(fill)),
        Boundary::Symmetric => Some(Pad::Symmetric),
        Boundary::Wrap => Some(Pad::Wrap),
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
                NdimageMode::Reflect => Pad::Symmetric,
                NdimageMode::Mirror => Pad::Mirror,
                NdimageMode::Nearest => Pad::Nearest,
                NdimageMode::Wrap => Pad::Wrap,
                NdimageMode::Constant => Pad::Constant(fill),
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
    let recipe = Recipe {
        mode,
        correlate: args.correlate,
        boundary,
        ndimage,
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
