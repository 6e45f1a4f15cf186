//! A checkpoint directory in the models directory is served through the conversion cache: here
//! a Hugging Face hub cache of Systran's real faster-whisper tiny.en, laid out as speaches
//! keeps it (snapshot files linked into `blobs/`), served under its repository id.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hearsay::ServeConfig;

use crate::common::{GGML_TINY_EN_BYTES, TestServer, real_tiny_en};

const REPO_ID: &str = "Systran/faster-whisper-tiny.en";
const REVISION: &str = "d90ca5fe260221311c53c58e660288d3deb8d356";

/// `models--Systran--faster-whisper-tiny.en/` under `models`: blobs linking to the real files,
/// a snapshot linking to the blobs, and `refs/main`. `config.json` is a copy, so the test can
/// change the source without touching the real assets.
fn hub_cache(models: &Path) -> PathBuf {
    let real = real_tiny_en();
    let repo = models.join("models--Systran--faster-whisper-tiny.en");
    let snapshot = repo.join("snapshots").join(REVISION);
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(repo.join("refs/main"), REVISION).unwrap();
    for name in ["model.bin", "tokenizer.json", "vocabulary.txt"] {
        let blob = format!("blob-{name}");
        std::os::unix::fs::symlink(real.join(name), repo.join("blobs").join(&blob)).unwrap();
        std::os::unix::fs::symlink(Path::new("../../blobs").join(&blob), snapshot.join(name))
            .unwrap();
    }
    std::fs::copy(real.join("config.json"), snapshot.join("config.json")).unwrap();
    snapshot
}

async fn start(models: &Path) -> TestServer {
    let mut config = ServeConfig::new(models);
    config.port = 0;
    config.convert_cache = None;
    let server = hearsay::start(config).await.expect("server starts");
    TestServer {
        url: format!("http://{}", server.addr),
        server,
        client: reqwest::Client::new(),
    }
}

/// The one converted model in the models directory's cache, and when it was written.
fn cached_model(models: &Path) -> (PathBuf, SystemTime) {
    let cache = models.join(".hearsay-cache");
    let models: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    assert_eq!(models.len(), 1, "{models:?}");
    let meta = std::fs::metadata(&models[0]).unwrap();
    assert_eq!(meta.len(), GGML_TINY_EN_BYTES);
    (models[0].clone(), meta.modified().unwrap())
}

#[tokio::test]
async fn a_hub_cache_is_served_under_its_repo_id_and_converted_only_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let snapshot = hub_cache(&models);

    let server = start(&models).await;
    let listed = server.get_json("/v1/models").await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, [REPO_ID], "{listed}");
    let one = server.get_json(&format!("/v1/models/{REPO_ID}")).await;
    assert_eq!(one["id"], REPO_ID, "{one}");
    let (status, body) = server.transcribe(&[("model", REPO_ID)]).await;
    assert_eq!(status, 200, "{body}");
    server.server.stop().await.unwrap();
    let (first_path, first_written) = cached_model(&models);

    let cache = hearsay::models::convert_cache::ConvertCache::new(None, &models);
    let catalog = hearsay::models::catalog::Catalog::default();
    let listing = hearsay::models::listing::list_with(&catalog, &models, &cache);
    assert!(listing.contains(REPO_ID), "{listing}");
    assert!(
        listing.contains(&format!("converted: {}", first_path.display())),
        "{listing}"
    );

    // Unchanged: the cached file is used as it is.
    let server = start(&models).await;
    server.assert_model_listed(REPO_ID).await;
    server.server.stop().await.unwrap();
    assert_eq!(cached_model(&models), (first_path.clone(), first_written));

    // A changed source file is converted again, into the same entry.
    let config = std::fs::File::options()
        .write(true)
        .open(snapshot.join("config.json"))
        .unwrap();
    config
        .set_modified(SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    drop(config);
    let server = start(&models).await;
    server.assert_model_listed(REPO_ID).await;
    server.server.stop().await.unwrap();
    let (path, written) = cached_model(&models);
    assert_eq!(path, first_path);
    assert_ne!(written, first_written, "converted again");
}

impl TestServer {
    async fn assert_model_listed(&self, id: &str) {
        let listed = self.get_json("/v1/models").await;
        assert!(
            listed["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == id),
            "{listed}"
        );
    }
}
