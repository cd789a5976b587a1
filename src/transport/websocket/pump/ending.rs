//! The end of a socket whose peer ended its side: its last messages answered first.
//!
//! Messages reach the session as actor messages, and its answers come back through the pipe
//! later. When the peer ends its side (its close frame, a frame the server refuses), what it
//! sent before is still owed an answer, as sockjs-node gives it (the echo of `["y"]` before
//! the close for the broken frame after it, even when both came in one read). So the last
//! batch goes to the session as a fence (`SessionHandle::deliver`, which resolves once the
//! session has handled it and so everything before it), the pipe is written out meanwhile,
//! and only once the fence is through and the pipe empty does the session hear why the
//! socket ended and the peer get the close frame: the same close, code and reason as before,
//! only later. A session that takes longer than [`ANSWER_WAIT`] is not waited for; one that
//! is gone ends the pipe.
//!
//! A connection that breaks or ends (the peer's FIN) cannot wait: actix-http, with
//! half-closed connections off (as `server::run` has them), shuts it down in the very poll
//! that reads its end, and does not poll the body again. So then, as when that end comes
//! during the wait, what the pipe holds is written, then the close, at once.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::future::LocalBoxFuture;
use tokio::time::Sleep;

use super::{Codec, Drained, Phase, SocketBody};
use crate::protocol::CloseReason;
use crate::session::CloseCause;

/// How long a socket whose peer ended its side waits for the session to handle the peer's
/// last messages before it closes anyway (an echo takes microseconds; a handler stuck that
/// long is not waited on).
pub const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// A socket whose peer ended its side, until the session has answered its last messages.
pub(super) struct Ending {
    /// Resolves once the session has handled the peer's last batch, and so every batch before
    /// it; `None` once it has.
    handled: Option<LocalBoxFuture<'static, ()>>,
    /// Bounds the wait ([`ANSWER_WAIT`]).
    timer: Pin<Box<Sleep>>,
    /// The close the session takes, and why.
    reason: CloseReason,
    cause: CloseCause,
}

impl<C: Codec> SocketBody<C> {
    /// The peer ended its side: its last messages go to the session as the fence the socket
    /// then waits for (see the module documentation).
    pub(super) fn peer_ended(
        &mut self,
        texts: Vec<String>,
        reason: CloseReason,
        cause: CloseCause,
        cx: &mut Context<'_>,
    ) {
        let session = self.session.clone();
        let handled: LocalBoxFuture<'static, ()> = Box::pin(async move {
            // A session that is gone has ended the pipe too.
            let _ = session.deliver(texts).await;
        });
        self.phase = Phase::Ending(Box::new(Ending {
            handled: Some(handled),
            timer: Box::pin(tokio::time::sleep(ANSWER_WAIT)),
            reason,
            cause,
        }));
        // Polled at once: the fence is sent on its first poll.
        self.poll_ending(cx);
    }

    /// Writes what the session sends until it has handled the peer's last messages and its
    /// pipe is empty (or [`ANSWER_WAIT`] has passed), then closes.
    pub(super) fn poll_ending(&mut self, cx: &mut Context<'_>) {
        let Phase::Ending(ending) = &mut self.phase else {
            return;
        };
        let expired = ending.timer.as_mut().poll(cx).is_ready();
        if let Some(handled) = &mut ending.handled
            && handled.as_mut().poll(cx).is_ready()
        {
            ending.handled = None;
        }
        let settled = ending.handled.is_none();
        let (reason, cause) = (ending.reason.clone(), ending.cause);
        let peer_gone = self.peer_gone(cx);
        let over = match self.write_answers(cx) {
            // The session closed meanwhile (or is gone): the peer still gets the close for
            // what it did.
            Drained::Ended(_) => true,
            Drained::Empty => settled,
            Drained::Full | Drained::Heartbeat => false,
        };
        if expired && !over {
            log::debug!(
                "websocket on {}: no answer from the session within {ANSWER_WAIT:?}; closing",
                self.session.prefix()
            );
        }
        if over || expired || peer_gone {
            // The peer's close is answered, a broken protocol fails the connection (a close
            // frame with the reason, RFC 6455 section 7.1.7); either way the handshake is
            // over.
            self.end_now(reason.clone(), cause, Some(reason), cx);
        }
    }

    /// What the pipe holds, written out (up to [`OUTPUT_CHUNK`] bytes), then `close`; the
    /// session closes with `reason`.
    pub(super) fn end_now(
        &mut self,
        reason: CloseReason,
        cause: CloseCause,
        close: Option<CloseReason>,
        cx: &mut Context<'_>,
    ) {
        self.write_answers(cx);
        self.receiver.finish(reason, cause);
        self.finish(close);
    }

    /// Writes what the session queued, up to [`OUTPUT_CHUNK`] bytes, heartbeats included
    /// (no ping: the peer is leaving).
    pub(super) fn write_answers(&mut self, cx: &mut Context<'_>) -> Drained {
        // A hixie-76 peer that never sent key3 cannot be written to (nor has it sent any).
        if !self.codec.ready() {
            return Drained::Empty;
        }
        loop {
            match self.drain(cx) {
                Drained::Heartbeat => {}
                other => return other,
            }
        }
    }

    /// Whether the connection has ended or broken since the peer ended its side; what it
    /// sends meanwhile is dropped.
    pub(super) fn peer_gone(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            match Pin::new(&mut self.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_)) | None) => return true,
                Poll::Pending => return false,
            }
        }
    }
}
