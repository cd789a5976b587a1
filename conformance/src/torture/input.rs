//! Bad input over HTTP: malformed and truncated JSON, invalid UTF-8, hostile JSONP callbacks,
//! path traversal on static files and session paths. Each is refused with the protocol's
//! answer, nothing of the attacker's input is reflected, and the session (or another one)
//! goes on working.

use std::time::Duration;

use super::client::{Frame, KeepAlive, open_polling};
use super::{Check, Ctx, Outcome, check, ensure};
use crate::http::{self, Conn, Request, Response, printable};

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![
        check!("input.malformed_json", malformed_json),
        check!("input.truncated_bodies", truncated_bodies),
        check!("input.invalid_utf8", invalid_utf8),
        check!("input.jsonp_callbacks", jsonp_callbacks),
        check!("input.static_path_traversal", static_traversal),
        check!("input.session_path_traversal", session_traversal),
    ]
}

/// Bodies that are not JSON at all (truncated, trailing garbage, bad escapes): always refused.
const MALFORMED: &[&str] = &[
    "[",
    "]",
    "[\"a\"",
    "[\"a\",",
    "[\"a\"]]",
    "[\"a\"]x",
    "[\"\\u\"]",
    "[\"\\x41\"]",
    "nul",
    "[\"a\" \"b\"]",
    "\u{0}",
    "[\"a\"\u{0}]",
    "[\"\\ud800\\\"]",
    "[\"a\nb\"]",
];

/// JSON of the wrong shape (not an array of strings): refused, or accepted as some servers do
/// (sockjs-node delivers any JSON value); either way nothing breaks.
const WRONG_SHAPE: &[&str] = &[
    "\"abc\"",
    "{\"a\":1}",
    "[1,2]",
    "[null]",
    "[[\"a\"]]",
    "123",
    "[\"\\ud800\"]",
];

/// Sends `body` to `path` and requires a 500 with one of the protocol's bodies (or, for
/// what some decoders accept, a 204); the attack must not break the connection.
async fn expect_refused(client: &mut KeepAlive, path: &str, body: &[u8]) -> Result<u16, String> {
    let r = client
        .request(&Request::post(path).body(body.to_vec()))
        .await?;
    let text = r.text();
    let refused = r.status() == 500
        && (text.contains("Broken JSON encoding.") || text.contains("Payload expected."));
    ensure(refused || r.status() == 204, || {
        format!(
            "{}: body {}: expected 500 \"Broken JSON encoding.\", got {} {}",
            r.label,
            printable(body),
            r.status(),
            printable(&r.body)
        )
    })?;
    Ok(r.status())
}

/// The session at `session` still echoes: send `probe`, poll it back.
async fn still_echoes(client: &mut KeepAlive, session: &str, probe: &str) -> Result<(), String> {
    client.send(session, probe).await?;
    for _ in 0..5 {
        for f in client.poll(session).await? {
            match f {
                Frame::Messages(m) if m.iter().any(|x| x == probe) => return Ok(()),
                Frame::Close(c, r) => {
                    return Err(format!("{session} closed after bad input: {c} {r:?}"));
                }
                _ => {}
            }
        }
    }
    Err(format!("{session}: the echo of {probe:?} never came back"))
}

async fn malformed_json(ctx: Ctx) -> Outcome {
    let session = ctx.session("/echo");
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
    open_polling(&mut client, &session).await?;
    let mut accepted = Vec::new();
    let mut lenient = 0;
    let deep = "[".repeat(100_000);
    let deep_closed = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let mut bodies: Vec<&[u8]> = MALFORMED.iter().map(|b| b.as_bytes()).collect();
    bodies.extend([deep.as_bytes(), deep_closed.as_bytes()]);
    let strict = bodies.len();
    bodies.extend(WRONG_SHAPE.iter().map(|b| b.as_bytes()));
    for (i, body) in bodies.iter().enumerate() {
        for endpoint in ["xhr_send", "jsonp_send"] {
            let (path, payload) = if endpoint == "jsonp_send" {
                let mut p = b"d=".to_vec();
                p.extend(urlencode(body).bytes());
                (format!("{session}/jsonp_send"), p)
            } else {
                (format!("{session}/xhr_send"), body.to_vec())
            };
            let r = client
                .request(
                    &Request::post(&path)
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(payload),
                )
                .await?;
            let refused = r.status() == 500
                && (r.text().contains("Broken JSON encoding.")
                    || r.text().contains("Payload expected."));
            if (r.status() == 204 || r.status() == 200) && i >= strict {
                lenient += 1;
            } else if r.status() == 204 || r.status() == 200 {
                accepted.push(format!(
                    "{endpoint} {}",
                    printable(&body[..body.len().min(20)])
                ));
            } else if !refused {
                return Err(format!(
                    "{}: body {}: expected 500 \"Broken JSON encoding.\", got {} {}",
                    r.label,
                    printable(&body[..body.len().min(40)]),
                    r.status(),
                    printable(&r.body)
                ));
            }
        }
    }
    still_echoes(&mut client, &session, "after malformed json").await?;
    ensure(accepted.is_empty(), || {
        format!("malformed bodies were accepted: {accepted:?}")
    })?;
    Ok(format!(
        "{strict} malformed bodies refused on xhr_send and jsonp_send; {} wrong-shape bodies, {lenient} of those sends accepted; session intact",
        WRONG_SHAPE.len()
    ))
}

/// Percent-encodes every byte outside `[A-Za-z0-9]`.
fn urlencode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Bodies cut short: a `Content-Length` larger than what is sent, then the client goes away,
/// or goes silent. The server must not hang on to them, and the session must go on.
async fn truncated_bodies(ctx: Ctx) -> Outcome {
    let session = ctx.session("/echo");
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
    open_polling(&mut client, &session).await?;
    for (declared, sent) in [(100usize, "[\"abc"), (10, "[\"a"), (1 << 20, "[\"x\",")] {
        let mut conn = Conn::open(&ctx.target).await?;
        let head = format!(
            "POST {session}/xhr_send HTTP/1.1\r\nHost: {}\r\nContent-Length: {declared}\r\n\r\n{sent}",
            ctx.target.authority
        );
        conn.write_raw(head.as_bytes()).await?;
        drop(conn);
    }
    // A body that stalls: the server answers or drops it in bounded time; other traffic flows.
    let mut stalled = Conn::open(&ctx.target).await?;
    let head = format!(
        "POST {session}/xhr_send HTTP/1.1\r\nHost: {}\r\nContent-Length: 50\r\n\r\n[\"ab",
        ctx.target.authority
    );
    stalled.write_raw(head.as_bytes()).await?;
    still_echoes(&mut client, &session, "after truncated bodies").await?;
    // A truncated frame on the SockJS WebSocket: the socket is closed, other sessions live.
    let ws_path = format!("{}/websocket", ctx.session("/echo"));
    let mut ws = super::rawws::RawWs::connect(&ctx.target, &ws_path).await?;
    ws.next_text(Duration::from_secs(2)).await?;
    ws.send_text("[\"abc").await?;
    let ending = ws.ending(Duration::from_secs(3)).await;
    ensure(
        matches!(
            ending,
            super::rawws::Ending::Close(Some(3000))
                | super::rawws::Ending::Close(Some(1002))
                | super::rawws::Ending::Close(Some(1007))
        ),
        || {
            format!(
                "a truncated JSON frame on {ws_path}: expected close 3000 \"Broken framing.\", got {ending:?}"
            )
        },
    )?;
    still_echoes(&mut client, &session, "after a broken websocket frame").await?;
    Ok("cut-short bodies and a stalled one did not disturb the session".into())
}

async fn invalid_utf8(ctx: Ctx) -> Outcome {
    let session = ctx.session("/echo");
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
    open_polling(&mut client, &session).await?;
    let bodies: [&[u8]; 6] = [
        b"[\"\xff\xfe\"]",
        b"[\"\xc3\x28\"]",
        b"[\"\xc0\xaf\"]",
        b"[\"\xed\xa0\x80\"]",
        b"[\"\xf4\x90\x80\x80\"]",
        b"[\"abc\xe2\x82\"]",
    ];
    let mut accepted = 0;
    for body in bodies {
        if expect_refused(&mut client, &format!("{session}/xhr_send"), body).await? == 204 {
            accepted += 1;
        }
    }
    // Whatever was accepted (lossy decoding) must come back as valid JSON; then the echo works.
    still_echoes(&mut client, &session, "after invalid utf-8").await?;
    Ok(format!(
        "{} invalid UTF-8 bodies: {} refused with 500, {accepted} decoded lossily",
        bodies.len(),
        bodies.len() - accepted
    ))
}

/// Callbacks outside `[a-zA-Z0-9-_.]{1,32}` are refused, and never appear in the answer.
async fn jsonp_callbacks(ctx: Ctx) -> Outcome {
    let hostile = [
        ("alert(1)//", "alert(1)"),
        ("%3Cscript%3Ealert(1)%3C/script%3E", "<script>"),
        ("%3Cscript%3E", "script"),
        ("a%22b", "a\"b"),
        ("x%0D%0ASet-Cookie:%20evil=1", "evil"),
        ("cb%00x", "cb\u{0}x"),
        ("%E2%80%A8x", "\u{2028}"),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        ("x%27%29%3Balert%281%29", "alert"),
        ("Evil%20Callback", "Evil"),
    ];
    let mut n = 0;
    for (cb, needle) in hostile {
        for transport in ["jsonp", "htmlfile"] {
            for param in ["c", "callback"] {
                let path = format!("{}/{transport}?{param}={cb}", ctx.session("/echo"));
                let r = http::fetch(&ctx.target, &Request::get(&path)).await?;
                n += 1;
                ensure(r.status() == 500, || {
                    format!(
                        "{}: expected 500 for a hostile callback, got {} {}",
                        r.label,
                        r.status(),
                        printable(&r.body)
                    )
                })?;
                let reflected = contains(&r.body, needle.as_bytes())
                    || contains(&r.body, cb.as_bytes())
                    || r.head
                        .headers
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.contains("evil"));
                ensure(!reflected, || {
                    format!(
                        "{}: the callback was reflected: {}",
                        r.label,
                        printable(&r.body)
                    )
                })?;
            }
        }
    }
    Ok(format!("{n} hostile callbacks refused, none reflected"))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Text that would only be in the answer if a file outside `static/` leaked.
const LEAK_MARKERS: &[&str] = &[
    "[package]",
    "[workspace]",
    "root:x:0:0",
    "fn main()",
    "[dependencies]",
];

fn leaked(r: &Response) -> Option<&'static str> {
    let body = r.text();
    LEAK_MARKERS.iter().find(|m| body.contains(*m)).copied()
}

async fn static_traversal(ctx: Ctx) -> Outcome {
    let p = &ctx.target.prefix;
    let paths = [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E/Cargo.toml",
        "/..%2fCargo.toml",
        "/..%2FCargo.toml",
        "/%2e%2e%2fCargo.toml",
        "/./../Cargo.toml",
        "/static/../../Cargo.toml",
        "/..%5cCargo.toml",
        "/%252e%252e/Cargo.toml",
        "/....//Cargo.toml",
        "/..;/Cargo.toml",
        "/%c0%ae%c0%ae/Cargo.toml",
        "/../src/main.rs",
        "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/../../../../../../../../etc/passwd",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/index.html/../../Cargo.toml",
    ];
    for path in paths {
        let r = http::fetch(&ctx.target, &Request::get(&format!("{p}{path}"))).await?;
        if let Some(marker) = leaked(&r) {
            return Err(format!(
                "{}: {} with a file from outside the static directory ({marker:?} in the body)",
                r.label,
                r.status()
            ));
        }
        ensure(r.status() != 500, || {
            format!("{}: 500 on a traversal attempt", r.label)
        })?;
    }
    Ok(format!("{} traversal paths, no file leaked", paths.len()))
}

async fn session_traversal(ctx: Ctx) -> Outcome {
    let base = ctx.base("/echo");
    // Literal dots are path segments to a server: these must never open a session.
    let dotted = [
        "/000/../xhr",
        "/../000/abc/xhr",
        "/./000/abc/xhr",
        "/000/a.b/xhr",
        "/000/../../Cargo.toml",
        "/000/abc/../../../Cargo.toml",
        "/000/abc/xhr/../../../../Cargo.toml",
        "/0.0/abc/xhr",
        "/000/./xhr",
    ];
    // Encoded dots and separators: a server may take them as opaque ids (never decoded into a
    // path), but must not leak a file, fail, or hang. Each names a distinct id.
    let encoded = [
        "/000/..%2f..%2fCargo.toml/xhr",
        "/%2e%2e/%2e%2e%2e/xhr",
        "/000/%2e%2e/xhr",
        "/000/abc%00/xhr",
        "/000/abc%2fdef/xhr",
        "/000/%2e%2e%2f%2e%2e%2fetc%2fpasswd/xhr",
        "/000/..%5c..%5cCargo.toml/xhr",
    ];
    let mut opaque = 0;
    for (i, path) in dotted.iter().chain(encoded.iter()).enumerate() {
        let r = http::fetch(&ctx.target, &Request::post(&format!("{base}{path}"))).await?;
        if let Some(marker) = leaked(&r) {
            return Err(format!("{}: leaked a file ({marker:?})", r.label));
        }
        ensure(r.status() != 500, || {
            format!(
                "{}: 500 on a traversal attempt ({})",
                r.label,
                printable(&r.body)
            )
        })?;
        let opened = r.status() == 200 && r.text().starts_with('o');
        if i < dotted.len() {
            ensure(!opened && r.status() == 404, || {
                format!(
                    "{}: expected 404 for a dotted session path, got {} {}",
                    r.label,
                    r.status(),
                    printable(&r.body)
                )
            })?;
        } else if opened {
            opaque += 1;
        }
    }
    Ok(format!(
        "{} dotted session paths 404; {} encoded ones: no leak, {opaque} taken as opaque session ids",
        dotted.len(),
        encoded.len()
    ))
}
