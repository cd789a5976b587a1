//! The in-memory broker: `/topic/` fan-out (with RabbitMQ's `*` and `#` topic wildcards),
//! `/queue/` competing consumers (held while no subscriber is ready, up to a bound),
//! per-session user destinations, and acknowledgement with redelivery of unacked queue
//! messages on NACK, UNSUBSCRIBE or disconnect. Who is online is read out by `online`.
//!
//! Owns: subscriptions, queue backlogs and unacked messages of every connection of a
//! service. One `parking_lot` mutex guards the maps; each operation holds it only to update
//! them and to pick deliveries, which are sent after it is released. Must not: send or await
//! under the lock, parse frames, or decide authorization.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;

use super::command::AckMode;
use super::frame::Version;
use super::history::History;
use super::message::{Outlet, Published, Wire};

/// Why the broker refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// SUBSCRIBE reused an id this connection holds.
    #[error("subscription id {0:?} is already in use")]
    DuplicateSubscription(String),
    /// UNSUBSCRIBE named no subscription.
    #[error("no subscription with id {0:?}")]
    NoSubscription(String),
    /// The connection holds `max_subscriptions` already.
    #[error("more than {0} subscriptions")]
    TooManySubscriptions(usize),
    /// The session is not (or no longer) joined.
    #[error("session is not connected")]
    NotJoined,
}

/// The broker's bounds (copied from the service's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokerLimits {
    /// Subscriptions per connection.
    pub max_subscriptions: usize,
    /// Messages a queue holds while no consumer is ready (oldest dropped past it).
    pub max_queue_messages: usize,
    /// Unacked queue messages per client-ack subscription.
    pub max_unacked: usize,
}

/// Where a subscription's messages come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A fan-out destination (a topic, or a session's own user destination).
    Topic(String),
    /// A competing-consumer queue.
    Queue(String),
}

/// How a session's own user destination key starts (no client destination can: NUL).
const OWN_KEY: &str = "\u{0}user:";

impl Key {
    /// The key of session `serial`'s own user destination `path` (`/queue/x`).
    pub fn own(serial: u64, path: &str) -> Key {
        Key::Topic(format!("{OWN_KEY}{serial}:{path}"))
    }
}

type SubKey = (u64, String);
type Deliveries = Vec<(Arc<dyn Outlet>, Wire)>;

struct Sub {
    key: Key,
    ack: AckMode,
    unacked: VecDeque<Arc<Published>>,
    /// Topic messages held while the subscription's history replay is being sent (so that
    /// none overtakes it); `None` once live.
    replaying: Option<Vec<Arc<Published>>>,
}

struct Member {
    outlet: Arc<dyn Outlet>,
    version: Version,
    user: String,
    subs: HashMap<String, Sub>,
}

#[derive(Default)]
struct Queue {
    consumers: Vec<SubKey>,
    next: usize,
    backlog: VecDeque<Arc<Published>>,
}

#[derive(Default)]
struct State {
    members: HashMap<u64, Member>,
    users: HashMap<String, HashSet<u64>>,
    /// Exact topic subscriptions by destination: a hash lookup per publish.
    topics: HashMap<String, Vec<SubKey>>,
    /// Wildcard topic subscriptions (`/topic/a.*`, `/topic/a.#`) by destination. Every topic
    /// publish matches each distinct pattern here against its name, so it costs
    /// O(distinct patterns x words) under the lock: fine for the tens of patterns an
    /// application uses, a trie would be the next step for thousands.
    wildcards: HashMap<String, Vec<SubKey>>,
    queues: HashMap<String, Queue>,
    /// Message history of the destinations it covers ([`StompConfig::history`]).
    ///
    /// [`StompConfig::history`]: super::StompConfig::history
    history: Option<History<Arc<Published>>>,
}

/// The in-memory broker shared by every connection of a service (SockJS and TCP alike).
pub struct Broker {
    state: Mutex<State>,
    limits: BrokerLimits,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn send_all(deliveries: Deliveries) {
    for (outlet, wire) in deliveries {
        outlet.send(wire);
    }
}

impl Broker {
    /// An empty broker.
    pub fn new(limits: BrokerLimits) -> Self {
        Broker {
            state: Mutex::new(State::default()),
            limits,
            next_id: AtomicU64::new(1),
        }
    }

    /// A message for `destination` (as subscribers will see it) with a fresh `message-id`.
    pub fn message(
        &self,
        destination: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Arc<Published> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        Arc::new(Published::new(id, destination.to_owned(), headers, body))
    }

    /// Session `serial` of user `user` joins, speaking `version` through `outlet`.
    pub fn join(&self, serial: u64, user: &str, version: Version, outlet: Arc<dyn Outlet>) {
        let mut state = self.state.lock();
        state
            .users
            .entry(user.to_owned())
            .or_default()
            .insert(serial);
        let member = Member {
            outlet,
            version,
            user: user.to_owned(),
            subs: HashMap::new(),
        };
        state.members.insert(serial, member);
    }

    /// Session `serial` is gone: its subscriptions end and its unacked queue messages go
    /// back to their queues, first in line.
    pub fn leave(&self, serial: u64) {
        let mut deliveries = Vec::new();
        {
            let mut state = self.state.lock();
            let Some(member) = state.members.remove(&serial) else {
                return;
            };
            if let Some(sessions) = state.users.get_mut(&member.user) {
                sessions.remove(&serial);
                if sessions.is_empty() {
                    state.users.remove(&member.user);
                }
            }
            for (id, sub) in member.subs {
                self.detach(&mut state, (serial, id), sub, &mut deliveries);
            }
        }
        send_all(deliveries);
    }

    /// Subscribes `serial`'s subscription `id` to `key` (live only; see
    /// [`Broker::subscribe_recovering`]).
    ///
    /// # Errors
    /// Duplicate id, too many subscriptions, or a session that has not joined.
    pub fn subscribe(
        &self,
        serial: u64,
        id: &str,
        key: Key,
        ack: AckMode,
    ) -> Result<(), BrokerError> {
        self.subscribe_recovering(serial, id, key, ack, None)
            .map(drop)
    }

    /// Checks and records subscription `id` under the lock; `replaying` says whether topic
    /// messages are held for it until its replay is sent.
    fn attach(
        &self,
        state: &mut State,
        entry: SubKey,
        key: Key,
        ack: AckMode,
        replaying: bool,
        deliveries: &mut Deliveries,
    ) -> Result<(), BrokerError> {
        let (serial, id) = entry;
        let member = state
            .members
            .get_mut(&serial)
            .ok_or(BrokerError::NotJoined)?;
        if member.subs.contains_key(&id) {
            return Err(BrokerError::DuplicateSubscription(id));
        }
        if member.subs.len() >= self.limits.max_subscriptions {
            return Err(BrokerError::TooManySubscriptions(
                self.limits.max_subscriptions,
            ));
        }
        let sub = Sub {
            key: key.clone(),
            ack,
            unacked: VecDeque::new(),
            replaying: replaying.then(Vec::new),
        };
        member.subs.insert(id.clone(), sub);
        crate::metrics::global().stomp_subscriptions(1);
        let entry = (serial, id);
        match key {
            Key::Topic(name) => state.topic_map(&name).entry(name).or_default().push(entry),
            Key::Queue(name) => {
                state
                    .queues
                    .entry(name.clone())
                    .or_default()
                    .consumers
                    .push(entry);
                self.dispatch(state, &name, deliveries);
            }
        }
        Ok(())
    }

    /// Ends subscription `id`; its unacked queue messages are redelivered.
    ///
    /// # Errors
    /// [`BrokerError::NoSubscription`] if there is none with that id.
    pub fn unsubscribe(&self, serial: u64, id: &str) -> Result<(), BrokerError> {
        let mut deliveries = Vec::new();
        {
            let mut state = self.state.lock();
            let sub = state
                .members
                .get_mut(&serial)
                .and_then(|m| m.subs.remove(id))
                .ok_or_else(|| BrokerError::NoSubscription(id.to_owned()))?;
            self.detach(&mut state, (serial, id.to_owned()), sub, &mut deliveries);
        }
        send_all(deliveries);
        Ok(())
    }

    /// Publishes `message` to `key`: every subscriber of a topic, or one consumer of a queue
    /// (held, up to the bound, while none is ready).
    pub fn publish(&self, key: &Key, message: Arc<Published>) {
        let mut deliveries = Vec::new();
        {
            let mut state = self.state.lock();
            match key {
                Key::Topic(name) => {
                    let message = state.stamp(name, message, Instant::now());
                    let mut held = Vec::new();
                    for (serial, id) in state.topic_subscribers(name) {
                        if state.replaying(*serial, id) {
                            held.push((*serial, id.clone()));
                        } else if let Some((outlet, version)) = Self::outlet(&state, *serial) {
                            deliveries.push((outlet, message.wire(version, id, false)));
                        }
                    }
                    for (serial, id) in held {
                        state.hold(serial, &id, &message);
                    }
                }
                Key::Queue(name) => {
                    let queue = state.queues.entry(name.clone()).or_default();
                    if queue.backlog.len() >= self.limits.max_queue_messages {
                        log::debug!("queue {name} full: dropping its oldest message");
                        queue.backlog.pop_front();
                    }
                    queue.backlog.push_back(message);
                    self.dispatch(&mut state, name, &mut deliveries);
                }
            }
        }
        send_all(deliveries);
    }

    /// The sessions of user `name`.
    pub fn sessions_of(&self, name: &str) -> Vec<u64> {
        let state = self.state.lock();
        state
            .users
            .get(name)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Acknowledges (or, with `nack`, refuses) message `ack_id` for session `serial`. In
    /// `client` mode earlier unacked messages of the subscription go with it. Refused queue
    /// messages are redelivered; unknown ids (topic messages are not tracked) are ignored.
    pub fn ack(&self, serial: u64, ack_id: &str, nack: bool) {
        let mut deliveries = Vec::new();
        {
            let mut state = self.state.lock();
            let Some(member) = state.members.get_mut(&serial) else {
                return;
            };
            let found = member.subs.values_mut().find_map(|sub| {
                let at = sub.unacked.iter().position(|m| m.id() == ack_id)?;
                let taken: Vec<Arc<Published>> = match sub.ack {
                    AckMode::Client => sub.unacked.drain(..=at).collect(),
                    _ => sub.unacked.remove(at).into_iter().collect(),
                };
                Some((sub.key.clone(), taken))
            });
            if let Some((Key::Queue(name), taken)) = found {
                if nack {
                    let queue = state.queues.entry(name.clone()).or_default();
                    for message in taken.into_iter().rev() {
                        queue.backlog.push_front(message);
                    }
                }
                self.dispatch(&mut state, &name, &mut deliveries);
            }
        }
        send_all(deliveries);
    }

    fn outlet(state: &State, serial: u64) -> Option<(Arc<dyn Outlet>, Version)> {
        state
            .members
            .get(&serial)
            .map(|m| (Arc::clone(&m.outlet), m.version))
    }

    fn detach(&self, state: &mut State, entry: SubKey, sub: Sub, deliveries: &mut Deliveries) {
        crate::metrics::global().stomp_subscriptions(-1);
        match sub.key {
            Key::Topic(name) => {
                let map = state.topic_map(&name);
                if let Some(subs) = map.get_mut(&name) {
                    subs.retain(|e| *e != entry);
                    if subs.is_empty() {
                        map.remove(&name);
                    }
                }
            }
            Key::Queue(name) => {
                if let Some(queue) = state.queues.get_mut(&name) {
                    queue.consumers.retain(|e| *e != entry);
                    for message in sub.unacked.into_iter().rev() {
                        queue.backlog.push_front(message);
                    }
                }
                self.dispatch(state, &name, deliveries);
                if state
                    .queues
                    .get(&name)
                    .is_some_and(|q| q.consumers.is_empty() && q.backlog.is_empty())
                {
                    state.queues.remove(&name);
                }
            }
        }
    }

    /// Hands a queue's backlog to ready consumers, round robin.
    fn dispatch(&self, state: &mut State, name: &str, deliveries: &mut Deliveries) {
        let State {
            members, queues, ..
        } = state;
        let Some(queue) = queues.get_mut(name) else {
            return;
        };
        while !queue.backlog.is_empty() {
            let count = queue.consumers.len();
            let ready = (0..count).map(|i| (queue.next + i) % count).find(|&i| {
                queue.consumers.get(i).is_some_and(|(serial, id)| {
                    members
                        .get(serial)
                        .and_then(|m| m.subs.get(id))
                        .is_some_and(|s| {
                            s.ack == AckMode::Auto || s.unacked.len() < self.limits.max_unacked
                        })
                })
            });
            let Some(i) = ready else {
                break;
            };
            queue.next = (i + 1) % count;
            let Some((serial, id)) = queue.consumers.get(i) else {
                break;
            };
            let Some(member) = members.get_mut(serial) else {
                break;
            };
            let Some(sub) = member.subs.get_mut(id) else {
                break;
            };
            let Some(message) = queue.backlog.pop_front() else {
                break;
            };
            let needs_ack = sub.ack != AckMode::Auto;
            deliveries.push((
                Arc::clone(&member.outlet),
                message.wire(member.version, id, needs_ack),
            ));
            if needs_ack {
                sub.unacked.push_back(message);
            }
        }
    }
}

#[path = "broker_history.rs"]
mod history;
#[path = "broker_online.rs"]
mod online;
#[path = "broker_topics.rs"]
mod topics;

#[cfg(test)]
#[path = "broker_tests.rs"]
pub(crate) mod tests;
