//! EventSource (`/eventsource`): a `\r\n` prelude, then `data: <frame>\r\n\r\n` events until
//! `response_limit` bytes.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

use super::error::TransportError;
use super::body::{FrameStream, stream_response};
use super::{SockJs, http};
use crate::protocol::framing::EVENTSOURCE_PRELUDE;
use crate::protocol::{Framing, TransportKind};

/// `GET /eventsource`.
pub async fn stream(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let config = mount.config();
    let receiver = mount
        .attach(
            req,
            session,
            TransportKind::EventSource,
            Framing::EventSource,
            config.response_limit,
        )
        .await?;
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::EVENT_STREAM));
    http::session_headers(&mut b, req, config);
    Ok(stream_response(
        req,
        b,
        FrameStream::new(Some(Bytes::from_static(EVENTSOURCE_PRELUDE)), receiver),
    ))
}
