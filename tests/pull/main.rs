//! `hearsay pull` against a local stand-in for the Hugging Face hub ([`hub`]): no test touches
//! the real network. Catalog models here, Hugging Face repository ids in [`repo`].

#[allow(dead_code)]
#[path = "../api/common.rs"]
mod common;
mod hub;
mod repo;

use std::path::Path;
use std::sync::atomic::Ordering;

use hearsay::models::catalog::{Catalog, CatalogFile, CatalogModel, ModelKind};
use hearsay::models::pull::{PullOptions, PullOutcome, PullReport, pull_missing_with, pull_with};
use hub::{StandIn, data, hub_path, sha256};

fn entry(file_name: &str, upstream_name: &str, bytes: &[u8]) -> CatalogFile {
    CatalogFile {
        file_name: file_name.into(),
        url: format!("https://huggingface.co{}", hub_path(upstream_name)),
        size: bytes.len() as u64,
        sha256: sha256(bytes),
    }
}

/// A whisper-style model `ID` served as `ggml-ID.bin`, saved as `ID.bin`.
fn whisper(id: &str, bytes: &[u8]) -> CatalogModel {
    CatalogModel {
        id: id.into(),
        kind: ModelKind::Whisper,
        files: vec![entry(
            &format!("{id}.bin"),
            &format!("ggml-{id}.bin"),
            bytes,
        )],
    }
}

/// A whisper model `id` served by `hub` under its upstream name `ggml-ID.bin`.
fn hosted_whisper(hub: &StandIn, id: &str, bytes: &[u8]) -> CatalogModel {
    hub.put(&format!("ggml-{id}.bin"), bytes);
    whisper(id, bytes)
}

/// A Piper voice `id` served by `hub`: its config, then its model, under their own names.
fn hosted_voice(hub: &StandIn, id: &str, config: &[u8], model: &[u8]) -> CatalogModel {
    let config_name = format!("{id}.onnx.json");
    let model_name = format!("{id}.onnx");
    hub.put(&config_name, config);
    hub.put(&model_name, model);
    CatalogModel {
        id: id.into(),
        kind: ModelKind::Voice,
        files: vec![
            entry(&config_name, &config_name, config),
            entry(&model_name, &model_name, model),
        ],
    }
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut entries: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    entries
}

async fn pull(
    catalog: &Catalog,
    wanted: &[&str],
    dir: &Path,
    options: &PullOptions,
) -> anyhow::Result<Vec<PullReport>> {
    pull_with(catalog, &names(wanted), dir, options).await
}

#[tokio::test]
async fn a_good_download_lands_verified_and_leaves_no_part_file() {
    let hub = StandIn::start().await;
    let bytes = data(300_000, 1);
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "tiny", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let reports = pull(&catalog, &["tiny"], dir.path(), &hub.options())
        .await
        .unwrap();

    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, PullOutcome::Downloaded);
    assert_eq!(reports[0].paths, [dir.path().join("tiny.bin")]);
    assert_eq!(std::fs::read(dir.path().join("tiny.bin")).unwrap(), bytes);
    assert_eq!(dir_entries(dir.path()), ["tiny.bin"]);
    let seen = hub.hub.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, hub_path("ggml-tiny.bin"));
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[0].authorization, None, "no token, no header");
}

#[tokio::test]
async fn a_checksum_mismatch_is_an_error_and_leaves_nothing() {
    let hub = StandIn::start().await;
    let served = data(100_000, 2);
    let expected = data(100_000, 3);
    hub.put("ggml-tiny.bin", &served);
    let catalog = Catalog::new(vec![whisper("tiny", &expected)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let error = pull(&catalog, &["tiny"], dir.path(), &hub.options())
        .await
        .unwrap_err();
    let message = format!("{error:#}");

    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(message.contains(&sha256(&expected)), "{message}");
    assert!(message.contains(&sha256(&served)), "{message}");
    assert!(
        dir_entries(dir.path()).is_empty(),
        "{:?}",
        dir_entries(dir.path())
    );
}

#[tokio::test]
async fn a_wrong_size_is_refused_before_the_body_is_read() {
    let hub = StandIn::start().await;
    let expected = data(100_000, 4);
    hub.put("ggml-tiny.bin", &data(100_001, 4));
    let catalog = Catalog::new(vec![whisper("tiny", &expected)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let message = format!(
        "{:#}",
        pull(&catalog, &["tiny"], dir.path(), &hub.options())
            .await
            .unwrap_err()
    );

    assert!(message.contains("size mismatch"), "{message}");
    assert!(
        message.contains("100000") && message.contains("100001"),
        "{message}"
    );
    assert!(dir_entries(dir.path()).is_empty());
}

#[tokio::test]
async fn an_interrupted_transfer_keeps_the_part_and_the_next_pull_resumes() {
    let hub = StandIn::start().await;
    let bytes = data(400_000, 5);
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "base", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("base.bin.part");

    *hub.hub.cut_next_after.lock().unwrap() = Some(150_000);
    let message = format!(
        "{:#}",
        pull(&catalog, &["base"], dir.path(), &hub.options())
            .await
            .unwrap_err()
    );
    assert!(message.contains("interrupted"), "{message}");
    assert!(message.contains("again to resume"), "{message}");
    assert!(!dir.path().join("base.bin").exists());
    assert_eq!(std::fs::read(&part).unwrap(), bytes[..150_000]);

    let reports = pull(&catalog, &["base"], dir.path(), &hub.options())
        .await
        .unwrap();
    assert_eq!(reports[0].outcome, PullOutcome::Downloaded);
    assert_eq!(std::fs::read(dir.path().join("base.bin")).unwrap(), bytes);
    assert!(!part.exists());
    let seen = hub.hub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].range, None);
    assert_eq!(seen[1].range.as_deref(), Some("bytes=150000-"));
}

#[tokio::test]
async fn a_server_that_ignores_the_range_restarts_from_scratch() {
    let hub = StandIn::start().await;
    let bytes = data(200_000, 6);
    hub.hub.ignore_range.store(true, Ordering::SeqCst);
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "base", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A stale partial file whose bytes are wrong: the 200 answer replaces it whole.
    std::fs::write(dir.path().join("base.bin.part"), data(50_000, 99)).unwrap();

    pull(&catalog, &["base"], dir.path(), &hub.options())
        .await
        .unwrap();

    assert_eq!(std::fs::read(dir.path().join("base.bin")).unwrap(), bytes);
    assert_eq!(dir_entries(dir.path()), ["base.bin"]);
    assert_eq!(hub.hub.seen()[0].range.as_deref(), Some("bytes=50000-"));
}

#[tokio::test]
async fn an_installed_model_is_verified_and_not_fetched_again() {
    let hub = StandIn::start().await;
    let tiny = data(120_000, 7);
    let small = data(90_000, 8);
    let catalog = Catalog::new(vec![
        hosted_whisper(&hub, "tiny", &tiny),
        hosted_whisper(&hub, "small", &small),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    pull(&catalog, &["tiny"], dir.path(), &hub.options())
        .await
        .unwrap();
    assert_eq!(hub.hub.seen().len(), 1);
    let again = pull(&catalog, &["tiny"], dir.path(), &hub.options())
        .await
        .unwrap();
    assert_eq!(again[0].outcome, PullOutcome::AlreadyInstalled);
    assert_eq!(hub.hub.seen().len(), 1, "no request for an installed model");

    // Under its upstream name (`ggml-small.bin`, copied by hand) it counts as installed too.
    std::fs::write(dir.path().join("ggml-small.bin"), &small).unwrap();
    let upstream = pull(&catalog, &["ggml-small.bin"], dir.path(), &hub.options())
        .await
        .unwrap();
    assert_eq!(upstream[0].outcome, PullOutcome::AlreadyInstalled);
    assert_eq!(upstream[0].paths, [dir.path().join("ggml-small.bin")]);
    assert_eq!(hub.hub.seen().len(), 1);
}

#[tokio::test]
async fn a_different_file_under_the_target_name_is_never_overwritten() {
    let hub = StandIn::start().await;
    let bytes = data(10_000, 9);
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "tiny", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.bin"), b"my own model").unwrap();

    let message = format!(
        "{:#}",
        pull(&catalog, &["tiny"], dir.path(), &hub.options())
            .await
            .unwrap_err()
    );

    assert!(
        message.contains("exists but is not the catalog's file"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("tiny.bin")).unwrap(),
        b"my own model"
    );
    assert!(hub.hub.seen().is_empty());
}

#[tokio::test]
async fn hf_token_is_sent_as_a_bearer_header() {
    let hub = StandIn::start().await;
    let bytes = data(1_000, 10);
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "tiny", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = PullOptions {
        token: Some("hf_testtoken".into()),
        ..hub.options()
    };

    pull(&catalog, &["tiny"], dir.path(), &options)
        .await
        .unwrap();

    assert_eq!(
        hub.hub.seen()[0].authorization.as_deref(),
        Some("Bearer hf_testtoken")
    );
}

#[tokio::test]
async fn a_piper_voice_pulls_its_config_and_its_model() {
    let hub = StandIn::start().await;
    let config = br#"{"audio":{"sample_rate":22050}}"#.to_vec();
    let model = data(50_000, 11);
    let voice = hosted_voice(&hub, "en_US-test-medium", &config, &model);
    let catalog = Catalog::new(vec![voice]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let reports = pull(&catalog, &["en_US-test-medium"], dir.path(), &hub.options())
        .await
        .unwrap();

    assert_eq!(reports[0].paths.len(), 2);
    assert_eq!(
        dir_entries(dir.path()),
        ["en_US-test-medium.onnx", "en_US-test-medium.onnx.json"]
    );
    assert_eq!(
        std::fs::read(dir.path().join("en_US-test-medium.onnx")).unwrap(),
        model
    );
    let paths: Vec<String> = hub.hub.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            hub_path("en_US-test-medium.onnx.json"),
            hub_path("en_US-test-medium.onnx")
        ],
        "the config first, so the voice is never found without it"
    );
}

#[tokio::test]
async fn several_names_pull_each_and_unknown_names_suggest_close_ones() {
    let hub = StandIn::start().await;
    let tiny = data(5_000, 12);
    let base = data(6_000, 13);
    let catalog = Catalog::new(vec![
        hosted_whisper(&hub, "tiny", &tiny),
        hosted_whisper(&hub, "base", &base),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let message = format!(
        "{:#}",
        pull(
            &catalog,
            &["tiny", "tyni", "bsae"],
            dir.path(),
            &hub.options()
        )
        .await
        .unwrap_err()
    );
    assert!(
        message.contains("`tyni` is not in the catalog (did you mean tiny"),
        "{message}"
    );
    assert!(message.contains("did you mean base"), "{message}");
    assert!(
        hub.hub.seen().is_empty(),
        "nothing is fetched when a name is wrong"
    );

    let reports = pull(
        &catalog,
        &["tiny", "base", "tiny"],
        dir.path(),
        &hub.options(),
    )
    .await
    .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(dir_entries(dir.path()), ["base.bin", "tiny.bin"]);
}

#[tokio::test]
async fn an_unreachable_host_explains_how_to_install_by_hand() {
    // The URLs to fetch elsewhere are the hub's own, not the unreachable endpoint's.
    // A port that was just free: nothing listens there, so the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let bytes = data(1_000, 14);
    let catalog = Catalog::new(vec![whisper("tiny", &bytes)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = PullOptions {
        endpoint: Some(endpoint.clone()),
        use_env_proxy: false,
        progress_bars: false,
        verbose: false,
        token: None,
    };

    let message = format!(
        "{:#}",
        pull(&catalog, &["tiny"], dir.path(), &options)
            .await
            .unwrap_err()
    );

    assert!(
        message.starts_with("cannot reach the model host 127.0.0.1"),
        "{message}"
    );
    assert!(message.contains("tiny.bin"), "{message}");
    assert!(message.contains(&sha256(&bytes)), "{message}");
    assert!(
        message.contains(&format!(
            "https://huggingface.co{}",
            hub_path("ggml-tiny.bin")
        )),
        "{message}"
    );
    assert!(dir_entries(dir.path()).is_empty());
}

/// The issue's "done when": a model pulled through the stand-in hub is served.
#[tokio::test]
async fn a_pulled_model_is_served() {
    let scripted = std::fs::read(common::models_dir().join("stt/scripted.bin")).unwrap();
    let hub = StandIn::start().await;
    let catalog = Catalog::new(vec![hosted_whisper(&hub, "scripted", &scripted)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    pull(&catalog, &["scripted"], dir.path(), &hub.options())
        .await
        .unwrap();
    let cache = hearsay::models::convert_cache::ConvertCache::new(None, dir.path());
    let listing = hearsay::models::listing::list_with(&catalog, dir.path(), &cache);
    assert!(listing.contains("installed"), "{listing}");

    let mut config = hearsay::ServeConfig::new(dir.path());
    config.port = 0;
    let server = hearsay::start(config).await.expect("server starts");
    let server = common::TestServer {
        url: format!("http://{}", server.addr),
        server,
        client: reqwest::Client::new(),
    };
    let models = server.get_json("/v1/models").await;
    assert!(models.to_string().contains("\"scripted\""), "{models}");
    let (status, body) = server.transcribe(&[("model", "scripted")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(common::PHRASE), "{body}");
}

/// A real, servable voice and whisper model from the test models, as catalog entries.
fn servable_catalog(hub: &StandIn) -> Catalog {
    let models = common::models_dir();
    let scripted = std::fs::read(models.join("stt/scripted.bin")).unwrap();
    let config = std::fs::read(models.join("voices/tiny-en.onnx.json")).unwrap();
    let model = std::fs::read(models.join("voices/tiny-en.onnx")).unwrap();
    let voice = hosted_voice(hub, "tiny-en", &config, &model);
    Catalog::new(vec![hosted_whisper(hub, "scripted", &scripted), voice]).unwrap()
}

#[tokio::test]
async fn if_missing_pulls_only_the_kinds_not_installed() {
    let hub = StandIn::start().await;
    let catalog = servable_catalog(&hub);
    let dir = tempfile::tempdir().unwrap();
    // The user's own whisper model, under another name: no default whisper model is needed.
    std::fs::copy(
        common::models_dir().join("stt/scripted-en.bin"),
        dir.path().join("mine.bin"),
    )
    .unwrap();
    let wanted = names(&["scripted", "tiny-en"]);

    let first = pull_missing_with(&catalog, &wanted, dir.path(), &hub.options())
        .await
        .unwrap();
    assert_eq!(first.wanted, ["tiny-en"]);
    assert!(first.offline_note.is_none());
    assert_eq!(first.reports.len(), 1);
    assert_eq!(
        dir_entries(dir.path()),
        ["mine.bin", "tiny-en.onnx", "tiny-en.onnx.json"]
    );
    let fetched: Vec<String> = hub.hub.seen().into_iter().map(|seen| seen.path).collect();
    assert_eq!(
        fetched,
        [hub_path("tiny-en.onnx.json"), hub_path("tiny-en.onnx")]
    );

    // Everything is there now: nothing is wanted and the hub is not asked again.
    let second = pull_missing_with(&catalog, &wanted, dir.path(), &hub.options())
        .await
        .unwrap();
    assert!(second.wanted.is_empty());
    assert_eq!(hub.hub.seen().len(), 2);
}

#[tokio::test]
async fn if_missing_without_a_network_is_one_line_and_no_failure() {
    let hub = StandIn::start().await;
    let catalog = servable_catalog(&hub);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let options = PullOptions {
        endpoint: Some(endpoint),
        ..hub.options()
    };
    let dir = tempfile::tempdir().unwrap();

    let outcome = pull_missing_with(
        &catalog,
        &names(&["scripted", "tiny-en"]),
        dir.path(),
        &options,
    )
    .await
    .unwrap();

    let note = outcome.offline_note.expect("an offline note");
    assert!(!note.contains('\n'), "{note}");
    assert_eq!(
        note,
        format!(
            "no network to fetch scripted and tiny-en from 127.0.0.1; on an air-gapped machine \
             copy a whisper.cpp ggml-*.bin and a Piper voice (NAME.onnx with NAME.onnx.json) into \
             {} (`hearsay pull scripted tiny-en` lists the exact files and sha256 sums).",
            dir.path().display()
        )
    );
    assert!(outcome.reports.is_empty());
    assert!(dir_entries(dir.path()).is_empty());
}
