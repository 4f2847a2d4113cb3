//! Audio that is not WAV: FLAC, MP3, Ogg (Vorbis, FLAC), AIFF/AIFC, CAF, ALAC and AAC in
//! MP4/M4A, ADTS AAC, decoded by symphonia into the same planar blocks the WAV reader gives
//! (integer PCM as `x / 2^(bits - 1)`, so a FLAC decodes to exactly the floats of the WAV it
//! was made from).
//!
//! Gapless: the encoder's delay and padding are removed (MP3's LAME tag, Ogg granule positions,
//! MP4 edit lists), so the frame count is the container's stated duration (ffprobe's
//! `duration_ts`). symphonia's AAC decoder does not trim itself; the demuxer's trims are
//! applied here, and MP4 edit lists, which symphonia does not read, by [`mp4_edit_list`].
//!
//! The format is chosen by content ([`sniff`]), never by the file name.

use std::io;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known as codec_ids;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::conv::Sample;
use crate::io::SampleFormat;

/// What the first bytes of a file say it is, among the formats decoded here.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"fLaC") {
        Some("FLAC")
    } else if head.starts_with(b"OggS") {
        Some("Ogg")
    } else if head.starts_with(b"ID3") {
        Some("MP3")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        Some("MP4/M4A")
    } else if head.len() >= 12 && head.starts_with(b"FORM") && &head[8..12] == b"AIFF" {
        Some("AIFF")
    } else if head.len() >= 12 && head.starts_with(b"FORM") && &head[8..12] == b"AIFC" {
        Some("AIFF-C")
    } else if head.starts_with(b"caff") {
        Some("CAF")
    } else if head.len() >= 4
        && head[0] == 0xFF
        && head[1] & 0xF6 == 0xF0
        && (head[2] >> 2) & 0xF < 13
    {
        // 12 sync bits, layer 00, a valid sampling index: ADTS (AAC).
        Some("AAC (ADTS)")
    } else if head.len() >= 4
        && head[0] == 0xFF
        && head[1] & 0xE0 == 0xE0
        && (head[1] >> 3) & 3 != 1
        && (head[1] >> 1) & 3 != 0
        && !matches!(head[2] >> 4, 0 | 15)
        && (head[2] >> 2) & 3 != 3
    {
        // An MPEG audio frame header (MP3 without a tag): 11 sync bits, a version, a layer, a
        // bitrate and a sample rate that exist (two bytes of sync alone are too weak a sign).
        Some("MP3")
    } else {
        None
    }
}

/// A decoder's panic on a crafted file is caught where it is called (it becomes one error line,
/// "damaged data"); this keeps the default hook from printing it first. Other panics print as
/// before.
pub fn quiet_decoder_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .location()
            .is_some_and(|l| l.file().contains("symphonia"))
        {
            return;
        }
        default(info);
    }));
}

/// What [`guarded`] reports for a panic inside symphonia.
const GAVE_UP: &str = "the decoder gave up on it";

/// Runs a call into symphonia, turning a panic (a crafted file that trips one of its checks)
/// into an error.
fn guarded<R>(f: impl FnOnce() -> Result<R, SymError>) -> Result<R, SymError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or(Err(SymError::DecodeError(GAVE_UP)))
}

/// A decoding stream: container, decoder, and the decoded frames not yet handed on.
pub struct Media {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track: u32,
    /// What the file is, for messages (`FLAC`, `MP3`, ...).
    pub what: &'static str,
    pub rate: u32,
    pub channels: usize,
    /// Frames the container promises, when it says (FLAC, MP4, AIFF, CAF).
    pub frames: Option<u64>,
    /// The encoding a WAV written from it keeps by default: the lossless source's integer
    /// depth, 32-bit float for a lossy one (its decoded samples are not on an integer grid).
    pub depth: SampleFormat,
    /// Whether the decoder trims the demuxer's delay and padding itself.
    trims: bool,
    /// Frames still to drop at the start, and the frames to keep in all (an MP4 edit list).
    skip: u64,
    keep: Option<u64>,
    pending: Vec<Vec<f64>>,
    at: usize,
    /// Frames decoded so far (after trimming).
    decoded: u64,
    damaged: usize,
    deferred: Option<String>,
    done: bool,
}

/// Human name of a codec that symphonia knows but has no decoder for here.
fn codec_name(params: &AudioCodecParameters) -> String {
    if params.codec == codec_ids::CODEC_ID_OPUS {
        "Opus".into()
    } else {
        format!("{:?}", params.codec)
    }
}

impl Media {
    /// Probes `source` (seekable when it is a file: MP4's index may sit at the end) and opens
    /// its first audio track. `what` is [`sniff`]'s answer, for messages; `edit` an MP4 edit
    /// list's (frames to skip, frames to keep), from [`mp4_edit_list`].
    ///
    /// # Errors
    /// One line saying what the file is and what is wrong with it.
    pub fn open(
        source: Box<dyn MediaSource>,
        what: &'static str,
        edit: Option<(u64, Option<u64>)>,
    ) -> Result<Media, String> {
        let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
        let reader = guarded(|| {
            symphonia::default::get_probe().probe(
                &Hint::new(),
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
        })
        .map_err(|e| format!("looks like {what} but cannot be read: {}", describe(&e)))?;
        let Some(track) = reader
            .default_track(TrackType::Audio)
            .or_else(|| reader.first_track(TrackType::Audio))
        else {
            return Err(format!("is {what} with no audio track"));
        };
        let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
            return Err(format!("is {what} with no audio track"));
        };
        let id = track.id;
        // An edit list only where the reader did not already account for the delay.
        let (skip, keep) = match edit {
            Some((skip, keep)) if track.delay.is_none() => (skip, keep),
            _ => (0, None),
        };
        let frames = keep.or(track.num_frames.map(|n| n.saturating_sub(skip)));
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|_| {
                format!(
                    "is {what} with a codec convoy does not decode ({}); convert it (e.g. ffmpeg -i IN out.wav)",
                    codec_name(&params)
                )
            })?;
        let rate = params
            .sample_rate
            .ok_or_else(|| format!("is {what} with no sample rate"))?;
        let channels = params
            .channels
            .as_ref()
            .map(symphonia::core::audio::Channels::count)
            .ok_or_else(|| format!("is {what} with no channel layout"))?;
        if rate == 0 || channels == 0 {
            return Err(format!("is {what} with {channels} channel(s) at {rate} Hz"));
        }
        // symphonia's AAC decoder is the one that leaves the priming and padding in.
        let trims = params.codec != codec_ids::CODEC_ID_AAC;
        let lossy = [
            codec_ids::CODEC_ID_AAC,
            codec_ids::CODEC_ID_MP1,
            codec_ids::CODEC_ID_MP2,
            codec_ids::CODEC_ID_MP3,
            codec_ids::CODEC_ID_VORBIS,
        ]
        .contains(&params.codec);
        let depth = if lossy {
            SampleFormat::F32
        } else {
            use symphonia::core::audio::sample::SampleFormat as Sf;
            // The container may not say (MP4's ALAC); the decoder, having read its setup, does.
            let own = decoder.codec_params();
            let bits = params
                .bits_per_sample
                .or(own.bits_per_sample)
                .or_else(|| alac_bits(&params));
            match (bits, params.sample_format.or(own.sample_format)) {
                (_, Some(Sf::F32 | Sf::F64)) => SampleFormat::F32,
                (Some(8), _) | (None, Some(Sf::U8 | Sf::S8)) => SampleFormat::U8,
                (Some(16), _) | (None, Some(Sf::S16)) => SampleFormat::S16,
                (Some(24), _) | (None, Some(Sf::S24)) => SampleFormat::S24,
                (Some(32), _) | (None, Some(Sf::S32)) => SampleFormat::S32,
                _ => SampleFormat::F32,
            }
        };
        Ok(Media {
            reader,
            decoder,
            track: id,
            what,
            rate,
            channels,
            frames,
            depth,
            trims,
            skip,
            keep,
            pending: vec![Vec::new(); channels],
            at: 0,
            decoded: 0,
            damaged: 0,
            deferred: None,
            done: false,
        })
    }

    /// Decodes the next packet into `pending`; false at the end of the stream.
    fn decode_next(&mut self) -> Result<bool, String> {
        loop {
            if self.keep.is_some_and(|k| self.decoded >= k) {
                return Ok(false);
            }
            let packet = match guarded(|| self.reader.next_packet()) {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(false),
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(false);
                }
                Err(SymError::ResetRequired) => {
                    return Err(format!(
                        "{} stream changes its format midway (a chained stream); convoy reads one format per file",
                        self.what
                    ));
                }
                Err(e) => return Err(describe(&e)),
            };
            if packet.track_id != self.track {
                continue;
            }
            // A panic leaves the decoder in no known state: the stream ends there (an error).
            let decoder = &mut self.decoder;
            let pending = &mut self.pending;
            let decoded = guarded(|| {
                decoder.decode(&packet).map(|d| {
                    let planes = d.num_planes();
                    if planes == pending.len() {
                        d.copy_to_vecs_planar::<f64>(pending);
                    }
                    planes
                })
            });
            let planes = match decoded {
                Ok(p) => p,
                Err(SymError::DecodeError(m)) if m == GAVE_UP => {
                    return Err(describe(&SymError::DecodeError(GAVE_UP)));
                }
                // A damaged packet: skipped, as ffmpeg does, and said at the end.
                Err(SymError::DecodeError(_)) => {
                    self.damaged += 1;
                    continue;
                }
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok(false);
                }
                Err(e) => return Err(describe(&e)),
            };
            if planes != self.channels {
                return Err(format!(
                    "{} stream changes from {} to {} channel(s) midway",
                    self.what, self.channels, planes
                ));
            }
            self.at = 0;
            // One cut of the decoded frames: the packet's own trims where the decoder left
            // them in, then what the edit list still skips, up to what it keeps.
            let n = self.pending[0].len() as u64;
            let (mut head, mut tail) = (0, 0);
            if !self.trims {
                head = packet.trim_start.get().min(n);
                tail = packet.trim_end.get().min(n - head);
            }
            let skip = self.skip.min(n - head - tail);
            self.skip -= skip;
            head += skip;
            let room = self
                .keep
                .map_or(u64::MAX, |k| k.saturating_sub(self.decoded));
            let take = (n - head - tail).min(room);
            for p in &mut self.pending {
                p.truncate((head + take) as usize);
                p.drain(..head as usize);
            }
            self.decoded += take;
            if !self.pending[0].is_empty() {
                return Ok(true);
            }
        }
    }

    /// Moves up to `frames` frames into `out` (one vector per channel, appended to); 0 at the
    /// end of the stream.
    ///
    /// # Errors
    /// An unreadable stream, or one that ends before the frames its header promises: reported
    /// on the call after every complete frame has been handed on.
    pub fn read<T: Sample>(&mut self, frames: usize, out: &mut [Vec<T>]) -> Result<usize, String> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let mut got = 0;
        while got < frames && !self.done {
            if self.at == self.pending[0].len() {
                let more = self.decode_next().and_then(|more| {
                    if more {
                        Ok(true)
                    } else {
                        self.finish().map(|()| false)
                    }
                });
                match more {
                    Ok(true) => {}
                    Ok(false) => {
                        self.done = true;
                        break;
                    }
                    Err(e) => {
                        self.done = true;
                        if got == 0 {
                            return Err(e);
                        }
                        self.deferred = Some(e);
                        break;
                    }
                }
            }
            let k = (self.pending[0].len() - self.at).min(frames - got);
            for (o, p) in out.iter_mut().zip(&self.pending) {
                o.extend(p[self.at..self.at + k].iter().map(|&v| T::of_f64(v)));
            }
            self.at += k;
            got += k;
        }
        Ok(got)
    }

    /// At the end: a stream shorter than its header says is an error; damaged packets a note.
    fn finish(&mut self) -> Result<(), String> {
        if self.damaged > 0 {
            eprintln!(
                "convoy: warning: {} damaged packet(s) skipped in the {} stream (a gap in the output)",
                self.damaged, self.what
            );
        }
        match self.frames {
            Some(total) if self.decoded < total => Err(format!(
                "truncated {}: the header promises {total} frames but the data ends after {}",
                self.what, self.decoded
            )),
            _ => Ok(()),
        }
    }
}

/// An ALAC track's bit depth, from its magic cookie (ALACSpecificConfig, possibly behind
/// `frma` and `alac` atom headers), which MP4 carries instead of a sample size.
fn alac_bits(params: &AudioCodecParameters) -> Option<u32> {
    if params.codec != codec_ids::CODEC_ID_ALAC {
        return None;
    }
    let mut c: &[u8] = params.extra_data.as_deref()?;
    for atom in [b"frma", b"alac"] {
        if c.len() >= 12 && &c[4..8] == atom {
            c = &c[12..];
        }
    }
    // frameLength (4 bytes), compatibleVersion (1), bitDepth (1).
    c.get(5)
        .map(|&b| u32::from(b))
        .filter(|b| [16, 20, 24, 32].contains(b))
}

/// One line for a symphonia error.
fn describe(e: &SymError) -> String {
    match e {
        SymError::IoError(e) => crate::error::describe_io(e),
        SymError::DecodeError(m) => format!("damaged data ({m})"),
        SymError::Unsupported(m) => {
            format!("uses a feature convoy's decoder does not support ({m})")
        }
        SymError::LimitError(m) => format!("exceeds a decoder limit ({m})"),
        SymError::SeekError(_) => "cannot seek in it".into(),
        SymError::ResetRequired => "changes its format midway".into(),
        other => other.to_string(),
    }
}

/// An MP4 audio track's edit list: frames to drop at the start (the encoder's priming) and
/// frames to keep after that, as ffmpeg applies it. symphonia's MP4 reader does not read edit
/// lists, and AAC's 1024 (or 2112) frames of priming would otherwise shift the whole signal.
/// `None` when the file has no usable edit list (then nothing is trimmed).
pub fn mp4_edit_list(path: &std::path::Path) -> Option<(u64, Option<u64>)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    // The top-level boxes, for `moov` (at the start or the end of the file).
    let mut at = 0u64;
    let moov = loop {
        if at + 8 > len {
            return None;
        }
        f.seek(SeekFrom::Start(at)).ok()?;
        let mut h = [0u8; 16];
        f.read_exact(&mut h[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        let mut head = 8;
        if size == 1 {
            f.read_exact(&mut h[8..16]).ok()?;
            size = u64::from_be_bytes(h[8..16].try_into().ok()?);
            head = 16;
        } else if size == 0 {
            size = len - at;
        }
        if size < head {
            return None;
        }
        if &h[4..8] == b"moov" {
            // The index of an audio file is small; a huge one is not worth reading for this.
            let body = usize::try_from(size - head)
                .ok()
                .filter(|&n| n <= 64 << 20)?;
            let mut buf = vec![0u8; body];
            f.read_exact(&mut buf).ok()?;
            break buf;
        }
        at = at.checked_add(size)?;
    };
    let movie_scale = child(&moov, b"mvhd").and_then(timescale)?;
    let mut traks = children(&moov, b"trak");
    traks.find_map(|trak| {
        let mdia = child(trak, b"mdia")?;
        let hdlr = child(mdia, b"hdlr")?;
        if hdlr.get(8..12)? != b"soun" {
            return None;
        }
        let media_scale = child(mdia, b"mdhd").and_then(timescale)?;
        let elst = child(child(trak, b"edts")?, b"elst")?;
        let version = *elst.first()?;
        let count = u32::from_be_bytes(elst.get(4..8)?.try_into().ok()?);
        let entry = if version == 1 { 20 } else { 12 };
        // The first edit that plays media (an empty edit, media_time -1, is a pause).
        (0..count as usize).find_map(|i| {
            let e = elst.get(8 + i * entry..8 + (i + 1) * entry)?;
            let (dur, time) = if version == 1 {
                (
                    u64::from_be_bytes(e[0..8].try_into().ok()?),
                    i64::from_be_bytes(e[8..16].try_into().ok()?),
                )
            } else {
                (
                    u64::from(u32::from_be_bytes(e[0..4].try_into().ok()?)),
                    i64::from(i32::from_be_bytes(e[4..8].try_into().ok()?)),
                )
            };
            let skip = u64::try_from(time).ok()?;
            // The edit's duration is in the movie's timescale; frames are the media's.
            let keep = (dur > 0).then(|| {
                (u128::from(dur) * u128::from(media_scale) / u128::from(movie_scale)) as u64
            });
            Some((skip, keep))
        })
    })
}

/// The timescale of an `mvhd` or `mdhd` box's body.
fn timescale(body: &[u8]) -> Option<u64> {
    let at = if *body.first()? == 1 { 20 } else { 12 };
    let t = u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?);
    (t > 0).then_some(u64::from(t))
}

/// The bodies of the boxes named `name` directly inside `parent`.
fn children<'a>(parent: &'a [u8], name: &'a [u8; 4]) -> impl Iterator<Item = &'a [u8]> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        while at + 8 <= parent.len() {
            let size = u32::from_be_bytes(parent[at..at + 4].try_into().ok()?) as usize;
            let (head, size) = match size {
                0 => (8, parent.len() - at),
                1 => (
                    16,
                    usize::try_from(u64::from_be_bytes(
                        parent.get(at + 8..at + 16)?.try_into().ok()?,
                    ))
                    .ok()?,
                ),
                n => (8, n),
            };
            if size < head || at + size > parent.len() {
                return None;
            }
            let this = &parent[at..at + size];
            at += size;
            if &this[4..8] == name {
                return Some(&this[head..]);
            }
        }
        None
    })
}

fn child<'a>(parent: &'a [u8], name: &'a [u8; 4]) -> Option<&'a [u8]> {
    children(parent, name).next()
}
