//! Spectral noise reduction: a streaming STFT with a decision-directed Wiener gain, two-step
//! refined, with a bounded lookahead, and mains hum taken out by tone subtraction first.
//!
//! Per channel, sample by sample:
//!
//! 1. hum (when the noise holds one) is subtracted by [`Dehum`];
//! 2. every `hop` samples the last `frame` samples are windowed (square-root Hann; with the
//!    same window on synthesis and a hop of a quarter frame the overlap-add reconstructs the
//!    input exactly when every gain is 1) and transformed;
//! 3. each bin's a-priori SNR xi is estimated by the decision-directed rule (Ephraim-Malah:
//!    a = 0.96 of the previous frame's cleaned power, the rest from this frame's excess over
//!    the noise), refined once by the two-step rule (the gain's own estimate of the clean
//!    power, Plapous et al.), which removes the one-frame lag at onsets; with `lookahead` the
//!    same recursion also runs backwards from the newest frame and the two estimates are
//!    averaged, so an onset is seen before it arrives;
//! 4. the Wiener gain xi / (1 + xi), never below the floor (`reduce`), is applied and the frame
//!    is overlap-added.
//!
//! The decision-directed xi moves slowly where there is only noise (so the residual is a
//! steady, quiet hiss instead of "musical" tones) and fast where speech starts.
//!
//! The noise power per bin starts from a profile (the average periodogram of a noise-only
//! recording, analysed with the same window) or from the input's first frames, and is tracked
//! as the input streams by speech presence probability (`SppTracker`: follows noise that
//! changes within a fraction of a second), never below a minimum-statistics estimate (the
//! smoothed power's minimum over the last ~3 s, bias-corrected, averaged over neighbouring
//! bins).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealToComplex};

use super::dehum::{self, Dehum};
use crate::conv::sample::{real_forward, real_inverse};

/// Decision-directed smoothing (weight of the previous frame's estimate).
const ALPHA: f32 = 0.96;
/// Smallest a-priori SNR (-25 dB): keeps the gain from collapsing on noise-only bins.
const XI_MIN: f32 = 0.003_162_277_7;
/// Largest a-priori SNR kept (120 dB): the gain is 1 there anyway, and sums stay finite.
const XI_MAX: f32 = 1e12;
/// Minimum statistics: power smoothing per frame, window length, sub-windows, spread across
/// bins, and bias correction. The minimum of this smoothed periodogram over 3 s of white noise
/// averages 1/3.5 of its power (measured); the correction is a little under that, since
/// erring low keeps quiet speech (and scored better on speech in white noise and in hum). A
/// window that long also keeps a long vowel from being taken for noise: clean speech comes
/// through changed by -37 dB (with 2 s: -31 dB).
const MS_SMOOTH: f32 = 0.8;
const MS_SECONDS: f64 = 3.0;
const MS_SUBWINDOWS: usize = 6;
const MS_SPREAD: usize = 3;
const MS_BIAS: f32 = 3.0;
/// Hum is looked for up to this frequency in a profile, and (cheaper: every candidate is fitted
/// all the time) up to the second in the input when the noise is learned.
const HUM_MAX_HZ: f64 = 1000.0;
const MONITOR_MAX_HZ: f64 = 500.0;

/// Mains hum found in a noise recording: the mains frequency (50 or 60 Hz) and which of its
/// harmonics stand out.
pub type Hum = (f64, Vec<u32>);

/// What the user asked for.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Frame (window) length in samples; a multiple of 4.
    pub frame: usize,
    /// Most attenuation, in dB (positive).
    pub reduce_db: f64,
    /// Noise estimate scaled by this many dB: higher removes more (and more speech).
    pub sensitivity_db: f64,
    /// Frames of lookahead.
    pub lookahead: usize,
    pub rate: f64,
}

/// Where the noise power comes from.
#[derive(Clone, Debug)]
pub enum Noise {
    /// Measured: per channel noise power per bin, and the hum found in it (mains Hz,
    /// harmonics), if any.
    Profile {
        psd: Vec<Vec<f64>>,
        hum: Option<Hum>,
    },
    /// Learned from the input as it streams.
    Learned,
}

impl Settings {
    pub fn hop(&self) -> usize {
        self.frame / 4
    }

    /// Samples by which the streaming output trails the input: the frame, less one sample, and
    /// the lookahead's frames.
    pub fn latency(&self) -> usize {
        self.frame - 1 + self.lookahead * self.hop()
    }
}

/// Periodic square-root Hann of `n` points: its square summed at hop n/4 is 2 everywhere.
fn sqrt_hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
            h.sqrt() as f32
        })
        .collect()
}

/// Analyses a noise-only recording (one channel): hum found (50 or 60 Hz family and which
/// harmonics), and the noise power per bin after that hum is subtracted.
pub fn profile_channel(settings: &Settings, noise: &[f64]) -> (Vec<f64>, Option<Hum>) {
    let hum = find_hum(noise, settings.rate);
    let mut x: Vec<f32> = noise.iter().map(|&v| v as f32).collect();
    let mut skip = 0;
    if let Some((mains, harmonics)) = &hum {
        let mut d = Dehum::new(*mains, settings.rate, harmonics);
        d.process(&mut x);
        // The fit takes a moment to settle; leave that out of the average when there is enough.
        // (Half a second, though the fit's time constant is that long: skipping a full second
        // of the shipped 2 s profile scored 0.14 dB worse, less noise to average.)
        let settle = (0.5 * settings.rate) as usize;
        if x.len() >= 3 * settle {
            skip = settle;
        }
    }
    (average_periodogram(settings.frame, &x[skip..]), hum)
}

/// The mean of |FFT(w x)|^2 over every hop-spaced frame of `x` (zero-padded when shorter than
/// a frame).
fn average_periodogram(n: usize, x: &[f32]) -> Vec<f64> {
    let hop = n / 4;
    let window = sqrt_hann(n);
    let fft = real_forward::<f32>(n);
    let mut frame = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    let mut sum = vec![0.0f64; n / 2 + 1];
    let mut count = 0usize;
    let mut start = 0;
    loop {
        for (i, f) in frame.iter_mut().enumerate() {
            *f = x.get(start + i).copied().unwrap_or(0.0) * window[i];
        }
        if fft.process(&mut frame, &mut spec).is_ok() {
            for (s, c) in sum.iter_mut().zip(&spec) {
                *s += f64::from(c.norm_sqr());
            }
            count += 1;
        }
        start += hop;
        if start + n > x.len() {
            break;
        }
    }
    for s in &mut sum {
        *s /= count.max(1) as f64;
    }
    sum
}

/// Looks for mains hum in a noise recording: a fine (2 Hz) averaged spectrum, then the 50 and
/// 60 Hz families' harmonics that stand 10 dB out of their neighbourhood; the family with more
/// of them wins (at least one of its first three harmonics must be among them).
fn find_hum(noise: &[f64], rate: f64) -> Option<Hum> {
    let n = ((rate / 2.0) as usize).next_power_of_two().min(1 << 16);
    if noise.len() < n / 2 {
        return None;
    }
    let x: Vec<f32> = noise.iter().map(|&v| v as f32).collect();
    let psd = average_periodogram(n, &x);
    let mut best: Option<Hum> = None;
    for mains in [50.0, 60.0] {
        let found = dehum::detect(&psd, n, rate, mains, HUM_MAX_HZ);
        if found.iter().any(|&k| k <= 3) && best.as_ref().is_none_or(|(_, b)| found.len() > b.len())
        {
            best = Some((mains, found));
        }
    }
    best
}

/// The denoiser for every channel of a stream. A clone is a second denoiser in the same state
/// (the FFT plans are shared): a chain keeps one as built to reset to.
#[derive(Clone)]
pub struct Denoiser {
    channels: Vec<Channel>,
    latency: usize,
}

impl Denoiser {
    pub fn new(settings: &Settings, noise: &Noise, channels: usize) -> Denoiser {
        let fft = real_forward::<f32>(settings.frame);
        let ifft = real_inverse::<f32>(settings.frame);
        let window: Arc<[f32]> = sqrt_hann(settings.frame).into();
        let channels = (0..channels)
            .map(|c| Channel::new(settings, noise, c, &fft, &ifft, &window))
            .collect();
        Denoiser {
            channels,
            latency: settings.latency(),
        }
    }

    pub fn latency(&self) -> usize {
        self.latency
    }

    /// Filters one block: `output[c][i]` is the cleaned `input[c][i - latency]`. No allocation.
    pub fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) {
        for ((ch, x), y) in self.channels.iter_mut().zip(input).zip(output.iter_mut()) {
            ch.process(x, y);
        }
    }
}

/// Minimum statistics noise tracker for one channel.
#[derive(Clone)]
struct MinTracker {
    smoothed: Vec<f32>,
    /// Each bin's minimum before smoothing across bins.
    raw: Vec<f32>,
    /// Minimum of each finished sub-window, and of the current one.
    mins: Vec<Vec<f32>>,
    current: Vec<f32>,
    frames_per_sub: usize,
    in_sub: usize,
    next_sub: usize,
    started: bool,
    /// Frames fed so far (the minimum's bias grows with how many it is taken over).
    seen: usize,
}

/// The bias correction for a minimum taken over `frames` frames: the mean power over the
/// minimum of this smoothed periodogram, measured on white noise (1 frame: 1.00, 2: 1.07,
/// 4: 1.27, 8: 1.61, 16: 2.09, 32: 2.62, 64: 3.13), interpolated in log2 of the count and
/// capped at [`MS_BIAS`]. A fixed correction would multiply the noise by 3 while the window is
/// still filling and wipe out the first second of speech.
fn start_up_bias(frames: usize) -> f32 {
    const MEASURED: [f32; 7] = [1.00, 1.07, 1.27, 1.61, 2.09, 2.62, 3.13];
    let x = (frames.max(1) as f32).log2();
    let i = (x.floor() as usize).min(MEASURED.len() - 1);
    let v = if i + 1 < MEASURED.len() {
        MEASURED[i] + (x - i as f32) * (MEASURED[i + 1] - MEASURED[i])
    } else {
        MEASURED[i] + (x - i as f32) * 0.5
    };
    v.min(MS_BIAS)
}

impl MinTracker {
    fn new(bins: usize, settings: &Settings) -> MinTracker {
        let frames = (MS_SECONDS * settings.rate / settings.hop() as f64).ceil() as usize;
        MinTracker {
            smoothed: vec![0.0; bins],
            raw: vec![0.0; bins],
            mins: vec![vec![f32::INFINITY; bins]; MS_SUBWINDOWS],
            current: vec![f32::INFINITY; bins],
            frames_per_sub: frames.div_ceil(MS_SUBWINDOWS).max(1),
            in_sub: 0,
            next_sub: 0,
            started: false,
            seen: 0,
        }
    }

    /// Feeds one frame's power; writes the noise estimate.
    #[inline(always)]
    fn update(&mut self, power: &[f32], noise: &mut [f32]) {
        if !self.started {
            self.smoothed.copy_from_slice(power);
            self.started = true;
        }
        for (s, &p) in self.smoothed.iter_mut().zip(power) {
            *s = MS_SMOOTH * *s + (1.0 - MS_SMOOTH) * p;
        }
        for (c, &s) in self.current.iter_mut().zip(&self.smoothed) {
            *c = c.min(s);
        }
        // Sub-windows in the outer loop, bins in the inner one, so it vectorizes.
        self.raw.copy_from_slice(&self.current);
        for sub in &self.mins {
            for (r, &m) in self.raw.iter_mut().zip(sub) {
                *r = r.min(m);
            }
        }
        // Each bin's minimum is a noisy estimate; noise spectra are smooth, so average it over
        // the +-MS_SPREAD neighbouring bins (summed directly: a running sum would cancel
        // catastrophically across the 60 dB between bins).
        let bins = noise.len();
        self.seen += 1;
        let bias = start_up_bias(self.seen);
        // Symmetric about the bin, narrower at the ends: a one-sided window at DC would average
        // a steep low-frequency noise (pink, brown, drift) with the quieter bins above it and
        // let most of it through.
        let whole = bins > 2 * MS_SPREAD;
        let (edge, tail) = if whole {
            (MS_SPREAD, bins - MS_SPREAD)
        } else {
            (bins, bins)
        };
        for b in (0..edge).chain(tail..bins) {
            let h = MS_SPREAD.min(b).min(bins - 1 - b);
            let window = &self.raw[b - h..=b + h];
            noise[b] = bias * window.iter().sum::<f32>() / window.len() as f32;
        }
        // Between the edges every window is whole: summed a shift at a time (the same
        // additions in the same order as above), so the loops vectorize.
        if whole {
            let inner = &mut noise[edge..tail];
            inner.fill(0.0);
            for shift in 0..=2 * MS_SPREAD {
                for (n, &r) in inner.iter_mut().zip(&self.raw[shift..]) {
                    *n += r;
                }
            }
            let len = (2 * MS_SPREAD + 1) as f32;
            for n in inner {
                *n = bias * *n / len;
            }
        }
        self.in_sub += 1;
        if self.in_sub == self.frames_per_sub {
            self.in_sub = 0;
            let slot = &mut self.mins[self.next_sub];
            slot.copy_from_slice(&self.current);
            self.current.fill(f32::INFINITY);
            self.next_sub = (self.next_sub + 1) % MS_SUBWINDOWS;
        }
    }
}

/// Speech-presence-probability noise tracker (Gerkmann & Hendriks, "Unbiased MMSE-based noise
/// power estimation with low complexity and low tracking delay", IEEE TASLP 2012): each frame
/// moves a bin's noise toward its expected value given the frame, `(1 - P) |Y|^2 + P sigma^2`,
/// with `P` the posterior probability of speech for a fixed a-priori SNR of 15 dB when present.
/// Noise that changes is followed within about a second (a 10 dB step brought down by
/// 11.7 dB 0.5-1 s after it, within 1 dB of the steady attenuation from 1 s on,
/// tests/denoise.rs), where minimum statistics lagged by its 3 s window; speech, improbable
/// as noise, barely moves it. A bin that looks like speech frame after frame (a 10 dB rise
/// of the noise does) still updates with 1 % weight, so it cannot stick. Kept at or above the
/// minimum-statistics estimate, which it starts from: measured on real recordings
/// (benches/denoise_real.py) that scored +0.01 PESQ over the tracker alone.
#[derive(Clone)]
struct SppTracker {
    /// The noise power per bin (unscaled).
    est: Vec<f32>,
    /// Each bin's smoothed speech probability (the stagnation guard).
    p_bar: Vec<f32>,
    floor: Option<MinTracker>,
    floor_noise: Vec<f32>,
    started: bool,
}

/// SPP: the a-priori SNR assumed when speech is present (15 dB, the paper's), and the noise
/// smoothing per frame: the paper's 0.8 per 16 ms hop, here per 12 ms hop of the default
/// 48 ms frame (0.8^(12/16)).
const SPP_XI_H1: f32 = 31.622_776;
const SPP_ALPHA: f32 = 0.85;
/// The stagnation guard (a bin that looked like speech for ~10 frames still moves with 1 %
/// weight) acts only while more than this share of the bins is stuck: a rise of the noise
/// lifts most of the spectrum at once, speech its harmonics and formants, and with the guard
/// always on, 1 s of clean speech raised its own estimate to ~-9 dB of itself (clean speech
/// through `denoise` changed by -27 dB; -34 dB with this).
const SPP_LIFT: f32 = 0.5;

impl SppTracker {
    /// Tracking that starts from the input's first full frame.
    fn new(bins: usize, settings: &Settings) -> SppTracker {
        SppTracker {
            est: vec![0.0; bins],
            p_bar: vec![0.0; bins],
            floor: Some(MinTracker::new(bins, settings)),
            floor_noise: vec![0.0; bins],
            started: false,
        }
    }

    /// Tracking that starts from a measured noise profile: the profile is the start (the first
    /// frames are cleaned as well as the rest), the tracking follows the noise where it
    /// changes after the recording of the profile (on real recordings: PESQ-WB 1.311 with
    /// the profile held fixed, 1.392 tracked, benches/denoise_real.py).
    fn from_profile(profile: &[f32], settings: &Settings) -> SppTracker {
        let mut t = SppTracker::new(profile.len(), settings);
        t.est.copy_from_slice(profile);
        t.started = true;
        // A profile of digital silence says there is nothing to remove.
        if profile.iter().all(|&v| v <= 0.0) {
            t.floor = None;
        }
        t
    }

    #[inline(always)]
    fn update(&mut self, power: &[f32], noise: &mut [f32]) {
        let Some(f) = &mut self.floor else {
            // A silent profile: nothing to remove, whatever comes.
            noise.fill(0.0);
            return;
        };
        f.update(power, &mut self.floor_noise);
        if !self.started {
            self.started = true;
            self.est.copy_from_slice(&self.floor_noise);
        } else {
            let k = SPP_XI_H1 / (1.0 + SPP_XI_H1);
            let stuck = self.p_bar.iter().filter(|&&p| p > 0.99).count();
            let lift = stuck as f32 > SPP_LIFT * self.p_bar.len() as f32;
            for ((e, pb), &y) in self.est.iter_mut().zip(self.p_bar.iter_mut()).zip(power) {
                let n = e.max(1e-30);
                let p = 1.0 / (1.0 + (1.0 + SPP_XI_H1) * exp_neg(-(y / n) * k));
                *pb = 0.9 * *pb + 0.1 * p;
                let p = if lift && *pb > 0.99 { p.min(0.99) } else { p };
                let expected = (1.0 - p) * y + p * n;
                *e = SPP_ALPHA * n + (1.0 - SPP_ALPHA) * expected;
            }
        }
        for ((n, &e), &f) in noise.iter_mut().zip(&self.est).zip(&self.floor_noise) {
            *n = e.max(f);
        }
    }
}

/// One channel's state. Every buffer is made here; `process` only reuses them.
#[derive(Clone)]
struct Channel {
    dehum: Option<Dehum>,
    /// The noise tracker (started from the profile, or from the input's first frames).
    tracker: SppTracker,
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn ComplexToReal<f32>>,
    window: Arc<[f32]>,
    frame: usize,
    hop: usize,
    /// The last `frame` input samples; `filled` new ones since the last analysis.
    input: Vec<f32>,
    filled: usize,
    work: Vec<f32>,
    scratch_f: Vec<Complex<f32>>,
    scratch_i: Vec<Complex<f32>>,
    /// Ring of the last lookahead + 1 frames: spectrum, power, forward xi.
    spectra: Vec<Vec<Complex<f32>>>,
    powers: Vec<Vec<f32>>,
    xi_fwd: Vec<Vec<f32>>,
    newest: usize,
    analysed: usize,
    lookahead: usize,
    /// Forward decision-directed state: the previous frame's cleaned power.
    prev_clean: Vec<f32>,
    /// Noise power per bin (scaled by the sensitivity), and its reciprocal (0 where nothing
    /// is known to remove), taken once a frame: the forward and backward passes divide by it
    /// three times a bin.
    noise: Vec<f32>,
    inv_noise: Vec<f32>,
    sensitivity: f32,
    gain_floor: f32,
    gains: Vec<f32>,
    /// The backward pass's state per bin (lookahead).
    back_prev: Vec<f32>,
    back_xi: Vec<f32>,
    /// Overlap-add accumulator (frame samples) and the finished-output ring.
    ola: Vec<f32>,
    out: Vec<f32>,
    out_read: usize,
    out_len: usize,
}

impl Channel {
    fn new(
        settings: &Settings,
        noise: &Noise,
        channel: usize,
        fft: &Arc<dyn RealToComplex<f32>>,
        ifft: &Arc<dyn ComplexToReal<f32>>,
        window: &Arc<[f32]>,
    ) -> Channel {
        let n = settings.frame;
        let hop = settings.hop();
        let bins = n / 2 + 1;
        let sensitivity = 10f64.powf(settings.sensitivity_db / 10.0) as f32;
        let (dehum, tracker, noise_psd) = match noise {
            Noise::Profile { psd, hum } => {
                let p = &psd[channel.min(psd.len() - 1)];
                let d = hum
                    .as_ref()
                    .map(|(mains, ks)| Dehum::new(*mains, settings.rate, ks));
                let psd: Vec<f32> = p.iter().map(|&v| v as f32).collect();
                let track = SppTracker::from_profile(&psd, settings);
                (d, track, psd.iter().map(|&v| v * sensitivity).collect())
            }
            Noise::Learned => (
                Some(Dehum::monitor(settings.rate, MONITOR_MAX_HZ)),
                SppTracker::new(bins, settings),
                vec![0.0; bins],
            ),
        };
        let ring = settings.lookahead + 1;
        // Output ring: the hop's worth of finished samples plus the lookahead's, plus the
        // start-up zeros that make the delay a constant frame - 1 + lookahead * hop.
        let cap = n + (settings.lookahead + 1) * hop;
        // (The lookahead's share of the delay comes out of the phantom frames before the first.)
        let start_zeros = hop - 1;
        Channel {
            dehum,
            tracker,
            fft: Arc::clone(fft),
            ifft: Arc::clone(ifft),
            window: Arc::clone(window),
            frame: n,
            hop,
            input: vec![0.0; n],
            filled: 0,
            work: vec![0.0; n],
            scratch_f: fft.make_scratch_vec(),
            scratch_i: ifft.make_scratch_vec(),
            spectra: vec![vec![Complex::new(0.0, 0.0); bins]; ring],
            powers: vec![vec![0.0; bins]; ring],
            xi_fwd: vec![vec![0.0; bins]; ring],
            newest: ring - 1,
            analysed: 0,
            lookahead: settings.lookahead,
            prev_clean: vec![0.0; bins],
            noise: noise_psd,
            inv_noise: vec![0.0; bins],
            sensitivity,
            gain_floor: 10f64.powf(-settings.reduce_db.abs() / 20.0) as f32,
            gains: vec![1.0; bins],
            back_prev: vec![0.0; bins],
            back_xi: vec![0.0; bins],
            ola: vec![0.0; n],
            out: vec![0.0; cap],
            out_read: 0,
            out_len: start_zeros,
        }
    }

    fn process(&mut self, x: &[f32], y: &mut [f32]) {
        let mut done = 0;
        while done < x.len() {
            // Take input up to the next analysis point.
            let take = (self.hop - self.filled).min(x.len() - done);
            let at = self.frame - self.hop + self.filled;
            self.input[at..at + take].copy_from_slice(&x[done..done + take]);
            if let Some(d) = &mut self.dehum {
                d.process(&mut self.input[at..at + take]);
            }
            self.filled += take;
            if self.filled == self.hop {
                self.analyse();
                self.input.copy_within(self.hop.., 0);
                self.filled = 0;
            }
            // Hand out as many finished samples as came in (the ring in at most two pieces).
            let cap = self.out.len();
            let first = take.min(cap - self.out_read);
            y[done..done + first].copy_from_slice(&self.out[self.out_read..self.out_read + first]);
            y[done + first..done + take].copy_from_slice(&self.out[..take - first]);
            self.out_read = (self.out_read + take) % cap;
            self.out_len -= take;
            done += take;
        }
    }

    /// One hop: analyse the newest frame, and synthesise the frame `lookahead` behind it.
    /// Compiled twice, for AVX2 where the CPU has it (the loops over bins go 8 wide instead
    /// of 4; the same numbers).
    fn analyse(&mut self) {
        crate::conv::simd::with_avx2(
            #[inline(always)]
            || self.analyse_frame(),
        );
    }

    #[inline(always)]
    fn analyse_frame(&mut self) {
        let ring = self.spectra.len();
        self.newest = (self.newest + 1) % ring;
        let slot = self.newest;
        for ((w, &v), &win) in self
            .work
            .iter_mut()
            .zip(&self.input)
            .zip(self.window.iter())
        {
            *w = v * win;
        }
        let spec = &mut self.spectra[slot];
        // realfft only fails on wrongly sized buffers, which are all sized here at build time.
        let _ = self
            .fft
            .process_with_scratch(&mut self.work, spec, &mut self.scratch_f);
        for (p, c) in self.powers[slot].iter_mut().zip(spec.iter()) {
            *p = c.norm_sqr();
        }
        // The first frames are partly the silence before the stream: their low power would be
        // the minimum for the next few seconds. The tracker starts with the first full frame.
        let full = self.analysed + 1 >= self.frame / self.hop;
        if full {
            self.tracker.update(&self.powers[slot], &mut self.noise);
            if self.sensitivity != 1.0 {
                for n in &mut self.noise {
                    *n *= self.sensitivity;
                }
            }
        }
        for (inv, &n) in self.inv_noise.iter_mut().zip(&self.noise) {
            // Digital silence in the estimate (or a value no division survives): gain 1.
            *inv = if (f32::MIN_POSITIVE..f32::INFINITY).contains(&n) {
                1.0 / n
            } else {
                0.0
            };
        }
        // Forward decision-directed, two-step refined.
        let (power, xi_out) = (&self.powers[slot], &mut self.xi_fwd[slot]);
        if !self.tracker.started && !full {
            // Nothing learned yet: the stream's first partial frames are taken for noise (a
            // recording starts in room tone far more often than mid-word), instead of passing
            // a burst of unreduced noise.
            xi_out.fill(XI_MIN);
            self.analysed += 1;
        } else {
            for (((prev, &p), &n), xi) in self
                .prev_clean
                .iter_mut()
                .zip(power)
                .zip(&self.inv_noise)
                .zip(xi_out.iter_mut())
            {
                let (xi2, g) = dd_step(*prev, p, n);
                *prev = g * g * p;
                *xi = xi2;
            }
            self.analysed += 1;
        }
        // Synthesis of the frame `lookahead` behind (zeros before the first real one).
        let target = (slot + ring - self.lookahead) % ring;
        if self.lookahead == 0 {
            for (g, &xi) in self.gains.iter_mut().zip(&self.xi_fwd[target]) {
                *g = (xi / (1.0 + xi)).max(self.gain_floor);
            }
        } else {
            self.lookahead_gains(target);
        }
        let spec = &mut self.spectra[target];
        for (c, &g) in spec.iter_mut().zip(&self.gains) {
            *c *= g;
        }
        // DC and Nyquist must be real for the inverse transform; they are (real input, real gain).
        spec[0].im = 0.0;
        if let Some(last) = spec.last_mut() {
            last.im = 0.0;
        }
        let _ = self
            .ifft
            .process_with_scratch(spec, &mut self.work, &mut self.scratch_i);
        // Unnormalised inverse (x n) and the window pair summing to 2 at hop n / 4.
        let scale = 1.0 / (self.frame as f32 * 2.0);
        for ((o, &v), &win) in self.ola.iter_mut().zip(&self.work).zip(self.window.iter()) {
            *o += v * win * scale;
        }
        // The first hop of the accumulator is finished: into the output ring.
        let cap = self.out.len();
        let write = (self.out_read + self.out_len) % cap;
        let first = self.hop.min(cap - write);
        self.out[write..write + first].copy_from_slice(&self.ola[..first]);
        self.out[..self.hop - first].copy_from_slice(&self.ola[first..self.hop]);
        self.out_len += self.hop;
        self.ola.copy_within(self.hop.., 0);
        let n = self.frame;
        self.ola[n - self.hop..].fill(0.0);
    }

    /// Gains for the frame in `target` from the forward estimate and a backward pass over the
    /// lookahead frames (started from the newest frame's own estimate), averaged. Frames in the
    /// outer loop, bins in the inner one, so the inner loops vectorize.
    #[inline(always)]
    fn lookahead_gains(&mut self, target: usize) {
        let ring = self.spectra.len();
        let newest = self.newest;
        let bins = self.gains.len();
        let (prev, xi_b) = (&mut self.back_prev[..bins], &mut self.back_xi[..bins]);
        let inv_noise = &self.inv_noise[..bins];
        let p_new = &self.powers[newest][..bins];
        for b in 0..bins {
            let ml = if inv_noise[b] > 0.0 {
                (p_new[b] * inv_noise[b] - 1.0).clamp(XI_MIN, XI_MAX)
            } else {
                XI_MAX
            };
            let g = ml / (1.0 + ml);
            prev[b] = g * g * p_new[b];
            xi_b[b] = ml;
        }
        let mut slot = newest;
        while slot != target {
            slot = if slot == 0 { ring - 1 } else { slot - 1 };
            let power = &self.powers[slot][..bins];
            for b in 0..bins {
                let (xi2, g) = dd_step(prev[b], power[b], inv_noise[b]);
                prev[b] = g * g * power[b];
                xi_b[b] = xi2;
            }
        }
        let fwd = &self.xi_fwd[target][..bins];
        for (b, g) in self.gains.iter_mut().enumerate() {
            let xi = 0.5 * (fwd[b] + xi_b[b]);
            *g = (xi / (1.0 + xi)).max(self.gain_floor);
        }
    }
}

/// `e^x` for `x <= 0` (to within 2 ulp; 0 below -87), in plain arithmetic so a loop over bins
/// vectorizes: libm's `expf` is a call per bin, which was a quarter of the noise tracker's time.
/// `x = i ln 2 + f` with `i` an integer (rounded by adding and subtracting 1.5 * 2^23, exact
/// for |x log2 e| < 2^22) and `|f| <= ln 2 / 2`, `f` taken off in two parts (Cody and Waite:
/// the high part of ln 2 has few enough bits that `i` times it is exact); `e^f` is its Taylor
/// series to the 7th power (the first term left out is below 6e-9 there), and `2^i` is built
/// from its exponent bits.
#[inline(always)]
fn exp_neg(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.max(-87.0);
    let i = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let f = (x - i * LN2_HI) - i * LN2_LO;
    let p = 1.0
        + f * (1.0
            + f * (0.5
                + f * (1.0 / 6.0
                    + f * (1.0 / 24.0
                        + f * (1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((i as i32 + 127) as u32) << 23);
    if x <= -87.0 { 0.0 } else { p * scale }
}

/// One decision-directed step refined by the two-step rule: the a-priori SNR and the Wiener
/// gain for a bin of power `power` over noise of reciprocal `inv_noise` (0: nothing known to
/// remove, gain 1), given the previous cleaned power. Branch-free (the special case is a
/// select at the end), so the loops over bins vectorize.
#[inline(always)]
fn dd_step(prev_clean: f32, power: f32, inv_noise: f32) -> (f32, f32) {
    let known = inv_noise > 0.0;
    let gamma = power * inv_noise;
    let xi = (ALPHA * prev_clean * inv_noise + (1.0 - ALPHA) * (gamma - 1.0).max(0.0)).max(XI_MIN);
    let g = xi / (1.0 + xi);
    let xi2 = (g * g * gamma).clamp(XI_MIN, XI_MAX);
    if known {
        (xi2, xi2 / (1.0 + xi2))
    } else {
        (XI_MAX, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_matches_the_exponential_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut x = 0.0f32;
        while x > -87.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp_neg(x));
            worst = worst.max((got - want).abs() / want);
            x -= 0.000_731;
        }
        assert!(
            worst < 2.0 * f64::from(f32::EPSILON),
            "worst relative error {worst:e}"
        );
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(-0.0), 1.0);
        assert_eq!(exp_neg(-100.0), 0.0);
        assert_eq!(exp_neg(f32::NEG_INFINITY), 0.0);
    }
}
