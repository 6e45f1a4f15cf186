//! Audio bytes in, PCM out: container sniffing, decoding, downmixing and resampling.
//!
//! Nothing here knows about HTTP or models. Decoding never trusts a file name or a MIME
//! type: the container is recognised from its content.

mod decode;
pub mod encode;
mod resample;
#[cfg(test)]
mod test_signal;

pub use decode::decode_mono;
pub use resample::resample;

/// The sample rate whisper.cpp expects.
pub const WHISPER_SAMPLE_RATE: u32 = 16_000;

/// Mono audio as 32-bit float samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Pcm {
    /// Length in seconds.
    pub fn duration_seconds(&self) -> f64 {
        if self.sample_rate == 0 {
            return 0.0;
        }
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }
}

/// Bounds that keep a hostile upload from costing unbounded time or memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeLimits {
    /// Decoding stops with [`AudioError::TooLong`] once this much audio has come out.
    pub max_seconds: f64,
    /// Audio shorter than this is rejected with [`AudioError::TooShort`].
    pub min_seconds: f64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_seconds: 2.0 * 3600.0,
            min_seconds: 0.1,
        }
    }
}

/// Why an upload could not become audio. Every variant is the client's problem (a 400 or 413).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    #[error("the audio file is empty")]
    Empty,
    #[error("the file is not a recognised audio format")]
    Unrecognized,
    #[error("the file contains no audio track")]
    NoAudioTrack,
    #[error("the audio codec `{codec}` is not supported")]
    UnsupportedCodec { codec: String },
    #[error("the audio stream is invalid: {detail}")]
    Invalid { detail: String },
    #[error("the audio is too short ({seconds:.3} s); the minimum is {min_seconds} s")]
    TooShort { seconds: f64, min_seconds: f64 },
    #[error("the audio is longer than the maximum of {max_seconds} s")]
    TooLong { max_seconds: f64 },
}

/// Decodes any supported upload to mono 16 kHz, the input whisper.cpp wants.
pub fn decode_for_whisper(bytes: &[u8], limits: &DecodeLimits) -> Result<Pcm, AudioError> {
    let pcm = decode::decode_mono_preferring(bytes, limits, Some(WHISPER_SAMPLE_RATE))?;
    let pcm = resample(pcm, WHISPER_SAMPLE_RATE);
    let seconds = pcm.duration_seconds();
    if seconds < limits.min_seconds {
        return Err(AudioError::TooShort {
            seconds,
            min_seconds: limits.min_seconds,
        });
    }
    Ok(pcm)
}
