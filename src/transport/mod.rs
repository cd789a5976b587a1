//! HTTP side of a mount: [`SockJs`] is what an application adds to its actix-web `App`; it
//! routes the URL scheme to one file per transport. Transports know their framing and HTTP
//! details and nothing of sessions beyond attach, send and the receiver pipe.

mod body;
mod error;
mod eventsource;
mod hixie76;
mod htmlfile;
mod http;
mod jsonp;
mod pages;
mod websocket;
pub(crate) mod ws_guard;
mod ws_inbound;
mod xhr;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use bytes::Bytes;

pub use error::TransportError;

use crate::config::{Config, ConfigError};
use crate::identity::{Identify, Identity};
use crate::metrics::{self, Limit, MountMetrics};
use crate::protocol::{CloseReason, Route, TransportKind, pages as page, route};
use crate::session::HandlerFactory;
use crate::session::registry::{Limits, Refused};
use crate::session::{
    self, Binding, CloseCause, Mode, NewSession, Receiver, Registry, RequestHeaders, SessionHandle,
    Timing,
};

/// A request's identity, once asked (kept in the request's extensions).
#[derive(Clone)]
struct Asked(Option<Arc<Identity>>);

/// One SockJS service at a prefix: its config, its sessions and its handler factory.
/// Cheap to clone; add it to an `App` with `.service(sockjs.clone())` in the server factory.
#[derive(Clone)]
pub struct SockJs(Arc<Mount>);

struct Mount {
    config: Config,
    prefix: Arc<str>,
    registry: Arc<Registry>,
    factory: Box<dyn HandlerFactory>,
    identify: Option<Arc<dyn Identify>>,
    iframe: Bytes,
    iframe_etag: String,
    metrics: MountMetrics,
}

impl SockJs {
    /// A mount with `config`, making a handler per session with `factory`.
    pub fn new(config: Config, factory: impl HandlerFactory) -> Result<Self, ConfigError> {
        Self::with_identify(config, factory, None)
    }

    /// A mount whose sessions know who opened them: `identify` is asked on every request of
    /// a session (see [`crate::identity`]). Its answer for the opening request is the
    /// session's [`SessionHandle::identity`]; a refusal is answered 401 or 403 (WebSocket
    /// handshakes too); a later request that is another user, or nobody, gets 404. The
    /// mount also serves `{prefix}/csrf`, the CSRF token of a cookie login, to same-origin
    /// pages.
    pub fn identified(
        config: Config,
        factory: impl HandlerFactory,
        identify: Arc<dyn Identify>,
    ) -> Result<Self, ConfigError> {
        Self::with_identify(config, factory, Some(identify))
    }

    fn with_identify(
        config: Config,
        factory: impl HandlerFactory,
        identify: Option<Arc<dyn Identify>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let iframe = Bytes::from(page::iframe_page(&config.sockjs_url));
        let iframe_etag = page::etag(&iframe);
        Ok(SockJs(Arc::new(Mount {
            metrics: metrics::global().mount(&config.prefix),
            prefix: Arc::from(config.prefix.as_str()),
            config,
            registry: Arc::new(Registry::default()),
            factory: Box::new(factory),
            identify,
            iframe,
            iframe_etag,
        })))
    }

    /// The mount's configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The mount's metric handles.
    pub fn metrics(&self) -> &MountMetrics {
        &self.0.metrics
    }

    /// The mount's sessions.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.0.registry
    }

    /// Sessions the mount holds now (open, or closed and still answering with their close
    /// frame until `disconnect_delay` passes).
    pub fn session_count(&self) -> usize {
        self.0.registry.len()
    }

    /// Sessions the mount holds now for client address `client` (what the opt-in
    /// `max_sessions_per_client` counts).
    pub fn session_count_of(&self, client: IpAddr) -> usize {
        self.0.registry.held_by(client)
    }

    /// Closes every session of the mount with `reason` (graceful shutdown).
    pub fn close_all(&self, reason: &CloseReason) {
        for session in self.0.registry.all() {
            session.close_for(reason.clone(), CloseCause::Shutdown);
        }
    }
}

impl HttpServiceFactory for SockJs {
    fn register(self, config: &mut AppService) {
        let prefix = self.0.config.prefix.clone();
        let root = if prefix.is_empty() {
            "/".to_owned()
        } else {
            prefix.clone()
        };
        web::resource([root, format!("{prefix}/{{tail:.*}}")])
            .route(
                web::route().to(move |req: HttpRequest, payload: web::Payload| {
                    let mount = self.clone();
                    async move { dispatch(mount, req, payload).await }
                }),
            )
            .register(config);
    }
}

async fn dispatch(mount: SockJs, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let rest = req.path().get(mount.0.prefix.len()..).unwrap_or_default();
    if rest == CSRF_PATH && mount.0.identify.is_some() {
        return csrf_route(&mount, &req);
    }
    let route = route::parse(rest);
    let is_session = matches!(route, Route::Session { .. });
    let outcome = match route {
        Route::NotFound => Err(TransportError::NotFound),
        Route::Greeting => only(&req, &[Method::GET], "GET").map(|()| pages::greeting()),
        Route::Iframe => only(&req, &[Method::GET], "GET").map(|()| pages::iframe(&mount, &req)),
        Route::Info => match *req.method() {
            Method::GET => Ok(pages::info(&mount, &req)),
            Method::OPTIONS => Ok(pages::info_options(&mount, &req)),
            _ => Err(TransportError::MethodNotAllowed("OPTIONS, GET")),
        },
        Route::RawWebSocket => raw_websocket_route(&mount, &req, payload),
        Route::Session { session, transport } => {
            session_route(&mount, &req, payload, session, transport).await
        }
    };
    outcome.unwrap_or_else(|e| {
        match e {
            TransportError::PayloadTooLarge => mount.0.metrics.rejected(Limit::BodyTooLarge),
            TransportError::OriginNotAllowed => mount.0.metrics.rejected(Limit::Origin),
            _ => {}
        }
        log::debug!("{} {} -> {}: {}", req.method(), req.path(), e.status(), e);
        e.response(|b| {
            if is_session {
                http::session_headers(b, &req, &mount.0.config);
            }
        })
    })
}

/// Where a mount that identifies requests serves the CSRF token of a cookie login (beside
/// `/info`; not a SockJS URL, which has three segments).
const CSRF_PATH: &str = "/csrf";

/// The CSRF token of the request's cookie login, as Spring Security's `CsrfToken` JSON
/// (`headerName`, `parameterName`, `token`), to same-origin pages only: no CORS headers, so
/// another origin's script cannot read it, and `no-store` so no cache keeps it. 401 for
/// nobody, 404 for an identity that has no token (not a cookie login).
fn csrf_route(mount: &SockJs, req: &HttpRequest) -> HttpResponse {
    let answer = only(req, &[Method::GET], "GET")
        .and_then(|()| mount.identity(req))
        .and_then(|identity| identity.ok_or(TransportError::Unauthorized))
        .and_then(|identity| identity.csrf_token.clone().ok_or(TransportError::NotFound));
    match answer {
        Ok(token) => {
            let body = serde_json::json!({
                "headerName": crate::identity::CSRF_HEADER,
                "parameterName": crate::identity::CSRF_PARAMETER,
                "token": token,
            });
            HttpResponse::Ok()
                .insert_header((
                    actix_web::http::header::CACHE_CONTROL,
                    "no-store, no-cache, must-revalidate, max-age=0",
                ))
                .content_type("application/json; charset=UTF-8")
                .body(body.to_string())
        }
        Err(e) => e.response(|_| {}),
    }
}

fn raw_websocket_route(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, TransportError> {
    only(req, &[Method::GET], "GET")?;
    if !mount.0.config.websocket {
        return Err(TransportError::NotFound);
    }
    http::check_origin(req, &mount.0.config)?;
    mount.identity(req)?;
    websocket::raw(mount, req, payload)
}

async fn session_route(
    mount: &SockJs,
    req: &HttpRequest,
    payload: web::Payload,
    session: &str,
    transport: TransportKind,
) -> Result<HttpResponse, TransportError> {
    use TransportKind::*;
    let (methods, allow): (&[Method], &'static str) = match transport {
        WebSocket | EventSource | HtmlFile | JsonpPolling => (&[Method::GET], "GET"),
        XhrPolling | XhrSend | XhrStreaming => (&[Method::POST, Method::OPTIONS], "OPTIONS, POST"),
        JsonpSend => (&[Method::POST], "POST"),
        RawWebSocket => return Err(TransportError::NotFound),
    };
    only(req, methods, allow)?;
    let config = &mount.0.config;
    if transport == WebSocket && !config.websocket {
        return Err(TransportError::NotFound);
    }
    http::check_origin(req, config)?;
    if *req.method() == Method::OPTIONS {
        return Ok(xhr::options(req, config));
    }
    mount.identity(req)?;
    match transport {
        WebSocket => websocket::sockjs(mount, req, payload, session),
        XhrPolling => xhr::poll(mount, req, session).await,
        XhrStreaming => xhr::streaming(mount, req, session).await,
        XhrSend => xhr::send(mount, req, payload, session).await,
        EventSource => eventsource::stream(mount, req, session).await,
        HtmlFile => htmlfile::stream(mount, req, session).await,
        JsonpPolling => jsonp::poll(mount, req, session).await,
        JsonpSend => jsonp::send(mount, req, payload, session).await,
        RawWebSocket => Err(TransportError::NotFound),
    }
}

fn only(req: &HttpRequest, methods: &[Method], allow: &'static str) -> Result<(), TransportError> {
    if methods.contains(req.method()) {
        Ok(())
    } else {
        Err(TransportError::MethodNotAllowed(allow))
    }
}

impl SockJs {
    fn limits(&self) -> Limits {
        Limits {
            max_sessions: self.0.config.max_sessions,
            max_per_client: self.0.config.max_sessions_per_client,
        }
    }

    /// Who `req` is, asked of the mount's [`Identify`] once per request (`Ok(None)` for a
    /// mount without one).
    fn identity(&self, req: &HttpRequest) -> Result<Option<Arc<Identity>>, TransportError> {
        let Some(identify) = &self.0.identify else {
            return Ok(None);
        };
        if let Some(Asked(known)) = req.extensions().get::<Asked>() {
            return Ok(known.clone());
        }
        let identity = identify
            .identify(req)
            .inspect_err(|e| log::debug!("{} {}: identity refused: {e}", req.method(), req.path()))?
            .map(Arc::new);
        req.extensions_mut().insert(Asked(identity.clone()));
        Ok(identity)
    }

    /// The name of the user `req` is (`None`: nobody, or refused).
    fn user(&self, req: &HttpRequest) -> Option<String> {
        self.identity(req).ok().flatten().map(|i| i.name.clone())
    }

    /// What later requests must match to use a session this request (from `client`) opens.
    fn binding(&self, req: &HttpRequest, client: Option<IpAddr>) -> Binding {
        let binding = Binding::new(self.0.config.session_binding, client, || {
            http::jsessionid_value(req)
        });
        match self.0.identify {
            Some(_) => binding.with_user(self.user(req)),
            None => binding,
        }
    }

    /// Whether `req`, from `client`, may use `session` (see `Config::session_binding`);
    /// refusals are logged.
    fn admits(&self, session: &SessionHandle, req: &HttpRequest, client: Option<IpAddr>) -> bool {
        let ok =
            session
                .binding()
                .admits(client, || http::jsessionid_value(req), || self.user(req));
        if !ok {
            self.0.metrics.rejected(Limit::Binding);
            log::warn!(
                "session {} on {}: refused a request from another client ({client:?})",
                session.id(),
                self.0.prefix,
            );
        }
        ok
    }

    /// The live HTTP session `id` if `req` may use it.
    fn find(&self, req: &HttpRequest, id: &str) -> Result<SessionHandle, TransportError> {
        let session = self.0.registry.find(id).ok_or(TransportError::NotFound)?;
        if self.admits(&session, req, http::client_ip(req, &self.0.config)) {
            Ok(session)
        } else {
            Err(TransportError::NotFound)
        }
    }

    fn new_session(
        &self,
        req: &HttpRequest,
        client: Option<IpAddr>,
        id: &str,
        transport: TransportKind,
        mode: Mode,
    ) -> NewSession {
        let config = &self.0.config;
        NewSession {
            binding: self.binding(req, client),
            id: id.to_owned(),
            prefix: Arc::clone(&self.0.prefix),
            transport,
            peer: req.peer_addr(),
            client,
            headers: RequestHeaders::copy_from(req.headers()),
            identity: self.identity(req).ok().flatten(),
            timing: Timing {
                heartbeat: config.heartbeat_delay,
                disconnect: config.disconnect_delay,
            },
            mode,
            max_buffered: config.max_buffered_bytes,
            registry: Arc::clone(&self.0.registry),
            handler: self.0.factory.create(),
            metrics: self.0.metrics.clone(),
        }
    }

    /// Starts a WebSocket session (not findable by id: its life is its socket's), if the
    /// admission limits allow.
    fn start_socket(
        &self,
        req: &HttpRequest,
        id: &str,
        transport: TransportKind,
        mode: Mode,
    ) -> Result<SessionHandle, Refused> {
        let client = http::client_ip(req, &self.0.config);
        self.0
            .registry
            .add_socket(client, self.limits(), || {
                session::start(self.new_session(req, client, id, transport, mode), true)
            })
            .inspect_err(|e| self.refused(e, client))
    }

    fn refused(&self, e: &Refused, client: Option<IpAddr>) {
        self.0.metrics.rejected(match e {
            Refused::Full => Limit::MaxSessions,
            Refused::ClientFull => Limit::MaxSessionsPerClient,
        });
        log::warn!(
            "{}: new session from {client:?} refused: {e}",
            self.0.prefix
        );
    }

    /// Attaches a new receiver with `framing` to session `id`, creating the session if it does
    /// not exist (or has just finished).
    async fn attach(
        &self,
        req: &HttpRequest,
        id: &str,
        transport: TransportKind,
        framing: crate::protocol::Framing,
        limit: usize,
    ) -> Result<Receiver, TransportError> {
        let client = http::client_ip(req, &self.0.config);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let handle = self
                .0
                .registry
                .find_or_create(id, client, self.limits(), || {
                    let new = self.new_session(req, client, id, transport, Mode::Framed);
                    session::start(new, false)
                })
                .map_err(|e| {
                    self.refused(&e, client);
                    TransportError::Unavailable
                })?;
            if !self.admits(&handle, req, client) {
                return Err(TransportError::NotFound);
            }
            match handle.attach(framing.clone(), limit).await {
                Ok(receiver) => return Ok(receiver),
                // The session finished between lookup and attach: forget it and start anew.
                Err(_) if attempt < 3 => self.0.registry.remove(&handle),
                Err(_) => return Err(TransportError::Unavailable),
            }
        }
    }
}
