//! The demo services: what the binary serves by default, with the settings the SockJS
//! conformance suites expect.

mod login;

pub use login::{LOGIN_COOKIE, Site};

use crate::config::{Config, ConfigError};
use crate::handler::text::{Broadcast, CloseAtOnce, Echo};
use crate::stomp::{Stomp, StompBuilder, StompConfig, StompConfigError, Users};
use crate::transport::SockJs;

/// The suite's streaming limit for `/echo` (`XhrStreaming.test_response_limit`: 4096 bytes).
pub const SUITE_RESPONSE_LIMIT: usize = 4096;

/// `/echo`, `/close`, `/broadcast`, `/disabled_websocket_echo` and `/cookie_needed_echo`,
/// each starting from `base` (its prefix is replaced); `/echo` with the suite's response
/// limit ([`SUITE_RESPONSE_LIMIT`]).
pub fn mounts(base: &Config) -> Result<Vec<SockJs>, ConfigError> {
    mounts_with(base, SUITE_RESPONSE_LIMIT)
}

/// [`mounts`], with `/echo`'s response limit given.
pub fn mounts_with(base: &Config, echo_response_limit: usize) -> Result<Vec<SockJs>, ConfigError> {
    let at = |prefix: &str| Config {
        prefix: prefix.to_owned(),
        ..base.clone()
    };
    let echo = Config {
        response_limit: echo_response_limit,
        ..at("/echo")
    };
    let broadcast = Broadcast::new();
    Ok(vec![
        SockJs::new(echo, || Echo)?,
        SockJs::new(at("/close"), || CloseAtOnce)?,
        SockJs::new(at("/broadcast"), move || broadcast.clone())?,
        SockJs::new(
            Config {
                websocket: false,
                ..at("/disabled_websocket_echo")
            },
            || Echo,
        )?,
        SockJs::new(
            Config {
                jsessionid: true,
                ..at("/cookie_needed_echo")
            },
            || Echo,
        )?,
    ])
}

/// Where the demo STOMP service is mounted (SockJS, and raw STOMP over WebSocket at
/// `/stomp/websocket`).
pub const STOMP_PREFIX: &str = "/stomp";

/// The demo STOMP service: the broker plus a chat under `/app`:
/// - `/app/chat/{room}` publishes the body to `/topic/chat.{room}` with a `sender` header
///   (a dot, not a slash: under the broker relay RabbitMQ takes what follows `/topic/` as a
///   routing key and refuses a `/` in it);
/// - `/app/whisper/{user}` sends it to `/user/{user}/queue/whisper` (every session of `user`);
/// - `/app/echo` replies to the sender's own `/user/queue/echo`;
/// - `/app/command` runs a chat command (`/help`, answered on `/user/queue/command`); an
///   unknown one is an error, which reaches the sender's `/user/queue/errors`;
/// - SUBSCRIBE `/app/whoami` is answered once, to that subscription, with the principal's
///   name (a subscribe route, Spring's `@SubscribeMapping`).
pub fn stomp(config: StompConfig, users: Users) -> Result<Stomp, StompConfigError> {
    chat(Stomp::builder(config), users)
}

fn chat(builder: StompBuilder, users: Users) -> Result<Stomp, StompConfigError> {
    /// The answer of the chat's `/help` command (`/app/command`).
    const COMMAND_HELP: &str = "/w NAME text: whisper to every tab of NAME; /help: this list";
    /// How much of an unknown command its error repeats (characters).
    const COMMAND_SHOWN: usize = 40;
    let sender = |name: &str| vec![("sender".to_owned(), name.to_owned())];
    builder
        .authenticator(users)
        .route("/chat/{room}", move |message, context| {
            let room = message.param("room").unwrap_or_default();
            let from = sender(&context.principal().name);
            context.publish(&format!("/topic/chat.{room}"), from, message.body.clone())?;
            Ok(())
        })
        .route("/whisper/{user}", move |message, context| {
            let user = message.param("user").unwrap_or_default();
            let from = sender(&context.principal().name);
            context.send_to_user(user, "/queue/whisper", from, message.body.clone());
            Ok(())
        })
        .route("/echo", |message, context| {
            context.reply("/queue/echo", Vec::new(), message.body.clone());
            Ok(())
        })
        .subscribe_route("/whoami", |_, context| {
            Ok::<_, crate::stomp::AppError>(context.principal().name.clone())
        })
        // `/app/command`: a chat command line (`/help`), answered on the sender's own
        // `/user/queue/command`; an unknown one is an `AppError`, which goes to the sender's
        // `/user/queue/errors` (the connection stays open).
        .route("/command", |message, context| {
            let line = message.text().unwrap_or_default().trim();
            let name = line.split_whitespace().next().unwrap_or_default();
            match name {
                "/help" => {
                    context.reply("/queue/command", Vec::new(), COMMAND_HELP);
                    Ok(())
                }
                _ => {
                    let shown: String = name.chars().take(COMMAND_SHOWN).collect();
                    Err(crate::stomp::AppError(format!(
                        "unknown command {shown:?}: try /help"
                    )))
                }
            }
        })
        .build()
}

/// [`stomp`] whose SockJS sessions take their principal from `site`'s login cookie or
/// `Authorization` header (CONNECT of a cookie login then carries the CSRF token).
pub fn stomp_for_site(
    config: StompConfig,
    users: Users,
    site: &Site,
) -> Result<Stomp, StompConfigError> {
    chat(
        Stomp::builder(config).identify_shared(site.identify()),
        users,
    )
}

/// The SockJS mount of `stomp` at [`STOMP_PREFIX`], starting from `base`.
pub fn stomp_mount(base: &Config, stomp: &Stomp) -> Result<SockJs, ConfigError> {
    stomp.mount(Config {
        prefix: STOMP_PREFIX.to_owned(),
        ..base.clone()
    })
}
