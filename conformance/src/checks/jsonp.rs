//! jsonp-polling: `/jsonp?c=<callback>` to receive, `/jsonp_send` (form
//! encoded `d=` or a raw body) to send.

use super::{
    Check, Ctx, Outcome, body_contains, body_is, check, content_type, not_cached, status,
    status_body,
};
use crate::http::{Request, Response};

const CLASS: &str = "JsonPolling";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, transport),
        check!(CLASS, no_callback),
        check!(CLASS, invalid_callback),
        check!(CLASS, invalid_json),
        check!(CLASS, content_types),
        check!(CLASS, close),
        check!(CLASS, sending_empty_frame),
    ]
}

/// POSTs a form-encoded body to `jsonp_send`.
pub async fn send_form(ctx: &Ctx, url: &str, body: &str) -> Result<Response, String> {
    ctx.fetch(
        Request::post(&format!("{url}/jsonp_send"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

async fn transport(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let r = ctx.get(&format!("{url}/jsonp?c=%63allback")).await?;
    status(&r, 200)?;
    content_type(&r.label, &r.head, "application/javascript;charset=UTF-8")?;
    not_cached(&r.label, &r.head)?;
    body_is(&r, "/**/callback(\"o\");\r\n")?;

    let r = send_form(&ctx, &url, "d=%5B%22x%22%5D").await?;
    // `ok` rather than an empty 204: some browsers mishandle 204 here.
    status_body(&r, 200, "ok")?;
    content_type(&r.label, &r.head, "text/plain;charset=UTF-8")?;
    not_cached(&r.label, &r.head)?;

    let r = ctx.get(&format!("{url}/jsonp?c=%63allback")).await?;
    status_body(&r, 200, "/**/callback(\"a[\\\"x\\\"]\");\r\n")
}

async fn no_callback(ctx: Ctx) -> Outcome {
    let r = ctx
        .get(&format!("{}/a/a/jsonp", ctx.base(super::ECHO)))
        .await?;
    status(&r, 500)?;
    body_contains(&r, "\"callback\" parameter required")
}

async fn invalid_callback(ctx: Ctx) -> Outcome {
    for cb in ["%20", "*", "abc(", "abc%28"] {
        let r = ctx
            .get(&format!("{}/a/a/jsonp?c={cb}", ctx.base(super::ECHO)))
            .await?;
        status(&r, 500)?;
        body_contains(&r, "invalid \"callback\" parameter")?;
    }
    Ok(())
}

async fn invalid_json(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(
        &ctx.get(&format!("{url}/jsonp?c=x")).await?,
        200,
        "/**/x(\"o\");\r\n",
    )?;
    let r = send_form(&ctx, &url, "d=%5B%22x").await?;
    status(&r, 500)?;
    body_contains(&r, "Broken JSON encoding.")?;
    for data in ["", "d=", "p=p"] {
        let r = send_form(&ctx, &url, data).await?;
        status(&r, 500).map_err(|e| format!("body {data:?}: {e}"))?;
        body_contains(&r, "Payload expected.")?;
    }
    body_is(&send_form(&ctx, &url, "d=%5B%22b%22%5D").await?, "ok")?;
    let r = ctx.get(&format!("{url}/jsonp?c=x")).await?;
    status_body(&r, 200, "/**/x(\"a[\\\"b\\\"]\");\r\n")
}

/// A form body is URL-decoded; a text/plain body is taken as it is.
async fn content_types(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(
        &ctx.get(&format!("{url}/jsonp?c=x")).await?,
        200,
        "/**/x(\"o\");\r\n",
    )?;
    body_is(&send_form(&ctx, &url, "d=%5B%22abc%22%5D").await?, "ok")?;
    let r = ctx
        .fetch(
            Request::post(&format!("{url}/jsonp_send"))
                .header("Content-Type", "text/plain")
                .body("[\"%61bc\"]"),
        )
        .await?;
    body_is(&r, "ok")?;
    let r = ctx.get(&format!("{url}/jsonp?c=x")).await?;
    status_body(&r, 200, "/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n")
}

async fn close(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::CLOSE);
    status_body(
        &ctx.get(&format!("{url}/jsonp?c=x")).await?,
        200,
        "/**/x(\"o\");\r\n",
    )?;
    for _ in 0..2 {
        let r = ctx.get(&format!("{url}/jsonp?c=x")).await?;
        status_body(&r, 200, "/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n")?;
    }
    Ok(())
}

async fn sending_empty_frame(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(
        &ctx.get(&format!("{url}/jsonp?c=x")).await?,
        200,
        "/**/x(\"o\");\r\n",
    )?;
    body_is(&send_form(&ctx, &url, "d=%5B%5D").await?, "ok")?;
    body_is(&send_form(&ctx, &url, "d=%5B%22x%22%5D").await?, "ok")?;
    let r = ctx.get(&format!("{url}/jsonp?c=x")).await?;
    status_body(&r, 200, "/**/x(\"a[\\\"x\\\"]\");\r\n")
}
