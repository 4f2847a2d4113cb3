//! Real-time scheduling for the processing thread.
//!
//! An audio thread that shares a core with anything else must not wait behind it: with the
//! default time-sharing policy a compile or a browser tab can hold the core for a whole
//! scheduler slice (milliseconds), far longer than a 1 ms block period. `SCHED_FIFO` makes the
//! kernel run the thread as soon as it is runnable. Where the OS refuses (no privilege, no
//! `RLIMIT_RTPRIO`, not Unix) convoy runs on at normal priority, as JACK and CamillaDSP do.

#![allow(unsafe_code)]

/// The `SCHED_FIFO` priority asked for: above ordinary threads, below the kernel's own
/// interrupt threads (50) is too low on PREEMPT_RT kernels, so the JACK client default of 70
/// minus a margin.
const PRIORITY: i32 = 60;

/// Gives the calling thread real-time (`SCHED_FIFO`) priority if the OS allows it; returns
/// whether it did. Never fails loudly: without the privilege the thread simply keeps its
/// normal priority.
pub fn promote_current_thread() -> bool {
    #[cfg(unix)]
    {
        let param = libc::sched_param {
            sched_priority: PRIORITY,
        };
        // SAFETY: `pthread_self` always returns the calling thread's valid handle, and `param`
        // is a fully initialised `sched_param` that lives across the call; the function only
        // reads it and changes the thread's scheduling attributes.
        let rc =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
        rc == 0
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// CPU time the calling thread has consumed so far (Unix; zero elsewhere). Unlike a wall-clock
/// difference it does not grow while the thread is preempted or its virtual CPU is descheduled
/// by the host, which is how `convoy bench` tells a slow block from a stalled one.
pub fn thread_cpu_time() -> std::time::Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call, and
        // CLOCK_THREAD_CPUTIME_ID is a clock every supported Unix provides; on failure `ts`
        // stays zero.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    std::time::Duration::ZERO
}

/// Sets up the heap for a process that handles a few large buffers: freed memory is kept for
/// reuse, every thread allocates from the one heap, and that heap is backed by 2 MiB pages.
///
/// Touching fresh memory costs a page fault per 4 KiB page, about 2 us on the VMs convoy is
/// measured on, and a long kernel's run touches tens of MB (the IR, its spectra, the delay
/// line, blocks in flight): W3 took 3,700 faults, 13 % of its CPU. glibc by default serves
/// allocations above 128 KiB with fresh `mmap`s and unmaps them on free (so every large buffer
/// faults in again), gives each thread its own arena (so the reader's, engine's and writer's
/// buffers each fault in their own memory), and grows the heap in 4 KiB pages. Here the mmap
/// and trim thresholds are raised (freed buffers go back to the heap and are reused), one arena
/// serves all threads (allocation is rare outside setup: the processing path does not allocate
/// at all, so the arena's lock is not contended), and the heap's first 48 MiB are reserved and
/// handed back at once with transparent huge pages allowed on them (`madvise` mode, the common
/// default), so one fault maps 2 MiB. The reserve is address space only: pages are taken as
/// they are touched. W3's faults fell to a few hundred and its CPU to ~0.87x. A no-op outside glibc.
pub fn tune_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` only sets allocator tunables (under the allocator's own lock),
        // with parameters glibc documents and values it accepts (it clamps or ignores the
        // rest). Allocations already made stay valid under any setting.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        // Below the mmap threshold, so it comes from the heap (grown by this much, untouched),
        // and below the trim threshold, so freeing it leaves it there for what comes next.
        const RESERVE: usize = 48 << 20;
        let reserve: Vec<u8> = Vec::with_capacity(RESERVE);
        allow_huge_pages(reserve.as_ptr() as usize, reserve.capacity());
    }
}

/// A zeroed buffer of `n` values whose large aligned middle the kernel may back with 2 MiB
/// pages.
///
/// Touching fresh memory 4 KiB at a time costs a page fault each (about 2 us on the VMs convoy
/// is measured on: 32 MB of image took 17 ms of faults before a single value was computed);
/// with transparent huge pages allowed on the range (`madvise` mode, the common default), one
/// fault maps 2 MiB. Small buffers are left alone: they are served from the heap's warm pages.
/// The buffer comes from a zeroing allocation (calloc), which on fresh memory writes nothing,
/// so the kernel's zero pages are the only pass over it before use.
pub fn big_zeroed(n: usize) -> Vec<f64> {
    let mut v: Vec<f64> = vec![0.0; n];
    let bytes = n.saturating_mul(std::mem::size_of::<f64>());
    if bytes >= 4 << 20 {
        allow_huge_pages(v.as_mut_ptr() as usize, bytes);
    }
    v
}

/// Lets the kernel back the 2 MiB-aligned pages inside `[start, start + bytes)` (memory the
/// caller owns) with huge pages.
fn allow_huge_pages(start: usize, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let lo = start.next_multiple_of(HUGE);
        let hi = start.saturating_add(bytes) & !(HUGE - 1);
        if hi > lo {
            // SAFETY: [lo, hi) lies inside memory the caller owns, page aligned. MADV_HUGEPAGE
            // only tells the kernel how it may back those pages; it neither moves, unmaps nor
            // changes their contents, so every pointer into them stays valid, now and after
            // the memory is freed and reused. Failure (THP disabled) is harmless and ignored.
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, bytes);
}

/// Makes room for `n` more values in `v`, or says plainly that there is not enough memory
/// (instead of aborting the process): every buffer whose size comes from a file or an argument
/// is reserved this way.
///
/// # Errors
/// The allocation fails (or its size overflows).
pub fn try_reserve<T>(v: &mut Vec<T>, n: usize, what: &str) -> crate::Result<()> {
    v.try_reserve_exact(n).map_err(|_| {
        crate::Error::input(
            what,
            format!(
                "needs {} MB of memory, more than can be had",
                (n as u128 * std::mem::size_of::<T>() as u128) >> 20
            ),
        )
    })
}

/// `vec![value; n]`, reserved as [`try_reserve`] does.
///
/// # Errors
/// As [`try_reserve`].
pub fn try_filled<T: Clone>(value: T, n: usize, what: &str) -> crate::Result<Vec<T>> {
    let mut v = Vec::new();
    try_reserve(&mut v, n, what)?;
    v.resize(n, value);
    Ok(v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn big_buffers_are_zeroed_and_sized() {
        for n in [0, 1, 1000, (8 << 20) / 8 + 3] {
            let v: Vec<f64> = super::big_zeroed(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn promotion_succeeds_or_is_refused_quietly() {
        // Either outcome is fine; what matters is that it neither panics nor aborts.
        let promoted = std::thread::spawn(super::promote_current_thread)
            .join()
            .unwrap();
        let _ = promoted;
    }

    #[test]
    fn thread_cpu_time_grows_with_work_not_with_sleep() {
        let start = super::thread_cpu_time();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let slept = super::thread_cpu_time() - start;
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let worked = super::thread_cpu_time() - start - slept;
        #[cfg(unix)]
        {
            assert!(slept < std::time::Duration::from_millis(10), "{slept:?}");
            assert!(worked > std::time::Duration::from_millis(5), "{worked:?}");
        }
        let _ = (slept, worked);
    }
}
