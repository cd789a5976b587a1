//! The user registry shared by the nodes of a relay deployment, pure: this node's sessions
//! (user name and broker session id) and the last snapshot each other node announced on the
//! registry topic (Spring's `userRegistryBroadcast`). A snapshot not refreshed within the
//! expiry is forgotten, so a node that died drops out.
//!
//! Owns: the registry and its snapshot text (`node` line, then `session<TAB>user` lines).
//! Must not: do I/O or read a clock (`now` is passed in).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Snapshot text that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad user registry snapshot: {0}")]
pub struct SnapshotError(pub &'static str);

/// Users' sessions on this node and, as last announced, on the others.
#[derive(Debug)]
pub struct Registry {
    node: String,
    expiry: Duration,
    local: HashMap<u64, (String, String)>,
    remote: HashMap<String, (Instant, Vec<(String, String)>)>,
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
        self.local
            .insert(serial, (session.to_owned(), user.to_owned()));
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
            .filter(|(_, u)| u == user)
            .map(|(s, _)| s.clone())
            .collect();
        out.sort();
        for (seen, entries) in self.remote.values() {
            if now.saturating_duration_since(*seen) < self.expiry {
                out.extend(
                    entries
                        .iter()
                        .filter(|(_, u)| u == user)
                        .map(|(s, _)| s.clone()),
                );
            }
        }
        out
    }

    /// This node's snapshot; names with a tab or line break are left out.
    pub fn snapshot(&self) -> String {
        let mut text = format!("{}\n", self.node);
        let mut entries: Vec<_> = self.local.values().collect();
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
}
