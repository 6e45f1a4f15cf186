//! The walk over the models directory: every whisper.cpp file, Silero VAD file, Piper voice
//! and convertible checkpoint directory found there, each validated before anything else sees
//! it.

use std::path::{Path, PathBuf};

use super::sources::{self, DirKind, SourceDir};
use super::voice::{self, VoiceFile};
use super::{SttModelFile, VadModelFile, ggml};

/// Directory levels searched below the models directory.
pub const MAX_SCAN_DEPTH: usize = 4;

/// Everything found by [`scan`], each list sorted by id.
#[derive(Debug, Default)]
pub struct Inventory {
    pub stt: Vec<SttModelFile>,
    pub vad: Vec<VadModelFile>,
    pub voices: Vec<VoiceFile>,
    /// Checkpoint directories (faster-whisper, transformers) to serve once converted; see
    /// [`super::convert_cache`].
    pub sources: Vec<SourceDir>,
    /// Files and directories that looked like models but failed validation, with the reason.
    pub rejected: Vec<(PathBuf, String)>,
    /// `*.onnx` files that are not usable voices, with the reason; logged by whoever loads
    /// voices, since without ONNX Runtime none are loaded anyway.
    pub rejected_voices: Vec<(PathBuf, String)>,
}

/// Finds and validates every `*.bin` and every voice under `dir`, and finds the checkpoint
/// directories there. A bad `*.bin` file is logged and skipped; it never reaches whisper.cpp,
/// which aborts the process on some malformed files. Hidden directories and tagged caches
/// (hearsay's conversion cache, unfinished pulls) are not searched.
pub fn scan(dir: &Path) -> Inventory {
    let found = walk(dir);
    let mut inventory = Inventory {
        rejected: found.rejected,
        ..Inventory::default()
    };
    for path in found.bins {
        add_ggml_file(&mut inventory, path);
    }
    for source in found.sources {
        add_source(&mut inventory, source);
    }
    inventory.sources.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.stt.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.vad.sort_by(|a, b| a.id.cmp(&b.id));
    (inventory.voices, inventory.rejected_voices) = voice::check_voices(found.onnx);
    inventory
}

fn add_ggml_file(inventory: &mut Inventory, path: PathBuf) {
    let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
        return;
    };
    let taken =
        inventory.stt.iter().any(|m| m.id == id) || inventory.vad.iter().any(|m| m.id == id);
    if taken {
        let reason = format!("another model already has the id `{id}`");
        tracing::warn!(path = %path.display(), "skipping model file: {reason}");
        inventory.rejected.push((path, reason));
        return;
    }
    match ggml::validate_whisper_model(&path) {
        Ok(info) => inventory.stt.push(SttModelFile { id, path, info }),
        Err(whisper_error) => match ggml::validate_vad_model(&path) {
            Ok(info) => inventory.vad.push(VadModelFile { id, path, info }),
            Err(_) => {
                let reason = whisper_error.to_string();
                tracing::warn!(path = %path.display(), "skipping model file: {reason}");
                inventory.rejected.push((path, reason));
            }
        },
    }
}

/// A checkpoint directory is served under its id unless a model file has it already.
fn add_source(inventory: &mut Inventory, source: SourceDir) {
    let taken = inventory.stt.iter().any(|m| m.id == source.id)
        || inventory.vad.iter().any(|m| m.id == source.id)
        || inventory.sources.iter().any(|s| s.id == source.id);
    if taken {
        let reason = format!("another model already has the id `{}`", source.id);
        tracing::warn!(path = %source.dir.display(), "skipping model directory: {reason}");
        inventory.rejected.push((source.dir, reason));
    } else {
        inventory.sources.push(source);
    }
}

/// The candidates under the models directory, each list sorted by path.
#[derive(Debug, Default)]
struct Found {
    /// `*.bin`: whisper.cpp or VAD models.
    bins: Vec<PathBuf>,
    /// `*.onnx`: Piper voice models.
    onnx: Vec<PathBuf>,
    sources: Vec<SourceDir>,
    rejected: Vec<(PathBuf, String)>,
}

/// Every regular file up to [`MAX_SCAN_DEPTH`] levels below `dir`, and every checkpoint
/// directory (not searched further). Links to files and to checkpoint directories are
/// followed; other links to directories are not searched, so a link loop cannot trap the scan.
fn walk(dir: &Path) -> Found {
    let mut found = Found::default();
    match sources::classify_root(dir) {
        DirKind::Source(source) => found.sources.push(source),
        _ => walk_into(dir, 0, &mut found),
    }
    found.bins.sort();
    found.onnx.sort();
    found.sources.sort_by(|a, b| a.dir.cmp(&b.dir));
    found
}

fn walk_into(dir: &Path, depth: usize, found: &mut Found) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        // A link to a checkpoint directory is served; links are never searched.
        let linked_dir = file_type.is_symlink() && path.is_dir();
        if file_type.is_dir() || linked_dir {
            if depth < MAX_SCAN_DEPTH {
                match sources::classify(&path) {
                    DirKind::Source(source) => found.sources.push(source),
                    DirKind::Rejected(reason) => {
                        tracing::warn!(path = %path.display(), "skipping model directory: {reason}");
                        found.rejected.push((path, reason));
                    }
                    DirKind::Skip => {}
                    DirKind::Search if linked_dir => {}
                    DirKind::Search => walk_into(&path, depth + 1, found),
                }
            }
            continue;
        }
        let list = match path.extension().and_then(|ext| ext.to_str()) {
            Some("bin") => &mut found.bins,
            Some("onnx") => &mut found.onnx,
            _ => continue,
        };
        if path.is_file() {
            list.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::sources::tests::ct2_dir;

    fn ids(inventory: &Inventory) -> Vec<&str> {
        inventory.sources.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn checkpoint_directories_are_sources_and_their_files_are_not_models() {
        let root = tempfile::tempdir().unwrap();
        let models = root.path().join("models");
        ct2_dir(&models.join("tiny.en"));
        ct2_dir(&models.join("models--Systran--faster-whisper-base/snapshots/abc"));
        ct2_dir(&root.path().join("elsewhere/small"));
        std::os::unix::fs::symlink(root.path().join("elsewhere/small"), models.join("small"))
            .unwrap();
        // Hidden directories (unfinished pulls, the cache) and tagged caches are passed by.
        ct2_dir(&models.join(".hearsay-pull/x"));
        ct2_dir(&models.join("cache/y"));
        std::fs::write(
            models.join("cache").join(sources::CACHEDIR_TAG),
            b"Signature",
        )
        .unwrap();

        let inventory = scan(&models);

        assert_eq!(
            ids(&inventory),
            ["Systran/faster-whisper-base", "small", "tiny.en"]
        );
        assert!(inventory.rejected.is_empty(), "{:?}", inventory.rejected);
        assert!(inventory.stt.is_empty());
    }

    #[test]
    fn a_second_checkpoint_with_the_same_id_is_rejected() {
        let root = tempfile::tempdir().unwrap();
        ct2_dir(&root.path().join("a/tiny"));
        ct2_dir(&root.path().join("b/tiny"));

        let inventory = scan(root.path());

        assert_eq!(ids(&inventory), ["tiny"]);
        assert_eq!(inventory.sources[0].dir, root.path().join("a/tiny"));
        assert_eq!(inventory.rejected.len(), 1);
        assert!(
            inventory.rejected[0]
                .1
                .contains("already has the id `tiny`")
        );
    }
}
