//! Process-wide metrics in the Prometheus/OpenMetrics text format (`prometheus-client`), and
//! the figures of the periodic stats log. Per-mount handles are made once per mount so the
//! message path only bumps atomics.
//!
//! Must not: lock on the message path (label lookups happen on session open/close and on
//! rejections, which are rare).

use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels of per-mount, per-transport series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    mount: String,
    transport: String,
}

/// Labels of per-mount series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MountLabels {
    mount: String,
}

/// Labels of close counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CloseLabels {
    mount: String,
    code: String,
}

/// Labels of STOMP frame counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StompLabels {
    command: String,
}

/// Labels of STOMP lifecycle event counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

/// Labels of rejection counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    mount: String,
    limit: String,
}

/// A limit that refused something, as counted in `sockjs_rejected_total{limit}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A send body over `max_message_bytes` (413).
    BodyTooLarge,
    /// A WebSocket message over `max_message_bytes` (close 1009).
    MessageTooBig,
    /// A new session past `max_sessions`.
    MaxSessions,
    /// A new session past `max_sessions_per_client`.
    MaxSessionsPerClient,
    /// A session whose backlog passed `max_buffered_bytes` (close 4500).
    SendBuffer,
    /// A request from an origin not in `allowed_origins` (403).
    Origin,
    /// A request for a session bound to another client (404).
    Binding,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Limit::BodyTooLarge => "max_message_bytes_body",
            Limit::MessageTooBig => "max_message_bytes_websocket",
            Limit::MaxSessions => "max_sessions",
            Limit::MaxSessionsPerClient => "max_sessions_per_client",
            Limit::SendBuffer => "max_buffered_bytes",
            Limit::Origin => "allowed_origins",
            Limit::Binding => "session_binding",
        }
    }
}

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    sessions: Family<TransportLabels, Gauge>,
    opened: Family<TransportLabels, Counter>,
    closed: Family<CloseLabels, Counter>,
    messages_in: Family<MountLabels, Counter>,
    messages_out: Family<MountLabels, Counter>,
    bytes_in: Family<MountLabels, Counter>,
    bytes_out: Family<MountLabels, Counter>,
    rejected: Family<LimitLabels, Counter>,
    stomp_frames: Family<StompLabels, Counter>,
    stomp_subscriptions: Gauge,
    stomp_events: Family<EventLabels, Counter>,
    rss: Gauge,
    fds: Gauge,
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            sessions: Family::default(),
            opened: Family::default(),
            closed: Family::default(),
            messages_in: Family::default(),
            messages_out: Family::default(),
            bytes_in: Family::default(),
            bytes_out: Family::default(),
            rejected: Family::default(),
            stomp_frames: Family::default(),
            stomp_subscriptions: Gauge::default(),
            stomp_events: Family::default(),
            rss: Gauge::default(),
            fds: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "sockjs_sessions",
            "Sessions open now, by mount and opening transport",
            m.sessions.clone(),
        );
        registry.register(
            "sockjs_sessions_opened",
            "Sessions opened",
            m.opened.clone(),
        );
        registry.register(
            "sockjs_sessions_closed",
            "Sessions closed, by close code",
            m.closed.clone(),
        );
        registry.register(
            "sockjs_messages_in",
            "Messages received from clients",
            m.messages_in.clone(),
        );
        registry.register(
            "sockjs_messages_out",
            "Messages queued for clients",
            m.messages_out.clone(),
        );
        registry.register(
            "sockjs_bytes_in",
            "Message bytes received from clients",
            m.bytes_in.clone(),
        );
        registry.register(
            "sockjs_bytes_out",
            "Bytes written to receivers, framing included",
            m.bytes_out.clone(),
        );
        registry.register(
            "sockjs_rejected",
            "Requests, messages or sessions refused by a limit",
            m.rejected.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the process",
            m.rss.clone(),
        );
        registry.register(
            "process_open_fds",
            "Open file descriptors of the process",
            m.fds.clone(),
        );
        registry.register(
            "stomp_frames",
            "STOMP frames received from clients, by command",
            m.stomp_frames.clone(),
        );
        registry.register(
            "stomp_events",
            "STOMP session lifecycle events (connected, subscribed, unsubscribed, disconnected)",
            m.stomp_events.clone(),
        );
        registry.register(
            "stomp_subscriptions",
            "STOMP subscriptions held now (in-memory broker)",
            m.stomp_subscriptions.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The handles of one mount.
    pub fn mount(&'static self, prefix: &str) -> MountMetrics {
        let mount = if prefix.is_empty() {
            "/".to_owned()
        } else {
            prefix.to_owned()
        };
        let labels = MountLabels {
            mount: mount.clone(),
        };
        MountMetrics(Arc::new(MountHandles {
            messages_in: self.messages_in.get_or_create(&labels).clone(),
            messages_out: self.messages_out.get_or_create(&labels).clone(),
            bytes_in: self.bytes_in.get_or_create(&labels).clone(),
            bytes_out: self.bytes_out.get_or_create(&labels).clone(),
            mount,
            metrics: self,
        }))
    }

    /// A STOMP frame `command` arrived from a client.
    pub fn stomp_frame(&self, command: &str) {
        let labels = StompLabels {
            command: command.to_owned(),
        };
        self.stomp_frames.get_or_create(&labels).inc();
    }

    /// A STOMP lifecycle event (`connected`, `subscribed`, `unsubscribed`, `disconnected`).
    pub fn stomp_event(&self, event: &'static str) {
        self.stomp_events
            .get_or_create(&EventLabels { event })
            .inc();
    }

    /// STOMP subscriptions were added (positive) or ended (negative).
    pub fn stomp_subscriptions(&self, delta: i64) {
        self.stomp_subscriptions.inc_by(delta);
    }

    /// The exposition text, with the process figures read now.
    pub fn encode(&self) -> String {
        if let Some(rss) = process_rss_bytes() {
            self.rss.set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        if let Some(fds) = process_open_fds() {
            self.fds.set(i64::try_from(fds).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// One mount's metric handles, shared: every session and socket body holds one, so a clone
/// is one reference count, not a copy of the handles and the mount's name.
#[derive(Debug, Clone)]
pub struct MountMetrics(Arc<MountHandles>);

impl std::ops::Deref for MountMetrics {
    type Target = MountHandles;

    fn deref(&self) -> &MountHandles {
        &self.0
    }
}

/// The handles behind a [`MountMetrics`].
#[derive(Debug)]
pub struct MountHandles {
    mount: String,
    metrics: &'static Metrics,
    /// Messages received.
    pub messages_in: Counter,
    /// Messages sent.
    pub messages_out: Counter,
    /// Message bytes received.
    pub bytes_in: Counter,
    /// Bytes written to receivers.
    pub bytes_out: Counter,
}

impl MountMetrics {
    fn transport(&self, transport: &str) -> TransportLabels {
        TransportLabels {
            mount: self.mount.clone(),
            transport: transport.to_owned(),
        }
    }

    /// A session opened with `transport`.
    pub fn session_started(&self, transport: &str) {
        let labels = self.transport(transport);
        self.metrics.sessions.get_or_create(&labels).inc();
        self.metrics.opened.get_or_create(&labels).inc();
    }

    /// A session that opened with `transport` is gone.
    pub fn session_stopped(&self, transport: &str) {
        self.metrics
            .sessions
            .get_or_create(&self.transport(transport))
            .dec();
    }

    /// A session closed with `code`.
    pub fn session_closed(&self, code: u16) {
        let labels = CloseLabels {
            mount: self.mount.clone(),
            code: code.to_string(),
        };
        self.metrics.closed.get_or_create(&labels).inc();
    }

    /// A limit refused something.
    pub fn rejected(&self, limit: Limit) {
        let labels = LimitLabels {
            mount: self.mount.clone(),
            limit: limit.label().to_owned(),
        };
        self.metrics.rejected.get_or_create(&labels).inc();
    }

    /// Sessions of this mount open now, by transport.
    pub fn open_sessions(&self, transport: &str) -> i64 {
        self.metrics
            .sessions
            .get_or_create(&self.transport(transport))
            .get()
    }
}

/// Resident memory from `/proc/self/statm` (Linux).
pub fn process_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Open descriptors from `/proc/self/fd` (Linux).
pub fn process_open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}
