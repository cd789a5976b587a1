//! The pipe between a session and the receiver attached to it: the session pushes wrapped
//! frames into a queue whose byte count it watches (so a slow receiver is seen and bounded by
//! `max_buffered_bytes`); the transport drains it. Dropping the receiving end before the
//! session ended it tells the session the connection was interrupted.
//!
//! A queue under a lock with one stored waker, rather than a channel: every session holds
//! one for its whole life, and an idle one costs ~100 bytes here against ~1.8 KiB for a tokio
//! mpsc channel (which allocates a block of 32 slots up front; measured with heaptrack).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use actix::Recipient;
use bytes::Bytes;
use parking_lot::Mutex;

use super::state::CloseCause;
use crate::protocol::CloseReason;

/// A receiver went away, or its own side ended it: what it tells its session.
#[derive(actix::Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct Detach {
    /// Its token.
    pub(crate) token: u64,
    /// The close the session takes.
    pub(crate) reason: CloseReason,
    /// Why.
    pub(crate) cause: CloseCause,
}

/// What a receiver is told.
#[derive(Debug)]
pub enum ReceiverItem {
    /// Bytes to write, already framed.
    Frame(Bytes),
    /// The session is done with this receiver (with a reason when the session closed).
    End(Option<CloseReason>),
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<ReceiverItem>,
    waker: Option<Waker>,
    feed_gone: bool,
    receiver_gone: bool,
    /// Set by [`Lane::close`]: the lane queues nothing more.
    lane_closed: bool,
}

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Queue>,
    in_flight: AtomicUsize,
}

impl Shared {
    fn frame(&self, bytes: Bytes, lane: bool) -> bool {
        // Counted before it is queued, so a receiver taking it at once never counts below zero.
        let len = bytes.len();
        self.in_flight.fetch_add(len, Ordering::Relaxed);
        let queued = self.push(ReceiverItem::Frame(bytes), lane);
        if !queued {
            self.in_flight.fetch_sub(len, Ordering::Relaxed);
        }
        queued
    }

    /// Queues `item` and wakes the receiver; false if the receiver is gone (or, for a lane's
    /// item, the lane is closed).
    fn push(&self, item: ReceiverItem, lane: bool) -> bool {
        let waker = {
            let mut queue = self.queue.lock();
            if queue.receiver_gone || (lane && queue.lane_closed) {
                return false;
            }
            queue.items.push_back(item);
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

/// The session's end of the pipe.
#[derive(Debug)]
pub struct Feed {
    shared: Arc<Shared>,
}

impl Feed {
    /// Queues frame bytes; false if the receiver is gone.
    pub fn frame(&self, bytes: Bytes) -> bool {
        self.shared.frame(bytes, false)
    }

    /// A second way in, for sends that skip the session actor.
    pub fn lane(&self) -> Lane {
        Lane {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Ends the receiver.
    pub fn end(&self, reason: Option<CloseReason>) {
        self.shared.push(ReceiverItem::End(reason), false);
    }

    /// Bytes handed to the receiver and not yet taken by its connection.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let waker = {
            let mut queue = self.shared.queue.lock();
            queue.feed_gone = true;
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A second sending end of a pipe ([`Feed::lane`]): frames pushed through it join the same
/// queue, in the order they are pushed; dropping it ends nothing (only the feed does).
#[derive(Debug)]
pub struct Lane {
    shared: Arc<Shared>,
}

impl Lane {
    /// Queues frame bytes; false if the receiver is gone or the lane closed.
    pub fn frame(&self, bytes: Bytes) -> bool {
        self.shared.frame(bytes, true)
    }

    /// Closes the lane: whatever it queued before stays ahead of what the feed queues after.
    pub fn close(&self) {
        self.shared.queue.lock().lane_closed = true;
    }

    /// Bytes handed to the receiver and not yet taken by its connection.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }
}

/// The transport's end of the pipe. Dropped before the session ended it, it reports the
/// receiver as interrupted.
#[derive(Debug)]
pub struct Receiver {
    shared: Arc<Shared>,
    token: u64,
    session: Option<Recipient<Detach>>,
    ended: bool,
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A new pipe with a fresh token. The receiver reports to nobody until
/// [`Receiver::report_to`] names its session.
pub fn pipe() -> (Feed, Receiver) {
    let shared = Arc::new(Shared::default());
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    (
        Feed {
            shared: Arc::clone(&shared),
        },
        Receiver {
            shared,
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

    /// Names whom to tell (the session) if this receiver is dropped early or ends itself.
    pub fn report_to(&mut self, session: Recipient<Detach>) {
        self.session = Some(session);
    }

    /// The next item; `None` once the session ended this receiver (or went away).
    pub async fn next(&mut self) -> Option<ReceiverItem> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Poll form of [`Receiver::next`], for response body streams.
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<ReceiverItem>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let item = {
            let mut queue = self.shared.queue.lock();
            match queue.items.pop_front() {
                Some(item) => {
                    // A drained queue gives its buffer back: most sessions are idle most of
                    // the time, and an idle one then holds none (an allocation per burst).
                    if queue.items.is_empty() {
                        queue.items = VecDeque::new();
                    }
                    Some(item)
                }
                None if queue.feed_gone => None,
                None => {
                    match &mut queue.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            }
        };
        match &item {
            Some(ReceiverItem::Frame(b)) => {
                self.shared.in_flight.fetch_sub(b.len(), Ordering::Relaxed);
            }
            Some(ReceiverItem::End(_)) | None => self.ended = true,
        }
        Poll::Ready(item)
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
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
        let mut queue = self.shared.queue.lock();
        queue.receiver_gone = true;
        queue.items = VecDeque::new();
        queue.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll(receiver: &mut Receiver) -> Poll<Option<ReceiverItem>> {
        receiver.poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn frames_arrive_in_order_and_are_counted_until_taken() {
        let (feed, mut receiver) = pipe();
        assert!(feed.frame(Bytes::from_static(b"o")));
        assert!(feed.frame(Bytes::from_static(b"a[\"x\"]")));
        assert_eq!(feed.in_flight(), 7);
        assert!(
            matches!(poll(&mut receiver), Poll::Ready(Some(ReceiverItem::Frame(b))) if b == "o")
        );
        assert_eq!(feed.in_flight(), 6);
        assert!(
            matches!(poll(&mut receiver), Poll::Ready(Some(ReceiverItem::Frame(b))) if b == "a[\"x\"]")
        );
        assert_eq!(feed.in_flight(), 0);
        assert!(poll(&mut receiver).is_pending());
    }

    #[test]
    fn end_ends_the_receiver_for_good() {
        let (feed, mut receiver) = pipe();
        feed.end(Some(CloseReason::GO_AWAY));
        assert!(feed.frame(Bytes::from_static(b"h")));
        assert!(matches!(
            poll(&mut receiver),
            Poll::Ready(Some(ReceiverItem::End(Some(_))))
        ));
        assert!(matches!(poll(&mut receiver), Poll::Ready(None)));
    }

    #[test]
    fn a_dropped_feed_ends_the_receiver_after_what_it_queued() {
        let (feed, mut receiver) = pipe();
        feed.frame(Bytes::from_static(b"h"));
        drop(feed);
        assert!(matches!(
            poll(&mut receiver),
            Poll::Ready(Some(ReceiverItem::Frame(_)))
        ));
        assert!(matches!(poll(&mut receiver), Poll::Ready(None)));
    }

    #[test]
    fn a_dropped_receiver_refuses_frames_and_frees_its_queue() {
        let (feed, receiver) = pipe();
        feed.frame(Bytes::from_static(b"h"));
        drop(receiver);
        assert!(!feed.frame(Bytes::from_static(b"h")));
        assert!(feed.shared.queue.lock().items.is_empty());
    }

    #[test]
    fn a_waiting_receiver_is_woken_by_a_frame() {
        use std::sync::atomic::AtomicBool;
        struct Flag(AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(Arc::clone(&flag));
        let (feed, mut receiver) = pipe();
        assert!(
            receiver
                .poll_next(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert!(!flag.0.load(Ordering::SeqCst));
        feed.frame(Bytes::from_static(b"h"));
        assert!(flag.0.load(Ordering::SeqCst));
    }

    #[test]
    fn a_lane_joins_the_queue_in_order_and_ends_nothing() {
        let (feed, mut receiver) = pipe();
        let lane = feed.lane();
        feed.frame(Bytes::from_static(b"o"));
        assert!(lane.frame(Bytes::from_static(b"a[\"x\"]")));
        assert_eq!(lane.in_flight(), 7);
        drop(lane);
        assert!(
            matches!(poll(&mut receiver), Poll::Ready(Some(ReceiverItem::Frame(b))) if b == "o")
        );
        assert!(
            matches!(poll(&mut receiver), Poll::Ready(Some(ReceiverItem::Frame(b))) if b == "a[\"x\"]")
        );
        assert!(poll(&mut receiver).is_pending());
        let lane = feed.lane();
        lane.close();
        assert!(!lane.frame(Bytes::from_static(b"h")));
        assert!(feed.frame(Bytes::from_static(b"c[3000,\"Go away!\"]")));
        drop(receiver);
        assert!(!feed.lane().frame(Bytes::from_static(b"h")));
    }

    #[test]
    fn a_drained_queue_gives_back_its_buffer() {
        let (feed, mut receiver) = pipe();
        for _ in 0..3 {
            feed.frame(Bytes::from_static(b"h"));
        }
        while poll(&mut receiver).is_ready() {}
        assert_eq!(feed.shared.queue.lock().items.capacity(), 0);
    }
}
