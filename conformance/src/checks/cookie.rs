//! JSESSIONID: a service configured for sticky sessions advertises
//! `cookie_needed` and sets the cookie on every HTTP transport.

use serde_json::Value;

use super::{Check, Ctx, Outcome, body_is, check, cookie_is, eq, no_cookie, status, status_body};
use crate::http::{Head, Request};

const CLASS: &str = "JsessionidCookie";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, basic),
        check!(CLASS, xhr),
        check!(CLASS, xhr_streaming),
        check!(CLASS, eventsource),
        check!(CLASS, htmlfile),
        check!(CLASS, jsonp),
    ]
}

/// `/info` says cookies are needed but does not set one itself.
async fn basic(ctx: Ctx) -> Outcome {
    let r = ctx
        .get(&format!("{}/info", ctx.base(super::COOKIE)))
        .await?;
    status(&r, 200)?;
    no_cookie(&r.label, &r.head)?;
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("{}: body is not JSON ({e}): {}", r.label, r.text()))?;
    eq(
        &format!("{}: cookie_needed", r.label),
        &Some(true),
        &v.get("cookie_needed").and_then(Value::as_bool),
    )
}

fn dummy(label: &str, h: &Head) -> Outcome {
    cookie_is(label, h, "dummy")
}

/// A default cookie is set, and an existing one is echoed back.
async fn xhr(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::COOKIE);
    let r = ctx.post(&format!("{url}/xhr"), "").await?;
    status_body(&r, 200, "o\n")?;
    dummy(&r.label, &r.head)?;

    let url = ctx.session(super::COOKIE);
    let r = ctx
        .fetch(Request::post(&format!("{url}/xhr")).header("Cookie", "JSESSIONID=abcdef"))
        .await?;
    status_body(&r, 200, "o\n")?;
    cookie_is(&r.label, &r.head, "abcdef")
}

/// Opens a streaming transport and checks status and cookie of its head.
async fn streaming(ctx: &Ctx, req: Request) -> Outcome {
    let s = ctx.stream(req).await?;
    eq(&format!("{}: status", s.label), &200, &s.status())?;
    dummy(&s.label, &s.head)
}

async fn xhr_streaming(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::COOKIE);
    streaming(&ctx, Request::post(&format!("{url}/xhr_streaming"))).await
}

async fn eventsource(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::COOKIE);
    streaming(&ctx, Request::get(&format!("{url}/eventsource"))).await
}

async fn htmlfile(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::COOKIE);
    streaming(&ctx, Request::get(&format!("{url}/htmlfile?c=%63allback"))).await
}

/// Both the polling request and `jsonp_send` set the cookie.
async fn jsonp(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::COOKIE);
    let r = ctx.get(&format!("{url}/jsonp?c=%63allback")).await?;
    status(&r, 200)?;
    dummy(&r.label, &r.head)?;
    body_is(&r, "/**/callback(\"o\");\r\n")?;
    let r = super::jsonp::send_form(&ctx, &url, "d=%5B%22x%22%5D").await?;
    status_body(&r, 200, "ok")?;
    dummy(&r.label, &r.head)
}
