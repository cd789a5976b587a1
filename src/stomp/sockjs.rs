//! STOMP over SockJS (and the mount's raw `/websocket`): [`Stomp::mount`] makes the mount,
//! and one [`Handler`] per session drives a [`Connection`]. A SockJS message may carry
//! several frames or part of one; the decoder reassembles them. STOMP heart-beats and the
//! connect timeout are the connection's deadline, which the session actor's one timer serves
//! through [`Handler::deadline`] and [`Handler::tick`]; they are separate from the SockJS `h`
//! frames.
//!
//! When the server closes a session for a reason of its own (a backlog past the mount's
//! `max_buffered_bytes`, shutdown), the client's last message is an ERROR frame saying so.
//!
//! Owns: the SockJS mount of a service and the bridge between one session and one
//! [`Connection`]. Must not: block, run a timer or task of its own, or outlive the session
//! (the connection leaves the broker on close and on drop).

use std::sync::Arc;
use std::time::Instant;

use super::connection::{Connection, Flow};
use super::error::StompError;
use super::message::{Outlet, Wire};
use super::{Stomp, WEBSOCKET_PROTOCOLS};
use crate::config::{Config, ConfigError};
use crate::protocol::CloseReason;
use crate::session::Handler;
use crate::session::{CloseCause, SessionHandle};
use crate::transport::SockJs;

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Stomp {
    /// A SockJS mount serving this service (its raw `/websocket` is plain STOMP over
    /// WebSocket); offers [`WEBSOCKET_PROTOCOLS`] unless `config` names its own.
    ///
    /// # Errors
    /// [`ConfigError`] if the SockJS configuration is invalid.
    pub fn mount(&self, mut config: Config) -> Result<SockJs, ConfigError> {
        if config.websocket_protocols.is_empty() {
            config.websocket_protocols = WEBSOCKET_PROTOCOLS.map(str::to_owned).to_vec();
        }
        let stomp = self.clone();
        let factory = move || StompSession::new(stomp.clone());
        match &self.0.identify {
            Some(identify) => SockJs::identified(config, factory, Arc::clone(identify)),
            None => SockJs::new(config, factory),
        }
    }
}

/// Frames to a SockJS session: SockJS carries text, so a frame that is not UTF-8 (a binary
/// body sent over TCP) is skipped for this subscriber, with a debug log.
struct SessionOutlet(SessionHandle);

impl Outlet for SessionOutlet {
    fn send(&self, wire: Wire) -> bool {
        match String::from_utf8(wire.to_vec()) {
            Ok(text) => self.0.send(text),
            Err(_) => {
                log::debug!("session {}: skipping a non-UTF-8 STOMP frame", self.0.id());
                self.0.is_connected()
            }
        }
    }

    fn close(&self) {
        let CloseReason { code, reason } = CloseReason::NORMAL;
        self.0.close(code, reason);
    }
}

/// The STOMP handler of one SockJS session: its [`Connection`] from open to close. Heart-beats
/// and the connect timeout run on the session actor's one timer, through [`Handler::deadline`]
/// and [`Handler::tick`].
pub struct StompSession {
    stomp: Stomp,
    connection: Option<Connection>,
}

impl StompSession {
    /// A handler for a new session of `stomp`.
    pub fn new(stomp: Stomp) -> Self {
        StompSession {
            stomp,
            connection: None,
        }
    }

    /// The connection ended, or the session did: the broker forgets it (once).
    fn end(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            connection.closed();
        }
    }

    /// Ends the connection if `flow` says it closed.
    fn after(&mut self, flow: Flow) {
        if flow == Flow::Closed {
            self.end();
        }
    }
}

impl Handler for StompSession {
    fn on_open(&mut self, session: &SessionHandle) {
        let outlet = std::sync::Arc::new(SessionOutlet(session.clone()));
        let identity = session.identity().cloned().map(std::sync::Arc::new);
        let connection = self
            .stomp
            .connection(outlet, session.peer_addr(), now())
            .identified(identity);
        self.connection = Some(connection);
    }

    fn on_message(&mut self, _session: &SessionHandle, message: String) {
        if let Some(connection) = &mut self.connection {
            let flow = connection.receive(message.as_bytes(), now());
            self.after(flow);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.connection.as_ref().and_then(Connection::deadline)
    }

    fn tick(&mut self, _session: &SessionHandle, now: Instant) {
        if let Some(connection) = &mut self.connection {
            let flow = connection.tick(now);
            self.after(flow);
        }
    }

    fn on_closing(
        &mut self,
        _session: &SessionHandle,
        _reason: &CloseReason,
        cause: CloseCause,
    ) -> Option<String> {
        let error = match cause {
            CloseCause::Overflow => StompError::Overflow,
            CloseCause::Shutdown => StompError::ShuttingDown,
            _ => return None,
        };
        let words = self.connection.as_mut()?.last_words(&error)?;
        String::from_utf8(words.to_vec()).ok()
    }

    fn on_close(&mut self, _session: &SessionHandle, _reason: &CloseReason, _cause: CloseCause) {
        self.end();
    }
}

impl Drop for StompSession {
    fn drop(&mut self) {
        self.end();
    }
}
