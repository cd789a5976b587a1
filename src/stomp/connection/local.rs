//! What a connected client's commands do with the in-memory broker (no relay): SEND to
//! topics, queues, users and `/app` handlers (see [`Dispatch`] for their replies and
//! errors); SUBSCRIBE and UNSUBSCRIBE; ACK and NACK; and
//! BEGIN, COMMIT and ABORT over the connection's
//! [`Transactions`](super::transactions::Transactions).
//!
//! Owns: the meaning of each local command, after authorization. Must not: parse frames
//! (the command module has), write to the outlet (the connection answers receipts), or touch
//! the relay.

use std::sync::Arc;

use super::Connection;
use super::transactions::Pending;
use crate::stomp::app::AppContext;
use crate::stomp::auth::Action;
use crate::stomp::broker::Key;
use crate::stomp::command::{self, Ack, ClientCommand, Subscribe};
use crate::stomp::destination::{DestinationError, Target, classify};
use crate::stomp::error::StompError;
use crate::stomp::reply::Dispatch;

impl Connection {
    /// Applies a command of a connected client (CONNECT and DISCONNECT are the connection's);
    /// the headers its RECEIPT carries besides `receipt-id` (a SUBSCRIBE's history report).
    pub(super) fn apply(
        &mut self,
        command: ClientCommand,
    ) -> Result<Vec<(String, String)>, StompError> {
        let shared = Arc::clone(&self.shared);
        let broker = &shared.broker;
        match command {
            ClientCommand::Send(send) => {
                self.authorize(Action::Send, &send.destination)?;
                match send.transaction.clone() {
                    Some(tx) => self.transactions.hold(&tx, Pending::Send(send))?,
                    None => self.send(send)?,
                }
            }
            ClientCommand::Subscribe(subscribe) => return self.subscribe(subscribe),
            ClientCommand::Unsubscribe(id) => broker.unsubscribe(self.serial, &id)?,
            ClientCommand::Ack(ack) => self.ack(ack, false)?,
            ClientCommand::Nack(ack) => self.ack(ack, true)?,
            ClientCommand::Begin(tx) => self.transactions.begin(tx)?,
            ClientCommand::Commit(tx) => {
                for op in self.transactions.commit(tx)? {
                    match op {
                        Pending::Send(send) => self.send(send)?,
                        Pending::Ack(ack, nack) => broker.ack(self.serial, &ack.id, nack),
                    }
                }
            }
            ClientCommand::Abort(tx) => self.transactions.abort(tx)?,
            ClientCommand::Disconnect | ClientCommand::Connect(_) => {}
        }
        Ok(Vec::new())
    }

    fn ack(&mut self, ack: Ack, nack: bool) -> Result<(), StompError> {
        match ack.transaction.clone() {
            Some(tx) => self.transactions.hold(&tx, Pending::Ack(ack, nack)),
            None => {
                self.shared.broker.ack(self.serial, &ack.id, nack);
                Ok(())
            }
        }
    }

    pub(super) fn authorize(&self, action: Action, destination: &str) -> Result<(), StompError> {
        let allowed = self
            .shared
            .authorizer
            .allows(self.principal()?, action, destination);
        allowed
            .then_some(())
            .ok_or_else(|| StompError::Forbidden(destination.to_owned()))
    }

    fn send(&self, send: command::Send) -> Result<(), StompError> {
        let shared = &self.shared;
        let context = AppContext::new(&shared.broker, self.serial, self.principal()?);
        match classify(&send.destination, &shared.config.app_prefix)? {
            Target::App(path) => {
                let dispatch = Dispatch {
                    router: &shared.router,
                    context,
                    error_destination: shared.config.error_destination.as_deref(),
                };
                dispatch.send(&send.destination, path, &send.headers, &send.body)
            }
            Target::Own(_) => {
                Err(DestinationError::WrongUse(send.destination.clone(), "SEND").into())
            }
            _ => Ok(context.publish(&send.destination, send.headers, send.body)?),
        }
    }

    /// Subscribes, recovering missed history if asked; the receipt's history headers.
    fn subscribe(&self, subscribe: Subscribe) -> Result<Vec<(String, String)>, StompError> {
        self.authorize(Action::Subscribe, &subscribe.destination)?;
        let key = match classify(&subscribe.destination, &self.shared.config.app_prefix)? {
            Target::Topic(name) => Key::Topic(name.to_owned()),
            Target::Queue(name) => Key::Queue(name.to_owned()),
            Target::Own(path) => Key::own(self.serial, path),
            Target::App(_) | Target::User(..) => {
                return Err(DestinationError::WrongUse(subscribe.destination, "SUBSCRIBE").into());
            }
        };
        let report = self.shared.broker.subscribe_recovering(
            self.serial,
            &subscribe.id,
            key,
            subscribe.ack,
            subscribe.recover.as_ref(),
        )?;
        Ok(report.map(|r| r.headers()).unwrap_or_default())
    }
}
