//! `.npy` arrays: read float/int/bool arrays of 0, 1 or 2 dimensions (C or Fortran order); write
//! float64 or int64 arrays of the result's shape.
//!
//! Setup/offline code; any thread.

use std::io::{Read, Write};

use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};

use crate::array::Array;
use crate::error::{Error, Result};

/// Most values a `.npy` array may hold: 2^28 (2 GiB as f64).
pub const MAX_VALUES: u64 = 1 << 28;

/// Reads a `.npy` array of any dimensionality: its shape and its values in C order, and
/// whether the dtype was an integer one. `file_size`, when known, bounds what the header may
/// claim before anything is allocated.
///
/// # Errors
/// A malformed header, an unsupported dtype, a shape larger than the file or than
/// [`MAX_VALUES`], or data that ends early: one line naming the file.
pub fn read_npy_nd(
    name: &str,
    reader: impl Read,
    file_size: Option<u64>,
) -> Result<(Vec<usize>, Vec<f64>, bool)> {
    let (shape, values, integer, order) = read_raw(name, reader, file_size)?;
    if order == Order::C || shape.len() < 2 {
        return Ok((shape, values, integer));
    }
    // Fortran order: the first index varies fastest; rewrite in C order.
    let n = values.len();
    let fstrides: Vec<usize> = {
        let mut s = vec![1usize; shape.len()];
        for a in 1..shape.len() {
            s[a] = s[a - 1] * shape[a - 1];
        }
        s
    };
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let f: usize = idx.iter().zip(&fstrides).map(|(i, s)| i * s).sum();
        out.push(values[f]);
        crate::conv::nd::advance(&mut idx, &shape);
    }
    Ok((shape, out, integer))
}

type Raw = (Vec<usize>, Vec<f64>, bool, Order);

/// The header's `shape` tuple, read before npyz sees the file: npyz multiplies the dimensions
/// without checking (a wrapped product read past the data, or an abort), so a shape whose
/// product overflows never reaches it. `None` when the header cannot be read this way (npyz
/// then reports what is wrong with it).
fn header_shape(header: &str) -> Option<Vec<u64>> {
    let at = header.find("'shape'")?;
    let rest = &header[at + 7..];
    let open = rest.find('(')?;
    let close = rest[open..].find(')')? + open;
    rest[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.trim_end_matches(['L', 'l']).parse::<u64>().ok())
        .collect()
}

/// A shape as numpy prints it: `(5,)`, `(2, 3)`.
fn shape_text(dims: &[u64]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn read_raw(name: &str, mut reader: impl Read, file_size: Option<u64>) -> Result<Raw> {
    let bad = |msg: String| Error::input(name, msg);
    // Magic, version, header length, header: read here first so the shape can be checked.
    let mut head = [0u8; 10];
    reader
        .read_exact(&mut head)
        .map_err(|_| bad("not a readable .npy file (shorter than its header)".into()))?;
    if &head[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (no NUMPY magic)".into()));
    }
    let mut prefix = head.to_vec();
    let header_len = if head[6] == 1 {
        usize::from(u16::from_le_bytes([head[8], head[9]]))
    } else {
        let mut more = [0u8; 2];
        reader
            .read_exact(&mut more)
            .map_err(|_| bad("not a readable .npy file (shorter than its header)".into()))?;
        prefix.extend_from_slice(&more);
        u32::from_le_bytes([head[8], head[9], more[0], more[1]]) as usize
    };
    if header_len > 1 << 20 {
        return Err(bad(format!(
            "not a readable .npy file (a header of {header_len} bytes)"
        )));
    }
    let mut header = vec![0u8; header_len];
    reader
        .read_exact(&mut header)
        .map_err(|_| bad("not a readable .npy file (the header is cut short)".into()))?;
    if let Some(dims) = header_shape(&String::from_utf8_lossy(&header)) {
        if dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .is_none()
        {
            return Err(bad(format!(
                "shape {} is impossibly large",
                shape_text(&dims)
            )));
        }
    }
    prefix.extend_from_slice(&header);
    let reader = std::io::Cursor::new(prefix).chain(reader);
    let npy = NpyFile::new(reader).map_err(|e| {
        // npyz's header errors can draw a parser diagram over several lines: keep the first.
        let text = e.to_string();
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        bad(format!("not a readable .npy file (bad header: {first})"))
    })?;
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(bad("structured .npy arrays are not supported".into()));
    };
    let (type_char, size) = (type_str.type_char(), type_str.size_field());
    // The shape as the header claims it, checked before anything is allocated: its product
    // must not overflow, must fit in the file, and must be within the limit.
    let dims = npy.shape().to_vec();
    let shown = shape_text(&dims);
    let count = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shown} is impossibly large")))?;
    let bytes = count
        .checked_mul(size)
        .ok_or_else(|| bad(format!("shape {shown} is impossibly large")))?;
    if let Some(file) = file_size {
        if bytes > file {
            return Err(bad(format!(
                "the header claims shape {shown} ({bytes} bytes of data) but the file has {file} bytes"
            )));
        }
    }
    if count > MAX_VALUES {
        return Err(bad(format!(
            "shape {shown} has {count} values, over the limit of {MAX_VALUES}"
        )));
    }
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let order = npy.order();
    let read_err = |e: std::io::Error| {
        bad(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("the data ends before the {count} values of shape {shown}")
        } else {
            format!("cannot read the data ({})", crate::error::describe_io(&e))
        })
    };
    // Little-endian float64 (numpy's default) on a little-endian machine: one read straight
    // into the values, instead of a call per element.
    if type_char == TypeChar::Float
        && size == 8
        && type_str.endianness() != npyz::Endianness::Big
        && cfg!(target_endian = "little")
    {
        let n: usize = shape.iter().product();
        let mut values: Vec<f64> = crate::rt::big_zeroed(n);
        let mut r = npy.into_inner();
        r.read_exact(bytemuck::cast_slice_mut(&mut values))
            .map_err(read_err)?;
        return Ok((shape, values, false, order));
    }
    let (values, integer): (Vec<f64>, bool) = match (type_char, size) {
        (TypeChar::Float, 8) => (collect::<f64, _>(npy, |v| v).map_err(read_err)?, false),
        (TypeChar::Float, 4) => (collect::<f32, _>(npy, f64::from).map_err(read_err)?, false),
        (TypeChar::Int, 1) => (collect::<i8, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Int, 2) => (collect::<i16, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Int, 4) => (collect::<i32, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Int, 8) => (
            collect::<i64, _>(npy, |v| v as f64).map_err(read_err)?,
            true,
        ),
        (TypeChar::Uint, 1) => (collect::<u8, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Uint, 2) => (collect::<u16, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Uint, 4) => (collect::<u32, _>(npy, f64::from).map_err(read_err)?, true),
        (TypeChar::Uint, 8) => (
            collect::<u64, _>(npy, |v| v as f64).map_err(read_err)?,
            true,
        ),
        (TypeChar::Bool, 1) => (
            collect::<bool, _>(npy, |b| f64::from(u8::from(b))).map_err(read_err)?,
            true,
        ),
        _ => {
            return Err(bad(format!(
                "dtype '{type_str}' is not supported (use float32/float64 or an integer type)"
            )));
        }
    };
    Ok((shape, values, integer, order))
}

/// Reads a 0-, 1- or 2-D `.npy` array; `name` is used in error messages, `file_size` bounds
/// what the header may claim (see [`read_npy_nd`]).
///
/// # Errors
/// As [`read_npy_nd`], or 3 or more dimensions.
pub fn read_npy(name: &str, reader: impl Read, file_size: Option<u64>) -> Result<Array> {
    let bad = |msg: String| Error::input(name, msg);
    let (shape, values, integer, order) = read_raw(name, reader, file_size)?;
    let mut array = match shape.len() {
        0 | 1 => Array::from_vec(values),
        2 => {
            let (rows, width) = (shape[0], shape[1]);
            match order {
                Order::C => Array::from_rows(&values, rows, width),
                Order::Fortran => Array::from_columns(
                    values
                        .chunks(rows.max(1))
                        .take(width)
                        .map(<[f64]>::to_vec)
                        .collect(),
                ),
            }
        }
        d => {
            return Err(bad(format!(
                "{d}-D arrays are not supported here (1-D signals, or 2-D as (frames, channels))"
            )));
        }
    };
    array.integer_dtype = integer;
    Ok(array)
}

fn collect<T: npyz::Deserialize, R: Read>(
    npy: NpyFile<R>,
    to_f64: impl Fn(T) -> f64,
) -> std::io::Result<Vec<f64>> {
    let data = npy
        .data::<T>()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    data.map(|v| v.map(&to_f64)).collect()
}

/// Writes an N-d array (`shape`, C-order `values`) as `.npy`: int64 when `as_int`.
pub fn write_npy_nd(
    out: impl Write,
    shape: &[usize],
    values: &[f64],
    as_int: bool,
) -> std::io::Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    if as_int {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(out)
            .begin_nd()?;
        writer.extend(values.iter().map(|&v| v as i64))?;
        writer.finish()
    } else if cfg!(target_endian = "little") {
        // The version 1.0 header (magic, length, the dict padded to a multiple of 64 bytes),
        // then the data in one write.
        let mut out = out;
        let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
        let tuple = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {tuple}, }}");
        let total = 10 + dict.len() + 1;
        dict.push_str(&" ".repeat((64 - total % 64) % 64));
        dict.push('\n');
        let len = u16::try_from(dict.len())
            .map_err(|_| std::io::Error::other("shape too long for a .npy header"))?;
        out.write_all(b"\x93NUMPY\x01\x00")?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(dict.as_bytes())?;
        out.write_all(bytemuck::cast_slice(values))
    } else {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(out)
            .begin_nd()?;
        writer.extend(values.iter().copied())?;
        writer.finish()
    }
}

/// Writes `array` as a C-order `.npy`: int64 when `as_int` (every value must then be integral),
/// float64 otherwise.
pub fn write_npy(out: impl Write, array: &Array, as_int: bool) -> std::io::Result<()> {
    let rows = array.rows();
    let row_major: Vec<f64> = (0..rows)
        .flat_map(|r| array.columns.iter().map(move |c| c[r]))
        .collect();
    write_npy_nd(out, &array.shape(), &row_major, as_int)
}
