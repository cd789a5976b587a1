//! The pipe between a session and the receiver attached to it: the session pushes wrapped
//! frames into an unbounded channel whose byte count it watches (so a slow receiver is seen
//! and bounded by `max_buffered_bytes`); the transport drains it. Dropping the receiving end
//! before the session ended it tells the session the connection was interrupted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use actix::Addr;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::actor::{Detach, SessionActor};
use super::state::CloseCause;
use crate::protocol::CloseReason;

/// What a receiver is told.
#[derive(Debug)]
pub enum ReceiverItem {
    /// Bytes to write, already framed.
    Frame(Bytes),
    /// The session is done with this receiver (with a reason when the session closed).
    End(Option<CloseReason>),
}

/// The session's end of the pipe.
#[derive(Debug)]
pub struct Sink {
    tx: mpsc::UnboundedSender<ReceiverItem>,
    in_flight: Arc<AtomicUsize>,
}

impl Sink {
    /// Queues frame bytes; false if the receiver is gone.
    pub fn frame(&self, bytes: Bytes) -> bool {
        let len = bytes.len();
        self.in_flight.fetch_add(len, Ordering::Relaxed);
        self.tx.send(ReceiverItem::Frame(bytes)).is_ok()
    }

    /// Ends the receiver.
    pub fn end(&self, reason: Option<CloseReason>) {
        let _ = self.tx.send(ReceiverItem::End(reason));
    }

    /// Bytes handed to the receiver and not yet taken by its connection.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// The transport's end of the pipe. Dropped before the session ended it, it reports the
/// receiver as interrupted.
#[derive(Debug)]
pub struct Receiver {
    rx: mpsc::UnboundedReceiver<ReceiverItem>,
    in_flight: Arc<AtomicUsize>,
    token: u64,
    session: Option<Addr<SessionActor>>,
    ended: bool,
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A new pipe with a fresh token. The receiver reports to nobody until
/// [`Receiver::bind`] names its session.
pub fn pipe() -> (Sink, Receiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    (
        Sink {
            tx,
            in_flight: in_flight.clone(),
        },
        Receiver {
            rx,
            in_flight,
            token,
            session: None,
            ended: false,
        },
    )
}

impl Receiver {
    /// This receiver's attach token.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Names the session to tell if this receiver is dropped early.
    pub fn bind(&mut self, session: Addr<SessionActor>) {
        self.session = Some(session);
    }

    /// The next item; `None` once the session ended this receiver (or went away).
    pub async fn next(&mut self) -> Option<ReceiverItem> {
        if self.ended {
            return None;
        }
        let item = self.rx.recv().await;
        self.note(&item);
        item
    }

    /// Poll form of [`Receiver::next`], for response body streams.
    pub fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ReceiverItem>> {
        if self.ended {
            return std::task::Poll::Ready(None);
        }
        let polled = self.rx.poll_recv(cx);
        if let std::task::Poll::Ready(item) = &polled {
            self.note(item);
        }
        polled
    }

    /// The receiver's own side ended it (WebSocket closed by the peer, broken framing): the
    /// session closes with `reason`. Only the first call counts.
    pub fn finish(&mut self, reason: CloseReason, cause: CloseCause) {
        if !self.ended {
            self.ended = true;
            if let Some(session) = self.session.take() {
                session.do_send(Detach {
                    token: self.token,
                    reason,
                    cause,
                });
            }
        }
    }

    fn note(&mut self, item: &Option<ReceiverItem>) {
        match item {
            Some(ReceiverItem::Frame(b)) => {
                self.in_flight.fetch_sub(b.len(), Ordering::Relaxed);
            }
            Some(ReceiverItem::End(_)) | None => self.ended = true,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
    }
}
