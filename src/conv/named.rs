//! Named kernels for images and arrays: `box:N` (= `ma:N`), `gauss:SIGMA`, `sobel-x`,
//! `sobel-y`, `laplace`, `sharpen`. Box and Gauss take the signal's dimensionality (1-D, 2-D,
//! 3-D); the others are 2-D. The 1-D kernels of `convoy run`'s stage words (`savgol:`,
//! `taps:`, `lowpass:`...) are named kernels too, for 1-D signals (see
//! [`crate::chain::kernel_from_word`]): one vocabulary for both commands.

use super::nd::Nd;
use crate::error::{Error, Result};

/// The names, for help and error messages.
pub const NAMES: &str = "box:N (= ma:N), gauss:SIGMA, sobel-x, sobel-y, laplace, sharpen; \
for 1-D signals also savgol:W,ORDER, taps:a,b,c, lowpass:HZ, highpass:HZ, bandpass:LO,HI, \
bandstop:LO,HI, gain:X, delay:N (the stage words of convoy run)";

/// Stage words whose kernel a 1-D signal can take (besides box/ma and gauss).
const ONE_D: [&str; 8] = [
    "savgol", "taps", "lowpass", "highpass", "bandpass", "bandstop", "gain", "delay",
];

/// Whether `text` is meant as a named kernel (a bare 2-D name, or `box:`/`ma:`/`gauss:` or
/// another kernel stage word with an argument).
pub fn is_named(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "sobel-x" | "sobel-y" | "laplace" | "sharpen") {
        return true;
    }
    let name = t.split([':', ',']).next().unwrap_or("");
    t.contains(':') && (matches!(name, "box" | "ma" | "gauss") || ONE_D.contains(&name))
}

/// Whether a named kernel exists in N dimensions (box, ma, gauss and the 2-D names) rather
/// than only as a 1-D stage kernel.
pub fn is_nd(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    let name = t.split([':', ',']).next().unwrap_or("");
    matches!(
        name,
        "box" | "ma" | "gauss" | "sobel-x" | "sobel-y" | "laplace" | "sharpen"
    )
}

/// The kernel `text` names, with `ndim` dimensions.
pub fn kernel(text: &str, ndim: usize) -> Result<Nd> {
    let t = text.trim().to_ascii_lowercase();
    let bad = |msg: String| Error::input(format!("kernel '{text}'"), msg);
    let fixed = |rows: [[f64; 3]; 3]| -> Result<Nd> {
        if ndim != 2 {
            return Err(bad(format!("is a 2-D kernel but the signal is {ndim}-D")));
        }
        Ok(Nd::new(
            vec![3, 3],
            rows.iter().flatten().copied().collect(),
        ))
    };
    match t.as_str() {
        "sobel-x" => return fixed([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
        "sobel-y" => return fixed([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
        "laplace" => return fixed([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
        "sharpen" => return fixed([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
        _ => {}
    }
    let ndim = ndim.clamp(1, 3);
    let one_d: Vec<f64> = if let Some(n) = t.strip_prefix("box:").or_else(|| t.strip_prefix("ma:"))
    {
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad(format!("'{n}' is not a whole number of taps")))?;
        if n == 0 || n > 4096 {
            return Err(bad("the box size must be 1 to 4096".into()));
        }
        vec![1.0 / n as f64; n]
    } else if let Some(s) = t.strip_prefix("gauss:") {
        let sigma: f64 = s
            .trim()
            .parse()
            .map_err(|_| bad(format!("'{s}' is not a number")))?;
        if !(sigma.is_finite() && sigma > 0.0 && sigma <= 1000.0) {
            return Err(bad("sigma must be above 0 and at most 1000".into()));
        }
        // scipy.ndimage.gaussian_filter's support (truncate at 4 sigma), the same kernel
        // `convoy run`'s gauss: stage uses.
        crate::stages::design::gaussian(sigma, crate::stages::design::gaussian_taps(sigma))
    } else if ONE_D.iter().any(|n| t.starts_with(&format!("{n}:"))) {
        return Err(bad(format!(
            "is a 1-D kernel but the signal is {ndim}-D (to filter each column, say --axis 0)"
        )));
    } else {
        return Err(bad(format!("unknown kernel name; named kernels: {NAMES}")));
    };
    // The outer product of the 1-D kernel with itself, `ndim` times.
    let n = one_d.len();
    let mut data = vec![1.0];
    for _ in 0..ndim {
        data = data
            .iter()
            .flat_map(|a| one_d.iter().map(move |b| a * b))
            .collect();
    }
    Ok(Nd::new(vec![n; ndim], data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_sums_and_errors() {
        let b = kernel("box:3", 2).unwrap();
        assert_eq!(b.shape, vec![3, 3]);
        assert!((b.data.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let g = kernel("gauss:1.5", 3).unwrap();
        assert_eq!(g.shape, vec![13, 13, 13]);
        assert!((g.data.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(kernel("sobel-x", 2).unwrap().data[2], 1.0);
        assert!(kernel("sobel-x", 3).is_err());
        assert!(kernel("box:0", 2).is_err());
        assert!(kernel("gauss:-1", 2).is_err());
        assert!(is_named("Sobel-Y") && !is_named("sobel"));
    }
}
