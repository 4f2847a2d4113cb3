//! Averaged magnitude spectrum (Welch's method without overlap): Hann-windowed frames of
//! [`FRAME`] samples, power averaged per bin, in dB relative to a full-scale sine.

use std::sync::Arc;

use realfft::RealToComplex;

/// Frame length: 11.7 Hz bins at 48 kHz.
pub const FRAME: usize = 4096;

pub struct Welch {
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    pending: Vec<f64>,
    frame: Vec<f64>,
    spec: Vec<realfft::num_complex::Complex<f64>>,
    scratch: Vec<realfft::num_complex::Complex<f64>>,
    power: Vec<f64>,
    /// Frames analysed.
    frames: u64,
    /// Frames seen (analysed or skipped).
    seen: u64,
    /// Every `stride`-th frame is analysed; the stride doubles as the stream grows, so a
    /// 2-hour input costs a few thousand transforms, not a hundred thousand.
    stride: u64,
    /// Samples left of a frame being skipped.
    skip: usize,
    /// Power of a full-scale sine's peak bin (0 dB).
    reference: f64,
}

impl Default for Welch {
    fn default() -> Self {
        let fft = crate::conv::sample::real_forward::<f64>(FRAME);
        let window: Vec<f64> = (0..FRAME)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / FRAME as f64).cos())
            .collect();
        let sum: f64 = window.iter().sum();
        Welch {
            spec: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            frame: vec![0.0; FRAME],
            fft,
            window,
            pending: Vec::with_capacity(FRAME),
            power: vec![0.0; FRAME / 2 + 1],
            frames: 0,
            seen: 0,
            stride: 1,
            skip: 0,
            reference: (sum / 2.0).powi(2),
        }
    }
}

impl Welch {
    pub fn push(&mut self, xs: &[f32]) {
        let mut xs = xs;
        while !xs.is_empty() {
            // A frame that will not be analysed is only counted through.
            if self.skip > 0 {
                let n = self.skip.min(xs.len());
                self.skip -= n;
                xs = &xs[n..];
                if self.skip == 0 {
                    self.next_frame();
                }
                continue;
            }
            let take = (FRAME - self.pending.len()).min(xs.len());
            self.pending.extend(
                xs[..take]
                    .iter()
                    .map(|&v| if v.is_finite() { f64::from(v) } else { 0.0 }),
            );
            xs = &xs[take..];
            if self.pending.len() == FRAME {
                if self.analyse() {
                    self.frames += 1;
                }
                self.pending.clear();
                self.next_frame();
            }
        }
    }

    /// Adds the power spectrum of the windowed `pending` samples (zero-padded to a frame) to
    /// `power`; false if the transform failed.
    fn analyse(&mut self) -> bool {
        self.frame.fill(0.0);
        for ((f, p), w) in self.frame.iter_mut().zip(&self.pending).zip(&self.window) {
            *f = p * w;
        }
        if self
            .fft
            .process_with_scratch(&mut self.frame, &mut self.spec, &mut self.scratch)
            .is_err()
        {
            return false;
        }
        for (p, c) in self.power.iter_mut().zip(&self.spec) {
            *p += c.norm_sqr();
        }
        true
    }

    /// One more frame has gone by: decide whether the next one is analysed. Every
    /// `stride`-th is; the stride doubles each time 256 strides have passed.
    fn next_frame(&mut self) {
        self.seen += 1;
        if self.seen >= 256 * self.stride {
            self.stride *= 2;
        }
        if self.seen % self.stride != 0 {
            self.skip = FRAME;
        }
    }

    /// `(frequency Hz, dB)` per bin above DC; empty until one whole frame has been seen (an
    /// input shorter than a frame is analysed zero-padded).
    pub fn spectrum(&mut self, rate: f64) -> Vec<(f64, f64)> {
        if self.frames == 0 && !self.pending.is_empty() && self.analyse() {
            self.frames = 1;
            self.pending.clear();
        }
        if self.frames == 0 {
            return Vec::new();
        }
        self.power
            .iter()
            .enumerate()
            .skip(1)
            .map(|(k, p)| {
                let db = 10.0 * (p / self.frames as f64 / self.reference).max(1e-30).log10();
                (k as f64 * rate / FRAME as f64, db)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_reads_0_db_at_its_frequency() {
        let rate = 48_000.0;
        // On a bin centre (bin 100, 1171.875 Hz), so no scalloping loss.
        let f = 100.0 * rate / FRAME as f64;
        let x: Vec<f32> = (0..FRAME * 8)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / rate).sin() as f32)
            .collect();
        let mut w = Welch::default();
        w.push(&x);
        let s = w.spectrum(rate);
        let (fk, db) = s
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!((fk - f).abs() < 1e-9, "{fk} vs {f}");
        assert!(db.abs() < 0.01, "{db} dB");
    }
}
