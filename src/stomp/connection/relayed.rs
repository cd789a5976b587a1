//! A relayed connection's side of each client frame: the relay decides
//! ([`Relayed::handle`](crate::stomp::relay::session::Relayed)), the connection acts on the
//! [`Outcome`]: a local receipt, closing, or noting that something reached the broker (an
//! input that relayed nothing is replaced by a heart-beat towards it).
//!
//! Owns: the connection's half of relay mode. Must not: decide what a frame becomes (the
//! relay's session rules do) or do I/O (the broker connection does).

use std::sync::Arc;

use super::subscriptions::Change;
use super::{Connection, Phase};
use crate::stomp::command;
use crate::stomp::error::StompError;
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::headers::RECEIPT_ID;
use crate::stomp::relay::session::{Context, Outcome};

impl Connection {
    /// Hands a relayed client's frame to the relay and acts on the outcome.
    pub(super) fn relay(&mut self, frame: Frame) -> Result<(), StompError> {
        let request = command::parse(frame.clone(), self.version().unwrap_or(Version::V1_2))?;
        if self.answer(&request.command)? {
            self.receipt(request.receipt);
            return Ok(());
        }
        self.admits(&request.command)?;
        let change = Change::of(&request.command);
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
        let context = Context {
            shared: &shared,
            relay,
            serial: self.serial,
            principal,
            version: *version,
        };
        let outcome = relayed.handle(frame, request, &context)?;
        self.track(change);
        match outcome {
            Outcome::Relayed => self.relayed_any = true,
            Outcome::Local(receipt) => self.receipt(receipt),
            Outcome::Close => {
                self.finish();
            }
        }
        Ok(())
    }

    /// A RECEIPT for a frame handled here, if it asked for one.
    fn receipt(&self, receipt: Option<String>) {
        if let Some(receipt) = receipt {
            self.reply(Frame::new(Command::Receipt).header(RECEIPT_ID, receipt));
        }
    }

    /// The end of an input: if it relayed no frame, the broker gets a heart-beat instead, so
    /// a client that is alive is never silent towards the broker.
    pub(super) fn relayed_input_done(&self) {
        if let Phase::Relayed { relayed, .. } = &self.phase
            && !self.relayed_any
        {
            relayed.heartbeat();
        }
    }
}
