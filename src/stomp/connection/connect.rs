//! A connection's CONNECT (1.2 "Connecting"): the version (the highest both sides speak),
//! the principal (the authenticator's, or an anonymous one when allowed), and then either the
//! CONNECTED frame with the agreed heart-beats (in-memory broker) or the client's own broker
//! connection (relay), whose CONNECTED comes from the broker.
//!
//! Owns: what CONNECT decides. Must not: answer anything but CONNECT, or let a client's
//! credentials reach the broker (the relay's route rules replace them).

use std::sync::Arc;
use std::time::Instant;

use super::{Connection, Phase};
use crate::stomp::auth::{AuthError, Credentials, Principal};
use crate::stomp::command::Connect;
use crate::stomp::error::StompError;
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::headers::{HEART_BEAT, SERVER, SESSION, USER_NAME, VERSION};
use crate::stomp::heartbeat::{self, Clock};
use crate::stomp::relay::session::Relayed;

impl Connection {
    /// Connects a client waiting for CONNECT, at `now` (when its heart-beats start).
    pub(super) fn connect(&mut self, connect: Connect, now: Instant) -> Result<(), StompError> {
        let version = connect
            .accept
            .iter()
            .copied()
            .filter(|v| Version::ALL.contains(v))
            .max()
            .ok_or(StompError::Version)?;
        let principal = self.authenticate(&connect)?;
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
        let config = &self.shared.config;
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

    /// Who the client is: the authenticator's answer, or an anonymous name when it gave no
    /// credentials and the service allows that.
    fn authenticate(&self, connect: &Connect) -> Result<Principal, StompError> {
        let credentials = Credentials::from_headers(&connect.headers, self.peer);
        match self.shared.authenticator.authenticate(&credentials)? {
            Some(principal) => Ok(principal),
            None if self.shared.config.allow_anonymous => Ok(Principal {
                name: match &self.shared.relay {
                    // Unique across the nodes that share the relay's `/user` registry.
                    Some(relay) => format!("anonymous-{}-{}", relay.node(), self.serial),
                    None => format!("anonymous-{}", self.serial),
                },
                anonymous: true,
            }),
            None => Err(AuthError::LoginRequired.into()),
        }
    }
}
