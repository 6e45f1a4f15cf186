//! Chunked scheduling: a short request is not stuck behind a long one on a single worker, and
//! a long chunked job whose client leaves frees the worker.

use std::sync::{Arc, Mutex};

use crate::common::{PHRASE, TestServer, tone_wav};
use crate::load::wait_until;

fn request(server: &TestServer, audio: Vec<u8>) -> reqwest::RequestBuilder {
    let form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .text("response_format", "verbose_json")
        .part(
            "file",
            reqwest::multipart::Part::bytes(audio).file_name("tone.wav"),
        );
    server
        .client
        .post(format!("{}/v1/audio/transcriptions", server.url))
        .multipart(form)
}

#[tokio::test]
async fn a_short_request_finishes_before_a_long_one_on_one_worker() {
    let server = TestServer::start(|config| config.max_concurrent = 1).await;
    let pool = || server.server.state().stt.pool();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let spawn = |name: &'static str, audio: Vec<u8>| {
        let request = request(&server, audio);
        let finished = Arc::clone(&finished);
        tokio::spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            let value: serde_json::Value = response.json().await.unwrap();
            finished.lock().unwrap().push(name);
            value
        })
    };
    // 150 s: five chunks, one after another on the only worker.
    let long = spawn("long", tone_wav(150.0, 16_000));
    wait_until("the long job runs", || pool().running() == 1).await;
    let short = spawn("short", tone_wav(5.0, 16_000));
    let short = short.await.unwrap();
    let long = long.await.unwrap();
    assert_eq!(*finished.lock().unwrap(), vec!["short", "long"]);
    assert_eq!(short["text"], PHRASE);
    // The long one is whole: a segment per 30 s chunk, in order, on its own timeline.
    let seeks: Vec<i64> = long["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seek"].as_i64().unwrap())
        .collect();
    assert_eq!(seeks, (0..5).map(|i| i * 3000).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_gone_client_stops_its_remaining_chunks() {
    let server = TestServer::start(|config| config.max_concurrent = 1).await;
    let pool = || server.server.state().stt.pool();
    let long = {
        let request = request(&server, tone_wav(600.0, 16_000));
        tokio::spawn(async move { request.send().await })
    };
    wait_until("the long job runs", || pool().running() == 1).await;
    long.abort();
    wait_until("the job is cancelled", || pool().cancelled() == 1).await;
    wait_until("the worker is idle", || {
        pool().running() == 0 && pool().queued() == 0
    })
    .await;
    // The worker serves the next request.
    server.assert_transcribes_the_phrase().await;
    assert_eq!(pool().cancelled(), 1);
}
