//! Where the in-memory broker keeps topic subscriptions: exact names in one map (a hash
//! lookup per publish), RabbitMQ-style wildcard patterns (`/topic/a.*`, `/topic/a.#`, see
//! [`topic_matches`]) in another, checked on every topic publish. A child of `broker`, to
//! reach its state; must not send or take the lock (its callers hold it).

use std::collections::HashMap;

use super::{State, SubKey};
use crate::stomp::destination::{TOPIC_PREFIX, topic_matches, topic_wildcard};

impl State {
    /// Where topic subscriptions to `name` live: the wildcard map for `/topic/` names with a
    /// `*` or `#` word, else the exact one.
    pub(super) fn topic_map(&mut self, name: &str) -> &mut HashMap<String, Vec<SubKey>> {
        match topic_wildcard(name) {
            Some(_) => &mut self.wildcards,
            None => &mut self.topics,
        }
    }

    /// Every subscription a message published to topic `name` goes to, once each: the exact
    /// ones, then the wildcard ones whose pattern matches (a name with `*` or `#` in it is a
    /// literal name here, as a RabbitMQ routing key is).
    pub(super) fn topic_subscribers<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a SubKey> {
        let routing_key = name.strip_prefix(TOPIC_PREFIX);
        let wildcards = routing_key.into_iter().flat_map(|key| {
            self.wildcards.iter().filter_map(move |(pattern, subs)| {
                let pattern = pattern.strip_prefix(TOPIC_PREFIX).unwrap_or_default();
                topic_matches(pattern, key).then_some(subs)
            })
        });
        self.topics.get(name).into_iter().chain(wildcards).flatten()
    }
}
