use super::*;

#[test]
fn the_builtin_catalog_parses_and_has_every_file() {
    let catalog = Catalog::builtin().expect("the embedded catalog is valid");
    let files: usize = catalog.models().iter().map(|m| m.files.len()).sum();
    assert_eq!(files, 49);
    let count = |kind| catalog.models().iter().filter(|m| m.kind == kind).count();
    assert_eq!(count(ModelKind::Whisper), 29);
    assert_eq!(count(ModelKind::Vad), 2);
    assert_eq!(count(ModelKind::Voice), 9);
}

#[test]
fn builtin_ids_file_names_and_pinned_urls() {
    let catalog = Catalog::builtin().unwrap();
    let tiny = catalog.get("tiny").unwrap();
    assert_eq!(tiny.kind, ModelKind::Whisper);
    assert_eq!(tiny.files[0].file_name, "tiny.bin");
    assert_eq!(tiny.files[0].upstream_name(), "ggml-tiny.bin");
    assert_eq!(tiny.files[0].size, 77_691_713);
    assert_eq!(
        tiny.files[0].url,
        "https://huggingface.co/ggerganov/whisper.cpp/resolve/5359861c739e955e79d9a303bcbc70fb988958b1/ggml-tiny.bin"
    );
    assert!(catalog.get("large-v3-turbo-q8_0").is_some());
    assert_eq!(catalog.get("silero-v5.1.2").unwrap().kind, ModelKind::Vad);

    let voice = catalog.get("en_US-lessac-medium").unwrap();
    assert_eq!(voice.kind, ModelKind::Voice);
    let names: Vec<_> = voice.files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(
        names,
        ["en_US-lessac-medium.onnx.json", "en_US-lessac-medium.onnx"]
    );
    assert_eq!(voice.size(), 63_201_294 + 4885);

    for model in catalog.models() {
        for file in &model.files {
            assert!(
                !file.url.contains("/resolve/main/"),
                "{} is not pinned",
                file.url
            );
        }
    }
}

#[test]
fn upstream_names_resolve_too() {
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(catalog.get("ggml-base.en.bin").unwrap().id, "base.en");
    assert_eq!(catalog.get("ggml-base.en").unwrap().id, "base.en");
    assert_eq!(catalog.get(" tiny ").unwrap().id, "tiny");
    assert_eq!(
        catalog.get("en_US-amy-medium.onnx").unwrap().id,
        "en_US-amy-medium"
    );
    assert!(catalog.get("huge").is_none());
    assert!(catalog.get("").is_none());
    assert!(catalog.get("../tiny").is_none());
}

#[test]
fn close_matches_catch_typos_and_parts() {
    let catalog = Catalog::builtin().unwrap();
    assert_eq!(catalog.close_matches("tyni")[0], "tiny");
    assert!(catalog.close_matches("base-en").contains(&"base.en"));
    let large = catalog.close_matches("large");
    assert!(large.contains(&"large-v3"), "{large:?}");
    assert!(large.len() <= 8);
    assert_eq!(catalog.close_matches("lessac"), ["en_US-lessac-medium"]);
    assert!(catalog.close_matches("zzzzzzzzzzzz").is_empty());
    assert!(catalog.close_matches("").is_empty());
}

#[test]
fn invalid_catalogs_are_refused_with_a_reason() {
    let file = |extra: &str| {
        format!(
            "[[file]]\nmodel = \"m\"\nkind = \"whisper\"\nurl = \"https://h/m.bin\"\nsize = 3\nsha256 = \"{}\"\n{extra}",
            "a".repeat(64)
        )
    };
    assert!(Catalog::parse(&file("")).is_ok());
    assert!(
        Catalog::parse(&file("colour = 1"))
            .unwrap_err()
            .contains("colour")
    );
    let bad_hash = file("").replace(&"a".repeat(64), "xyz");
    assert!(Catalog::parse(&bad_hash).unwrap_err().contains("sha256"));
    let bad_id = file("").replace("model = \"m\"", "model = \"../m\"");
    assert!(
        Catalog::parse(&bad_id)
            .unwrap_err()
            .contains("not a usable")
    );
    let bad_kind = file("").replace("whisper", "gguf");
    assert!(
        Catalog::parse(&bad_kind)
            .unwrap_err()
            .contains("unknown kind")
    );
    let twice = format!("{}\n{}", file(""), file(""));
    assert!(Catalog::parse(&twice).is_err());
    let lonely_voice = file("").replace("whisper", "piper-model");
    assert!(
        Catalog::parse(&lonely_voice)
            .unwrap_err()
            .contains("piper-config")
    );
    assert!(Catalog::parse("not toml [").is_err());
}

#[test]
fn sizes_read_like_the_hub() {
    assert_eq!(human_size(885_098), "885.1 kB");
    assert_eq!(human_size(77_691_713), "77.7 MB");
    assert_eq!(human_size(3_095_033_483), "3.10 GB");
    assert_eq!(human_size(12), "12 B");
}
