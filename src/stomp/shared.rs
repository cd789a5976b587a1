//! What every connection of one STOMP service shares: its configuration, the in-memory
//! broker, the relay when configured, the `/app` router, the auth seams, and the source of
//! connection serials. Built once by [`StompBuilder::build`](super::StompBuilder::build),
//! held by [`Stomp`](super::Stomp) and by each connection.
//!
//! Owns: the shared parts and their construction. Must not: know about connections or
//! transports (they depend on it, never the other way).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::identity::Identify;

use super::app::Router;
use super::auth::{Authenticator, Authorizer};
use super::broker::{Broker, BrokerLimits};
use super::config::StompConfig;
use super::intercept::Hooks;
use super::live::Live;
use super::presence::Hub;
use super::relay::Relay;

/// What every connection of a service shares.
pub(crate) struct Shared {
    pub(crate) config: StompConfig,
    pub(crate) broker: Broker,
    pub(crate) relay: Option<Relay>,
    pub(crate) router: Router,
    pub(crate) authenticator: Box<dyn Authenticator>,
    pub(crate) authorizer: Box<dyn Authorizer>,
    /// Who a SockJS session's opening request was, when the application says how
    /// ([`StompBuilder::identify`](super::StompBuilder::identify)).
    pub(crate) identify: Option<Arc<dyn Identify>>,
    /// Interceptors and event listeners ([`StompBuilder::interceptor`](super::StompBuilder::interceptor),
    /// [`StompBuilder::on_event`](super::StompBuilder::on_event)).
    pub(crate) hooks: Arc<Hooks>,
    /// This node's connected connections, for server-side disconnects.
    pub(crate) live: Live,
    /// Presence, when [`StompConfig::presence`] names prefixes.
    pub(crate) presence: Option<Arc<Hub>>,
    next_serial: AtomicU64,
}

impl Shared {
    /// The parts of a service with a validated `config`: its broker bounded by the config's
    /// limits, and its relay if one is configured.
    pub(crate) fn new(
        config: StompConfig,
        router: Router,
        authenticator: Box<dyn Authenticator>,
        authorizer: Box<dyn Authorizer>,
    ) -> Self {
        let limits = BrokerLimits {
            max_subscriptions: config.max_subscriptions,
            max_queue_messages: config.max_queue_messages,
            max_unacked: config.max_unacked,
        };
        let relay = (config.relay.clone()).map(|r| Relay::new(r, config.limits));
        let broker = Broker::new(limits).with_history(config.history.as_ref());
        Shared {
            config,
            broker,
            relay,
            router,
            authenticator,
            authorizer,
            identify: None,
            hooks: Arc::default(),
            live: Live::default(),
            presence: None,
            next_serial: AtomicU64::new(1),
        }
    }

    /// A connection serial not given before (its broker id; 0 is never one).
    pub(crate) fn next_serial(&self) -> u64 {
        self.next_serial.fetch_add(1, Ordering::Relaxed)
    }
}
