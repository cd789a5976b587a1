//! `GET /api/users` and `GET /api/users/{name}`: who is online, from
//! [`Stomp::registry`](crate::stomp::Stomp::registry). With the broker relay, users and
//! sessions span every node, subscriptions are listed for this node's sessions only (see
//! `stomp/online.rs`).
//!
//! ```text
//! GET /api/users        -> 200 {"count": 1, "users": [{"name": "alice", "sessions": 2}]}
//! GET /api/users/alice  -> 200 {"name": "alice", "sessions": [{"id": "3", "local": true,
//!                              "subscriptions": [{"id": "sub-0", "destination": "/topic/a"}]}]}
//! GET /api/users/nobody -> 404 {"error": "user \"nobody\" is not online"}
//! ```
//!
//! Owns: the JSON shape of the registry. Must not: keep any state.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::auth::Authorized;
use super::{Api, ApiError};
use crate::stomp::{OnlineSession, OnlineUser};

#[derive(Serialize)]
struct Summary<'a> {
    name: &'a str,
    sessions: usize,
}

#[derive(Serialize)]
struct User<'a> {
    name: &'a str,
    sessions: Vec<Session<'a>>,
}

#[derive(Serialize)]
struct Session<'a> {
    id: &'a str,
    /// Whether the session is this node's (its subscriptions are listed, and
    /// `POST /api/disconnect` here reaches it).
    local: bool,
    subscriptions: Vec<Subscription<'a>>,
}

#[derive(Serialize)]
struct Subscription<'a> {
    id: &'a str,
    destination: &'a str,
}

pub(super) async fn list(_: Authorized, api: web::Data<Api>) -> HttpResponse {
    let users = api.stomp().registry().users();
    let summaries: Vec<Summary<'_>> = users
        .iter()
        .map(|u| Summary {
            name: &u.name,
            sessions: u.sessions.len(),
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "count": summaries.len(),
        "users": summaries,
    }))
}

pub(super) async fn one(
    _: Authorized,
    api: web::Data<Api>,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = api
        .stomp()
        .registry()
        .user(&name)
        .ok_or_else(|| ApiError::NotFound(format!("user {:?} is not online", name.as_str())))?;
    Ok(HttpResponse::Ok().json(shape(&user)))
}

fn shape(user: &OnlineUser) -> User<'_> {
    User {
        name: &user.name,
        sessions: user.sessions.iter().map(session).collect(),
    }
}

fn session(session: &OnlineSession) -> Session<'_> {
    Session {
        id: &session.id,
        local: session.serial.is_some(),
        subscriptions: session
            .subscriptions
            .iter()
            .map(|s| Subscription {
                id: &s.id,
                destination: &s.destination,
            })
            .collect(),
    }
}
