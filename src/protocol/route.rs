//! The SockJS URL scheme under one mount prefix, as a pure parse of the path that follows the
//! prefix. Methods are checked by the transport layer; this only names the resource.
//!
//! Shapes (sockjs-node 0.3 dispatcher; each may end with one optional `/`):
//! `` greeting, `/info`, `/iframe[0-9-.a-z_]*.html`, `/websocket` (raw), and
//! `/<server>/<session>/<transport>` where server and session are non-empty and hold neither
//! `/` nor `.` (`SessionURLs.test_invalidPaths`).

/// The per-session transports of the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// `/websocket`, SockJS-framed.
    WebSocket,
    /// `/xhr`, xhr polling.
    XhrPolling,
    /// `/xhr_send`.
    XhrSend,
    /// `/xhr_streaming`.
    XhrStreaming,
    /// `/eventsource`.
    EventSource,
    /// `/htmlfile`.
    HtmlFile,
    /// `/jsonp`, JSONP polling.
    JsonpPolling,
    /// `/jsonp_send`.
    JsonpSend,
    /// `/websocket` at the prefix root: raw WebSocket, no SockJS framing.
    RawWebSocket,
}

impl TransportKind {
    /// The name sockjs-client uses for this transport (`sock.transport`), or the send
    /// endpoint's path name.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::WebSocket => "websocket",
            TransportKind::XhrPolling => "xhr-polling",
            TransportKind::XhrSend => "xhr_send",
            TransportKind::XhrStreaming => "xhr-streaming",
            TransportKind::EventSource => "eventsource",
            TransportKind::HtmlFile => "htmlfile",
            TransportKind::JsonpPolling => "jsonp-polling",
            TransportKind::JsonpSend => "jsonp_send",
            TransportKind::RawWebSocket => "websocket-raw",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "websocket" => TransportKind::WebSocket,
            "xhr" => TransportKind::XhrPolling,
            "xhr_send" => TransportKind::XhrSend,
            "xhr_streaming" => TransportKind::XhrStreaming,
            "eventsource" => TransportKind::EventSource,
            "htmlfile" => TransportKind::HtmlFile,
            "jsonp" => TransportKind::JsonpPolling,
            "jsonp_send" => TransportKind::JsonpSend,
            _ => return None,
        })
    }
}

/// A resource of the URL scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /`: the greeting.
    Greeting,
    /// `/info`.
    Info,
    /// `/iframe.html` and its versioned variants.
    Iframe,
    /// `/websocket` at the prefix root.
    RawWebSocket,
    /// `/<server>/<session>/<transport>`.
    Session {
        /// The session id chosen by the client.
        session: &'a str,
        /// The transport.
        transport: TransportKind,
    },
    /// Anything else.
    NotFound,
}

/// The longest session id accepted; longer ids are refused as not found.
pub const MAX_SESSION_ID_LEN: usize = 256;

/// Parses `rest`, the path after the mount prefix (raw, not percent-decoded).
pub fn parse(rest: &str) -> Route<'_> {
    if rest.is_empty() || rest == "/" {
        return Route::Greeting;
    }
    let Some(path) = rest.strip_prefix('/') else {
        return Route::NotFound;
    };
    let path = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["info"] => Route::Info,
        ["websocket"] => Route::RawWebSocket,
        [page] if is_iframe_page(page) => Route::Iframe,
        [server, session, transport] if valid_id(server) && valid_id(session) => {
            match TransportKind::from_segment(transport) {
                Some(transport) => Route::Session { session, transport },
                None => Route::NotFound,
            }
        }
        _ => Route::NotFound,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_SESSION_ID_LEN && !id.contains('.')
}

/// `iframe[0-9-.a-z_]*.html` (sockjs-node's iframe route).
fn is_iframe_page(page: &str) -> bool {
    page.strip_prefix("iframe")
        .and_then(|p| p.strip_suffix(".html"))
        .is_some_and(|v| {
            v.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b"-._".contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_prefix_itself_is_the_greeting() {
        assert_eq!(parse(""), Route::Greeting);
        assert_eq!(parse("/"), Route::Greeting);
    }

    #[test]
    fn fixed_pages_are_recognised_with_an_optional_slash() {
        assert_eq!(parse("/info"), Route::Info);
        assert_eq!(parse("/info/"), Route::Info);
        assert_eq!(parse("/websocket"), Route::RawWebSocket);
        assert_eq!(parse("/iframe.html"), Route::Iframe);
        assert_eq!(parse("/iframe-0.1.2abc-dirty.2144.html"), Route::Iframe);
    }

    #[test]
    fn malformed_iframe_names_are_not_found() {
        for p in [
            "/iframe.htm",
            "/iframe",
            "/IFRAME.HTML",
            "/iframe.HTML",
            "/iframe.xml",
            "/iframe-/.html",
        ] {
            assert_eq!(parse(p), Route::NotFound, "{p}");
        }
    }

    #[test]
    fn session_urls_name_the_session_and_transport() {
        assert_eq!(
            parse("/000/abc/xhr_send"),
            Route::Session {
                session: "abc",
                transport: TransportKind::XhrSend
            }
        );
        assert_eq!(
            parse("/a/b%20c/websocket/"),
            Route::Session {
                session: "b%20c",
                transport: TransportKind::WebSocket
            }
        );
    }

    #[test]
    fn invalid_session_paths_are_not_found() {
        for p in [
            "//xhr",
            "/a./a/xhr",
            "/a/a./xhr",
            "/./././xhr",
            "//xhr",
            "////xhr",
            "/a/a/nope",
            "/a",
            "/a.html",
            "//",
            "///",
            "/a/a",
            "/a/a/",
        ] {
            assert_eq!(parse(p), Route::NotFound, "{p}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics(path in ".*") {
            let _ = parse(&path);
        }
    }
}
