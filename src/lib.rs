//! A SockJS 0.3.3 server on actix-web: every transport of the protocol over one session actor
//! per session, with a small handler API for applications.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use sockjs_server::{Config, SockJs, SessionHandle, Handler};
//!
//! struct Shout;
//! impl Handler for Shout {
//!     fn on_message(&mut self, session: &SessionHandle, message: String) {
//!         session.send(message.to_uppercase());
//!     }
//! }
//!
//! # async fn serve() -> std::io::Result<()> {
//! let shout = SockJs::new(Config::at("/shout"), || Shout).expect("valid config");
//! HttpServer::new(move || App::new().service(shout.clone()))
//!     // Abort detection for HTTP receivers needs this (see `server::run`).
//!     .h1_allow_half_closed(false)
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! # }
//! ```
//!
//! # Layout
//! - [`protocol`]: pure protocol code (frames, quoting, decoding, framing, URL scheme, pages).
//! - [`session`]: the pure state machine, the session actor, the registry, the receiver pipe.
//! - [`transport`]: the HTTP side: [`SockJs`] mounts, one file per transport, the error table.
//! - [`handler`]: the application seam and the shipped text handlers.
//! - [`config`]: the one per-mount [`Config`]; [`forwarded`]: the client's address behind
//!   trusted proxies, which it names.
//! - [`metrics`]: Prometheus metrics and the stats log figures.
//! - [`server`]: running mounts (and static files) with graceful shutdown.
//! - [`stomp`]: STOMP 1.0-1.2 over SockJS and TCP: codec, connection state machine, broker.
//! - [`demo`]: the demo services the binary serves (and the conformance suite expects).

#![warn(missing_docs)]

pub mod config;
pub mod demo;
pub mod forwarded;
pub mod handler;
pub mod memory;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod session;
pub mod stomp;
pub mod transport;

pub use config::{Config, ConfigError};
pub use handler::{Handler, HandlerFactory};
pub use protocol::{CloseReason, Message, TransportKind};
pub use session::{CloseCause, RequestHeaders, SessionHandle};
pub use transport::SockJs;
