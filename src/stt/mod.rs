//! Speech-to-text: what a transcription is, and how raw whisper output becomes OpenAI's
//! segments and words. The only code that touches whisper-rs is [`whisper`].

mod cues;
pub mod pool;
pub mod render;
mod schedule;
pub mod service;
mod timeline;
mod transcript;
pub mod whisper;

pub use service::Transcriber;
pub use transcript::{Segment, Transcript, Word, build_transcript};

use crate::audio::AudioError;

/// What the model is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Transcribe,
    /// Speech in any language, written out in English.
    Translate,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Transcribe => "transcribe",
            Task::Translate => "translate",
        }
    }
}

/// How to run one transcription, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    pub task: Task,
    /// A whisper language code such as `de`; `None` detects it.
    pub language: Option<&'static str>,
    /// Text that conditions the decoder; spelling, names and style.
    pub prompt: Option<String>,
    /// 0 means whisper.cpp's fallback ladder (0.0, 0.2, … 1.0 on failure).
    pub temperature: f32,
    pub word_timestamps: bool,
    /// Voice activity detection for this request; `None` is the server's default.
    pub vad_filter: Option<bool>,
    /// Beam width, 1 (greedy) to [`MAX_BEAM_SIZE`]; `None` is the server's default.
    pub beam_size: Option<u8>,
}

/// whisper.cpp runs at most 8 decoders at once.
pub const MAX_BEAM_SIZE: u8 = 8;

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            task: Task::Transcribe,
            language: None,
            prompt: None,
            temperature: 0.0,
            word_timestamps: false,
            vad_filter: None,
            beam_size: None,
        }
    }
}

/// One token as whisper.cpp produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawToken {
    pub id: i32,
    pub bytes: Vec<u8>,
    /// Log probability of the token.
    pub logprob: f32,
    /// Token start and end in centiseconds from the start of the audio.
    pub t0: i64,
    pub t1: i64,
    /// A control token: end-of-text, language, task or no-speech. Not text, not a timestamp.
    pub is_control: bool,
    /// A timestamp token `<|t|>`, with `t` in centiseconds relative to its window.
    pub timestamp: Option<i64>,
    /// Where the token ends by alignment (dynamic time warping), in centiseconds from the
    /// start of the audio, when the model's alignment heads are known.
    pub aligned_at: Option<i64>,
}

/// One segment as whisper.cpp produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    /// Centiseconds from the start of the audio.
    pub t0: i64,
    pub t1: i64,
    /// Start of the window that produced it, in centiseconds of the original audio, when
    /// known; otherwise it is worked out from the timestamp tokens.
    pub seek: Option<i64>,
    pub text: String,
    pub no_speech_prob: f32,
    pub tokens: Vec<RawToken>,
}

/// A whole whisper.cpp run.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTranscript {
    /// The language used or detected, as a whisper code.
    pub language: &'static str,
    pub segments: Vec<RawSegment>,
    /// whisper stopped before the end of the audio it was given, meaning to go on from the
    /// end of its last segment (the speech after it was cut off).
    pub unfinished: bool,
}

/// Why a transcription failed.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("the job queue is full")]
    Overloaded,
    #[error("the client went away")]
    Cancelled,
    #[error("the speech-to-text engine failed: {0}")]
    Engine(String),
}

/// Whisper language code for a code or an English name, case-insensitively (`de`, `German`).
pub fn language_code(input: &str) -> Option<&'static str> {
    whisper::language_code(input)
}

/// The English name of a whisper language code, as OpenAI's verbose_json reports it.
pub fn language_name(code: &str) -> &'static str {
    whisper::language_name(code).unwrap_or("unknown")
}
