//! Text-to-speech on the Piper-medium-sized random voice (scripts/make_test_voices.py --medium):
//!
//! * through the server (`POST /v1/audio/speech`, wav) against the engine called directly
//!   (espeak-ng phonemes → ids → one ONNX Runtime session with one thread, as a server worker
//!   has → i16 → wav encoder), on the same text;
//! * time to first byte for a streamed 4096-character input against the time to synthesize its
//!   first sentence alone through the server (target ≤ 1.5);
//! * against piper-tts (Python, `scripts/bench_piper.py`) on the same voice and text, when the
//!   .venv has it (target: hearsay ≥ 1.2× piper's speed, i.e. time ratio ≤ 0.83).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Target, report, skipped};
use hearsay::audio::encode::{OutputFormat, StreamEncoder};
use hearsay::models::VoiceConfig;
use hearsay::tts::onnx::PiperSession;
use hearsay::tts::samples::to_i16;
use hearsay::tts::{espeak, phonemes};

const TEXT: &str = "The quick brown fox jumps over the lazy dog. A journey of a thousand miles \
begins with a single step. She sells sea shells by the sea shore, and the shells she sells are \
surely seashells.";

const VOICE: &str = "medium-random";

/// `TEXT` repeated up to exactly 4096 characters.
fn long_text() -> String {
    let mut text = String::new();
    while text.chars().count() < 4096 {
        text.push_str(TEXT);
        text.push(' ');
    }
    text.chars().take(4096).collect()
}

fn first_sentence(text: &str) -> &str {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    &text[..end]
}

/// Sends `text`; returns (time to the first body byte, total time, bytes). With `first_only`
/// it hangs up at the first byte (the server then stops synthesizing).
async fn speak_with(
    client: &reqwest::Client,
    url: &str,
    text: &str,
    first_only: bool,
) -> (Duration, Duration, usize) {
    let start = Instant::now();
    let mut response = client
        .post(format!("{url}/v1/audio/speech"))
        .json(&serde_json::json!({
            "model": "tts-1",
            "voice": VOICE,
            "input": text,
            "response_format": "wav",
        }))
        .send()
        .await
        .expect("request sent");
    assert!(response.status().is_success(), "{}", response.status());
    let mut first = None;
    let mut bytes = 0;
    while let Some(chunk) = response.chunk().await.expect("body") {
        if first.is_none() && !chunk.is_empty() {
            first = Some(start.elapsed());
            if first_only {
                return (start.elapsed(), start.elapsed(), chunk.len());
            }
        }
        bytes += chunk.len();
    }
    let total = start.elapsed();
    (first.unwrap_or(total), total, bytes)
}

async fn speak(client: &reqwest::Client, url: &str, text: &str) -> (Duration, Duration, usize) {
    speak_with(client, url, text, false).await
}

struct Direct {
    config: VoiceConfig,
    session: PiperSession,
}

impl Direct {
    fn speak(&mut self, text: &str) -> usize {
        let config = &self.config;
        let sentences = espeak::phonemize(&config.espeak.voice, text, &config.vowel_clusters)
            .expect("phonemes");
        let scales = config.inference.scales();
        let mut encoder =
            StreamEncoder::new(OutputFormat::Wav, config.audio.sample_rate).expect("encoder");
        let mut bytes = 0;
        for sentence in sentences.iter().filter(|s| !s.is_empty()) {
            let ids = phonemes::phonemes_to_ids(sentence, &config.phoneme_id_map);
            let audio = self.session.infer(&ids, scales, None).expect("inference");
            bytes += encoder.push(&to_i16(&audio)).expect("encode").len();
        }
        bytes + encoder.finish().expect("finish").len()
    }
}

fn python() -> std::path::PathBuf {
    let venv = common::root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        "python3".into()
    }
}

/// Rounds of piper-then-hearsay timings behind each piper-tts ratio.
const PIPER_ROUNDS: usize = 3;
/// Timed runs per side in each round (after piper's own warm-up run).
const PIPER_REPEAT: usize = 5;

/// Median wall seconds of `runs` calls of `routine`.
fn median_of(runs: usize, mut routine: impl FnMut()) -> f64 {
    common::median(
        (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                routine();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Median seconds piper-tts takes for `text` with `threads` ONNX Runtime threads, or why not.
fn piper(model: &std::path::Path, text: &str, threads: usize) -> Result<f64, String> {
    let out = Command::new(python())
        .arg(common::root().join("scripts/bench_piper.py"))
        .arg("--model")
        .arg(model)
        .args([
            "--text",
            text,
            "--repeat",
            &PIPER_REPEAT.to_string(),
            "--threads",
            &threads.to_string(),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .into());
    }
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| e.to_string())?;
    json["median_s"]
        .as_f64()
        .ok_or_else(|| "no median_s".into())
}

fn main() {
    if !common::bench_mode() {
        return;
    }
    let mut c = common::criterion();
    let Some(model) = common::medium_voice() else {
        skipped("tts", "all", "no bench voice");
        return;
    };
    let espeak_data = common::root().join("share/espeak-ng-data");
    if let Err(e) = espeak::init(&espeak_data) {
        skipped("tts", "all", &format!("espeak-ng: {e}"));
        return;
    }
    let config = VoiceConfig::load(&model.with_extension("onnx.json")).expect("voice config");
    // The server's one synthesis worker runs its session on every core: the engine does too.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let session = match PiperSession::load(&model, threads) {
        Ok(session) => session,
        Err(e) => {
            skipped("tts", "all", &format!("ONNX Runtime: {e}"));
            return;
        }
    };
    let mut direct = Direct { config, session };

    let rt = common::runtime();
    let dir = common::models_dir_with("tts", &[&model, &model.with_extension("onnx.json")]);
    let (server, url) = rt.block_on(common::start_server(dir, |config| {
        config.default_voice = Some(VOICE.into());
        config.max_concurrent = 1;
    }));
    let client = reqwest::Client::new();

    let mut group = c.benchmark_group("tts");
    let served = common::timed(&mut group, "paragraph/server", || {
        rt.block_on(speak(&client, &url, TEXT));
    });
    let engine = common::timed(&mut group, "paragraph/engine", || {
        std::hint::black_box(direct.speak(TEXT));
    });
    report(
        "tts",
        "server/engine time, paragraph",
        served.median() / engine.median(),
        "x",
        Target::None,
    );

    let long = long_text();
    let first = first_sentence(&long).to_string();
    let ttfb = common::timed_custom(&mut group, "4096 chars/ttfb", || {
        let ttfb = rt.block_on(speak_with(&client, &url, &long, true)).0;
        // The worker finishes the sentence it is on before it notices the hang-up.
        std::thread::sleep(Duration::from_millis(300));
        ttfb
    });
    let alone = common::timed(&mut group, "first sentence alone/server", || {
        rt.block_on(speak(&client, &url, &first));
    });
    let alone_engine = common::timed(&mut group, "first sentence alone/engine", || {
        std::hint::black_box(direct.speak(&first));
    });
    group.finish();
    report(
        "tts",
        "TTFB 4096 chars / first sentence alone (server)",
        ttfb.median() / alone.median(),
        "x",
        Target::Max(1.5),
    );
    report(
        "tts",
        "TTFB 4096 chars / first sentence alone (engine)",
        ttfb.median() / alone_engine.median(),
        "x",
        Target::None,
    );

    // piper-tts runs in another process, minutes after the Criterion samples above; on a
    // shared machine the load changes in between. So each ratio comes from rounds that time
    // piper and then hearsay back to back, and the median round is reported.
    for threads in [1, 2] {
        let mut rounds = Vec::new();
        for _ in 0..PIPER_ROUNDS {
            let piper_seconds = match piper(&model, TEXT, threads) {
                Ok(seconds) => seconds,
                Err(why) => {
                    skipped("tts", "piper-tts", &why);
                    break;
                }
            };
            let server_seconds = median_of(PIPER_REPEAT, || {
                rt.block_on(speak(&client, &url, TEXT));
            });
            let engine_seconds = median_of(PIPER_REPEAT, || {
                std::hint::black_box(direct.speak(TEXT));
            });
            rounds.push((
                piper_seconds / server_seconds,
                piper_seconds / engine_seconds,
            ));
        }
        if rounds.is_empty() {
            continue;
        }
        report(
            "tts",
            &format!("piper-tts ({threads} thr) time / hearsay server time, paragraph"),
            common::median(rounds.iter().map(|r| r.0).collect()),
            "x",
            Target::Min(1.2),
        );
        report(
            "tts",
            &format!("piper-tts ({threads} thr) time / hearsay engine time, paragraph"),
            common::median(rounds.iter().map(|r| r.1).collect()),
            "x",
            Target::None,
        );
    }
    rt.block_on(server.stop()).ok();
    c.final_summary();
}
