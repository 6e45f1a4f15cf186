//! Which voice speaks: installed Piper voices, OpenAI's voice names mapped onto them, and
//! espeak-ng's own voice when nothing else is installed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{OPENAI_TTS_MODELS, OPENAI_VOICES};
use crate::models::VoiceFile;

/// The espeak-ng voice used when no Piper voice is installed.
pub const FALLBACK_ESPEAK_VOICE: &str = "en-us";

/// A voice a job will be spoken with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolvedVoice {
    /// An installed Piper voice, with a speaker for multi-speaker voices.
    Piper { id: String, speaker: Option<i64> },
    /// espeak-ng's built-in synthesizer speaking this espeak voice.
    Espeak { voice: String },
}

/// What the `model` of a speech request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechModel {
    /// One of OpenAI's model names: the voice comes from `voice` and the voice map.
    Default,
    /// An installed voice: OpenAI voice names speak with it, and `voice` may name its speaker.
    Voice(String),
}

impl SpeechModel {
    pub fn voice_id(&self) -> Option<&str> {
        match self {
            SpeechModel::Default => None,
            SpeechModel::Voice(id) => Some(id),
        }
    }
}

/// The installed voices and the names clients may use for them.
#[derive(Debug, Default)]
pub struct VoiceCatalog {
    piper: BTreeMap<String, Arc<VoiceFile>>,
    default_id: Option<String>,
    /// OpenAI voice name → `VOICE_ID` or `VOICE_ID:SPEAKER`.
    map: HashMap<String, String>,
    espeak_available: bool,
}

impl VoiceCatalog {
    /// `preferred_default` is used when installed, otherwise the first voice by id. Map entries
    /// whose target is not installed are logged and ignored (the default voice speaks instead).
    pub fn new(
        voices: Vec<VoiceFile>,
        preferred_default: Option<&str>,
        voice_map: &[(String, String)],
        espeak_available: bool,
    ) -> Self {
        let piper: BTreeMap<String, Arc<VoiceFile>> = voices
            .into_iter()
            .map(|voice| (voice.id.clone(), Arc::new(voice)))
            .collect();
        let default_id = preferred_default
            .filter(|id| piper.contains_key(*id))
            .map(str::to_owned)
            .or_else(|| piper.keys().next().cloned());
        let mut catalog = Self {
            piper,
            default_id,
            map: HashMap::new(),
            espeak_available,
        };
        for (name, target) in voice_map {
            let name = name.trim().to_ascii_lowercase();
            if catalog.installed_voice(target).is_some() {
                catalog.map.insert(name, target.trim().to_string());
            } else {
                tracing::warn!(voice = %name, %target, "voice map target is not installed; using the default voice");
            }
        }
        catalog
    }

    /// Installed Piper voice ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.piper.keys().cloned().collect()
    }

    pub fn voice(&self, id: &str) -> Option<&Arc<VoiceFile>> {
        self.piper.get(id)
    }

    pub fn default_id(&self) -> Option<&str> {
        self.default_id.as_deref()
    }

    /// Whether any voice can speak: a Piper voice, or espeak-ng's own.
    pub fn can_speak(&self) -> bool {
        !self.piper.is_empty() || self.espeak_available
    }

    /// What a `model` names, or `None` if it names nothing this server has.
    pub fn resolve_model(&self, model: &str) -> Option<SpeechModel> {
        let model = model.trim();
        if self.piper.contains_key(model) {
            return Some(SpeechModel::Voice(model.to_string()));
        }
        OPENAI_TTS_MODELS
            .contains(&model)
            .then_some(SpeechModel::Default)
    }

    /// The voice for `voice` (`VOICE_ID`, `VOICE_ID:SPEAKER`, an OpenAI name, or a speaker of
    /// the model's voice), or `None` if it names nothing installed.
    pub fn resolve_voice(&self, model_voice: Option<&str>, voice: &str) -> Option<ResolvedVoice> {
        let voice = voice.trim();
        if let Some(resolved) = self.installed_voice(voice) {
            return Some(resolved);
        }
        let lower = voice.to_ascii_lowercase();
        if OPENAI_VOICES.contains(&lower.as_str()) {
            if let Some(id) = model_voice {
                return self.installed_voice(id);
            }
            if let Some(target) = self.map.get(&lower) {
                return self.installed_voice(target);
            }
            return match &self.default_id {
                Some(id) => self.installed_voice(id),
                None => self.espeak_available.then(|| ResolvedVoice::Espeak {
                    voice: FALLBACK_ESPEAK_VOICE.to_string(),
                }),
            };
        }
        // A speaker name or number of the voice the model names.
        let id = model_voice?;
        let file = self.piper.get(id)?;
        let speaker = file.config.speaker_id(voice)?;
        Some(ResolvedVoice::Piper {
            id: id.to_string(),
            speaker: Some(speaker),
        })
    }

    /// `VOICE_ID` or `VOICE_ID:SPEAKER` of an installed voice.
    fn installed_voice(&self, spec: &str) -> Option<ResolvedVoice> {
        let spec = spec.trim();
        if let Some(file) = self.piper.get(spec) {
            return Some(ResolvedVoice::Piper {
                id: file.id.clone(),
                speaker: None,
            });
        }
        let (id, speaker) = spec.rsplit_once(':')?;
        let file = self.piper.get(id)?;
        let speaker = file.config.speaker_id(speaker)?;
        Some(ResolvedVoice::Piper {
            id: file.id.clone(),
            speaker: Some(speaker),
        })
    }
}
