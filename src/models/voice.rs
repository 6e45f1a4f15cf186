//! Piper voices on disk: the `NAME.onnx.json` config beside each `NAME.onnx` model, validated
//! before a voice is listed or loaded, and its speaker names.
//!
//! Pure Rust: nothing here touches ONNX Runtime (that is `crate::tts::onnx`). The config fields
//! and defaults follow `PiperConfig.from_dict` in piper-tts 1.8.0 (`piper/config.py`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

/// Largest config read. Real configs are 5–50 KB (a 900-speaker map included); anything
/// bigger is not a Piper config and is not read into memory.
pub const MAX_CONFIG_BYTES: u64 = 10 * 1024 * 1024;

/// Sample rates accepted in a config (Piper voices use 16000 and 22050 Hz).
const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;

/// The symbols every Piper phoneme id sequence is built from: `^ _ … $`.
pub const BOS: &str = "^";
pub const PAD: &str = "_";
pub const EOS: &str = "$";

/// How a voice turns text into phonemes (`phoneme_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhonemeType {
    /// espeak-ng IPA phonemes (nearly every voice).
    #[default]
    Espeak,
    /// The text's own NFD codepoints.
    Text,
    /// zh-CN through g2pW (piper's Python stack only).
    Pinyin,
    /// he-IL through Nakdimon (piper's Python stack only).
    Hebrew,
    /// ja-JP through OpenJTalk (piper's Python stack only).
    Japanese,
    /// th-TH through TLTK (piper's Python stack only).
    Thai,
}

/// `audio` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AudioConfig {
    pub sample_rate: u32,
    /// "x_low", "low", "medium" or "high"; informational (piper does not read it).
    #[serde(default, deserialize_with = "lenient")]
    pub quality: Option<String>,
}

/// `espeak` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EspeakConfig {
    /// espeak-ng voice name, e.g. "en-us".
    pub voice: String,
}

/// `inference` section: the synthesis defaults of the voice.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default)]
pub struct InferenceConfig {
    pub noise_scale: f32,
    /// Phoneme duration multiplier: > 1 is slower.
    pub length_scale: f32,
    pub noise_w: f32,
}

impl Default for InferenceConfig {
    fn default() -> Self {
        Self {
            noise_scale: 0.667,
            length_scale: 1.0,
            noise_w: 0.8,
        }
    }
}

impl InferenceConfig {
    /// The model's `scales` input: `[noise_scale, length_scale, noise_w]`.
    pub fn scales(&self) -> [f32; 3] {
        [self.noise_scale, self.length_scale, self.noise_w]
    }
}

/// `language` section; informational (piper does not read it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LanguageConfig {
    /// e.g. "en_US".
    #[serde(default, deserialize_with = "lenient")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub family: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub name_native: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub name_english: Option<String>,
}

/// A Piper voice config (`NAME.onnx.json`). Unknown fields are ignored; `null` in an optional
/// field means its default, as in piper.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VoiceConfig {
    pub num_symbols: u32,
    pub num_speakers: u32,
    pub audio: AudioConfig,
    pub espeak: EspeakConfig,
    /// Phoneme (usually one codepoint) → model ids.
    pub phoneme_id_map: BTreeMap<String, Vec<i64>>,
    #[serde(default, deserialize_with = "null_default")]
    pub phoneme_type: PhonemeType,
    /// Speaker name → id (multi-speaker voices).
    #[serde(default, deserialize_with = "null_default")]
    pub speaker_id_map: BTreeMap<String, i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub inference: InferenceConfig,
    /// Samples per frame of the model (alignment output).
    #[serde(default = "default_hop_length", deserialize_with = "null_hop_length")]
    pub hop_length: u32,
    /// Speaker used when a multi-speaker voice is given none: [`Self::default_speaker_id`].
    #[serde(default, deserialize_with = "null_default")]
    default_speaker_id: i64,
    /// Phoneme sequences merged into one phoneme, e.g. ["a", "ɪ"] → "aɪ".
    #[serde(default, deserialize_with = "null_default")]
    pub vowel_clusters: Vec<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub piper_version: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub language: Option<LanguageConfig>,
    /// Name of the training data set, e.g. "lessac"; informational.
    #[serde(default, deserialize_with = "lenient")]
    pub dataset: Option<String>,
}

fn default_hop_length() -> u32 {
    256
}

/// `null` → the type's default.
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn null_hop_length<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    Ok(Option::<u32>::deserialize(deserializer)?.unwrap_or_else(default_hop_length))
}

/// Informational fields piper never reads: a value of the wrong type is ignored, not an error.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Why a voice config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VoiceConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is larger than {} MB; not a Piper voice config", path.display(), MAX_CONFIG_BYTES / (1024 * 1024))]
    TooLarge { path: PathBuf },
    /// Not JSON, or a field missing or of the wrong type (the message names the field).
    #[error("not a valid Piper voice config: {0}")]
    Json(String),
    #[error("invalid Piper voice config: {0}")]
    Invalid(String),
}

impl VoiceConfig {
    /// Parses and validates a config.
    pub fn from_json(json: &[u8]) -> Result<Self, VoiceConfigError> {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        let config: VoiceConfig =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                VoiceConfigError::Json(if path == "." {
                    inner.to_string()
                } else {
                    format!("{path}: {inner}")
                })
            })?;
        deserializer
            .end()
            .map_err(|e| VoiceConfigError::Json(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads (at most [`MAX_CONFIG_BYTES`]), parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, VoiceConfigError> {
        let io = |source| VoiceConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut json = Vec::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut json)
            .map_err(io)?;
        if json.len() as u64 > MAX_CONFIG_BYTES {
            return Err(VoiceConfigError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        Self::from_json(&json)
    }

    fn validate(&self) -> Result<(), VoiceConfigError> {
        let invalid = |message: String| Err(VoiceConfigError::Invalid(message));
        if !SAMPLE_RATES.contains(&self.audio.sample_rate) {
            return invalid(format!(
                "audio.sample_rate {} is outside {}..={} Hz",
                self.audio.sample_rate,
                SAMPLE_RATES.start(),
                SAMPLE_RATES.end()
            ));
        }
        if self.num_symbols == 0 {
            return invalid("num_symbols is 0".into());
        }
        if self.phoneme_id_map.is_empty() {
            return invalid("phoneme_id_map is empty".into());
        }
        for symbol in [BOS, PAD, EOS] {
            if self.phoneme_id_map.get(symbol).is_none_or(Vec::is_empty) {
                return invalid(format!("phoneme_id_map has no id for `{symbol}`"));
            }
        }
        if let Some((phoneme, ids)) = self
            .phoneme_id_map
            .iter()
            .find(|(_, ids)| ids.iter().any(|&id| id < 0))
        {
            return invalid(format!(
                "phoneme_id_map gives `{phoneme}` a negative id ({ids:?})"
            ));
        }
        if self.num_speakers == 0 {
            return invalid("num_speakers is 0 (a voice has at least one speaker)".into());
        }
        let speakers = i64::from(self.num_speakers);
        if let Some((name, id)) = self
            .speaker_id_map
            .iter()
            .find(|&(_, &id)| !(0..speakers).contains(&id))
        {
            return invalid(format!(
                "speaker_id_map gives `{name}` id {id}, but num_speakers is {speakers}"
            ));
        }
        if !(0..speakers).contains(&self.default_speaker_id) {
            return invalid(format!(
                "default_speaker_id {} is not below num_speakers {speakers}",
                self.default_speaker_id
            ));
        }
        let InferenceConfig {
            noise_scale,
            length_scale,
            noise_w,
        } = self.inference;
        if !(noise_scale.is_finite() && noise_w.is_finite() && length_scale.is_finite()) {
            return invalid("inference scales must be finite numbers".into());
        }
        if length_scale <= 0.0 {
            return invalid(format!(
                "inference.length_scale must be positive, not {length_scale}"
            ));
        }
        if self.hop_length == 0 {
            return invalid("hop_length is 0".into());
        }
        if self.espeak.voice.trim().is_empty() && self.phoneme_type == PhonemeType::Espeak {
            return invalid("espeak.voice is empty".into());
        }
        Ok(())
    }

    /// The speaker a multi-speaker voice uses when given none (piper: `default_speaker_id`,
    /// else 0).
    pub fn default_speaker_id(&self) -> i64 {
        self.default_speaker_id
    }

    /// Whether text reaches this voice through espeak-ng (`phoneme_type` "espeak").
    pub fn needs_espeak(&self) -> bool {
        self.phoneme_type == PhonemeType::Espeak
    }

    /// Whether hearsay can turn text into this voice's phonemes: espeak-ng or plain text.
    /// The other types need piper's Python G2P stacks (g2pW, Nakdimon, OpenJTalk, TLTK).
    pub fn phonemes_supported(&self) -> bool {
        matches!(self.phoneme_type, PhonemeType::Espeak | PhonemeType::Text)
    }

    /// Whether the model takes a speaker id (`sid` input), as piper decides it.
    pub fn is_multi_speaker(&self) -> bool {
        self.num_speakers > 1
    }

    /// Resolves a speaker by name (`speaker_id_map`) or by numeric id below `num_speakers`.
    /// Names take precedence over numbers, so a speaker named "3" keeps its own id.
    pub fn speaker_id(&self, name_or_id: &str) -> Option<i64> {
        let wanted = name_or_id.trim();
        if let Some(&id) = self.speaker_id_map.get(wanted) {
            return Some(id);
        }
        let id: i64 = wanted.parse().ok()?;
        (0..i64::from(self.num_speakers))
            .contains(&id)
            .then_some(id)
    }

    /// Speaker names by id (ids without a name are left out).
    pub fn speaker_names(&self) -> Vec<(i64, &str)> {
        let mut names: Vec<(i64, &str)> = self
            .speaker_id_map
            .iter()
            .map(|(name, &id)| (id, name.as_str()))
            .collect();
        names.sort();
        names
    }
}

/// A Piper voice found on disk, with its validated config.
#[derive(Debug, Clone)]
pub struct VoiceFile {
    /// The model's file name without `.onnx`: the id clients use.
    pub id: String,
    pub model_path: PathBuf,
    pub config_path: PathBuf,
    pub config: VoiceConfig,
}

/// The voices among `models` (`NAME.onnx` paths, sorted), sorted by id: each needs a
/// `NAME.onnx.json` beside it. A model without a usable config, or whose id is taken, or whose
/// `phoneme_type` hearsay cannot phonemize, is returned as a rejection `(model path, reason)`;
/// the caller logs those. Never panics on bad files.
pub fn check_voices(models: Vec<PathBuf>) -> (Vec<VoiceFile>, Vec<(PathBuf, String)>) {
    let mut voices: Vec<VoiceFile> = Vec::new();
    let mut rejected = Vec::new();
    for model_path in models {
        match check_voice(&model_path) {
            Ok(voice) if voices.iter().any(|v| v.id == voice.id) => {
                let reason = format!("another voice already has the id `{}`", voice.id);
                rejected.push((model_path, reason));
            }
            Ok(voice) => voices.push(voice),
            Err(reason) => rejected.push((model_path, reason)),
        }
    }
    voices.sort_by(|a, b| a.id.cmp(&b.id));
    (voices, rejected)
}

fn check_voice(model_path: &Path) -> Result<VoiceFile, String> {
    let file_name = model_path.file_name().unwrap_or_default();
    let Some(id) = file_name
        .to_str()
        .and_then(|name| name.strip_suffix(".onnx"))
        .filter(|id| !id.is_empty())
    else {
        return Err("the file name is not valid UTF-8".into());
    };
    let size = std::fs::metadata(model_path)
        .map_err(|e| format!("cannot read the model: {e}"))?
        .len();
    if size == 0 {
        return Err("the model file is empty".into());
    }
    let mut config_name = file_name.to_owned();
    config_name.push(".json");
    let config_path = model_path.with_file_name(config_name);
    if !config_path.is_file() {
        return Err(format!(
            "no voice config {} beside it (Piper voices come as NAME.onnx + NAME.onnx.json)",
            config_path.display()
        ));
    }
    let config = VoiceConfig::load(&config_path).map_err(|e| e.to_string())?;
    if !config.phonemes_supported() {
        return Err(format!(
            "phoneme_type \"{}\" needs piper's Python phonemizer; hearsay supports espeak and text voices",
            format!("{:?}", config.phoneme_type).to_lowercase()
        ));
    }
    Ok(VoiceFile {
        id: id.to_owned(),
        model_path: model_path.to_path_buf(),
        config_path,
        config,
    })
}
#[cfg(test)]
#[path = "voice_tests.rs"]
mod tests;
