//! Who is online (Spring's `SimpUserRegistry`): a read-only view of a service's users, their
//! sessions and each session's subscriptions, copied out of the broker's state (or, with the
//! broker relay, the relay's user registry) under its lock at each call.
//!
//! What each mode knows:
//! - in-memory broker: every connected session of this service (SockJS and TCP), with every
//!   subscription it holds; counts are exact at the moment of the call.
//! - broker relay: users and sessions of every node (this node's as they are, other nodes'
//!   as last announced on the registry topic, within its expiry), but subscriptions only of
//!   this node's sessions, as relayed (a SUBSCRIBE the broker then refuses shows until the
//!   broker closes the session); other nodes' sessions list none and
//!   [`UserRegistry::subscriber_count`] counts this node's subscribers only.
//!
//! Owns: the public view and its types. Must not: hold state of its own or keep a lock
//! beyond one call.

use std::collections::BTreeMap;

use super::shared::Shared;

/// A read-only view of who is online, from [`Stomp::registry`](super::Stomp::registry).
/// Every method takes a fresh copy: two calls may see different moments.
#[derive(Clone, Copy)]
pub struct UserRegistry<'a> {
    shared: &'a Shared,
}

impl std::fmt::Debug for UserRegistry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRegistry")
            .field("relay", &self.shared.relay.is_some())
            .finish()
    }
}

/// A user with at least one session open (anonymous connections are users too, named
/// `anonymous-{serial}`, or `anonymous-{node}-{serial}` through the relay).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineUser {
    /// The principal's name.
    pub name: String,
    /// Its sessions, by id.
    pub sessions: Vec<OnlineSession>,
}

/// One STOMP session (one connection) of a user.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineSession {
    /// The session id: the CONNECTED frame's `session` header with the in-memory broker,
    /// the relay's broker session id (`{node}s{serial}`) with the relay.
    pub id: String,
    /// The connection serial, for sessions of this node; `None` for another node's.
    pub serial: Option<u64>,
    /// Its subscriptions, by id (none listed for another node's sessions).
    pub subscriptions: Vec<OnlineSubscription>,
}

/// One subscription of a session.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineSubscription {
    /// The SUBSCRIBE's `id`.
    pub id: String,
    /// The destination as the client asked for it (`/topic/chat.*`, `/user/queue/x`).
    pub destination: String,
}

impl<'a> UserRegistry<'a> {
    pub(crate) fn new(shared: &'a Shared) -> Self {
        UserRegistry { shared }
    }

    /// Every online user, by name.
    pub fn users(&self) -> Vec<OnlineUser> {
        self.online(None)
    }

    /// User `name`, if it has a session open.
    pub fn user(&self, name: &str) -> Option<OnlineUser> {
        self.online(Some(name)).pop()
    }

    /// How many users have a session open.
    pub fn user_count(&self) -> usize {
        match &self.shared.relay {
            Some(relay) => relay.user_count(),
            None => self.shared.broker.user_count(),
        }
    }

    /// How many subscriptions a message published to `destination` reaches: those to
    /// `destination` itself and, for a `/topic/` destination, the wildcard ones whose pattern
    /// matches it (they receive it). One per subscription: a session subscribed twice counts
    /// twice (it gets the message twice). A `/queue/`'s subscribers compete: each message
    /// goes to one of them. With the broker relay: this node's subscriptions only.
    pub fn subscriber_count(&self, destination: &str) -> usize {
        match &self.shared.relay {
            Some(relay) => relay.subscriber_count(destination),
            None => self.shared.broker.subscriber_count(destination),
        }
    }

    fn online(&self, only: Option<&str>) -> Vec<OnlineUser> {
        let sessions = match &self.shared.relay {
            Some(relay) => relay.online(only),
            None => self.shared.broker.online(only),
        };
        group(sessions)
    }
}

/// `(user, session)` pairs as users by name, each with its sessions (this node's by serial,
/// then other nodes' by id) and their subscriptions by id.
pub(crate) fn group(sessions: Vec<(String, OnlineSession)>) -> Vec<OnlineUser> {
    let mut users: BTreeMap<String, Vec<OnlineSession>> = BTreeMap::new();
    for (user, mut session) in sessions {
        session.subscriptions.sort_by(|a, b| a.id.cmp(&b.id));
        users.entry(user).or_default().push(session);
    }
    users
        .into_iter()
        .map(|(name, mut sessions)| {
            sessions.sort_by_key(|s| (s.serial.is_none(), s.serial, s.id.clone()));
            OnlineUser { name, sessions }
        })
        .collect()
}

impl OnlineSession {
    pub(crate) fn new(
        id: String,
        serial: Option<u64>,
        subscriptions: Vec<(String, String)>,
    ) -> Self {
        let subscriptions = subscriptions
            .into_iter()
            .map(|(id, destination)| OnlineSubscription { id, destination })
            .collect();
        OnlineSession {
            id,
            serial,
            subscriptions,
        }
    }
}
