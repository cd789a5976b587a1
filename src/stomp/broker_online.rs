//! What the in-memory broker tells the user registry ([`crate::stomp::online`]): its users,
//! their sessions and subscriptions, copied out under the broker's lock. A child of `broker`,
//! to read its private state; must not change it.

use super::{Broker, Key, OWN_KEY};
use crate::stomp::destination::{QUEUE_PREFIX, TOPIC_PREFIX, USER_PREFIX};
use crate::stomp::online::OnlineSession;

impl Key {
    /// The destination a subscription to this key asked for: its name, or `/user{path}` for
    /// a session's own user destination.
    pub fn destination(&self) -> String {
        let (Key::Topic(name) | Key::Queue(name)) = self;
        match name.strip_prefix(OWN_KEY).and_then(|k| k.split_once(':')) {
            Some((_, path)) => format!("{}{path}", USER_PREFIX.trim_end_matches('/')),
            None => name.clone(),
        }
    }
}

impl Broker {
    /// Every joined session (or only those of user `only`) with its user name.
    pub(crate) fn online(&self, only: Option<&str>) -> Vec<(String, OnlineSession)> {
        let state = self.state.lock();
        let serials: Vec<u64> = match only {
            Some(name) => state
                .users
                .get(name)
                .into_iter()
                .flatten()
                .copied()
                .collect(),
            None => state.members.keys().copied().collect(),
        };
        serials
            .into_iter()
            .filter_map(|serial| {
                let member = state.members.get(&serial)?;
                let subscriptions = member
                    .subs
                    .iter()
                    .map(|(id, sub)| (id.clone(), sub.key.destination()))
                    .collect();
                let session = OnlineSession::new(serial.to_string(), Some(serial), subscriptions);
                Some((member.user.clone(), session))
            })
            .collect()
    }

    /// How many users have a session joined.
    pub(crate) fn user_count(&self) -> usize {
        self.state.lock().users.len()
    }

    /// How many subscriptions a message published to `destination` reaches (a queue's
    /// competing consumers all count; a session's own `/user/...` subscriptions count by the
    /// destination they asked for).
    pub(crate) fn subscriber_count(&self, destination: &str) -> usize {
        let state = self.state.lock();
        if destination.starts_with(TOPIC_PREFIX) {
            return state.topic_subscribers(destination).count();
        }
        if destination.starts_with(QUEUE_PREFIX) {
            return state
                .queues
                .get(destination)
                .map_or(0, |q| q.consumers.len());
        }
        let subs = state.members.values().flat_map(|m| m.subs.values());
        subs.filter(|s| s.key.destination() == destination).count()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;

    use super::super::tests::Recorder;
    use super::super::{Broker, BrokerLimits, Key};
    use crate::stomp::command::AckMode;
    use crate::stomp::destination::{QUEUE_PREFIX, TOPIC_PREFIX, reaches};
    use crate::stomp::frame::Version;
    use crate::stomp::online::{OnlineSession, OnlineUser, group};

    /// Destinations the churn subscribes to: exact and wildcard topics, a queue, an own one.
    const DESTINATIONS: [&str; 8] = [
        "/topic/chat",
        "/topic/chat.a",
        "/topic/chat.a.b",
        "/topic/chat.*",
        "/topic/chat.#",
        "/topic/#",
        "/queue/work",
        "/user/queue/inbox",
    ];

    /// A small deterministic generator (xorshift64*): the churn is the same on every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    /// What the registry must say: serial -> (user, subscription id -> destination).
    type Model = BTreeMap<u64, (String, BTreeMap<String, String>)>;

    fn key(serial: u64, destination: &str) -> Key {
        match destination.strip_prefix("/user") {
            Some(path) => Key::own(serial, path),
            None if destination.starts_with(QUEUE_PREFIX) => Key::Queue(destination.into()),
            None => Key::Topic(destination.into()),
        }
    }

    fn expected(model: &Model) -> Vec<OnlineUser> {
        let sessions = model.iter().map(|(serial, (user, subs))| {
            let subs = subs.iter().map(|(i, d)| (i.clone(), d.clone())).collect();
            let session = OnlineSession::new(serial.to_string(), Some(*serial), subs);
            (user.clone(), session)
        });
        group(sessions.collect())
    }

    fn check(broker: &Broker, model: &Model) {
        let users = group(broker.online(None));
        assert_eq!(users, expected(model));
        let names: std::collections::BTreeSet<_> = model.values().map(|(u, _)| u).collect();
        assert_eq!(broker.user_count(), names.len());
        if let Some(name) = names.iter().next() {
            let one = group(broker.online(Some(name)));
            assert_eq!(one.len(), 1);
            assert_eq!(Some(&one[0]), users.iter().find(|u| &u.name == *name));
        }
        for destination in DESTINATIONS
            .iter()
            .chain(&["/topic/other", "/topic/chat.x.y"])
        {
            let subs = model.values().flat_map(|(_, s)| s.values());
            let want = match destination.starts_with(TOPIC_PREFIX) {
                true => subs.filter(|d| reaches(d, destination)).count(),
                false => subs.filter(|d| d == destination).count(),
            };
            assert_eq!(broker.subscriber_count(destination), want, "{destination}");
        }
    }

    #[test]
    fn a_thousand_sessions_joining_subscribing_and_leaving_in_random_order_are_counted_exactly() {
        let broker = Broker::new(BrokerLimits {
            max_subscriptions: 16,
            max_queue_messages: 10,
            max_unacked: 10,
        });
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let mut model = Model::new();
        let mut outlets = HashMap::new();
        let (mut next_serial, mut left, mut steps) = (1u64, 0, 0);
        while left < 1000 {
            steps += 1;
            let online: Vec<u64> = model.keys().copied().collect();
            let pick = online.get(rng.below(online.len().max(1))).copied();
            match (rng.below(10), pick) {
                (0..=2, _) | (_, None) if next_serial <= 1000 => {
                    let (serial, user) = (next_serial, format!("user{}", rng.below(40)));
                    next_serial += 1;
                    let outlet = Arc::new(Recorder::default());
                    broker.join(serial, &user, Version::V1_2, outlet.clone());
                    outlets.insert(serial, outlet);
                    model.insert(serial, (user, BTreeMap::new()));
                }
                (3..=6, Some(serial)) => {
                    let id = format!("s{}", rng.below(6));
                    let destination = DESTINATIONS[rng.below(DESTINATIONS.len())];
                    let result =
                        broker.subscribe(serial, &id, key(serial, destination), AckMode::Auto);
                    let subs = &mut model.get_mut(&serial).expect("online").1;
                    assert_eq!(result.is_ok(), !subs.contains_key(&id), "{id} on {serial}");
                    subs.entry(id).or_insert_with(|| destination.to_owned());
                }
                (7, Some(serial)) => {
                    let id = format!("s{}", rng.below(6));
                    let subs = &mut model.get_mut(&serial).expect("online").1;
                    assert_eq!(
                        broker.unsubscribe(serial, &id).is_ok(),
                        subs.remove(&id).is_some()
                    );
                }
                (_, Some(serial)) => {
                    broker.leave(serial);
                    outlets.remove(&serial);
                    model.remove(&serial);
                    left += 1;
                }
                (_, None) => unreachable!("every session joined and left"),
            }
            if steps % 37 == 0 {
                check(&broker, &model);
            }
        }
        assert!(model.is_empty());
        check(&broker, &model);
        assert!(broker.online(None).is_empty());
    }

    #[test]
    fn own_subscriptions_are_listed_by_the_destination_the_client_asked_for() {
        let broker = Broker::new(BrokerLimits {
            max_subscriptions: 4,
            max_queue_messages: 10,
            max_unacked: 10,
        });
        broker.join(7, "ann", Version::V1_2, Arc::new(Recorder::default()));
        broker
            .subscribe(7, "x", Key::own(7, "/queue/inbox"), AckMode::Auto)
            .unwrap();
        let ann = group(broker.online(Some("ann")));
        assert_eq!(
            ann[0].sessions[0].subscriptions[0].destination,
            "/user/queue/inbox"
        );
        assert_eq!(broker.subscriber_count("/user/queue/inbox"), 1);
        assert!(broker.online(Some("bob")).is_empty());
    }
}
