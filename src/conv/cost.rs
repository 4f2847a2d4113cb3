//! Every cost model in convoy, in one unit: nanoseconds of CPU on the reference machine
//! (2-core AMD EPYC VM, one thread). They decide, never compute: which FFT length, direct or
//! FFT, how to partition a kernel, whether to fuse stages. Two calibrations, because the two
//! paths run different code: [`oneshot`] (f64 whole-array calls: `convoy convolve`, the N-d
//! paths) and [`streaming`] (the f32 block engine: `convoy run`, live). The benches that check
//! them: `cargo bench --bench oneshot` and `--bench calibrate`.

/// Calibrated costs, in nanoseconds for f64, fitted (non-negative least squares on relative
/// error) to some 500 timed convolutions on the reference machine (2-core AMD EPYC VM) with
/// forced plans. Only their ratios matter: they decide between FFT lengths and between direct
/// and FFT. `cargo bench --bench oneshot` checks the outcome.
pub mod oneshot {
    /// One real FFT (forward or inverse) per `n log2 n`.
    pub const FFT_PER_NLOGN: f64 = 0.178;
    /// Extra per `n log2 n` and per octave above 8192 points: large transforms leave the cache.
    pub const FFT_PER_NLOGN_OCTAVE: f64 = 0.007;
    /// Extra factor for lengths with a factor 5 or 27 (slower RustFFT passes).
    pub const FFT_ODD_RADIX_PENALTY: f64 = 1.25;
    /// Fixed cost of one transform call.
    pub const FFT_CALL: f64 = 5.0;
    /// Per block: the loop, slicing, realfft's length checks.
    pub const FFT_PER_BLOCK: f64 = 49.0;
    /// Per transform-length sample of a block: zero-padding, the spectrum product, the copy out.
    pub const FFT_PER_BLOCK_SAMPLE: f64 = 0.149;
    /// Per input and output sample (the output's allocation, reading the input).
    pub const FFT_PER_SAMPLE: f64 = 0.533;
    /// Per transform-length sample when the work buffers are too big to be kept between calls
    /// and must be faulted in afresh (see `sample.rs`).
    pub const FFT_FRESH_PER_SAMPLE: f64 = 5.0;
    /// Once per call.
    pub const FFT_SETUP: f64 = 160.0;
    /// One multiply-accumulate of the direct method.
    pub const DIRECT_PER_MAC: f64 = 0.141;
    /// One multiply-accumulate on the scalar path for taps that overlap only part of a block.
    pub const DIRECT_PER_PARTIAL_MAC: f64 = 1.5;
    /// Per output sample of the direct method (its allocation, the 16-sample block set-up).
    pub const DIRECT_PER_OUTPUT: f64 = 0.88;
    /// Once per call.
    pub const DIRECT_SETUP: f64 = 88.0;

    /// Modelled cost of one real transform of length `n`.
    pub fn transform_ns(n: usize) -> f64 {
        let nf = n as f64;
        let octaves_above_cache = (nf / 8192.0).log2().max(0.0);
        let per_nlogn = FFT_PER_NLOGN + FFT_PER_NLOGN_OCTAVE * octaves_above_cache;
        let penalty = if n % 5 == 0 || n % 27 == 0 {
            FFT_ODD_RADIX_PENALTY
        } else {
            1.0
        };
        per_nlogn * penalty * nf * nf.log2().max(1.0) + FFT_CALL
    }

    /// The modelled cost of the direct method computing `macs` products for `outputs` samples, of
    /// which `partial_macs` fall on taps that overlap only part of a 16-sample block.
    pub fn direct_ns(macs: f64, partial_macs: f64, outputs: usize) -> f64 {
        DIRECT_PER_MAC * macs
            + DIRECT_PER_PARTIAL_MAC * partial_macs
            + DIRECT_PER_OUTPUT * outputs as f64
            + DIRECT_SETUP
    }

    /// An N-d correlation by FFT over an array of `shape` (each axis at its fast length): the
    /// pair of transforms and the product, about 2.5 multiply-adds' time per point per octave
    /// (measured on 2-D f64).
    pub fn nd_fft_ns(shape: &[usize]) -> f64 {
        let n: f64 = shape
            .iter()
            .map(|&d| super::super::fft::fast_len(d) as f64)
            .product();
        DIRECT_PER_MAC * n * (2.5 * n.log2().max(1.0) + 4.0)
    }

    /// N-d direct sums: `outputs` outputs of `taps` multiply-adds each.
    pub fn nd_direct_ns(outputs: usize, taps: usize) -> f64 {
        DIRECT_PER_MAC * outputs as f64 * taps as f64
    }

    /// A separable 2-D kernel as two 1-D passes of `u + v` taps (strided reads cost half again).
    pub fn nd_separable_ns(outputs: usize, taps: usize) -> f64 {
        1.5 * nd_direct_ns(outputs, taps)
    }
}

/// Measured costs of the streaming engine's parts on the reference machine (f32, one thread,
/// `examples`-style timing of `UniformConvolver` per block, best of 5): the fixed cost of one
/// block of `B` samples (forward and inverse FFT of 2B, the window, delay-line and output
/// copies) for B = 2^0 .. 2^16, and the cost per complex bin of each partition's
/// multiply-accumulate in context (cache misses included).
pub mod streaming {
    pub const BLOCK_NS: [f64; 17] = [
        108.0, 99.0, 127.0, 120.0, 135.0, 195.0, 301.0, 588.0, 1_130.0, 2_500.0, 5_258.0, 11_880.0,
        26_000.0, 52_065.0, 119_788.0, 243_921.0, 622_706.0,
    ];
    /// One complex multiply-accumulate of the delay line, in context.
    pub const CMAC_NS: f64 = 0.45;
    /// Per input sample per stage: the copies into the window and out of the ready block.
    pub const PER_SAMPLE_NS: f64 = 0.5;

    /// One complex multiply-accumulate of an offline run's delay line when the kernel is
    /// longer than [`LONG_KERNEL`]: its spectra and delay line (over 2 MiB) stream from memory
    /// on every pass while the reader and writer stream the files through the shared cache, so
    /// the product costs about twice what it does in the calibration's loop, and a whole run
    /// favours fewer, larger partitions than [`CMAC_NS`] would pick. Measured as whole runs
    /// over W3's input (paired, medians of 20-30, AMD EPYC VM): a 262,144-tap kernel at
    /// 65,536-sample partitions took 0.86-0.89x the CPU of 32,768 (which [`CMAC_NS`] picked);
    /// 131,072 taps was flat between the two (1.00x / 0.99x), as this predicts.
    pub const OFFLINE_LONG_CMAC_NS: f64 = 0.9;
    /// Kernel length above which [`OFFLINE_LONG_CMAC_NS`] applies (2 MiB of f32 spectra).
    pub const LONG_KERNEL: usize = 1 << 17;

    /// Modelled cost per input sample of a uniform stage for a `kernel_len`-tap kernel in an
    /// offline run, in partitions of `block`.
    pub fn offline_stage_ns(kernel_len: usize, block: usize) -> f64 {
        let cmac = if kernel_len > LONG_KERNEL {
            OFFLINE_LONG_CMAC_NS
        } else {
            CMAC_NS
        };
        stage_ns_at(block, kernel_len.div_ceil(block), cmac)
    }

    /// Modelled cost per input sample of a uniform stage of `partitions` blocks of `block`.
    pub fn stage_ns(block: usize, partitions: usize) -> f64 {
        stage_ns_at(block, partitions, CMAC_NS)
    }

    /// [`stage_ns`] with `cmac` ns a complex multiply-accumulate.
    fn stage_ns_at(block: usize, partitions: usize, cmac: f64) -> f64 {
        let index = block.trailing_zeros() as usize;
        let fixed = BLOCK_NS.get(index).copied().unwrap_or_else(|| {
            BLOCK_NS[16] * (block as f64 / crate::conv::partitioned::MAX_BLOCK as f64) * 1.1
        });
        let b = block as f64;
        (fixed + partitions as f64 * (b + 1.0) * cmac) / b + PER_SAMPLE_NS
    }

    /// Modelled cost per sample of a `taps`-tap kernel in the direct form (f32, SIMD): measured
    /// on W2 (2^22 samples, 31 taps, AVX2+FMA dispatch) the direct form took 21 ms of engine time
    /// where the FFT engine took 37 ms and this model predicted 22 ms for the FFT, so one tap
    /// cost about 0.1 ns per sample. Since `simd::fir_chunk` keeps 64 sums in registers across
    /// the taps it is about half that: whole runs over W2's input (paired, Intel Xeon VM) put the
    /// crossover near 100 taps (64 taps direct 0.88x the FFT engine's CPU, 96 taps 0.98x, 128
    /// taps 1.11x), and the direct form also has no latency, so it wins up to about 100 taps.
    pub fn direct_ns(taps: usize) -> f64 {
        0.05 * taps as f64 + 0.3
    }
}
