//! Command line and environment: every tunable, its default and its `HEARSAY_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod file;
pub use file::{LoadError, Loaded, load};

/// hearsay: a self-hosted, OpenAI-compatible speech server.
#[derive(Debug, Parser)]
#[command(name = "hearsay", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the OpenAI audio API over HTTP.
    Serve(Box<ServeConfig>),
    /// Download models from the built-in catalog, or convert a Whisper repository from
    /// Hugging Face (`OWNER/NAME`), into the models directory.
    Pull(PullArgs),
    /// List installed models and what the catalog can pull.
    Models(ModelsArgs),
    /// Convert a faster-whisper (CTranslate2) or Hugging Face transformers Whisper model
    /// into a whisper.cpp ggml file.
    Convert(ConvertArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The model directory (or its `model.bin` / `model.safetensors`), e.g. a
    /// faster-whisper download or `openai/whisper-small` saved by transformers.
    #[arg(value_name = "SRC")]
    pub source: PathBuf,

    /// The ggml file to write, e.g. `models/small.bin`; replaced atomically if it exists.
    #[arg(value_name = "OUT.bin")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// Catalog ids (`hearsay models` lists them), e.g. base.en, large-v3-turbo-q8_0,
    /// en_US-lessac-medium; or Hugging Face repository ids of Whisper models, e.g.
    /// Systran/faster-whisper-small or openai/whisper-small@main, converted into NAME.bin.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// Pull a NAME only when no model of its kind (whisper, vad, voice) is installed, and
    /// without a network print one line instead of failing.
    #[arg(long)]
    pub if_missing: bool,

    /// Directory to install into.
    #[arg(long, env = "HEARSAY_MODELS_DIR", default_value = "./models")]
    pub models_dir: PathBuf,

    /// TOML file whose `models-dir` applies unless the flag or variable is given.
    #[arg(long, env = "HEARSAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    /// Directory holding the models.
    #[arg(long, env = "HEARSAY_MODELS_DIR", default_value = "./models")]
    pub models_dir: PathBuf,

    /// Where converted model directories are cached (see `hearsay serve --help`).
    #[arg(long, env = "HEARSAY_CONVERT_CACHE", value_name = "DIR")]
    pub convert_cache: Option<PathBuf>,

    /// TOML file whose `models-dir` and `convert-cache` apply unless the flag or variable is
    /// given.
    #[arg(long, env = "HEARSAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Everything `hearsay serve` needs, passed around whole.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// TOML file with any of these settings under the flags' names (e.g. `port = 9000`);
    /// flags and environment variables override it.
    #[arg(long, env = "HEARSAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the effective configuration (secrets redacted) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,

    /// Address to listen on.
    #[arg(long, env = "HEARSAY_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "HEARSAY_PORT", default_value_t = 8000)]
    pub port: u16,

    /// Directory holding the models (whisper.cpp `*.bin` files, Piper voices, faster-whisper
    /// and transformers Whisper directories).
    #[arg(long, env = "HEARSAY_MODELS_DIR", default_value = "./models")]
    pub models_dir: PathBuf,

    /// A directory of its own for the whisper.cpp files converted from faster-whisper and
    /// transformers directories in the models directory. Defaults to
    /// `<models-dir>/.hearsay-cache`, or `$XDG_CACHE_HOME/hearsay/converted` when the models
    /// directory cannot be written.
    #[arg(long, env = "HEARSAY_CONVERT_CACHE", value_name = "DIR")]
    pub convert_cache: Option<PathBuf>,

    /// Installed speech-to-text model that OpenAI names such as `whisper-1` resolve to.
    /// Defaults to the only one installed, otherwise the first by name.
    #[arg(long, env = "HEARSAY_DEFAULT_STT_MODEL")]
    pub default_stt_model: Option<String>,

    /// Largest accepted request body, in bytes (OpenAI's limit is 25 MiB).
    #[arg(long, env = "HEARSAY_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Longest accepted audio, in seconds of decoded sound.
    #[arg(long, env = "HEARSAY_MAX_AUDIO_SECONDS", default_value_t = 7200.0)]
    pub max_audio_seconds: f64,

    /// Longest speech `input`, in Unicode code points (OpenAI's limit is 4096).
    #[arg(long, env = "HEARSAY_MAX_INPUT_CHARS", default_value_t = 4096)]
    pub max_input_chars: usize,

    /// Seconds a request may take before it is answered 504; 0 means no limit. For streamed
    /// speech this bounds the wait for the first audio, not the whole stream.
    #[arg(long, env = "HEARSAY_REQUEST_TIMEOUT", default_value_t = 600)]
    pub request_timeout: u64,

    /// CPU threads for inference in total; 0 uses every core.
    #[arg(long, env = "HEARSAY_THREADS", default_value_t = 0)]
    pub threads: usize,

    /// Jobs per engine that run at once; they share `--threads` between them.
    #[arg(long, env = "HEARSAY_MAX_CONCURRENT", default_value_t = 1)]
    pub max_concurrent: usize,

    /// Requests per engine that may wait beyond those running; beyond this, requests get 429.
    #[arg(long, env = "HEARSAY_MAX_QUEUE", default_value_t = 16)]
    pub max_queue: usize,

    /// Voice activity detection before transcribing: `auto` uses it when a VAD model (Silero in
    /// whisper.cpp's format) is installed, `on` as well but warns at start-up without one, `off`
    /// never. When used, speech-free stretches are skipped; requests can opt out with
    /// `vad_filter=false`.
    #[arg(long, env = "HEARSAY_VAD", value_enum, default_value_t = VadMode::Auto)]
    pub vad: VadMode,

    /// Beam width of whisper's decoder (1 = greedy); the temperature fallback samples best of
    /// 5 either way. 5, as OpenAI's whisper and faster-whisper use, was the most accurate on
    /// real speech here (BENCHMARKS.md); requests can choose with the `beam_size` form field.
    #[arg(long, env = "HEARSAY_BEAM_SIZE", default_value_t = 5,
          value_parser = clap::value_parser!(u8).range(1..=i64::from(crate::stt::MAX_BEAM_SIZE)))]
    pub beam_size: u8,

    /// Installed voice that OpenAI's speech models and voice names use by default.
    /// Defaults to the first installed Piper voice by name.
    #[arg(long, env = "HEARSAY_DEFAULT_VOICE")]
    pub default_voice: Option<String>,

    /// OpenAI voice names mapped to installed voices, as `NAME=VOICE[:SPEAKER]`, comma
    /// separated or repeated (e.g. `alloy=en_US-lessac-medium,echo=en_US-libritts-high:p226`).
    /// Unmapped names use the default voice.
    #[arg(long, env = "HEARSAY_VOICE_MAP", value_delimiter = ',', value_parser = parse_voice_mapping)]
    pub voice_map: Vec<(String, String)>,

    /// ONNX Runtime shared library (libonnxruntime.so); also `ORT_DYLIB_PATH`. Searched next to
    /// the binary and in `share/onnxruntime/` when unset.
    #[arg(long = "onnxruntime", env = "HEARSAY_ONNXRUNTIME")]
    pub onnxruntime: Option<PathBuf>,

    /// espeak-ng data directory (`espeak-ng-data`). Searched next to the binary and in
    /// `share/espeak-ng-data` when unset.
    #[arg(long, env = "HEARSAY_ESPEAK_DATA")]
    pub espeak_data: Option<PathBuf>,

    /// API key clients must send as `Authorization: Bearer KEY`; repeat for several, or set
    /// `HEARSAY_API_KEYS=key1,key2`. Without any, the API is open (bind to localhost then).
    #[arg(
        long = "api-key",
        env = "HEARSAY_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// On SIGTERM or SIGINT, seconds to let requests in flight finish before exiting anyway.
    #[arg(long, env = "HEARSAY_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,

    /// Log output format.
    #[arg(long, env = "HEARSAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn parse_voice_mapping(entry: &str) -> Result<(String, String), String> {
    let (name, voice) = entry
        .split_once('=')
        .ok_or_else(|| format!("`{entry}` is not NAME=VOICE"))?;
    let (name, voice) = (name.trim(), voice.trim());
    if name.is_empty() || voice.is_empty() {
        return Err(format!("`{entry}` is not NAME=VOICE"));
    }
    Ok((name.to_ascii_lowercase(), voice.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VadMode {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// How inference threads are shared out, derived so that the ggml threads in flight never
/// exceed the cores (ggml workers spin while they wait, so oversubscription collapses speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPlan {
    pub workers: usize,
    pub threads_per_job: usize,
}

impl ServeConfig {
    /// Defaults for tests and embedding; the same values the CLI uses.
    pub fn new(models_dir: impl Into<PathBuf>) -> Self {
        match Cli::parse_from(["hearsay", "serve"]).command {
            Command::Serve(mut serve) => {
                serve.models_dir = models_dir.into();
                *serve
            }
            _ => unreachable!("`hearsay serve` parses as the serve command. This is a bug."),
        }
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = if host == "localhost" {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            host.parse()
                .map_err(|_| anyhow::anyhow!("`--host {}` is not an IP address", self.host))?
        };
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Inference threads shared by every engine: `--threads`, or all cores.
    pub fn thread_budget(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        thread_budget(self.threads, cores)
    }

    pub fn thread_plan(&self) -> ThreadPlan {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        plan_threads(self.threads, cores, self.max_concurrent)
    }
}

fn thread_budget(requested: usize, cores: usize) -> usize {
    if requested == 0 { cores } else { requested }.max(1)
}

fn plan_threads(requested: usize, cores: usize, max_concurrent: usize) -> ThreadPlan {
    let budget = thread_budget(requested, cores);
    let workers = max_concurrent.clamp(1, budget);
    ThreadPlan {
        workers,
        threads_per_job: (budget / workers).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_in_flight_never_exceed_the_budget() {
        for cores in 1..=16 {
            for workers in 1..=20 {
                let plan = plan_threads(0, cores, workers);
                assert!(plan.workers * plan.threads_per_job <= cores);
                assert!(plan.workers >= 1 && plan.threads_per_job >= 1);
            }
        }
        assert_eq!(
            plan_threads(0, 2, 1),
            ThreadPlan {
                workers: 1,
                threads_per_job: 2
            }
        );
        assert_eq!(
            plan_threads(6, 16, 4),
            ThreadPlan {
                workers: 4,
                threads_per_job: 1
            }
        );
    }

    #[test]
    fn defaults_match_the_documentation() {
        let config = ServeConfig::new("m");
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8000);
        assert_eq!(config.max_upload_bytes, 26_214_400);
        assert_eq!(config.models_dir, PathBuf::from("m"));
        assert_eq!(config.vad, VadMode::Auto);
    }

    #[test]
    fn voice_maps_parse() {
        let cli = Cli::try_parse_from([
            "hearsay",
            "serve",
            "--voice-map",
            "alloy=lessac, Echo=multi:bob",
            "--voice-map",
            "nova=de-thorsten",
        ])
        .unwrap();
        let Command::Serve(config) = cli.command else {
            panic!("not the serve command");
        };
        assert_eq!(
            config.voice_map,
            vec![
                ("alloy".into(), "lessac".into()),
                ("echo".into(), "multi:bob".into()),
                ("nova".into(), "de-thorsten".into())
            ]
        );
        assert!(Cli::try_parse_from(["hearsay", "serve", "--voice-map", "alloy"]).is_err());
    }

    #[test]
    fn localhost_and_ipv6_hosts_parse() {
        let mut config = ServeConfig::new("m");
        config.host = "localhost".into();
        assert!(config.listen_addr().unwrap().ip().is_loopback());
        config.host = "[::1]".into();
        assert!(config.listen_addr().unwrap().is_ipv6());
        config.host = "example.com".into();
        assert!(config.listen_addr().is_err());
    }
}
