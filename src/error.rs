//! The one place that knows HTTP status codes: every failure a client can see becomes an
//! [`ApiError`], rendered as OpenAI's envelope `{"error":{"message","type","param","code"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::audio::AudioError;

/// An error as OpenAI's API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
    /// Seconds for `Retry-After`, set on overload.
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request_error` about one request field.
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message).with_param(param)
    }

    /// 400 `invalid_request_error` that is not about a single field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn model_not_found(model: &str, installed: &[String]) -> Self {
        let listed = if installed.is_empty() {
            "none are installed".to_string()
        } else {
            format!("installed: {}", installed.join(", "))
        };
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("The model `{model}` does not exist ({listed})."),
        )
        .with_param("model")
        .with_code("model_not_found")
    }

    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            format!("Maximum content size limit ({limit_bytes}) exceeded."),
        )
        .with_code("request_too_large")
    }

    /// 429 with `Retry-After`: the queue is full.
    pub fn overloaded(retry_after: u32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "requests",
            "The server is busy: the job queue is full. Please retry shortly.",
        )
        .with_code("rate_limit_exceeded");
        error.retry_after = Some(retry_after.max(1));
        error
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request_error", message).with_code("not_found")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "This method is not allowed on this route.",
        )
        .with_code("method_not_allowed")
    }

    /// 504: the request took longer than the configured limit.
    pub fn timeout(limit_seconds: u64) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            "server_error",
            format!("The request did not complete within {limit_seconds} seconds."),
        )
        .with_code("timeout")
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "server_error", message)
    }

    /// 500 with a generic message; the cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The server had an error while processing your request.",
        )
    }

    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The JSON body, as sent on the wire.
    pub fn body(&self) -> String {
        let envelope = Envelope {
            error: Body {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
            },
        };
        serde_json::to_string(&envelope).unwrap_or_default()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        // A client error will fail again: tell the OpenAI SDKs not to resend it.
        if self.status.is_client_error() && self.status != StatusCode::TOO_MANY_REQUESTS {
            headers.insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}

impl From<AudioError> for ApiError {
    fn from(error: AudioError) -> Self {
        let message = match &error {
            AudioError::TooShort { min_seconds, .. } => {
                format!("Audio file is too short. Minimum audio length is {min_seconds} seconds.")
            }
            AudioError::TooLong { max_seconds } => {
                format!("Audio file is too long. Maximum audio length is {max_seconds} seconds.")
            }
            AudioError::Empty => "The audio file is empty.".to_string(),
            other => format!(
                "Invalid file format: {other}. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"
            ),
        };
        let code = match error {
            AudioError::TooShort { .. } => "audio_too_short",
            AudioError::TooLong { .. } => "audio_too_long",
            AudioError::Empty => "empty_file",
            AudioError::UnsupportedCodec { .. } => "unsupported_value",
            _ => "invalid_value",
        };
        ApiError::invalid("file", message).with_code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_all_four_keys() {
        let body = ApiError::bad_request("nope").body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        let error = value["error"].as_object().unwrap();
        assert_eq!(error.len(), 4);
        assert_eq!(error["message"], "nope");
        assert_eq!(error["type"], "invalid_request_error");
        assert!(error["param"].is_null());
        assert!(error["code"].is_null());
    }

    #[test]
    fn overload_sets_retry_after() {
        let response = ApiError::overloaded(0).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert!(response.headers().get("x-should-retry").is_none());
    }

    #[test]
    fn audio_errors_name_the_file_param() {
        let error = ApiError::from(AudioError::TooShort {
            seconds: 0.05,
            min_seconds: 0.1,
        });
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.param, Some("file"));
        assert_eq!(error.code, Some("audio_too_short"));
        assert_eq!(
            error.message,
            "Audio file is too short. Minimum audio length is 0.1 seconds."
        );
    }
}
