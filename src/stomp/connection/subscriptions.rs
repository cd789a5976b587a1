//! A connection's subscriptions as the connection sees them, in both modes: each open id's
//! destination (for [`Event::Unsubscribed`]), and which ids a subscribe route answered
//! (Spring's `@SubscribeMapping`: no broker subscription, so their UNSUBSCRIBE is answered
//! here and does nothing). Also where SUBSCRIBEs to `/app` destinations that a subscribe
//! route serves are answered, and presence SUBSCRIBEs (`/presence/...`, handed to
//! [`crate::stomp::presence`]), and where subscribe and unsubscribe events come from.
//!
//! Owns: the id -> destination table (at most `max_subscriptions` ids) and the answering of
//! `/app` SUBSCRIBEs. Must not: subscribe anything in the broker or the relay (the local and
//! relayed paths do).

use std::collections::HashMap;
use std::sync::Arc;

use super::Connection;
use crate::stomp::app::AppContext;
use crate::stomp::auth::Action;
use crate::stomp::broker::BrokerError;
use crate::stomp::command::{ClientCommand, Subscribe};
use crate::stomp::destination::{DestinationError, Target, classify};
use crate::stomp::error::StompError;
use crate::stomp::events::Event;
use crate::stomp::frame::Version;
use crate::stomp::presence;
use crate::stomp::reply::Dispatch;

/// One open subscription.
struct Open {
    destination: String,
    /// Answered by a subscribe route: no broker subscription behind it.
    answered: bool,
}

/// The open subscriptions of one connection, by id.
pub(super) struct Subscriptions {
    open: HashMap<String, Open>,
    max: usize,
}

impl Subscriptions {
    /// None open; at most `max` at once.
    pub(super) fn new(max: usize) -> Self {
        Subscriptions {
            open: HashMap::new(),
            max,
        }
    }

    /// Whether a new subscription `id` may open.
    fn admits(&self, id: &str) -> Result<(), BrokerError> {
        if self.open.contains_key(id) {
            return Err(BrokerError::DuplicateSubscription(id.to_owned()));
        }
        if self.open.len() >= self.max {
            return Err(BrokerError::TooManySubscriptions(self.max));
        }
        Ok(())
    }

    fn is_answered(&self, id: &str) -> bool {
        self.open.get(id).is_some_and(|o| o.answered)
    }
}

/// A SUBSCRIBE or UNSUBSCRIBE to note once it succeeded.
pub(super) enum Change {
    /// Subscribed `id` to `destination`.
    Subscribed { id: String, destination: String },
    /// Unsubscribed `id`.
    Unsubscribed(String),
    /// Anything else.
    None,
}

impl Change {
    /// What `command` will change if it succeeds.
    pub(super) fn of(command: &ClientCommand) -> Change {
        match command {
            ClientCommand::Subscribe(s) => Change::Subscribed {
                id: s.id.clone(),
                destination: s.destination.clone(),
            },
            ClientCommand::Unsubscribe(id) => Change::Unsubscribed(id.clone()),
            _ => Change::None,
        }
    }
}

impl Connection {
    /// Checks that a SUBSCRIBE relayed to the broker may open (the relay's own limit).
    pub(super) fn admits(&self, command: &ClientCommand) -> Result<(), StompError> {
        match command {
            ClientCommand::Subscribe(s) => Ok(self.subscriptions.admits(&s.id)?),
            _ => Ok(()),
        }
    }

    /// Notes a SUBSCRIBE or UNSUBSCRIBE that succeeded, and tells the listeners.
    pub(super) fn track(&mut self, change: Change) {
        match change {
            Change::Subscribed { id, destination } => self.opened(id, destination, false),
            Change::Unsubscribed(id) => self.unsubscribed(&id),
            Change::None => {}
        }
    }

    fn opened(&mut self, id: String, destination: String, answered: bool) {
        let Ok(principal) = self.principal() else {
            return;
        };
        self.shared
            .hooks
            .listeners
            .emit(self.serial, principal, |serial, user| Event::Subscribed {
                serial,
                user,
                id: id.clone(),
                destination: destination.clone(),
            });
        let open = Open {
            destination,
            answered,
        };
        self.subscriptions.open.insert(id, open);
    }

    fn unsubscribed(&mut self, id: &str) {
        let destination = self
            .subscriptions
            .open
            .remove(id)
            .map(|o| o.destination)
            .unwrap_or_default();
        let Ok(principal) = self.principal() else {
            return;
        };
        self.shared
            .hooks
            .listeners
            .emit(self.serial, principal, |serial, user| Event::Unsubscribed {
                serial,
                user,
                id: id.to_owned(),
                destination,
            });
    }

    /// Handles here, in both modes, a SUBSCRIBE to an `/app` destination that a subscribe
    /// route serves, and the UNSUBSCRIBE of one it answered; false for any other command.
    pub(super) fn answer(&mut self, command: &ClientCommand) -> Result<bool, StompError> {
        match command {
            ClientCommand::Subscribe(subscribe) => self.answer_subscribe(subscribe),
            ClientCommand::Unsubscribe(id) if self.subscriptions.is_answered(id) => {
                self.unsubscribed(id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn answer_subscribe(&mut self, subscribe: &Subscribe) -> Result<bool, StompError> {
        let shared = Arc::clone(&self.shared);
        if let Some(hub) = &shared.presence
            && let Some(destination) = presence::watched(&subscribe.destination)
        {
            if !hub.tracks(destination) {
                let unknown = DestinationError::Unknown(subscribe.destination.clone());
                return Err(unknown.into());
            }
            self.authorize(Action::Subscribe, &subscribe.destination)?;
            self.subscriptions.admits(&subscribe.id)?;
            let version = self.version().unwrap_or(Version::V1_2);
            let outlet = Arc::clone(&self.outlet);
            hub.watch(self.serial, &subscribe.id, outlet, version, destination);
            self.opened(subscribe.id.clone(), subscribe.destination.clone(), true);
            return Ok(true);
        }
        let Ok(Target::App(path)) = classify(&subscribe.destination, &shared.config.app_prefix)
        else {
            return Ok(false);
        };
        if !shared.router.answers_subscribe(path) {
            return Ok(false);
        }
        self.authorize(Action::Subscribe, &subscribe.destination)?;
        self.subscriptions.admits(&subscribe.id)?;
        let dispatch = Dispatch {
            router: &shared.router,
            context: AppContext::new(&shared.broker, self.serial, self.principal()?)
                .relayed(shared.relay.as_ref()),
            error_destination: shared.config.error_destination.as_deref(),
        };
        let version = self.version().unwrap_or(Version::V1_2);
        let headers = Vec::new();
        if let Some(result) = dispatch.subscribe(subscribe, path, &headers, &*self.outlet, version)
        {
            result?;
        }
        self.opened(subscribe.id.clone(), subscribe.destination.clone(), true);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_and_too_many_subscriptions_are_refused() {
        let mut s = Subscriptions::new(1);
        assert_eq!(s.admits("a"), Ok(()));
        s.open.insert(
            "a".into(),
            Open {
                destination: "/app/x".into(),
                answered: true,
            },
        );
        assert!(s.is_answered("a") && !s.is_answered("b"));
        assert_eq!(
            s.admits("a"),
            Err(BrokerError::DuplicateSubscription("a".into()))
        );
        assert_eq!(s.admits("b"), Err(BrokerError::TooManySubscriptions(1)));
    }
}
