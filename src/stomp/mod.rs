//! STOMP 1.0, 1.1 and 1.2 over SockJS, raw WebSocket and plain TCP, with an in-memory broker:
//! `/topic/` fan-out, `/queue/` competing consumers, application destinations under `/app`
//! routed to Rust handlers, user destinations under `/user/`, pluggable authentication and
//! authorization, and named limits.
//!
//! ```no_run
//! use sockjs_server::Config;
//! use sockjs_server::stomp::{Stomp, StompConfig};
//!
//! let stomp = Stomp::builder(StompConfig::default())
//!     .route("/greet/{name}", |message, context| {
//!         let name = message.param("name").unwrap_or("stranger");
//!         context.reply("/queue/greetings", Vec::new(), format!("hello, {name}"));
//!         Ok(())
//!     })
//!     .build()
//!     .expect("valid STOMP config");
//! let mount = stomp.mount(Config::at("/stomp")).expect("valid SockJS config");
//! // add `mount` to an actix-web App; `stomp.serve_tcp(listener, shutdown)` for TCP clients.
//! ```
//!
//! # What is here
//! - [`Stomp`] and its builder: the service, its `/app` routes ([`AppMessage`],
//!   [`AppContext`]), authentication ([`Authenticator`], [`Users`]) and authorization
//!   ([`Authorizer`]); [`Stomp::mount`] serves it over SockJS, [`Stomp::serve_tcp`] over TCP.
//! - Spring parity: handler return values ([`IntoReply`], [`Reply`]; errors to the sender's
//!   `/user/queue/errors`), subscribe routes ([`StompBuilder::subscribe_route`]),
//!   [`Interceptor`]s on inbound and outbound frames, and lifecycle [`Event`]s
//!   ([`StompBuilder::on_event`]).
//! - [`StompConfig`]: named limits with documented defaults; [`RelayConfig`] to relay
//!   `/topic/` and `/queue/` through RabbitMQ so that several nodes serve as one.
//! - [`frame`], [`decode`], [`headers`]: the pure STOMP codec (encode, incremental decode,
//!   escaping, limits) and every header name, usable on their own (a client, a test).
//!
//! # Layout (crate-private files)
//! `command` (frames to typed client commands), `heartbeat` (negotiation and timing),
//! `connection/` (the per-connection state machine, transport-agnostic, `now` passed in),
//! `broker` and `message` (the in-memory broker, encode-once MESSAGE frames), `destination`,
//! `app` and `reply` (`/app` routes and what they return), `intercept`, `events`, `auth`,
//! `sockjs` and `tcp` (the two transports driving a connection), `relay/`,
//! `config` and `error` (the one error-to-ERROR-frame table).
//!
//! Owns (this file): the [`Stomp`] service handle and its builder. Must not: hold protocol
//! rules or transport code (the files above do), so that everything may depend on the layer
//! below it and nothing on this one but the transports.

pub(crate) mod app;
pub(crate) mod auth;
pub(crate) mod broker;
pub(crate) mod command;
pub(crate) mod config;
pub(crate) mod connection;
pub mod decode;
pub(crate) mod destination;
pub(crate) mod error;
pub(crate) mod events;
pub mod frame;
pub mod headers;
pub(crate) mod heartbeat;
pub(crate) mod history;
pub(crate) mod intercept;
pub(crate) mod live;
pub(crate) mod message;
pub(crate) mod online;
pub(crate) mod presence;
pub(crate) mod relay;
pub(crate) mod reply;
mod shared;
pub(crate) mod sockjs;
pub(crate) mod tcp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::identity::Identify;
use intercept::Hooks;

pub(crate) use app::Router;
pub use app::{AppContext, AppError, AppMessage};
pub use auth::{
    Action, AllowAll, AuthError, Authenticator, Authorizer, Credentials, Principal, Users,
};
pub use broker::BrokerLimits;

pub use config::{CsrfPolicy, HistoryConfig, StompConfig, StompConfigError};
pub(crate) use connection::Connection;
pub use destination::DestinationError;
pub use error::StompError;
pub use events::Event;
pub use frame::{Command, Frame, Version};
pub use history::{HistoryMessage, HistoryPage};
pub use intercept::{Inbound, InterceptContext, Interceptor, Outbound};
pub(crate) use message::Outlet;
pub use online::{OnlineSession, OnlineSubscription, OnlineUser, UserRegistry};
pub use presence::{PRESENCE_PREFIX, Presence, PresenceUser};
pub(crate) use relay::Relay;
pub use relay::{RelayConfig, RelayError};
pub use reply::{IntoReply, Reply};
use shared::Shared;

/// WebSocket subprotocols for STOMP, newest first (the names STOMP-over-WebSocket clients
/// offer: stompjs, RabbitMQ Web-STOMP).
pub const WEBSOCKET_PROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// A STOMP service: config, broker, handlers and auth. Cheap to clone; mount it on SockJS
/// with [`Stomp::mount`] and serve TCP with [`Stomp::serve_tcp`] (same broker for both).
#[derive(Clone)]
pub struct Stomp(Arc<Shared>);

impl std::fmt::Debug for Stomp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stomp")
            .field("config", &self.0.config)
            .field("router", &self.0.router)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Stomp`] service.
pub struct StompBuilder {
    config: StompConfig,
    router: Router,
    authenticator: Box<dyn Authenticator>,
    authorizer: Box<dyn Authorizer>,
    identify: Option<Arc<dyn Identify>>,
    hooks: Hooks,
}

impl StompBuilder {
    /// Takes the principal of a SockJS session from the HTTP request that opened it (a
    /// login cookie, `Authorization: Basic`/`Bearer`, an `access_token` parameter: see
    /// [`crate::identity`]), as Spring's handshake handler takes the web login's user. Such a
    /// session's CONNECT needs no credentials (they are not read), and must carry the
    /// `X-CSRF-TOKEN` header when the identity came from a cookie
    /// ([`StompConfig::csrf`]). Requests that are nobody still connect through the
    /// [`Authenticator`]; a refused request gets 401/403. TCP connections have no HTTP
    /// request and always use the authenticator.
    #[must_use]
    pub fn identify(mut self, identify: impl Identify) -> Self {
        self.identify = Some(Arc::new(identify));
        self
    }

    /// [`StompBuilder::identify`] with a shared `identify` (e.g. the
    /// [`Logins`](crate::identity::Logins) the login form writes to).
    #[must_use]
    pub fn identify_shared(mut self, identify: Arc<dyn Identify>) -> Self {
        self.identify = Some(identify);
        self
    }

    /// Registers an application handler for `pattern`, relative to the application prefix
    /// (`/chat/{room}` serves SENDs to `/app/chat/lobby`). The pattern is split on the
    /// config's [`path_separator`](StompConfig::path_separator): with `.`, `chat.{room}`
    /// (or `/chat.{room}`) serves `/app/chat.lobby`. `{name}` captures one segment, `*`
    /// matches one, `**` any number (Spring's `AntPathMatcher`, whole segments only).
    ///
    /// What the handler returns ([`IntoReply`]) is sent on (Spring's `@MessageMapping`
    /// return value): nothing for `()`; text or bytes to `/topic` + the path after the
    /// prefix (`/app/greet` -> `/topic/greet`, `/app/chat.x` -> `/topic/chat.x`); a
    /// [`Reply`] where it says ([`Reply::to`] as `@SendTo`, [`Reply::to_user`] as
    /// `@SendToUser`). An [`AppError`], like a SEND to an `/app` destination no route
    /// serves, goes as a MESSAGE (`message` header, the error as body) to the sender's own
    /// `/user{error_destination}` ([`StompConfig::error_destination`], Spring's
    /// `@MessageExceptionHandler` with `@SendToUser("/queue/errors")`) and the connection
    /// stays open; with no error destination, the sender gets an ERROR and is disconnected.
    /// A receipt the SEND asked for is sent either way, after the reply.
    ///
    /// A handler that only ever fails needs its `Ok` type named: `Err::<(), _>(...)`.
    #[must_use]
    pub fn route<F, R>(mut self, pattern: &str, handler: F) -> Self
    where
        F: Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<R, AppError> + Send + Sync + 'static,
        R: IntoReply,
    {
        self.router.route(pattern, handler);
        self
    }

    /// Registers a subscribe route (Spring's `@SubscribeMapping`): a SUBSCRIBE to an `/app`
    /// destination `pattern` matches is answered once, by the handler, directly to that
    /// subscription (a MESSAGE with its `subscription` id and the subscribed `destination`),
    /// unless the [`Reply`] names another destination; no broker subscription is made. A
    /// later UNSUBSCRIBE of that id is accepted and does nothing; until then the id counts
    /// towards [`StompConfig::max_subscriptions`]. Errors go as for [`StompBuilder::route`].
    /// A SUBSCRIBE to an `/app` destination no subscribe route serves is refused (ERROR,
    /// then close), as before.
    #[must_use]
    pub fn subscribe_route<F, R>(mut self, pattern: &str, handler: F) -> Self
    where
        F: Fn(&AppMessage<'_>, &AppContext<'_>) -> Result<R, AppError> + Send + Sync + 'static,
        R: IntoReply,
    {
        self.router.subscribe_route(pattern, handler);
        self
    }

    /// Adds an [`Interceptor`] of every connection's inbound and outbound frames (Spring's
    /// `ChannelInterceptor`); interceptors run in the order added.
    #[must_use]
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.hooks.interceptors.push(Box::new(interceptor));
        self
    }

    /// Adds a listener of sessions' lifecycle [`Event`]s (Spring's `Session*Event`s);
    /// listeners are called in the order added, synchronously on the connection's task or
    /// session actor, so they must not block. See [`Event`] for the order of events.
    #[must_use]
    pub fn on_event(mut self, listener: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.hooks.listeners.add(Box::new(listener));
        self
    }

    /// Sets the authenticator (default: an empty [`Users`] table, so anonymous only).
    #[must_use]
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Box::new(authenticator);
        self
    }

    /// Sets the authorizer (default: [`AllowAll`]).
    #[must_use]
    pub fn authorizer(mut self, authorizer: impl Authorizer) -> Self {
        self.authorizer = Box::new(authorizer);
        self
    }

    /// The service, with its broker (or relay) ready; no connection is served until it is
    /// mounted ([`Stomp::mount`]) or given a listener ([`Stomp::serve_tcp`]).
    ///
    /// # Errors
    /// [`StompConfigError`] if the configuration cannot work.
    pub fn build(self) -> Result<Stomp, StompConfigError> {
        self.config.validate()?;
        let mut shared = Shared::new(
            self.config,
            self.router,
            self.authenticator,
            self.authorizer,
        );
        shared.identify = self.identify;
        let mut hooks = self.hooks;
        presence::install(&mut shared, &mut hooks);
        shared.hooks = Arc::new(hooks);
        Ok(Stomp(Arc::new(shared)))
    }
}

impl Stomp {
    /// A builder starting from `config`.
    pub fn builder(config: StompConfig) -> StompBuilder {
        StompBuilder {
            router: Router::new(config.path_separator),
            config,
            authenticator: Box::new(Users::new()),
            authorizer: Box::new(AllowAll),
            identify: None,
            hooks: Hooks::default(),
        }
    }

    /// The service's configuration.
    pub fn config(&self) -> &StompConfig {
        &self.0.config
    }

    /// A new connection writing to `outlet`, opened at `now` (what transports call).
    pub fn connection(
        &self,
        outlet: Arc<dyn Outlet>,
        peer: Option<SocketAddr>,
        now: Instant,
    ) -> Connection {
        self.start();
        let serial = self.0.next_serial();
        Connection::new(Arc::clone(&self.0), outlet, serial, peer, now)
    }

    /// The broker relay, when configured.
    pub fn relay(&self) -> Option<&Relay> {
        self.0.relay.as_ref()
    }

    /// Starts what runs in the background (the relay's system connection) on the current
    /// tokio runtime; also done by the first connection. A no-op without a relay.
    pub fn start(&self) {
        if let Some(relay) = &self.0.relay {
            relay.start();
        }
    }

    /// Publishes from the server side to `/topic/...`, `/queue/...` or `/user/{name}/...`.
    ///
    /// # Errors
    /// [`DestinationError`] for other destinations.
    pub fn publish(
        &self,
        destination: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Bytes>,
    ) -> Result<(), DestinationError> {
        let system = Principal {
            name: String::new(),
            anonymous: false,
        };
        // Serial 0 is never a connection's: a reply from here reaches nobody.
        AppContext::new(&self.0.broker, 0, &system)
            .relayed(self.0.relay.as_ref())
            .publish(destination, headers, body)
    }

    /// Who is online (Spring's `SimpUserRegistry`): users, their sessions and
    /// subscriptions, and subscriber counts, each read when asked. With the broker relay,
    /// users and sessions span every node but subscriptions are this node's only (see
    /// [`UserRegistry`]).
    pub fn registry(&self) -> UserRegistry<'_> {
        UserRegistry::new(&self.0)
    }

    /// The last `limit` retained messages of `destination` with its epoch and last offset
    /// (docs/stomp.md, "History and recovery"), from this node's in-memory history: `None`
    /// when history is off, `destination` is not under a [`HistoryConfig::prefixes`] prefix
    /// or has no known stream, and always with the broker relay (the history is then
    /// RabbitMQ's streams, which this node does not read for the API).
    pub fn history(&self, destination: &str, limit: usize) -> Option<HistoryPage> {
        if self.0.relay.is_some() {
            return None;
        }
        self.0.broker.history(destination, limit)
    }

    /// Who is subscribed to `destination` now: its users with their session counts, and the
    /// sessions in all (docs/stomp.md, "Presence"). Only for destinations under a
    /// [`StompConfig::presence`] prefix (not wildcards); for others `tracked` is false and
    /// nobody is listed. With the broker relay, other nodes' sessions count as last
    /// announced (their changes as they happen, their whole part every
    /// `registry_interval`; a silent node is dropped after three).
    pub fn presence(&self, destination: &str) -> Presence {
        match &self.0.presence {
            Some(hub) => hub.presence(destination),
            None => Presence {
                destination: destination.to_owned(),
                ..Presence::default()
            },
        }
    }
}
