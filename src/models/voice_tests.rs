//! Tests for voice configs, speaker names and the voice scan.

use super::*;
use serde_json::{Value, json};

/// A config shaped like a real piper voice (en_US-lessac-medium.onnx.json, shortened map).
fn real_world_config() -> Value {
    json!({
        "dataset": "lessac",
        "audio": {"sample_rate": 22050, "quality": "medium"},
        "espeak": {"voice": "en-us"},
        "language": {
            "code": "en_US", "family": "en", "region": "US",
            "name_native": "English", "name_english": "English", "country_english": "United States"
        },
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": {
            " ": [3], "!": [4], "$": [2], "^": [1], "_": [0], "a": [14], "aɪ": [161], "ə": [59]
        },
        "num_symbols": 256,
        "num_speakers": 1,
        "speaker_id_map": {},
        "piper_version": "1.0.0"
    })
}

fn multi_speaker_config() -> Value {
    let mut config = real_world_config();
    config["dataset"] = json!("vctk");
    config["num_speakers"] = json!(3);
    config["speaker_id_map"] = json!({"p239": 0, "p236": 1, "3": 2});
    config["default_speaker_id"] = json!(1);
    config
}

fn parse(value: &Value) -> Result<VoiceConfig, VoiceConfigError> {
    VoiceConfig::from_json(&serde_json::to_vec(value).unwrap())
}

fn invalid_message(value: &Value) -> String {
    match parse(value) {
        Ok(config) => panic!("accepted an invalid config: {config:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn real_world_config_parses_with_every_field() {
    let config = parse(&real_world_config()).unwrap();
    assert_eq!(config.num_symbols, 256);
    assert_eq!(config.num_speakers, 1);
    assert_eq!(config.audio.sample_rate, 22050);
    assert_eq!(config.audio.quality.as_deref(), Some("medium"));
    assert_eq!(config.espeak.voice, "en-us");
    assert_eq!(config.phoneme_type, PhonemeType::Espeak);
    assert_eq!(config.phoneme_id_map["aɪ"], vec![161]);
    assert_eq!(config.inference.scales(), [0.667, 1.0, 0.8]);
    assert_eq!(config.hop_length, 256);
    assert_eq!(config.default_speaker_id(), 0);
    assert!(config.needs_espeak() && config.phonemes_supported());
    assert!(config.vowel_clusters.is_empty());
    assert_eq!(config.piper_version.as_deref(), Some("1.0.0"));
    assert_eq!(config.dataset.as_deref(), Some("lessac"));
    let language = config.language.as_ref().unwrap();
    assert_eq!(language.code.as_deref(), Some("en_US"));
    assert_eq!(language.name_english.as_deref(), Some("English"));
    assert!(!config.is_multi_speaker());
}

#[test]
fn missing_optional_fields_take_piper_defaults() {
    let config = parse(&json!({
        "num_symbols": 10,
        "num_speakers": 1,
        "audio": {"sample_rate": 16000},
        "espeak": {"voice": "de"},
        "phoneme_id_map": {"^": [1], "_": [0], "$": [2]}
    }))
    .unwrap();
    assert_eq!(config.phoneme_type, PhonemeType::Espeak);
    assert_eq!(config.inference, InferenceConfig::default());
    assert_eq!(config.inference.scales(), [0.667, 1.0, 0.8]);
    assert_eq!(config.hop_length, 256);
    assert_eq!(config.default_speaker_id(), 0);
    assert!(config.speaker_id_map.is_empty());
    assert_eq!(config.piper_version, None);
    assert_eq!(config.language, None);
    assert_eq!(config.audio.quality, None);

    // A partial inference section keeps the defaults of the rest.
    let mut value = real_world_config();
    value["inference"] = json!({"length_scale": 1.5});
    let config = parse(&value).unwrap();
    assert_eq!(config.inference.scales(), [0.667, 1.5, 0.8]);
}

#[test]
fn null_optional_fields_mean_defaults() {
    let mut value = real_world_config();
    for field in [
        "phoneme_type",
        "speaker_id_map",
        "inference",
        "hop_length",
        "default_speaker_id",
        "vowel_clusters",
        "piper_version",
        "language",
    ] {
        value[field] = Value::Null;
    }
    let config = parse(&value).unwrap();
    assert_eq!(config.inference, InferenceConfig::default());
    assert_eq!(config.hop_length, 256);
    assert_eq!(config.language, None);
}

#[test]
fn informational_fields_of_the_wrong_type_are_ignored() {
    let mut value = real_world_config();
    value["language"] = json!("en_US");
    value["dataset"] = json!(42);
    value["audio"]["quality"] = json!(["medium"]);
    value["piper_version"] = json!(1);
    value["something_new"] = json!({"nested": true});
    let config = parse(&value).unwrap();
    assert_eq!(config.language, None);
    assert_eq!(config.dataset, None);
    assert_eq!(config.audio.quality, None);
    assert_eq!(config.piper_version, None);
}

#[test]
fn other_phoneme_types_and_vowel_clusters_parse() {
    let mut value = real_world_config();
    value["phoneme_type"] = json!("text");
    value["vowel_clusters"] = json!([["a", "ɪ"], ["o", "ʊ"]]);
    value["hop_length"] = json!(512);
    let config = parse(&value).unwrap();
    assert_eq!(config.phoneme_type, PhonemeType::Text);
    assert!(!config.needs_espeak() && config.phonemes_supported());
    assert_eq!(config.vowel_clusters, vec![vec!["a", "ɪ"], vec!["o", "ʊ"]]);
    assert_eq!(config.hop_length, 512);
    for (name, ty) in [
        ("pinyin", PhonemeType::Pinyin),
        ("hebrew", PhonemeType::Hebrew),
        ("japanese", PhonemeType::Japanese),
        ("thai", PhonemeType::Thai),
    ] {
        value["phoneme_type"] = json!(name);
        let config = parse(&value).unwrap();
        assert_eq!(config.phoneme_type, ty);
        assert!(!config.needs_espeak() && !config.phonemes_supported());
    }
    value["phoneme_type"] = json!("klingon");
    assert!(invalid_message(&value).contains("klingon"));
}

#[test]
fn multi_speaker_config_resolves_speakers_by_name_and_id() {
    let config = parse(&multi_speaker_config()).unwrap();
    assert!(config.is_multi_speaker());
    assert_eq!(config.default_speaker_id(), 1);
    assert_eq!(config.speaker_id("p239"), Some(0));
    assert_eq!(config.speaker_id(" p236 "), Some(1));
    assert_eq!(config.speaker_id("0"), Some(0));
    assert_eq!(config.speaker_id("1"), Some(1));
    // A name wins over the same number read as an id.
    assert_eq!(config.speaker_id("3"), Some(2));
    assert_eq!(config.speaker_id("2"), Some(2));
    assert_eq!(config.speaker_id("4"), None);
    assert_eq!(config.speaker_id("-1"), None);
    assert_eq!(config.speaker_id("nobody"), None);
    assert_eq!(config.speaker_id(""), None);
    assert_eq!(config.speaker_id("99999999999999999999999"), None);
    assert_eq!(
        config.speaker_names(),
        vec![(0, "p239"), (1, "p236"), (2, "3")]
    );

    let single = parse(&real_world_config()).unwrap();
    assert_eq!(single.speaker_id("0"), Some(0));
    assert_eq!(single.speaker_id("1"), None);
}

#[test]
fn missing_required_fields_are_errors() {
    for field in [
        "num_symbols",
        "num_speakers",
        "audio",
        "espeak",
        "phoneme_id_map",
    ] {
        let mut value = real_world_config();
        value.as_object_mut().unwrap().remove(field);
        let message = invalid_message(&value);
        assert!(message.contains(field), "{field}: {message}");
    }
    let mut value = real_world_config();
    value["audio"] = json!({"quality": "medium"});
    assert!(invalid_message(&value).contains("sample_rate"));
    let mut value = real_world_config();
    value["espeak"] = json!({});
    assert!(invalid_message(&value).contains("voice"));
}

/// A change that makes the real-world config invalid.
type Breakage = fn(&mut Value);

#[test]
fn bad_values_are_errors_with_reasons() {
    let cases: Vec<(&str, Breakage)> = vec![
        ("sample_rate", |v| v["audio"]["sample_rate"] = json!(0)),
        ("sample_rate", |v| {
            v["audio"]["sample_rate"] = json!(10_000_000)
        }),
        ("sample_rate", |v| v["audio"]["sample_rate"] = json!(-22050)),
        ("sample_rate", |v| {
            v["audio"]["sample_rate"] = json!("22050")
        }),
        ("num_speakers", |v| v["num_speakers"] = json!(0)),
        ("num_symbols", |v| v["num_symbols"] = json!(0)),
        ("phoneme_id_map is empty", |v| {
            v["phoneme_id_map"] = json!({})
        }),
        ("`^`", |v| {
            v["phoneme_id_map"] = json!({"_": [0], "$": [2], "a": [3]})
        }),
        ("`$`", |v| {
            v["phoneme_id_map"] = json!({"_": [0], "^": [1], "a": [3]})
        }),
        ("`_`", |v| {
            v["phoneme_id_map"] = json!({"_": [], "^": [1], "$": [2]})
        }),
        ("negative", |v| v["phoneme_id_map"]["a"] = json!([-5])),
        ("phoneme_id_map", |v| v["phoneme_id_map"]["a"] = json!("x")),
        ("`bob` id 1", |v| {
            v["speaker_id_map"] = json!({"alice": 0, "bob": 1})
        }),
        ("`eve` id -1", |v| v["speaker_id_map"] = json!({"eve": -1})),
        ("default_speaker_id", |v| v["default_speaker_id"] = json!(1)),
        ("length_scale", |v| {
            v["inference"]["length_scale"] = json!(0)
        }),
        ("finite", |v| v["inference"]["noise_scale"] = json!(1e300)),
        ("hop_length", |v| v["hop_length"] = json!(0)),
        ("espeak.voice", |v| v["espeak"]["voice"] = json!(" ")),
    ];
    for (expected, mutate) in cases {
        let mut value = real_world_config();
        mutate(&mut value);
        let message = invalid_message(&value);
        assert!(
            message.contains(expected),
            "expected `{expected}` in: {message}"
        );
    }
}

#[test]
fn non_json_is_an_error() {
    for bytes in [
        &b""[..],
        b"not json",
        b"[1, 2]",
        b"{\"num_symbols\": 256",
        b"\xff\xfe",
    ] {
        assert!(VoiceConfig::from_json(bytes).is_err());
    }
}

// ---------------------------------------------------------------- the voice scan

/// The voices [`crate::models::scan`] finds under `dir`, and the ones it rejects.
fn find_voices(dir: &Path) -> (Vec<VoiceFile>, Vec<(PathBuf, String)>) {
    let inventory = crate::models::scan(dir);
    (inventory.voices, inventory.rejected_voices)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn write_voice(dir: &Path, relative: &str, config: &Value) {
    let model = dir.join(format!("{relative}.onnx"));
    write(&model, b"\x08\x08fake onnx");
    write(
        &dir.join(format!("{relative}.onnx.json")),
        &serde_json::to_vec(config).unwrap(),
    );
}

fn reason_for<'a>(rejected: &'a [(PathBuf, String)], file: &str) -> &'a str {
    rejected
        .iter()
        .find(|(path, _)| path.ends_with(file))
        .map(|(_, reason)| reason.as_str())
        .unwrap_or_else(|| panic!("{file} not rejected: {rejected:?}"))
}

#[test]
fn find_voices_sorts_good_voices_and_rejects_bad_ones_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_voice(root, "en_US-lessac-medium", &real_world_config());
    write_voice(
        root,
        "piper/vctk/en_GB-vctk-medium",
        &multi_speaker_config(),
    );
    // Missing config.
    write(&root.join("kokoro.onnx"), b"model");
    // Invalid config.
    let mut bad = real_world_config();
    bad["num_speakers"] = json!(0);
    write_voice(root, "bad-speakers", &bad);
    // Not JSON.
    write(&root.join("garbage.onnx"), b"model");
    write(&root.join("garbage.onnx.json"), b"{not json");
    // Empty model.
    write(&root.join("empty.onnx"), b"");
    write(
        &root.join("empty.onnx.json"),
        &serde_json::to_vec(&real_world_config()).unwrap(),
    );
    // A phoneme type only piper's Python stack handles.
    let mut pinyin = real_world_config();
    pinyin["phoneme_type"] = json!("pinyin");
    write_voice(root, "zh_CN-pinyin-medium", &pinyin);
    // Same id twice: the first path in sort order wins.
    write_voice(root, "z/en_US-lessac-medium", &real_world_config());
    // Too deep (5 levels below the models directory).
    write_voice(root, "a/b/c/d/e/deep", &real_world_config());
    // Ignored: configs without models, other files, a directory named like a model.
    write(
        &root.join("orphan.onnx.json"),
        &serde_json::to_vec(&real_world_config()).unwrap(),
    );
    write(&root.join("notes.txt"), b"hello");
    std::fs::create_dir_all(root.join("folder.onnx")).unwrap();

    let (voices, rejected) = find_voices(root);
    let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["en_GB-vctk-medium", "en_US-lessac-medium"]);
    let vctk = &voices[0];
    assert_eq!(vctk.config.num_speakers, 3);
    assert!(
        vctk.model_path
            .ends_with("piper/vctk/en_GB-vctk-medium.onnx")
    );
    assert!(
        vctk.config_path
            .ends_with("piper/vctk/en_GB-vctk-medium.onnx.json")
    );
    assert_eq!(voices[1].model_path, root.join("en_US-lessac-medium.onnx"));

    assert_eq!(rejected.len(), 6, "{rejected:?}");
    assert!(reason_for(&rejected, "zh_CN-pinyin-medium.onnx").contains("\"pinyin\""));
    assert!(reason_for(&rejected, "kokoro.onnx").contains("kokoro.onnx.json"));
    assert!(reason_for(&rejected, "bad-speakers.onnx").contains("num_speakers"));
    assert!(reason_for(&rejected, "garbage.onnx").contains("not a valid Piper voice config"));
    assert!(reason_for(&rejected, "empty.onnx").contains("empty"));
    assert!(reason_for(&rejected, "z/en_US-lessac-medium.onnx").contains("already"));
}

#[test]
fn find_voices_finds_four_levels_down() {
    let dir = tempfile::tempdir().unwrap();
    write_voice(dir.path(), "a/b/c/d/deep", &real_world_config());
    let (voices, rejected) = find_voices(dir.path());
    assert_eq!(voices.len(), 1, "{rejected:?}");
    assert_eq!(voices[0].id, "deep");
}

#[test]
fn find_voices_never_reads_a_huge_config() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("huge.onnx"), b"model");
    // A 2 GB sparse file: reading it whole would take 2 GB of memory.
    let file = std::fs::File::create(dir.path().join("huge.onnx.json")).unwrap();
    file.set_len(2 << 30).unwrap();
    drop(file);
    // Just over the cap, with valid JSON at the start.
    let mut big = serde_json::to_vec(&real_world_config()).unwrap();
    big.resize(MAX_CONFIG_BYTES as usize + 1, b' ');
    write(&dir.path().join("big.onnx"), b"model");
    write(&dir.path().join("big.onnx.json"), &big);
    // Exactly at the cap is still read.
    big.truncate(MAX_CONFIG_BYTES as usize);
    write(&dir.path().join("cap.onnx"), b"model");
    write(&dir.path().join("cap.onnx.json"), &big);

    let (voices, rejected) = find_voices(dir.path());
    assert_eq!(voices.len(), 1, "{rejected:?}");
    assert_eq!(voices[0].id, "cap");
    assert!(reason_for(&rejected, "huge.onnx").contains("larger than 10 MB"));
    assert!(reason_for(&rejected, "big.onnx").contains("larger than 10 MB"));
}

#[test]
fn find_voices_on_a_missing_directory_finds_nothing() {
    let (voices, rejected) = find_voices(Path::new("/nonexistent/hearsay/models"));
    assert!(voices.is_empty() && rejected.is_empty());
}

#[test]
fn find_voices_reports_an_unreadable_config_path() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("v.onnx"), b"model");
    // A directory where the config should be is "missing", not a panic.
    std::fs::create_dir_all(dir.path().join("v.onnx.json")).unwrap();
    let (voices, rejected) = find_voices(dir.path());
    assert!(voices.is_empty());
    assert!(reason_for(&rejected, "v.onnx").contains("no voice config"));
}

#[cfg(unix)]
#[test]
fn find_voices_follows_file_links_but_not_directory_links() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    write_voice(&store, "real", &real_world_config());
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(store.join("real.onnx"), models.join("linked.onnx")).unwrap();
    std::os::unix::fs::symlink(
        store.join("real.onnx.json"),
        models.join("linked.onnx.json"),
    )
    .unwrap();
    // A link back up would loop forever if followed.
    std::os::unix::fs::symlink(&models, models.join("loop")).unwrap();
    let (voices, rejected) = find_voices(&models);
    let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["linked"], "{rejected:?}");
}
