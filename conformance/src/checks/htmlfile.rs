//! htmlfile: an HTML page that calls `parent.<callback>`, padded past
//! 1 KiB, then one `<script>` block per frame; callback validation and the
//! response limit.

use super::{Check, Ctx, Outcome, body_contains, check, content_type, ensure, not_cached, status};
use crate::http::{Request, Stream};

const CLASS: &str = "HtmlFile";

/// The page head; `{cb}` stands for the callback name.
const HEAD: &str = r#"<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.{cb};
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>"#;

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, transport),
        check!(CLASS, no_callback),
        check!(CLASS, invalid_callback),
        check!(CLASS, response_limit),
    ]
}

async fn open(ctx: &Ctx, path: &str) -> Result<Stream, String> {
    let s = ctx.stream(Request::get(path)).await?;
    ensure(s.status() == 200, || {
        format!("{}: expected status 200, got {}", s.label, s.status())
    })?;
    Ok(s)
}

/// Reads the first frame: the page head, padded to more than 1024 bytes.
async fn expect_head(s: &mut Stream, callback: &str) -> Outcome {
    let first = s
        .next_frame()
        .await?
        .ok_or_else(|| format!("{}: the response ended before the page head", s.label))?;
    let text = String::from_utf8_lossy(&first);
    let expected = HEAD.replace("{cb}", callback);
    ensure(text.trim() == expected, || {
        format!(
            "{}: page head differs; expected {expected:?}, got {:?}",
            s.label,
            text.trim()
        )
    })?;
    ensure(first.len() > 1024, || {
        format!(
            "{}: the first chunk must be padded past 1024 bytes, it has {}",
            s.label,
            first.len()
        )
    })
}

async fn transport(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(&ctx, &format!("{url}/htmlfile?c=%63allback")).await?;
    content_type(&s.label, &s.head, "text/html;charset=UTF-8")?;
    not_cached(&s.label, &s.head)?;
    expect_head(&mut s, "callback").await?;
    s.expect_frame(b"<script>\np(\"o\");\n</script>\r\n")
        .await?;
    status(&ctx.post(&format!("{url}/xhr_send"), "[\"x\"]").await?, 204)?;
    s.expect_frame(b"<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
        .await
}

async fn no_callback(ctx: Ctx) -> Outcome {
    let r = ctx
        .get(&format!("{}/a/a/htmlfile", ctx.base(super::ECHO)))
        .await?;
    status(&r, 500)?;
    body_contains(&r, "\"callback\" parameter required")
}

/// Callbacks outside `[a-zA-Z0-9-_.]` are refused.
async fn invalid_callback(ctx: Ctx) -> Outcome {
    for cb in ["%20", "*", "abc(", "abc%28"] {
        let path = format!("{}/a/a/htmlfile?c={cb}", ctx.base(super::ECHO));
        let r = ctx.get(&path).await?;
        status(&r, 500)?;
        body_contains(&r, "invalid \"callback\" parameter")?;
    }
    Ok(())
}

async fn response_limit(ctx: Ctx) -> Outcome {
    let url = ctx.session(super::ECHO);
    let mut s = open(&ctx, &format!("{url}/htmlfile?c=callback")).await?;
    if s.next_frame().await?.is_none() {
        return Err(format!(
            "{}: the response ended before the page head",
            s.label
        ));
    }
    s.expect_frame(b"<script>\np(\"o\");\n</script>\r\n")
        .await?;
    let msg = "x".repeat(4096);
    status(
        &ctx.post(&format!("{url}/xhr_send"), &format!("[\"{msg}\"]"))
            .await?,
        204,
    )?;
    let frame = format!("<script>\np(\"a[\\\"{msg}\\\"]\");\n</script>\r\n");
    s.expect_frame(frame.as_bytes()).await?;
    s.expect_end().await
}
