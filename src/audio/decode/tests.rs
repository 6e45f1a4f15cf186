//! Fixtures come from scripts/make_fixtures.sh: a 440 Hz sine at amplitude 0.5 in every channel.

use std::io::Cursor;

use super::*;
use crate::audio::decode_for_whisper;
use crate::audio::test_signal::pitch;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Expected (rate, seconds) and how much longer than `seconds` codec padding may make it.
/// AAC: symphonia ignores the MP4 edit list, so 1024 priming samples plus up to one frame of
/// end padding remain. MP2: no gapless info, up to 2 frames of 1152. WebM: symphonia ignores
/// DiscardPadding, so up to one 20 ms Opus packet remains.
const FIXTURES: [(&str, u32, f64, f64); 13] = [
    ("tone.wav", 44_100, 0.25, 0.0),
    ("tone-48k-6ch.wav", 48_000, 0.125, 0.0),
    ("tone-8k-u8.wav", 8_000, 1.5, 0.0),
    ("short-50ms.wav", 44_100, 0.05, 0.0),
    ("tone.flac", 22_050, 1.5, 0.0),
    ("tone.mp3", 44_100, 1.5, 0.0),
    ("tone.m4a", 44_100, 1.5, 2048.0 / 44_100.0),
    ("tone.mp4", 44_100, 1.5, 2048.0 / 44_100.0),
    ("tone.mpga", 44_100, 1.5, 2304.0 / 44_100.0),
    ("tone.ogg", 44_100, 1.5, 0.0),
    ("tone.oga", 48_000, 1.5, 0.0),
    ("tone.webm", 48_000, 1.5, 0.02),
    ("tone-live.webm", 48_000, 1.5, 0.02),
];

#[test]
fn every_fixture_decodes_to_its_duration_level_and_pitch() {
    for (name, rate, seconds, padding) in FIXTURES {
        let pcm = decode_mono(&fixture(name), &limits()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pcm.sample_rate, rate, "{name}");
        let got = pcm.duration_seconds();
        assert!(
            got > seconds - 0.03 && got < seconds + padding + 0.03,
            "{name}: {got} s"
        );
        // Skip the edges, where codecs fade in and out.
        let n = pcm.samples.len();
        let middle = &pcm.samples[n / 4..n * 3 / 4];
        let level = rms(middle);
        assert!((level - 0.3536).abs() < 0.03, "{name}: rms {level}");
        let hz = pitch(middle, rate);
        assert!((hz - 440.0).abs() < 15.0, "{name}: {hz} Hz");
    }
}

#[test]
fn ogg_opus_pre_skip_and_end_trim_are_exact() {
    let pcm = decode_mono(&fixture("tone.oga"), &limits()).expect("decodes");
    assert!(
        (pcm.duration_seconds() - 1.5).abs() <= 0.005,
        "{}",
        pcm.duration_seconds()
    );
    // Pre-skip dropped: the sine starts at once rather than after ~6.5 ms of warm-up.
    assert!(rms(&pcm.samples[..240]) > 0.2);
}

#[test]
fn fixtures_reach_16k_through_decode_for_whisper() {
    for (name, _, seconds, padding) in FIXTURES {
        let result = decode_for_whisper(&fixture(name), &limits());
        if seconds < limits().min_seconds {
            assert!(matches!(result, Err(AudioError::TooShort { .. })), "{name}");
            continue;
        }
        let pcm = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pcm.sample_rate, 16_000);
        let got = pcm.duration_seconds();
        assert!(
            got > seconds - 0.03 && got < seconds + padding + 0.03,
            "{name}: {got}"
        );
    }
}

#[test]
fn opus_is_synthesized_at_16k_with_the_same_signal_as_resampling_48k() {
    for name in ["tone.oga", "tone.webm", "tone-live.webm"] {
        let bytes = fixture(name);
        let direct = decode_mono_preferring(&bytes, &limits(), Some(16_000)).expect(name);
        assert_eq!(direct.sample_rate, 16_000, "{name}");
        let via_48k = crate::audio::resample(decode_mono(&bytes, &limits()).expect(name), 16_000);
        // Pre-skip, granule and trims are scaled by exactly 3.
        assert_eq!(direct.samples.len(), via_48k.samples.len(), "{name}");
        let n = direct.samples.len();
        let (a, b) = (
            &direct.samples[n / 4..n * 3 / 4],
            &via_48k.samples[n / 4..n * 3 / 4],
        );
        assert!((rms(a) - 0.3536).abs() < 0.03, "{name}: rms {}", rms(a));
        assert!((pitch(a, 16_000) - 440.0).abs() < 15.0, "{name}");
        // Same waveform, in phase: the difference is codec detail, far below the signal.
        let diff: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
        assert!(rms(&diff) < 0.02, "{name}: difference rms {}", rms(&diff));
    }
    // Exact length from the Ogg granule: 1.5 s at 16 kHz.
    let ogg = decode_mono_preferring(&fixture("tone.oga"), &limits(), Some(16_000)).expect("oga");
    assert_eq!(ogg.samples.len(), 24_000);
}

#[test]
fn opus_falls_back_to_48k_for_rates_libopus_cannot_make() {
    for rate in [44_100, 22_050, 32_000] {
        let pcm = decode_mono_preferring(&fixture("tone.oga"), &limits(), Some(rate)).expect("oga");
        assert_eq!(pcm.sample_rate, 48_000, "{rate}");
    }
    // Other codecs keep their own rate whatever is preferred.
    let flac =
        decode_mono_preferring(&fixture("tone.flac"), &limits(), Some(16_000)).expect("flac");
    assert_eq!(flac.sample_rate, 22_050);
}

#[test]
fn duration_cap_stops_decoding() {
    let short = DecodeLimits {
        max_seconds: 0.5,
        ..limits()
    };
    for name in [
        "tone.ogg",
        "tone.oga",
        "tone-live.webm",
        "tone.mp3",
        "tone-8k-u8.wav",
    ] {
        let result = decode_mono(&fixture(name), &short);
        assert_eq!(
            result,
            Err(AudioError::TooLong { max_seconds: 0.5 }),
            "{name}"
        );
    }
    // Exactly at the cap is fine.
    let exact = DecodeLimits {
        max_seconds: 1.5,
        ..limits()
    };
    assert!(decode_mono(&fixture("tone-8k-u8.wav"), &exact).is_ok());
}

#[test]
fn not_audio_is_rejected() {
    assert_eq!(decode_mono(&[], &limits()), Err(AudioError::Empty));
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0\x1f\xf3\xffa";
    assert_eq!(decode_mono(png, &limits()), Err(AudioError::Unrecognized));
    let text = "Hello, this is not audio at all.\n".repeat(100);
    assert_eq!(
        decode_mono(text.as_bytes(), &limits()),
        Err(AudioError::Unrecognized)
    );
    let mut seed = 42u32;
    let noise: Vec<u8> = (0..65_536)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect();
    assert_eq!(
        decode_mono(&noise, &limits()),
        Err(AudioError::Unrecognized)
    );
    assert_eq!(
        decode_mono(&fixture("video-only.mp4"), &limits()),
        Err(AudioError::NoAudioTrack)
    );
}

/// A 16-bit WAV of `frames` frames of the test tone, in memory.
fn wav(rate: u32, channels: u16, frames: usize) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("writer");
    for i in 0..frames {
        let x = 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin();
        for _ in 0..channels {
            writer.write_sample((x * 32_767.0) as i16).expect("write");
        }
    }
    writer.finalize().expect("finalize");
    bytes.into_inner()
}

fn float_wav(samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("writer");
    samples
        .iter()
        .for_each(|&s| writer.write_sample(s).expect("write"));
    writer.finalize().expect("finalize");
    bytes.into_inner()
}

/// Byte offset of the data chunk's size field in a hound WAV.
fn data_size_at(bytes: &[u8]) -> usize {
    bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("data chunk")
        + 4
}

#[test]
fn wav_edge_cases() {
    // No samples at all: a valid, empty stream (decode_for_whisper calls it too short).
    let empty = decode_mono(&wav(16_000, 1, 0), &limits()).expect("empty wav");
    assert!(empty.samples.is_empty());
    assert_eq!(
        decode_for_whisper(&wav(16_000, 1, 0), &limits()),
        Err(AudioError::TooShort {
            seconds: 0.0,
            min_seconds: 0.1
        })
    );

    // Truncated halfway: what is there decodes.
    let full = wav(16_000, 2, 16_000);
    let half = decode_mono(&full[..full.len() / 2], &limits()).expect("truncated wav");
    assert!(
        (half.duration_seconds() - 0.5).abs() < 0.01,
        "{}",
        half.duration_seconds()
    );

    // A streaming writer's "unknown" data size: read to the end of the file.
    let mut open = full.clone();
    let at = data_size_at(&open);
    open[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    open[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let pcm = decode_mono(&open, &limits()).expect("open-ended wav");
    assert!(
        (pcm.duration_seconds() - 1.0).abs() < 0.01,
        "{}",
        pcm.duration_seconds()
    );

    // Eight channels are averaged.
    let pcm = decode_mono(&wav(16_000, 8, 8_000), &limits()).expect("8 channels");
    assert_eq!(pcm.samples.len(), 8_000);
    assert!((rms(&pcm.samples) - 0.3536).abs() < 0.01);
}

#[test]
fn bad_sample_rates_are_invalid() {
    for rate in [0u32, 768_001, u32::MAX] {
        let mut bytes = wav(16_000, 1, 1_600);
        // The fmt chunk's sample rate sits at byte 24 of a canonical WAV.
        bytes[24..28].copy_from_slice(&rate.to_le_bytes());
        let result = decode_mono(&bytes, &limits());
        assert!(
            matches!(result, Err(AudioError::Invalid { .. })),
            "{rate}: {result:?}"
        );
    }
}

#[test]
fn non_finite_and_loud_samples_are_cleaned() {
    let samples = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 2.0, -3.0, 0.25];
    let pcm = decode_mono(&float_wav(&samples), &limits()).expect("float wav");
    assert_eq!(pcm.samples, vec![0.0, 0.0, 0.0, 1.0, -1.0, 0.25]);
}

#[test]
fn unsupported_wav_codec_is_named() {
    let mut bytes = wav(16_000, 1, 1_600);
    // Format tag 0x0055: MP3 inside WAV, which symphonia's WAV reader does not take.
    bytes[20..22].copy_from_slice(&0x0055u16.to_le_bytes());
    assert_eq!(
        decode_mono(&bytes, &limits()),
        Err(AudioError::UnsupportedCodec {
            codec: "mp3 in wav".into()
        })
    );
}

#[test]
fn broken_headers_never_panic() {
    // A RIFF size below 4 underflows inside symphonia's WAV reader (a panic in debug builds).
    let mut bytes = wav(16_000, 1, 1_600);
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let _ = decode_mono(&bytes, &limits());
    // A header and nothing else.
    let bytes = wav(16_000, 1, 1_600);
    assert!(decode_mono(&bytes[..30], &limits()).is_err());
}

#[test]
fn truncated_compressed_files_keep_what_decoded() {
    for name in [
        "tone.mp3",
        "tone.ogg",
        "tone.oga",
        "tone.webm",
        "tone-live.webm",
        "tone.flac",
    ] {
        let bytes = fixture(name);
        let pcm = decode_mono(&bytes[..bytes.len() * 6 / 10], &limits())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Vorbis headers take half of tone.ogg, so less audio survives there.
        let got = pcm.duration_seconds();
        assert!(got > 0.15 && got < 1.2, "{name}: {got}");
    }
}

/// Corrupt every fixture in many ways: each decode must return, whatever it returns.
#[test]
fn corrupted_fixtures_never_escape() {
    let mut seed = 7u32;
    let mut next = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed as usize
    };
    let short = DecodeLimits {
        max_seconds: 5.0,
        ..limits()
    };
    for (name, ..) in FIXTURES {
        let clean = fixture(name);
        for round in 0..24 {
            let mut bytes = clean.clone();
            match round % 3 {
                // Scattered byte flips, header included.
                0 => (0..8).for_each(|_| {
                    let at = next() % bytes.len();
                    bytes[at] ^= (next() % 255 + 1) as u8;
                }),
                // A run of garbage somewhere.
                1 => {
                    let at = next() % bytes.len();
                    let end = (at + 64).min(bytes.len());
                    bytes[at..end].iter_mut().for_each(|b| *b = next() as u8);
                }
                // Cut anywhere.
                _ => bytes.truncate(next() % bytes.len()),
            }
            let _ = decode_mono(&bytes, &short);
        }
    }
}
