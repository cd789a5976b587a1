//! htmlfile (`/htmlfile?c=callback`): a page that calls `parent.<callback>`, then one
//! `<script>` block per frame until `response_limit` bytes. Frames are quoted so that no
//! payload can leave its script block.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::body::{FrameStream, stream_response};
use super::error::TransportError;
use super::{SockJs, http, jsonp};
use crate::protocol::framing::htmlfile_prelude;
use crate::protocol::{Framing, TransportKind};

/// `GET /htmlfile`.
pub async fn stream(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let callback = jsonp::callback(req)?;
    let config = mount.config();
    let receiver = mount
        .attach(
            req,
            session,
            TransportKind::HtmlFile,
            Framing::HtmlFile,
            config.response_limit,
        )
        .await?;
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::HTML));
    http::session_headers(&mut b, req, config);
    Ok(stream_response(
        req,
        b,
        FrameStream::new(Some(htmlfile_prelude(&callback)), receiver),
    ))
}
