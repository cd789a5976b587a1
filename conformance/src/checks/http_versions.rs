//! HTTP/1.0 and HTTP/1.1 message framing: not SockJS-specific, but a
//! server must get `Content-Length`, chunking and keep-alive right for
//! both protocol versions, for static answers and for streams.

use super::xhr_streaming::prelude;
use super::{Check, Ctx, Outcome, check, ensure, eq};
use crate::http::{Conn, Head, Request, printable};

const GREETING: &[u8] = b"Welcome to SockJS!\n";
const GO_AWAY: &[u8] = b"c[3000,\"Go away!\"]\n";

pub fn checks() -> Vec<Check> {
    vec![
        check!("Http10", "synchronous", http10_synchronous),
        check!("Http10", "streaming", http10_streaming),
        check!("Http11", "synchronous", http11_synchronous),
        check!("Http11", "streaming", http11_streaming),
    ]
}

/// Sends `req` on `conn` and reads the head, requiring status 200.
async fn exchange(conn: &mut Conn, req: &Request) -> Result<Head, String> {
    conn.send(req).await?;
    let head = conn.read_head().await?;
    eq("status", &200, &head.status)?;
    Ok(head)
}

fn bytes_eq(what: &str, expected: &[u8], got: &[u8]) -> Outcome {
    ensure(expected == got, || {
        format!(
            "{what}: expected {}, got {}",
            printable(expected),
            printable(got)
        )
    })
}

/// Runs `body` on a fresh connection, prefixing failures with `label`.
macro_rules! labelled {
    ($label:expr, $body:expr) => {{
        let label = $label;
        let r: Outcome = $body.await;
        r.map_err(|e| format!("{label}: {e}"))
    }};
}

/// HTTP/1.0 greeting: either a 19-byte Content-Length, or Connection:
/// close and the body up to EOF; keep-alive only if announced.
async fn http10_synchronous(ctx: Ctx) -> Outcome {
    let req = Request::get(&ctx.base(super::ECHO))
        .version("1.0")
        .header("Connection", "Keep-Alive");
    let mut conn = Conn::open(&ctx.target).await?;
    labelled!(format!("{} (HTTP/1.0)", req.label()), async {
        let h = exchange(&mut conn, &req).await?;
        ensure(h.version == "1.0" || h.version == "1.1", || {
            format!("unexpected response version HTTP/{}", h.version)
        })?;
        ensure(h.get("transfer-encoding").is_none(), || {
            "Transfer-Encoding is not allowed in an HTTP/1.0 answer".to_string()
        })?;
        let connection = h.value("connection").to_ascii_lowercase();
        match h.content_length()? {
            None => {
                eq(
                    "Connection without Content-Length",
                    "close",
                    connection.as_str(),
                )?;
                bytes_eq("body", GREETING, &conn.read_to_eof().await?)
            }
            Some(n) => {
                eq("Content-Length", &19, &n)?;
                bytes_eq("body", GREETING, &conn.read_exact(19).await?)?;
                match connection.as_str() {
                    "" | "close" => conn.expect_eof().await,
                    "keep-alive" => exchange(&mut conn, &req)
                        .await
                        .map(drop)
                        .map_err(|e| format!("second request on a kept-alive connection: {e}")),
                    other => Err(format!("unexpected Connection {other:?}")),
                }
            }
        }
    })
}

/// HTTP/1.0 stream: no chunking and no length, so the body ends with the
/// connection, right after the close frame.
async fn http10_streaming(ctx: Ctx) -> Outcome {
    let path = format!("{}/xhr_streaming", ctx.session(super::CLOSE));
    let req = Request::post(&path)
        .version("1.0")
        .header("Connection", "Keep-Alive");
    let mut conn = Conn::open(&ctx.target).await?;
    labelled!(format!("{} (HTTP/1.0)", req.label()), async {
        let h = exchange(&mut conn, &req).await?;
        ensure(h.get("transfer-encoding").is_none(), || {
            "Transfer-Encoding is not allowed in an HTTP/1.0 answer".to_string()
        })?;
        ensure(h.get("content-length").is_none(), || {
            "a stream cannot know its Content-Length".to_string()
        })?;
        let p = prelude();
        bytes_eq("prelude", &p, &conn.read_exact(p.len()).await?)?;
        bytes_eq("open frame", b"o\n", &conn.read_exact(2).await?)?;
        bytes_eq(
            "close frame",
            GO_AWAY,
            &conn.read_exact(GO_AWAY.len()).await?,
        )?;
        conn.expect_eof().await
    })
}

/// HTTP/1.1 greeting with keep-alive: a second request on the same
/// connection must work.
async fn http11_synchronous(ctx: Ctx) -> Outcome {
    let req = Request::get(&ctx.base(super::ECHO)).header("Connection", "Keep-Alive");
    let mut conn = Conn::open(&ctx.target).await?;
    labelled!(req.label(), async {
        let h = exchange(&mut conn, &req).await?;
        let connection = h.value("connection").to_ascii_lowercase();
        ensure(connection.is_empty() || connection == "keep-alive", || {
            format!("keep-alive not supported (Connection: {connection:?})")
        })?;
        match h.content_length()? {
            Some(n) => {
                eq("Content-Length", &19, &n)?;
                bytes_eq("body", GREETING, &conn.read_exact(19).await?)?;
                ensure(h.get("transfer-encoding").is_none(), || {
                    "both Content-Length and Transfer-Encoding".to_string()
                })?;
            }
            None => {
                ensure(h.is_chunked(), || {
                    "neither Content-Length nor chunked Transfer-Encoding".to_string()
                })?;
                bytes_eq("chunk", GREETING, &conn.read_chunk().await?)?;
                bytes_eq("last chunk", b"", &conn.read_chunk().await?)?;
            }
        }
        exchange(&mut conn, &req)
            .await
            .map(drop)
            .map_err(|e| format!("second request on a kept-alive connection: {e}"))
    })
}

/// HTTP/1.1 stream: chunked, one frame per chunk, then the last chunk. Behind a proxy
/// (chunks are hop-by-hop) the same bytes, in any chunking, then the last chunk.
async fn http11_streaming(ctx: Ctx) -> Outcome {
    let path = format!("{}/xhr_streaming", ctx.session(super::CLOSE));
    let req = Request::post(&path).header("Connection", "Keep-Alive");
    let mut conn = Conn::open(&ctx.target).await?;
    labelled!(req.label(), async {
        let h = exchange(&mut conn, &req).await?;
        ensure(h.is_chunked(), || {
            format!(
                "expected Transfer-Encoding: chunked, got {:?}",
                h.get("transfer-encoding")
            )
        })?;
        ensure(h.get("content-length").is_none(), || {
            "a stream cannot know its Content-Length".to_string()
        })?;
        if ctx.proxied {
            let mut expected = prelude();
            expected.extend_from_slice(b"o\n");
            expected.extend_from_slice(GO_AWAY);
            return bytes_eq("body", &expected, &conn.read_body(&req.method, &h).await?);
        }
        bytes_eq("prelude chunk", &prelude(), &conn.read_chunk().await?)?;
        bytes_eq("open chunk", b"o\n", &conn.read_chunk().await?)?;
        bytes_eq("close chunk", GO_AWAY, &conn.read_chunk().await?)?;
        bytes_eq("last chunk", b"", &conn.read_chunk().await?)
    })
}
