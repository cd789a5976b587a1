//! What a WebSocket peer sends, as messages: RFC 6455 frames parsed from the request payload's
//! bytes (actix-http's frame parser), fragments joined into one message, sizes and UTF-8
//! checked. Pure: bytes in, messages or a typed error out; the socket body applies them.

use actix_http::ws::CloseReason as WsCloseReason;
use actix_http::ws::{OpCode, Parser};
use actix_web::web::{Bytes, BytesMut};
use bytestring::ByteString;

/// One message from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMessage {
    /// A text message (fragments joined), valid UTF-8.
    Text(ByteString),
    /// A binary message (fragments joined).
    Binary(Bytes),
    /// A ping, with its payload (to send back in the pong).
    Ping(Bytes),
    /// A pong.
    Pong,
    /// A close frame, with the peer's reason if it gave one.
    Close(Option<WsCloseReason>),
}

/// Why the peer's bytes cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// A frame or a fragmented message over the limit.
    #[error("message over the size limit")]
    TooBig,
    /// A text message that is not UTF-8 (RFC 6455 section 8.1).
    #[error("text message is not UTF-8")]
    NotUtf8,
    /// A permessage-deflate message that is not a valid DEFLATE stream (RFC 7692: the
    /// connection is failed; closed with 1007, the data being inconsistent).
    #[error("compressed message is not valid DEFLATE")]
    Inflate,
    /// Anything else RFC 6455 forbids (unmasked frame, bad opcode, stray continuation, ...).
    #[error("{0}")]
    Protocol(String),
}

/// The frames of one connection so far.
#[derive(Debug)]
pub struct Inbound {
    buf: BytesMut,
    max: usize,
    /// The data message being assembled from fragments: (is text, bytes so far).
    partial: Option<(bool, BytesMut)>,
}

impl Inbound {
    /// A reader allowing messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Inbound {
            buf: BytesMut::new(),
            max,
            partial: None,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn push(&mut self, bytes: Bytes) {
        if self.buf.is_empty() {
            // No copy when nothing is pending (the usual case: a chunk of whole frames).
            self.buf = BytesMut::from(bytes);
        } else {
            self.buf.extend_from_slice(&bytes);
        }
    }

    /// The next whole message, `None` until more bytes are pushed.
    pub fn next(&mut self) -> Result<Option<PeerMessage>, InboundError> {
        loop {
            let parsed = Parser::parse(&mut self.buf, true, self.max).map_err(|e| match e {
                actix_http::ws::ProtocolError::Overflow => InboundError::TooBig,
                e => InboundError::Protocol(e.to_string()),
            })?;
            if self.buf.is_empty() {
                // Gives the read buffer back between messages: an idle socket holds none.
                self.buf = BytesMut::new();
            }
            let Some((fin, opcode, payload)) = parsed else {
                return Ok(None);
            };
            let payload = payload.unwrap_or_default();
            if let Some(message) = self.frame(fin, opcode, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// One frame: a message, or `None` for a fragment that does not finish one.
    fn frame(
        &mut self,
        fin: bool,
        opcode: OpCode,
        payload: BytesMut,
    ) -> Result<Option<PeerMessage>, InboundError> {
        let protocol = |what: &str| Err(InboundError::Protocol(what.to_owned()));
        match opcode {
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                protocol("a new message inside a fragmented one")
            }
            OpCode::Text | OpCode::Binary if !fin => {
                self.partial = Some((opcode == OpCode::Text, payload));
                Ok(None)
            }
            OpCode::Text => text(payload.freeze()).map(Some),
            OpCode::Binary => Ok(Some(PeerMessage::Binary(payload.freeze()))),
            OpCode::Continue => {
                let Some((is_text, mut joined)) = self.partial.take() else {
                    return protocol("a continuation frame outside a fragmented message");
                };
                if joined.len().saturating_add(payload.len()) > self.max {
                    return Err(InboundError::TooBig);
                }
                joined.extend_from_slice(&payload);
                if !fin {
                    self.partial = Some((is_text, joined));
                    return Ok(None);
                }
                match is_text {
                    true => text(joined.freeze()).map(Some),
                    false => Ok(Some(PeerMessage::Binary(joined.freeze()))),
                }
            }
            // Control frames may come between fragments, never fragmented (RFC 6455 5.5).
            OpCode::Ping | OpCode::Pong | OpCode::Close if !fin => {
                protocol("a fragmented control frame")
            }
            OpCode::Ping => Ok(Some(PeerMessage::Ping(payload.freeze()))),
            OpCode::Pong => Ok(Some(PeerMessage::Pong)),
            OpCode::Close => Parser::try_parse_close_payload(&payload)
                .map(|reason| Some(PeerMessage::Close(reason)))
                .map_err(|e| InboundError::Protocol(format!("bad close frame: {e}"))),
            OpCode::Bad => protocol("bad opcode"),
        }
    }
}

fn text(bytes: Bytes) -> Result<PeerMessage, InboundError> {
    ByteString::try_from(bytes)
        .map(PeerMessage::Text)
        .map_err(|_| InboundError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A client frame (masked, as RFC 6455 requires of clients).
    fn frame(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Parser::write_message(&mut out, payload, op, fin, true);
        out.to_vec()
    }

    fn read_all(inbound: &mut Inbound, bytes: &[u8]) -> Result<Vec<PeerMessage>, InboundError> {
        inbound.push(Bytes::copy_from_slice(bytes));
        let mut out = Vec::new();
        while let Some(m) = inbound.next()? {
            out.push(m);
        }
        Ok(out)
    }

    fn text_of(s: &str) -> PeerMessage {
        PeerMessage::Text(ByteString::from(s))
    }

    #[test]
    fn whole_frames_become_messages_in_order() {
        let mut bytes = frame(OpCode::Text, true, b"hello");
        bytes.extend(frame(OpCode::Ping, true, b"p"));
        bytes.extend(frame(OpCode::Binary, true, &[0, 1]));
        bytes.extend(frame(OpCode::Pong, true, b""));
        bytes.extend(frame(OpCode::Close, true, &[0x03, 0xe8]));
        let got = read_all(&mut Inbound::new(100), &bytes).unwrap();
        assert_eq!(
            got,
            vec![
                text_of("hello"),
                PeerMessage::Ping(Bytes::from_static(b"p")),
                PeerMessage::Binary(Bytes::from_static(&[0, 1])),
                PeerMessage::Pong,
                PeerMessage::Close(Some(actix_http::ws::CloseCode::Normal.into())),
            ]
        );
    }

    #[test]
    fn fragments_are_joined_around_a_ping() {
        let mut bytes = frame(OpCode::Text, false, b"he");
        bytes.extend(frame(OpCode::Ping, true, b""));
        bytes.extend(frame(OpCode::Continue, false, b"ll"));
        bytes.extend(frame(OpCode::Continue, true, b"o"));
        let got = read_all(&mut Inbound::new(100), &bytes).unwrap();
        assert_eq!(got, vec![PeerMessage::Ping(Bytes::new()), text_of("hello")]);
    }

    #[test]
    fn a_frame_or_a_joined_message_over_the_limit_is_too_big() {
        let big = frame(OpCode::Text, true, &[b'a'; 11]);
        assert_eq!(
            read_all(&mut Inbound::new(10), &big),
            Err(InboundError::TooBig)
        );
        let mut parts = frame(OpCode::Text, false, &[b'a'; 6]);
        parts.extend(frame(OpCode::Continue, true, &[b'a'; 6]));
        assert_eq!(
            read_all(&mut Inbound::new(10), &parts),
            Err(InboundError::TooBig)
        );
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_even_when_split_mid_character() {
        let bad = frame(OpCode::Text, true, &[0xff, 0xfe]);
        assert_eq!(
            read_all(&mut Inbound::new(10), &bad),
            Err(InboundError::NotUtf8)
        );
        // "é" is 0xc3 0xa9: split over two fragments it is still one valid character.
        let mut split = frame(OpCode::Text, false, &[0xc3]);
        split.extend(frame(OpCode::Continue, true, &[0xa9]));
        assert_eq!(
            read_all(&mut Inbound::new(10), &split),
            Ok(vec![text_of("é")])
        );
    }

    #[test]
    fn protocol_violations_are_errors() {
        let cases = [
            frame(OpCode::Continue, true, b"x"),
            [
                frame(OpCode::Text, false, b"a"),
                frame(OpCode::Text, true, b"b"),
            ]
            .concat(),
            frame(OpCode::Ping, false, b""),
            frame(OpCode::Close, true, &[0x03]),
            // Unmasked: what a server sends, not a client.
            {
                let mut out = BytesMut::new();
                Parser::write_message(&mut out, b"x", OpCode::Text, true, false);
                out.to_vec()
            },
        ];
        for bytes in cases {
            assert!(matches!(
                read_all(&mut Inbound::new(10), &bytes),
                Err(InboundError::Protocol(_))
            ));
        }
    }

    #[test]
    fn a_drained_reader_holds_no_buffer() {
        let mut inbound = Inbound::new(100);
        read_all(&mut inbound, &frame(OpCode::Text, true, b"hi")).unwrap();
        assert_eq!(inbound.buf.capacity(), 0);
    }

    proptest! {
        #[test]
        fn byte_splits_do_not_change_the_messages(
            texts in proptest::collection::vec("[a-zé]{0,40}", 1..6),
            cut in 0usize..1000,
        ) {
            let bytes: Vec<u8> = texts.iter().flat_map(|t| frame(OpCode::Text, true, t.as_bytes())).collect();
            let whole = read_all(&mut Inbound::new(200), &bytes);
            let cut = cut.min(bytes.len());
            let mut split = Inbound::new(200);
            let mut got = read_all(&mut split, &bytes[..cut]).unwrap();
            got.extend(read_all(&mut split, &bytes[cut..]).unwrap());
            prop_assert_eq!(whole, Ok(got.clone()));
            prop_assert_eq!(got, texts.iter().map(|t| text_of(t)).collect::<Vec<_>>());
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_all(&mut Inbound::new(100), &bytes);
        }
    }
}
