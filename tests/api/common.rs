//! Shared test plumbing: generated models, fixtures, and a server per test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hearsay::{RunningServer, ServeConfig};

pub const PHRASE: &str = "hallo welt";
pub const TRANSLATION: &str = "hello world";
pub const ENGLISH_PHRASE: &str = "hello there";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Generated test models under `target/test-models`: whisper models in `stt/`, Piper voices in
/// `voices/`. The server is pointed at the parent, which it searches recursively.
pub fn models_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target/test-models");
        generate(
            &dir.join("stt"),
            "make_test_models.py",
            &[],
            &["scripted.bin", "scripted-en.bin"],
        );
        generate(
            &dir.join("voices"),
            "make_test_voices.py",
            &[],
            &["tiny-en.onnx", "tiny-multi.onnx.json"],
        );
        dir
    })
    .clone()
}

/// A models directory of its own with the scripted whisper models and the synthetic energy
/// VAD (`vad-energy.bin`: loud is speech), so other tests' model lists stay as they are.
pub fn vad_models_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target/test-models-vad");
        generate(
            &dir,
            "make_test_models.py",
            &["--vad"],
            &["scripted.bin", "vad-energy.bin"],
        );
        dir
    })
    .clone()
}

/// Runs `scripts/SCRIPT` with `args` into a staging directory and moves it to `dir`, unless
/// `dir` holds `expected` already.
fn generate(dir: &Path, script: &str, args: &[&str], expected: &[&str]) {
    if expected.iter().all(|name| dir.join(name).is_file()) {
        return;
    }
    let staging = dir.with_extension(format!("staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the staging directory");
    let status = Command::new(python())
        .arg(root().join("scripts").join(script))
        .arg(&staging)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("run scripts/{script} (needs the .venv from scripts/setup.sh): {e}")
        });
    assert!(status.success(), "scripts/{script} failed");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&staging, dir).expect("move the generated models into place");
}

fn python() -> PathBuf {
    if let Ok(python) = std::env::var("HEARSAY_PYTHON") {
        return python.into();
    }
    let venv = root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        "python3".into()
    }
}

/// The real faster-whisper tiny.en (CTranslate2) directory that `scripts/get_real_assets.sh`
/// fetches: under `$HEARSAY_REAL_ASSETS`, else `~/.cache/hearsay/real-assets`. A test that
/// needs it fails without it, never passes silently.
pub fn real_tiny_en() -> PathBuf {
    let assets = std::env::var_os("HEARSAY_REAL_ASSETS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/hearsay/real-assets"))
        })
        .expect("HEARSAY_REAL_ASSETS or HOME is set");
    let dir = assets.join("ct2/tiny.en");
    assert!(
        [
            "config.json",
            "model.bin",
            "tokenizer.json",
            "vocabulary.txt"
        ]
        .iter()
        .all(|name| dir.join(name).is_file()),
        "the real faster-whisper tiny.en is missing from {}: run scripts/get_real_assets.sh",
        dir.display()
    );
    dir
}

/// The size of whisper.cpp's own `ggml-tiny.en.bin`, which converting the real tiny.en matches.
pub const GGML_TINY_EN_BYTES: u64 = 77_704_715;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures").join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// 16-bit mono WAV of a 440 Hz tone.
pub fn tone_wav(seconds: f64, rate: u32) -> Vec<u8> {
    pattern_wav(&[(seconds, true)], rate)
}

/// 16-bit mono WAV of stretches of 440 Hz tone (`true`) and silence (`false`), in seconds.
pub fn pattern_wav(stretches: &[(f64, bool)], rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    let mut i = 0usize;
    for &(seconds, loud) in stretches {
        let samples = (seconds * f64::from(rate)).round() as usize;
        for _ in 0..samples {
            let t = i as f64 / f64::from(rate);
            let value = if loud {
                (t * 440.0 * std::f64::consts::TAU).sin() * 0.5
            } else {
                0.0
            };
            writer.write_sample((value * 32767.0) as i16).unwrap();
            i += 1;
        }
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

pub struct TestServer {
    pub url: String,
    pub server: RunningServer,
    pub client: reqwest::Client,
}

impl TestServer {
    pub async fn start(tweak: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = ServeConfig::new(models_dir());
        config.port = 0;
        config.default_stt_model = Some("scripted".into());
        config.default_voice = Some("tiny-en".into());
        tweak(&mut config);
        let server = hearsay::start(config).await.expect("server starts");
        Self {
            url: format!("http://{}", server.addr),
            server,
            client: reqwest::Client::new(),
        }
    }

    pub async fn default() -> Self {
        Self::start(|_| {}).await
    }

    /// GETs `path` and parses the JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request sent");
        response.json().await.expect("a JSON body")
    }

    /// POSTs a multipart upload of `audio` named `filename` with extra text fields.
    pub async fn upload(
        &self,
        path: &str,
        audio: Vec<u8>,
        filename: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(audio).file_name(filename.to_string()),
        );
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        self.client
            .post(format!("{}{path}", self.url))
            .multipart(form)
            .send()
            .await
            .expect("request sent")
    }

    /// POSTs a JSON speech request; returns status, content type and body.
    pub async fn speech(&self, body: serde_json::Value) -> (u16, String, Vec<u8>) {
        let response = self
            .client
            .post(format!("{}/v1/audio/speech", self.url))
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// A text transcription of a 1.5 s tone answers the scripted phrase.
    pub async fn assert_transcribes_the_phrase(&self) {
        let (status, body) = self
            .transcribe(&[("model", "whisper-1"), ("response_format", "text")])
            .await;
        assert_eq!(
            (status, body.as_str()),
            (200, format!("{PHRASE}\n").as_str())
        );
    }

    /// A transcription of a 1.5 s tone with `fields`; returns status and body.
    pub async fn transcribe(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .upload(
                "/v1/audio/transcriptions",
                tone_wav(1.5, 16_000),
                "tone.wav",
                fields,
            )
            .await;
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// Asserts an OpenAI error envelope with all four keys, and returns it.
pub fn assert_error(
    status: u16,
    body: &str,
    want_status: u16,
    want_param: Option<&str>,
) -> serde_json::Value {
    assert_eq!(status, want_status, "body: {body}");
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    let error = value["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert_eq!(error.len(), 4, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["type"].is_string(), "{body}");
    assert_eq!(error["param"].as_str(), want_param, "{body}");
    value["error"].clone()
}

/// (seek, start, end) of every segment of a verbose_json body.
pub fn segment_windows(value: &serde_json::Value) -> Vec<(i64, f64, f64)> {
    value["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seek"].as_i64().unwrap(),
                s["start"].as_f64().unwrap(),
                s["end"].as_f64().unwrap(),
            )
        })
        .collect()
}
