//! Decode + resample to 16 kHz mono for every input format, side by side with
//! `ffmpeg -i X -ar 16000 -ac 1 -f f32le -`, on `HEARSAY_BENCH_LONG_SECONDS` (600) of
//! speech-like audio encoded by ffmpeg at bench time (target/bench-fixtures/).
//!
//! Ratios: hearsay time / ffmpeg time per format (target ≤ 1) and × real time (target ≥ 300).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Target, report, skipped};
use hearsay::audio::{DecodeLimits, decode_for_whisper};

/// (name, file extension, ffmpeg encoder arguments)
const FORMATS: &[(&str, &str, &[&str])] = &[
    ("wav", "wav", &["-c:a", "pcm_s16le"]),
    ("flac", "flac", &["-c:a", "flac"]),
    ("mp3", "mp3", &["-c:a", "libmp3lame", "-b:a", "128k"]),
    ("m4a-aac", "m4a", &["-c:a", "aac", "-b:a", "128k"]),
    ("ogg-vorbis", "ogg", &["-c:a", "libvorbis", "-q:a", "4"]),
    ("ogg-opus", "opus", &["-c:a", "libopus", "-b:a", "48k"]),
    ("webm-opus", "webm", &["-c:a", "libopus", "-b:a", "48k"]),
];

fn fixtures(ffmpeg: &str, seconds: f64) -> Vec<(&'static str, PathBuf)> {
    let dir = common::root().join("target/bench-fixtures");
    std::fs::create_dir_all(&dir).expect("fixture dir");
    // The source: 44.1 kHz speech-like audio (every format below gets resampled).
    let source = dir.join(format!("source-{seconds}.wav"));
    if !source.is_file() {
        let samples = common::speechlike(seconds, 44_100, false);
        std::fs::write(&source, common::wav_bytes(&samples, 44_100)).expect("write source");
    }
    let mut out = Vec::new();
    for (name, ext, args) in FORMATS {
        let path = dir.join(format!("speech-{seconds}-{name}.{ext}"));
        if !path.is_file() {
            // Opus only takes 48 kHz and below; let ffmpeg pick what each encoder supports.
            let status = Command::new(ffmpeg)
                .args(["-v", "error", "-y", "-i"])
                .arg(&source)
                .args(*args)
                .arg(&path)
                .status();
            if !status.is_ok_and(|s| s.success()) {
                skipped("decode", name, "ffmpeg could not encode the fixture");
                continue;
            }
        }
        out.push((*name, path));
    }
    out
}

fn ffmpeg_decode(ffmpeg: &str, path: &PathBuf) -> usize {
    let output = Command::new(ffmpeg)
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-ar", "16000", "-ac", "1", "-f", "f32le", "-"])
        .stderr(Stdio::null())
        .output()
        .expect("run ffmpeg");
    assert!(output.status.success());
    output.stdout.len() / 4
}

fn main() {
    if !common::bench_mode() {
        return;
    }
    let mut c = common::criterion();
    let seconds = common::long_seconds();
    let Some(ffmpeg) = common::ffmpeg() else {
        skipped(
            "decode",
            "all formats",
            "ffmpeg not found (needed to make the fixtures)",
        );
        return;
    };
    let limits = DecodeLimits::default();
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for (name, path) in fixtures(ffmpeg, seconds) {
        let bytes = std::fs::read(&path).expect("read fixture");
        let ours = common::timed(&mut group, &format!("{name}/hearsay"), || {
            let pcm = decode_for_whisper(&bytes, &limits).expect("decodes");
            std::hint::black_box(pcm.samples.len());
        });
        let theirs = common::timed(&mut group, &format!("{name}/ffmpeg"), || {
            std::hint::black_box(ffmpeg_decode(ffmpeg, &path));
        });
        report(
            "decode",
            &format!("{name}: hearsay/ffmpeg time"),
            ours.median() / theirs.median(),
            "x",
            Target::Max(1.0),
        );
        report(
            "decode",
            &format!("{name}: hearsay x real time"),
            seconds / ours.median(),
            "x",
            Target::Min(300.0),
        );
        report(
            "decode",
            &format!("{name}: ffmpeg x real time"),
            seconds / theirs.median(),
            "x",
            Target::None,
        );
    }
    group.finish();
    c.final_summary();
}
