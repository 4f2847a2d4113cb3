//! Where every output of every command goes: stdout, a regular file (written to a temp file
//! beside it and renamed over it only when complete), or a FIFO, device or terminal (written in
//! place: there is nothing to rename, and replacing `/dev/null` with a file would be a disaster).
//!
//! Setup and writer threads. Two rules hold for every command because they live here once:
//! - **Checked before any work, without opening anything.** A FIFO blocks in `open()` until
//!   someone reads it, so identities are compared with `stat` (device and inode), including
//!   stdin's when the command reads stdin: `convoy run -i - -o a.wav < a.wav` is refused.
//! - **Nothing partial is left.** The temp file is registered with [`crate::engine::stop`], so an
//!   abort deletes it; a replaced file keeps its permissions.
//!
//! Symlinks are followed to their target, so the link stays a link and the file it names is
//! replaced. `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` are the process's
//! own descriptors, written through as stdout is.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::stop::{self, Partial};
use crate::error::{Error, Result};

/// What an output path turns out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `-`, or a name for stdout (`/dev/stdout`, `/proc/self/fd/1`).
    Stdout,
    /// A regular file (existing or new) at this path, symlinks resolved.
    Regular(PathBuf),
    /// A FIFO, character or block device, socket, or another descriptor of ours: written in place.
    Special(PathBuf),
}

/// Classifies `path` (`-` is stdout) without opening it.
///
/// # Errors
/// A directory, a missing parent directory, or a symlink loop.
pub fn classify(path: &Path) -> Result<Kind> {
    if path.as_os_str() == "-" {
        return Ok(Kind::Stdout);
    }
    let name = path.display().to_string();
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match own_fd(&p) {
            Some(1) => return Ok(Kind::Stdout),
            Some(_) => return Ok(Kind::Special(p)),
            None => {}
        }
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p).map_err(|e| Error::read(&p, &e))?;
                p = if target.is_absolute() {
                    target
                } else {
                    super::parent_dir(&p).join(target)
                };
            }
            Ok(m) if m.is_dir() => return Err(Error::input(&name, "output is a directory")),
            Ok(m) if m.is_file() => return Ok(Kind::Regular(p)),
            Ok(_) => return Ok(Kind::Special(p)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = super::parent_dir(&p);
                if !dir.is_dir() {
                    return Err(Error::input(
                        &name,
                        format!("output directory '{}' does not exist", dir.display()),
                    ));
                }
                return Ok(Kind::Regular(p));
            }
            Err(e) => return Err(Error::read(&p, &e)),
        }
    }
    Err(Error::input(&name, "too many levels of symbolic links"))
}

/// The descriptor number when `p` names one of this process's own descriptors.
fn own_fd(p: &Path) -> Option<u32> {
    let s = p.to_str()?;
    match s {
        "/dev/stdout" => return Some(1),
        "/dev/stderr" => return Some(2),
        "/dev/stdin" => return Some(0),
        _ => {}
    }
    let pid = format!("/proc/{}/fd/", std::process::id());
    let rest = s
        .strip_prefix("/dev/fd/")
        .or_else(|| s.strip_prefix("/proc/self/fd/"))
        .or_else(|| s.strip_prefix("/proc/thread-self/fd/"))
        .or_else(|| s.strip_prefix(pid.as_str()))?;
    rest.parse().ok()
}

/// (device, inode) of a regular file, following symlinks; `None` for anything else.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    m.is_file().then(|| (m.dev(), m.ino()))
}

/// (device, inode) of stdin when it is a regular file (`< file`).
fn stdin_identity() -> Option<(u64, u64)> {
    let st = rustix::fs::fstat(rustix::stdio::stdin()).ok()?;
    let regular =
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
    regular.then_some((st.st_dev, st.st_ino))
}

/// Checks an output before any work: its directory exists, it is not a directory, and it is
/// not the same file as any of `inputs` or (when `reads_stdin`) as stdin, however spelled.
/// Nothing is opened (a FIFO would block). Returns what the path is.
///
/// # Errors
/// One of the above, naming the output.
pub fn check(path: &Path, inputs: &[impl AsRef<Path>], reads_stdin: bool) -> Result<Kind> {
    let kind = classify(path)?;
    let name = path.display().to_string();
    let Kind::Regular(target) = &kind else {
        return Ok(kind);
    };
    let Some(out) = identity(target) else {
        return Ok(kind);
    };
    for input in inputs {
        let input = input.as_ref();
        if identity(input) == Some(out) {
            return Err(Error::input(
                &name,
                format!(
                    "output is the same file as input '{}'; refusing to overwrite it",
                    input.display()
                ),
            ));
        }
    }
    if reads_stdin && stdin_identity() == Some(out) {
        return Err(Error::input(
            &name,
            "output is the same file as stdin (the input); refusing to overwrite it",
        ));
    }
    Ok(kind)
}

/// Whether two output paths name the same file, existing or not (`./a.png` and `a.png`).
pub fn same_target(a: &Path, b: &Path) -> bool {
    match (classify(a), classify(b)) {
        (Ok(Kind::Stdout), Ok(Kind::Stdout)) => true,
        (Ok(Kind::Regular(x)), Ok(Kind::Regular(y)))
        | (Ok(Kind::Special(x)), Ok(Kind::Special(y))) => {
            if let (Some(i), Some(j)) = (identity(&x), identity(&y)) {
                return i == j;
            }
            let full = |p: &Path| {
                fs::canonicalize(super::parent_dir(p))
                    .ok()
                    .zip(p.file_name())
                    .map(|(d, n)| d.join(n))
            };
            matches!((full(&x), full(&y)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}

/// Refuses to start when stdout is closed (`>&-`): every write would vanish. The Rust runtime
/// puts `/dev/null` on a standard descriptor it finds closed at startup, opened read-write; a
/// shell's `> /dev/null` opens it write-only. So stdout on `/dev/null` read-write was closed.
///
/// # Errors
/// stdout was closed before the start.
pub fn check_stdout_open() -> Result<()> {
    let closed = Error::Write {
        path: "stdout".into(),
        msg: "stdout is closed; give -o FILE or redirect it".into(),
    };
    let out = rustix::stdio::stdout();
    let Ok(st) = rustix::fs::fstat(out) else {
        return Err(closed);
    };
    let is_char =
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::CharacterDevice;
    let dev_null = fs::metadata("/dev/null").ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.rdev()
    });
    let read_write = rustix::fs::fcntl_getfl(out)
        .is_ok_and(|f| f & rustix::fs::OFlags::RWMODE == rustix::fs::OFlags::RDWR);
    if is_char && dev_null == Some(st.st_rdev) && read_write {
        return Err(closed);
    }
    Ok(())
}

/// An output file being written (not stdout).
#[derive(Debug)]
pub struct OutputFile {
    /// As typed, for messages.
    name: String,
    file: File,
    /// A regular target: the temp file, where it goes and the permissions to keep.
    commit: Option<Commit>,
}

#[derive(Debug)]
struct Commit {
    temp: tempfile::TempPath,
    target: PathBuf,
    keep: Option<fs::Permissions>,
    _partial: Partial,
}

impl OutputFile {
    /// Opens the output for `kind` (from [`check`] or [`classify`]); `name` is the path as
    /// typed. Stdout is not a file: the caller writes to it directly.
    ///
    /// # Errors
    /// The temp file or the special file cannot be opened.
    pub fn create(name: &Path, kind: &Kind) -> Result<OutputFile> {
        let shown = name.display().to_string();
        match kind {
            Kind::Stdout => Err(Error::Internal("stdout is not an output file".into())),
            Kind::Special(p) => {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .map_err(|e| Error::write(name, &e))?;
                Ok(OutputFile {
                    name: shown,
                    file,
                    commit: None,
                })
            }
            Kind::Regular(target) => {
                let mut builder = tempfile::Builder::new();
                builder.prefix(".convoy-").suffix(".partial");
                {
                    use std::os::unix::fs::PermissionsExt;
                    builder.permissions(fs::Permissions::from_mode(0o644));
                }
                // Made and registered as one step: an abort in between would leave it behind.
                let (temp, partial) = stop::file_step(|| {
                    let temp = builder.tempfile_in(super::parent_dir(target))?;
                    let partial = Partial::new(temp.path());
                    Ok::<_, io::Error>((temp, partial))
                })
                .map_err(|e| Error::write(name, &e))?;
                let (file, temp) = temp.into_parts();
                let keep = fs::metadata(target).ok().map(|m| m.permissions());
                Ok(OutputFile {
                    name: shown,
                    file,
                    commit: Some(Commit {
                        temp,
                        target: target.clone(),
                        keep,
                        _partial: partial,
                    }),
                })
            }
        }
    }

    /// The file to write (the temp file, or the special file itself).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Whether the output can be seeked back into (a regular temp file: a WAV header is fixed
    /// at the end; FIFOs and devices get a streaming header).
    pub fn seekable(&self) -> bool {
        self.commit.is_some()
    }

    /// The output as typed.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Completes the output: a regular file's temp is renamed over the target (keeping the
    /// replaced file's permissions); a special file is simply closed.
    ///
    /// # Errors
    /// The rename or the permission change fails.
    pub fn commit(self) -> Result<()> {
        let OutputFile { name, file, commit } = self;
        // No fsync: like sox and ffmpeg, convoy leaves durability to the OS (an fsync of a
        // large file costs more than the whole filtering).
        drop(file);
        let Some(c) = commit else { return Ok(()) };
        let path = Path::new(&name);
        if let Some(perms) = c.keep {
            fs::set_permissions(&c.temp, perms).map_err(|e| Error::write(path, &e))?;
        }
        let Commit {
            temp,
            target,
            _partial: partial,
            ..
        } = c;
        // Renamed and unregistered as one step: an abort sees the temp file or the target.
        stop::file_step(move || {
            let done = temp
                .persist(&target)
                .map_err(|e| Error::write(path, &e.error));
            drop(partial);
            done.map(|_| ())
        })
    }
}

/// Writes a whole output produced by `write` into `path` (`-` for stdout): the one-shot
/// commands' way to write a result. Broken pipes on stdout end quietly.
///
/// # Errors
/// Opening, writing or committing fails.
pub fn write_whole(
    path: &Path,
    kind: &Kind,
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> Result<()> {
    if *kind == Kind::Stdout {
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        return match write(&mut out).and_then(|()| io::Write::flush(&mut out)) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Error::write(Path::new("stdout"), &e)),
            Ok(()) => Ok(()),
        };
    }
    let mut out = OutputFile::create(path, kind)?;
    {
        let mut w = io::BufWriter::new(out.file());
        match write(&mut w).and_then(|()| io::Write::flush(&mut w)) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe && !out_is_regular(kind) => {}
            Err(e) => return Err(Error::write(path, &e)),
            Ok(()) => {}
        }
    }
    out.commit()
}

fn out_is_regular(kind: &Kind) -> bool {
    matches!(kind, Kind::Regular(_))
}
