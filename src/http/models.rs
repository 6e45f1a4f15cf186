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

fn model_object(id: &str) -> Value {
    json!({ "id": id, "object": "model", "created": 0, "owned_by": "hearsay" })
}

pub async fn list_models(State(state): State<Arc<AppState>>) -> Json<Value> {
    let data: Vec<Value> = state
        .stt
        .names()
        .ids()
        .iter()
        .map(|id| model_object(id))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

pub async fn get_model(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let names = state.stt.names();
    match names.ids().iter().find(|installed| **installed == id) {
        Some(id) => Ok(Json(model_object(id))),
        None => Err(ApiError::model_not_found(&id, names.ids())),
    }
}
