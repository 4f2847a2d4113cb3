//! Finding sound devices: the default one, or one named by id or by a piece of its description.

use cpal::traits::{DeviceTrait, HostTrait};

use crate::error::{Error, Result};

/// Which way a device carries sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    fn noun(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// A device's id (`hw:0`, `default`, `test_mic`) and its description's first line.
pub fn id_and_name(device: &cpal::Device) -> (String, String) {
    let id = device
        .id()
        .map(|id| id.id().to_string())
        .unwrap_or_else(|_| "?".into());
    let name = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| id.clone());
    (id, name)
}

/// The devices that can carry sound in `dir`.
pub fn list(host: &cpal::Host, dir: Direction) -> Result<Vec<cpal::Device>> {
    let devices = match dir {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    devices.map_err(|e| Error::Device(format!("cannot list {} devices: {e}", dir.noun())))
}

/// The default device for `dir`.
pub fn default_device(host: &cpal::Host, dir: Direction) -> Option<cpal::Device> {
    match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
}

/// The device `name` selects: `None` is the default one; otherwise an exact id (`hw:0`, with
/// or without the host prefix `alsa:`), then an exact description, then a case-insensitive
/// substring of the description or id. No match or several: an error listing the candidates.
pub fn choose(host: &cpal::Host, dir: Direction, name: Option<&str>) -> Result<cpal::Device> {
    let Some(want) = name else {
        return default_device(host, dir)
            .ok_or_else(|| Error::Device(format!("no audio {} device available", dir.noun())));
    };
    let devices = list(host, dir)?;
    let named: Vec<(cpal::Device, String, String)> = devices
        .into_iter()
        .map(|d| {
            let (id, desc) = id_and_name(&d);
            (d, id, desc)
        })
        .collect();
    let bare = want.split_once(':').map_or(want, |(host_part, rest)| {
        if host_part.eq_ignore_ascii_case(host.id().name()) {
            rest
        } else {
            want
        }
    });
    let pick = |pred: &dyn Fn(&str, &str) -> bool| -> Vec<usize> {
        named
            .iter()
            .enumerate()
            .filter(|(_, (_, id, desc))| pred(id, desc))
            .map(|(i, _)| i)
            .collect()
    };
    let lower = want.to_lowercase();
    let mut hits = pick(&|id, _| id == want || id == bare);
    if hits.is_empty() {
        hits = pick(&|_, desc| desc.eq_ignore_ascii_case(want));
    }
    if hits.is_empty() {
        hits = pick(&|id, desc| {
            desc.to_lowercase().contains(&lower) || id.to_lowercase().contains(&lower)
        });
    }
    let candidates = || {
        named
            .iter()
            .map(|(_, id, desc)| format!("'{id}' ({desc})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match hits.len() {
        1 => Ok(named
            .into_iter()
            .nth(hits[0])
            .map(|(d, _, _)| d)
            .ok_or_else(|| Error::Device(format!("{} device '{want}' vanished", dir.noun())))?),
        0 => Err(Error::Device(format!(
            "no {} device matches '{want}'; {} devices: {}",
            dir.noun(),
            dir.noun(),
            if named.is_empty() {
                "none".to_string()
            } else {
                candidates()
            }
        ))),
        _ => Err(Error::Device(format!(
            "{} device name '{want}' is ambiguous: it matches {}",
            dir.noun(),
            hits.iter()
                .map(|&i| format!("'{}' ({})", named[i].1, named[i].2))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A sample format with the channel counts and rate ranges offered in it.
type FormatLine = (String, Vec<u16>, Vec<(u32, u32)>);

/// One line per supported configuration range, for `convoy devices`.
pub fn describe_configs(device: &cpal::Device, dir: Direction) -> Vec<String> {
    let configs = match dir {
        Direction::Input => device
            .supported_input_configs()
            .map(|c| c.collect::<Vec<_>>()),
        Direction::Output => device
            .supported_output_configs()
            .map(|c| c.collect::<Vec<_>>()),
    };
    match configs {
        Ok(list) if !list.is_empty() => {
            // One line per sample format: its channel counts and rate ranges (ALSA plugins
            // report every channel count from 1 to 64 separately).
            let mut lines: Vec<FormatLine> = Vec::new();
            for c in list {
                let fmt = c.sample_format().to_string();
                let idx = match lines.iter().position(|(f, _, _)| *f == fmt) {
                    Some(i) => i,
                    None => {
                        lines.push((fmt, Vec::new(), Vec::new()));
                        lines.len() - 1
                    }
                };
                let (_, chans, rates) = &mut lines[idx];
                if !chans.contains(&c.channels()) {
                    chans.push(c.channels());
                }
                let r = (c.min_sample_rate(), c.max_sample_rate());
                if !rates.contains(&r) {
                    rates.push(r);
                }
            }
            lines
                .into_iter()
                .map(|(f, mut ch, rates)| {
                    ch.sort_unstable();
                    let contiguous = ch.windows(2).all(|w| w[1] == w[0] + 1);
                    let chans = match (ch.first(), ch.last()) {
                        (Some(a), Some(b)) if a == b => a.to_string(),
                        (Some(a), Some(b)) if contiguous => format!("{a}-{b}"),
                        _ => ch.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
                    };
                    let rates: Vec<String> = rates
                        .iter()
                        .map(|(a, b)| {
                            if a == b {
                                a.to_string()
                            } else {
                                format!("{a}-{b}")
                            }
                        })
                        .collect();
                    (f, format!("{chans} ch, {} Hz", rates.join(", ")))
                })
                .fold(Vec::<(Vec<String>, String)>::new(), |mut acc, (f, rest)| {
                    // Formats with the same channels and rates share a line.
                    match acc.iter_mut().find(|(_, r)| *r == rest) {
                        Some((fs, _)) => fs.push(f),
                        None => acc.push((vec![f], rest)),
                    }
                    acc
                })
                .into_iter()
                .map(|(fs, rest)| format!("{}: {rest}", fs.join(" ")))
                .collect()
        }
        Ok(_) => vec!["(no configurations reported)".into()],
        Err(e) => vec![format!("(cannot query: {e})")],
    }
}
