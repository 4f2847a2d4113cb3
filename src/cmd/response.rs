//! `convoy response`: a chain's frequency response, drawn or as CSV.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::ResponseArgs;
use convoy::chain::Context;
use convoy::engine::Precision;
use convoy::error::{Error, Result};
use convoy::plot::{charts, response};

/// Runs `convoy response`.
pub fn run(args: &ResponseArgs) -> Result<()> {
    if args.rate == 0 {
        return Err(Error::input("--rate", "must be above 0 Hz"));
    }
    if !(2..=1_000_000).contains(&args.points) {
        return Err(Error::input(
            "--points",
            format!("{}: must be 2 to 1000000", args.points),
        ));
    }
    if !args.csv && args.output.is_none() {
        return Err(Error::Usage(
            "say where the picture goes (-o response.png) or ask for --csv".into(),
        ));
    }
    if let Some(path) = &args.output {
        convoy::plot::check_png(path, &[] as &[&std::path::Path], false)?;
    }
    let words = convoy::chain::stage_words(args.chain.as_deref(), &args.stages)?;
    // A true-stereo (4-channel) IR is drawn as on a stereo stream: its direct path, L to L.
    let stereo = words.iter().any(|w| {
        w.text
            .strip_prefix("fir:")
            .map(|rest| rest.split(',').next().unwrap_or(""))
            .and_then(|file| {
                convoy::io::Source::open(file, Some(convoy::io::WireFormat::Wav), None, None).ok()
            })
            .is_some_and(|s| s.info.channels == 4)
    });
    let ctx = Context {
        rate: Some(args.rate),
        channels: if stereo { 2 } else { 1 },
        block: None,
    };
    let chain = f64::build_chain(&words, &ctx)?;
    if let Some(word) = chain.resample_stage() {
        return Err(convoy::error::Error::Usage(format!(
            "'{word}' changes the rate: a response is drawn at one rate (draw the stages before and after it apart)"
        )));
    }
    if let Some(word) = chain.nonlinear_stage() {
        return Err(convoy::error::Error::Usage(format!(
            "'{word}' is not a linear filter: its effect depends on the signal, so it has no frequency response (plot a run with convoy run ... --plot instead)"
        )));
    }
    let mut inputs: Vec<PathBuf> = chain.inputs.clone();
    inputs.extend(args.chain.iter().cloned());
    let (h, delay) = chain.impulse_response(0)?;
    let rate = f64::from(args.rate);
    let freqs = response::log_frequencies(rate, args.points);
    let mut points = response::evaluate(&h, rate, &freqs);
    response::delay(&mut points, delay, rate);
    let recursive = chain.recursive();
    for (sos, zero_phase) in &recursive {
        response::recursive(&mut points, sos, *zero_phase, rate);
    }
    if args.csv {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut text = String::from("frequency_hz,magnitude_db,phase_deg\n");
        for p in &points {
            text.push_str(&format!("{},{},{}\n", p.hz, p.magnitude_db, p.phase_deg));
        }
        return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Error::write(std::path::Path::new("stdout"), &e)),
            Ok(()) => Ok(()),
        };
    }
    let Some(path) = &args.output else {
        return Ok(());
    };
    convoy::plot::check_png(path, &inputs, false)?;
    let title = if words.is_empty() {
        format!("response of an empty chain at {} Hz", args.rate)
    } else {
        let stages: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        format!(
            "response of {} at {} Hz ({} taps{}{})",
            stages.join(" "),
            args.rate,
            h.len(),
            match recursive.iter().map(|(s, _)| s.len()).sum::<usize>() {
                0 => String::new(),
                n => format!(" and {n} recursive sections"),
            },
            if delay > 0 {
                format!(", delayed {delay} samples")
            } else {
                String::new()
            }
        )
    };
    charts::response_picture(path, &points, rate, &title)
}
