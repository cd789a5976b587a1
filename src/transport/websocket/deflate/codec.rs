//! RFC 6455 with permessage-deflate (RFC 7692) negotiated: the [`Codec`] of such a socket.
//! actix-http's frame parser refuses RSV1, so frames are read here: a compressed message has
//! RSV1 on its first frame only (section 6.1), control frames never have it (section 6.1),
//! and a compressed message is inflated once its last fragment is in, its inflated size
//! counted against `max_message_bytes` as it inflates. Text the server sends is compressed
//! when it is at least `threshold_bytes` long, fits the agreed window, and shrinks. Pure:
//! bytes in, messages or bytes out.

use actix_http::ws::{OpCode, Parser};
use actix_web::web::{Bytes, BytesMut};
use bytes::Buf;
use bytestring::ByteString;

use super::Agreed;
use super::zlib::{self, InflateError};
use crate::config::Deflate;
use crate::protocol::CloseReason;
use crate::transport::websocket::codec::{Codec, ws_close};
use crate::transport::ws_inbound::{InboundError, PeerMessage};

/// The FIN bit (RFC 6455 section 5.2).
const FIN: u8 = 0x80;
/// RSV1: "per-message compressed" on a message's first frame (RFC 7692 section 6).
const RSV1: u8 = 0x40;
/// RSV2 and RSV3: no extension here defines them (RFC 6455 section 5.2).
const RSV23: u8 = 0x30;
/// The mask bit of the second header byte (RFC 6455 section 5.2).
const MASKED: u8 = 0x80;
/// Control frames carry at most 125 bytes (RFC 6455 section 5.5).
const MAX_CONTROL: u64 = 125;

/// The data message being assembled from fragments.
#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    bytes: BytesMut,
}

/// One parsed frame header.
struct Header {
    first: u8,
    len: u64,
    /// Bytes of the header, mask included.
    size: usize,
    mask: [u8; 4],
}

/// An RFC 6455 socket with permessage-deflate agreed.
#[derive(Debug)]
pub struct Deflated {
    buf: BytesMut,
    max: usize,
    partial: Option<Partial>,
    /// The longest message the server compresses (the agreed window, see `deflate.rs`).
    max_compressed: usize,
    settings: Deflate,
}

impl Deflated {
    /// A codec allowing peer messages of at most `max` bytes, inflated.
    pub fn new(max: usize, agreed: Agreed, settings: Deflate) -> Self {
        Deflated {
            buf: BytesMut::new(),
            max,
            partial: None,
            max_compressed: agreed.max_compressed_message(),
            settings,
        }
    }

    /// The next frame's header, `None` until it is all in.
    fn header(&self) -> Result<Option<Header>, InboundError> {
        let b = &self.buf[..];
        let (Some(&first), Some(&second)) = (b.first(), b.get(1)) else {
            return Ok(None);
        };
        if second & MASKED == 0 {
            return protocol("an unmasked client frame");
        }
        let (len, at) = match second & 0x7f {
            126 => match b.get(2..4) {
                Some(n) => (u64::from(u16::from_be_bytes([n[0], n[1]])), 4),
                None => return Ok(None),
            },
            127 => match b.get(2..10).and_then(|n| <[u8; 8]>::try_from(n).ok()) {
                Some(n) => (u64::from_be_bytes(n), 10),
                None => return Ok(None),
            },
            n => (u64::from(n), 2),
        };
        let Some(mask) = b.get(at..at + 4).and_then(|m| <[u8; 4]>::try_from(m).ok()) else {
            return Ok(None);
        };
        Ok(Some(Header {
            first,
            len,
            size: at + 4,
            mask,
        }))
    }

    /// The next frame: (first header byte, unmasked payload), `None` until it is all in.
    fn frame(&mut self) -> Result<Option<(u8, BytesMut)>, InboundError> {
        let Some(h) = self.header()? else {
            return Ok(None);
        };
        let opcode = h.first & 0x0f;
        if h.first & RSV23 != 0 {
            return protocol("RSV2 or RSV3 set");
        }
        if opcode >= 0x8 && (h.len > MAX_CONTROL || h.first & (FIN | RSV1) != FIN) {
            return protocol("a control frame fragmented, compressed or over 125 bytes");
        }
        if h.len > self.max as u64 {
            return Err(InboundError::TooBig);
        }
        // Within `max`, which is a usize.
        let len = h.len as usize;
        if self.buf.len() < h.size + len {
            self.buf.reserve(h.size + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(h.size);
        let mut payload = self.buf.split_to(len);
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= h.mask[i % 4];
        }
        if self.buf.is_empty() {
            // Gives the read buffer back between messages: an idle socket holds none.
            self.buf = BytesMut::new();
        }
        Ok(Some((h.first, payload)))
    }

    /// One frame: a message, or `None` for a fragment that does not finish one.
    fn message(
        &mut self,
        first: u8,
        payload: BytesMut,
    ) -> Result<Option<PeerMessage>, InboundError> {
        let (fin, rsv1) = (first & FIN != 0, first & RSV1 != 0);
        let opcode = OpCode::from(first & 0x0f);
        let data = |text, bytes| Partial {
            text,
            compressed: rsv1,
            bytes,
        };
        let partial = match opcode {
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                return protocol("a new message inside a fragmented one");
            }
            OpCode::Text => data(true, payload),
            OpCode::Binary => data(false, payload),
            OpCode::Continue if rsv1 => return protocol("RSV1 on a continuation frame"),
            OpCode::Continue => {
                let Some(mut partial) = self.partial.take() else {
                    return protocol("a continuation frame outside a fragmented message");
                };
                if partial.bytes.len().saturating_add(payload.len()) > self.max {
                    return Err(InboundError::TooBig);
                }
                partial.bytes.extend_from_slice(&payload);
                partial
            }
            OpCode::Ping => return Ok(Some(PeerMessage::Ping(payload.freeze()))),
            OpCode::Pong => return Ok(Some(PeerMessage::Pong)),
            OpCode::Close => {
                return Parser::try_parse_close_payload(&payload)
                    .map(|reason| Some(PeerMessage::Close(reason)))
                    .map_err(|e| InboundError::Protocol(format!("bad close frame: {e}")));
            }
            OpCode::Bad => return protocol("bad opcode"),
        };
        if !fin {
            self.partial = Some(partial);
            return Ok(None);
        }
        self.finish(partial).map(Some)
    }

    /// A whole data message, inflated if compressed.
    fn finish(&self, partial: Partial) -> Result<PeerMessage, InboundError> {
        let bytes = match partial.compressed {
            true => Bytes::from(
                zlib::inflate(&partial.bytes, self.max).map_err(|e| match e {
                    InflateError::TooBig => InboundError::TooBig,
                    InflateError::Corrupt => InboundError::Inflate,
                })?,
            ),
            false => partial.bytes.freeze(),
        };
        match partial.text {
            true => ByteString::try_from(bytes)
                .map(PeerMessage::Text)
                .map_err(|_| InboundError::NotUtf8),
            false => Ok(PeerMessage::Binary(bytes)),
        }
    }
}

fn protocol<T>(what: &str) -> Result<T, InboundError> {
    Err(InboundError::Protocol(what.to_owned()))
}

impl Codec for Deflated {
    fn push(&mut self, bytes: Bytes) {
        if self.buf.is_empty() {
            self.buf = BytesMut::from(bytes);
        } else {
            self.buf.extend_from_slice(&bytes);
        }
    }

    fn next(&mut self, _out: &mut BytesMut) -> Result<Option<PeerMessage>, InboundError> {
        while let Some((first, payload)) = self.frame()? {
            if let Some(message) = self.message(first, payload)? {
                return Ok(Some(message));
            }
        }
        Ok(None)
    }

    fn ready(&self) -> bool {
        true
    }

    fn text(&self, out: &mut BytesMut, text: &[u8]) {
        if text.len() >= self.settings.threshold_bytes
            && text.len() <= self.max_compressed
            && let Some(compressed) = zlib::deflate(text, self.settings.level)
            && compressed.len() < text.len()
        {
            let start = out.len();
            Parser::write_message(&mut *out, compressed, OpCode::Text, true, false);
            // `start` is the header byte just written.
            if let Some(first) = out.get_mut(start) {
                *first |= RSV1;
            }
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::websocket::codec::Rfc6455;

    const AGREED: Agreed = Agreed {
        server_max_window_bits: None,
    };

    /// A client frame with the mask 1 2 3 4.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(MASKED | n as u8),
            n => {
                out.push(MASKED | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        out
    }

    fn read(codec: &mut Deflated, bytes: &[u8]) -> Result<Vec<PeerMessage>, InboundError> {
        codec.push(Bytes::copy_from_slice(bytes));
        let mut out = Vec::new();
        while let Some(m) = codec.next(&mut BytesMut::new())? {
            out.push(m);
        }
        Ok(out)
    }

    fn codec(max: usize) -> Deflated {
        Deflated::new(max, AGREED, Deflate::default())
    }

    fn text(s: &str) -> PeerMessage {
        PeerMessage::Text(ByteString::from(s))
    }

    #[test]
    fn compressed_and_plain_messages_are_read_alike() {
        let hello = zlib::deflate(b"hello", 6).unwrap();
        let mut bytes = frame(0x80 | RSV1 | 0x1, &hello);
        bytes.extend(frame(0x81, b"plain"));
        bytes.extend(frame(0x89, b"p"));
        let got = read(&mut codec(100), &bytes).unwrap();
        assert_eq!(
            got,
            vec![
                text("hello"),
                text("plain"),
                PeerMessage::Ping(Bytes::from_static(b"p"))
            ]
        );
    }

    #[test]
    fn a_fragmented_compressed_message_has_rsv1_on_its_first_frame_only() {
        let body = "fragmented ".repeat(20);
        let compressed = zlib::deflate(body.as_bytes(), 6).unwrap();
        let (a, b) = compressed.split_at(compressed.len() / 2);
        let mut bytes = frame(RSV1 | 0x1, a);
        bytes.extend(frame(0x89, b""));
        bytes.extend(frame(0x80, b));
        let got = read(&mut codec(1000), &bytes).unwrap();
        assert_eq!(got, vec![PeerMessage::Ping(Bytes::new()), text(&body)]);
        let mut bad = frame(RSV1 | 0x1, a);
        bad.extend(frame(0x80 | RSV1, b));
        assert!(matches!(
            read(&mut codec(1000), &bad),
            Err(InboundError::Protocol(_))
        ));
    }

    #[test]
    fn a_bomb_is_too_big_and_a_bad_stream_is_an_inflate_error() {
        let bomb = zlib::deflate(&[b'a'; 100_000], 9).unwrap();
        assert!(bomb.len() < 1000);
        assert_eq!(
            read(&mut codec(10_000), &frame(0xC1, &bomb)),
            Err(InboundError::TooBig)
        );
        assert_eq!(
            read(&mut codec(100), &frame(0xC1, &[0xff; 8])),
            Err(InboundError::Inflate)
        );
        let not_utf8 = zlib::deflate(&[0xff, 0xfe], 6).unwrap();
        assert_eq!(
            read(&mut codec(100), &frame(0xC1, &not_utf8)),
            Err(InboundError::NotUtf8)
        );
    }

    #[test]
    fn control_frames_with_rsv1_and_frames_with_rsv2_are_protocol_errors() {
        for bytes in [
            frame(0x80 | RSV1 | 0x9, b""),
            frame(0x80 | 0x20 | 0x1, b"x"),
            frame(0x09, b""),
            frame(0x80, b"stray"),
            vec![0x81, 0x01, b'x'],
        ] {
            assert!(
                matches!(
                    read(&mut codec(100), &bytes),
                    Err(InboundError::Protocol(_))
                ),
                "{bytes:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = read(&mut codec(100), &bytes);
        }

        #[test]
        fn byte_splits_do_not_change_the_messages(text in "[a-zé ]{0,600}", cut in 0usize..2000) {
            let bytes = frame(0xC1, &zlib::deflate(text.as_bytes(), 6).unwrap());
            let cut = cut.min(bytes.len());
            let mut split = codec(2000);
            let mut got = read(&mut split, &bytes[..cut]).unwrap();
            got.extend(read(&mut split, &bytes[cut..]).unwrap());
            proptest::prop_assert_eq!(got, vec![PeerMessage::Text(ByteString::from(text))]);
        }
    }

    #[test]
    fn short_text_goes_out_plain_and_long_text_compressed() {
        let deflated = codec(1000);
        let mut short = BytesMut::new();
        deflated.text(&mut short, b"hi");
        let mut expected = BytesMut::new();
        Rfc6455::new(1000).text(&mut expected, b"hi");
        assert_eq!(short, expected);
        let long = "a broadcast message, ".repeat(30);
        let mut out = BytesMut::new();
        deflated.text(&mut out, long.as_bytes());
        assert_eq!(out[0], 0x80 | RSV1 | 0x1);
        assert!(out.len() < long.len() / 4);
        let payload = &out[2..];
        assert_eq!(zlib::inflate(payload, 10_000).unwrap(), long.as_bytes());
        // A client-limited window: longer messages than it go out plain.
        let small_window = Deflated::new(
            1000,
            Agreed {
                server_max_window_bits: Some(9),
            },
            Deflate::default(),
        );
        let mut out = BytesMut::new();
        small_window.text(&mut out, long.as_bytes());
        assert_eq!(out[0], 0x81);
    }
}
