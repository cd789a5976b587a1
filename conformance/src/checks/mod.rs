//! The check registry, the shared context handed to every check, and the
//! assertions that several check classes have in common (CORS, caching,
//! cookies, content types, OPTIONS preflight answers).

use std::future::Future;
use std::pin::Pin;

use crate::http::{self, Request, Response, Stream, Target, printable};

pub mod cookie;
pub mod encoding;
pub mod eventsource;
pub mod greeting;
pub mod handling_close;
pub mod htmlfile;
pub mod http_versions;
pub mod iframe;
pub mod info;
pub mod jsonp;
pub mod protocol;
pub mod websocket;
pub mod ws_raw;
pub mod xhr;
pub mod xhr_streaming;

/// Echo service with `response_limit` 4096.
pub const ECHO: &str = "/echo";
/// Service that closes every session with `3000 "Go away!"`.
pub const CLOSE: &str = "/close";
/// Echo service with WebSocket disabled.
pub const WS_OFF: &str = "/disabled_websocket_echo";
/// Echo service that sets the `JSESSIONID` cookie.
pub const COOKIE: &str = "/cookie_needed_echo";

/// The no-caching `Cache-Control` value the protocol requires.
pub const NO_CACHE: &str = "no-store, no-cache, no-transform, must-revalidate, max-age=0";

/// Result of one check.
pub type Outcome = Result<(), String>;
/// A check as a plain function pointer returning a boxed future.
pub type CheckFn = fn(Ctx) -> Pin<Box<dyn Future<Output = Outcome>>>;

/// One named check.
pub struct Check {
    pub class: &'static str,
    pub name: &'static str,
    pub run: CheckFn,
}

impl Check {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.class, self.name)
    }
}

/// Builds a [`Check`] from an async fn taking a [`Ctx`].
macro_rules! check {
    ($class:expr, $f:ident) => {
        $crate::checks::check!($class, stringify!($f), $f)
    };
    ($class:expr, $name:expr, $f:ident) => {
        $crate::checks::Check {
            class: $class,
            name: $name,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}
pub(crate) use check;

/// Every check, in the order they run.
pub fn all() -> Vec<Check> {
    let mut v = Vec::new();
    v.extend(greeting::checks());
    v.extend(iframe::checks());
    v.extend(info::checks());
    v.extend(protocol::checks());
    v.extend(websocket::checks());
    v.extend(ws_raw::checks());
    v.extend(xhr::checks());
    v.extend(xhr_streaming::checks());
    v.extend(eventsource::checks());
    v.extend(htmlfile::checks());
    v.extend(jsonp::checks());
    v.extend(cookie::checks());
    v.extend(encoding::checks());
    v.extend(handling_close::checks());
    v.extend(http_versions::checks());
    v
}

/// What every check receives: where the server is, verbosity, and whether a proxy stands
/// between (then streams are split by delimiters, not chunks).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub target: Target,
    pub verbose: bool,
    pub proxied: bool,
}

/// A fresh random, uuid-shaped session id.
pub fn new_session_id() -> String {
    let mut n = rand::random::<u128>();
    n = (n & !(0xf << 76)) | (0x4 << 76); // version 4
    n = (n & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Ctx {
    /// Path of a service's base URL, e.g. `/echo`.
    pub fn base(&self, service: &str) -> String {
        format!("{}{}", self.target.prefix, service)
    }
    /// Path of a fresh session, e.g. `/echo/000/<uuid>`.
    pub fn session(&self, service: &str) -> String {
        format!("{}/000/{}", self.base(service), new_session_id())
    }
    /// `ws://` URL for a path.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.target.authority, path)
    }
    /// Sends a request on a fresh connection and reads the full answer.
    pub async fn fetch(&self, req: Request) -> Result<Response, String> {
        let r = http::fetch(&self.target, &req).await;
        if self.verbose {
            match &r {
                Ok(r) => println!("    {} -> {} {}", r.label, r.status(), printable(&r.body)),
                Err(e) => println!("    {} -> error {e}", req.label()),
            }
        }
        r
    }
    pub async fn get(&self, path: &str) -> Result<Response, String> {
        self.fetch(Request::get(path)).await
    }
    pub async fn post(&self, path: &str, body: &str) -> Result<Response, String> {
        self.fetch(Request::post(path).body(body)).await
    }
    /// Opens a streaming response (reads only the head).
    pub async fn stream(&self, req: Request) -> Result<Stream, String> {
        let s = if self.proxied {
            Stream::open_proxied(&self.target, &req).await
        } else {
            Stream::open(&self.target, &req).await
        };
        if self.verbose {
            match &s {
                Ok(s) => println!("    {} -> {} (streaming)", s.label, s.status()),
                Err(e) => println!("    {} -> error {e}", req.label()),
            }
        }
        s
    }
}

/// Fails unless `got == expected`, naming `what`.
pub fn eq<T: PartialEq + std::fmt::Debug + ?Sized>(what: &str, expected: &T, got: &T) -> Outcome {
    if expected == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {got:?}"))
    }
}

/// Fails with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Checks the status code.
pub fn status(r: &Response, expected: u16) -> Outcome {
    ensure(r.status() == expected, || {
        format!(
            "{}: expected status {expected}, got {} (body {})",
            r.label,
            r.status(),
            printable(&r.body)
        )
    })
}

/// Checks status and exact body.
pub fn status_body(r: &Response, expected_status: u16, body: &str) -> Outcome {
    status(r, expected_status)?;
    body_is(r, body)
}

/// Checks the exact body.
pub fn body_is(r: &Response, body: &str) -> Outcome {
    ensure(r.body == body.as_bytes(), || {
        format!(
            "{}: expected body {body:?}, got {}",
            r.label,
            printable(&r.body)
        )
    })
}

/// Checks that the body contains `needle`.
pub fn body_contains(r: &Response, needle: &str) -> Outcome {
    ensure(r.text().contains(needle), || {
        format!(
            "{}: expected the body to contain {needle:?}, got {}",
            r.label,
            printable(&r.body)
        )
    })
}

/// Checks that the body is empty.
pub fn empty_body(r: &Response) -> Outcome {
    ensure(r.body.is_empty(), || {
        format!(
            "{}: expected an empty body, got {}",
            r.label,
            printable(&r.body)
        )
    })
}

/// A 404 answer; body and content type are not specified.
pub fn not_found(r: &Response) -> Outcome {
    status(r, 404)
}

/// Header value as "" when absent.
fn hv<'a>(h: &'a http::Head, name: &str) -> &'a str {
    h.value(name)
}

/// `Content-Type`, compared with spaces removed.
pub fn content_type(label: &str, h: &http::Head, expected: &str) -> Outcome {
    let got = hv(h, "content-type").replace(' ', "");
    eq(&format!("{label}: Content-Type"), expected, got.as_str())
}

/// Asserts a header is absent (or empty).
pub fn absent(label: &str, h: &http::Head, name: &str) -> Outcome {
    ensure(hv(h, name).is_empty(), || {
        format!("{label}: expected no {name} header, got {:?}", hv(h, name))
    })
}

/// Asserts a header is present and non-empty.
pub fn present(label: &str, h: &http::Head, name: &str) -> Outcome {
    ensure(!hv(h, name).is_empty(), || {
        format!("{label}: expected a non-empty {name} header")
    })
}

/// No `Set-Cookie` at all.
pub fn no_cookie(label: &str, h: &http::Head) -> Outcome {
    absent(label, h, "set-cookie")
}

/// CORS: origin echoed with credentials, or `*` without credentials.
pub fn cors(label: &str, h: &http::Head, origin: Option<&str>) -> Outcome {
    match origin {
        Some(o) => {
            eq(
                &format!("{label}: Access-Control-Allow-Origin"),
                o,
                hv(h, "access-control-allow-origin"),
            )?;
            eq(
                &format!("{label}: Access-Control-Allow-Credentials"),
                "true",
                hv(h, "access-control-allow-credentials"),
            )
        }
        None => {
            eq(
                &format!("{label}: Access-Control-Allow-Origin"),
                "*",
                hv(h, "access-control-allow-origin"),
            )?;
            absent(label, h, "access-control-allow-credentials")
        }
    }
}

/// The strict no-caching policy for private GET/POST answers.
pub fn not_cached(label: &str, h: &http::Head) -> Outcome {
    eq(
        &format!("{label}: Cache-Control"),
        NO_CACHE,
        hv(h, "cache-control"),
    )?;
    absent(label, h, "expires")?;
    absent(label, h, "last-modified")
}

/// `Cache-Control` is public with a max-age of at least seven digits.
pub fn long_cache(label: &str, h: &http::Head) -> Outcome {
    let cc = hv(h, "cache-control");
    ensure(cc.contains("public"), || {
        format!("{label}: Cache-Control {cc:?} should contain \"public\"")
    })?;
    let long = cc.match_indices("max-age=").any(|(i, m)| {
        let digits: String = cc[i + m.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.len() >= 7 && !digits.starts_with('0')
    });
    ensure(long, || {
        format!(
            "{label}: Cache-Control {cc:?} needs a max-age of at least 1000000 (one year is usual)"
        )
    })?;
    present(label, h, "expires")
}

/// `JSESSIONID=<value>; path=/` in `Set-Cookie`.
pub fn cookie_is(label: &str, h: &http::Head, value: &str) -> Outcome {
    let sc = hv(h, "set-cookie");
    let mut parts = sc.split(';');
    let first = parts.next().unwrap_or("").trim();
    let second = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    eq(
        &format!("{label}: Set-Cookie {sc:?} first attribute"),
        format!("JSESSIONID={value}").as_str(),
        first,
    )?;
    eq(
        &format!("{label}: Set-Cookie {sc:?} second attribute"),
        "path=/",
        second.as_str(),
    )
}

/// A CORS preflight answer to OPTIONS, for both a real and a `null` origin.
pub async fn preflight(ctx: &Ctx, path: &str, methods: &str) -> Outcome {
    for origin in ["test", "null"] {
        let r = ctx
            .fetch(
                Request::options(path)
                    .header("Access-Control-Request-Method", methods)
                    .header("Origin", origin),
            )
            .await?;
        let label = format!("{} (Origin: {origin})", r.label);
        ensure(matches!(r.status(), 200 | 204), || {
            format!("{label}: expected status 200 or 204, got {}", r.status())
        })?;
        long_cache(&label, &r.head)?;
        let max_age = hv(&r.head, "access-control-max-age");
        ensure(
            max_age.trim().parse::<u64>().is_ok_and(|n| n > 1_000_000),
            || format!("{label}: Access-Control-Max-Age should exceed 1000000, got {max_age:?}"),
        )?;
        let allowed = hv(&r.head, "access-control-allow-methods");
        for m in methods.split(',').map(str::trim) {
            ensure(allowed.contains(m), || {
                format!("{label}: Access-Control-Allow-Methods {allowed:?} lacks {m}")
            })?;
        }
        empty_body(&r)?;
        cors(&label, &r.head, Some(origin))?;
    }
    Ok(())
}
