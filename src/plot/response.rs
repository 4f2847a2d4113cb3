//! Frequency response of a kernel: magnitude, phase and group delay at log-spaced frequencies,
//! evaluated from the impulse response itself (so any stage, `fir:` IRs included, is shown as
//! it is).

use std::sync::Arc;

/// One frequency of a response.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub hz: f64,
    pub magnitude_db: f64,
    /// Wrapped to (-180, 180].
    pub phase_deg: f64,
    /// -d(phase)/d(omega), in samples.
    pub group_delay: f64,
}

/// `n` frequencies from 1 Hz to Nyquist, evenly spaced in log frequency.
pub fn log_frequencies(rate: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = (1.0f64, rate / 2.0);
    (0..n)
        .map(|i| {
            if n == 1 {
                return hi;
            }
            let t = i as f64 / (n - 1) as f64;
            (lo.ln() + t * (hi.ln() - lo.ln())).exp()
        })
        .collect()
}

/// The response of kernel `h` at `freqs` (Hz) for sample rate `rate`.
///
/// Short kernels are summed directly (`H(w) = sum h[n] e^{-jwn}`, and `sum n h[n] e^{-jwn}` for
/// the group delay). Long ones go through one zero-padded FFT of at least 16 bins per
/// 1/(kernel length) with linear interpolation between bins, which keeps the cost at a few
/// transforms whatever the kernel.
pub fn evaluate(h: &[f64], rate: f64, freqs: &[f64]) -> Vec<Point> {
    let direct = h.len().saturating_mul(freqs.len()) <= 1 << 27;
    freqs
        .iter()
        .zip(if direct {
            freqs.iter().map(|&f| dtft(h, f / rate)).collect::<Vec<_>>()
        } else {
            interpolated(h, rate, freqs)
        })
        .map(|(&hz, (re, im, nre, nim))| {
            let mag2 = re * re + im * im;
            let magnitude_db = if mag2 > 0.0 {
                10.0 * mag2.log10()
            } else {
                -400.0
            };
            let mut phase_deg = im.atan2(re).to_degrees();
            if phase_deg <= -180.0 {
                phase_deg += 360.0;
            }
            // tau = Re( (sum n h e^{-jwn}) / (sum h e^{-jwn}) )
            let group_delay = if mag2 > 0.0 {
                (nre * re + nim * im) / mag2
            } else {
                0.0
            };
            Point {
                hz,
                magnitude_db,
                phase_deg,
                group_delay,
            }
        })
        .collect()
}

/// Adds a pure delay of `frames` samples to a response: the phase turns by `-2 pi f d`, the
/// group delay grows by `d`, the magnitude is unchanged (a delay is not a kernel, so a
/// ten-minute `delay:` costs nothing here).
pub fn delay(points: &mut [Point], frames: u64, rate: f64) {
    if frames == 0 {
        return;
    }
    let d = frames as f64;
    for p in points {
        // The turn in whole cycles is irrelevant: keep the fraction, exactly enough.
        let cycles = (p.hz / rate * d).fract();
        let mut phase = p.phase_deg - 360.0 * cycles;
        while phase <= -180.0 {
            phase += 360.0;
        }
        while phase > 180.0 {
            phase -= 360.0;
        }
        p.phase_deg = phase;
        p.group_delay += d;
    }
}

/// Multiplies a response by a recursive cascade's exact one (evaluated from its sections, not
/// from a truncated impulse response): magnitudes add in dB, phases and group delays add. A
/// zero-phase cascade (run forwards and backwards) contributes its magnitude twice and no
/// phase.
pub fn recursive(
    points: &mut [Point],
    sos: &[crate::conv::iir::Section],
    zero_phase: bool,
    rate: f64,
) {
    for p in points {
        let w = 2.0 * std::f64::consts::PI * p.hz / rate;
        let h = crate::conv::iir::response(sos, w);
        let mag2 = h.norm_sqr();
        let db = if mag2 > 0.0 {
            10.0 * mag2.log10()
        } else {
            -400.0
        };
        if zero_phase {
            p.magnitude_db += 2.0 * db;
            continue;
        }
        p.magnitude_db += db;
        let mut phase = p.phase_deg + h.arg().to_degrees();
        while phase <= -180.0 {
            phase += 360.0;
        }
        while phase > 180.0 {
            phase -= 360.0;
        }
        p.phase_deg = phase;
        p.group_delay += crate::conv::iir::group_delay(sos, w);
    }
}

/// `(Re H, Im H, Re N, Im N)` at normalized frequency `f` (cycles per sample), with `N` the
/// transform of `n h[n]`. The phasor is recomputed exactly every 256 taps so rounding cannot
/// build up over long kernels.
fn dtft(h: &[f64], f: f64) -> (f64, f64, f64, f64) {
    let w = -2.0 * std::f64::consts::PI * f;
    let (step_im, step_re) = w.sin_cos();
    let (mut re, mut im, mut nre, mut nim) = (0.0, 0.0, 0.0, 0.0);
    for (start, chunk) in h.chunks(256).enumerate().map(|(i, c)| (i * 256, c)) {
        let (mut pim, mut pre) = (w * start as f64).sin_cos();
        for (j, &v) in chunk.iter().enumerate() {
            let n = (start + j) as f64;
            re += v * pre;
            im += v * pim;
            nre += n * v * pre;
            nim += n * v * pim;
            let r = pre * step_re - pim * step_im;
            pim = pre * step_im + pim * step_re;
            pre = r;
        }
    }
    (re, im, nre, nim)
}

fn interpolated(h: &[f64], rate: f64, freqs: &[f64]) -> Vec<(f64, f64, f64, f64)> {
    let n = (h.len() * 16).next_power_of_two().max(1 << 16);
    let fft: Arc<dyn realfft::RealToComplex<f64>> = crate::conv::sample::real_forward(n);
    let spectrum = |x: Vec<f64>| {
        let mut x = x;
        x.resize(n, 0.0);
        let mut out = fft.make_output_vec();
        // Lengths match the plan by construction.
        let _ = fft.process(&mut x, &mut out);
        out
    };
    let hs = spectrum(h.to_vec());
    let ns = spectrum(h.iter().enumerate().map(|(i, v)| i as f64 * v).collect());
    freqs
        .iter()
        .map(|&f| {
            let pos = (f / rate * n as f64).clamp(0.0, (n / 2) as f64);
            let k = (pos.floor() as usize).min(n / 2 - 1);
            let t = pos - k as f64;
            let lerp = |a: realfft::num_complex::Complex<f64>,
                        b: realfft::num_complex::Complex<f64>| {
                a * (1.0 - t) + b * t
            };
            let hv = lerp(hs[k], hs[k + 1]);
            let nv = lerp(ns[k], ns[k + 1]);
            (hv.re, hv.im, nv.re, nv.im)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_matches_its_closed_form() {
        let m = 9;
        let h = vec![1.0 / m as f64; m];
        let rate = 48_000.0;
        let freqs = log_frequencies(rate, 512);
        for p in evaluate(&h, rate, &freqs) {
            let x = std::f64::consts::PI * p.hz / rate;
            let want = ((m as f64 * x).sin() / (m as f64 * x.sin())).abs();
            let got = 10f64.powf(p.magnitude_db / 20.0);
            assert!((got - want).abs() < 1e-9, "{} Hz: {got} vs {want}", p.hz);
            // Linear phase: (M-1)/2 samples of delay wherever the response is not zero.
            if want > 1e-6 {
                assert!((p.group_delay - 4.0).abs() < 1e-6, "{}", p.group_delay);
            }
        }
    }

    #[test]
    fn the_long_kernel_path_agrees_with_the_direct_sum() {
        let h: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919 % 1000) as f64 / 1000.0 - 0.5) * (-(i as f64) / 800.0).exp())
            .collect();
        let rate = 48_000.0;
        let freqs = log_frequencies(rate, 64);
        let a: Vec<_> = freqs.iter().map(|&f| dtft(&h, f / rate)).collect();
        let b = interpolated(&h, rate, &freqs);
        for ((x, y), f) in a.iter().zip(&b).zip(&freqs) {
            let ma = (x.0 * x.0 + x.1 * x.1).sqrt();
            let mb = (y.0 * y.0 + y.1 * y.1).sqrt();
            assert!(
                (ma - mb).abs() < 0.02 * ma.max(0.05),
                "{f} Hz: {ma} vs {mb}"
            );
        }
    }
}
