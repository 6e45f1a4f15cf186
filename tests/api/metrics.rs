//! `GET /metrics`: Prometheus text with exact counts after a known set of requests.

use std::collections::HashMap;

use crate::common::TestServer;

const KEY: &str = "sk-metrics";

/// Sample lines as `name{labels}` → value; comments left out, order ignored.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("no value: {line}"));
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {line}"));
            (series.to_string(), value)
        })
        .collect()
}

/// GETs `/metrics` without any key; returns the content type and the parsed samples.
async fn scrape(server: &TestServer) -> (String, String, HashMap<String, f64>) {
    let response = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (content_type, text, samples)
}

/// The samples of a streamed WAV: everything after the `data` chunk header.
fn wav_sample_count(body: &[u8]) -> usize {
    let data = body
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk")
        + 8;
    (body.len() - data) / 2
}

#[tokio::test]
async fn metrics_count_requests_jobs_and_audio_exactly() {
    let mut server = TestServer::start(|config| config.api_keys = vec![KEY.into()]).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {KEY}").parse().expect("a header value"),
    );
    server.client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let anonymous = reqwest::Client::new();

    server.assert_transcribes_the_phrase().await;

    // At the root, to see the route template without `/v1`.
    let speech = server
        .client
        .post(format!("{}/audio/speech", server.url))
        .json(&serde_json::json!({"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(speech.status(), 200);
    let wav = speech.bytes().await.unwrap();
    let rate = u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]);
    let speech_seconds = wav_sample_count(&wav) as f64 / f64::from(rate);
    assert!(speech_seconds > 0.0);

    let status = |response: reqwest::Response| response.status().as_u16();
    let get =
        |client: &reqwest::Client, path: &str| client.get(format!("{}{path}", server.url)).send();
    assert_eq!(
        status(get(&server.client, "/no/such/route").await.unwrap()),
        404
    );
    assert_eq!(status(get(&anonymous, "/v1/models").await.unwrap()), 401);
    let wrong_method = get(&server.client, "/v1/audio/transcriptions")
        .await
        .unwrap();
    assert_eq!(status(wrong_method), 405);

    let (content_type, text, samples) = scrape(&server).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let value = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
    };
    let requests = |method: &str, route: &str, status: u16| {
        value(&format!(
            r#"hearsay_http_requests_total{{method="{method}",route="{route}",status="{status}"}}"#
        ))
    };
    assert_eq!(requests("POST", "/v1/audio/transcriptions", 200), 1.0);
    assert_eq!(requests("POST", "/audio/speech", 200), 1.0);
    assert_eq!(requests("GET", "unmatched", 404), 1.0);
    assert_eq!(requests("GET", "/v1/models", 401), 1.0);
    assert_eq!(requests("GET", "/v1/audio/transcriptions", 405), 1.0);
    // Exactly those five, and this scrape is counted only once it has answered.
    let total: f64 = samples
        .iter()
        .filter(|(series, _)| series.starts_with("hearsay_http_requests_total{"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 5.0, "{text}");
    let durations = |route: &str| {
        value(&format!(
            r#"hearsay_http_request_duration_seconds_count{{route="{route}"}}"#
        ))
    };
    assert_eq!(durations("/v1/audio/transcriptions"), 2.0);
    assert_eq!(durations("/audio/speech"), 1.0);
    assert_eq!(durations("unmatched"), 1.0);

    let engine = |name: &str, engine: &str| value(&format!(r#"{name}{{engine="{engine}"}}"#));
    // The 1.5 s tone at 16 kHz, and exactly the samples the WAV carried.
    assert_eq!(engine("hearsay_audio_seconds_total", "stt"), 1.5);
    assert_eq!(engine("hearsay_audio_seconds_total", "tts"), speech_seconds);
    for name in ["stt", "tts"] {
        assert_eq!(engine("hearsay_queue_depth", name), 0.0);
        assert_eq!(engine("hearsay_jobs_running", name), 0.0);
        assert_eq!(engine("hearsay_jobs_cancelled_total", name), 0.0);
        for histogram in [
            "hearsay_queue_wait_seconds",
            "hearsay_inference_seconds",
            "hearsay_real_time_factor",
        ] {
            assert_eq!(
                engine(&format!("{histogram}_count"), name),
                1.0,
                "{histogram}"
            );
            assert_eq!(
                value(&format!(
                    r#"{histogram}_bucket{{engine="{name}",le="+Inf"}}"#
                )),
                1.0
            );
        }
    }
    let voices = server.server.state().tts.catalog().ids().len();
    assert!(voices > 0);
    assert_eq!(value(r#"hearsay_models_loaded{kind="stt"}"#), 2.0);
    assert_eq!(
        value(r#"hearsay_models_loaded{kind="voice"}"#),
        voices as f64
    );
    for (name, kind) in [
        ("hearsay_http_requests_total", "counter"),
        ("hearsay_http_request_duration_seconds", "histogram"),
        ("hearsay_queue_depth", "gauge"),
        ("hearsay_real_time_factor", "histogram"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
    }

    // The scrape itself shows up in the next one.
    let (_, _, samples) = scrape(&server).await;
    assert_eq!(
        samples[r#"hearsay_http_requests_total{method="GET",route="/metrics",status="200"}"#],
        1.0
    );
}

#[tokio::test]
async fn timeouts_are_counted_with_their_route() {
    let server = TestServer::start(|config| config.request_timeout = 1).await;
    let response = crate::load::transcribe_hour_of_silence(&server).await;
    assert_eq!(response.status(), 504);
    // The abandoned job leaves the worker (dropped while decoding, skipped, or aborted).
    let pool = || server.server.state().stt.pool();
    crate::load::wait_until("the worker is free", || {
        pool().running() == 0 && pool().queued() == 0
    })
    .await;
    let (_, text, samples) = scrape(&server).await;
    let series = r#"hearsay_http_requests_total{method="POST",route="/v1/audio/transcriptions",status="504"}"#;
    assert_eq!(samples.get(series), Some(&1.0), "{text}");
    // A job dropped before it finished feeds no audio or inference figures.
    assert_eq!(samples[r#"hearsay_audio_seconds_total{engine="stt"}"#], 0.0);
}
