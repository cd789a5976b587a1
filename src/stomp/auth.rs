//! Who a connection is and what it may do: a pluggable [`Authenticator`] turns CONNECT
//! credentials (login/passcode, or a token header) into a [`Principal`]; a pluggable
//! [`Authorizer`] allows or refuses each SUBSCRIBE and SEND by destination.
//!
//! Owns: the auth seams and the shipped [`Users`] table. Must not: do I/O or block (they run
//! on the connection's task or session actor).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::headers::{AUTHORIZATION, LOGIN, PASSCODE, TOKEN};

/// Who a connection is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The user name; user destinations `/user/{name}/...` reach every session with it.
    pub name: String,
    /// Whether the connection gave no credentials.
    pub anonymous: bool,
}

/// What CONNECT said about identity.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// `login` header.
    pub login: Option<&'a str>,
    /// `passcode` header.
    pub passcode: Option<&'a str>,
    /// `token` header, or the token of `Authorization: Bearer <token>`.
    pub token: Option<&'a str>,
    /// Every CONNECT header.
    pub headers: &'a [(String, String)],
    /// The peer, if known.
    pub peer: Option<SocketAddr>,
}

impl<'a> Credentials<'a> {
    /// Reads the credentials out of CONNECT headers.
    pub fn from_headers(headers: &'a [(String, String)], peer: Option<SocketAddr>) -> Self {
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let bearer = get(AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "));
        Credentials {
            login: get(LOGIN),
            passcode: get(PASSCODE),
            token: get(TOKEN).or(bearer),
            headers,
            peer,
        }
    }

    /// Whether any credential was given.
    pub fn is_empty(&self) -> bool {
        self.login.is_none() && self.token.is_none()
    }
}

/// CONNECT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The credentials do not match.
    #[error("bad credentials")]
    BadCredentials,
    /// No credentials, and anonymous connections are not allowed.
    #[error("login required")]
    LoginRequired,
    /// CONNECT of a cookie-identified session without the CSRF token header.
    #[error("missing CSRF token: CONNECT must carry the X-CSRF-TOKEN header")]
    CsrfMissing,
    /// CONNECT of a cookie-identified session with a token that is not the login's.
    #[error("invalid CSRF token")]
    CsrfInvalid,
}

/// Turns credentials into a principal.
pub trait Authenticator: Send + Sync + 'static {
    /// `Ok(Some)` for a known user, `Ok(None)` when no credentials were given (the service
    /// then applies `allow_anonymous`).
    ///
    /// # Errors
    /// [`AuthError`] to refuse the connection (ERROR, then close).
    fn authenticate(&self, credentials: &Credentials<'_>) -> Result<Option<Principal>, AuthError>;
}

/// A fixed table of logins (with passcodes) and tokens. Empty by default: only anonymous
/// connections succeed; credentials not in the table are refused.
#[derive(Debug, Clone, Default)]
pub struct Users {
    logins: HashMap<String, String>,
    tokens: HashMap<String, String>,
}

impl Users {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a login with its passcode.
    #[must_use]
    pub fn login(mut self, name: impl Into<String>, passcode: impl Into<String>) -> Self {
        self.logins.insert(name.into(), passcode.into());
        self
    }

    /// Adds a token naming a user.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>, name: impl Into<String>) -> Self {
        self.tokens.insert(token.into(), name.into());
        self
    }
}

impl Authenticator for Users {
    fn authenticate(&self, c: &Credentials<'_>) -> Result<Option<Principal>, AuthError> {
        let named = |name: &str| {
            Ok(Some(Principal {
                name: name.to_owned(),
                anonymous: false,
            }))
        };
        if let Some(token) = c.token {
            return match self.tokens.get(token) {
                Some(name) => named(name),
                None => Err(AuthError::BadCredentials),
            };
        }
        match c.login {
            None => Ok(None),
            Some(login)
                if self
                    .logins
                    .get(login)
                    .is_some_and(|p| Some(p.as_str()) == c.passcode) =>
            {
                named(login)
            }
            Some(_) => Err(AuthError::BadCredentials),
        }
    }
}

/// What a frame asks to do with a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// SUBSCRIBE.
    Subscribe,
    /// SEND.
    Send,
}

/// Allows or refuses a principal's SUBSCRIBE and SEND by destination.
pub trait Authorizer: Send + Sync + 'static {
    /// Whether `principal` may do `action` on `destination` (as the client wrote it).
    fn allows(&self, principal: &Principal, action: Action, destination: &str) -> bool;
}

/// Allows everything (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn allows(&self, _: &Principal, _: Action, _: &str) -> bool {
        true
    }
}

impl<F> Authorizer for F
where
    F: Fn(&Principal, Action, &str) -> bool + Send + Sync + 'static,
{
    fn allows(&self, principal: &Principal, action: Action, destination: &str) -> bool {
        self(principal, action, destination)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn users_check_passcodes_and_tokens() {
        let users = Users::new().login("alice", "pw").token("t1", "bob");
        let check = |pairs: &[(&str, &str)]| {
            let h = headers(pairs);
            users.authenticate(&Credentials::from_headers(&h, None))
        };
        assert_eq!(
            check(&[("login", "alice"), ("passcode", "pw")])
                .unwrap()
                .unwrap()
                .name,
            "alice"
        );
        assert_eq!(
            check(&[("login", "alice"), ("passcode", "no")]),
            Err(AuthError::BadCredentials)
        );
        assert_eq!(check(&[("login", "carol")]), Err(AuthError::BadCredentials));
        assert_eq!(
            check(&[("Authorization", "Bearer t1")])
                .unwrap()
                .unwrap()
                .name,
            "bob"
        );
        assert_eq!(check(&[("token", "t2")]), Err(AuthError::BadCredentials));
        assert_eq!(check(&[]), Ok(None));
    }

    #[test]
    fn closures_are_authorizers() {
        let deny_secret = |_: &Principal, _: Action, d: &str| !d.starts_with("/topic/secret");
        let p = Principal {
            name: "x".into(),
            anonymous: true,
        };
        assert!(deny_secret.allows(&p, Action::Send, "/topic/a"));
        assert!(!deny_secret.allows(&p, Action::Subscribe, "/topic/secret/1"));
    }
}
