//! The real-time path does not allocate: after construction, `process` and `flush` of the
//! streaming convolvers make no heap allocation, for any chunk length. Proved with a counting
//! global allocator that counts only on the thread under test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use convoy::conv::{PartitionedConvolver, UniformConvolver};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the only addition is
// bumping a thread-local counter, which neither allocates nor touches the returned memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note() {
    // try_with: the thread-local may already be gone while a thread shuts down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap operations made on this thread while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|on| on.set(true));
    f();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

fn kernel(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * (-(i as f32) / len as f32).exp())
        .collect()
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations_during(|| drop(std::hint::black_box(vec![0u8; 64]))) >= 1);
}

#[test]
fn uniform_process_never_allocates() {
    let mut conv = UniformConvolver::new(&kernel(3000), 64).unwrap();
    let input = vec![0.25f32; 5000];
    let mut output = vec![0.0f32; 5000];
    conv.process(&input, &mut output); // warm-up: every block path has run
    let count = allocations_during(|| {
        for chunk in [1usize, 3, 64, 100, 4096, 17] {
            for _ in 0..20 {
                conv.process(&input[..chunk], &mut output[..chunk]);
            }
        }
        conv.flush(&mut output[..777]);
        conv.reset();
    });
    assert_eq!(count, 0, "allocations on the audio path");
}

#[test]
fn partitioned_process_never_allocates() {
    let mut conv = PartitionedConvolver::new(&kernel(100_000), 32).unwrap();
    let input = vec![0.25f32; 4096];
    let mut output = vec![0.0f32; 4096];
    let count = allocations_during(|| {
        // Long enough for every stage, up to the largest block, to run several times.
        for round in 0..200 {
            let chunk = [1usize, 3, 64, 100, 4096][round % 5];
            conv.process(&input[..chunk], &mut output[..chunk]);
        }
        for _ in 0..100 {
            conv.process(&input, &mut output);
        }
        conv.flush(&mut output[..1000]);
        conv.reset();
    });
    assert_eq!(count, 0, "allocations on the audio path");
}

#[test]
fn kernel_swap_does_not_allocate_on_the_audio_thread() {
    use convoy::conv::SwappableConvolver;
    let (tx, rx) = crossbeam_channel::bounded(2);
    let mut conv =
        SwappableConvolver::new(PartitionedConvolver::new(&kernel(5000), 64).unwrap(), tx);
    let input = vec![0.25f32; 512];
    let mut output = vec![0.0f32; 512];
    conv.process(&input, &mut output);
    // Prepared off the audio thread (here: before counting starts).
    let next = PartitionedConvolver::new(&kernel(7000), 64).unwrap();
    let count = allocations_during(|| {
        conv.set_kernel(next, 1000);
        for _ in 0..20 {
            conv.process(&input, &mut output);
        }
    });
    assert_eq!(
        count, 0,
        "allocations on the audio path during a kernel swap"
    );
    assert!(!conv.is_fading());
    drop(rx.try_recv().unwrap()); // freed here, off the audio thread
}
