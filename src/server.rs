//! Start-up and shutdown: load what is installed, bind, serve until asked to stop.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ServeConfig;
use crate::http::{AppState, router};
use crate::models;
use crate::stt::Transcriber;

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
    let state = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || build_state(&config))
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

fn build_state(config: &ServeConfig) -> AppState {
    crate::stt::whisper::install_log_bridge();
    let inventory = models::scan(&config.models_dir);
    if inventory.stt.is_empty() {
        tracing::warn!(
            dir = %config.models_dir.display(),
            "no speech-to-text model installed: put a whisper.cpp ggml `*.bin` file there"
        );
    }
    AppState {
        stt: Transcriber::start(&inventory, config),
        max_upload_bytes: config.max_upload_bytes,
    }
}

/// Runs `hearsay serve` until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let server = start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    server.stop().await
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
