//! A command-line operand loaded as what it is: a 1-D array or a WAV for the column-by-column
//! path, or N-d planes (a .npy of 2+ dimensions, a 2-D text file, an inline `a b; c d` grid,
//! a PNG/JPEG).
//!
//! Setup code; any thread.

use std::io::Read;

use super::Operand;
use super::planes::{self, Planes};
use crate::array::Array;
use crate::conv::nd::Nd;
use crate::error::{Error, Result};

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
                    crate::io::npy::read_npy_nd(&name, std::io::BufReader::new(file), size)?;
                if values.is_empty() {
                    return Err(Error::input(
                        &name,
                        format!("the {role} is empty ({})", crate::error::numpy_empty(role)),
                    ));
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
                    crate::io::text::parse_inline(role, r)
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

/// The operand as N-d planes (a 1-D or 2-D array becomes one plane).
pub fn as_planes(l: Loaded) -> Planes {
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
