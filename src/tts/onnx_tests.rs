//! Tests for the runtime loader and [`PiperSession`] on the tiny voices of
//! `scripts/make_test_voices.py`. They need ONNX Runtime in share/onnxruntime/ (scripts/setup.sh
//! puts it there) and fail, not skip, without it.
//!
//! The tiny voices turn each phoneme id into `ceil(2 * length_scale) * 256` samples of
//! `0.5 * sin(2π f k / rate)`, `f = 100 + 10 id + 50 sid + 100 noise_scale + 50 noise_w` Hz,
//! with k restarting at every id.

use super::*;
use crate::models::VoiceConfig;
use crate::tts::samples::to_i16;
use std::process::Command;
use std::sync::OnceLock;

const HOP: usize = 256;
const DEFAULT_SCALES: [f32; 3] = [0.667, 1.0, 0.8];
/// `^ _ h _ ə _ l _ $`
const IDS: [i64; 9] = [1, 0, 20, 0, 59, 0, 24, 0, 2];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Loads ONNX Runtime from share/onnxruntime/, or fails the test with the fix.
pub(crate) fn require_runtime() -> PathBuf {
    init_runtime(Some(&repo().join("share/onnxruntime"))).unwrap_or_else(|e| {
        panic!("{e}\n\nThe text-to-speech tests need ONNX Runtime: run scripts/setup.sh")
    })
}

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("HEARSAY_PYTHON") {
        return python.into();
    }
    let venv = repo().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        "python3".into()
    }
}

/// FNV-1a of the generator script: voices from an older script are made again.
fn script_stamp(script: &Path) -> String {
    let bytes = std::fs::read(script).expect("read scripts/make_test_voices.py");
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}\n")
}

/// The tiny voices, generated once into target/test-models/voices.
pub(crate) fn test_voices() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = repo().join("scripts/make_test_voices.py");
        let stamp = script_stamp(&script);
        let dir = repo().join("target/test-models/voices");
        let current = |dir: &Path| {
            std::fs::read_to_string(dir.join(".stamp")).is_ok_and(|s| s == stamp)
        };
        if current(&dir) {
            return dir;
        }
        let staging = repo().join(format!("target/test-models/voices-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).expect("create the staging directory");
        let python = python();
        let output = Command::new(&python)
            .arg(&script)
            .arg(&staging)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {} scripts/make_test_voices.py ({e}): run scripts/setup.sh", python.display())
            });
        assert!(
            output.status.success(),
            "scripts/make_test_voices.py failed (it needs the onnx package: run scripts/setup.sh):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(staging.join(".stamp"), &stamp).expect("write the stamp");
        let _ = std::fs::remove_dir_all(&dir);
        // Another test process may have won the race; its voices are as good as ours.
        if std::fs::rename(&staging, &dir).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
            assert!(current(&dir), "cannot move the generated voices into {}", dir.display());
        }
        dir
    })
    .clone()
}

fn load(voice: &str) -> PiperSession {
    require_runtime();
    let path = test_voices().join(format!("{voice}.onnx"));
    PiperSession::load(&path, 1).unwrap_or_else(|e| panic!("{e}"))
}

fn config(voice: &str) -> VoiceConfig {
    VoiceConfig::load(&test_voices().join(format!("{voice}.onnx.json"))).unwrap()
}

fn samples_per_id(length_scale: f32) -> usize {
    (2.0 * length_scale).ceil() as usize * HOP
}

/// The tiny voices' design, in f64.
fn expected_audio(ids: &[i64], scales: [f32; 3], sid: i64, rate: f64) -> Vec<f64> {
    let [noise, _, noise_w] = scales.map(f64::from);
    let per_id = samples_per_id(scales[1]);
    let mut audio = Vec::new();
    for &id in ids {
        let f = 100.0 + 10.0 * id as f64 + 50.0 * sid as f64 + 100.0 * noise + 50.0 * noise_w;
        audio
            .extend((0..per_id).map(|k| 0.5 * (std::f64::consts::TAU * f * k as f64 / rate).sin()));
    }
    audio
}

fn assert_close(actual: &[f32], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len());
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        // float32 phase of up to ~1000 rad: error ~1e-4.
        assert!((f64::from(a) - e).abs() < 2e-3, "sample {i}: {a} vs {e}");
    }
}

#[test]
fn session_is_send() {
    fn send<T: Send>() {}
    send::<PiperSession>();
}

#[test]
fn output_length_is_ceil_of_twice_length_scale_hops_per_id() {
    let mut session = load("tiny-en");
    assert!(!session.has_speaker_input());
    for length_scale in [1.0f32, 1.6, 0.4, 0.5, 2.0, 0.01] {
        let scales = [0.667, length_scale, 0.8];
        let audio = session.infer(&IDS, scales, None).unwrap();
        assert_eq!(
            audio.len(),
            IDS.len() * samples_per_id(length_scale),
            "length_scale {length_scale}"
        );
        assert_close(&audio, &expected_audio(&IDS, scales, 0, 22050.0));
    }
    // One id.
    let audio = session.infer(&[5], DEFAULT_SCALES, None).unwrap();
    assert_eq!(audio.len(), 512);
    // Long input (a 2000-id sentence).
    let long: Vec<i64> = (0..2000).map(|i| i % 166).collect();
    let audio = session.infer(&long, DEFAULT_SCALES, None).unwrap();
    assert_eq!(audio.len(), 2000 * 512);
}

#[test]
fn noise_scales_and_sample_rate_change_the_frequency() {
    let mut session = load("tiny-en");
    let scales = [0.2, 1.0, 0.3];
    let audio = session.infer(&IDS, scales, None).unwrap();
    assert_close(&audio, &expected_audio(&IDS, scales, 0, 22050.0));

    let mut session = load("tiny-en-16k");
    let audio = session.infer(&IDS, DEFAULT_SCALES, None).unwrap();
    assert_close(&audio, &expected_audio(&IDS, DEFAULT_SCALES, 0, 16000.0));
    assert_eq!(config("tiny-en-16k").audio.sample_rate, 16000);
}

#[test]
fn every_single_speaker_voice_loads_and_runs() {
    for voice in ["tiny-en", "tiny-de", "tiny-es", "tiny-cmn", "tiny-en-16k"] {
        let config = config(voice);
        assert_eq!(config.num_speakers, 1);
        assert_eq!(config.num_symbols, 256);
        let mut session = load(voice);
        assert!(!session.has_speaker_input(), "{voice}");
        let audio = session
            .infer(&IDS, config.inference.scales(), None)
            .unwrap();
        assert_eq!(audio.len(), IDS.len() * 512, "{voice}");
    }
    assert_eq!(config("tiny-de").espeak.voice, "de");
    assert_eq!(config("tiny-cmn").espeak.voice, "cmn");
}

#[test]
fn multi_speaker_voice_needs_and_uses_a_speaker_id() {
    let config = config("tiny-multi");
    assert_eq!(config.num_speakers, 2);
    assert_eq!(config.speaker_id("alice"), Some(0));
    assert_eq!(config.speaker_id("bob"), Some(1));
    let mut session = load("tiny-multi");
    assert!(session.has_speaker_input());
    let error = session.infer(&IDS, DEFAULT_SCALES, None).unwrap_err();
    assert!(matches!(error, OnnxError::Request(_)), "{error}");
    assert!(error.to_string().contains("speaker"), "{error}");

    let alice = session.infer(&IDS, DEFAULT_SCALES, Some(0)).unwrap();
    let bob = session.infer(&IDS, DEFAULT_SCALES, Some(1)).unwrap();
    assert_close(&alice, &expected_audio(&IDS, DEFAULT_SCALES, 0, 22050.0));
    assert_close(&bob, &expected_audio(&IDS, DEFAULT_SCALES, 1, 22050.0));
    assert_ne!(alice, bob);
}

#[test]
fn single_speaker_voice_refuses_a_speaker_id_and_empty_input() {
    let mut session = load("tiny-en");
    let error = session.infer(&IDS, DEFAULT_SCALES, Some(0)).unwrap_err();
    assert!(matches!(error, OnnxError::Request(_)), "{error}");
    let error = session.infer(&[], DEFAULT_SCALES, None).unwrap_err();
    assert!(matches!(error, OnnxError::Request(_)), "{error}");
}

#[test]
fn out_of_range_ids_are_errors_not_crashes() {
    // The tiny voice has no embedding table, so any id runs; a negative length does not.
    let mut session = load("tiny-en");
    let audio = session.infer(&[i64::MAX, -7], DEFAULT_SCALES, None);
    assert!(audio.is_ok() || matches!(audio, Err(OnnxError::Run(_))));
}

#[test]
fn to_i16_of_a_tiny_voice_is_full_scale() {
    let mut session = load("tiny-en");
    let audio = session.infer(&IDS, DEFAULT_SCALES, None).unwrap();
    let samples = to_i16(&audio);
    assert_eq!(samples.len(), audio.len());
    // Every phoneme starts at phase 0.
    assert_eq!(samples[0], 0);
    assert_eq!(samples[512], 0);
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert_eq!(peak, 32767);
}

/// Replaces every occurrence of `from` in the model with `to` (same length), which renames a
/// graph input consistently.
fn patched_model(voice: &str, from: &[u8], to: &[u8], dir: &Path) -> PathBuf {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(test_voices().join(format!("{voice}.onnx"))).unwrap();
    let mut count = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(
        count > 0,
        "`{}` not in {voice}.onnx",
        String::from_utf8_lossy(from)
    );
    let path = dir.join(format!("{voice}-patched.onnx"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn models_breaking_the_piper_contract_are_rejected() {
    require_runtime();
    let dir = tempfile::tempdir().unwrap();
    for (voice, from, to, expected) in [
        (
            "tiny-en",
            &b"input_lengths"[..],
            &b"input_lengthX"[..],
            "unexpected input `input_lengthX`",
        ),
        ("tiny-en", b"scales", b"scalez", "unexpected input `scalez`"),
        ("tiny-multi", b"sid", b"sod", "unexpected input `sod`"),
    ] {
        let path = patched_model(voice, from, to, dir.path());
        let error = PiperSession::load(&path, 1).unwrap_err();
        assert!(matches!(error, OnnxError::Contract { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("is not a Piper voice model"), "{message}");
    }
}

#[test]
fn unloadable_model_files_are_errors() {
    require_runtime();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf").unwrap();
    let error = PiperSession::load(&garbage, 1).unwrap_err();
    assert!(matches!(error, OnnxError::Load { .. }), "{error}");
    assert!(error.to_string().contains("garbage.onnx"), "{error}");

    let error = PiperSession::load(&dir.path().join("missing.onnx"), 1).unwrap_err();
    assert!(error.to_string().contains("missing.onnx"), "{error}");
    let error = PiperSession::load(dir.path(), 1).unwrap_err();
    assert!(matches!(error, OnnxError::Load { .. }), "{error}");

    // A truncated real model.
    let bytes = std::fs::read(test_voices().join("tiny-en.onnx")).unwrap();
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert!(PiperSession::load(&truncated, 1).is_err());
}

#[test]
fn sessions_run_on_several_threads_at_once() {
    let mut sessions: Vec<PiperSession> = (0..3).map(|_| load("tiny-multi")).collect();
    let threads: Vec<_> = sessions
        .drain(..)
        .enumerate()
        .map(|(i, mut session)| {
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        session
                            .infer(&IDS, DEFAULT_SCALES, Some(i as i64 % 2))
                            .unwrap()
                            .len()
                    })
                    .sum::<usize>()
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), 5 * IDS.len() * 512);
    }
    // More than one intra-op thread gives the same audio.
    require_runtime();
    let path = test_voices().join("tiny-en.onnx");
    let mut one = PiperSession::load(&path, 1).unwrap();
    let mut four = PiperSession::load(&path, 4).unwrap();
    let long: Vec<i64> = (0..300).map(|i| i % 166).collect();
    assert_eq!(
        one.infer(&long, DEFAULT_SCALES, None).unwrap(),
        four.infer(&long, DEFAULT_SCALES, None).unwrap()
    );
}

/// Runs `test` alone in a new process: the runtime can be loaded only once per process, so
/// the failure paths must run before any test loads it.
fn in_fresh_process(test: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HEARSAY_FRESH_PROCESS", "1")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{test} failed:\n{log}");
    assert!(log.contains("1 passed"), "{test} did not run:\n{log}");
}

#[test]
fn init_runtime_failures_are_errors_naming_the_paths_and_the_fix() {
    // libtest names tests by their module path without the crate name.
    let module = module_path!().split_once("::").unwrap().1;
    in_fresh_process(&format!(
        "{module}::init_runtime_failures_in_a_fresh_process"
    ));
}

#[test]
#[ignore = "run in a fresh process by init_runtime_failures_are_errors_naming_the_paths_and_the_fix"]
fn init_runtime_failures_in_a_fresh_process() {
    assert_eq!(std::env::var("HEARSAY_FRESH_PROCESS").as_deref(), Ok("1"));
    let dir = tempfile::tempdir().unwrap();
    let not_a_library = dir.path().join("libonnxruntime.so");
    std::fs::write(&not_a_library, b"not an ELF file").unwrap();
    let empty_dir = tempfile::tempdir().unwrap();
    for bogus in [
        PathBuf::from("/nonexistent/libonnxruntime.so.1.31.1"),
        not_a_library.clone(),
        empty_dir.path().to_path_buf(),
        // A real library that is not ONNX Runtime.
        PathBuf::from("/lib/x86_64-linux-gnu/libm.so.6"),
    ] {
        if bogus.starts_with("/lib") && !bogus.is_file() {
            continue;
        }
        let error = init_runtime(Some(&bogus)).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, OnnxError::Runtime { .. }), "{message}");
        assert!(message.contains(&*bogus.to_string_lossy()), "{message}");
        assert!(message.contains("scripts/get_onnxruntime.sh"), "{message}");
        assert!(message.contains("--onnxruntime PATH"), "{message}");
    }
    // A failed attempt does not stop a later good one; after that the library stays.
    let loaded = require_runtime();
    assert!(
        loaded.starts_with(repo().join("share/onnxruntime")),
        "{}",
        loaded.display()
    );
    assert_eq!(init_runtime(Some(&not_a_library)).unwrap(), loaded);
    assert_eq!(init_runtime(None).unwrap(), loaded);
}
