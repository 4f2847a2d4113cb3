//! The command line, as clap derive structs. Doc comments here are the `--help` text. No file
//! access: validation that needs the file system happens in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::conv::{Boundary, Method, Mode};

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
}

const CONVOLVE_EXAMPLES: &str = "\
Inputs: a file (.txt/.csv numbers as np.loadtxt reads them, .npy, .wav with one column per
channel), - for stdin (text), or an inline list (\"0 1 0.5\", \"0,1,0.5\", \"-2\"). An argument that
names an existing file is that file.

Examples:
  convoy convolve \"1 2 3\" \"0 1 0.5\"                    # np.convolve -> 0 1 2.5 4 1.5
  convoy convolve \"1 2 3\" \"1 1\" --mode valid            # -> 3 5
  convoy convolve \"1 2 3\" \"0 1 0.5\" --correlate         # np.correlate -> 0.5 2 3.5 3 0
  convoy convolve sig.txt \"-1 2 -1\" --mode same
  convoy convolve in.wav ir.wav -o out.wav               # per channel, 32-bit float WAV
  seq 1 9 | convoy convolve - \"0.2 0.5 0.2\" --boundary edge";

/// Arguments of `convoy convolve`.
#[derive(Debug, Args)]
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
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,

    /// Correlate (np.correlate: no kernel flip) instead of convolving.
    #[arg(long)]
    pub correlate: bool,

    /// direct, fft, or auto (chosen by a cost model; direct whenever an input has NaN/inf).
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    pub method: Method,

    /// Extend the signal beyond its ends like np.pad(x, ((M-1)//2, M-1-(M-1)//2), MODE) and keep
    /// the valid part: the output has the signal's length. zero = no extension (--mode applies).
    #[arg(long, value_enum, default_value_t = Boundary::Zero)]
    pub boundary: Boundary,

    /// Write the result here instead of stdout: .txt (as stdout), .csv, .npy (the result's
    /// shape), .wav (32-bit float). Written to a temporary file and renamed when complete.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}
