//! Stopping a run: what Ctrl-C, SIGTERM and SIGHUP do, and `--duration`.
//!
//! Any thread. The library installs no signal handler: a program calls [`prepare`] once and
//! has its handler call [`signal`] (the convoy binary does both through ctrlc, whose handler
//! runs on a thread of its own, not in signal context, so it may lock and touch files).
//!
//! Two behaviours, switched by the command while it runs:
//! - **abort** (the default: building a chain, `convoy convolve`, pictures): the partial output
//!   files registered with [`Partial`] are removed and the process exits with status 130, as a
//!   shell expects of an interrupted command. Nothing half-written is ever left behind.
//! - **graceful** (`convoy run` while it streams): the first signal only sets a flag and makes
//!   [`wake_fd`] readable, so a reader blocked in `poll` returns at once; what was read goes
//!   through the chain into a valid output and the run ends normally. A second signal aborts.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Signals received so far.
static SIGNALS: AtomicU32 = AtomicU32::new(0);
/// Whether the first signal asks for a graceful stop instead of an abort.
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// Temp files to delete if the process is aborted.
static PARTIALS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Held across each step that changes what is on disk and what is registered together (make a
/// temp file and register it; rename it into place and unregister it), and by an abort from
/// the moment it starts: a signal between the two halves of a step would otherwise leave a temp
/// file nobody registered, or delete one already renamed over the target.
static FILE_STEP: Mutex<()> = Mutex::new(());
/// The wake-up pipe: (read end, write end). The handler writes one byte and nobody reads it,
/// so the read end stays readable for good once a stop was asked for.
static WAKE: OnceLock<(OwnedFd, OwnedFd)> = OnceLock::new();

/// Makes the wake-up pipe (once per process; later calls do nothing). Call before installing
/// a handler that calls [`signal`].
pub fn prepare() {
    if WAKE.get().is_none() {
        if let Ok(pair) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
            let _ = WAKE.set(pair);
        }
    }
}

/// What a signal handler calls: the first request stops a graceful run; otherwise (abort
/// mode, or a second request) the registered partial files are removed and the process exits
/// with status 130.
pub fn signal() {
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 && GRACEFUL.load(Ordering::SeqCst) {
        if let Some((_, w)) = WAKE.get() {
            let _ = rustix::io::write(w, &[1]);
        }
        return;
    }
    abort();
}

/// Removes every registered partial file and exits with status 130.
fn abort() -> ! {
    // Held until exit: no file step starts or is half done while the partials are removed.
    let _step = FILE_STEP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let paths = PARTIALS.lock().map(|p| p.clone()).unwrap_or_default();
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("convoy: interrupted");
    std::process::exit(130);
}

/// Switches between graceful (true) and abort (false) handling of the first signal.
pub fn set_graceful(on: bool) {
    GRACEFUL.store(on, Ordering::SeqCst);
}

/// Whether a stop has been asked for.
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Waits up to `timeout` for a stop request; true if one came.
pub fn wait(timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while !requested() {
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A descriptor that becomes readable when a stop is asked for (for `poll` beside an input).
pub fn wake_fd() -> Option<BorrowedFd<'static>> {
    WAKE.get().map(|(r, _)| r.as_fd())
}

/// `--duration`: `10s`, `500ms`, `2.5` (seconds), `1m`, `1min`, in seconds: the same time
/// grammar as `delay:` (stages::units), with bare numbers in seconds.
///
/// # Errors
/// Not a positive time.
pub fn parse_duration(text: &str) -> crate::Result<f64> {
    match crate::stages::units::time("duration", text, 1.0, crate::stages::units::Bare::Seconds) {
        Ok(v) if v > 0.0 => Ok(v),
        _ => Err(crate::Error::input(
            "--duration",
            format!("'{text}': expected a positive time such as 10s, 500ms or 2.5"),
        )),
    }
}

/// Runs `step` (which makes and registers a temp file, or renames one into place and drops its
/// [`Partial`]) so that an abort sees it either not begun or finished.
pub fn file_step<T>(step: impl FnOnce() -> T) -> T {
    let _step = FILE_STEP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    step()
}

/// A temp file that an abort must delete; unregistered when dropped (after it was renamed into
/// place or deleted by its owner).
#[derive(Debug)]
pub struct Partial(PathBuf);

impl Partial {
    /// Registers `path`.
    pub fn new(path: &Path) -> Partial {
        if let Ok(mut p) = PARTIALS.lock() {
            p.push(path.to_path_buf());
        }
        Partial(path.to_path_buf())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if let Ok(mut p) = PARTIALS.lock() {
            if let Some(i) = p.iter().position(|q| *q == self.0) {
                p.swap_remove(i);
            }
        }
    }
}
