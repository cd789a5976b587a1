//! History through the relay, pure: a SUBSCRIBE to a history destination (`/topic/X` under
//! [`HistoryConfig::prefixes`]) becomes a consumer of the RabbitMQ stream `history.X`
//! (declared and bound to `amq.topic` with routing key `X` by the first subscriber), and the
//! stream's MESSAGEs become the client's: `offset` = `x-stream-offset` + 1, `epoch` = the
//! stamp the publishing node put on the message (unique per message, see [`Streams`]), the
//! relay ACKing each one for the client.
//!
//! The boundary between replay and live is a **marker**: an empty SEND with a
//! [`MARKER`](crate::stomp::headers::MARKER) header the session publishes to the destination
//! right after subscribing. Everything the consumer gets before its own marker is the replay;
//! at the marker the RECEIPT goes out (`recovered`, and the marker's `epoch` and `offset`, a
//! valid recovery point); markers are never delivered to clients.
//!
//! Recovery from `recover-offset: k`, `recover-epoch: e` (the last message seen was at stream
//! offset `k - 1` with stamp `e`): a **probe** consumer from `next` plus a marker first learns
//! the stream's end `m` (a consumer from an offset past the end would wait for it silently);
//! then the real consumer starts at `offset=k-1` if `k - 1 < m` (else at `next`), and
//! recovery is complete only if the first message it gets is at `k - 1` with stamp `e`: the
//! same stream (stamps are unique, so a recreated stream fails) not truncated past it. That
//! message is not delivered again; on a mismatch nothing before the marker is delivered.
//!
//! Owns: the rewriting and the per-subscription phases. Must not: do I/O or read a clock.

use std::collections::HashMap;

use crate::stomp::command::Recover;
use crate::stomp::config::HistoryConfig;
use crate::stomp::destination::topic_wildcard;
use crate::stomp::frame::{Command, Frame};
use crate::stomp::headers::{
    ACK, AUTO_DELETE, DESTINATION, DURABLE, EPOCH, ID, MARKER, MESSAGE_ID, OFFSET, PREFETCH_COUNT,
    RECEIPT_ID, RECOVERED, SUBSCRIPTION, X_MAX_LENGTH_BYTES, X_QUEUE_NAME, X_QUEUE_TYPE,
    X_STREAM_OFFSET,
};

/// The stream behind `/topic/X` is the queue `history.X`.
pub const QUEUE_PREFIX: &str = "history.";
/// The only prefix whose destinations can have a stream (RabbitMQ binds `/topic/X` to
/// `amq.topic` with routing key `X`; RabbitMQ STOMP guide, "Topic Destinations").
pub const TOPIC: &str = "/topic/";
/// The `epoch` of a stream message no node stamped (published straight to RabbitMQ): it
/// never matches, so recovering from such a message is reported incomplete.
pub const UNSTAMPED: &str = "unstamped";
/// Stream consumers need a prefetch (RabbitMQ STOMP guide, "Stream Support").
const PREFETCH: &str = "500";
/// Broker subscription ids of probes start with this; their MESSAGEs never reach a client.
const PROBE: &str = "sockjs-probe-";
/// `x-stream-offset` values (rabbit_stomp_frame:stream_offset_header/2: a bare number is
/// ignored, `offset=N` is one).
const NEXT: &str = "next";

/// Whether `destination` has history through the relay: a concrete `/topic/` destination
/// under one of `config`'s prefixes.
pub fn covers(config: &HistoryConfig, destination: &str) -> bool {
    destination.len() > TOPIC.len()
        && destination.starts_with(TOPIC)
        && topic_wildcard(destination).is_none()
        && config
            .prefixes
            .iter()
            .any(|p| destination.starts_with(p.as_str()))
}

/// A client SEND to a history destination as it goes to the broker: stamped with `stamp`,
/// without the client's own `offset`, `epoch` or marker.
pub fn stamped(mut frame: Frame, stamp: &str) -> Frame {
    frame
        .headers
        .retain(|(n, _)| n != OFFSET && n != EPOCH && n != MARKER);
    frame.header(EPOCH, stamp)
}

enum Phase {
    /// Waiting for the probe's marker to learn the stream's end.
    Probing {
        token: String,
        recover: Recover,
    },
    /// Before the subscription's own marker.
    Replaying {
        token: String,
        /// The first message must be this (stream offset, stamp) for a complete recovery.
        expect: Option<(u64, String)>,
        recovering: bool,
        /// Whether the first message matched `expect` (once one came).
        judged: Option<bool>,
    },
    Live,
}

struct Sub {
    destination: String,
    max_bytes: usize,
    receipt: Option<String>,
    phase: Phase,
}

/// What a broker frame turned into.
#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// Frames for the client.
    pub to_client: Vec<Frame>,
    /// Frames for the broker (ACKs, the probe's replacement).
    pub to_broker: Vec<Frame>,
}

/// The history subscriptions of one client's broker connection.
#[derive(Default)]
pub struct Streams {
    subs: HashMap<String, Sub>,
}

fn probe_id(id: &str) -> String {
    format!("{PROBE}{id}")
}

fn consumer(id: &str, destination: &str, max_bytes: usize, from: &str) -> Frame {
    let name = destination.strip_prefix(TOPIC).unwrap_or(destination);
    Frame::new(Command::Subscribe)
        .header(ID, id)
        .header(DESTINATION, destination)
        .header(X_QUEUE_NAME, format!("{QUEUE_PREFIX}{name}"))
        .header(X_QUEUE_TYPE, "stream")
        .header(DURABLE, "true")
        .header(AUTO_DELETE, "false")
        .header(ACK, "client")
        .header(PREFETCH_COUNT, PREFETCH)
        .header(X_MAX_LENGTH_BYTES, max_bytes.to_string())
        .header(X_STREAM_OFFSET, from)
}

fn marker(destination: &str, token: &str) -> Frame {
    Frame::new(Command::Send)
        .header(DESTINATION, destination)
        .header(MARKER, token)
        .header(EPOCH, token)
}

impl Streams {
    /// Client subscription `id` to history `destination`: the frames for the broker.
    /// `stamp` gives unique tokens (markers are stamped messages too).
    pub fn subscribe(
        &mut self,
        id: &str,
        destination: &str,
        receipt: Option<String>,
        recover: Option<Recover>,
        max_bytes: usize,
        stamp: &mut dyn FnMut() -> String,
    ) -> Vec<Frame> {
        let (frames, phase) = match recover {
            Some(recover) if recover.offset >= 1 => {
                let token = stamp();
                let frames = vec![
                    consumer(&probe_id(id), destination, max_bytes, NEXT),
                    marker(destination, &token),
                ];
                (frames, Phase::Probing { token, recover })
            }
            recover if recover.is_some() || receipt.is_some() => {
                let token = stamp();
                let frames = vec![
                    consumer(id, destination, max_bytes, NEXT),
                    marker(destination, &token),
                ];
                let recovering = recover.is_some();
                let phase = Phase::Replaying {
                    token,
                    expect: None,
                    recovering,
                    judged: None,
                };
                (frames, phase)
            }
            _ => (
                vec![consumer(id, destination, max_bytes, NEXT)],
                Phase::Live,
            ),
        };
        let sub = Sub {
            destination: destination.to_owned(),
            max_bytes,
            receipt,
            phase,
        };
        self.subs.insert(id.to_owned(), sub);
        frames
    }

    /// Client subscription `id` ended (whether or not it was a history one); the frames for
    /// the broker besides the client's UNSUBSCRIBE (a probe's own).
    pub fn unsubscribe(&mut self, id: &str) -> Vec<Frame> {
        match self.subs.remove(id) {
            Some(Sub {
                phase: Phase::Probing { .. },
                ..
            }) => vec![Frame::new(Command::Unsubscribe).header(ID, probe_id(id))],
            _ => Vec::new(),
        }
    }

    /// Whether broker subscription `id` is one of these (its MESSAGEs go through
    /// [`Streams::message`]).
    pub fn handles(&self, id: &str) -> bool {
        id.starts_with(PROBE) || self.subs.contains_key(id)
    }

    /// A broker MESSAGE of a history (or probe) subscription.
    pub fn message(&mut self, frame: Frame, stamp: &mut dyn FnMut() -> String) -> Effects {
        let mut fx = Effects::default();
        fx.to_broker.push(ack_for(&frame));
        let Some(id) = frame.get(SUBSCRIPTION).map(str::to_owned) else {
            return fx;
        };
        let position = frame
            .get(X_STREAM_OFFSET)
            .and_then(|o| o.parse::<u64>().ok());
        let stamp_of = frame.get(EPOCH).unwrap_or(UNSTAMPED).to_owned();
        let marker_of = frame.get(MARKER).map(str::to_owned);
        if let Some(client_id) = id.strip_prefix(PROBE) {
            if let (Some(sub), Some(m)) = (self.subs.get_mut(client_id), position) {
                sub.probed(client_id, m, marker_of.as_deref(), &mut fx, stamp);
            }
            return fx;
        }
        let Some(sub) = self.subs.get_mut(&id) else {
            return fx;
        };
        let Some(o) = position else {
            return fx;
        };
        match &mut sub.phase {
            Phase::Probing { .. } => {}
            Phase::Live => {
                if marker_of.is_none() {
                    fx.to_client.push(for_client(frame, o, &stamp_of));
                }
            }
            Phase::Replaying {
                token,
                expect,
                recovering,
                judged,
            } => {
                let this = Some((o, stamp_of.clone()));
                let first = *judged.get_or_insert(*expect == this);
                if marker_of.as_deref() == Some(token.as_str()) {
                    if let Some(r) = sub.receipt.take() {
                        let mut receipt = Frame::new(Command::Receipt).header(RECEIPT_ID, r);
                        if *recovering {
                            receipt = receipt.header(RECOVERED, first.to_string());
                        }
                        receipt = receipt
                            .header(EPOCH, stamp_of)
                            .header(OFFSET, (o + 1).to_string());
                        fx.to_client.push(receipt);
                    }
                    sub.phase = Phase::Live;
                } else if marker_of.is_none() && !(*recovering && (!first || *expect == this)) {
                    fx.to_client.push(for_client(frame, o, &stamp_of));
                }
            }
        }
        fx
    }
}

impl Sub {
    /// A probe MESSAGE at stream offset `m`: at the probe's marker, the real consumer.
    fn probed(
        &mut self,
        id: &str,
        m: u64,
        marker: Option<&str>,
        fx: &mut Effects,
        stamp: &mut dyn FnMut() -> String,
    ) {
        let Phase::Probing { token, recover } = &self.phase else {
            return;
        };
        if marker != Some(token.as_str()) {
            return;
        }
        let last_seen = recover.offset - 1;
        let (from, expect) = if last_seen < m {
            (
                format!("offset={last_seen}"),
                Some((last_seen, recover.epoch.clone())),
            )
        } else {
            (NEXT.to_owned(), None)
        };
        let token = stamp();
        fx.to_broker
            .push(Frame::new(Command::Unsubscribe).header(ID, probe_id(id)));
        fx.to_broker
            .push(consumer(id, &self.destination, self.max_bytes, &from));
        fx.to_broker.push(self::marker(&self.destination, &token));
        self.phase = Phase::Replaying {
            token,
            expect,
            recovering: true,
            judged: None,
        };
    }
}

/// The ACK of a stream MESSAGE (1.2 reads `id`, 1.0 and 1.1 `message-id` and `subscription`).
fn ack_for(frame: &Frame) -> Frame {
    let mut ack = Frame::new(Command::Ack);
    if let Some(a) = frame.get(ACK).or_else(|| frame.get(MESSAGE_ID)) {
        ack = ack.header(ID, a);
    }
    for name in [MESSAGE_ID, SUBSCRIPTION] {
        if let Some(v) = frame.get(name) {
            ack = ack.header(name, v);
        }
    }
    ack
}

/// A stream MESSAGE at stream offset `o` as the client sees it.
fn for_client(mut frame: Frame, o: u64, stamp: &str) -> Frame {
    frame
        .headers
        .retain(|(n, _)| n != X_STREAM_OFFSET && n != ACK && n != OFFSET && n != EPOCH);
    frame
        .header(OFFSET, (o + 1).to_string())
        .header(EPOCH, stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("t{n}")
        }
    }

    fn msg(id: &str, o: u64, stamp: &str, marker: Option<&str>) -> Frame {
        let mut f = Frame::new(Command::Message)
            .header(SUBSCRIPTION, id)
            .header(ACK, format!("a{o}"))
            .header(X_STREAM_OFFSET, o.to_string())
            .header(EPOCH, stamp);
        if let Some(m) = marker {
            f = f.header(MARKER, m);
        }
        f
    }

    fn bodies(fx: &Effects) -> Vec<(Command, Option<String>, Option<String>)> {
        fx.to_client
            .iter()
            .map(|f| {
                (
                    f.command,
                    f.get(OFFSET).map(str::to_owned),
                    f.get(RECOVERED).map(str::to_owned),
                )
            })
            .collect()
    }

    #[test]
    fn only_concrete_topics_under_a_prefix_are_covered() {
        let c = HistoryConfig::default();
        assert!(covers(&c, "/topic/chat"));
        assert!(!covers(&c, "/topic/chat.*"));
        assert!(!covers(&c, "/queue/chat"));
        assert!(!covers(&c, "/topic/"));
    }

    #[test]
    fn a_live_subscription_with_a_receipt_gets_it_at_its_marker() {
        let mut s = Streams::default();
        let mut st = stamps();
        let out = s.subscribe("s", "/topic/x", Some("r".into()), None, 10, &mut st);
        assert_eq!(out[0].get(X_STREAM_OFFSET), Some("next"));
        assert_eq!(out[0].get(X_QUEUE_NAME), Some("history.x"));
        assert_eq!(out[1].get(MARKER), Some("t1"));
        let fx = s.message(msg("s", 4, "p", None), &mut st);
        assert_eq!(
            bodies(&fx),
            vec![(Command::Message, Some("5".into()), None)]
        );
        assert_eq!(fx.to_broker[0].get(ID), Some("a4"));
        let fx = s.message(msg("s", 5, "t1", Some("t1")), &mut st);
        assert_eq!(
            bodies(&fx),
            vec![(Command::Receipt, Some("6".into()), None)]
        );
        let fx = s.message(msg("s", 6, "t9", Some("t9")), &mut st);
        assert!(fx.to_client.is_empty(), "another session's marker");
    }

    #[test]
    fn recovery_replays_after_the_last_seen_message_when_it_matches() {
        let mut s = Streams::default();
        let mut st = stamps();
        let rec = Recover {
            offset: 3,
            epoch: "e2".into(),
        };
        let out = s.subscribe("s", "/topic/x", Some("r".into()), Some(rec), 10, &mut st);
        assert!(out[0].get(ID).unwrap().starts_with(PROBE));
        let fx = s.message(msg(&probe_id("s"), 7, "t1", Some("t1")), &mut st);
        assert_eq!(fx.to_broker[2].get(X_STREAM_OFFSET), Some("offset=2"));
        let mut got = Vec::new();
        for (o, stamp, m) in [(2, "e2", None), (3, "e3", None), (7, "t1", Some("t1"))] {
            got.extend(bodies(&s.message(msg("s", o, stamp, m), &mut st)));
        }
        got.extend(bodies(&s.message(msg("s", 8, "t2", Some("t2")), &mut st)));
        assert_eq!(
            got,
            vec![
                (Command::Message, Some("4".into()), None),
                (Command::Receipt, Some("9".into()), Some("true".into())),
            ]
        );
    }

    #[test]
    fn a_changed_stamp_or_an_offset_past_the_end_is_not_recovered() {
        for (offset, epoch) in [(3, "other"), (50, "e2")] {
            let mut s = Streams::default();
            let mut st = stamps();
            let rec = Recover {
                offset,
                epoch: epoch.into(),
            };
            s.subscribe("s", "/topic/x", Some("r".into()), Some(rec), 10, &mut st);
            s.message(msg(&probe_id("s"), 7, "t1", Some("t1")), &mut st);
            let mut got = Vec::new();
            for (o, stamp, m) in [(2, "e2", None), (3, "e3", None), (8, "t2", Some("t2"))] {
                got.extend(bodies(&s.message(msg("s", o, stamp, m), &mut st)));
            }
            assert_eq!(
                got,
                vec![(Command::Receipt, Some("9".into()), Some("false".into()))]
            );
        }
    }
}
