//! Running it like a product: API keys, readiness, request ids.

use crate::common::{TestServer, assert_error, tone_wav};

#[tokio::test]
async fn api_keys_guard_every_api_route_but_not_the_probes() {
    let server = TestServer::start(|config| {
        config.api_keys = vec!["sk-first".into(), "sk-second".into()];
    })
    .await;
    let client = &server.client;
    let transcribe = |auth: Option<&'static str>| {
        let form = reqwest::multipart::Form::new()
            .text("model", "whisper-1")
            .text("response_format", "text")
            .part(
                "file",
                reqwest::multipart::Part::bytes(tone_wav(1.0, 16_000)).file_name("a.wav"),
            );
        let mut request = client
            .post(format!("{}/v1/audio/transcriptions", server.url))
            .multipart(form);
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        request.send()
    };
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Basic c2stZmlyc3Q="),
        Some("Bearer sk-firs"),
        Some("Bearer sk-first-and-more"),
        Some("Bearer SK-FIRST"),
    ] {
        let response = transcribe(auth).await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{auth:?}");
        let error = assert_error(
            response.status().as_u16(),
            &response.text().await.unwrap(),
            401,
            None,
        );
        assert_eq!(error["code"], "invalid_api_key");
    }
    for auth in ["Bearer sk-first", "bearer sk-second", "Bearer sk-second "] {
        let response = transcribe(Some(auth)).await.unwrap();
        assert_eq!(response.status(), 200, "{auth}");
        assert_eq!(response.text().await.unwrap(), "hallo welt\n");
    }
    // Every API route, with or without /v1, needs the key; the probes do not.
    for path in [
        "/v1/models",
        "/models",
        "/v1/models/scripted",
        "/v1/audio/speech",
        "/audio/speech",
    ] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    let response = client
        .post(format!("{}/audio/speech", server.url))
        .json(&serde_json::json!({"model": "tts-1", "voice": "alloy", "input": "Hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    for path in ["/health", "/ready"] {
        let response = client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn the_key_is_checked_before_the_body_is_read() {
    let server = TestServer::start(|config| config.api_keys = vec!["sk-first".into()]).await;
    // Claims a 1 GB body but sends none: a server that read first would wait for it.
    let response = server
        .client
        .post(format!("{}/v1/audio/transcriptions", server.url))
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", "1000000000")
        .body(reqwest::Body::wrap_stream(futures_util::stream::pending::<
            Result<Vec<u8>, std::io::Error>,
        >()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn without_keys_any_key_is_accepted() {
    let server = TestServer::default().await;
    let response = server
        .client
        .get(format!("{}/v1/models", server.url))
        .header("authorization", "Bearer anything-the-sdk-sends")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ready_lists_what_can_serve() {
    let server = TestServer::default().await;
    let ready = server.get_json("/ready").await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(
        ready["speech_to_text"],
        serde_json::json!(["scripted", "scripted-en"])
    );
    assert!(
        ready["voices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "tiny-en")
    );
    assert_eq!(ready["speech"], true);
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let server = TestServer::default().await;
    let response = server
        .client
        .get(format!("{}/health", server.url))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");
    let first = server
        .client
        .get(format!("{}/health", server.url))
        .send()
        .await
        .unwrap();
    let second = server
        .client
        .get(format!("{}/nope", server.url))
        .send()
        .await
        .unwrap();
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id(&first).starts_with("req_"));
    assert_ne!(id(&first), id(&second), "ids are unique, errors included");
}

#[tokio::test]
async fn speech_input_limit_is_configurable() {
    let server = TestServer::start(|config| config.max_input_chars = 10).await;
    let body = |input: &str| serde_json::json!({"model": "tts-1", "voice": "alloy", "input": input, "response_format": "wav"});
    let (status, _, bytes) = server.speech(body("Hello you!")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let (status, _, bytes) = server.speech(body("Hello you!!")).await;
    let error = assert_error(status, &String::from_utf8_lossy(&bytes), 400, Some("input"));
    assert_eq!(error["code"], "string_too_long");
    assert!(error["message"].as_str().unwrap().contains("maximum is 10"));
}

#[tokio::test]
async fn slow_requests_get_504_and_their_work_is_cancelled() {
    let server = TestServer::start(|config| config.request_timeout = 1).await;
    let response = crate::load::transcribe_hour_of_silence(&server).await;
    let error = assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        504,
        None,
    );
    assert_eq!(error["code"], "timeout");
    // The abandoned job was dropped while decoding, skipped in the queue, or aborted while
    // running (each path is the one a hung-up client takes); either way the worker comes free.
    let pool = || server.server.state().stt.pool();
    crate::load::wait_until("the worker is free", || {
        pool().running() == 0 && pool().queued() == 0
    })
    .await;
    assert!(pool().cancelled() <= 1);
    // Still serving (a transcription could itself exceed this test's one-second limit).
    let models = server.get_json("/v1/models").await;
    assert_eq!(models["object"], "list");
}
