//! A STOMP application built the way a Spring `@EnableWebSocketMessageBroker` app is, with
//! each Spring piece's counterpart (README, "Coming from Spring"):
//!
//! - `.`-separated routes (`AntPathMatcher(".")`): `SEND /app/rooms.{room}` returns the
//!   message, which goes to `/topic/rooms.{room}` (a `@MessageMapping` return value);
//! - `SUBSCRIBE /app/rooms.{room}.recent` is answered once with the room's last messages,
//!   to that subscription only (`@SubscribeMapping`);
//! - a handler error goes to the sender's `/user/queue/errors` and the connection stays
//!   (`@MessageExceptionHandler` + `@SendToUser("/queue/errors")`);
//! - `SUBSCRIBE /topic/rooms.*` follows every room (RabbitMQ's topic wildcards);
//! - who a SockJS session is comes from its HTTP request, HTTP Basic here
//!   (`DefaultHandshakeHandler`), or from CONNECT's `login`/`passcode` over TCP;
//! - an interceptor refuses SENDs without a `content-type` (`ChannelInterceptor`), and a
//!   listener logs connects and disconnects (`SessionConnectedEvent`, ...);
//! - `stomp.registry()` says who is online (`SimpUserRegistry`), logged every 10 s.
//!
//! ```sh
//! cargo run --example stomp_app
//! # SockJS at http://127.0.0.1:8080/stomp with Authorization: Basic (ada:lovelace,
//! # alan:turing); STOMP over TCP at 127.0.0.1:61613 with login/passcode.
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use parking_lot::Mutex;
use sockjs_server::Config;
use sockjs_server::identity::Accounts;
use sockjs_server::stomp::{
    AppError, Command, Event, Frame, Inbound, InterceptContext, Interceptor, Reply, Stomp,
    StompConfig, Users,
};

/// Messages kept per room for late subscribers.
const RECENT: usize = 20;

/// Refuses SENDs to `/app` that do not say what their body is.
struct TypedSends;

impl Interceptor for TypedSends {
    fn inbound(&self, frame: &mut Frame, _: &InterceptContext<'_>) -> Inbound {
        let to_app = frame
            .get("destination")
            .is_some_and(|d| d.starts_with("/app/"));
        if frame.command == Command::Send && to_app && frame.get("content-type").is_none() {
            return Inbound::Reject("SEND to /app needs a content-type".into());
        }
        Inbound::Pass
    }

    fn intercepts_outbound(&self) -> bool {
        false
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("info"));
    let recent: Arc<Mutex<HashMap<String, VecDeque<String>>>> = Arc::default();
    let (keep, show) = (Arc::clone(&recent), Arc::clone(&recent));
    let config = StompConfig::default()
        .allow_anonymous(false)
        .path_separator('.');
    let stomp = Stomp::builder(config)
        .identify(
            Accounts::new()
                .user("ada", "lovelace")
                .user("alan", "turing"),
        )
        .authenticator(
            Users::new()
                .login("ada", "lovelace")
                .login("alan", "turing"),
        )
        .route("rooms.{room}", move |message, context| {
            let room = message.param("room").unwrap_or("lobby");
            let text = message.text().ok_or(AppError("text only".into()))?;
            if text.trim().is_empty() {
                return Err(AppError("empty message".into()));
            }
            let line = format!("{}: {text}", context.principal().name);
            let mut rooms = keep.lock();
            let kept = rooms.entry(room.to_owned()).or_default();
            kept.push_back(line.clone());
            if kept.len() > RECENT {
                kept.pop_front();
            }
            Ok(line) // to /topic/rooms.{room}
        })
        .subscribe_route("rooms.{room}.recent", move |message, _| {
            let room = message.param("room").unwrap_or("lobby");
            let lines = show.lock().get(room).cloned().unwrap_or_default();
            Ok::<_, AppError>(Reply::new(Vec::from(lines).join("\n")).header("room", room))
        })
        .interceptor(TypedSends)
        .on_event(|event| match event {
            Event::Connected { user, .. } | Event::Disconnected { user, .. } => {
                log::info!("{}: {user}", event.name());
            }
            _ => {}
        })
        .build()
        .map_err(std::io::Error::other)?;

    let watched = stomp.clone();
    actix_web::rt::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let registry = watched.registry();
            let names: Vec<String> = registry.users().into_iter().map(|u| u.name).collect();
            log::info!(
                "online: {names:?}; following every room: {}",
                registry.subscriber_count("/topic/rooms.lobby")
            );
        }
    });

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
