//! `POST /v1/audio/speech`: a JSON request in, audio streamed out as it is synthesized
//! (chunked binary, or OpenAI's server-sent events with `stream_format: "sse"`).

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::AppState;
use crate::audio::encode::OutputFormat;
use crate::error::ApiError;
use crate::tts::{SpeechJob, TtsError};

/// OpenAI's limit on `instructions`, in Unicode code points.
const MAX_INSTRUCTIONS_CHARS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamFormat {
    Audio,
    Sse,
}

pub async fn create_speech(
    State(state): State<Arc<AppState>>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|rejection| json_rejection(rejection, state.max_upload_bytes))?;
    let (job, stream_format) = validate(&state, &body)?;
    let input_chars = job.text.chars().count();
    let format = job.format;
    let speech = state.tts.speak(job).await.map_err(tts_error)?;
    let rest = futures_util::stream::unfold(speech.rest, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    });
    Ok(match stream_format {
        StreamFormat::Audio => {
            let chunks = futures_util::stream::once(async move { Ok(speech.first) })
                .chain(rest.map(|chunk| chunk.map_err(stream_error)));
            let content_type = HeaderValue::from_static(format.content_type());
            (
                [(header::CONTENT_TYPE, content_type)],
                Body::from_stream(chunks),
            )
                .into_response()
        }
        StreamFormat::Sse => {
            let deltas = futures_util::stream::once(async move { Ok(speech.first) })
                .chain(rest.map(|chunk| chunk.map_err(stream_error)))
                .map(|chunk| chunk.map(|audio| sse_event(&delta_event(&audio))));
            let done = futures_util::stream::once(async move {
                Ok::<_, std::io::Error>(sse_event(&done_event(input_chars)))
            });
            let content_type = HeaderValue::from_static("text/event-stream");
            (
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                ],
                Body::from_stream(deltas.chain(done)),
            )
                .into_response()
        }
    })
}

fn delta_event(audio: &[u8]) -> Value {
    json!({
        "type": "speech.audio.delta",
        "audio": base64::engine::general_purpose::STANDARD.encode(audio),
    })
}

/// hearsay counts input characters as tokens; it has no audio tokens to count.
fn done_event(input_chars: usize) -> Value {
    json!({
        "type": "speech.audio.done",
        "usage": { "input_tokens": input_chars, "output_tokens": 0, "total_tokens": input_chars },
    })
}

fn sse_event(event: &Value) -> Bytes {
    Bytes::from(format!("data: {event}\n\n"))
}

/// A failure after audio has started can only end the stream; the client sees it cut short.
fn stream_error(error: TtsError) -> std::io::Error {
    tracing::error!(%error, "synthesis failed mid-stream");
    std::io::Error::other(error.to_string())
}

fn json_rejection(rejection: JsonRejection, max_bytes: usize) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("The request must be JSON with `Content-Type: application/json`.")
                .with_code("invalid_content_type")
        }
        JsonRejection::BytesRejection(bytes) if bytes.status() == 413 => {
            ApiError::payload_too_large(max_bytes)
        }
        other => ApiError::bad_request(format!(
            "We could not parse the JSON body of your request: {}",
            other.body_text()
        ))
        .with_code("invalid_json"),
    }
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|value| !value.is_null())
}

fn string_field<'a>(body: &'a Value, name: &'static str) -> Result<Option<&'a str>, ApiError> {
    match field(body, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(
            ApiError::invalid(name, format!("`{name}` must be a string."))
                .with_code("invalid_type"),
        ),
    }
}

fn validate(state: &AppState, body: &Value) -> Result<(SpeechJob, StreamFormat), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    }
    let catalog = state.tts.catalog();

    let model = string_field(body, "model")?
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("model", "you must provide a model parameter"))?;
    let model_choice = catalog
        .resolve_model(model)
        .ok_or_else(|| ApiError::model_not_found(model, &catalog.ids()))?;

    let input = string_field(body, "input")?
        .ok_or_else(|| ApiError::invalid("input", "Missing required parameter: 'input'."))?;
    let input_chars = input.chars().count();
    let max_input_chars = state.max_input_chars;
    if input_chars > max_input_chars {
        return Err(ApiError::invalid(
            "input",
            format!(
                "`input` is too long: {input_chars} characters; the maximum is {max_input_chars}."
            ),
        )
        .with_code("string_too_long"));
    }
    if input.trim().is_empty() {
        return Err(
            ApiError::invalid("input", "`input` must not be empty.").with_code("empty_string")
        );
    }

    let voice_name = match field(body, "voice") {
        Some(Value::String(name)) => name.as_str(),
        Some(Value::Object(object)) => match object.get("id") {
            Some(Value::String(id)) => id.as_str(),
            _ => return Err(ApiError::invalid("voice", "`voice.id` must be a string.")),
        },
        Some(_) => {
            return Err(ApiError::invalid(
                "voice",
                "`voice` must be a string or `{\"id\": …}`.",
            ));
        }
        None => {
            return Err(ApiError::invalid(
                "voice",
                "Missing required parameter: 'voice'.",
            ));
        }
    };
    let voice = catalog
        .resolve_voice(model_choice.voice_id(), voice_name)
        .ok_or_else(|| {
            let installed = catalog.ids();
            let listed = if installed.is_empty() { "none".to_string() } else { installed.join(", ") };
            ApiError::invalid(
                "voice",
                format!(
                    "The voice `{voice_name}` is not available. Use one of OpenAI's voice names or an installed voice (installed: {listed})."
                ),
            )
            .with_code("invalid_value")
        })?;

    // Piper voices cannot follow instructions; they are checked like OpenAI does, then unused.
    let instructions = string_field(body, "instructions")?.unwrap_or_default();
    if instructions.chars().count() > MAX_INSTRUCTIONS_CHARS {
        return Err(ApiError::invalid(
            "instructions",
            format!("`instructions` is longer than {MAX_INSTRUCTIONS_CHARS} characters."),
        )
        .with_code("string_too_long"));
    }

    let format = match string_field(body, "response_format")? {
        None => OutputFormat::Mp3,
        Some(name) => OutputFormat::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "response_format",
                format!(
                    "`response_format` must be one of {}; got `{name}`.",
                    OutputFormat::NAMES.join(", ")
                ),
            )
            .with_code("invalid_value")
        })?,
    };

    let speed = match field(body, "speed") {
        None => 1.0,
        Some(value) => value
            .as_f64()
            .filter(|speed| (0.25..=4.0).contains(speed))
            .ok_or_else(|| {
                ApiError::invalid(
                    "speed",
                    format!("`speed` must be a number from 0.25 to 4.0; got {value}."),
                )
                .with_code("invalid_value")
            })?,
    };

    let stream_format = match string_field(body, "stream_format")? {
        None | Some("audio") => StreamFormat::Audio,
        Some("sse") => StreamFormat::Sse,
        Some(other) => {
            return Err(ApiError::invalid(
                "stream_format",
                format!("`stream_format` must be `audio` or `sse`; got `{other}`."),
            )
            .with_code("invalid_value"));
        }
    };

    let job = SpeechJob {
        voice,
        text: input.to_string(),
        speed: speed as f32,
        format,
    };
    Ok((job, stream_format))
}

fn tts_error(error: TtsError) -> ApiError {
    match error {
        TtsError::Overloaded => ApiError::overloaded(1),
        TtsError::NothingToSpeak => {
            ApiError::invalid("input", "`input` contains nothing that can be spoken.")
                .with_code("invalid_value")
        }
        TtsError::Engine(cause) => ApiError::internal(cause),
    }
}
