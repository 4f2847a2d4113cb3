//! IIR designs as second-order sections, with scipy.signal's and the Audio EQ Cookbook's
//! numbers: Butterworth (scipy.signal.butter(..., output='sos'): the analog prototype,
//! the band transform, the bilinear transform with prewarping, and zpk2sos's 'nearest' pairing),
//! scipy's iirnotch and iirpeak, and R. Bristow-Johnson's peaking, shelving and all-pass
//! biquads.
//!
//! Setup only; pure functions.

use std::f64::consts::PI;

use realfft::num_complex::Complex64 as C;

use crate::conv::iir::Section;
use crate::conv::minphase::poly_from_roots;

/// The band of a Butterworth design, edges in Hz.
#[derive(Clone, Copy, Debug)]
pub enum Band {
    Lowpass(f64),
    Highpass(f64),
    Bandpass(f64, f64),
    Bandstop(f64, f64),
}

/// `scipy.signal.butter(order, edges, btype, fs=rate, output='sos')`.
pub fn butter(order: usize, band: Band, rate: f64) -> Vec<Section> {
    // buttap: poles on the left half of the unit circle, no zeros, gain 1.
    let n = order as f64;
    let p: Vec<C> = (0..order)
        .map(|i| {
            let m = -(n - 1.0) + 2.0 * i as f64;
            -C::from_polar(1.0, PI * m / (2.0 * n))
        })
        .collect();
    let z: Vec<C> = Vec::new();
    let k = 1.0;
    // Prewarp for the bilinear transform at fs = 2 (scipy's iirfilter).
    let warp = |f: f64| 4.0 * (PI * (2.0 * f / rate) / 2.0).tan();
    let (z, p, k) = match band {
        Band::Lowpass(f) => lp2lp(&z, &p, k, warp(f)),
        Band::Highpass(f) => lp2hp(&z, &p, k, warp(f)),
        Band::Bandpass(lo, hi) => {
            let (l, h) = (warp(lo), warp(hi));
            lp2bp(&z, &p, k, (l * h).sqrt(), h - l)
        }
        Band::Bandstop(lo, hi) => {
            let (l, h) = (warp(lo), warp(hi));
            lp2bs(&z, &p, k, (l * h).sqrt(), h - l)
        }
    };
    let (z, p, k) = bilinear(&z, &p, k, 2.0);
    zpk2sos(z, p, k)
}

fn prod(v: &[C]) -> C {
    v.iter().fold(C::new(1.0, 0.0), |a, b| a * b)
}

fn lp2lp(z: &[C], p: &[C], k: f64, wo: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    (
        z.iter().map(|v| v * wo).collect(),
        p.iter().map(|v| v * wo).collect(),
        k * wo.powi(degree as i32),
    )
}

fn lp2hp(z: &[C], p: &[C], k: f64, wo: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let mut zh: Vec<C> = z.iter().map(|v| wo / v).collect();
    zh.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    let neg = |v: &[C]| v.iter().map(|x| -x).collect::<Vec<_>>();
    let kh = k * (prod(&neg(z)) / prod(&neg(p))).re;
    (zh, p.iter().map(|v| wo / v).collect(), kh)
}

fn lp2bp(z: &[C], p: &[C], k: f64, wo: f64, bw: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let split = |v: &[C]| {
        let lp: Vec<C> = v.iter().map(|x| x * (bw / 2.0)).collect();
        let mut out: Vec<C> = lp.iter().map(|x| x + (x * x - wo * wo).sqrt()).collect();
        out.extend(lp.iter().map(|x| x - (x * x - wo * wo).sqrt()));
        out
    };
    let mut zb = split(z);
    zb.extend(std::iter::repeat_n(C::new(0.0, 0.0), degree));
    (zb, split(p), k * bw.powi(degree as i32))
}

fn lp2bs(z: &[C], p: &[C], k: f64, wo: f64, bw: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let split = |v: &[C]| {
        let hp: Vec<C> = v.iter().map(|x| (bw / 2.0) / x).collect();
        let mut out: Vec<C> = hp.iter().map(|x| x + (x * x - wo * wo).sqrt()).collect();
        out.extend(hp.iter().map(|x| x - (x * x - wo * wo).sqrt()));
        out
    };
    let mut zb = split(z);
    zb.extend(std::iter::repeat_n(C::new(0.0, wo), degree));
    zb.extend(std::iter::repeat_n(C::new(0.0, -wo), degree));
    let neg = |v: &[C]| v.iter().map(|x| -x).collect::<Vec<_>>();
    let kb = k * (prod(&neg(z)) / prod(&neg(p))).re;
    (zb, split(p), kb)
}

/// scipy's bilinear_zpk: `s -> 2 fs (z - 1) / (z + 1)`, the zeros at infinity to `z = -1`.
fn bilinear(z: &[C], p: &[C], k: f64, fs: f64) -> (Vec<C>, Vec<C>, f64) {
    let degree = p.len() - z.len();
    let fs2 = 2.0 * fs;
    let map = |v: &[C]| v.iter().map(|x| (fs2 + x) / (fs2 - x)).collect::<Vec<C>>();
    let mut zz = map(z);
    zz.extend(std::iter::repeat_n(C::new(-1.0, 0.0), degree));
    let num = prod(&z.iter().map(|x| fs2 - x).collect::<Vec<_>>());
    let den = prod(&p.iter().map(|x| fs2 - x).collect::<Vec<_>>());
    (zz, map(p), k * (num / den).re)
}

/// A value is real within scipy's `_cplxreal` tolerance.
fn is_real(v: C) -> bool {
    v.im.abs() <= 100.0 * f64::EPSILON * v.norm()
}

/// scipy's `_cplxreal`: one of each conjugate pair (positive imaginary part), then the reals,
/// each group sorted by real part.
fn cplxreal(v: Vec<C>) -> Vec<C> {
    let (mut reals, mut complex): (Vec<C>, Vec<C>) = v.into_iter().partition(|x| is_real(*x));
    reals.iter_mut().for_each(|x| x.im = 0.0);
    complex.retain(|x| x.im > 0.0);
    complex.sort_by(|a, b| a.re.total_cmp(&b.re));
    reals.sort_by(|a, b| a.re.total_cmp(&b.re));
    complex.extend(reals);
    complex
}

/// scipy's `_nearest_real_complex_idx`: the index in `from` nearest `to`, among the real
/// values (`Some(true)`), the complex ones (`Some(false)`) or any (`None`).
fn nearest(from: &[C], to: C, real: Option<bool>) -> Option<usize> {
    let mut order: Vec<usize> = (0..from.len()).collect();
    order.sort_by(|&a, &b| (from[a] - to).norm().total_cmp(&(from[b] - to).norm()));
    order
        .into_iter()
        .find(|&i| real.is_none_or(|r| is_real(from[i]) == r))
}

/// scipy's `_single_zpksos`: one section from up to two zeros and two poles, right-aligned.
fn single(z: &[C], p: &[C]) -> Section {
    let (b, a) = (poly_from_roots(z), poly_from_roots(p));
    let mut s = [0.0; 6];
    s[3 - b.len()..3].copy_from_slice(&b);
    s[6 - a.len()..6].copy_from_slice(&a);
    s
}

fn take(v: &mut Vec<C>, i: usize) -> C {
    v.remove(i)
}

/// scipy.signal.zpk2sos(z, p, k) for a digital filter, pairing 'nearest': the poles nearest
/// the unit circle go last, each pole pair with the zeros nearest it; the gain in the first
/// section.
fn zpk2sos(mut z: Vec<C>, mut p: Vec<C>, k: f64) -> Vec<Section> {
    if z.is_empty() && p.is_empty() {
        return vec![[k, 0.0, 0.0, 1.0, 0.0, 0.0]];
    }
    let zero = C::new(0.0, 0.0);
    while p.len() < z.len() {
        p.push(zero);
    }
    while z.len() < p.len() {
        z.push(zero);
    }
    let sections = p.len().div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(zero);
        z.push(zero);
    }
    let mut z = cplxreal(z);
    let mut p = cplxreal(p);
    let mut sos = vec![[0.0; 6]; sections];
    for si in (0..sections).rev() {
        // The next "worst" pole: nearest the unit circle.
        let Some(i1) = (0..p.len()).min_by(|&a, &b| {
            (1.0 - p[a].norm())
                .abs()
                .total_cmp(&(1.0 - p[b].norm()).abs())
        }) else {
            break;
        };
        let p1 = take(&mut p, i1);
        let reals_left = p.iter().filter(|v| is_real(**v)).count();
        if is_real(p1) && reals_left == 0 {
            // The last real pole: with the nearest real zero.
            let Some(iz) = nearest(&z, p1, Some(true)) else {
                sos[si] = single(&[], &[p1]);
                continue;
            };
            let z1 = take(&mut z, iz);
            sos[si] = single(&[z1, zero], &[p1, zero]);
        } else if p.len() + 1 == z.len()
            && !is_real(p1)
            && reals_left == 1
            && z.iter().filter(|v| is_real(**v)).count() == 1
        {
            // One real pole and one real zero left: this complex pole takes a complex zero.
            let iz = nearest(&z, p1, Some(false)).unwrap_or(0);
            let z1 = take(&mut z, iz);
            sos[si] = single(&[z1, z1.conj()], &[p1, p1.conj()]);
        } else {
            let p2 = if is_real(p1) {
                // The real pole nearest the unit circle goes with it.
                let i2 = (0..p.len())
                    .filter(|&i| is_real(p[i]))
                    .min_by(|&a, &b| {
                        (p[a].norm() - 1.0)
                            .abs()
                            .total_cmp(&(p[b].norm() - 1.0).abs())
                    })
                    .unwrap_or(0);
                take(&mut p, i2)
            } else {
                p1.conj()
            };
            match nearest(&z, p1, None) {
                Some(iz) => {
                    let z1 = take(&mut z, iz);
                    if !is_real(z1) {
                        sos[si] = single(&[z1, z1.conj()], &[p1, p2]);
                    } else if let Some(iz2) = nearest(&z, p1, Some(true)) {
                        let z2 = take(&mut z, iz2);
                        sos[si] = single(&[z1, z2], &[p1, p2]);
                    } else {
                        sos[si] = single(&[z1], &[p1, p2]);
                    }
                }
                None => sos[si] = single(&[], &[p1, p2]),
            }
        }
    }
    for v in &mut sos[0][..3] {
        *v *= k;
    }
    sos
}

/// scipy.signal.iirnotch (`peak: false`) or iirpeak (`peak: true`) at `f` Hz with quality `q`.
pub fn notch_peak(f: f64, q: f64, rate: f64, peak: bool) -> Section {
    let w0 = 2.0 * f / rate;
    let bw = w0 / q * PI;
    let w0 = w0 * PI;
    let beta = (bw / 2.0).tan();
    let gain = 1.0 / (1.0 + beta);
    let b = if peak {
        [1.0 - gain, 0.0, -(1.0 - gain)]
    } else {
        [gain, -2.0 * gain * w0.cos(), gain]
    };
    [
        b[0],
        b[1],
        b[2],
        1.0,
        -2.0 * gain * w0.cos(),
        2.0 * gain - 1.0,
    ]
}

/// The Audio EQ Cookbook's biquads.
#[derive(Clone, Copy, Debug)]
pub enum Cookbook {
    /// Peaking EQ, gain in dB.
    Peaking(f64),
    LowShelf(f64),
    HighShelf(f64),
    AllPass,
}

/// The cookbook biquad `kind` at `f` Hz with quality `q`, normalized by `a0`.
pub fn cookbook(kind: Cookbook, f: f64, q: f64, rate: f64) -> Section {
    let w0 = 2.0 * PI * f / rate;
    let (cw, sw) = (w0.cos(), w0.sin());
    let alpha = sw / (2.0 * q);
    let row = match kind {
        Cookbook::Peaking(db) => {
            let a = 10f64.powf(db / 40.0);
            [
                1.0 + alpha * a,
                -2.0 * cw,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cw,
                1.0 - alpha / a,
            ]
        }
        Cookbook::LowShelf(db) => {
            let a = 10f64.powf(db / 40.0);
            let s = 2.0 * a.sqrt() * alpha;
            [
                a * ((a + 1.0) - (a - 1.0) * cw + s),
                2.0 * a * ((a - 1.0) - (a + 1.0) * cw),
                a * ((a + 1.0) - (a - 1.0) * cw - s),
                (a + 1.0) + (a - 1.0) * cw + s,
                -2.0 * ((a - 1.0) + (a + 1.0) * cw),
                (a + 1.0) + (a - 1.0) * cw - s,
            ]
        }
        Cookbook::HighShelf(db) => {
            let a = 10f64.powf(db / 40.0);
            let s = 2.0 * a.sqrt() * alpha;
            [
                a * ((a + 1.0) + (a - 1.0) * cw + s),
                -2.0 * a * ((a - 1.0) + (a + 1.0) * cw),
                a * ((a + 1.0) + (a - 1.0) * cw - s),
                (a + 1.0) - (a - 1.0) * cw + s,
                2.0 * ((a - 1.0) - (a + 1.0) * cw),
                (a + 1.0) - (a - 1.0) * cw - s,
            ]
        }
        Cookbook::AllPass => [
            1.0 - alpha,
            -2.0 * cw,
            1.0 + alpha,
            1.0 + alpha,
            -2.0 * cw,
            1.0 - alpha,
        ],
    };
    let a0 = row[3];
    row.map(|v| v / a0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::iir::response;

    fn db(sos: &[Section], f: f64, rate: f64) -> f64 {
        20.0 * response(sos, 2.0 * PI * f / rate).norm().log10()
    }

    #[test]
    fn butterworth_is_3db_down_at_its_edges_and_flat_in_band() {
        let r = 48_000.0;
        for order in 1..=8 {
            let lp = butter(order, Band::Lowpass(1000.0), r);
            assert!((db(&lp, 1000.0, r) + 3.0103).abs() < 1e-6, "order {order}");
            // The bilinear Butterworth: |H|^2 = 1 / (1 + (tan(w/2) / tan(wc/2))^(2N)).
            let t = |f: f64| (PI * f / r).tan();
            for f in [10.0, 500.0, 2000.0, 10_000.0] {
                let want = -10.0 * (1.0 + (t(f) / t(1000.0)).powi(2 * order as i32)).log10();
                assert!(
                    (db(&lp, f, r) - want).abs() < 1e-9,
                    "order {order} at {f} Hz"
                );
            }
            let hp = butter(order, Band::Highpass(80.0), r);
            assert!((db(&hp, 80.0, r) + 3.0103).abs() < 1e-6, "order {order}");
            assert!(db(&hp, 10_000.0, r).abs() < 1e-3);
            let bp = butter(order, Band::Bandpass(300.0, 3000.0), r);
            assert!((db(&bp, 300.0, r) + 3.0103).abs() < 1e-6);
            assert!((db(&bp, 3000.0, r) + 3.0103).abs() < 1e-6);
            let bs = butter(order, Band::Bandstop(300.0, 3000.0), r);
            assert!((db(&bs, 300.0, r) + 3.0103).abs() < 1e-6);
            assert!(db(&bs, (300.0f64 * 3000.0).sqrt(), r) < -20.0);
        }
    }

    #[test]
    fn the_cookbook_gains_are_where_they_should_be() {
        let r = 48_000.0;
        let peq = [cookbook(Cookbook::Peaking(6.0), 1000.0, 1.0, r)];
        assert!((db(&peq, 1000.0, r) - 6.0).abs() < 1e-9);
        let ls = [cookbook(Cookbook::LowShelf(-4.0), 200.0, 0.707, r)];
        assert!((db(&ls, 5.0, r) + 4.0).abs() < 1e-3);
        let hs = [cookbook(Cookbook::HighShelf(3.0), 5000.0, 0.707, r)];
        assert!((db(&hs, 23_000.0, r) - 3.0).abs() < 1e-2);
        let ap = [cookbook(Cookbook::AllPass, 1000.0, 0.707, r)];
        for f in [10.0, 1000.0, 15_000.0] {
            assert!(db(&ap, f, r).abs() < 1e-9);
        }
        let notch = [notch_peak(60.0, 30.0, r, false)];
        assert!(db(&notch, 60.0, r) < -200.0);
        let peak = [notch_peak(1000.0, 30.0, r, true)];
        assert!(db(&peak, 1000.0, r).abs() < 1e-9);
    }
}
