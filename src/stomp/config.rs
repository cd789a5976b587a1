//! The STOMP service's configuration: every limit has a name, a documented default and an
//! outcome when passed.
//!
//! Owns: [`StompConfig`], its defaults and [`StompConfig::validate`] (run once, when the
//! service is built). Must not: read the environment or the command line (the binary does),
//! or be consulted for anything but the values it holds.

use std::time::Duration;

use super::decode::Limits;
use super::relay::RelayConfig;

/// The STOMP service's options.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StompConfig {
    /// Incoming frame bounds (frame bytes 1 MiB, 64 headers, 8 KiB per header line). Past
    /// one: ERROR, then close.
    pub limits: Limits,
    /// Subscriptions one connection may hold. Past it: ERROR, then close. Default: 256.
    pub max_subscriptions: usize,
    /// Outgoing bytes queued for one TCP connection; past it the slow consumer gets an ERROR
    /// and is closed. SockJS sessions are bounded by the mount's `max_buffered_bytes` instead
    /// (an ERROR `message:slow consumer...`, then `c[4500,...]`). An empty queue always
    /// takes one frame, so the largest frame a client may send can always be delivered.
    /// Default: 1 MiB.
    pub max_buffered_bytes: usize,
    /// Messages a `/queue/` holds while it has no subscriber ready; past it the oldest is
    /// dropped (RabbitMQ's `drop-head`). Default: 1000.
    pub max_queue_messages: usize,
    /// Unacknowledged queue messages one client-ack subscription may hold; past it the queue
    /// waits for ACKs before delivering to it (a prefetch). Default: 100.
    pub max_unacked: usize,
    /// Open transactions per connection. Past it: ERROR, then close. Default: 16.
    pub max_transactions: usize,
    /// SEND/ACK/NACK frames buffered in one transaction. Past it: ERROR, then close.
    /// Default: 1000.
    pub max_transaction_frames: usize,
    /// The server's `heart-beat` header `(sx, sy)` in milliseconds: the smallest interval it
    /// sends at and the interval it wants to hear from the client. Default: 10 000, 10 000.
    pub heart_beat: (u64, u64),
    /// Time a connection has to send CONNECT. Past it: ERROR, then close. Default: 10 s.
    pub connect_timeout: Duration,
    /// Application destinations prefix: SENDs under it go to registered handlers. Default:
    /// `/app`.
    pub app_prefix: String,
    /// Accept CONNECT without credentials (the principal is then `anonymous-{serial}`, or
    /// `anonymous-{node}-{serial}` through the broker relay).
    /// Default: true.
    pub allow_anonymous: bool,
    /// The CONNECTED `server` header. Default: `sockjs-server/{version}`.
    pub server_name: String,
    /// Relay `/topic/`, `/queue/` (and other configured prefixes) to an external STOMP
    /// broker instead of the in-memory one (see [`crate::stomp::RelayConfig`]); `heart_beat` then does not
    /// apply to client connections (client and broker agree their own). Default: `None`.
    pub relay: Option<RelayConfig>,
    /// The separator of `/app` route patterns and their `{var}` captures: `/`
    /// (`/chat/{room}`) or `.` (`chat.{room}`, as Spring's `AntPathMatcher(".")`). Topic
    /// wildcards (`*`, `#`) always split `/topic/` names on `.`, as RabbitMQ does.
    /// Default: `/`.
    pub path_separator: char,
    /// Where an `/app` handler's error goes: a MESSAGE to the sender's own
    /// `/user{error_destination}` (Spring's `@SendToUser("/queue/errors")`), and the
    /// connection stays open. `None`: the sender gets an ERROR and is disconnected.
    /// Default: `Some("/queue/errors")`.
    pub error_destination: Option<String>,
    /// When CONNECT must carry the `X-CSRF-TOKEN` header of the opening HTTP request's
    /// identity (Spring Security's `CsrfChannelInterceptor`). Default:
    /// [`CsrfPolicy::WhenCookieIdentity`].
    pub csrf: CsrfPolicy,
    /// Message history, for recovery of missed messages, on the destinations under its
    /// prefixes (see [`HistoryConfig`]). Default: `None` (off).
    pub history: Option<HistoryConfig>,
    /// Destination prefixes with presence (who is subscribed now, and join/leave events),
    /// e.g. `["/topic/chat."]`. Default: empty (off).
    pub presence: Vec<String>,
}

/// Message history for recovery: each message published to a destination under one of the
/// prefixes gets an `offset`, the destination's stream an `epoch`, and a SUBSCRIBE naming
/// the last offset and epoch it saw gets what it missed, then the live stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Destinations with history: those starting with one of these. Default: `["/topic/"]`.
    pub prefixes: Vec<String>,
    /// Messages kept per destination; past it the oldest goes. Default: 100.
    pub max_messages: usize,
    /// How long a message is kept. Default: 5 minutes.
    pub max_age: Duration,
    /// Bytes (bodies and headers) kept over all destinations; past it the oldest messages
    /// go, whatever their destination. Default: 64 MiB.
    pub max_bytes: usize,
}

setters!(HistoryConfig {
    prefixes: Vec<String>,
    max_messages: usize,
    max_age: Duration,
    max_bytes: usize,
});

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            prefixes: vec!["/topic/".to_owned()],
            max_messages: 100,
            max_age: Duration::from_secs(300),
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// When a STOMP CONNECT must prove, with a CSRF token, that it comes from the application's
/// own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsrfPolicy {
    /// Whenever the session's identity came from a cookie, which the browser sends by itself
    /// from any page (the default).
    #[default]
    WhenCookieIdentity,
    /// Never (only for identities a browser cannot send by itself; not for cookies).
    Off,
}

setters!(StompConfig {
    limits: Limits,
    max_subscriptions: usize,
    max_buffered_bytes: usize,
    max_queue_messages: usize,
    max_unacked: usize,
    max_transactions: usize,
    max_transaction_frames: usize,
    heart_beat: (u64, u64),
    connect_timeout: Duration,
    app_prefix: String,
    allow_anonymous: bool,
    server_name: String,
    relay: Option<RelayConfig>,
    path_separator: char,
    error_destination: Option<String>,
    csrf: CsrfPolicy,
    history: Option<HistoryConfig>,
    presence: Vec<String>,
});

impl Default for StompConfig {
    fn default() -> Self {
        StompConfig {
            limits: Limits::default(),
            max_subscriptions: 256,
            max_buffered_bytes: 1024 * 1024,
            max_queue_messages: 1000,
            max_unacked: 100,
            max_transactions: 16,
            max_transaction_frames: 1000,
            heart_beat: (10_000, 10_000),
            connect_timeout: Duration::from_secs(10),
            app_prefix: "/app".to_owned(),
            allow_anonymous: true,
            server_name: concat!("sockjs-server/", env!("CARGO_PKG_VERSION")).to_owned(),
            relay: None,
            path_separator: '/',
            error_destination: Some("/queue/errors".to_owned()),
            csrf: CsrfPolicy::WhenCookieIdentity,
            history: None,
            presence: Vec::new(),
        }
    }
}

/// A STOMP configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StompConfigError {
    /// A size, count or duration is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The application prefix is not `/name` (no trailing slash).
    #[error("app_prefix {0:?} must start with '/' and not end with '/'")]
    AppPrefix(String),
    /// The relay configuration cannot work.
    #[error("{0}")]
    Relay(String),
    /// A path separator other than `/` and `.`.
    #[error("path_separator {0:?} must be '/' or '.'")]
    PathSeparator(char),
    /// An error destination not under `/queue/` or `/topic/`.
    #[error("error_destination {0:?} must start with /queue/ or /topic/")]
    ErrorDestination(String),
}

impl StompConfig {
    /// Checks the configuration once.
    ///
    /// # Errors
    /// A [`StompConfigError`] naming the first bad field.
    pub fn validate(&self) -> Result<(), StompConfigError> {
        for (name, zero) in [
            ("limits.max_frame_bytes", self.limits.max_frame_bytes == 0),
            ("limits.max_headers", self.limits.max_headers == 0),
            ("limits.max_header_bytes", self.limits.max_header_bytes == 0),
            ("max_subscriptions", self.max_subscriptions == 0),
            ("max_buffered_bytes", self.max_buffered_bytes == 0),
            ("max_queue_messages", self.max_queue_messages == 0),
            ("max_unacked", self.max_unacked == 0),
            ("max_transaction_frames", self.max_transaction_frames == 0),
            ("connect_timeout", self.connect_timeout.is_zero()),
        ] {
            if zero {
                return Err(StompConfigError::Zero(name));
            }
        }
        if let Some(h) = &self.history {
            for (name, zero) in [
                ("history.max_messages", h.max_messages == 0),
                ("history.max_age", h.max_age.is_zero()),
                ("history.max_bytes", h.max_bytes == 0),
            ] {
                if zero {
                    return Err(StompConfigError::Zero(name));
                }
            }
        }
        if let Some(problem) = self.relay.as_ref().and_then(RelayConfig::problem) {
            return Err(StompConfigError::Relay(problem));
        }
        let p = &self.app_prefix;
        if !p.starts_with('/') || p.ends_with('/') {
            return Err(StompConfigError::AppPrefix(p.clone()));
        }
        if !matches!(self.path_separator, '/' | '.') {
            return Err(StompConfigError::PathSeparator(self.path_separator));
        }
        if let Some(d) = &self.error_destination
            && !(d.starts_with("/queue/") || d.starts_with("/topic/"))
        {
            return Err(StompConfigError::ErrorDestination(d.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = StompConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.limits.max_frame_bytes, 1_048_576);
        assert_eq!((c.max_subscriptions, c.heart_beat), (256, (10_000, 10_000)));
    }

    #[test]
    fn zero_limits_and_bad_prefixes_are_refused() {
        let c = StompConfig {
            max_unacked: 0,
            ..StompConfig::default()
        };
        assert_eq!(c.validate(), Err(StompConfigError::Zero("max_unacked")));
        for p in ["app", "/app/", "/"] {
            let c = StompConfig {
                app_prefix: p.to_owned(),
                ..StompConfig::default()
            };
            assert!(c.validate().is_err(), "{p}");
        }
    }
}
