//! Start-up and shutdown: load what is installed, bind, serve until asked to stop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::cpu::CpuBudget;
use crate::http::auth::ApiKeys;
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::models;
use crate::models::convert_cache::ConvertCache;
use crate::stt::Transcriber;
use crate::tts::{self, LoadedVoices, Synthesizer, VoiceCatalog};

/// A server running in the background; dropping it does not stop it, [`RunningServer::stop`] does.
pub struct RunningServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The live state, for health and load figures.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("server task failed")??;
        Ok(())
    }

    /// Waits until the server ends by itself (it only does on error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let RunningServer { stop, task, .. } = self;
        let result = task.await.context("server task failed")?;
        drop(stop);
        Ok(result?)
    }
}

/// Loads the models, binds the listener and serves in the background.
pub async fn start(config: ServeConfig) -> anyhow::Result<RunningServer> {
    let addr = config.listen_addr()?;
    let metrics = Arc::new(Metrics::new().context("cannot set up the metrics")?);
    let state = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || build_state(&config, metrics))
            .await
            .context("loading models failed")?
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let state = Arc::new(state);
    let app = router(Arc::clone(&state));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!("hearsay listening on http://{addr}");
    Ok(RunningServer {
        addr,
        state,
        stop,
        task,
    })
}

fn build_state(config: &ServeConfig, metrics: Arc<Metrics>) -> AppState {
    crate::stt::whisper::install_log_bridge();
    let mut inventory = models::scan(&config.models_dir);
    let cache = ConvertCache::new(config.convert_cache.as_deref(), &config.models_dir);
    models::convert_cache::serve_sources(&mut inventory, &cache);
    if inventory.stt.is_empty() {
        tracing::warn!(
            dir = %config.models_dir.display(),
            "no speech-to-text model installed: put a whisper.cpp ggml `*.bin` file or a \
             faster-whisper model directory there, or run `hearsay pull`"
        );
    }
    let cpu = CpuBudget::new(config.thread_budget());
    AppState {
        stt: Transcriber::start(&inventory, config, &cpu, &metrics),
        tts: start_tts(config, inventory, &cpu, &metrics),
        api_keys: ApiKeys::new(&config.api_keys),
        max_upload_bytes: config.max_upload_bytes,
        max_input_chars: config.max_input_chars,
        request_timeout: (config.request_timeout > 0)
            .then(|| std::time::Duration::from_secs(config.request_timeout)),
        metrics,
    }
}

/// espeak-ng (phonemes, and the fallback voice) and ONNX Runtime (Piper voices) are optional
/// at start-up: whatever is missing is logged once, and speech-to-text keeps working. The
/// voices are the ones the models scan found.
fn start_tts(
    config: &ServeConfig,
    inventory: models::Inventory,
    cpu: &CpuBudget,
    metrics: &Arc<Metrics>,
) -> Synthesizer {
    // Each synthesis worker runs its sessions on a transcription job's share of the threads.
    let plan = config.thread_plan();
    let espeak_ready = match locate_espeak_data(config) {
        Some(dir) => match tts::espeak::init(&dir) {
            Ok(()) => {
                tracing::info!(data = %dir.display(), version = ?tts::espeak::version(), "espeak-ng ready");
                true
            }
            Err(error) => {
                tracing::warn!(data = %dir.display(), %error, "espeak-ng failed to start: no speech");
                false
            }
        },
        None => {
            tracing::warn!(
                "espeak-ng data not found (looked next to the binary and in share/espeak-ng-data): \
                 no speech; run scripts/setup.sh or pass --espeak-data"
            );
            false
        }
    };
    let (voices, loaded) = match tts::onnx::init_runtime(config.onnxruntime.as_deref()) {
        Ok(path) => {
            tracing::info!(library = %path.display(), "ONNX Runtime loaded");
            let (voices, rejected) = (inventory.voices, inventory.rejected_voices);
            for (path, reason) in rejected {
                tracing::warn!(path = %path.display(), "skipping voice: {reason}");
            }
            let voices: Vec<_> = voices
                .into_iter()
                .filter(|voice| {
                    let usable = espeak_ready || !voice.config.needs_espeak();
                    if !usable {
                        tracing::warn!(voice = %voice.id, "skipping voice: it needs espeak-ng");
                    }
                    usable
                })
                .collect();
            // Loaded now, not at the first request: a broken model is skipped here, and no
            // request pays for loading one.
            let (loaded, rejected) = LoadedVoices::load(&voices, plan.threads_per_job);
            for (voice, reason) in &rejected {
                tracing::warn!(%voice, "skipping voice: {reason}");
            }
            let voices = voices
                .into_iter()
                .filter(|voice| !rejected.iter().any(|(id, _)| *id == voice.id))
                .collect();
            (voices, loaded)
        }
        Err(error) => {
            tracing::warn!("Piper voices disabled: {error}");
            (Vec::new(), LoadedVoices::empty(plan.threads_per_job))
        }
    };
    let catalog = VoiceCatalog::new(
        voices,
        config.default_voice.as_deref(),
        &config.voice_map,
        espeak_ready,
    );
    if catalog.ids().is_empty() && espeak_ready {
        tracing::info!("no Piper voice available: speech uses espeak-ng's own voice");
    }
    Synthesizer::start(catalog, loaded, plan, config.max_queue, cpu, metrics)
}

/// `--espeak-data`, else an `espeak-ng-data` installed beside the binary or in `share/`.
fn locate_espeak_data(config: &ServeConfig) -> Option<PathBuf> {
    if let Some(dir) = &config.espeak_data {
        return Some(dir.clone());
    }
    install_dirs()
        .into_iter()
        .map(|dir| dir.join("espeak-ng-data"))
        .find(|dir| dir.join("phontab").is_file())
}

/// Where hearsay's data may be installed: beside the binary, its `../share`, the source tree's
/// `share/` (for `target/{debug,release}` builds), and `./share`.
pub fn install_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
    {
        dirs.push(exe_dir.clone());
        dirs.push(exe_dir.join("../share"));
        dirs.push(exe_dir.join("../../share"));
    }
    dirs.push(PathBuf::from("share"));
    dirs
}

/// Runs `hearsay serve` until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let deadline = std::time::Duration::from_secs(config.shutdown_timeout);
    let server = start(config).await?;
    shutdown_signal().await;
    tracing::info!(
        deadline_seconds = deadline.as_secs(),
        "shutting down: no new connections; finishing requests in flight"
    );
    match tokio::time::timeout(deadline, server.stop()).await {
        Ok(result) => {
            tracing::info!("all requests finished; bye");
            result
        }
        Err(_) => {
            tracing::warn!("shutdown deadline passed; exiting with requests still in flight");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
