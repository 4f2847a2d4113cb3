//! numpy's element types as `convoy convolve` reads, computes and writes them: which dtype a
//! result has (numpy's promotion rules), and the values cast into it (integers wrap around,
//! float32 rounds, bool is "any term non-zero").
//!
//! Setup/offline code; any thread.

use std::fmt;

/// The element types convoy reads from and writes to `.npy` (numpy's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dtype {
    Bool,
    /// Signed integer of 8, 16, 32 or 64 bits.
    Int(u8),
    /// Unsigned integer of 8, 16, 32 or 64 bits.
    Uint(u8),
    /// float32 or float64.
    Float(u8),
    /// complex64 or complex128 (the bits of both parts together).
    Complex(u8),
}

impl Dtype {
    pub const FLOAT64: Dtype = Dtype::Float(64);
    pub const COMPLEX128: Dtype = Dtype::Complex(128);

    /// Every dtype, for `--dtype`'s list and tests.
    pub const ALL: [Dtype; 13] = [
        Dtype::Bool,
        Dtype::Int(8),
        Dtype::Int(16),
        Dtype::Int(32),
        Dtype::Int(64),
        Dtype::Uint(8),
        Dtype::Uint(16),
        Dtype::Uint(32),
        Dtype::Uint(64),
        Dtype::Float(32),
        Dtype::Float(64),
        Dtype::Complex(64),
        Dtype::Complex(128),
    ];

    /// Integer or bool: results are exact and wrap around.
    pub fn is_integer(self) -> bool {
        matches!(self, Dtype::Bool | Dtype::Int(_) | Dtype::Uint(_))
    }

    pub fn is_complex(self) -> bool {
        matches!(self, Dtype::Complex(_))
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool => 1,
            Dtype::Int(b) | Dtype::Uint(b) | Dtype::Float(b) | Dtype::Complex(b) => {
                usize::from(b) / 8
            }
        }
    }

    /// The `.npy` header's `descr` (little-endian).
    pub fn descr(self) -> String {
        match self {
            Dtype::Bool => "|b1".into(),
            Dtype::Int(8) => "|i1".into(),
            Dtype::Uint(8) => "|u1".into(),
            Dtype::Int(b) => format!("<i{}", b / 8),
            Dtype::Uint(b) => format!("<u{}", b / 8),
            Dtype::Float(b) => format!("<f{}", b / 8),
            Dtype::Complex(b) => format!("<c{}", b / 8),
        }
    }

    /// The dtype named as numpy names it (`int8`, `float32`, `complex128`, `bool`).
    pub fn parse(name: &str) -> Option<Dtype> {
        Dtype::ALL
            .into_iter()
            .find(|d| d.to_string() == name.trim().to_ascii_lowercase())
    }

    /// The smallest float that holds every value of an integer type, as numpy promotes
    /// (int8/int16 and their unsigned kin fit float32; wider ones need float64).
    fn float_bits_for(self) -> u8 {
        match self {
            Dtype::Bool | Dtype::Int(8 | 16) | Dtype::Uint(8 | 16) => 32,
            Dtype::Int(_) | Dtype::Uint(_) => 64,
            Dtype::Float(b) => b,
            Dtype::Complex(b) => b / 2,
        }
    }

    /// numpy's result type of two arrays (`np.result_type(a, b)`).
    pub fn promote(self, other: Dtype) -> Dtype {
        use Dtype::{Bool, Complex, Float, Int, Uint};
        match (self, other) {
            (Bool, x) | (x, Bool) => x,
            (Int(a), Int(b)) => Int(a.max(b)),
            (Uint(a), Uint(b)) => Uint(a.max(b)),
            (Int(i), Uint(u)) | (Uint(u), Int(i)) => {
                if i > u {
                    Int(i)
                } else if u < 64 {
                    Int(u * 2)
                } else {
                    // uint64 with any signed integer: nothing integral holds both.
                    Float(64)
                }
            }
            (Complex(_), _) | (_, Complex(_)) => {
                Complex(2 * self.float_bits_for().max(other.float_bits_for()))
            }
            (Float(_), _) | (_, Float(_)) => {
                Float(self.float_bits_for().max(other.float_bits_for()))
            }
        }
    }

    /// This dtype with an imaginary part (what a complex operand makes of it).
    pub fn complexified(self) -> Dtype {
        self.promote(Dtype::Complex(64))
    }

    /// The real dtype of one part of a complex one.
    pub fn real_part(self) -> Dtype {
        match self {
            Dtype::Complex(b) => Dtype::Float(b / 2),
            d => d,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dtype::Bool => write!(f, "bool"),
            Dtype::Int(b) => write!(f, "int{b}"),
            Dtype::Uint(b) => write!(f, "uint{b}"),
            Dtype::Float(b) => write!(f, "float{b}"),
            Dtype::Complex(b) => write!(f, "complex{b}"),
        }
    }
}

/// An integer wrapped into `dtype`'s width, as its bits in an i64: two's complement for
/// signed types (sign-extended), zero-extended for unsigned ones below 64 bits (uint64
/// keeps all 64 bits; read them back with `as u64`). bool is 0 or 1.
pub fn wrap(v: i64, dtype: Dtype) -> i64 {
    match dtype {
        Dtype::Bool => i64::from(v != 0),
        Dtype::Int(b) if b < 64 => {
            let shift = 64 - u32::from(b);
            (v << shift) >> shift
        }
        Dtype::Uint(b) if b < 64 => v & ((1i64 << b) - 1),
        _ => v,
    }
}

/// An f64 result as an integer of the result type: rounded to the nearest (the sum of
/// integer products, computed in floating point), or truncated toward zero as scipy.ndimage
/// stores a double into an integer output. Values beyond 64 bits convert as numpy's C casts
/// do on x86-64 (cvttsd2si: the "integer indefinite" 2^63 for anything out of range or NaN;
/// uint64 through an offset of 2^63), so a sum that reaches 2^64 in uint64 wraps to 0 there too.
pub fn to_integer(v: f64, dtype: Dtype, truncate: bool) -> i64 {
    if dtype == Dtype::Bool {
        // numpy's bool dot product is "any term true"; a sum from a transform is rounded first.
        return i64::from(if truncate { v != 0.0 } else { v.round() != 0.0 });
    }
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let cvt = |r: f64| {
        if r.is_nan() || !(-TWO_63..TWO_63).contains(&r) {
            i64::MIN
        } else {
            r as i64
        }
    };
    let r = if truncate { v.trunc() } else { v.round() };
    let i = if dtype == Dtype::Uint(64) && r >= TWO_63 {
        cvt(r - TWO_63) ^ i64::MIN
    } else {
        cvt(r)
    };
    wrap(i, dtype)
}

/// The number an integer element stands for, as f64 (uint64 read as unsigned).
pub fn integer_value(v: i64, dtype: Dtype) -> f64 {
    if dtype == Dtype::Uint(64) {
        v as u64 as f64
    } else {
        v as f64
    }
}

/// A result in its dtype, C order: what `convoy convolve` writes to `.npy` or as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Typed {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    /// The values (real parts), as f64; for float32 already rounded to f32.
    pub re: Vec<f64>,
    /// The imaginary parts of a complex result.
    pub im: Option<Vec<f64>>,
    /// The values of an integer or bool result, wrapped into the dtype (see [`wrap`]).
    pub ints: Option<Vec<i64>>,
}

impl Typed {
    pub fn len(&self) -> usize {
        self.re.len()
    }

    pub fn is_empty(&self) -> bool {
        self.re.is_empty()
    }

    /// The imaginary part of element `i` (0 for a real result).
    pub fn imag(&self, i: usize) -> f64 {
        self.im.as_ref().map_or(0.0, |v| v[i])
    }

    /// Element `i` of an integer result (rounded from the value otherwise).
    pub fn int(&self, i: usize) -> i64 {
        match &self.ints {
            Some(v) => v[i],
            None => to_integer(self.re[i], self.dtype, false),
        }
    }

    /// Element `i` as text: integers exactly (uint64 unsigned), bool as numpy prints it,
    /// floats in the shortest form that reads back, complex as Python's `(1+2j)`.
    pub fn text(&self, i: usize) -> String {
        use crate::io::text::{format_complex, format_complex32, format_f32, format_value};
        match self.dtype {
            Dtype::Bool => if self.int(i) != 0 { "True" } else { "False" }.into(),
            Dtype::Uint(64) => (self.int(i) as u64).to_string(),
            Dtype::Int(_) | Dtype::Uint(_) => self.int(i).to_string(),
            Dtype::Float(32) => format_f32(self.re[i] as f32),
            Dtype::Float(_) => format_value(self.re[i]),
            Dtype::Complex(64) => format_complex32(self.re[i] as f32, self.imag(i) as f32),
            Dtype::Complex(_) => format_complex(self.re[i], self.imag(i)),
        }
    }
}

/// A complex scalar as the command line gives it (`--fill 1+2j`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scalar {
    pub re: f64,
    pub im: f64,
}

impl Scalar {
    /// Parses a real number or Python's complex syntax (`2`, `-1.5e3`, `1+2j`, `(1-2j)`, `3j`).
    ///
    /// # Errors
    /// What is wrong with the text.
    pub fn parse(text: &str) -> std::result::Result<Scalar, String> {
        crate::io::text::parse_complex(text.trim())
            .map(|(re, im)| Scalar { re, im })
            .ok_or_else(|| format!("'{text}' is not a number (e.g. 0.5, -2, 1+2j)"))
    }

    pub fn is_complex(self) -> bool {
        self.im != 0.0 || self.im.is_nan()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_numpy_result_type() {
        // np.result_type for each pair, printed by numpy 2.4.
        let cases = [
            ("bool", "bool", "bool"),
            ("bool", "int8", "int8"),
            ("int8", "int8", "int8"),
            ("int8", "uint8", "int16"),
            ("uint8", "int16", "int16"),
            ("uint16", "int16", "int32"),
            ("uint32", "int64", "int64"),
            ("uint64", "int64", "float64"),
            ("uint64", "uint8", "uint64"),
            ("float32", "int16", "float32"),
            ("float32", "uint16", "float32"),
            ("float32", "int32", "float64"),
            ("float32", "float64", "float64"),
            ("complex64", "float32", "complex64"),
            ("complex64", "float64", "complex128"),
            ("complex64", "int16", "complex64"),
            ("complex64", "int32", "complex128"),
            ("bool", "complex64", "complex64"),
            ("float32", "bool", "float32"),
        ];
        for (a, b, want) in cases {
            let (a, b) = (Dtype::parse(a).unwrap(), Dtype::parse(b).unwrap());
            assert_eq!(a.promote(b).to_string(), want, "{a} {b}");
            assert_eq!(b.promote(a).to_string(), want, "{b} {a}");
        }
    }

    #[test]
    fn integers_wrap_like_numpy_casts() {
        assert_eq!(wrap(300, Dtype::Int(8)), 44);
        assert_eq!(wrap(200, Dtype::Int(8)), -56);
        assert_eq!(wrap(-1, Dtype::Uint(8)), 255);
        assert_eq!(wrap(-2, Dtype::Uint(16)), 65534);
        assert_eq!(wrap(1 << 40, Dtype::Int(32)), 0);
        assert_eq!(wrap(-1, Dtype::Uint(64)) as u64, u64::MAX);
        assert_eq!(to_integer(-2.7, Dtype::Uint(8), true), 254);
        assert_eq!(to_integer(-2.7, Dtype::Int(16), false), -3);
        assert_eq!(to_integer(0.2, Dtype::Bool, true), 1);
        assert_eq!(
            to_integer(1.8446744073709552e19 - 4096.0, Dtype::Uint(64), false) as u64,
            18_446_744_073_709_547_520
        );
        // 2^64 in uint64 and 2^63 in int64: what numpy's cast gives on x86-64.
        assert_eq!(to_integer(1.8446744073709552e19, Dtype::Uint(64), true), 0);
        assert_eq!(to_integer(9.3e18, Dtype::Int(64), false), i64::MIN);
        assert_eq!(to_integer(f64::NAN, Dtype::Int(64), false), i64::MIN);
    }

    #[test]
    fn names_round_trip() {
        for d in Dtype::ALL {
            assert_eq!(Dtype::parse(&d.to_string()), Some(d));
        }
        assert_eq!(Dtype::Complex(64).descr(), "<c8");
        assert_eq!(Dtype::Int(8).descr(), "|i1");
    }
}
