//! Many inputs for one chain: which files a batch run takes (a glob, a folder, a list of
//! paths), where each one's output goes (the same relative path under the output folder), and
//! which of them this machine does (`--shard K/N`).
//!
//! Setup only (main thread). Nothing here reads audio: an input that turns out to be
//! unreadable is an item like any other, and fails when its run opens it.
//!
//! ```
//! use std::path::Path;
//! use convoy::engine::corpus::{self, Shard};
//!
//! # fn main() -> convoy::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! for f in ["a.wav", "sub/b.flac", "notes.txt", ".hidden.wav"] {
//!     let p = dir.path().join(f);
//!     std::fs::create_dir_all(p.parent().unwrap()).unwrap();
//!     std::fs::write(p, b"").unwrap();
//! }
//! let out = dir.path().join("out");
//! let items = corpus::list(dir.path().to_str().unwrap(), &out)?;
//! let rel: Vec<_> = items.iter().map(|i| i.rel.to_str().unwrap()).collect();
//! assert_eq!(rel, ["a.wav", "sub/b.flac"]); // audio files, not hidden, sorted
//! let all: usize = (0..3).map(|k| Shard { index: k, count: 3 }.take(&items).len()).sum();
//! assert_eq!(all, 2); // every file in exactly one of the shards
//! assert_eq!(corpus::output_for(&out, &items[1], None).unwrap(), out.join("sub/b.flac"));
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::WireFormat;

/// The extensions a folder's walk takes (what convoy decodes, and Opus, which it names when it
/// refuses it): anything else in a folder (notes, pictures) is left alone. A glob or a list
/// takes exactly what it names.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "w64", "flac", "mp3", "ogg", "oga", "opus", "aif", "aiff", "aifc", "caf", "m4a",
    "mp4", "m4b",
];

/// The most lines a `@list` file may have (and the most files a run takes): 10 million.
const MAX_ITEMS: usize = 10_000_000;

/// One input of a batch run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The file, as it can be opened.
    pub input: PathBuf,
    /// Its path under the base (a glob's fixed prefix, the folder, or a list's common
    /// folder): where its output goes under the output folder, and what `--shard` hashes.
    pub rel: PathBuf,
}

/// Whether `-i ARG` names many inputs: a glob (`*`, `?` or `[`), `@LIST`, or a folder.
pub fn is_many(arg: &str) -> bool {
    arg.starts_with('@') || has_glob(arg) || Path::new(arg).is_dir()
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The inputs `arg` names, sorted by their relative path. Files under `out_dir` are left out
/// (an output folder inside the input folder is not input).
///
/// # Errors
/// A bad glob, an unreadable list or folder, or a list with too many lines.
pub fn list(arg: &str, out_dir: &Path) -> Result<Vec<Item>> {
    let bad = |msg: String| Error::input(arg, msg);
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // The output folder is left out when it sits inside the inputs' folder; when it is that
    // folder, every output is checked against its input instead.
    let base = if arg.starts_with('@') {
        None
    } else if has_glob(arg) {
        Some(glob_base(arg))
    } else {
        Some(PathBuf::from(arg))
    };
    let out_abs = abs(out_dir);
    let skip = base.filter(|b| abs(b) != out_abs).map(|_| out_abs.clone());
    let inside_out = |p: &Path| skip.as_ref().is_some_and(|o| abs(p).starts_with(o));
    let mut items = if let Some(list) = arg.strip_prefix('@') {
        from_list(Path::new(list))?
    } else if has_glob(arg) {
        let base = glob_base(arg);
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let paths = glob::glob_with(arg, options).map_err(|e| bad(format!("bad pattern: {e}")))?;
        let mut items = Vec::new();
        for p in paths {
            // An unreadable folder is an item that will fail (and be reported), not a stop.
            let p = p.unwrap_or_else(|e| e.path().to_path_buf());
            if p.is_dir() {
                continue;
            }
            let rel = p.strip_prefix(&base).unwrap_or(&p).to_path_buf();
            items.push(Item { input: p, rel });
            if items.len() > MAX_ITEMS {
                return Err(bad(format!("matches more than {MAX_ITEMS} files")));
            }
        }
        items
    } else {
        let mut items = Vec::new();
        walk(Path::new(arg), Path::new(""), skip.as_deref(), &mut items)?;
        items
    };
    items.retain(|i| !inside_out(&i.input));
    items.sort_by(|a, b| a.rel.cmp(&b.rel));
    items.dedup_by(|a, b| a.input == b.input);
    Ok(items)
}

/// A glob's leading components without a wildcard (`rec/2024/**/*.wav` -> `rec/2024`).
fn glob_base(pattern: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for c in Path::new(pattern).components() {
        if has_glob(&c.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(c);
    }
    // The last literal component is a file's name when the pattern has no wildcard after it.
    if base == Path::new(pattern) {
        base.pop();
    }
    base
}

/// A folder's audio files, depth first; hidden entries and the output folder skipped, links to
/// folders not followed (no cycles).
fn walk(dir: &Path, rel: &Path, skip: Option<&Path>, items: &mut Vec<Item>) -> Result<()> {
    if skip.is_some_and(|o| std::path::absolute(dir).is_ok_and(|a| a == o)) {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(dir, &e))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let here = rel.join(&name);
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            walk(&path, &here, skip, items)?;
        } else if AUDIO_EXTENSIONS.contains(&crate::io::extension(&path).as_str()) && !path.is_dir()
        {
            items.push(Item {
                input: path,
                rel: here,
            });
            if items.len() > MAX_ITEMS {
                return Err(Error::input(
                    dir.display().to_string(),
                    format!("holds more than {MAX_ITEMS} audio files"),
                ));
            }
        }
    }
    Ok(())
}

/// `@LIST`: one path per line (blank lines and `#` comments skipped). Relative paths without
/// `..` keep their path as written (like `rsync --files-from`); otherwise every entry is placed
/// relative to the list's common folder.
fn from_list(list: &Path) -> Result<Vec<Item>> {
    let file = std::fs::File::open(list).map_err(|e| Error::read(list, &e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::input(
            list.display().to_string(),
            "is a folder, not a list of files",
        ));
    }
    let text = crate::io::read_text(&list.display().to_string(), file, 1 << 30)?;
    let paths: Vec<PathBuf> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        .collect();
    if paths.len() > MAX_ITEMS {
        return Err(Error::input(
            list.display().to_string(),
            format!("lists more than {MAX_ITEMS} files"),
        ));
    }
    let plain = |p: &Path| p.components().all(|c| matches!(c, Component::Normal(_)));
    if paths.iter().all(|p| plain(p)) {
        return Ok(paths
            .into_iter()
            .map(|p| Item {
                rel: p.clone(),
                input: p,
            })
            .collect());
    }
    let absolute: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .map(|p| lexical(&p))
        .collect();
    let mut common = absolute
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    for p in &absolute {
        while !p.starts_with(&common) {
            if !common.pop() {
                break;
            }
        }
    }
    Ok(paths
        .into_iter()
        .zip(absolute)
        .map(|(input, abs)| Item {
            rel: abs.strip_prefix(&common).unwrap_or(&abs).to_path_buf(),
            input,
        })
        .collect())
}

/// `a/b/../c` -> `a/c`, `a/./b` -> `a/b`, without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// `--shard K/N`: this machine's share of the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 0 to N-1.
    pub index: u64,
    /// N.
    pub count: u64,
}

impl Shard {
    /// Parses `K/N` (0 <= K < N).
    ///
    /// # Errors
    /// Not two whole numbers with K below N.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::input(
                "--shard",
                format!("'{text}': expected K/N with 0 <= K < N, e.g. 0/4 (shards count from 0)"),
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether `item` is in this shard: a stable hash (64-bit FNV-1a) of its relative path
    /// with `/` separators, so every machine agrees without talking to the others.
    pub fn holds(&self, item: &Item) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let parts: Vec<String> = item
            .rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        for b in parts.join("/").bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h % self.count == self.index
    }

    /// The items of this shard, in order.
    pub fn take(&self, items: &[Item]) -> Vec<Item> {
        items.iter().filter(|i| self.holds(i)).cloned().collect()
    }
}

/// Where `item`'s output goes under `out_dir`: its relative path, with the extension of
/// `format` when given; else its own extension when convoy writes that format (WAV, FLAC,
/// text, raw), and `.wav` for what it only reads (MP3, Ogg, AIFF, M4A...).
///
/// # Errors
/// The relative path would leave the output folder.
pub fn output_for(out_dir: &Path, item: &Item, format: Option<WireFormat>) -> Result<PathBuf> {
    if !item
        .rel
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(Error::input(
            item.input.display().to_string(),
            "its output would land outside the output folder",
        ));
    }
    let own = crate::io::extension(&item.rel);
    let ext = match format {
        Some(WireFormat::Wav) => "wav",
        Some(WireFormat::Flac) => "flac",
        Some(WireFormat::Text) if own == "csv" => "csv",
        Some(WireFormat::Text) => "txt",
        Some(WireFormat::F32le) => "f32",
        Some(WireFormat::S16le) => "s16",
        None => match own.as_str() {
            "wav" | "wave" | "flac" | "txt" | "csv" | "f32" | "s16" | "raw" | "pcm" => {
                return Ok(out_dir.join(&item.rel));
            }
            _ => "wav",
        },
    };
    Ok(out_dir.join(&item.rel).with_extension(ext))
}

/// Refuses two inputs that would be written to the same output (`a.mp3` and `a.ogg` both to
/// `a.wav`).
///
/// # Errors
/// The first two such inputs, named.
pub fn check_distinct(items: &[Item], outputs: &[PathBuf]) -> Result<()> {
    let mut seen: HashMap<&Path, &Item> = HashMap::new();
    for (item, out) in items.iter().zip(outputs) {
        if let Some(first) = seen.insert(out, item) {
            return Err(Error::Usage(format!(
                "{} and {} would both be written to {}; give --out-format or run them apart",
                first.input.display(),
                item.input.display(),
                out.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_base_is_its_literal_prefix() {
        assert_eq!(glob_base("rec/2024/**/*.wav"), PathBuf::from("rec/2024"));
        assert_eq!(glob_base("*.wav"), PathBuf::new());
        assert_eq!(glob_base("/data/a?/x.wav"), PathBuf::from("/data"));
    }

    #[test]
    fn shards_are_parsed_strictly() {
        assert_eq!(Shard::parse("3/8").ok(), Some(Shard { index: 3, count: 8 }));
        for bad in ["8/8", "1/0", "x/2", "2", "-1/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_stable() {
        // The same file lands in the same shard on every machine and every release: pinned.
        let item = Item {
            input: "x".into(),
            rel: "day1/take 3.wav".into(),
        };
        let which: Vec<u64> = (0..5)
            .filter(|&k| Shard { index: k, count: 5 }.holds(&item))
            .collect();
        assert_eq!(which.len(), 1);
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in b"day1/take 3.wav" {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(which[0], h % 5);
    }

    #[test]
    fn outputs_keep_what_convoy_writes_and_wav_the_rest() {
        let out = Path::new("o");
        let it = |r: &str| Item {
            input: r.into(),
            rel: r.into(),
        };
        let f = |r: &str, w| output_for(out, &it(r), w).unwrap();
        assert_eq!(f("a/b.flac", None), PathBuf::from("o/a/b.flac"));
        assert_eq!(f("a/b.mp3", None), PathBuf::from("o/a/b.wav"));
        assert_eq!(
            f("b.wav", Some(WireFormat::Flac)),
            PathBuf::from("o/b.flac")
        );
        assert!(output_for(out, &it("../x.wav"), None).is_err());
    }
}
