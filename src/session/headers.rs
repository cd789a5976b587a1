//! The opening request's headers as a session keeps them: compact, and detached from the
//! connection's read buffer.
//!
//! A session lives far longer than its opening request, so it keeps a copy: every value in
//! one shared buffer and a flat list of (name, value) pairs, which costs a few hundred bytes
//! where an `actix_http::HeaderMap` copy cost ~1.7 KiB per session (its buckets hold room for
//! four values each; measured with heaptrack). Headers that only concern the connection
//! itself (RFC 9110 section 7.6.1 hop-by-hop fields and the RFC 6455 handshake fields) are not
//! kept: nothing after the handshake can use them.

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::{Bytes, BytesMut};

/// Not kept: connection-scoped fields (RFC 9110 section 7.6.1, RFC 6455 section 4.1).
const DROPPED: [&str; 10] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
];

/// The opening request's headers (names lower case, repeated names kept in order).
#[derive(Debug, Clone, Default)]
pub struct RequestHeaders {
    fields: Box<[(HeaderName, HeaderValue)]>,
}

impl RequestHeaders {
    /// Copies what a session keeps of `headers`.
    pub fn copy_from(headers: &HeaderMap) -> Self {
        let kept = || {
            headers
                .iter()
                .filter(|(name, _)| !DROPPED.contains(&name.as_str()))
        };
        let mut buffer = BytesMut::with_capacity(kept().map(|(_, v)| v.len()).sum());
        for (_, value) in kept() {
            buffer.extend_from_slice(value.as_bytes());
        }
        let buffer: Bytes = buffer.freeze();
        let mut at = 0;
        let fields = kept()
            .filter_map(|(name, value)| {
                let bytes = buffer.slice(at..at + value.len());
                at += value.len();
                let mut copy = HeaderValue::from_maybe_shared(bytes).ok()?;
                copy.set_sensitive(value.is_sensitive());
                // Rebuilt, not cloned: a parsed custom name may share the read buffer.
                let name = HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
                Some((name, copy))
            })
            .collect();
        RequestHeaders { fields }
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: impl AsRef<str>) -> Option<&HeaderValue> {
        self.get_all(name).next()
    }

    /// Every value of `name` (any case), in request order.
    pub fn get_all(&self, name: impl AsRef<str>) -> impl Iterator<Item = &HeaderValue> {
        self.fields
            .iter()
            .filter(move |(n, _)| n.as_str().eq_ignore_ascii_case(name.as_ref()))
            .map(|(_, v)| v)
    }

    /// Whether `name` (any case) was sent.
    pub fn contains(&self, name: impl AsRef<str>) -> bool {
        self.get(name).is_some()
    }

    /// Every kept (name, value) pair, in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.fields.iter().map(|(n, v)| (n, v))
    }

    /// How many (name, value) pairs were kept.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether none were kept.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header;

    fn request() -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, HeaderValue::from_static("example.com"));
        map.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        map.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        map.insert(
            HeaderName::from_static("sec-websocket-key"),
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        map.append(header::COOKIE, HeaderValue::from_static("a=1"));
        map.append(header::COOKIE, HeaderValue::from_static("b=2"));
        map.insert(
            HeaderName::from_static("x-test"),
            HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        map
    }

    #[test]
    fn keeps_application_headers_with_their_values() {
        let kept = RequestHeaders::copy_from(&request());
        assert_eq!(kept.get("host").unwrap(), "example.com");
        assert_eq!(kept.get("Host").unwrap(), "example.com");
        assert_eq!(kept.get("X-TEST").unwrap().as_bytes(), b"caf\xe9");
        let cookies: Vec<_> = kept.get_all("cookie").collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(kept.len(), 4);
        assert!(kept.contains("x-test"));
        assert!(kept.get("x-missing").is_none());
    }

    #[test]
    fn drops_connection_scoped_headers() {
        let kept = RequestHeaders::copy_from(&request());
        for name in ["upgrade", "connection", "sec-websocket-key"] {
            assert!(!kept.contains(name), "{name} kept");
        }
        assert!(kept.iter().all(|(n, _)| !DROPPED.contains(&n.as_str())));
    }

    #[test]
    fn no_headers_is_empty() {
        let kept = RequestHeaders::copy_from(&HeaderMap::new());
        assert!(kept.is_empty());
        assert_eq!(kept.iter().count(), 0);
    }
}
