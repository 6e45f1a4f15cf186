//! `/v1/audio/speech` over HTTP with the generated Piper-contract voices: formats, speed,
//! voices and speakers, streaming, SSE, and every bad input.

use serde_json::{Value, json};

use crate::common::{TestServer, assert_error};

/// Samples per phoneme id of the tiny voices at length_scale 1: ceil(2 * 1.0) * 256.
const SAMPLES_PER_ID: usize = 512;

/// The samples of a streamed WAV (sizes 0xFFFFFFFF), up to the end of the body.
fn wav_samples(body: &[u8]) -> Vec<i16> {
    assert_eq!(&body[..4], b"RIFF");
    assert_eq!(&body[8..16], b"WAVEfmt ");
    let data = body
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    body[data..]
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

fn wav_rate(body: &[u8]) -> u32 {
    u32::from_le_bytes([body[24], body[25], body[26], body[27]])
}

fn request(voice: &str, input: &str, format: &str) -> Value {
    json!({ "model": "tts-1", "voice": voice, "input": input, "response_format": format })
}

/// Runs `program` with `body` on stdin and returns its stdout.
fn pipe_through(program: &str, args: &[&str], body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is installed (scripts/setup.sh): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let body = body.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output.stdout
}

/// ffprobe's codec name and sample rate, and the seconds ffmpeg decodes, of an encoded body.
fn probe(body: &[u8]) -> (String, u32, f64) {
    let info = pipe_through(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate",
            "-of",
            "json",
            "-i",
            "pipe:0",
        ],
        body,
    );
    let value: Value = serde_json::from_slice(&info).unwrap();
    let stream = &value["streams"][0];
    let rate: u32 = stream["sample_rate"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let decoded = pipe_through(
        "ffmpeg",
        &["-i", "pipe:0", "-f", "s16le", "-ac", "1", "-"],
        body,
    );
    let seconds = if rate == 0 {
        0.0
    } else {
        decoded.len() as f64 / 2.0 / f64::from(rate)
    };
    (
        stream["codec_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        rate,
        seconds,
    )
}

#[tokio::test]
async fn wav_is_the_voice_output_and_every_format_encodes_it() {
    let server = TestServer::default().await;
    let text = "Hello world. How are you today?";
    let (status, kind, wav) = server.speech(request("tiny-en", text, "wav")).await;
    assert_eq!((status, kind.as_str()), (200, "audio/wav"));
    assert_eq!(wav_rate(&wav), 22050);
    let samples = wav_samples(&wav);
    assert!(!samples.is_empty());
    assert_eq!(samples.len() % SAMPLES_PER_ID, 0, "whole phonemes only");
    // Piper's per-sentence peak normalisation reaches full scale.
    assert_eq!(samples.iter().map(|s| s.unsigned_abs()).max(), Some(32767));
    let seconds = samples.len() as f64 / 22050.0;

    // (format, content type, codec, rate, how much longer than the wav the codec may be)
    let cases = [
        ("mp3", "audio/mpeg", "mp3", 22050, 0.08),
        ("opus", "audio/ogg", "opus", 48000, 0.03),
        ("aac", "audio/aac", "aac", 22050, 0.2),
        ("flac", "audio/flac", "flac", 22050, 0.001),
    ];
    for (format, content_type, codec, rate, padding) in cases {
        let (status, kind, body) = server.speech(request("tiny-en", text, format)).await;
        assert_eq!(status, 200, "{format}");
        assert!(kind.starts_with(content_type), "{format}: {kind}");
        let (probed_codec, probed_rate, duration) = probe(&body);
        assert_eq!(
            (probed_codec.as_str(), probed_rate),
            (codec, rate),
            "{format}"
        );
        assert!(
            duration >= seconds - 0.03 && duration <= seconds + padding,
            "{format}: {duration} vs {seconds}"
        );
    }
    let (status, kind, pcm) = server.speech(request("tiny-en", text, "pcm")).await;
    assert_eq!((status, kind.as_str()), (200, "audio/pcm"));
    let expected = (samples.len() as f64 * 24000.0 / 22050.0).round() as i64;
    assert!(
        (pcm.len() as i64 / 2 - expected).abs() <= 1,
        "pcm is 24 kHz s16le"
    );
}

#[tokio::test]
async fn speed_halves_and_doubles_the_duration() {
    let server = TestServer::default().await;
    let length = |speed: f64| {
        let server = &server;
        async move {
            let mut body = request("tiny-en", "Hello there.", "wav");
            body["speed"] = json!(speed);
            let (status, _, wav) = server.speech(body).await;
            assert_eq!(status, 200, "speed {speed}");
            wav_samples(&wav).len()
        }
    };
    // Each id of the tiny voices lasts ceil(2 * length_scale / speed) * 256 samples.
    let ids = length(1.0).await / SAMPLES_PER_ID;
    let expected = |speed: f64| ids * (2.0 / speed).ceil() as usize * 256;
    assert_eq!(length(2.0).await, expected(2.0));
    assert_eq!(length(2.0).await * 2, length(1.0).await, "2.0 halves");
    assert_eq!(length(0.5).await, length(1.0).await * 2, "0.5 doubles");
    assert_eq!(length(0.25).await, expected(0.25));
    assert_eq!(length(4.0).await, expected(4.0));
}

#[tokio::test]
async fn voices_names_speakers_and_the_voice_map() {
    let server = TestServer::start(|config| {
        config.voice_map = vec![
            ("echo".into(), "tiny-de".into()),
            ("onyx".into(), "tiny-multi:bob".into()),
        ];
    })
    .await;
    let speak = |body: Value| {
        let server = &server;
        async move {
            let (status, _, wav) = server.speech(body.clone()).await;
            assert_eq!(status, 200, "{body}");
            wav_samples(&wav)
        }
    };
    let text = "Guten Tag.";
    let default = speak(request("tiny-en", text, "wav")).await;
    // Every OpenAI voice works; unmapped ones speak with the default voice.
    for voice in [
        "alloy", "ash", "ballad", "coral", "fable", "nova", "sage", "shimmer", "verse", "marin",
        "cedar",
    ] {
        assert_eq!(speak(request(voice, text, "wav")).await, default, "{voice}");
    }
    assert_eq!(
        speak(request("echo", text, "wav")).await,
        speak(request("tiny-de", text, "wav")).await
    );
    // The object form, an installed id as the model, speakers by name and number.
    let object = json!({"model": "tts-1", "voice": {"id": "tiny-de"}, "input": text, "response_format": "wav"});
    assert_eq!(
        speak(object).await,
        speak(request("tiny-de", text, "wav")).await
    );
    let bob = speak(request("tiny-multi:bob", text, "wav")).await;
    let alice = speak(request("tiny-multi:alice", text, "wav")).await;
    assert_ne!(bob, alice);
    assert_eq!(speak(request("tiny-multi:1", text, "wav")).await, bob);
    assert_eq!(speak(request("onyx", text, "wav")).await, bob);
    let by_model =
        json!({"model": "tiny-multi", "voice": "bob", "input": text, "response_format": "wav"});
    assert_eq!(speak(by_model).await, bob);
    let model_voice =
        json!({"model": "tiny-de", "voice": "alloy", "input": text, "response_format": "wav"});
    assert_eq!(
        speak(model_voice).await,
        speak(request("tiny-de", text, "wav")).await
    );
    // The 16 kHz voice keeps its rate.
    let (_, _, wav) = server.speech(request("tiny-en-16k", text, "wav")).await;
    assert_eq!(wav_rate(&wav), 16000);
}

#[tokio::test]
async fn audio_streams_sentence_by_sentence() {
    let server = TestServer::default().await;
    let response = server
        .client
        .post(format!("{}/v1/audio/speech", server.url))
        .json(&request(
            "tiny-en",
            "One. Two. Three. Four. Five. Six.",
            "pcm",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "chunked"
    );
    let mut chunks = 0;
    let mut response = response;
    while let Some(chunk) = response.chunk().await.unwrap() {
        assert!(!chunk.is_empty());
        chunks += 1;
    }
    assert!(chunks >= 6, "one chunk per sentence at least: {chunks}");
}

#[tokio::test]
async fn a_client_that_hangs_up_stops_synthesis() {
    let server = TestServer::default().await;
    let tts = || &server.server.state().tts;
    let text = "This sentence keeps going. ".repeat(150);
    let mut response = server
        .client
        .post(format!("{}/v1/audio/speech", server.url))
        .json(&request("tiny-en", &text, "wav"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.chunk().await.unwrap().is_some(), "audio started");
    drop(response);
    for _ in 0..1200 {
        if tts().cancelled() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        tts().cancelled(),
        1,
        "synthesis stopped before the 150 sentences were done"
    );
    // The worker is free again.
    let (status, _, _) = server.speech(request("tiny-en", "Next.", "wav")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn sse_sends_deltas_then_done() {
    let server = TestServer::default().await;
    let mut body = request("tiny-en", "One. Two.", "pcm");
    let (_, _, plain) = server.speech(body.clone()).await;
    body["stream_format"] = json!("sse");
    let (status, kind, events) = server.speech(body).await;
    assert_eq!((status, kind.as_str()), (200, "text/event-stream"));
    let events: Vec<Value> = String::from_utf8(events)
        .unwrap()
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let (done, deltas) = events.split_last().unwrap();
    assert_eq!(done["type"], "speech.audio.done");
    assert_eq!(done["usage"]["input_tokens"], 9);
    use base64::Engine as _;
    let audio: Vec<u8> = deltas
        .iter()
        .flat_map(|delta| {
            assert_eq!(delta["type"], "speech.audio.delta");
            base64::engine::general_purpose::STANDARD
                .decode(delta["audio"].as_str().unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(audio, plain);
}

#[tokio::test]
async fn bad_requests_get_the_envelope() {
    let server = TestServer::default().await;
    let with = |changes: Value| {
        let mut body = json!({"model": "tts-1", "voice": "alloy", "input": "Hello."});
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    let cases: Vec<(Value, u16, Option<&str>, Option<&str>)> = vec![
        (with(json!({"model": null})), 400, Some("model"), None),
        (
            with(json!({"model": "tts-9"})),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        (
            with(json!({"model": "../../etc/passwd"})),
            404,
            Some("model"),
            Some("model_not_found"),
        ),
        (with(json!({"input": null})), 400, Some("input"), None),
        (
            with(json!({"input": ""})),
            400,
            Some("input"),
            Some("empty_string"),
        ),
        (
            with(json!({"input": "   \n "})),
            400,
            Some("input"),
            Some("empty_string"),
        ),
        (
            with(json!({"input": "e".repeat(4097)})),
            400,
            Some("input"),
            Some("string_too_long"),
        ),
        (
            with(json!({"input": "e\u{301}".repeat(2049)})),
            400,
            Some("input"),
            Some("string_too_long"),
        ),
        (with(json!({"input": 5})), 400, Some("input"), None),
        (with(json!({"voice": null})), 400, Some("voice"), None),
        (
            with(json!({"voice": "nobody"})),
            400,
            Some("voice"),
            Some("invalid_value"),
        ),
        (
            with(json!({"voice": ""})),
            400,
            Some("voice"),
            Some("invalid_value"),
        ),
        (
            with(json!({"voice": "../../../../etc/passwd"})),
            400,
            Some("voice"),
            Some("invalid_value"),
        ),
        (
            with(json!({"voice": "tiny-multi:carol"})),
            400,
            Some("voice"),
            Some("invalid_value"),
        ),
        (
            with(json!({"voice": {"name": "x"}})),
            400,
            Some("voice"),
            None,
        ),
        (
            with(json!({"speed": 0})),
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            with(json!({"speed": -1})),
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            with(json!({"speed": 0.2499})),
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            with(json!({"speed": 4.0001})),
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            with(json!({"speed": "fast"})),
            400,
            Some("speed"),
            Some("invalid_value"),
        ),
        (
            with(json!({"response_format": "ogg"})),
            400,
            Some("response_format"),
            Some("invalid_value"),
        ),
        (
            with(json!({"response_format": "MP3"})),
            400,
            Some("response_format"),
            Some("invalid_value"),
        ),
        (
            with(json!({"response_format": ""})),
            400,
            Some("response_format"),
            Some("invalid_value"),
        ),
        (
            with(json!({"stream_format": "chunks"})),
            400,
            Some("stream_format"),
            Some("invalid_value"),
        ),
        (
            with(json!({"instructions": "x".repeat(4097)})),
            400,
            Some("instructions"),
            Some("string_too_long"),
        ),
    ];
    for (body, status, param, code) in cases {
        let (got, _, bytes) = server.speech(body.clone()).await;
        let error = assert_error(got, &String::from_utf8_lossy(&bytes), status, param);
        if let Some(code) = code {
            assert_eq!(error["code"], code, "{body}");
        }
    }
    // Accepted edges: exactly 4096 code points (astral ones included), speed limits,
    // instructions, and a body the SDK would send with nulls.
    let edge = "a\u{1F600}".repeat(2048);
    for body in [
        with(json!({"input": edge})),
        with(json!({"speed": 0.25})),
        with(json!({"speed": 4.0})),
        with(json!({"instructions": "Speak calmly.", "stream_format": "audio"})),
    ] {
        let (status, _, bytes) = server.speech(body.clone()).await;
        assert_eq!(status, 200, "{body}: {}", String::from_utf8_lossy(&bytes));
    }
    // Malformed JSON, the wrong content type, and a non-object body.
    let url = format!("{}/v1/audio/speech", server.url);
    for (content_type, body) in [
        ("application/json", "{\"model\": "),
        ("application/json", "[1, 2]"),
        ("application/json", "{\"input\": \"\\ud800\"}"),
        ("text/plain", "{}"),
    ] {
        let response = server
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_error(status, &response.text().await.unwrap(), 400, None);
    }
    // Still speaking.
    let (status, _, _) = server.speech(request("alloy", "Still here.", "wav")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn text_without_speakable_content_is_handled() {
    let server = TestServer::default().await;
    for input in [
        "\u{1F600}\u{1F600}",
        "\u{0}\u{7}\u{1b}[31m",
        "...",
        "\u{202E}abc",
        "9".repeat(4096).as_str(),
    ] {
        let (status, _, body) = server.speech(request("tiny-en", input, "wav")).await;
        assert!(
            status == 200 || status == 400,
            "{input:?}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        if status == 400 {
            assert_error(status, &String::from_utf8_lossy(&body), 400, Some("input"));
        }
    }
}

#[tokio::test]
async fn without_piper_voices_espeak_speaks() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(|config| {
        config.models_dir = dir.path().to_path_buf();
        config.default_voice = None;
    })
    .await;
    let (status, kind, wav) = server
        .speech(request("alloy", "Hello from espeak.", "wav"))
        .await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "audio/wav"),
        "{}",
        String::from_utf8_lossy(&wav)
    );
    assert_eq!(wav_rate(&wav), 22050);
    let samples = wav_samples(&wav);
    assert!(
        samples.len() > 22050 / 2,
        "at least half a second of speech"
    );
    assert!(
        samples.iter().any(|s| s.unsigned_abs() > 1000),
        "not silence"
    );
    let (status, _, mp3) = server.speech(request("nova", "And in mp3.", "mp3")).await;
    assert_eq!(status, 200);
    assert_eq!(probe(&mp3).0, "mp3");
}

#[tokio::test]
async fn broken_voice_models_are_skipped_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let voices = crate::common::models_dir().join("voices");
    let copy = |from: &str, to: &str| {
        for suffix in ["onnx", "onnx.json"] {
            std::fs::copy(
                voices.join(format!("{from}.{suffix}")),
                dir.path().join(format!("{to}.{suffix}")),
            )
            .unwrap();
        }
    };
    copy("tiny-en", "good");
    copy("tiny-en", "garbage");
    copy("tiny-en", "truncated");
    std::fs::write(dir.path().join("garbage.onnx"), b"not an onnx model").unwrap();
    let model = std::fs::read(voices.join("tiny-en.onnx")).unwrap();
    std::fs::write(dir.path().join("truncated.onnx"), &model[..model.len() / 2]).unwrap();
    let server = TestServer::start(|config| {
        config.models_dir = dir.path().to_path_buf();
        config.default_voice = None;
        // Two synthesis workers, each loading every voice before the server answers.
        config.max_concurrent = 2;
        config.threads = 2;
    })
    .await;
    let models = server.get_json("/v1/models").await;
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert_eq!(ids, ["good"], "{models}");
    let (status, _, body) = server.speech(request("garbage", "Hello.", "wav")).await;
    let error =
        crate::common::assert_error(status, &String::from_utf8_lossy(&body), 400, Some("voice"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with("(installed: good)."),
        "{error}"
    );
    for _ in 0..3 {
        let (status, kind, _) = server.speech(request("alloy", "Hello there.", "wav")).await;
        assert_eq!((status, kind.as_str()), (200, "audio/wav"));
    }
}
