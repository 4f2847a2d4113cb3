//! Numbers as text: reading `np.loadtxt`-style files and inline lists, and writing values in
//! the shortest form that reads back to the same f64.
//!
//! Setup/offline code; any thread.
//!
//! Input: numbers separated by whitespace and/or commas; `#` starts a comment; blank lines are
//! skipped. One line of values, or one value per line, is a 1-D array; several values on each
//! of several lines is 2-D (every line must have as many as the first). `nan`, `inf`,
//! `-inf` and `infinity` are accepted in any case, as Python's `float` accepts them.

use crate::array::Array;
use crate::error::{Error, Result};

/// Parses one token as Python's `float()` would (without underscores).
pub fn parse_number(token: &str) -> Option<f64> {
    let (sign, body) = match token.as_bytes().first() {
        Some(b'-') => (-1.0, &token[1..]),
        Some(b'+') => (1.0, &token[1..]),
        _ => (1.0, token),
    };
    let lower = body.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Some(f64::NAN),
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    // Rust's grammar is Python's for finite decimals, except that it also takes "infinity"
    // spellings we handled above; refuse a second sign ("--1") that slicing could expose.
    if body.starts_with(['+', '-']) || body.is_empty() {
        return None;
    }
    token.parse::<f64>().ok()
}

/// Parses a real number or a complex one in Python's `complex()` syntax: `1+2j`, `(1-2.5e3j)`,
/// `3j`, `-j`, `1e-3+2e+4J`; `(re, im)`.
pub fn parse_complex(token: &str) -> Option<(f64, f64)> {
    let t = token
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(token);
    let Some(body) = t.strip_suffix(['j', 'J']) else {
        return parse_number(t).map(|re| (re, 0.0));
    };
    // The imaginary part starts at the last sign that is not an exponent's.
    let bytes = body.as_bytes();
    let split = (1..bytes.len())
        .rev()
        .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (re, im) = match split {
        Some(i) => (parse_number(&body[..i])?, &body[i..]),
        None => (0.0, body),
    };
    let im = match im {
        "" | "+" => 1.0,
        "-" => -1.0,
        s => parse_number(s)?,
    };
    Some((re, im))
}

/// Complex text split into its real and imaginary parts, each laid out as the text was (one
/// row per line, comments dropped; `;` row breaks become lines), or `None` when no value has an imaginary part. A token
/// that is not a number is left in both, for the real parser to report.
pub fn split_complex(text: &str) -> Option<(String, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let is_complex =
        |t: &str| t.trim_end_matches(')').ends_with(['j', 'J']) && parse_complex(t).is_some();
    let mut any = false;
    let (mut re, mut im) = (String::new(), String::new());
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("");
        for t in tokens(line) {
            let (r, i) = match parse_complex(t) {
                Some((r, i)) => {
                    any |= is_complex(t);
                    (format!("{r:e}"), format!("{i:e}"))
                }
                None => (t.to_string(), t.to_string()),
            };
            re.push_str(&r);
            re.push(' ');
            im.push_str(&i);
            im.push(' ');
        }
        re.push('\n');
        im.push('\n');
    }
    any.then_some((re, im))
}

/// Formats a complex value as Python's `repr` does, always in parentheses: `(1+2j)`,
/// `(0.5-0j)`, `(nan+infj)`; `complex()` and `np.loadtxt(dtype=complex)` read it back.
pub fn format_complex(re: f64, im: f64) -> String {
    complex_from(format_value(re), im, format_value(im.abs()))
}

/// [`format_complex`] for complex64: each part in float32's shortest form.
pub fn format_complex32(re: f32, im: f32) -> String {
    complex_from(format_f32(re), f64::from(im), format_f32(im.abs()))
}

fn complex_from(re: String, im: f64, im_abs: String) -> String {
    let sign = if im.is_sign_negative() && !im.is_nan() {
        "-"
    } else {
        "+"
    };
    format!("({re}{sign}{im_abs}j)")
}

/// Splits one line into tokens at whitespace and commas. Two commas with nothing between them
/// are an empty value, reported like a bad token.
pub(crate) fn tokens(line: &str) -> Vec<&str> {
    let fields: Vec<&str> = line.split(',').collect();
    let mut out = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let before = out.len();
        out.extend(field.split_whitespace());
        // "1,,2" and ",1" have an empty field; a trailing comma ("1,2,") is tolerated.
        if out.len() == before && fields.len() > 1 && i + 1 != fields.len() {
            out.push("");
        }
    }
    out
}

fn parse_tokens(tokens: &[&str], describe: impl Fn(&str, usize) -> Error) -> Result<Vec<f64>> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| parse_number(t).ok_or_else(|| describe(t, i + 1)))
        .collect()
}

/// Parses an inline list such as `"0 1 0.5"`, `"0,1,0.5"` or `"-2"`; `role` is "signal" or
/// "kernel", used in error messages.
pub fn parse_inline(role: &str, text: &str) -> Result<Array> {
    let name = format!("{role} \"{text}\"");
    let toks: Vec<&str> = tokens(text);
    let values = parse_tokens(&toks, |t, pos| {
        if t.is_empty() {
            Error::input(&name, format!("empty value at position {pos}"))
        } else {
            Error::input(
                &name,
                format!("token '{t}' at position {pos} is not a number"),
            )
        }
    })?;
    if values.is_empty() {
        return Err(Error::input(name, "no numbers"));
    }
    Ok(Array::from_vec(values))
}

/// True when `arg` reads as an inline list rather than a file name: it has whitespace or a comma,
/// or it is a single (real or complex) number.
pub fn looks_inline(arg: &str) -> bool {
    arg.contains(|c: char| c.is_whitespace() || c == ',') || parse_complex(arg.trim()).is_some()
}

/// Parses the text of a file (or stdin) named `name`.
pub fn parse_text(name: &str, text: &str) -> Result<Array> {
    // Spreadsheet exports often start with a UTF-8 byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.split('#').next().unwrap_or("");
        let toks = tokens(line);
        if toks.is_empty() {
            continue;
        }
        let row = parse_tokens(&toks, |t, pos| {
            if t.is_empty() {
                Error::input(
                    name,
                    format!("line {line_no}: empty value at position {pos}"),
                )
            } else {
                Error::input(
                    name,
                    format!("line {line_no}: token '{t}' at position {pos} is not a number"),
                )
            }
        })?;
        if let Some(first) = rows.first() {
            if first.len() != row.len() {
                return Err(Error::input(
                    name,
                    format!(
                        "line {line_no} has {} values but the first data line has {}",
                        row.len(),
                        first.len()
                    ),
                ));
            }
        }
        rows.push(row);
    }
    let width = rows.first().map_or(0, Vec::len);
    if rows.is_empty() {
        return Err(Error::input(name, "no numbers"));
    }
    if rows.len() == 1 || width == 1 {
        return Ok(Array::from_vec(rows.into_iter().flatten().collect()));
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Ok(Array::from_rows(&flat, rows.len(), width))
}

/// Formats a value in the shortest form that parses back to the same f64: integers without a
/// fraction ("3"), exponents outside [1e-5, 1e16) as Python's `repr` uses them, `nan`/`inf`.
pub fn format_value(v: f64) -> String {
    shortest(v)
}

/// [`format_value`] for float32: the shortest form that reads back to the same float32
/// (numpy's repr of a float32).
pub fn format_f32(v: f32) -> String {
    shortest(v)
}

fn shortest<T: Copy + Into<f64> + std::fmt::Display + std::fmt::LowerExp>(v: T) -> String {
    let x: f64 = v.into();
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let magnitude = x.abs();
    if magnitude == 0.0 || (1e-5..1e16).contains(&magnitude) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Writes an array as text: a 1-D array on one line, a 2-D array one row per line, values
/// separated by `sep`.
pub fn write_text(out: &mut impl std::io::Write, array: &Array, sep: &str) -> std::io::Result<()> {
    if array.two_d {
        for r in 0..array.rows() {
            let row: Vec<String> = array.columns.iter().map(|c| format_value(c[r])).collect();
            writeln!(out, "{}", row.join(sep))?;
        }
    } else {
        let mut first = true;
        for &v in array.columns.iter().flatten() {
            if !first {
                out.write_all(sep.as_bytes())?;
            }
            first = false;
            out.write_all(format_value(v).as_bytes())?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complex_numbers_like_python_complex() {
        let cases = [
            ("1+2j", (1.0, 2.0)),
            ("(1-2.5e3j)", (1.0, -2500.0)),
            ("3j", (0.0, 3.0)),
            ("-j", (0.0, -1.0)),
            ("1e-3+2e+4J", (1e-3, 2e4)),
            ("-1.5e-3-2j", (-1.5e-3, -2.0)),
            ("4", (4.0, 0.0)),
            ("(nan+infj)", (f64::NAN, f64::INFINITY)),
        ];
        for (text, (re, im)) in cases {
            let (r, i) = parse_complex(text).unwrap_or_else(|| panic!("{text}"));
            assert!(
                r.total_cmp(&re).is_eq() || (r.is_nan() && re.is_nan()),
                "{text}"
            );
            assert_eq!(i, im, "{text}");
        }
        for bad in ["1+", "j1", "1+2", "1++2j", "(1+2j", "", "1 j"] {
            assert_eq!(parse_complex(bad), None, "{bad}");
        }
        assert_eq!(format_complex(1.0, 2.0), "(1+2j)");
        assert_eq!(format_complex(0.5, -0.0), "(0.5-0j)");
        assert_eq!(format_complex(-1e20, 1.5), "(-1e20+1.5j)");
    }

    #[test]
    fn numbers_like_python_float() {
        assert_eq!(parse_number("0.5"), Some(0.5));
        assert_eq!(parse_number("-2"), Some(-2.0));
        assert_eq!(parse_number("+1e3"), Some(1000.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("5."), Some(5.0));
        assert!(parse_number("NaN").is_some_and(f64::is_nan));
        assert!(parse_number("-nan").is_some_and(f64::is_nan));
        assert_eq!(parse_number("-INF"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_number("Infinity"), Some(f64::INFINITY));
        for bad in ["x", "", "-", "--1", "1..2", "0x10", "1e", "inf1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_round_trip_in_shortest_form() {
        for v in [
            0.0,
            3.0,
            -2.5,
            0.1,
            1.0 / 3.0,
            1e-7,
            2.5e20,
            1e16,
            123456.789,
            f64::MIN_POSITIVE,
        ] {
            let text = format_value(v);
            assert_eq!(text.parse::<f64>().ok(), Some(v), "{text}");
        }
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(2.5), "2.5");
        assert_eq!(format_value(1e-7), "1e-7");
        assert_eq!(format_value(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn layouts() {
        assert_eq!(
            parse_text("t", "1 2 3\n").unwrap().columns,
            vec![vec![1.0, 2.0, 3.0]]
        );
        assert_eq!(
            parse_text("t", "1\n2\n\n# c\n3\n").unwrap().columns,
            vec![vec![1.0, 2.0, 3.0]]
        );
        assert_eq!(
            parse_text("t", "1, 2,3").unwrap().columns,
            vec![vec![1.0, 2.0, 3.0]]
        );
        let bom_crlf = parse_text("t", "\u{feff}1\r\n2\r\n").unwrap();
        assert_eq!(bom_crlf.columns, vec![vec![1.0, 2.0]]);
        let two = parse_text("t", "1 2\n3 4\n5 6\n").unwrap();
        assert!(two.two_d);
        assert_eq!(two.columns, vec![vec![1.0, 3.0, 5.0], vec![2.0, 4.0, 6.0]]);
    }

    #[test]
    fn errors_name_the_token_and_position() {
        let e = parse_inline("kernel", "1 2 x").unwrap_err().to_string();
        assert_eq!(
            e,
            "kernel \"1 2 x\": token 'x' at position 3 is not a number"
        );
        let e = parse_text("sig.txt", "1 2\n3 y\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "sig.txt: line 2: token 'y' at position 2 is not a number"
        );
        let e = parse_text("sig.txt", "1 2\n3\n").unwrap_err().to_string();
        assert!(e.contains("line 2 has 1 values"), "{e}");
        assert!(
            parse_text("e.txt", "# nothing\n\n")
                .unwrap_err()
                .to_string()
                .contains("no numbers")
        );
        assert!(
            parse_inline("signal", "1,,2")
                .unwrap_err()
                .to_string()
                .contains("empty value at position 2")
        );
        assert_eq!(
            parse_inline("kernel", "1,2,").unwrap().columns,
            vec![vec![1.0, 2.0]]
        );
    }
}
