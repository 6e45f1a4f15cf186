//! Checkpoint directories served as whisper.cpp files: each is converted once into the
//! conversion cache and reused while its files keep their names, sizes and modification times.
//!
//! The cache is `--convert-cache` when set; otherwise `<models-dir>/.hearsay-cache`, or, when
//! the models directory cannot be written, `$XDG_CACHE_HOME/hearsay/converted`
//! (`~/.cache/hearsay/converted`). An entry is `NAME-HASH.bin`, the converted model, and
//! `NAME-HASH.key`, what it was converted from; `HASH` comes from the checkpoint's location, so
//! a changed checkpoint replaces its own entry. Every cache directory carries a `CACHEDIR.TAG`,
//! so neither the scan nor backup tools take the entries for models of their own.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::ggml::{self, WhisperModelInfo};
use super::sources::{CACHEDIR_TAG, SourceDir};
use super::{Inventory, SttModelFile, convert};

/// The cache's folder inside the models directory; hidden, so the scan passes it by.
pub const CACHE_DIR_NAME: &str = ".hearsay-cache";

/// Changes whenever the converter writes different bytes, so that old entries are redone.
const CONVERTER_REVISION: u32 = 1;

/// A key file larger than this is not one of ours.
const MAX_KEY_BYTES: u64 = 1 << 20;

const TAG_TEXT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
    # This file marks hearsay's cache of converted Whisper models; it can be deleted.\n";

/// Where converted models are looked up and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertCache {
    /// Looked up in this order; a conversion goes to the first that can be written.
    dirs: Vec<PathBuf>,
}

/// A cache entry in use.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub path: PathBuf,
    pub info: WhisperModelInfo,
    /// Whether the entry was already there (no conversion ran).
    pub reused: bool,
}

impl ConvertCache {
    /// `setting` (`--convert-cache`) alone when given; else the models directory's own cache,
    /// then the user's cache directory from the environment.
    pub fn new(setting: Option<&Path>, models_dir: &Path) -> Self {
        Self::with_env(setting, models_dir, |name| std::env::var_os(name))
    }

    /// [`ConvertCache::new`] with the environment read through `lookup`.
    pub fn with_env(
        setting: Option<&Path>,
        models_dir: &Path,
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Self {
        if let Some(dir) = setting {
            return Self {
                dirs: vec![dir.to_path_buf()],
            };
        }
        let mut dirs = vec![models_dir.join(CACHE_DIR_NAME)];
        let absolute = |name: &str| lookup(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let user_cache =
            absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|home| home.join(".cache")));
        if let Some(base) = user_cache {
            dirs.push(base.join("hearsay").join("converted"));
        }
        Self { dirs }
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The current entry for `source`, if one is there: nothing is written.
    pub fn lookup(&self, source: &SourceDir) -> Option<PathBuf> {
        let key = source_key(source).ok()?;
        self.dirs
            .iter()
            .map(|dir| Entry::new(dir, source))
            .find(|entry| entry.matches(&key))
            .map(|entry| entry.model)
    }

    /// The converted model for `source`: the cached one while the source is unchanged (and the
    /// file still validates), else a fresh conversion. The error is one line.
    pub fn prepare(&self, source: &SourceDir) -> Result<Prepared, String> {
        let key = source_key(source).map_err(|e| format!("cannot read the directory: {e}"))?;
        for dir in &self.dirs {
            let entry = Entry::new(dir, source);
            if entry.matches(&key)
                && let Ok(info) = ggml::validate_whisper_model(&entry.model)
            {
                return Ok(Prepared {
                    path: entry.model,
                    info,
                    reused: true,
                });
            }
        }
        let mut unwritable = Vec::new();
        for dir in &self.dirs {
            match make_cache_dir(dir) {
                Ok(()) => return Entry::new(dir, source).convert(source, &key),
                Err(error) => unwritable.push(format!("{}: {error}", dir.display())),
            }
        }
        Err(format!(
            "no conversion cache can be written ({}); set --convert-cache to a writable \
             directory",
            unwritable.join("; ")
        ))
    }
}

/// Converts (or reuses) every checkpoint directory in `inventory` and serves the result as a
/// speech-to-text model. A checkpoint that cannot be converted is one warning line and is
/// skipped. Blocking: run it off the async runtime.
pub fn serve_sources(inventory: &mut Inventory, cache: &ConvertCache) {
    for source in std::mem::take(&mut inventory.sources) {
        let started = Instant::now();
        if cache.lookup(&source).is_none() {
            tracing::info!(
                model = %source.id,
                source = %source.dir.display(),
                "converting a {} checkpoint to whisper.cpp's format (once; the result is cached)",
                source.format.name()
            );
        }
        // The converter reads untrusted files: a bug there skips the model, not the server.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cache.prepare(&source)))
                .unwrap_or_else(|_| Err("the converter failed unexpectedly".into()));
        match result {
            Ok(prepared) => {
                if !prepared.reused {
                    tracing::info!(
                        model = %source.id,
                        file = %prepared.path.display(),
                        seconds = started.elapsed().as_secs_f32(),
                        "converted"
                    );
                }
                inventory.stt.push(SttModelFile {
                    id: source.id,
                    path: prepared.path,
                    info: prepared.info,
                });
            }
            Err(reason) => {
                tracing::warn!(
                    model = %source.id,
                    path = %source.dir.display(),
                    "skipping model directory: cannot convert it: {reason}"
                );
                inventory.rejected.push((source.dir, reason));
            }
        }
    }
    inventory.stt.sort_by(|a, b| a.id.cmp(&b.id));
}

/// One source's files in one cache directory.
struct Entry {
    model: PathBuf,
    key: PathBuf,
}

impl Entry {
    fn new(dir: &Path, source: &SourceDir) -> Self {
        let stem = entry_stem(source);
        Self {
            model: dir.join(format!("{stem}.bin")),
            key: dir.join(format!("{stem}.key")),
        }
    }

    fn matches(&self, key: &str) -> bool {
        self.model.is_file() && read_small(&self.key).is_some_and(|stored| stored == key)
    }

    /// Converts into the entry: the old key goes first, so a stopped conversion never leaves a
    /// key vouching for another model; the model and then its key are renamed into place.
    fn convert(&self, source: &SourceDir, key: &str) -> Result<Prepared, String> {
        remove_if_present(&self.key)
            .map_err(|e| format!("cannot replace {}: {e}", self.key.display()))?;
        let converted = convert::convert(&source.dir, &self.model).map_err(|e| e.to_string())?;
        write_atomically(&self.key, key.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.key.display()))?;
        Ok(Prepared {
            path: self.model.clone(),
            info: converted.info,
            reused: false,
        })
    }
}

/// `Systran_faster-whisper-small-0123456789abcdef`: readable, and unique per source location.
fn entry_stem(source: &SourceDir) -> String {
    let home = std::fs::canonicalize(&source.home).unwrap_or_else(|_| source.home.clone());
    let digest = Sha256::digest(home.as_os_str().as_encoded_bytes());
    let mut stem: String = source
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    stem = stem.trim_start_matches('.').to_owned();
    stem.push('-');
    for byte in &digest[..8] {
        let _ = write!(stem, "{byte:02x}");
    }
    stem
}

/// What a conversion depends on: the converter's revision, the source's format and place,
/// and every file in it (name, size, modification time; links are followed, as hub caches
/// link into their blobs).
fn source_key(source: &SourceDir) -> std::io::Result<String> {
    let dir = std::fs::canonicalize(&source.dir)?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let modified = meta
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        files.push((name, meta.len(), modified));
    }
    files.sort();
    let mut key = format!(
        "hearsay conversion {CONVERTER_REVISION}\nformat {}\ndir {}\n",
        source.format.name(),
        dir.display()
    );
    for (name, size, modified) in files {
        let _ = writeln!(key, "file {name:?} {size} {modified}");
    }
    Ok(key)
}

/// Creates `dir` with its `CACHEDIR.TAG`, and checks that files can be created in it.
fn make_cache_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tag = dir.join(CACHEDIR_TAG);
    if !tag.is_file() {
        write_atomically(&tag, TAG_TEXT.as_bytes())?;
    }
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(name);
    let result = std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

fn read_small(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_KEY_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

#[cfg(test)]
#[path = "convert_cache_tests.rs"]
mod tests;
