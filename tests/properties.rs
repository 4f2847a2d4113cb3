//! Property tests: the one-shot core against a brute-force oracle written independently of it.

use convoy::conv::{Boundary, Method, Mode, Options, convolve_with};
use proptest::prelude::*;

/// The textbook double loop.
fn brute_full(x: &[f64], h: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; x.len() + h.len() - 1];
    for (i, &xi) in x.iter().enumerate() {
        for (j, &hj) in h.iter().enumerate() {
            y[i + j] += xi * hj;
        }
    }
    y
}

/// np.convolve from the definition: swap so the first is longer, then cut the mode's window.
fn brute_convolve(a: &[f64], v: &[f64], mode: Mode) -> Vec<f64> {
    let full = brute_full(a, v);
    let (n, m) = (a.len().max(v.len()), a.len().min(v.len()));
    match mode {
        Mode::Full => full,
        Mode::Same => full[(m - 1) / 2..(m - 1) / 2 + n].to_vec(),
        Mode::Valid => full[m - 1..n].to_vec(),
    }
}

/// np.correlate from its C implementation's rule.
fn brute_correlate(a: &[f64], v: &[f64], mode: Mode) -> Vec<f64> {
    if a.len() >= v.len() {
        let rv: Vec<f64> = v.iter().rev().copied().collect();
        brute_convolve(a, &rv, mode)
    } else {
        let ra: Vec<f64> = a.iter().rev().copied().collect();
        let mut r = brute_convolve(v, &ra, mode);
        r.reverse();
        r
    }
}

fn close(got: &[f64], want: &[f64]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    let peak = want.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
    for (g, w) in got.iter().zip(want) {
        prop_assert!((g - w).abs() <= 1e-12 * peak, "{} vs {}", g, w);
    }
    Ok(())
}

fn signal(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-100.0f64..100.0, 1..max_len)
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Full), Just(Mode::Same), Just(Mode::Valid)]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Auto), Just(Method::Direct), Just(Method::Fft)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn convolve_matches_brute_force(a in signal(300), v in signal(300), mode in mode(), method in method()) {
        let got = convolve_with(&a, &v, &Options { mode, method, ..Options::default() }).unwrap();
        close(&got, &brute_convolve(&a, &v, mode))?;
    }

    #[test]
    fn correlate_matches_brute_force(a in signal(200), v in signal(200), mode in mode(), method in method()) {
        let got = convolve_with(&a, &v, &Options { mode, method, correlate: true, ..Options::default() }).unwrap();
        close(&got, &brute_correlate(&a, &v, mode))?;
    }

    #[test]
    fn boundaries_extend_then_take_valid(a in signal(60), v in signal(40), method in method(),
        boundary in prop_oneof![Just(Boundary::Reflect), Just(Boundary::Symmetric), Just(Boundary::Wrap), Just(Boundary::Edge)]) {
        let got = convolve_with(&a, &v, &Options { method, boundary, ..Options::default() }).unwrap();
        prop_assert_eq!(got.len(), a.len());
        let p = (v.len() - 1) / 2;
        let padded = convoy::conv::boundary::pad(&a, p, v.len() - 1 - p, boundary);
        close(&got, &brute_convolve(&padded, &v, Mode::Valid))?;
    }

    #[test]
    fn long_signal_short_kernel_overlap_add(n in 2000usize..20000, m in 1usize..80, seed in 0u64..1000) {
        // Exercises the blocked FFT path against the direct sums.
        let x: Vec<f64> = (0..n).map(|i| (((i as u64 * 2654435761 + seed) % 1000) as f64) / 500.0 - 1.0).collect();
        let h: Vec<f64> = (0..m).map(|i| (((i as u64 * 40503 + seed) % 100) as f64) / 50.0 - 1.0).collect();
        let fft = convolve_with(&x, &h, &Options { method: Method::Fft, ..Options::default() }).unwrap();
        let direct = convolve_with(&x, &h, &Options { method: Method::Direct, ..Options::default() }).unwrap();
        close(&fft, &direct)?;
    }

    #[test]
    fn integer_data_is_exact_whichever_method(a in prop::collection::vec(-1000i32..1000, 1..400),
                                             v in prop::collection::vec(-1000i32..1000, 1..400), mode in mode()) {
        let a: Vec<f64> = a.into_iter().map(f64::from).collect();
        let v: Vec<f64> = v.into_iter().map(f64::from).collect();
        let want = brute_convolve(&a, &v, mode);
        for method in [Method::Auto, Method::Direct, Method::Fft] {
            let got = convolve_with(&a, &v, &Options { mode, method, ..Options::default() }).unwrap();
            prop_assert_eq!(&got, &want);
        }
    }
}

/// A chain of `taps:` stages in random modes, fed in random pieces, against the stages applied
/// one after another by the definition (fused or not, the chain must give the same numbers).
fn run_chain(stages: &[(Vec<f64>, Mode)], x: &[f64], pieces: &[usize]) -> Vec<f64> {
    use convoy::chain::{Chain, Context, StageWord};
    let words: Vec<StageWord> = stages
        .iter()
        .map(|(k, mode)| {
            let taps: Vec<String> = k.iter().map(|v| format!("{v:e}")).collect();
            let mode = match mode {
                Mode::Full => "full",
                Mode::Same => "same",
                Mode::Valid => "valid",
            };
            format!("taps:{},mode={mode}", taps.join(",")).into()
        })
        .collect();
    let ctx = Context {
        rate: Some(48_000),
        channels: 1,
        block: None,
    };
    let mut chain = Chain::<f64>::build(&words, &ctx).unwrap();
    let mut out = Vec::new();
    let mut take = |piece: &mut convoy::Block<f64>| {
        out.extend_from_slice(&piece[0]);
        Ok(())
    };
    let mut at = 0;
    for &p in pieces.iter().cycle() {
        if at >= x.len() {
            break;
        }
        let end = (at + p).min(x.len());
        let mut piece = convoy::Block::from_planes(vec![x[at..end].to_vec()]);
        chain.process(&mut piece, &mut take).unwrap();
        at = end;
    }
    chain.finish(&mut take).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_chain_in_any_modes_equals_its_stages_one_after_another(
        x in signal(4000),
        stages in prop::collection::vec((signal(70), mode()), 1..5),
        pieces in prop::collection::vec(1usize..300, 1..4),
    ) {
        let want = stages
            .iter()
            .fold(x.clone(), |a, (k, mode)| brute_convolve(&a, k, *mode));
        close(&run_chain(&stages, &x, &pieces), &want)?;
    }
}
