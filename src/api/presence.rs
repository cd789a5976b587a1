//! `GET /api/presence?destination=...`: who is subscribed to a destination now, through
//! [`Stomp::presence`](crate::stomp::Stomp::presence). Only destinations under a
//! `StompConfig::presence` prefix (`--stomp-presence`) are tracked; for others `tracked` is
//! false and nobody is listed. With the broker relay, every node's subscribers count (as
//! last announced).
//!
//! ```text
//! GET /api/presence?destination=/topic/chat.lobby
//! -> 200 {"destination": "/topic/chat.lobby", "tracked": true, "user_count": 1,
//!         "sessions": 2, "users": [{"user": "alice", "sessions": 2}]}
//! ```
//!
//! Owns: the JSON shape of presence. Must not: track anything itself.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::auth::Authorized;
use super::{Api, ApiError, body};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    destination: String,
}

pub(super) async fn presence(
    _: Authorized,
    api: web::Data<Api>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Query { destination } = body::query(&request)?;
    let presence = api.stomp().presence(&destination);
    let users: Vec<serde_json::Value> = presence
        .users
        .iter()
        .map(|u| serde_json::json!({ "user": u.name, "sessions": u.sessions }))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "destination": presence.destination,
        "tracked": presence.tracked,
        "user_count": presence.user_count(),
        "sessions": presence.sessions,
        "users": users,
    })))
}
