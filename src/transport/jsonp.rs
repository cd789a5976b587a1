//! JSONP polling (`/jsonp?c=callback`) and its send endpoint (`/jsonp_send`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::body::{poll_response, read_body};
use super::error::TransportError;
use super::xhr::{POLL_LIMIT, deliver};
use super::{SockJs, http};
use crate::protocol::{DecodeError, Framing, TransportKind, decode_array};

/// Longest callback name accepted (sockjs-node's JSONP limit).
pub const MAX_CALLBACK_LEN: usize = 32;

/// The validated `c` (or `callback`) query parameter: `[a-zA-Z0-9-_.]{1,32}`.
pub fn callback(req: &HttpRequest) -> Result<String, TransportError> {
    let query: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| TransportError::CallbackRequired)?;
    let value = query
        .iter()
        .find(|(k, _)| k == "c")
        .or_else(|| query.iter().find(|(k, _)| k == "callback"))
        .map(|(_, v)| v.clone())
        .ok_or(TransportError::CallbackRequired)?;
    let valid = !value.is_empty()
        && value.len() <= MAX_CALLBACK_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if valid {
        Ok(value)
    } else {
        Err(TransportError::InvalidCallback)
    }
}

/// `GET /jsonp`: one frame wrapped in a call of the callback.
pub async fn poll(
    mount: &SockJs,
    req: &HttpRequest,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let callback = callback(req)?;
    let receiver = mount
        .attach(
            req,
            session,
            TransportKind::JsonpPolling,
            Framing::Jsonp { callback },
            POLL_LIMIT,
        )
        .await?;
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::JAVASCRIPT));
    // Stops a browser from sniffing the script as something else (sockjs-node #163).
    b.insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    http::session_headers(&mut b, req, mount.config());
    Ok(poll_response(b, receiver).await)
}

/// `POST /jsonp_send`: `d=<json>` form-encoded, or the JSON as a `text/plain` body; `ok`.
pub async fn send(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    session: &str,
) -> Result<HttpResponse, TransportError> {
    let body = read_body(req, payload, mount.config().max_message_bytes).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = match content_type.as_str() {
        "application/x-www-form-urlencoded" => {
            let form: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|_| DecodeError::PayloadExpected)?;
            form.into_iter()
                .find(|(k, _)| k == "d")
                .map(|(_, v)| v.into_bytes())
                .unwrap_or_default()
        }
        "text/plain" | "" => body.to_vec(),
        _ => return Err(DecodeError::PayloadExpected.into()),
    };
    let messages = decode_array(&json)?;
    deliver(mount, req, session, messages).await?;
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::TEXT_PLAIN));
    http::session_headers(&mut b, req, mount.config());
    Ok(b.body("ok"))
}
