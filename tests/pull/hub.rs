//! The stand-in for the Hugging Face hub: serves files by path, answers `Range` requests
//! (`bytes=START-` and `bytes=START-END`), can cut a body halfway or ignore ranges, and records
//! every request. Repositories get the hub API's file listing too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use hearsay::models::pull::PullOptions;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct Hub {
    files: Mutex<HashMap<String, Vec<u8>>>,
    seen: Mutex<Vec<Seen>>,
    /// Send this many bytes of the next body, then drop the connection.
    pub cut_next_after: Mutex<Option<usize>>,
    /// Like `cut_next_after`, for the next whole-file answer at this path only.
    pub cut_path_after: Mutex<Option<(String, usize)>>,
    pub ignore_range: AtomicBool,
}

impl Hub {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub struct StandIn {
    pub hub: Arc<Hub>,
    pub url: String,
}

impl StandIn {
    pub async fn start() -> Self {
        let hub = Arc::new(Hub::default());
        let app = axum::Router::new()
            .fallback(serve_file)
            .with_state(hub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { hub, url }
    }

    /// Serves `bytes` at the path that `https://huggingface.co/…` catalog URLs map to.
    pub fn put(&self, upstream_name: &str, bytes: &[u8]) {
        self.hub
            .files
            .lock()
            .unwrap()
            .insert(hub_path(upstream_name), bytes.to_vec());
    }

    /// Hosts a repository at `commit`, answering the hub API's listing for revision `main`:
    /// each file with its size, and an LFS sha256 when `lfs` is set (as the hub does for
    /// weights). A file listed with `served: false` answers 404.
    pub fn put_repo(&self, repo: &str, commit: &str, files: &[RepoFile]) {
        let siblings: Vec<serde_json::Value> = files
            .iter()
            .map(|file| {
                let mut sibling =
                    serde_json::json!({ "rfilename": file.name, "size": file.bytes.len() });
                if file.lfs {
                    sibling["lfs"] =
                        serde_json::json!({ "sha256": sha256(&file.bytes), "size": file.bytes.len() });
                }
                sibling
            })
            .collect();
        let listing = serde_json::json!({ "id": repo, "sha": commit, "siblings": siblings });
        let mut served = self.hub.files.lock().unwrap();
        served.insert(listing_path(repo), listing.to_string().into_bytes());
        for file in files.iter().filter(|file| file.served) {
            served.insert(
                format!("/{repo}/resolve/{commit}/{}", file.name),
                file.bytes.clone(),
            );
        }
    }

    pub fn options(&self) -> PullOptions {
        PullOptions {
            endpoint: Some(self.url.clone()),
            token: None,
            use_env_proxy: false,
            progress_bars: false,
            verbose: false,
        }
    }
}

pub fn hub_path(upstream_name: &str) -> String {
    format!("/test-org/test-repo/resolve/0123abc/{upstream_name}")
}

async fn serve_file(State(hub): State<Arc<Hub>>, uri: Uri, headers: HeaderMap) -> Response {
    let text = |name| {
        headers
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap_or_default().to_string())
    };
    let path = uri.path().to_string();
    hub.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: text(header::RANGE),
        authorization: text(header::AUTHORIZATION),
    });
    let Some(bytes) = hub.files.lock().unwrap().get(&path).cloned() else {
        return status(StatusCode::NOT_FOUND);
    };
    let total = bytes.len();
    let start = match text(header::RANGE) {
        Some(range) if !hub.ignore_range.load(Ordering::SeqCst) => {
            let Some((start, end)) = range
                .strip_prefix("bytes=")
                .and_then(|r| r.split_once('-'))
                .and_then(|(start, end)| {
                    let start = start.parse::<usize>().ok()?;
                    let end = match end {
                        "" => total.saturating_sub(1),
                        end => end.parse::<usize>().ok()?.min(total.saturating_sub(1)),
                    };
                    Some((start, end))
                })
            else {
                return status(StatusCode::BAD_REQUEST);
            };
            if start >= total || end < start {
                return status(StatusCode::RANGE_NOT_SATISFIABLE);
            }
            Some((start, end))
        }
        _ => None,
    };
    let (first, last) = start.unwrap_or((0, total.saturating_sub(1)));
    let body_bytes = Bytes::from(bytes[first..(last + 1).min(total)].to_vec());
    let length = body_bytes.len();
    let cut_here = {
        let mut cut_path = hub.cut_path_after.lock().unwrap();
        match cut_path.take() {
            Some((at, cut)) if at == path && start.is_none() => Some(cut),
            other => {
                *cut_path = other;
                None
            }
        }
    };
    let body = match cut_here.or_else(|| hub.cut_next_after.lock().unwrap().take()) {
        Some(cut) => {
            // The first `cut` bytes, a pause so they reach the client, then a broken body:
            // hyper drops the connection with the Content-Length unmet.
            let first = body_bytes.slice(..cut.min(length));
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let first = first.clone();
                async move {
                    match step {
                        0 => Some((Ok(first), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            Some((Err(std::io::Error::other("cut by the test")), 2))
                        }
                        _ => None,
                    }
                }
            });
            Body::from_stream(stream)
        }
        None => Body::from(body_bytes),
    };
    let mut response = Response::builder().header(header::CONTENT_LENGTH, length);
    response = match start {
        Some((start, end)) => response.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{end}/{total}"),
        ),
        None => response.status(StatusCode::OK),
    };
    response.body(body).unwrap()
}

fn status(code: StatusCode) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

/// Deterministic bytes that differ per seed.
pub fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file of a hosted repository.
pub struct RepoFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub lfs: bool,
    pub served: bool,
}

impl RepoFile {
    pub fn new(name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            bytes: bytes.into(),
            lfs: false,
            served: true,
        }
    }

    pub fn lfs(self) -> Self {
        Self { lfs: true, ..self }
    }

    /// Listed, but the hub answers 404 for it.
    pub fn missing(self) -> Self {
        Self {
            served: false,
            ..self
        }
    }
}

/// The path of the hub API's listing of `repo` at `main`.
pub fn listing_path(repo: &str) -> String {
    format!("/api/models/{repo}/revision/main")
}
