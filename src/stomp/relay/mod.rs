//! The broker relay: instead of the in-memory broker, `/topic/` and `/queue/` traffic (and
//! any other configured prefix, e.g. RabbitMQ's `/exchange/`, `/amq/queue/`) goes to an
//! external STOMP broker, so that several server nodes serve as one. The design is Spring's
//! `StompBrokerRelayMessageHandler`:
//! - one broker TCP connection per client STOMP session ([`broker_connection`]), opened on
//!   its CONNECT with the configured credentials and virtual host, closed with the session;
//!   heart-beats pass through (client and broker agree them with each other), an ignored
//!   `/app` frame is replaced by a heart-beat so the broker never sees a live client as
//!   silent;
//! - one shared "system" connection ([`system`]) for what the server itself publishes (`/app`
//!   handlers, [`crate::stomp::Stomp::publish`]) and for the user registry broadcast; it
//!   heart-beats on its own and reconnects with backoff;
//! - `/user/` destinations resolved here ([`registry`], [`route`]): `/user/queue/x` is the
//!   session's own broker queue `/queue/x-user{session}`; a SEND to `/user/{name}/queue/x`
//!   reaches every session of `name` on every node.
//!
//! Owns: the broker side of relayed connections. Must not: block, panic, forward a client's
//! own login, or queue without bound (each broker link is bounded in bytes).

pub mod broker_connection;
pub mod link;
pub mod registry;
pub mod route;
pub mod session;
pub mod stream;
pub mod system;

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::decode::{FrameError, Limits};
use super::frame::{Command, Frame, Version};
use super::headers::{CONTENT_TYPE, DESTINATION};
use super::online::OnlineSession;
use super::presence::Hub;
use link::LinkTx;
use registry::Registry;

/// The default relay prefixes (Spring's defaults for `enableStompBrokerRelay`).
pub const DEFAULT_PREFIXES: [&str; 2] = ["/topic/", "/queue/"];
/// The topic the nodes announce their users' sessions on.
pub const REGISTRY_TOPIC: &str = "/topic/sockjs-server.user-registry";
/// The topic the nodes announce their presence counts on (when presence is on).
pub const PRESENCE_TOPIC: &str = "/topic/sockjs-server.presence";

/// How to reach the broker and what to tell it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// The broker's STOMP address, `host:port`.
    pub address: String,
    /// The CONNECT `host` header (RabbitMQ: the virtual host). Default: `/`.
    pub virtual_host: String,
    /// Login and passcode of the client connections (`None`: the broker's default user).
    pub client_login: Option<(String, String)>,
    /// Login and passcode of the system connection (`None`: the broker's default user).
    pub system_login: Option<(String, String)>,
    /// The system connection's `heart-beat` in milliseconds. Default: 10 000, 10 000.
    pub system_heart_beat: (u64, u64),
    /// Destinations relayed to the broker. Default: `/topic/`, `/queue/`.
    pub prefixes: Vec<String>,
    /// Where the nodes announce their users' sessions. Default: `/topic/sockjs-server.user-registry`.
    pub registry_topic: String,
    /// How often this node announces its users' sessions (and on every change); another
    /// node's announcement is forgotten after three of these. Default: 5 s.
    pub registry_interval: Duration,
    /// Where the nodes announce their presence counts (used only when
    /// [`StompConfig::presence`](crate::stomp::StompConfig) names prefixes). Default:
    /// `/topic/sockjs-server.presence`.
    pub presence_topic: String,
    /// First and longest pause between two system connection attempts. Default: 0.5 s, 5 s.
    pub reconnect: (Duration, Duration),
    /// Time to open a broker connection and get CONNECTED. Default: 10 s.
    pub connect_timeout: Duration,
    /// Bytes queued towards the broker on one connection; past it the client gets an
    /// ERROR and is closed (a slow broker). Default: 1 MiB.
    pub max_buffered_bytes: usize,
}

setters!(RelayConfig {
    address: String,
    virtual_host: String,
    client_login: Option<(String, String)>,
    system_login: Option<(String, String)>,
    system_heart_beat: (u64, u64),
    prefixes: Vec<String>,
    registry_topic: String,
    registry_interval: Duration,
    presence_topic: String,
    reconnect: (Duration, Duration),
    connect_timeout: Duration,
    max_buffered_bytes: usize,
});

impl RelayConfig {
    /// A relay to `address` with every other field at its default.
    pub fn to(address: impl Into<String>) -> Self {
        RelayConfig {
            address: address.into(),
            virtual_host: "/".to_owned(),
            client_login: None,
            system_login: None,
            system_heart_beat: (10_000, 10_000),
            prefixes: DEFAULT_PREFIXES.map(str::to_owned).to_vec(),
            registry_topic: REGISTRY_TOPIC.to_owned(),
            registry_interval: Duration::from_secs(5),
            presence_topic: PRESENCE_TOPIC.to_owned(),
            reconnect: (Duration::from_millis(500), Duration::from_secs(5)),
            connect_timeout: Duration::from_secs(10),
            max_buffered_bytes: 1024 * 1024,
        }
    }

    /// The first thing wrong with it, if any.
    pub fn problem(&self) -> Option<String> {
        if self.address.is_empty() {
            return Some("relay address is empty".to_owned());
        }
        if let Some(p) = self
            .prefixes
            .iter()
            .find(|p| !p.starts_with('/') || !p.ends_with('/') || p.len() < 2)
        {
            return Some(format!("relay prefix {p:?} must be /name/"));
        }
        if self.registry_interval.is_zero() || self.connect_timeout.is_zero() {
            return Some("relay intervals must be greater than zero".to_owned());
        }
        (self.max_buffered_bytes == 0).then(|| "relay max_buffered_bytes is zero".to_owned())
    }
}

/// Why a relayed connection cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// The broker cannot be reached (or the system connection is down).
    #[error("broker not available")]
    Unavailable,
    /// The broker connection ended.
    #[error("connection to broker lost")]
    Lost,
    /// No CONNECTED, or no heart-beat, in time.
    #[error("broker timed out")]
    Timeout,
    /// The broker refused the system connection's CONNECT.
    #[error("broker refused: {0}")]
    Refused(String),
    /// More than `max_buffered_bytes` waiting to go to the broker.
    #[error("slow broker: more than {0} bytes waiting to be relayed")]
    Backlog(usize),
    /// The broker sent bytes that are not a frame.
    #[error("malformed frame from broker: {0}")]
    Frame(#[from] FrameError),
}

/// The relay of one STOMP service. Cheap to clone.
#[derive(Clone)]
pub struct Relay(Arc<Inner>);

/// What the relay's connections share.
pub(crate) struct Inner {
    pub(crate) config: RelayConfig,
    pub(crate) limits: Limits,
    node: String,
    registry: Mutex<Registry>,
    system: Mutex<Option<LinkTx>>,
    changed: Notify,
    started: AtomicBool,
    /// Presence, when on: its announcements travel on the system connection.
    presence: OnceLock<Arc<Hub>>,
    /// The last history stamp given (see [`stream`]).
    stamps: AtomicU64,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("address", &self.0.config.address)
            .field("node", &self.0.node)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay for `config`; frames from the broker are bounded by `limits`.
    pub fn new(config: RelayConfig, limits: Limits) -> Self {
        let node = node_id();
        let expiry = config.registry_interval.saturating_mul(3);
        Relay(Arc::new(Inner {
            registry: Mutex::new(Registry::new(node.clone(), expiry)),
            config,
            limits,
            node,
            system: Mutex::new(None),
            changed: Notify::new(),
            started: AtomicBool::new(false),
            presence: OnceLock::new(),
            stamps: AtomicU64::new(0),
        }))
    }

    /// Starts the system connection on the current tokio runtime (once; a no-op outside one).
    pub fn start(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if !self.0.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(system::run(Arc::clone(&self.0)));
        }
    }

    /// Whether the system connection is up.
    pub fn available(&self) -> bool {
        self.0.system.lock().is_some()
    }

    /// This node's id (a prefix of its broker session ids).
    pub fn node(&self) -> &str {
        &self.0.node
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.0
    }

    /// The broker session id of connection `serial` on this node.
    pub fn session_id(&self, serial: u64) -> String {
        format!("{}s{serial}", self.0.node)
    }

    /// Connection `serial` of `user` connected: registered and announced.
    pub(crate) fn join(&self, serial: u64, user: &str) {
        let session = self.session_id(serial);
        self.0.registry.lock().join(serial, user, &session);
        self.0.changed.notify_one();
    }

    /// Connection `serial` closed.
    pub(crate) fn leave(&self, serial: u64) {
        if self.0.registry.lock().leave(serial) {
            self.0.changed.notify_one();
        }
    }

    /// The broker session ids of `user` on every node.
    pub fn sessions_of(&self, user: &str) -> Vec<String> {
        self.0.registry.lock().sessions_of(user, now())
    }

    /// Connection `serial` relayed a SUBSCRIBE `id` to `destination` (for the user registry;
    /// not announced to the other nodes).
    pub(crate) fn subscribed(&self, serial: u64, id: &str, destination: &str) {
        self.0.registry.lock().subscribe(serial, id, destination);
    }

    /// Connection `serial` relayed an UNSUBSCRIBE `id`.
    pub(crate) fn unsubscribed(&self, serial: u64, id: &str) {
        self.0.registry.lock().unsubscribe(serial, id);
    }

    /// The subscriptions connection `serial` holds, as relayed.
    pub(crate) fn subscriptions(&self, serial: u64) -> usize {
        self.0.registry.lock().subscriptions(serial)
    }

    /// Every session on any node (or user `only`'s), for the user registry.
    pub(crate) fn online(&self, only: Option<&str>) -> Vec<(String, OnlineSession)> {
        self.0.registry.lock().online(only, now())
    }

    /// How many users have a session on any node.
    pub(crate) fn user_count(&self) -> usize {
        self.0.registry.lock().user_count(now())
    }

    /// How many of this node's subscriptions a message to `destination` reaches.
    pub(crate) fn subscriber_count(&self, destination: &str) -> usize {
        self.0.registry.lock().subscriber_count(destination)
    }

    /// Whether `destination` is relayed.
    pub fn relays(&self, destination: &str) -> bool {
        route::relayed(destination, &self.0.config.prefixes)
    }

    /// Presence is on: its announcements go through this relay (set once, before start).
    pub(crate) fn set_presence(&self, hub: Arc<Hub>) {
        let _ = self.0.presence.set(hub);
    }

    /// Sends a presence announcement on the presence topic.
    ///
    /// # Errors
    /// As [`Relay::system_send`].
    pub(crate) fn presence_send(&self, body: Bytes) -> Result<(), RelayError> {
        let frame = Frame::new(Command::Send)
            .header(DESTINATION, self.0.config.presence_topic.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        self.system_send(&frame)
    }

    /// Sends `frame` (a SEND) on the system connection.
    ///
    /// # Errors
    /// [`RelayError::Unavailable`] while it is down, [`RelayError::Backlog`] if it is full.
    pub fn system_send(&self, frame: &Frame) -> Result<(), RelayError> {
        let system = self.0.system.lock().clone();
        let system = system.ok_or(RelayError::Unavailable)?;
        // A message the server publishes to a topic is stamped like a client's (see
        // [`stream`]), so that it is a recovery point when the topic has history.
        let to_topic = frame.get(DESTINATION).is_some_and(|d| {
            d.starts_with(stream::TOPIC)
                && d != self.0.config.registry_topic
                && d != self.0.config.presence_topic
        });
        if frame.command == Command::Send && to_topic {
            let stamped = stream::stamped(frame.clone(), &self.0.stamp());
            return system.frame(&stamped, Version::V1_2);
        }
        system.frame(frame, Version::V1_2)
    }
}

impl Inner {
    /// A stamp no other message of any stream gets: this node's id and a counter.
    pub(crate) fn stamp(&self) -> String {
        let n = self.stamps.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}-{n}", self.node)
    }

    pub(crate) fn set_system(&self, link: Option<LinkTx>) {
        *self.system.lock() = link;
    }

    pub(crate) fn snapshot(&self) -> String {
        self.registry.lock().snapshot()
    }

    pub(crate) fn apply_snapshot(&self, text: &str) {
        if let Err(e) = self.registry.lock().apply(text, now()) {
            log::debug!("stomp relay: {e}");
        }
    }

    pub(crate) fn presence(&self) -> Option<&Arc<Hub>> {
        self.presence.get()
    }

    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A node id unlikely to repeat: 8 hex digits from a random hasher, the pid and the time.
fn node_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{:08x}", h.finish() & 0xffff_ffff)
}
