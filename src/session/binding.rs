//! What a request must match to use a session (`Config::session_binding`), decided from the
//! request that opened it. Pure: no I/O.
//!
//! Session ids are chosen by clients, so a client that learns another's id could otherwise
//! read or write that session; binding keeps it out.

use std::net::IpAddr;

use crate::config::SessionBinding;

/// One bound property: not checked, or required to equal what the opening request had
/// (`None` when it had none: then later requests must have none either).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Bound<T> {
    #[default]
    Unchecked,
    Equal(Option<T>),
}

impl<T: PartialEq> Bound<T> {
    fn admits(&self, value: impl FnOnce() -> Option<T>) -> bool {
        match self {
            Bound::Unchecked => true,
            Bound::Equal(expected) => *expected == value(),
        }
    }
}

/// The client address and the `JSESSIONID` cookie value a session is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Binding {
    client: Bound<IpAddr>,
    cookie: Bound<String>,
}

impl Binding {
    /// The binding `policy` gives a session opened by `client` with `cookie` (read only when
    /// the policy binds to it).
    pub(crate) fn new(
        policy: SessionBinding,
        client: Option<IpAddr>,
        cookie: impl FnOnce() -> String,
    ) -> Self {
        let (by_client, by_cookie) = match policy {
            SessionBinding::Off => (false, false),
            SessionBinding::ClientAddress => (true, false),
            SessionBinding::Cookie => (false, true),
            SessionBinding::ClientAddressAndCookie => (true, true),
        };
        Binding {
            client: if by_client {
                Bound::Equal(client)
            } else {
                Bound::Unchecked
            },
            cookie: if by_cookie {
                Bound::Equal(Some(cookie()))
            } else {
                Bound::Unchecked
            },
        }
    }

    /// Whether a request from `client` carrying `cookie` may use the session.
    pub(crate) fn admits(&self, client: Option<IpAddr>, cookie: impl FnOnce() -> String) -> bool {
        self.client.admits(|| client) && self.cookie.admits(|| Some(cookie()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn off_admits_anyone() {
        let b = Binding::new(SessionBinding::Off, A, || "x".into());
        assert!(b.admits(B, || "y".into()));
    }

    #[test]
    fn the_address_binding_admits_only_the_opening_address() {
        let b = Binding::new(SessionBinding::ClientAddress, A, || "x".into());
        assert!(b.admits(A, || "other".into()));
        assert!(!b.admits(B, || "x".into()));
        assert!(!b.admits(None, || "x".into()));
        let unknown = Binding::new(SessionBinding::ClientAddress, None, String::new);
        assert!(unknown.admits(None, String::new) && !unknown.admits(A, String::new));
    }

    #[test]
    fn the_cookie_binding_admits_only_the_opening_cookie() {
        let b = Binding::new(SessionBinding::Cookie, A, || "abc".into());
        assert!(b.admits(B, || "abc".into()));
        assert!(!b.admits(A, || "abd".into()));
        let both = Binding::new(SessionBinding::ClientAddressAndCookie, A, || "abc".into());
        assert!(both.admits(A, || "abc".into()));
        assert!(!both.admits(B, || "abc".into()) && !both.admits(A, || "zzz".into()));
    }
}
