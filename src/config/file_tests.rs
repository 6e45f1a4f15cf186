use std::path::PathBuf;

use super::*;
use crate::config::{Command, LogFormat, ServeConfig};

fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearsay.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn serve_with(args: &[&str]) -> Result<(ServeConfig, Loaded), LoadError> {
    let loaded = load(["hearsay", "serve"].iter().chain(args))?;
    match &loaded.cli.command {
        Command::Serve(config) => Ok(((**config).clone(), loaded)),
        other => panic!("not serve: {other:?}"),
    }
}

fn file_error(args: &[&str]) -> String {
    match serve_with(args) {
        Err(LoadError::File { message, .. }) => message,
        other => panic!("expected a config file error, got {other:?}"),
    }
}

const FULL: &str = r#"
host = "0.0.0.0"
port = 9001
models_dir = "/srv/models"
max-audio-seconds = 60
max-upload-bytes = 1000
api-keys = ["first", "second"]
voice-map = ["alloy=lessac", "echo=multi:bob"]
log-format = "json"
"#;

#[test]
fn file_values_apply_where_no_flag_is_given() {
    let (_dir, path) = write_config(FULL);
    let (config, _) = serve_with(&["--config", path.to_str().unwrap()]).unwrap();
    assert_eq!(config.host, "0.0.0.0");
    assert_eq!(config.port, 9001);
    assert_eq!(config.models_dir, PathBuf::from("/srv/models"));
    assert_eq!(config.max_audio_seconds, 60.0);
    assert_eq!(config.max_upload_bytes, 1000);
    assert_eq!(config.api_keys, ["first", "second"]);
    assert_eq!(
        config.voice_map,
        [
            ("alloy".to_string(), "lessac".to_string()),
            ("echo".to_string(), "multi:bob".to_string())
        ]
    );
    assert_eq!(config.log_format, LogFormat::Json);
    // Untouched keys keep their defaults.
    assert_eq!(config.max_queue, 16);
}

#[test]
fn flags_beat_the_file() {
    let (_dir, path) = write_config(FULL);
    let (config, _) = serve_with(&[
        "--port",
        "7000",
        "--config",
        path.to_str().unwrap(),
        "--api-key",
        "only",
    ])
    .unwrap();
    assert_eq!(config.port, 7000);
    assert_eq!(config.api_keys, ["only"]);
    assert_eq!(config.host, "0.0.0.0");
}

/// The error a config file holding `text` gets.
fn error_for(text: &str) -> String {
    let (_dir, path) = write_config(text);
    file_error(&["--config", path.to_str().unwrap()])
}

#[test]
fn mistakes_in_the_file_name_the_key() {
    let message = error_for("prot = 9000\n");
    assert!(
        message.starts_with("unknown key `prot`; the keys are: host, port,"),
        "{message}"
    );
    assert!(!message.contains("print-config"), "{message}");
    for (text, start) in [
        ("port = \"ninety\"\n", "`port`: invalid value 'ninety'"),
        ("port = 70000\n", "`port`: invalid value '70000'"),
        (
            "host = [\"a\", \"b\"]\n",
            "`host`: takes one value, not a list",
        ),
        ("[server]\nport = 1\n", "unknown key `server`"),
        (
            "log-format = \"xml\"\n",
            "`log-format`: invalid value 'xml'",
        ),
        (
            "voice-map = [\"alloy\"]\n",
            "`voice-map`: invalid value 'alloy'",
        ),
        ("config = \"other.toml\"\n", "unknown key `config`"),
        ("print-config = true\n", "unknown key `print-config`"),
    ] {
        let message = error_for(text);
        assert!(message.starts_with(start), "{text:?}: {message}");
    }
    let message = error_for("port = \n");
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn a_missing_or_huge_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml");
    let error = serve_with(&["--config", missing.to_str().unwrap()]).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("config file {}: ", missing.display())),
        "{text}"
    );

    let huge = dir.path().join("huge.toml");
    std::fs::write(&huge, "#".repeat(2 * 1024 * 1024)).unwrap();
    let message = file_error(&["--config", huge.to_str().unwrap()]);
    assert_eq!(message, "larger than 1048576 bytes");
}

#[test]
fn pull_and_models_take_the_models_dir_and_ignore_serve_keys() {
    let (_dir, path) = write_config(FULL);
    let loaded = load([
        "hearsay",
        "pull",
        "tiny",
        "--config",
        path.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Pull(args) = &loaded.cli.command else {
        panic!("not pull");
    };
    assert_eq!(args.models_dir, PathBuf::from("/srv/models"));
    assert_eq!(args.names, ["tiny"]);
    assert!(loaded.describe_serve().is_none());

    let loaded = load([
        "hearsay",
        "models",
        "--models-dir",
        "here",
        "--config",
        path.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Models(args) = loaded.cli.command else {
        panic!("not models");
    };
    assert_eq!(args.models_dir, PathBuf::from("here"));

    let (_dir, typo) = write_config("modelsdir = \"x\"\n");
    let error = load(["hearsay", "models", "--config", typo.to_str().unwrap()]).unwrap_err();
    assert!(
        error.to_string().contains("unknown key `modelsdir`"),
        "{error}"
    );
}

#[test]
fn print_config_tells_each_source_and_hides_secrets() {
    let (_dir, path) = write_config(FULL);
    let (_, loaded) = serve_with(&[
        "--config",
        path.to_str().unwrap(),
        "--port",
        "7000",
        "--print-config",
    ])
    .unwrap();
    let text = loaded.describe_serve().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        format!("# config file: {}", path.display()),
        "{text}"
    );
    for expected in [
        "host = \"0.0.0.0\"  # file",
        "port = 7000  # flag",
        "models-dir = \"/srv/models\"  # file",
        "# default-stt-model is not set",
        "max-upload-bytes = 1000  # file",
        "max-audio-seconds = 60  # file",
        "max-input-chars = 4096  # default",
        "api-key = [\"<redacted>\", \"<redacted>\"]  # file",
        "voice-map = [\"alloy=lessac\", \"echo=multi:bob\"]  # file",
        "log-format = \"json\"  # file",
    ] {
        assert!(
            lines.contains(&expected),
            "missing `{expected}` in:\n{text}"
        );
    }
    assert!(
        !text.contains("\"first\"") && !text.contains("\"second\""),
        "{text}"
    );
    assert!(!text.contains("print-config"), "{text}");
}

#[test]
fn printed_config_reads_back_as_the_same_configuration() {
    let (_dir, path) = write_config(
        "host = \"::1\"\nport = 0\nthreads = 3\nmax-concurrent = 2\nvoice-map = [\"nova=de\"]\n\
         default-voice = \"de\"\nrequest-timeout = 0\nespeak-data = \"/opt/espeak\"\n",
    );
    let (original, loaded) = serve_with(&["--config", path.to_str().unwrap()]).unwrap();
    let printed = loaded.describe_serve().unwrap();
    let (_dir2, again) = write_config(&printed);
    let (reread, _) = serve_with(&["--config", again.to_str().unwrap()]).unwrap();
    let without_file = |mut config: ServeConfig| {
        config.config = None;
        format!("{config:?}")
    };
    assert_eq!(without_file(original), without_file(reread), "{printed}");
}

#[test]
fn without_a_file_nothing_changes() {
    let (config, loaded) = serve_with(&["--port", "1234"]).unwrap();
    assert_eq!(config.port, 1234);
    let text = loaded.describe_serve().unwrap();
    assert!(text.contains("# config file: none"), "{text}");
    assert!(
        text.contains("\nhost = \"127.0.0.1\"  # default\n"),
        "{text}"
    );
    assert!(text.contains("\n# api-key is not set\n"), "{text}");
}

#[test]
fn convert_cache_comes_from_the_file_for_serve_and_models() {
    let (_dir, path) = write_config("convert-cache = \"/var/cache/hearsay\"\n");
    for command in ["serve", "models"] {
        let loaded = load(["hearsay", command, "--config", path.to_str().unwrap()]).unwrap();
        let setting = match &loaded.cli.command {
            Command::Serve(config) => config.convert_cache.clone(),
            Command::Models(args) => args.convert_cache.clone(),
            _ => panic!("not {command}"),
        };
        assert_eq!(
            setting,
            Some(PathBuf::from("/var/cache/hearsay")),
            "{command}"
        );
    }
}
