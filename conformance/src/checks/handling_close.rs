//! Session closing on the server side: close frames are repeated to later
//! receivers, a second receiver gets 2010 and its response ends, and a
//! receiver that disappears (network error) ends the session.

use std::time::Duration;

use super::xhr_streaming::{open, prelude};
use super::{Check, Ctx, Outcome, check, status_body};
use crate::http::{Conn, Request, printable};

const CLASS: &str = "HandlingClose";
const ANOTHER: &str = "c[2010,\"Another connection still open\"]\n";
const GO_AWAY: &[u8] = b"c[3000,\"Go away!\"]\n";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, close_frame),
        check!(CLASS, close_request),
        check!(CLASS, abort_xhr_streaming),
        check!(CLASS, abort_xhr_polling),
    ]
}

fn streaming(url: &str) -> Request {
    Request::post(&format!("{url}/xhr_streaming"))
}

/// After a server-side close, a new receiver gets the close frame too, and
/// both streaming responses end.
async fn close_frame(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::CLOSE);
    let mut r1 = open(&ctx, streaming(&url)).await?;
    r1.expect_frame(&prelude()).await?;
    r1.expect_frame(b"o\n").await?;
    r1.expect_frame(GO_AWAY).await?;

    let mut r2 = open(&ctx, streaming(&url)).await?;
    r2.expect_frame(&prelude()).await?;
    r2.expect_frame(GO_AWAY).await?;

    r1.expect_end().await?;
    r2.expect_end().await
}

/// A second streaming receiver is refused with 2010 and its response ends.
async fn close_request(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut r1 = open(&ctx, streaming(&url)).await?;
    r1.expect_frame(&prelude()).await?;
    r1.expect_frame(b"o\n").await?;

    let mut r2 = open(&ctx, streaming(&url)).await?;
    r2.expect_frame(&prelude()).await?;
    r2.expect_frame(ANOTHER.as_bytes()).await?;
    r2.expect_end().await
}

/// What a new receiver may get after the previous one was cut off.
fn after_abort(label: &str, got: &[u8]) -> Outcome {
    if got == b"o\n" || got == b"c[1002,\"Connection interrupted\"]\n" {
        Ok(())
    } else {
        Err(format!(
            "{label}: after aborting the receiver expected \"o\\n\" (new session) or \
             c[1002,\"Connection interrupted\"], got {}",
            printable(got)
        ))
    }
}

async fn abort_xhr_streaming(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut r1 = open(&ctx, streaming(&url)).await?;
    r1.expect_frame(&prelude()).await?;
    r1.expect_frame(b"o\n").await?;

    let mut r2 = open(&ctx, streaming(&url)).await?;
    r2.expect_frame(&prelude()).await?;
    r2.expect_frame(ANOTHER.as_bytes()).await?;
    r2.expect_end().await?;

    drop(r1);

    let mut r3 = open(&ctx, streaming(&url)).await?;
    r3.expect_frame(&prelude()).await?;
    let got = r3
        .next_frame()
        .await?
        .ok_or_else(|| format!("{}: the response ended after the prelude", r3.label))?;
    after_abort(&r3.label, &got)
}

async fn abort_xhr_polling(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;

    let mut pending = Conn::open(&ctx.target).await?;
    pending.send(&Request::post(&format!("{url}/xhr"))).await?;
    tokio::time::sleep(Duration::from_millis(250)).await;

    let r2 = ctx.post(&format!("{url}/xhr"), "").await?;
    status_body(&r2, 200, ANOTHER)?;

    drop(pending);

    let r3 = ctx.post(&format!("{url}/xhr"), "").await?;
    after_abort(&r3.label, &r3.body)
}
