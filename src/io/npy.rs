//! `.npy` arrays: read float/int/bool arrays of 0, 1 or 2 dimensions (C or Fortran order); write
//! float64 or int64 arrays of the result's shape.
//!
//! Setup/offline code; any thread.

use std::io::{Read, Write};

use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};

use crate::array::Array;
use crate::error::{Error, Result};

/// Reads a `.npy` array from `bytes`; `name` is used in error messages.
pub fn read_npy(name: &str, reader: impl Read) -> Result<Array> {
    let bad = |msg: String| Error::input(name, msg);
    let npy = NpyFile::new(reader).map_err(|e| bad(format!("not a readable .npy file ({e})")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let order = npy.order();
    let DType::Plain(type_str) = npy.dtype() else {
        return Err(bad("structured .npy arrays are not supported".into()));
    };
    let (type_char, size) = (type_str.type_char(), type_str.size_field());
    let read_err = |e: std::io::Error| bad(format!("cannot read the data ({e})"));
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
                "{d}-D arrays are not supported (1-D signals, or 2-D as (frames, channels))"
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

/// Writes `array` as a C-order `.npy`: int64 when `as_int` (every value must then be integral),
/// float64 otherwise.
pub fn write_npy(out: impl Write, array: &Array, as_int: bool) -> std::io::Result<()> {
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    let rows = array.rows();
    let row_major = (0..rows).flat_map(|r| array.columns.iter().map(move |c| c[r]));
    if as_int {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(out)
            .begin_nd()?;
        writer.extend(row_major.map(|v| v as i64))?;
        writer.finish()
    } else {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(out)
            .begin_nd()?;
        writer.extend(row_major)?;
        writer.finish()
    }
}
