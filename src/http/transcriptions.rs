//! `POST /v1/audio/transcriptions` and `POST /v1/audio/translations`.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::form::TranscriptionForm;
use crate::error::ApiError;
use crate::stt::render::{Granularities, ResponseFormat, render};
use crate::stt::{MAX_BEAM_SIZE, SttError, Task, TranscribeOptions, language_code};

pub async fn create_transcription(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    handle(state, headers, multipart, Task::Transcribe).await
}

pub async fn create_translation(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    handle(state, headers, multipart, Task::Translate).await
}

/// A validated request, ready for the engine.
struct Job {
    model_id: String,
    options: TranscribeOptions,
    format: ResponseFormat,
    granularities: Granularities,
}

async fn handle(
    state: Arc<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
    task: Task,
) -> Result<Response, ApiError> {
    // Refuse an oversized upload from its declared length, before reading any of it.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_upload_bytes as u64) {
        return Err(ApiError::payload_too_large(state.max_upload_bytes));
    }
    let mut form = TranscriptionForm::read(multipart, state.max_upload_bytes).await?;
    let job = validate(&state, &form, task)?;
    let Some(audio) = form.file.take() else {
        return Err(ApiError::invalid(
            "file",
            "Missing required parameter: 'file'.",
        ));
    };
    let transcript = state
        .stt
        .transcribe(&job.model_id, audio, job.options)
        .await
        .map_err(stt_error)?;
    let body = render(&transcript, job.format, job.granularities);
    let content_type = HeaderValue::from_static(job.format.content_type());
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

fn validate(state: &AppState, form: &TranscriptionForm, task: Task) -> Result<Job, ApiError> {
    let names = state.stt.names();
    let requested = form
        .model
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("model", "you must provide a model parameter"))?;
    let model_id = names
        .resolve(requested)
        .ok_or_else(|| ApiError::model_not_found(requested, names.ids()))?
        .to_string();

    let format = match form.response_format.as_deref().map(str::trim) {
        None | Some("") => ResponseFormat::Json,
        Some(value) => ResponseFormat::parse(value).ok_or_else(|| {
            ApiError::invalid(
                "response_format",
                format!(
                    "`response_format` must be one of {}; got `{value}`.",
                    ResponseFormat::NAMES.join(", ")
                ),
            )
            .with_code("invalid_value")
        })?,
    };

    let mut granularities = Granularities {
        segment: false,
        word: false,
    };
    for value in form
        .timestamp_granularities
        .iter()
        .filter(|g| !g.is_empty())
    {
        match value.as_str() {
            "segment" => granularities.segment = true,
            "word" => granularities.word = true,
            other => {
                return Err(ApiError::invalid(
                    "timestamp_granularities",
                    format!(
                        "`timestamp_granularities[]` must be `word` or `segment`; got `{other}`."
                    ),
                )
                .with_code("invalid_value"));
            }
        }
    }
    let any_granularity = granularities.segment || granularities.word;
    if any_granularity && format != ResponseFormat::VerboseJson {
        return Err(ApiError::invalid(
            "timestamp_granularities",
            "`timestamp_granularities[]` requires `response_format` to be `verbose_json`.",
        )
        .with_code("invalid_value"));
    }
    if !any_granularity {
        granularities = Granularities::default();
    }

    let language = match form.language.as_deref().map(str::trim) {
        None | Some("") | Some("auto") => None,
        Some(value) => Some(language_code(value).ok_or_else(|| {
            ApiError::invalid(
                "language",
                format!("`language` must be an ISO-639-1 code whisper knows, such as `en` or `de`; got `{value}`."),
            )
            .with_code("invalid_value")
        })?),
    };

    let temperature = match form.temperature.as_deref().map(str::trim) {
        None | Some("") => 0.0,
        Some(value) => value
            .parse::<f32>()
            .ok()
            .filter(|t| (0.0..=1.0).contains(t))
            .ok_or_else(|| {
                ApiError::invalid(
                    "temperature",
                    format!("`temperature` must be a number between 0 and 1; got `{value}`."),
                )
                .with_code("invalid_value")
            })?,
    };

    let prompt = match form.prompt.as_deref() {
        Some(text) if text.contains('\0') => {
            return Err(
                ApiError::invalid("prompt", "`prompt` must not contain NUL characters.")
                    .with_code("invalid_value"),
            );
        }
        Some(text) if !text.trim().is_empty() => Some(text.to_string()),
        _ => None,
    };

    let vad_filter = match form.vad_filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(parse_bool(value).ok_or_else(|| {
            ApiError::invalid(
                "vad_filter",
                format!("`vad_filter` must be `true` or `false`; got `{value}`."),
            )
            .with_code("invalid_value")
        })?),
    };

    let beam_size = match form.beam_size.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(
            value
                .parse::<u8>()
                .ok()
                .filter(|beam| (1..=MAX_BEAM_SIZE).contains(beam))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "beam_size",
                        format!(
                            "`beam_size` must be a whole number from 1 to {MAX_BEAM_SIZE}; got `{value}`."
                        ),
                    )
                    .with_code("invalid_value")
                })?,
        ),
    };

    Ok(Job {
        model_id,
        options: TranscribeOptions {
            task,
            language,
            prompt,
            temperature,
            word_timestamps: granularities.word,
            vad_filter,
            beam_size,
        },
        format,
        granularities,
    })
}

/// The usual spellings of a form boolean.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
        _ => None,
    }
}

fn stt_error(error: SttError) -> ApiError {
    match error {
        SttError::Audio(audio) => audio.into(),
        SttError::Overloaded => ApiError::overloaded(1),
        SttError::Cancelled => ApiError::unavailable("The request was cancelled."),
        SttError::Engine(cause) => ApiError::internal(cause),
    }
}
