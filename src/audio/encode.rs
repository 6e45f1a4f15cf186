//! Streaming encoders for the `response_format`s of OpenAI's `/v1/audio/speech`.
//!
//! Speech comes out sentence by sentence, so every encoder takes mono 16-bit samples
//! incrementally and returns whatever bytes are ready; nothing ever seeks back to patch a
//! header. The first [`StreamEncoder::push`] (or [`StreamEncoder::finish`], if nothing was
//! pushed) returns the container header, [`StreamEncoder::finish`] the tail.
//!
//! | format | codec / container | rate out | notes |
//! |---|---|---|---|
//! | `mp3` | LAME (system `libmp3lame`), CBR, no Xing/LAME tag | MP3 rates, nearest | 64 kbit/s at 16–24 kHz |
//! | `opus` | libopus in Ogg (RFC 7845) | 48 kHz (decoded) | 32 kbit/s VBR, 20 ms frames, exact length |
//! | `aac` | FFmpeg's native AAC-LC, ADTS | AAC rates, nearest | 64 kbit/s at 16–24 kHz, 1024 priming samples |
//! | `flac` | own writer, 4096-sample blocks | input | lossless, STREAMINFO with unknown length |
//! | `wav` | 16-bit PCM, RIFF/data sizes 0xFFFFFFFF | input | lossless |
//! | `pcm` | raw s16le, no header | 24 kHz | as OpenAI defines it |

mod aac;
mod flac;
mod mp3;
mod ogg;
mod opus;
mod pcm;
mod resampler;
#[cfg(test)]
mod tests;
mod wav;

/// Lowest input sample rate accepted.
pub const MIN_INPUT_RATE: u32 = 1_000;
/// Highest input sample rate accepted.
pub const MAX_INPUT_RATE: u32 = 384_000;

/// An OpenAI `response_format` for speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Mp3,
    Opus,
    Aac,
    Flac,
    Wav,
    Pcm,
}

impl OutputFormat {
    /// The names OpenAI accepts, in its order; `mp3` is the default.
    pub const NAMES: &[&str] = &["mp3", "opus", "aac", "flac", "wav", "pcm"];

    /// The format called `name`: exact lowercase names only, as OpenAI does.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "mp3" => Self::Mp3,
            "opus" => Self::Opus,
            "aac" => Self::Aac,
            "flac" => Self::Flac,
            "wav" => Self::Wav,
            "pcm" => Self::Pcm,
            _ => return None,
        })
    }

    /// The format's name, as in [`Self::NAMES`].
    pub fn name(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::Opus => "opus",
            Self::Aac => "aac",
            Self::Flac => "flac",
            Self::Wav => "wav",
            Self::Pcm => "pcm",
        }
    }

    /// The `Content-Type` of a response in this format.
    ///
    /// Opus comes in an Ogg container, whose registered type is `audio/ogg` (RFC 7845 §9,
    /// with the `codecs` parameter of RFC 5334); `audio/opus` (RFC 7587) names bare Opus
    /// packets in RTP, and browsers only recognise the Ogg form for a file or a stream.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Mp3 => "audio/mpeg",
            Self::Opus => "audio/ogg; codecs=opus",
            Self::Aac => "audio/aac",
            Self::Flac => "audio/flac",
            Self::Wav => "audio/wav",
            Self::Pcm => "audio/pcm",
        }
    }

    /// The sample rate a decoder gets from a stream made from `input_rate` audio.
    pub fn output_rate(self, input_rate: u32) -> u32 {
        match self {
            Self::Mp3 => mp3::output_rate(input_rate),
            Self::Opus => opus::DECODED_RATE,
            Self::Aac => aac::output_rate(input_rate),
            Self::Flac | Self::Wav => input_rate,
            Self::Pcm => pcm::RATE,
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why audio could not be encoded. None of these is the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "the sample rate {rate} Hz is not supported (must be {MIN_INPUT_RATE}..={MAX_INPUT_RATE})"
    )]
    UnsupportedRate { rate: u32 },
    #[error("the {codec} encoder failed: {detail}")]
    Codec { codec: &'static str, detail: String },
}

impl EncodeError {
    fn codec(codec: &'static str, detail: impl Into<String>) -> Self {
        Self::Codec {
            codec,
            detail: detail.into(),
        }
    }
}

/// Encodes mono 16-bit speech at `input_rate` into `format`, chunk by chunk.
pub struct StreamEncoder {
    codec: Codec,
}

enum Codec {
    Mp3(mp3::Mp3Encoder),
    Opus(opus::OggOpusEncoder),
    Aac(aac::AacEncoder),
    Flac(flac::FlacEncoder),
    Wav(wav::WavEncoder),
    Pcm(pcm::PcmEncoder),
}

impl StreamEncoder {
    /// An encoder for `input_rate` audio; fails only on an unsupported rate or when a codec
    /// library refuses to start.
    pub fn new(format: OutputFormat, input_rate: u32) -> Result<Self, EncodeError> {
        if !(MIN_INPUT_RATE..=MAX_INPUT_RATE).contains(&input_rate) {
            return Err(EncodeError::UnsupportedRate { rate: input_rate });
        }
        let codec = match format {
            OutputFormat::Mp3 => Codec::Mp3(mp3::Mp3Encoder::new(input_rate)?),
            OutputFormat::Opus => Codec::Opus(opus::OggOpusEncoder::new(input_rate)?),
            OutputFormat::Aac => Codec::Aac(aac::AacEncoder::new(input_rate)?),
            OutputFormat::Flac => Codec::Flac(flac::FlacEncoder::new(input_rate)),
            OutputFormat::Wav => Codec::Wav(wav::WavEncoder::new(input_rate)),
            OutputFormat::Pcm => Codec::Pcm(pcm::PcmEncoder::new(input_rate)?),
        };
        Ok(Self { codec })
    }

    /// Bytes ready after adding `samples` (may be empty; the first call returns the container
    /// header).
    pub fn push(&mut self, samples: &[i16]) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        match &mut self.codec {
            Codec::Mp3(c) => c.push(samples, &mut out)?,
            Codec::Opus(c) => c.push(samples, &mut out)?,
            Codec::Aac(c) => c.push(samples, &mut out)?,
            Codec::Flac(c) => c.push(samples, &mut out),
            Codec::Wav(c) => c.push(samples, &mut out),
            Codec::Pcm(c) => c.push(samples, &mut out)?,
        }
        Ok(out)
    }

    /// Flushes everything; the stream is complete after these bytes.
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        match self.codec {
            Codec::Mp3(c) => c.finish(&mut out)?,
            Codec::Opus(c) => c.finish(&mut out)?,
            Codec::Aac(c) => c.finish(&mut out)?,
            Codec::Flac(c) => c.finish(&mut out),
            Codec::Wav(c) => c.finish(&mut out),
            Codec::Pcm(c) => c.finish(&mut out)?,
        }
        Ok(out)
    }
}

/// `i16` to `f32` in [-1, 1).
fn to_f32(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

/// `f32` back to `i16`, rounded and clipped.
fn to_i16(sample: f32) -> i16 {
    (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// The rate in `rates` nearest to `rate` (the higher one on a tie).
fn nearest_rate(rates: &[u32], rate: u32) -> u32 {
    rates
        .iter()
        .copied()
        .min_by_key(|&r| (r.abs_diff(rate), std::cmp::Reverse(r)))
        .unwrap_or(rate)
}

// Encoders move between the tasks and threads of a streaming response.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<StreamEncoder>();
};
