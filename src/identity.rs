//! Who the client is, decided from the HTTP request that opens a session, as Spring's
//! `DefaultHandshakeHandler.determineUser` takes the principal of the web login: a browser
//! logged in to the site is the same user on every transport, with no credentials in
//! JavaScript.
//!
//! A mount given an [`Identify`] ([`SockJs::identified`](crate::SockJs::identified), or
//! [`StompBuilder::identify`](crate::stomp::StompBuilder::identify)) asks it on every request
//! of a session: the opening request's answer becomes the session's
//! [`SessionHandle::identity`](crate::SessionHandle::identity), a refusal answers 401 or 403
//! (a WebSocket handshake is refused the same way), and a later request of the session that
//! yields another identity (or none) gets 404, as session binding does.
//!
//! A cookie rides along with any request the browser makes, from any page: an identity that
//! came from a cookie ([`Source::Cookie`]) carries the CSRF token of that login, which the
//! STOMP CONNECT must repeat in its [`CSRF_HEADER`] (Spring Security's
//! `CsrfChannelInterceptor`); the page reads it from the mount's `/csrf` endpoint, which
//! answers same-origin pages only.
//!
//! Shipped: [`Logins`] (cookie login sessions with their CSRF tokens, what a login form
//! sets), [`Accounts`] (HTTP Basic, `Authorization: Bearer` and the `access_token` query
//! parameter, which a browser's WebSocket can send), [`AnyOf`] (the first that knows the
//! request), and closures.
//!
//! Owns: identities, the [`Identify`] seam and the shipped stores. Must not: know about
//! sessions or transports (they depend on it), or compare a secret in variable time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use parking_lot::Mutex;

/// The CONNECT header that carries the CSRF token (Spring Security's default,
/// `DefaultCsrfToken` header name).
pub const CSRF_HEADER: &str = "X-CSRF-TOKEN";
/// The form parameter name the token endpoint reports (Spring Security's `_csrf`).
pub const CSRF_PARAMETER: &str = "_csrf";
/// The query parameter a browser's WebSocket uses for a bearer token, since it cannot set
/// headers (RFC 6750 section 2.3).
pub const ACCESS_TOKEN_PARAMETER: &str = "access_token";

/// Who a request is.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name (STOMP's principal, `/user/{name}/...`).
    pub name: String,
    /// What the request proved it with.
    pub source: Source,
    /// The CSRF token bound to the login, for identities a browser sends by itself.
    pub csrf_token: Option<String>,
}

impl Identity {
    /// User `name`, proved by `source`, with no CSRF token.
    pub fn new(name: impl Into<String>, source: Source) -> Self {
        Identity {
            name: name.into(),
            source,
            csrf_token: None,
        }
    }

    /// The same identity bound to CSRF token `token`.
    #[must_use]
    pub fn with_csrf_token(mut self, token: impl Into<String>) -> Self {
        self.csrf_token = Some(token.into());
        self
    }
}

/// What proved an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A cookie: the browser sends it with every request to the site, whichever page makes
    /// it, so a CSRF token must prove the page is the application's.
    Cookie,
    /// A header the page's code sets (`Authorization`): other pages cannot.
    Header,
    /// A query parameter the page's code puts in the URL (`access_token`).
    Query,
}

impl Source {
    /// Whether the browser sends this by itself, from any page (so CSRF applies).
    pub fn sent_by_browser(self) -> bool {
        self == Source::Cookie
    }
}

/// An identity refused: the request gets 401 or 403 (a WebSocket handshake too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Credentials missing or wrong (401).
    #[error("authentication required")]
    Unauthorized,
    /// Known, and not allowed here (403).
    #[error("forbidden")]
    Forbidden,
}

/// Decides who a request is. Called on every request of a mount's sessions, on the request
/// path: keep it quick and never block.
pub trait Identify: Send + Sync + 'static {
    /// `Ok(Some)`: this user; `Ok(None)`: nobody in particular (STOMP then asks CONNECT);
    /// `Err`: refuse the request.
    ///
    /// # Errors
    /// [`Refusal`] to answer 401 or 403.
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal>;
}

impl<F> Identify for F
where
    F: Fn(&HttpRequest) -> Result<Option<Identity>, Refusal> + Send + Sync + 'static,
{
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal> {
        self(request)
    }
}

/// Equality of two secrets in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes, URL-safe base64 (a login cookie or a CSRF token).
fn secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One login session of [`Logins`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user.
    pub name: String,
    /// The cookie's value (random, 256 bits).
    pub cookie: String,
    /// The CSRF token bound to it (random, 256 bits).
    pub csrf_token: String,
}

struct Entry {
    login: Login,
    seen: Instant,
}

/// Cookie login sessions, in memory: what a login form creates ([`Logins::log_in`], then
/// the [`Logins::set_cookie`] header) and what identifies later requests by their cookie,
/// each with a CSRF token of its own (Spring Security's `HttpSessionCsrfTokenRepository`).
/// A login unused for `idle` is forgotten (default 30 minutes, a servlet session's default);
/// past `max` logins the least recently used goes (default 100,000). An unknown or expired
/// cookie is nobody (`Ok(None)`), not a refusal, so the site's public pages keep working.
pub struct Logins {
    cookie: String,
    idle: Duration,
    max: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("cookie", &self.cookie)
            .field("idle", &self.idle)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Logins {
    /// Default idle expiry of a login.
    pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);
    /// Default bound on logins held.
    pub const DEFAULT_MAX: usize = 100_000;

    /// Logins carried by the cookie named `cookie`.
    pub fn new(cookie: impl Into<String>) -> Self {
        Logins {
            cookie: cookie.into(),
            idle: Self::DEFAULT_IDLE,
            max: Self::DEFAULT_MAX,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Forget logins unused for `idle`.
    #[must_use]
    pub fn idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Hold at most `max` logins (at least one).
    #[must_use]
    pub fn max(mut self, max: usize) -> Self {
        self.max = max.max(1);
        self
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.cookie
    }

    /// A new login session of `name` (the caller has checked the password).
    pub fn log_in(&self, name: impl Into<String>) -> Login {
        let login = Login {
            name: name.into(),
            cookie: secret(),
            csrf_token: secret(),
        };
        let now = Instant::now();
        let mut entries = self.entries.lock();
        if entries.len() >= self.max {
            entries.retain(|_, e| now.saturating_duration_since(e.seen) < self.idle);
        }
        if entries.len() >= self.max
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.seen)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        let entry = Entry {
            login: login.clone(),
            seen: now,
        };
        entries.insert(login.cookie.clone(), entry);
        login
    }

    /// The `Set-Cookie` value for `login`: `HttpOnly` (scripts cannot read it) and
    /// `SameSite=Lax` (other sites' requests do not carry it; other origins of the same
    /// site do, which the CSRF token is for).
    pub fn set_cookie(&self, login: &Login) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax",
            self.cookie, login.cookie
        )
    }

    /// The `Set-Cookie` value that clears the cookie.
    pub fn clear_cookie(&self) -> String {
        format!(
            "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
            self.cookie
        )
    }

    /// The login `request`'s cookie names, if it is known and fresh (and marks it used).
    pub fn find(&self, request: &HttpRequest) -> Option<Login> {
        let value = request.cookie(&self.cookie)?;
        let now = Instant::now();
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(value.value())?;
        if now.saturating_duration_since(entry.seen) >= self.idle {
            entries.remove(value.value());
            return None;
        }
        entry.seen = now;
        Some(entry.login.clone())
    }

    /// Ends the login `request`'s cookie names; its sessions stop being admitted.
    pub fn log_out(&self, request: &HttpRequest) -> Option<Login> {
        let value = request.cookie(&self.cookie)?;
        self.entries.lock().remove(value.value()).map(|e| e.login)
    }

    /// Logins held now.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether no login is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Identify for Logins {
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal> {
        Ok(self.find(request).map(|login| {
            Identity::new(login.name, Source::Cookie).with_csrf_token(login.csrf_token)
        }))
    }
}

/// Users with passwords (`Authorization: Basic`, RFC 7617) and bearer tokens
/// (`Authorization: Bearer`, or the `access_token` query parameter for a browser's
/// WebSocket, RFC 6750). Wrong credentials are refused (401); no credentials are nobody
/// (`Ok(None)`) unless [`Accounts::required`] is set.
#[derive(Default)]
pub struct Accounts {
    passwords: HashMap<String, String>,
    tokens: HashMap<String, String>,
    required: bool,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("users", &self.passwords.len())
            .field("tokens", &self.tokens.len())
            .field("required", &self.required)
            .finish()
    }
}

impl Accounts {
    /// No accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds user `name` with `password`.
    #[must_use]
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.passwords.insert(name.into(), password.into());
        self
    }

    /// Adds bearer token `token` naming user `name`.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>, name: impl Into<String>) -> Self {
        self.tokens.insert(token.into(), name.into());
        self
    }

    /// Refuse requests without credentials (401) instead of treating them as nobody.
    #[must_use]
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    fn basic(&self, encoded: &str) -> Result<Option<Identity>, Refusal> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| Refusal::Unauthorized)?;
        let text = String::from_utf8(decoded).map_err(|_| Refusal::Unauthorized)?;
        let (name, password) = text.split_once(':').ok_or(Refusal::Unauthorized)?;
        let known = self.passwords.get(name).map(String::as_bytes);
        // Compared even for an unknown user, so that timing does not tell users apart.
        let ok = constant_time_eq(known.unwrap_or_default(), password.as_bytes());
        (known.is_some() && ok)
            .then(|| Some(Identity::new(name, Source::Header)))
            .ok_or(Refusal::Unauthorized)
    }

    fn bearer(&self, token: &str, source: Source) -> Result<Option<Identity>, Refusal> {
        let found = self.tokens.iter().fold(None, |found, (t, name)| {
            found.or(constant_time_eq(t.as_bytes(), token.as_bytes()).then_some(name))
        });
        found
            .map(|name| Some(Identity::new(name.as_str(), source)))
            .ok_or(Refusal::Unauthorized)
    }
}

impl Identify for Accounts {
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal> {
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(value) = authorization {
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if scheme.eq_ignore_ascii_case("basic") {
                return self.basic(rest);
            }
            if scheme.eq_ignore_ascii_case("bearer") {
                return self.bearer(rest.trim(), Source::Header);
            }
        }
        let query = serde_urlencoded::from_str::<Vec<(String, String)>>(request.query_string())
            .unwrap_or_default();
        if let Some((_, token)) = query.iter().find(|(k, _)| k == ACCESS_TOKEN_PARAMETER) {
            return self.bearer(token, Source::Query);
        }
        if self.required {
            Err(Refusal::Unauthorized)
        } else {
            Ok(None)
        }
    }
}

/// Several ways to identify, asked in order: the first identity wins, the first refusal
/// refuses, and nobody if none knows the request.
#[derive(Default, Clone)]
pub struct AnyOf(Vec<Arc<dyn Identify>>);

impl std::fmt::Debug for AnyOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyOf({} ways)", self.0.len())
    }
}

impl AnyOf {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `way`, asked after those added before.
    #[must_use]
    pub fn or(mut self, way: impl Identify) -> Self {
        self.0.push(Arc::new(way));
        self
    }

    /// Adds a shared `way` (e.g. the [`Logins`] a login form also writes to).
    #[must_use]
    pub fn or_shared(mut self, way: Arc<dyn Identify>) -> Self {
        self.0.push(way);
        self
    }
}

impl Identify for AnyOf {
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal> {
        for way in &self.0 {
            if let Some(identity) = way.identify(request)? {
                return Ok(Some(identity));
            }
        }
        Ok(None)
    }
}

impl Identify for Arc<Logins> {
    fn identify(&self, request: &HttpRequest) -> Result<Option<Identity>, Refusal> {
        self.as_ref().identify(request)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn basic(user: &str, password: &str) -> String {
        let pair = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn accounts_check_basic_bearer_and_the_query_token() {
        let accounts = Accounts::new().user("alice", "pw").token("t1", "bob");
        let ask = |r: TestRequest| accounts.identify(&r.to_http_request());
        let with = |v: String| TestRequest::default().insert_header((header::AUTHORIZATION, v));
        assert_eq!(
            ask(with(basic("alice", "pw"))),
            Ok(Some(Identity::new("alice", Source::Header)))
        );
        assert_eq!(ask(with(basic("alice", "no"))), Err(Refusal::Unauthorized));
        assert_eq!(ask(with(basic("carol", ""))), Err(Refusal::Unauthorized));
        assert_eq!(ask(with("Basic !!".into())), Err(Refusal::Unauthorized));
        assert_eq!(
            ask(with("Bearer t1".into())),
            Ok(Some(Identity::new("bob", Source::Header)))
        );
        assert_eq!(ask(with("Bearer t2".into())), Err(Refusal::Unauthorized));
        assert_eq!(
            ask(TestRequest::with_uri("/x?access_token=t1")),
            Ok(Some(Identity::new("bob", Source::Query)))
        );
        assert_eq!(ask(TestRequest::default()), Ok(None));
        let strict = Accounts::new().required(true);
        assert_eq!(
            strict.identify(&TestRequest::default().to_http_request()),
            Err(Refusal::Unauthorized)
        );
    }

    #[test]
    fn logins_identify_by_cookie_with_a_csrf_token_and_forget_on_log_out() {
        let logins = Logins::new("SID");
        let login = logins.log_in("alice");
        assert_ne!(login.cookie, login.csrf_token);
        let request = || {
            TestRequest::default()
                .cookie(actix_web::cookie::Cookie::new("SID", login.cookie.clone()))
                .to_http_request()
        };
        let identity = logins.identify(&request()).unwrap().unwrap();
        assert_eq!(identity.name, "alice");
        assert_eq!(identity.source, Source::Cookie);
        assert_eq!(
            identity.csrf_token.as_deref(),
            Some(login.csrf_token.as_str())
        );
        let stranger = TestRequest::default()
            .cookie(actix_web::cookie::Cookie::new("SID", "forged"))
            .to_http_request();
        assert_eq!(logins.identify(&stranger), Ok(None));
        assert!(logins.log_out(&request()).is_some());
        assert_eq!(logins.identify(&request()), Ok(None));
    }

    #[test]
    fn logins_are_bounded_and_expire() {
        let logins = Logins::new("SID").max(2);
        let first = logins.log_in("a");
        logins.log_in("b");
        logins.log_in("c");
        assert_eq!(logins.len(), 2);
        let old = TestRequest::default()
            .cookie(actix_web::cookie::Cookie::new("SID", first.cookie))
            .to_http_request();
        assert_eq!(logins.identify(&old), Ok(None));
        let brief = Logins::new("SID").idle(Duration::ZERO);
        let login = brief.log_in("a");
        let request = TestRequest::default()
            .cookie(actix_web::cookie::Cookie::new("SID", login.cookie))
            .to_http_request();
        assert_eq!(brief.identify(&request), Ok(None));
    }

    #[test]
    fn any_of_takes_the_first_identity_and_stops_at_a_refusal() {
        let logins = Arc::new(Logins::new("SID"));
        let login = logins.log_in("alice");
        let ways = AnyOf::new()
            .or(Arc::clone(&logins))
            .or(Accounts::new().user("bob", "pw"));
        let cookie = TestRequest::default()
            .cookie(actix_web::cookie::Cookie::new("SID", login.cookie))
            .insert_header((header::AUTHORIZATION, basic("bob", "pw")))
            .to_http_request();
        assert_eq!(ways.identify(&cookie).unwrap().unwrap().name, "alice");
        let wrong = TestRequest::default()
            .insert_header((header::AUTHORIZATION, basic("bob", "no")))
            .to_http_request();
        assert_eq!(ways.identify(&wrong), Err(Refusal::Unauthorized));
        assert_eq!(
            ways.identify(&TestRequest::default().to_http_request()),
            Ok(None)
        );
    }
}
