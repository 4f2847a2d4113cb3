//! The one table of stage families: names, help text, and what builds them. `--help`, the
//! "did you mean" suggestion and the dispatch all come from it.
//!
//! Setup only.

use super::spec::{Spec, StageWord, bad_stage};
use super::{Built, dehum, denoise, design, fir, gain_delay, iir, resample};
use crate::chain::{Context, Edges, Kernels, MAX_TAPS, Stage, WholeStage};
use crate::conv::Boundary;
use crate::conv::Mode;
use crate::conv::minphase::minimum_phase;
use crate::error::{Error, Result};

type Build = fn(&Spec, &Context) -> Result<Built>;

/// One family: the names that reach it, and how it builds.
struct Family {
    names: &'static [&'static str],
    build: Build,
}

const FAMILIES: &[Family] = &[
    Family {
        names: &["fir"],
        build: fir::fir_stage,
    },
    Family {
        names: &["taps"],
        build: design::taps_stage,
    },
    Family {
        names: &["ma", "box"],
        build: design::moving_average_stage,
    },
    Family {
        names: &["gauss"],
        build: design::gauss_stage,
    },
    Family {
        names: &["savgol"],
        build: design::savgol_stage,
    },
    Family {
        names: &["lowpass", "highpass", "bandpass", "bandstop"],
        build: design::filter_stage,
    },
    Family {
        names: &[
            "butter",
            "notch",
            "peak",
            "peq",
            "lowshelf",
            "highshelf",
            "allpass",
            "biquad",
            "sos",
        ],
        build: iir::iir_stage,
    },
    Family {
        names: &["gain"],
        build: gain_delay::gain_stage,
    },
    Family {
        names: &["delay"],
        build: gain_delay::delay_stage,
    },
    Family {
        names: &["resample"],
        build: resample::resample_stage,
    },
    Family {
        names: &["denoise"],
        build: denoise::denoise_stage,
    },
    Family {
        names: &["dehum"],
        build: dehum::dehum_stage,
    },
];

/// Kernels of convoy convolve's that a stream cannot take.
const TWO_D: [&str; 4] = ["sobel-x", "sobel-y", "laplace", "sharpen"];

/// Builds the stage `word` for `ctx`.
///
/// # Errors
/// An unknown stage (with a suggestion), bad arguments or options, a file it reads, or a
/// design the arguments cannot give: one message naming the word.
pub fn build(word: &StageWord, ctx: &Context) -> Result<Built> {
    let w = Spec::parse(word);
    if w.name.is_empty() {
        return Err(w.err("no stage name (e.g. ma:9, lowpass:3000)"));
    }
    if let Some(f) = FAMILIES.iter().find(|f| f.names.contains(&w.name)) {
        return match w.opt("boundary") {
            None => with_family(&w, f, ctx),
            Some(b) => with_boundary(&w, f, b, ctx),
        };
    }
    if TWO_D.contains(&w.name) {
        return Err(w.err(format!(
            "'{}' is a 2-D image kernel (convoy convolve); a stream is 1-D",
            w.name
        )));
    }
    let names: Vec<&str> = FAMILIES
        .iter()
        .flat_map(|f| f.names.iter().copied())
        .collect();
    let best = names
        .iter()
        .map(|n| (strsim::levenshtein(w.name, n), *n))
        .min()
        .filter(|(d, _)| *d <= 2.max(w.name.len() / 3));
    Err(Error::Usage(match best {
        Some((_, n)) => format!("unknown stage '{}' (did you mean '{n}'?)", w.text),
        None => format!(
            "unknown stage '{}' (stages: {}; see convoy run --help)",
            w.text,
            names.join(", ")
        ),
    }))
}

/// FIR families that take `phase=linear|minimum`.
const FIR_FAMILIES: [&str; 10] = [
    "fir", "taps", "ma", "box", "gauss", "savgol", "lowpass", "highpass", "bandpass", "bandstop",
];

/// A family's stage, with `phase=` handled.
fn with_family(w: &Spec, f: &Family, ctx: &Context) -> Result<Built> {
    match w.opt("phase") {
        None => (f.build)(w, ctx),
        Some(phase) => with_phase(w, f, phase, ctx),
    }
}

/// `OPTION=` is for the FIR families only: one error line naming them otherwise.
fn fir_only(w: &Spec, option: &str) -> Result<()> {
    if FIR_FAMILIES.contains(&w.name) {
        return Ok(());
    }
    Err(w.err(format!(
        "{option}= applies to FIR stages ({}); '{}' takes none",
        FIR_FAMILIES.join(", "),
        w.name
    )))
}

/// A FIR stage with `boundary=`: in `mode=same`, the signal extended as np.pad's mode before a
/// 'valid' convolution (what `convoy convolve --boundary` computes), over the whole input.
fn with_boundary(w: &Spec, f: &Family, b: &str, ctx: &Context) -> Result<Built> {
    fir_only(w, "boundary")?;
    let boundary = match b {
        "zero" => Boundary::Zero,
        "reflect" => Boundary::Reflect,
        "symmetric" => Boundary::Symmetric,
        "wrap" => Boundary::Wrap,
        "edge" => Boundary::Edge,
        other => {
            return Err(w.err(format!(
                "boundary '{other}' is not zero, reflect, symmetric, wrap or edge"
            )));
        }
    };
    let mut built = with_family(&w.without("boundary"), f, ctx)?;
    let (kernels, mode) = match &built.stage {
        Stage::Linear(l) => (l.kernels.clone(), l.mode),
        Stage::Whole(x) => (x.kernels.clone(), Mode::Same),
        _ => return Err(w.err("boundary= applies to FIR stages")),
    };
    if mode != Mode::Same {
        return Err(w.err(
            "boundary= says how mode=same extends the signal; this stage runs in another mode (give mode=same)",
        ));
    }
    if matches!(kernels, Kernels::Matrix(_)) {
        return Err(w.err("boundary= on a true-stereo IR is not supported"));
    }
    built.stage = if boundary == Boundary::Zero {
        Stage::Linear(crate::chain::LinearStage {
            word: w.text.to_string(),
            kernels,
            mode,
        })
    } else {
        Stage::Whole(WholeStage {
            word: w.text.to_string(),
            kernels,
            edges: Edges::Extend(boundary),
        })
    };
    Ok(built)
}

/// A FIR stage with `phase=`: built as usual, then (for `minimum`) every kernel replaced by
/// the minimum-phase kernel of the same magnitude. A minimum-phase kernel is causal, so the
/// stage runs as `mode=full` (its front is not trimmed: that would advance the signal) unless
/// `mode=valid` is asked for.
fn with_phase(w: &Spec, family: &Family, phase: &str, ctx: &Context) -> Result<Built> {
    fir_only(w, "phase")?;
    let minimum = match phase {
        "linear" => false,
        "minimum" => true,
        other => return Err(w.err(format!("phase '{other}' is not linear or minimum"))),
    };
    let plain = w.without("phase");
    if !minimum {
        return (family.build)(&plain, ctx);
    }
    let mode = match w.opt("mode") {
        None | Some("full") => Mode::Full,
        Some("valid") => Mode::Valid,
        Some("same") => {
            return Err(w.err(
                "phase=minimum is causal: mode=same would trim its front and advance the signal (use mode=full, the default, or valid)",
            ));
        }
        Some(other) => return Err(w.err(format!("mode '{other}' is not full, same or valid"))),
    };
    let mut built = (family.build)(&plain, ctx)?;
    // A stage with whole-signal edges (savgol's default) becomes a plain causal one.
    if let Stage::Whole(x) = &built.stage {
        built.stage = Stage::Linear(crate::chain::LinearStage {
            word: x.word.clone(),
            kernels: x.kernels.clone(),
            mode: Mode::Full,
        });
    }
    if let Stage::Linear(l) = &mut built.stage {
        // A silent path (a true-stereo IR's empty cross feed) stays silent.
        let mut worst: f64 = 0.0;
        let mut min = |k: &Vec<f64>| {
            if k.iter().all(|v| *v == 0.0) {
                return Ok(k.clone());
            }
            let (m, off) = minimum_phase(k).map_err(|e| w.err(e))?;
            worst = worst.max(off);
            Ok(m)
        };
        l.kernels = match &l.kernels {
            Kernels::Shared(k) => Kernels::Shared(min(k)?),
            Kernels::PerChannel(ks) => {
                Kernels::PerChannel(ks.iter().map(min).collect::<Result<_>>()?)
            }
            Kernels::Matrix(m) => Kernels::Matrix(
                m.iter()
                    .map(|row| row.iter().map(&mut min).collect::<Result<Vec<_>>>())
                    .collect::<Result<_>>()?,
            ),
        };
        l.mode = mode;
        if worst > 0.1 {
            let note = format!(
                "{}: the minimum-phase kernel's magnitude differs from the original's by up to {worst:.2} dB (where the original is above -60 dB)",
                w.text
            );
            built.note = Some(match built.note.take() {
                Some(n) => format!("{n}; {note}"),
                None => note,
            });
        }
    }
    Ok(built)
}

/// The stages' help (`convoy run --help`).
pub fn help() -> &'static str {
    STAGE_HELP
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
    match build(&word, &ctx)?.stage {
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
        Stage::Resample(_) => Err(bad_stage(text, "changes the rate; it is not a kernel")),
        Stage::Whole(w) => match w.kernels {
            Kernels::Shared(k) => Ok(k),
            _ => Err(bad_stage(text, "is not a single kernel")),
        },
        Stage::Iir(_) => Err(bad_stage(
            text,
            "is a recursive filter: its impulse response never ends, so it is not a kernel",
        )),
    }
}

const STAGE_HELP: &str = "\
Stages (one shell word each: name[:arg,...][,key=value...]; applied left to right):
  fir:IR.wav       kernel from an impulse-response WAV: mono IR -> every channel, N channels ->
                   channel by channel, 4 channels on a stereo input -> true stereo (LL,LR,RL,RR).
                   gain=DB|X  normalize=none|peak|dc|energy (default none: used as stored)
                   wet=X dry=X (default wet=1, dry=0)  resample=yes (an IR at another rate is
                   resampled, band-limited; without it a rate mismatch is an error)
  taps:0.2,0.6,0.2 inline kernel (commas or spaces)   taps:@kernel.txt  from a file (.txt/.npy/.wav)
  ma:N  box:N      moving average (boxcar) of N taps
  gauss:SIGMA      Gaussian, sigma in samples (or gauss:sigma=S); taps=N (default +-4 sigma)
  savgol:W,ORDER   Savitzky-Golay smoothing, scipy.signal.savgol_filter(x, W, ORDER): edges by
                   mode=interp (default for an odd W: a polynomial fitted to the first and last
                   W samples; an input shorter than W gets mode=constant), mirror, nearest,
                   constant (zero padding = np.convolve 'same') or wrap; or same/full/valid
  lowpass:HZ  highpass:HZ  bandpass:LO,HI  bandstop:LO,HI
                   windowed-sinc, linear phase; HZ is the -3 dB point of the designed response.
                   window=hann|hamming|blackman|kaiser (default hamming), beta=B (kaiser, 8.6),
                   transition=HZ or taps=N (default transition: 1/4 of the distance from the
                   edge to 0 Hz, to Nyquist or to the other edge, at least rate/2000)
  butter:lowpass,HZ  butter:highpass,HZ  butter:bandpass,LO,HI  butter:bandstop,LO,HI
                   Butterworth, order=N (default 4; a band filter has 2N poles), exactly
                   scipy.signal.butter(N, Wn, btype, fs=rate, output='sos') run by sosfilt
  notch:HZ  peak:HZ   scipy's iirnotch / iirpeak, q=Q (default 30)
  peq:HZ,gain=DB  lowshelf:HZ,gain=DB  highshelf:HZ,gain=DB  allpass:HZ
                   Audio EQ Cookbook biquads (R. Bristow-Johnson), q=Q (default 0.7071)
  biquad:b0,b1,b2,a0,a1,a2   one section (divided by a0)
  sos:@FILE        second-order sections, rows b0 b1 b2 a0 a1 a2 (text or .npy; any design
                   saved from scipy.signal.*(..., output='sos'))
                   Recursive stages keep f64 state per channel and run as sosfilt does
                   (mode=causal, the default; live too, no added latency beyond the filter's
                   own phase delay, which --explain quotes) or as sosfiltfilt
                   (mode=zero-phase: forwards and backwards with scipy's default padding, the
                   whole input held in memory; offline only). Causal ones in a row run as one
                   cascade; they break FIR fusion.
  gain:-6db        gain in dB (suffix db) or as a linear factor (gain:0.5)
  delay:10ms       delay by a time (ms, s) or a number of samples (delay:480); adds frames
  resample:48000   change the stream's rate here (also 44.1k, 96kHz): the stages after it are
                   built for the new rate; band-limited (flat to 0.98 of the lower Nyquist
                   frequency, images and aliases below -140 dB), aligned as sox rate (no delay),
                   exactly ceil(N x to / from) frames; live, a 256-point sinc resampler
                   (flat to 0.9 of the lower Nyquist frequency; delay in --explain), and the
                   speakers run at the new rate
  denoise          speech denoising. model= picks how:
                   model=hybrid (default): the spectral reducer below at a 12 dB floor, then
                     RNNoise (Xiph's recurrent network, via nnnoiseless; 48 kHz inside,
                     resampled at other rates). Best on real recordings (PESQ-WB 1.59 against
                     RNNoise alone 1.48, benches/denoise_real.py); offline primed on the
                     first 2 s so the start is cleaned as the rest; not transparent (clean
                     speech comes out changed by about -20 dB)
                   model=spectral: the STFT reducer alone (decision-directed Wiener gain with
                     lookahead): exact when nothing is removed (-34 dB on clean speech),
                     deepest on steady noise, ~450x real time at 48 kHz (hybrid ~130x)
                   model=rnnoise: RNNoise alone, the least latency (~20 ms at 48 kHz)
                   Mains hum found in the noise is taken out by tone subtraction first (a
                   dehum: before denoise is not needed).
                   profile=NOISE.wav  a noise-only recording at the input's rate (mono -> every
                     channel, one per channel, else averaged): the noise at the start; without
                     it the first frames are. Either way the noise is then tracked as it
                     changes (speech presence; ~1 s to follow a 10 dB rise; hum once it
                     proves steady); resample=yes takes a profile at another rate
                   reduce=DB (default 12 hybrid, 20 spectral): the spectral stage's most
                     attenuation; more removes more noise between words (and scores better
                     on SNR), less keeps a natural room tone and the speech under babble
                   sensitivity=DB (default 0): scales the noise estimate; higher removes more
                     noise and more quiet speech, lower keeps more of both
                   frame=48ms (or samples): window length; longer resolves hum and steady noise
                     better, shorter follows fast sounds and lowers the latency
                   lookahead=N (frames, default 4, 2 in hybrid; or ms): better onsets and
                     fewer residual bursts, at N * frame/4 more latency (live); files are
                     time-aligned anyway
                   latency (live, in --explain): spectral frame - 1 + lookahead * frame/4
                     samples (~96 ms spectral, ~72 ms in hybrid), plus RNNoise's ~20 ms (35
                     ms at 16 kHz);
                     for live use lookahead=0,frame=32ms (~52 ms hybrid) or model=rnnoise.
                     Live there is no priming: RNNoise settles over its first second
  dehum:50|60      removes mains hum and its harmonics by fitting and subtracting each tone
                   (phase- and frequency-tracking; the speech under the hum stays);
                   harmonics=N (default: every harmonic up to 1 kHz). No latency.
FIR stages in mode=same take boundary=zero|reflect|symmetric|wrap|edge: the signal extended
as np.pad's mode before a 'valid' convolution (exactly convoy convolve --boundary); offline the
stage holds the input to the end (wrap needs it), live it runs causally (no end to extend).
FIR stages (fir, taps, ma, box, gauss, savgol, lowpass, highpass, bandpass, bandstop) take
phase=linear (default) or phase=minimum: the minimum-phase kernel with the same magnitude
(within 0.1 dB wherever the design is above -60 dB) and length, its energy at the front, so its
delay is its group delay instead of (M-1)/2 (highpass:80 at 48 kHz: 68.8 ms -> under 0.1 ms
at 1 kHz). It is causal, so it runs as mode=full (or valid). Live, every FIR stage runs
causally: a linear-phase one delays by (M-1)/2; for low latency use phase=minimum or a
recursive stage (butter, peq...); --explain gives each stage's delay.
Every FIR-like stage takes mode=same, mode=full or mode=valid (np.convolve's modes; live,
each runs causally, as full). Designed and inline kernels (ma, gauss, savgol, taps, the
filters) default to mode=same: np.convolve(x, k, 'same') per channel, the input's length and
alignment (a symmetric smoother does not delay). fir: defaults to
mode=full: an impulse response is causal, so the direct sound stays where it was and the whole
tail is kept (N + M - 1 frames), as ffmpeg's afir places it. A mono input through an N-channel
IR gives N channels (a 4-channel true-stereo IR on mono: out_L = x*(LL+RL), out_R =
x*(LR+RR)). The kernel words also work as convoy convolve's named kernels.
A NaN or infinity entering denoise or dehum is replaced by 0 (and counted): it would poison
their noise estimate and tone fits for the rest of the stream.";
