//! What an `/app` handler returns (Spring's `@MessageMapping` return value, `@SendTo`,
//! `@SendToUser`): [`IntoReply`] turns the `Ok` value into an optional [`Reply`], and the
//! functions here run a route and deliver its reply, or its error, as the service is
//! configured.
//!
//! Where a reply goes unless it names a destination: for a SEND route, `/topic` + the path
//! after the application prefix (`/app/greet` -> `/topic/greet`, `/app/chat.x` ->
//! `/topic/chat.x`); for a subscribe route, that subscription alone. Where an error goes: a
//! MESSAGE to the sender's own `/user{error_destination}` when configured (the connection
//! stays open), else an ERROR that closes the connection.
//!
//! Owns: the reply types and the reply and error rules. Must not: match patterns (the router
//! does) or decide authorization (the connection does before it gets here).

use bytes::Bytes;

use super::app::{AppContext, Router};
use super::command::Subscribe;
use super::error::StompError;
use super::frame::Version;
use super::headers::{CONTENT_TYPE, MESSAGE};
use super::message::Outlet;

/// The broker prefix a SEND route's reply goes to by default (Spring's
/// `@MessageMapping` default: `/topic` + the destination after the application prefix).
const DEFAULT_REPLY_PREFIX: &str = "/topic";

/// Where a [`Reply`] goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplyTo {
    /// The default: `/topic` + the path for a SEND, the subscription for a SUBSCRIBE.
    Default,
    /// A broker destination: `/topic/...`, `/queue/...` or `/user/{name}/...`.
    Broker(String),
    /// The sender's own `/user{path}` (e.g. `/queue/x`).
    Own(String),
}

/// A handler's answer: a body, headers, and where it goes (by default `/topic` + the path
/// after the application prefix for a SEND route, the subscriber itself for a subscribe
/// route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub(crate) body: Bytes,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) to: ReplyTo,
}

impl Reply {
    /// A reply with `body` to the default destination.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Reply {
            body: body.into(),
            headers: Vec::new(),
            to: ReplyTo::Default,
        }
    }

    /// An empty reply to broker destination `destination` (`/topic/...`, `/queue/...`,
    /// `/user/{name}/...`; Spring's `@SendTo`); set its body with [`Reply::body`].
    pub fn to(destination: impl Into<String>) -> Self {
        Reply {
            to: ReplyTo::Broker(destination.into()),
            ..Reply::new(Bytes::new())
        }
    }

    /// An empty reply to the sender's own `/user{path}` (`path = /queue/x`; Spring's
    /// `@SendToUser`); set its body with [`Reply::body`].
    pub fn to_user(path: impl Into<String>) -> Self {
        Reply {
            to: ReplyTo::Own(path.into()),
            ..Reply::new(Bytes::new())
        }
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds a header (the server's own, `destination`, `message-id`, `content-length` and
    /// `subscription`, are set at delivery).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What a handler's `Ok` value sends: nothing for `()`, a body to the default destination
/// for text and bytes, anything for a [`Reply`].
pub trait IntoReply {
    /// The reply, if any.
    fn into_reply(self) -> Option<Reply>;
}

impl IntoReply for () {
    fn into_reply(self) -> Option<Reply> {
        None
    }
}

impl IntoReply for Reply {
    fn into_reply(self) -> Option<Reply> {
        Some(self)
    }
}

impl<T: IntoReply> IntoReply for Option<T> {
    fn into_reply(self) -> Option<Reply> {
        self.and_then(IntoReply::into_reply)
    }
}

macro_rules! body_replies {
    ($($t:ty),*) => {$(
        impl IntoReply for $t {
            fn into_reply(self) -> Option<Reply> {
                Some(Reply::new(self))
            }
        }
    )*};
}

body_replies!(String, &'static str, Vec<u8>, Bytes);

/// The default destination of a SEND route's reply: `/topic` + `path` (`/greet` or
/// `greet` -> `/topic/greet`).
pub(crate) fn default_destination(path: &str) -> String {
    format!("{DEFAULT_REPLY_PREFIX}/{}", path.trim_start_matches('/'))
}

/// How `/app` frames are answered: the routes, the context handlers get, and where errors go.
pub(crate) struct Dispatch<'a> {
    /// The routes.
    pub(crate) router: &'a Router,
    /// The sender's context.
    pub(crate) context: AppContext<'a>,
    /// `StompConfig::error_destination`.
    pub(crate) error_destination: Option<&'a str>,
}

impl Dispatch<'_> {
    /// A SEND to application destination `destination` (`path` after the prefix): runs its
    /// route and delivers the reply.
    ///
    /// # Errors
    /// No route or a failed handler, only when errors are not sent to the sender's error
    /// destination.
    pub(crate) fn send(
        &self,
        destination: &str,
        path: &str,
        headers: &[(String, String)],
        body: &Bytes,
    ) -> Result<(), StompError> {
        let outcome = match self.router.dispatch(path, headers, body, &self.context) {
            None => Err(StompError::NoHandler(destination.to_owned())),
            Some(Err(e)) => Err(StompError::App(e.0)),
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(reply))) => self
                .context
                .deliver(reply, &default_destination(path))
                .map_err(|e| StompError::App(e.to_string())),
        };
        outcome.or_else(|e| self.report(e))
    }

    /// A SUBSCRIBE to application destination `subscribe.destination` (`path` after the
    /// prefix): runs its subscribe route and answers that subscription once through `outlet`
    /// (speaking `version`). `None` if no subscribe route matches.
    pub(crate) fn subscribe(
        &self,
        subscribe: &Subscribe,
        path: &str,
        headers: &[(String, String)],
        outlet: &dyn Outlet,
        version: Version,
    ) -> Option<Result<(), StompError>> {
        let empty = Bytes::new();
        let outcome = match self
            .router
            .dispatch_subscribe(path, headers, &empty, &self.context)?
        {
            Err(e) => Err(StompError::App(e.0)),
            Ok(None) => Ok(()),
            Ok(Some(reply)) if reply.to == ReplyTo::Default => {
                let message = self.context.message(&subscribe.destination, reply);
                outlet.send(message.wire(version, &subscribe.id, false));
                Ok(())
            }
            Ok(Some(reply)) => self
                .context
                .deliver(reply, &subscribe.destination)
                .map_err(|e| StompError::App(e.to_string())),
        };
        Some(outcome.or_else(|e| self.report(e)))
    }

    /// Sends `error` to the sender's own `/user{error_destination}` (a `message` header, the
    /// error's text as body), or gives it back when there is no error destination.
    fn report(&self, error: StompError) -> Result<(), StompError> {
        let Some(path) = self.error_destination else {
            return Err(error);
        };
        log::debug!("stomp app error to {path}: {error}");
        let headers = vec![
            (MESSAGE.to_owned(), error.short()),
            (CONTENT_TYPE.to_owned(), "text/plain".to_owned()),
        ];
        self.context.reply(path, headers, error.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_sends_nothing_and_text_or_bytes_go_to_the_default_destination() {
        assert_eq!(().into_reply(), None);
        assert_eq!(None::<String>.into_reply(), None);
        for reply in [
            "hi".into_reply(),
            String::from("hi").into_reply(),
            b"hi".to_vec().into_reply(),
            Bytes::from_static(b"hi").into_reply(),
        ] {
            let reply = reply.unwrap();
            assert_eq!(
                (&reply.body[..], &reply.to),
                (&b"hi"[..], &ReplyTo::Default)
            );
        }
    }

    #[test]
    fn a_reply_can_name_a_broker_or_own_destination_and_carry_headers() {
        let r = Reply::to("/topic/x").body("b").header("k", "v");
        assert_eq!(r.to, ReplyTo::Broker("/topic/x".into()));
        assert_eq!((&r.body[..], r.headers.len()), (&b"b"[..], 1));
        assert_eq!(
            Reply::to_user("/queue/y").to,
            ReplyTo::Own("/queue/y".into())
        );
    }

    #[test]
    fn the_default_destination_is_topic_plus_the_path() {
        assert_eq!(default_destination("/greet"), "/topic/greet");
        assert_eq!(default_destination("/chat.x"), "/topic/chat.x");
        assert_eq!(default_destination("chat.x"), "/topic/chat.x");
    }
}
