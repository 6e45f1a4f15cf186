use serde_json::json;

use super::*;

fn listing(files: &[&str]) -> Listing {
    let siblings: Vec<_> = files
        .iter()
        .map(|name| json!({ "rfilename": name, "size": 10 }))
        .collect();
    Listing::parse(
        json!({ "sha": "abc", "siblings": siblings })
            .to_string()
            .as_bytes(),
    )
    .unwrap()
}

fn names(selected: &(SourceFormat, Vec<RepoFile>)) -> Vec<&str> {
    selected.1.iter().map(|f| f.name.as_str()).collect()
}

#[test]
fn repository_ids_parse_and_anything_else_is_not_one() {
    let small = RepoRef::parse("Systran/faster-whisper-small")
        .unwrap()
        .unwrap();
    assert_eq!(small.id(), "Systran/faster-whisper-small");
    assert_eq!(small.revision, "main");
    assert_eq!(
        small.listing_url("http://mirror"),
        "http://mirror/api/models/Systran/faster-whisper-small/revision/main?blobs=true"
    );
    assert_eq!(
        small.file_url("0123", "model.bin"),
        "https://huggingface.co/Systran/faster-whisper-small/resolve/0123/model.bin"
    );
    let pinned = RepoRef::parse(" openai/whisper-small@v1.0 ")
        .unwrap()
        .unwrap();
    assert_eq!(
        (pinned.name.as_str(), pinned.revision.as_str()),
        ("whisper-small", "v1.0")
    );

    assert_eq!(RepoRef::parse("base.en"), None);
    for bad in [
        "a/b/c", "/b", "a/", "../b", "a/..", "a/b@", "a/b@x/y", "a b/c", "a--b/c",
    ] {
        let error = RepoRef::parse(bad).unwrap().unwrap_err();
        assert!(
            error.contains("not a Hugging Face repository id"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn a_ctranslate2_repository_fetches_its_small_files_then_the_weights() {
    let listing = listing(&[
        ".gitattributes",
        "README.md",
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]);
    let selected = listing.select().unwrap();
    assert_eq!(selected.0, SourceFormat::CTranslate2);
    assert_eq!(
        names(&selected),
        [
            "config.json",
            "tokenizer.json",
            "vocabulary.txt",
            "model.bin"
        ]
    );
}

#[test]
fn a_transformers_repository_skips_the_other_frameworks_weights() {
    let listing = listing(&[
        "added_tokens.json",
        "config.json",
        "flax_model.msgpack",
        "model.safetensors",
        "pytorch_model.bin",
        "tf_model.h5",
        "tokenizer.json",
        "vocab.json",
    ]);
    let selected = listing.select().unwrap();
    assert_eq!(selected.0, SourceFormat::Transformers);
    assert_eq!(
        names(&selected),
        [
            "config.json",
            "vocab.json",
            "added_tokens.json",
            "tokenizer.json",
            "model.safetensors"
        ]
    );
    let sharded = self::listing(&["config.json", SAFETENSORS_INDEX, "tokenizer.json"]);
    assert_eq!(
        names(&sharded.select().unwrap()).last(),
        Some(&SAFETENSORS_INDEX)
    );
}

#[test]
fn repositories_that_cannot_be_converted_say_why() {
    let reason = |files: &[&str]| listing(files).select().unwrap_err();
    assert!(reason(&["README.md"]).contains("no model.bin"));
    assert!(reason(&["config.json", "pytorch_model.bin"]).contains("PyTorch pickles"));
    assert!(reason(&["ggml-tiny.bin"]).contains("need no conversion"));
    assert!(reason(&["config.json", "model.bin"]).contains("no vocabulary"));
    assert!(reason(&["model.bin", "vocabulary.txt"]).contains("no config.json"));
    assert!(reason(&["config.json", "model.safetensors"]).contains("no vocab.json"));
}

#[test]
fn lfs_sizes_and_hashes_win_and_a_missing_size_is_an_error() {
    let hash = "AB".repeat(32);
    let listing = Listing::parse(
        json!({ "siblings": [
            { "rfilename": "model.bin", "size": 1, "lfs": { "sha256": hash, "size": 500 } },
            { "rfilename": "config.json" },
            { "rfilename": "odd", "size": 3, "lfs": { "sha256": "not-hex" } },
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        listing.file("model.bin").unwrap(),
        RepoFile {
            name: "model.bin".into(),
            size: 500,
            sha256: Some("ab".repeat(32)),
        }
    );
    assert!(listing.file("config.json").unwrap_err().contains("no size"));
    assert_eq!(listing.file("odd").unwrap().sha256, None);
    assert!(listing.file("absent").is_err());
    assert!(Listing::parse(b"[]").is_err());
}

#[test]
fn shard_names_come_from_the_index_and_stay_in_the_directory() {
    let index = json!({ "weight_map": {
        "a": "model-00002-of-00002.safetensors",
        "b": "model-00001-of-00002.safetensors",
        "c": "model-00001-of-00002.safetensors",
    }});
    assert_eq!(
        shard_names(index.to_string().as_bytes()).unwrap(),
        [
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        ]
    );
    let escaping = json!({ "weight_map": { "a": "../../etc/passwd" } });
    assert!(shard_names(escaping.to_string().as_bytes()).is_err());
    assert!(shard_names(b"{}").is_err());
}
