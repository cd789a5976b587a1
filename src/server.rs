//! Running mounts on a listener, with static files and graceful shutdown: on the shutdown
//! signal every session gets a close frame (`c[1001,"Server shutting down"]`, WebSocket close
//! 1001), then the server drains and stops.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::{App, HttpServer};

use crate::protocol::CloseReason;
use crate::transport::SockJs;

/// Server-wide options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads. Default: the number of CPUs.
    pub workers: usize,
    /// A directory served at `/` (after the mounts). Default: none.
    pub static_dir: Option<PathBuf>,
    /// How long, after the close frames, in-flight requests may take to finish. Default: 5 s.
    pub drain: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            static_dir: None,
            drain: Duration::from_secs(5),
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
    let app_mounts = mounts.clone();
    let static_dir = options.static_dir.clone();
    let server = HttpServer::new(move || {
        let mut app = App::new();
        for mount in &app_mounts {
            app = app.service(mount.clone());
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
    .workers(options.workers.max(1))
    .disable_signals()
    .shutdown_timeout(options.drain.as_secs().max(1))
    .listen(listener)?
    .run();
    let handle = server.handle();
    let server = actix_web::rt::spawn(server);
    shutdown.await;
    log::info!("shutting down: closing every session");
    for mount in &mounts {
        mount.close_all(&CloseReason::SHUTDOWN);
    }
    actix_web::rt::time::sleep(CLOSE_FRAME_GRACE).await;
    handle.stop(true).await;
    server.await.map_err(io::Error::other)?
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
