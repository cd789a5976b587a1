//! Presence counts, pure: per tracked destination, which users have sessions subscribed to
//! it on this node (by connection serial, each with how many subscriptions it holds there)
//! and, as last heard, on the other nodes of a relay deployment (a session count per user).
//! Every change says which users joined or left cluster-wide (their session count went from
//! 0 or to 0 over all nodes known) and which of this node's counts changed (to announce).
//!
//! Owns: the counting and merging rules. Must not: do I/O, send frames or read a clock
//! (`now` is passed in).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Destination -> user -> sessions: one node's part, as announced.
pub(crate) type Part = BTreeMap<String, BTreeMap<String, usize>>;

/// Whether a user joined or left a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Its first session subscribed (over all nodes known).
    Join,
    /// Its last session's last subscription ended (over all nodes known).
    Leave,
}

/// A join or a leave, cluster-wide as this node knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) kind: Kind,
    pub(crate) destination: String,
    pub(crate) user: String,
    /// The user's sessions on the destination after the change (0 for a leave).
    pub(crate) sessions: usize,
}

/// A change of this node's own count of `user`'s sessions on `destination` (to announce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Local {
    pub(crate) destination: String,
    pub(crate) user: String,
    pub(crate) sessions: usize,
}

/// What a change did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) transitions: Vec<Transition>,
    pub(crate) local: Vec<Local>,
}

/// One of this node's sessions with tracked subscriptions.
#[derive(Debug)]
struct Session {
    user: String,
    /// Subscription id -> tracked destination.
    subscriptions: HashMap<String, String>,
}

/// Another node's part and when it was last heard of.
#[derive(Debug)]
struct Remote {
    seen: Instant,
    part: Part,
}

/// Presence on this node and, as last heard, on the others.
#[derive(Debug)]
pub(crate) struct State {
    node: String,
    expiry: Duration,
    sessions: HashMap<u64, Session>,
    /// Destination -> user -> serial -> subscriptions held there.
    local: HashMap<String, HashMap<String, HashMap<u64, usize>>>,
    remote: HashMap<String, Remote>,
}

impl State {
    /// Nothing present; this is node `node`, other nodes are forgotten after `expiry`
    /// without news.
    pub(crate) fn new(node: String, expiry: Duration) -> Self {
        State {
            node,
            expiry,
            sessions: HashMap::new(),
            local: HashMap::new(),
            remote: HashMap::new(),
        }
    }

    fn local_sessions(&self, destination: &str, user: &str) -> usize {
        let users = self.local.get(destination);
        users.and_then(|u| u.get(user)).map_or(0, HashMap::len)
    }

    /// `user`'s sessions on `destination` over this node and every node heard of.
    fn total(&self, destination: &str, user: &str) -> usize {
        let remote = self.remote.values().filter_map(|r| r.part.get(destination));
        let remote: usize = remote.filter_map(|users| users.get(user)).sum();
        self.local_sessions(destination, user) + remote
    }

    /// Runs `change` and reports what it did to the `(destination, user)` pairs it touches.
    fn around(&mut self, pairs: Vec<(String, String)>, change: impl FnOnce(&mut Self)) -> Outcome {
        let before: Vec<(usize, usize)> = pairs
            .iter()
            .map(|(d, u)| (self.total(d, u), self.local_sessions(d, u)))
            .collect();
        change(self);
        let mut outcome = Outcome::default();
        for ((destination, user), (total, local)) in pairs.into_iter().zip(before) {
            let (now_total, now_local) = (
                self.total(&destination, &user),
                self.local_sessions(&destination, &user),
            );
            if now_local != local {
                outcome.local.push(Local {
                    destination: destination.clone(),
                    user: user.clone(),
                    sessions: now_local,
                });
            }
            let kind = match (total, now_total) {
                (0, n) if n > 0 => Kind::Join,
                (n, 0) if n > 0 => Kind::Leave,
                _ => continue,
            };
            outcome.transitions.push(Transition {
                kind,
                destination,
                user,
                sessions: now_total,
            });
        }
        outcome
    }

    /// Connection `serial` of `user` subscribed `id` to tracked `destination`.
    pub(crate) fn subscribe(
        &mut self,
        serial: u64,
        user: &str,
        id: &str,
        destination: &str,
    ) -> Outcome {
        let pairs = vec![(destination.to_owned(), user.to_owned())];
        self.around(pairs, |s| {
            let session = s.sessions.entry(serial).or_insert_with(|| Session {
                user: user.to_owned(),
                subscriptions: HashMap::new(),
            });
            if session
                .subscriptions
                .insert(id.to_owned(), destination.to_owned())
                .is_some()
            {
                return; // the same id again: already counted
            }
            let users = s.local.entry(destination.to_owned()).or_default();
            *users
                .entry(user.to_owned())
                .or_default()
                .entry(serial)
                .or_default() += 1;
        })
    }

    /// Connection `serial` unsubscribed `id` (nothing if it was not a tracked one).
    pub(crate) fn unsubscribe(&mut self, serial: u64, id: &str) -> Outcome {
        let Some(session) = self.sessions.get_mut(&serial) else {
            return Outcome::default();
        };
        let Some(destination) = session.subscriptions.remove(id) else {
            return Outcome::default();
        };
        let user = session.user.clone();
        if session.subscriptions.is_empty() {
            self.sessions.remove(&serial);
        }
        let pairs = vec![(destination.clone(), user.clone())];
        self.around(pairs, |s| s.drop_one(&destination, &user, serial, 1))
    }

    /// Connection `serial` ended: every tracked subscription of it ends.
    pub(crate) fn disconnect(&mut self, serial: u64) -> Outcome {
        let Some(session) = self.sessions.remove(&serial) else {
            return Outcome::default();
        };
        let mut held: BTreeMap<String, usize> = BTreeMap::new();
        for destination in session.subscriptions.into_values() {
            *held.entry(destination).or_default() += 1;
        }
        let user = session.user;
        let pairs = held.keys().map(|d| (d.clone(), user.clone())).collect();
        self.around(pairs, |s| {
            for (destination, n) in &held {
                s.drop_one(destination, &user, serial, *n);
            }
        })
    }

    /// `n` of connection `serial`'s subscriptions to `destination` ended.
    fn drop_one(&mut self, destination: &str, user: &str, serial: u64, n: usize) {
        let Some(users) = self.local.get_mut(destination) else {
            return;
        };
        if let Some(serials) = users.get_mut(user) {
            if let Some(count) = serials.get_mut(&serial) {
                *count = count.saturating_sub(n);
                if *count == 0 {
                    serials.remove(&serial);
                }
            }
            if serials.is_empty() {
                users.remove(user);
            }
        }
        if users.is_empty() {
            self.local.remove(destination);
        }
    }

    /// Node `node` said at `now` that `user` has `sessions` sessions on `destination` there.
    pub(crate) fn remote_change(
        &mut self,
        node: &str,
        destination: &str,
        user: &str,
        sessions: usize,
        now: Instant,
    ) -> Outcome {
        if node == self.node {
            return Outcome::default();
        }
        let pairs = vec![(destination.to_owned(), user.to_owned())];
        self.around(pairs, |s| {
            let remote = s.remote.entry(node.to_owned()).or_insert_with(|| Remote {
                seen: now,
                part: Part::new(),
            });
            remote.seen = now;
            let users = remote.part.entry(destination.to_owned()).or_default();
            if sessions == 0 {
                users.remove(user);
                if users.is_empty() {
                    remote.part.remove(destination);
                }
            } else {
                users.insert(user.to_owned(), sessions);
            }
        })
    }

    /// Node `node` announced its whole `part` at `now` (it replaces what was known of it).
    pub(crate) fn remote_part(&mut self, node: &str, part: Part, now: Instant) -> Outcome {
        if node == self.node {
            return Outcome::default();
        }
        let pairs = self.pairs_of(node, &part);
        self.around(pairs, |s| {
            s.remote.insert(node.to_owned(), Remote { seen: now, part });
        })
    }

    /// Forgets the nodes not heard of within the expiry before `now`: their users leave.
    pub(crate) fn expire(&mut self, now: Instant) -> Outcome {
        let expiry = self.expiry;
        let gone: Vec<String> = self
            .remote
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.seen) >= expiry)
            .map(|(node, _)| node.clone())
            .collect();
        let mut outcome = Outcome::default();
        for node in gone {
            let pairs = self.pairs_of(&node, &Part::new());
            let more = self.around(pairs, |s| {
                s.remote.remove(&node);
            });
            outcome.transitions.extend(more.transitions);
        }
        outcome
    }

    /// The pairs node `node` had, and those of `part`.
    fn pairs_of(&self, node: &str, part: &Part) -> Vec<(String, String)> {
        let old = self.remote.get(node).map(|r| &r.part);
        let mut pairs: Vec<(String, String)> = old
            .into_iter()
            .chain(Some(part))
            .flat_map(|p| {
                p.iter()
                    .flat_map(|(d, users)| users.keys().map(move |u| (d.clone(), u.clone())))
            })
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// This node's part, to announce.
    pub(crate) fn part(&self) -> Part {
        let mut part = Part::new();
        for (destination, users) in &self.local {
            let users = users.iter().map(|(u, serials)| (u.clone(), serials.len()));
            part.insert(destination.clone(), users.collect());
        }
        part
    }

    /// Users on `destination` with their sessions over every node known, by name.
    pub(crate) fn users(&self, destination: &str) -> BTreeMap<String, usize> {
        let mut users: BTreeMap<String, usize> = BTreeMap::new();
        if let Some(local) = self.local.get(destination) {
            for (user, serials) in local {
                *users.entry(user.clone()).or_default() += serials.len();
            }
        }
        for remote in self.remote.values() {
            for (user, n) in remote.part.get(destination).into_iter().flatten() {
                *users.entry(user.clone()).or_default() += n;
            }
        }
        users.retain(|_, n| *n > 0);
        users
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
