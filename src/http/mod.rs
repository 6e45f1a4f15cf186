//! The OpenAI wire: routes, extraction, and turning every rejection into OpenAI's error envelope.

mod form;
mod models;
mod speech;
mod transcriptions;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::stt::Transcriber;
use crate::tts::Synthesizer;

/// What every handler can reach.
pub struct AppState {
    pub stt: Transcriber,
    pub tts: Synthesizer,
    pub max_upload_bytes: usize,
}

/// Every route, served both under `/v1` and at the root, as OpenAI clients use either.
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
        .route("/models/{id}", get(models::get_model));
    Router::new()
        .route("/health", get(models::health))
        .merge(api.clone())
        .nest("/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_upload_bytes))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("Unknown route `{}`.", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
