//! `GET /v1/models`, `GET /v1/models/{id}` and `GET /health`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::AppState;
use crate::error::ApiError;

pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready once start-up has loaded what it could: lists what can serve requests, and answers
/// 503 when nothing can (no whisper model and no voice at all).
pub async fn ready(State(state): State<Arc<AppState>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let stt = state.stt.names().ids().to_vec();
    let voices = state.tts.catalog().ids();
    let speech = state.tts.catalog().can_speak();
    let ready = !stt.is_empty() || speech;
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "speech_to_text": stt,
        "voices": voices,
        "speech": speech,
    });
    (status, Json(body)).into_response()
}

fn model_object(id: &str) -> Value {
    json!({ "id": id, "object": "model", "created": 0, "owned_by": "hearsay" })
}

/// Installed speech-to-text models, then installed voices, each sorted by id.
fn installed(state: &AppState) -> Vec<String> {
    let mut ids = state.stt.names().ids().to_vec();
    ids.extend(state.tts.catalog().ids());
    ids
}

pub async fn list_models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let data: Vec<Value> = installed(&state)
        .iter()
        .map(|id| model_object(id))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

pub async fn get_model(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ids = installed(&state);
    match ids.iter().find(|installed| **installed == id) {
        Some(id) => Ok(Json(model_object(id))),
        None => Err(ApiError::model_not_found(&id, &ids)),
    }
}
