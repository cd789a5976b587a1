//! What a connected client's frames become in relay mode: destinations under the relay
//! prefixes go to its own [`BrokerConnection`] as they are; `/app` SENDs run the local
//! handlers (their replies and errors go through the relay's system connection, see
//! [`Dispatch`]; `/app` SUBSCRIBEs to subscribe routes are answered by the connection
//! before it gets here); `/user/{name}/...` SENDs become one SEND per session of `name` on any node;
//! `/user/queue/x` SUBSCRIBEs become the session's own broker queue. ACK, NACK,
//! transactions, UNSUBSCRIBE and DISCONNECT are relayed.
//!
//! Owns: the per-frame relay decision. Must not: do I/O itself (the broker connection does).

use std::sync::Arc;

use super::broker_connection::BrokerConnection;
use super::route::{self, OWN_QUEUE_HEADERS};
use super::stream;
use super::{Relay, RelayError};
use crate::stomp::app::AppContext;
use crate::stomp::auth::{Action, Principal};
use crate::stomp::broker::BrokerError;
use crate::stomp::command::{ClientCommand, Request};
use crate::stomp::destination::{DestinationError, QUEUE_PREFIX, Target, classify};
use crate::stomp::error::StompError;
use crate::stomp::frame::{Frame, Version};
use crate::stomp::headers::{DESTINATION, RECEIPT};
use crate::stomp::message::Outlet;
use crate::stomp::reply::Dispatch;
use crate::stomp::shared::Shared;

/// What became of a client frame in relay mode, for the connection to act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Relayed to the broker, which answers any receipt.
    Relayed,
    /// Handled here (an `/app` or `/user/{name}` SEND): the connection answers the receipt,
    /// if any.
    Local(Option<String>),
    /// A DISCONNECT without a receipt, relayed: the connection closes now.
    Close,
}

/// What a frame is judged against.
pub(crate) struct Context<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) relay: &'a Relay,
    pub(crate) serial: u64,
    pub(crate) principal: &'a Principal,
    pub(crate) version: Version,
}

impl Context<'_> {
    fn authorize(&self, action: Action, destination: &str) -> Result<(), StompError> {
        let allowed = self
            .shared
            .authorizer
            .allows(self.principal, action, destination);
        allowed
            .then_some(())
            .ok_or_else(|| StompError::Forbidden(destination.to_owned()))
    }
}

/// A connected client's relay state.
pub(crate) struct Relayed {
    broker_connection: BrokerConnection,
    session: String,
}

impl Relayed {
    /// Opens the broker connection for a client whose CONNECT had `headers`.
    pub(crate) fn open(
        relay: &Relay,
        serial: u64,
        principal: &Principal,
        headers: &[(String, String)],
        outlet: Arc<dyn Outlet>,
        version: Version,
    ) -> Result<Relayed, StompError> {
        let config = &relay.inner().config;
        let client = Frame {
            command: crate::stomp::frame::Command::Connect,
            headers: headers.to_vec(),
            body: bytes::Bytes::new(),
        };
        let login = config
            .client_login
            .as_ref()
            .map(|(l, p)| (l.as_str(), p.as_str()));
        let connect = route::broker_connect(&client, &config.virtual_host, login);
        let broker_connection = BrokerConnection::open(
            relay.inner(),
            &connect,
            principal.name.clone(),
            outlet,
            version,
        )?;
        relay.join(serial, &principal.name);
        Ok(Relayed {
            broker_connection,
            session: relay.session_id(serial),
        })
    }

    /// A heart-beat to the broker in lieu of client bytes that relayed nothing.
    pub(crate) fn heartbeat(&self) {
        self.broker_connection.heartbeat();
    }

    fn relay(&self, frame: &Frame, version: Version) -> Result<Outcome, StompError> {
        self.broker_connection.send(frame, version)?;
        Ok(Outcome::Relayed)
    }

    /// Handles one client frame, `request` being what it asks.
    pub(crate) fn handle(
        &mut self,
        frame: Frame,
        request: Request,
        cx: &Context<'_>,
    ) -> Result<Outcome, StompError> {
        let Request { receipt, command } = request;
        match command {
            ClientCommand::Connect(_) => Err(StompError::AlreadyConnected),
            ClientCommand::Disconnect => {
                self.broker_connection.send(&frame, cx.version)?;
                match receipt {
                    Some(_) => {
                        self.broker_connection.disconnecting();
                        Ok(Outcome::Relayed)
                    }
                    None => Ok(Outcome::Close),
                }
            }
            ClientCommand::Send(send) => {
                cx.authorize(Action::Send, &send.destination)?;
                self.send(frame, &send.destination, receipt, cx)
            }
            ClientCommand::Subscribe(subscribe) => {
                cx.authorize(Action::Subscribe, &subscribe.destination)?;
                // The bound the in-memory broker keeps; here it also bounds what the user
                // registry tracks of this session.
                let max = cx.shared.config.max_subscriptions;
                if cx.relay.subscriptions(cx.serial) >= max {
                    return Err(BrokerError::TooManySubscriptions(max).into());
                }
                let outcome = match history(cx, &subscribe.destination) {
                    Some(max_bytes) => {
                        self.broker_connection.history_subscribe(
                            &subscribe.id,
                            &subscribe.destination,
                            receipt,
                            subscribe.recover,
                            max_bytes,
                            cx.version,
                        )?;
                        Outcome::Relayed
                    }
                    None => self.subscribe(frame, &subscribe.destination, &subscribe.id, cx)?,
                };
                cx.relay
                    .subscribed(cx.serial, &subscribe.id, &subscribe.destination);
                Ok(outcome)
            }
            ClientCommand::Unsubscribe(id) => {
                self.broker_connection.unsubscribed(&id, cx.version)?;
                cx.relay.unsubscribed(cx.serial, &id);
                self.relay(&frame, cx.version)
            }
            _ => self.relay(&frame, cx.version),
        }
    }

    fn send(
        &self,
        frame: Frame,
        destination: &str,
        receipt: Option<String>,
        cx: &Context<'_>,
    ) -> Result<Outcome, StompError> {
        if cx.relay.relays(destination) {
            if history(cx, destination).is_some() {
                let frame = stream::stamped(frame, &self.broker_connection.stamp());
                return self.relay(&frame, cx.version);
            }
            return self.relay(&frame, cx.version);
        }
        let shared = cx.shared;
        match classify(destination, &shared.config.app_prefix)? {
            Target::App(path) => {
                let dispatch = Dispatch {
                    router: &shared.router,
                    context: AppContext::new(&shared.broker, cx.serial, cx.principal)
                        .relayed(Some(cx.relay)),
                    error_destination: shared.config.error_destination.as_deref(),
                };
                dispatch.send(destination, path, &frame.headers, &frame.body)?;
            }
            Target::User(name, path) => {
                let frame = route::without_header(frame, RECEIPT);
                for session in cx.relay.sessions_of(name) {
                    let target = route::user_target(path, &session);
                    self.broker_connection.send(
                        &route::with_header(frame.clone(), DESTINATION, &target),
                        cx.version,
                    )?;
                }
            }
            Target::Own(_) | Target::Topic(_) | Target::Queue(_) => {
                return Err(DestinationError::WrongUse(destination.to_owned(), "SEND").into());
            }
        }
        Ok(Outcome::Local(receipt))
    }

    fn subscribe(
        &self,
        frame: Frame,
        destination: &str,
        id: &str,
        cx: &Context<'_>,
    ) -> Result<Outcome, StompError> {
        if cx.relay.relays(destination) {
            return self.relay(&frame, cx.version);
        }
        match classify(destination, &cx.shared.config.app_prefix)? {
            Target::Own(path) => {
                let own = route::own_destination(path, &self.session);
                let mut frame = route::with_header(frame, DESTINATION, &own);
                if path.starts_with(QUEUE_PREFIX) {
                    for (name, value) in OWN_QUEUE_HEADERS {
                        frame = route::with_header(frame, name, value);
                    }
                }
                self.broker_connection.own_subscription(id, destination);
                self.relay(&frame, cx.version)
            }
            _ => Err(DestinationError::WrongUse(destination.to_owned(), "SUBSCRIBE").into()),
        }
    }
}

/// With history on, the stream retention (`max_bytes`) of relayed history `destination`.
fn history(cx: &Context<'_>, destination: &str) -> Option<usize> {
    let config = cx.shared.config.history.as_ref()?;
    (cx.relay.relays(destination) && stream::covers(config, destination))
        .then_some(config.max_bytes)
}

impl From<RelayError> for StompError {
    fn from(e: RelayError) -> Self {
        StompError::Relay(e)
    }
}
