//! Bearer API keys: when keys are configured, every API route needs one, checked before the
//! request body is read. `/health`, `/ready` and `/metrics` stay open for probes and scrapers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::ApiError;

/// Configured keys; empty means authentication is off.
#[derive(Clone, Default)]
pub struct ApiKeys(Vec<Vec<u8>>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} configured)", self.0.len())
    }
}

impl ApiKeys {
    pub fn new(keys: &[String]) -> Self {
        Self(
            keys.iter()
                .map(|key| key.trim())
                .filter(|key| !key.is_empty())
                .map(|key| key.as_bytes().to_vec())
                .collect(),
        )
    }

    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `presented` is one of the keys. Every key is compared in full, in time that
    /// depends only on the lengths, so timing reveals nothing about a key's content.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        self.0
            .iter()
            .fold(false, |found, key| found | constant_time_eq(key, presented))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let longest = a.len().max(b.len());
    let mut difference = u8::from(a.len() != b.len());
    for i in 0..longest {
        difference |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(difference) == 0
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme is case-insensitive.
fn bearer_token(request: &Request) -> Option<&[u8]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at(value.iter().position(|b| *b == b' ')?);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
        .filter(|token| !token.is_empty())
}

pub async fn require_api_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let keys = &state.api_keys;
    if !keys.is_enabled() || matches!(request.uri().path(), "/health" | "/ready" | "/metrics") {
        return next.run(request).await;
    }
    let message = match bearer_token(&request) {
        Some(token) if keys.accepts(token) => return next.run(request).await,
        Some(_) => "Incorrect API key provided.",
        None => "You didn't provide an API key. Send it as `Authorization: Bearer YOUR_KEY`.",
    };
    let error = ApiError {
        status: StatusCode::UNAUTHORIZED,
        kind: "invalid_request_error",
        message: message.to_string(),
        param: None,
        code: Some("invalid_api_key"),
        retry_after: None,
    };
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = ApiKeys::new(&["sk-one".into(), " sk-two ".into(), "".into()]);
        assert!(keys.is_enabled());
        assert!(keys.accepts(b"sk-one"));
        assert!(keys.accepts(b"sk-two"));
        for wrong in [
            &b""[..],
            b"sk-on",
            b"sk-one ",
            b"sk-onf",
            b"SK-ONE",
            b"sk-one-more",
        ] {
            assert!(!keys.accepts(wrong), "{wrong:?}");
        }
        assert!(!ApiKeys::new(&[]).is_enabled());
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let request = |value: &str| {
            Request::builder()
                .header(header::AUTHORIZATION, value)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        assert_eq!(bearer_token(&request("Bearer abc")), Some(&b"abc"[..]));
        assert_eq!(bearer_token(&request("bearer  abc ")), Some(&b"abc"[..]));
        assert_eq!(bearer_token(&request("Basic abc")), None);
        assert_eq!(bearer_token(&request("Bearer ")), None);
        assert_eq!(bearer_token(&request("Bearer")), None);
    }
}
