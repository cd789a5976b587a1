//! Application destinations: SENDs under the application prefix (default `/app`) go to Rust
//! handlers registered by destination pattern (as Spring's `@MessageMapping`), SUBSCRIBEs
//! to it to subscribe routes (as `@SubscribeMapping`). A handler can reply to its sender,
//! publish to any broker destination, or send to a user, and what it returns is sent on
//! (see [`super::reply`]).
//!
//! Owns: the [`Router`] and what a handler sees ([`AppMessage`], [`AppContext`]). Must not:
//! block (handlers run on the sender's session actor or connection task).

use std::sync::Arc;

use bytes::Bytes;

use super::auth::Principal;
use super::broker::{Broker, Key};
use super::destination::{Captures, DestinationError, Pattern, Target, USER_PREFIX, classify};
use super::frame::{Command, Frame};
use super::headers::DESTINATION;
use super::message::Published;
use super::relay::{Relay, route};
use super::reply::{IntoReply, Reply, ReplyTo};

/// A SEND (or, for a subscribe route, a SUBSCRIBE) to an application destination.
#[derive(Debug)]
pub struct AppMessage<'a> {
    /// The destination after the prefix, e.g. `/chat/lobby`.
    pub path: &'a str,
    /// What the pattern captured, e.g. `room = lobby`.
    pub captures: Captures,
    /// The SEND's headers (reserved ones removed; none for a SUBSCRIBE).
    pub headers: &'a [(String, String)],
    /// The body (empty for a SUBSCRIBE).
    pub body: &'a Bytes,
}

impl AppMessage<'_> {
    /// A captured pattern variable.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.captures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.body).ok()
    }
}

/// What a handler can do: reply, publish, send to a user.
#[derive(Debug)]
pub struct AppContext<'a> {
    broker: &'a Broker,
    serial: u64,
    principal: &'a Principal,
    relay: Option<&'a Relay>,
}

/// A handler's failure: by default a MESSAGE with this text to the sender's own
/// `/user/queue/errors` (`StompConfig::error_destination`); without an error destination,
/// an ERROR, and the sender is disconnected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AppError(pub String);

impl From<DestinationError> for AppError {
    fn from(e: DestinationError) -> Self {
        AppError(e.to_string())
    }
}

impl<'a> AppContext<'a> {
    /// A context for connection `serial` (its broker id) of `principal`.
    pub fn new(broker: &'a Broker, serial: u64, principal: &'a Principal) -> Self {
        AppContext {
            broker,
            serial,
            principal,
            relay: None,
        }
    }

    /// The same context publishing through `relay` (the system connection) when given.
    #[must_use]
    pub(crate) fn relayed(mut self, relay: Option<&'a Relay>) -> Self {
        self.relay = relay;
        self
    }

    /// Sends through the relay's system connection; a failure is logged (the broker is away).
    fn system_send(relay: &Relay, destination: &str, headers: Vec<(String, String)>, body: Bytes) {
        let mut frame = Frame::new(Command::Send).header(DESTINATION, destination);
        frame.headers.extend(headers);
        if let Err(e) = relay.system_send(&frame.body(body)) {
            log::warn!("stomp relay: server-side SEND to {destination} dropped: {e}");
        }
    }

    /// Who sent the message.
    pub fn principal(&self) -> &Principal {
        self.principal
    }

    /// Sends to the sender's own `/user{path}` subscriptions (e.g. `path = /queue/reply`).
    pub fn reply(&self, path: &str, headers: Vec<(String, String)>, body: impl Into<Bytes>) {
        if let Some(relay) = self.relay {
            let session = relay.session_id(self.serial);
            let target = route::user_target(path, &session);
            return Self::system_send(relay, &target, headers, body.into());
        }
        let message = self
            .broker
            .message(&own_destination(path), headers, body.into());
        self.broker.publish(&Key::own(self.serial, path), message);
    }

    /// Sends to `/user{path}` of every session of user `name`.
    pub fn send_to_user(
        &self,
        name: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Bytes>,
    ) {
        if let Some(relay) = self.relay {
            let body = body.into();
            for session in relay.sessions_of(name) {
                let target = route::user_target(path, &session);
                Self::system_send(relay, &target, headers.clone(), body.clone());
            }
            return;
        }
        let message = self
            .broker
            .message(&own_destination(path), headers, body.into());
        for serial in self.broker.sessions_of(name) {
            self.broker
                .publish(&Key::own(serial, path), message.clone());
        }
    }

    /// Sends to a broker destination: `/topic/...`, `/queue/...` or `/user/{name}/...`.
    ///
    /// # Errors
    /// [`DestinationError`] for application or unknown destinations.
    pub fn publish(
        &self,
        destination: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Bytes>,
    ) -> Result<(), DestinationError> {
        if let Some(relay) = self.relay.filter(|r| r.relays(destination)) {
            let mut frame = Frame::new(Command::Send).header(DESTINATION, destination);
            frame.headers.extend(headers);
            return relay
                .system_send(&frame.body(body.into()))
                .map_err(|e| DestinationError::Unavailable(e.to_string()));
        }
        // No application prefix: a handler cannot call handlers.
        match classify(destination, "")? {
            Target::Topic(name) => {
                self.publish_to(Key::Topic(name.to_owned()), name, headers, body.into())
            }
            Target::Queue(name) => {
                self.publish_to(Key::Queue(name.to_owned()), name, headers, body.into())
            }
            Target::User(name, path) => self.send_to_user(name, path, headers, body),
            Target::Own(_) | Target::App(_) => {
                return Err(DestinationError::WrongUse(
                    destination.to_owned(),
                    "publish",
                ));
            }
        }
        Ok(())
    }

    fn publish_to(&self, key: Key, destination: &str, headers: Vec<(String, String)>, body: Bytes) {
        self.broker
            .publish(&key, self.broker.message(destination, headers, body));
    }

    /// Sends a handler's `reply` where it says, or to `default` (a broker destination).
    pub(crate) fn deliver(&self, reply: Reply, default: &str) -> Result<(), DestinationError> {
        let Reply { body, headers, to } = reply;
        match to {
            ReplyTo::Default => self.publish(default, headers, body),
            ReplyTo::Broker(destination) => self.publish(&destination, headers, body),
            ReplyTo::Own(path) => {
                self.reply(&path, headers, body);
                Ok(())
            }
        }
    }

    /// `reply` as a message for `destination`, with a fresh `message-id`.
    pub(crate) fn message(&self, destination: &str, reply: Reply) -> Arc<Published> {
        self.broker.message(destination, reply.headers, reply.body)
    }
}

fn own_destination(path: &str) -> String {
    format!("{}{}", USER_PREFIX.trim_end_matches('/'), path)
}

/// An application handler, its `Ok` value turned into the reply it sends (if any).
pub type AppHandler =
    Box<dyn Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<Option<Reply>, AppError> + Send + Sync>;

/// What a route's handler returned (`None`: no route matched).
pub type AppResult = Option<Result<Option<Reply>, AppError>>;

/// `handler` with its `Ok` value turned into a reply.
fn boxed<F, R>(handler: F) -> AppHandler
where
    F: Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<R, AppError> + Send + Sync + 'static,
    R: IntoReply,
{
    Box::new(move |message, context| handler(message, context).map(IntoReply::into_reply))
}

/// Application handlers by destination pattern (SEND routes and subscribe routes); the
/// first registered match wins.
pub struct Router {
    separator: char,
    routes: Vec<(Pattern, AppHandler)>,
    subscribe_routes: Vec<(Pattern, AppHandler)>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("separator", &self.separator)
            .field("routes", &self.routes.len())
            .field("subscribe_routes", &self.subscribe_routes.len())
            .finish()
    }
}

impl Router {
    /// No routes; patterns and destinations will be split on `separator` (`/` or `.`,
    /// [`StompConfig::path_separator`](super::StompConfig::path_separator)).
    pub fn new(separator: char) -> Self {
        Router {
            separator,
            routes: Vec::new(),
            subscribe_routes: Vec::new(),
        }
    }

    /// Registers `handler` for `pattern`, relative to the prefix (`/chat/{room}`, or
    /// `chat.{room}` with separator `.`).
    pub fn route<F, R>(&mut self, pattern: &str, handler: F)
    where
        F: Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<R, AppError> + Send + Sync + 'static,
        R: IntoReply,
    {
        let pattern = Pattern::new(pattern, self.separator);
        self.routes.push((pattern, boxed(handler)));
    }

    /// Registers `handler` for SUBSCRIBEs to `pattern`, relative to the prefix: it answers
    /// each such SUBSCRIBE once (Spring's `@SubscribeMapping`).
    pub fn subscribe_route<F, R>(&mut self, pattern: &str, handler: F)
    where
        F: Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<R, AppError> + Send + Sync + 'static,
        R: IntoReply,
    {
        let pattern = Pattern::new(pattern, self.separator);
        self.subscribe_routes.push((pattern, boxed(handler)));
    }

    /// Whether a subscribe route matches `path`.
    pub fn answers_subscribe(&self, path: &str) -> bool {
        self.subscribe_routes
            .iter()
            .any(|(pattern, _)| pattern.matches(path).is_some())
    }

    /// Runs the SEND handler for `path`; `None` if no pattern matches.
    pub fn dispatch(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: &Bytes,
        context: &AppContext<'_>,
    ) -> AppResult {
        Self::run(&self.routes, path, headers, body, context)
    }

    /// Runs the subscribe handler for `path`; `None` if no pattern matches.
    pub fn dispatch_subscribe(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: &Bytes,
        context: &AppContext<'_>,
    ) -> AppResult {
        Self::run(&self.subscribe_routes, path, headers, body, context)
    }

    fn run(
        routes: &[(Pattern, AppHandler)],
        path: &str,
        headers: &[(String, String)],
        body: &Bytes,
        context: &AppContext<'_>,
    ) -> AppResult {
        routes.iter().find_map(|(pattern, handler)| {
            let captures = pattern.matches(path)?;
            let message = AppMessage {
                path,
                captures,
                headers,
                body,
            };
            Some(handler(&message, context))
        })
    }
}
