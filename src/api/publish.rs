//! `POST /api/publish`: a message from another backend to STOMP subscribers, through
//! [`Stomp::publish`](crate::stomp::Stomp::publish) as a server-side send: with the broker
//! relay it goes through the broker, so every node's subscribers get it.
//!
//! ```text
//! {"destination": "/topic/news", "headers": {"content-type": "text/plain"}, "body": "hi"}
//! -> 200 {"published": "/topic/news"}
//! ```
//!
//! Owns: the request's shape and checks. Must not: route messages itself.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::auth::Authorized;
use super::{Api, ApiError, body};
use crate::stomp::headers::{
    ACK, CONTENT_LENGTH, DESTINATION, MESSAGE_ID, RECEIPT, SUBSCRIPTION, TRANSACTION,
};

/// Headers the server writes itself (or that would change what the send means): a request
/// naming one is refused rather than silently overridden.
const RESERVED: [&str; 7] = [
    DESTINATION,
    CONTENT_LENGTH,
    MESSAGE_ID,
    SUBSCRIPTION,
    ACK,
    RECEIPT,
    TRANSACTION,
];

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    destination: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
}

pub(super) async fn publish(
    _: Authorized,
    api: web::Data<Api>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let publish: Publish = body::json(&request, payload, api.config().max_body_bytes).await?;
    let headers = checked(publish.headers)?;
    api.stomp()
        .publish(&publish.destination, headers, publish.body)?;
    log::debug!("api: published to {}", publish.destination);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "published": publish.destination })))
}

/// The headers as STOMP headers, unless one is reserved or cannot be a header.
fn checked(headers: BTreeMap<String, String>) -> Result<Vec<(String, String)>, ApiError> {
    for (name, value) in &headers {
        if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            return Err(ApiError::BadRequest(format!(
                "header {name:?} is set by the server"
            )));
        }
        let breaks = |s: &str| s.contains(['\r', '\n', '\0']);
        if name.is_empty() || breaks(name) || breaks(value) {
            return Err(ApiError::BadRequest(format!(
                "header {name:?}: names must be non-empty, and neither may hold CR, LF or NUL"
            )));
        }
    }
    Ok(headers.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &str, value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(name.to_owned(), value.to_owned())])
    }

    #[test]
    fn reserved_or_broken_headers_are_refused_and_others_pass() {
        assert!(checked(one("Destination", "/topic/y")).is_err());
        assert!(checked(one("x", "a\nb")).is_err());
        assert!(checked(one("", "v")).is_err());
        assert_eq!(
            checked(one("priority", "9")).ok(),
            Some(vec![("priority".to_owned(), "9".to_owned())])
        );
    }
}
