//! `POST /api/disconnect`: ends a user's (or one session's) STOMP connections on this
//! node, through [`Stomp::disconnect_user`](crate::stomp::Stomp::disconnect_user) and
//! [`Stomp::disconnect_session`](crate::stomp::Stomp::disconnect_session): each gets an
//! ERROR frame whose `message` is the reason, then is closed. With the broker relay, other
//! nodes' connections are not reached: call each node's API (a session's `local` flag in
//! `GET /api/users/{name}` says whether this node holds it).
//!
//! ```text
//! {"user": "alice", "reason": "banned"}      -> 200 {"disconnected": 2}
//! {"session": "7", "reason": "bye"}          -> 200 {"disconnected": 1}
//! ```
//!
//! Owns: the request's shape. Must not: close connections itself.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::auth::Authorized;
use super::{Api, ApiError, body};

/// The ERROR `message` when the request gives no reason.
pub(crate) const DEFAULT_REASON: &str = "disconnected by the server";

/// The request body: exactly one of `user` and `session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disconnect {
    user: Option<String>,
    session: Option<String>,
    reason: Option<String>,
}

pub(super) async fn disconnect(
    _: Authorized,
    api: web::Data<Api>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let Disconnect {
        user,
        session,
        reason,
    } = body::json(&request, payload, api.config().max_body_bytes).await?;
    let reason = reason.as_deref().unwrap_or(DEFAULT_REASON);
    let stomp = api.stomp();
    let count = match (user, session) {
        (Some(user), None) => stomp.disconnect_user(&user, reason),
        (None, Some(session)) => stomp.disconnect_session(&session, reason),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of \"user\" and \"session\"".into(),
            ));
        }
    };
    log::info!("api: disconnected {count} connection(s): {reason}");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "disconnected": count })))
}
