//! htmlfile (`/htmlfile?c=callback`): a page that calls `parent.<callback>`, then one
//! `<script>` block per frame until `response_limit` bytes. Frames are quoted so that no
//! payload can leave its script block.

use actix_web::{HttpRequest, HttpResponse};

use super::body::open_stream;
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
    let prelude = htmlfile_prelude(&jsonp::callback(req)?);
    let (kind, framing) = (TransportKind::HtmlFile, Framing::HtmlFile);
    open_stream(mount, req, session, kind, framing, http::HTML, prelude).await
}
