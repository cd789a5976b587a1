//! The application seam of a session: a [`Handler`] per session, called inside the session's
//! actor, and a [`HandlerFactory`] per mount that makes one for each new session. The
//! shipped text handlers are in [`crate::handler::text`]; STOMP ([`crate::stomp`]) plugs in
//! here too.
//!
//! Owns: what the actor calls and when. Must not: run a timer or task of its own (a handler
//! that needs time asks for it through [`Handler::deadline`] and is called back with
//! [`Handler::tick`] by the session's one timer), or know about transports.

use std::time::Instant;

use super::{CloseCause, SessionHandle};
use crate::protocol::CloseReason;

/// An application's side of one session. Called on the session's actor: keep each call short
/// and spawn anything slow (the handle is `Send` and cheap to clone).
pub trait Handler: 'static {
    /// The session opened (its open frame has been sent).
    fn on_open(&mut self, _session: &SessionHandle) {}

    /// A message from the client, in order.
    fn on_message(&mut self, session: &SessionHandle, message: String);

    /// The server is about to close the session for a reason of its own (a slow consumer's
    /// backlog past `max_buffered_bytes`, or shutdown): the text returned, if any, is the last
    /// message the client gets, just before the close frame (STOMP sends an ERROR frame).
    fn on_closing(
        &mut self,
        _session: &SessionHandle,
        _reason: &CloseReason,
        _cause: CloseCause,
    ) -> Option<String> {
        None
    }

    /// When the handler next needs [`Handler::tick`] (`None`, the default: not until a later
    /// call changes it). Asked after every call into the handler while the session is open;
    /// the session's one timer is armed for the earlier of this and its own deadline. After a
    /// `tick` the deadline must have moved past `now`, or be `None`.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// The time named by [`Handler::deadline`] has come (`now` is at or after it; a timer
    /// may also fire early for the session's own reasons, and then this is not called).
    fn tick(&mut self, _session: &SessionHandle, _now: Instant) {}

    /// The session closed; called once, after which no message arrives.
    fn on_close(&mut self, _session: &SessionHandle, _reason: &CloseReason, _cause: CloseCause) {}
}

/// Makes a handler for each new session of a mount.
pub trait HandlerFactory: Send + Sync + 'static {
    /// A handler for a new session.
    fn create(&self) -> Box<dyn Handler>;
}

impl<F, H> HandlerFactory for F
where
    F: Fn() -> H + Send + Sync + 'static,
    H: Handler,
{
    fn create(&self) -> Box<dyn Handler> {
        Box::new(self())
    }
}
