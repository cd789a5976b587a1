//! The session actor: the one owner of a session's state, timer, attached receiver and
//! application handler. Transports talk to it only through its messages; handlers through a
//! [`SessionHandle`].
//!
//! Must not: block, hold a lock across a send, or let a failing handler take down anything but
//! its own session.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix::{
    Actor, ActorContext, Addr, AsyncContext, Context, Handler as ActixHandler, SpawnHandle,
};

use super::headers::RequestHeaders;
use super::receiver::{Lane, Sink};
use super::registry::Registry;
use super::state::{CloseCause, Mode, Output, SessionState, Timing, frame_of, outbox_admits};
use super::handler::Handler;
use crate::metrics::{Limit, MountMetrics};
use crate::protocol::{CloseReason, Framing, Message, TransportKind};

/// What a handler can know about its session: fixed when the session was created.
#[derive(Debug)]
struct Info {
    serial: u64,
    id: String,
    prefix: Arc<str>,
    transport: TransportKind,
    peer: Option<SocketAddr>,
    client: Option<IpAddr>,
    binding: Binding,
    headers: RequestHeaders,
    /// Set once a WebSocket session is open: its sends skip the actor.
    lane: OnceLock<SendLane>,
}

/// The direct way from a [`SessionHandle`] to an open WebSocket session's socket. A
/// WebSocket session has one receiver for its whole life and nothing to buffer, so a send
/// needs only the bound check and the frame: queued on the socket's pipe at once, it skips
/// a hop through the actor's mailbox (which a broadcast to many sessions pays once per
/// session, and the first delivery waits for them all). Sends are queued in the order they
/// are made; the actor closes the lane when the session closes, and a send the lane
/// refuses goes the actor's way (which sees the overflow, or drops it once closed).
#[derive(Debug)]
struct SendLane {
    pipe: Lane,
    mode: Mode,
    max_buffered: usize,
    metrics: MountMetrics,
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

/// What a request must match to use a session (see `Config::session_binding`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Binding {
    /// The client address, when bound to it.
    pub client: Option<Option<IpAddr>>,
    /// The JSESSIONID value, when bound to it.
    pub cookie: Option<Option<String>>,
}

/// A cheap, cloneable handle on a session: send text, close it, and read what the opening
/// request said. Equal handles name the same session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    info: Arc<Info>,
    addr: Addr<SessionActor>,
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
            self.addr.do_send(Send(message));
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

    pub(crate) fn addr(&self) -> &Addr<SessionActor> {
        &self.addr
    }
}

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

/// Everything needed to start a session.
pub struct Spawn {
    /// The client's session id.
    pub id: String,
    /// The mount prefix.
    pub prefix: Arc<str>,
    /// The opening request's transport.
    pub transport: TransportKind,
    /// The opening request's peer.
    pub peer: Option<SocketAddr>,
    /// The client's address (after trusted-proxy resolution).
    pub client: Option<IpAddr>,
    /// What later requests must match.
    pub binding: Binding,
    /// The opening request's headers.
    pub headers: RequestHeaders,
    /// Timing.
    pub timing: Timing,
    /// Framed or raw.
    pub mode: Mode,
    /// The outgoing byte bound.
    pub max_buffered: usize,
    /// The registry to leave when the session finishes (HTTP sessions and WebSockets alike).
    pub registry: Arc<Registry>,
    /// The application handler.
    pub handler: Box<dyn Handler>,
    /// The mount's metrics.
    pub metrics: MountMetrics,
}

/// The actor owning one session.
pub struct SessionActor {
    state: SessionState,
    handler: Box<dyn Handler>,
    handler_failed: bool,
    handle: SessionHandle,
    sink: Option<Sink>,
    max_buffered: usize,
    registry: Arc<Registry>,
    timer: Option<(Instant, SpawnHandle)>,
    metrics: MountMetrics,
}

static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl SessionActor {
    /// Starts a session on the current arbiter. `ends_with_receiver` for WebSocket sessions.
    pub fn start(spawn: Spawn, ends_with_receiver: bool) -> SessionHandle {
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(Info {
            serial,
            id: spawn.id,
            prefix: spawn.prefix,
            transport: spawn.transport,
            peer: spawn.peer,
            client: spawn.client,
            binding: spawn.binding,
            headers: spawn.headers,
            lane: OnceLock::new(),
        });
        let actor_info = Arc::clone(&info);
        let addr = SessionActor::create(|ctx| {
            let handle = SessionHandle {
                info: actor_info,
                addr: ctx.address(),
            };
            SessionActor {
                state: SessionState::new(now(), spawn.timing, spawn.mode, ends_with_receiver),
                handler: spawn.handler,
                handler_failed: false,
                handle,
                sink: None,
                max_buffered: spawn.max_buffered,
                registry: spawn.registry,
                timer: None,
                metrics: spawn.metrics,
            }
        });
        SessionHandle { info, addr }
    }

    fn apply(&mut self, outputs: Vec<Output>, ctx: &mut Context<Self>) {
        // The lane closes before a close frame or the receiver's end is queued, so nothing it
        // sends can follow them.
        if outputs
            .iter()
            .any(|o| matches!(o, Output::Closed(..) | Output::EndReceiver(_)))
        {
            self.close_lane();
        }
        for output in outputs {
            match output {
                Output::Deliver(bytes) => {
                    if let Some(sink) = &self.sink {
                        self.metrics.bytes_out.inc_by(bytes.len() as u64);
                        sink.frame(bytes);
                    }
                }
                Output::EndReceiver(reason) => {
                    if let Some(sink) = self.sink.take() {
                        sink.end(reason);
                    }
                }
                Output::Opened => {
                    self.open_lane();
                    self.call(ctx, |h, s| h.on_open(s));
                }
                Output::Closed(reason, cause) => {
                    self.metrics.session_closed(reason.code);
                    log::debug!(
                        "session {} on {} closed: {} {:?} ({:?})",
                        self.handle.id(),
                        self.handle.prefix(),
                        reason.code,
                        reason.reason,
                        cause
                    );
                    self.call(ctx, |h, s| h.on_close(s, &reason, cause));
                }
                Output::Finished => ctx.stop(),
            }
        }
        self.arm_timer(ctx);
    }

    /// Opens a WebSocket session's [`SendLane`] (after its open frame is queued).
    fn open_lane(&self) {
        if let (Some(mode), Some(sink)) = (self.state.direct_mode(), &self.sink) {
            let _ = self.handle.info.lane.set(SendLane {
                pipe: sink.lane(),
                mode,
                max_buffered: self.max_buffered,
                metrics: self.metrics.clone(),
            });
        }
    }

    fn close_lane(&self) {
        if let Some(lane) = self.handle.info.lane.get() {
            lane.pipe.close();
        }
    }

    /// Calls the handler; a panic closes this session only (with 1011 "Internal error").
    fn call(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut dyn Handler, &SessionHandle)) {
        if self.handler_failed {
            return;
        }
        let handle = self.handle.clone();
        let handler = &mut self.handler;
        if catch_unwind(AssertUnwindSafe(|| f(handler.as_mut(), &handle))).is_err() {
            log::error!(
                "handler panicked; closing session {} on {}",
                handle.id(),
                handle.prefix()
            );
            self.handler_failed = true;
            let out = self.state.close(
                now(),
                CloseReason::INTERNAL_ERROR,
                CloseCause::HandlerFailed,
                None,
            );
            self.apply(out, ctx);
        }
    }

    /// A close the server decides (overflow, shutdown): the handler may leave last words,
    /// queued before the close frame.
    fn server_close(&mut self, reason: CloseReason, cause: CloseCause) -> Vec<Output> {
        let mut last = None;
        if *self.state.phase() == super::Phase::Open && !self.handler_failed {
            let handle = self.handle.clone();
            let handler = &mut self.handler;
            match catch_unwind(AssertUnwindSafe(|| {
                handler.on_closing(&handle, &reason, cause)
            })) {
                Ok(words) => last = words.map(Message::new),
                Err(_) => self.handler_failed = true,
            }
        }
        self.state.close(now(), reason, cause, last)
    }

    /// Keeps one timer armed for the earlier of the state's deadline and the handler's
    /// (re-armed only when that moves earlier; a timer that fires early finds nothing due and
    /// re-arms).
    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let mut deadline = self.state.deadline();
        if let Some(at) = self.handler_deadline(ctx) {
            deadline = deadline.min(at);
        }
        if let Some((at, handle)) = self.timer {
            if at <= deadline {
                return;
            }
            ctx.cancel_future(handle);
        }
        let delay = deadline.saturating_duration_since(now());
        let handle = ctx.run_later(delay, |act, ctx| {
            act.timer = None;
            act.on_timer(ctx);
        });
        self.timer = Some((deadline, handle));
    }

    /// The timer fired: the handler's tick if it is due, then the state's.
    fn on_timer(&mut self, ctx: &mut Context<Self>) {
        let now = now();
        if self.handler_deadline(ctx).is_some_and(|at| at <= now) {
            self.call(ctx, |h, s| h.tick(s, now));
        }
        let out = self.state.tick(now);
        self.apply(out, ctx);
    }

    /// When the handler wants its tick, while it can be called (open, not failed). A panic
    /// here fails the handler like one in any other call (the close comes as a message, as
    /// this runs while the timer is being armed).
    fn handler_deadline(&mut self, ctx: &mut Context<Self>) -> Option<Instant> {
        if self.handler_failed || *self.state.phase() != super::Phase::Open {
            return None;
        }
        let handler = &self.handler;
        match catch_unwind(AssertUnwindSafe(|| handler.deadline())) {
            Ok(deadline) => deadline,
            Err(_) => {
                log::error!(
                    "handler panicked; closing session {} on {}",
                    self.handle.id(),
                    self.handle.prefix()
                );
                self.handler_failed = true;
                ctx.notify(Close(
                    CloseReason::INTERNAL_ERROR,
                    CloseCause::HandlerFailed,
                ));
                None
            }
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.metrics.session_started(self.handle.transport().name());
        self.arm_timer(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.close_lane();
        if let Some(sink) = self.sink.take() {
            sink.end(None);
        }
        self.registry.remove(&self.handle);
        self.metrics.session_stopped(self.handle.transport().name());
    }
}

/// Attach a receiver. A refused receiver gets `c[2010,...]` through its own pipe and ends.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Attach {
    /// The receiver's token.
    pub token: u64,
    /// Its framing.
    pub framing: Framing,
    /// Bytes after which it ends (1 for polling, `response_limit` for streaming).
    pub limit: usize,
    /// The session's end of its pipe.
    pub sink: Sink,
}

impl ActixHandler<Attach> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        match self.state.attach(now(), msg.token, msg.framing, msg.limit) {
            Ok(out) => {
                self.sink = Some(msg.sink);
                self.apply(out, ctx);
            }
            Err(refusal) => {
                msg.sink.frame(refusal);
                msg.sink.end(None);
            }
        }
    }
}

/// A receiver went away.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Detach {
    /// Its token.
    pub token: u64,
    /// The close the session takes.
    pub reason: CloseReason,
    /// Why.
    pub cause: CloseCause,
}

impl ActixHandler<Detach> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Context<Self>) {
        let out = self.state.detach(now(), msg.token, msg.reason, msg.cause);
        if !out.is_empty() {
            self.sink = None;
        }
        self.apply(out, ctx);
    }
}

/// Messages from the client, in order.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Incoming(pub Vec<String>);

impl ActixHandler<Incoming> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Incoming, ctx: &mut Context<Self>) {
        self.metrics.messages_in.inc_by(msg.0.len() as u64);
        self.metrics
            .bytes_in
            .inc_by(msg.0.iter().map(|m| m.len() as u64).sum());
        for text in msg.0 {
            if *self.state.phase() != super::Phase::Open {
                break;
            }
            self.call(ctx, |h, s| h.on_message(s, text));
        }
        self.arm_timer(ctx);
    }
}

/// A message to the client.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Send(pub Message);

impl ActixHandler<Send> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Send, ctx: &mut Context<Self>) {
        let pending = self.state.buffered_bytes() + self.sink.as_ref().map_or(0, Sink::in_flight);
        let out = if !outbox_admits(pending, msg.0.cost(), self.max_buffered) {
            log::warn!(
                "session {} on {}: {} bytes waiting for a slow receiver; closing",
                self.handle.id(),
                self.handle.prefix(),
                pending
            );
            self.metrics.rejected(Limit::SendBuffer);
            self.state.discard_backlog();
            self.server_close(CloseReason::BUFFER_OVERFLOW, CloseCause::Overflow)
        } else {
            self.metrics.messages_out.inc();
            self.state.send(now(), msg.0).unwrap_or_default()
        };
        self.apply(out, ctx);
    }
}

/// Close the session.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Close(pub CloseReason, pub CloseCause);

impl ActixHandler<Close> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        let out = match msg.1 {
            CloseCause::Application => self.state.close(now(), msg.0, msg.1, None),
            cause => self.server_close(msg.0, cause),
        };
        self.apply(out, ctx);
    }
}
