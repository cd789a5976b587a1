//! The transport layer's one error type and its one table of HTTP answers.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::protocol::DecodeError;

/// Why a request to a mount failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No such resource (or transport disabled, or unknown session for a send).
    #[error("")]
    NotFound,
    /// The resource exists, not with this method.
    #[error("")]
    MethodNotAllowed(&'static str),
    /// The payload could not be decoded.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// htmlfile / jsonp without `c=`.
    #[error("\"callback\" parameter required")]
    CallbackRequired,
    /// htmlfile / jsonp with a callback outside `[a-zA-Z0-9-_.]{1,32}`.
    #[error("invalid \"callback\" parameter")]
    InvalidCallback,
    /// A body larger than `max_message_bytes`.
    #[error("Payload too large.")]
    PayloadTooLarge,
    /// The request's `Origin` is not in `allowed_origins`.
    #[error("Origin not allowed.")]
    OriginNotAllowed,
    /// A WebSocket URL asked for without a WebSocket upgrade.
    #[error("Can \"Upgrade\" only to \"WebSocket\".")]
    NotWebSocket,
    /// A WebSocket upgrade whose `Connection` header lacks `Upgrade` (a proxy rewrote it).
    #[error("\"Connection\" must be \"Upgrade\".")]
    ConnectionNotUpgrade,
    /// A WebSocket handshake that failed otherwise.
    #[error("{0}")]
    Handshake(String),
    /// An admission limit refused a new session.
    #[error("Too many sessions.")]
    Unavailable,
    /// The request body could not be read.
    #[error("Could not read the request body.")]
    Body,
    /// The mount's identity check refused the request's credentials (or found none where
    /// they are required).
    #[error("Authentication required.")]
    Unauthorized,
    /// The mount's identity check knows the user and refuses it here.
    #[error("Forbidden.")]
    Forbidden,
}

impl From<crate::identity::Refusal> for TransportError {
    fn from(refusal: crate::identity::Refusal) -> Self {
        match refusal {
            crate::identity::Refusal::Unauthorized => TransportError::Unauthorized,
            crate::identity::Refusal::Forbidden => TransportError::Forbidden,
        }
    }
}

impl TransportError {
    /// The status code of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            TransportError::NotFound => StatusCode::NOT_FOUND,
            TransportError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            // 500 for the payload and callback errors, as the official suite requires.
            TransportError::Decode(_)
            | TransportError::CallbackRequired
            | TransportError::InvalidCallback => StatusCode::INTERNAL_SERVER_ERROR,
            TransportError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            TransportError::OriginNotAllowed | TransportError::Forbidden => StatusCode::FORBIDDEN,
            TransportError::Unauthorized => StatusCode::UNAUTHORIZED,
            TransportError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            TransportError::NotWebSocket
            | TransportError::ConnectionNotUpgrade
            | TransportError::Handshake(_)
            | TransportError::Body => StatusCode::BAD_REQUEST,
        }
    }

    /// The answer; `decorate` adds the route's headers (CORS, caching) to answers with a body.
    /// 404 and 405 have no body and no content type (`Test.verify405`).
    pub fn response(&self, decorate: impl FnOnce(&mut HttpResponseBuilder)) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        if !matches!(
            self,
            TransportError::NotFound | TransportError::MethodNotAllowed(_)
        ) {
            decorate(&mut builder);
        }
        match self {
            TransportError::NotFound => builder.finish(),
            TransportError::MethodNotAllowed(allow) => builder
                .insert_header((header::ALLOW, HeaderValue::from_static(allow)))
                .finish(),
            // RFC 9110 section 15.5.2: a 401 names a scheme. Bearer, not Basic: a Basic
            // challenge makes browsers prompt for a password on an XHR.
            TransportError::Unauthorized => builder
                .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")))
                .insert_header((header::CONTENT_TYPE, super::http::TEXT_PLAIN))
                .body(TransportError::Unauthorized.to_string()),
            other => builder
                .insert_header((header::CONTENT_TYPE, super::http::TEXT_PLAIN))
                .body(other.to_string()),
        }
    }
}
