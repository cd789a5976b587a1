//! Session URLs and the core framing, exercised through xhr-polling:
//! which `/<server>/<session>` paths are valid, the open frame, message
//! and close frames, the single-receiver rule, and a POST without
//! `Content-Length`.

use std::time::Duration;

use super::{
    Check, Ctx, Outcome, check, empty_body, new_session_id, not_found, status, status_body,
};
use crate::http::{Conn, Request};

pub fn checks() -> Vec<Check> {
    vec![
        check!("SessionURLs", any_value),
        check!("SessionURLs", invalid_paths),
        check!("SessionURLs", ignoring_server_id),
        check!("Protocol", simple_session),
        check!("Protocol", close_session),
        check!("HttpQuirks", post_without_content_length),
    ]
}

/// Any non-empty, dot-free server and session names are accepted.
async fn any_value(ctx: Ctx) -> Outcome {
    let n = rand::random::<u32>() % 100_000;
    for part in [
        format!("/a/a{n}"),
        format!("/_/_{n}"),
        format!("/1/{n}"),
        format!("/abcdefgh_i-j%20/abcdefg_i-j%20{n}"),
    ] {
        let r = ctx
            .post(&format!("{}{part}/xhr", ctx.base(super::ECHO)), "")
            .await?;
        status_body(&r, 200, "o\n")?;
    }
    Ok(())
}

/// Empty segments, dots, or a wrong number of segments give 404.
async fn invalid_paths(ctx: Ctx) -> Outcome {
    for part in ["//", "/a./a", "/a/a.", "/./.", "/", "///"] {
        let path = format!("{}{part}/xhr", ctx.base(super::ECHO));
        not_found(&ctx.get(&path).await?)?;
        not_found(&ctx.post(&path, "").await?)?;
    }
    Ok(())
}

/// Only the session id names a session; the server id is for balancers.
async fn ignoring_server_id(ctx: Ctx) -> Outcome {
    let id = new_session_id();
    let base = ctx.base(super::ECHO);
    status_body(
        &ctx.post(&format!("{base}/000/{id}/xhr"), "").await?,
        200,
        "o\n",
    )?;
    let r = ctx
        .post(&format!("{base}/000/{id}/xhr_send"), "[\"a\"]")
        .await?;
    status(&r, 204)?;
    empty_body(&r)?;
    let r = ctx.post(&format!("{base}/999/{id}/xhr"), "").await?;
    status_body(&r, 200, "a[\"a\"]\n")
}

/// Open frame, echo through xhr_send, 404 for an unknown session, and a
/// 2010 close frame for a second concurrent receiver.
async fn simple_session(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    let r = ctx.post(&format!("{url}/xhr_send"), "[\"a\"]").await?;
    status(&r, 204)?;
    empty_body(&r)?;
    status_body(
        &ctx.post(&format!("{url}/xhr"), "").await?,
        200,
        "a[\"a\"]\n",
    )?;

    let bad = format!("{}/000/bad_session/xhr_send", ctx.base(super::ECHO));
    not_found(&ctx.post(&bad, "[\"a\"]").await?)?;

    // A poll that stays pending, then a second one on the same session.
    let mut pending = Conn::open(&ctx.target).await?;
    pending.send(&Request::post(&format!("{url}/xhr"))).await?;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let r = ctx.post(&format!("{url}/xhr"), "").await?;
    status_body(&r, 200, "c[2010,\"Another connection still open\"]\n")?;
    drop(pending);
    Ok(())
}

/// A closed session answers its close frame to every later poll.
async fn close_session(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::CLOSE);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    for _ in 0..2 {
        let r = ctx.post(&format!("{url}/xhr"), "").await?;
        status_body(&r, 200, "c[3000,\"Go away!\"]\n")?;
    }
    Ok(())
}

/// A POST with neither body nor `Content-Length` still opens a session.
async fn post_without_content_length(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let r = ctx
        .fetch(Request::post(&format!("{url}/xhr")).without_length())
        .await?;
    status_body(&r, 200, "o\n")
}
