//! Reads the multipart form of the transcription and translation endpoints exactly as the
//! official SDKs send it (`key[]` for arrays, `key[sub]` for objects, numbers as strings).

use axum::extract::Multipart;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::http::StatusCode;
use bytes::Bytes;

use crate::error::ApiError;

/// The raw fields, before validation.
#[derive(Debug, Default)]
pub struct TranscriptionForm {
    pub file: Option<Bytes>,
    pub model: Option<String>,
    pub language: Option<String>,
    pub prompt: Option<String>,
    pub response_format: Option<String>,
    pub temperature: Option<String>,
    pub timestamp_granularities: Vec<String>,
    /// hearsay's extension: `true`/`false` turns voice activity detection on or off.
    pub vad_filter: Option<String>,
    /// hearsay's extension: the decoder's beam width, 1 (greedy) to 8.
    pub beam_size: Option<String>,
}

impl TranscriptionForm {
    pub async fn read(
        multipart: Result<Multipart, MultipartRejection>,
        max_bytes: usize,
    ) -> Result<Self, ApiError> {
        let mut multipart = multipart.map_err(|rejection| {
            ApiError::bad_request(format!(
                "The request must be `multipart/form-data` with a boundary: {}",
                rejection.body_text()
            ))
            .with_code("invalid_content_type")
        })?;
        let mut form = Self::default();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e, max_bytes))?
        {
            let name = field.name().unwrap_or_default().to_string();
            if name == "file" {
                if field.file_name().is_none() {
                    return Err(ApiError::invalid(
                        "file",
                        "`file` must be uploaded as a file (a part with a filename).",
                    ));
                }
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(e, max_bytes))?;
                if form.file.replace(bytes).is_some() {
                    return Err(ApiError::invalid(
                        "file",
                        "Only one `file` may be uploaded.",
                    ));
                }
                continue;
            }
            let slot = match name.as_str() {
                "model" => Some(&mut form.model),
                "language" => Some(&mut form.language),
                "prompt" => Some(&mut form.prompt),
                "response_format" => Some(&mut form.response_format),
                "temperature" => Some(&mut form.temperature),
                "vad_filter" => Some(&mut form.vad_filter),
                "beam_size" => Some(&mut form.beam_size),
                _ => None,
            };
            let is_granularity = matches!(
                name.as_str(),
                "timestamp_granularities[]" | "timestamp_granularities"
            );
            // Fields that do not apply to whisper (stream, include[], chunking_strategy, …) are
            // read and dropped, as OpenAI ignores what a model does not use.
            let text = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e, max_bytes))?;
            if slot.is_none() && !is_granularity {
                continue;
            }
            let text = String::from_utf8(text.to_vec())
                .map_err(|_| ApiError::bad_request(format!("`{name}` is not valid UTF-8.")))?;
            match slot {
                Some(slot) => *slot = Some(text),
                None => form
                    .timestamp_granularities
                    .extend(text.split(',').map(|g| g.trim().to_string())),
            }
        }
        Ok(form)
    }
}

fn multipart_error(error: MultipartError, max_bytes: usize) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large(max_bytes)
    } else {
        ApiError::bad_request(format!(
            "The multipart body is malformed: {}",
            error.body_text()
        ))
        .with_code("invalid_multipart")
    }
}
