//! A command-line operand loaded as what it is: a 1-D array or a WAV for the column-by-column
//! path, or N-d planes (a .npy of 2+ dimensions, a 2-D text file, an inline `a b; c d` grid,
//! a PNG/JPEG).
//!
//! Setup code; any thread.

use std::io::Read;

use super::Operand;
use super::planes::{self, Planes};
use crate::array::Array;
use crate::array::dtype::Dtype;
use crate::conv::nd::Nd;
use crate::error::{Error, Result};
use crate::io::text;

/// An operand as loaded: 1-D/WAV data for the classic path, or N-d planes.
#[derive(Clone)]
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
                Some(Array::from_rows(&nd.data, nd.shape[0], nd.shape[1]))
            }
            Loaded::Planes(_) => None,
        }
    }
}

/// An operand with its element type: the real values as [`Loaded`], and what f64 alone
/// cannot carry (imaginary parts, integers beyond 2^53).
#[derive(Clone)]
pub struct Input {
    pub loaded: Loaded,
    pub dtype: Dtype,
    /// Imaginary parts in C order (complex operands).
    pub imag: Option<Vec<f64>>,
    /// Exact values in C order (integer operands; uint64 as its bits).
    pub exact: Option<Vec<i64>>,
    /// A 0-d .npy (a scalar; read as one value).
    pub zero_d: bool,
}

impl Input {
    /// A float64 operand (text, audio, images: .npy operands carry their own dtype).
    fn real(loaded: Loaded) -> Input {
        Input {
            loaded,
            dtype: Dtype::FLOAT64,
            imag: None,
            exact: None,
            zero_d: false,
        }
    }

    /// No value at all (a .npy with a zero in its shape).
    pub fn is_empty(&self) -> bool {
        match &self.loaded {
            Loaded::Array(a) => a.is_empty() || a.width() == 0,
            Loaded::Planes(p) => p.planes.iter().all(|n| n.data.is_empty()),
        }
    }

    /// The shape as numpy gives it.
    pub fn shape(&self) -> Vec<usize> {
        if self.zero_d {
            return Vec::new();
        }
        match &self.loaded {
            Loaded::Array(a) => a.shape(),
            Loaded::Planes(p) => p
                .planes
                .first()
                .map(|n| n.shape.clone())
                .unwrap_or_default(),
        }
    }

    /// The real values in C order (row by row for a 2-D array).
    pub fn c_order(&self) -> Vec<f64> {
        match &self.loaded {
            Loaded::Array(a) => a.row_major(),
            Loaded::Planes(p) => p.planes.iter().flat_map(|n| n.data.clone()).collect(),
        }
    }

    /// An operand shaped like this one holding `values` (C order): one part of a complex
    /// operand, or one limb of an integer one.
    pub fn part(&self, values: Vec<f64>) -> Loaded {
        match &self.loaded {
            Loaded::Array(a) => {
                let mut b = if a.two_d {
                    Array::from_rows(&values, a.rows(), a.width())
                } else {
                    Array::from_vec(values)
                };
                b.sample_rate = a.sample_rate;
                Loaded::Array(b)
            }
            Loaded::Planes(p) => {
                let mut q = p.clone();
                let n = q.planes.first().map_or(0, Nd::len);
                for (plane, chunk) in q.planes.iter_mut().zip(values.chunks(n.max(1))) {
                    plane.data = chunk.to_vec();
                }
                Loaded::Planes(q)
            }
        }
    }
}

/// Loads an operand, recognizing images and .npy by their first bytes, and complex numbers in
/// text (`1+2j`) when the text does not read as real numbers.
pub fn load(op: &Operand, role: &str) -> Result<Input> {
    match op {
        Operand::File(path) => {
            let mut head = [0u8; 8];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|e| Error::read(path, &e))?;
            if planes::is_image(&head[..n]) {
                return Ok(Input::real(Loaded::Planes(planes::read_image(path)?)));
            }
            if head[..n].starts_with(b"\x93NUMPY") {
                return load_npy(path);
            }
            match op.load(role) {
                Ok(a) => Ok(Input::real(Loaded::Array(a))),
                Err(e) if e.to_string().contains("is not a number") => {
                    let Ok(text) = std::fs::read_to_string(path) else {
                        return Err(e);
                    };
                    let name = path.display().to_string();
                    complex_text(&text, role, &|t| text::parse_text(&name, t))?.ok_or(e)
                }
                Err(e) => Err(e),
            }
        }
        Operand::Stdin => {
            let name = format!("{role} (stdin)");
            let buf = super::read_text(&name, std::io::stdin(), super::MAX_TEXT_BYTES)?;
            match text::parse_text(&name, &buf) {
                Ok(a) => Ok(Input::real(Loaded::Array(nonempty(a, op, role)?))),
                Err(e) => complex_text(&buf, role, &|t| text::parse_text(&name, t))?.ok_or(e),
            }
        }
        Operand::Inline(t) => match load_inline(op, t, role) {
            Ok(l) => Ok(Input::real(l)),
            Err(e) => {
                let rows = t.replace(';', "\n");
                let parse = |part: &str| {
                    let inline = if t.contains(';') {
                        part.trim_end().replace('\n', ";")
                    } else {
                        part.replace('\n', " ")
                    };
                    load_inline(op, &inline, role)
                };
                match text::split_complex(&rows) {
                    Some((re, im)) => Ok(complex(parse(&re)?, &parse(&im)?)),
                    None => Err(e),
                }
            }
        },
    }
}

fn nonempty(a: Array, op: &Operand, role: &str) -> Result<Array> {
    if a.is_empty() {
        return Err(Error::input(
            op.display(),
            format!("the {role} is empty ({})", crate::error::numpy_empty(role)),
        ));
    }
    Ok(a)
}

/// A complex operand from its two parts.
fn complex(re: Loaded, im: &Loaded) -> Input {
    let mut input = Input::real(re);
    let imag = Input::real(im.clone()).c_order();
    input.dtype = Dtype::COMPLEX128;
    input.imag = Some(imag);
    input
}

/// Text with complex values, parsed part by part; `None` when it has none.
fn complex_text(
    text: &str,
    role: &str,
    parse: &dyn Fn(&str) -> Result<Array>,
) -> Result<Option<Input>> {
    let Some((re, im)) = text::split_complex(text) else {
        return Ok(None);
    };
    let (re, im) = (parse(&re)?, parse(&im)?);
    if re.is_empty() {
        return Err(Error::Usage(format!("the {role} is empty")));
    }
    Ok(Some(complex(Loaded::Array(re), &Loaded::Array(im))))
}

/// A `.npy` operand of any dimensionality and dtype.
fn load_npy(path: &std::path::Path) -> Result<Input> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, &e))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let data = crate::io::npy::read_npy_nd(&name, std::io::BufReader::new(file), size)?;
    // An empty array is loaded as it is: scipy answers some empty inputs with an empty
    // result, numpy refuses them; the command decides (Input::is_empty).
    let zero_d = data.shape.is_empty();
    let loaded = if data.shape.len() >= 2 {
        Loaded::Planes(Planes::one(Nd::new(data.shape, data.values)))
    } else {
        Loaded::Array(Array::from_vec(data.values))
    };
    Ok(Input {
        loaded,
        dtype: data.dtype,
        imag: data.imag,
        exact: data.exact,
        zero_d,
    })
}

/// An inline operand: a list, or rows separated by `;` (a 2-D grid).
fn load_inline(op: &Operand, text: &str, role: &str) -> Result<Loaded> {
    if !text.contains(';') {
        return op_inline(text).load(role).map(Loaded::Array);
    }
    let rows: Vec<Vec<f64>> = text
        .split(';')
        .map(|r| {
            text::parse_inline(role, r)
                .map(|a| a.columns.into_iter().flatten().collect::<Vec<f64>>())
        })
        .collect::<Result<_>>()?;
    let width = rows[0].len();
    if rows.iter().any(|r| r.len() != width) {
        return Err(Error::input(
            op.display(),
            "rows separated by ';' must all have the same number of values",
        ));
    }
    Ok(Loaded::Planes(Planes::one(Nd::new(
        vec![rows.len(), width],
        rows.into_iter().flatten().collect(),
    ))))
}

fn op_inline(text: &str) -> Operand {
    Operand::Inline(text.to_string())
}

/// The operand as N-d planes (a 1-D or 2-D array becomes one plane).
pub fn as_planes(l: Loaded) -> Planes {
    match l {
        Loaded::Planes(p) => p,
        Loaded::Array(a) => Planes::one(planes::from_array(&a)),
    }
}
