//! The fixed responses of the URL scheme: the greeting, the `/info` document and the iframe
//! page (`BaseUrlGreeting`, `InfoTest`, `IframePage` in the official suite).

use serde::Serialize;

/// The greeting body (`BaseUrlGreeting.test_greeting`).
pub const GREETING: &str = "Welcome to SockJS!\n";

/// The `/info` document.
#[derive(Debug, Serialize)]
pub struct Info {
    /// Whether the WebSocket transport is enabled.
    pub websocket: bool,
    /// Whether load balancing needs the JSESSIONID cookie.
    pub cookie_needed: bool,
    /// Always `["*:*"]`: the field is ignored by clients (protocol 0.3.3).
    pub origins: [&'static str; 1],
    /// A random number in 0..2^32 to seed the browser's generator (`InfoTest.test_entropy`).
    pub entropy: u32,
}

impl Info {
    /// The info document for a mount.
    pub fn new(websocket: bool, cookie_needed: bool, entropy: u32) -> Self {
        Info {
            websocket,
            cookie_needed,
            origins: ["*:*"],
            entropy,
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        // unwrap-free: serializing this plain struct cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The iframe page that loads the client from `sockjs_url` (`IframePage.iframe_body`).
/// `sockjs_url` is HTML-attribute-escaped.
pub fn iframe_page(sockjs_url: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n  \
         <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n  \
         <script src=\"{}\"></script>\n  <script>\n    \
         document.domain = document.domain;\n    SockJS.bootstrap_iframe();\n  \
         </script>\n</head>\n<body>\n  <h2>Don't panic!</h2>\n  \
         <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n\
         </body>\n</html>",
        escape_attribute(sockjs_url)
    )
}

/// A strong ETag for a body: FNV-1a 64 in hex, quoted. Stable across runs and builds.
pub fn etag(body: &[u8]) -> String {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = body.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    });
    format!("\"{hash:016x}\"")
}

fn escape_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_serialises_the_four_fields() {
        let json = Info::new(true, false, 7).to_json();
        assert_eq!(
            json,
            r#"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":7}"#
        );
    }

    #[test]
    fn the_iframe_page_loads_the_configured_client() {
        let page = iframe_page("/static/sockjs.js");
        assert!(page.contains("<script src=\"/static/sockjs.js\"></script>"));
        assert!(page.contains("SockJS.bootstrap_iframe();"));
    }

    #[test]
    fn the_client_url_cannot_break_out_of_its_attribute() {
        assert!(iframe_page("x\"><script>").contains("x&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn etags_are_stable_and_differ_by_content() {
        assert_eq!(etag(b"a"), etag(b"a"));
        assert_ne!(etag(b"a"), etag(b"b"));
    }
}
