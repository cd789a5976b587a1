//! The `iframe*.html` page used for cross-domain transports: exact body
//! (apart from the configurable client script URL), strong caching, ETag
//! revalidation, and 404 for malformed names.

use super::{
    Check, Ctx, Outcome, absent, check, content_type, empty_body, ensure, eq, long_cache,
    no_cookie, not_found, present, status,
};
use crate::http::{Request, Response};

const CLASS: &str = "IframePage";

/// The page up to the client script URL.
const BEFORE_URL: &str = "<!DOCTYPE html>
<html>
<head>
  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />
  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />
  <script src=\"";

/// The page after the client script URL.
const AFTER_URL: &str = "\"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, simple_url),
        check!(CLASS, versioned_url),
        check!(CLASS, queried_url),
        check!(CLASS, invalid_url),
        check!(CLASS, cacheability),
    ]
}

/// Fetches one iframe URL and checks everything about the answer.
async fn verify(ctx: &Ctx, suffix: &str) -> Result<Response, String> {
    let r = ctx
        .get(&format!("{}{suffix}", ctx.base(super::ECHO)))
        .await?;
    let label = r.label.clone();
    status(&r, 200)?;
    content_type(&label, &r.head, "text/html;charset=UTF-8")?;
    long_cache(&label, &r.head)?;
    present(&label, &r.head, "etag")?;
    absent(&label, &r.head, "last-modified")?;
    no_cookie(&label, &r.head)?;

    let text = r.text();
    let body = text.trim();
    let url = body
        .strip_prefix(BEFORE_URL)
        .and_then(|rest| rest.strip_suffix(AFTER_URL))
        .ok_or_else(|| format!("{label}: body does not match the iframe template; got {body:?}"))?;
    ensure(!url.contains('"'), || {
        format!("{label}: body does not match the iframe template; got {body:?}")
    })?;
    ensure(url.starts_with('/') || url.starts_with("http"), || {
        format!("{label}: script src {url:?} should be absolute (start with / or http)")
    })?;
    Ok(r)
}

async fn simple_url(ctx: Ctx) -> Outcome {
    verify(&ctx, "/iframe.html").await.map(drop)
}

/// Versioned names serve the same page (lets clients bust caches).
async fn versioned_url(ctx: Ctx) -> Outcome {
    for s in [
        "/iframe-a.html",
        "/iframe-.html",
        "/iframe-0.1.2.html",
        "/iframe-0.1.2abc-dirty.2144.html",
    ] {
        verify(&ctx, s).await?;
    }
    Ok(())
}

/// A query string is ignored.
async fn queried_url(ctx: Ctx) -> Outcome {
    for s in [
        "/iframe-a.html?t=1234",
        "/iframe-0.1.2.html?t=123414",
        "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123",
    ] {
        verify(&ctx, s).await?;
    }
    Ok(())
}

async fn invalid_url(ctx: Ctx) -> Outcome {
    for s in [
        "/iframe.htm",
        "/iframe",
        "/IFRAME.HTML",
        "/IFRAME",
        "/iframe.HTML",
        "/iframe.xml",
        "/iframe-/.html",
    ] {
        not_found(&ctx.get(&format!("{}{s}", ctx.base(super::ECHO))).await?)?;
    }
    Ok(())
}

/// Stable ETag, and `If-None-Match` gives an empty 304.
async fn cacheability(ctx: Ctx) -> Outcome {
    let path = format!("{}/iframe.html", ctx.base(super::ECHO));
    let r1 = ctx.get(&path).await?;
    let r2 = ctx.get(&path).await?;
    let e1 = r1.head.value("etag").to_string();
    ensure(!e1.is_empty(), || format!("{}: no ETag header", r1.label))?;
    eq(
        "ETag of two identical requests",
        e1.as_str(),
        r2.head.value("etag"),
    )?;
    let r = ctx
        .fetch(Request::get(&path).header("If-None-Match", &e1))
        .await?;
    status(&r, 304)?;
    absent(&r.label, &r.head, "content-type")?;
    empty_body(&r)
}
