//! What is installed: finds every model under the models directory (whisper.cpp models, VAD
//! models, Piper voices, faster-whisper and transformers checkpoints, which are served through
//! the conversion cache), validates each one before any engine sees it, and resolves the model
//! names clients send.

pub mod catalog;
pub mod convert;
pub mod convert_cache;
pub mod ggml;
pub mod listing;
pub mod pull;
mod scan;
pub mod sources;
pub mod voice;

use std::path::PathBuf;

pub use ggml::{ModelFileError, VadModelInfo, WhisperModelInfo};
pub use scan::{Inventory, MAX_SCAN_DEPTH, scan};
pub use sources::SourceDir;
pub use voice::{VoiceConfig, VoiceFile};

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

/// A validated whisper.cpp model file.
#[derive(Debug, Clone)]
pub struct SttModelFile {
    /// The model id clients use: the file stem, or for a converted directory its name or
    /// Hugging Face repository id.
    pub id: String,
    /// The file whisper.cpp loads (for a converted directory, its entry in the cache).
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
