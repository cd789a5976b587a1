//! A SockJS 0.3.3 server on actix-web. Every transport `sockjs-client` 1.x can fall back
//! to (websocket, xhr-streaming, xhr-polling, eventsource, htmlfile, jsonp, and the iframe
//! variants) drives one session per session id, and your application sees a session through
//! a small [`Handler`] API. A STOMP 1.0-1.2 broker ([`stomp`]) plugs into the same seam.
//!
//! # A mount in your own app
//!
//! A [`SockJs`] mount is an actix-web service: add it to your `App` beside your own routes
//! and middleware, with a [`Handler`] that the mount makes for each new session.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use sockjs_server::{Config, Handler, SessionHandle, SockJs};
//!
//! struct Shout;
//!
//! impl Handler for Shout {
//!     fn on_message(&mut self, session: &SessionHandle, message: String) {
//!         session.send(message.to_uppercase());
//!     }
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let shout = SockJs::new(Config::at("/shout"), || Shout).expect("valid config");
//! HttpServer::new(move || App::new().service(shout.clone()))
//!     // What `server::run` sets for a SockJS server: an aborted HTTP receiver is seen at
//!     // once, and a closed WebSocket's connection ends right after its close handshake.
//!     .h1_allow_half_closed(false)
//!     .on_connect(sockjs_server::server::on_connect)
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! # }
//! ```
//!
//! Or let [`server::run`] serve a list of mounts (and static files) with graceful shutdown,
//! as the binary does.
//!
//! # Sessions and handlers
//!
//! A [`Handler`] gets [`Handler::on_open`], [`Handler::on_message`] (in order) and
//! [`Handler::on_close`], each called on the session's own actor, one at a time; a handler
//! that panics closes its own session (`1011`) and nothing else. A [`SessionHandle`] is a
//! cheap clone: keep it to [`SessionHandle::send`] later, from anywhere, or to
//! [`SessionHandle::close`] the session; it also tells the session id, transport, peer and
//! client address and the opening request's headers. To send one message to many sessions,
//! quote it once as a [`Message`] and [`SessionHandle::send_message`] it to each.
//! [`handler::text`] has the shipped handlers (echo, broadcast, close at once).
//!
//! # Configuration and limits
//!
//! One [`Config`] per mount, whose every field documents its default (sockjs-node's, plus
//! the limits this server adds): heartbeats, the disconnect delay, origins, session binding,
//! message and buffer bounds, session caps, trusted proxies. Past a limit a request gets a
//! clear refusal (413, 503, a WebSocket close code, `c[4500,...]`), never a panic.
//!
//! # What else is here
//! - [`stomp`]: the STOMP broker (`/topic`, `/queue`, `/app` routes, `/user`), over SockJS,
//!   WebSocket and TCP, and its relay to RabbitMQ for several nodes.
//! - [`identity`]: who a session is, from the HTTP request that opened it (a login cookie
//!   with its CSRF token, HTTP Basic, bearer tokens), for handlers and STOMP alike.
//! - [`protocol`]: the SockJS protocol as pure code (frames, quoting, decoding), reusable.
//! - [`api`]: the server HTTP API for other backends (publish, who is online, disconnect), on
//!   its own listener with a key ([`server::Options::api`] serves it).
//! - [`metrics`]: Prometheus metrics ([`server::Options::metrics`] serves them).
//! - [`demo`]: the demo services the binary serves (and the conformance suites expect).
//! - [`config::ProxyNet`]: trusted proxy networks, for the client's real address.

#![warn(missing_docs)]

/// Consuming setters for the fields of a `#[non_exhaustive]` options struct (one each, named
/// as the field), so that users build options from their defaults and a new field is never a
/// breaking change: `Config::at("/echo").heartbeat_delay(Duration::from_secs(10))`.
macro_rules! setters {
    ($ty:ident { $($field:ident: $fty:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!(
                    "Sets [`", stringify!($field), "`](#structfield.", stringify!($field),
                    ") (whose doc gives its default)."
                )]
                #[must_use]
                pub fn $field(mut self, value: $fty) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

pub mod api;
pub mod config;
pub mod demo;
mod forwarded;
pub mod handler;
pub mod identity;
mod limits;
mod memory;
pub mod metrics;
pub mod protocol;
pub mod server;
mod session;
pub mod stomp;
mod transport;

pub use config::{Config, ConfigError};
pub use handler::{Handler, HandlerFactory};
pub use protocol::{CloseReason, Message, TransportKind};
pub use session::{CloseCause, RequestHeaders, SessionHandle};
pub use transport::{SockJs, TransportError};
