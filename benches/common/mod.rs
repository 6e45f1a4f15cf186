//! Plumbing shared by the bench targets: generated models and audio, the server, timing that
//! keeps every sample so ratios come from one run, and the results file `scripts/bench.sh`
//! turns into `target/bench-report.md`.
//!
//! Every bench reads its settings from the environment (see `scripts/bench.sh`):
//! `HEARSAY_BENCH_LONG_SECONDS` (600: the "10-minute" inputs), `HEARSAY_BENCH_THREADS` (2),
//! `HEARSAY_BENCH_FLASH_ATTN` (0), `HEARSAY_BENCH_QUANT` (f16 or q8_0), `HEARSAY_BENCH_MODEL`
//! (tiny or base), `HEARSAY_BENCH_TAG` (a label added to every result line),
//! `HEARSAY_BENCH_RUNS` (time each routine that many times by hand instead of Criterion's
//! 10+ samples, for a quick look on a busy machine).
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Length of the "10-minute" inputs, in seconds.
pub fn long_seconds() -> f64 {
    env_or("HEARSAY_BENCH_LONG_SECONDS", 600.0)
}

/// Inference threads per job.
pub fn threads() -> usize {
    env_or("HEARSAY_BENCH_THREADS", 2)
}

pub fn flash_attn() -> bool {
    env_or::<u8>("HEARSAY_BENCH_FLASH_ATTN", 0) != 0
}

/// `f16` or `q8_0`.
pub fn quant() -> String {
    std::env::var("HEARSAY_BENCH_QUANT").unwrap_or_else(|_| "f16".into())
}

/// `tiny` or `base`.
pub fn preset() -> String {
    std::env::var("HEARSAY_BENCH_MODEL").unwrap_or_else(|_| "tiny".into())
}

pub fn tag() -> String {
    std::env::var("HEARSAY_BENCH_TAG").unwrap_or_default()
}

/// Whether this is `cargo bench` (criterion's `--bench` flag). `cargo test --all-targets` runs
/// bench binaries without it; they then return at once instead of generating models and audio.
pub fn bench_mode() -> bool {
    let bench = std::env::args().any(|arg| arg == "--bench");
    if !bench {
        println!("skipped: benches run under `cargo bench` (or scripts/bench.sh)");
    }
    bench
}

/// A Criterion set up for expensive routines: 10 samples, short warm-up.
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args()
}

fn python() -> PathBuf {
    if let Ok(python) = std::env::var("HEARSAY_PYTHON") {
        return python.into();
    }
    let venv = root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        "python3".into()
    }
}

/// Runs a model generator unless `dir/expect` exists already.
fn generate(dir: &Path, expect: &str, script: &str, args: &[&str]) -> Option<PathBuf> {
    let path = dir.join(expect);
    if path.is_file() {
        return Some(path);
    }
    std::fs::create_dir_all(dir).ok()?;
    let status = Command::new(python())
        .arg(root().join("scripts").join(script))
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() && path.is_file() => Some(path),
        _ => {
            println!(
                "skipped: scripts/{script} {args:?} failed (needs the .venv from scripts/setup.sh)"
            );
            None
        }
    }
}

pub fn bench_models() -> PathBuf {
    root().join("target/bench-models")
}

/// The scripted whisper model with real tiny/base dimensions, f16 or q8_0.
pub fn whisper_model(preset: &str, quant: &str) -> Option<PathBuf> {
    let q8 = quant == "q8_0";
    let name = if q8 {
        format!("scripted-{preset}-q8_0.bin")
    } else {
        format!("scripted-{preset}.bin")
    };
    let mut args = vec!["--preset", preset];
    if q8 {
        args.push("--q8_0");
    }
    generate(
        &bench_models().join("stt"),
        &name,
        "make_test_models.py",
        &args,
    )
}

pub fn vad_model() -> Option<PathBuf> {
    generate(
        &bench_models().join("vad"),
        "vad-energy.bin",
        "make_test_models.py",
        &["--only", "vad-energy"],
    )
}

/// The Piper-medium-sized voice with random weights (model path; the config is beside it).
pub fn medium_voice() -> Option<PathBuf> {
    generate(
        &bench_models().join("voices"),
        "medium-random.onnx",
        "make_test_voices.py",
        &["--medium"],
    )
}

/// A models directory holding hard links to exactly `files`, so a server loads only those.
pub fn models_dir_with(name: &str, files: &[&Path]) -> PathBuf {
    let dir = bench_models().join("serve").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a models dir");
    for file in files {
        let target = dir.join(file.file_name().unwrap());
        if std::fs::hard_link(file, &target).is_err() {
            std::fs::copy(file, &target).expect("copy a model");
        }
    }
    dir
}

/// Deterministic speech-like audio: noise bursts shaped like syllables (4 Hz), words and
/// pauses, through a crude formant filter. With `half_silent`, every other 10 s is silence.
pub fn speechlike(seconds: f64, rate: u32, half_silent: bool) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut lp1, mut lp2) = (0.0f32, 0.0f32);
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let white = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
            lp1 += 0.3 * (white - lp1);
            lp2 += 0.05 * (white - lp2);
            let t = i as f64 / f64::from(rate);
            let syllable = (t * 4.0 * std::f64::consts::PI).sin().abs() as f32;
            let word = if (t * 0.7).fract() < 0.8 { 1.0 } else { 0.0 };
            let silent = half_silent && (t / 10.0) as u64 % 2 == 1;
            if silent {
                0.0
            } else {
                0.6 * syllable * word * (lp1 - 0.5 * lp2)
            }
        })
        .collect()
}

/// 16-bit mono WAV bytes.
pub fn wav_bytes(samples: &[f32], rate: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for &x in samples {
        writer
            .write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

/// 16 kHz samples exactly as the server sees them after decoding `wav_bytes(samples, 16000)`.
pub fn as_i16_roundtrip(samples: &[f32]) -> Vec<f32> {
    samples
        .iter()
        .map(|&x| f32::from((x.clamp(-1.0, 1.0) * 32767.0) as i16) / 32768.0)
        .collect()
}

pub fn ffmpeg() -> Option<&'static str> {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some("ffmpeg")
}

/// Per-iteration wall times of one routine, kept across Criterion's samples.
#[derive(Clone, Default)]
pub struct Times(Rc<RefCell<Vec<f64>>>);

/// The median of `values` (the upper one of an even count); NaN when there are none.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl Times {
    pub fn median(&self) -> f64 {
        median(self.0.borrow().clone())
    }
    pub fn min(&self) -> f64 {
        self.0
            .borrow()
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
    pub fn push(&self, seconds: f64) {
        self.0.borrow_mut().push(seconds);
    }
}

/// `HEARSAY_BENCH_RUNS=N`: time every routine N times by hand instead of through Criterion
/// (which takes at least 10 samples and a warm-up), for quick runs on a busy machine.
fn runs_override() -> Option<usize> {
    std::env::var("HEARSAY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
}

fn by_hand(id: &str, runs: usize, mut routine: impl FnMut() -> Duration) -> Times {
    let times = Times::default();
    for _ in 0..runs {
        times.push(routine().as_secs_f64());
    }
    println!(
        "{id}: {runs} runs by hand, median {:.4} s, min {:.4} s",
        times.median(),
        times.min()
    );
    times
}

/// Benches `routine` under `id` in `group` and keeps each run's wall time.
pub fn timed(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    mut routine: impl FnMut(),
) -> Times {
    timed_custom(group, id, || {
        let start = Instant::now();
        routine();
        start.elapsed()
    })
}

/// Like [`timed`], for a routine that measures itself (returns the figure to keep).
pub fn timed_custom(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    mut routine: impl FnMut() -> Duration,
) -> Times {
    if let Some(runs) = runs_override() {
        return by_hand(id, runs, routine);
    }
    let times = Times::default();
    let keep = times.clone();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let took = routine();
                keep.push(took.as_secs_f64());
                total += took;
            }
            total
        })
    });
    times
}

/// A target: the ratio must be at most (`Max`) or at least (`Min`) this.
#[derive(Clone, Copy)]
pub enum Target {
    Max(f64),
    Min(f64),
    None,
}

/// Prints a result line and appends it to `target/bench-results.tsv`:
/// `bench  name  value  unit  target  hit  tag`.
pub fn report(bench: &str, name: &str, value: f64, unit: &str, target: Target) {
    let (target_text, hit) = match target {
        Target::Max(t) => (format!("<= {t}"), if value <= t { "yes" } else { "no" }),
        Target::Min(t) => (format!(">= {t}"), if value >= t { "yes" } else { "no" }),
        Target::None => ("-".to_string(), "-"),
    };
    let tag = tag();
    println!(
        "RESULT {bench} | {name} | {value:.4} {unit} | target {target_text} | hit {hit} | {tag}"
    );
    let path = root().join("target/bench-results.tsv");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(
            file,
            "{bench}\t{name}\t{value:.4}\t{unit}\t{target_text}\t{hit}\t{tag}"
        );
    }
}

pub fn skipped(bench: &str, what: &str, why: &str) {
    println!("skipped: {what}: {why}");
    let path = root().join("target/bench-results.tsv");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{bench}\t{what}\tskipped\t{why}\t-\t-\t{}", tag());
    }
}

/// A server on an ephemeral port over `models_dir`; `tweak` adjusts the config.
pub async fn start_server(
    models_dir: PathBuf,
    tweak: impl FnOnce(&mut hearsay::ServeConfig),
) -> (hearsay::RunningServer, String) {
    let mut config = hearsay::ServeConfig::new(models_dir);
    config.port = 0;
    config.host = "127.0.0.1".into();
    config.espeak_data = Some(root().join("share/espeak-ng-data"));
    tweak(&mut config);
    let server = hearsay::start(config).await.expect("server starts");
    let url = format!("http://{}", server.addr);
    (server, url)
}

/// POSTs `wav` to /v1/audio/transcriptions and returns the text.
pub async fn transcribe(client: &reqwest::Client, url: &str, model: &str, wav: Vec<u8>) -> String {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(wav).file_name("audio.wav"),
        )
        .text("model", model.to_string())
        .text("language", "de")
        .text("response_format", "text");
    let response = client
        .post(format!("{url}/v1/audio/transcriptions"))
        .multipart(form)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("a body");
    assert!(status.is_success(), "{status}: {text}");
    text
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
