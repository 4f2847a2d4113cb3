//! Getting arrays in and out: files (.txt/.csv, .npy, .wav), stdin, inline lists, stdout.
//!
//! Setup/offline code, on the main thread. Outputs go to a temporary file beside the target and
//! are renamed over it only when complete, so a failed run never leaves a partial file or spoils
//! an existing one, and an output that is one of the inputs is refused before anything is
//! written.

pub mod npy;
pub mod planes;
pub mod text;
pub mod wav;

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::array::Array;
use crate::error::{Error, Result};

/// Where a command-line operand gets its numbers from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A file on disk.
    File(PathBuf),
    /// Standard input, as text.
    Stdin,
    /// An inline list such as "0.25 0.5 0.25".
    Inline(String),
}

impl Operand {
    /// Classifies an argument: `-` is stdin; a path that exists is that file; an argument with
    /// whitespace or commas, or a single number, is an inline list; anything else is a file
    /// that does not exist (an error naming it).
    pub fn classify(arg: &str, role: &str) -> Result<Operand> {
        if arg == "-" {
            return Ok(Operand::Stdin);
        }
        let path = Path::new(arg);
        if !arg.is_empty() && path.exists() {
            return Ok(Operand::File(path.to_path_buf()));
        }
        if text::looks_inline(arg) {
            return Ok(Operand::Inline(arg.to_string()));
        }
        if arg.trim().is_empty() {
            return Err(Error::input(format!("{role} \"{arg}\""), "no numbers"));
        }
        Err(Error::input(
            arg,
            format!("no such file (and not a list of numbers for the {role})"),
        ))
    }

    /// Reads the operand's array; `role` ("signal"/"kernel") names it in errors.
    pub fn load(&self, role: &str) -> Result<Array> {
        let array = match self {
            Operand::Inline(text) => text::parse_inline(role, text)?,
            Operand::Stdin => {
                let mut buf = String::new();
                io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| Error::input(format!("{role} (stdin)"), e.to_string()))?;
                text::parse_text(&format!("{role} (stdin)"), &buf)?
            }
            Operand::File(path) => load_file(path)?,
        };
        if array.is_empty() {
            return Err(Error::input(self.display(), format!("the {role} is empty")));
        }
        Ok(array)
    }

    /// How the operand is named in messages.
    pub fn display(&self) -> String {
        match self {
            Operand::File(p) => p.display().to_string(),
            Operand::Stdin => "stdin".into(),
            Operand::Inline(t) => format!("\"{t}\""),
        }
    }
}

/// The formats a file can hold, from its first bytes (the extension only has to agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Npy,
    Wav,
}

/// A path's extension, lower-cased ("" when it has none).
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads a .txt/.csv, .npy or .wav file; the content decides, and a .wav or .npy name whose
/// content is something else is an error. Binary formats are decoded straight from a buffered
/// reader (no whole-file copy in memory).
pub fn load_file(path: &Path) -> Result<Array> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::read(path, &e))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::input(&name, "is a directory, not a file"));
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| Error::read(path, &e))?;
    let format = if head.starts_with(b"\x93NUMPY") {
        Format::Npy
    } else if head.starts_with(b"RIFF") || head.starts_with(b"RIFX") || head.starts_with(b"RF64") {
        Format::Wav
    } else {
        Format::Text
    };
    match (extension(path).as_str(), format) {
        ("wav", f) if f != Format::Wav => {
            return Err(Error::input(&name, "not a WAV file (no RIFF header)"));
        }
        ("npy", f) if f != Format::Npy => {
            return Err(Error::input(&name, "not a .npy file (no NUMPY magic)"));
        }
        _ => {}
    }
    match format {
        Format::Npy => npy::read_npy(&name, reader),
        Format::Wav => wav::read_wav(&name, reader),
        Format::Text => {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| Error::read(path, &e))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::input(&name, "not text, .npy or WAV (invalid UTF-8)"))?;
            text::parse_text(&name, &text)
        }
    }
}

/// Where a result goes and in which form.
#[derive(Clone, Debug)]
pub struct Destination {
    /// `None` for stdout.
    pub path: Option<PathBuf>,
    kind: OutKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OutKind {
    Text,
    Csv,
    Npy,
    Wav,
}

impl Destination {
    /// Validates `-o PATH` before any work is done: a known extension, an existing directory,
    /// and not the same file as any of `inputs`.
    pub fn new(path: Option<&Path>, inputs: &[&Path]) -> Result<Destination> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            return Ok(Destination {
                path: None,
                kind: OutKind::Text,
            });
        };
        let name = path.display().to_string();
        let kind = match extension(path).as_str() {
            "txt" => OutKind::Text,
            "csv" => OutKind::Csv,
            "npy" => OutKind::Npy,
            "wav" => OutKind::Wav,
            other => {
                let shown = if other.is_empty() {
                    "no extension".to_string()
                } else {
                    format!("'.{other}'")
                };
                return Err(Error::input(
                    &name,
                    format!("output has {shown}; use .txt, .csv, .npy or .wav (or - for stdout)"),
                ));
            }
        };
        check_output(path, inputs)?;
        Ok(Destination {
            path: Some(path.to_path_buf()),
            kind,
        })
    }

    /// Writes `array`: as int64 .npy when `as_int`; at `sample_rate` for WAV.
    pub fn write(&self, array: &Array, as_int: bool, sample_rate: u32) -> Result<()> {
        let Some(path) = &self.path else {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            return match text::write_text(&mut out, array, " ").and_then(|()| out.flush()) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::write(Path::new("stdout"), &e)),
                Ok(()) => Ok(()),
            };
        };
        let mut temp = temp_beside(path)?;
        let written = {
            let mut out = BufWriter::new(temp.as_file_mut());
            let result = match self.kind {
                OutKind::Text => text::write_text(&mut out, array, " "),
                OutKind::Csv => text::write_text(&mut out, array, ","),
                OutKind::Npy => npy::write_npy(&mut out, array, as_int),
                OutKind::Wav => wav::write_wav(&mut out, array, sample_rate),
            };
            result.and_then(|()| out.flush())
        };
        written.map_err(|e| Error::write(path, &e))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| Error::write(path, &e))?;
        temp.persist(path)
            .map_err(|e| Error::write(path, &e.error))?;
        Ok(())
    }
}

/// The directory a path is in ("." for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks an output path before any work: its directory exists, it is not a directory, and it
/// is not the same file as any of `inputs` however either is spelled (`./a.wav`, symlinks).
pub(crate) fn check_output<P: AsRef<Path>>(path: &Path, inputs: &[P]) -> Result<()> {
    let name = path.display().to_string();
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(Error::input(
            &name,
            format!("output directory '{}' does not exist", dir.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::input(&name, "output is a directory"));
    }
    for input in inputs {
        let input = input.as_ref();
        if same_file::is_same_file(path, input).unwrap_or(false) {
            return Err(Error::input(
                &name,
                format!(
                    "output is the same file as input '{}'; refusing to overwrite it",
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A temp file in `path`'s directory (so the final rename cannot cross file systems), with the
/// usual 0644 permissions (tempfile makes 0600), deleted if dropped before being persisted.
/// Whether two output paths name the same file, whether or not it exists yet (`./a.png` and
/// `a.png`, a symlinked directory).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    if same_file::is_same_file(a, b).unwrap_or(false) {
        return true;
    }
    let full = |p: &Path| {
        std::fs::canonicalize(parent_dir(p))
            .ok()
            .zip(p.file_name())
            .map(|(d, n)| d.join(n))
    };
    matches!((full(a), full(b)), (Some(x), Some(y)) if x == y)
}

pub(crate) fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".convoy-").suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(parent_dir(path))
        .map_err(|e| Error::write(path, &e))
}
