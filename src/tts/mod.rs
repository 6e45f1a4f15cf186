//! Text-to-speech: Piper voices run by ONNX Runtime, phonemized by espeak-ng exactly as Piper
//! does it, with espeak-ng's own synthesizer as the voice of last resort.
//!
//! Only [`onnx`] touches `ort`, and only [`espeak`] touches espeak-ng.

pub mod espeak;
pub mod onnx;
pub mod phonemes;
mod pool;
pub mod samples;
mod service;
pub mod voices;

pub use pool::LoadedVoices;
pub use service::{SpeechStream, Synthesizer};
pub use voices::{ResolvedVoice, VoiceCatalog};

use crate::audio::encode::OutputFormat;

/// OpenAI's built-in voice names; each maps to an installed voice through the voice map.
pub const OPENAI_VOICES: &[&str] = &[
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
    "marin", "cedar",
];

/// OpenAI's speech model names; each selects the default voice model.
pub const OPENAI_TTS_MODELS: &[&str] = &[
    "tts-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
    "gpt-4o-mini-tts-2025-03-20",
    "gpt-4o-mini-tts-2025-12-15",
];

/// A validated speech request.
#[derive(Debug, Clone)]
pub struct SpeechJob {
    pub voice: ResolvedVoice,
    pub text: String,
    /// 0.25 to 4.0; applied as `length_scale / speed`.
    pub speed: f32,
    pub format: OutputFormat,
}

/// Why speech could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error("the job queue is full")]
    Overloaded,
    #[error("the input contains nothing that can be spoken")]
    NothingToSpeak,
    #[error("the text-to-speech engine failed: {0}")]
    Engine(String),
}
