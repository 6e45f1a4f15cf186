//! Every bad request gets OpenAI's error envelope with the right status, and the server
//! keeps serving.

use crate::common::{PHRASE, TestServer, assert_error, fixture, tone_wav};

/// Form fields, the status they must get, and the `param` the error must name.
type BadFieldCase<'a> = (&'a [(&'a str, &'a str)], u16, Option<&'a str>);

#[tokio::test]
async fn bad_fields_name_their_param() {
    let server = TestServer::default().await;
    let cases: &[BadFieldCase] = &[
        (&[], 400, Some("model")),
        (&[("model", "")], 400, Some("model")),
        (&[("model", "large-v9")], 404, Some("model")),
        (
            &[("model", "../../models/scripted.bin")],
            404,
            Some("model"),
        ),
        (
            &[("model", "whisper-1"), ("response_format", "xml")],
            400,
            Some("response_format"),
        ),
        (
            &[("model", "whisper-1"), ("response_format", "JSON")],
            400,
            Some("response_format"),
        ),
        (
            &[
                ("model", "whisper-1"),
                ("response_format", "verbose_json"),
                ("timestamp_granularities[]", "char"),
            ],
            400,
            Some("timestamp_granularities"),
        ),
        (
            &[
                ("model", "whisper-1"),
                ("timestamp_granularities[]", "word"),
            ],
            400,
            Some("timestamp_granularities"),
        ),
        (
            &[("model", "whisper-1"), ("temperature", "-1")],
            400,
            Some("temperature"),
        ),
        (
            &[("model", "whisper-1"), ("temperature", "2")],
            400,
            Some("temperature"),
        ),
        (
            &[("model", "whisper-1"), ("temperature", "abc")],
            400,
            Some("temperature"),
        ),
        (
            &[("model", "whisper-1"), ("temperature", "NaN")],
            400,
            Some("temperature"),
        ),
        (
            &[("model", "whisper-1"), ("language", "xx")],
            400,
            Some("language"),
        ),
        (
            &[("model", "whisper-1"), ("language", "en\0")],
            400,
            Some("language"),
        ),
        (
            &[("model", "whisper-1"), ("prompt", "a\0b")],
            400,
            Some("prompt"),
        ),
    ];
    for (fields, status, param) in cases {
        let (got, body) = server.transcribe(fields).await;
        assert_error(got, &body, *status, *param);
    }
    let (status, body) = server.transcribe(&[("model", "nope")]).await;
    let error = assert_error(status, &body, 404, Some("model"));
    assert_eq!(error["code"], "model_not_found");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("scripted, scripted-en"),
        "{body}"
    );
    // Still serving.
    let (status, body) = server.transcribe(&[("model", "whisper-1")]).await;
    assert_eq!(status, 200);
    assert!(body.contains(PHRASE));
}

#[tokio::test]
async fn bad_audio_is_a_400_on_file() {
    let server = TestServer::default().await;
    let mut truncated = fixture("tone.mp3");
    truncated.truncate(200);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty_file"),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "invalid_value",
        ),
        (
            "text",
            b"this is not audio at all, just words".to_vec(),
            "invalid_value",
        ),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec(),
            "invalid_value",
        ),
        ("header-only wav", tone_wav(0.0, 16_000), "audio_too_short"),
        ("50 ms", fixture("short-50ms.wav"), "audio_too_short"),
        ("video only", fixture("video-only.mp4"), "invalid_value"),
    ];
    for (label, audio, code) in cases {
        let response = server
            .upload(
                "/v1/audio/transcriptions",
                audio,
                "x.wav",
                &[("model", "whisper-1")],
            )
            .await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        let error = assert_error(status, &body, 400, Some("file"));
        assert_eq!(error["code"], code, "{label}: {body}");
    }
    let response = server
        .upload(
            "/v1/audio/translations",
            fixture("short-50ms.wav"),
            "x.wav",
            &[("model", "whisper-1")],
        )
        .await;
    let error = assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        Some("file"),
    );
    assert_eq!(
        error["message"],
        "Audio file is too short. Minimum audio length is 0.1 seconds."
    );
    // A truncated mp3 still transcribes what decoded, or is refused; never a 5xx.
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            truncated,
            "cut.mp3",
            &[("model", "whisper-1")],
        )
        .await;
    assert!(response.status().is_client_error() || response.status() == 200);
}

#[tokio::test]
async fn malformed_requests_get_the_envelope() {
    let server = TestServer::default().await;
    let url = format!("{}/v1/audio/transcriptions", server.url);
    let client = &server.client;

    // JSON instead of multipart.
    let response = client
        .post(&url)
        .json(&serde_json::json!({"model": "whisper-1"}))
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        None,
    );
    // multipart without a boundary.
    let response = client
        .post(&url)
        .header("content-type", "multipart/form-data")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        None,
    );
    // A multipart body that never closes.
    let response = client
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF")
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        None,
    );
    // No file part.
    let form = reqwest::multipart::Form::new().text("model", "whisper-1");
    let response = client.post(&url).multipart(form).send().await.unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        Some("file"),
    );
    // `file` sent as a plain text field.
    let form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .text("file", "RIFF");
    let response = client.post(&url).multipart(form).send().await.unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        Some("file"),
    );
    // Two files.
    let part = || reqwest::multipart::Part::bytes(tone_wav(1.0, 16_000)).file_name("a.wav");
    let form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .part("file", part())
        .part("file", part());
    let response = client.post(&url).multipart(form).send().await.unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        Some("file"),
    );
    // Unknown route and wrong method.
    let response = client
        .get(format!("{}/v1/audio/nothing", server.url))
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        404,
        None,
    );
    let response = client.get(&url).send().await.unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        405,
        None,
    );
    let response = client
        .get(format!("{}/v1/models/nope", server.url))
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        404,
        Some("model"),
    );
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = TestServer::start(|config| config.max_upload_bytes = 64 * 1024).await;
    // Declared too large: refused from the header.
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            tone_wav(3.0, 16_000),
            "big.wav",
            &[("model", "whisper-1")],
        )
        .await;
    let error = assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        413,
        None,
    );
    assert_eq!(error["code"], "request_too_large");
    // Streamed without a length: refused once the limit is crossed.
    let body = tone_wav(3.0, 16_000);
    let stream = futures_util::stream::iter(
        body.chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big.wav");
    let form = reqwest::multipart::Form::new()
        .text("model", "whisper-1")
        .part("file", part);
    let response = server
        .client
        .post(format!("{}/v1/audio/transcriptions", server.url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        413,
        None,
    );
    // Small enough still works.
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            tone_wav(1.0, 16_000),
            "ok.wav",
            &[("model", "whisper-1")],
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn audio_longer_than_the_limit_is_refused() {
    let server = TestServer::start(|config| config.max_audio_seconds = 10.0).await;
    let response = server
        .upload(
            "/v1/audio/transcriptions",
            tone_wav(12.0, 16_000),
            "long.wav",
            &[("model", "whisper-1")],
        )
        .await;
    let error = assert_error(
        response.status().as_u16(),
        &response.text().await.unwrap(),
        400,
        Some("file"),
    );
    assert_eq!(error["code"], "audio_too_long");
}

#[tokio::test]
async fn no_models_installed_is_a_404_not_a_crash() {
    let empty = tempfile::tempdir().unwrap();
    let server = TestServer::start(|config| {
        config.models_dir = empty.path().to_path_buf();
        config.default_stt_model = None;
    })
    .await;
    let (status, body) = server.transcribe(&[("model", "whisper-1")]).await;
    let error = assert_error(status, &body, 404, Some("model"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("none are installed")
    );
}

#[tokio::test]
async fn broken_model_files_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(crate::common::models_dir().join("stt/scripted.bin")).unwrap();
    std::fs::write(dir.path().join("good.bin"), &good).unwrap();
    // Files that abort whisper.cpp if it ever sees them.
    std::fs::write(dir.path().join("truncated.bin"), &good[..48]).unwrap();
    let mut bad_ftype = good.clone();
    bad_ftype[44..48].copy_from_slice(&99i32.to_le_bytes());
    std::fs::write(dir.path().join("bad-ftype.bin"), bad_ftype).unwrap();
    let mut trailing = good.clone();
    trailing.push(0);
    std::fs::write(dir.path().join("trailing.bin"), trailing).unwrap();
    std::fs::write(dir.path().join("empty.bin"), b"").unwrap();
    let server = TestServer::start(|config| {
        config.models_dir = dir.path().to_path_buf();
        config.default_stt_model = None;
    })
    .await;
    let models = server.get_json("/v1/models").await;
    assert_eq!(models["data"].as_array().unwrap().len(), 1, "{models}");
    assert_eq!(models["data"][0]["id"], "good");
    let (status, body) = server.transcribe(&[("model", "whisper-1")]).await;
    assert_eq!(status, 200, "{body}");
}
