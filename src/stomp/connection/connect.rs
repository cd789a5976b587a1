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
use crate::identity::{CSRF_HEADER, Identity, constant_time_eq};
use crate::stomp::auth::{AuthError, Credentials, Principal};
use crate::stomp::command::Connect;
use crate::stomp::config::CsrfPolicy;
use crate::stomp::error::StompError;
use crate::stomp::events::Event;
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
        if let Some(intercepted) = &self.intercepted {
            intercepted.connected(&principal, version);
        }
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
            self.connected_event();
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
        self.connected_event();
        Ok(())
    }

    /// Tells the listeners the connection is connected, and lists it as live.
    fn connected_event(&self) {
        self.go_live();
        if let Ok(principal) = self.principal() {
            let listeners = &self.shared.hooks.listeners;
            listeners.emit(self.serial, principal, |serial, user| Event::Connected {
                serial,
                user,
            });
        }
    }

    /// Lists the connection among the live ones, so that the server side can disconnect it
    /// (see `stomp/live.rs`); its close removes it.
    fn go_live(&self) {
        if let (Ok(principal), Some(version)) = (self.principal(), self.version()) {
            let session = match &self.shared.relay {
                Some(relay) => relay.session_id(self.serial),
                None => self.serial.to_string(),
            };
            let outlet = Arc::clone(&self.outlet);
            (self.shared.live).insert(self.serial, &principal.name, session, version, outlet);
        }
    }

    /// Who the client is: the user the opening HTTP request proved (its CONNECT credentials
    /// unused; a cookie identity must repeat its CSRF token), else the authenticator's
    /// answer, or an anonymous name when it gave no credentials and the service allows that.
    fn authenticate(&self, connect: &Connect) -> Result<Principal, StompError> {
        if let Some(identity) = &self.identity {
            self.check_csrf(identity, connect)?;
            return Ok(Principal {
                name: identity.name.clone(),
                anonymous: false,
            });
        }
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

    /// Spring Security's `CsrfChannelInterceptor`: CONNECT of a cookie identity carries the
    /// login's token in [`CSRF_HEADER`], compared in constant time.
    fn check_csrf(&self, identity: &Identity, connect: &Connect) -> Result<(), StompError> {
        let needed = match self.shared.config.csrf {
            CsrfPolicy::WhenCookieIdentity => identity.source.sent_by_browser(),
            CsrfPolicy::Off => false,
        };
        if !needed {
            return Ok(());
        }
        let given = connect
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(CSRF_HEADER))
            .map(|(_, v)| v.as_bytes());
        match (given, &identity.csrf_token) {
            (None, _) => Err(AuthError::CsrfMissing.into()),
            (Some(given), Some(token)) if constant_time_eq(given, token.as_bytes()) => Ok(()),
            _ => Err(AuthError::CsrfInvalid.into()),
        }
    }
}
