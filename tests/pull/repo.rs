//! `hearsay pull OWNER/NAME`: repositories hosted by the stand-in hub, among them Systran's real
//! faster-whisper tiny.en (from `scripts/get_real_assets.sh`), which must convert to exactly
//! the size of whisper.cpp's own `ggml-tiny.en.bin`.

use std::path::Path;

use hearsay::models::catalog::Catalog;
use hearsay::models::ggml::validate_whisper_model;
use hearsay::models::pull::{PullOptions, PullOutcome, pull_with};

use super::common::{GGML_TINY_EN_BYTES, real_tiny_en};
use super::hub::{RepoFile, StandIn, data, listing_path};
use super::{dir_entries, names};

const TINY_REPO: &str = "Systran/faster-whisper-tiny.en";
const COMMIT: &str = "d90ca5fe260221311c53c58e660288d3deb8d356";

/// The real tiny.en as the hub lists it: the weights in LFS, and a README nobody needs.
fn tiny_en_files() -> Vec<RepoFile> {
    let dir = real_tiny_en();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    vec![
        RepoFile::new(".gitattributes", "*.bin filter=lfs\n"),
        RepoFile::new("README.md", "# tiny.en\n"),
        RepoFile::new("config.json", read("config.json")),
        RepoFile::new("model.bin", read("model.bin")).lfs(),
        RepoFile::new("tokenizer.json", read("tokenizer.json")),
        RepoFile::new("vocabulary.txt", read("vocabulary.txt")),
    ]
}

async fn pull_repo(
    repo: &str,
    dir: &Path,
    options: &PullOptions,
) -> anyhow::Result<Vec<hearsay::models::pull::PullReport>> {
    pull_with(&Catalog::default(), &names(&[repo]), dir, options).await
}

fn resolve_path(repo: &str, file: &str) -> String {
    format!("/{repo}/resolve/{COMMIT}/{file}")
}

#[tokio::test]
async fn a_faster_whisper_repository_converts_to_the_size_of_whisper_cpps_own_file() {
    let hub = StandIn::start().await;
    hub.put_repo(TINY_REPO, COMMIT, &tiny_en_files());
    let dir = tempfile::tempdir().unwrap();
    let options = PullOptions {
        token: Some("hf_repo_token".into()),
        ..hub.options()
    };

    let reports = pull_repo(TINY_REPO, dir.path(), &options).await.unwrap();

    let target = dir.path().join("faster-whisper-tiny.en.bin");
    assert_eq!(reports[0].id, "faster-whisper-tiny.en");
    assert_eq!(reports[0].outcome, PullOutcome::Downloaded);
    assert_eq!(reports[0].paths, std::slice::from_ref(&target));
    assert_eq!(
        std::fs::metadata(&target).unwrap().len(),
        GGML_TINY_EN_BYTES
    );
    let info = validate_whisper_model(&target).unwrap();
    assert!(!info.is_multilingual());
    assert_eq!(
        dir_entries(dir.path()),
        ["faster-whisper-tiny.en.bin"],
        "the download is removed"
    );

    let seen = hub.hub.seen();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            listing_path(TINY_REPO),
            resolve_path(TINY_REPO, "config.json"),
            resolve_path(TINY_REPO, "tokenizer.json"),
            resolve_path(TINY_REPO, "vocabulary.txt"),
            resolve_path(TINY_REPO, "model.bin"),
            resolve_path(TINY_REPO, "model.bin"),
        ],
        "only what the conversion needs, the weights last, after a look at their header"
    );
    assert_eq!(seen[4].range.as_deref(), Some("bytes=0-63"));
    assert_eq!(seen[5].range, None);
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer hf_repo_token")),
        "{seen:?}"
    );

    // Pulled again: installed, and the hub is not asked.
    let again = pull_repo(TINY_REPO, dir.path(), &options).await.unwrap();
    assert_eq!(again[0].outcome, PullOutcome::AlreadyInstalled);
    assert_eq!(hub.hub.seen().len(), seen.len());
}

#[tokio::test]
async fn an_interrupted_download_resumes_and_then_converts() {
    let hub = StandIn::start().await;
    hub.put_repo(TINY_REPO, COMMIT, &tiny_en_files());
    let dir = tempfile::tempdir().unwrap();
    let staging = dir
        .path()
        .join(".hearsay-pull/Systran--faster-whisper-tiny.en");

    // The header check and the small files pass; the weights are cut after 20 MB.
    *hub.hub.cut_path_after.lock().unwrap() =
        Some((resolve_path(TINY_REPO, "model.bin"), 20_000_000));
    let result = pull_repo(TINY_REPO, dir.path(), &hub.options()).await;
    let message = format!("{:#}", result.unwrap_err());
    assert!(message.contains("interrupted"), "{message}");
    assert!(message.contains("again to resume"), "{message}");
    let part = std::fs::metadata(staging.join("model.bin.part")).unwrap();
    assert_eq!(part.len(), 20_000_000);
    assert!(!dir.path().join("faster-whisper-tiny.en.bin").exists());

    let before = hub.hub.seen().len();
    pull_repo(TINY_REPO, dir.path(), &hub.options())
        .await
        .unwrap();
    let target = dir.path().join("faster-whisper-tiny.en.bin");
    assert_eq!(
        std::fs::metadata(&target).unwrap().len(),
        GGML_TINY_EN_BYTES
    );
    assert!(validate_whisper_model(&target).is_ok());
    assert_eq!(dir_entries(dir.path()), ["faster-whisper-tiny.en.bin"]);
    let resumed: Vec<_> = hub.hub.seen()[before..]
        .iter()
        .filter(|s| s.path.ends_with("/model.bin"))
        .map(|s| s.range.clone())
        .collect();
    assert_eq!(
        resumed,
        [Some("bytes=20000000-".to_string())],
        "the small files are kept, the weights resume"
    );
}

#[tokio::test]
async fn repositories_that_are_not_whisper_are_refused_and_leave_nothing() {
    let hub = StandIn::start().await;
    // A transformers BERT: its config says so before the weights are fetched.
    hub.put_repo(
        "google/bert-tiny",
        COMMIT,
        &[
            RepoFile::new("config.json", r#"{"model_type": "bert"}"#),
            RepoFile::new("model.safetensors", data(50_000, 1)).lfs(),
            RepoFile::new("vocab.json", "{}"),
        ],
    );
    // A CTranslate2 language model: its model.bin header names another spec.
    let mut header = 6u32.to_le_bytes().to_vec();
    header.extend(16u16.to_le_bytes());
    header.extend(b"TransformerSpec\0");
    header.extend(data(100_000, 2));
    hub.put_repo(
        "someone/ct2-llm",
        COMMIT,
        &[
            RepoFile::new("config.json", "{}"),
            RepoFile::new("model.bin", header).lfs(),
            RepoFile::new("vocabulary.json", "[]"),
        ],
    );
    hub.put_repo("someone/docs", COMMIT, &[RepoFile::new("README.md", "hi")]);
    let dir = tempfile::tempdir().unwrap();

    for (repo, why) in [
        ("google/bert-tiny", "a transformers `bert` model"),
        ("someone/ct2-llm", "a CTranslate2 `TransformerSpec` model"),
        ("someone/docs", "no model.bin"),
    ] {
        let message = format!(
            "{:#}",
            pull_repo(repo, dir.path(), &hub.options())
                .await
                .unwrap_err()
        );
        assert!(
            message.starts_with(&format!(
                "`{repo}` is not a Whisper checkpoint hearsay can convert: "
            )),
            "{message}"
        );
        assert!(message.contains(why), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(dir_entries(dir.path()).is_empty(), "{repo} left files");
    }
    let weights: Vec<_> = hub
        .hub
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/model.safetensors") || s.path.ends_with("/model.bin"))
        .map(|s| (s.path, s.range))
        .collect();
    assert_eq!(
        weights,
        [(
            format!("/someone/ct2-llm/resolve/{COMMIT}/model.bin"),
            Some("bytes=0-63".to_string())
        )],
        "no weights were downloaded"
    );
}

#[tokio::test]
async fn a_file_missing_on_the_hub_fails_and_nothing_is_installed() {
    let hub = StandIn::start().await;
    let files: Vec<RepoFile> = tiny_en_files()
        .into_iter()
        .map(|file| {
            if file.name == "vocabulary.txt" {
                file.missing()
            } else {
                file
            }
        })
        .collect();
    hub.put_repo(TINY_REPO, COMMIT, &files);
    let dir = tempfile::tempdir().unwrap();

    let message = format!(
        "{:#}",
        pull_repo(TINY_REPO, dir.path(), &hub.options())
            .await
            .unwrap_err()
    );

    assert!(
        message.starts_with(&format!("cannot pull `{TINY_REPO}`")),
        "{message}"
    );
    assert!(message.contains("vocabulary.txt"), "{message}");
    assert!(message.contains("404"), "{message}");
    assert!(!dir.path().join("faster-whisper-tiny.en.bin").exists());
    assert!(
        !hub.hub
            .seen()
            .iter()
            .any(|s| s.path.ends_with("/model.bin")),
        "the weights are not fetched after a failure"
    );
}

#[tokio::test]
async fn an_unknown_repository_and_a_bad_id_say_so() {
    let hub = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();

    let message = format!(
        "{:#}",
        pull_repo("nobody/nothing", dir.path(), &hub.options())
            .await
            .unwrap_err()
    );
    assert!(
        message.contains("cannot pull `nobody/nothing`"),
        "{message}"
    );
    assert!(message.contains("404"), "{message}");

    let message = format!(
        "{:#}",
        pull_repo("a/b/c", dir.path(), &hub.options())
            .await
            .unwrap_err()
    );
    assert!(
        message.contains("not a Hugging Face repository id"),
        "{message}"
    );
    assert_eq!(
        hub.hub.seen().len(),
        1,
        "a bad id is refused before any request"
    );
    assert!(dir_entries(dir.path()).is_empty());
}

#[tokio::test]
async fn without_a_network_it_says_what_to_fetch_and_how_to_convert_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let hub = StandIn::start().await;
    let options = PullOptions {
        endpoint: Some(endpoint),
        ..hub.options()
    };
    let dir = tempfile::tempdir().unwrap();

    let message = format!(
        "{:#}",
        pull_repo("openai/whisper-small", dir.path(), &options)
            .await
            .unwrap_err()
    );

    assert!(
        message.starts_with("cannot reach the model host 127.0.0.1"),
        "{message}"
    );
    assert!(
        message.contains("https://huggingface.co/openai/whisper-small/tree/main"),
        "{message}"
    );
    assert!(message.contains("model.safetensors"), "{message}");
    assert!(
        message.contains(&format!(
            "hearsay convert DIR {}",
            dir.path().join("whisper-small.bin").display()
        )),
        "{message}"
    );
    assert!(dir_entries(dir.path()).is_empty());
}
