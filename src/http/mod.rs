//! The OpenAI wire: routes, extraction, and turning every rejection into OpenAI's error envelope.

pub mod auth;
mod form;
mod metrics;
mod models;
mod speech;
mod transcriptions;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderName, HeaderValue};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::stt::Transcriber;
use crate::tts::Synthesizer;
use auth::ApiKeys;

/// What every handler can reach.
pub struct AppState {
    pub stt: Transcriber,
    pub tts: Synthesizer,
    pub api_keys: ApiKeys,
    pub max_upload_bytes: usize,
    /// Longest speech `input`, in code points.
    pub max_input_chars: usize,
    /// How long a request may take before its response starts; `None` is unlimited.
    pub request_timeout: Option<std::time::Duration>,
    /// Shared with the inference pools, which record their jobs in it.
    pub metrics: Arc<Metrics>,
}

/// Every API route, served both under `/v1` and at the root, as OpenAI clients use either;
/// the probes and `/metrics` only at the root.
pub fn router(state: Arc<AppState>) -> Router {
    let max_upload_bytes = state.max_upload_bytes;
    let api = Router::new()
        .route(
            "/audio/transcriptions",
            post(transcriptions::create_transcription),
        )
        .route(
            "/audio/translations",
            post(transcriptions::create_translation),
        )
        .route("/audio/speech", post(speech::create_speech))
        .route("/models", get(models::list_models))
        .route("/models/{*id}", get(models::get_model));
    Router::new()
        .route("/health", get(models::health))
        .route("/ready", get(models::ready))
        .route("/metrics", get(metrics::scrape))
        .merge(api.clone())
        .nest("/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_upload_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            limit_request_time,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_api_key,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            NextRequestId::default(),
        ))
        // Outermost, so that 401, 413 and 504 answered by the layers above are counted too.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::track,
        ))
        .with_state(state)
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids for requests that come without one: unique within this process.
#[derive(Clone, Default)]
struct NextRequestId(Arc<AtomicU64>);

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        let started = *PROCESS_TAG;
        HeaderValue::from_str(&format!("req_{started:x}{n:08x}"))
            .ok()
            .map(RequestId::new)
    }
}

/// Distinguishes this process's request ids from a previous run's.
static PROCESS_TAG: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
});

/// Every log line of a request carries its method, path and id.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// Answers 504 when a request has not produced its response within `--request-timeout`.
/// Dropping the handler cancels its work: a queued job is skipped, a running one aborted.
async fn limit_request_time(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(limit) = state.request_timeout else {
        return next.run(request).await;
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(limit.as_secs()).into_response(),
    }
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("Unknown route `{}`.", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
