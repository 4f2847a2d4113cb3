//! The command line, as clap derive structs. Doc comments here are the `--help` text. No file
//! access: validation that needs the file system happens in the command modules.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

use convoy::conv::{Boundary, Method, Mode};
use convoy::io::{Bits, Dither, WireFormat};

/// A library enum offered on the command line: its names and help live here, with the rest of
/// the command line (the library knows no clap).
trait Choice: Copy + Send + Sync + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
    fn help(self) -> &'static str;
}

/// A parser that offers `T`'s names (listed in --help and in errors).
fn choice<T: Choice>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|c| PossibleValue::new(c.name()).help(c.help())),
    )
    .map(|s| {
        T::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .unwrap_or(T::ALL[0])
    })
}

impl Choice for Mode {
    const ALL: &'static [Self] = &[Mode::Full, Mode::Same, Mode::Valid];
    fn name(self) -> &'static str {
        Mode::name(self)
    }
    fn help(self) -> &'static str {
        match self {
            Mode::Full => "every point of overlap: N + M - 1",
            Mode::Same => "max(N, M), centred as numpy centres it",
            Mode::Valid => "only complete overlap: max(N, M) - min(N, M) + 1",
        }
    }
}

impl Choice for Method {
    const ALL: &'static [Self] = &[Method::Auto, Method::Direct, Method::Fft];
    fn name(self) -> &'static str {
        Method::name(self)
    }
    fn help(self) -> &'static str {
        match self {
            Method::Auto => "direct or FFT by the cost model; direct when an input has NaN/inf",
            Method::Direct => "time-domain sums: numpy's arithmetic exactly",
            Method::Fft => "FFT or overlap-add",
        }
    }
}

impl Choice for Boundary {
    const ALL: &'static [Self] = &[
        Boundary::Zero,
        Boundary::Reflect,
        Boundary::Symmetric,
        Boundary::Wrap,
        Boundary::Edge,
    ];
    fn name(self) -> &'static str {
        Boundary::name(self)
    }
    fn help(self) -> &'static str {
        match self {
            Boundary::Zero => "no extension (--mode applies)",
            Boundary::Reflect => "d c b | a b c d | c b a (np.pad reflect)",
            Boundary::Symmetric => "c b a | a b c d | d c b (np.pad symmetric)",
            Boundary::Wrap => "b c d | a b c d | a b c (periodic)",
            Boundary::Edge => "a a a | a b c d | d d d (np.pad edge)",
        }
    }
}

impl Choice for WireFormat {
    const ALL: &'static [Self] = &[
        WireFormat::Wav,
        WireFormat::F32le,
        WireFormat::S16le,
        WireFormat::Text,
        WireFormat::Flac,
    ];
    fn name(self) -> &'static str {
        match self {
            WireFormat::Wav => "wav",
            WireFormat::F32le => "f32le",
            WireFormat::S16le => "s16le",
            WireFormat::Text => "text",
            WireFormat::Flac => "flac",
        }
    }
    fn help(self) -> &'static str {
        match self {
            WireFormat::Wav => "RIFF/RF64 WAV (any PCM or float encoding when reading)",
            WireFormat::F32le => {
                "raw interleaved 32-bit float (reading needs --rate and --channels)"
            }
            WireFormat::S16le => {
                "raw interleaved signed 16-bit (reading needs --rate and --channels)"
            }
            WireFormat::Text => "one frame per line, channels separated by spaces or commas",
            WireFormat::Flac => {
                "FLAC, 16 or 24 bit (the input's depth, 24 for float; --bits); read by content"
            }
        }
    }
}

impl Choice for Bits {
    const ALL: &'static [Self] = &[Bits::S16, Bits::S24, Bits::S32, Bits::F32];
    fn name(self) -> &'static str {
        match self {
            Bits::S16 => "16",
            Bits::S24 => "24",
            Bits::S32 => "32",
            Bits::F32 => "f32",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Bits::S16 => "16-bit integer",
            Bits::S24 => "24-bit integer",
            Bits::S32 => "32-bit integer",
            Bits::F32 => "32-bit float",
        }
    }
}

impl Choice for Dither {
    const ALL: &'static [Self] = &[Dither::Tpdf, Dither::None];
    fn name(self) -> &'static str {
        match self {
            Dither::Tpdf => "tpdf",
            Dither::None => "none",
        }
    }
    fn help(self) -> &'static str {
        match self {
            Dither::Tpdf => "triangular, +-1 LSB, on samples not already on the output's grid",
            Dither::None => "round to the nearest code",
        }
    }
}

const MAIN_EXAMPLES: &str = "\
Examples:
  convoy convolve \"1 2 3\" \"0 1 0.5\"                         # -> 0 1 2.5 4 1.5
  convoy convolve samples/noisy_sine.txt samples/hann9.txt --mode same -o smooth.txt
  convoy convolve sig.txt \"-1 2 -1\" --boundary reflect      # edge-aware 2nd difference";

/// convoy: convolution you can check against numpy, from the command line.
#[derive(Debug, Parser)]
#[command(name = "convoy", version, after_help = MAIN_EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convolve or correlate two arrays once, with numpy/scipy's exact semantics.
    Convolve(ConvolveArgs),
    /// Measure the streaming engine: realtime factor, CPU, latency, per-block times.
    Bench(BenchArgs),
    /// Stream audio or sensor data from a WAV file or stdin through a chain of filter stages to
    /// a WAV file or stdout.
    Run(RunArgs),
    /// Draw the frequency response of a chain (magnitude and group delay, log frequency) from
    /// its actual impulse response, or print it as CSV.
    Response(ResponseArgs),
    /// Plot arrays or WAVs (.txt/.csv/.npy/.wav) overlaid, e.g. `convoy convolve` results.
    Plot(PlotArgs),
    /// List sound input and output devices: ids, descriptions, default and supported
    /// configurations (rates, channels, sample formats); `*` marks the defaults.
    Devices(DevicesArgs),
}

/// `convoy devices`.
#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Also list the ALSA plugin PCMs that cannot be opened here (rate converters, JACK, OSS
    /// without their servers), with why.
    #[arg(long)]
    pub all: bool,
}

const RUN_EXAMPLES: &str = "\
Examples:
  convoy run -i noisy.wav -o smooth.wav ma:9
  convoy run -i in.wav -o out.wav highpass:80 lowpass:8000 gain:-3db
  convoy run -i dry.wav -o wet.wav fir:hall.wav,normalize=peak,mode=full
  convoy run -i in.wav --explain bandpass:300,3400 ma:5       # show the built chain, do nothing
  convoy run -i in.wav -o - ma:9 | convoy run -i - -o out.wav lowpass:2k
  sensor | convoy run --in-format text --rate 100 -o - --out-format text gauss:2
  convoy run -i mic -o speakers ma:9                          # live, default devices
  convoy run -i mic:usb -o speakers --block 64 --latency 30 --stats highpass:80 lowpass:8000
  convoy run -i mic -o take.wav --duration 10s ma:9           # record through the chain
  convoy run -i song.wav -o speakers:hdmi lowpass:2k          # play through the chain
  convoy run -i 'rec/**/*.flac' -o cleaned/ --jobs 4 denoise highpass:80   # many files
  convoy run -i rec/ -o cleaned/ --resume --report log.jsonl --shard 0/8 fir:room.wav";

/// Arguments of `convoy run`.
#[derive(Debug, Args)]
#[command(after_help = RUN_EXAMPLES, after_long_help = format!("{}\n\n{RUN_EXAMPLES}", convoy::stages::help()))]
pub struct RunArgs {
    /// Source: an audio file (WAV, FLAC, MP3, Ogg, AIFF, CAF, M4A; recognized by content), - for
    /// stdin (raw and text with --in-format), mic / mic:NAME for a sound input device (NAME: an
    /// ALSA id or a PulseAudio/PipeWire source name from `convoy devices`, or part of a
    /// description; a file called "mic" is ./mic), or many files: a glob ('rec/**/*.wav',
    /// quoted), a folder, or @LIST (paths one per line); -o is then a folder.
    #[arg(short = 'i', long = "input", value_name = "SRC", default_value = "-")]
    pub input: String,
    /// Sink: a WAV or FLAC file (or .txt for text), - for stdout (a streaming 32-bit float WAV
    /// unless --out-format says otherwise), speakers / speakers:NAME for a sound output device
    /// (NAME: an ALSA id or a PulseAudio/PipeWire sink name, as for mic:NAME), or a folder for
    /// many inputs (each output at its input's relative path, folders made as needed).
    #[arg(short = 'o', long = "output", value_name = "SINK", default_value = "-")]
    pub output: String,
    /// Processing block in frames (any N >= 1): the latency the engine must meet. Without it,
    /// the engine uses whatever partitioning is fastest (offline), and 64 frames live.
    #[arg(long, value_name = "N")]
    pub block: Option<usize>,
    /// Read stages from FILE, one per line (# comments), before those on the command line.
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// Input format (default: WAV by its header, text if the input is plain text).
    #[arg(long, value_parser = choice::<WireFormat>(), value_name = "FORMAT")]
    pub in_format: Option<WireFormat>,
    /// Output format (default: from the extension; WAV for stdout).
    #[arg(long, value_parser = choice::<WireFormat>(), value_name = "FORMAT")]
    pub out_format: Option<WireFormat>,
    /// Sample rate in Hz (required for raw input; checked against a WAV header).
    #[arg(long, value_name = "HZ")]
    pub rate: Option<u32>,
    /// Channels (required for raw input; checked against a header).
    #[arg(long, value_name = "N")]
    pub channels: Option<usize>,
    /// WAV output sample format (default: the input's; 32-bit float for stdout). Integer
    /// output is dithered (see --dither) and clipped samples are counted.
    #[arg(long, value_parser = choice::<Bits>())]
    pub bits: Option<Bits>,
    /// Dither for 8/16/24-bit output: tpdf (triangular, +-1 LSB, as SoX) adds it only to
    /// samples not already exactly on the output's grid, so a chain that changes nothing is
    /// bit-exact; none rounds.
    #[arg(long, value_parser = choice::<Dither>(), default_value = "tpdf")]
    pub dither: Dither,
    /// Print the built chain (each stage's kernel length, mode and gain, what was fused, the
    /// engine's partitions and latency) and exit without processing.
    #[arg(long)]
    pub explain: bool,
    /// No progress bar, notes or summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Live: the cushion in milliseconds between the chain and the speakers (audio queued ahead
    /// so a late block or a stalled sound server does not drop out; it adds that much latency).
    /// An ALSA PCM holds all of it in its buffer (written to, as aplay plays).
    #[arg(long, value_name = "MS", default_value_t = 60.0)]
    pub latency: f64,
    /// Text input: which columns are signals (names from the header line, or numbers from 1),
    /// e.g. `--columns value` or `--columns 2,3`; the others pass through unchanged (a time
    /// column). Default: every column is a signal.
    #[arg(long, value_name = "NAME|N,...", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Stop after this much input (10s, 500ms, 2.5 = seconds), live or from a file; default:
    /// until Ctrl-C or the end of the input.
    #[arg(long, value_name = "TIME")]
    pub duration: Option<String>,
    /// Live: print xruns, ring fill and processing time per block once a second and at exit.
    #[arg(long)]
    pub stats: bool,
    /// After the run, draw a PNG: input and output waveforms overlaid (one panel per channel,
    /// up to 4) and their averaged spectra (first channel).
    #[arg(long, value_name = "PNG")]
    pub plot: Option<PathBuf>,
    /// Many files (when -i is a glob such as 'rec/**/*.wav', a folder, or @LIST, a file of
    /// paths one per line; -o is then a folder): files processed at once (default: the number
    /// of cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Many files: write one JSON line per input (input, output, frames, seconds, status,
    /// error) to FILE as each one ends.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Many files: skip inputs whose output is already complete (decodes to the expected
    /// length, rate and channels); redo the others.
    #[arg(long)]
    pub resume: bool,
    /// Many files: process only shard K of N (K from 0 to N-1), chosen by a stable hash of
    /// each input's path under the base folder, so N machines split a corpus with no
    /// coordination (e.g. --shard $SLURM_ARRAY_TASK_ID/N).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Filter stages, applied left to right (see --help for the list).
    #[arg(value_name = "STAGE")]
    pub stages: Vec<String>,
}

const RESPONSE_EXAMPLES: &str = "\
Examples:
  convoy response lowpass:1000 -o lp.png
  convoy response --rate 44100 highpass:80 lowpass:8000 ma:3 --csv > response.csv
  convoy response fir:room.wav -o room.png";

/// Arguments of `convoy response`.
#[derive(Debug, Args)]
#[command(after_help = RESPONSE_EXAMPLES)]
pub struct ResponseArgs {
    /// Sample rate the chain is designed for, in Hz (`fir:` IRs must match it).
    #[arg(long, value_name = "HZ", default_value_t = 48_000)]
    pub rate: u32,
    /// Read stages from FILE, one per line (# comments), before those on the command line.
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// Write the picture here (PNG).
    #[arg(short = 'o', long = "output", value_name = "PNG")]
    pub output: Option<PathBuf>,
    /// Print `frequency_hz,magnitude_db,phase_deg` rows to stdout instead of drawing.
    #[arg(long)]
    pub csv: bool,
    /// Frequencies, log-spaced from 1 Hz to Nyquist.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub points: usize,
    /// Stages, as for `convoy run`.
    #[arg(value_name = "STAGE")]
    pub stages: Vec<String>,
}

/// Arguments of `convoy plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Arrays or WAVs; every column (channel) is one line. WAVs are drawn against seconds,
    /// other files against the sample index.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write the picture here (PNG).
    #[arg(short = 'o', long = "output", value_name = "PNG", required = true)]
    pub output: PathBuf,
}

const BENCH_EXAMPLES: &str = "\
Examples:
  convoy bench --kernel-len 65536 --block 128 --channels 2
  convoy bench --kernel-len 262144 --block 64 --channels 2 --paced --seconds 60
  convoy bench --engine uniform --kernel-len 4096 --block 256 --json";

/// Which streaming engine `convoy bench` runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Non-uniform partitions chosen by the cost model (may be a single uniform stage).
    #[default]
    Auto,
    /// Uniform partitions of the block size.
    Uniform,
    /// Non-uniform partitions (same as auto).
    Partitioned,
}

/// Arguments of `convoy bench`.
#[derive(Debug, Args)]
#[command(after_help = BENCH_EXAMPLES)]
pub struct BenchArgs {
    /// Kernel length in taps (a generated decaying-noise impulse response).
    #[arg(long, default_value_t = 65_536)]
    pub kernel_len: usize,
    /// Processing block in frames (a power of two): the engine's latency.
    #[arg(long, default_value_t = 128)]
    pub block: usize,
    /// Channels, each filtered by the same kernel (spectra shared).
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// uniform, partitioned, or auto (the cost model's schedule).
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Sample rate in Hz (sets the block period and the realtime factor).
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// Seconds of audio to process.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// Feed blocks at the real-time rate, as an audio callback would, and count deadline
    /// misses.
    #[arg(long)]
    pub paced: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const CONVOLVE_EXAMPLES: &str = "\
Inputs: a file (.txt/.csv numbers as np.loadtxt reads them, .npy, .wav with one column per
channel), - for stdin (text), or an inline list (\"0 1 0.5\", \"0,1,0.5\", \"-2\"). An argument that
names an existing file is that file. Complex numbers as Python writes them (\"1+2j 3\"); .npy of
any dtype but float16/longdouble/object, kept in it (numpy's result type, integers wrapping).

Which function: 1-D np.convolve/np.correlate (--semantics scipy: scipy.signal.convolve/
correlate); N-d scipy.signal.convolve/correlate (--method fft: fftconvolve; --axes: its axes=);
--boundary/--fill on 2-D: convolve2d/correlate2d; --ndimage-mode: scipy.ndimage.convolve/
correlate (--axes: axes=; --axis 0: convolve1d along axis 0).

Named kernels (the same words as convoy run's stages, the same taps):
  ma:N (= box:N)  gauss:SIGMA   any dimensionality (N-d: the outer product)
  savgol:W,ORDER  taps:a,b,c  gain:X  delay:N   1-D
  lowpass:HZ  highpass:HZ  bandpass:LO,HI  bandstop:LO,HI   1-D, at a WAV signal's rate
  sobel-x  sobel-y  laplace  sharpen   2-D

Examples:
  convoy convolve \"1 2 3\" \"0 1 0.5\"                    # np.convolve -> 0 1 2.5 4 1.5
  convoy convolve \"1 2 3\" \"1 1\" --mode valid            # -> 3 5
  convoy convolve \"1 2 3\" \"0 1 0.5\" --correlate         # np.correlate -> 0.5 2 3.5 3 0
  convoy convolve sig.txt \"-1 2 -1\" --mode same
  convoy convolve in.wav ir.wav -o out.wav               # per channel, 32-bit float WAV
  seq 1 9 | convoy convolve - \"0.2 0.5 0.2\" --boundary edge
  convoy convolve image.txt \"1 2 1; 2 4 2; 1 2 1\" --mode same    # 2-D: scipy.signal.convolve2d
  convoy convolve photo.png gauss:2 --mode same -o blur.png
  convoy convolve iq.npy chirp.npy --correlate --mode valid -o match.npy   # complex matched filter
  convoy convolve batch.npy h.npy --axes -1 --method fft -o y.npy  # fftconvolve(x, h, axes=-1)
  convoy convolve photo.png sobel-x --magnitude-with sobel-y --mode same -o edges.png --normalize
  convoy convolve vol.npy box:3 --ndimage-mode reflect -o smooth.npy    # scipy.ndimage.convolve";

/// Arguments of `convoy convolve`.
#[derive(Clone, Debug, Args)]
#[command(after_help = CONVOLVE_EXAMPLES)]
pub struct ConvolveArgs {
    /// The signal: FILE, - (stdin) or an inline list.
    #[arg(allow_hyphen_values = true, value_name = "SIGNAL")]
    pub signal: String,

    /// The kernel: FILE, - (stdin) or an inline list (a leading minus sign is fine: "-1 2 -1").
    #[arg(allow_hyphen_values = true, value_name = "KERNEL")]
    pub kernel: String,

    /// Output window, as np.convolve: full (N+M-1), same (max(N,M), centred), valid
    /// (max-min+1). Default: full.
    #[arg(long, value_parser = choice::<Mode>())]
    pub mode: Option<Mode>,

    /// Correlate (np.correlate: no kernel flip) instead of convolving.
    #[arg(long)]
    pub correlate: bool,

    /// direct, fft, or auto (chosen by a cost model; direct whenever an input has NaN/inf), for
    /// 1-D and N-d inputs alike.
    #[arg(long, value_parser = choice::<Method>(), default_value = "auto")]
    pub method: Method,

    /// Extend the signal beyond its ends like np.pad(x, ((M-1)//2, M-1-(M-1)//2), MODE) and keep
    /// the valid part: the output has the signal's length. zero = no extension (--mode applies).
    #[arg(long, value_parser = choice::<Boundary>(), default_value = "zero")]
    pub boundary: Boundary,

    /// Write the result here instead of stdout: .txt (as stdout), .csv, .npy (the result's
    /// shape), .wav (32-bit float), .png/.jpg (2-D results, clamped to 0..255). Written to a
    /// temporary file and renamed when complete.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// 2-D/3-D: the constant outside the signal for --boundary zero (scipy convolve2d's
    /// fillvalue) and for --ndimage-mode constant (ndimage's cval). Default 0. Complex
    /// (1+2j) with a complex operand.
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true, value_parser = parse_scalar)]
    pub fill: Option<convoy::array::dtype::Scalar>,

    /// 2-D/3-D: scipy.ndimage.convolve instead of scipy.signal: the output has the signal's
    /// shape and the signal is extended by MODE (ndimage's names: reflect = np.pad symmetric,
    /// mirror = np.pad reflect, nearest = edge, wrap, constant = --fill).
    #[arg(long, value_enum, value_name = "MODE")]
    pub ndimage_mode: Option<NdimageMode>,

    /// With --ndimage-mode: shift of the filter's centre, one integer for every axis or a
    /// comma list (ndimage's origin).
    #[arg(long, value_name = "N[,N...]", allow_hyphen_values = true)]
    pub origin: Option<String>,

    /// 2-D/3-D: also filter with this kernel and output the gradient magnitude
    /// sqrt(a^2 + b^2) (e.g. sobel-x --magnitude-with sobel-y).
    #[arg(long, value_name = "KERNEL", allow_hyphen_values = true)]
    pub magnitude_with: Option<String>,

    /// Image output: rescale so the smallest value is 0 and the largest 255 (instead of
    /// clamping).
    #[arg(long)]
    pub normalize: bool,

    /// Filter a 2-D array column by column along axis 0 with a 1-D kernel (scipy oaconvolve
    /// axes=0) instead of 2-D convolution. Multichannel WAVs are always filtered that way. With
    /// --ndimage-mode (and --origin, one integer): scipy.ndimage.convolve1d(x, w, axis=0).
    #[arg(long, value_name = "0")]
    pub axis: Option<usize>,

    /// Convolve over these axes only (comma list, negative from the end), batched over the
    /// others: scipy.signal.fftconvolve/oaconvolve(..., axes=) (both inputs have the same
    /// number of dimensions; along the other axes they are equal or 1, broadcast), or with
    /// --ndimage-mode scipy.ndimage.convolve(..., axes=) (the kernel has one dimension per
    /// listed axis; --origin one per listed axis).
    #[arg(long, value_name = "A[,A...]", allow_hyphen_values = true)]
    pub axes: Option<String>,

    /// Whose rules for 1-D input: numpy (default: np.convolve / np.correlate, `same` as long
    /// as the longer input), scipy (scipy.signal.convolve / correlate: `same` as long as the
    /// signal, centred on the full result), or convolve2d (scipy.signal.convolve2d: both inputs
    /// must be 2-D). 2-D and 3-D inputs follow scipy.signal.convolve / correlate whatever this
    /// says (convolve2d with --boundary fill|symmetric|wrap, scipy.ndimage with --ndimage-mode).
    #[arg(long, value_enum, default_value = "numpy", value_name = "RULES")]
    pub semantics: Semantics,

    /// The result's dtype for .npy and text output: bool, int8..int64, uint8..uint64,
    /// float32, float64, complex64, complex128. Default: numpy's result type of the two inputs
    /// (np.result_type; .npy operands keep their dtype, text reads as float64 or complex128),
    /// integers wrapping around as numpy's do; with --ndimage-mode the signal's dtype, as
    /// scipy.ndimage gives (values truncated toward zero into an integer type).
    #[arg(long, value_parser = parse_dtype, value_name = "DTYPE")]
    pub dtype: Option<convoy::array::dtype::Dtype>,
}

fn parse_scalar(text: &str) -> Result<convoy::array::dtype::Scalar, String> {
    convoy::array::dtype::Scalar::parse(text)
}

fn parse_dtype(text: &str) -> Result<convoy::array::dtype::Dtype, String> {
    use convoy::array::dtype::Dtype;
    Dtype::parse(text).ok_or_else(|| {
        let names: Vec<String> = Dtype::ALL.iter().map(Dtype::to_string).collect();
        format!("'{text}' is not one of {}", names.join(", "))
    })
}

/// `--semantics`: which library's rules 1-D input follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Semantics {
    /// numpy.convolve / numpy.correlate
    Numpy,
    /// scipy.signal.convolve / scipy.signal.correlate
    Scipy,
    /// scipy.signal.convolve2d / correlate2d (2-D inputs only)
    Convolve2d,
}

/// scipy.ndimage boundary modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NdimageMode {
    /// d c b a | a b c d | d c b a (np.pad symmetric)
    Reflect,
    /// d c b | a b c d | c b a (np.pad reflect)
    Mirror,
    /// a a a | a b c d | d d d
    Nearest,
    /// b c d | a b c d | a b c
    Wrap,
    /// --fill (cval) outside
    Constant,
}
