//! The pump of one WebSocket connection, whatever its wire format ([`Codec`]): the response
//! body ([`SocketBody`]) that actix-http's connection task polls. It reads the peer's frames
//! from the request payload and hands their messages to the session, writes at most
//! [`OUTPUT_CHUNK`] bytes of the session's frames per poll, answers and sends pings, and runs
//! the close handshake to its end, the server closing the TCP connection (RFC 6455 section
//! 7.1.1). No task of its own and no channel: a frame queued on the session's pipe wakes the
//! connection, which writes it in the same poll; a peer that does not read leaves the frames
//! in the pipe, where `max_buffered_bytes` bounds them.
//!
//! # How the connection ends
//! actix-http ends a connection once its response is over and its request read to the end.
//! A WebSocket request ends only with the peer's FIN, so a body that simply ended would look
//! like an early answer to an unread request: actix-http would linger, reading until the peer
//! closes or `client_disconnect_timeout` passes, before sending its own FIN; a client waiting
//! for the server's FIN (as RFC 6455 clients do) would wait out that timer on every close.
//! Once the handshake is over the pump shuts the socket's read half instead
//! ([`ConnectionSocket::end_read`]), right after handing over its last bytes: actix-http
//! reads the end of the request, writes out what it holds (the close frame), sends its FIN
//! and drops the connection. HTTP responses keep actix-http's linger.
//!
//! When the handshake is over: once the session has answered the peer's last messages when
//! the peer closed (our close answers its) or broke the protocol (RFC 6455 section 7.1.7,
//! failing the connection); when the server closes, once the peer's close frame is in, or
//! after [`CLOSE_WAIT`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;
use tokio::time::{Interval, Sleep};

use super::codec::Codec;
use super::{BAD_DEFLATE, NO_PONG, NOT_UTF8, PROTOCOL_ERROR, TOO_BIG};
use crate::metrics::{Limit, MountMetrics};
use crate::protocol::{CloseReason, decode_websocket, frame};
use crate::session::{CloseCause, Mode, Receiver, ReceiverItem, SessionHandle};
use crate::transport::SockJs;
use crate::transport::ws_guard::ConnectionSocket;
use crate::transport::ws_inbound::{InboundError, PeerMessage};

mod ending;

use ending::Ending;

/// Bytes of output after which a poll hands what it has to the connection, leaving the rest
/// queued in the pipe (where it still counts towards `max_buffered_bytes`).
pub const OUTPUT_CHUNK: usize = 64 * 1024;

/// How long a close the server starts waits for the peer's close frame before the server
/// closes the connection anyway (a peer answers within a round trip; one that does not is
/// gone or broken).
pub const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Where the connection stands.
enum Phase {
    /// Messages flow both ways.
    Open,
    /// The peer ended its side: reading has stopped, and the session's answers to what it
    /// sent before are written before the close frame.
    Ending(Box<Ending>),
    /// The server's close frame is written; the peer's is awaited until the timer fires.
    Closing(Pin<Box<Sleep>>),
    /// The handshake is over and the read half shut: the body ends once `out` is handed over.
    Done,
}

/// What writing out the session's pipe left.
enum Drained {
    /// [`OUTPUT_CHUNK`] bytes are out for this poll; the pipe may hold more.
    Full,
    /// The pipe is empty for now.
    Empty,
    /// A heartbeat frame went out (framed sockets ping with it).
    Heartbeat,
    /// The session ended the receiver, with its close reason if it closed.
    Ended(Option<CloseReason>),
}

/// The response body of one WebSocket connection, and the whole of its work (see the module
/// documentation). Dropped early (the connection is gone), its receiver reports the session
/// interrupted.
pub struct SocketBody<C> {
    codec: C,
    /// The request payload: the peer's bytes.
    payload: Payload,
    /// The connection's socket, to end the request when the handshake is over.
    socket: Option<ConnectionSocket>,
    receiver: Receiver,
    session: SessionHandle,
    mode: Mode,
    /// Dead peers, raw sockets: a ping every `heartbeat_delay` (framed ones ping on `h`).
    ping: Option<Interval>,
    awaiting_pong: bool,
    metrics: MountMetrics,
    /// Encoded frames for the connection to write.
    out: BytesMut,
    phase: Phase,
}

impl<C: Codec> SocketBody<C> {
    /// The body of a socket on the new `session`, attached to it as its receiver.
    pub fn new(
        codec: C,
        payload: Payload,
        socket: Option<ConnectionSocket>,
        session: SessionHandle,
        mode: Mode,
        mount: &SockJs,
    ) -> Self {
        let receiver = session.attach_socket();
        let ping = (mode == Mode::Raw).then(|| {
            let every = mount.config().heartbeat_delay;
            tokio::time::interval_at(tokio::time::Instant::now() + every, every)
        });
        SocketBody {
            codec,
            payload,
            socket,
            receiver,
            session,
            mode,
            ping,
            awaiting_pong: false,
            metrics: mount.metrics().clone(),
            out: BytesMut::new(),
            phase: Phase::Open,
        }
    }
}

impl<C: Codec + Unpin> Stream for SocketBody<C> {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match &mut this.phase {
            Phase::Open => this.poll_open(cx),
            Phase::Ending(_) => this.poll_ending(cx),
            Phase::Closing(timer) => match timer.as_mut().poll(cx) {
                Poll::Ready(()) => this.done(),
                Poll::Pending => this.await_close(cx),
            },
            Phase::Done => {}
        }
        if !this.out.is_empty() {
            // A new buffer each time: an idle socket holds none.
            return Poll::Ready(Some(Ok(std::mem::take(&mut this.out).freeze())));
        }
        match this.phase {
            Phase::Done => Poll::Ready(None),
            Phase::Open | Phase::Ending(_) | Phase::Closing(_) => Poll::Pending,
        }
    }
}

impl<C: Codec> SocketBody<C> {
    fn poll_open(&mut self, cx: &mut Context<'_>) {
        let (texts, verdict) = self.read_peer(cx);
        match verdict {
            Some((reason, cause)) if cause != CloseCause::Interrupted => {
                return self.peer_ended(texts, reason, cause, cx);
            }
            Some((reason, cause)) => {
                // The connection broke or ended: nothing can wait (see the module
                // documentation). A peer that vanished gets a bare close frame, should it
                // still read.
                self.deliver(texts);
                return self.end_now(reason, cause, None, cx);
            }
            None => self.deliver(texts),
        }
        if self.codec.ready() {
            self.write_session(cx);
        }
        if matches!(self.phase, Phase::Open)
            && let Some(timer) = &mut self.ping
            && timer.poll_tick(cx).is_ready()
        {
            self.ping_now();
        }
    }

    /// Reads what the peer sent so far: its messages, for the session in one batch, and,
    /// when the peer ended its side, the close the session takes.
    fn read_peer(
        &mut self,
        cx: &mut Context<'_>,
    ) -> (Vec<String>, Option<(CloseReason, CloseCause)>) {
        let mut texts = Vec::new();
        let verdict = loop {
            match self.codec.next(&mut self.out) {
                Ok(Some(message)) => {
                    if let Some(close) = self.take(message, &mut texts) {
                        break Some(close);
                    }
                }
                Ok(None) => match Pin::new(&mut self.payload).poll_next(cx) {
                    Poll::Ready(Some(Ok(bytes))) => self.codec.push(bytes),
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
        (texts, verdict)
    }

    /// Hands the peer's messages to the session, without waiting.
    fn deliver(&self, texts: Vec<String>) {
        if !texts.is_empty() {
            self.session.deliver_now(texts);
        }
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
                self.codec.pong(&mut self.out, &data);
                return None;
            }
            PeerMessage::Pong => {
                self.awaiting_pong = false;
                return None;
            }
            PeerMessage::Close(_) => return Some((CloseReason::NORMAL, CloseCause::ClientClosed)),
        };
        match self.mode {
            Mode::Raw => {
                texts.push(text.to_string());
                None
            }
            Mode::Framed => match decode_websocket(&text) {
                Ok(mut messages) => {
                    texts.append(&mut messages);
                    None
                }
                Err(_) => Some((CloseReason::BROKEN_FRAMING, CloseCause::ProtocolError)),
            },
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
            InboundError::Inflate => BAD_DEFLATE,
            InboundError::Protocol(e) => {
                log::debug!("websocket protocol error on {}: {e}", self.session.prefix());
                PROTOCOL_ERROR
            }
        };
        (reason, CloseCause::ProtocolError)
    }

    /// Encodes what the session queued, up to [`OUTPUT_CHUNK`] bytes, pinging with its
    /// heartbeats; the session's end of the pipe closes the socket.
    fn write_session(&mut self, cx: &mut Context<'_>) {
        loop {
            match self.drain(cx) {
                Drained::Heartbeat => {
                    self.ping_now();
                    if !matches!(self.phase, Phase::Open) {
                        return;
                    }
                }
                Drained::Ended(reason) => return self.close(reason),
                Drained::Full | Drained::Empty => return,
            }
        }
    }

    /// Encodes what the session queued, up to [`OUTPUT_CHUNK`] bytes, stopping after a
    /// heartbeat.
    fn drain(&mut self, cx: &mut Context<'_>) -> Drained {
        while self.out.len() < OUTPUT_CHUNK {
            match self.receiver.poll_next(cx) {
                Poll::Ready(Some(ReceiverItem::Frame(bytes))) => {
                    // Pipe frames are made from Rust strings: valid UTF-8 text.
                    self.codec.text(&mut self.out, &bytes);
                    if bytes == frame::HEARTBEAT {
                        return Drained::Heartbeat;
                    }
                }
                Poll::Ready(Some(ReceiverItem::End(reason))) => return Drained::Ended(reason),
                Poll::Ready(None) => return Drained::Ended(None),
                Poll::Pending => return Drained::Empty,
            }
        }
        Drained::Full
    }

    /// A ping, or the close for a peer that did not answer the last one: a vanished peer is
    /// gone within two heartbeat periods.
    fn ping_now(&mut self) {
        if self.awaiting_pong {
            self.receiver.finish(NO_PONG, CloseCause::Timeout);
            return self.finish(Some(NO_PONG));
        }
        self.awaiting_pong = self.codec.ping(&mut self.out);
    }

    /// The server closes: its close frame, then the peer's is awaited.
    fn close(&mut self, reason: Option<CloseReason>) {
        self.codec.close(&mut self.out, reason);
        self.phase = Phase::Closing(Box::pin(tokio::time::sleep(CLOSE_WAIT)));
    }

    /// Reads the peer's frames until its close frame: what it sends meanwhile is dropped
    /// (RFC 6455 section 1.4), as is anything that ends the reading.
    fn await_close(&mut self, cx: &mut Context<'_>) {
        loop {
            match self.codec.next(&mut self.out) {
                Ok(Some(PeerMessage::Close(_))) | Err(_) => return self.done(),
                Ok(Some(_)) => {}
                Ok(None) => match Pin::new(&mut self.payload).poll_next(cx) {
                    Poll::Ready(Some(Ok(bytes))) => self.codec.push(bytes),
                    Poll::Ready(Some(Err(_)) | None) => return self.done(),
                    Poll::Pending => return,
                },
            }
        }
    }

    /// The last frame, after which the handshake is over.
    fn finish(&mut self, reason: Option<CloseReason>) {
        self.codec.close(&mut self.out, reason);
        self.done();
    }

    /// The handshake is over: the request's read half is shut, so that actix-http closes
    /// the connection as soon as the body has handed over its last bytes (this poll).
    fn done(&mut self) {
        if !matches!(self.phase, Phase::Done) {
            self.phase = Phase::Done;
            if let Some(socket) = self.socket {
                socket.end_read();
            }
        }
    }
}
