//! `GET /metrics`, and the middleware that counts every response by route and status.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;
use crate::metrics::{CONTENT_TYPE, Live, Load};

/// Counts and times each response. `Router::layer` runs it after routing, so the matched
/// route template is known; as the outermost layer it also sees the responses of the auth
/// and timeout middlewares.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_request(
        route.as_deref(),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

pub async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let live = Live {
        stt: Load {
            queued: state.stt.pool().queued(),
            running: state.stt.pool().running(),
        },
        tts: Load {
            queued: state.tts.queued(),
            running: state.tts.running(),
        },
        stt_models: state.stt.names().ids().len(),
        voices: state.tts.catalog().ids().len(),
    };
    match state.metrics.render(&live) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(error) => ApiError::internal(error).into_response(),
    }
}
