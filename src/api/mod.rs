//! The server HTTP API: what other backends call to reach this node's STOMP clients, as
//! Centrifugo's server API (`POST /api/publish`, `disconnect`, ...) or Socket.IO's emitter.
//! Opt-in and on its own listener ([`crate::server::Options::api`], `--api-bind`), every
//! request carrying the API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`); JSON in
//! and out, errors as `{"error": "..."}` with an HTTP status.
//!
//! | Method and path                    | What                                              |
//! |------------------------------------|---------------------------------------------------|
//! | `POST /api/publish`                | a message to `/topic/`, `/queue/`, `/user/{name}/` |
//! | `GET /api/presence?destination=..` | who is subscribed there (presence prefixes)       |
//! | `GET /api/history?destination=..`  | a destination's retained messages (in-memory)     |
//! | `GET /api/users`                   | online users (with the relay: every node's)       |
//! | `GET /api/users/{name}`            | one user's sessions and their subscriptions       |
//! | `POST /api/disconnect`             | close a user's or a session's connections here    |
//!
//! # Layout
//! `auth` (the key check), `body` (the capped JSON body, the query string), `error` (the one status table),
//! `publish`, `history`, `presence`, `users`, `disconnect` (one file per endpoint group).
//!
//! Owns: the API's routes, config and handlers. Must not: hold STOMP state or rules of its
//! own (it calls [`Stomp`]'s public methods only), or be reachable from the service's
//! public listener.

mod auth;
mod body;
mod disconnect;
mod error;
mod history;
mod presence;
mod publish;
mod users;

use std::sync::Arc;

use actix_web::{HttpRequest, web};

use crate::stomp::Stomp;

pub use error::ApiError;
pub use history::DEFAULT_HISTORY_LIMIT;

/// The default of [`ApiConfig::max_body_bytes`]: 1 MiB, room for any STOMP message of the
/// default limits (`StompConfig::limits`' `max_frame_bytes` is 1 MiB too) plus its JSON quoting.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The API's settings, from their defaults with the setter named after each field.
#[non_exhaustive]
#[derive(Clone)]
pub struct ApiConfig {
    /// The key every request must carry, compared in constant time. Default: empty, which
    /// [`ApiConfig::validate`] refuses (there is no API without a key).
    pub key: String,
    /// Largest request body, in bytes; a longer one gets 413. Default:
    /// [`DEFAULT_MAX_BODY_BYTES`] (1 MiB).
    pub max_body_bytes: usize,
}

setters!(ApiConfig {
    key: String,
    max_body_bytes: usize,
});

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            key: String::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("key", &"<redacted>")
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// An [`ApiConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiConfigError {
    /// No key: the API would be open to anyone who reaches its listener.
    #[error("the server API needs a key (--api-key or SOCKJS_API_KEY)")]
    NoKey,
    /// A key with a character a header cannot carry (control characters, non-ASCII).
    #[error("the server API key must be printable ASCII without spaces")]
    BadKey,
    /// `max_body_bytes` of zero.
    #[error("max_body_bytes must be greater than zero")]
    ZeroBody,
}

impl ApiConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`ApiConfigError`] for an empty or unsendable key or a zero body bound.
    pub fn validate(&self) -> Result<(), ApiConfigError> {
        if self.key.is_empty() {
            return Err(ApiConfigError::NoKey);
        }
        if !self.key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiConfigError::BadKey);
        }
        if self.max_body_bytes == 0 {
            return Err(ApiConfigError::ZeroBody);
        }
        Ok(())
    }
}

/// The server API of one STOMP service: add it to an `App` with [`Api::configure`], on a
/// listener of its own ([`crate::server::Options::api`] does).
#[derive(Clone)]
pub struct Api(Arc<Inner>);

struct Inner {
    stomp: Stomp,
    config: ApiConfig,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API of `stomp` with `config`.
    ///
    /// # Errors
    /// [`ApiConfigError`] if `config` does not validate (no key, above all).
    pub fn new(stomp: Stomp, config: ApiConfig) -> Result<Api, ApiConfigError> {
        config.validate()?;
        Ok(Api(Arc::new(Inner { stomp, config })))
    }

    /// The routes under `/api`, with a JSON 404 or 405 for anything else (after the key
    /// check, so that without the key nothing is told).
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        config.app_data(web::Data::new(self.clone())).service(
            web::scope("/api")
                .route("/publish", web::post().to(publish::publish))
                .route("/publish", web::route().to(not_allowed))
                .route("/history", web::get().to(history::history))
                .route("/history", web::route().to(not_allowed))
                .route("/users", web::get().to(users::list))
                .route("/users", web::route().to(not_allowed))
                .route("/users/{name}", web::get().to(users::one))
                .route("/users/{name}", web::route().to(not_allowed))
                .route("/presence", web::get().to(presence::presence))
                .route("/presence", web::route().to(not_allowed))
                .route("/disconnect", web::post().to(disconnect::disconnect))
                .route("/disconnect", web::route().to(not_allowed)),
        );
        config.default_service(web::route().to(not_found));
    }

    pub(crate) fn stomp(&self) -> &Stomp {
        &self.0.stomp
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.0.config
    }
}

async fn not_allowed(_: auth::Authorized) -> Result<&'static str, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

async fn not_found(_: auth::Authorized, request: HttpRequest) -> Result<&'static str, ApiError> {
    Err(ApiError::NotFound(format!(
        "no endpoint {}",
        request.path()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_without_a_key_or_with_a_spaced_key_is_refused() {
        assert_eq!(ApiConfig::default().validate(), Err(ApiConfigError::NoKey));
        let spaced = ApiConfig::default().key("a b".into());
        assert_eq!(spaced.validate(), Err(ApiConfigError::BadKey));
        let zero = ApiConfig::default().key("k".into()).max_body_bytes(0);
        assert_eq!(zero.validate(), Err(ApiConfigError::ZeroBody));
        assert_eq!(ApiConfig::default().key("k".into()).validate(), Ok(()));
    }

    #[test]
    fn the_key_is_never_in_debug_output() {
        let config = ApiConfig::default().key("s3cret".into());
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
