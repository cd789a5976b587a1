//! Message history for recovery, pure: per destination a stream of messages with increasing
//! offsets (from 1) and an epoch naming that stream, bounded per destination in messages, in
//! age, and in bytes over all destinations (the oldest go first, whatever their
//! destination); and the answer to "I last saw offset `k` of epoch `e`": the retained
//! messages after `k`, and whether that is everything that was missed.
//!
//! A stream is forgotten (its epoch with it, so the next message starts a new epoch at
//! offset 1) once it holds no message and has been idle for `max_age`. While it is known,
//! eviction never changes its epoch: a client whose offset was evicted learns it from the
//! gap.
//!
//! Owns: streams, offsets, epochs and the bounds. Must not: read a clock (`now` is passed
//! in), draw random numbers (epochs come from a seed given once), encode frames or lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::config::HistoryConfig;

/// Where a destination's stream is: its epoch and its last offset (0: none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The stream's epoch.
    pub epoch: String,
    /// The last offset given (0 before the first message).
    pub offset: u64,
}

/// A destination's retained messages as [`Stomp::history`](super::Stomp::history) gives
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// The destination's epoch (what MESSAGE frames carry in `epoch`).
    pub epoch: String,
    /// The last offset given on the destination (0 before the first message); messages
    /// before the first retained one were evicted.
    pub last_offset: u64,
    /// The retained messages asked for, oldest first.
    pub messages: Vec<HistoryMessage>,
}

/// One retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryMessage {
    /// Its offset.
    pub offset: u64,
    /// Its headers as published (with `offset` and `epoch`; not `destination`,
    /// `message-id`, `content-length`, which each MESSAGE frame gets).
    pub headers: Vec<(String, String)>,
    /// Its body.
    pub body: Bytes,
}

/// What a recovering subscriber gets.
#[derive(Debug)]
pub struct Recovery<M> {
    /// The retained messages after the client's offset, oldest first (none if the epoch
    /// differs).
    pub replay: Vec<(u64, M)>,
    /// Whether `replay` is everything the client missed.
    pub complete: bool,
    /// The stream's position now.
    pub position: Position,
}

struct Kept<M> {
    offset: u64,
    size: usize,
    message: M,
}

struct Stream<M> {
    epoch: String,
    /// Tells streams of one destination apart across forgetting (for [`Entry`]).
    generation: u64,
    last: u64,
    /// When the stream was created or last got a message.
    touched: Instant,
    messages: VecDeque<Kept<M>>,
}

/// One retained message in global publish order (possibly already evicted by count).
struct Entry {
    destination: Arc<str>,
    generation: u64,
    offset: u64,
    at: Instant,
}

/// The history of every destination under the configured prefixes.
pub struct History<M> {
    prefixes: Vec<String>,
    max_messages: usize,
    max_age: Duration,
    max_bytes: usize,
    streams: HashMap<Arc<str>, Stream<M>>,
    /// Retained messages in publish order, for age and byte eviction.
    order: VecDeque<Entry>,
    /// Streams that became (or were created) empty, in that order, to forget when idle.
    idle: VecDeque<(Arc<str>, u64)>,
    bytes: usize,
    retained: usize,
    seed: u64,
    generations: u64,
}

impl<M: Clone> History<M> {
    /// An empty history with `config`'s prefixes and bounds; epochs are drawn from `seed`
    /// (random per process, so that a restart changes every epoch).
    pub fn new(config: &HistoryConfig, seed: u64) -> Self {
        History {
            prefixes: config.prefixes.clone(),
            max_messages: config.max_messages.max(1),
            max_age: config.max_age,
            max_bytes: config.max_bytes,
            streams: HashMap::new(),
            order: VecDeque::new(),
            idle: VecDeque::new(),
            bytes: 0,
            retained: 0,
            seed,
            generations: 0,
        }
    }

    /// Whether `destination` has history.
    pub fn covers(&self, destination: &str) -> bool {
        self.prefixes.iter().any(|p| destination.starts_with(p))
    }

    /// Bytes retained over every destination.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends a message to `destination` at `now`: `make` builds it from its position
    /// (epoch and new offset) and says its size in bytes; it is returned as kept. Evicts what
    /// the bounds say.
    pub fn append(
        &mut self,
        destination: &str,
        now: Instant,
        make: impl FnOnce(&Position) -> (M, usize),
    ) -> M {
        self.evict(now);
        let key = self.stream(destination, now);
        let (generation, position) = {
            let Some(stream) = self.streams.get_mut(&key) else {
                // unreachable: `stream` just inserted it; a message is still made.
                return make(&Position {
                    epoch: String::new(),
                    offset: 0,
                })
                .0;
            };
            stream.last += 1;
            stream.touched = now;
            let position = Position {
                epoch: stream.epoch.clone(),
                offset: stream.last,
            };
            (stream.generation, position)
        };
        let (message, size) = make(&position);
        let kept = Kept {
            offset: position.offset,
            size,
            message: message.clone(),
        };
        let mut evicted = 0;
        if let Some(stream) = self.streams.get_mut(&key) {
            stream.messages.push_back(kept);
            while stream.messages.len() > self.max_messages {
                if let Some(old) = stream.messages.pop_front() {
                    evicted += old.size;
                    self.retained -= 1;
                }
            }
        }
        self.bytes = (self.bytes + size).saturating_sub(evicted);
        self.retained += 1;
        self.order.push_back(Entry {
            destination: key,
            generation,
            offset: position.offset,
            at: now,
        });
        self.evict(now);
        message
    }

    /// What a subscriber that last saw `since` (offset and epoch; `None`: nothing) missed of
    /// `destination`, at `now`. Complete when the epoch is the stream's and the message after
    /// `since` is still retained (or none came since); with another epoch nothing is
    /// replayed. Makes the stream known (with a new epoch) if it was not.
    pub fn recover(
        &mut self,
        destination: &str,
        since: Option<(u64, &str)>,
        now: Instant,
    ) -> Recovery<M> {
        self.evict(now);
        let key = self.stream(destination, now);
        let Some(stream) = self.streams.get(&key) else {
            return Recovery {
                replay: Vec::new(),
                complete: false,
                position: Position {
                    epoch: String::new(),
                    offset: 0,
                },
            };
        };
        let position = Position {
            epoch: stream.epoch.clone(),
            offset: stream.last,
        };
        let Some((offset, epoch)) = since else {
            return Recovery {
                replay: Vec::new(),
                complete: true,
                position,
            };
        };
        if epoch != stream.epoch || offset > stream.last {
            return Recovery {
                replay: Vec::new(),
                complete: false,
                position,
            };
        }
        let first = stream
            .messages
            .front()
            .map_or(stream.last + 1, |k| k.offset);
        let replay: Vec<(u64, M)> = stream
            .messages
            .iter()
            .filter(|k| k.offset > offset)
            .map(|k| (k.offset, k.message.clone()))
            .collect();
        Recovery {
            replay,
            complete: offset == stream.last || first <= offset + 1,
            position,
        }
    }

    /// The last `limit` retained messages of `destination` (oldest first) and its position,
    /// or `None` if its stream is not known.
    pub fn retained(
        &mut self,
        destination: &str,
        limit: usize,
        now: Instant,
    ) -> Option<(Position, Vec<(u64, M)>)> {
        self.evict(now);
        let stream = self.streams.get(destination)?;
        let skip = stream.messages.len().saturating_sub(limit);
        let messages = stream
            .messages
            .iter()
            .skip(skip)
            .map(|k| (k.offset, k.message.clone()))
            .collect();
        let position = Position {
            epoch: stream.epoch.clone(),
            offset: stream.last,
        };
        Some((position, messages))
    }

    /// The stream of `destination`, created (empty, new epoch) if unknown.
    fn stream(&mut self, destination: &str, now: Instant) -> Arc<str> {
        if let Some((key, _)) = self.streams.get_key_value(destination) {
            return Arc::clone(key);
        }
        self.generations += 1;
        let key: Arc<str> = Arc::from(destination);
        let stream = Stream {
            epoch: format!("{:016x}-{}", self.seed, self.generations),
            generation: self.generations,
            last: 0,
            touched: now,
            messages: VecDeque::new(),
        };
        self.streams.insert(Arc::clone(&key), stream);
        self.idle.push_back((Arc::clone(&key), self.generations));
        key
    }

    /// Drops messages older than `max_age` and, past `max_bytes`, the oldest of all; forgets
    /// streams empty and idle for `max_age`.
    fn evict(&mut self, now: Instant) {
        while let Some(entry) = self.order.front() {
            let expired = entry.at + self.max_age <= now;
            if !expired && self.bytes <= self.max_bytes {
                break;
            }
            let Some(entry) = self.order.pop_front() else {
                break;
            };
            self.drop_entry(&entry);
        }
        while let Some((key, generation)) = self.idle.front() {
            if let Some(s) = self.streams.get(key)
                && s.generation == *generation
                && s.messages.is_empty()
            {
                if s.touched + self.max_age > now {
                    break;
                }
                let key = Arc::clone(key);
                self.streams.remove(&key);
            }
            self.idle.pop_front();
        }
        if self.order.len() > 2 * self.retained + 64 {
            let streams = &self.streams;
            self.order.retain(|e| {
                streams.get(&e.destination).is_some_and(|s| {
                    s.generation == e.generation
                        && s.messages.front().is_some_and(|k| k.offset <= e.offset)
                })
            });
        }
    }

    /// Removes `entry`'s message if its stream still holds it (its oldest, then).
    fn drop_entry(&mut self, entry: &Entry) {
        let Some(stream) = self.streams.get_mut(&entry.destination) else {
            return;
        };
        if stream.generation != entry.generation
            || stream
                .messages
                .front()
                .is_none_or(|k| k.offset != entry.offset)
        {
            return;
        }
        if let Some(old) = stream.messages.pop_front() {
            self.bytes -= old.size;
            self.retained -= 1;
        }
        if stream.messages.is_empty() {
            self.idle
                .push_back((Arc::clone(&entry.destination), entry.generation));
        }
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
