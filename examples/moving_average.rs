//! The classic 3-point moving average, and what numpy's three modes keep of it.
//!
//!     cargo run --example moving_average

use convoy::conv::{Boundary, Mode, Options, convolve, convolve_with};

fn main() -> convoy::Result<()> {
    let signal = [3.0, 5.0, 4.0, 8.0, 6.0, 7.0, 10.0, 9.0];
    let average = [1.0 / 3.0; 3];

    // full: every point where the kernel touches the signal (N + M - 1 = 10 samples);
    // same: centred, as long as the signal; valid: only where it lies entirely inside.
    for mode in [Mode::Full, Mode::Same, Mode::Valid] {
        let smoothed = convolve(&signal, &average, mode)?;
        println!("{mode:>5}: {}", format(&smoothed));
    }

    // Zero padding pulls the ends toward 0; reflecting the signal at its ends does not.
    let reflected = convolve_with(
        &signal,
        &average,
        &Options {
            boundary: Boundary::Reflect,
            ..Options::default()
        },
    )?;
    println!("reflect: {}", format(&reflected));
    Ok(())
}

fn format(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}
