//! Speech-to-text end to end through the HTTP server against whisper-rs called directly on
//! the same model, audio and parameters (greedy best_of 5 as the server uses, same threads,
//! flash attention off as the server's default context), for a 30 s clip and a
//! `HEARSAY_BENCH_LONG_SECONDS` (600) file. The ratio server/direct is our overhead (targets
//! ≤ 1.03 and ≤ 1.01).
//!
//! Also measured directly on the 30 s clip: flash attention on vs off, and q8_0 vs f16.
//! Settings from the environment: HEARSAY_BENCH_MODEL (tiny|base), HEARSAY_BENCH_QUANT
//! (f16|q8_0), HEARSAY_BENCH_THREADS (2), HEARSAY_BENCH_LONG_SECONDS (600; 0 skips the long
//! file), HEARSAY_BENCH_TAG.

mod common;

use std::path::Path;

use common::{Target, report, skipped};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

fn context(path: &Path, flash_attn: bool) -> WhisperContext {
    let mut params = WhisperContextParameters::default();
    params.flash_attn(flash_attn);
    WhisperContext::new_with_params(path, params).expect("whisper.cpp loads the model")
}

/// The server's parameters (src/stt/whisper.rs) for a request with `language=de`.
fn direct(state: &mut whisper_rs::WhisperState, pcm: &[f32], threads: usize) -> usize {
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 5 });
    params.set_n_threads(threads as i32);
    params.set_translate(false);
    params.set_language(Some("de"));
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    params.set_token_timestamps(false);
    params.set_temperature(0.0);
    state.full(params, pcm).expect("whisper_full");
    state.full_n_segments() as usize
}

fn main() {
    if !common::bench_mode() {
        return;
    }
    let mut c = common::criterion();
    let threads = common::threads();
    let preset = common::preset();
    let quant = common::quant();
    let Some(model) = common::whisper_model(&preset, &quant) else {
        skipped("stt", "all", "no bench model");
        return;
    };
    let id = model.file_stem().unwrap().to_string_lossy().to_string();
    let label = format!("{preset} {quant} {threads}t");
    whisper_rs::install_logging_hooks();

    let rt = common::runtime();
    let dir = common::models_dir_with(&format!("stt-{id}"), &[&model]);
    let (server, url) = rt.block_on(common::start_server(dir, |config| {
        config.threads = threads;
        config.max_concurrent = 1;
        config.max_audio_seconds = 4.0 * 3600.0;
        config.max_upload_bytes = 1 << 30;
        config.request_timeout = 3600;
    }));
    let client = reqwest::Client::new();
    let ctx = context(&model, false);
    let mut state = ctx.create_state().expect("a whisper state");

    let long = common::long_seconds();
    let mut clips = vec![("30s", 30.0)];
    if long > 0.0 {
        clips.push(("long", long));
    }
    let mut group = c.benchmark_group(format!("stt {label}"));
    for (name, seconds) in clips {
        let samples = common::speechlike(seconds, 16_000, false);
        let wav = common::wav_bytes(&samples, 16_000);
        let pcm = common::as_i16_roundtrip(&samples);
        let text = rt.block_on(common::transcribe(&client, &url, &id, wav.clone()));
        assert!(text.contains("hallo welt"), "{text}");
        let served = common::timed(&mut group, &format!("{name}/server"), || {
            rt.block_on(common::transcribe(&client, &url, &id, wav.clone()));
        });
        let direct_t = common::timed(&mut group, &format!("{name}/whisper-rs"), || {
            std::hint::black_box(direct(&mut state, &pcm, threads));
        });
        let target = if name == "30s" { 1.03 } else { 1.01 };
        report(
            "stt",
            &format!("{label}: server/whisper-rs time, {seconds} s"),
            served.median() / direct_t.median(),
            "x",
            Target::Max(target),
        );
        report(
            "stt",
            &format!("{label}: whisper-rs x real time, {seconds} s"),
            seconds / direct_t.median(),
            "x",
            Target::None,
        );
        report(
            "stt",
            &format!("{label}: server x real time, {seconds} s"),
            seconds / served.median(),
            "x",
            Target::None,
        );
        if name != "30s" {
            continue;
        }
        // Engine settings, measured directly on the clip.
        let fa_ctx = context(&model, true);
        let mut fa_state = fa_ctx.create_state().expect("a whisper state");
        let fa = common::timed(&mut group, "30s/whisper-rs flash-attn", || {
            std::hint::black_box(direct(&mut fa_state, &pcm, threads));
        });
        report(
            "stt",
            &format!("{label}: flash-attn on/off time, 30 s"),
            fa.median() / direct_t.median(),
            "x",
            Target::None,
        );
        if quant == "f16"
            && let Some(q8) = common::whisper_model(&preset, "q8_0")
        {
            let q8_ctx = context(&q8, false);
            let mut q8_state = q8_ctx.create_state().expect("a whisper state");
            let q = common::timed(&mut group, "30s/whisper-rs q8_0", || {
                std::hint::black_box(direct(&mut q8_state, &pcm, threads));
            });
            report(
                "stt",
                &format!("{label}: q8_0/f16 time, 30 s"),
                q.median() / direct_t.median(),
                "x",
                Target::None,
            );
        }
    }
    group.finish();
    rt.block_on(server.stop()).ok();
    c.final_summary();
}
