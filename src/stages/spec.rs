//! The stage-word grammar, `name[:arg,...][,key=value...]`, parsed into an inert [`Spec`]: no
//! file is read and nothing is designed here (that is the families' job, in this module's
//! siblings). A [`StageWord`] remembers where it came from (a `--chain` file and line), so
//! relative paths and error messages can say.
//!
//! Setup only.

use std::path::{Path, PathBuf};

use super::units;
use crate::conv::Mode;
use crate::error::{Error, Result};

/// One stage word and where it came from (a `--chain` file and line, or the command line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageWord {
    pub text: String,
    /// The chain file and line number, for relative paths and error messages.
    pub origin: Option<(PathBuf, usize)>,
}

impl From<&str> for StageWord {
    fn from(text: &str) -> StageWord {
        StageWord {
            text: text.to_string(),
            origin: None,
        }
    }
}

impl From<String> for StageWord {
    fn from(text: String) -> StageWord {
        StageWord { text, origin: None }
    }
}

/// An error about a stage word.
pub fn bad_stage(word: &str, msg: impl std::fmt::Display) -> Error {
    Error::Usage(format!("bad stage '{word}': {msg}"))
}

/// A stage word split into its name, positional arguments and `key=value` options.
pub struct Spec<'a> {
    /// The whole word as typed.
    pub text: &'a str,
    pub name: &'a str,
    pub args: Vec<&'a str>,
    pub opts: Vec<(&'a str, &'a str)>,
    origin: Option<&'a Path>,
}

impl<'a> Spec<'a> {
    /// Splits `word` (`ma:9`, `fir:room.wav,normalize=peak`, `denoise,frame=32ms`).
    pub fn parse(word: &'a StageWord) -> Spec<'a> {
        let text = word.text.as_str();
        let (name, rest) = match text.find([':', ',']) {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text, ""),
        };
        let mut args = Vec::new();
        let mut opts = Vec::new();
        if !rest.is_empty() {
            for item in rest.split(',') {
                match item.split_once('=') {
                    Some((k, v)) => opts.push((k.trim(), v.trim())),
                    None => args.push(item.trim()),
                }
            }
        }
        Spec {
            text,
            name: name.trim(),
            args,
            opts,
            origin: word.origin.as_ref().map(|(p, _)| p.as_path()),
        }
    }

    /// The same word without option `key` (for a wrapper that handles it itself).
    pub fn without(&self, key: &str) -> Spec<'a> {
        Spec {
            text: self.text,
            name: self.name,
            args: self.args.clone(),
            opts: self
                .opts
                .iter()
                .filter(|(k, _)| *k != key)
                .copied()
                .collect(),
            origin: self.origin,
        }
    }

    /// An error about this word.
    pub fn err(&self, msg: impl std::fmt::Display) -> Error {
        bad_stage(self.text, msg)
    }

    /// The last value given for option `key`.
    pub fn opt(&self, key: &str) -> Option<&'a str> {
        self.opts
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// Refuses options not in `allowed`.
    ///
    /// # Errors
    /// The first unknown option, naming what the stage takes.
    pub fn check_opts(&self, allowed: &[&str]) -> Result<()> {
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

    /// Requires between `n.start()` and `n.end()` positional arguments.
    ///
    /// # Errors
    /// Another count: the usage line.
    pub fn want_args(&self, n: std::ops::RangeInclusive<usize>, usage: &str) -> Result<()> {
        if !n.contains(&self.args.len()) {
            return Err(self.err(format!("usage: {usage}")));
        }
        Ok(())
    }

    /// A unit's parse, with this word named in its error.
    ///
    /// # Errors
    /// What the unit's parser said.
    pub fn unit<T>(&self, parsed: std::result::Result<T, String>) -> Result<T> {
        parsed.map_err(|m| self.err(m))
    }

    /// A finite number.
    ///
    /// # Errors
    /// Not a number.
    pub fn number(&self, what: &str, text: &str) -> Result<f64> {
        self.unit(units::number(what, text))
    }

    /// A whole number from 1 to `max`.
    ///
    /// # Errors
    /// Not a whole number in range (the limit named as `limit`).
    pub fn count(&self, what: &str, text: &str, max: usize, limit: &str) -> Result<usize> {
        let v = self.number(what, text)?;
        if v < 1.0 {
            return Err(self.err(format!("{what} must be at least 1 (got {text})")));
        }
        if v.fract() != 0.0 {
            return Err(self.err(format!("{what} must be a whole number (got {text})")));
        }
        if v > max as f64 {
            return Err(self.err(format!("{what} {text} is over the limit of {limit}")));
        }
        Ok(v as usize)
    }

    /// `mode=full|same|valid` (np.convolve's modes), or `default`.
    ///
    /// # Errors
    /// Another mode.
    pub fn mode(&self, default: Mode) -> Result<Mode> {
        match self.opt("mode") {
            None => Ok(default),
            Some("full") => Ok(Mode::Full),
            Some("same") => Ok(Mode::Same),
            Some("valid") => Ok(Mode::Valid),
            Some(other) => Err(self.err(format!("mode '{other}' is not full, same or valid"))),
        }
    }

    /// A file named in the word: relative to the `--chain` file's folder when the word came
    /// from one, else to the working directory.
    pub fn path(&self, file: &str) -> PathBuf {
        let path = PathBuf::from(file);
        match self.origin {
            Some(chain) if path.is_relative() => crate::io::parent_dir(chain).join(path),
            _ => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_into_name_arguments_and_options() {
        let w = StageWord::from("fir:room.wav,normalize=peak, mode = full");
        let s = Spec::parse(&w);
        assert_eq!(s.name, "fir");
        assert_eq!(s.args, ["room.wav"]);
        assert_eq!(s.opt("normalize"), Some("peak"));
        assert_eq!(s.opt("mode"), Some("full"));
        let w = StageWord::from("denoise,frame=32ms");
        let s = Spec::parse(&w);
        assert_eq!((s.name, s.args.len()), ("denoise", 0));
        let w = StageWord {
            text: "taps:@k.txt".into(),
            origin: Some((PathBuf::from("presets/chain.txt"), 3)),
        };
        assert_eq!(
            Spec::parse(&w).path("k.txt"),
            PathBuf::from("presets/k.txt")
        );
    }
}
