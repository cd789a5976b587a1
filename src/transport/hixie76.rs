//! The hixie-76 WebSocket draft (old Safari, and what HAProxy setups were tested with), on
//! the SockJS WebSocket URL: its handshake and its [`Codec`]; the connection runs on the same
//! pump as RFC 6455 ([`SocketBody`]), with the same bounds and the same close. The response
//! headers go out before the 8-byte key3 arrives, as HAProxy requires
//! (`Websocket.test_haproxy`), and the 16-byte answer is the body's first bytes; frames are
//! `0x00 <utf-8> 0xFF`, close is `0xFF 0x00`. The draft has no ping and no close code.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;
use md5::{Digest, Md5};

use super::SockJs;
use super::error::TransportError;
use super::websocket::codec::Codec;
use super::websocket::pump::SocketBody;
use super::ws_guard::ConnectionSocket;
use super::ws_inbound::{InboundError, PeerMessage};
use crate::protocol::{CloseReason, TransportKind};
use crate::session::Mode;

/// Starts a text frame.
const FRAME_START: u8 = 0x00;
/// Ends a text frame.
const FRAME_END: u8 = 0xFF;
/// The closing handshake, both ways.
const CLOSE_FRAME: [u8; 2] = [0xFF, 0x00];
/// Bytes of key3, sent by the client after its request head.
const KEY3_LEN: usize = 8;

/// Whether the request is a hixie-76 handshake (two number keys, no RFC 6455 key).
pub fn is_hixie76(req: &HttpRequest) -> bool {
    let h = req.headers();
    h.contains_key("sec-websocket-key1")
        && h.contains_key("sec-websocket-key2")
        && !h.contains_key(header::SEC_WEBSOCKET_KEY)
}

/// A key's number: its digits read as a number, divided by its count of spaces.
pub fn key_number(key: &str) -> Option<u32> {
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let spaces = key.chars().filter(|c| *c == ' ').count() as u64;
    let n: u64 = digits.parse().ok()?;
    if spaces == 0 || !n.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(n / spaces).ok()
}

/// The 16-byte answer: MD5 of both key numbers (big-endian) and key3.
pub fn handshake_answer(n1: u32, n2: u32, key3: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(n1.to_be_bytes());
    md5.update(n2.to_be_bytes());
    md5.update(key3);
    let mut out = [0u8; 16];
    out.copy_from_slice(&md5.finalize());
    out
}

/// One decoded hixie-76 frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(ByteString),
    /// The closing handshake.
    Close,
}

/// Takes the next complete frame from `buf`: `Ok(None)` when more bytes are needed, `Err`
/// when the bytes are not hixie-76 text framing or a frame passes `max` bytes.
pub fn decode(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, InboundError> {
    match buf.first() {
        None => Ok(None),
        Some(&FRAME_START) => match buf.iter().position(|b| *b == FRAME_END) {
            Some(end) if end - 1 > max => Err(InboundError::TooBig),
            Some(end) => {
                let frame = buf.split_to(end + 1).freeze();
                ByteString::try_from(frame.slice(1..end))
                    .map(|text| Some(Frame::Text(text)))
                    .map_err(|_| InboundError::NotUtf8)
            }
            None if buf.len() - 1 > max => Err(InboundError::TooBig),
            None => Ok(None),
        },
        Some(&FRAME_END) if buf.len() < CLOSE_FRAME.len() => Ok(None),
        Some(&FRAME_END) if buf[1] == CLOSE_FRAME[1] => {
            buf.advance(CLOSE_FRAME.len());
            Ok(Some(Frame::Close))
        }
        Some(_) => Err(InboundError::Protocol("not hixie-76 text framing".into())),
    }
}

/// The hixie-76 wire format, from the handshake's key numbers: key3 first, then frames.
#[derive(Debug)]
pub struct Hixie76 {
    /// The key numbers until key3 is in and answered.
    keys: Option<(u32, u32)>,
    buf: BytesMut,
    max: usize,
}

impl Hixie76 {
    /// A codec for a handshake with key numbers `n1` and `n2`, allowing messages of at most
    /// `max` bytes.
    pub fn new(n1: u32, n2: u32, max: usize) -> Self {
        Hixie76 {
            keys: Some((n1, n2)),
            buf: BytesMut::new(),
            max,
        }
    }
}

impl Codec for Hixie76 {
    fn push(&mut self, bytes: Bytes) {
        if self.buf.is_empty() {
            self.buf = BytesMut::from(bytes);
        } else {
            self.buf.extend_from_slice(&bytes);
        }
    }

    fn next(&mut self, out: &mut BytesMut) -> Result<Option<PeerMessage>, InboundError> {
        if let Some((n1, n2)) = self.keys {
            if self.buf.len() < KEY3_LEN {
                return Ok(None);
            }
            let key3 = self.buf.split_to(KEY3_LEN);
            out.extend_from_slice(&handshake_answer(n1, n2, &key3));
            self.keys = None;
        }
        let frame = decode(&mut self.buf, self.max)?;
        if self.buf.is_empty() {
            // Gives the read buffer back between messages: an idle socket holds none.
            self.buf = BytesMut::new();
        }
        Ok(frame.map(|frame| match frame {
            Frame::Text(text) => PeerMessage::Text(text),
            Frame::Close => PeerMessage::Close(None),
        }))
    }

    fn ready(&self) -> bool {
        self.keys.is_none()
    }

    fn text(&self, out: &mut BytesMut, text: &[u8]) {
        out.reserve(text.len() + 2);
        out.extend_from_slice(&[FRAME_START]);
        out.extend_from_slice(text);
        out.extend_from_slice(&[FRAME_END]);
    }

    fn ping(&self, _out: &mut BytesMut) -> bool {
        false
    }

    fn pong(&self, _out: &mut BytesMut, _payload: &[u8]) {}

    fn close(&self, out: &mut BytesMut, _reason: Option<CloseReason>) {
        out.extend_from_slice(&CLOSE_FRAME);
    }
}

/// Answers the handshake at once (key3, and so the answer, come after the headers) and runs
/// the connection on the pump.
pub fn accept(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    id: &str,
) -> Result<HttpResponse, TransportError> {
    let key = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(key_number)
    };
    let (Some(n1), Some(n2)) = (key("sec-websocket-key1"), key("sec-websocket-key2")) else {
        return Err(TransportError::Handshake("Invalid hixie-76 keys.".into()));
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    let host = req.connection_info().host().to_owned();
    let location = format!(
        "ws://{host}{}",
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let session = mount
        .start_socket(req, id, TransportKind::WebSocket, Mode::Framed)
        .map_err(|_| TransportError::Unavailable)?;
    let codec = Hixie76::new(n1, n2, mount.config().max_message_bytes);
    let body = SocketBody::new(
        codec,
        payload.into_inner(),
        ConnectionSocket::of(req),
        session,
        Mode::Framed,
        mount,
    );
    let mut b = HttpResponse::build(StatusCode::SWITCHING_PROTOCOLS);
    b.upgrade("WebSocket");
    if let Some(origin) = origin {
        b.insert_header(("Sec-WebSocket-Origin", origin));
    }
    b.insert_header(("Sec-WebSocket-Location", location));
    Ok(b.streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_suites_keys_give_its_answer() {
        let n1 = key_number("4 @1  46546xW%0l 1 5").unwrap();
        let n2 = key_number("12998 5 Y3 1  .P00").unwrap();
        assert_eq!(
            &handshake_answer(n1, n2, b"aaaaaaaa"),
            b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"
        );
    }

    #[test]
    fn keys_without_spaces_are_refused() {
        assert_eq!(key_number("12345"), None);
    }

    #[test]
    fn frames_decode_one_at_a_time() {
        let mut buf = BytesMut::from(&b"\x00hi\xff\x00there\xff\xff\x00"[..]);
        assert_eq!(decode(&mut buf, 100), Ok(Some(Frame::Text("hi".into()))));
        assert_eq!(decode(&mut buf, 100), Ok(Some(Frame::Text("there".into()))));
        assert_eq!(decode(&mut buf, 100), Ok(Some(Frame::Close)));
        assert_eq!(decode(&mut buf, 100), Ok(None));
    }

    #[test]
    fn partial_and_oversized_frames() {
        let mut buf = BytesMut::from(&b"\x00abc"[..]);
        assert_eq!(decode(&mut buf, 100), Ok(None));
        assert_eq!(decode(&mut buf, 3), Ok(None), "exactly the limit so far");
        assert_eq!(decode(&mut buf, 2), Err(InboundError::TooBig));
        let mut whole = BytesMut::from(&b"\x00abc\xff"[..]);
        assert_eq!(decode(&mut whole.clone(), 2), Err(InboundError::TooBig));
        assert_eq!(decode(&mut whole, 3), Ok(Some(Frame::Text("abc".into()))));
        let mut bad = BytesMut::from(&b"\x80x"[..]);
        assert!(matches!(
            decode(&mut bad, 100),
            Err(InboundError::Protocol(_))
        ));
        let mut not_utf8 = BytesMut::from(&b"\x00\xc3\xff"[..]);
        assert_eq!(decode(&mut not_utf8, 100), Err(InboundError::NotUtf8));
    }

    #[test]
    fn the_codec_answers_key3_before_anything_else_and_only_then_is_ready() {
        let n1 = key_number("4 @1  46546xW%0l 1 5").unwrap();
        let n2 = key_number("12998 5 Y3 1  .P00").unwrap();
        let mut codec = Hixie76::new(n1, n2, 100);
        let mut out = BytesMut::new();
        codec.push(Bytes::from_static(b"aaaa"));
        assert_eq!(codec.next(&mut out), Ok(None));
        assert!(!codec.ready() && out.is_empty(), "half a key3: nothing yet");
        codec.push(Bytes::from_static(b"aaaa\x00[\"x\"]\xff\xff\x00"));
        assert_eq!(
            codec.next(&mut out),
            Ok(Some(PeerMessage::Text("[\"x\"]".into())))
        );
        assert!(codec.ready());
        assert_eq!(&out[..], b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{");
        assert_eq!(codec.next(&mut out), Ok(Some(PeerMessage::Close(None))));
        assert_eq!(codec.next(&mut out), Ok(None));
    }

    #[test]
    fn the_codec_writes_text_and_close_frames_and_has_no_ping() {
        let codec = Hixie76::new(1, 2, 100);
        let mut out = BytesMut::new();
        codec.text(&mut out, b"o");
        assert!(!codec.ping(&mut out));
        codec.close(&mut out, Some(CloseReason::NORMAL));
        assert_eq!(&out[..], b"\x00o\xff\xff\x00");
    }

    proptest! {
        #[test]
        fn the_codec_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            cut in 0usize..512,
        ) {
            let mut codec = Hixie76::new(1, 2, 100);
            let mut out = BytesMut::new();
            let cut = cut.min(bytes.len());
            for part in [&bytes[..cut], &bytes[cut..]] {
                codec.push(Bytes::copy_from_slice(part));
                while let Ok(Some(_)) = codec.next(&mut out) {}
            }
        }
    }
}
