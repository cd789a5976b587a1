//! `GET /api/history?destination=...&limit=N`: a destination's retained messages, through
//! [`Stomp::history`](crate::stomp::Stomp::history): its epoch and last offset, and the last
//! `limit` messages kept (default [`DEFAULT_HISTORY_LIMIT`]; 0 asks for the position only),
//! oldest first. 404 when there is no history for it: history off (`StompConfig::history`),
//! a destination outside its prefixes or not yet published to, and always with the broker
//! relay (whose history is RabbitMQ's, not this node's).
//!
//! ```text
//! GET /api/history?destination=/topic/news&limit=2
//! -> 200 {"destination": "/topic/news", "epoch": "k3f9", "last_offset": 7, "messages": [
//!         {"offset": 6, "headers": {"offset": "6", "epoch": "k3f9"}, "body": "six"},
//!         {"offset": 7, "headers": {...}, "body": "seven"}]}
//! ```
//! A body that is not UTF-8 (sent over TCP) comes as `"body_base64"` instead of `"body"`.
//!
//! Owns: the JSON shape of history. Must not: keep or replay messages itself.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::auth::Authorized;
use super::{Api, ApiError, body};
use crate::stomp::HistoryMessage;

/// Messages returned when the request names no `limit` (the history's own default bound
/// per destination, `HistoryConfig::max_messages`).
pub const DEFAULT_HISTORY_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    destination: String,
    limit: Option<usize>,
}

pub(super) async fn history(
    _: Authorized,
    api: web::Data<Api>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Query { destination, limit } = body::query(&request)?;
    let limit = limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    let page = api.stomp().history(&destination, limit).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no history for {destination:?}: history off, not under its prefixes, nothing \
             published yet, or a relayed node"
        ))
    })?;
    let messages: Vec<Value> = page.messages.iter().map(message).collect();
    Ok(HttpResponse::Ok().json(json!({
        "destination": destination,
        "epoch": page.epoch,
        "last_offset": page.last_offset,
        "messages": messages,
    })))
}

fn message(message: &HistoryMessage) -> Value {
    // A repeated header: the first is the one that counts (STOMP 1.2 "Repeated Header
    // Entries").
    let mut headers = Map::new();
    for (name, value) in &message.headers {
        headers
            .entry(name.clone())
            .or_insert_with(|| Value::String(value.clone()));
    }
    let mut out = json!({ "offset": message.offset, "headers": headers });
    let body = match std::str::from_utf8(&message.body) {
        Ok(text) => ("body", Value::String(text.to_owned())),
        Err(_) => (
            "body_base64",
            Value::String(base64::engine::general_purpose::STANDARD.encode(&message.body)),
        ),
    };
    if let Value::Object(fields) = &mut out {
        fields.insert(body.0.to_owned(), body.1);
    }
    out
}
