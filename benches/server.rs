//! Server-level scheduling, measured through HTTP so it measures whatever scheduler exists:
//!
//! * head-of-line: latency of a 5 s transcription submitted while a long
//!   (`HEARSAY_BENCH_LONG_SECONDS`, 600) one runs, against its latency alone (target ≤ 3);
//! * VAD: the long file, half of it silence, with a VAD model installed (vad-energy.bin,
//!   `--vad auto`) against the same server without one (target ≤ 0.6).
//!
//! Default server settings (one job at a time, all threads), tiny model unless
//! HEARSAY_BENCH_MODEL says otherwise.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Target, report, skipped};

fn tweak(config: &mut hearsay::ServeConfig) {
    config.threads = common::threads();
    config.max_audio_seconds = 4.0 * 3600.0;
    config.max_upload_bytes = 1 << 30;
    config.request_timeout = 3600;
}

fn main() {
    if !common::bench_mode() {
        return;
    }
    let mut c = common::criterion();
    let preset = common::preset();
    let Some(model) = common::whisper_model(&preset, &common::quant()) else {
        skipped("server", "all", "no bench model");
        return;
    };
    let id = model.file_stem().unwrap().to_string_lossy().to_string();
    let long = common::long_seconds().max(60.0);
    let rt = common::runtime();
    let client = reqwest::Client::new();
    let mut group = c.benchmark_group("server");

    // Head-of-line blocking.
    {
        let dir = common::models_dir_with("hol", &[&model]);
        let (server, url) = rt.block_on(common::start_server(dir, tweak));
        let short = common::wav_bytes(&common::speechlike(5.0, 16_000, false), 16_000);
        let long_wav = common::wav_bytes(&common::speechlike(long, 16_000, false), 16_000);
        let solo = common::timed(&mut group, "5s/alone", || {
            rt.block_on(common::transcribe(&client, &url, &id, short.clone()));
        });
        // Long requests back to back for as long as the short ones are measured.
        let stop = Arc::new(AtomicBool::new(false));
        let background = {
            let (stop, client, url, id) = (stop.clone(), client.clone(), url.clone(), id.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    common::transcribe(&client, &url, &id, long_wav.clone()).await;
                }
            })
        };
        let loaded = common::timed_custom(&mut group, "5s/behind long", || {
            rt.block_on(async {
                // Let the long request get going first.
                tokio::time::sleep(Duration::from_millis(500)).await;
                let start = Instant::now();
                common::transcribe(&client, &url, &id, short.clone()).await;
                start.elapsed()
            })
        });
        stop.store(true, Ordering::Relaxed);
        rt.block_on(background).ok();
        rt.block_on(server.stop()).ok();
        report(
            "server",
            &format!("head-of-line: 5 s request behind a {long} s one / alone"),
            loaded.median() / solo.median(),
            "x",
            Target::Max(3.0),
        );
    }

    // VAD on a half-silent long file.
    match common::vad_model() {
        None => skipped("server", "vad", "no VAD model"),
        Some(vad) => {
            let wav = common::wav_bytes(&common::speechlike(long, 16_000, true), 16_000);
            let mut run = |name: &str, files: &[&std::path::Path]| {
                let dir = common::models_dir_with(name, files);
                let (server, url) = rt.block_on(common::start_server(dir, tweak));
                let times =
                    common::timed(&mut group, &format!("half-silent {long}s/{name}"), || {
                        rt.block_on(common::transcribe(&client, &url, &id, wav.clone()));
                    });
                rt.block_on(server.stop()).ok();
                times
            };
            let without = run("no-vad", &[&model]);
            let with = run("vad", &[&model, &vad]);
            report(
                "server",
                &format!("VAD: half-silent {long} s file, with VAD / without"),
                with.median() / without.median(),
                "x",
                Target::Max(0.6),
            );
        }
    }
    group.finish();
    c.final_summary();
}
