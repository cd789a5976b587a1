//! The greeting, `/info` and the iframe page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::{SockJs, http};
use crate::protocol::pages::{GREETING, Info};

/// `GET /`: the greeting.
pub fn greeting() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, http::TEXT_PLAIN))
        .body(GREETING)
}

/// `GET /info`: capabilities and entropy, never cached, CORS-enabled.
pub fn info(mount: &SockJs, req: &HttpRequest) -> HttpResponse {
    let config = mount.config();
    let body = Info::new(config.websocket, config.jsessionid, rand::random::<u32>()).to_json();
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::JSON));
    http::cors(&mut b, req, config);
    http::no_cache(&mut b);
    b.body(body)
}

/// `OPTIONS /info`: the preflight.
pub fn info_options(mount: &SockJs, req: &HttpRequest) -> HttpResponse {
    let mut b = HttpResponse::NoContent();
    http::preflight(&mut b, req, mount.config(), "OPTIONS, GET");
    b.finish()
}

/// `GET /iframe*.html`: the iframe page, cached for a year, with an ETag (304 on match).
pub fn iframe(mount: &SockJs, req: &HttpRequest) -> HttpResponse {
    let etag = &mount.0.iframe_etag;
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return HttpResponse::NotModified().finish();
    }
    let mut b = HttpResponse::Ok();
    b.insert_header((header::CONTENT_TYPE, http::HTML));
    b.insert_header((header::ETAG, etag.as_str()));
    http::cache_for(&mut b);
    // The origin allow-list also says who may frame the iframe page.
    if let Some(ancestors) = frame_ancestors(mount.config()) {
        b.insert_header((header::CONTENT_SECURITY_POLICY, ancestors));
    }
    b.body(mount.0.iframe.clone())
}

/// `frame-ancestors` for a restricted `allowed_origins` (none when any origin is allowed).
fn frame_ancestors(config: &crate::Config) -> Option<String> {
    if config.allowed_origins.iter().any(|o| o == "*") {
        return None;
    }
    let sources: Vec<&str> = config
        .allowed_origins
        .iter()
        .map(String::as_str)
        .filter(|o| {
            *o != "null"
                && o.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        })
        .collect();
    Some(
        format!("frame-ancestors 'self' {}", sources.join(" "))
            .trim_end()
            .to_owned(),
    )
}
