//! EventSource: a CRLF prelude, `data: <frame>\r\n\r\n` events, and the
//! response limit.

use super::{Check, Ctx, Outcome, check, content_type, empty_body, not_cached, status};
use crate::http::{Request, Stream};

const CLASS: &str = "EventSource";

pub fn checks() -> Vec<Check> {
    vec![check!(CLASS, transport), check!(CLASS, response_limit)]
}

async fn open(ctx: &Ctx, url: &str) -> Result<Stream, String> {
    let s = ctx
        .stream(Request::get(&format!("{url}/eventsource")))
        .await?;
    if s.status() != 200 {
        return Err(format!(
            "{}: expected status 200, got {}",
            s.label,
            s.status()
        ));
    }
    Ok(s)
}

async fn transport(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(&ctx, &url).await?;
    content_type(&s.label, &s.head, "text/event-stream")?;
    not_cached(&s.label, &s.head)?;
    s.expect_frame(b"\r\n").await?;
    s.expect_frame(b"data: o\r\n\r\n").await?;

    let r = ctx.post(&format!("{url}/xhr_send"), "[\"x\"]").await?;
    status(&r, 204)?;
    empty_body(&r)?;
    s.expect_frame(b"data: a[\"x\"]\r\n\r\n").await?;

    // NUL, LF and CR must never reach the event stream unescaped.
    let r = ctx
        .post(&format!("{url}/xhr_send"), r#"["  \u0000\n\r "]"#)
        .await?;
    status(&r, 204)?;
    empty_body(&r)?;
    let expected = format!("data: a[{}]\r\n\r\n", r#""  \u0000\n\r ""#);
    s.expect_frame(expected.as_bytes()).await
}

async fn response_limit(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(&ctx, &url).await?;
    match s.next_frame().await? {
        Some(_) => {}
        None => {
            return Err(format!(
                "{}: expected a prelude, the response ended",
                s.label
            ));
        }
    }
    s.expect_frame(b"data: o\r\n\r\n").await?;
    let msg = format!("\"{}\"", "x".repeat(4096));
    status(
        &ctx.post(&format!("{url}/xhr_send"), &format!("[{msg}]"))
            .await?,
        204,
    )?;
    s.expect_frame(format!("data: a[{msg}]\r\n\r\n").as_bytes())
        .await?;
    s.expect_end().await
}
