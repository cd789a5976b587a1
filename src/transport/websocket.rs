//! WebSocket transports: SockJS-framed (`/<server>/<session>/websocket`, RFC 6455 or the
//! hixie-76 draft) and raw (`/websocket`, RFC 6455 only): the handshake checks and the
//! close reasons. Each connection is its own session, living as long as the socket; the
//! response body ([`pump::SocketBody`]) moves frames both ways from inside the connection's
//! task, through the wire format's [`codec::Codec`]. With `Config::permessage_deflate` on,
//! an RFC 6455 client that offers permessage-deflate gets the [`deflate`] codec instead.

pub(super) mod codec;
pub(super) mod deflate;
pub(super) mod pump;

use std::convert::Infallible;

use actix_web::body::{BodyStream, BoxBody};
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse, web};

use self::codec::{Codec, Rfc6455};
use self::deflate::codec::Deflated;
use self::pump::SocketBody;
use super::error::TransportError;
use super::ws_guard::ConnectionSocket;
use super::{SockJs, hixie76, ws_guard};
use crate::protocol::{CloseReason, TransportKind};
use crate::session::Mode;

/// Close code for a message over `max_message_bytes` (RFC 6455 1009 "message too big").
pub const TOO_BIG: CloseReason = CloseReason::fixed(1009, "Message too big");
/// Over an admission limit (RFC 6455 1013 "try again later").
pub const TRY_AGAIN_LATER: CloseReason = CloseReason::fixed(1013, "Too many sessions");
/// The peer did not answer a ping within a heartbeat period (sockjs-node's close for a
/// missed pong).
pub const NO_PONG: CloseReason = CloseReason::fixed(3000, "No response from heartbeat");
/// Close code for a raw WebSocket binary message that is not UTF-8, or a text message that
/// is not (RFC 6455 1007, section 8.1).
pub const NOT_UTF8: CloseReason = CloseReason::fixed(1007, "Invalid UTF-8");
/// A permessage-deflate message that does not inflate (the data is inconsistent with the
/// message type, RFC 6455 1007; RFC 7692 section 8 fails the connection).
pub const BAD_DEFLATE: CloseReason = CloseReason::fixed(1007, "Invalid compressed data");
/// Anything else RFC 6455 forbids: unmasked frame, bad opcode, stray continuation, ... (1002).
pub const PROTOCOL_ERROR: CloseReason = CloseReason::fixed(1002, "Protocol error");

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
    let socket = ConnectionSocket::of(req);
    let codec = Rfc6455::new(max);
    let deflate = mount
        .config()
        .permessage_deflate
        .as_ref()
        .and_then(|settings| {
            let agreed = deflate::negotiate(
                req.headers()
                    .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
                    .filter_map(|v| v.to_str().ok()),
            )?;
            response.insert_header((header::SEC_WEBSOCKET_EXTENSIONS, agreed.header()));
            Some(Deflated::new(max, agreed, settings.clone()))
        });
    let body = match (mount.start_socket(req, id, transport, mode), deflate) {
        (Ok(session), None) => BoxBody::new(BodyStream::new(SocketBody::new(
            codec, payload, socket, session, mode, mount,
        ))),
        (Ok(session), Some(deflated)) => BoxBody::new(BodyStream::new(SocketBody::new(
            deflated, payload, socket, session, mode, mount,
        ))),
        // Over an admission limit: the handshake is done, so say why in a close frame.
        (Err(_), _) => refusal(&codec, TRY_AGAIN_LATER, socket),
    };
    response
        .message_body(body)
        .map(HttpResponse::from)
        .map_err(|e| TransportError::Handshake(e.to_string()))
}

/// A body of one close frame, after which the connection is closed (the read half shut
/// with the frame handed over, as the pump does).
fn refusal(codec: &impl Codec, reason: CloseReason, socket: Option<ConnectionSocket>) -> BoxBody {
    let mut out = BytesMut::new();
    codec.close(&mut out, Some(reason));
    let frame = out.freeze();
    BoxBody::new(BodyStream::new(futures_util::stream::once(async move {
        if let Some(socket) = socket {
            socket.end_read();
        }
        Ok::<Bytes, Infallible>(frame)
    })))
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
}
