//! Tests of the in-memory broker through its API, with [`Recorder`] outlets standing in for
//! connections (also used by the connection's tests). Must not: reach into the broker's
//! private state.
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::*;
use crate::stomp::decode::{Decoder, Limits};
use crate::stomp::frame::Frame;

/// Records what a connection would be sent.
#[derive(Default)]
pub(crate) struct Recorder {
    bytes: Mutex<Vec<u8>>,
    closed: Mutex<bool>,
}

impl Recorder {
    /// Every frame sent so far (heart-beats skipped), and forgets them.
    pub(crate) fn take(&self) -> Vec<Frame> {
        let bytes = std::mem::take(&mut *self.bytes.lock());
        let mut d = Decoder::new(Limits::default());
        d.push(&bytes);
        let mut frames = Vec::new();
        while let Ok(Some(f)) = d.next_frame() {
            frames.push(f);
        }
        frames
    }

    /// Bytes sent so far, heart-beats included.
    pub(crate) fn raw(&self) -> Vec<u8> {
        self.bytes.lock().clone()
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.lock()
    }
}

impl Outlet for Recorder {
    fn send(&self, wire: Wire) -> bool {
        self.bytes.lock().extend(wire.to_vec());
        !self.is_closed()
    }

    fn close(&self) {
        *self.closed.lock() = true;
    }
}

fn broker(max_unacked: usize) -> Broker {
    Broker::new(BrokerLimits {
        max_subscriptions: 2,
        max_queue_messages: 3,
        max_unacked,
    })
}

fn member(broker: &Broker, serial: u64) -> Arc<Recorder> {
    let r = Arc::new(Recorder::default());
    broker.join(serial, &format!("user{serial}"), Version::V1_2, r.clone());
    r
}

fn bodies(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| String::from_utf8_lossy(&f.body).into_owned())
        .collect()
}

fn publish(broker: &Broker, key: &Key, body: &'static str) {
    let name = match key {
        Key::Topic(n) | Key::Queue(n) => n.clone(),
    };
    broker.publish(
        key,
        broker.message(&name, Vec::new(), Bytes::from_static(body.as_bytes())),
    );
}

#[test]
fn a_topic_fans_out_to_every_subscriber() {
    let b = broker(10);
    let (one, two) = (member(&b, 1), member(&b, 2));
    let topic = Key::Topic("/topic/a".into());
    b.subscribe(1, "s", topic.clone(), AckMode::Auto).unwrap();
    b.subscribe(2, "s", topic.clone(), AckMode::Auto).unwrap();
    publish(&b, &topic, "hi");
    assert_eq!(bodies(&one.take()), ["hi"]);
    assert_eq!(bodies(&two.take()), ["hi"]);
}

#[test]
fn a_queue_holds_messages_up_to_its_bound_then_gives_each_to_one_consumer() {
    let b = broker(10);
    let (one, two) = (member(&b, 1), member(&b, 2));
    let queue = Key::Queue("/queue/q".into());
    for body in ["m1", "m2", "m3", "m4"] {
        publish(&b, &queue, body);
    }
    b.subscribe(1, "s", queue.clone(), AckMode::Auto).unwrap();
    assert_eq!(
        bodies(&one.take()),
        ["m2", "m3", "m4"],
        "the oldest was dropped"
    );
    b.subscribe(2, "s", queue.clone(), AckMode::Auto).unwrap();
    for body in ["a", "b", "c", "d"] {
        publish(&b, &queue, body);
    }
    assert_eq!(bodies(&one.take()), ["a", "c"]);
    assert_eq!(bodies(&two.take()), ["b", "d"]);
}

#[test]
fn a_nack_redelivers_and_client_acks_are_cumulative() {
    let b = broker(10);
    let one = member(&b, 1);
    let queue = Key::Queue("/queue/q".into());
    b.subscribe(1, "s", queue.clone(), AckMode::Client).unwrap();
    publish(&b, &queue, "m1");
    publish(&b, &queue, "m2");
    let got = one.take();
    assert_eq!(bodies(&got), ["m1", "m2"]);
    let second = got[1].get("ack").unwrap().to_owned();
    b.ack(1, &second, true);
    assert_eq!(
        bodies(&one.take()),
        ["m1", "m2"],
        "both refused, both again"
    );
    let again = second;
    b.ack(1, &again, false);
    b.ack(1, &again, true);
    assert!(one.take().is_empty(), "acked messages are gone");
}

#[test]
fn unacked_messages_go_to_another_consumer_when_their_session_leaves() {
    let b = broker(1);
    let (one, two) = (member(&b, 1), member(&b, 2));
    let queue = Key::Queue("/queue/q".into());
    b.subscribe(1, "s", queue.clone(), AckMode::ClientIndividual)
        .unwrap();
    publish(&b, &queue, "m1");
    publish(&b, &queue, "m2");
    assert_eq!(bodies(&one.take()), ["m1"], "one unacked at most");
    b.subscribe(2, "s", queue.clone(), AckMode::Auto).unwrap();
    assert_eq!(bodies(&two.take()), ["m2"]);
    b.leave(1);
    assert_eq!(bodies(&two.take()), ["m1"]);
}

#[test]
fn subscription_ids_are_unique_and_bounded() {
    let b = broker(10);
    let _one = member(&b, 1);
    let t = |n: &str| Key::Topic(n.into());
    b.subscribe(1, "a", t("/topic/a"), AckMode::Auto).unwrap();
    assert_eq!(
        b.subscribe(1, "a", t("/topic/b"), AckMode::Auto),
        Err(BrokerError::DuplicateSubscription("a".into()))
    );
    b.subscribe(1, "b", t("/topic/b"), AckMode::Auto).unwrap();
    assert_eq!(
        b.subscribe(1, "c", t("/topic/c"), AckMode::Auto),
        Err(BrokerError::TooManySubscriptions(2))
    );
    assert_eq!(
        b.unsubscribe(1, "x"),
        Err(BrokerError::NoSubscription("x".into()))
    );
    assert_eq!(
        b.subscribe(9, "a", t("/topic/a"), AckMode::Auto),
        Err(BrokerError::NotJoined)
    );
}

#[test]
fn users_map_to_their_sessions_until_they_leave() {
    let b = broker(10);
    let _one = member(&b, 1);
    assert_eq!(b.sessions_of("user1"), vec![1]);
    b.leave(1);
    assert!(b.sessions_of("user1").is_empty());
}

#[test]
fn wildcard_topic_subscriptions_get_each_match_once_per_subscription_with_the_published_destination()
 {
    let b = Broker::new(BrokerLimits {
        max_subscriptions: 8,
        max_queue_messages: 3,
        max_unacked: 10,
    });
    let (one, two) = (member(&b, 1), member(&b, 2));
    let t = |n: &str| Key::Topic(n.into());
    b.subscribe(1, "star", t("/topic/chat.*"), AckMode::Auto)
        .unwrap();
    b.subscribe(1, "hash", t("/topic/chat.#"), AckMode::Auto)
        .unwrap();
    b.subscribe(2, "exact", t("/topic/chat.a"), AckMode::Auto)
        .unwrap();
    b.subscribe(2, "all", t("/topic/#"), AckMode::Auto).unwrap();
    for name in [
        "/topic/chat",
        "/topic/chat.a",
        "/topic/chat.a.b",
        "/topic/other",
    ] {
        publish(&b, &t(name), "m");
    }
    let seen = |frames: Vec<Frame>| {
        let mut seen: Vec<(String, String)> = frames
            .iter()
            .map(|f| {
                let field = |h| f.get(h).unwrap_or_default().to_owned();
                (field("subscription"), field("destination"))
            })
            .collect();
        seen.sort();
        seen
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(s, d)| ((*s).to_owned(), (*d).to_owned()))
            .collect()
    };
    assert_eq!(
        seen(one.take()),
        pairs(&[
            ("hash", "/topic/chat"),
            ("hash", "/topic/chat.a"),
            ("hash", "/topic/chat.a.b"),
            ("star", "/topic/chat.a"),
        ])
    );
    assert_eq!(
        seen(two.take()),
        pairs(&[
            ("all", "/topic/chat"),
            ("all", "/topic/chat.a"),
            ("all", "/topic/chat.a.b"),
            ("all", "/topic/other"),
            ("exact", "/topic/chat.a"),
        ])
    );
    b.unsubscribe(1, "hash").unwrap();
    b.leave(2);
    publish(&b, &t("/topic/chat.*"), "literal");
    assert_eq!(
        seen(one.take()),
        pairs(&[("star", "/topic/chat.*")]),
        "a published `*` is a literal word, which `*` matches"
    );
    assert!(two.take().is_empty());
}
