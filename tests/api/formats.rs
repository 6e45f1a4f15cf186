//! Every input container and codec decodes, recognised by content rather than by name.

use crate::common::{PHRASE, TestServer, fixture};

/// Transcribes `name` uploaded as `filename` and returns the verbose_json duration.
async fn duration_of(server: &TestServer, name: &str, filename: &str) -> f64 {
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            fixture(name),
            filename,
            &[("model", "whisper-1"), ("response_format", "verbose_json")],
        )
        .await;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{name}: {body}");
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(value["text"], PHRASE, "{name}");
    value["duration"].as_f64().unwrap()
}

#[tokio::test]
async fn every_supported_format_transcribes() {
    let server = TestServer::default().await;
    // (fixture, seconds of tone, longest codec padding the decoder may leave in)
    let cases = [
        ("tone.wav", 0.25, 0.0),
        ("tone.flac", 1.5, 0.0),
        ("tone.mp3", 1.5, 0.08),
        ("tone.mpga", 1.5, 0.08),
        ("tone.m4a", 1.5, 0.07),
        ("tone.mp4", 1.5, 0.07),
        ("tone.ogg", 1.5, 0.0),
        ("tone.oga", 1.5, 0.0),
        ("tone.webm", 1.5, 0.03),
        ("tone-live.webm", 1.5, 0.03),
        ("tone-48k-6ch.wav", 0.125, 0.0),
        ("tone-8k-u8.wav", 1.5, 0.0),
    ];
    for (name, seconds, padding) in cases {
        let duration = duration_of(&server, name, name).await;
        assert!(
            duration >= seconds - 0.01 && duration <= seconds + 0.01 + padding,
            "{name}: duration {duration}"
        );
    }
}

#[tokio::test]
async fn opus_pre_skip_is_trimmed_exactly() {
    let server = TestServer::default().await;
    let duration = duration_of(&server, "tone.oga", "voice.ogg").await;
    assert!((duration - 1.5).abs() <= 0.005, "{duration}");
}

#[tokio::test]
async fn names_and_types_are_never_trusted() {
    let server = TestServer::default().await;
    // An mp3 called .wav, an Ogg without extension, and the names the SDKs use for raw bytes.
    for (name, filename) in [
        ("tone.mp3", "speech.wav"),
        ("tone.oga", "upload"),
        ("tone.webm", "unknown_file"),
        ("tone.flac", "../../etc/passwd"),
    ] {
        let duration = duration_of(&server, name, filename).await;
        assert!(duration > 1.4, "{name} as {filename}: {duration}");
    }
}
