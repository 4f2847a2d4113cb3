//! `convoy devices`: what sound devices there are and what they can do.

use cpal::traits::DeviceTrait;

use convoy::error::Result;
use convoy::io::device::choose::{self as devices, Direction};
use convoy::io::device::quiet::AlsaChatter;

/// Runs `convoy devices`.
pub fn run() -> Result<()> {
    let _chatter = AlsaChatter::capture();
    let host = cpal::default_host();
    println!("host: {}", host.id().name());
    for dir in [Direction::Input, Direction::Output] {
        let default_id = devices::default_device(&host, dir).map(|d| devices::id_and_name(&d).0);
        let list = devices::list(&host, dir)?;
        println!(
            "{} devices (use as {}):",
            if dir == Direction::Input {
                "input"
            } else {
                "output"
            },
            if dir == Direction::Input {
                "-i mic:NAME"
            } else {
                "-o speakers:NAME"
            }
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
            let default = match dir {
                Direction::Input => d.default_input_config(),
                Direction::Output => d.default_output_config(),
            };
            match default {
                Ok(c) => println!(
                    "      default: {} ch, {}, {} Hz",
                    c.channels(),
                    c.sample_format(),
                    c.sample_rate()
                ),
                Err(e) => println!("      default: (cannot query: {e})"),
            }
            for line in devices::describe_configs(d, dir) {
                println!("      supports: {line}");
            }
        }
    }
    Ok(())
}
