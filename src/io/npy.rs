//! `.npy` arrays: read float/int/bool arrays of 0, 1 or 2 dimensions (C or Fortran order); write
//! float64 or int64 arrays of the result's shape.
//!
//! Setup/offline code; any thread.

use std::io::{Read, Write};

use npyz::{DType, NpyFile, Order, TypeChar};

use crate::array::dtype::{self, Dtype, Typed};

use crate::array::Array;
use crate::error::{Error, Result};

/// Most values a `.npy` array may hold: 2^28 (2 GiB as f64).
pub const MAX_VALUES: u64 = 1 << 28;

/// A `.npy` array as read: its shape, its values in C order, and its dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyData {
    pub shape: Vec<usize>,
    /// The values as f64 (the real parts of a complex array).
    pub values: Vec<f64>,
    /// The imaginary parts of a complex array.
    pub imag: Option<Vec<f64>>,
    /// The exact values of an integer array (uint64 as its bits), which f64 cannot hold
    /// beyond 2^53.
    pub exact: Option<Vec<i64>>,
    pub dtype: Dtype,
}

/// Reads a `.npy` array of any dimensionality and any of the dtypes [`Dtype`] names (bool,
/// integers, float32/64, complex64/128, either byte order, C or Fortran order). `file_size`,
/// when known, bounds what the header may claim before anything is allocated.
///
/// # Errors
/// A malformed header, an unsupported dtype, a shape larger than the file or than
/// [`MAX_VALUES`], or data that ends early: one line naming the file.
pub fn read_npy_nd(name: &str, reader: impl Read, file_size: Option<u64>) -> Result<NpyData> {
    let (mut data, order) = read_raw(name, reader, file_size)?;
    if order == Order::C || data.shape.len() < 2 {
        return Ok(data);
    }
    // Fortran order: the first index varies fastest; rewrite in C order.
    let shape = data.shape.clone();
    let n = data.values.len();
    let fstrides: Vec<usize> = {
        let mut s = vec![1usize; shape.len()];
        for a in 1..shape.len() {
            s[a] = s[a - 1] * shape[a - 1];
        }
        s
    };
    let mut from = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        from.push(idx.iter().zip(&fstrides).map(|(i, s)| i * s).sum::<usize>());
        crate::conv::nd::advance(&mut idx, &shape);
    }
    fn reorder<T: Copy>(v: &[T], from: &[usize]) -> Vec<T> {
        from.iter().map(|&f| v[f]).collect()
    }
    data.values = reorder(&data.values, &from);
    data.imag = data.imag.as_deref().map(|v| reorder(v, &from));
    data.exact = data.exact.as_deref().map(|v| reorder(v, &from));
    Ok(data)
}

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

fn read_raw(name: &str, mut reader: impl Read, file_size: Option<u64>) -> Result<(NpyData, Order)> {
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
    let dtype = match (type_char, size) {
        (TypeChar::Bool, 1) => Dtype::Bool,
        (TypeChar::Int, 1 | 2 | 4 | 8) => Dtype::Int(size as u8 * 8),
        (TypeChar::Uint, 1 | 2 | 4 | 8) => Dtype::Uint(size as u8 * 8),
        (TypeChar::Float, 4 | 8) => Dtype::Float(size as u8 * 8),
        (TypeChar::Complex, 8 | 16) => Dtype::Complex(size as u8 * 8),
        _ => {
            return Err(bad(format!(
                "dtype '{type_str}' is not supported (use bool, an integer type, float32/float64 or complex64/complex128)"
            )));
        }
    };
    let n: usize = shape.iter().product();
    let big = type_str.endianness() == npyz::Endianness::Big && size > 1;
    let mut r = npy.into_inner();
    // Little-endian float64 (numpy's default) on a little-endian machine: one read straight
    // into the values.
    if dtype == Dtype::FLOAT64 && !big && cfg!(target_endian = "little") {
        let mut values: Vec<f64> = crate::rt::big_zeroed(n);
        r.read_exact(bytemuck::cast_slice_mut(&mut values))
            .map_err(read_err)?;
        let data = NpyData {
            shape,
            values,
            imag: None,
            exact: None,
            dtype,
        };
        return Ok((data, order));
    }
    let mut bytes: Vec<u8> = vec![0u8; n * dtype.size()];
    r.read_exact(&mut bytes).map_err(read_err)?;
    // Each element's bytes in little-endian order.
    if big {
        let word = if dtype.is_complex() {
            dtype.size() / 2
        } else {
            dtype.size()
        };
        for w in bytes.chunks_exact_mut(word) {
            w.reverse();
        }
    }
    let mut data = NpyData {
        shape,
        values: Vec::new(),
        imag: None,
        exact: None,
        dtype,
    };
    fn le<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&b[..N]);
        a
    }
    match dtype {
        Dtype::Float(32) => {
            data.values = bytes
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes(le(b))))
                .collect();
        }
        Dtype::Float(_) => {
            data.values = bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(le(b)))
                .collect();
        }
        Dtype::Complex(b) => {
            let part = usize::from(b / 16);
            let read = |c: &[u8]| {
                if part == 4 {
                    f64::from(f32::from_le_bytes(le(c)))
                } else {
                    f64::from_le_bytes(le(c))
                }
            };
            let (re, im): (Vec<f64>, Vec<f64>) = bytes
                .chunks_exact(2 * part)
                .map(|c| (read(&c[..part]), read(&c[part..])))
                .unzip();
            data.values = re;
            data.imag = Some(im);
        }
        Dtype::Bool | Dtype::Int(_) | Dtype::Uint(_) => {
            let size = dtype.size();
            let exact: Vec<i64> = bytes
                .chunks_exact(size)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a[..size].copy_from_slice(c);
                    let raw = i64::from_le_bytes(a);
                    match dtype {
                        // Sign-extended to 64 bits.
                        Dtype::Int(b) => dtype::wrap(raw, Dtype::Int(b)),
                        Dtype::Bool => i64::from(raw != 0),
                        _ => raw,
                    }
                })
                .collect();
            data.values = exact
                .iter()
                .map(|&v| dtype::integer_value(v, dtype))
                .collect();
            data.exact = Some(exact);
        }
    }
    Ok((data, order))
}

/// Reads a 0-, 1- or 2-D `.npy` array; `name` is used in error messages, `file_size` bounds
/// what the header may claim (see [`read_npy_nd`]).
///
/// # Errors
/// As [`read_npy_nd`], or 3 or more dimensions.
pub fn read_npy(name: &str, reader: impl Read, file_size: Option<u64>) -> Result<Array> {
    let bad = |msg: String| Error::input(name, msg);
    let (data, order) = read_raw(name, reader, file_size)?;
    if data.dtype.is_complex() {
        return Err(bad(format!(
            "dtype {} is complex: complex arrays are for `convoy convolve`",
            data.dtype
        )));
    }
    let (shape, values) = (data.shape, data.values);
    let array = match shape.len() {
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
    Ok(array)
}

/// A version 1.0 `.npy` header: magic, length, the dict padded to a multiple of 64 bytes.
fn write_header(out: &mut impl Write, descr: &str, shape: &[usize]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    let total = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat((64 - total % 64) % 64));
    dict.push('\n');
    let len = u16::try_from(dict.len())
        .map_err(|_| std::io::Error::other("shape too long for a .npy header"))?;
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(dict.as_bytes())
}

/// Writes a typed array as `.npy` in its dtype (version 1.0, little-endian, C order).
///
/// # Errors
/// The writer's.
pub fn write_typed(mut out: impl Write, typed: &Typed) -> std::io::Result<()> {
    write_header(&mut out, &typed.dtype.descr(), &typed.shape)?;
    let mut buf = Vec::with_capacity(typed.len().min(1 << 16) * typed.dtype.size());
    for i in 0..typed.len() {
        match typed.dtype {
            Dtype::Float(32) => buf.extend_from_slice(&(typed.re[i] as f32).to_le_bytes()),
            Dtype::Float(_) => buf.extend_from_slice(&typed.re[i].to_le_bytes()),
            Dtype::Complex(64) => {
                buf.extend_from_slice(&(typed.re[i] as f32).to_le_bytes());
                buf.extend_from_slice(&(typed.imag(i) as f32).to_le_bytes());
            }
            Dtype::Complex(_) => {
                buf.extend_from_slice(&typed.re[i].to_le_bytes());
                buf.extend_from_slice(&typed.imag(i).to_le_bytes());
            }
            d => buf.extend_from_slice(&typed.int(i).to_le_bytes()[..d.size()]),
        }
        if buf.len() >= 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

/// Writes an N-d float64 array (`shape`, C-order `values`) as `.npy`.
pub fn write_npy_nd(mut out: impl Write, shape: &[usize], values: &[f64]) -> std::io::Result<()> {
    write_header(&mut out, "<f8", shape)?;
    if cfg!(target_endian = "little") {
        // The data in one write.
        out.write_all(bytemuck::cast_slice(values))
    } else {
        values
            .iter()
            .try_for_each(|v| out.write_all(&v.to_le_bytes()))
    }
}

/// Writes `array` as a C-order float64 `.npy`.
pub fn write_npy(out: impl Write, array: &Array) -> std::io::Result<()> {
    write_npy_nd(out, &array.shape(), &array.row_major())
}
