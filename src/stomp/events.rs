//! Lifecycle events of STOMP sessions (Spring's `SessionConnectedEvent`,
//! `SessionSubscribeEvent`, `SessionUnsubscribeEvent`, `SessionDisconnectEvent`), given to
//! the listeners registered with [`StompBuilder::on_event`](super::StompBuilder::on_event).
//!
//! Per connection: [`Event::Connected`] once the CONNECT is accepted, then its
//! [`Event::Subscribed`] and [`Event::Unsubscribed`] in the order their frames came, then
//! exactly one [`Event::Disconnected`] (DISCONNECT, an ERROR that closes it, the transport
//! going away, or shutdown). A connection that never connected has no events. Only an
//! explicit UNSUBSCRIBE gives [`Event::Unsubscribed`]: the subscriptions a disconnect ends
//! give none, only the [`Event::Disconnected`] (as in Spring).
//!
//! Listeners are called synchronously, in the order added, on the connection's own task or
//! session actor, between two of its frames: they must not block (hand slow work to a
//! channel or a task).
//!
//! Owns: the [`Event`] type and the listener list. Must not: decide when events happen (the
//! connection does).

use super::auth::Principal;

/// One STOMP session's lifecycle event.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The CONNECT was accepted (in relay mode: the client's broker connection is opening).
    Connected {
        /// The connection's serial (the CONNECTED `session` header without the relay).
        serial: u64,
        /// The principal's name.
        user: String,
    },
    /// A SUBSCRIBE was accepted (an `/app` subscription answered by a subscribe route too).
    Subscribed {
        /// The connection's serial.
        serial: u64,
        /// The principal's name.
        user: String,
        /// The subscription id.
        id: String,
        /// The destination subscribed to.
        destination: String,
    },
    /// An UNSUBSCRIBE was accepted.
    Unsubscribed {
        /// The connection's serial.
        serial: u64,
        /// The principal's name.
        user: String,
        /// The subscription id.
        id: String,
        /// The destination it was subscribed to (empty if the connection did not see the
        /// SUBSCRIBE).
        destination: String,
    },
    /// The connection ended, whatever the cause; the last event of a connection.
    Disconnected {
        /// The connection's serial.
        serial: u64,
        /// The principal's name.
        user: String,
    },
}

impl Event {
    /// The connection's serial.
    pub fn serial(&self) -> u64 {
        match self {
            Event::Connected { serial, .. }
            | Event::Subscribed { serial, .. }
            | Event::Unsubscribed { serial, .. }
            | Event::Disconnected { serial, .. } => *serial,
        }
    }

    /// The event's name, as the `stomp_events` metric labels it: `connected`,
    /// `subscribed`, `unsubscribed` or `disconnected`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Connected { .. } => "connected",
            Event::Subscribed { .. } => "subscribed",
            Event::Unsubscribed { .. } => "unsubscribed",
            Event::Disconnected { .. } => "disconnected",
        }
    }

    /// The principal's name.
    pub fn user(&self) -> &str {
        match self {
            Event::Connected { user, .. }
            | Event::Subscribed { user, .. }
            | Event::Unsubscribed { user, .. }
            | Event::Disconnected { user, .. } => user,
        }
    }
}

/// A lifecycle event listener.
pub(crate) type Listener = Box<dyn Fn(&Event) + Send + Sync>;

/// The listeners of a service, in the order added.
#[derive(Default)]
pub(crate) struct Listeners(Vec<Listener>);

impl Listeners {
    /// Adds a listener after the others.
    pub(crate) fn add(&mut self, listener: Listener) {
        self.0.push(listener);
    }

    /// Counts the event `make` builds for `principal` of connection `serial` (the
    /// `stomp_events` metric) and gives it to each listener.
    pub(crate) fn emit(
        &self,
        serial: u64,
        principal: &Principal,
        make: impl FnOnce(u64, String) -> Event,
    ) {
        let event = make(serial, principal.name.clone());
        crate::metrics::global().stomp_event(event.name());
        for listener in &self.0 {
            listener(&event);
        }
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn listeners_run_in_the_order_added_and_an_event_names_its_session() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut listeners = Listeners::default();
        for n in 0..2 {
            let seen = Arc::clone(&seen);
            listeners.add(Box::new(move |e: &Event| {
                seen.lock()
                    .unwrap()
                    .push((n, e.serial(), e.user().to_owned()));
            }));
        }
        let alice = Principal {
            name: "alice".into(),
            anonymous: false,
        };
        listeners.emit(7, &alice, |serial, user| Event::Connected { serial, user });
        assert_eq!(
            *seen.lock().unwrap(),
            [(0, 7, "alice".to_owned()), (1, 7, "alice".to_owned())]
        );
    }
}
