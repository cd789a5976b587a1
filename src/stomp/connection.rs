//! One STOMP connection's protocol state machine, the same over SockJS, raw WebSocket and
//! TCP: its phases (awaiting CONNECT, connected, relayed, closed), the decoding of its input,
//! its timing (connect timeout, heart-beats), receipts, and ERROR-then-close on anything
//! wrong. What each phase does with a command lives beside it, in `connection/`: `connect`
//! (CONNECT and authentication), `local` (commands against the in-memory broker, with
//! `transactions`), `relayed` (the relay's outcome for each frame).
//!
//! Owns: the per-connection rules. Time is passed in (`now`), bytes come in through
//! [`Connection::receive`] and go out through its [`Outlet`]. Must not: do I/O itself, read
//! a clock, or panic on any input.

mod connect;
mod local;
mod relayed;
mod subscriptions;
mod transactions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::auth::Principal;
use super::command::{self, ClientCommand, Request};
use super::decode::Decoder;
use super::error::StompError;
use super::events::Event;
use super::frame::{Command, Frame, Version};
use super::headers::{RECEIPT, RECEIPT_ID};
use super::heartbeat::{Clock, EOL};
use super::intercept::{Inbound, InterceptContext, Intercepted};
use super::message::{Outlet, Wire};
use super::relay::session::Relayed;
use super::shared::Shared;
use crate::identity::Identity;
use subscriptions::Subscriptions;
use transactions::Transactions;

/// Whether the connection is still open after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Open,
    /// The connection ended (its outlet was told to close).
    Closed,
}

/// Where a connection is in its life.
enum Phase {
    /// Waiting for CONNECT until `deadline` (the connect timeout).
    AwaitingConnect { deadline: Instant },
    /// Connected to the in-memory broker.
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
    /// Ended: every later input is ignored.
    Closed,
}

/// One client's STOMP connection, whatever carries it: feed it the client's bytes
/// ([`Connection::receive`]), tick it at its [`Connection::deadline`], and tell it when the
/// transport is gone ([`Connection::closed`]); its frames go to the [`Outlet`] it was made with.
pub struct Connection {
    shared: Arc<Shared>,
    outlet: Arc<dyn Outlet>,
    serial: u64,
    peer: Option<SocketAddr>,
    decoder: Decoder,
    phase: Phase,
    clock: Option<Clock>,
    transactions: Transactions,
    /// Whether the current input relayed a frame (else the broker gets a heart-beat).
    relayed_any: bool,
    /// The outlet's outbound interception, when an interceptor has an outbound hook.
    intercepted: Option<Arc<Intercepted>>,
    /// The open subscriptions' destinations, and which a subscribe route answered.
    subscriptions: Subscriptions,
    /// Who the HTTP request that opened the transport was, if the mount identifies them.
    identity: Option<Arc<Identity>>,
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
        let transactions = Transactions::new(
            shared.config.max_transactions,
            shared.config.max_transaction_frames,
        );
        let (outlet, intercepted) = shared.hooks.wrap(outlet, serial, peer);
        let subscriptions = Subscriptions::new(shared.config.max_subscriptions);
        Connection {
            decoder: Decoder::new(shared.config.limits),
            shared,
            outlet,
            serial,
            peer,
            phase: Phase::AwaitingConnect { deadline },
            clock: None,
            transactions,
            relayed_any: false,
            intercepted,
            subscriptions,
            identity: None,
        }
    }

    /// The same connection, of the user the opening HTTP request proved (CONNECT then needs
    /// no credentials, and a CSRF token if the identity came from a cookie).
    #[must_use]
    pub(crate) fn identified(mut self, identity: Option<Arc<Identity>>) -> Self {
        self.identity = identity;
        self
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
                Ok(Some(mut frame)) => {
                    crate::metrics::global().stomp_frame(frame.command.as_str());
                    let receipt = frame.get(RECEIPT).map(str::to_owned);
                    match self.intercept(&mut frame) {
                        Inbound::Pass => {}
                        Inbound::Drop => continue,
                        Inbound::Reject(text) => {
                            return self.fail(&StompError::Rejected(text), receipt.as_deref());
                        }
                    }
                    if let Err(e) = self.handle(frame, now) {
                        return self.fail(&e, receipt.as_deref());
                    }
                    if matches!(self.phase, Phase::Closed) {
                        return Flow::Closed;
                    }
                }
                Ok(None) => {
                    self.relayed_input_done();
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

    /// The transport went away: subscriptions end, unacked queue messages are redelivered,
    /// and a connected client's listeners hear [`Event::Disconnected`] (once).
    pub fn closed(&mut self) {
        let principal = match std::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Closed => return,
            Phase::AwaitingConnect { .. } => None,
            Phase::Connected { principal, .. } => Some(principal),
            Phase::Relayed {
                principal, relayed, ..
            } => {
                if let Some(relay) = &self.shared.relay {
                    relay.leave(self.serial);
                }
                drop(relayed);
                Some(principal)
            }
        };
        self.shared.broker.leave(self.serial);
        self.shared.live.remove(self.serial);
        if let Some(principal) = principal {
            let listeners = &self.shared.hooks.listeners;
            listeners.emit(self.serial, &principal, |serial, user| {
                Event::Disconnected { serial, user }
            });
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

    /// The inbound interceptors' verdict on a client frame.
    fn intercept(&self, frame: &mut Frame) -> Inbound {
        let context = InterceptContext {
            serial: self.serial,
            principal: self.principal().ok(),
            peer: self.peer,
        };
        self.shared.hooks.inbound(frame, &context)
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
        let mut receipt_headers = Vec::new();
        match (command, &self.phase) {
            (ClientCommand::Connect(connect), Phase::AwaitingConnect { .. }) => {
                return self.connect(connect, now);
            }
            (ClientCommand::Connect(_), _) => return Err(StompError::AlreadyConnected),
            (_, Phase::AwaitingConnect { .. } | Phase::Closed | Phase::Relayed { .. }) => {
                return Err(StompError::NotConnected);
            }
            (command, Phase::Connected { .. }) => {
                if !self.answer(&command)? {
                    self.admits(&command)?;
                    let tracked = subscriptions::Change::of(&command);
                    receipt_headers = self.apply(command)?;
                    self.track(tracked);
                }
            }
        }
        if let Some(receipt) = receipt {
            let mut frame = Frame::new(Command::Receipt).header(RECEIPT_ID, receipt);
            frame.headers.extend(receipt_headers);
            self.reply(frame);
        }
        if disconnect {
            self.finish();
        }
        Ok(())
    }

    fn principal(&self) -> Result<&Principal, StompError> {
        match &self.phase {
            Phase::Connected { principal, .. } | Phase::Relayed { principal, .. } => Ok(principal),
            _ => Err(StompError::NotConnected),
        }
    }
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
