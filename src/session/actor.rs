//! The session actor: the one owner of a session's state, timer, attached receiver and
//! application handler. Its messages are seen only by [`super::handle`]; transports and
//! handlers reach it through a [`SessionHandle`].
//!
//! Must not: block, hold a lock across a send, or let a failing handler take down anything but
//! its own session.

use std::net::{IpAddr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler as ActixHandler, SpawnHandle};

use super::binding::Binding;
use super::handle::{Info, SendLane, SessionHandle};
use super::handler::Handler;
use super::headers::RequestHeaders;
use super::receiver::{Detach, Feed};
use super::registry::Registry;
use super::state::{CloseCause, Mode, Output, SessionState, Timing, outbox_admits};
use crate::identity::Identity;
use crate::metrics::{Limit, MountMetrics};
use crate::protocol::{CloseReason, Framing, Message, TransportKind};

/// What a new session is made of: what the opening request said and the mount's settings.
pub(crate) struct NewSession {
    /// The client's session id.
    pub(crate) id: String,
    /// The mount prefix.
    pub(crate) prefix: Arc<str>,
    /// The opening request's transport.
    pub(crate) transport: TransportKind,
    /// The opening request's peer.
    pub(crate) peer: Option<SocketAddr>,
    /// The client's address (after trusted-proxy resolution).
    pub(crate) client: Option<IpAddr>,
    /// What later requests must match.
    pub(crate) binding: Binding,
    /// The opening request's headers.
    pub(crate) headers: RequestHeaders,
    /// Who the opening request was, when the mount identifies requests.
    pub(crate) identity: Option<Arc<Identity>>,
    /// The heartbeat and disconnect delays.
    pub(crate) timing: Timing,
    /// Framed or raw.
    pub(crate) mode: Mode,
    /// The outgoing byte bound.
    pub(crate) max_buffered: usize,
    /// The registry to leave when the session finishes (HTTP sessions and WebSockets alike).
    pub(crate) registry: Arc<Registry>,
    /// The application handler.
    pub(crate) handler: Box<dyn Handler>,
    /// The mount's metrics.
    pub(crate) metrics: MountMetrics,
}

/// The actor owning one session.
pub(crate) struct SessionActor {
    state: SessionState,
    handler: Box<dyn Handler>,
    handler_failed: bool,
    handle: SessionHandle,
    feed: Option<Feed>,
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
    pub(crate) fn start(new: NewSession, ends_with_receiver: bool) -> SessionHandle {
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let info = Arc::new(Info {
            serial,
            id: new.id,
            prefix: new.prefix,
            transport: new.transport,
            peer: new.peer,
            client: new.client,
            binding: new.binding,
            headers: new.headers,
            identity: new.identity,
            lane: OnceLock::new(),
        });
        let actor_info = Arc::clone(&info);
        let addr = SessionActor::create(|ctx| {
            let handle = SessionHandle {
                info: actor_info,
                addr: ctx.address(),
            };
            SessionActor {
                state: SessionState::new(now(), new.timing, new.mode, ends_with_receiver),
                handler: new.handler,
                handler_failed: false,
                handle,
                feed: None,
                max_buffered: new.max_buffered,
                registry: new.registry,
                timer: None,
                metrics: new.metrics,
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
                    if let Some(feed) = &self.feed {
                        self.metrics.bytes_out.inc_by(bytes.len() as u64);
                        feed.frame(bytes);
                    }
                }
                Output::EndReceiver(reason) => {
                    if let Some(feed) = self.feed.take() {
                        feed.end(reason);
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
        if let (Some(mode), Some(feed)) = (self.state.direct_mode(), &self.feed) {
            let _ = self.handle.info.lane.set(SendLane {
                pipe: feed.lane(),
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
        if let Some(feed) = self.feed.take() {
            feed.end(None);
        }
        self.registry.remove(&self.handle);
        self.metrics.session_stopped(self.handle.transport().name());
    }
}

/// Attach a receiver. A refused receiver gets `c[2010,...]` through its own pipe and ends.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(super) struct Attach {
    /// The receiver's token.
    pub(super) token: u64,
    /// Its framing.
    pub(super) framing: Framing,
    /// Bytes after which it ends (1 for polling, `response_limit` for streaming).
    pub(super) limit: usize,
    /// The session's end of its pipe.
    pub(super) feed: Feed,
}

impl ActixHandler<Attach> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        match self.state.attach(now(), msg.token, msg.framing, msg.limit) {
            Ok(out) => {
                self.feed = Some(msg.feed);
                self.apply(out, ctx);
            }
            Err(refusal) => {
                msg.feed.frame(refusal);
                msg.feed.end(None);
            }
        }
    }
}

impl ActixHandler<Detach> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Context<Self>) {
        let out = self.state.detach(now(), msg.token, msg.reason, msg.cause);
        if !out.is_empty() {
            self.feed = None;
        }
        self.apply(out, ctx);
    }
}

/// Messages from the client, in order.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub(super) struct Incoming(pub(super) Vec<String>);

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
pub(super) struct Outgoing(pub(super) Message);

impl ActixHandler<Outgoing> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Outgoing, ctx: &mut Context<Self>) {
        let pending = self.state.buffered_bytes() + self.feed.as_ref().map_or(0, Feed::in_flight);
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
pub(super) struct Close(pub(super) CloseReason, pub(super) CloseCause);

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
