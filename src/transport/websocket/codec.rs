//! The wire formats a SockJS WebSocket speaks, behind one trait: RFC 6455 (here) and the
//! hixie-76 draft (`transport/hixie76.rs`). A codec turns the peer's bytes into messages and
//! the server's text, pings and close into bytes; the pump (`pump.rs`) does everything else,
//! the same for both. Pure: bytes in, messages or bytes out.

use actix_http::ws::{CloseCode, OpCode, Parser};
use actix_web::web::{Bytes, BytesMut};

use crate::protocol::CloseReason;
use crate::transport::ws_inbound::{Inbound, InboundError, PeerMessage};

/// One WebSocket wire format.
pub trait Codec {
    /// Takes the next bytes the peer sent.
    fn push(&mut self, bytes: Bytes);

    /// The next whole message, `None` until more bytes arrive. Bytes the format itself must
    /// answer with (hixie-76's handshake answer) are written to `out`.
    fn next(&mut self, out: &mut BytesMut) -> Result<Option<PeerMessage>, InboundError>;

    /// Whether the server may write frames yet (hixie-76: once its handshake answer is out).
    fn ready(&self) -> bool;

    /// Encodes one text message (valid UTF-8).
    fn text(&self, out: &mut BytesMut, text: &[u8]);

    /// Encodes a ping; false when the format has none (hixie-76).
    fn ping(&self, out: &mut BytesMut) -> bool;

    /// Encodes the answer to the peer's ping.
    fn pong(&self, out: &mut BytesMut, payload: &[u8]);

    /// Encodes the close frame, with `reason` where the format carries one.
    fn close(&self, out: &mut BytesMut, reason: Option<CloseReason>);
}

/// RFC 6455: frames parsed by [`Inbound`] (actix-http's parser), written unmasked with
/// actix-http's.
#[derive(Debug)]
pub struct Rfc6455(Inbound);

impl Rfc6455 {
    /// A codec allowing peer messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Rfc6455(Inbound::new(max))
    }
}

impl Codec for Rfc6455 {
    fn push(&mut self, bytes: Bytes) {
        self.0.push(bytes);
    }

    fn next(&mut self, _out: &mut BytesMut) -> Result<Option<PeerMessage>, InboundError> {
        self.0.next()
    }

    fn ready(&self) -> bool {
        true
    }

    fn text(&self, out: &mut BytesMut, text: &[u8]) {
        Parser::write_message(out, text, OpCode::Text, true, false);
    }

    fn ping(&self, out: &mut BytesMut) -> bool {
        Parser::write_message(out, b"", OpCode::Ping, true, false);
        true
    }

    fn pong(&self, out: &mut BytesMut, payload: &[u8]) {
        Parser::write_message(out, payload, OpCode::Pong, true, false);
    }

    fn close(&self, out: &mut BytesMut, reason: Option<CloseReason>) {
        Parser::write_close(out, reason.map(ws_close), false);
    }
}

/// Close frame payloads are at most 125 bytes: a 2-byte code and a reason of at most 123
/// (RFC 6455 section 5.5).
const MAX_CLOSE_REASON: usize = 123;

/// A close frame's code and reason, the reason cut to fit on a character boundary.
pub fn ws_close(reason: CloseReason) -> actix_http::ws::CloseReason {
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

    #[test]
    fn a_long_close_reason_is_cut_to_fit_a_control_frame_on_a_character_boundary() {
        let reason = CloseReason::new(4000, "é".repeat(100));
        let close = ws_close(reason);
        let description = close.description.unwrap_or_default();
        assert_eq!(description.len(), 122, "61 two-byte characters");
        let mut frame = BytesMut::new();
        Rfc6455::new(10).close(&mut frame, Some(CloseReason::new(4000, description)));
        assert!(frame.len() <= 2 + 125);
    }

    #[test]
    fn what_the_server_writes_is_unmasked_rfc_6455() {
        let codec = Rfc6455::new(10);
        let mut out = BytesMut::new();
        codec.text(&mut out, b"hi");
        assert!(codec.ping(&mut out));
        codec.pong(&mut out, b"p");
        codec.close(&mut out, None);
        assert_eq!(
            &out[..],
            b"\x81\x02hi\x89\x00\x8a\x01p\x88\x00",
            "text, ping, pong, bare close"
        );
    }
}
