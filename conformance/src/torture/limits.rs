//! Size limits: a 64 MiB send body is refused with 413 before it is all sent (by length, by
//! chunked encoding, on xhr_send and jsonp_send), a 64 MiB WebSocket message (one frame, or
//! many fragments) closes the socket with 1009, and the server's RSS grows by far less than
//! the payload meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{KeepAlive, open_polling};
use super::rawws::{CONTINUATION, Ending, RawWs, TEXT};
use super::{Check, Ctx, Outcome, check, ensure, mib};
use crate::http::printable;

/// The payload every check tries to push.
const PAYLOAD: u64 = 64 << 20;
/// Bytes written per write.
const PIECE: usize = 64 << 10;
/// RSS may grow by at most this share of the payload while it is refused.
const RSS_SHARE: u64 = 4;
/// How long the server gets to answer once the upload started.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![
        check!("limits.body_64mib", bodies),
        check!("limits.websocket_64mib", websocket),
    ]
}

/// How one oversized upload went.
struct Upload {
    status: Option<u16>,
    written: u64,
    answer: String,
}

/// Writes `head` then up to [`PAYLOAD`] bytes (chunk-encoded when `chunked`) while reading
/// the answer; stops writing as soon as the answer's status line arrives.
async fn upload(ctx: &Ctx, head: String, chunked: bool) -> Result<Upload, String> {
    let addr = (ctx.target.host.as_str(), ctx.target.port);
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut rd, mut wr) = stream.into_split();
    let written = Arc::new(AtomicU64::new(0));
    let count = written.clone();
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let piece = vec![b'x'; PIECE];
        let frame = format!("{PIECE:x}\r\n");
        let mut sent = 0u64;
        while sent < PAYLOAD {
            let r = if chunked {
                let mut b = frame.clone().into_bytes();
                b.extend_from_slice(&piece);
                b.extend_from_slice(b"\r\n");
                wr.write_all(&b).await
            } else {
                wr.write_all(&piece).await
            };
            if r.is_err() {
                return;
            }
            sent += PIECE as u64;
            count.store(sent, Ordering::Relaxed);
        }
        if chunked {
            let _ = wr.write_all(b"0\r\n\r\n").await;
        }
        // Keep the write half open until aborted, so the server's answer is not cut off.
        std::future::pending::<()>().await;
    });
    let mut buf = vec![0u8; 4096];
    let read = tokio::time::timeout(ANSWER_WITHIN, rd.read(&mut buf)).await;
    let at_answer = written.load(Ordering::Relaxed);
    writer.abort();
    let answer = match read {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Ok(Err(e)) => {
            return Ok(Upload {
                status: None,
                written: at_answer,
                answer: format!("read error {e}"),
            });
        }
        Err(_) => {
            return Err(format!(
                "no answer within {ANSWER_WITHIN:?} ({} sent)",
                mib(at_answer)
            ));
        }
    };
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok());
    Ok(Upload {
        status,
        written: at_answer,
        answer,
    })
}

async fn bodies(ctx: Ctx) -> Outcome {
    let session = ctx.session("/echo");
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
    open_polling(&mut client, &session).await?;
    let before = ctx.probe.rss().await;
    let peak = ctx.probe.peak();
    let host = &ctx.target.authority;
    let cases = [
        (
            "xhr_send, Content-Length",
            format!(
                "POST {session}/xhr_send HTTP/1.1\r\nHost: {host}\r\nContent-Length: {PAYLOAD}\r\n\r\n"
            ),
            false,
        ),
        (
            "xhr_send, chunked",
            format!(
                "POST {session}/xhr_send HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            true,
        ),
        (
            "jsonp_send, Content-Length",
            format!(
                "POST {session}/jsonp_send HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {PAYLOAD}\r\n\r\n"
            ),
            false,
        ),
    ];
    let mut notes = Vec::new();
    for (what, head, chunked) in cases {
        let up = upload(&ctx, head, chunked)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        ensure(up.status == Some(413), || {
            format!(
                "{what}: expected 413, got {}",
                printable(up.answer.as_bytes())
            )
        })?;
        ensure(up.written < PAYLOAD, || {
            format!(
                "{what}: the 413 came only after the whole {} was sent",
                mib(PAYLOAD)
            )
        })?;
        notes.push(format!("{what}: 413 after {}", mib(up.written)));
    }
    let peak = peak.finish().await;
    let rss = rss_growth(before, peak)?;
    // The session is unharmed.
    client.send(&session, "still here").await?;
    Ok(format!("{}{rss}", notes.join("; ")))
}

/// Fails when RSS grew by more than a quarter of the payload; a note otherwise.
fn rss_growth(before: Option<u64>, peak: Option<u64>) -> Result<String, String> {
    match (before, peak) {
        (Some(b), Some(p)) => {
            let grew = p.saturating_sub(b);
            ensure(grew < PAYLOAD / RSS_SHARE, || {
                format!(
                    "server RSS grew by {} (from {} to {}) while refusing {} payloads",
                    mib(grew),
                    mib(b),
                    mib(p),
                    mib(PAYLOAD)
                )
            })?;
            Ok(format!(
                "; RSS {} -> peak {} (+{})",
                mib(b),
                mib(p),
                mib(grew)
            ))
        }
        _ => Ok("; RSS not checked (give --server-pid or --metrics-url)".into()),
    }
}

/// Streams a 64 MiB text message, as one frame or as fragments, while watching for the
/// server's close (`framed`: a SockJS socket, which sends its open frame first). Returns the
/// bytes written when the close frame (or the end of the connection) came, and the ending.
async fn huge_message(
    ctx: &Ctx,
    path: &str,
    framed: bool,
    fragmented: bool,
) -> Result<(u64, Ending), String> {
    let mut ws = RawWs::connect(&ctx.target, path).await?;
    if framed {
        ws.next_text(Duration::from_secs(2)).await?;
    }
    let (mut rd, mut wr) = ws.split();
    let written = Arc::new(AtomicU64::new(0));
    let count = written.clone();
    let writer = tokio::spawn(async move {
        let piece = vec![b'x'; PIECE];
        let zero = Some([0u8; 4]);
        let mut sent = 0u64;
        if !fragmented && wr.write_header(true, 0, TEXT, PAYLOAD, zero).await.is_err() {
            return;
        }
        while sent < PAYLOAD {
            if fragmented {
                let op = if sent == 0 { TEXT } else { CONTINUATION };
                let fin = sent + PIECE as u64 >= PAYLOAD;
                if wr
                    .write_header(fin, 0, op, PIECE as u64, zero)
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if wr.write_raw(&piece).await.is_err() {
                return;
            }
            sent += PIECE as u64;
            count.store(sent, Ordering::Relaxed);
        }
        // Keep the write half open until aborted, so the close can still be read.
        std::future::pending::<()>().await;
    });
    let ending = rd.ending(ANSWER_WITHIN).await;
    let at_close = written.load(Ordering::Relaxed);
    writer.abort();
    Ok((at_close, ending))
}

async fn websocket(ctx: Ctx) -> Outcome {
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    for (what, framed, fragmented) in [
        ("SockJS websocket, one frame", true, false),
        ("SockJS websocket, 64 KiB fragments", true, true),
        ("raw websocket, one frame", false, false),
        ("raw websocket, 64 KiB fragments", false, true),
    ] {
        let path = if framed {
            ctx.session("/echo")
        } else {
            ctx.base("/echo")
        };
        let before = ctx.probe.rss().await;
        let peak = ctx.probe.peak();
        let (sent, ending) = huge_message(&ctx, &format!("{path}/websocket"), framed, fragmented)
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let peak = peak.finish().await;
        if ending != Ending::Close(Some(1009)) {
            problems.push(format!(
                "{what}: expected close 1009, got {ending:?} after {} sent",
                mib(sent)
            ));
        }
        if sent >= PAYLOAD {
            problems.push(format!(
                "{what}: the server read all {} before closing",
                mib(PAYLOAD)
            ));
        }
        match rss_growth(before, peak) {
            Ok(rss) => notes.push(format!("{what}: {ending:?} after {} sent{rss}", mib(sent))),
            Err(e) => problems.push(format!("{what}: {e}")),
        }
    }
    ensure(problems.is_empty(), || problems.join("; "))?;
    Ok(notes.join("; "))
}
