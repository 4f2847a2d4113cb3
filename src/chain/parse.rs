//! Stage words -> linear stages (kernels designed or loaded here).
//!
//! Setup only. Every error quotes the whole stage word as typed.

use std::path::{Path, PathBuf};

use super::StageWord;
use super::design::{self, Band, Window};
use super::fused::{LinearStage, StageMode};
use super::kernels::Kernels;
use super::nonlinear::{NonlinearStage, Processor};
use super::{Context, MAX_DELAY, MAX_TAPS, Stage, bad_stage};
use crate::error::Result;
use crate::io::text::parse_number;
use crate::restore::dehum::Dehum;
use crate::restore::denoise::{self, Denoiser, Noise, Settings};

/// The stages, for `--help` and for "did you mean".
pub const STAGE_HELP: &str = "\
Stages (one shell word each: name[:arg,...][,key=value...]; applied left to right):
  fir:IR.wav       kernel from an impulse-response WAV: mono IR -> every channel, N channels ->
                   channel by channel, 4 channels on a stereo input -> true stereo (LL,LR,RL,RR).
                   gain=DB|X  normalize=none|peak|dc|energy (default none: used as stored)
                   wet=X dry=X (default wet=1, dry=0)  resample=yes (an IR at another rate is
                   resampled, band-limited; without it a rate mismatch is an error)
  taps:0.2,0.6,0.2 inline kernel (commas or spaces)   taps:@kernel.txt  from a file (.txt/.npy/.wav)
  ma:N  box:N      moving average (boxcar) of N taps
  gauss:SIGMA      Gaussian, sigma in samples (or gauss:sigma=S); taps=N (default +-4 sigma)
  savgol:W,ORDER   Savitzky-Golay smoothing (scipy.signal.savgol_coeffs(W, ORDER))
  lowpass:HZ  highpass:HZ  bandpass:LO,HI  bandstop:LO,HI
                   windowed-sinc, linear phase; HZ is the -3 dB point of the designed response.
                   window=hann|hamming|blackman|kaiser (default hamming), beta=B (kaiser, 8.6),
                   transition=HZ or taps=N (default transition: 1/4 of the distance from the
                   edge to 0 Hz, to Nyquist or to the other edge, at least rate/2000)
  gain:-6db        gain in dB (suffix db) or as a linear factor (gain:0.5)
  delay:10ms       delay by a time (ms, s) or a number of samples (delay:480); adds frames
  denoise          spectral noise reduction (STFT, decision-directed Wiener gain with lookahead);
                   mains hum found in the noise is taken out by tone subtraction first.
                   profile=NOISE.wav  a noise-only recording at the input's rate (mono -> every
                     channel, one per channel, else averaged); without it the noise is learned
                     from the input (minimum statistics over ~3 s; hum once it proves steady)
                   reduce=DB (default 30): the most it attenuates; more removes more noise
                     between words, less keeps a natural room tone
                   sensitivity=DB (default 0): scales the noise estimate; higher removes more
                     noise and more quiet speech, lower keeps more of both
                   frame=48ms (or samples): window length; longer resolves hum and steady noise
                     better, shorter follows fast sounds and lowers the latency
                   lookahead=N (frames, default 4; or ms): better onsets and fewer residual
                     bursts, at N * frame/4 more latency (live); files are time-aligned anyway
                   latency (live): frame - 1 + lookahead * frame/4 samples (~96 ms by default)
  dehum:50|60      removes mains hum and its harmonics by fitting and subtracting each tone
                   (phase- and frequency-tracking; the speech under the hum stays);
                   harmonics=N (default: every harmonic up to 1 kHz). No latency.
Every FIR-like stage takes mode=same or mode=full. Designed and inline kernels (ma, gauss,
savgol, taps, the filters) default to mode=same: np.convolve(x, k, 'same') per channel, the
input's length and alignment (a symmetric smoother does not delay). fir: defaults to
mode=full: an impulse response is causal, so the direct sound stays where it was and the whole
tail is kept (N + M - 1 frames), as ffmpeg's afir places it. A mono input through an N-channel
IR gives N channels (a 4-channel true-stereo IR on mono: out_L = x*(LL+RL), out_R =
x*(LR+RR)). The kernel words also work as convoy convolve's named kernels.
A NaN or infinity entering denoise or dehum is replaced by 0 (and counted): it would poison
their noise estimate and tone fits for the rest of the stream.";

const NAMES: [&str; 14] = [
    "fir", "taps", "ma", "box", "gauss", "savgol", "lowpass", "highpass", "bandpass", "bandstop",
    "gain", "delay", "denoise", "dehum",
];

/// A parsed, built stage and what it needs from outside.
pub struct Built {
    pub stage: Stage,
    /// Files the stage reads.
    pub reads: Vec<PathBuf>,
    /// A note for the user (a gain convoy applied).
    pub note: Option<String>,
    /// A mono stream becomes this many channels before the stage (a mono input through an
    /// N-channel IR).
    pub upmix: Option<usize>,
}

/// The most a Savitzky-Golay window times its order may be (the design costs about that many
/// operations; 2^27 is a fraction of a second).
const SAVGOL_WORK: usize = 1 << 27;

struct Word<'a> {
    text: &'a str,
    name: &'a str,
    args: Vec<&'a str>,
    opts: Vec<(&'a str, &'a str)>,
}

impl<'a> Word<'a> {
    fn split(text: &'a str) -> Word<'a> {
        let (name, rest, positional) = match text.find([':', ',']) {
            Some(i) if text.as_bytes()[i] == b':' => (&text[..i], &text[i + 1..], true),
            Some(i) => (&text[..i], &text[i + 1..], false),
            None => (text, "", false),
        };
        let mut args = Vec::new();
        let mut opts = Vec::new();
        if !rest.is_empty() {
            for (i, item) in rest.split(',').enumerate() {
                match item.split_once('=') {
                    Some((k, v)) => opts.push((k.trim(), v.trim())),
                    None if positional || i > 0 => args.push(item.trim()),
                    None => args.push(item.trim()),
                }
            }
        }
        Word {
            text,
            name: name.trim(),
            args,
            opts,
        }
    }

    fn err(&self, msg: impl std::fmt::Display) -> crate::error::Error {
        bad_stage(self.text, msg)
    }

    fn opt(&self, key: &str) -> Option<&'a str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    fn check_opts(&self, allowed: &[&str]) -> Result<()> {
        for (k, _) in &self.opts {
            if !allowed.contains(k) {
                return Err(self.err(if allowed.is_empty() {
                    format!("'{}' takes no options (got '{k}')", self.name)
                } else {
                    format!(
                        "unknown option '{k}' for '{}' (it takes {})",
                        self.name,
                        allowed.join(", ")
                    )
                }));
            }
        }
        Ok(())
    }

    fn number(&self, what: &str, text: &str) -> Result<f64> {
        match parse_number(text) {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(self.err(format!("{what} '{text}' is not a number"))),
        }
    }

    fn count(&self, what: &str, text: &str) -> Result<usize> {
        let v = self.number(what, text)?;
        if v < 1.0 {
            return Err(self.err(format!("{what} must be at least 1 (got {text})")));
        }
        if v.fract() != 0.0 {
            return Err(self.err(format!("{what} must be a whole number (got {text})")));
        }
        if v > MAX_TAPS as f64 {
            return Err(self.err(format!("{what} {text} is over the limit of 2^22 taps")));
        }
        Ok(v as usize)
    }

    fn rate(&self, ctx: &Context) -> Result<f64> {
        ctx.rate.map(f64::from).ok_or_else(|| {
            self.err("needs the sample rate, and the input does not say it: give --rate")
        })
    }

    fn hz(&self, text: &str, ctx: &Context) -> Result<f64> {
        let lower = text.to_ascii_lowercase();
        let (num, mult) = if let Some(n) = lower.strip_suffix("khz") {
            (n, 1000.0)
        } else if let Some(n) = lower.strip_suffix("k") {
            (n, 1000.0)
        } else if let Some(n) = lower.strip_suffix("hz") {
            (n, 1.0)
        } else {
            (lower.as_str(), 1.0)
        };
        let f = self.number("frequency", num.trim())? * mult;
        let rate = self.rate(ctx)?;
        if f <= 0.0 {
            return Err(self.err(format!("frequency {text} must be above 0 Hz")));
        }
        if f >= rate / 2.0 {
            return Err(self.err(format!(
                "frequency {text} is at or above Nyquist ({} Hz at {} Hz)",
                rate / 2.0,
                rate
            )));
        }
        Ok(f)
    }

    fn mode(&self, default: StageMode) -> Result<StageMode> {
        match self.opt("mode") {
            None => Ok(default),
            Some("full") => Ok(StageMode::Full),
            Some("same") => Ok(StageMode::Same),
            Some(other) => Err(self.err(format!("mode '{other}' is not full or same"))),
        }
    }

    fn want_args(&self, n: std::ops::RangeInclusive<usize>, usage: &str) -> Result<()> {
        if !n.contains(&self.args.len()) {
            return Err(self.err(format!("usage: {usage}")));
        }
        Ok(())
    }
}

fn parse_gain(w: &Word, text: &str) -> Result<f64> {
    let lower = text.to_ascii_lowercase();
    if let Some(db) = lower.strip_suffix("db") {
        Ok(10f64.powf(w.number("gain", db.trim())? / 20.0))
    } else {
        w.number("gain", text)
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A file named in a stage word: relative to the `--chain` file's folder when the word came
/// from one, else to the working directory.
fn resolve(word: &StageWord, file: &str) -> PathBuf {
    let path = PathBuf::from(file);
    match &word.origin {
        Some((chain, _)) if path.is_relative() => crate::io::parent_dir(chain).join(path),
        _ => path,
    }
}

/// Builds the stage `word` for `ctx`.
///
/// # Errors
/// An unknown stage (with a suggestion), bad arguments or options, a file it reads, or a
/// design the arguments cannot give: one message naming the word.
pub fn parse_stage(word: &StageWord, ctx: &Context) -> Result<Built> {
    let text = word.text.as_str();
    let w = Word::split(text);
    let mut reads = Vec::new();
    let mut note = None;
    let mut upmix = None;
    match w.name {
        "denoise" => return build_denoise(&w, word, ctx),
        "dehum" => return build_dehum(&w, ctx),
        "delay" => {
            w.check_opts(&[])?;
            w.want_args(1..=1, "delay:10ms, delay:0.5s or delay:480 (samples)")?;
            let d = samples(&w, "delay", w.args[0], ctx)?.round();
            if d > MAX_DELAY as f64 {
                return Err(w.err(format!("delay over {MAX_DELAY} samples")));
            }
            return Ok(Built {
                stage: Stage::Delay(d as u64),
                reads,
                note,
                upmix,
            });
        }
        "sobel-x" | "sobel-y" | "laplace" | "sharpen" => {
            return Err(w.err(format!(
                "'{}' is a 2-D image kernel (convoy convolve); a stream is 1-D",
                w.name
            )));
        }
        _ => {}
    }
    let same = StageMode::Same;
    let (kernels, mode) = match w.name {
        "ma" | "box" => {
            w.check_opts(&["mode"])?;
            w.want_args(1..=1, &format!("{}:N (taps)", w.name))?;
            (
                Kernels::Shared(design::moving_average(w.count("length", w.args[0])?)),
                w.mode(same)?,
            )
        }
        "taps" => {
            w.check_opts(&["mode"])?;
            let k = if let Some(file) = w.args.first().and_then(|a| a.strip_prefix('@')) {
                if w.args.len() != 1 {
                    return Err(w.err("usage: taps:@FILE or taps:a,b,c"));
                }
                let path = resolve(word, file);
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
            check_kernel(&w, &k, "kernel")?;
            (Kernels::Shared(k), w.mode(same)?)
        }
        "gauss" => {
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
                Some(t) => w.count("taps", t)?,
                None => {
                    // scipy.ndimage's support: +-int(4 sigma + 0.5).
                    let t = 2.0 * (4.0 * sigma + 0.5).floor() + 1.0;
                    if t > MAX_TAPS as f64 {
                        return Err(w.err("sigma too large (over the limit of 2^22 taps)"));
                    }
                    design::gaussian_taps(sigma)
                }
            };
            (
                Kernels::Shared(design::gaussian(sigma, taps)),
                w.mode(same)?,
            )
        }
        "savgol" => {
            w.check_opts(&["mode"])?;
            w.want_args(2..=2, "savgol:WINDOW,ORDER")?;
            let window = w.count("window", w.args[0])?;
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
                return Err(
                    w.err("window over 100001 taps: use gauss or ma for that much smoothing")
                );
            }
            if window.saturating_mul(order + 1) > SAVGOL_WORK {
                return Err(w.err(format!(
                    "window x (order + 1) = {} is over the limit of {SAVGOL_WORK}: a polynomial of order {order} over {window} points is not smoothing (lower the order)",
                    window.saturating_mul(order + 1)
                )));
            }
            (
                Kernels::Shared(design::savitzky_golay(window, order)),
                w.mode(same)?,
            )
        }
        "lowpass" | "highpass" | "bandpass" | "bandstop" => {
            w.check_opts(&["taps", "transition", "window", "beta", "mode"])?;
            let rate = w.rate(ctx)?;
            let band = match w.name {
                "lowpass" | "highpass" => {
                    w.want_args(1..=1, &format!("{}:HZ", w.name))?;
                    let f = w.hz(w.args[0], ctx)?;
                    if w.name == "lowpass" {
                        Band::Lowpass(f)
                    } else {
                        Band::Highpass(f)
                    }
                }
                _ => {
                    w.want_args(2..=2, &format!("{}:LO,HI", w.name))?;
                    let (lo, hi) = (w.hz(w.args[0], ctx)?, w.hz(w.args[1], ctx)?);
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
                    let n = w.count("taps", t)?;
                    if n % 2 == 0 {
                        return Err(w.err(format!(
                            "taps={n}: must be odd (a linear-phase filter with a centre tap)"
                        )));
                    }
                    n
                }
                (None, tr) => {
                    let transition = match tr {
                        Some(t) => w.hz(t, ctx)?,
                        None => design::default_transition(band, rate),
                    };
                    let n = design::taps_for(transition, rate, window);
                    if n > (1 << 20) {
                        return Err(w.err(format!(
                            "the transition asked for needs {n} taps (over 2^20): widen transition= or give taps="
                        )));
                    }
                    n
                }
            };
            let k = design::windowed_sinc(band, rate, taps, window);
            if let Some((edge, db)) = design::missed_edge(&k, band, rate) {
                let need = design::taps_reaching(band, rate, window, taps);
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
        }
        "gain" => {
            w.check_opts(&[])?;
            w.want_args(1..=1, "gain:-6db or gain:0.5")?;
            (
                Kernels::Shared(vec![parse_gain(&w, w.args[0])?]),
                StageMode::Full,
            )
        }
        "fir" => {
            w.check_opts(&["gain", "normalize", "wet", "dry", "mode", "resample"])?;
            w.want_args(
                1..=1,
                "fir:IR.wav[,normalize=...,gain=...,wet=...,dry=...,mode=...]",
            )?;
            let file = w.args[0];
            let path = resolve(word, file);
            let (mut channels, ir_rate) = load_ir(&w, &path)?;
            reads.push(path);
            let resample = match w.opt("resample") {
                None | Some("no") => false,
                Some("yes") => true,
                Some(r) => return Err(w.err(format!("resample '{r}' is not yes or no"))),
            };
            if let (Some(ir_rate), Some(rate)) = (ir_rate, ctx.rate) {
                if ir_rate != rate {
                    if !resample {
                        return Err(w.err(format!(
                            "{file} is {ir_rate} Hz but the input is {rate} Hz (add resample=yes to resample the IR)"
                        )));
                    }
                    for c in &mut channels {
                        *c = design::resample(c, ir_rate, rate);
                    }
                    note = Some(format!(
                        "{text}: resampled {file} from {ir_rate} Hz to {rate} Hz (band-limited, DFT; the frequency response kept)"
                    ));
                }
            }
            let factor = match w.opt("normalize").unwrap_or("none") {
                "none" => 1.0,
                "peak" => {
                    let peak = channels
                        .iter()
                        .flatten()
                        .fold(0.0f64, |m, v| m.max(v.abs()));
                    if peak == 0.0 { 1.0 } else { 1.0 / peak }
                }
                "dc" => {
                    let dc = channels
                        .iter()
                        .map(|c| c.iter().sum::<f64>().abs())
                        .fold(0.0, f64::max);
                    if dc == 0.0 {
                        return Err(w.err(format!("{file} sums to 0: normalize=dc is undefined")));
                    }
                    1.0 / dc
                }
                "energy" => {
                    let e = channels
                        .iter()
                        .map(|c| c.iter().map(|v| v * v).sum::<f64>())
                        .fold(0.0, f64::max);
                    if e == 0.0 { 1.0 } else { 1.0 / e.sqrt() }
                }
                other => {
                    return Err(w.err(format!(
                        "normalize '{other}' is not none, peak, dc or energy"
                    )));
                }
            };
            let gain = match w.opt("gain") {
                Some(g) => parse_gain(&w, g)?,
                None => 1.0,
            };
            let wet = match w.opt("wet") {
                Some(v) => w.number("wet", v)?,
                None => 1.0,
            };
            let dry = match w.opt("dry") {
                Some(v) => w.number("dry", v)?,
                None => 0.0,
            };
            let scale = factor * gain * wet;
            if factor != 1.0 {
                let before = note.take().map(|n| format!("{n}; ")).unwrap_or_default();
                note = Some(format!(
                    "{before}{text}: normalize={} scales the IR by {:.6} ({:+.2} dB)",
                    w.opt("normalize").unwrap_or("none"),
                    factor,
                    20.0 * factor.log10()
                ));
            }
            for c in &mut channels {
                c.iter_mut().for_each(|v| *v *= scale);
            }
            let input_channels = ctx.channels;
            let n = channels.len();
            let mut kernels = if n == 1 {
                Kernels::Shared(channels.remove(0))
            } else if n == input_channels {
                Kernels::PerChannel(channels)
            } else if n == 4 && input_channels == 2 {
                let m = &channels;
                // LL, LR, RL, RR -> [out][in]
                Kernels::Matrix(vec![
                    vec![m[0].clone(), m[2].clone()],
                    vec![m[1].clone(), m[3].clone()],
                ])
            } else if input_channels == 1 && n == 4 {
                // True stereo on mono: the voice feeds both inputs, out_L = x*(LL+RL),
                // out_R = x*(LR+RR).
                let sum = |a: &[f64], b: &[f64]| -> Vec<f64> {
                    let mut s = a.to_vec();
                    s.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    s
                };
                upmix = Some(2);
                Kernels::PerChannel(vec![
                    sum(&channels[0], &channels[2]),
                    sum(&channels[1], &channels[3]),
                ])
            } else if input_channels == 1 {
                // A mono voice into an N-channel IR: N channels out, out_c = x * IR_c.
                upmix = Some(n);
                Kernels::PerChannel(channels)
            } else {
                return Err(w.err(format!(
                    "{file} has {n} channels but the input has {input_channels} (use a mono IR, a {input_channels}-channel one{})",
                    if input_channels == 2 { ", or 4 channels for true stereo" } else { "" }
                )));
            };
            if dry != 0.0 {
                kernels = add_dry(kernels, dry);
            }
            // An impulse response is causal: by default its direct sound stays where it was
            // and the tail is kept (as ffmpeg's afir), instead of np.convolve's centring.
            (kernels, w.mode(StageMode::Full)?)
        }
        "" => return Err(w.err("no stage name (e.g. ma:9, lowpass:3000)")),
        other => {
            let best = NAMES
                .iter()
                .map(|n| (edit_distance(other, n), n))
                .min()
                .filter(|(d, _)| *d <= 2.max(other.len() / 3));
            return Err(crate::error::Error::Usage(match best {
                Some((_, n)) => format!("unknown stage '{text}' (did you mean '{n}'?)"),
                None => format!(
                    "unknown stage '{text}' (stages: {}; see convoy run --help)",
                    NAMES.join(", ")
                ),
            }));
        }
    };
    Ok(Built {
        stage: Stage::Linear(LinearStage {
            word: text.to_string(),
            kernels,
            mode,
        }),
        reads,
        note,
        upmix,
    })
}

/// The kernel of a linear stage word, for `convoy convolve` (one vocabulary for both
/// commands): `ma:5`, `gauss:2`, `savgol:11,3`, `taps:1,2,1`, `lowpass:1k` (with a rate).
///
/// # Errors
/// Not a kernel stage (denoise, fir...), or a bad word.
pub fn kernel_from_word(text: &str, rate: Option<u32>) -> Result<Vec<f64>> {
    let name = text.split([':', ',']).next().unwrap_or("");
    if matches!(name, "fir" | "denoise" | "dehum") {
        return Err(bad_stage(
            text,
            "is not a named kernel (give the IR file itself as the kernel)",
        ));
    }
    let word = StageWord::from(text);
    let ctx = Context {
        rate,
        channels: 1,
        block: None,
    };
    match parse_stage(&word, &ctx)?.stage {
        Stage::Linear(l) => match l.kernels {
            Kernels::Shared(k) => Ok(k),
            _ => Err(bad_stage(text, "is not a single kernel")),
        },
        Stage::Delay(d) => {
            let d = usize::try_from(d)
                .ok()
                .filter(|&d| d < MAX_TAPS)
                .ok_or_else(|| bad_stage(text, "over the limit of 2^22 taps as a kernel"))?;
            let mut k = vec![0.0; d + 1];
            k[d] = 1.0;
            Ok(k)
        }
        Stage::Nonlinear(_) => Err(bad_stage(text, "is not a linear filter")),
    }
}

/// A time (`48ms`, `0.05s`) or a whole number of samples, in samples.
fn samples(w: &Word, what: &str, text: &str, ctx: &Context) -> Result<f64> {
    let t = text.to_ascii_lowercase();
    let v = if let Some(ms) = t.strip_suffix("ms") {
        w.number(what, ms)? * w.rate(ctx)? / 1000.0
    } else if let Some(sec) = t.strip_suffix('s') {
        w.number(what, sec)? * w.rate(ctx)?
    } else {
        let v = w.number(what, &t)?;
        if v.fract() != 0.0 {
            return Err(w.err(format!(
                "{what} in samples must be a whole number (or say ms / s)"
            )));
        }
        v
    };
    if v < 0.0 {
        return Err(w.err(format!("{what} must not be negative")));
    }
    Ok(v)
}

/// A level in dB (`30`, `30db`).
fn decibels(w: &Word, what: &str, text: &str) -> Result<f64> {
    let t = text.to_ascii_lowercase();
    w.number(what, t.strip_suffix("db").unwrap_or(&t))
}

fn build_denoise(w: &Word, word: &StageWord, ctx: &Context) -> Result<Built> {
    w.check_opts(&["profile", "reduce", "sensitivity", "frame", "lookahead"])?;
    if !w.args.is_empty() {
        return Err(w.err(
            "usage: denoise[,profile=NOISE.wav,reduce=DB,sensitivity=DB,frame=MS,lookahead=N]",
        ));
    }
    let rate = w.rate(ctx)?;
    let frame = match w.opt("frame") {
        Some(t) => samples(w, "frame", t, ctx)?,
        None => 0.048 * rate,
    };
    // A multiple of 4 (hop = frame / 4) and of 16 when that is near (cheaper transforms).
    let mut frame = (frame.round() as usize / 4) * 4;
    if frame >= 256 {
        frame = (frame / 16) * 16;
    }
    if !(16..=1 << 16).contains(&frame) {
        return Err(w.err(format!(
            "frame must be 16 to 65536 samples ({:.1} to {:.0} ms at {rate} Hz), got {frame}",
            16.0e3 / rate,
            65536.0e3 / rate
        )));
    }
    let hop = frame / 4;
    let lookahead = match w.opt("lookahead") {
        None => 4,
        Some(t) if t.chars().all(|c| c.is_ascii_digit()) => w.number("lookahead", t)? as usize,
        Some(t) => (samples(w, "lookahead", t, ctx)? / hop as f64).ceil() as usize,
    };
    if lookahead > 64 {
        return Err(w.err("lookahead over 64 frames"));
    }
    let reduce_db = match w.opt("reduce") {
        Some(t) => decibels(w, "reduce", t)?.abs(),
        None => 30.0,
    };
    let sensitivity_db = match w.opt("sensitivity") {
        Some(t) => decibels(w, "sensitivity", t)?,
        None => 0.0,
    };
    if !(-30.0..=30.0).contains(&sensitivity_db) {
        return Err(w.err("sensitivity must be within -30..30 dB"));
    }
    let settings = Settings {
        frame,
        reduce_db,
        sensitivity_db,
        lookahead,
        rate,
    };
    let mut reads = Vec::new();
    let (noise, what) = match w.opt("profile") {
        Some(file) => {
            let path = resolve(word, file);
            let (columns, prate) = load_ir(w, &path)?;
            reads.push(path);
            if let Some(pr) = prate.filter(|&pr| f64::from(pr) != rate) {
                return Err(w.err(format!(
                    "{file} is at {pr} Hz but the input is at {rate} Hz: record the noise at the input's rate"
                )));
            }
            if columns[0].len() < frame {
                return Err(w.err(format!(
                    "{file} has {} samples; a noise profile needs at least one frame ({frame}), and a second or more is better",
                    columns[0].len()
                )));
            }
            let per_channel = columns.len() == ctx.channels || columns.len() == 1;
            let analysed: Vec<(Vec<f64>, Option<denoise::Hum>)> = columns
                .iter()
                .map(|c| denoise::profile_channel(&settings, c))
                .collect();
            let hum = analysed.iter().find_map(|(_, h)| h.clone());
            let mut psd: Vec<Vec<f64>> = analysed.into_iter().map(|(p, _)| p).collect();
            if !per_channel {
                let n = psd.len() as f64;
                let mut mean = vec![0.0; psd[0].len()];
                for p in &psd {
                    for (m, v) in mean.iter_mut().zip(p) {
                        *m += v / n;
                    }
                }
                psd = vec![mean];
            }
            let hum_text = match &hum {
                Some((mains, ks)) => format!(
                    "; hum at {mains} Hz (harmonics {}) subtracted",
                    ks.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                ),
                None => String::new(),
            };
            (
                Noise::Profile { psd, hum },
                format!("noise from {file}{hum_text}"),
            )
        }
        None => (
            Noise::Learned,
            "noise learned from the input (minimum statistics)".to_string(),
        ),
    };
    let describe = format!(
        "denoise: frame {frame} ({:.1} ms), hop {hop}, lookahead {lookahead}, floor -{reduce_db} dB, sensitivity {sensitivity_db:+} dB, {what}",
        frame as f64 * 1e3 / rate
    );
    let denoiser = Denoiser::new(&settings, &noise, ctx.channels);
    Ok(Built {
        stage: Stage::Nonlinear(NonlinearStage::new(
            w.text.to_string(),
            describe,
            Processor::Denoise(denoiser),
            ctx.channels,
        )),
        reads,
        note: None,
        upmix: None,
    })
}

fn build_dehum(w: &Word, ctx: &Context) -> Result<Built> {
    w.check_opts(&["harmonics"])?;
    w.want_args(1..=1, "dehum:50 or dehum:60 (the mains frequency in Hz)")?;
    let mains = w.number(
        "mains frequency",
        w.args[0].trim_end_matches(['h', 'H', 'z']),
    )?;
    let rate = w.rate(ctx)?;
    if !(10.0..=1000.0).contains(&mains) || mains >= rate / 4.0 {
        return Err(w.err(format!(
            "mains frequency {mains} Hz is out of range (10 Hz up to 1 kHz and below a quarter of the rate)"
        )));
    }
    let harmonics = match w.opt("harmonics") {
        Some(t) => {
            let n = w.count("harmonics", t)?;
            if n > 200 {
                return Err(w.err("harmonics over 200"));
            }
            (1..=n as u32).collect()
        }
        None => Dehum::all_harmonics(mains, 1000.0_f64.max(mains)),
    };
    let cancellers: Vec<Dehum> = (0..ctx.channels)
        .map(|_| Dehum::new(mains, rate, &harmonics))
        .collect();
    let fitted = cancellers.first().map_or(0, |d| d.harmonics().len());
    Ok(Built {
        stage: Stage::Nonlinear(NonlinearStage::new(
            w.text.to_string(),
            format!("dehum: {fitted} harmonics of {mains} Hz fitted and subtracted"),
            Processor::Dehum(cancellers),
            ctx.channels,
        )),
        reads: Vec::new(),
        note: None,
        upmix: None,
    })
}

fn add_dry(k: Kernels, dry: f64) -> Kernels {
    let bump = |mut v: Vec<f64>| {
        v[0] += dry;
        v
    };
    match k {
        Kernels::Shared(v) => Kernels::Shared(bump(v)),
        Kernels::PerChannel(vs) => Kernels::PerChannel(vs.into_iter().map(bump).collect()),
        Kernels::Matrix(mut m) => {
            for (i, row) in m.iter_mut().enumerate() {
                row[i][0] += dry;
            }
            Kernels::Matrix(m)
        }
    }
}

fn check_kernel(w: &Word, k: &[f64], what: &str) -> Result<()> {
    if k.is_empty() {
        return Err(w.err(format!("{what} is empty")));
    }
    if let Some(i) = k.iter().position(|v| !v.is_finite()) {
        return Err(w.err(format!(
            "{what} has a non-finite value ({}) at tap {i}",
            k[i]
        )));
    }
    Ok(())
}

/// Reads an impulse response (or noise profile) WAV through the one streaming reader: its
/// channels (f64) and rate; the length is checked against [`MAX_TAPS`] before reading.
fn load_ir(w: &Word, path: &Path) -> Result<(Vec<Vec<f64>>, Option<u32>)> {
    let file = path.display().to_string();
    let mut source = crate::io::Source::open(&file, Some(crate::io::WireFormat::Wav), None, None)
        .map_err(|e| w.err(e))?;
    let columns: Vec<Vec<f64>> = source.read_all(MAX_TAPS).map_err(|e| w.err(e))?;
    if columns.first().is_none_or(Vec::is_empty) {
        return Err(w.err(format!("{file} has no samples")));
    }
    for (c, col) in columns.iter().enumerate() {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(w.err(format!(
                "{file} has a non-finite value ({}) at frame {i}, channel {}",
                col[i],
                c + 1
            )));
        }
    }
    Ok((columns, source.info.rate))
}
