//! Voice activity detection: silence is skipped, times stay on the original timeline, pure
//! silence never reaches the decoder, and `vad_filter` turns it off per request.

use crate::common::{
    PHRASE, TestServer, assert_error, pattern_wav, segment_windows, vad_models_dir,
};

async fn vad_server() -> TestServer {
    TestServer::start(|config| config.models_dir = vad_models_dir()).await
}

async fn verbose(server: &TestServer, audio: Vec<u8>, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut fields = vec![("model", "whisper-1"), ("response_format", "verbose_json")];
    fields.extend_from_slice(extra);
    let response = server
        .upload("/v1/audio/transcriptions", audio, "audio.wav", &fields)
        .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// 1 s silence, 20 s tone, 29 s silence, 20 s tone, 5 s silence: two chunks of speech
/// (both together would not fit one 30 s window).
fn tone_silence_tone() -> Vec<u8> {
    pattern_wav(
        &[
            (1.0, false),
            (20.0, true),
            (29.0, false),
            (20.0, true),
            (5.0, false),
        ],
        16_000,
    )
}

async fn stt_inference_count(server: &TestServer) -> f64 {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(r#"hearsay_inference_seconds_count{engine="stt"} "#)
                .map(|v| v.parse().unwrap())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn speech_is_found_and_times_stay_on_the_original_timeline() {
    let server = vad_server().await;
    assert_eq!(server.server.state().stt.vad_model(), Some("vad-energy"));
    let value = verbose(
        &server,
        tone_silence_tone(),
        &[
            ("timestamp_granularities[]", "word"),
            ("timestamp_granularities[]", "segment"),
        ],
    )
    .await;
    assert_eq!(value["duration"], 75.0);
    assert_eq!(value["text"], format!("{PHRASE} {PHRASE}"));
    let found = segment_windows(&value);
    assert_eq!(found.len(), 2, "{value}");
    // Only the speech is decoded, 30 s of it a window (the scripted model says its phrase at
    // the start of each window): the first window opens at the first tone, less the padding;
    // the second 30 s of speech later, which lies inside the second tone. Every time maps
    // back to the original audio.
    let (seek, start, end) = found[0];
    assert!((0.75..=1.0).contains(&start), "{value}");
    assert!((0.3..=start).contains(&(seek as f64 / 100.0)), "{value}");
    assert!(end > start && end <= 21.0, "{value}");
    let (seek, start, end) = found[1];
    assert!((50.0..70.0).contains(&start), "{value}");
    assert_eq!(seek, (start * 100.0).round() as i64, "{value}");
    assert!(end > start && end <= 70.5, "{value}");
    // Words are mapped the same way.
    let words = value["words"].as_array().unwrap();
    assert_eq!(words.len(), 4, "{value}");
    assert_eq!(words[2]["start"].as_f64(), Some(start), "{value}");
}

/// With two threads the detector searches the two halves of this upload at once (blocks of
/// 37.5 s, one tone each); the result must be exactly that of one pass on one thread.
#[tokio::test]
async fn parallel_detection_finds_what_one_pass_finds() {
    let mut answers = Vec::new();
    for threads in [1, 2] {
        let server = TestServer::start(|config| {
            config.models_dir = vad_models_dir();
            config.threads = threads;
        })
        .await;
        let value = verbose(&server, tone_silence_tone(), &[]).await;
        answers.push(segment_windows(&value));
    }
    assert_eq!(answers[0].len(), 2, "{answers:?}");
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn vad_filter_false_decodes_everything() {
    let server = vad_server().await;
    let value = verbose(&server, tone_silence_tone(), &[("vad_filter", "false")]).await;
    // Three 30 s windows, as without a detector: the middle one is all silence here.
    assert_eq!(
        segment_windows(&value),
        vec![(0, 0.0, 1.0), (3000, 30.0, 31.0), (6000, 60.0, 61.0)]
    );
    // The usual spellings of true work (and it is the default when a model is installed).
    let value = verbose(&server, tone_silence_tone(), &[("vad_filter", "TRUE")]).await;
    assert_eq!(segment_windows(&value).len(), 2);
}

#[tokio::test]
async fn pure_silence_returns_nothing_without_decoding() {
    let server = vad_server().await;
    let silence = pattern_wav(&[(10.0, false)], 16_000);
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            silence.clone(),
            "silence.wav",
            &[("model", "whisper-1")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["text"], "");

    let value = verbose(&server, silence.clone(), &[]).await;
    assert_eq!(value["text"], "");
    assert_eq!(value["duration"], 10.0);
    assert_eq!(value["segments"], serde_json::json!([]));
    // The decoder never ran.
    assert_eq!(stt_inference_count(&server).await, 0.0);

    // Without the filter the silence goes through whisper.
    verbose(&server, silence, &[("vad_filter", "0")]).await;
    assert_eq!(stt_inference_count(&server).await, 1.0);
}

#[tokio::test]
async fn a_bad_vad_filter_is_a_400_naming_the_field() {
    let server = vad_server().await;
    let (status, body) = server
        .transcribe(&[("model", "whisper-1"), ("vad_filter", "maybe")])
        .await;
    let error = assert_error(status, &body, 400, Some("vad_filter"));
    assert_eq!(error["code"], "invalid_value");
}

#[tokio::test]
async fn vad_off_ignores_an_installed_model() {
    let server = TestServer::start(|config| {
        config.models_dir = vad_models_dir();
        config.vad = hearsay::config::VadMode::Off;
    })
    .await;
    assert_eq!(server.server.state().stt.vad_model(), None);
    let value = verbose(&server, tone_silence_tone(), &[]).await;
    assert_eq!(segment_windows(&value).len(), 3);
}

/// whisper.cpp's VAD reads 512-sample frames: inputs shorter than one frame, or ending in a
/// partial frame, must still answer (empty or not), never fail or crash.
#[test]
fn vad_answers_for_any_input_length() {
    let inventory = hearsay::models::scan(&vad_models_dir());
    let vad = hearsay::stt::whisper::VadModel::load(&inventory.vad[0], 1).unwrap();
    for len in [1usize, 2, 100, 511, 512, 513, 1000, 16_000, 16_001] {
        let loud: Vec<f32> = (0..len)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let spans = vad
            .speech(0, &loud)
            .unwrap_or_else(|e| panic!("{len} samples: {e}"));
        assert!(
            spans.iter().all(|&(s, e)| s < e && e <= len),
            "{len}: {spans:?}"
        );
        let quiet = vec![0.0f32; len];
        assert_eq!(
            vad.speech(0, &quiet).unwrap(),
            [],
            "{len} samples of silence"
        );
    }
}
