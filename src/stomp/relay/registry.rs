//! The user registry shared by the nodes of a relay deployment, pure: this node's sessions
//! (user name and broker session id) and the last snapshot each other node announced on the
//! registry topic (Spring's `userRegistryBroadcast`). A snapshot not refreshed within the
//! expiry is forgotten, so a node that died drops out.
//!
//! This node's sessions also carry their subscriptions as relayed (for
//! [`crate::stomp::UserRegistry`]); snapshots do not: other nodes' subscriptions are unknown.
//!
//! Owns: the registry and its snapshot text (`node` line, then `session<TAB>user` lines).
//! Must not: do I/O or read a clock (`now` is passed in).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::stomp::destination::reaches;
use crate::stomp::online::OnlineSession;

/// Snapshot text that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad user registry snapshot: {0}")]
pub struct SnapshotError(pub &'static str);

/// Users' sessions on this node and, as last announced, on the others.
#[derive(Debug)]
pub struct Registry {
    node: String,
    expiry: Duration,
    local: HashMap<u64, Local>,
    /// Node -> when its snapshot came, its (session, user) entries.
    remote: HashMap<String, (Instant, Vec<(String, String)>)>,
}

/// A session of this node.
#[derive(Debug)]
struct Local {
    session: String,
    user: String,
    /// Subscription id -> destination, as relayed.
    subscriptions: HashMap<String, String>,
}

impl Registry {
    /// An empty registry for node `node`; other nodes' entries live `expiry`.
    pub fn new(node: String, expiry: Duration) -> Self {
        Registry {
            node,
            expiry,
            local: HashMap::new(),
            remote: HashMap::new(),
        }
    }

    /// Connection `serial` of `user` is broker session `session`.
    pub fn join(&mut self, serial: u64, user: &str, session: &str) {
        let local = Local {
            session: session.to_owned(),
            user: user.to_owned(),
            subscriptions: HashMap::new(),
        };
        self.local.insert(serial, local);
    }

    /// Connection `serial` relayed a SUBSCRIBE `id` to `destination`; false if it is unknown.
    pub fn subscribe(&mut self, serial: u64, id: &str, destination: &str) -> bool {
        let Some(local) = self.local.get_mut(&serial) else {
            return false;
        };
        local
            .subscriptions
            .insert(id.to_owned(), destination.to_owned());
        true
    }

    /// Connection `serial` relayed an UNSUBSCRIBE `id`.
    pub fn unsubscribe(&mut self, serial: u64, id: &str) {
        if let Some(local) = self.local.get_mut(&serial) {
            local.subscriptions.remove(id);
        }
    }

    /// The subscriptions connection `serial` holds.
    pub fn subscriptions(&self, serial: u64) -> usize {
        self.local.get(&serial).map_or(0, |l| l.subscriptions.len())
    }

    /// The other nodes' entries still within the expiry at `now`.
    fn remote(&self, now: Instant) -> impl Iterator<Item = &(String, String)> {
        self.remote
            .values()
            .filter(move |(seen, _)| now.saturating_duration_since(*seen) < self.expiry)
            .flat_map(|(_, entries)| entries)
    }

    /// Every session (or only user `only`'s) with its user: this node's with their
    /// subscriptions, other nodes' (still within the expiry at `now`) without.
    pub fn online(&self, only: Option<&str>, now: Instant) -> Vec<(String, OnlineSession)> {
        let wanted = |user: &str| only.is_none_or(|name| name == user);
        let local = self
            .local
            .iter()
            .filter(|(_, l)| wanted(&l.user))
            .map(|(serial, l)| {
                let subscriptions = l.subscriptions.iter();
                let subscriptions = subscriptions.map(|(i, d)| (i.clone(), d.clone())).collect();
                let session = OnlineSession::new(l.session.clone(), Some(*serial), subscriptions);
                (l.user.clone(), session)
            });
        let remote = self
            .remote(now)
            .filter(|(_, u)| wanted(u))
            .map(|(s, u)| (u.clone(), OnlineSession::new(s.clone(), None, Vec::new())));
        local.chain(remote).collect()
    }

    /// How many users have a session on any node (other nodes' as of `now`).
    pub fn user_count(&self, now: Instant) -> usize {
        let local = self.local.values().map(|l| l.user.as_str());
        let remote = self.remote(now).map(|(_, u)| u.as_str());
        local.chain(remote).collect::<HashSet<_>>().len()
    }

    /// How many of this node's subscriptions a message published to `destination` reaches
    /// (the same destination, or a `/topic/` wildcard matching it, as RabbitMQ routes).
    pub fn subscriber_count(&self, destination: &str) -> usize {
        let subscriptions = self.local.values().flat_map(|l| l.subscriptions.values());
        subscriptions.filter(|d| reaches(d, destination)).count()
    }

    /// Connection `serial` closed; true if it was known.
    pub fn leave(&mut self, serial: u64) -> bool {
        self.local.remove(&serial).is_some()
    }

    /// The broker session ids of `user` on every node, this one first.
    pub fn sessions_of(&self, user: &str, now: Instant) -> Vec<String> {
        let mut out: Vec<String> = self
            .local
            .values()
            .filter(|l| l.user == user)
            .map(|l| l.session.clone())
            .collect();
        out.sort();
        let remote = self.remote(now).filter(|(_, u)| u == user);
        out.extend(remote.map(|(s, _)| s.clone()));
        out
    }

    /// This node's snapshot; names with a tab or line break are left out.
    pub fn snapshot(&self) -> String {
        let mut text = format!("{}\n", self.node);
        let mut entries: Vec<_> = self.local.values().map(|l| (&l.session, &l.user)).collect();
        entries.sort();
        for (session, user) in entries {
            if !user.contains(['\t', '\n', '\r']) {
                text.push_str(&format!("{session}\t{user}\n"));
            }
        }
        text
    }

    /// Takes in another node's snapshot received at `now` (this node's own is ignored);
    /// expired nodes are dropped on the way.
    ///
    /// # Errors
    /// [`SnapshotError`] if `text` is not a snapshot.
    pub fn apply(&mut self, text: &str, now: Instant) -> Result<(), SnapshotError> {
        let mut lines = text.lines();
        let node = lines
            .next()
            .filter(|n| !n.is_empty())
            .ok_or(SnapshotError("no node line"))?;
        let entries = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split_once('\t')
                    .map(|(s, u)| (s.to_owned(), u.to_owned()))
                    .ok_or(SnapshotError("an entry without a tab"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let expiry = self.expiry;
        self.remote
            .retain(|_, (seen, _)| now.saturating_duration_since(*seen) < expiry);
        if node != self.node {
            self.remote.insert(node.to_owned(), (now, entries));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRY: Duration = Duration::from_secs(15);

    #[test]
    fn a_snapshot_from_one_node_resolves_users_on_another() {
        let t0 = Instant::now();
        let mut a = Registry::new("a".into(), EXPIRY);
        let mut b = Registry::new("b".into(), EXPIRY);
        a.join(1, "alice", "a1");
        a.join(2, "bob", "a2");
        b.join(1, "alice", "b1");
        b.apply(&a.snapshot(), t0).unwrap();
        assert_eq!(b.sessions_of("alice", t0), vec!["b1", "a1"]);
        assert_eq!(b.sessions_of("bob", t0), vec!["a2"]);
        assert!(b.sessions_of("carol", t0).is_empty());
        a.leave(2);
        b.apply(&a.snapshot(), t0).unwrap();
        assert!(b.sessions_of("bob", t0).is_empty());
    }

    #[test]
    fn own_snapshots_are_ignored_and_silent_nodes_expire() {
        let t0 = Instant::now();
        let mut a = Registry::new("a".into(), EXPIRY);
        a.join(1, "alice", "a1");
        a.apply(&a.snapshot(), t0).unwrap();
        assert_eq!(a.sessions_of("alice", t0), vec!["a1"]);
        a.apply("b\nb1\talice\n", t0).unwrap();
        assert_eq!(a.sessions_of("alice", t0).len(), 2);
        assert_eq!(a.sessions_of("alice", t0 + EXPIRY), vec!["a1"]);
    }

    #[test]
    fn malformed_snapshots_are_refused_and_odd_names_left_out() {
        let mut a = Registry::new("a".into(), EXPIRY);
        assert!(a.apply("", Instant::now()).is_err());
        assert!(a.apply("b\nno-tab\n", Instant::now()).is_err());
        a.join(1, "eve\tx", "a1");
        assert_eq!(a.snapshot(), "a\n");
        assert!(!a.leave(9));
    }

    #[test]
    fn this_nodes_subscriptions_are_tracked_and_other_nodes_sessions_listed_without() {
        let t0 = Instant::now();
        let mut a = Registry::new("a".into(), EXPIRY);
        a.join(1, "alice", "a1");
        a.join(2, "bob", "a2");
        assert!(a.subscribe(1, "s1", "/topic/chat.*"));
        assert!(a.subscribe(1, "s2", "/topic/chat.a"));
        assert!(a.subscribe(2, "s1", "/user/queue/x"));
        assert!(!a.subscribe(9, "s1", "/topic/x"), "an unknown connection");
        a.apply("b\nb1\talice\nb2\tcarol\n", t0).unwrap();
        assert_eq!(a.subscriptions(1), 2);
        assert_eq!(a.subscriber_count("/topic/chat.a"), 2, "exact and wildcard");
        assert_eq!(a.subscriber_count("/topic/chat.b"), 1);
        assert_eq!(a.subscriber_count("/user/queue/x"), 1);
        assert_eq!(a.user_count(t0), 3, "alice, bob, carol");
        let mut alice = a.online(Some("alice"), t0);
        alice.sort_by_key(|(_, s)| s.serial.is_none());
        let sessions: Vec<_> = alice
            .iter()
            .map(|(u, s)| (u.as_str(), s.id.as_str(), s.serial, s.subscriptions.len()))
            .collect();
        assert_eq!(
            sessions,
            [("alice", "a1", Some(1), 2), ("alice", "b1", None, 0)]
        );
        a.unsubscribe(1, "s2");
        assert_eq!(a.subscriber_count("/topic/chat.a"), 1);
        a.leave(1);
        assert_eq!(a.subscriber_count("/topic/chat.a"), 0);
        assert_eq!(a.user_count(t0 + EXPIRY), 1, "b expired; bob is left");
    }
}
