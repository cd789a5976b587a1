//! One STOMP connection's protocol state machine, the same over SockJS, raw WebSocket and
//! TCP: version and heart-beat negotiation, authentication, subscriptions, acks,
//! transactions, receipts, and ERROR-then-close on anything wrong.
//!
//! Owns: the per-connection rules. Time is passed in (`now`), bytes come in through
//! [`Connection::receive`] and go out through its [`Outlet`]. Must not: do I/O itself, read
//! a clock, or panic on any input.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::Shared;
use super::app::AppContext;
use super::auth::{Action, AuthError, Credentials, Principal};
use super::broker::Key;
use super::command::{self, Ack, ClientCommand, Connect, Request, Send, Subscribe};
use super::decode::Decoder;
use super::destination::{DestinationError, Target, classify};
use super::error::StompError;
use super::frame::{Command, Frame, Version};
use super::headers::{HEART_BEAT, RECEIPT, RECEIPT_ID, SERVER, SESSION, USER_NAME, VERSION};
use super::heartbeat::{self, Clock, EOL};
use super::message::{Outlet, Wire};
use super::relay::session::{Context as RelayContext, Outcome, Relayed};

/// Whether the connection is still open after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Open,
    /// The connection ended (its outlet was told to close).
    Closed,
}

enum Phase {
    AwaitingConnect {
        deadline: Instant,
    },
    Connected {
        version: Version,
        principal: Principal,
    },
    /// Connected through the broker relay.
    Relayed {
        version: Version,
        principal: Principal,
        relayed: Relayed,
    },
    Closed,
}

enum Pending {
    Send(Send),
    Ack(Ack, bool),
}

/// A STOMP connection.
pub struct Connection {
    shared: Arc<Shared>,
    outlet: Arc<dyn Outlet>,
    serial: u64,
    peer: Option<SocketAddr>,
    decoder: Decoder,
    phase: Phase,
    clock: Option<Clock>,
    transactions: HashMap<String, Vec<Pending>>,
    /// Whether the current input relayed a frame (else the broker gets a heart-beat).
    relayed_any: bool,
}

impl Connection {
    /// A connection opened at `now`, writing to `outlet`; `serial` is its broker id.
    pub(crate) fn new(
        shared: Arc<Shared>,
        outlet: Arc<dyn Outlet>,
        serial: u64,
        peer: Option<SocketAddr>,
        now: Instant,
    ) -> Self {
        let deadline = now + shared.config.connect_timeout;
        Connection {
            decoder: Decoder::new(shared.config.limits),
            shared,
            outlet,
            serial,
            peer,
            phase: Phase::AwaitingConnect { deadline },
            clock: None,
            transactions: HashMap::new(),
            relayed_any: false,
        }
    }

    /// Bytes from the client, in order, in any split.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) -> Flow {
        if matches!(self.phase, Phase::Closed) {
            return Flow::Closed;
        }
        if let Some(clock) = &mut self.clock {
            clock.received(now);
        }
        self.decoder.push(bytes);
        self.relayed_any = false;
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    crate::metrics::global().stomp_frame(frame.command.as_str());
                    let receipt = frame.get(RECEIPT).map(str::to_owned);
                    if let Err(e) = self.handle(frame, now) {
                        return self.fail(&e, receipt.as_deref());
                    }
                    if matches!(self.phase, Phase::Closed) {
                        return Flow::Closed;
                    }
                }
                Ok(None) => {
                    if let Phase::Relayed { relayed, .. } = &self.phase
                        && !self.relayed_any
                    {
                        relayed.heartbeat();
                    }
                    return Flow::Open;
                }
                Err(e) => {
                    let receipt = self.decoder.receipt();
                    return self.fail(&e.into(), receipt.as_deref());
                }
            }
        }
    }

    /// Sends a due heart-beat or ends a late connection; call again at [`Self::deadline`].
    pub fn tick(&mut self, now: Instant) -> Flow {
        match &self.phase {
            Phase::Closed => return Flow::Closed,
            Phase::AwaitingConnect { deadline } if *deadline <= now => {
                return self.fail(&StompError::ConnectTimeout, None);
            }
            _ => {}
        }
        let Some(clock) = &mut self.clock else {
            return Flow::Open;
        };
        let due = clock.poll(now);
        if due.dead {
            return self.fail(&StompError::HeartBeatTimeout, None);
        }
        if due.send {
            self.outlet.send(Wire::whole(Bytes::from_static(EOL)));
        }
        Flow::Open
    }

    /// When [`Self::tick`] has something to do next (`None`: nothing scheduled).
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::AwaitingConnect { deadline } => Some(*deadline),
            Phase::Connected { .. } => self.clock.and_then(|c| c.next()),
            Phase::Relayed { .. } | Phase::Closed => None,
        }
    }

    /// The transport went away: subscriptions end, unacked queue messages are redelivered.
    pub fn closed(&mut self) {
        if !matches!(self.phase, Phase::Closed) {
            if let (Phase::Relayed { .. }, Some(relay)) = (&self.phase, &self.shared.relay) {
                relay.leave(self.serial);
            }
            self.phase = Phase::Closed;
            self.shared.broker.leave(self.serial);
        }
    }

    /// The transport is being closed for a reason of the server's own (a slow consumer,
    /// shutdown): the ERROR frame to send as the last words; the connection is then closed.
    /// `None` if it already was.
    pub fn last_words(&mut self, error: &StompError) -> Option<Bytes> {
        if matches!(self.phase, Phase::Closed) {
            return None;
        }
        let version = self.version().unwrap_or(Version::V1_2);
        let frame = error.frame(None).encode(version);
        self.closed();
        Some(frame)
    }

    fn fail(&mut self, error: &StompError, receipt: Option<&str>) -> Flow {
        log::debug!("stomp connection {}: {}", self.serial, error);
        let version = self.version().unwrap_or(Version::V1_2);
        self.outlet
            .send(Wire::whole(error.frame(receipt).encode(version)));
        self.finish()
    }

    fn finish(&mut self) -> Flow {
        self.closed();
        self.outlet.close();
        Flow::Closed
    }

    fn version(&self) -> Option<Version> {
        match &self.phase {
            Phase::Connected { version, .. } | Phase::Relayed { version, .. } => Some(*version),
            _ => None,
        }
    }

    fn reply(&self, frame: Frame) {
        let version = self.version().unwrap_or(Version::V1_2);
        self.outlet.send(Wire::whole(frame.encode(version)));
    }

    fn handle(&mut self, frame: Frame, now: Instant) -> Result<(), StompError> {
        if matches!(self.phase, Phase::Relayed { .. }) {
            return self.relay(frame);
        }
        let Request { receipt, command } =
            command::parse(frame, self.version().unwrap_or(Version::V1_2))?;
        let disconnect = command == ClientCommand::Disconnect;
        match (command, &self.phase) {
            (ClientCommand::Connect(connect), Phase::AwaitingConnect { .. }) => {
                return self.connect(connect, now);
            }
            (ClientCommand::Connect(_), _) => return Err(StompError::AlreadyConnected),
            (_, Phase::AwaitingConnect { .. } | Phase::Closed | Phase::Relayed { .. }) => {
                return Err(StompError::NotConnected);
            }
            (command, Phase::Connected { .. }) => self.apply(command)?,
        }
        if let Some(receipt) = receipt {
            self.reply(Frame::new(Command::Receipt).header(RECEIPT_ID, receipt));
        }
        if disconnect {
            self.finish();
        }
        Ok(())
    }

    fn connect(&mut self, connect: Connect, now: Instant) -> Result<(), StompError> {
        let version = connect
            .accept
            .iter()
            .copied()
            .filter(|v| Version::ALL.contains(v))
            .max()
            .ok_or(StompError::Version)?;
        let config = &self.shared.config;
        let credentials = Credentials::from_headers(&connect.headers, self.peer);
        let principal = match self.shared.authenticator.authenticate(&credentials)? {
            Some(principal) => principal,
            None if config.allow_anonymous => Principal {
                name: match &self.shared.relay {
                    // Unique across the nodes that share the relay's `/user` registry.
                    Some(relay) => format!("anonymous-{}-{}", relay.node(), self.serial),
                    None => format!("anonymous-{}", self.serial),
                },
                anonymous: true,
            },
            None => return Err(AuthError::LoginRequired.into()),
        };
        self.decoder.set_version(version);
        if let Some(relay) = &self.shared.relay {
            let relayed = Relayed::open(
                relay,
                self.serial,
                &principal,
                &connect.headers,
                Arc::clone(&self.outlet),
                version,
            )?;
            self.phase = Phase::Relayed {
                version,
                principal,
                relayed,
            };
            return Ok(());
        }
        let mut connected = Frame::new(Command::Connected).header(VERSION, version.as_str());
        if version > Version::V1_0 {
            let (sx, sy) = config.heart_beat;
            let agreed = heartbeat::negotiate(connect.heart_beat, (sx, sy));
            self.clock = Some(Clock::new(agreed, now));
            connected = connected.header(HEART_BEAT, format!("{sx},{sy}"));
        }
        connected = connected
            .header(SERVER, config.server_name.clone())
            .header(SESSION, self.serial.to_string())
            .header(USER_NAME, principal.name.clone());
        self.shared.broker.join(
            self.serial,
            &principal.name,
            version,
            Arc::clone(&self.outlet),
        );
        self.phase = Phase::Connected { version, principal };
        self.reply(connected);
        Ok(())
    }

    fn apply(&mut self, command: ClientCommand) -> Result<(), StompError> {
        let broker = Arc::clone(&self.shared);
        let broker = &broker.broker;
        match command {
            ClientCommand::Send(send) => {
                self.authorize(Action::Send, &send.destination)?;
                match send.transaction.clone() {
                    Some(tx) => self.buffer(&tx, Pending::Send(send))?,
                    None => self.send(send)?,
                }
            }
            ClientCommand::Subscribe(subscribe) => self.subscribe(subscribe)?,
            ClientCommand::Unsubscribe(id) => broker.unsubscribe(self.serial, &id)?,
            ClientCommand::Ack(ack) => self.ack(ack, false)?,
            ClientCommand::Nack(ack) => self.ack(ack, true)?,
            ClientCommand::Begin(tx) => {
                if self.transactions.contains_key(&tx) {
                    return Err(StompError::DuplicateTransaction(tx));
                }
                if self.transactions.len() >= self.shared.config.max_transactions {
                    return Err(StompError::TransactionLimit(
                        self.shared.config.max_transactions,
                    ));
                }
                self.transactions.insert(tx, Vec::new());
            }
            ClientCommand::Commit(tx) => {
                let pending = self
                    .transactions
                    .remove(&tx)
                    .ok_or(StompError::UnknownTransaction(tx))?;
                for op in pending {
                    match op {
                        Pending::Send(send) => self.send(send)?,
                        Pending::Ack(ack, nack) => {
                            self.shared.broker.ack(self.serial, &ack.id, nack)
                        }
                    }
                }
            }
            ClientCommand::Abort(tx) => {
                self.transactions
                    .remove(&tx)
                    .ok_or(StompError::UnknownTransaction(tx))?;
            }
            ClientCommand::Disconnect | ClientCommand::Connect(_) => {}
        }
        Ok(())
    }

    fn relay(&mut self, frame: Frame) -> Result<(), StompError> {
        let shared = Arc::clone(&self.shared);
        let (
            Some(relay),
            Phase::Relayed {
                version,
                principal,
                relayed,
            },
        ) = (&shared.relay, &mut self.phase)
        else {
            return Err(StompError::NotConnected);
        };
        let context = RelayContext {
            shared: &shared,
            relay,
            serial: self.serial,
            principal,
            version: *version,
        };
        match relayed.handle(frame, &context)? {
            Outcome::Relayed => self.relayed_any = true,
            Outcome::Local(receipt) => {
                if let Some(receipt) = receipt {
                    self.reply(Frame::new(Command::Receipt).header(RECEIPT_ID, receipt));
                }
            }
            Outcome::Close => {
                self.finish();
            }
        }
        Ok(())
    }

    fn ack(&mut self, ack: Ack, nack: bool) -> Result<(), StompError> {
        match ack.transaction.clone() {
            Some(tx) => self.buffer(&tx, Pending::Ack(ack, nack)),
            None => {
                self.shared.broker.ack(self.serial, &ack.id, nack);
                Ok(())
            }
        }
    }

    fn buffer(&mut self, tx: &str, op: Pending) -> Result<(), StompError> {
        let limit = self.shared.config.max_transaction_frames;
        let ops = self
            .transactions
            .get_mut(tx)
            .ok_or_else(|| StompError::UnknownTransaction(tx.to_owned()))?;
        if ops.len() >= limit {
            return Err(StompError::TransactionLimit(limit));
        }
        ops.push(op);
        Ok(())
    }

    fn principal(&self) -> Result<&Principal, StompError> {
        match &self.phase {
            Phase::Connected { principal, .. } | Phase::Relayed { principal, .. } => Ok(principal),
            _ => Err(StompError::NotConnected),
        }
    }

    fn authorize(&self, action: Action, destination: &str) -> Result<(), StompError> {
        let allowed = self
            .shared
            .authorizer
            .allows(self.principal()?, action, destination);
        allowed
            .then_some(())
            .ok_or_else(|| StompError::Forbidden(destination.to_owned()))
    }

    fn send(&self, send: Send) -> Result<(), StompError> {
        let shared = &self.shared;
        let context = AppContext::new(&shared.broker, self.serial, self.principal()?);
        match classify(&send.destination, &shared.config.app_prefix)? {
            Target::App(path) => {
                match shared
                    .router
                    .dispatch(path, &send.headers, &send.body, &context)
                {
                    Some(result) => result.map_err(|e| StompError::App(e.0)),
                    None => Err(StompError::NoHandler(send.destination.clone())),
                }
            }
            Target::Own(_) => {
                Err(DestinationError::WrongUse(send.destination.clone(), "SEND").into())
            }
            _ => Ok(context.publish(&send.destination, send.headers, send.body)?),
        }
    }

    fn subscribe(&self, subscribe: Subscribe) -> Result<(), StompError> {
        self.authorize(Action::Subscribe, &subscribe.destination)?;
        let key = match classify(&subscribe.destination, &self.shared.config.app_prefix)? {
            Target::Topic(name) => Key::Topic(name.to_owned()),
            Target::Queue(name) => Key::Queue(name.to_owned()),
            Target::Own(path) => Key::own(self.serial, path),
            Target::App(_) | Target::User(..) => {
                return Err(DestinationError::WrongUse(subscribe.destination, "SUBSCRIBE").into());
            }
        };
        Ok(self
            .shared
            .broker
            .subscribe(self.serial, &subscribe.id, key, subscribe.ack)?)
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
