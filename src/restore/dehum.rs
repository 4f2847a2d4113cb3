//! Mains hum removal by tone subtraction: each harmonic of the mains frequency is fitted as a
//! slowly varying sinusoid (an LMS fit against a quadrature reference) and subtracted.
//!
//! Spectral suppression cannot take a hum out from under speech: it attenuates the whole bin,
//! speech included. Subtracting the fitted tone removes only the part of the signal that is
//! coherent with the mains over a fraction of a second, which speech is not, so the speech
//! under the hum stays. The mains frequency drifts (±0.1 Hz is common); the fit tracks it by
//! turning the drift of the fitted phases into a frequency correction (a phase-locked loop).

use std::f64::consts::TAU;

/// Time constant of the amplitude/phase fit, in seconds: long enough that a word does not look
/// like a tone (the notch is about 1 / (pi tau) = 0.6 Hz wide at each harmonic; speech sitting
/// on a harmonic disturbs the fit less the longer it averages: hum as loud as a male voice is
/// left at -16 dB with 0.25 s, -19 dB with 0.5 s), short enough to follow a hum that swells or
/// a mains frequency that wanders (1 s tracked a 0.4 % offset too slowly).
const FIT_SECONDS: f64 = 0.5;
/// The fit's first step, as the samples of a running mean it starts from (see `ramp`).
const START_SECONDS: f64 = 0.02;
/// How far the tracked mains frequency may wander from nominal (relative).
const MAX_DRIFT: f64 = 0.01;
/// Samples between frequency updates.
const TRACK_EVERY: usize = 256;
/// Harmonics are processed in lanes of this many (the arrays are padded to a multiple).
const LANES: usize = 4;
/// Monitoring: seconds between coherence checks, and checks in a row a harmonic must pass.
const CHECK_SECONDS: f64 = 0.5;
const CHECKS_TO_SUBTRACT: u32 = 3;

/// A hum canceller for one channel.
#[derive(Clone, Debug)]
pub struct Dehum {
    /// Harmonic numbers fitted (1 = the mains frequency itself).
    harmonics: Vec<u32>,
    /// Fundamental, radians per sample: nominal and as tracked.
    nominal: f64,
    omega: f64,
    /// Current phasor of each harmonic, e^{j k omega n} (re, im).
    pr: Vec<f64>,
    pi: Vec<f64>,
    /// Fitted complex amplitude of each harmonic: tone = wr cos - wi sin (the real part of w p).
    wr: Vec<f64>,
    wi: Vec<f64>,
    /// Amplitudes at the last frequency update, for the phase drift.
    last_wr: Vec<f64>,
    last_wi: Vec<f64>,
    /// Rotation per sample of each phasor (cos, sin of k omega), updated with omega.
    step_c: Vec<f64>,
    step_s: Vec<f64>,
    mu: f64,
    /// The fit's step starts as a running mean (1 / samples so far, from `START_SECONDS`'
    /// worth) and only then settles to `mu`: a tone's fit is right within tens of ms instead
    /// of building up over `FIT_SECONDS` (with `mu` alone the hum was still -9 dB from gone
    /// after 0.5 s, and ~2 s to settle).
    ramp: f64,
    since_track: usize,
    /// 1 where the fitted tone is subtracted, 0 where it is only fitted (monitoring).
    mask: Vec<f64>,
    /// Monitoring: the fit at the last check, how many checks in a row each harmonic passed,
    /// samples per check and since the last.
    monitor: Option<Monitor>,
    /// Harmonics fitted at this rate: the first `active` (rounded up to whole lanes). All of
    /// them, except under a `watch`, where a harmonic joins once the detector has proven it.
    active: usize,
    watch: Option<Box<Watch>>,
}

/// A monitor's detector: the same fit with its coherence checks over every candidate
/// harmonic, run on the input averaged over `every` samples (a ~3 kHz stream: the harmonics
/// watched are all below 500 Hz, which the average passes at 0.9 or more). Fitting twenty
/// tones at the full rate cost a fifth of `denoise`'s time; proving them needs no more than
/// this, and only the harmonics proven are fitted and subtracted at the full rate.
#[derive(Clone, Debug)]
struct Watch {
    detector: Dehum,
    every: usize,
    sum: f64,
    count: usize,
}

/// The rate a monitor's detector runs at, about (an integer fraction of the input's).
const DETECT_RATE: f64 = 3000.0;

/// Coherence gating for a canceller that must first prove a tone is there: a steady tone's
/// fitted amplitude is the same half a second later; noise's or speech's is not (the fits
/// half a second apart are nearly independent, so they differ by as much as they measure).
#[derive(Clone, Debug)]
struct Monitor {
    check_wr: Vec<f64>,
    check_wi: Vec<f64>,
    passed: Vec<u32>,
    every: usize,
    since: usize,
}

impl Dehum {
    /// A canceller for mains at `mains_hz` (50 or 60) at `rate`, fitting `harmonics` (each
    /// below Nyquist; others are dropped).
    pub fn new(mains_hz: f64, rate: f64, harmonics: &[u32]) -> Dehum {
        let nominal = TAU * mains_hz / rate;
        let harmonics: Vec<u32> = harmonics
            .iter()
            .copied()
            .filter(|&k| k >= 1 && f64::from(k) * mains_hz * (1.0 + MAX_DRIFT) < rate / 2.0)
            .collect();
        let fitted = harmonics.len();
        let n = fitted.next_multiple_of(LANES);
        let mut pr = vec![0.0; n];
        pr[..fitted].fill(1.0);
        let mut d = Dehum {
            harmonics,
            nominal,
            omega: nominal,
            pr,
            pi: vec![0.0; n],
            wr: vec![0.0; n],
            wi: vec![0.0; n],
            last_wr: vec![0.0; n],
            last_wi: vec![0.0; n],
            // The fit w += 2 mu e conj(p) converges as exp(-mu n): mu = 1 / (tau rate).
            step_c: vec![1.0; n],
            step_s: vec![0.0; n],
            mu: 1.0 / (FIT_SECONDS * rate),
            ramp: START_SECONDS * rate,
            since_track: 0,
            mask: (0..n).map(|i| if i < fitted { 1.0 } else { 0.0 }).collect(),
            monitor: None,
            active: fitted,
            watch: None,
        };
        d.set_steps();
        d
    }

    fn set_steps(&mut self) {
        for (i, &k) in self.harmonics.iter().enumerate() {
            let (s, c) = (f64::from(k) * self.omega).sin_cos();
            self.step_c[i] = c;
            self.step_s[i] = s;
        }
    }

    /// A canceller for an input whose hum is not known: both the 50 and the 60 Hz families up
    /// to `max_hz` are fitted all the time, and a harmonic is subtracted from the time its fit
    /// has stayed put for `CHECKS_TO_SUBTRACT` checks in a row (about a second), i.e. once it
    /// has proven a steady tone. Frequency tracking runs on one nominal (50 Hz, whose harmonics include
    /// 100, 150, ...); the 60 Hz family is fitted as harmonics of 10 Hz (6, 12, ...).
    pub fn monitor(rate: f64, max_hz: f64) -> Dehum {
        let mut ks: Vec<u32> = (1..)
            .map(|k| 5 * k)
            .take_while(|&k| f64::from(k) * 10.0 <= max_hz)
            .collect();
        ks.extend(
            (1..)
                .map(|k| 6 * k)
                .take_while(|&k| f64::from(k) * 10.0 <= max_hz)
                .filter(|k| k % 5 != 0),
        );
        let every = ((rate / DETECT_RATE).floor() as usize).max(1);
        let slow = rate / every as f64;
        let mut detector = Dehum::new(10.0, slow, &ks);
        let n = detector.pr.len();
        detector.mask = vec![0.0; n];
        detector.monitor = Some(Monitor {
            check_wr: vec![0.0; n],
            check_wi: vec![0.0; n],
            passed: vec![0; n],
            every: (CHECK_SECONDS * slow) as usize,
            since: 0,
        });
        let mut d = Dehum::new(10.0, rate, &ks);
        d.mask.fill(0.0);
        d.active = 0;
        d.watch = Some(Box::new(Watch {
            detector,
            every,
            sum: 0.0,
            count: 0,
        }));
        d
    }

    /// Starts fitting and subtracting at the full rate every harmonic the detector has proven
    /// that is not yet: each moves into the fitted prefix of the arrays (from a zero fit: it
    /// converges in `FIT_SECONDS`, while the noise reducer takes the hum as noise meanwhile).
    fn adopt(&mut self) {
        let Some(w) = self.watch.take() else { return };
        for (i, &k) in w.detector.harmonics.iter().enumerate() {
            if w.detector.mask[i] == 0.0 || self.harmonics[..self.active].contains(&k) {
                continue;
            }
            let Some(j) = self.harmonics.iter().position(|&h| h == k) else {
                continue;
            };
            let a = self.active;
            self.harmonics.swap(a, j);
            for v in [
                &mut self.pr,
                &mut self.pi,
                &mut self.wr,
                &mut self.wi,
                &mut self.last_wr,
                &mut self.last_wi,
                &mut self.step_c,
                &mut self.step_s,
                &mut self.mask,
            ] {
                v.swap(a, j);
            }
            self.mask[a] = 1.0;
            self.active += 1;
        }
        self.watch = Some(w);
    }

    /// How many harmonics are being subtracted.
    pub fn subtracting(&self) -> usize {
        self.mask.iter().filter(|&&m| m > 0.0).count()
    }

    /// Every harmonic of `mains_hz` up to `max_hz` (the dehum stage's default set).
    pub fn all_harmonics(mains_hz: f64, max_hz: f64) -> Vec<u32> {
        (1..)
            .take_while(|&k| f64::from(k) * mains_hz <= max_hz)
            .collect()
    }

    pub fn harmonics(&self) -> &[u32] {
        &self.harmonics
    }

    /// The tracked mains frequency in Hz, given the sample rate.
    pub fn mains_hz(&self, rate: f64) -> f64 {
        self.omega * rate / TAU
    }

    /// Removes the fitted tones from `x` in place. No allocation.
    ///
    /// Per sample, in this order: the monitor's detector takes the input (and may hand over a
    /// harmonic it has proven), the fitted tones are subtracted and the fit steps, then the
    /// frequency tracking and the coherence checks fall due. The samples between those events
    /// go through the fit as one run.
    pub fn process(&mut self, x: &mut [f32]) {
        if self.harmonics.is_empty() {
            return;
        }
        let mut at = 0;
        while at < x.len() {
            // The run ends with the next sample on which anything falls due.
            let mut len = (x.len() - at).min(TRACK_EVERY - self.since_track);
            if let Some(w) = &self.watch {
                len = len.min(w.every - w.count);
            }
            if let Some(m) = &self.monitor {
                len = len.min(m.every.saturating_sub(m.since).max(1));
            }
            let run = &mut x[at..at + len];
            at += len;
            let mut fitted = 0;
            if let Some(w) = &mut self.watch {
                // The detector takes the input, before anything is subtracted from it.
                for &v in run.iter() {
                    w.sum += f64::from(v);
                }
                w.count += len;
                if w.count == w.every {
                    // Due on the run's last sample: the ones before it are fitted as they were.
                    fitted = len - 1;
                    let mut mean = [(w.sum / w.every as f64) as f32];
                    w.sum = 0.0;
                    w.count = 0;
                    w.detector.process(&mut mean);
                    let proven = w.detector.subtracting();
                    self.fit(&mut run[..fitted]);
                    if proven > self.active {
                        self.adopt();
                    }
                }
            }
            self.fit(&mut run[fitted..]);
            self.since_track += len;
            if self.since_track == TRACK_EVERY {
                self.since_track = 0;
                self.track();
            }
            if let Some(m) = &mut self.monitor {
                m.since += len;
                if m.since >= m.every {
                    m.since = 0;
                    for i in 0..self.wr.len() {
                        let (dr, di) = (self.wr[i] - m.check_wr[i], self.wi[i] - m.check_wi[i]);
                        let now = self.wr[i] * self.wr[i] + self.wi[i] * self.wi[i];
                        // Steady: moved by less than half its size (-6 dB), and not nothing.
                        if now > 4.0 * (dr * dr + di * di) && now > 1e-10 {
                            m.passed[i] += 1;
                        } else {
                            m.passed[i] = 0;
                        }
                        // Once proven, a harmonic stays subtracted: speech over a hum disturbs
                        // the fit (and so the check) exactly when the hum must keep coming out,
                        // and a fit with no tone left to follow decays to nothing by itself.
                        if m.passed[i] >= CHECKS_TO_SUBTRACT {
                            self.mask[i] = 1.0;
                        }
                        m.check_wr[i] = self.wr[i];
                        m.check_wi[i] = self.wi[i];
                    }
                }
            }
        }
    }

    /// Subtracts the fitted tones from a run of samples and steps the fit on each. Only the
    /// first `active` harmonics (in whole lanes) are fitted here.
    fn fit(&mut self, x: &mut [f32]) {
        // The arrays are padded to whole lanes of 4 (padding: zero phasor, so zero tone and
        // zero update).
        let n = self.active.next_multiple_of(LANES).min(self.pr.len());
        if n == 0 || x.is_empty() {
            return;
        }
        let mut ramp = self.ramp;
        if n == LANES {
            // One lane (up to 4 harmonics, the common case: a hum the monitor has found): the
            // state held in locals for the run. Through memory, each sample's update waited
            // on the last one's stores (the fit was 10 % of `denoise`'s time with one
            // harmonic proven).
            fn lane(v: &[f64]) -> [f64; LANES] {
                let mut a = [0.0; LANES];
                a.copy_from_slice(&v[..LANES]);
                a
            }
            let (mut wr, mut wi) = (lane(&self.wr), lane(&self.wi));
            let (mut pr, mut pi) = (lane(&self.pr), lane(&self.pi));
            let (sc, ss, mask) = (lane(&self.step_c), lane(&self.step_s), lane(&self.mask));
            let mut f = Fit {
                wr: &mut wr,
                wi: &mut wi,
                pr: &mut pr,
                pi: &mut pi,
                sc: &sc,
                ss: &ss,
                mask: &mask,
            };
            for v in x {
                f.sample(v, step(&mut ramp, self.mu));
            }
            self.wr[..LANES].copy_from_slice(&wr);
            self.wi[..LANES].copy_from_slice(&wi);
            self.pr[..LANES].copy_from_slice(&pr);
            self.pi[..LANES].copy_from_slice(&pi);
        } else {
            let mut f = Fit {
                wr: &mut self.wr[..n],
                wi: &mut self.wi[..n],
                pr: &mut self.pr[..n],
                pi: &mut self.pi[..n],
                sc: &self.step_c[..n],
                ss: &self.step_s[..n],
                mask: &self.mask[..n],
            };
            for v in x {
                f.sample(v, step(&mut ramp, self.mu));
            }
        }
        self.ramp = ramp;
    }

    /// Frequency tracking: a fitted amplitude that keeps turning means the reference runs at
    /// the wrong frequency; the turn per sample divided by the harmonic number, weighted by
    /// each harmonic's power, corrects omega. Also renormalises the phasors.
    fn track(&mut self) {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..self.pr.len() {
            // turn = arg(w conj(w_last))
            let cr = self.wr[i] * self.last_wr[i] + self.wi[i] * self.last_wi[i];
            let ci = self.wi[i] * self.last_wr[i] - self.wr[i] * self.last_wi[i];
            let power = self.wr[i] * self.wr[i] + self.wi[i] * self.wi[i];
            if power > 0.0 && cr != 0.0 {
                let k = f64::from(self.harmonics[i]);
                num += power * ci.atan2(cr) / k;
                den += power;
            }
            self.last_wr[i] = self.wr[i];
            self.last_wi[i] = self.wi[i];
            let norm = (self.pr[i] * self.pr[i] + self.pi[i] * self.pi[i]).sqrt();
            if norm > 0.0 {
                self.pr[i] /= norm;
                self.pi[i] /= norm;
            }
        }
        if den > 0.0 {
            // w turning by +d per sample means the tone runs faster than the reference.
            let drift = num / den / TRACK_EVERY as f64;
            let lo = self.nominal * (1.0 - MAX_DRIFT);
            let hi = self.nominal * (1.0 + MAX_DRIFT);
            self.omega = (self.omega + 0.5 * drift).clamp(lo, hi);
            self.set_steps();
        }
    }
}

/// The fit's step for the next sample: a running mean (1 / samples so far) until that falls
/// to `mu`, then `mu`.
#[inline(always)]
fn step(ramp: &mut f64, mu: f64) -> f64 {
    if *ramp * mu < 1.0 {
        *ramp += 1.0;
        1.0 / *ramp
    } else {
        mu
    }
}

/// The fitted harmonics' state as slices of one length, a whole number of lanes (so the loops
/// vectorize and run without bounds checks).
struct Fit<'a> {
    wr: &'a mut [f64],
    wi: &'a mut [f64],
    pr: &'a mut [f64],
    pi: &'a mut [f64],
    sc: &'a [f64],
    ss: &'a [f64],
    mask: &'a [f64],
}

impl Fit<'_> {
    /// One sample: the masked tones subtracted from it, then the LMS update
    /// w += 2 mu e conj(p) (every fitted tone drives the fit) and each phasor turned by a
    /// sample. The sums are kept per lane.
    #[inline(always)]
    fn sample(&mut self, v: &mut f32, mu: f64) {
        let (mut fit, mut out) = ([0.0f64; LANES], [0.0f64; LANES]);
        for ((((wr, wi), pr), pi), mask) in self
            .wr
            .chunks_exact(LANES)
            .zip(self.wi.chunks_exact(LANES))
            .zip(self.pr.chunks_exact(LANES))
            .zip(self.pi.chunks_exact(LANES))
            .zip(self.mask.chunks_exact(LANES))
        {
            for l in 0..LANES {
                let t = wr[l] * pr[l] - wi[l] * pi[l];
                fit[l] += t;
                out[l] += mask[l] * t;
            }
        }
        let e = f64::from(*v) - fit.iter().sum::<f64>();
        *v = (f64::from(*v) - out.iter().sum::<f64>()) as f32;
        let g = 2.0 * mu * e;
        for ((((wr, wi), pr), pi), (&c, &s)) in self
            .wr
            .iter_mut()
            .zip(self.wi.iter_mut())
            .zip(self.pr.iter_mut())
            .zip(self.pi.iter_mut())
            .zip(self.sc.iter().zip(self.ss))
        {
            let (r, im) = (*pr, *pi);
            *wr += g * r;
            *wi -= g * im;
            *pr = r * c - im * s;
            *pi = r * s + im * c;
        }
    }
}

/// Which harmonics of `mains_hz` stand out of a noise power spectrum (`psd[b]` for bin `b` of
/// an `n`-point transform at `rate`): a harmonic counts when the strongest bin next to it is at
/// least 10 dB above the lower quartile of its neighbourhood. Empty when none does.
pub fn detect(psd: &[f64], n: usize, rate: f64, mains_hz: f64, max_hz: f64) -> Vec<u32> {
    let bin_hz = rate / n as f64;
    let mut found = Vec::new();
    let mut k = 1u32;
    let mut scratch = Vec::new();
    while f64::from(k) * mains_hz <= max_hz.min(rate / 2.0 - 2.0 * bin_hz) {
        let centre = f64::from(k) * mains_hz / bin_hz;
        let b = centre.round() as usize;
        let peak = (b.saturating_sub(1)..=(b + 1).min(psd.len() - 1))
            .map(|i| psd[i])
            .fold(0.0, f64::max);
        // Neighbourhood: 3..12 bins away on each side (clear of the peak's own leakage and,
        // at fine resolution, of the next harmonic's).
        let reach = (0.4 * mains_hz / bin_hz).clamp(4.0, 12.0) as usize;
        scratch.clear();
        for d in 3..=reach {
            if let Some(i) = b.checked_sub(d) {
                scratch.push(psd[i]);
            }
            if b + d < psd.len() {
                scratch.push(psd[b + d]);
            }
        }
        if !scratch.is_empty() {
            scratch.sort_by(f64::total_cmp);
            // The lower quartile: at coarse resolution the neighbourhood holds other harmonics.
            let floor = scratch[scratch.len() / 4];
            if peak > 10.0 * floor && peak > 0.0 {
                found.push(k);
            }
        }
        k += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hum(n: usize, rate: f64, f0: f64, amps: &[f64]) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let t = i as f64 / rate;
                amps.iter()
                    .enumerate()
                    .map(|(k, a)| a * (TAU * f0 * (k + 1) as f64 * t + 0.3 * k as f64).sin())
                    .sum()
            })
            .collect()
    }

    fn power(x: &[f64]) -> f64 {
        x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
    }

    #[test]
    fn removes_a_drifted_hum_and_keeps_a_tone_between_harmonics() {
        let rate = 16000.0;
        let n = 5 * 16000;
        // Mains at 50.2 Hz (0.4 % off), three harmonics; a 430 Hz tone to keep.
        let h = hum(n, rate, 50.2, &[0.3, 0.2, 0.1]);
        let keep: Vec<f64> = (0..n)
            .map(|i| 0.1 * (TAU * 430.0 * i as f64 / rate).sin())
            .collect();
        let mut x: Vec<f32> = h.iter().zip(&keep).map(|(a, b)| (a + b) as f32).collect();
        let mut d = Dehum::new(50.0, rate, &Dehum::all_harmonics(50.0, 1000.0));
        for chunk in x.chunks_mut(100) {
            d.process(chunk);
        }
        assert!(
            (d.mains_hz(rate) - 50.2).abs() < 0.02,
            "{}",
            d.mains_hz(rate)
        );
        // After convergence (last 2 s): the residual against the tone to keep.
        let tail = n - 2 * 16000;
        let err: Vec<f64> = (tail..n).map(|i| f64::from(x[i]) - keep[i]).collect();
        let rel = power(&err) / power(&h[tail..]);
        assert!(rel < 1e-3, "hum left: {:.1} dB", 10.0 * rel.log10());
    }

    /// A canceller works in runs between the samples on which its detector, tracking and
    /// checks fall due: how the input is cut into blocks must not move them by a sample.
    #[test]
    fn any_cut_of_the_input_gives_the_same_samples_as_one_at_a_time() {
        let rate = 48000.0;
        let n = 3 * 48000;
        // A hum the monitor proves after about a second (one harmonic; then five more, more
        // than a lane of them), under a noise.
        let h = hum(n, rate, 60.1, &[0.0, 0.2, 0.0, 0.1, 0.05, 0.05, 0.05, 0.05]);
        let mut seed = 7u64;
        let x: Vec<f32> = h
            .iter()
            .map(|&v| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (v + 0.05 * ((seed >> 40) as f64 / (1u64 << 24) as f64 - 0.5)) as f32
            })
            .collect();
        let monitor = || Dehum::monitor(48000.0, 500.0);
        let fixed = || Dehum::new(60.0, 48000.0, &Dehum::all_harmonics(60.0, 600.0));
        let makers: [(&str, &dyn Fn() -> Dehum); 2] = [("monitor", &monitor), ("fixed", &fixed)];
        for (name, make) in makers {
            let mut one = x.clone();
            let mut d = make();
            for v in one.chunks_mut(1) {
                d.process(v);
            }
            assert!(
                d.subtracting() >= 2,
                "{name}: {} subtracted",
                d.subtracting()
            );
            for block in [2usize, 15, 16, 17, 255, 256, 1000, n] {
                let mut y = x.clone();
                let mut d = make();
                for v in y.chunks_mut(block) {
                    d.process(v);
                }
                assert!(y == one, "{name}: blocks of {block} differ");
            }
        }
    }

    #[test]
    fn detection_finds_the_harmonics_that_stand_out() {
        let n = 1024;
        let rate = 16000.0;
        let mut psd = vec![1.0; n / 2 + 1];
        for k in [1usize, 2, 3, 5] {
            let b = (k as f64 * 60.0 / (rate / n as f64)).round() as usize;
            psd[b] = 100.0;
        }
        assert_eq!(detect(&psd, n, rate, 60.0, 1000.0), vec![1, 2, 3, 5]);
        assert!(detect(&vec![1.0; n / 2 + 1], n, rate, 50.0, 1000.0).is_empty());
    }
}
