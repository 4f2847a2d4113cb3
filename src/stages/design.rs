//! The designed kernels: moving average, Gaussian, Savitzky-Golay, windowed-sinc filters (the
//! math, in f64, deterministic), the band-limited resampling of an IR, and the stage words
//! that ask for them.
//!
//! Setup only (chain building).

use std::f64::consts::PI;

/// Taper windows for the windowed-sinc designs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Window {
    Hann,
    Hamming,
    Blackman,
    Kaiser(f64),
}

impl Window {
    /// Transition width x taps / rate for this window (the usual rule-of-thumb mainlobe
    /// widths), used to pick a length from a transition width.
    pub fn width_factor(self) -> f64 {
        match self {
            Window::Hann => 3.1,
            Window::Hamming => 3.3,
            Window::Blackman => 5.5,
            // Kaiser's formula: (A - 8) / (2.285 * 2 pi) with A from beta (inverse of
            // beta = 0.1102 (A - 8.7)).
            Window::Kaiser(beta) => ((beta / 0.1102 + 8.7) - 8.0) / (2.285 * 2.0 * PI),
        }
    }

    fn value(self, n: usize, len: usize) -> f64 {
        if len == 1 {
            return 1.0;
        }
        let x = n as f64 / (len - 1) as f64;
        match self {
            Window::Hann => 0.5 - 0.5 * (2.0 * PI * x).cos(),
            Window::Hamming => 0.54 - 0.46 * (2.0 * PI * x).cos(),
            Window::Blackman => 0.42 - 0.5 * (2.0 * PI * x).cos() + 0.08 * (4.0 * PI * x).cos(),
            Window::Kaiser(beta) => {
                let r = 2.0 * x - 1.0;
                bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
            }
        }
    }
}

fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..200 {
        term *= (x / (2.0 * k as f64)).powi(2);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// `n` taps of 1/n.
pub fn moving_average(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}

/// A sampled Gaussian of standard deviation `sigma` samples, `taps` long (odd), summing to 1.
pub fn gaussian(sigma: f64, taps: usize) -> Vec<f64> {
    let half = (taps / 2) as f64;
    let mut k: Vec<f64> = (0..taps)
        .map(|i| (-0.5 * ((i as f64 - half) / sigma).powi(2)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// The default Gaussian length: +-`int(4 sigma + 0.5)`, as scipy.ndimage.gaussian_filter's
/// `truncate=4` (the same rule `convoy convolve`'s `gauss:` uses).
pub fn gaussian_taps(sigma: f64) -> usize {
    2 * (4.0 * sigma + 0.5).floor() as usize + 1
}

/// Savitzky-Golay smoothing coefficients (scipy.signal.savgol_coeffs(window, order), the value
/// of the least-squares polynomial at the window's centre), in convolution order.
///
/// The least-squares fit of a degree-`order` polynomial evaluated at the centre is
/// `sum_k p_k(0) <p_k, y>` over polynomials `p_k` orthonormal on the window's points, so the
/// coefficient of point `i` is `sum_k p_k(0) p_k(x_i)`. The `p_k` come from the three-term
/// (Stieltjes) recurrence, one vector of the window's length per degree: O(window x order)
/// work and O(window) memory, and far better conditioned than the normal equations of a
/// Vandermonde matrix.
pub fn savitzky_golay(window: usize, order: usize) -> Vec<f64> {
    let mut h = vec![0.0; window];
    orthonormal_polynomials(window, order, |p, p0| {
        for (hi, v) in h.iter_mut().zip(p) {
            *hi += v * p0;
        }
    });
    // Symmetric for the centre value, so convolution order is the same as correlation order.
    h
}

/// The least-squares polynomial of degree `order` through `y` (at points 0, 1, ...),
/// evaluated at every point: `np.polyval(np.polyfit(arange(len(y)), y, order), arange(len(y)))`
/// (what scipy.signal.savgol_filter's mode='interp' puts at the edges), by the same
/// orthonormal polynomials.
pub fn polynomial_fit(y: &[f64], order: usize) -> Vec<f64> {
    let mut fit = vec![0.0; y.len()];
    orthonormal_polynomials(y.len(), order, |p, _| {
        let c: f64 = p.iter().zip(y).map(|(a, b)| a * b).sum();
        for (f, v) in fit.iter_mut().zip(p) {
            *f += c * v;
        }
    });
    fit
}

/// Calls `visit(p_k, p_k(centre))` for the polynomials of degree 0 to `order` orthonormal on
/// `window` evenly spaced points (mapped to [-1, 1]), from the three-term (Stieltjes)
/// recurrence: O(window x order) work, O(window) memory.
fn orthonormal_polynomials(window: usize, order: usize, mut visit: impl FnMut(&[f64], f64)) {
    if window == 0 {
        return;
    }
    let half = (window as f64 - 1.0) / 2.0;
    let scale = half.max(1.0);
    let xs: Vec<f64> = (0..window).map(|i| (i as f64 - half) / scale).collect();
    let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
    // p_0 = 1 / sqrt(window); at the centre (x = 0) likewise.
    let mut prev = vec![0.0; window];
    let mut cur = vec![1.0 / (window as f64).sqrt(); window];
    let (mut prev0, mut cur0) = (0.0, 1.0 / (window as f64).sqrt());
    visit(&cur, cur0);
    let mut beta = 0.0;
    for _ in 0..order.min(window - 1) {
        let alpha: f64 = xs.iter().zip(&cur).map(|(x, p)| x * p * p).sum();
        let mut next: Vec<f64> = xs
            .iter()
            .zip(cur.iter().zip(&prev))
            .map(|(x, (c, p))| (x - alpha) * c - beta * p)
            .collect();
        // One re-orthogonalization against the last two keeps the recurrence honest at
        // high degree (the loss of orthogonality of Lanczos).
        for q in [&cur, &prev] {
            let d: f64 = next.iter().zip(q.iter()).map(|(a, b)| a * b).sum();
            next.iter_mut().zip(q.iter()).for_each(|(a, b)| *a -= d * b);
        }
        let b = norm(&next);
        if b == 0.0 || !b.is_finite() {
            break;
        }
        next.iter_mut().for_each(|v| *v /= b);
        let next0 = ((0.0 - alpha) * cur0 - beta * prev0) / b;
        visit(&next, next0);
        prev = std::mem::replace(&mut cur, next);
        (prev0, cur0) = (cur0, next0);
        beta = b;
    }
}

/// Which band a windowed-sinc design passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Band {
    Lowpass(f64),
    Highpass(f64),
    Bandpass(f64, f64),
    Bandstop(f64, f64),
}

/// Amplitude response of a symmetric (linear-phase) kernel at `freq` Hz.
pub fn amplitude(kernel: &[f64], freq: f64, rate: f64) -> f64 {
    Dtft::at(kernel, 2.0 * PI * freq / rate).magnitude()
}

/// A kernel's transform at one frequency: `sum h[n] e^{-jwn}` and, for the group delay,
/// `sum n h[n] e^{-jwn}`.
pub struct Dtft {
    re: f64,
    im: f64,
    nre: f64,
    nim: f64,
}

impl Dtft {
    /// The sums at `w` radians per sample, the exponential turned by one multiplication a tap
    /// and set exactly every 1024 taps (its rounding drift stays below 1e-13): no sin/cos pair
    /// per tap. Four taps at a time, each with its own exponential turned by `4w` and its own
    /// sums: four independent chains instead of one whose every step waits for the last
    /// (a 262,144-tap IR's delay is quoted at setup, and one chain took ~1 ms per frequency).
    pub fn at(kernel: &[f64], w: f64) -> Dtft {
        const LANES: usize = 4;
        let (sw, cw) = (LANES as f64 * w).sin_cos();
        let mut re = [0.0f64; LANES];
        let mut im = [0.0f64; LANES];
        let mut nre = [0.0f64; LANES];
        let mut nim = [0.0f64; LANES];
        for (start, chunk) in kernel.chunks(1024).enumerate() {
            let first = start * 1024;
            let mut pc = [0.0f64; LANES];
            let mut ps = [0.0f64; LANES];
            for l in 0..LANES {
                (ps[l], pc[l]) = (w * (first + l) as f64).sin_cos();
            }
            let mut n = first;
            let mut taps = chunk.chunks_exact(LANES);
            for four in &mut taps {
                for l in 0..LANES {
                    let (v, nv) = (four[l], (n + l) as f64 * four[l]);
                    re[l] += v * pc[l];
                    im[l] -= v * ps[l];
                    nre[l] += nv * pc[l];
                    nim[l] -= nv * ps[l];
                    (pc[l], ps[l]) = (pc[l] * cw - ps[l] * sw, ps[l] * cw + pc[l] * sw);
                }
                n += LANES;
            }
            // The last few taps: lane l's exponential is already at tap n + l.
            for (l, &v) in taps.remainder().iter().enumerate() {
                let nv = (n + l) as f64 * v;
                re[l] += v * pc[l];
                im[l] -= v * ps[l];
                nre[l] += nv * pc[l];
                nim[l] -= nv * ps[l];
            }
        }
        let sum = |a: [f64; LANES]| a.iter().sum::<f64>();
        Dtft {
            re: sum(re),
            im: sum(im),
            nre: sum(nre),
            nim: sum(nim),
        }
    }

    pub fn magnitude(&self) -> f64 {
        (self.re * self.re + self.im * self.im).sqrt()
    }

    /// The group delay in samples (0 where the response is 0).
    pub fn group_delay(&self) -> f64 {
        let mag2 = self.re * self.re + self.im * self.im;
        if mag2 > 0.0 {
            (self.nre * self.re + self.nim * self.im) / mag2
        } else {
            0.0
        }
    }
}

fn windowed_lowpass(fc: f64, rate: f64, taps: usize, window: &[f64]) -> Vec<f64> {
    let mid = (taps - 1) as f64 / 2.0;
    let f = fc / rate;
    (0..taps)
        .map(|n| {
            let t = n as f64 - mid;
            let sinc = if t == 0.0 {
                2.0 * f
            } else {
                (2.0 * PI * f * t).sin() / (PI * t)
            };
            sinc * window[n]
        })
        .collect()
}

fn raw_design(band: Band, rate: f64, taps: usize, window: &[f64]) -> Vec<f64> {
    let nyq = rate / 2.0;
    let scaled = |mut k: Vec<f64>, at: f64| {
        let g = amplitude(&k, at, rate);
        if g > 0.0 {
            k.iter_mut().for_each(|v| *v /= g);
        }
        k
    };
    let delta = |k: &mut Vec<f64>, sign: f64| {
        k.iter_mut().for_each(|v| *v *= sign);
        let mid = (taps - 1) / 2;
        k[mid] += 1.0;
    };
    match band {
        Band::Lowpass(fc) => scaled(windowed_lowpass(fc, rate, taps, window), 0.0),
        Band::Highpass(fc) => {
            let mut k = scaled(windowed_lowpass(fc, rate, taps, window), 0.0);
            delta(&mut k, -1.0);
            scaled(k, nyq)
        }
        Band::Bandpass(lo, hi) => {
            let a = windowed_lowpass(hi, rate, taps, window);
            let b = windowed_lowpass(lo, rate, taps, window);
            let k: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
            scaled(k, (lo + hi) / 2.0)
        }
        Band::Bandstop(lo, hi) => {
            let a = windowed_lowpass(hi, rate, taps, window);
            let b = windowed_lowpass(lo, rate, taps, window);
            let mut k: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y - x).collect();
            delta(&mut k, 1.0);
            scaled(k, 0.0)
        }
    }
}

/// A linear-phase windowed-sinc design whose response is -3 dB (1/sqrt 2) exactly at each
/// requested edge: a raw windowed sinc is -6 dB at its cutoff, so each design cutoff is moved
/// (by bisection on the actual response) until the designed filter crosses -3 dB at the
/// frequency the user asked for.
pub fn windowed_sinc(band: Band, rate: f64, taps: usize, window: Window) -> Vec<f64> {
    let target = std::f64::consts::FRAC_1_SQRT_2;
    let nyq = rate / 2.0;
    let taper: Vec<f64> = (0..taps).map(|n| window.value(n, taps)).collect();
    let window = &taper[..];
    // Find the design edge `d` with response(at) = -3 dB, the response being monotone in d
    // around the edge. `passes_above`: the passband lies above `at` (a highpass-like edge).
    let solve_edge = |make: &dyn Fn(f64) -> Vec<f64>, at: f64, passes_above: bool| -> f64 {
        let (mut lo, mut hi) = (1e-6 * nyq, nyq * (1.0 - 1e-6));
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            let g = amplitude(&make(mid), at, rate);
            // Lowpass-like: raising the design edge raises the gain at `at`.
            let too_low = if passes_above { g > target } else { g < target };
            if too_low {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    match band {
        Band::Lowpass(fc) | Band::Highpass(fc) => {
            let high = matches!(band, Band::Highpass(_));
            let make = |d: f64| {
                let edge = if high {
                    Band::Highpass(d)
                } else {
                    Band::Lowpass(d)
                };
                raw_design(edge, rate, taps, window)
            };
            make(solve_edge(&make, fc, high))
        }
        Band::Bandpass(lo, hi) | Band::Bandstop(lo, hi) => {
            let stop = matches!(band, Band::Bandstop(..));
            let make = |a: f64, b: f64| {
                if stop {
                    raw_design(Band::Bandstop(a, b), rate, taps, window)
                } else {
                    raw_design(Band::Bandpass(a, b), rate, taps, window)
                }
            };
            let (mut a, mut b) = (lo, hi);
            // The two edges interact only weakly: a few rounds of one-edge-at-a-time
            // bisection converge.
            for _ in 0..4 {
                a = solve_edge(&|d| make(d.min(b * 0.999_999), b), lo, !stop);
                b = solve_edge(&|d| make(a, d.max(a * 1.000_001)), hi, stop);
            }
            make(a, b)
        }
    }
}

/// The default transition width for a band: a quarter of the distance from the nearest edge to
/// 0 Hz, to Nyquist, or to the other edge, and at least 1/2000 of the rate (longer than that
/// stops being a filter and starts being a delay).
pub fn default_transition(band: Band, rate: f64) -> f64 {
    let nyq = rate / 2.0;
    let room = match band {
        Band::Lowpass(f) | Band::Highpass(f) => f.min(nyq - f),
        Band::Bandpass(a, b) | Band::Bandstop(a, b) => a.min(nyq - b).min(b - a),
    };
    (room / 4.0).max(rate / 2000.0)
}

/// The first edge a designed kernel misses, and its level there in dB: the response must cross
/// -3 dB within 1 % of every requested edge frequency (what the README promises). `None` when
/// it does.
pub fn missed_edge(kernel: &[f64], band: Band, rate: f64) -> Option<(f64, f64)> {
    let half_power = std::f64::consts::FRAC_1_SQRT_2;
    let edges: Vec<f64> = match band {
        Band::Lowpass(f) | Band::Highpass(f) => vec![f],
        Band::Bandpass(a, b) | Band::Bandstop(a, b) => vec![a, b],
    };
    let nyq = rate / 2.0;
    edges.into_iter().find_map(|e| {
        let (a, b) = (
            amplitude(kernel, e * 0.99, rate),
            amplitude(kernel, (e * 1.01).min(nyq), rate),
        );
        let crosses = (a - half_power) * (b - half_power) <= 0.0;
        let at = amplitude(kernel, e, rate);
        (!crosses || (at - half_power).abs() > 0.02).then(|| (e, 20.0 * at.max(1e-20).log10()))
    })
}

/// The fewest taps (odd, at least `from`, at most 2^20) whose design reaches every edge, found
/// by doubling and then bisecting; `None` when even 2^20 taps do not.
pub fn taps_reaching(band: Band, rate: f64, window: Window, from: usize) -> Option<usize> {
    let ok = |n: usize| missed_edge(&windowed_sinc(band, rate, n, window), band, rate).is_none();
    let mut hi = (from | 1).max(3);
    while !ok(hi) {
        if hi >= 1 << 20 {
            return None;
        }
        hi = ((hi * 2) | 1).min((1 << 20) + 1);
    }
    let mut lo = from.max(1);
    // Invariant: ok(hi); lo is not known to be ok. Bisect over odd counts to within 1 %.
    while hi - lo > 2 && (hi - lo) * 100 > hi {
        let mid = ((lo + hi) / 2) | 1;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Taps (odd) for a transition width in Hz with `window`.
pub fn taps_for(transition: f64, rate: f64, window: Window) -> usize {
    let n = (window.width_factor() * rate / transition).ceil() as usize;
    (n | 1).max(3)
}

// The stage words whose kernels are designed here (`ma`, `box`, `taps`, `gauss`, `savgol`,
// `lowpass`, `highpass`, `bandpass`, `bandstop`): each checks its word and designs its kernel.

use super::spec::Spec;
use super::{Built, check_kernel, linear, rate, units};
use crate::chain::{Context, Edges, Kernels, MAX_TAPS, Stage, WholeStage};
use crate::conv::{Boundary, Mode};
use crate::error::Result;

/// The most a Savitzky-Golay window times its order may be (the design costs about that many
/// operations; 2^27 is a fraction of a second).
const SAVGOL_WORK: usize = 1 << 27;

/// `ma:N`, `box:N`.
pub(super) fn moving_average_stage(w: &Spec, _ctx: &Context) -> Result<Built> {
    let same = Mode::Same;
    let (kernels, mode) = {
        w.check_opts(&["mode"])?;
        w.want_args(1..=1, &format!("{}:N (taps)", w.name))?;
        (
            Kernels::Shared(moving_average(w.count(
                "length",
                w.args[0],
                MAX_TAPS,
                "2^22 taps",
            )?)),
            w.mode(same)?,
        )
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// `taps:a,b,c`, `taps:@file`.
pub(super) fn taps_stage(w: &Spec, _ctx: &Context) -> Result<Built> {
    let mut reads = Vec::new();
    let same = Mode::Same;
    let (kernels, mode) = {
        w.check_opts(&["mode"])?;
        let k = if let Some(file) = w.args.first().and_then(|a| a.strip_prefix('@')) {
            if w.args.len() != 1 {
                return Err(w.err("usage: taps:@FILE or taps:a,b,c"));
            }
            let path = w.path(file);
            let array = crate::io::load_file(&path).map_err(|e| w.err(e))?;
            if array.width() != 1 {
                return Err(w.err(format!(
                    "{file} has {} columns; a kernel is one",
                    array.width()
                )));
            }
            if array.rows() > MAX_TAPS {
                return Err(w.err(format!(
                    "{file} has {} taps, over the limit of 2^22 taps",
                    array.rows()
                )));
            }
            reads.push(path);
            array.columns.into_iter().next().unwrap_or_default()
        } else {
            // Commas or spaces between taps ("taps:0.25 0.5 0.25" quoted as one word).
            let taps: Vec<&str> = w.args.iter().flat_map(|a| a.split_whitespace()).collect();
            if taps.is_empty() {
                return Err(w.err("usage: taps:a,b,c or taps:@FILE"));
            }
            if taps.len() > MAX_TAPS {
                return Err(w.err("over the limit of 2^22 taps"));
            }
            taps.iter()
                .map(|a| w.number("tap", a))
                .collect::<Result<Vec<f64>>>()?
        };
        check_kernel(w, &k, "kernel")?;
        (Kernels::Shared(k), w.mode(same)?)
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads,
        note: None,
        upmix: None,
    })
}

/// `gauss:SIGMA[,taps=N]`.
pub(super) fn gauss_stage(w: &Spec, _ctx: &Context) -> Result<Built> {
    let same = Mode::Same;
    let (kernels, mode) = {
        w.check_opts(&["sigma", "taps", "mode"])?;
        let sigma_text = match (w.args.first(), w.opt("sigma")) {
            (Some(a), None) => *a,
            (None, Some(s)) => s,
            _ => return Err(w.err("usage: gauss:SIGMA or gauss:sigma=S[,taps=N]")),
        };
        let sigma = w.number("sigma", sigma_text)?;
        if sigma <= 0.0 {
            return Err(w.err("sigma must be above 0"));
        }
        let taps = match w.opt("taps") {
            Some(t) => w.count("taps", t, MAX_TAPS, "2^22 taps")?,
            None => {
                // scipy.ndimage's support: +-int(4 sigma + 0.5).
                let t = 2.0 * (4.0 * sigma + 0.5).floor() + 1.0;
                if t > MAX_TAPS as f64 {
                    return Err(w.err("sigma too large (over the limit of 2^22 taps)"));
                }
                gaussian_taps(sigma)
            }
        };
        (Kernels::Shared(gaussian(sigma, taps)), w.mode(same)?)
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// `savgol:W,ORDER`.
pub(super) fn savgol_stage(w: &Spec, _ctx: &Context) -> Result<Built> {
    let same = Mode::Same;
    let (kernels, mode) = {
        w.check_opts(&["mode"])?;
        w.want_args(2..=2, "savgol:WINDOW,ORDER")?;
        let window = w.count("window", w.args[0], MAX_TAPS, "2^22 taps")?;
        let order = w.number("order", w.args[1])?;
        if order < 0.0 || order.fract() != 0.0 {
            return Err(w.err("order must be a whole number >= 0"));
        }
        let order = order as usize;
        if order >= window {
            return Err(w.err(format!(
                "order {order} must be less than the window {window}"
            )));
        }
        if window > 100_001 {
            return Err(w.err("window over 100001 taps: use gauss or ma for that much smoothing"));
        }
        if window.saturating_mul(order + 1) > SAVGOL_WORK {
            return Err(w.err(format!(
                "window x (order + 1) = {} is over the limit of {SAVGOL_WORK}: a polynomial of order {order} over {window} points is not smoothing (lower the order)",
                window.saturating_mul(order + 1)
            )));
        }
        let kernels = Kernels::Shared(savitzky_golay(window, order));
        // scipy.signal.savgol_filter's edge modes (interp by default, for an odd window: an
        // even one has no centre point, and keeps np.convolve's 'same'), or np.convolve's.
        let edges = match w.opt("mode") {
            None if window % 2 == 1 => Some(Edges::Interp {
                window,
                order,
                asked: false,
            }),
            None => None,
            Some("interp") if window % 2 == 0 => {
                return Err(w.err("mode=interp needs an odd window (as scipy's savgol_filter)"));
            }
            Some("interp") => Some(Edges::Interp {
                window,
                order,
                asked: true,
            }),
            Some("mirror") => Some(Edges::Extend(Boundary::Reflect)),
            Some("nearest") => Some(Edges::Extend(Boundary::Edge)),
            Some("wrap") => Some(Edges::Extend(Boundary::Wrap)),
            Some("constant") => None,
            Some("same" | "full" | "valid") => None,
            Some(other) => {
                return Err(w.err(format!(
                    "mode '{other}' is not interp, mirror, nearest, constant, wrap (scipy's savgol_filter) or same, full, valid (np.convolve's)"
                )));
            }
        };
        if let Some(edges) = edges {
            return Ok(Built {
                stage: Stage::Whole(WholeStage {
                    word: w.text.to_string(),
                    kernels,
                    edges,
                }),
                reads: Vec::new(),
                note: None,
                upmix: None,
            });
        }
        let mode = if w.opt("mode") == Some("constant") {
            same
        } else {
            w.mode(same)?
        };
        (kernels, mode)
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

/// `lowpass:HZ`, `highpass:HZ`, `bandpass:LO,HI`, `bandstop:LO,HI`.
pub(super) fn filter_stage(w: &Spec, ctx: &Context) -> Result<Built> {
    let same = Mode::Same;
    let (kernels, mode) = {
        w.check_opts(&["taps", "transition", "window", "beta", "mode"])?;
        let rate = rate(w, ctx)?;
        let band = match w.name {
            "lowpass" | "highpass" => {
                w.want_args(1..=1, &format!("{}:HZ", w.name))?;
                let f = w.unit(units::hz(w.args[0], rate))?;
                if w.name == "lowpass" {
                    Band::Lowpass(f)
                } else {
                    Band::Highpass(f)
                }
            }
            _ => {
                w.want_args(2..=2, &format!("{}:LO,HI", w.name))?;
                let (lo, hi) = (
                    w.unit(units::hz(w.args[0], rate))?,
                    w.unit(units::hz(w.args[1], rate))?,
                );
                if lo >= hi {
                    return Err(w.err(format!(
                        "low edge {lo} Hz must be below the high edge {hi} Hz"
                    )));
                }
                if w.name == "bandpass" {
                    Band::Bandpass(lo, hi)
                } else {
                    Band::Bandstop(lo, hi)
                }
            }
        };
        let window = match w.opt("window").unwrap_or("hamming") {
            "hann" => Window::Hann,
            "hamming" => Window::Hamming,
            "blackman" => Window::Blackman,
            "kaiser" => {
                let beta = match w.opt("beta") {
                    Some(b) => w.number("beta", b)?,
                    None => 8.6,
                };
                if !(0.0..=50.0).contains(&beta) {
                    return Err(w.err("beta must be 0 to 50"));
                }
                Window::Kaiser(beta)
            }
            other => {
                return Err(w.err(format!(
                    "window '{other}' is not hann, hamming, blackman or kaiser"
                )));
            }
        };
        if w.opt("beta").is_some() && !matches!(window, Window::Kaiser(_)) {
            return Err(w.err("beta= applies to window=kaiser only"));
        }
        let taps = match (w.opt("taps"), w.opt("transition")) {
            (Some(_), Some(_)) => return Err(w.err("give taps= or transition=, not both")),
            (Some(t), None) => {
                let n = w.count("taps", t, MAX_TAPS, "2^22 taps")?;
                if n % 2 == 0 {
                    return Err(w.err(format!(
                        "taps={n}: must be odd (a linear-phase filter with a centre tap)"
                    )));
                }
                n
            }
            (None, tr) => {
                let transition = match tr {
                    Some(t) => w.unit(units::hz(t, rate))?,
                    None => default_transition(band, rate),
                };
                let n = taps_for(transition, rate, window);
                if n > (1 << 20) {
                    return Err(w.err(format!(
                        "the transition asked for needs {n} taps (over 2^20): widen transition= or give taps="
                    )));
                }
                n
            }
        };
        let k = windowed_sinc(band, rate, taps, window);
        if let Some((edge, db)) = missed_edge(&k, band, rate) {
            let need = taps_reaching(band, rate, window, taps);
            return Err(w.err(format!(
                "with {taps} taps the response at {edge} Hz is {db:+.2} dB, not -3 dB: the edge is too close to {} for so short a filter; it takes {} (or leave taps=/transition= out for the default)",
                if edge < rate / 4.0 { "0 Hz" } else { "Nyquist" },
                match need {
                    Some(n) => format!("about {n} taps"),
                    None => "a narrower transition= than 2^20 taps can give".to_string(),
                }
            )));
        }
        (Kernels::Shared(k), w.mode(same)?)
    };
    Ok(Built {
        stage: linear(w, kernels, mode),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn savgol_matches_scipy() {
        // scipy.signal.savgol_coeffs(5, 2)
        let want = [
            -0.085_714_285_714_285_7,
            0.342_857_142_857_142_9,
            0.485_714_285_714_285_7,
            0.342_857_142_857_142_9,
            -0.085_714_285_714_285_7,
        ];
        for (g, w) in savitzky_golay(5, 2).iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        // savgol_coeffs(7, 3) == savgol_coeffs(7, 2)
        let a = savitzky_golay(7, 3);
        let b = savitzky_golay(7, 2);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-10);
        }
    }

    #[test]
    fn windowed_sinc_edges_sit_at_minus_3_db() {
        let rate = 48_000.0;
        let half_power = std::f64::consts::FRAC_1_SQRT_2;
        for (band, edges) in [
            (Band::Lowpass(1000.0), vec![1000.0]),
            (Band::Highpass(80.0), vec![80.0]),
            (Band::Bandpass(300.0, 3400.0), vec![300.0, 3400.0]),
            (Band::Bandstop(900.0, 1100.0), vec![900.0, 1100.0]),
        ] {
            for window in [
                Window::Hann,
                Window::Hamming,
                Window::Blackman,
                Window::Kaiser(8.0),
            ] {
                let taps = taps_for(default_transition(band, rate), rate, window);
                let k = windowed_sinc(band, rate, taps, window);
                for &e in &edges {
                    let g = amplitude(&k, e, rate);
                    assert!(
                        (g - half_power).abs() < 1e-3,
                        "{band:?} {window:?} at {e}: {g}"
                    );
                    // and within 1 % in frequency: the response crosses between e*0.99, e*1.01
                    let (a, b) = (amplitude(&k, e * 0.99, rate), amplitude(&k, e * 1.01, rate));
                    assert!(
                        (a - half_power) * (b - half_power) <= 0.0,
                        "{band:?} {window:?}"
                    );
                }
            }
        }
    }
}

/// Band-limited resampling of a finite signal (an impulse response) from `from` Hz to `to` Hz
/// by the DFT, as `scipy.signal.resample` does: zero-padded (so the periodic extension does not
/// wrap the tail onto the head), spectrum truncated or zero-extended, transformed back. Exact
/// for band-limited content; the anti-aliasing is the ideal brick wall at the lower Nyquist.
pub fn resample(x: &[f64], from: u32, to: u32) -> Vec<f64> {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let (from, to) = (u64::from(from), u64::from(to));
    let g = gcd(from, to);
    let (p, q) = (from / g, to / g);
    let want = (x.len() as u64 * to).div_ceil(from) as usize;
    let padded = x.len() as u64 + (x.len() as u64 / 4).max(64);
    let l = padded.div_ceil(p) * p;
    let l_out = l / p * q;
    let (l, l_out) = (l as usize, l_out as usize);
    let forward = crate::conv::sample::real_forward::<f64>(l);
    let inverse = crate::conv::sample::real_inverse::<f64>(l_out);
    let mut time = vec![0.0; l];
    time[..x.len()].copy_from_slice(x);
    let mut spectrum = forward.make_output_vec();
    if forward.process(&mut time, &mut spectrum).is_err() {
        return x.to_vec();
    }
    let mut out_spec = inverse.make_input_vec();
    let n = out_spec.len().min(spectrum.len());
    out_spec[..n].copy_from_slice(&spectrum[..n]);
    out_spec[0].im = 0.0;
    if let Some(last) = out_spec.last_mut() {
        last.im = 0.0;
    }
    let mut y = inverse.make_output_vec();
    if inverse.process(&mut out_spec, &mut y).is_err() {
        return x.to_vec();
    }
    y.truncate(want);
    // The inverse transform of the kept spectrum, divided by the forward length, puts the same
    // waveform on the new grid (a tone keeps its amplitude). An impulse response must keep its
    // frequency response instead, i.e. its sum scaled by from/to: at twice the rate there are
    // twice as many samples under the same curve. (l_out / l = to / from.)
    let mut scale = 1.0 / l_out as f64;
    // Cutting the result to its length drops the band-limited interpolation's ringing (before
    // the first sample it wraps to the end of the transform): a few tenths of a dB at DC for a
    // short kernel with sharp edges. Put DC back where the response has it (the original
    // sum), unless the kernel has no DC to speak of.
    let sum_x: f64 = x.iter().sum();
    let sum_y: f64 = y.iter().sum::<f64>() * scale;
    let energy = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let want_dc = sum_x;
    if sum_x.abs() > 1e-3 * energy && sum_y.abs() > 0.0 && (want_dc / sum_y) > 0.0 {
        scale *= want_dc / sum_y;
    }
    y.iter_mut().for_each(|v| *v *= scale);
    y
}

#[cfg(test)]
mod resample_tests {
    use super::*;

    #[test]
    fn resampling_a_band_limited_tone_keeps_it() {
        // A 1 kHz tone under a smooth window, 44.1 kHz -> 48 kHz and back down to 32 kHz.
        let tone = |rate: f64, n: usize| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let t = i as f64 / rate;
                    let w = (std::f64::consts::PI * i as f64 / n as f64).sin().powi(2);
                    w * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()
                })
                .collect()
        };
        let x = tone(44_100.0, 4410);
        for to in [48_000u32, 32_000] {
            // The waveform on the new grid, scaled by from/to (the response is kept).
            let y = resample(&x, 44_100, to);
            let want = tone(f64::from(to), (4410 * to as usize).div_ceil(44_100));
            assert_eq!(y.len(), want.len());
            let g = 44_100.0 / f64::from(to);
            let err = y
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b * g).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-3, "{to}: {err}");
        }
    }

    #[test]
    fn a_resampled_ir_keeps_its_dc_gain_and_passband_level() {
        // Issue 14 item 13: a 5-tap average at 24 kHz used at 48 kHz was +5.74 dB at DC.
        let ma = vec![0.2; 5];
        for (from, to) in [(24_000u32, 48_000u32), (96_000, 48_000), (44_100, 48_000)] {
            let y = resample(&ma, from, to);
            let dc: f64 = y.iter().sum();
            assert!((20.0 * dc.log10()).abs() < 0.05, "{from}->{to}: DC {dc}");
            // A passband frequency: 500 Hz, well inside the average's main lobe everywhere.
            let before = amplitude(&ma, 500.0, f64::from(from));
            let after = amplitude(&y, 500.0, f64::from(to));
            assert!(
                (20.0 * (after / before).log10()).abs() < 0.1,
                "{from}->{to}: {before} vs {after}"
            );
        }
    }
}
