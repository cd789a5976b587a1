//! `bench-floor`: the memory floor of our stack, a bare actix-web + actix-ws server with no
//! SockJS library and no actor, measured by benches/run.sh the same way as the servers.
//!
//! Just enough SockJS shape for the load generator's clients: a websocket at
//! `/echo/{server}/{session}/websocket` that sends `o` on open and answers a text `T` with
//! `aT` (the client sends JSON arrays, so that is a valid message frame), and a streaming
//! response at `/echo/{server}/{session}/xhr_streaming` (the 2 KiB prelude and `o`, then
//! held open). Usage: bench-floor [--bind 127.0.0.1:PORT] [--workers N]

use std::io;

use actix_web::web::{self, Bytes};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::Message;
use futures_util::StreamExt;

/// The xhr-streaming prelude: 2048 `h` and a newline, as SockJS sends it.
const PRELUDE_LEN: usize = 2048;

async fn websocket(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        if session.text("o").await.is_err() {
            return;
        }
        while let Some(Ok(msg)) = stream.next().await {
            let sent = match msg {
                Message::Text(text) => session.text(format!("a{text}")).await,
                Message::Ping(bytes) => session.pong(&bytes).await,
                Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

async fn xhr_streaming() -> HttpResponse {
    let mut head = vec![b'h'; PRELUDE_LEN];
    head.extend_from_slice(b"\no\n");
    let body = futures_util::stream::once(async move { Ok::<_, io::Error>(Bytes::from(head)) })
        .chain(futures_util::stream::pending());
    HttpResponse::Ok()
        .content_type("application/javascript; charset=UTF-8")
        .streaming(body)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> io::Result<()> {
    let bind = arg("--bind").unwrap_or_else(|| "127.0.0.1:8082".into());
    let workers = match arg("--workers") {
        Some(w) => w
            .parse()
            .map_err(|_| io::Error::other(format!("bad --workers {w:?}")))?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new()
                .route(
                    "/echo/{server}/{session}/websocket",
                    web::get().to(websocket),
                )
                .route(
                    "/echo/{server}/{session}/xhr_streaming",
                    web::post().to(xhr_streaming),
                )
        })
        // As our server does: a client's EOF ends its connection at once.
        .h1_allow_half_closed(false)
        .workers(workers)
        .bind(bind)?
        .run()
        .await
    })
}
