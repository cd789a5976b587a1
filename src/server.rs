//! Running mounts on a listener, with static files and graceful shutdown: on the shutdown
//! signal every session gets a close frame (`c[1001,"Server shutting down"]`, WebSocket close
//! 1001), then the server drains and stops.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};

use crate::api::Api;
use crate::{limits, memory, metrics};

use crate::protocol::CloseReason;
use crate::transport::SockJs;

/// The connection hook a server of your own needs for WebSocket closes (installed by
/// [`run`]): see [`crate::transport::ws_guard::on_connect`].
pub use crate::transport::ws_guard::on_connect;

/// Server-wide options, from their defaults with the setter named after each field.
///
/// ```
/// use std::time::Duration;
/// use sockjs_server::server::Options;
///
/// let options = Options::default().workers(2).drain(Duration::from_secs(10));
/// assert_eq!(options.keep_alive, Duration::from_secs(5)); // the default
/// ```
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads. Default: the number of CPUs.
    pub workers: usize,
    /// A directory served at `/` (after the mounts). Default: none.
    pub static_dir: Option<PathBuf>,
    /// How long, after the close frames, in-flight requests may take to finish. Default: 5 s.
    pub drain: Duration,
    /// How long a new connection may take to send its request head before it is dropped
    /// (slowloris). Default: 5 s.
    pub request_head_timeout: Duration,
    /// How long an idle keep-alive connection is kept. Default: 5 s.
    pub keep_alive: Duration,
    /// Where to serve `GET /metrics` (Prometheus/OpenMetrics text), on its own listener so
    /// it need not be exposed with the service. Default: none (off).
    pub metrics: Option<Arc<TcpListener>>,
    /// Where to serve the server HTTP API ([`crate::api`]: publish, who is online,
    /// disconnect), on its own listener, which must stay private (the key is its only
    /// guard). Default: none (off).
    pub api: Option<(Arc<TcpListener>, Api)>,
    /// Interval of the one-line stats log at info level. Default: 60 s; `None` turns it off.
    pub stats_interval: Option<Duration>,
    /// How often to check whether enough sessions have gone to give freed memory back to the
    /// kernel (`malloc_trim`, once a crowd of sessions has gone). Default: 1 s; `None` turns it
    /// off.
    pub memory_trim: Option<Duration>,
    /// The application's own routes (a login form, an API), added after the mounts and
    /// before the static files. Default: none.
    pub routes: Option<Routes>,
    /// Whether [`run`] raises the process's soft open-file limit to its hard limit at start
    /// (as nginx's `worker_rlimit_nofile` or Go's runtime do; logged), before it warns about
    /// OS limits too low for the mounts' `max_sessions` (docs/operating.md, "Many
    /// sessions"). Default: true.
    pub raise_fd_limit: bool,
}

/// Routes an application adds to the server's `App` (see [`Options::routes`]): called once
/// per worker, as actix-web's `App::configure`.
#[derive(Clone)]
pub struct Routes(Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>);

impl Routes {
    /// Routes that `configure` adds.
    pub fn new(configure: impl Fn(&mut web::ServiceConfig) + Send + Sync + 'static) -> Self {
        Routes(Arc::new(configure))
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Routes(..)")
    }
}

setters!(Options {
    workers: usize,
    static_dir: Option<PathBuf>,
    drain: Duration,
    request_head_timeout: Duration,
    keep_alive: Duration,
    metrics: Option<Arc<TcpListener>>,
    api: Option<(Arc<TcpListener>, Api)>,
    stats_interval: Option<Duration>,
    memory_trim: Option<Duration>,
    routes: Option<Routes>,
    raise_fd_limit: bool,
});

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            static_dir: None,
            drain: Duration::from_secs(5),
            request_head_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(5),
            metrics: None,
            api: None,
            stats_interval: Some(Duration::from_secs(60)),
            memory_trim: Some(Duration::from_secs(1)),
            routes: None,
            raise_fd_limit: true,
        }
    }
}

/// Time given to close frames to reach their receivers before the server stops.
const CLOSE_FRAME_GRACE: Duration = Duration::from_millis(200);

/// Serves `mounts` on `listener` until `shutdown` completes, then closes every session and
/// drains.
pub async fn run(
    listener: TcpListener,
    mounts: Vec<SockJs>,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let most_sessions = mounts.iter().map(|m| m.config().max_sessions).max();
    limits::check(most_sessions.unwrap_or(0), options.raise_fd_limit);
    if let Err(e) = limits::widen_backlog(&listener) {
        log::warn!(
            "could not set the listen backlog to {}: {e}",
            limits::BACKLOG
        );
    }
    let app_mounts = mounts.clone();
    let static_dir = options.static_dir.clone();
    let routes = options.routes.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for mount in &app_mounts {
            app = app.service(mount.clone());
        }
        if let Some(Routes(configure)) = &routes {
            let configure = Arc::clone(configure);
            app = app.configure(move |config| configure(config));
        }
        if let Some(dir) = &static_dir {
            app = app.service(actix_files::Files::new("/", dir).index_file("index.html"));
        }
        app
    })
    // A client's EOF ends its connection at once, so an aborted streaming or polling request
    // is seen immediately and its session closed with 1002
    // (`HandlingClose.test_abort_xhr_streaming`). Embedders should set this too.
    .h1_allow_half_closed(false)
    // Frames leave as they are written, not held by Nagle's algorithm for an ACK (actix
    // leaves the OS default, Nagle on; sockjs-node's sockets have it off).
    .tcp_nodelay(true)
    // A WebSocket's connection closed right after its close handshake (see `on_connect`);
    // before `listen`, since actix-web captures the hook when a listener is bound.
    .on_connect(on_connect)
    .client_request_timeout(options.request_head_timeout)
    .keep_alive(options.keep_alive)
    .workers(options.workers.max(1))
    .disable_signals()
    .shutdown_timeout(options.drain.as_secs().max(1))
    .listen(listener)?
    .run();
    let handle = server.handle();
    let server = actix_web::rt::spawn(server);
    let metrics_server = match &options.metrics {
        Some(listener) => Some(serve_metrics(listener.try_clone()?)?),
        None => None,
    };
    let api_server = match &options.api {
        Some((listener, api)) => Some(serve_api(listener.try_clone()?, api.clone())?),
        None => None,
    };
    let stats = options
        .stats_interval
        .map(|every| actix_web::rt::spawn(log_stats(mounts.clone(), every)));
    let trim = options
        .memory_trim
        .map(|every| actix_web::rt::spawn(trim_memory(mounts.clone(), every)));
    shutdown.await;
    for task in [stats, trim].into_iter().flatten() {
        task.abort();
    }
    for side in [metrics_server, api_server].into_iter().flatten() {
        side.stop(true).await;
    }
    log::info!("shutting down: closing every session");
    for mount in &mounts {
        mount.close_all(&CloseReason::SHUTDOWN);
    }
    actix_web::rt::time::sleep(CLOSE_FRAME_GRACE).await;
    handle.stop(true).await;
    server.await.map_err(io::Error::other)?
}

/// Serves `GET /metrics` on its own small server.
fn serve_metrics(listener: TcpListener) -> io::Result<actix_web::dev::ServerHandle> {
    serve_aside(listener, |config| {
        config.route(
            "/metrics",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
                    .body(metrics::global().encode())
            }),
        );
    })
}

/// Serves the server API on its own small server.
fn serve_api(listener: TcpListener, api: Api) -> io::Result<actix_web::dev::ServerHandle> {
    serve_aside(listener, move |config| api.configure(config))
}

/// A one-worker server beside the service on `listener`, with the routes `configure` adds,
/// stopped through its handle with the service.
fn serve_aside(
    listener: TcpListener,
    configure: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
) -> io::Result<actix_web::dev::ServerHandle> {
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Ok(handle)
}

/// Every `every`, gives freed memory back once enough sessions have gone.
async fn trim_memory(mounts: Vec<SockJs>, every: Duration) {
    let mut tick = actix_web::rt::time::interval(every);
    let mut trimmer = memory::Trimmer::default();
    loop {
        tick.tick().await;
        let live = mounts.iter().map(|m| m.registry().len()).sum();
        if trimmer.observe(live) {
            memory::trim();
        }
    }
}

/// Logs one line of figures every `every` (as Spring's broker stats do).
async fn log_stats(mounts: Vec<SockJs>, every: Duration) {
    let mut tick = actix_web::rt::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let sessions: Vec<String> = mounts
            .iter()
            .map(|m| {
                format!(
                    "{} {}",
                    if m.config().prefix.is_empty() {
                        "/"
                    } else {
                        &m.config().prefix
                    },
                    m.registry().len()
                )
            })
            .collect();
        let (mut msgs_in, mut msgs_out) = (0, 0);
        for m in &mounts {
            msgs_in += m.metrics().messages_in.get();
            msgs_out += m.metrics().messages_out.get();
        }
        log::info!(
            "stats: sessions [{}]; messages in {msgs_in}, out {msgs_out}; rss {} KiB, {} fds",
            sessions.join(", "),
            metrics::process_rss_bytes().unwrap_or(0) / 1024,
            metrics::process_open_fds().unwrap_or(0),
        );
    }
}

/// Completes on SIGTERM or ctrl-c.
pub async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
