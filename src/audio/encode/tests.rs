//! Round trips through FFmpeg (when installed) and our own decoder.

use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::audio::test_signal::pitch;
use crate::audio::{DecodeLimits, decode_mono};

const RATES: [u32; 2] = [16_000, 22_050];
/// Uneven chunk sizes, cycled, as sentences and tests might deliver them.
const CUTS: [usize; 4] = [1, 37, 4_410, 20_000];
const ALL: [OutputFormat; 6] = [
    OutputFormat::Mp3,
    OutputFormat::Opus,
    OutputFormat::Aac,
    OutputFormat::Flac,
    OutputFormat::Wav,
    OutputFormat::Pcm,
];
/// The sine lasts this long, then a chirp to the end.
const SINE_SECONDS: f64 = 1.5;
const SECONDS: f64 = 2.5;

/// 1.5 s of 440 Hz then 1 s of a 200 Hz → 4 kHz chirp, at amplitude 0.5.
fn signal(rate: u32) -> Vec<i16> {
    let n = (SECONDS * f64::from(rate)).round() as usize;
    let sine_end = (SINE_SECONDS * f64::from(rate)) as usize;
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let freq = if i < sine_end {
                440.0
            } else {
                200.0 + 3_800.0 * (t - SINE_SECONDS) / (SECONDS - SINE_SECONDS)
            };
            phase += std::f64::consts::TAU * freq / f64::from(rate);
            (0.5 * phase.sin() * 32_767.0).round() as i16
        })
        .collect()
}

/// Encodes `samples` pushed in pieces of `cuts` (cycled); checks that the first push gives the
/// container header.
fn encode(format: OutputFormat, rate: u32, samples: &[i16], cuts: &[usize]) -> Vec<u8> {
    let mut encoder = StreamEncoder::new(format, rate).unwrap();
    let mut out = Vec::new();
    let mut rest = samples;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts[i % cuts.len()].min(rest.len());
        let bytes = encoder.push(&rest[..n]).unwrap();
        if i == 0 {
            let header = match format {
                OutputFormat::Wav => Some(&b"RIFF"[..]),
                OutputFormat::Flac => Some(&b"fLaC"[..]),
                OutputFormat::Opus => Some(&b"OggS"[..]),
                _ => None,
            };
            if let Some(magic) = header {
                assert!(bytes.starts_with(magic), "{format} {rate}: no header first");
            }
        }
        out.extend(bytes);
        rest = &rest[n..];
        i += 1;
    }
    out.extend(encoder.finish().unwrap());
    out
}

fn have_ffmpeg() -> bool {
    let ok = |tool: &str| {
        Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let have = ok("ffmpeg") && ok("ffprobe");
    if !have {
        eprintln!("note: ffmpeg/ffprobe not installed; skipping the FFmpeg checks");
    }
    have
}

/// What ffprobe says about the one audio stream.
#[derive(Debug, PartialEq)]
struct Probe {
    codec: String,
    profile: String,
    rate: u32,
    channels: u32,
}

fn ffprobe(bytes: &[u8], format: OutputFormat) -> Probe {
    let file = temp_file(bytes, format);
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0", "-show_entries"])
        .args([
            "stream=codec_name,profile,sample_rate,channels",
            "-of",
            "default=nw=1",
        ])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("ffprobe gave no {key}: {text}"))
            .to_string()
    };
    Probe {
        codec: field("codec_name"),
        profile: field("profile"),
        rate: field("sample_rate").parse().unwrap(),
        channels: field("channels").parse().unwrap(),
    }
}

/// FFmpeg's decode to mono s16 at the stream's own rate; any error or warning fails the test,
/// except the one every streamed WAV gets (FFmpeg's own too): with the size unknown, the
/// demuxer's last read comes up short and it flags that packet, though every sample arrives.
fn ffmpeg_decode(bytes: &[u8], format: OutputFormat) -> Vec<i16> {
    let file = temp_file(bytes, format);
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file.path())
        .args(["-f", "s16le", "-ac", "1", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            !(format == OutputFormat::Wav && l.ends_with("corrupt input packet in stream 0"))
        })
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "ffmpeg {format}: {stderr}"
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

fn temp_file(bytes: &[u8], format: OutputFormat) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(&format!(".{format}"))
        .tempfile()
        .unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// The middle of the sine, where every codec's start-up delay (≤ 0.1 s) is long past.
fn sine_part(x: &[f32], rate: u32) -> &[f32] {
    let r = f64::from(rate);
    &x[(0.3 * r) as usize..(1.2 * r) as usize]
}

fn f32s(x: &[i16]) -> Vec<f32> {
    x.iter().map(|&v| f32::from(v) / 32_768.0).collect()
}

/// How many more samples (at the output rate) than the input's duration a decoder may give:
/// the codec's documented start-up delay and end padding.
fn padding(format: OutputFormat, out_rate: u32) -> std::ops::RangeInclusive<usize> {
    match format {
        // LAME's 576-sample encoder delay, the decoder's 529, up to one 576-sample frame of
        // end padding (MPEG-2 frames), and LAME's flush adds one more frame.
        OutputFormat::Mp3 if out_rate < 32_000 => 576..=576 + 529 + 3 * 576,
        OutputFormat::Mp3 => 576..=576 + 529 + 3 * 1152,
        // 1024 priming samples, then the last frame rounded up to 1024.
        OutputFormat::Aac => 1024..=2048,
        // Exact: pre-skip and end trimming.
        OutputFormat::Opus | OutputFormat::Flac | OutputFormat::Wav | OutputFormat::Pcm => 0..=0,
    }
}

fn expected_len(format: OutputFormat, rate: u32, n: usize) -> usize {
    let out_rate = format.output_rate(rate);
    resampler::expected_len(n as u64, rate, out_rate) as usize
}

#[test]
fn every_format_round_trips_through_ffmpeg() {
    if !have_ffmpeg() {
        return;
    }
    for rate in RATES {
        let input = signal(rate);
        for format in ALL {
            let bytes = encode(format, rate, &input, &CUTS);
            let out_rate = format.output_rate(rate);
            if format == OutputFormat::Pcm {
                continue; // no container: checked in pcm_is_24khz_s16le
            }
            let probe = ffprobe(&bytes, format);
            let (codec, profile) = match format {
                OutputFormat::Mp3 => ("mp3", "unknown"),
                OutputFormat::Opus => ("opus", "unknown"),
                OutputFormat::Aac => ("aac", "LC"),
                OutputFormat::Flac => ("flac", "unknown"),
                OutputFormat::Wav => ("pcm_s16le", "unknown"),
                OutputFormat::Pcm => unreachable!(),
            };
            assert_eq!(
                probe,
                Probe {
                    codec: codec.into(),
                    profile: profile.into(),
                    rate: out_rate,
                    channels: 1
                },
                "{format} {rate}"
            );
            let decoded = ffmpeg_decode(&bytes, format);
            assert_decoded_length(&decoded, format, rate, out_rate, input.len());
            if matches!(format, OutputFormat::Flac | OutputFormat::Wav) {
                assert!(decoded == input, "{format} {rate}: not lossless");
            }
            let decoded = f32s(&decoded);
            let sine = sine_part(&decoded, out_rate);
            let hz = pitch(sine, out_rate);
            assert!((hz - 440.0).abs() < 2.0, "{format} {rate}: {hz} Hz");
            let level = rms(sine);
            assert!(
                (level - 0.3536).abs() < 0.02,
                "{format} {rate}: rms {level}"
            );
        }
    }
}

#[test]
fn our_decoder_reads_every_container() {
    for rate in RATES {
        let input = signal(rate);
        for format in ALL {
            if format == OutputFormat::Pcm {
                continue;
            }
            let bytes = encode(format, rate, &input, &CUTS);
            let pcm = decode_mono(&bytes, &DecodeLimits::default())
                .unwrap_or_else(|e| panic!("{format} {rate}: {e}"));
            let out_rate = format.output_rate(rate);
            assert_eq!(pcm.sample_rate, out_rate, "{format} {rate}");
            let want = expected_len(format, rate, input.len());
            let extra = pcm.samples.len() as i64 - want as i64;
            // Symphonia's MP3 and AAC decoders trim nothing either, like FFmpeg; its MP3
            // decoder skips its own 529-sample delay.
            let allowed = match format {
                OutputFormat::Mp3 => 0..=padding(format, out_rate).end().to_owned() as i64,
                _ => {
                    let p = padding(format, out_rate);
                    *p.start() as i64..=*p.end() as i64
                }
            };
            assert!(
                allowed.contains(&extra),
                "{format} {rate}: {} samples, {want} expected, +{allowed:?} allowed",
                pcm.samples.len()
            );
            if matches!(format, OutputFormat::Flac | OutputFormat::Wav) {
                assert_eq!(pcm.samples, f32s(&input), "{format} {rate}: not lossless");
            }
            let sine = sine_part(&pcm.samples, out_rate);
            let hz = pitch(sine, out_rate);
            assert!((hz - 440.0).abs() < 2.0, "{format} {rate}: {hz} Hz");
        }
    }
}

#[test]
fn pcm_is_24khz_s16le() {
    for rate in [16_000, 22_050, 24_000, 44_100] {
        let input = signal(rate);
        let bytes = encode(OutputFormat::Pcm, rate, &input, &CUTS);
        assert_eq!(bytes.len() % 2, 0);
        let out: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let want = (input.len() as f64 * 24_000.0 / f64::from(rate)).round() as i64;
        assert!(
            (out.len() as i64 - want).abs() <= 1,
            "{rate}: {}",
            out.len()
        );
        if rate == 24_000 {
            assert_eq!(out, input);
        }
        let out = f32s(&out);
        let hz = pitch(sine_part(&out, 24_000), 24_000);
        assert!((hz - 440.0).abs() < 1.0, "{rate}: {hz} Hz");
        let level = rms(sine_part(&out, 24_000));
        assert!((level - 0.3536).abs() < 0.005, "{rate}: rms {level}");
    }
}

#[test]
fn audio_comes_out_while_streaming() {
    // What a client has after the first second was pushed decodes to nearly a second: each
    // encoder holds back at most a frame or a block, not the stream.
    if !have_ffmpeg() {
        return;
    }
    for rate in RATES {
        let input = signal(rate);
        for format in ALL {
            if format == OutputFormat::Pcm {
                continue;
            }
            let mut encoder = StreamEncoder::new(format, rate).unwrap();
            let mut bytes = Vec::new();
            for chunk in input[..rate as usize].chunks(4_410) {
                bytes.extend(encoder.push(chunk).unwrap());
            }
            let decoded = ffmpeg_decode(&bytes, format).len();
            let seconds = decoded as f64 / f64::from(format.output_rate(rate));
            // FLAC holds back up to a block of 4096 samples (256 ms at 16 kHz); the others a
            // frame or two and a resampler block.
            let holdback = match format {
                OutputFormat::Flac => 4_096.0 / f64::from(rate),
                _ => 0.15,
            };
            assert!(seconds >= 1.0 - holdback, "{format} {rate}: {seconds} s");
        }
    }
}

#[test]
fn chunking_does_not_change_the_audio() {
    for rate in RATES {
        let input = signal(rate);
        for format in ALL {
            let whole = encode(format, rate, &input, &[usize::MAX]);
            let cut = encode(format, rate, &input, &CUTS);
            if format == OutputFormat::Opus {
                // Pages end where pushes end, so compare the packets.
                assert_eq!(ogg_packets(&whole), ogg_packets(&cut), "{format} {rate}");
            } else {
                assert!(whole == cut, "{format} {rate}");
            }
        }
    }
}

/// The packets of an Ogg stream, checking each page's CRC, sequence and flags on the way.
fn ogg_packets(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut sequence = 0;
    while !bytes.is_empty() {
        assert_eq!(&bytes[..4], b"OggS");
        let segments = usize::from(bytes[26]);
        let lacing = &bytes[27..27 + segments];
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let page_len = 27 + segments + body_len;
        let mut page = bytes[..page_len].to_vec();
        page[22..26].fill(0);
        assert_eq!(
            ogg::crc32(&page).to_le_bytes(),
            bytes[22..26],
            "page {sequence}: CRC"
        );
        assert_eq!(
            u32::from_le_bytes(bytes[18..22].try_into().unwrap()),
            sequence
        );
        let flags = bytes[5];
        assert_eq!(
            flags & 0x02 != 0,
            sequence == 0,
            "BOS only on the first page"
        );
        assert_eq!(
            flags & 0x04 != 0,
            page_len == bytes.len(),
            "EOS only on the last page"
        );
        let mut body = &bytes[27 + segments..page_len];
        for &l in lacing {
            packet.extend_from_slice(&body[..usize::from(l)]);
            body = &body[usize::from(l)..];
            if l < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        bytes = &bytes[page_len..];
        sequence += 1;
    }
    assert!(packet.is_empty(), "unfinished packet");
    packets
}

#[test]
fn opus_headers_and_granules() {
    for rate in RATES {
        let input = signal(rate);
        let bytes = encode(OutputFormat::Opus, rate, &input, &CUTS);
        let packets = ogg_packets(&bytes);
        let head = &packets[0];
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!((head[8], head[9]), (1, 1), "version, channels");
        let pre_skip = u16::from_le_bytes([head[10], head[11]]);
        assert_eq!(pre_skip, 312, "libopus's lookahead at 48 kHz");
        assert_eq!(u32::from_le_bytes(head[12..16].try_into().unwrap()), rate);
        assert!(packets[1].starts_with(b"OpusTags"));
        // 20 ms packets: just enough for pre-skip + every sample.
        let n48 = expected_len(OutputFormat::Opus, rate, input.len());
        let frames = (n48 + 312).div_ceil(960);
        assert_eq!(packets.len() - 2, frames);
        // The last page's granule: exactly pre-skip + the audio.
        let last = bytes.len() - bytes.windows(4).rev().position(|w| w == b"OggS").unwrap() - 4;
        let granule = u64::from_le_bytes(bytes[last + 6..last + 14].try_into().unwrap());
        assert_eq!(granule, 312 + n48 as u64);
    }
}

#[test]
fn empty_streams_are_valid() {
    let ffmpeg = have_ffmpeg();
    for rate in RATES {
        for format in ALL {
            for push_empty in [false, true] {
                let mut encoder = StreamEncoder::new(format, rate).unwrap();
                let mut bytes = Vec::new();
                if push_empty {
                    bytes.extend(encoder.push(&[]).unwrap());
                }
                bytes.extend(encoder.finish().unwrap());
                match format {
                    // No container: no audio is no bytes.
                    OutputFormat::Pcm | OutputFormat::Aac => {
                        assert!(bytes.is_empty(), "{format}: {} bytes", bytes.len());
                        continue;
                    }
                    // LAME's flush always gives a few frames of silence.
                    OutputFormat::Mp3 => assert!(bytes.len() <= 1_000, "{}", bytes.len()),
                    OutputFormat::Wav => assert_eq!(bytes.len(), wav::HEADER_LEN),
                    OutputFormat::Flac => assert_eq!(bytes.len(), 42),
                    OutputFormat::Opus => assert!(bytes.starts_with(b"OggS")),
                }
                if ffmpeg {
                    let probe = ffprobe(&bytes, format);
                    assert_eq!(probe.rate, format.output_rate(rate), "{format}");
                    assert_eq!(probe.channels, 1, "{format}");
                    let decoded = ffmpeg_decode(&bytes, format).len();
                    assert!(
                        padding(format, probe.rate).contains(&decoded),
                        "{format}: {decoded}"
                    );
                }
            }
        }
    }
}

#[test]
fn other_rates_encode_sensibly() {
    let ffmpeg = have_ffmpeg();
    for rate in [8_000, 11_025, 24_000, 44_100, 48_000, 12_345] {
        let input: Vec<i16> = signal(rate)[..rate as usize / 2].to_vec();
        for format in ALL {
            let bytes = encode(format, rate, &input, &[999]);
            let out_rate = format.output_rate(rate);
            if format == OutputFormat::Pcm {
                assert_eq!(out_rate, 24_000);
                let want = (input.len() as f64 * 24_000.0 / f64::from(rate)).round() as usize;
                assert_eq!(bytes.len(), want * 2, "{rate}");
                continue;
            }
            if !ffmpeg {
                continue;
            }
            let probe = ffprobe(&bytes, format);
            assert_eq!(
                (probe.rate, probe.channels),
                (out_rate, 1),
                "{format} {rate}"
            );
            let decoded = ffmpeg_decode(&bytes, format);
            assert_decoded_length(&decoded, format, rate, out_rate, input.len());
        }
    }
}

#[test]
fn output_rates() {
    use OutputFormat::*;
    for rate in [16_000, 22_050, 24_000, 44_100, 48_000, 8_000] {
        assert_eq!(Mp3.output_rate(rate), rate);
        assert_eq!(Aac.output_rate(rate), rate);
        assert_eq!(Flac.output_rate(rate), rate);
        assert_eq!(Wav.output_rate(rate), rate);
        assert_eq!(Opus.output_rate(rate), 48_000);
        assert_eq!(Pcm.output_rate(rate), 24_000);
    }
    assert_eq!(Mp3.output_rate(12_345), 12_000);
    assert_eq!(Mp3.output_rate(96_000), 48_000);
    assert_eq!(Aac.output_rate(96_000), 96_000);
    assert_eq!(Aac.output_rate(7_000), 7_350);
}

#[test]
fn rejects_unsupported_rates() {
    for rate in [0, 999, 384_001, u32::MAX] {
        for format in ALL {
            assert!(matches!(
                StreamEncoder::new(format, rate),
                Err(EncodeError::UnsupportedRate { .. })
            ));
        }
    }
}

#[test]
fn parse_takes_exact_lowercase_names() {
    for (i, name) in OutputFormat::NAMES.iter().enumerate() {
        let format = OutputFormat::parse(name).unwrap();
        assert_eq!(format, ALL[i]);
        assert_eq!(format.name(), *name);
    }
    for bad in ["MP3", "Opus", "ogg", "", " mp3", "mp3 ", "wave", "m4a"] {
        assert_eq!(OutputFormat::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn content_types() {
    let types: Vec<_> = ALL.iter().map(|f| f.content_type()).collect();
    assert_eq!(
        types,
        [
            "audio/mpeg",
            "audio/ogg; codecs=opus",
            "audio/aac",
            "audio/flac",
            "audio/wav",
            "audio/pcm"
        ]
    );
}

#[test]
fn flac_compresses_speechlike_audio() {
    let input = signal(22_050);
    let bytes = encode(OutputFormat::Flac, 22_050, &input, &CUTS);
    assert!(
        bytes.len() < input.len() * 2 * 6 / 10,
        "{} bytes",
        bytes.len()
    );
}

/// Encode speed per format; run with
/// `cargo test --release encode_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn encode_speed() {
    let seconds = 60.0;
    for rate in [16_000, 22_050, 24_000] {
        let tone = signal(rate);
        let input: Vec<i16> = tone
            .iter()
            .cycle()
            .take((seconds * f64::from(rate)) as usize)
            .copied()
            .collect();
        for format in ALL {
            let start = std::time::Instant::now();
            let bytes = encode(format, rate, &input, &[rate as usize * 3]);
            let took = start.elapsed().as_secs_f64();
            println!(
                "{format:>4} {rate:>5} Hz: {:>7.3} ms per second of audio ({:>6.0}x real time), {:>6.1} kbit/s",
                took * 1e3 / seconds,
                seconds / took,
                bytes.len() as f64 * 8.0 / seconds / 1e3
            );
        }
    }
}

/// ffmpeg decoded what went in, plus no more than the codec's documented padding.
fn assert_decoded_length(
    decoded: &[i16],
    format: OutputFormat,
    rate: u32,
    out_rate: u32,
    input_len: usize,
) {
    let want = expected_len(format, rate, input_len);
    let extra = decoded.len() as i64 - want as i64;
    let allowed = padding(format, out_rate);
    assert!(
        extra >= *allowed.start() as i64 && extra <= *allowed.end() as i64,
        "{format} {rate}: {} samples decoded, {want} expected, +{allowed:?} allowed",
        decoded.len()
    );
}
