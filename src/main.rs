//! The `convoy` binary: parse, dispatch, map errors to one line and an exit status
//! (0 ok, 1 failure at run time, 2 bad input or usage).

use std::process::ExitCode;

mod cli;
mod cmd;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use cli::{Cli, Command};

fn main() -> ExitCode {
    // Ctrl-C / SIGTERM: abort (partial outputs removed, status 130) until a command says it
    // can stop gracefully (convoy run). First thing, so the window in which a signal simply
    // kills the process is only the program's loading.
    convoy::engine::stop::prepare();
    // Before any thread exists, so that every thread allocates from the tuned heap.
    convoy::rt::tune_heap();
    let _ = ctrlc::set_handler(convoy::engine::stop::signal);
    convoy::io::media::quiet_decoder_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err),
    };
    if let Command::Run(args) = &cli.command {
        // A run stops gracefully from the start: what it reads still comes out (cmd/run.rs).
        convoy::engine::stop::set_graceful(!args.explain);
    }
    let result = match &cli.command {
        Command::Convolve(args) => cmd::convolve::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Run(args) => cmd::run::run(args),
        #[cfg(feature = "device")]
        Command::Devices(a) => cmd::devices::run(a),
        #[cfg(not(feature = "device"))]
        Command::Devices(_) => Err(cmd::no_devices()),
        Command::Response(args) => cmd::response::run(args),
        Command::Plot(args) => cmd::plot::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(convoy::Error::Interrupted) => {
            eprintln!("convoy: interrupted");
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("convoy: error: {}", one_line(&err.to_string()));
            ExitCode::from(err.exit_code())
        }
    }
}

/// Every error is one line: whatever a library's message carries over several lines (a parser
/// diagram, a hint) is joined with "; ".
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Help and version go to stdout as clap renders them; usage errors become one line on stderr
/// (clap's first line, plus the accepted values when it knows them), exit status 2.
fn clap_error(err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    let mut line = format!("convoy: error: {first}");
    if err.kind() == ErrorKind::MissingRequiredArgument {
        if let Some(ContextValue::Strings(missing)) = err.get(ContextKind::InvalidArg) {
            line = format!(
                "convoy: error: missing required argument {}",
                missing.join(", ")
            );
        }
    }
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(a)) => a.as_str(),
        _ => "",
    };
    if err.kind() == ErrorKind::InvalidValue && arg.starts_with("--mode") {
        // numpy's and scipy's wording, so a search for it finds the same cause.
        line.push_str(": acceptable mode flags are 'valid', 'same', or 'full' (scipy's words)");
    } else if let Some(ContextValue::Strings(valid)) = err.get(ContextKind::ValidValue) {
        line.push_str(&format!(" (possible values: {})", valid.join(", ")));
    }
    if let Some(ContextValue::String(suggested)) = err.get(ContextKind::SuggestedArg) {
        line.push_str(&format!(" (did you mean '{suggested}'?)"));
    }
    eprintln!("{line}; see 'convoy --help'");
    ExitCode::from(2)
}
