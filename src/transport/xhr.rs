//! xhr polling (`/xhr`), xhr streaming (`/xhr_streaming`), the send endpoint (`/xhr_send`)
//! and their CORS preflight. xdr-* clients use the same endpoints.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::body::{open_stream, poll_response, read_body};
use super::error::TransportError;
use super::{SockJs, http};
use crate::config::Config;
use crate::protocol::framing::xhr_streaming_prelude;
use crate::protocol::{Framing, TransportKind, decode_array};

/// A polling receiver ends after its first frame.
pub const POLL_LIMIT: usize = 1;

/// `OPTIONS` on any xhr endpoint.
pub fn options(req: &HttpRequest, config: &Config) -> HttpResponse {
    let mut b = HttpResponse::NoContent();
    http::preflight(&mut b, req, config, "OPTIONS, POST");
    b.finish()
}

/// `POST /xhr`: one frame (open, messages, heartbeat or close), then the response ends.
pub async fn poll(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let receiver = mount
        .attach(
            req,
            session,
            TransportKind::XhrPolling,
            Framing::Xhr,
            POLL_LIMIT,
        )
        .await?;
    Ok(poll_response(xhr_headers(req, mount.config()), receiver).await)
}

/// `POST /xhr_streaming`: a 2 KiB prelude, then frames until `response_limit` bytes.
pub async fn streaming(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let (kind, framing) = (TransportKind::XhrStreaming, Framing::Xhr);
    open_stream(
        mount,
        req,
        session,
        kind,
        framing,
        http::JAVASCRIPT,
        xhr_streaming_prelude(),
    )
    .await
}

/// `POST /xhr_send`: a JSON array of messages for an existing session; 204.
pub async fn send(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let body = read_body(req, payload, mount.config().max_message_bytes).await?;
    let messages = decode_array(&body)?;
    deliver(mount, req, session, messages).await?;
    let mut b = HttpResponse::NoContent();
    // Firefox assumes XML without a content type, even on 204 (`XhrPolling.test_transport`).
    b.insert_header((header::CONTENT_TYPE, http::TEXT_PLAIN));
    http::session_headers(&mut b, req, mount.config());
    Ok(b.finish())
}

/// Hands decoded messages to session `id`; 404 if there is no such session.
pub async fn deliver(
    mount: &SockJs,
    req: &HttpRequest,
    id: &str,
    messages: Vec<String>,
) -> Result<(), TransportError> {
    let handle = mount.find(req, id)?;
    if messages.is_empty() {
        return Ok(());
    }
    handle
        .deliver(messages)
        .await
        .map_err(|_| TransportError::NotFound)
}

fn xhr_headers(req: &HttpRequest, config: &Config) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::JAVASCRIPT));
    http::session_headers(&mut b, req, config);
    b
}
