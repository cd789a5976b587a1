//! `sockjs-server`: the demo services on a SockJS server. All logic is in the library.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use clap::Parser;
use sockjs_server::api::{Api, ApiConfig};
use sockjs_server::config::Deflate;
use sockjs_server::stomp::{HistoryConfig, RelayConfig, StompConfig, Users};
use sockjs_server::{Config, demo, server};

// The flags' defaults are the library's, so that `--help` and the library never disagree.
static DEFAULTS: LazyLock<Config> = LazyLock::new(Config::default);
static DEFLATE: LazyLock<Deflate> = LazyLock::new(Deflate::default);
static OPTIONS: LazyLock<server::Options> = LazyLock::new(server::Options::default);
static STOMP: LazyLock<StompConfig> = LazyLock::new(StompConfig::default);
static RELAY: LazyLock<RelayConfig> = LazyLock::new(|| RelayConfig::to(String::new()));

/// A SockJS 0.3.3 server serving the demo services /echo, /close, /broadcast,
/// /disabled_websocket_echo and /cookie_needed_echo, plus static files at /.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "SOCKJS_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Worker threads (default: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// Directory served at / (skipped if it does not exist).
    #[arg(long, default_value = "static")]
    static_dir: PathBuf,
    /// The sockjs-client URL the iframe page loads.
    #[arg(long, default_value = sockjs_server::config::DEFAULT_SOCKJS_URL)]
    sockjs_url: String,
    /// Heartbeat interval, in seconds.
    #[arg(long, default_value_t = DEFAULTS.heartbeat_delay.as_secs_f64())]
    heartbeat_delay: f64,
    /// How long a session outlives its last receiver, in seconds.
    #[arg(long, default_value_t = DEFAULTS.disconnect_delay.as_secs_f64())]
    disconnect_delay: f64,
    /// Bytes after which a streaming response is rotated (default 128 KiB; /echo: 4096).
    #[arg(long)]
    response_limit: Option<usize>,
    /// An allowed Origin (repeat for several); default: any.
    #[arg(long = "allowed-origin")]
    allowed_origins: Vec<String>,
    /// A reverse proxy (IP or CIDR) whose X-Forwarded-For / Forwarded headers are believed
    /// (repeat for several); default: none, not even 127.0.0.1. With nginx or Apache on the
    /// same host, give --trusted-proxy 127.0.0.1 (the server logs a warning naming the address
    /// to give when an untrusted peer sends these headers).
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<sockjs_server::config::ProxyNet>,
    /// Largest incoming message or send body, in bytes.
    #[arg(long, default_value_t = DEFAULTS.max_message_bytes)]
    max_message_bytes: usize,
    /// Sessions a mount holds at most (503 / WebSocket close 1013 past it).
    #[arg(long, default_value_t = DEFAULTS.max_sessions)]
    max_sessions: usize,
    /// Sessions one client address holds at most (503 / close 1013 past it); default: no
    /// per-address limit. Beware: one address is often many users (offices, schools, mobile
    /// carriers behind NAT), and behind a proxy missing from --trusted-proxy every client has
    /// the proxy's address.
    #[arg(long)]
    max_sessions_per_client: Option<usize>,
    /// What ties a session to its client: off, address, cookie or address+cookie.
    #[arg(long, default_value_t = DEFAULTS.session_binding)]
    session_binding: sockjs_server::config::SessionBinding,
    /// Largest outgoing backlog per session, in bytes.
    #[arg(long, default_value_t = DEFAULTS.max_buffered_bytes)]
    max_buffered_bytes: usize,
    /// Offer permessage-deflate (RFC 7692) on every mount's RFC 6455 WebSockets, raw and
    /// SockJS (off unless given; see docs/operating.md).
    #[arg(long)]
    permessage_deflate: bool,
    /// With --permessage-deflate: messages shorter than this many bytes go uncompressed.
    #[arg(long, default_value_t = DEFLATE.threshold_bytes)]
    permessage_deflate_threshold: usize,
    /// With --permessage-deflate: the compression level, 0 to 9.
    #[arg(long, default_value_t = DEFLATE.level)]
    permessage_deflate_level: u32,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given).
    #[arg(long)]
    metrics_bind: Option<String>,
    /// Serve the server HTTP API (publish, users, disconnect) at http://ADDR/api/ (off
    /// unless given; needs --api-key). Keep it private: bind it to a loopback or internal
    /// address, never the public one.
    #[arg(long)]
    api_bind: Option<String>,
    /// The key every API request must carry (Authorization: Bearer KEY or X-API-Key: KEY).
    #[arg(long, env = "SOCKJS_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Largest API request body, in bytes (413 past it).
    #[arg(long, default_value_t = sockjs_server::api::DEFAULT_MAX_BODY_BYTES)]
    api_max_body_bytes: usize,
    /// Seconds between two one-line stats logs (0: none).
    #[arg(long, default_value_t = OPTIONS.stats_interval.map_or(0, |d| d.as_secs()))]
    stats_interval: u64,
    /// Seconds between checks whether enough sessions have gone to give freed memory back
    /// to the kernel (0: never).
    #[arg(long, default_value_t = OPTIONS.memory_trim.map_or(0, |d| d.as_secs()))]
    memory_trim_interval: u64,
    /// Seconds a new connection may take to send its request head (slowloris guard).
    #[arg(long, default_value_t = OPTIONS.request_head_timeout.as_secs_f64())]
    header_timeout: f64,
    /// Seconds an idle keep-alive connection is kept.
    #[arg(long, default_value_t = OPTIONS.keep_alive.as_secs_f64())]
    keep_alive: f64,
    /// Seconds in-flight requests get to finish on shutdown.
    #[arg(long, default_value_t = OPTIONS.drain.as_secs())]
    drain: u64,
    /// Also serve STOMP over plain TCP at this address, e.g. 127.0.0.1:61613 (off unless
    /// given). SockJS STOMP is always at /stomp.
    #[arg(long)]
    stomp_tcp: Option<String>,
    /// A STOMP login as NAME:PASSCODE (repeat for several); default: none.
    #[arg(long = "stomp-user")]
    stomp_users: Vec<String>,
    /// Refuse STOMP CONNECT frames without credentials.
    #[arg(long)]
    stomp_require_login: bool,
    /// The STOMP heart-beat the server offers and asks for, in milliseconds (0: none).
    #[arg(long, default_value_t = STOMP.heart_beat.0)]
    stomp_heart_beat: u64,
    /// Relay STOMP /topic/ and /queue/ to this broker (host:port, e.g. RabbitMQ's
    /// 127.0.0.1:61613) instead of the in-memory broker, so that several nodes serve as one.
    #[arg(long)]
    broker_relay: Option<String>,
    /// The relay's virtual host (the CONNECT host header).
    #[arg(long, default_value_t = RELAY.virtual_host.clone())]
    relay_vhost: String,
    /// The relay's login for client connections, NAME:PASSCODE (default: the broker's).
    #[arg(long)]
    relay_client_login: Option<String>,
    /// The relay's login for its system connection, NAME:PASSCODE (default: the broker's).
    #[arg(long)]
    relay_system_login: Option<String>,
    /// A destination prefix relayed to the broker (repeat; default /topic/ and /queue/;
    /// RabbitMQ also knows /exchange/ and /amq/queue/).
    #[arg(long = "relay-prefix")]
    relay_prefixes: Vec<String>,
    /// Seconds between two announcements of this node's users to the other nodes.
    #[arg(long, default_value_t = RELAY.registry_interval.as_secs_f64())]
    relay_registry_interval: f64,
    /// A destination prefix with presence (who is subscribed, join/leave events at
    /// /presence{destination}; docs/stomp.md "Presence"), e.g. /topic/chat. (repeat).
    /// Default: the demo chat's /topic/chat. when none of --stomp-presence, --stomp-history,
    /// --stomp-history-prefix is given (also with --broker-relay), unless --no-chat-defaults.
    #[arg(long = "stomp-presence")]
    stomp_presence: Vec<String>,
    /// Keep message history for recovery (offset/epoch on MESSAGEs, SUBSCRIBE
    /// recover-offset/recover-epoch; docs/stomp.md "History and recovery") with the library's
    /// bounds, on /topic/ unless --stomp-history-prefix says otherwise. Default: history on
    /// the demo chat's /topic/chat. when none of --stomp-history, --stomp-history-prefix,
    /// --stomp-presence is given, without --broker-relay, unless --no-chat-defaults.
    #[arg(long)]
    stomp_history: bool,
    /// A destination prefix with history (repeat; implies --stomp-history).
    #[arg(long = "stomp-history-prefix")]
    stomp_history_prefixes: Vec<String>,
    /// Leave the demo chat's default history and presence on /topic/chat. off (only the
    /// --stomp-history* and --stomp-presence flags given turn them on).
    #[arg(long)]
    no_chat_defaults: bool,
}

/// The demo chat's topics (`/app/chat/{room}` publishes to `/topic/chat.{room}`): history and
/// presence are on for them when no flag says otherwise ([`chat_defaults`]).
const CHAT_PREFIX: &str = "/topic/chat.";

/// The history and presence prefixes the flags give, with the demo chat's defaults when
/// none of `--stomp-history`, `--stomp-history-prefix`, `--stomp-presence` is given: history
/// on [`CHAT_PREFIX`] (not through the relay, which keeps no history yet) and presence on it
/// (also through the relay, which carries presence across nodes).
fn chat_defaults(cli: &Cli) -> (Option<HistoryConfig>, Vec<String>) {
    let asked = cli.stomp_history
        || !cli.stomp_history_prefixes.is_empty()
        || !cli.stomp_presence.is_empty();
    if asked || cli.no_chat_defaults {
        return (
            history_config(cli.stomp_history, &cli.stomp_history_prefixes),
            cli.stomp_presence.clone(),
        );
    }
    let history = cli
        .broker_relay
        .is_none()
        .then(|| HistoryConfig::default().prefixes(vec![CHAT_PREFIX.to_owned()]));
    (history, vec![CHAT_PREFIX.to_owned()])
}

/// The history the flags ask for (`None`: off).
fn history_config(on: bool, prefixes: &[String]) -> Option<HistoryConfig> {
    if !on && prefixes.is_empty() {
        return None;
    }
    let config = HistoryConfig::default();
    Some(match prefixes.is_empty() {
        true => config,
        false => config.prefixes(prefixes.to_vec()),
    })
}

/// `NAME:PASSCODE` as a pair.
fn login(entry: &str, flag: &str) -> Result<(String, String), String> {
    entry
        .split_once(':')
        .map(|(n, p)| (n.to_owned(), p.to_owned()))
        .ok_or_else(|| format!("{flag} wants NAME:PASSCODE"))
}

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // Display, not Debug: "max_sessions must be greater than zero", not `Zero(..)`.
        Err(e) => {
            eprintln!("sockjs-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let (history, presence) = chat_defaults(&cli);
    let mut base = Config::default()
        .sockjs_url(cli.sockjs_url)
        .heartbeat_delay(Duration::try_from_secs_f64(cli.heartbeat_delay)?)
        .disconnect_delay(Duration::try_from_secs_f64(cli.disconnect_delay)?)
        .trusted_proxies(cli.trusted_proxies)
        .max_message_bytes(cli.max_message_bytes)
        .max_buffered_bytes(cli.max_buffered_bytes)
        .max_sessions(cli.max_sessions)
        .max_sessions_per_client(cli.max_sessions_per_client)
        .session_binding(cli.session_binding);
    if cli.permessage_deflate {
        base = base.permessage_deflate(Some(
            Deflate::default()
                .threshold_bytes(cli.permessage_deflate_threshold)
                .level(cli.permessage_deflate_level),
        ));
    }
    if let Some(limit) = cli.response_limit {
        base = base.response_limit(limit);
    }
    if !cli.allowed_origins.is_empty() {
        base = base.allowed_origins(cli.allowed_origins);
    }
    let echo_limit = cli.response_limit.unwrap_or(demo::SUITE_RESPONSE_LIMIT);
    let mut mounts = demo::mounts_with(&base, echo_limit)?;
    let mut users = Users::new();
    let mut accounts = Vec::new();
    for entry in &cli.stomp_users {
        let (name, passcode) = entry
            .split_once(':')
            .ok_or("--stomp-user wants NAME:PASSCODE")?;
        users = users.login(name, passcode);
        accounts.push((name.to_owned(), passcode.to_owned()));
    }
    let site = demo::Site::new(&accounts);
    if site.is_open() {
        log::warn!("demo login is open (no --stomp-user): any name logs in without a password");
    }
    let relay = match &cli.broker_relay {
        Some(address) => {
            let mut relay = RelayConfig::to(address.clone())
                .virtual_host(cli.relay_vhost.clone())
                .registry_interval(Duration::try_from_secs_f64(cli.relay_registry_interval)?);
            if let Some(entry) = &cli.relay_client_login {
                relay = relay.client_login(Some(login(entry, "--relay-client-login")?));
            }
            if let Some(entry) = &cli.relay_system_login {
                relay = relay.system_login(Some(login(entry, "--relay-system-login")?));
            }
            if !cli.relay_prefixes.is_empty() {
                relay = relay.prefixes(cli.relay_prefixes.clone());
            }
            Some(relay)
        }
        None => None,
    };
    if let Some(history) = &history {
        log::info!("STOMP history on {:?}", history.prefixes);
    }
    if !presence.is_empty() {
        log::info!("STOMP presence on {presence:?}");
    }
    let stomp_config = StompConfig::default()
        .allow_anonymous(!cli.stomp_require_login)
        .heart_beat((cli.stomp_heart_beat, cli.stomp_heart_beat))
        .relay(relay)
        .presence(presence)
        .history(history);
    let stomp = demo::stomp_for_site(stomp_config, users, &site)?;
    mounts.push(demo::stomp_mount(&base, &stomp)?);
    let stomp_tcp = cli
        .stomp_tcp
        .as_deref()
        .map(TcpListener::bind)
        .transpose()?;
    let listener = TcpListener::bind(&cli.bind)?;
    let mut options = server::Options::default()
        .static_dir(cli.static_dir.is_dir().then_some(cli.static_dir))
        .routes(Some(site.routes()))
        .drain(Duration::from_secs(cli.drain))
        .request_head_timeout(Duration::try_from_secs_f64(cli.header_timeout)?)
        .keep_alive(Duration::try_from_secs_f64(cli.keep_alive)?)
        .stats_interval((cli.stats_interval > 0).then(|| Duration::from_secs(cli.stats_interval)))
        .memory_trim(
            (cli.memory_trim_interval > 0).then(|| Duration::from_secs(cli.memory_trim_interval)),
        );
    if let Some(workers) = cli.workers {
        options = options.workers(workers);
    }
    if let Some(addr) = &cli.metrics_bind {
        options = options.metrics(Some(std::sync::Arc::new(TcpListener::bind(addr)?)));
    }
    if let Some(addr) = &cli.api_bind {
        let config = ApiConfig::default()
            .key(cli.api_key.clone().unwrap_or_default())
            .max_body_bytes(cli.api_max_body_bytes);
        let api = Api::new(stomp.clone(), config)?;
        let listener = TcpListener::bind(addr)?;
        log::info!("server API on http://{}/api/", listener.local_addr()?);
        options = options.api(Some((std::sync::Arc::new(listener), api)));
    }
    log::info!(
        "sockjs-server listening on http://{}",
        listener.local_addr()?
    );
    actix_web::rt::System::new().block_on(async move {
        stomp.start();
        if let Some(tcp) = stomp_tcp {
            tcp.set_nonblocking(true)?;
            log::info!("STOMP over TCP on {}", tcp.local_addr()?);
            let tcp = tokio::net::TcpListener::from_std(tcp)?;
            actix_web::rt::spawn(stomp.serve_tcp(tcp, std::future::pending()));
        }
        server::run(listener, mounts, options, server::signal()).await
    })?;
    log::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults(args: &[&str]) -> (Option<Vec<String>>, Vec<String>) {
        let cli = Cli::try_parse_from([&["sockjs-server"], args].concat()).unwrap();
        let (history, presence) = chat_defaults(&cli);
        (history.map(|h| h.prefixes), presence)
    }

    #[test]
    fn no_flags_turn_history_and_presence_on_for_the_chat() {
        let chat = vec![CHAT_PREFIX.to_owned()];
        assert_eq!(defaults(&[]), (Some(chat.clone()), chat));
    }

    #[test]
    fn the_relay_keeps_presence_but_not_history_by_default() {
        let chat = vec![CHAT_PREFIX.to_owned()];
        assert_eq!(
            defaults(&["--broker-relay", "127.0.0.1:61613"]),
            (None, chat)
        );
    }

    #[test]
    fn any_history_or_presence_flag_replaces_the_defaults() {
        let topic = vec!["/topic/".to_owned()];
        assert_eq!(defaults(&["--stomp-history"]), (Some(topic), vec![]));
        assert_eq!(
            defaults(&["--stomp-presence", "/topic/x."]),
            (None, vec!["/topic/x.".to_owned()])
        );
        assert_eq!(
            defaults(&["--stomp-history-prefix", "/topic/y."]),
            (Some(vec!["/topic/y.".to_owned()]), vec![])
        );
    }

    #[test]
    fn no_chat_defaults_leaves_both_off() {
        assert_eq!(defaults(&["--no-chat-defaults"]), (None, vec![]));
    }
}
