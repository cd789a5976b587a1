//! A request's JSON body, read up to [`ApiConfig::max_body_bytes`](super::ApiConfig): a
//! declared `Content-Length` past the bound is refused before anything is read, and an
//! undeclared (chunked) body is cut off as soon as it passes it; both get 413. A body that
//! is not the endpoint's JSON gets 400 with serde's message (what and where).
//!
//! A query string ([`query`]) that is not the endpoint's parameters gets 400 the same way.
//!
//! Owns: reading and decoding bodies and query strings. Must not: buffer more than the
//! bound.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::ApiError;

/// The body of `request`, decoded as `T`, at most `max` bytes.
pub(crate) async fn json<T: DeserializeOwned>(
    request: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<T, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(ApiError::TooLarge(max));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    decode(&body)
}

/// `bytes` as `T`; an empty body is an error of its own, since serde's would say only EOF.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadJson(
            "empty body, expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}

/// The query string of `request`, decoded as `T`.
pub(crate) fn query<T: DeserializeOwned>(request: &HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(request.query_string())
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    #[test]
    fn bad_or_empty_json_says_what_is_wrong() {
        let Err(ApiError::BadJson(text)) = decode::<Named>(b"{\"name\": 1}") else {
            panic!("a type error is bad JSON");
        };
        assert!(text.contains("line 1"), "{text}");
        assert!(matches!(decode::<Named>(b" "), Err(ApiError::BadJson(_))));
        assert!(decode::<Named>(b"{\"name\": \"x\"}").is_ok());
    }
}
