//! HTTP details shared by the transports: CORS, caching, the JSESSIONID cookie, origin
//! checks and the client's address (with the warning about untrusted forwarders). Header
//! values are the ones the official suite checks.

use std::net::IpAddr;
use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::{self, HeaderName, HeaderValue, HttpDate};
use actix_web::{HttpRequest, HttpResponseBuilder};
use parking_lot::Mutex;

use super::error::TransportError;
use crate::config::Config;
use crate::forwarded::{self, ForwarderWarnings};

/// `text/plain; charset=UTF-8` (greeting, xhr_send, jsonp_send, errors).
pub const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";
/// `application/javascript; charset=UTF-8` (xhr, xhr_streaming, jsonp).
pub const JAVASCRIPT: &str = "application/javascript; charset=UTF-8";
/// `application/json; charset=UTF-8` (`/info`).
pub const JSON: &str = "application/json; charset=UTF-8";
/// `text/html; charset=UTF-8` (iframe, htmlfile).
pub const HTML: &str = "text/html; charset=UTF-8";
/// `text/event-stream` (eventsource; no charset, `EventSource.test_transport`).
pub const EVENT_STREAM: &str = "text/event-stream";

/// The no-cache value for responses to GETs and POSTs carrying session data
/// (`Test.verify_not_cached`).
pub const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";
/// One year, the cache lifetime of cacheable answers (`Test.verify_options`: max-age of at
/// least 7 digits).
pub const CACHE_FOR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The client's address: the peer, or what a trusted proxy says it forwarded for. Forwarding
/// headers from a peer that is not a trusted proxy are ignored, and a warning naming
/// `--trusted-proxy` is logged (once per peer every
/// [`FORWARDER_WARNING_EVERY`](forwarded::FORWARDER_WARNING_EVERY)).
pub fn client_ip(req: &HttpRequest, config: &Config) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !forwarded::is_trusted(peer, &config.trusted_proxies) {
        warn_untrusted_forwarder(req, peer);
        return Some(peer);
    }
    let values = |name: &HeaderName| -> Vec<&str> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect()
    };
    let xff = values(&X_FORWARDED_FOR);
    let fwd = values(&header::FORWARDED);
    Some(forwarded::client_ip(
        peer,
        &xff,
        &fwd,
        &config.trusted_proxies,
    ))
}

/// `X-Forwarded-For` (not in `http`'s list: it was never standardised).
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The peers already warned about, for the whole process (the warning is about where the
/// server sits in the network, not about one mount).
static UNTRUSTED_FORWARDERS: LazyLock<Mutex<ForwarderWarnings>> = LazyLock::new(Mutex::default);

/// Warns (at most once per peer per [`forwarded::FORWARDER_WARNING_EVERY`]) that `peer`,
/// which is not a trusted proxy, sent `X-Forwarded-For` or `Forwarded`: typically a reverse
/// proxy missing from `--trusted-proxy`, whose clients then all count as the proxy.
fn warn_untrusted_forwarder(req: &HttpRequest, peer: IpAddr) {
    let sent: Vec<&str> = [
        ("X-Forwarded-For", &X_FORWARDED_FOR),
        ("Forwarded", &header::FORWARDED),
    ]
    .into_iter()
    .filter(|(_, h)| req.headers().contains_key(*h))
    .map(|(name, _)| name)
    .collect();
    if sent.is_empty() {
        return;
    }
    let peer = forwarded::canonical(peer);
    if !UNTRUSTED_FORWARDERS
        .lock()
        .should_warn(peer, Instant::now())
    {
        return;
    }
    log::warn!(
        "request from {peer} carries {} but {peer} is not a trusted proxy, so {peer} is taken \
         as the client's address (session binding, per-address limits, \
         SessionHandle::client_addr). If {peer} is your reverse proxy, start the server with \
         --trusted-proxy {peer} (Config::trusted_proxies); if it is a client, or a proxy on \
         the client's side, nothing needs doing",
        sent.join(" and ")
    );
}

/// Adds `Cache-Control: no-store, ...`.
pub fn no_cache(b: &mut HttpResponseBuilder) {
    b.insert_header((header::CACHE_CONTROL, NO_CACHE));
}

/// Adds one-year public caching with `Expires`.
pub fn cache_for(b: &mut HttpResponseBuilder) {
    b.insert_header((
        header::CACHE_CONTROL,
        format!("public, max-age={}", CACHE_FOR.as_secs()),
    ));
    b.insert_header((
        header::EXPIRES,
        HttpDate::from(SystemTime::now() + CACHE_FOR),
    ));
}

/// Refuses a request whose `Origin` is not allowed by the mount.
pub fn check_origin(req: &HttpRequest, config: &Config) -> Result<(), TransportError> {
    match req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    {
        Some(origin) if !config.origin_allowed(origin) => Err(TransportError::OriginNotAllowed),
        _ => Ok(()),
    }
}

/// CORS for XHR transports: the request's origin echoed (even `null`) with credentials, or
/// `*` without an origin; requested headers echoed (`XhrPolling.test_request_headers_cors`).
pub fn cors(b: &mut HttpResponseBuilder, req: &HttpRequest, config: &Config) {
    match req.headers().get(header::ORIGIN) {
        Some(origin) => {
            b.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()));
            if config.cors_credentials {
                b.insert_header((
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                ));
            }
        }
        None => {
            b.insert_header((
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ));
        }
    }
    b.insert_header((header::VARY, HeaderValue::from_static("Origin")));
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        && !requested.is_empty()
    {
        b.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone()));
    }
}

/// The answer to a CORS preflight: 204, cacheable for a year, allowing `methods`.
pub fn preflight(
    b: &mut HttpResponseBuilder,
    req: &HttpRequest,
    config: &Config,
    methods: &'static str,
) {
    cors(b, req, config);
    cache_for(b);
    b.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods));
    b.insert_header((
        header::ACCESS_CONTROL_MAX_AGE,
        CACHE_FOR.as_secs().to_string(),
    ));
    jsessionid(b, req, config);
}

/// With `jsessionid` on: sets `JSESSIONID` to the client's value, or `dummy`, path `/`
/// (`JsessionidCookie.verify_cookie`).
pub fn jsessionid(b: &mut HttpResponseBuilder, req: &HttpRequest, config: &Config) {
    if config.jsessionid {
        b.insert_header((
            header::SET_COOKIE,
            format!("JSESSIONID={}; path=/", jsessionid_value(req)),
        ));
    }
}

/// The request's JSESSIONID when it is a plain token, else `dummy` (what we set).
pub fn jsessionid_value(req: &HttpRequest) -> String {
    req.cookie("JSESSIONID")
        .map(|c| c.value().to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        })
        .unwrap_or_else(|| "dummy".to_owned())
}

/// The headers every session-transport answer carries: CORS, no-cache and the cookie.
pub fn session_headers(b: &mut HttpResponseBuilder, req: &HttpRequest, config: &Config) {
    cors(b, req, config);
    no_cache(b);
    jsessionid(b, req, config);
}
