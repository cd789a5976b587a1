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

/// The client address, the `JSESSIONID` cookie value and the identity's user name a
/// session is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Binding {
    client: Bound<IpAddr>,
    cookie: Bound<String>,
    user: Bound<String>,
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
            user: Bound::Unchecked,
        }
    }

    /// The same binding, also to the opening request's user (`None`: nobody), whatever the
    /// policy: a mount that identifies requests admits only the same user to a session.
    #[must_use]
    pub(crate) fn with_user(mut self, user: Option<String>) -> Self {
        self.user = Bound::Equal(user);
        self
    }

    /// Whether a request from `client` carrying `cookie`, of user `user` (asked only when
    /// bound to one), may use the session.
    pub(crate) fn admits(
        &self,
        client: Option<IpAddr>,
        cookie: impl FnOnce() -> String,
        user: impl FnOnce() -> Option<String>,
    ) -> bool {
        self.client.admits(|| client)
            && self.cookie.admits(|| Some(cookie()))
            && self.user.admits(user)
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
        assert!(b.admits(B, || "y".into(), || None));
    }

    #[test]
    fn the_address_binding_admits_only_the_opening_address() {
        let b = Binding::new(SessionBinding::ClientAddress, A, || "x".into());
        assert!(b.admits(A, || "other".into(), || None));
        assert!(!b.admits(B, || "x".into(), || None));
        assert!(!b.admits(None, || "x".into(), || None));
        let unknown = Binding::new(SessionBinding::ClientAddress, None, String::new);
        assert!(
            unknown.admits(None, String::new, || None) && !unknown.admits(A, String::new, || None)
        );
    }

    #[test]
    fn a_user_binding_admits_only_the_opening_user() {
        let b = Binding::new(SessionBinding::Off, A, String::new).with_user(Some("alice".into()));
        assert!(b.admits(B, String::new, || Some("alice".into())));
        assert!(!b.admits(A, String::new, || Some("bob".into())));
        assert!(!b.admits(A, String::new, || None));
        let nobody = Binding::new(SessionBinding::Off, A, String::new).with_user(None);
        assert!(nobody.admits(A, String::new, || None));
        assert!(!nobody.admits(A, String::new, || Some("alice".into())));
    }

    #[test]
    fn the_cookie_binding_admits_only_the_opening_cookie() {
        let b = Binding::new(SessionBinding::Cookie, A, || "abc".into());
        assert!(b.admits(B, || "abc".into(), || None));
        assert!(!b.admits(A, || "abd".into(), || None));
        let both = Binding::new(SessionBinding::ClientAddressAndCookie, A, || "abc".into());
        assert!(both.admits(A, || "abc".into(), || None));
        assert!(
            !both.admits(B, || "abc".into(), || None) && !both.admits(A, || "zzz".into(), || None)
        );
    }
}
