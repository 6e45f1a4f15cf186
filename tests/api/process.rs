//! The `hearsay` binary as a deployment runs it: configuration from a file, flags and the
//! environment, JSON logs, and no network access at all while it starts and serves.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{PHRASE, models_dir, tone_wav};

const BINARY: &str = env!("CARGO_BIN_EXE_hearsay");

/// `command` with no `HEARSAY_*` variable inherited, so only what a test sets applies.
fn hermetic(mut command: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HEARSAY_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn flags_then_environment_then_file_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hearsay.toml");
    std::fs::write(
        &file,
        "host = \"::1\"\nport = 1\nthreads = 1\napi-key = [\"from-file\"]\n",
    )
    .unwrap();
    let mut command = hermetic(Command::new(BINARY));
    command
        .args(["serve", "--print-config", "--host", "0.0.0.0", "--config"])
        .arg(&file)
        .env("HEARSAY_PORT", "4321")
        .env("HEARSAY_API_KEYS", "from-env-1,from-env-2");
    let output = command.output().expect("run hearsay");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    for expected in [
        format!("# config file: {}", file.display()),
        "host = \"0.0.0.0\"  # flag".into(),
        "port = 4321  # env HEARSAY_PORT".into(),
        "threads = 1  # file".into(),
        "max-queue = 16  # default".into(),
        "api-key = [\"<redacted>\", \"<redacted>\"]  # env HEARSAY_API_KEYS".into(),
    ] {
        assert!(
            lines.contains(&expected.as_str()),
            "missing `{expected}`:\n{stdout}"
        );
    }
    assert!(!stdout.contains("from-"), "a secret leaked:\n{stdout}");
}

#[test]
fn a_bad_config_file_is_one_line_and_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hearsay.toml");
    std::fs::write(&file, "max-queue = -3\n").unwrap();
    let output = hermetic(Command::new(BINARY))
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .expect("run hearsay");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "hearsay: config file {}: `max-queue`: invalid value '-3'",
            file.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// The server under strace, started from a config file, with its stderr lines streamed.
struct Traced {
    strace: Child,
    lines: mpsc::Receiver<String>,
}

impl Traced {
    /// Reads log lines until one satisfies `wanted`; returns it.
    fn wait_for(
        &self,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("the server never logged {what}"));
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                && wanted(&value)
            {
                return value;
            }
        }
    }
}

fn server_pid(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // Fields after the parenthesised name: state, then the parent's pid.
            let after_name = &stat[stat.rfind(')')? + 2..];
            let ppid: u32 = after_name.split(' ').nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_its_config_file_and_never_touches_the_network() {
    let strace =
        which("strace").expect("strace is needed for this test; scripts/setup.sh installs it");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearsay.toml");
    std::fs::write(
        &config,
        format!(
            "port = 0\nmodels-dir = {:?}\ndefault-stt-model = \"scripted\"\n\
             default-voice = \"tiny-en\"\napi-key = [\"file-key\"]\nlog-format = \"json\"\n",
            models_dir().display().to_string()
        ),
    )
    .unwrap();
    let trace = dir.path().join("trace.log");
    let mut command = hermetic(Command::new(strace));
    command
        .args(["-f", "-qq", "-e", "trace=network", "-o"])
        .arg(&trace)
        .arg("--")
        .arg(BINARY)
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info,tower_http=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut strace = command.spawn().expect("start strace");
    let stderr = strace.stderr.take().expect("piped stderr");
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let traced = Traced { strace, lines };

    let listening = traced.wait_for("its address", |line| {
        line["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("hearsay listening on "))
    });
    let url = listening["fields"]["message"]
        .as_str()
        .unwrap()
        .trim_start_matches("hearsay listening on ")
        .to_string();

    let client = reqwest::Client::new();
    // The key came from the file.
    let open = client.get(format!("{url}/v1/models")).send().await.unwrap();
    assert_eq!(open.status(), 401);
    let health = client.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(tone_wav(1.5, 16_000)).file_name("tone.wav"),
        )
        .text("model", "whisper-1")
        .text("response_format", "text");
    let transcription = client
        .post(format!("{url}/v1/audio/transcriptions"))
        .bearer_auth("file-key")
        .header("x-request-id", "offline-check-1")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(transcription.status(), 200);
    assert_eq!(transcription.text().await.unwrap(), format!("{PHRASE}\n"));
    let speech = client
        .post(format!("{url}/v1/audio/speech"))
        .bearer_auth("file-key")
        .json(&serde_json::json!({"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"}))
        .send()
        .await
        .unwrap();
    assert_eq!(speech.status(), 200);
    assert!(speech.bytes().await.unwrap().starts_with(b"RIFF"));

    // JSON log lines carry the request's id.
    let logged = traced.wait_for("the request's id", |line| {
        line["span"]["request_id"] == "offline-check-1"
    });
    assert_eq!(logged["span"]["path"], "/v1/audio/transcriptions");

    let mut strace = traced.strace;
    let pid = server_pid(strace.id()).expect("find the server under strace");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = strace.wait().unwrap();
    assert!(status.success(), "the server exited with {status}");

    assert_no_network(&trace);
}

/// Fails on any socket call that reaches beyond this machine: a connection or datagram to an
/// IPv4 or IPv6 address. Requires the trace to show the listener, so a trace that caught
/// nothing cannot pass.
fn assert_no_network(trace: &Path) {
    let log = std::fs::read_to_string(trace).expect("read the strace log");
    assert!(
        log.lines()
            .any(|line| line.contains("bind(") && line.contains("127.0.0.1")),
        "the trace does not show the listener:\n{log}"
    );
    assert!(
        log.lines().any(|line| line.contains("accept")),
        "the trace does not show accepted connections:\n{log}"
    );
    let outbound: Vec<&str> = log
        .lines()
        .filter(|line| {
            let call = line.split_once(' ').map_or(*line, |(_, rest)| rest);
            let reaches_out = call.starts_with("connect(")
                || call.starts_with("sendto(")
                || call.starts_with("sendmsg(")
                || call.starts_with("sendmmsg(");
            reaches_out
                && (call.contains("AF_INET")
                    || call.contains("sin_addr")
                    || call.contains("sin6_addr"))
        })
        .collect();
    assert!(
        outbound.is_empty(),
        "network access:\n{}",
        outbound.join("\n")
    );
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

#[test]
fn pull_if_missing_offline_is_one_line_and_success() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let output = hermetic(Command::new(BINARY))
        .args(["pull", "--if-missing", "--models-dir"])
        .arg(dir.path())
        .args(["base", "en_US-lessac-medium"])
        .env("HF_ENDPOINT", &endpoint)
        .output()
        .expect("run hearsay");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "hearsay: no network to fetch base and en_US-lessac-medium from 127.0.0.1; on an \
             air-gapped machine copy a whisper.cpp ggml-*.bin and a Piper voice (NAME.onnx with \
             NAME.onnx.json) into {} (`hearsay pull base en_US-lessac-medium` lists the exact \
             files and sha256 sums).\n",
            dir.path().display()
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
