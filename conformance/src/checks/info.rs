//! The `/info` endpoint: capabilities JSON, entropy, CORS and preflight.

use serde_json::Value;

use super::{
    Check, Ctx, Outcome, check, content_type, cors, empty_body, ensure, eq, no_cookie, not_cached,
    preflight, status,
};
use crate::http::{Request, Response};

const CLASS: &str = "InfoTest";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, basic),
        check!(CLASS, entropy),
        check!(CLASS, options),
        check!(CLASS, options_null_origin),
        check!(CLASS, disabled_websocket),
    ]
}

fn json(r: &Response) -> Result<Value, String> {
    serde_json::from_slice(&r.body)
        .map_err(|e| format!("{}: body is not JSON ({e}): {}", r.label, r.text()))
}

/// The entropy field: an integer in 0..=2^32-1.
fn entropy_of(label: &str, v: &Value) -> Result<u64, String> {
    match v.get("entropy").and_then(Value::as_u64) {
        Some(n) if n <= u64::from(u32::MAX) => Ok(n),
        _ => Err(format!(
            "{label}: entropy should be an integer in 0..=4294967295, got {:?}",
            v.get("entropy")
        )),
    }
}

async fn basic(ctx: Ctx) -> Outcome {
    let path = format!("{}/info", ctx.base(super::ECHO));
    let r = ctx
        .fetch(Request::get(&path).header("Origin", "test"))
        .await?;
    let label = r.label.clone();
    status(&r, 200)?;
    content_type(&label, &r.head, "application/json;charset=UTF-8")?;
    no_cookie(&label, &r.head)?;
    not_cached(&label, &r.head)?;
    cors(&label, &r.head, Some("test"))?;
    let v = json(&r)?;
    eq(
        &format!("{label}: websocket"),
        &Some(true),
        &v.get("websocket").and_then(Value::as_bool),
    )?;
    ensure(
        v.get("cookie_needed").is_some_and(Value::is_boolean),
        || {
            format!(
                "{label}: cookie_needed should be a boolean, got {:?}",
                v.get("cookie_needed")
            )
        },
    )?;
    eq(
        &format!("{label}: origins"),
        &Some(serde_json::json!(["*:*"])),
        &v.get("origins").cloned(),
    )?;
    entropy_of(&label, &v).map(drop)
}

/// Two answers carry different entropy values.
async fn entropy(ctx: Ctx) -> Outcome {
    let path = format!("{}/info", ctx.base(super::ECHO));
    let r1 = ctx.get(&path).await?;
    status(&r1, 200)?;
    let r2 = ctx.get(&path).await?;
    status(&r2, 200)?;
    let e1 = entropy_of(&r1.label, &json(&r1)?)?;
    let e2 = entropy_of(&r2.label, &json(&r2)?)?;
    ensure(e1 != e2, || {
        format!("two /info answers carry the same entropy {e1}")
    })
}

/// Without an `Origin`, the answer allows `*` and no credentials.
async fn options(ctx: Ctx) -> Outcome {
    let path = format!("{}/info", ctx.base(super::ECHO));
    preflight(&ctx, &path, "OPTIONS, GET").await?;
    let r = ctx.get(&path).await?;
    status(&r, 200)?;
    cors(&r.label, &r.head, None)
}

/// A page loaded from `file://` sends `Origin: null`; it is echoed back.
async fn options_null_origin(ctx: Ctx) -> Outcome {
    let path = format!("{}/info", ctx.base(super::ECHO));
    let r = ctx
        .fetch(
            Request::options(&path)
                .header("Origin", "null")
                .header("Access-Control-Request-Method", "POST"),
        )
        .await?;
    ensure(matches!(r.status(), 200 | 204), || {
        format!(
            "{}: expected status 200 or 204, got {}",
            r.label,
            r.status()
        )
    })?;
    empty_body(&r)?;
    eq(
        &format!("{}: Access-Control-Allow-Origin", r.label),
        "null",
        r.head.value("access-control-allow-origin"),
    )
}

async fn disabled_websocket(ctx: Ctx) -> Outcome {
    let r = ctx
        .get(&format!("{}/info", ctx.base(super::WS_OFF)))
        .await?;
    status(&r, 200)?;
    let v = json(&r)?;
    eq(
        &format!("{}: websocket", r.label),
        &Some(false),
        &v.get("websocket").and_then(Value::as_bool),
    )
}
