//! EventSource (`/eventsource`): a `\r\n` prelude, then `data: <frame>\r\n\r\n` events until
//! `response_limit` bytes.

use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

use super::body::open_stream;
use super::error::TransportError;
use super::{SockJs, http};
use crate::protocol::framing::EVENTSOURCE_PRELUDE;
use crate::protocol::{Framing, TransportKind};

/// `GET /eventsource`.
pub async fn stream(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let prelude = Bytes::from_static(EVENTSOURCE_PRELUDE);
    let (kind, framing) = (TransportKind::EventSource, Framing::EventSource);
    open_stream(
        mount,
        req,
        session,
        kind,
        framing,
        http::EVENT_STREAM,
        prelude,
    )
    .await
}
