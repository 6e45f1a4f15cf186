//! What is installed: finds model files under the models directory, validates each one
//! before any engine sees it, and resolves the model names clients send.

pub mod catalog;
pub mod convert;
pub mod ggml;
pub mod pull;

use std::path::{Path, PathBuf};

pub use ggml::{ModelFileError, VadModelInfo, WhisperModelInfo};

/// OpenAI's speech-to-text model names; each resolves to the default installed model.
pub const OPENAI_STT_MODELS: &[&str] = &[
    "whisper-1",
    "gpt-transcribe",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-03-20",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-4o-transcribe-diarize",
];

/// Directory levels searched below the models directory.
pub const MAX_SCAN_DEPTH: usize = 4;

/// A validated whisper.cpp model file.
#[derive(Debug, Clone)]
pub struct SttModelFile {
    /// The file stem, which is the model id clients use.
    pub id: String,
    pub path: PathBuf,
    pub info: WhisperModelInfo,
}

/// A validated Silero VAD model in whisper.cpp's format.
#[derive(Debug, Clone)]
pub struct VadModelFile {
    pub id: String,
    pub path: PathBuf,
    pub info: VadModelInfo,
}

/// Everything found by [`scan`], sorted by id.
#[derive(Debug, Default)]
pub struct Inventory {
    pub stt: Vec<SttModelFile>,
    pub vad: Vec<VadModelFile>,
    /// Files that looked like models but failed validation, with the reason.
    pub rejected: Vec<(PathBuf, String)>,
}

/// Finds and validates every `*.bin` under `dir`. A bad file is logged and skipped; it never
/// reaches whisper.cpp, which aborts the process on some malformed files.
pub fn scan(dir: &Path) -> Inventory {
    let files = files_with_extension(dir, "bin");

    let mut inventory = Inventory::default();
    for path in files {
        let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let taken =
            inventory.stt.iter().any(|m| m.id == id) || inventory.vad.iter().any(|m| m.id == id);
        if taken {
            let reason = format!("another model already has the id `{id}`");
            tracing::warn!(path = %path.display(), "skipping model file: {reason}");
            inventory.rejected.push((path, reason));
            continue;
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
    inventory.stt.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.vad.sort_by(|a, b| a.id.cmp(&b.id));
    inventory
}

/// Every regular file under `dir` (up to [`MAX_SCAN_DEPTH`] levels down) whose extension is
/// `extension`, sorted by path. Links to files are followed; links to directories are not, so
/// a link loop cannot trap the scan.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, extension: &str, depth: usize, out: &mut Vec<PathBuf>) {
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
                    walk(&path, extension, depth + 1, out);
                }
            } else if path.extension().is_some_and(|ext| ext == extension) && path.is_file() {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, extension, 0, &mut files);
    files.sort();
    files
}

/// Resolves the `model` a client sends to an installed speech-to-text model id.
#[derive(Debug, Clone, Default)]
pub struct SttModelNames {
    ids: Vec<String>,
    default_id: Option<String>,
}

impl SttModelNames {
    /// `preferred_default` must be installed to be used; otherwise the only model, else the
    /// first by name, is the default.
    pub fn new(ids: Vec<String>, preferred_default: Option<&str>) -> Self {
        let default_id = preferred_default
            .filter(|wanted| ids.iter().any(|id| id == wanted))
            .map(str::to_owned)
            .or_else(|| ids.first().cloned());
        Self { ids, default_id }
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn default_id(&self) -> Option<&str> {
        self.default_id.as_deref()
    }

    /// An installed id resolves to itself; an OpenAI name to the default; anything else to `None`.
    pub fn resolve(&self, requested: &str) -> Option<&str> {
        let requested = requested.trim();
        if let Some(id) = self.ids.iter().find(|id| *id == requested) {
            return Some(id);
        }
        if OPENAI_STT_MODELS.contains(&requested) {
            return self.default_id();
        }
        None
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    fn names(ids: &[&str], default: Option<&str>) -> SttModelNames {
        SttModelNames::new(ids.iter().map(|s| s.to_string()).collect(), default)
    }

    #[test]
    fn openai_names_resolve_to_the_default() {
        let names = names(&["base", "tiny"], Some("tiny"));
        assert_eq!(names.resolve("whisper-1"), Some("tiny"));
        assert_eq!(names.resolve("gpt-4o-mini-transcribe"), Some("tiny"));
        assert_eq!(names.resolve("base"), Some("base"));
        assert_eq!(names.resolve("large"), None);
        assert_eq!(names.resolve("../../etc/passwd"), None);
    }

    #[test]
    fn default_falls_back_to_first_by_name() {
        assert_eq!(names(&["a", "b"], None).default_id(), Some("a"));
        assert_eq!(names(&["a", "b"], Some("zzz")).default_id(), Some("a"));
        assert_eq!(names(&[], None).resolve("whisper-1"), None);
    }
}
