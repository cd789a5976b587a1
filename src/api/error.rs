//! The API's one error type and the one table turning it into a response: an HTTP status
//! and a JSON body `{"error": "..."}`.
//!
//! Owns: [`ApiError`] and its response. Must not: decide when an error happens (the
//! handlers do).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::stomp::DestinationError;

/// Why an API request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No API key, or a wrong one (401).
    #[error("missing or wrong API key: send Authorization: Bearer KEY or X-API-Key: KEY")]
    Unauthorized,
    /// A request body longer than `ApiConfig::max_body_bytes` (413).
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// A body that is not the JSON the endpoint takes (400).
    #[error("bad JSON: {0}")]
    BadJson(String),
    /// A request that is well-formed but asks for something impossible (400).
    #[error("{0}")]
    BadRequest(String),
    /// A destination that cannot be published to (400), or a relay that cannot take the
    /// message now (503).
    #[error("{0}")]
    Destination(#[from] DestinationError),
    /// Nothing there (404): an unknown path, a user not online.
    #[error("{0}")]
    NotFound(String),
    /// A path that exists with another method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The feature behind the endpoint is not enabled on this server (501).
    #[error("{0}")]
    NotEnabled(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Destination(DestinationError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Destination(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotEnabled(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if *self == ApiError::Unauthorized {
            // RFC 6750 section 3: a 401 names the scheme it wants.
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_a_json_error_body() {
        let cases = [
            (ApiError::Unauthorized, 401),
            (ApiError::TooLarge(10), 413),
            (ApiError::BadJson("eof".into()), 400),
            (DestinationError::Unknown("/x".into()).into(), 400),
            (DestinationError::Unavailable("down".into()).into(), 503),
            (ApiError::NotFound("nobody".into()), 404),
            (ApiError::MethodNotAllowed, 405),
        ];
        for (error, status) in cases {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status, "{error}");
        }
        let response = ApiError::Unauthorized.error_response();
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer"))
        );
    }
}
