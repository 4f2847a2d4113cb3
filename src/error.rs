//! convoy's one error type. Every variant names the file or argument at fault and what is wrong,
//! so `main` can print it as one line.

use std::io;
use std::path::Path;

/// Anything that can go wrong in convoy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A convolution input with no samples (numpy raises ValueError too, in these words).
    #[error("{what} is empty ({})", numpy_empty(what))]
    EmptyInput {
        /// "signal" or "kernel".
        what: &'static str,
    },
    /// A bad input file, inline list or argument value: `name` is what the user typed.
    #[error("{name}: {msg}")]
    Input {
        /// The file or argument, as typed.
        name: String,
        /// What is wrong with it.
        msg: String,
    },
    /// Arguments that do not fit together.
    #[error("{0}")]
    Usage(String),
    /// A sound device could not be found, opened or kept running (exit status 1: the
    /// arguments may be fine, the machine is not).
    #[error("{0}")]
    Device(String),
    /// Something inside convoy failed (a thread that could not start or died, a picture that
    /// could not be drawn): not the user's input (exit status 1).
    #[error("internal failure: {0}")]
    Internal(String),
    /// Some inputs of a batch run failed (each reported as it ended): exit status 1, or 2 when
    /// not one input could be done.
    #[error("{msg}")]
    Batch {
        /// What failed, counted.
        msg: String,
        /// No input was done (or found complete).
        none_done: bool,
    },
    /// A stop (Ctrl-C) came before anything was read: there is nothing to finish.
    #[error("interrupted")]
    Interrupted,
    /// Writing the output failed after it started (disk full, pipe closed...).
    #[error("{path}: {msg}")]
    Write {
        /// Where we were writing.
        path: String,
        /// What went wrong.
        msg: String,
    },
}

/// numpy's words for an empty convolution input, so a search for them finds the same cause.
pub fn numpy_empty(what: &str) -> &'static str {
    if what.contains("kernel") {
        "numpy: v cannot be empty; np.correlate: second array argument cannot be empty"
    } else {
        "numpy: a cannot be empty; np.correlate: first array argument cannot be empty"
    }
}

/// convoy's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A bad-input error about `name`.
    pub fn input(name: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Input {
            name: name.into(),
            msg: msg.into(),
        }
    }

    /// A failure reading `path`, worded for a person.
    pub fn read(path: &Path, err: &io::Error) -> Self {
        Error::input(path.display().to_string(), describe_io(err))
    }

    /// A failure writing `path`.
    pub fn write(path: &Path, err: &io::Error) -> Self {
        Error::Write {
            path: path.display().to_string(),
            msg: describe_io(err),
        }
    }

    /// The process exit status: 2 for bad input or usage; 1 for a failure while writing, a
    /// device, or convoy itself; 130 for an interruption before anything was read.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Write { .. } | Error::Device(_) | Error::Internal(_) => 1,
            Error::Interrupted => 130,
            Error::Batch { none_done, .. } => {
                if *none_done {
                    2
                } else {
                    1
                }
            }
            _ => 2,
        }
    }
}

/// An I/O error as a short phrase without the "(os error N)" noise.
pub fn describe_io(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "is a directory, not a file".into(),
        io::ErrorKind::UnexpectedEof => "file ends early (truncated)".into(),
        io::ErrorKind::StorageFull => "no space left on the device".into(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
}
