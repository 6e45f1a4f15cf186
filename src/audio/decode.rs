//! Any upload to mono f32 at the stream's own sample rate (or, for Opus, at a rate the caller
//! prefers).
//!
//! The container is recognised by content alone (symphonia's probe with an empty hint).
//! Symphonia decodes everything except Opus, which goes through libopus (see `opus.rs`).
//! Hostile input must never cost more than the duration cap allows, so every loop here is
//! bounded and the whole decode runs under `catch_unwind`.

mod opus;
#[cfg(test)]
mod tests;

use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoderOptions, CODEC_ID_NULL_AUDIO,
};
use symphonia::core::errors::Error;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;

use super::{AudioError, DecodeLimits, Pcm};

/// Highest sample rate accepted; anything above is a corrupt or hostile header.
const MAX_RATE: u32 = 768_000;
/// Consecutive failed packets after which the rest of the stream is given up.
const MAX_ERRORS: u32 = 64;
/// Consecutive packets yielding no audio (other tracks, empty frames) before giving up.
const MAX_IDLE: u32 = 100_000;

/// Decodes an upload of any supported format to mono f32 at its own sample rate.
pub fn decode_mono(bytes: &[u8], limits: &DecodeLimits) -> Result<Pcm, AudioError> {
    decode_mono_preferring(bytes, limits, None)
}

/// Like [`decode_mono`], but a codec that can synthesize `preferred_rate` itself does so
/// (Opus at 8, 12, 16, 24 or 48 kHz), which is cheaper than decoding at its own rate and
/// resampling. Every other codec still returns its own rate.
pub(crate) fn decode_mono_preferring(
    bytes: &[u8],
    limits: &DecodeLimits,
    preferred_rate: Option<u32>,
) -> Result<Pcm, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    // Symphonia has known panics on crafted files; one must not take the server down.
    panic::catch_unwind(AssertUnwindSafe(|| decode(bytes, limits, preferred_rate))).unwrap_or_else(
        |_| {
            Err(AudioError::Invalid {
                detail: "the decoder failed on malformed data".into(),
            })
        },
    )
}

fn decode(
    bytes: &[u8],
    limits: &DecodeLimits,
    preferred_rate: Option<u32>,
) -> Result<Pcm, AudioError> {
    // Readers of seekable sources look at the end of the file while opening it (Ogg for its
    // last page, Matroska for the segment's end), which fails on a truncated upload. Read as a
    // plain stream, such a file still gives what is there.
    let mut reader = match open(Box::new(Cursor::new(bytes))) {
        Ok(reader) => reader,
        Err(err) if is_unrecognized(&err) => return Err(AudioError::Unrecognized),
        Err(err) => open(Box::new(ReadOnlySource::new(Cursor::new(bytes))))
            .map_err(|_| probe_error(err, bytes))?,
    };
    let track = pick_track(reader.tracks())?;
    let Some(CodecParameters::Audio(params)) = &track.codec_params else {
        return Err(AudioError::NoAudioTrack);
    };
    if params.codec == CODEC_ID_OPUS {
        let rate = opus::output_rate(preferred_rate);
        return opus::decode(reader.as_mut(), &track, params, limits, rate);
    }
    decode_track(reader.as_mut(), &track, params, limits)
}

fn open<'a>(
    source: Box<dyn MediaSource + 'a>,
) -> symphonia::core::errors::Result<Box<dyn FormatReader + 'a>> {
    let source = MediaSourceStream::new(source, Default::default());
    symphonia::default::get_probe().probe(
        &Hint::new(),
        source,
        FormatOptions::default(),
        MetadataOptions::default(),
    )
}

/// The first audio track we can decode, or the right error when there is none.
fn pick_track(tracks: &[Track]) -> Result<Track, AudioError> {
    let mut undecodable = None;
    for track in tracks {
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            continue;
        };
        let codecs = symphonia::default::get_codecs();
        if params.codec == CODEC_ID_OPUS || codecs.get_audio_decoder(params.codec).is_some() {
            return Ok(track.clone());
        }
        undecodable.get_or_insert(params.codec);
    }
    Err(match undecodable {
        Some(codec) => AudioError::UnsupportedCodec {
            codec: codec_name(codec),
        },
        None => AudioError::NoAudioTrack,
    })
}

/// Decodes one track with a symphonia decoder.
fn decode_track(
    reader: &mut dyn FormatReader,
    track: &Track,
    params: &AudioCodecParameters,
    limits: &DecodeLimits,
) -> Result<Pcm, AudioError> {
    if let Some(rate) = params.sample_rate {
        check_rate(rate)?;
    }
    let unsupported = || AudioError::UnsupportedCodec {
        codec: codec_name(params.codec),
    };
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|err| match err {
            Error::Unsupported(_) => unsupported(),
            other => invalid(other),
        })?;
    let mut guard = Guard::default();
    let mut sink: Option<Mono> = None;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    while let Some(packet) = guard.next_packet(reader, track.id) {
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(Error::Unsupported(_)) if sink.is_none() => return Err(unsupported()),
            Err(Error::ResetRequired) => {
                decoder.reset();
                guard.error("the decoder needed a reset");
                continue;
            }
            Err(err) => {
                guard.error(err.to_string());
                continue;
            }
        };
        if !guard.decoded(buf.frames()) {
            continue;
        }
        let rate = buf.spec().rate();
        let out = match &mut sink {
            Some(out) => out,
            None => sink.insert(Mono::new(rate, limits)?),
        };
        if rate != out.rate {
            // A mid-stream rate change (chained or spliced files): keep the first part.
            break;
        }
        buf.copy_to_vecs_planar(&mut planes);
        out.push_planes(&planes, buf.frames())?;
    }
    let rate = params.sample_rate.unwrap_or(0);
    guard.finish(sink.unwrap_or_else(|| Mono::empty(rate)))
}

/// Bounds the packet loop: counts consecutive failures and unproductive packets.
#[derive(Default)]
struct Guard {
    errors: u32,
    idle: u32,
    given_up: bool,
    failure: Option<String>,
}

impl Guard {
    /// The next packet of track `id`; `None` at the end of the stream or when giving up.
    /// Read errors end the stream: a truncated upload keeps what decoded, and
    /// symphonia-format-mkv ends unknown-size (live) WebM with `UnexpectedEof`.
    fn next_packet(&mut self, reader: &mut dyn FormatReader, id: u32) -> Option<Packet> {
        while !self.given_up {
            match reader.next_packet() {
                Ok(Some(packet)) if packet.track_id == id => return Some(packet),
                Ok(Some(_)) => self.idle(),
                Ok(None) | Err(Error::IoError(_) | Error::ResetRequired) => return None,
                Err(Error::DecodeError(detail)) => self.error(detail),
                Err(err) => {
                    self.failure = Some(err.to_string());
                    return None;
                }
            }
        }
        None
    }

    fn error(&mut self, detail: impl Into<String>) {
        self.failure = Some(detail.into());
        self.errors += 1;
        self.given_up |= self.errors > MAX_ERRORS;
    }

    fn idle(&mut self) {
        self.idle += 1;
        self.given_up |= self.idle > MAX_IDLE;
    }

    /// Records a packet that decoded to `frames` frames; false when that was nothing.
    fn decoded(&mut self, frames: usize) -> bool {
        self.errors = 0;
        if frames == 0 {
            self.idle();
            return false;
        }
        self.idle = 0;
        true
    }

    /// The decoded audio, or `Invalid` when packets failed and nothing came out.
    /// A cleanly empty stream is `Ok` with no samples; the caller reports it as too short.
    fn finish(self, out: Mono) -> Result<Pcm, AudioError> {
        match self.failure {
            Some(detail) if out.samples.is_empty() => Err(AudioError::Invalid { detail }),
            _ => Ok(Pcm {
                samples: out.samples,
                sample_rate: out.rate,
            }),
        }
    }
}

/// Mono output that enforces the duration cap as it grows.
struct Mono {
    samples: Vec<f32>,
    rate: u32,
    max_len: usize,
    max_seconds: f64,
}

impl Mono {
    fn new(rate: u32, limits: &DecodeLimits) -> Result<Self, AudioError> {
        check_rate(rate)?;
        Ok(Self {
            samples: Vec::new(),
            rate,
            // Saturating: NaN gives 0, infinity gives usize::MAX.
            max_len: (limits.max_seconds * f64::from(rate)) as usize,
            max_seconds: limits.max_seconds,
        })
    }

    fn empty(rate: u32) -> Self {
        Self {
            samples: Vec::new(),
            rate,
            max_len: 0,
            max_seconds: 0.0,
        }
    }

    /// Makes room for `frames` more samples, or fails once the cap would be passed.
    fn grow(&mut self, frames: usize) -> Result<&mut [f32], AudioError> {
        let start = self.samples.len();
        if frames > self.max_len.saturating_sub(start) {
            return Err(AudioError::TooLong {
                max_seconds: self.max_seconds,
            });
        }
        self.samples.resize(start + frames, 0.0);
        Ok(&mut self.samples[start..])
    }

    /// Appends the average of the first `frames` samples of every plane.
    fn push_planes(&mut self, planes: &[Vec<f32>], frames: usize) -> Result<(), AudioError> {
        if planes.is_empty() {
            return Ok(());
        }
        let scale = 1.0 / planes.len() as f32;
        let out = self.grow(frames)?;
        for plane in planes {
            for (o, &x) in out.iter_mut().zip(plane) {
                *o += clean(x);
            }
        }
        out.iter_mut().for_each(|o| *o *= scale);
        Ok(())
    }

    /// Appends interleaved frames of `channels` samples, averaged and scaled by `gain`.
    fn push_interleaved(
        &mut self,
        data: &[f32],
        channels: usize,
        gain: f32,
    ) -> Result<(), AudioError> {
        if channels == 0 {
            return Ok(());
        }
        let scale = gain / channels as f32;
        let out = self.grow(data.len() / channels)?;
        for (o, frame) in out.iter_mut().zip(data.chunks_exact(channels)) {
            let sum: f32 = frame.iter().map(|&x| clean(x)).sum();
            *o = clean(sum * scale);
        }
        Ok(())
    }
}

/// Replaces NaN and infinities with silence and clamps to full scale.
fn clean(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

fn check_rate(rate: u32) -> Result<(), AudioError> {
    if rate == 0 || rate > MAX_RATE {
        return Err(AudioError::Invalid {
            detail: format!("sample rate {rate} Hz is out of range"),
        });
    }
    Ok(())
}

fn invalid(err: Error) -> AudioError {
    AudioError::Invalid {
        detail: err.to_string(),
    }
}

/// Maps a probe failure: no format matched, a format matched but its codec is unsupported,
/// or a format matched and its headers are broken.
fn probe_error(err: Error, bytes: &[u8]) -> AudioError {
    match err {
        _ if is_unrecognized(&err) => AudioError::Unrecognized,
        Error::Unsupported(msg) if msg.contains("wave format") || msg.contains("sub-type") => {
            AudioError::UnsupportedCodec {
                codec: wav_format(bytes),
            }
        }
        Error::Unsupported(_) => AudioError::Unrecognized,
        Error::IoError(_) => AudioError::Invalid {
            detail: "the file is truncated".into(),
        },
        other => invalid(other),
    }
}

/// True when no format reader matched at all.
fn is_unrecognized(err: &Error) -> bool {
    matches!(err, Error::Unsupported(msg) if msg.starts_with("core (probe)"))
}

/// Names the codec of a WAV file by its format tag, for the unsupported-codec error.
fn wav_format(bytes: &[u8]) -> String {
    let tag = bytes
        .windows(4)
        .position(|w| w == b"fmt ")
        .and_then(|at| bytes.get(at + 8..at + 10))
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    match tag {
        Some(0x0031) => "gsm610".into(),
        Some(0x0050) => "mp2 in wav".into(),
        Some(0x0055) => "mp3 in wav".into(),
        Some(0x0092) => "ac3 in wav".into(),
        Some(0xfffe) => "wav extensible sub-format".into(),
        Some(tag) => format!("wav format {tag:#06x}"),
        None => "wav".into(),
    }
}

/// A readable name for a codec id.
fn codec_name(id: AudioCodecId) -> String {
    if let Some(reg) = symphonia::default::get_codecs().get_audio_decoder(id) {
        return reg.codec.info.short_name.into();
    }
    let name = match id {
        CODEC_ID_NULL_AUDIO => "unknown",
        CODEC_ID_OPUS => "opus",
        CODEC_ID_SPEEX => "speex",
        CODEC_ID_MUSEPACK => "musepack",
        CODEC_ID_AC3 => "ac3",
        CODEC_ID_EAC3 => "eac3",
        CODEC_ID_AC4 => "ac4",
        CODEC_ID_DCA => "dts",
        CODEC_ID_WMA => "wma",
        CODEC_ID_ATRAC1 | CODEC_ID_ATRAC3 | CODEC_ID_ATRAC3PLUS | CODEC_ID_ATRAC9 => "atrac",
        CODEC_ID_RA10 | CODEC_ID_RA20 | CODEC_ID_COOK | CODEC_ID_SIPR => "realaudio",
        CODEC_ID_WAVPACK => "wavpack",
        CODEC_ID_MONKEYS_AUDIO => "ape",
        CODEC_ID_TTA => "tta",
        CODEC_ID_TRUEHD => "truehd",
        CODEC_ID_ADPCM_G722 => "g722",
        CODEC_ID_ADPCM_G726 | CODEC_ID_ADPCM_G726LE => "g726",
        _ => return format!("codec {id}"),
    };
    name.into()
}
