//! [`SessionHandle`]: what applications and transports hold of a session. Applications send,
//! close and read what the opening request said; transports attach receivers and deliver
//! the client's messages through its crate-private methods, the only way into a session
//! from outside `session/`.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use actix::Addr;

use super::actor::{Attach, Close, Incoming, Outgoing, SessionActor};
use super::binding::Binding;
use super::headers::RequestHeaders;
use super::receiver::{Lane, Receiver, pipe};
use super::state::{CloseCause, Mode, frame_of, outbox_admits};
use crate::identity::Identity;
use crate::metrics::MountMetrics;
use crate::protocol::{CloseReason, Framing, Message, TransportKind};

/// What a handler can know about its session: fixed when the session was created.
#[derive(Debug)]
pub(super) struct Info {
    pub(super) serial: u64,
    pub(super) id: String,
    pub(super) prefix: Arc<str>,
    pub(super) transport: TransportKind,
    pub(super) peer: Option<SocketAddr>,
    pub(super) client: Option<IpAddr>,
    pub(super) binding: Binding,
    pub(super) headers: RequestHeaders,
    pub(super) identity: Option<Arc<Identity>>,
    /// Set once a WebSocket session is open: its sends skip the actor.
    pub(super) lane: OnceLock<SendLane>,
}

/// The direct way from a [`SessionHandle`] to an open WebSocket session's socket. A
/// WebSocket session has one receiver for its whole life and nothing to buffer, so a send
/// needs only the bound check and the frame: queued on the socket's pipe at once, it skips
/// a hop through the actor's mailbox (which a broadcast to many sessions pays once per
/// session, and the first delivery waits for them all). Sends are queued in the order they
/// are made; the actor closes the lane when the session closes, and a send the lane
/// refuses goes the actor's way (which sees the overflow, or drops it once closed).
#[derive(Debug)]
pub(super) struct SendLane {
    pub(super) pipe: Lane,
    pub(super) mode: Mode,
    pub(super) max_buffered: usize,
    pub(super) metrics: MountMetrics,
}

impl SendLane {
    /// Queues `message` on the socket's pipe; false leaves it to the actor.
    fn send(&self, message: &Message) -> bool {
        if !outbox_admits(self.pipe.in_flight(), message.cost(), self.max_buffered) {
            // The actor closes the session for the overflow; every later send goes its way.
            self.pipe.close();
            return false;
        }
        let bytes = frame_of(self.mode, message);
        let len = bytes.len() as u64;
        if !self.pipe.frame(bytes) {
            return false;
        }
        self.metrics.messages_out.inc();
        self.metrics.bytes_out.inc_by(len);
        true
    }
}

/// A cheap, cloneable handle on a session: send text, close it, and read what the opening
/// request said. Equal handles name the same session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    pub(super) info: Arc<Info>,
    pub(super) addr: Addr<SessionActor>,
}

impl SessionHandle {
    /// The session id the client chose (for WebSocket sessions, not unique: see `serial`).
    pub fn id(&self) -> &str {
        &self.info.id
    }

    /// A number unique to this session in this process.
    pub fn serial(&self) -> u64 {
        self.info.serial
    }

    /// The mount prefix the session belongs to.
    pub fn prefix(&self) -> &str {
        &self.info.prefix
    }

    /// The transport of the request that opened the session.
    pub fn transport(&self) -> TransportKind {
        self.info.transport
    }

    /// The peer address of the request that opened the session.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.info.peer
    }

    /// The client's address: the peer's, or (when the peer is a configured trusted proxy) the
    /// one it forwarded for (`Config::trusted_proxies`).
    pub fn client_addr(&self) -> Option<IpAddr> {
        self.info.client
    }

    /// The headers of the request that opened the session (without the connection-scoped
    /// ones: see [`RequestHeaders`]).
    pub fn headers(&self) -> &RequestHeaders {
        &self.info.headers
    }

    /// Who the opening request was, when the mount identifies requests
    /// ([`SockJs::identified`](crate::SockJs::identified)); every later request of the
    /// session was the same user.
    pub fn identity(&self) -> Option<&Identity> {
        self.info.identity.as_deref()
    }

    /// Sends a text message. Returns false if the session is gone.
    pub fn send(&self, text: impl AsRef<str>) -> bool {
        self.send_message(Message::new(text))
    }

    /// Sends a message quoted beforehand (share one [`Message`] when sending to many).
    pub fn send_message(&self, message: Message) -> bool {
        if let Some(lane) = self.info.lane.get()
            && lane.send(&message)
        {
            return true;
        }
        self.addr.connected() && {
            self.addr.do_send(Outgoing(message));
            true
        }
    }

    /// Closes the session with `code` and `reason`.
    pub fn close(&self, code: u16, reason: impl Into<Cow<'static, str>>) {
        self.addr.do_send(Close(
            CloseReason::new(code, reason),
            CloseCause::Application,
        ));
    }

    /// Whether the session's actor is still running.
    pub fn is_connected(&self) -> bool {
        self.addr.connected()
    }

    /// What a request must match to use this session.
    pub(crate) fn binding(&self) -> &Binding {
        &self.info.binding
    }

    // The crate's way to a session, for transports and the mount: nothing else of the actor
    // is seen outside `session`.

    /// Attaches a new receiver with `framing` that ends after `limit` bytes (a refused one
    /// gets `c[2010,...]` through its own pipe). `Err` if the session has finished.
    pub(crate) async fn attach(
        &self,
        framing: Framing,
        limit: usize,
    ) -> Result<Receiver, SessionGone> {
        let (attach, receiver) = self.attach_message(framing, limit);
        self.addr.send(attach).await.map_err(|_| SessionGone)?;
        Ok(receiver)
    }

    /// Attaches a WebSocket's receiver (no limit) without waiting: a socket's session was
    /// started for it, so nothing can be attached before.
    pub(crate) fn attach_socket(&self) -> Receiver {
        let (attach, receiver) = self.attach_message(Framing::WebSocket, usize::MAX);
        self.addr.do_send(attach);
        receiver
    }

    fn attach_message(&self, framing: Framing, limit: usize) -> (Attach, Receiver) {
        let (feed, mut receiver) = pipe();
        receiver.report_to(self.addr.clone().recipient());
        let attach = Attach {
            token: receiver.token(),
            framing,
            limit,
            feed,
        };
        (attach, receiver)
    }

    /// Hands the client's messages to the handler, in order. `Err` if the session has
    /// finished.
    pub(crate) async fn deliver(&self, messages: Vec<String>) -> Result<(), SessionGone> {
        self.addr
            .send(Incoming(messages))
            .await
            .map_err(|_| SessionGone)
    }

    /// [`SessionHandle::deliver`] without waiting (a socket's messages, from its own body).
    pub(crate) fn deliver_now(&self, messages: Vec<String>) {
        self.addr.do_send(Incoming(messages));
    }

    /// Closes the session for a reason of the server's (`cause`), letting the handler leave
    /// last words ([`crate::Handler::on_closing`]).
    pub(crate) fn close_for(&self, reason: CloseReason, cause: CloseCause) {
        self.addr.do_send(Close(reason, cause));
    }
}

/// The session has finished: nothing can be attached to it or delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionGone;

impl PartialEq for SessionHandle {
    fn eq(&self, other: &Self) -> bool {
        self.info.serial == other.info.serial
    }
}
impl Eq for SessionHandle {}
impl std::hash::Hash for SessionHandle {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.info.serial.hash(state);
    }
}
