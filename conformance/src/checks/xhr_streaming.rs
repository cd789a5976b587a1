//! xhr-streaming: a 2 KiB `h` prelude, then one frame per chunk, and the
//! response ends once `response_limit` bytes were streamed.

use super::{
    Check, Ctx, Outcome, check, content_type, cors, ensure, not_cached, preflight, status,
};
use crate::http::{Request, Stream, printable};

const CLASS: &str = "XhrStreaming";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, options),
        check!(CLASS, transport),
        check!(CLASS, response_limit),
    ]
}

/// The prelude: 2048 `h` then a newline, as one frame of its own.
pub fn prelude() -> Vec<u8> {
    let mut p = vec![b'h'; 2048];
    p.push(b'\n');
    p
}

/// Opens an xhr_streaming response and requires status 200.
pub async fn open(ctx: &Ctx, req: Request) -> Result<Stream, String> {
    let s = ctx.stream(req).await?;
    ensure(s.status() == 200, || {
        format!("{}: expected status 200, got {}", s.label, s.status())
    })?;
    Ok(s)
}

async fn options(ctx: Ctx) -> Outcome {
    let path = format!("{}/abc/abc/xhr_streaming", ctx.base(super::ECHO));
    preflight(&ctx, &path, "OPTIONS, POST").await
}

async fn transport(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(
        &ctx,
        Request::post(&format!("{url}/xhr_streaming")).header("Origin", "test"),
    )
    .await?;
    let label = s.label.clone();
    content_type(&label, &s.head, "application/javascript;charset=UTF-8")?;
    cors(&label, &s.head, Some("test"))?;
    not_cached(&label, &s.head)?;
    s.expect_frame(&prelude()).await?;
    s.expect_frame(b"o\n").await?;
    status(&ctx.post(&format!("{url}/xhr_send"), "[\"x\"]").await?, 204)?;
    s.expect_frame(b"a[\"x\"]\n").await
}

/// With a 4096-byte limit, 31 messages of 133 framed bytes end the stream.
async fn response_limit(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(&ctx, Request::post(&format!("{url}/xhr_streaming"))).await?;
    match s.next_frame().await? {
        Some(p) if !p.is_empty() => {}
        other => {
            return Err(format!(
                "{}: expected a prelude, got {}",
                s.label,
                printable(&other.unwrap_or_default())
            ));
        }
    }
    s.expect_frame(b"o\n").await?;
    let msg = format!("\"{}\"", "x".repeat(128));
    for i in 0..31 {
        let r = ctx
            .post(&format!("{url}/xhr_send"), &format!("[{msg}]"))
            .await?;
        status(&r, 204).map_err(|e| format!("message {}: {e}", i + 1))?;
        s.expect_frame(format!("a[{msg}]\n").as_bytes())
            .await
            .map_err(|e| format!("message {}: {e}", i + 1))?;
    }
    s.expect_end().await
}
