//! The minimum-phase kernel with a kernel's own magnitude response (the homomorphic method:
//! fold the real cepstrum of `ln |H|` onto positive quefrencies and exponentiate).
//!
//! Unlike scipy.signal.minimum_phase's default (which is designed for a squared response and
//! returns the square root of the magnitude, half the length), this keeps `|H|` itself and
//! the kernel's length: a low-pass stays the low-pass it was, with its energy moved to the
//! front, so its delay is its group delay instead of `(M - 1) / 2`.
//!
//! Setup only (f64).

use std::f64::consts::PI;

use realfft::num_complex::Complex64 as C;

use crate::conv::sample::complex_fft;

/// The longest kernel this converts (its transforms are 8x longer: 2^23 complex values,
/// 128 MiB, at the limit).
pub const MAX_LEN: usize = 1 << 20;

/// Below this fraction of the peak magnitude the log is clamped (-200 dB): a stopband zero
/// would otherwise be `ln 0`.
const FLOOR: f64 = 1e-10;

/// The minimum-phase version of `h`, as many taps, and how far (dB) its magnitude strays from
/// `h`'s wherever `h` is above -60 dB of its peak: of the candidates below, the one within
/// 0.1 dB whose energy comes earliest (or, if none is, the closest in magnitude).
///
/// * the cepstral method on a transform 32x the kernel (good for long designed filters,
///   whose zeros lie off the unit circle);
/// * for kernels of at most [`MAX_ROOTS`] taps, the exact factorization: the polynomial's
///   roots, those outside the unit circle reflected inside (the gain kept);
/// * `h` itself: a kernel whose zeros are all on the unit circle (a boxcar) is already as
///   early as its magnitude allows, and the cepstral method's log of those zeros wraps.
///
/// # Errors
/// `h` is empty, all zero, or longer than [`MAX_LEN`].
pub fn minimum_phase(h: &[f64]) -> Result<(Vec<f64>, f64), String> {
    if h.is_empty() || h.iter().all(|v| *v == 0.0) {
        return Err("the kernel is all zeros; it has no minimum-phase version".into());
    }
    if h.len() > MAX_LEN {
        return Err(format!(
            "a {}-tap kernel is over the 2^20 taps a minimum-phase conversion takes",
            h.len()
        ));
    }
    let grid = Grid::new(h);
    let judge = |mut c: Vec<f64>| {
        grid.match_gain(&mut c);
        let err = grid.error_db(&c);
        (err, centroid(&c), c)
    };
    // The cepstral method, denser until it holds (a transform 128x the kernel resolves even
    // a room's response; 2^23 points at most).
    let mut cepstra = vec![judge(cepstral(h, 32))];
    if cepstra[0].0 > KEEP_DB {
        cepstra.push(judge(cepstral(h, 128)));
    }
    let mut exact = Vec::new();
    if h.len() <= MAX_ROOTS
        && let Some(r) = by_roots(h)
    {
        exact.push(judge(r));
    }
    let itself = judge(h.to_vec());
    let held: Vec<&(f64, f64, Vec<f64>)> = cepstra
        .iter()
        .chain(&exact)
        .chain(std::iter::once(&itself))
        .filter(|c| c.0 <= KEEP_DB)
        .collect();
    let best = match held.into_iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        Some(c) => c.clone(),
        // Nothing holds the magnitude to 0.1 dB: the closest minimum-phase candidate (never
        // the kernel itself: minimum phase was asked for), with its deviation said.
        None => cepstra
            .into_iter()
            .chain(exact)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or(itself),
    };
    Ok((best.2, best.0))
}

/// How close a candidate's magnitude must stay to the kernel's (dB).
const KEEP_DB: f64 = 0.1;

/// The longest kernel factored through its roots (Aberth's iteration is O(M^2) a step).
pub const MAX_ROOTS: usize = 128;

/// The energy centroid `sum n h^2 / sum h^2`, in taps.
fn centroid(h: &[f64]) -> f64 {
    let e: f64 = h.iter().map(|v| v * v).sum();
    h.iter()
        .enumerate()
        .map(|(n, v)| n as f64 * v * v)
        .sum::<f64>()
        / e.max(f64::MIN_POSITIVE)
}

/// A kernel's magnitude on a dense grid, to judge candidates against.
struct Grid {
    n: usize,
    mag: Vec<f64>,
    /// Bins where the kernel is above -60 dB of its peak.
    judged: Vec<usize>,
    /// A bin of high magnitude, and the sign of the real part the kernel has there (DC or
    /// Nyquist when either carries the passband).
    anchor: usize,
}

impl Grid {
    fn new(h: &[f64]) -> Grid {
        let n = (16 * h.len()).next_power_of_two().max(8192);
        let mag: Vec<f64> = spectrum(h, n).iter().map(|v| v.norm()).collect();
        let peak = mag.iter().copied().fold(0.0, f64::max);
        let judged = (0..mag.len()).filter(|&i| mag[i] >= peak * 1e-3).collect();
        let anchor = if mag[0] >= 0.1 * peak {
            0
        } else if mag[n / 2] >= 0.1 * peak {
            n / 2
        } else {
            (0..mag.len())
                .max_by(|&a, &b| mag[a].total_cmp(&mag[b]))
                .unwrap_or(0)
        };
        Grid {
            n,
            mag,
            judged,
            anchor,
        }
    }

    /// Scales `c` to the kernel's magnitude at the anchor, and makes its response there
    /// positive where the kernel's passband is at DC or Nyquist (a low-pass stays a low-pass
    /// of the same sign, not its negative).
    fn match_gain(&self, c: &mut [f64]) {
        let s = spectrum(c, self.n);
        let got = s[self.anchor];
        if got.norm() == 0.0 {
            return;
        }
        let mut g = self.mag[self.anchor] / got.norm();
        if (self.anchor == 0 || self.anchor == self.n / 2) && got.re < 0.0 {
            g = -g;
        }
        c.iter_mut().for_each(|v| *v *= g);
    }

    /// The largest magnitude difference (dB) over the judged bins.
    fn error_db(&self, c: &[f64]) -> f64 {
        let s = spectrum(c, self.n);
        self.judged
            .iter()
            .map(|&i| (20.0 * (s[i].norm() / self.mag[i]).log10()).abs())
            .fold(0.0, f64::max)
    }
}

/// The first `n / 2 + 1` bins of `h`'s transform zero-padded to `n`.
fn spectrum(h: &[f64], n: usize) -> Vec<C> {
    let mut buf: Vec<C> = h.iter().map(|&v| C::new(v, 0.0)).collect();
    buf.resize(n, C::new(0.0, 0.0));
    complex_fft::<f64>(n, false).process(&mut buf);
    buf.truncate(n / 2 + 1);
    buf
}

/// The homomorphic method on a transform `over` times the kernel.
fn cepstral(h: &[f64], over: usize) -> Vec<f64> {
    let n = (over * h.len()).next_power_of_two().clamp(1024, 1 << 23);
    let forward = complex_fft::<f64>(n, false);
    let inverse = complex_fft::<f64>(n, true);
    let mut buf: Vec<C> = h.iter().map(|&v| C::new(v, 0.0)).collect();
    buf.resize(n, C::new(0.0, 0.0));
    forward.process(&mut buf);
    let peak = buf.iter().map(|v| v.norm()).fold(0.0, f64::max);
    let floor = peak * FLOOR;
    for v in &mut buf {
        *v = C::new(v.norm().max(floor).ln(), 0.0);
    }
    // The real cepstrum (ln |H| is real and even, so the cepstrum is real and even).
    inverse.process(&mut buf);
    let scale = 1.0 / n as f64;
    // Fold: causal part doubled, the anti-causal part gone.
    for (i, v) in buf.iter_mut().enumerate() {
        let w = match i {
            0 => 1.0,
            i if i < n / 2 => 2.0,
            i if i == n / 2 => 1.0,
            _ => 0.0,
        };
        *v = C::new(v.re * scale * w, 0.0);
    }
    forward.process(&mut buf);
    for v in &mut buf {
        *v = v.exp();
    }
    inverse.process(&mut buf);
    buf[..h.len()].iter().map(|v| v.re * scale).collect()
}

/// The exact factorization: the roots of `h[0] z^(M-1) + ... + h[M-1]` by Aberth's
/// iteration, those outside the unit circle reflected to `1 / conj(z)`, multiplied out again
/// (gain set by the caller). `None` if the iteration does not settle.
fn by_roots(h: &[f64]) -> Option<Vec<f64>> {
    let lead = h.iter().position(|v| *v != 0.0)?;
    let last = h.iter().rposition(|v| *v != 0.0)?;
    let p = &h[lead..=last];
    let degree = p.len() - 1;
    let mut roots: Vec<C> = aberth(p)?;
    for z in &mut roots {
        if z.norm() > 1.0 {
            *z = 1.0 / z.conj();
        }
    }
    // (z - r) for every root, then the zeros at the origin the trailing zeros of h gave.
    let mut out = poly_from_roots(&roots);
    debug_assert_eq!(out.len(), degree + 1);
    // The kernel's own leading delay is not part of its magnitude: the result starts at tap 0.
    out.resize(h.len(), 0.0);
    Some(out)
}

/// The real polynomial (highest power first, leading 1) with these roots, each complex root
/// given with its conjugate: `np.real(np.poly(roots))`.
pub fn poly_from_roots(roots: &[C]) -> Vec<f64> {
    let mut c = vec![C::new(1.0, 0.0)];
    for r in roots {
        let mut next = vec![C::new(0.0, 0.0); c.len() + 1];
        for (i, v) in c.iter().enumerate() {
            next[i] += v;
            next[i + 1] -= v * r;
        }
        c = next;
    }
    c.into_iter().map(|v| v.re).collect()
}

/// The roots of the polynomial with coefficients `p` (highest power first), by Aberth's
/// simultaneous iteration from a circle.
fn aberth(p: &[f64]) -> Option<Vec<C>> {
    let degree = p.len() - 1;
    if degree == 0 {
        return Some(Vec::new());
    }
    let eval = |z: C| {
        let mut v = C::new(0.0, 0.0);
        let mut d = C::new(0.0, 0.0);
        for &c in p {
            d = d * z + v;
            v = v * z + c;
        }
        (v, d)
    };
    // Start on a circle of the roots' geometric mean radius, off the real axis.
    let radius = (p[degree].abs() / p[0].abs())
        .powf(1.0 / degree as f64)
        .max(1e-3);
    let mut z: Vec<C> = (0..degree)
        .map(|k| C::from_polar(radius, 2.0 * PI * (k as f64 + 0.25) / degree as f64 + 0.4))
        .collect();
    for _ in 0..1000 {
        let mut largest: f64 = 0.0;
        for k in 0..degree {
            let (v, d) = eval(z[k]);
            if v.norm() == 0.0 {
                continue;
            }
            let ratio = v / d;
            let sum: C = (0..degree)
                .filter(|&j| j != k)
                .map(|j| 1.0 / (z[k] - z[j]))
                .sum();
            let step = ratio / (1.0 - ratio * sum);
            if step.is_finite() {
                z[k] -= step;
                largest = largest.max(step.norm() / z[k].norm().max(1e-300));
            }
        }
        if largest < 1e-14 {
            return Some(z);
        }
    }
    // Clustered (multiple) roots converge slowly, but to what the magnitude check accepts.
    z.iter().all(|v| v.is_finite()).then_some(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mag_db(h: &[f64], f: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * f;
        let s = h.iter().enumerate().fold(C::new(0.0, 0.0), |a, (n, &v)| {
            a + v * C::from_polar(1.0, -w * n as f64)
        });
        20.0 * s.norm().log10()
    }

    #[test]
    fn a_minimum_phase_kernel_is_left_alone() {
        // 1 - 0.5 z^-1 has its zero inside the circle.
        let h = minimum_phase(&[1.0, -0.5]).unwrap().0;
        assert!(
            (h[0] - 1.0).abs() < 1e-9 && (h[1] + 0.5).abs() < 1e-9,
            "{h:?}"
        );
        // Its maximum-phase mirror becomes it.
        let h = minimum_phase(&[-0.5, 1.0]).unwrap().0;
        assert!(
            (h[0] - 1.0).abs() < 1e-9 && (h[1] + 0.5).abs() < 1e-9,
            "{h:?}"
        );
    }

    #[test]
    fn the_magnitude_is_kept_and_the_energy_moves_to_the_front() {
        let m = 63;
        let h: Vec<f64> = (0..m)
            .map(|i| {
                let t = i as f64 - 31.0;
                let sinc = if t == 0.0 {
                    0.2
                } else {
                    (0.2 * std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
                };
                sinc * (0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / 62.0).cos())
            })
            .collect();
        let min = minimum_phase(&h).unwrap().0;
        for f in [0.0, 0.02, 0.05, 0.08, 0.095] {
            assert!((mag_db(&h, f) - mag_db(&min, f)).abs() < 0.01, "{f}");
        }
        let front = |k: &[f64]| k[..10].iter().map(|v| v * v).sum::<f64>();
        assert!(front(&min) > 4.0 * front(&h));
    }
}
