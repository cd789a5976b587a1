//! The hixie-76 WebSocket draft (old Safari, and what HAProxy setups were tested with), on
//! the SockJS WebSocket URL. The response headers go out before the 8-byte key3 arrives, as
//! HAProxy requires (`Websocket.test_haproxy`); frames are `0x00 <utf-8> 0xFF`, close
//! is `0xFF 0x00`.

use std::convert::Infallible;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::sync::mpsc;

use super::SockJs;
use super::error::TransportError;
use super::websocket::{TOO_BIG, attach_socket, inbound};
use crate::protocol::{CloseReason, TransportKind};
use crate::session::actor::Incoming;
use crate::session::{CloseCause, Mode, Receiver, ReceiverItem, SessionHandle};

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
    Text(String),
    /// The closing handshake.
    Close,
}

/// Takes the next complete frame from `buf`: `Ok(None)` when more bytes are needed, `Err`
/// when the bytes are not hixie-76 text framing or a frame passes `max` bytes.
pub fn decode(buf: &mut BytesMut, max: usize) -> Result<Option<Frame>, CloseReason> {
    match buf.first() {
        None => Ok(None),
        Some(0x00) => match buf.iter().position(|b| *b == 0xFF) {
            Some(end) => {
                let frame = buf.split_to(end + 1);
                String::from_utf8(frame[1..end].to_vec())
                    .map(|s| Some(Frame::Text(s)))
                    .map_err(|_| CloseReason::BROKEN_FRAMING)
            }
            None if buf.len() > max => Err(TOO_BIG),
            None => Ok(None),
        },
        Some(0xFF) if buf.len() < 2 => Ok(None),
        Some(0xFF) if buf[1] == 0x00 => {
            buf.advance(2);
            Ok(Some(Frame::Close))
        }
        Some(_) => Err(CloseReason::BROKEN_FRAMING),
    }
}

fn encode(text: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(text.len() + 2);
    out.extend_from_slice(&[0x00]);
    out.extend_from_slice(text);
    out.extend_from_slice(&[0xFF]);
    out.freeze()
}

/// Answers the handshake at once; key3 is read after.
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
    let receiver = attach_socket(&session);
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    actix_web::rt::spawn(run(
        payload,
        n1,
        n2,
        tx,
        receiver,
        session,
        mount.config().max_message_bytes,
    ));
    let mut b = HttpResponse::build(StatusCode::SWITCHING_PROTOCOLS);
    b.upgrade("WebSocket");
    if let Some(origin) = origin {
        b.insert_header(("Sec-WebSocket-Origin", origin));
    }
    b.insert_header(("Sec-WebSocket-Location", location));
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    });
    Ok(b.streaming(body))
}

async fn run(
    mut payload: web::Payload,
    n1: u32,
    n2: u32,
    out: mpsc::UnboundedSender<Bytes>,
    mut receiver: Receiver,
    session: SessionHandle,
    max: usize,
) {
    let mut buf = BytesMut::new();
    while buf.len() < 8 {
        match payload.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            _ => return receiver.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted),
        }
    }
    let key3 = buf.split_to(8);
    if out
        .send(Bytes::copy_from_slice(&handshake_answer(n1, n2, &key3)))
        .is_err()
    {
        return receiver.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
    }
    loop {
        tokio::select! {
            item = receiver.next() => match item {
                Some(ReceiverItem::Frame(bytes)) => {
                    if out.send(encode(&bytes)).is_err() {
                        return receiver.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
                    }
                }
                _ => break,
            },
            chunk = payload.next() => {
                let Some(Ok(chunk)) = chunk else {
                    return receiver.finish(CloseReason::INTERRUPTED, CloseCause::Interrupted);
                };
                buf.extend_from_slice(&chunk);
                loop {
                    match decode(&mut buf, max) {
                        Ok(None) => break,
                        Ok(Some(Frame::Text(text))) => match inbound(Mode::Framed, &text) {
                            Ok(messages) if messages.is_empty() => {}
                            Ok(messages) => session.addr().do_send(Incoming(messages)),
                            Err(reason) => return receiver.finish(reason, CloseCause::ProtocolError),
                        },
                        Ok(Some(Frame::Close)) => {
                            let _ = out.send(Bytes::from_static(&[0xFF, 0x00]));
                            return receiver.finish(CloseReason::NORMAL, CloseCause::ClientClosed);
                        }
                        Err(reason) => return receiver.finish(reason, CloseCause::ProtocolError),
                    }
                }
            }
        }
    }
    let _ = out.send(Bytes::from_static(&[0xFF, 0x00]));
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(decode(&mut buf, 2), Err(TOO_BIG));
        let mut bad = BytesMut::from(&b"\x80x"[..]);
        assert_eq!(decode(&mut bad, 100), Err(CloseReason::BROKEN_FRAMING));
    }
}
