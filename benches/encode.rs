//! Each speech output encoder (src/audio/encode.rs) per second of 22.05 kHz mono audio, with
//! `wav` (no encoding: a header and the copy into bytes) as the baseline measured in the same
//! run. `pcm` is not free: OpenAI's raw PCM is 24 kHz, so it includes a resample.

mod common;

use common::{Target, report};
use hearsay::audio::encode::{OutputFormat, StreamEncoder};

const RATE: u32 = 22_050;
const SECONDS: f64 = 60.0;
/// Piper hands the encoder one sentence at a time; about 3 s each.
const CHUNK: usize = 3 * RATE as usize;

fn encode(format: OutputFormat, samples: &[i16]) -> usize {
    let mut encoder = StreamEncoder::new(format, RATE).expect("encoder starts");
    let mut bytes = 0;
    for chunk in samples.chunks(CHUNK) {
        bytes += encoder.push(chunk).expect("encodes").len();
    }
    bytes + encoder.finish().expect("finishes").len()
}

fn main() {
    if !common::bench_mode() {
        return;
    }
    let mut c = common::criterion();
    let samples: Vec<i16> = common::speechlike(SECONDS, RATE, false)
        .iter()
        .map(|x| (x * 32767.0) as i16)
        .collect();
    let mut group = c.benchmark_group("encode");
    let mut times = Vec::new();
    for name in OutputFormat::NAMES {
        let format = OutputFormat::parse(name).expect("a format");
        let t = common::timed(&mut group, name, || {
            std::hint::black_box(encode(format, &samples));
        });
        times.push((*name, t.median()));
    }
    group.finish();
    let wav = times
        .iter()
        .find(|(name, _)| *name == "wav")
        .map_or(f64::NAN, |t| t.1);
    for (name, t) in &times {
        report(
            "encode",
            &format!("{name}: ms per audio second"),
            t / SECONDS * 1e3,
            "ms",
            Target::None,
        );
        report(
            "encode",
            &format!("{name}: x real time"),
            SECONDS / t,
            "x",
            Target::None,
        );
        report(
            "encode",
            &format!("{name}: time / wav time"),
            t / wav,
            "x",
            Target::None,
        );
    }
    c.final_summary();
}
