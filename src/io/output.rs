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
    /// Disk space reserved ahead of the writes (a regular file whose length is expected).
    ahead: Option<Ahead>,
}

/// Space allocated on disk ahead of the writes, a step at a time, up to the expected length.
///
/// Written into unreserved space, ext4 reserves and maps its blocks page by page (delayed
/// allocation), and again when the data is flushed on rename; with the space allocated up
/// front (`fallocate`, the file's size unchanged) both are one extent: whole runs took 0.90x
/// the CPU writing 23.5 MB (W1), 0.93x writing 16 MB (W2), 0.97x writing 12.5 MB (W3). The
/// expected length comes from the input's header, which may lie, so no more than one step is
/// ever ahead of what was written, and whatever was reserved past the end is given back
/// before the file is committed.
#[derive(Debug)]
struct Ahead {
    expected: u64,
    reserved: u64,
    written: u64,
}

impl Ahead {
    /// Reserved at a time: big enough that the call is rare (one per 16 MiB written), small
    /// enough that a header claiming far more than comes costs little until the end.
    const STEP: u64 = 16 << 20;
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
                    ahead: None,
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
                    ahead: None,
                })
            }
        }
    }

    /// The file to write (the temp file, or the special file itself).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Says how long the file is expected to become, in bytes, so that its disk space can be
    /// reserved ahead of the writes (regular files on ext4; elsewhere nothing happens).
    pub fn expect_len(&mut self, bytes: u64) {
        if self.commit.is_some() && reserving_pays(&self.file) {
            self.ahead = Some(Ahead {
                expected: bytes,
                reserved: 0,
                written: 0,
            });
        }
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
        let OutputFile {
            name,
            file,
            commit,
            ahead,
        } = self;
        if ahead.is_some_and(|a| a.reserved > 0) {
            // Blocks reserved past the end (a stop, or a header that promised more) are
            // freed by setting the length the file already has. Failing only wastes space.
            if let Ok(len) = file.metadata().map(|m| m.len()) {
                let _ = file.set_len(len);
            }
        }
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

/// Writes go through to the file, the next step of disk space reserved first when a write
/// reaches past what is reserved.
impl io::Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(a) = &mut self.ahead {
            let end = a.written.saturating_add(buf.len() as u64);
            if end > a.reserved && a.reserved < a.expected {
                let to = a
                    .reserved
                    .saturating_add(Ahead::STEP)
                    .max(end)
                    .min(a.expected);
                reserve(&self.file, a.reserved, to - a.reserved);
                a.reserved = to;
            }
        }
        let n = io::Write::write(&mut self.file, buf)?;
        if let Some(a) = &mut self.ahead {
            a.written = a.written.saturating_add(n as u64);
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(&mut self.file)
    }
}

/// Whether reserving space ahead saves work on `file`'s file system: ext2/3/4 (measured).
/// Not on tmpfs, where a reservation is pages zeroed that the writes then overwrite (a 16 MB
/// output took 1.07x the CPU), nor on file systems not measured.
fn reserving_pays(file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        const EXT4_SUPER_MAGIC: u64 = 0xEF53;
        rustix::fs::fstatfs(file).is_ok_and(|s| s.f_type as u64 == EXT4_SUPER_MAGIC)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
}

/// Allocates `len` bytes of `file` from `offset` without changing its size (Linux). Failure
/// (a file system without `fallocate`, a full disk) is left to the writes themselves to
/// report: the reservation only saves work.
fn reserve(file: &File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, offset, len);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Space reserved ahead for a length that never comes (a stop, a header that lied) is
    /// given back: the committed file holds what was written and no more disk than that.
    #[test]
    fn space_reserved_past_the_end_is_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut out = OutputFile::create(&path, &classify(&path).unwrap()).unwrap();
        out.expect_len(64 << 20);
        let data: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        for piece in data.chunks(1 << 16) {
            io::Write::write_all(&mut out, piece).unwrap();
        }
        if reserving_pays(&out.file) {
            // Reserved a step ahead, as on ext4.
            let held = out.file.metadata().unwrap().blocks() * 512;
            assert!(held >= Ahead::STEP, "only {held} bytes reserved");
        }
        out.commit().unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 3 << 20);
        assert!(
            meta.blocks() * 512 <= (3 << 20) + (1 << 16),
            "{} bytes allocated for 3 MiB",
            meta.blocks() * 512
        );
        assert_eq!(fs::read(&path).unwrap(), data);
    }
}
