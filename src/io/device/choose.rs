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

/// The hosts devices are found on: the platform's own (ALSA on Linux) and, when a PulseAudio
/// or PipeWire (pipewire-pulse) server answers, the server's sinks and sources by their own
/// names. The server is asked only when needed (a name ALSA does not know, `convoy devices`, the
/// channel count behind ALSA's `default`): connecting costs a handshake, and a frozen server a
/// 2 s timeout.
pub struct Hosts {
    pub main: cpal::Host,
    #[cfg(target_os = "linux")]
    server: std::cell::OnceCell<Option<cpal::Host>>,
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts::new()
    }
}

impl Hosts {
    pub fn new() -> Hosts {
        Hosts {
            main: main_host(),
            #[cfg(target_os = "linux")]
            server: std::cell::OnceCell::new(),
        }
    }

    /// The PulseAudio/PipeWire server as a host, if one answers.
    pub fn server(&self) -> Option<&cpal::Host> {
        #[cfg(target_os = "linux")]
        {
            self.server
                .get_or_init(|| {
                    if !cpal::available_hosts().contains(&cpal::HostId::PulseAudio) {
                        return None;
                    }
                    cpal::host_from_id(cpal::HostId::PulseAudio).ok()
                })
                .as_ref()
        }
        #[cfg(not(target_os = "linux"))]
        None
    }
}

/// A test of a device's id and description.
type Matcher<'a> = dyn Fn(&str, &str) -> bool + 'a;

/// ALSA on Linux (cpal's own default there is the sound server when one answers; ALSA reaches
/// the server too, through its plugin, and also every PCM the user configured), else cpal's
/// default.
fn main_host() -> cpal::Host {
    #[cfg(target_os = "linux")]
    if let Ok(h) = cpal::host_from_id(cpal::HostId::Alsa) {
        return h;
    }
    cpal::default_host()
}

/// What the server's host is called in messages.
pub const SERVER: &str = "PulseAudio/PipeWire";

/// A device chosen by name, and how to say which one it is.
pub struct Chosen {
    pub device: cpal::Device,
    /// Its id on its host (`hw:0`, `test_mic`, or the server's `mic.monitor`).
    pub id: String,
    /// Its description's first line.
    pub desc: String,
    /// Found on the sound server's own host rather than through ALSA.
    pub on_server: bool,
    /// ALSA's `default`/`pulse` PCM routed to the server: the server device behind it (name,
    /// description, channels), so a mono source is opened mono and the start-up line can say
    /// what was really opened.
    pub behind: Option<(String, String, u16)>,
}

impl Chosen {
    fn new(device: cpal::Device, on_server: bool) -> Chosen {
        let (id, desc) = id_and_name(&device);
        Chosen {
            device,
            id,
            desc,
            on_server,
            behind: None,
        }
    }

    /// `'test_mic' (test microphone)`, `'mic.monitor' (Monitor of test-mic, on the
    /// PulseAudio/PipeWire server)`, `'default' (PulseAudio/PipeWire source 'mic.monitor': ...)`.
    pub fn label(&self, dir: Direction) -> String {
        if self.on_server {
            format!("'{}' ({}, on the {SERVER} server)", self.id, self.desc)
        } else if let Some((name, desc, _)) = &self.behind {
            let what = match dir {
                Direction::Input => "source",
                Direction::Output => "sink",
            };
            format!("'{}' ({SERVER} {what} '{name}': {desc})", self.id)
        } else if self.desc == self.id || self.desc.is_empty() {
            format!("'{}'", self.id)
        } else {
            format!("'{}' ({})", self.id, self.desc)
        }
    }
}

/// Which server device an ALSA PCM hands its audio to, if it is the server's plugin: `Some(None)`
/// for the server's default (`default` while the server runs, `pulse`, `pipewire`, or a `type
/// pulse` PCM without a `device`), `Some(Some(name))` for a `type pulse` PCM naming one (the
/// test rigs' `pcm.test_mic { type pulse device "mic.monitor" }`).
fn server_target(id: &str, desc: &str) -> Option<Option<String>> {
    if matches!(id, "default" | "pulse" | "pipewire")
        && (desc.contains("PulseAudio") || desc.contains("PipeWire"))
    {
        return Some(None);
    }
    pulse_pcm_device(id)
}

/// The `device` of a `pcm.ID { type pulse ... }` definition in ALSA's configuration, read from
/// the tree alsa-lib loaded. Anything else: `None`.
#[cfg(target_os = "linux")]
fn pulse_pcm_device(id: &str) -> Option<Option<String>> {
    if id.is_empty() || id.contains([' ', ':', '{']) {
        return None;
    }
    let tree = alsa::config::update_ref().ok()?;
    let mut out = alsa::Output::buffer_open().ok()?;
    tree.save(&mut out).ok()?;
    pulse_device_in(&out.to_string(), id)
}

/// [`pulse_pcm_device`] on the configuration as alsa-lib writes its tree back out: one
/// `pcm.ID {` block per definition, one `key value` per line.
fn pulse_device_in(text: &str, id: &str) -> Option<Option<String>> {
    let mut lines = text.lines();
    let opening = [format!("pcm.{id} {{"), format!("pcm.!{id} {{")];
    lines.find(|l| opening.iter().any(|o| l.trim() == o))?;
    let (mut depth, mut pulse, mut device) = (1usize, false, None);
    for line in lines {
        let t = line.trim();
        if depth == 1 {
            let mut words = t.splitn(2, char::is_whitespace);
            match (words.next(), words.next().map(str::trim)) {
                (Some("type"), Some(v)) => pulse = v.trim_matches(['\'', '"']) == "pulse",
                (Some("device"), Some(v)) => {
                    device = Some(v.trim_matches(['\'', '"']).to_string());
                }
                _ => {}
            }
        }
        depth += t.matches('{').count();
        depth = depth.saturating_sub(t.matches('}').count());
        if depth == 0 {
            break;
        }
    }
    pulse.then_some(device.filter(|d| !d.is_empty()))
}

#[cfg(not(target_os = "linux"))]
fn pulse_pcm_device(_id: &str) -> Option<Option<String>> {
    None
}

/// The server device an ALSA PCM goes to (the server's default for `default`, `pulse` and
/// `pipewire`; the `device` of a `type pulse` PCM): name, description, channels.
pub fn server_behind(
    hosts: &Hosts,
    dir: Direction,
    id: &str,
    desc: &str,
) -> Option<(String, String, u16)> {
    match server_target(id, desc)? {
        None => server_default(hosts, dir),
        Some(name) => {
            let server = hosts.server()?;
            let d = list(server, dir)
                .ok()?
                .into_iter()
                .find(|d| id_and_name(d).0 == name)?;
            named_channels(&d, dir)
        }
    }
}

/// A device's id, description and default channel count.
fn named_channels(d: &cpal::Device, dir: Direction) -> Option<(String, String, u16)> {
    use cpal::traits::DeviceTrait;
    let (name, desc) = id_and_name(d);
    let config = match dir {
        Direction::Input => d.default_input_config(),
        Direction::Output => d.default_output_config(),
    }
    .ok()?;
    Some((name, desc, config.channels()))
}

/// The sound server's default device for `dir`: its name, description and channel count.
pub fn server_default(hosts: &Hosts, dir: Direction) -> Option<(String, String, u16)> {
    named_channels(&default_device(hosts.server()?, dir)?, dir)
}

/// The device `name` selects. `None` is the default one. Otherwise, over ALSA's devices and
/// (if it answers) the sound server's sinks and sources, in this order: an exact id (`hw:0`,
/// `test_mic`, the server's `mic.monitor`; a host prefix `alsa:` or `pulseaudio:` limits the
/// search to that host), then an exact description, then a case-insensitive piece of either.
/// Within a step ALSA's devices come first; several matches on one host, or none anywhere: an
/// error listing the candidates.
pub fn choose(hosts: &Hosts, dir: Direction, name: Option<&str>) -> Result<Chosen> {
    let Some(want) = name else {
        let device = default_device(&hosts.main, dir)
            .ok_or_else(|| Error::Device(format!("no audio {} device available", dir.noun())))?;
        let mut chosen = Chosen::new(device, false);
        // cpal names the default "Default Audio Device"; the PCM's own hint says where it goes.
        if let Some(desc) = list(&hosts.main, dir).ok().and_then(|l| {
            l.iter()
                .map(id_and_name)
                .find(|(id, _)| *id == chosen.id)
                .map(|(_, desc)| desc)
        }) {
            chosen.desc = desc;
        }
        chosen.behind = server_behind(hosts, dir, &chosen.id, &chosen.desc);
        return Ok(chosen);
    };
    let (only, bare) = match want.split_once(':') {
        Some((h, rest)) if h.eq_ignore_ascii_case(hosts.main.id().name()) => (Some(false), rest),
        Some((h, rest))
            if ["pulseaudio", "pulse", "pipewire"]
                .iter()
                .any(|n| h.eq_ignore_ascii_case(n))
                && !rest.is_empty() =>
        {
            (Some(true), rest)
        }
        _ => (None, want),
    };
    let mut named: Vec<(cpal::Device, String, String, bool)> = Vec::new();
    if only != Some(true) {
        for d in list(&hosts.main, dir)? {
            let (id, desc) = id_and_name(&d);
            named.push((d, id, desc, false));
        }
    }
    // The server is asked when ALSA has no exact match (or when named explicitly).
    let exact_alsa = named
        .iter()
        .any(|(_, id, desc, _)| id == want || id == bare || desc.eq_ignore_ascii_case(want));
    if only == Some(true) || (only.is_none() && !exact_alsa) {
        if let Some(server) = hosts.server() {
            for d in list(server, dir).unwrap_or_default() {
                let (id, desc) = id_and_name(&d);
                named.push((d, id, desc, true));
            }
        }
    }
    let lower = bare.to_lowercase();
    let steps: [&Matcher<'_>; 3] = [
        &|id, _| id == want || id == bare,
        &|_, desc| desc.eq_ignore_ascii_case(bare),
        &|id, desc| desc.to_lowercase().contains(&lower) || id.to_lowercase().contains(&lower),
    ];
    let mut hits: Vec<usize> = Vec::new();
    for step in steps {
        for on_server in [false, true] {
            hits = named
                .iter()
                .enumerate()
                .filter(|(_, (_, id, desc, s))| *s == on_server && step(id, desc))
                .map(|(i, _)| i)
                .collect();
            if !hits.is_empty() {
                break;
            }
        }
        if !hits.is_empty() {
            break;
        }
    }
    let show = |(_, id, desc, on_server): &(cpal::Device, String, String, bool)| {
        let server = if *on_server { ", on the server" } else { "" };
        format!("'{id}' ({desc}{server})")
    };
    match hits.len() {
        1 => {
            let (device, _, _, on_server) = named.swap_remove(hits[0]);
            let mut chosen = Chosen::new(device, on_server);
            if !on_server {
                chosen.behind = server_behind(hosts, dir, &chosen.id, &chosen.desc);
            }
            Ok(chosen)
        }
        0 => Err(Error::Device(format!(
            "no {} device matches '{want}'; {} devices: {}",
            dir.noun(),
            dir.noun(),
            if named.is_empty() {
                "none".to_string()
            } else {
                named.iter().map(show).collect::<Vec<_>>().join(", ")
            }
        ))),
        _ => Err(Error::Device(format!(
            "{} device name '{want}' is ambiguous: it matches {}",
            dir.noun(),
            hits.iter()
                .map(|&i| show(&named[i]))
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

#[cfg(test)]
mod tests {
    use super::pulse_device_in;

    const SAVED: &str = "pcm.null {\n\ttype null\n}\npcm.test_mic {\n\ttype pulse\n\tdevice 'mic.monitor'\n\thint {\n\t\tshow on\n\t\tdescription 'test microphone'\n\t}\n}\npcm.test_spk {\n\ttype pulse\n\tdevice spk\n}\npcm.pulse {\n\ttype pulse\n\thint {\n\t\tdevice 'not this'\n\t}\n}\n";

    #[test]
    fn a_pulse_pcm_names_its_server_device() {
        assert_eq!(
            pulse_device_in(SAVED, "test_mic"),
            Some(Some("mic.monitor".into()))
        );
        assert_eq!(pulse_device_in(SAVED, "test_spk"), Some(Some("spk".into())));
        // No device of its own (a `device` nested deeper does not count): the server's default.
        assert_eq!(pulse_device_in(SAVED, "pulse"), Some(None));
        // Not the server's plugin, or not defined.
        assert_eq!(pulse_device_in(SAVED, "null"), None);
        assert_eq!(pulse_device_in(SAVED, "hw"), None);
        assert_eq!(pulse_device_in(SAVED, "test"), None);
    }
}
