//! Backpressure and cancellation: a full queue answers 429 with `Retry-After`, and a client
//! that goes away frees its worker.

use std::time::Duration;

use crate::common::{TestServer, fixture};

/// An hour of silence as FLAC (a few KB): about 120 whisper windows, so it keeps a worker busy.
pub fn hour_of_silence() -> Vec<u8> {
    let output = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=16000:cl=mono",
        ])
        .args(["-t", "3600", "-c:a", "flac", "-f", "flac", "pipe:1"])
        .output()
        .expect("ffmpeg is installed (scripts/setup.sh)");
    assert!(output.status.success());
    output.stdout
}

/// Posts [`hour_of_silence`] for transcription and returns the response.
pub async fn transcribe_hour_of_silence(server: &TestServer) -> reqwest::Response {
    server
        .upload(
            "/v1/audio/transcriptions",
            hour_of_silence(),
            "hour.flac",
            &[("model", "whisper-1")],
        )
        .await
}

pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

fn upload_hour(server: &TestServer) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(hour_of_silence()).file_name("hour.flac"),
        );
    let request = server
        .client
        .post(format!("{}/v1/audio/transcriptions", server.url))
        .multipart(form);
    tokio::spawn(async move { request.send().await })
}

#[tokio::test]
async fn full_queue_gets_429_and_a_gone_client_frees_its_slot() {
    let server = TestServer::start(|config| {
        config.max_concurrent = 1;
        config.max_queue = 1;
    })
    .await;
    let pool = || server.server.state().stt.pool();

    // A long job takes the only worker; a second long one is admitted and takes turns with
    // it, chunk by chunk, so one of the two always waits.
    let first = upload_hour(&server);
    wait_until("the first job runs", || pool().running() == 1).await;
    let second = upload_hour(&server);
    wait_until("the second job is queued", || {
        pool().queued() == 1 && pool().running() == 1
    })
    .await;

    // A third finds the queue full: the bound counts requests, not their chunks.
    let (status, body) = server.transcribe(&[("model", "whisper-1")]).await;
    let error = crate::common::assert_error(status, &body, 429, None);
    assert_eq!(error["code"], "rate_limit_exceeded");
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            fixture("tone.flac"),
            "tone.wav",
            &[("model", "whisper-1")],
        )
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    // The first job's client hangs up: its job is aborted or dropped, which frees its slot,
    // and a short request gets in and finishes while the second long one still runs.
    first.abort();
    wait_until("the first job is cancelled", || pool().cancelled() == 1).await;
    server.assert_transcribes_the_phrase().await;

    second.abort();
    wait_until("the second job is cancelled", || pool().cancelled() == 2).await;
    wait_until("the worker is idle", || {
        pool().running() == 0 && pool().queued() == 0
    })
    .await;
}
