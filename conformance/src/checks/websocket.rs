//! The SockJS WebSocket transport `/<server>/<session>/websocket`: plain
//! HTTP requests refused, SockJS framing over RFC 6455, handshake headers,
//! and the legacy hixie-76 handshake as a proxy (HAProxy) would relay it.

use super::{Check, Ctx, Outcome, absent, check, empty_body, ensure, eq, present, status};
use crate::http::{Conn, Request, printable};
use crate::ws::Ws;

const CLASS: &str = "Websocket";
const ERRORS: &str = "WebsocketHttpErrors";

pub fn checks() -> Vec<Check> {
    vec![
        check!(ERRORS, http_method),
        check!(ERRORS, invalid_connection_header),
        check!(ERRORS, invalid_method),
        check!(CLASS, transport),
        check!(CLASS, close),
        check!(CLASS, headers_sanity),
        check!(CLASS, empty_frame),
        check!(CLASS, reuse_session_id),
        check!(CLASS, haproxy),
        check!(CLASS, broken_json),
    ]
}

fn ws_path(ctx: &Ctx) -> String {
    format!("{}/0/0/websocket", ctx.base(super::ECHO))
}

/// A plain GET (no upgrade) is a bad request.
async fn http_method(ctx: Ctx) -> Outcome {
    status(&ctx.get(&ws_path(&ctx)).await?, 400)
}

/// `Connection: close` (as a rewriting proxy might send) is refused.
async fn invalid_connection_header(ctx: Ctx) -> Outcome {
    let r = ctx
        .fetch(
            Request::get(&ws_path(&ctx))
                .header("Upgrade", "WebSocket")
                .header("Connection", "close"),
        )
        .await?;
    status(&r, 400)
}

/// Only GET is allowed: 405 with `Allow`, no content type, no body.
async fn invalid_method(ctx: Ctx) -> Outcome {
    for upgrade in [true, false] {
        let mut req = Request::post(&ws_path(&ctx));
        if upgrade {
            req = req
                .header("Upgrade", "WebSocket")
                .header("Connection", "Upgrade");
        }
        let r = ctx.fetch(req).await?;
        status(&r, 405)?;
        absent(&r.label, &r.head, "content-type")?;
        present(&r.label, &r.head, "allow")?;
        empty_body(&r)?;
    }
    Ok(())
}

async fn transport(ctx: Ctx) -> Outcome {
    let mut ws =
        Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.session(super::ECHO)))).await?;
    ws.expect_text("o").await?;
    ws.send("[\"a\"]").await?;
    ws.expect_text("a[\"a\"]").await?;
    ws.close().await;
    Ok(())
}

/// The close frame is delivered, then the connection ends.
async fn close(ctx: Ctx) -> Outcome {
    let mut ws =
        Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.session(super::CLOSE)))).await?;
    ws.expect_text("o").await?;
    ws.expect_text("c[3000,\"Go away!\"]").await?;
    ws.expect_closed().await?;
    Ok(())
}

/// RFC 6455 handshake answer, using the key/accept pair from the RFC.
async fn headers_sanity(ctx: Ctx) -> Outcome {
    let path = format!("{}/websocket", ctx.session(super::ECHO));
    let mut conn = Conn::open(&ctx.target).await?;
    let req = Request::get(&path)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Origin", "http://asd")
        .header("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw==");
    conn.send(&req).await?;
    let h = conn
        .read_head()
        .await
        .map_err(|e| format!("{}: {e}", req.label()))?;
    let label = req.label();
    eq(&format!("{label}: status"), &101, &h.status)?;
    eq(
        &format!("{label}: Sec-WebSocket-Accept"),
        "HSmrc0sMlYUkAGmm5OPpG2HaGWk=",
        h.value("sec-websocket-accept"),
    )?;
    eq(
        &format!("{label}: Connection"),
        "upgrade",
        h.value("connection").to_ascii_lowercase().as_str(),
    )?;
    eq(
        &format!("{label}: Upgrade"),
        "websocket",
        h.value("upgrade").to_ascii_lowercase().as_str(),
    )?;
    absent(&label, &h, "content-length")
}

/// Empty messages and empty arrays are ignored by the server.
async fn empty_frame(ctx: Ctx) -> Outcome {
    let mut ws =
        Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.session(super::ECHO)))).await?;
    ws.expect_text("o").await?;
    ws.send("").await?;
    ws.send("[]").await?;
    ws.send("[\"a\"]").await?;
    ws.expect_text("a[\"a\"]").await?;
    ws.close().await;
    Ok(())
}

/// Two WebSockets may share a session id, concurrently or one after
/// the other; each is its own session.
async fn reuse_session_id(ctx: Ctx) -> Outcome {
    let url = ctx.ws_url(&format!("{}/websocket", ctx.session(super::ECHO)));
    let mut ws1 = Ws::connect(&url).await?;
    ws1.expect_text("o").await?;
    let mut ws2 = Ws::connect(&url).await?;
    ws2.expect_text("o").await?;
    ws1.send("[\"a\"]").await?;
    ws1.expect_text("a[\"a\"]").await?;
    ws2.send("[\"b\"]").await?;
    ws2.expect_text("a[\"b\"]").await?;
    ws1.close().await;
    ws2.close().await;

    let mut ws3 = Ws::connect(&url).await?;
    ws3.expect_text("o").await?;
    ws3.send("[\"a\"]").await?;
    ws3.expect_text("a[\"a\"]").await?;
    ws3.close().await;
    Ok(())
}

/// hixie-76 through a proxy: the 101 head must come before the client
/// sends its 8 key bytes; the 16-byte answer follows them.
async fn haproxy(ctx: Ctx) -> Outcome {
    let path = format!("{}/websocket", ctx.session(super::ECHO));
    let origin = ctx.target.origin();
    let mut conn = Conn::open(&ctx.target).await?;
    let req = Request::get(&path)
        .header("Connection", "Upgrade")
        .header("Upgrade", "WebSocket")
        .header("Origin", &origin)
        .header("Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5")
        .header("Sec-WebSocket-Key2", "12998 5 Y3 1  .P00");
    let label = req.label();
    conn.send(&req).await?;
    let h = conn.read_head().await.map_err(|e| {
        format!(
            "{label}: no response head before the key bytes were sent (a proxy would hang): {e}"
        )
    })?;
    eq(&format!("{label}: status"), &101, &h.status)?;
    eq(
        &format!("{label}: Connection"),
        "upgrade",
        h.value("connection").to_ascii_lowercase().as_str(),
    )?;
    eq(
        &format!("{label}: Upgrade"),
        "websocket",
        h.value("upgrade").to_ascii_lowercase().as_str(),
    )?;
    eq(
        &format!("{label}: Sec-WebSocket-Location"),
        ctx.ws_url(&path).as_str(),
        h.value("sec-websocket-location"),
    )?;
    eq(
        &format!("{label}: Sec-WebSocket-Origin"),
        origin.as_str(),
        h.value("sec-websocket-origin"),
    )?;
    ensure(h.get("content-length").is_none(), || {
        format!("{label}: the 101 answer must not carry Content-Length")
    })?;
    conn.write_raw(b"aaaaaaaa").await?;
    let answer = conn
        .read_exact(16)
        .await
        .map_err(|e| format!("{label}: reading the 16-byte key answer: {e}"))?;
    let expected: &[u8] = b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{";
    ensure(answer == expected, || {
        format!(
            "{label}: key answer expected {}, got {}",
            printable(expected),
            printable(&answer)
        )
    })
}

/// Invalid JSON from the client makes the server end the connection.
async fn broken_json(ctx: Ctx) -> Outcome {
    let mut ws =
        Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.session(super::ECHO)))).await?;
    ws.expect_text("o").await?;
    ws.send("[\"a").await?;
    // A single frame (for example a close frame) may precede the end.
    match ws.next_event().await {
        Ok(crate::ws::Event::Text(t)) if t.starts_with('c') => ws.expect_closed().await.map(drop),
        Ok(crate::ws::Event::Close(_) | crate::ws::Event::Gone(_)) => Ok(()),
        Ok(other) => Err(format!(
            "after broken JSON expected the connection to close, got {other:?}"
        )),
        Err(e) => Err(format!(
            "after broken JSON expected the connection to close, but: {e}"
        )),
    }
}
