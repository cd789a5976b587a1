//! xhr-polling: `/xhr` to receive, `/xhr_send` to send. Headers, CORS,
//! errors for bad payloads, accepted content types, empty frames.

use super::{
    Check, Ctx, Outcome, absent, body_contains, check, content_type, cors, empty_body, ensure, eq,
    not_cached, not_found, preflight, status, status_body,
};
use crate::http::Request;

const CLASS: &str = "XhrPolling";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, options),
        check!(CLASS, transport),
        check!(CLASS, invalid_session),
        check!(CLASS, invalid_json),
        check!(CLASS, content_types),
        check!(CLASS, request_headers_cors),
        check!(CLASS, sending_empty_frame),
    ]
}

async fn options(ctx: Ctx) -> Outcome {
    for suffix in ["/xhr", "/xhr_send"] {
        let path = format!("{}/abc/abc{suffix}", ctx.base(super::ECHO));
        preflight(&ctx, &path, "OPTIONS, POST").await?;
    }
    Ok(())
}

async fn transport(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let r = ctx
        .fetch(Request::post(&format!("{url}/xhr")).header("Origin", "test"))
        .await?;
    status_body(&r, 200, "o\n")?;
    content_type(&r.label, &r.head, "application/javascript;charset=UTF-8")?;
    cors(&r.label, &r.head, Some("test"))?;
    not_cached(&r.label, &r.head)?;

    let r = ctx
        .fetch(
            Request::post(&format!("{url}/xhr_send"))
                .header("Origin", "test")
                .body("[\"x\"]"),
        )
        .await?;
    status(&r, 204)?;
    empty_body(&r)?;
    // Even a 204 carries text/plain, or some browsers complain.
    content_type(&r.label, &r.head, "text/plain;charset=UTF-8")?;
    cors(&r.label, &r.head, Some("test"))?;
    not_cached(&r.label, &r.head)?;

    status_body(
        &ctx.post(&format!("{url}/xhr"), "").await?,
        200,
        "a[\"x\"]\n",
    )
}

/// Sending to a session that was never opened is a 404.
async fn invalid_session(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    not_found(&ctx.post(&format!("{url}/xhr_send"), "[\"x\"]").await?)
}

/// Broken JSON and empty payloads are 500s that leave the session usable.
async fn invalid_json(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    let r = ctx.post(&format!("{url}/xhr_send"), "[\"x").await?;
    status(&r, 500)?;
    body_contains(&r, "Broken JSON encoding.")?;
    let r = ctx.post(&format!("{url}/xhr_send"), "").await?;
    status(&r, 500)?;
    body_contains(&r, "Payload expected.")?;
    let r = ctx.post(&format!("{url}/xhr_send"), "[\"a\"]").await?;
    status(&r, 204)?;
    empty_body(&r)?;
    status_body(
        &ctx.post(&format!("{url}/xhr"), "").await?,
        200,
        "a[\"a\"]\n",
    )
}

/// The payload is JSON whatever `Content-Type` the browser put on it.
async fn content_types(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    let types = [
        "text/plain",
        "T",
        "application/json",
        "application/xml",
        "",
        "application/json; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
    ];
    for ct in types {
        let r = ctx
            .fetch(
                Request::post(&format!("{url}/xhr_send"))
                    .header("Content-Type", ct)
                    .body("[\"a\"]"),
            )
            .await
            .map_err(|e| format!("Content-Type {ct:?}: {e}"))?;
        status(&r, 204).map_err(|e| format!("Content-Type {ct:?}: {e}"))?;
        empty_body(&r)?;
    }
    let expected = format!("a[{}]\n", vec!["\"a\""; types.len()].join(","));
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, &expected)
}

/// `Access-Control-Request-Headers` is echoed as `...-Allow-Headers`.
async fn request_headers_cors(ctx: Ctx) -> Outcome {
    for (asked, echoed) in [
        (Some("a, b, c"), Some("a, b, c")),
        (Some(""), None),
        (None, None),
    ] {
        let mut req = Request::options(&format!("{}/xhr", ctx.session(super::ECHO)))
            .header("Origin", "test")
            .header("Access-Control-Request-Method", "POST");
        if let Some(a) = asked {
            req = req.header("Access-Control-Request-Headers", a);
        }
        let r = ctx.fetch(req).await?;
        let label = format!("{} (Access-Control-Request-Headers: {asked:?})", r.label);
        ensure(matches!(r.status(), 200 | 204), || {
            format!("{label}: expected status 200 or 204, got {}", r.status())
        })?;
        cors(&label, &r.head, Some("test"))?;
        match echoed {
            Some(v) => eq(
                &format!("{label}: Access-Control-Allow-Headers"),
                v,
                r.head.value("access-control-allow-headers"),
            )?,
            None => absent(&label, &r.head, "access-control-allow-headers")?,
        }
    }
    Ok(())
}

/// `[]` is a valid (heartbeat-like) send with no messages.
async fn sending_empty_frame(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    status(&ctx.post(&format!("{url}/xhr_send"), "[]").await?, 204)?;
    status(&ctx.post(&format!("{url}/xhr_send"), "[\"a\"]").await?, 204)?;
    status_body(
        &ctx.post(&format!("{url}/xhr"), "").await?,
        200,
        "a[\"a\"]\n",
    )
}
