//! WebSocket transports: SockJS-framed (`/<server>/<session>/websocket`) and raw
//! (`/websocket`). Each connection is its own session, living as long as the socket; the
//! response body ([`SocketBody`]) moves frames both ways from inside the connection's task.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_http::ws::CloseCode;
use actix_http::ws::{OpCode, Parser};
use actix_web::body::{BodyStream, BoxBody};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse, web};
use bytestring::ByteString;
use futures_util::Stream;

use super::error::TransportError;
use super::ws_inbound::{Inbound, InboundError, PeerMessage};
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
    let mut response = actix_http::ws::handshake(req.head())
        .map_err(|e| TransportError::Handshake(e.to_string()))?;
    if let Some(protocol) = select_protocol(req, &mount.config().websocket_protocols) {
        response.insert_header((header::SEC_WEBSOCKET_PROTOCOL, protocol));
    }
    let max = mount.config().max_message_bytes;
    // Oversized messages are refused from their frame headers, before anything buffers them.
    let payload = ws_guard::guard(payload.into_inner(), max);
    let body = match mount.start_socket(req, id, transport, mode) {
        Ok(session) => {
            let receiver = attach_socket(&session);
            let ping = (mode == Mode::Raw).then(|| {
                let every = mount.config().heartbeat_delay;
                tokio::time::interval_at(tokio::time::Instant::now() + every, every)
            });
            BoxBody::new(BodyStream::new(SocketBody {
                payload,
                inbound: Inbound::new(max),
                receiver,
                session,
                mode,
                ping,
                awaiting_pong: false,
                metrics: mount.metrics().clone(),
                out: BytesMut::new(),
                closing: false,
            }))
        }
        // Over an admission limit: the handshake is done, so say why in a close frame.
        Err(_) => {
            let mut out = BytesMut::new();
            Parser::write_close(&mut out, Some(ws_close(TRY_AGAIN_LATER)), false);
            let frame: Result<Bytes, Infallible> = Ok(out.freeze());
            BoxBody::new(BodyStream::new(futures_util::stream::once(
                std::future::ready(frame),
            )))
        }
    };
    response
        .message_body(body)
        .map(HttpResponse::from)
        .map_err(|e| TransportError::Handshake(e.to_string()))
}

/// The first protocol the client asks for (`Sec-WebSocket-Protocol`, in its order) that the
/// mount offers (`Config::websocket_protocols`).
fn select_protocol<'a>(req: &'a HttpRequest, offered: &[String]) -> Option<&'a str> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(str::trim))
        .find(|asked| !asked.is_empty() && offered.iter().any(|o| o == asked))
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

/// Bytes of output after which a poll hands what it has to the connection, leaving the rest
/// queued in the pipe (where it still counts towards `max_buffered_bytes`).
const OUTPUT_CHUNK: usize = 64 * 1024;

/// The response body of one WebSocket connection, and the whole of its work: polled by
/// actix-http's connection task, it reads the peer's frames from the request payload (handing
/// their messages to the session), writes what the session's pipe holds, and answers pings.
/// No task of its own and no channel between it and the connection: a frame queued on the
/// pipe wakes the connection, which writes it in the same poll. Dropped early (the
/// connection is gone), its receiver reports the session interrupted.
struct SocketBody {
    /// The request payload: the peer's frames (behind the frame guard).
    payload: Payload,
    inbound: Inbound,
    receiver: Receiver,
    session: SessionHandle,
    mode: Mode,
    /// Dead peers, raw sockets: a ping every `heartbeat_delay` (framed ones ping on `h`).
    ping: Option<tokio::time::Interval>,
    awaiting_pong: bool,
    metrics: MountMetrics,
    /// Encoded frames for the connection to write.
    out: BytesMut,
    /// A close frame is written: the body ends once it is out.
    closing: bool,
}

impl Stream for SocketBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.closing
            && let Some((reason, cause)) = this.read_peer(cx)
        {
            this.receiver.finish(reason.clone(), cause);
            this.close((cause != CloseCause::Interrupted).then_some(reason));
        }
        if !this.closing {
            this.write_session(cx);
        }
        if !this.closing
            && let Some(timer) = &mut this.ping
            && timer.poll_tick(cx).is_ready()
        {
            this.ping_now();
        }
        if !this.out.is_empty() {
            // A new buffer each time: an idle socket holds none.
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.out).freeze())));
        }
        if this.closing {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl SocketBody {
    /// Reads what the peer sent so far; the session gets its messages in one batch. `Some`
    /// closes the session.
    fn read_peer(&mut self, cx: &mut Context<'_>) -> Option<(CloseReason, CloseCause)> {
        let mut texts = Vec::new();
        let verdict = loop {
            match self.inbound.next() {
                Ok(Some(message)) => {
                    if let Some(close) = self.take(message, &mut texts) {
                        break Some(close);
                    }
                }
                Ok(None) => match Pin::new(&mut self.payload).poll_next(cx) {
                    Poll::Ready(Some(Ok(bytes))) => self.inbound.push(bytes),
                    // The frame guard refused an oversized message.
                    Poll::Ready(Some(Err(PayloadError::Overflow))) => {
                        break Some(self.refusal(InboundError::TooBig));
                    }
                    // The connection broke or ended without a close frame.
                    Poll::Ready(Some(Err(_)) | None) => {
                        break Some((CloseReason::INTERRUPTED, CloseCause::Interrupted));
                    }
                    Poll::Pending => break None,
                },
                Err(e) => break Some(self.refusal(e)),
            }
        };
        if !texts.is_empty() {
            self.session.addr().do_send(Incoming(texts));
        }
        verdict
    }

    /// One message from the peer: texts join the batch for the session.
    fn take(
        &mut self,
        message: PeerMessage,
        texts: &mut Vec<String>,
    ) -> Option<(CloseReason, CloseCause)> {
        let text = match message {
            PeerMessage::Text(text) => text,
            PeerMessage::Binary(bytes) => match (self.mode, ByteString::try_from(bytes)) {
                (Mode::Raw, Ok(text)) => text,
                (Mode::Raw, Err(_)) => return Some((NOT_UTF8, CloseCause::ProtocolError)),
                (Mode::Framed, _) => {
                    return Some((CloseReason::BROKEN_FRAMING, CloseCause::ProtocolError));
                }
            },
            PeerMessage::Ping(data) => {
                Parser::write_message(&mut self.out, data, OpCode::Pong, true, false);
                return None;
            }
            PeerMessage::Pong => {
                self.awaiting_pong = false;
                return None;
            }
            PeerMessage::Close(_) => return Some((CloseReason::NORMAL, CloseCause::ClientClosed)),
        };
        match inbound(self.mode, &text) {
            Ok(mut messages) => {
                texts.append(&mut messages);
                None
            }
            Err(reason) => Some((reason, CloseCause::ProtocolError)),
        }
    }

    /// The close for what the peer got wrong (the one table for it).
    fn refusal(&self, error: InboundError) -> (CloseReason, CloseCause) {
        let reason = match error {
            InboundError::TooBig => {
                self.metrics.rejected(Limit::MessageTooBig);
                TOO_BIG
            }
            InboundError::NotUtf8 => NOT_UTF8,
            InboundError::Protocol(e) => {
                log::debug!("websocket protocol error on {}: {e}", self.session.prefix());
                CloseReason::new(1002, "Protocol error")
            }
        };
        (reason, CloseCause::ProtocolError)
    }

    /// Encodes what the session queued, up to [`OUTPUT_CHUNK`] bytes.
    fn write_session(&mut self, cx: &mut Context<'_>) {
        while self.out.len() < OUTPUT_CHUNK {
            match self.receiver.poll_next(cx) {
                Poll::Ready(Some(ReceiverItem::Frame(bytes))) => {
                    // Pipe frames are made from Rust strings: valid UTF-8 text.
                    Parser::write_message(&mut self.out, &bytes, OpCode::Text, true, false);
                    if bytes == frame::HEARTBEAT {
                        self.ping_now();
                        if self.closing {
                            return;
                        }
                    }
                }
                Poll::Ready(Some(ReceiverItem::End(reason))) => return self.close(reason),
                Poll::Ready(None) => return self.close(None),
                Poll::Pending => return,
            }
        }
    }

    /// A ping, or the close for a peer that did not answer the last one: a vanished peer is
    /// gone within two heartbeat periods.
    fn ping_now(&mut self) {
        if self.awaiting_pong {
            self.receiver.finish(NO_PONG, CloseCause::Timeout);
            return self.close(Some(NO_PONG));
        }
        self.awaiting_pong = true;
        Parser::write_message(&mut self.out, b"", OpCode::Ping, true, false);
    }

    /// Writes the close frame (a bare one without a reason); the body ends after it.
    fn close(&mut self, reason: Option<CloseReason>) {
        Parser::write_close(&mut self.out, reason.map(ws_close), false);
        self.closing = true;
    }
}

/// Close frame payloads are at most 125 bytes: a 2-byte code and a reason of at most 123
/// (RFC 6455 section 5.5).
const MAX_CLOSE_REASON: usize = 123;

fn ws_close(reason: CloseReason) -> actix_http::ws::CloseReason {
    let mut description = reason.reason.into_owned();
    if description.len() > MAX_CLOSE_REASON {
        let mut end = MAX_CLOSE_REASON;
        while !description.is_char_boundary(end) {
            end -= 1;
        }
        description.truncate(end);
    }
    actix_http::ws::CloseReason {
        code: CloseCode::from(reason.code),
        description: Some(description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_first_protocol_asked_for_that_is_offered_is_chosen() {
        let req = TestRequest::default()
            .insert_header((header::SEC_WEBSOCKET_PROTOCOL, "mqtt, , v12.stomp"))
            .append_header((header::SEC_WEBSOCKET_PROTOCOL, "v10.stomp"))
            .to_http_request();
        let offered = ["v10.stomp".to_owned(), "v12.stomp".to_owned()];
        assert_eq!(select_protocol(&req, &offered), Some("v12.stomp"));
        assert_eq!(select_protocol(&req, &["wamp".to_owned()]), None);
        assert_eq!(
            select_protocol(&TestRequest::default().to_http_request(), &offered),
            None
        );
    }

    #[test]
    fn a_long_close_reason_is_cut_to_fit_a_control_frame_on_a_character_boundary() {
        let reason = CloseReason::new(4000, "é".repeat(100));
        let close = ws_close(reason);
        let description = close.description.unwrap_or_default();
        assert_eq!(description.len(), 122, "61 two-byte characters");
        let mut frame = BytesMut::new();
        Parser::write_close(
            &mut frame,
            Some(ws_close(CloseReason::new(4000, description))),
            false,
        );
        assert!(frame.len() <= 2 + 125);
    }
}
