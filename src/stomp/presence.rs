//! Presence (opt-in per destination prefix, [`StompConfig::presence`](super::StompConfig)):
//! who is subscribed to a destination now, and join/leave events for those who ask.
//!
//! - A destination is tracked when it starts with one of the prefixes and is not a topic
//!   wildcard (`/topic/chat.*` receives from many destinations: it is presence on none).
//! - A user is present on it while at least one of its sessions holds at least one
//!   subscription to it: it joins with its first, leaves with the end of its last
//!   (UNSUBSCRIBE, DISCONNECT, an ERROR close or the transport going away). A second tab of
//!   the same user is a second session, not a second join.
//! - SUBSCRIBE `/presence{destination}` (e.g. `/presence/topic/chat.lobby`) is answered on
//!   this node, with or without the relay (no broker subscription): first one MESSAGE
//!   `presence:snapshot` (JSON: the users with their session counts), then one MESSAGE
//!   `presence:join` or `presence:leave` (`user` header; JSON with counts) per change.
//! - With the broker relay, each node announces its own part on the relay's presence topic
//!   ([`RelayConfig::presence_topic`](super::RelayConfig)): every change at once, its whole
//!   part every `registry_interval` and when its system connection (re)connects. Each node
//!   merges the others' parts as last heard; a node not heard of for three intervals is
//!   forgotten (its users leave). Joins and leaves are cluster-wide as this node knows them.
//!
//! Counting is done by [`state`] (pure); this file tracks it from the lifecycle events, holds
//! the watchers and writes their frames. Owns: presence and its wire format. Must not: block
//! (it runs on connection tasks and the relay's system task), or touch the broker.

mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::destination::topic_wildcard;
use super::events::Event;
use super::frame::Version;
use super::headers::{CONTENT_TYPE, PRESENCE, USER};
use super::intercept::Hooks;
use super::message::{Outlet, Published};
use super::relay::Relay;
use super::shared::Shared;
use state::{Kind, Outcome, Part, State};

/// The prefix of presence destinations: SUBSCRIBE `/presence/topic/chat.lobby` watches
/// `/topic/chat.lobby`.
pub const PRESENCE_PREFIX: &str = "/presence";
/// The `presence` header of the first MESSAGE of a presence subscription.
pub const SNAPSHOT: &str = "snapshot";
/// The `presence` header of a join.
pub const JOIN: &str = "join";
/// The `presence` header of a leave.
pub const LEAVE: &str = "leave";
/// The content type of presence MESSAGEs and of the nodes' announcements.
const JSON: &str = "application/json";

/// Who is subscribed to a destination now, from [`Stomp::presence`](super::Stomp::presence).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presence {
    /// The destination asked about.
    pub destination: String,
    /// Whether presence is tracked there (under a [`StompConfig::presence`](super::StompConfig)
    /// prefix, not a wildcard); if not, nobody is listed.
    pub tracked: bool,
    /// The users present, by name, with their session counts.
    pub users: Vec<PresenceUser>,
    /// Sessions present, over all users.
    pub sessions: usize,
}

/// A user present on a destination.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresenceUser {
    /// The principal's name.
    #[serde(rename = "user")]
    pub name: String,
    /// Its sessions with a subscription to the destination (all nodes known).
    pub sessions: usize,
}

impl Presence {
    /// How many users are present.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// User `name`, if present.
    pub fn user(&self, name: &str) -> Option<&PresenceUser> {
        self.users.iter().find(|u| u.name == name)
    }
}

/// What the nodes tell each other on the presence topic (unknown kinds are ignored, so a
/// newer node may add some).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Announcement {
    /// A node's whole part; `hello`: it just (re)connected and wants the others' parts now.
    Part {
        node: String,
        part: Part,
        #[serde(default)]
        hello: bool,
    },
    /// One count of a node changed.
    Change {
        node: String,
        destination: String,
        user: String,
        sessions: usize,
    },
}

/// A presence subscription of a connection.
struct Watcher {
    serial: u64,
    id: String,
    outlet: Arc<dyn Outlet>,
    version: Version,
}

/// The counts and the watchers, under one lock so that a snapshot and the events after it
/// reach a watcher in order.
struct Inner {
    state: State,
    /// Tracked destination -> its watchers.
    watchers: HashMap<String, Vec<Watcher>>,
}

/// The presence of one service.
pub(crate) struct Hub {
    prefixes: Vec<String>,
    node: String,
    inner: Mutex<Inner>,
    next_message: AtomicU64,
}

impl Hub {
    /// Presence on destinations under `prefixes`, for node `node` (empty without the relay);
    /// other nodes are forgotten after `expiry` without news.
    pub(crate) fn new(prefixes: Vec<String>, node: String, expiry: Duration) -> Self {
        Hub {
            prefixes,
            inner: Mutex::new(Inner {
                state: State::new(node.clone(), expiry),
                watchers: HashMap::new(),
            }),
            node,
            next_message: AtomicU64::new(1),
        }
    }

    /// Whether presence is tracked on `destination`.
    pub(crate) fn tracks(&self, destination: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| destination.starts_with(p.as_str()))
            && topic_wildcard(destination).is_none()
            && watched(destination).is_none()
    }

    /// Who is on `destination` now.
    pub(crate) fn presence(&self, destination: &str) -> Presence {
        let tracked = self.tracks(destination);
        let users = match tracked {
            true => self.inner.lock().state.users(destination),
            false => BTreeMap::new(),
        };
        presence(destination, tracked, users)
    }

    /// Connection `serial` subscribed `id` to the presence of tracked `destination`: it gets
    /// the snapshot now and every join and leave after it.
    pub(crate) fn watch(
        &self,
        serial: u64,
        id: &str,
        outlet: Arc<dyn Outlet>,
        version: Version,
        destination: &str,
    ) {
        let mut inner = self.inner.lock();
        let now = presence(destination, true, inner.state.users(destination));
        let body = serde_json::json!({
            "destination": destination,
            "users": now.users,
            "user_count": now.user_count(),
            "session_count": now.sessions,
        });
        let headers = vec![(PRESENCE.to_owned(), SNAPSHOT.to_owned())];
        let message = self.message(destination, headers, &body);
        outlet.send(message.wire(version, id, false));
        let watcher = Watcher {
            serial,
            id: id.to_owned(),
            outlet,
            version,
        };
        inner
            .watchers
            .entry(destination.to_owned())
            .or_default()
            .push(watcher);
    }

    /// A lifecycle event: counts, watchers, and (with `relay`) this node's changes announced.
    pub(crate) fn on_event(&self, event: &Event, relay: Option<&Relay>) {
        let mut inner = self.inner.lock();
        let outcome = match event {
            Event::Subscribed {
                serial,
                user,
                id,
                destination,
            } if self.tracks(destination) => inner.state.subscribe(*serial, user, id, destination),
            Event::Unsubscribed { serial, id, .. } => {
                inner.unwatch(|w| w.serial == *serial && w.id == *id);
                inner.state.unsubscribe(*serial, id)
            }
            Event::Disconnected { serial, .. } => {
                inner.unwatch(|w| w.serial == *serial);
                inner.state.disconnect(*serial)
            }
            _ => return,
        };
        if let Some(relay) = relay {
            for local in &outcome.local {
                let change = Announcement::Change {
                    node: self.node.clone(),
                    destination: local.destination.clone(),
                    user: local.user.clone(),
                    sessions: local.sessions,
                };
                announce(relay, &change);
            }
        }
        self.notify(&inner, &outcome);
    }

    /// An announcement from the presence topic, received at `now`; true if its node asks
    /// for this node's part.
    pub(crate) fn on_announcement(&self, body: &[u8], now: Instant) -> bool {
        let announcement = match serde_json::from_slice::<Announcement>(body) {
            Ok(a) => a,
            Err(e) => {
                log::debug!("stomp presence: an announcement ignored: {e}");
                return false;
            }
        };
        let mut inner = self.inner.lock();
        let (outcome, hello) = match announcement {
            Announcement::Part { node, part, hello } => {
                let part = part.into_iter().filter(|(d, _)| self.tracks(d)).collect();
                (
                    inner.state.remote_part(&node, part, now),
                    hello && node != self.node,
                )
            }
            Announcement::Change {
                node,
                destination,
                user,
                sessions,
            } if self.tracks(&destination) => {
                let outcome = inner
                    .state
                    .remote_change(&node, &destination, &user, sessions, now);
                (outcome, false)
            }
            Announcement::Change { .. } => return false,
        };
        self.notify(&inner, &outcome);
        hello
    }

    /// This node's whole part, given to `send` under the lock (so that no change announced
    /// after it can overtake it).
    pub(crate) fn announce_part(&self, hello: bool, send: impl FnOnce(Bytes)) {
        let inner = self.inner.lock();
        let part = Announcement::Part {
            node: self.node.clone(),
            part: inner.state.part(),
            hello,
        };
        if let Ok(body) = serde_json::to_vec(&part) {
            send(body.into());
        }
    }

    /// Forgets the nodes not heard of in time (their users leave).
    pub(crate) fn expire(&self, now: Instant) {
        let mut inner = self.inner.lock();
        let outcome = inner.state.expire(now);
        self.notify(&inner, &outcome);
    }

    /// Tells the watchers of each destination a join or leave happened on.
    fn notify(&self, inner: &Inner, outcome: &Outcome) {
        for t in &outcome.transitions {
            let Some(watchers) = inner.watchers.get(&t.destination) else {
                continue;
            };
            let now = presence(&t.destination, true, inner.state.users(&t.destination));
            let kind = match t.kind {
                Kind::Join => JOIN,
                Kind::Leave => LEAVE,
            };
            let body = serde_json::json!({
                "destination": t.destination,
                "event": kind,
                "user": t.user,
                "sessions": t.sessions,
                "user_count": now.user_count(),
                "session_count": now.sessions,
            });
            let headers = vec![
                (PRESENCE.to_owned(), kind.to_owned()),
                (USER.to_owned(), t.user.clone()),
            ];
            let message = self.message(&t.destination, headers, &body);
            for w in watchers {
                w.outlet.send(message.wire(w.version, &w.id, false));
            }
        }
    }

    /// A presence MESSAGE for the watchers of `destination`, encoded once for all.
    fn message(
        &self,
        destination: &str,
        mut headers: Vec<(String, String)>,
        body: &serde_json::Value,
    ) -> Published {
        let id = self.next_message.fetch_add(1, Ordering::Relaxed);
        headers.push((CONTENT_TYPE.to_owned(), JSON.to_owned()));
        let body = Bytes::from(body.to_string());
        Published::new(
            format!("presence-{id}"),
            format!("{PRESENCE_PREFIX}{destination}"),
            headers,
            body,
        )
    }
}

impl Inner {
    /// Removes the watchers `which` selects.
    fn unwatch(&mut self, which: impl Fn(&Watcher) -> bool) {
        self.watchers.retain(|_, list| {
            list.retain(|w| !which(w));
            !list.is_empty()
        });
    }
}

/// Turns presence on for `shared` when its config names prefixes: a hub, its listener of the
/// lifecycle events (after the application's), and its link to the relay.
pub(crate) fn install(shared: &mut Shared, hooks: &mut Hooks) {
    if shared.config.presence.is_empty() {
        return;
    }
    let relay = shared.relay.clone();
    let (node, expiry) = match &relay {
        Some(r) => {
            let interval = r.inner().config.registry_interval;
            (r.node().to_owned(), interval.saturating_mul(3))
        }
        None => (String::new(), Duration::MAX),
    };
    let hub = Arc::new(Hub::new(shared.config.presence.clone(), node, expiry));
    if let Some(relay) = &relay {
        relay.set_presence(Arc::clone(&hub));
    }
    let listener = Arc::clone(&hub);
    hooks.listeners.add(Box::new(move |event| {
        listener.on_event(event, relay.as_ref())
    }));
    shared.presence = Some(hub);
}

/// The destination a presence destination watches (`/presence/topic/x` -> `/topic/x`).
pub(crate) fn watched(destination: &str) -> Option<&str> {
    destination
        .strip_prefix(PRESENCE_PREFIX)
        .filter(|rest| rest.starts_with('/') && rest.len() > 1)
}

fn presence(destination: &str, tracked: bool, users: BTreeMap<String, usize>) -> Presence {
    let sessions = users.values().sum();
    let users = users
        .into_iter()
        .map(|(name, sessions)| PresenceUser { name, sessions });
    Presence {
        destination: destination.to_owned(),
        tracked,
        users: users.collect(),
        sessions,
    }
}

/// Sends `announcement` on the relay's presence topic; lost while the system connection is
/// down (the part announced when it is back repairs that).
fn announce(relay: &Relay, announcement: &Announcement) {
    let Ok(body) = serde_json::to_vec(announcement) else {
        return;
    };
    if let Err(e) = relay.presence_send(body.into()) {
        log::debug!("stomp presence: a change not announced: {e}");
    }
}
