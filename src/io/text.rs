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
/// or it is a single number.
pub fn looks_inline(arg: &str) -> bool {
    arg.contains(|c: char| c.is_whitespace() || c == ',') || parse_number(arg.trim()).is_some()
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
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let magnitude = v.abs();
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
