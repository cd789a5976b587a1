//! The in-memory broker's message history (see [`History`]): topic messages to covered
//! destinations get their `offset` and `epoch` headers under the broker's lock, and a
//! recovering SUBSCRIBE gets its replay chosen and its subscription made under that same
//! lock, so no publish falls between the two. The replay is sent after the lock is released;
//! messages published meanwhile are held in the subscription and sent after it, in order.
//! A child of `broker`, to reach its state.
//!
//! Owns: stamping, recovery and the receipt's report. Must not: hold the lock while sending.

use std::sync::Arc;
use std::time::Instant;

use super::{Broker, BrokerError, Key, State, send_all};
use crate::stomp::command::{AckMode, Recover};
use crate::stomp::config::HistoryConfig;
use crate::stomp::destination::topic_wildcard;
use crate::stomp::headers::{EPOCH, OFFSET, RECOVERED};
use crate::stomp::history::{History, HistoryMessage, HistoryPage, Position};
use crate::stomp::message::Published;

/// What the RECEIPT of a SUBSCRIBE to a history destination says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Whether recovery (when asked) was complete.
    pub recovered: Option<bool>,
    /// The stream's epoch and last offset.
    pub position: Option<Position>,
}

impl Report {
    /// The receipt headers: `recovered`, `epoch`, `offset`, those known.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(recovered) = self.recovered {
            out.push((RECOVERED.to_owned(), recovered.to_string()));
        }
        if let Some(p) = &self.position {
            out.push((EPOCH.to_owned(), p.epoch.clone()));
            out.push((OFFSET.to_owned(), p.offset.to_string()));
        }
        out
    }
}

impl Broker {
    /// The same broker keeping history as `config` says (`None`: none).
    #[must_use]
    pub fn with_history(self, config: Option<&HistoryConfig>) -> Self {
        let seed = rand::random::<u64>();
        self.state.lock().history = config.map(|c| History::new(c, seed));
        self
    }

    /// Subscribes `serial`'s subscription `id` to `key`; for a history destination, first
    /// replays what came after `recover` (if given). The report is for the RECEIPT: `None`
    /// for destinations without history when no recovery was asked.
    ///
    /// # Errors
    /// Duplicate id, too many subscriptions, or a session that has not joined.
    pub fn subscribe_recovering(
        &self,
        serial: u64,
        id: &str,
        key: Key,
        ack: AckMode,
        recover: Option<&Recover>,
    ) -> Result<Option<Report>, BrokerError> {
        let mut deliveries = Vec::new();
        let (report, replay) = {
            let mut state = self.state.lock();
            let (report, replay) = state.recover(&key, recover);
            let entry = (serial, id.to_owned());
            let replaying = !replay.is_empty();
            self.attach(&mut state, entry, key, ack, replaying, &mut deliveries)?;
            let target = Self::outlet(&state, serial);
            let replay: Vec<_> = match target {
                Some((outlet, version)) => replay
                    .into_iter()
                    .map(|m| (Arc::clone(&outlet), m.wire(version, id, false)))
                    .collect(),
                None => Vec::new(),
            };
            (report, replay)
        };
        send_all(deliveries);
        if !replay.is_empty() {
            send_all(replay);
            self.go_live(serial, id);
        }
        Ok(report)
    }

    /// Sends what was held for subscription `id` during its replay, until nothing is, then
    /// lets publishes deliver to it directly.
    fn go_live(&self, serial: u64, id: &str) {
        loop {
            let held = {
                let mut state = self.state.lock();
                let Some(outlet) = Self::outlet(&state, serial) else {
                    return;
                };
                let Some(sub) = state
                    .members
                    .get_mut(&serial)
                    .and_then(|m| m.subs.get_mut(id))
                else {
                    return;
                };
                let held = std::mem::take(sub.replaying.get_or_insert_default());
                if held.is_empty() {
                    sub.replaying = None;
                    return;
                }
                let (outlet, version) = outlet;
                held.into_iter()
                    .map(|m| (Arc::clone(&outlet), m.wire(version, id, false)))
                    .collect::<Vec<_>>()
            };
            send_all(held);
        }
    }

    /// The last `limit` retained messages of `destination`, with its epoch and last offset;
    /// `None` without history for it.
    pub fn history(&self, destination: &str, limit: usize) -> Option<HistoryPage> {
        let mut state = self.state.lock();
        let history = state.history.as_mut()?;
        let (position, kept) = history.retained(destination, limit, Instant::now())?;
        let messages = kept
            .into_iter()
            .map(|(offset, m)| HistoryMessage {
                offset,
                headers: m.headers().to_vec(),
                body: m.body().clone(),
            })
            .collect();
        Some(HistoryPage {
            epoch: position.epoch,
            last_offset: position.offset,
            messages,
        })
    }
}

impl State {
    /// `message` as published to topic `name`: with its `offset` and `epoch`, and kept, if
    /// `name` has history; as it is otherwise.
    pub(super) fn stamp(
        &mut self,
        name: &str,
        message: Arc<Published>,
        now: Instant,
    ) -> Arc<Published> {
        let Some(history) = self.history.as_mut().filter(|h| h.covers(name)) else {
            return message;
        };
        history.append(name, now, move |p| {
            let extra = vec![
                (OFFSET.to_owned(), p.offset.to_string()),
                (EPOCH.to_owned(), p.epoch.clone()),
            ];
            let stamped = message.with_headers(extra);
            let size = stamped.size();
            (stamped, size)
        })
    }

    /// Whether subscription `id` of `serial` is holding messages during its replay.
    pub(super) fn replaying(&self, serial: u64, id: &str) -> bool {
        self.members
            .get(&serial)
            .and_then(|m| m.subs.get(id))
            .is_some_and(|s| s.replaying.is_some())
    }

    /// Holds `message` for subscription `id` of `serial` until its replay is sent.
    pub(super) fn hold(&mut self, serial: u64, id: &str, message: &Arc<Published>) {
        if let Some(held) = self
            .members
            .get_mut(&serial)
            .and_then(|m| m.subs.get_mut(id))
            .and_then(|s| s.replaying.as_mut())
        {
            held.push(Arc::clone(message));
        }
    }

    /// The receipt's report and the replay for a SUBSCRIBE to `key` that last saw `recover`.
    /// Wildcard topics and destinations without history cannot recover (`recovered:false`).
    fn recover(
        &mut self,
        key: &Key,
        recover: Option<&Recover>,
    ) -> (Option<Report>, Vec<Arc<Published>>) {
        let cannot = Report {
            recovered: recover.map(|_| false),
            position: None,
        };
        let cannot = (recover.is_some().then_some(cannot), Vec::new());
        let Key::Topic(name) = key else {
            return cannot;
        };
        let Some(history) = self.history.as_mut().filter(|h| h.covers(name)) else {
            return cannot;
        };
        if topic_wildcard(name).is_some() {
            return cannot;
        }
        let since = recover.map(|r| (r.offset, r.epoch.as_str()));
        let recovery = history.recover(name, since, Instant::now());
        let report = Report {
            recovered: recover.map(|_| recovery.complete),
            position: Some(recovery.position),
        };
        let replay = recovery.replay.into_iter().map(|(_, m)| m).collect();
        (Some(report), replay)
    }
}
