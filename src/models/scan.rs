//! The walk over the models directory: every whisper.cpp file, Silero VAD file and Piper voice
//! found there, each validated before anything else sees it.

use std::path::{Path, PathBuf};

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
    /// `*.bin` files that looked like models but failed validation, with the reason.
    pub rejected: Vec<(PathBuf, String)>,
    /// `*.onnx` files that are not usable voices, with the reason; logged by whoever loads
    /// voices, since without ONNX Runtime none are loaded anyway.
    pub rejected_voices: Vec<(PathBuf, String)>,
}

/// Finds and validates every `*.bin` and every voice under `dir`. A bad `*.bin` file is logged
/// and skipped; it never reaches whisper.cpp, which aborts the process on some malformed files.
pub fn scan(dir: &Path) -> Inventory {
    let found = walk(dir);
    let mut inventory = Inventory::default();
    for path in found.bins {
        add_ggml_file(&mut inventory, path);
    }
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

/// The candidate files under the models directory, each list sorted by path.
#[derive(Debug, Default)]
struct Found {
    /// `*.bin`: whisper.cpp or VAD models.
    bins: Vec<PathBuf>,
    /// `*.onnx`: Piper voice models.
    onnx: Vec<PathBuf>,
}

/// Every regular file up to [`MAX_SCAN_DEPTH`] levels below `dir`. Links to files are
/// followed; links to directories are not, so a link loop cannot trap the scan.
fn walk(dir: &Path) -> Found {
    let mut found = Found::default();
    walk_into(dir, 0, &mut found);
    found.bins.sort();
    found.onnx.sort();
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
        if file_type.is_dir() {
            if depth < MAX_SCAN_DEPTH {
                walk_into(&path, depth + 1, found);
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
