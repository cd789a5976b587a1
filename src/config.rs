//! One mount's configuration, with the SockJS reference defaults (sockjs-node 0.3's options)
//! and the limits this server adds. Validated once, at mount time.

use std::time::Duration;

pub use crate::forwarded::{ProxyNet, ProxyNetError};

/// The client library the iframe page loads by default (sockjs-node's default).
pub const DEFAULT_SOCKJS_URL: &str =
    "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js";

/// A SockJS mount's options: start from the defaults ([`Config::at`]) and set what you need
/// with the setter named after each field.
///
/// ```
/// use std::time::Duration;
/// use sockjs_server::Config;
///
/// let config = Config::at("/chat")
///     .heartbeat_delay(Duration::from_secs(10))
///     .max_sessions(20_000);
/// assert_eq!(config.validate(), Ok(()));
/// assert_eq!(config.disconnect_delay, Duration::from_secs(5)); // the default
/// assert!(Config::at("chat").validate().is_err()); // a prefix starts with '/'
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// URL prefix, e.g. `/echo`: empty or starting with `/`, never ending with `/`.
    /// Default: `""` (the root).
    pub prefix: String,
    /// Serve the WebSocket transports (`/websocket` raw and per session). Default: true.
    pub websocket: bool,
    /// Set a `JSESSIONID` cookie on session requests (echoing the client's, else `dummy`) so
    /// cookie-sticky load balancers keep a session on one node; `/info` then says
    /// `cookie_needed: true`. Default: false.
    pub jsessionid: bool,
    /// Heartbeat (`h` frame) interval while a receiver is attached. Default: 25 s.
    pub heartbeat_delay: Duration,
    /// How long a session outlives its last receiver, and how long a closed session keeps
    /// answering with its close frame. Default: 5 s.
    pub disconnect_delay: Duration,
    /// Bytes after which a streaming response (xhr_streaming, eventsource, htmlfile) is ended
    /// so the browser can free it; the client reconnects. Default: 128 KiB.
    pub response_limit: usize,
    /// The sockjs-client URL the iframe page loads. Default: [`DEFAULT_SOCKJS_URL`].
    pub sockjs_url: String,
    /// Origins allowed to use the mount: `*` for any, else exact `scheme://host[:port]`
    /// values (or `null`). Requests from other origins get 403. Default: `["*"]`, as every
    /// SockJS server but Spring: cross-origin use is SockJS's purpose. Restrict it when the
    /// application authenticates with cookies.
    pub allowed_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` with an echoed origin (sockjs-client
    /// sends credentials; the suite requires it). Default: true.
    pub cors_credentials: bool,
    /// The largest request body accepted by xhr_send / jsonp_send (413 past it, read no
    /// further) and the largest WebSocket message (closed with 1009). Default: 1 MiB.
    pub max_message_bytes: usize,
    /// How a session is tied to the client that opened it: a request for the session from
    /// another client gets 404 (logged). Default: [`SessionBinding::ClientAddress`].
    pub session_binding: SessionBinding,
    /// Sessions the mount holds at most; past it new sessions get 503 (HTTP) or a close
    /// 1013 (WebSocket). Default: 100,000.
    pub max_sessions: usize,
    /// Sessions one client address holds at most (after trusted-proxy resolution); past it
    /// as `max_sessions`. Default: `None`, no per-address limit (as sockjs-node, Spring,
    /// sockjs-go and Centrifugo). Opt in with care: one address is often many users (an
    /// office, a school or a mobile carrier behind NAT), and behind a reverse proxy missing
    /// from `trusted_proxies` every client has the proxy's address, so the limit then caps
    /// the whole site.
    pub max_sessions_per_client: Option<usize>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers are believed when they
    /// name the client ([`crate::SessionHandle::client_addr`]). When a proxy sends both
    /// headers and they name different clients, neither is believed. Default: none, not even
    /// loopback (the headers are ignored: anyone can send them, and a proxy that does not
    /// overwrite them passes the client's own on); a request carrying them from an untrusted
    /// peer is logged, once per peer every 10 minutes.
    pub trusted_proxies: Vec<ProxyNet>,
    /// WebSocket subprotocols offered by this mount (the first the client also offers is
    /// chosen), e.g. `v12.stomp`. Default: none.
    pub websocket_protocols: Vec<String>,
    /// Bytes a session may hold for a slow or absent receiver; past it the session is closed
    /// with `c[4500,"Send buffer overflow"]`. Default: 1 MiB.
    pub max_buffered_bytes: usize,
    /// permessage-deflate (RFC 7692) on the RFC 6455 WebSockets (raw and SockJS), offered
    /// to clients that ask for it. Default: `None`, off (no `Sec-WebSocket-Extensions`
    /// answer; RSV1 frames are a protocol error, 1002).
    pub permessage_deflate: Option<Deflate>,
}

setters!(Config {
    prefix: String,
    websocket: bool,
    jsessionid: bool,
    heartbeat_delay: Duration,
    disconnect_delay: Duration,
    response_limit: usize,
    sockjs_url: String,
    allowed_origins: Vec<String>,
    cors_credentials: bool,
    max_message_bytes: usize,
    session_binding: SessionBinding,
    max_sessions: usize,
    max_sessions_per_client: Option<usize>,
    trusted_proxies: Vec<ProxyNet>,
    websocket_protocols: Vec<String>,
    max_buffered_bytes: usize,
    permessage_deflate: Option<Deflate>,
});

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: String::new(),
            websocket: true,
            jsessionid: false,
            heartbeat_delay: Duration::from_secs(25),
            disconnect_delay: Duration::from_secs(5),
            response_limit: 128 * 1024,
            sockjs_url: DEFAULT_SOCKJS_URL.to_owned(),
            allowed_origins: vec!["*".to_owned()],
            cors_credentials: true,
            max_message_bytes: 1024 * 1024,
            session_binding: SessionBinding::ClientAddress,
            max_sessions: 100_000,
            max_sessions_per_client: None,
            trusted_proxies: Vec::new(),
            websocket_protocols: Vec::new(),
            max_buffered_bytes: 1024 * 1024,
            permessage_deflate: None,
        }
    }
}

/// permessage-deflate (RFC 7692) settings, for [`Config::permessage_deflate`]. Always
/// without context takeover both ways (the server says so in its answer), so a socket keeps
/// no compression state between messages: the compressor and decompressor are one per worker
/// thread, reset per message (see `transport/websocket/deflate.rs`).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflate {
    /// Messages the server sends shorter than this many bytes go uncompressed (RSV1 clear):
    /// deflating them costs more CPU than it saves bytes. Default: 256.
    pub threshold_bytes: usize,
    /// The compression level, 0 (stored) to 9 (smallest). Default: 6 (zlib's default).
    pub level: u32,
}

setters!(Deflate {
    threshold_bytes: usize,
    level: u32,
});

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            threshold_bytes: 256,
            level: 6,
        }
    }
}

/// How a session is tied to the client that opened it (anti-hijack). Session ids are chosen
/// by clients; binding keeps a client that learns another's id from reading or writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionBinding {
    /// Any client knowing the id may use the session (sockjs-node's behaviour).
    Off,
    /// Only the client address that opened the session (after trusted-proxy resolution).
    #[default]
    ClientAddress,
    /// Only requests carrying the JSESSIONID cookie value the session was opened with (only
    /// meaningful with `jsessionid` on).
    Cookie,
    /// Both the address and the cookie.
    ClientAddressAndCookie,
}

impl std::fmt::Display for SessionBinding {
    /// The name [`SessionBinding::from_str`](std::str::FromStr::from_str) reads.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionBinding::Off => "off",
            SessionBinding::ClientAddress => "address",
            SessionBinding::Cookie => "cookie",
            SessionBinding::ClientAddressAndCookie => "address+cookie",
        })
    }
}

impl std::str::FromStr for SessionBinding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(SessionBinding::Off),
            "address" => Ok(SessionBinding::ClientAddress),
            "cookie" => Ok(SessionBinding::Cookie),
            "address+cookie" => Ok(SessionBinding::ClientAddressAndCookie),
            other => Err(format!(
                "unknown session binding {other:?} (off, address, cookie, address+cookie)"
            )),
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The prefix is malformed.
    #[error("prefix {0:?} must be empty or start with '/' and not end with '/'")]
    Prefix(String),
    /// A duration or size is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The permessage-deflate compression level is over 9.
    #[error("permessage_deflate.level {0} must be 0 to 9")]
    DeflateLevel(u32),
}

impl Config {
    /// A default configuration at `prefix`.
    pub fn at(prefix: impl Into<String>) -> Self {
        Config {
            prefix: prefix.into(),
            ..Config::default()
        }
    }

    /// Checks the configuration once, at mount time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.prefix;
        if !p.is_empty() && (!p.starts_with('/') || p.ends_with('/')) {
            return Err(ConfigError::Prefix(p.clone()));
        }
        for (name, zero) in [
            ("heartbeat_delay", self.heartbeat_delay.is_zero()),
            ("disconnect_delay", self.disconnect_delay.is_zero()),
            ("response_limit", self.response_limit == 0),
            ("max_message_bytes", self.max_message_bytes == 0),
            ("max_buffered_bytes", self.max_buffered_bytes == 0),
            ("max_sessions", self.max_sessions == 0),
            (
                "max_sessions_per_client",
                self.max_sessions_per_client == Some(0),
            ),
        ] {
            if zero {
                return Err(ConfigError::Zero(name));
            }
        }
        match &self.permessage_deflate {
            Some(deflate) if deflate.level > 9 => Err(ConfigError::DeflateLevel(deflate.level)),
            _ => Ok(()),
        }
    }

    /// Whether requests from `origin` may use this mount.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_values() {
        let c = Config::default();
        assert_eq!(c.heartbeat_delay, Duration::from_secs(25));
        assert_eq!(c.disconnect_delay, Duration::from_secs(5));
        assert_eq!(c.response_limit, 131_072);
        assert!(c.websocket && !c.jsessionid);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn permessage_deflate_is_off_by_default_and_its_level_is_checked() {
        assert_eq!(Config::default().permessage_deflate, None);
        let on = Deflate::default();
        assert_eq!((on.threshold_bytes, on.level), (256, 6));
        let c = Config::default().permessage_deflate(Some(on.level(10)));
        assert_eq!(c.validate(), Err(ConfigError::DeflateLevel(10)));
    }

    #[test]
    fn sessions_are_capped_in_total_but_not_per_address_by_default() {
        let c = Config::default();
        assert_eq!((c.max_sessions, c.max_sessions_per_client), (100_000, None));
        assert!(c.trusted_proxies.is_empty());
        let zero = Config {
            max_sessions_per_client: Some(0),
            ..Config::default()
        };
        assert_eq!(
            zero.validate(),
            Err(ConfigError::Zero("max_sessions_per_client"))
        );
    }

    #[test]
    fn malformed_prefixes_are_refused() {
        for p in ["echo", "/echo/", "/"] {
            assert!(Config::at(p).validate().is_err(), "{p}");
        }
        assert!(Config::at("/a/b").validate().is_ok());
    }

    #[test]
    fn origins_match_exactly_or_by_star() {
        let mut c = Config::default();
        assert!(c.origin_allowed("http://x"));
        c.allowed_origins = vec!["https://app.example".into()];
        assert!(c.origin_allowed("https://app.example"));
        assert!(!c.origin_allowed("https://evil.example"));
        assert!(!c.origin_allowed("null"));
    }
}
