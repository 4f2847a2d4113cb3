//! `convoy devices`: what sound devices there are and what they can do.

use cpal::traits::DeviceTrait;

use crate::cli::DevicesArgs;
use convoy::error::Result;
use convoy::io::device::choose::{self as devices, Direction, SERVER};
use convoy::io::device::quiet::{AlsaChatter, MutedStderr};

/// Runs `convoy devices`.
pub fn run(args: &DevicesArgs) -> Result<()> {
    let _chatter = AlsaChatter::capture();
    // What this prints goes to stdout; the plugins' own chatter on stderr is muted.
    let _muted = MutedStderr::mute();
    let mut hidden = 0;
    let hosts = devices::Hosts::new();
    let host = &hosts.main;
    println!("host: {}", host.id().name());
    for dir in [Direction::Input, Direction::Output] {
        let default_id = devices::default_device(host, dir).map(|d| devices::id_and_name(&d).0);
        let list = devices::list(host, dir)?;
        heading(dir, "input devices", "output devices");
        if list.is_empty() {
            println!("  (none)");
        }
        for d in &list {
            let (id, name) = devices::id_and_name(d);
            let default = match dir {
                Direction::Input => d.default_input_config(),
                Direction::Output => d.default_output_config(),
            };
            // A plugin PCM that cannot even say its default (a rate converter with no slave,
            // JACK or OSS without their servers) cannot be opened either: hidden unless --all.
            if default.is_err() && !args.all {
                hidden += 1;
                continue;
            }
            let mark = if Some(&id) == default_id.as_ref() {
                "*"
            } else {
                " "
            };
            println!("{mark} {id:<24} {name}");
            let behind = devices::server_behind(&hosts, dir, &id, &name);
            if let Some((sname, sdesc, _)) = &behind {
                println!("      goes to the {SERVER} server's '{sname}' ({sdesc})");
            }
            match default {
                // What convoy opens: the server device's channels behind the plugin (which
                // offers any count and calls 2 its default).
                Ok(c) => println!(
                    "      default: {} ch, {}, {} Hz{}",
                    behind.as_ref().map_or(c.channels(), |b| b.2),
                    c.sample_format(),
                    c.sample_rate(),
                    if behind.is_some() {
                        " (the server device's channels)"
                    } else {
                        ""
                    }
                ),
                Err(e) => println!("      default: (cannot query: {e})"),
            }
            for line in devices::describe_configs(d, dir) {
                println!("      supports: {line}");
            }
        }
    }
    server_devices(&hosts);
    if hidden > 0 {
        println!("({hidden} device(s) that cannot be opened here not shown; --all lists them)");
    }
    Ok(())
}

/// The sound server's own sources and sinks, by the names `mic:NAME`/`speakers:NAME` take.
fn server_devices(hosts: &devices::Hosts) {
    let Some(server) = hosts.server() else {
        return;
    };
    for dir in [Direction::Input, Direction::Output] {
        let Ok(list) = devices::list(server, dir) else {
            continue;
        };
        let default_id = devices::default_device(server, dir).map(|d| devices::id_and_name(&d).0);
        heading(
            dir,
            &format!("{SERVER} server sources"),
            &format!("{SERVER} server sinks"),
        );
        if list.is_empty() {
            println!("  (none)");
        }
        for d in &list {
            let (id, name) = devices::id_and_name(d);
            let mark = if Some(&id) == default_id.as_ref() {
                "*"
            } else {
                " "
            };
            println!("{mark} {id:<24} {name}");
            let native = match dir {
                Direction::Input => d.default_input_config(),
                Direction::Output => d.default_output_config(),
            };
            if let Ok(c) = native {
                println!(
                    "      native: {} ch, {}, {} Hz",
                    c.channels(),
                    c.sample_format(),
                    c.sample_rate()
                );
            }
        }
    }
}

/// `input devices (use as -i mic:NAME):` and its output twin.
fn heading(dir: Direction, input: &str, output: &str) {
    match dir {
        Direction::Input => println!("{input} (use as -i mic:NAME):"),
        Direction::Output => println!("{output} (use as -o speakers:NAME):"),
    }
}
