//! The real-time path does not allocate: after construction, `process` and `flush` of the
//! streaming convolvers make no heap allocation, for any chunk length. Proved with a counting
//! global allocator that counts only on the thread under test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use convoy::conv::{KernelSpectra, PartitionedConvolver, UniformConvolver};

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
    // Plain, and two and four blocks a pass (the offline engine).
    let plain = UniformConvolver::new(&kernel(3000), 64).unwrap();
    let spectra = std::sync::Arc::new(KernelSpectra::new(&kernel(3000), 64).unwrap());
    let batched = |blocks| UniformConvolver::batched(std::sync::Arc::clone(&spectra), blocks);
    for mut conv in [plain, batched(2), batched(4)] {
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

/// The cpal callbacks (capture: device samples -> ring; playback: ring -> device samples, with
/// silence on underrun) and the live chain's per-block processing make no heap allocation, in
/// every sample format convoy negotiates, including full and empty rings.
#[cfg(feature = "device")]
#[test]
fn live_callbacks_and_the_live_chain_do_not_allocate() {
    use convoy::io::device::streams::{Counters, capture_callback, playback_callback};
    use ringbuf::HeapRb;
    use ringbuf::traits::Split;
    use std::sync::Arc;

    let counters = Arc::new(Counters::default());
    // A processing thread waits on the capture: the callbacks wake it (an unpark) every time.
    let _ = counters.waiter.set(std::thread::current());
    let (prod, cons) = HeapRb::<f32>::new(2048).split();
    let mut cap_f32 = capture_callback::<f32>(prod, Arc::clone(&counters), 2);
    let mut play_f32 = playback_callback::<f32>(cons, Arc::clone(&counters), 2);
    let (prod, cons) = HeapRb::<f32>::new(2048).split();
    let mut cap_i16 = capture_callback::<i16>(prod, Arc::clone(&counters), 2);
    let mut play_i16 = playback_callback::<i16>(cons, Arc::clone(&counters), 2);
    let (prod, cons) = HeapRb::<f32>::new(2048).split();
    let mut cap_i32 = capture_callback::<i32>(prod, Arc::clone(&counters), 2);
    let mut play_u16 = playback_callback::<u16>(cons, Arc::clone(&counters), 2);
    let in_f32 = vec![0.25f32; 1000];
    let in_i16 = vec![1000i16; 1000];
    let in_i32 = vec![1 << 20; 1000];
    let mut out_f32 = vec![0.0f32; 1000];
    let mut out_i16 = vec![0i16; 1000];
    let mut out_u16 = vec![0u16; 1000];
    counters
        .primed
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let n = allocations_during(|| {
        for _ in 0..10 {
            // Three pushes overfill the 2048-sample rings (overruns), three pops drain them
            // past empty (underruns, silence).
            for _ in 0..3 {
                cap_f32(&in_f32);
                cap_i16(&in_i16);
                cap_i32(&in_i32);
            }
            for _ in 0..3 {
                play_f32(&mut out_f32);
                play_i16(&mut out_i16);
                play_u16(&mut out_u16);
            }
        }
    });
    assert_eq!(n, 0, "the callbacks allocated {n} times");
    assert!(counters.xruns.load(std::sync::atomic::Ordering::Relaxed) > 0);
    assert_eq!(out_i16[999], 0, "an empty ring plays silence");
    assert_eq!(out_u16[999], 32768, "u16 silence is the midpoint");

    // The live chain: a fused FIR chain, a long partitioned kernel, per block.
    let ctx = convoy::chain::Context {
        rate: Some(48_000),
        channels: 2,
        block: Some(64),
    };
    for words in [
        vec!["ma:31".into()],
        vec![
            "gauss:sigma=3".into(),
            "delay:100".into(),
            "gain:-3db".into(),
        ],
    ] {
        let words: Vec<convoy::chain::StageWord> = words;
        let chain = convoy::chain::Chain::<f32>::build(&words, &ctx).unwrap();
        let mut live = chain.into_live(64).unwrap();
        let input = vec![vec![0.5f32; 64]; 2];
        let mut output = vec![vec![0.0f32; 64]; 2];
        live.process(&input, 64, &mut output);
        let n = allocations_during(|| {
            for b in [64usize, 1, 17, 64, 63] {
                live.process(&input, b, &mut output);
            }
        });
        assert_eq!(n, 0, "{words:?}: the live chain allocated {n} times");
    }
    // The nonlinear stages, across frame boundaries, lookahead, and the hum monitor's checks
    // (every half second): 2 s of input in odd blocks.
    for words in [&["denoise"][..], &["dehum:50", "denoise,lookahead=0"]] {
        let n = live_nonlinear_allocations(words, 48_000);
        assert_eq!(n, 0, "{words:?}: the live chain allocated {n} times");
    }
    let chain =
        convoy::chain::Chain::<f32>::build(&["highpass:80".into(), "lowpass:8000".into()], &ctx)
            .unwrap();
    let mut live = chain.into_live(64).unwrap();
    let input = vec![vec![0.5f32; 64]; 2];
    let mut output = vec![vec![0.0f32; 64]; 2];
    let n = allocations_during(|| {
        for _ in 0..200 {
            live.process(&input, 64, &mut output);
        }
    });
    assert_eq!(n, 0, "highpass+lowpass: the live chain allocated {n} times");
    // A rate change mid-chain: the resampler's FIFO and the stages after it, whose blocks
    // vary with what the resampler gives.
    for to in ["44.1k", "96k"] {
        let words: Vec<convoy::chain::StageWord> = vec![
            "highpass:80".into(),
            format!("resample:{to}").as_str().into(),
            "ma:5".into(),
            "denoise,lookahead=0".into(),
        ];
        let chain = convoy::chain::Chain::<f32>::build(&words, &ctx).unwrap();
        let mut live = chain.into_live(64).unwrap();
        live.warm();
        let input = vec![vec![0.25f32; 64]; 2];
        let mut output = vec![vec![0.0f32; live.block_out()]; 2];
        live.process(&input, 64, &mut output);
        let n = allocations_during(|| {
            for i in 0..1500 {
                live.process(&input, [64usize, 1, 17, 63][i % 4], &mut output);
            }
        });
        assert_eq!(n, 0, "resample:{to}: the live chain allocated {n} times");
    }
}

/// Ends for the engine loop: a tone that counts this thread's allocations from block `from`
/// to its end, and an output that throws blocks away (as allocation-free as the devices'
/// rings; the file ends' reader and writer threads are not the processing thread).
mod ends {
    use std::cell::Cell;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use convoy::Block;
    use convoy::engine::{Control, Input, Output, Written};

    use super::{ALLOCATIONS, COUNTING};

    pub struct Tone {
        pub blocks: usize,
        pub from: usize,
        pub seen: usize,
        pub result: Arc<AtomicUsize>,
    }

    impl Input<f32> for Tone {
        fn channels(&self) -> usize {
            2
        }
        fn read(
            &mut self,
            block: &mut Block<f32>,
            max: usize,
            _: &Control,
        ) -> convoy::Result<usize> {
            self.seen += 1;
            if self.seen == self.from {
                ALLOCATIONS.with(|n| n.set(0));
                COUNTING.with(|on| on.set(true));
            }
            if self.seen > self.blocks {
                COUNTING.with(|on| on.set(false));
                self.result
                    .store(ALLOCATIONS.with(Cell::get), Ordering::SeqCst);
                return Ok(0);
            }
            block.resize(2, max);
            for (c, b) in block.iter_mut().enumerate() {
                for (i, v) in b.iter_mut().enumerate() {
                    *v = ((i * 7 + c * 3 + self.seen) % 13) as f32 * 0.01 - 0.06;
                }
            }
            Ok(max)
        }
    }

    pub struct Discard;

    impl Output<f32> for Discard {
        fn write(&mut self, _: &mut Block<f32>, _: &Control) -> convoy::Result<()> {
            Ok(())
        }
        fn drain(&mut self, _: &Control) -> convoy::Result<()> {
            Ok(())
        }
        fn finish(self: Box<Self>) -> convoy::Result<Written> {
            Ok(Written::device())
        }
    }
}

/// Allocations on the engine's processing thread between block `from` and the end of a run
/// of `blocks` blocks of `frames` frames through `words`, live (causal, fixed blocks) or
/// offline (the exact chain).
fn engine_loop_allocations(
    words: &[&str],
    live: bool,
    frames: usize,
    blocks: usize,
    from: usize,
) -> usize {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use convoy::chain::{Chain, Context, StageWord};
    use convoy::engine::{Control, Options, Runner};

    let ctx = Context {
        rate: Some(48_000),
        channels: 2,
        block: live.then_some(frames),
    };
    let words: Vec<StageWord> = words.iter().map(|&w| w.into()).collect();
    let chain = Chain::<f32>::build(&words, &ctx).unwrap();
    let runner = if live {
        Runner::Causal(chain.into_live(frames).unwrap())
    } else {
        Runner::Exact(chain)
    };
    let result = Arc::new(AtomicUsize::new(usize::MAX));
    let input = Box::new(ends::Tone {
        blocks,
        from,
        seen: 0,
        result: Arc::clone(&result),
    });
    let opts = Options {
        read_frames: frames,
        ..Options::default()
    };
    convoy::engine::run(
        input,
        runner,
        Box::new(ends::Discard),
        opts,
        Arc::new(Control::default()),
    )
    .unwrap();
    result.load(Ordering::SeqCst)
}

/// `denoise` with RNNoise at a rate it resamples from (16 kHz: up to 48 kHz and back around
/// the network), live after the engine's warm-up, across its 10 ms frames and the
/// resamplers' chunks, in odd blocks.
#[test]
fn rnnoise_resampled_live_does_not_allocate() {
    for words in ["denoise,model=rnnoise", "denoise"] {
        let n = live_nonlinear_allocations(&[words], 16_000);
        assert_eq!(n, 0, "{words}: the live chain allocated {n} times");
    }
}

/// Allocations of a live chain of `words` (stereo, blocks of up to 64 at `rate`) over 1500
/// blocks of 64, 1, 17 and 63 frames (~2 s: frame boundaries, lookahead, the hum monitor's
/// half-second checks), after the engine's warm-up and one block.
fn live_nonlinear_allocations(words: &[&str], rate: u32) -> usize {
    let ctx = convoy::chain::Context {
        rate: Some(rate),
        channels: 2,
        block: Some(64),
    };
    let words: Vec<convoy::chain::StageWord> = words.iter().map(|&w| w.into()).collect();
    let chain = convoy::chain::Chain::<f32>::build(&words, &ctx).unwrap();
    let mut live = chain.into_live(64).unwrap();
    live.warm(); // as the engine does on its thread before the stream starts
    let input: Vec<Vec<f32>> = (0..2)
        .map(|c| {
            (0..64)
                .map(|i| ((i * 7 + c * 3) % 13) as f32 * 0.01 - 0.06)
                .collect()
        })
        .collect();
    let mut output = vec![vec![0.0f32; 64]; 2];
    live.process(&input, 64, &mut output);
    allocations_during(|| {
        for i in 0..1500 {
            live.process(&input, [64usize, 1, 17, 63][i % 4], &mut output);
        }
    })
}

/// The whole live loop (the engine's processing thread: read a block, run the causal chain,
/// write it) makes no allocation per block.
#[test]
fn the_engine_loop_for_a_live_chain_does_not_allocate() {
    let n = engine_loop_allocations(
        &[
            "highpass:80",
            "butter:highpass,80",
            "peq:1k,gain=3",
            "denoise,lookahead=0",
            "delay:10",
        ],
        true,
        64,
        600,
        50,
    );
    assert_eq!(
        n, 0,
        "the live engine loop allocated {n} times in 550 blocks"
    );
}

/// The same with a rate change in the chain (the output's blocks vary in length).
#[test]
fn the_engine_loop_for_a_live_chain_with_a_resample_does_not_allocate() {
    let n = engine_loop_allocations(&["resample:44.1k", "lowpass:8000"], true, 64, 600, 50);
    assert_eq!(
        n, 0,
        "the live engine loop allocated {n} times in 550 blocks"
    );
}

/// The offline loop (the exact chain: fused runs with exact edges, a nonlinear stage, a
/// shift, an upmix) makes none either once its buffers have grown to the run's largest block.
#[test]
fn the_engine_loop_for_an_offline_chain_does_not_allocate() {
    for words in [
        &["ma:9", "lowpass:8000", "denoise", "delay:100", "gain:-3db"][..],
        &["ma:31,mode=full", "butter:lowpass,8k", "notch:60"][..],
        &["taps:0.5,0.5,mode=valid", "highpass:80,taps=2001"][..],
        &[][..],
    ] {
        let n = engine_loop_allocations(words, false, 1024, 400, 200);
        assert_eq!(
            n, 0,
            "{words:?}: the offline engine loop allocated {n} times in 200 blocks"
        );
    }
}

/// Playback by writes (io/device/push.rs: interleave, write into the PCM, wait while it is
/// full) makes no allocation per block. ALSA's `null` PCM (no hardware, no sound server)
/// stands in for the device.
#[test]
fn playback_by_writes_does_not_allocate() {
    use convoy::engine::{Control, Output};
    let mut out = match convoy::io::device::PushOutput::open("null", 48_000, 2, 960, 64) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: no ALSA null PCM here ({e})");
            return;
        }
    };
    let ctl = Control::default();
    let mut block = convoy::Block::<f32>::zeros(2, 64);
    for _ in 0..20 {
        out.write(&mut block, &ctl).unwrap();
    }
    let n = allocations_during(|| {
        for _ in 0..200 {
            out.write(&mut block, &ctl).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations while writing 200 blocks");
    assert_eq!(out.xruns(), 0);
}

/// Capture by reads (io/device/pull.rs: read from the PCM, wait while it is empty, remix into
/// the block) makes no allocation per block. ALSA's `null` PCM stands in for the microphone.
#[test]
fn capture_by_reads_does_not_allocate() {
    use convoy::engine::{Control, Input};
    let mut mic = match convoy::io::device::PullInput::open("null", "'null'", 48_000, 2, 960, 64) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipped: no ALSA null PCM here ({e})");
            return;
        }
    };
    let ctl = Control::default();
    mic.start().unwrap();
    let mut block = convoy::Block::<f32>::zeros(2, 64);
    for _ in 0..20 {
        assert_eq!(mic.read(&mut block, 64, &ctl).unwrap(), 64);
    }
    let n = allocations_during(|| {
        for _ in 0..200 {
            assert_eq!(mic.read(&mut block, 64, &ctl).unwrap(), 64);
        }
    });
    assert_eq!(n, 0, "allocations while reading 200 blocks");
    assert_eq!(block.frames(), 64);
    assert!(block.iter().all(|c| c.iter().all(|&s| s == 0.0)));
}

/// `vec![Vec::with_capacity(n); channels]` clones the first buffer for the others, and a clone
/// of an empty Vec (or VecDeque) has no capacity: every channel but one then grows on the
/// stream. The per-channel FIFOs of the resampler, the fused runs' edge history and RNNoise's
/// buffers were built so; this keeps the pattern out of the source.
#[test]
fn no_per_channel_buffer_is_reserved_by_cloning() {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let flat: String = text.split_whitespace().collect();
                let cloned = [
                    "vec![Vec::with_capacity(",
                    "vec![VecDeque::with_capacity(",
                    "vec![std::collections::VecDeque::with_capacity(",
                ];
                if cloned.iter().any(|p| flat.contains(p)) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    assert!(
        found.is_empty(),
        "capacity lost to a clone: build each buffer (`(0..n).map(|_| Vec::with_capacity(..))`) in {found:?}"
    );
}
