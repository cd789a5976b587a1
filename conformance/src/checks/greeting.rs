//! The greeting at the service's base URL, and 404s for stray paths
//! directly below it.

use super::{Check, Ctx, Outcome, check, content_type, no_cookie, not_found, status_body};

const CLASS: &str = "BaseUrlGreeting";

pub fn checks() -> Vec<Check> {
    vec![check!(CLASS, greeting), check!(CLASS, not_found_paths)]
}

/// `GET base` and `GET base/` both answer the plain-text welcome line.
async fn greeting(ctx: Ctx) -> Outcome {
    for suffix in ["", "/"] {
        let r = ctx
            .get(&format!("{}{suffix}", ctx.base(super::ECHO)))
            .await?;
        status_body(&r, 200, "Welcome to SockJS!\n")?;
        content_type(&r.label, &r.head, "text/plain;charset=UTF-8")?;
        no_cookie(&r.label, &r.head)?;
    }
    Ok(())
}

/// Paths under the base that are not part of the protocol give 404.
async fn not_found_paths(ctx: Ctx) -> Outcome {
    for suffix in ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"] {
        let r = ctx
            .get(&format!("{}{suffix}", ctx.base(super::ECHO)))
            .await?;
        not_found(&r)?;
    }
    Ok(())
}
