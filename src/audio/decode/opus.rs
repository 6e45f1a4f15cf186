//! Opus through libopus, which symphonia lacks.
//!
//! Ogg and WebM carry the OpusHead (RFC 7845 §5.1) as the track's extra data; symphonia's MP4
//! reader passes the dOps box with "OpusHead" put in front, but its fields stay big-endian.
//! libopus synthesizes 8, 12, 16, 24 or 48 kHz itself (band-limited in the codec, no separate
//! resampler), so a caller that wants 16 kHz gets it directly. The first `pre_skip` samples
//! are encoder delay and are dropped; it, granule positions and end trims count 48 kHz
//! samples and are scaled to the output rate.
//! In Ogg the last granule position minus the pre-skip is the exact length: symphonia-format-ogg
//! reports the raw granule as `num_frames` and marks end padding with `trim_end`. Symphonia
//! ignores WebM's DiscardPadding and MP4 edit lists, so those keep up to one packet of padding.

use std::ffi::c_int;
use std::ptr::NonNull;

use opusic_sys as ffi;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::formats::well_known::{FORMAT_ID_ISOMP4, FORMAT_ID_OGG};
use symphonia::core::formats::{FormatReader, Track};

use super::{AudioError, DecodeLimits, Guard, Mono, Pcm};

/// Opus's own clock: pre-skip, granule positions and trims count samples at this rate.
const RATE: u32 = 48_000;
/// The rates libopus can decode to.
const OUTPUT_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAME: usize = 5_760;

/// The rate to decode at: `preferred` when libopus can produce it, else 48 kHz.
pub(super) fn output_rate(preferred: Option<u32>) -> u32 {
    preferred
        .filter(|rate| OUTPUT_RATES.contains(rate))
        .unwrap_or(RATE)
}

/// Converts a count of 48 kHz samples to `rate` (an exact divisor of 48 kHz).
fn at_rate(samples_48k: usize, rate: u32) -> usize {
    samples_48k / (RATE / rate) as usize
}

pub(super) fn decode(
    reader: &mut dyn FormatReader,
    track: &Track,
    params: &AudioCodecParameters,
    limits: &DecodeLimits,
    rate: u32,
) -> Result<Pcm, AudioError> {
    debug_assert!(OUTPUT_RATES.contains(&rate));
    let format = reader.format_info().format;
    let head = match params.extra_data.as_deref() {
        Some(data) => Head::parse(data, format == FORMAT_ID_ISOMP4),
        None => Head::plain(params.channels.as_ref().map_or(1, |c| c.count())),
    }
    .ok_or_else(|| invalid("the Opus header is invalid"))?;
    let mut decoder = Decoder::new(&head, rate)?;
    let channels = head.channels;

    // Ogg's last granule position counts the pre-skip.
    let total = track
        .num_frames
        .filter(|_| format == FORMAT_ID_OGG)
        .map(|n| {
            let n = n.saturating_sub(head.pre_skip as u64);
            at_rate(usize::try_from(n).unwrap_or(usize::MAX), rate)
        });

    let mut out = Mono::new(rate, limits)?;
    let mut pcm = vec![0f32; MAX_FRAME * channels];
    let mut skip = at_rate(head.pre_skip, rate);
    let mut guard = Guard::default();
    while let Some(packet) = guard.next_packet(reader, track.id) {
        if packet.data.is_empty() {
            // An empty packet would make libopus conceal a loss: there is nothing to decode.
            guard.idle();
            continue;
        }
        let frames = match decoder.decode(&packet.data, &mut pcm) {
            Ok(frames) => frames,
            Err(code) => {
                guard.error(format!("libopus error {code}"));
                continue;
            }
        };
        if !guard.decoded(frames) {
            continue;
        }
        let start = skip.min(frames);
        skip -= start;
        let trim = at_rate(
            usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX),
            rate,
        );
        let end = frames.saturating_sub(trim).max(start);
        out.push_interleaved(&pcm[start * channels..end * channels], channels, head.gain)?;
    }
    if let Some(total) = total {
        out.samples.truncate(total);
    }
    guard.finish(out)
}

fn invalid(detail: &str) -> AudioError {
    AudioError::Invalid {
        detail: detail.into(),
    }
}

/// What decoding needs from an OpusHead.
#[derive(Debug, PartialEq)]
struct Head {
    channels: usize,
    pre_skip: usize,
    /// Linear output gain.
    gain: f32,
    streams: u8,
    coupled: u8,
    /// Output channel to stream channel, one entry per channel.
    mapping: Vec<u8>,
}

impl Head {
    /// Parses an OpusHead; `big_endian` for the fields of an MP4 dOps box.
    fn parse(data: &[u8], big_endian: bool) -> Option<Head> {
        let u16_of = |b| match big_endian {
            true => u16::from_be_bytes(b),
            false => u16::from_le_bytes(b),
        };
        let rest = data.strip_prefix(b"OpusHead")?;
        let [
            version,
            channels,
            p0,
            p1,
            _,
            _,
            _,
            _,
            g0,
            g1,
            family,
            ref table @ ..,
        ] = *rest
        else {
            return None;
        };
        // Only the major version 0 layout is known; a zero channel count is meaningless.
        if version >> 4 != 0 || channels == 0 {
            return None;
        }
        let (streams, coupled, mapping) = if family == 0 {
            if channels > 2 {
                return None;
            }
            (1, channels - 1, (0..channels).collect())
        } else {
            let [streams, coupled, ref map @ ..] = *table else {
                return None;
            };
            (streams, coupled, map.get(..usize::from(channels))?.to_vec())
        };
        // Q7.8 decibels.
        let gain_db = f32::from(u16_of([g0, g1]) as i16) / 256.0;
        Some(Head {
            channels: usize::from(channels),
            pre_skip: usize::from(u16_of([p0, p1])),
            gain: 10f32.powf(gain_db / 20.0),
            streams,
            coupled,
            mapping,
        })
    }

    /// A mono or stereo head for a track that came without one.
    fn plain(channels: usize) -> Option<Head> {
        let count = u8::try_from(channels)
            .ok()
            .filter(|c| (1..=2).contains(c))?;
        Some(Head {
            channels,
            pre_skip: 0,
            gain: 1.0,
            streams: 1,
            coupled: count - 1,
            mapping: (0..count).collect(),
        })
    }
}

/// A libopus multistream decoder (it covers mono, stereo and surround), freed on drop.
struct Decoder {
    state: NonNull<ffi::OpusMSDecoder>,
    channels: usize,
}

impl Decoder {
    fn new(head: &Head, rate: u32) -> Result<Decoder, AudioError> {
        let channels = c_int::try_from(head.channels).map_err(|_| invalid("too many channels"))?;
        if head.mapping.len() != head.channels {
            return Err(invalid("the Opus channel mapping is invalid"));
        }
        let mut err: c_int = 0;
        // SAFETY: `mapping` holds one entry per channel, which is all libopus reads; it copies
        // what it needs. `err` is a valid out-pointer.
        let ptr = unsafe {
            ffi::opus_multistream_decoder_create(
                rate as i32,
                channels,
                c_int::from(head.streams),
                c_int::from(head.coupled),
                head.mapping.as_ptr(),
                &mut err,
            )
        };
        let state = NonNull::new(ptr).ok_or_else(|| AudioError::Invalid {
            detail: format!("libopus rejected the Opus header (error {err})"),
        })?;
        Ok(Decoder {
            state,
            channels: head.channels,
        })
    }

    /// Decodes one packet into `out` (interleaved); returns the frames written.
    fn decode(&mut self, packet: &[u8], out: &mut [f32]) -> Result<usize, c_int> {
        let len = i32::try_from(packet.len()).map_err(|_| ffi::OPUS_BAD_ARG)?;
        let room = c_int::try_from(out.len() / self.channels).map_err(|_| ffi::OPUS_BAD_ARG)?;
        // SAFETY: `state` is a live decoder; `packet` is `len` readable bytes; `out` has room
        // for `room` frames of `channels` samples and libopus writes no more than that.
        let frames = unsafe {
            ffi::opus_multistream_decode_float(
                self.state.as_ptr(),
                packet.as_ptr(),
                len,
                out.as_mut_ptr(),
                room,
                0,
            )
        };
        usize::try_from(frames).map_err(|_| frames)
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `state` came from opus_multistream_decoder_create and is freed only here.
        unsafe { ffi::opus_multistream_decoder_destroy(self.state.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_bytes(channels: u8, pre_skip: u16, gain: i16, family: u8, table: &[u8]) -> Vec<u8> {
        let mut b = b"OpusHead".to_vec();
        b.extend([1, channels]);
        b.extend(pre_skip.to_le_bytes());
        b.extend(48_000u32.to_le_bytes());
        b.extend(gain.to_le_bytes());
        b.push(family);
        b.extend(table);
        b
    }

    fn le(data: &[u8]) -> Option<Head> {
        Head::parse(data, false)
    }

    #[test]
    fn parses_stereo_head() {
        let head = le(&head_bytes(2, 312, 0, 0, &[])).expect("valid head");
        assert_eq!((head.channels, head.pre_skip, head.gain), (2, 312, 1.0));
        assert_eq!(
            (head.streams, head.coupled, head.mapping),
            (1, 1, vec![0, 1])
        );
    }

    #[test]
    fn parses_surround_head_and_gain() {
        let table = [4, 2, 0, 4, 1, 2, 3, 5];
        let head = le(&head_bytes(6, 0, -6 * 256, 1, &table)).expect("valid head");
        assert_eq!((head.streams, head.coupled), (4, 2));
        assert_eq!(head.mapping, vec![0, 4, 1, 2, 3, 5]);
        assert!((head.gain - 0.501).abs() < 0.01);
        assert!(Decoder::new(&head, RATE).is_ok());
    }

    #[test]
    fn parses_big_endian_mp4_head() {
        // dOps: version 0, big-endian pre-skip and gain.
        let mut b = b"OpusHead".to_vec();
        b.extend([0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0x01, 0x00, 0]);
        let head = Head::parse(&b, true).expect("valid head");
        assert_eq!((head.channels, head.pre_skip), (2, 312));
        assert!((head.gain - 1.122).abs() < 0.001, "+1 dB");
    }

    #[test]
    fn rejects_bad_heads() {
        assert_eq!(le(b"OpusHea"), None);
        assert_eq!(le(&head_bytes(0, 0, 0, 0, &[])), None);
        assert_eq!(le(&head_bytes(3, 0, 0, 0, &[])), None);
        assert_eq!(le(&head_bytes(6, 0, 0, 1, &[4, 2, 0])), None);
        let mut future = head_bytes(2, 0, 0, 0, &[]);
        future[8] = 0x10;
        assert_eq!(le(&future), None);
        // Parses, but libopus refuses more coupled streams than streams.
        let head = le(&head_bytes(2, 0, 0, 1, &[1, 2, 0, 1])).expect("parses");
        assert!(Decoder::new(&head, RATE).is_err());
    }

    #[test]
    fn garbage_packets_do_not_crash_libopus() {
        let head = Head::plain(2).expect("stereo");
        let mut decoder = Decoder::new(&head, RATE).expect("decoder");
        let mut out = vec![0f32; MAX_FRAME * 2];
        let mut seed = 1u32;
        for len in 1..200 {
            let packet: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect();
            if let Ok(frames) = decoder.decode(&packet, &mut out) {
                assert!(frames <= MAX_FRAME);
            }
        }
    }
}
