//! The session state machine, pure: no I/O, no clock (`now` is passed in), no actix.
//!
//! Owns: the phase (connecting, open, closed), the outgoing queue while no receiver is attached,
//! which receiver is attached (by token) and how many bytes it has been sent, and the one
//! deadline: the next heartbeat while a receiver is attached, the session's expiry while none
//! is. Every event returns the [`Output`]s the actor must carry out, in order.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::protocol::Framing;
use crate::protocol::frame::{self, CloseReason, Message};

/// Why a session closed, as told to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// The application closed it (handler or [`crate::SessionHandle::close`]).
    Application,
    /// No receiver was attached for `disconnect_delay`.
    Timeout,
    /// A receiver's connection was aborted mid-stream (`c[1002,"Connection interrupted"]`).
    Interrupted,
    /// A WebSocket peer closed its connection.
    ClientClosed,
    /// The peer broke the framing (bad JSON on a WebSocket).
    ProtocolError,
    /// The outgoing queue passed `max_buffered_bytes`.
    Overflow,
    /// The application handler failed.
    HandlerFailed,
    /// The server is shutting down.
    Shutdown,
}

/// The session's phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Created, the open frame not yet sent.
    Connecting,
    /// Open: messages flow both ways.
    Open,
    /// Closed: later receivers get this close frame until the session expires.
    Closed(CloseReason),
}

/// What the actor must do after an event, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes (already wrapped in the receiver's framing) to the attached receiver.
    Deliver(Bytes),
    /// The attached receiver is done: end its response, or close its socket with the reason.
    EndReceiver(Option<CloseReason>),
    /// The session is now open: call the handler's `on_open`.
    Opened,
    /// The session is now closed: call the handler's `on_close`.
    Closed(CloseReason, CloseCause),
    /// The session is over: forget it and stop.
    Finished,
}

/// How the session talks to its receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SockJS framing: `o`, `h`, `a[...]`, `c[...]`.
    Framed,
    /// Raw WebSocket (`/websocket`): one text message per message, no protocol frames.
    Raw,
}

/// The session's timing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Heartbeat interval while a receiver is attached.
    pub heartbeat: Duration,
    /// How long the session outlives its last receiver.
    pub disconnect: Duration,
}

#[derive(Debug)]
struct Attached {
    token: u64,
    framing: Framing,
    limit: usize,
    sent: usize,
}

/// One session's protocol state.
#[derive(Debug)]
pub struct SessionState {
    phase: Phase,
    mode: Mode,
    timing: Timing,
    /// A WebSocket session lives exactly as long as its one receiver.
    ends_with_receiver: bool,
    outbox: VecDeque<Message>,
    outbox_bytes: usize,
    receiver: Option<Attached>,
    deadline: Instant,
}

impl SessionState {
    /// A new session, expiring after `timing.disconnect` unless a receiver attaches.
    pub fn new(now: Instant, timing: Timing, mode: Mode, ends_with_receiver: bool) -> Self {
        SessionState {
            phase: Phase::Connecting,
            mode,
            timing,
            ends_with_receiver,
            outbox: VecDeque::new(),
            outbox_bytes: 0,
            receiver: None,
            deadline: now + timing.disconnect,
        }
    }

    /// The phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// When [`SessionState::tick`] next has work to do.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Bytes queued for a receiver that is not attached yet.
    pub fn buffered_bytes(&self) -> usize {
        self.outbox_bytes
    }

    /// A WebSocket session's mode: its one receiver lives as long as it does, so once open
    /// its sends may go straight to that receiver as [`frame_of`] frames them.
    pub fn direct_mode(&self) -> Option<Mode> {
        self.ends_with_receiver.then_some(self.mode)
    }

    /// Attaches a receiver identified by `token`, which ends after `limit` bytes.
    /// `Err` carries the wrapped `c[2010,...]` frame for a receiver refused because another
    /// is attached; the session is unaffected.
    pub fn attach(
        &mut self,
        now: Instant,
        token: u64,
        framing: Framing,
        limit: usize,
    ) -> Result<Vec<Output>, Bytes> {
        if self.receiver.is_some() {
            return Err(framing.wrap(CloseReason::ANOTHER_CONNECTION.frame()));
        }
        self.receiver = Some(Attached {
            token,
            framing,
            limit: limit.max(1),
            sent: 0,
        });
        let mut out = Vec::new();
        match self.phase.clone() {
            Phase::Connecting => {
                self.phase = Phase::Open;
                if self.mode == Mode::Framed {
                    self.deliver(now, frame::OPEN, &mut out);
                }
                out.push(Output::Opened);
                self.flush(now, &mut out);
            }
            Phase::Open => self.flush(now, &mut out),
            Phase::Closed(reason) => {
                self.flush(now, &mut out);
                self.end_with_close(now, reason, &mut out);
            }
        }
        if self.receiver.is_some() {
            self.deadline = now + self.timing.heartbeat;
        }
        Ok(out)
    }

    /// The receiver with `token` went away on its own (aborted connection, WebSocket closed by
    /// the peer or broken framing): the session closes with `reason`. A stale token (a receiver
    /// the session already ended) is ignored.
    pub fn detach(
        &mut self,
        now: Instant,
        token: u64,
        reason: CloseReason,
        cause: CloseCause,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if self.receiver.as_ref().is_none_or(|r| r.token != token) {
            return out;
        }
        self.receiver = None;
        self.deadline = now + self.timing.disconnect;
        // The connection broke mid-request: what was queued is in an undefined state.
        self.discard_backlog();
        if !matches!(self.phase, Phase::Closed(_)) {
            self.enter_closed(reason, cause, &mut out);
        }
        if self.ends_with_receiver {
            out.push(Output::Finished);
        }
        out
    }

    /// Queues a message; delivers at once when a receiver is attached. Returns `None` (and
    /// drops the message) unless the session is open.
    pub fn send(&mut self, now: Instant, message: Message) -> Option<Vec<Output>> {
        if self.phase != Phase::Open {
            return None;
        }
        self.outbox_bytes += message.cost();
        self.outbox.push_back(message);
        let mut out = Vec::new();
        if self.receiver.is_some() {
            self.flush(now, &mut out);
            if self.receiver.is_some() {
                // Any write postpones the next heartbeat.
                self.deadline = now + self.timing.heartbeat;
            }
        }
        Some(out)
    }

    /// Drops every queued message (a slow consumer's backlog).
    pub fn discard_backlog(&mut self) {
        self.outbox.clear();
        self.outbox_bytes = 0;
    }

    /// Closes the session: queued messages, then the close frame, go to the attached receiver
    /// (or the next ones), which then ends; later receivers get the close frame until the
    /// session expires. `last`, if any, is queued first (a handler's last words, whatever
    /// the bounds). Closing a closed session does nothing.
    pub fn close(
        &mut self,
        now: Instant,
        reason: CloseReason,
        cause: CloseCause,
        last: Option<Message>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::Closed(_)) {
            return out;
        }
        if let Some(last) = last {
            self.outbox_bytes += last.cost();
            self.outbox.push_back(last);
        }
        self.enter_closed(reason.clone(), cause, &mut out);
        self.flush(now, &mut out);
        if self.receiver.is_some() {
            self.end_with_close(now, reason, &mut out);
        }
        if self.ends_with_receiver {
            out.push(Output::Finished);
        }
        out
    }

    /// Runs what is due at `now`: a heartbeat while attached, expiry while not.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        if now < self.deadline {
            return out;
        }
        if self.receiver.is_some() {
            self.deadline = now + self.timing.heartbeat;
            if self.mode == Mode::Framed && self.phase == Phase::Open {
                self.deliver(now, frame::HEARTBEAT, &mut out);
            }
        } else {
            if !matches!(self.phase, Phase::Closed(_)) {
                self.enter_closed(CloseReason::NORMAL, CloseCause::Timeout, &mut out);
            }
            out.push(Output::Finished);
        }
        out
    }

    fn enter_closed(&mut self, reason: CloseReason, cause: CloseCause, out: &mut Vec<Output>) {
        let was_open = self.phase == Phase::Open;
        self.phase = Phase::Closed(reason.clone());
        if was_open {
            out.push(Output::Closed(reason, cause));
        }
    }

    /// Sends the close frame (framed mode) and ends the attached receiver.
    fn end_with_close(&mut self, now: Instant, reason: CloseReason, out: &mut Vec<Output>) {
        if self.mode == Mode::Framed && self.receiver.is_some() {
            self.deliver(now, reason.frame(), out);
        }
        if self.receiver.take().is_some() {
            out.push(Output::EndReceiver(Some(reason)));
        }
        self.deadline = now + self.timing.disconnect;
    }

    fn flush(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.outbox.is_empty() || self.receiver.is_none() {
            return;
        }
        let batch = std::mem::take(&mut self.outbox);
        self.outbox_bytes = 0;
        match self.mode {
            Mode::Framed => self.deliver(now, frame::messages_frame(&batch), out),
            Mode::Raw => {
                for message in batch {
                    if let Some(r) = &mut self.receiver {
                        let text = frame_of(Mode::Raw, &message);
                        r.sent += text.len();
                        out.push(Output::Deliver(text));
                    }
                }
            }
        }
    }

    /// Wraps and delivers one frame; ends the receiver once it has had its `limit` of bytes.
    fn deliver(&mut self, now: Instant, frame: Bytes, out: &mut Vec<Output>) {
        let Some(r) = &mut self.receiver else { return };
        let wrapped = r.framing.wrap(frame);
        r.sent += wrapped.len();
        let done = r.sent >= r.limit;
        out.push(Output::Deliver(wrapped));
        if done {
            self.receiver = None;
            self.deadline = now + self.timing.disconnect;
            out.push(Output::EndReceiver(None));
        }
    }
}

/// Whether a session whose outbox holds `pending` bytes (queued or in flight to its receiver)
/// admits one more message of `cost` bytes under the bound `max` (`max_buffered_bytes`).
/// An empty outbox always admits one message, so the largest message a client may send
/// (`max_message_bytes`) can always be sent back, whatever its quoting and framing add.
pub fn outbox_admits(pending: usize, cost: usize, max: usize) -> bool {
    pending == 0 || pending.saturating_add(cost) <= max
}

/// The bytes one message goes out as, alone: its `a[...]` frame (framed), or its text (raw).
pub fn frame_of(mode: Mode, message: &Message) -> Bytes {
    match mode {
        Mode::Framed => message.frame().clone(),
        Mode::Raw => Bytes::from(message.text()),
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
