//! WebSocket transports: SockJS-framed (`/<server>/<session>/websocket`) and raw
//! (`/websocket`). Each connection is its own session, living as long as the socket; one task
//! per socket moves frames both ways.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use actix_web::FromRequest;
use futures_util::{FutureExt, Stream};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode};
use bytestring::ByteString;

use super::error::TransportError;
use super::{SockJs, hixie76, ws_guard};
use crate::metrics::{Limit, MountMetrics};
use crate::protocol::{CloseReason, Framing, TransportKind, decode_websocket, frame};
use crate::session::actor::{Attach, Incoming};
use crate::session::receiver::pipe;
use crate::session::{CloseCause, Mode, Receiver, ReceiverItem, SessionHandle};

/// Close code for a message over `max_message_bytes` (RFC 6455 1009 "message too big").
pub const TOO_BIG: CloseReason = CloseReason::fixed(1009, "Message too big");
/// Over an admission limit (RFC 6455 1013 "try again later").
pub const TRY_AGAIN_LATER: CloseReason = CloseReason::fixed(1013, "Too many sessions");
/// The peer did not answer a ping within a heartbeat period (sockjs-node's close for a
/// missed pong).
pub const NO_PONG: CloseReason = CloseReason::fixed(3000, "No response from heartbeat");
/// Close code for a raw WebSocket binary message that is not UTF-8 (RFC 6455 1007).
pub const NOT_UTF8: CloseReason = CloseReason::fixed(1007, "Invalid UTF-8");

/// `GET /<server>/<session>/websocket`.
pub fn sockjs(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    id: &str,
) -> Result<HttpResponse, TransportError> {
    check_upgrade(req)?;
    if hixie76::is_hixie76(req) {
        return hixie76::accept(mount, req, payload, id);
    }
    start(
        mount,
        req,
        payload,
        id,
        TransportKind::WebSocket,
        Mode::Framed,
    )
}

/// `GET /websocket`: raw WebSocket, RFC 6455 only.
pub fn raw(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, TransportError> {
    check_upgrade(req)?;
    start(
        mount,
        req,
        payload,
        "",
        TransportKind::RawWebSocket,
        Mode::Raw,
    )
}

/// The checks sockjs-node makes before a handshake (`WebsocketHttpErrors`).
fn check_upgrade(req: &HttpRequest) -> Result<(), TransportError> {
    let has = |name: header::HeaderName, token: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has(header::UPGRADE, "websocket") {
        return Err(TransportError::NotWebSocket);
    }
    if !has(header::CONNECTION, "upgrade") {
        return Err(TransportError::ConnectionNotUpgrade);
    }
    Ok(())
}

fn start(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    id: &str,
    transport: TransportKind,
    mode: Mode,
) -> Result<HttpResponse, TransportError> {
    let protocols: Vec<&str> = mount
        .config()
        .websocket_protocols
        .iter()
        .map(String::as_str)
        .collect();
    let max = mount.config().max_message_bytes;
    // Oversized messages are refused from their frame headers, before anything buffers them.
    let tripped = Arc::new(AtomicBool::new(false));
    let mut guarded = ws_guard::guard(payload.into_inner(), max, Arc::clone(&tripped));
    let payload = web::Payload::from_request(req, &mut guarded)
        .now_or_never()
        .and_then(Result::ok)
        .ok_or_else(|| TransportError::Handshake("the request body is not available".into()))?;
    let (response, socket, stream) = actix_ws::handle_with_protocols(req, payload, &protocols)
        .map_err(|e| TransportError::Handshake(e.to_string()))?;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let Ok(session) = mount.start_socket(req, id, transport, mode) else {
        // Over an admission limit: the handshake is done, so say why in a close frame.
        actix_web::rt::spawn(socket.close(Some(ws_close(TRY_AGAIN_LATER))));
        return Ok(response);
    };
    let receiver = attach_socket(&session);
    let ping_every = mount.config().heartbeat_delay;
    let metrics = mount.metrics().clone();
    actix_web::rt::spawn(run(Socket {
        socket,
        stream,
        receiver,
        session,
        mode,
        ping_every,
        metrics,
        tripped,
    }));
    Ok(response)
}

/// Attaches a socket's receiver to its new session.
pub(super) fn attach_socket(session: &SessionHandle) -> Receiver {
    let (sink, mut receiver) = pipe();
    receiver.bind(session.addr().clone());
    session.addr().do_send(Attach {
        token: receiver.token(),
        framing: Framing::WebSocket,
        limit: usize::MAX,
        sink,
    });
    receiver
}

/// Decodes one inbound text message for the session: `Err` closes the socket.
pub(super) fn inbound(mode: Mode, text: &str) -> Result<Vec<String>, CloseReason> {
    match mode {
        Mode::Raw => Ok(vec![text.to_owned()]),
        Mode::Framed => decode_websocket(text).map_err(|_| CloseReason::BROKEN_FRAMING),
    }
}

/// One WebSocket connection and what its task needs.
struct Socket {
    socket: actix_ws::Session,
    stream: AggregatedMessageStream,
    receiver: Receiver,
    session: SessionHandle,
    mode: Mode,
    ping_every: Duration,
    metrics: MountMetrics,
    /// Set when the frame guard refused an oversized message.
    tripped: Arc<AtomicBool>,
}

/// What woke a socket's task.
enum Event {
    /// Time for a ping.
    Ping,
    /// From the session.
    Outgoing(Option<ReceiverItem>),
    /// From the peer.
    Incoming(Option<Result<AggregatedMessage, actix_ws::ProtocolError>>),
}

impl Socket {
    /// The next event, the two directions taking turns going first so neither starves the
    /// other (the ping timer, raw sockets only, last).
    fn poll_event(
        &mut self,
        cx: &mut std::task::Context<'_>,
        ping: Option<&mut tokio::time::Interval>,
        peer_first: bool,
    ) -> Poll<Event> {
        if peer_first && let Poll::Ready(m) = Pin::new(&mut self.stream).poll_next(cx) {
            return Poll::Ready(Event::Incoming(m));
        }
        if let Poll::Ready(item) = self.receiver.poll_next(cx) {
            return Poll::Ready(Event::Outgoing(item));
        }
        if !peer_first && let Poll::Ready(m) = Pin::new(&mut self.stream).poll_next(cx) {
            return Poll::Ready(Event::Incoming(m));
        }
        if let Some(ping) = ping
            && ping.poll_tick(cx).is_ready()
        {
            return Poll::Ready(Event::Ping);
        }
        Poll::Pending
    }

    /// What a message from the peer means: `Some` closes the session.
    fn incoming(
        &mut self,
        message: Option<Result<AggregatedMessage, actix_ws::ProtocolError>>,
        awaiting_pong: &mut bool,
    ) -> Option<(CloseReason, CloseCause)> {
        let too_big = |metrics: &MountMetrics| {
            metrics.rejected(Limit::MessageTooBig);
            Some((TOO_BIG, CloseCause::ProtocolError))
        };
        match message {
            Some(Ok(AggregatedMessage::Text(text))) => deliver(&self.session, self.mode, &text),
            Some(Ok(AggregatedMessage::Binary(bytes))) => {
                match (self.mode, std::str::from_utf8(&bytes)) {
                    (Mode::Raw, Ok(text)) => deliver(&self.session, self.mode, text),
                    (Mode::Raw, Err(_)) => Some((NOT_UTF8, CloseCause::ProtocolError)),
                    (Mode::Framed, _) => {
                        Some((CloseReason::BROKEN_FRAMING, CloseCause::ProtocolError))
                    }
                }
            }
            // Answered by the caller (it needs an await).
            Some(Ok(AggregatedMessage::Ping(_))) => None,
            Some(Ok(AggregatedMessage::Pong(_))) => {
                *awaiting_pong = false;
                None
            }
            Some(Ok(AggregatedMessage::Close(_))) => {
                Some((CloseReason::NORMAL, CloseCause::ClientClosed))
            }
            Some(Err(_)) if self.tripped.load(Ordering::Relaxed) => too_big(&self.metrics),
            Some(Err(actix_ws::ProtocolError::Overflow)) => too_big(&self.metrics),
            // A text message that is not UTF-8 (RFC 6455 section 8.1: close 1007).
            Some(Err(actix_ws::ProtocolError::Io(e)))
                if e.kind() == std::io::ErrorKind::InvalidData =>
            {
                Some((NOT_UTF8, CloseCause::ProtocolError))
            }
            Some(Err(e)) => {
                log::debug!("websocket protocol error on {}: {e}", self.session.prefix());
                Some((
                    CloseReason::new(1002, "Protocol error"),
                    CloseCause::ProtocolError,
                ))
            }
            None if self.tripped.load(Ordering::Relaxed) => too_big(&self.metrics),
            None => Some((CloseReason::INTERRUPTED, CloseCause::Interrupted)),
        }
    }
}

/// Moves frames both ways until either side ends, then closes the socket.
///
/// An `async move` block that uses `s` in place: an `async fn` would keep its argument and
/// its own binding of it as two copies in its future (400 bytes each).
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn doubles the future's size"
)]
fn run(mut s: Socket) -> impl Future<Output = ()> {
    async move {
        // Dead peers: a ping every `heartbeat_delay`; a pong still missing at the next one
        // closes the session, so a vanished peer is gone within two heartbeat periods. A
        // framed session's `h` frames (one every `heartbeat_delay`) are the ping's clock; a
        // raw one, which has none, keeps a timer of its own.
        let mut timer = (s.mode == Mode::Raw).then(|| {
            tokio::time::interval_at(tokio::time::Instant::now() + s.ping_every, s.ping_every)
        });
        let mut awaiting_pong = false;
        let mut peer_first = false;
        let close: Option<CloseReason> = loop {
            peer_first = !peer_first;
            let event = std::future::poll_fn(|cx| s.poll_event(cx, timer.as_mut(), peer_first));
            let ping_now = match event.await {
                Event::Ping => true,
                Event::Outgoing(Some(ReceiverItem::Frame(bytes))) => {
                    let heartbeat = bytes == frame::HEARTBEAT;
                    let Ok(text) = ByteString::try_from(bytes) else {
                        continue;
                    };
                    if Box::pin(s.socket.text(text)).await.is_err() {
                        s.receiver
                            .finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
                        break None;
                    }
                    heartbeat
                }
                Event::Outgoing(Some(ReceiverItem::End(reason))) => break reason,
                Event::Outgoing(None) => break None,
                Event::Incoming(Some(Ok(AggregatedMessage::Ping(data)))) => {
                    let _ = Box::pin(s.socket.pong(&data)).await;
                    false
                }
                Event::Incoming(message) => {
                    if let Some((reason, cause)) = s.incoming(message, &mut awaiting_pong) {
                        s.receiver.finish(reason.clone(), cause);
                        break (cause != CloseCause::Interrupted).then_some(reason);
                    }
                    false
                }
            };
            if ping_now {
                if awaiting_pong {
                    s.receiver.finish(NO_PONG, CloseCause::Timeout);
                    break Some(NO_PONG);
                }
                awaiting_pong = true;
                if Box::pin(s.socket.ping(b"")).await.is_err() {
                    s.receiver
                        .finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
                    break None;
                }
            }
        };
        let _ = Box::pin(s.socket.close(close.map(ws_close))).await;
    }
}
fn deliver(session: &SessionHandle, mode: Mode, text: &str) -> Option<(CloseReason, CloseCause)> {
    match inbound(mode, text) {
        Ok(messages) if messages.is_empty() => None,
        Ok(messages) => {
            session.addr().do_send(Incoming(messages));
            None
        }
        Err(reason) => Some((reason, CloseCause::ProtocolError)),
    }
}

fn ws_close(reason: CloseReason) -> actix_ws::CloseReason {
    actix_ws::CloseReason {
        code: CloseCode::from(reason.code),
        description: Some(reason.reason.into_owned()),
    }
}
