//! Sample formats and block conversion between interleaved bytes and planar `f32` or `f64`.
//!
//! Reader/writer threads. Integer PCM maps to float as `x / 2^(bits - 1)` (-32768 -> -1.0,
//! the libsndfile convention; 8-bit is unsigned, offset 128) and back the same way. Reducing to
//! integers adds TPDF dither (two uniform variates, +-1 LSB triangular), as SoX does, to the
//! samples that are not already exactly on the output's grid: a chain that changed nothing
//! gives back its input bit for bit. Samples that do not fit the output (beyond full scale for
//! integers, beyond the 32-bit float range for f32) are clipped and counted.

use crate::conv::Sample;

/// A sample encoding on the wire or in a WAV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    U8,
    S16,
    S24,
    S32,
    F32,
    F64,
}

impl SampleFormat {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::U8 => 1,
            SampleFormat::S16 => 2,
            SampleFormat::S24 => 3,
            SampleFormat::S32 | SampleFormat::F32 => 4,
            SampleFormat::F64 => 8,
        }
    }

    /// A short name for summaries ("16-bit", "32-bit float").
    pub fn describe(self) -> &'static str {
        match self {
            SampleFormat::U8 => "8-bit",
            SampleFormat::S16 => "16-bit",
            SampleFormat::S24 => "24-bit",
            SampleFormat::S32 => "32-bit",
            SampleFormat::F32 => "32-bit float",
            SampleFormat::F64 => "64-bit float",
        }
    }

    fn int_bits(self) -> Option<u32> {
        match self {
            SampleFormat::U8 => Some(8),
            SampleFormat::S16 => Some(16),
            SampleFormat::S24 => Some(24),
            SampleFormat::S32 => Some(32),
            SampleFormat::F32 | SampleFormat::F64 => None,
        }
    }
}

/// Appends `bytes` (whole interleaved frames) to the planar channels in `out`.
pub fn decode<T: Sample>(format: SampleFormat, bytes: &[u8], out: &mut [Vec<T>]) {
    let channels = out.len();
    let step = format.bytes();
    let frame = step * channels;
    let frames = bytes.len() / frame;
    if frames == 0 {
        return;
    }
    match format {
        SampleFormat::U8 => deinterleave(bytes, frames, 1, out, |s| {
            T::of_f64((f64::from(s[0]) - 128.0) / 128.0)
        }),
        SampleFormat::S16 => deinterleave(bytes, frames, 2, out, |s| {
            T::of_f64(f64::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0)
        }),
        SampleFormat::S24 => deinterleave(bytes, frames, 3, out, |s| {
            T::of_f64(f64::from(i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) / 8_388_608.0)
        }),
        SampleFormat::S32 => deinterleave(bytes, frames, 4, out, |s| {
            T::of_f64(f64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]])) / 2_147_483_648.0)
        }),
        SampleFormat::F32 => deinterleave(bytes, frames, 4, out, |s| {
            T::of_f64(f64::from(f32::from_le_bytes([s[0], s[1], s[2], s[3]])))
        }),
        SampleFormat::F64 => deinterleave(bytes, frames, 8, out, |s| {
            T::of_f64(f64::from_le_bytes([
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
            ]))
        }),
    }
}

/// Splits `frames` interleaved frames of `step`-byte samples into the planar channels, `at`
/// decoding one sample. Mono and stereo (the common layouts) go in one pass over fixed-size
/// frames, the outputs sized first and filled by position so the loop can vectorize.
#[inline(always)]
fn deinterleave<T: Sample>(
    bytes: &[u8],
    frames: usize,
    step: usize,
    out: &mut [Vec<T>],
    at: impl Fn(&[u8]) -> T + Copy,
) {
    match out {
        [mono] => mono.extend(bytes[..frames * step].chunks_exact(step).map(at)),
        [left, right] => {
            let (l0, r0) = (left.len(), right.len());
            left.resize(l0 + frames, T::zero());
            right.resize(r0 + frames, T::zero());
            for ((b, l), r) in bytes[..frames * 2 * step]
                .chunks_exact(2 * step)
                .zip(&mut left[l0..])
                .zip(&mut right[r0..])
            {
                *l = at(&b[..step]);
                *r = at(&b[step..]);
            }
        }
        _ => {
            let frame = step * out.len();
            for (c, ch) in out.iter_mut().enumerate() {
                ch.extend(
                    bytes[c * step..]
                        .chunks(frame)
                        .take(frames)
                        .map(|s| at(&s[..step])),
                );
            }
        }
    }
}

/// Turns planar float samples into interleaved bytes: dither and clipping for integers.
pub struct Encoder {
    format: SampleFormat,
    dither: bool,
    rng: u64,
    /// Samples clipped so far.
    pub clipped: u64,
}

impl Encoder {
    /// An encoder to `format`; `dither` adds TPDF dither, when the format is 8/16/24-bit, to
    /// the samples that are not exactly representable in it.
    pub fn new(format: SampleFormat, dither: bool) -> Self {
        Encoder {
            format,
            dither: dither && matches!(format.int_bits(), Some(8..=24)),
            rng: 0x853C_49E6_748F_EA9B,
            clipped: 0,
        }
    }

    fn uniform(&mut self) -> f64 {
        // xorshift64*: fast, deterministic (the same input gives the same output file).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        f64::from((self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as u32) / (1u64 << 24) as f64
    }

    /// Appends `frames` interleaved frames of `input` (planar) to `out`.
    pub fn encode<T: Sample>(&mut self, input: &[&[T]], frames: usize, out: &mut Vec<u8>) {
        let step = self.format.bytes();
        out.reserve(frames * input.len() * step);
        match self.format.int_bits() {
            None => {
                // Channel by channel into the interleaved slots: no per-sample branching.
                let channels = input.len();
                let start = out.len();
                out.resize(start + frames * channels * step, 0);
                let body = &mut out[start..];
                let mut clipped = 0u64;
                // f32 output: a finite value beyond f32's range is clipped (and counted)
                // instead of becoming infinity.
                let to_f32 = |v: T, clipped: &mut u64| -> f32 {
                    let x = v.as_f64();
                    let y = x as f32;
                    if y.is_infinite() && x.is_finite() {
                        *clipped += 1;
                        f32::MAX.copysign(y)
                    } else {
                        y
                    }
                };
                match (self.format, input) {
                    (SampleFormat::F32, [mono]) => {
                        for (slot, &v) in body.chunks_exact_mut(4).zip(&mono[..frames]) {
                            slot.copy_from_slice(&to_f32(v, &mut clipped).to_le_bytes());
                        }
                    }
                    (SampleFormat::F32, [left, right]) => {
                        for ((slot, &l), &r) in body
                            .chunks_exact_mut(8)
                            .zip(&left[..frames])
                            .zip(&right[..frames])
                        {
                            slot[..4].copy_from_slice(&to_f32(l, &mut clipped).to_le_bytes());
                            slot[4..].copy_from_slice(&to_f32(r, &mut clipped).to_le_bytes());
                        }
                    }
                    _ => {
                        for (c, ch) in input.iter().enumerate() {
                            let slots = body[c * step..].chunks_mut(channels * step);
                            if self.format == SampleFormat::F64 {
                                for (slot, &v) in slots.zip(&ch[..frames]) {
                                    slot[..8].copy_from_slice(&v.as_f64().to_le_bytes());
                                }
                            } else {
                                for (slot, &v) in slots.zip(&ch[..frames]) {
                                    slot[..4]
                                        .copy_from_slice(&to_f32(v, &mut clipped).to_le_bytes());
                                }
                            }
                        }
                    }
                }
                self.clipped += clipped;
            }
            Some(bits) => {
                let scale = (1u64 << (bits - 1)) as f64;
                let (lo, hi) = (-scale, scale - 1.0);
                for i in 0..frames {
                    for ch in input {
                        let mut v = ch[i].as_f64() * scale;
                        // Already on the grid (e.g. 16-bit input through a chain that did not
                        // change it): no dither, so the samples come back bit for bit.
                        if self.dither && v.fract() != 0.0 {
                            v += self.uniform() - self.uniform();
                        }
                        let mut q = v.round();
                        if q > hi || q < lo || q.is_nan() {
                            self.clipped += 1;
                            q = if q.is_nan() { 0.0 } else { q.clamp(lo, hi) };
                        }
                        let q = q as i64;
                        match bits {
                            8 => out.push((q + 128) as u8),
                            16 => out.extend_from_slice(&(q as i16).to_le_bytes()),
                            24 => out.extend_from_slice(&(q as i32).to_le_bytes()[..3]),
                            _ => out.extend_from_slice(&(q as i32).to_le_bytes()),
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_round_trip_is_exact_without_dither() {
        for format in [
            SampleFormat::U8,
            SampleFormat::S16,
            SampleFormat::S24,
            SampleFormat::S32,
        ] {
            let bits = format.int_bits().unwrap();
            let full = (1i64 << (bits - 1)) as f64;
            // The largest code, where f32 can hold it (not 1 - 2^-31).
            let top = if bits <= 24 { 1.0 - 1.0 / full } else { 0.75 };
            let values: Vec<f32> = [-1.0, -0.5, 0.0, 0.25, top]
                .iter()
                .map(|&v: &f64| v as f32)
                .collect();
            let mut enc = Encoder::new(format, false);
            let mut bytes = Vec::new();
            enc.encode(&[&values], values.len(), &mut bytes);
            let mut back: Vec<Vec<f32>> = vec![Vec::new()];
            decode(format, &bytes, &mut back);
            assert_eq!(back[0], values, "{format:?}");
            assert_eq!(enc.clipped, 0);
        }
    }

    #[test]
    fn sixteen_bit_maps_like_libsndfile_and_counts_clipping() {
        let mut back: Vec<Vec<f32>> = vec![Vec::new(), Vec::new()];
        decode(SampleFormat::S16, &[0x00, 0x80, 0xFF, 0x7F], &mut back);
        assert_eq!(back, vec![vec![-1.0], vec![32_767.0 / 32_768.0]]);
        let mut enc = Encoder::new(SampleFormat::S16, true);
        let mut bytes = Vec::new();
        enc.encode(&[&[1.5f32, -2.0, 0.0]], 3, &mut bytes);
        assert_eq!(enc.clipped, 2);
        assert_eq!(&bytes[..4], &[0xFF, 0x7F, 0x00, 0x80]);
    }

    #[test]
    fn on_grid_samples_are_not_dithered_and_f32_overflow_is_clipped() {
        // Exact 16-bit values come back exactly, with dither on.
        let values: Vec<f32> = (-300..300).map(|i| i as f32 * 97.0 / 32_768.0).collect();
        let mut enc = Encoder::new(SampleFormat::S16, true);
        let mut bytes = Vec::new();
        enc.encode(&[&values], values.len(), &mut bytes);
        let mut back: Vec<Vec<f32>> = vec![Vec::new()];
        decode(SampleFormat::S16, &bytes, &mut back);
        assert_eq!(back[0], values);
        // Off-grid values are dithered: half-way values go down as often as up (rounding alone
        // would always take them up).
        let off: Vec<f32> = (0..1000).map(|i| (i as f32 + 0.5) / 32_768.0).collect();
        let mut bytes = Vec::new();
        enc.encode(&[&off], off.len(), &mut bytes);
        let mut back: Vec<Vec<f32>> = vec![Vec::new()];
        decode(SampleFormat::S16, &bytes, &mut back);
        let down = back[0].iter().zip(&off).filter(|(b, o)| b < o).count();
        assert!((300..700).contains(&down), "{down} of 1000 rounded down");
        // f64 beyond f32's range: clipped to the largest f32 and counted.
        let mut enc = Encoder::new(SampleFormat::F32, false);
        let mut bytes = Vec::new();
        enc.encode(&[&[1e300f64, -1e300, 0.5]], 3, &mut bytes);
        assert_eq!(enc.clipped, 2);
        let mut back: Vec<Vec<f64>> = vec![Vec::new()];
        decode(SampleFormat::F32, &bytes, &mut back);
        assert_eq!(back[0], [f64::from(f32::MAX), -f64::from(f32::MAX), 0.5]);
    }
}
