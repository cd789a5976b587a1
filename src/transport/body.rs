//! Response bodies fed by a session's receiver pipe, and capped request-body reading.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::http::{Version, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::error::TransportError;
use super::{SockJs, http};
use crate::protocol::{Framing, TransportKind};
use crate::session::{Receiver, ReceiverItem};

/// A streaming response body: an optional prelude, then each frame as its own chunk, until
/// the session ends the receiver. Dropped early (client gone), it reports an interruption.
pub struct FrameStream {
    prelude: Option<Bytes>,
    receiver: Receiver,
}

impl FrameStream {
    /// A body that writes `prelude` first.
    pub fn new(prelude: Option<Bytes>, receiver: Receiver) -> Self {
        FrameStream { prelude, receiver }
    }
}

impl Stream for FrameStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(prelude) = this.prelude.take() {
            return Poll::Ready(Some(Ok(prelude)));
        }
        loop {
            return match this.receiver.poll_next(cx) {
                Poll::Ready(Some(ReceiverItem::Frame(bytes))) if bytes.is_empty() => continue,
                Poll::Ready(Some(ReceiverItem::Frame(bytes))) => Poll::Ready(Some(Ok(bytes))),
                Poll::Ready(Some(ReceiverItem::End(_)) | None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// A streaming response. HTTP/1.0 has no chunked encoding: such clients get the raw stream
/// and the connection closes at its end (`Http10.test_streaming`).
pub fn stream_response(
    req: &HttpRequest,
    mut builder: HttpResponseBuilder,
    body: FrameStream,
) -> HttpResponse {
    let http10 = req.version() == Version::HTTP_10;
    if http10 {
        builder.force_close();
    }
    let mut response = builder.streaming(body);
    if http10 {
        response.head_mut().no_chunking(true);
    }
    response
}

/// A streaming transport's answer: attaches a receiver with `framing` (ended after the
/// mount's `response_limit`), then streams `prelude` and the frames with `content_type`.
pub async fn open_stream(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
    kind: TransportKind,
    framing: Framing,
    content_type: &'static str,
    prelude: Bytes,
) -> Result<HttpResponse, TransportError> {
    let config = mount.config();
    let receiver = mount
        .attach(req, session, kind, framing, config.response_limit)
        .await?;
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, content_type));
    http::session_headers(&mut b, req, config);
    Ok(stream_response(
        req,
        b,
        FrameStream::new(Some(prelude), receiver),
    ))
}

/// Waits for a polling receiver's frames (one, normally) and answers them with a
/// `Content-Length` body. If the client goes away first, the request future is dropped and
/// the receiver reports the interruption.
pub async fn poll_response(
    mut builder: HttpResponseBuilder,
    mut receiver: Receiver,
) -> HttpResponse {
    let mut body = BytesMut::new();
    while let Some(item) = receiver.next().await {
        match item {
            ReceiverItem::Frame(bytes) => body.extend_from_slice(&bytes),
            ReceiverItem::End(_) => break,
        }
    }
    builder.body(body.freeze())
}

/// Reads a request body of at most `max` bytes; past that, 413 without reading further.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
) -> Result<Bytes, TransportError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(TransportError::PayloadTooLarge);
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(max));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| TransportError::Body)?;
        if body.len() + chunk.len() > max {
            return Err(TransportError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
