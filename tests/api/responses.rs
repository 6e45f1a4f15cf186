//! Response shapes, byte for byte, on both endpoints; languages, segments and words.

use crate::common::{ENGLISH_PHRASE, PHRASE, TRANSLATION, TestServer, segment_windows, tone_wav};

async fn get(server: &TestServer, path: &str, fields: &[(&str, &str)]) -> (String, String) {
    let response = server
        .upload(path, tone_wav(1.5, 44_100), "tone.wav", fields)
        .await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, response.text().await.unwrap())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

#[tokio::test]
async fn transcription_formats_are_exact() {
    let server = TestServer::default().await;
    let path = "/v1/audio/transcriptions";
    let with = |format| [("model", "whisper-1"), ("response_format", format)];

    let (kind, body) = get(&server, path, &[("model", "whisper-1")]).await;
    assert_eq!(kind, "application/json");
    assert_eq!(
        body,
        r#"{"text":"hallo welt","usage":{"type":"duration","seconds":2}}"#
    );

    let (kind, body) = get(&server, path, &with("text")).await;
    assert_eq!(
        (kind.as_str(), body.as_str()),
        ("text/plain; charset=utf-8", "hallo welt\n")
    );

    let (kind, body) = get(&server, path, &with("srt")).await;
    assert_eq!(kind, "text/plain; charset=utf-8");
    assert_eq!(body, "1\n00:00:00,000 --> 00:00:01,000\nhallo welt\n\n");

    let (kind, body) = get(&server, path, &with("vtt")).await;
    assert_eq!(kind, "text/vtt; charset=utf-8");
    assert_eq!(
        body,
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhallo welt\n\n"
    );

    let (kind, body) = get(&server, path, &with("verbose_json")).await;
    assert_eq!(kind, "application/json");
    let value = json(&body);
    assert_eq!(value["task"], "transcribe");
    assert_eq!(value["language"], "german");
    assert_eq!(value["duration"], 1.5);
    assert_eq!(value["text"], PHRASE);
    assert_eq!(value["usage"]["seconds"], 2);
    assert!(value.get("words").is_none());
    let segments = value["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 1);
    let segment = &segments[0];
    assert_eq!(segment["id"], 0);
    assert_eq!(segment["seek"], 0);
    assert_eq!(segment["start"], 0.0);
    assert_eq!(segment["end"], 1.0);
    assert_eq!(segment["text"], " hallo welt");
    assert_eq!(segment["temperature"], 0.0);
    let tokens: Vec<i64> = segment["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    assert_eq!(
        tokens.first(),
        Some(&50364),
        "opens with <|0.00|>: {tokens:?}"
    );
    assert_eq!(
        tokens.last(),
        Some(&50414),
        "closes with <|1.00|>: {tokens:?}"
    );
    assert!(segment["avg_logprob"].as_f64().unwrap() > -0.1);
    assert!(segment["compression_ratio"].as_f64().unwrap() > 0.0);
    assert!(segment["no_speech_prob"].as_f64().unwrap() < 0.1);
}

#[tokio::test]
async fn translation_formats_are_exact() {
    let server = TestServer::default().await;
    let path = "/v1/audio/translations";
    let with = |format| [("model", "whisper-1"), ("response_format", format)];

    let (_, body) = get(&server, path, &[("model", "whisper-1")]).await;
    assert_eq!(body, r#"{"text":"hello world"}"#);
    let (_, body) = get(&server, path, &with("text")).await;
    assert_eq!(body, "hello world\n");
    let (_, body) = get(&server, path, &with("srt")).await;
    assert_eq!(body, "1\n00:00:00,020 --> 00:00:01,000\nhello world\n\n");
    let (_, body) = get(&server, path, &with("vtt")).await;
    assert_eq!(
        body,
        "WEBVTT\n\n00:00:00.020 --> 00:00:01.000\nhello world\n\n"
    );
    let (_, body) = get(&server, path, &with("verbose_json")).await;
    let value = json(&body);
    assert_eq!(value["task"], "translate");
    assert_eq!(value["language"], "english");
    assert_eq!(value["text"], TRANSLATION);
    assert_eq!(value["segments"][0]["text"], " hello world");
    assert_eq!(value["segments"][0]["start"], 0.02);
}

#[tokio::test]
async fn routes_without_the_v1_prefix_work() {
    let server = TestServer::default().await;
    let (_, body) = get(
        &server,
        "/audio/transcriptions",
        &[("model", "whisper-1"), ("response_format", "text")],
    )
    .await;
    assert_eq!(body, "hallo welt\n");
    let (_, body) = get(
        &server,
        "/audio/translations",
        &[("model", "whisper-1"), ("response_format", "text")],
    )
    .await;
    assert_eq!(body, "hello world\n");
}

#[tokio::test]
async fn word_and_segment_granularities() {
    let server = TestServer::default().await;
    let path = "/v1/audio/transcriptions";
    let base = [("model", "whisper-1"), ("response_format", "verbose_json")];

    let mut fields = base.to_vec();
    fields.push(("timestamp_granularities[]", "word"));
    let value = json(&get(&server, path, &fields).await.1);
    assert!(value.get("segments").is_none(), "word only: {value}");
    let words: Vec<(String, f64, f64)> = value["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["word"].as_str().unwrap().to_string(),
                w["start"].as_f64().unwrap(),
                w["end"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(words.len(), 2, "{words:?}");
    assert_eq!(words[0].0, "hallo");
    assert_eq!(words[1].0, "welt");
    // Real token timings from the model: distinct, ordered, inside the segment.
    assert_eq!(words[0].1, 0.0);
    assert!(words[0].2 > 0.0 && words[0].2 < 1.0, "{words:?}");
    assert_eq!(words[1].1, words[0].2);
    assert_eq!(words[1].2, 1.0);

    fields.push(("timestamp_granularities[]", "segment"));
    let value = json(&get(&server, path, &fields).await.1);
    assert_eq!(value["words"].as_array().unwrap().len(), 2);
    assert_eq!(value["segments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn language_is_detected_or_taken_as_given() {
    let server = TestServer::default().await;
    let path = "/v1/audio/transcriptions";
    let language_of = |fields: Vec<(&'static str, &'static str)>| {
        let server = &server;
        async move {
            let mut all = vec![("model", "whisper-1"), ("response_format", "verbose_json")];
            all.extend(fields);
            json(&get(server, path, &all).await.1)["language"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(language_of(vec![]).await, "german");
    assert_eq!(language_of(vec![("language", "en")]).await, "english");
    assert_eq!(language_of(vec![("language", "French")]).await, "french");
    assert_eq!(language_of(vec![("language", "auto")]).await, "german");
}

#[tokio::test]
async fn english_only_models_never_detect() {
    let server = TestServer::default().await;
    let fields = [
        ("model", "scripted-en"),
        ("response_format", "verbose_json"),
    ];
    let value = json(&get(&server, "/v1/audio/transcriptions", &fields).await.1);
    assert_eq!(value["language"], "english");
    assert_eq!(value["text"], ENGLISH_PHRASE);
    let value = json(&get(&server, "/v1/audio/translations", &fields).await.1);
    assert_eq!(value["text"], ENGLISH_PHRASE);
}

#[tokio::test]
async fn long_audio_gets_a_segment_per_window_and_times_are_clamped() {
    let server = TestServer::default().await;
    let fields = [("model", "whisper-1"), ("response_format", "verbose_json")];
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            tone_wav(65.0, 16_000),
            "long.wav",
            &fields,
        )
        .await;
    let value = json(&response.text().await.unwrap());
    let windows: Vec<(i64, f64, f64)> = segment_windows(&value);
    assert_eq!(
        windows,
        vec![(0, 0.0, 1.0), (3000, 30.0, 31.0), (6000, 60.0, 61.0)]
    );
    assert_eq!(value["text"], "hallo welt hallo welt hallo welt");

    // Translation segments open at 0.02 s of each window.
    let response = server
        .upload(
            "/v1/audio/translations",
            tone_wav(65.0, 16_000),
            "long.wav",
            &fields,
        )
        .await;
    let value = json(&response.text().await.unwrap());
    let windows: Vec<(i64, f64, f64)> = segment_windows(&value);
    assert_eq!(
        windows,
        vec![(0, 0.02, 1.0), (3000, 30.02, 31.0), (6000, 60.02, 61.0)]
    );

    // The model always claims 1.00 s; a 0.5 s clip must not end after 0.5 s.
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            tone_wav(0.5, 16_000),
            "short.wav",
            &fields,
        )
        .await;
    let value = json(&response.text().await.unwrap());
    assert_eq!(value["duration"], 0.5);
    let end = value["segments"][0]["end"].as_f64().unwrap();
    assert!(end > 0.4 && end <= 0.5, "{value}");
}

#[tokio::test]
async fn model_names_resolve_and_list() {
    let server = TestServer::default().await;
    for model in [
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "scripted",
    ] {
        let (_, body) = get(
            &server,
            "/v1/audio/transcriptions",
            &[("model", model), ("response_format", "text")],
        )
        .await;
        assert_eq!(body, "hallo welt\n", "{model}");
    }
    let models = server.get_json("/v1/models").await;
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "scripted",
            "scripted-en",
            "tiny-cmn",
            "tiny-de",
            "tiny-en",
            "tiny-en-16k",
            "tiny-es",
            "tiny-multi"
        ]
    );
    assert_eq!(models["data"][0]["object"], "model");
    let one = server.get_json("/v1/models/scripted-en").await;
    assert_eq!(one["id"], "scripted-en");
    let health = server
        .client
        .get(format!("{}/health", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn extra_openai_fields_are_accepted() {
    let server = TestServer::default().await;
    let (status, body) = server
        .transcribe(&[
            ("model", "gpt-4o-transcribe"),
            ("stream", "false"),
            ("include[]", "logprobs"),
            ("chunking_strategy", "auto"),
            ("chunking_strategy[type]", "server_vad"),
            ("prompt", "Hallo, dies ist ein Test."),
            ("temperature", "0.0"),
            ("foo", "bar"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(PHRASE));
    let (status, _) = server
        .transcribe(&[("model", "whisper-1"), ("temperature", "0.4")])
        .await;
    assert_eq!(status, 200);
}
