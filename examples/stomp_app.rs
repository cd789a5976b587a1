//! A STOMP application in the style of a Spring `@MessageMapping` app: `/app` routes handled
//! in Rust, an authenticator that decides who a connection is, and a per-user queue.
//!
//! - `SEND /app/rooms/{room}` publishes the body to `/topic/rooms.{room}` with the sender's
//!   name (subscribe with `SUBSCRIBE destination:/topic/rooms.lobby`);
//! - `SEND /app/notes` keeps a note for the sender and answers on the sender's own
//!   `/user/queue/notes` (every session of that user gets it);
//! - CONNECT with `login`/`passcode` (ada/lovelace or alan/turing); anonymous connections are
//!   refused.
//!
//! ```sh
//! cargo run --example stomp_app
//! # SockJS at http://127.0.0.1:8080/stomp (e.g. @stomp/stompjs over sockjs-client),
//! # STOMP over TCP at 127.0.0.1:61613 (e.g. stomp.py or `nc`).
//! ```

use actix_web::{App, HttpServer};
use sockjs_server::Config;
use sockjs_server::stomp::{AppError, Stomp, StompConfig, Users};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    let config = StompConfig::default().allow_anonymous(false);
    let stomp = Stomp::builder(config)
        .authenticator(
            Users::new()
                .login("ada", "lovelace")
                .login("alan", "turing"),
        )
        .route("/rooms/{room}", |message, context| {
            let room = message.param("room").unwrap_or("lobby");
            if room.contains('/') {
                return Err(AppError("room names cannot hold '/'".into()));
            }
            let from = vec![("sender".to_owned(), context.principal().name.clone())];
            context.publish(&format!("/topic/rooms.{room}"), from, message.body.clone())?;
            Ok(())
        })
        .route("/notes", |message, context| {
            let note = message.text().unwrap_or_default();
            let answer = format!("noted for {}: {note}", context.principal().name);
            context.reply("/queue/notes", Vec::new(), answer);
            Ok(())
        })
        .build()
        .map_err(std::io::Error::other)?;

    // STOMP over plain TCP, beside the SockJS mount.
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:61613").await?;
    actix_web::rt::spawn(stomp.clone().serve_tcp(tcp, std::future::pending()));

    let mount = stomp
        .mount(Config::at("/stomp"))
        .map_err(std::io::Error::other)?;
    HttpServer::new(move || App::new().service(mount.clone()))
        .h1_allow_half_closed(false)
        .on_connect(sockjs_server::server::on_connect)
        .bind(("127.0.0.1", 8080))?
        .run()
        .await
}
