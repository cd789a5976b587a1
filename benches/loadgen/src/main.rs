//! `loadgen`: a SockJS load generator for benches/run.sh and benches/relay.sh. Scenarios
//! `echo`, `broadcast`, `idle`, `churn` and `stomp-broadcast` against servers on 127.0.0.1,
//! each printing one JSON line per result on stdout and a human line on stderr; `table`
//! turns the JSON lines of several rounds into a table of medians and ratios.
//!
//! Every scenario is bounded: a duration (at most [`MAX_DURATION`]), a session cap
//! ([`MAX_SESSIONS`]) and a timeout on every network wait.

mod client;
mod error;
mod http;
mod scenario;
mod stats;
mod stomp;
mod table;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::client::Transport;
use crate::stats::Labels;

/// The most sessions any scenario opens at once.
pub const MAX_SESSIONS: usize = 20_000;
/// The most sessions `hold` opens (one process; benches/scale.sh runs several).
pub const MAX_HOLD_SESSIONS: usize = 500_000;
/// The longest any scenario runs (measurement plus waits).
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// A SockJS load generator (127.0.0.1 only).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// C sessions each sending a message and waiting for its echo, in a loop.
    Echo(scenario::echo::EchoArgs),
    /// C websocket subscribers of /broadcast and one sender at a fixed rate.
    Broadcast(scenario::broadcast::BroadcastArgs),
    /// C STOMP subscribers of one topic (over SockJS websocket, spread over every --addr)
    /// and one STOMP sender at a fixed rate.
    StompBroadcast(scenario::stomp_broadcast::StompBroadcastArgs),
    /// Hold C sessions open and read the server's RSS before, during and after.
    Idle(scenario::idle::IdleArgs),
    /// Hold C idle websocket or xhr-streaming sessions from several source addresses for a
    /// duration, timing the server's heartbeats (benches/scale.sh).
    Hold(scenario::hold::HoldArgs),
    /// Open, use and close sessions as fast as C workers can.
    Churn(scenario::churn::ChurnArgs),
    /// Medians and ratios of JSON result lines (from several rounds).
    Table {
        /// Files of JSON result lines.
        inputs: Vec<PathBuf>,
        /// Also write the table as markdown here.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Which comparison: servers (ours, node, floor), relay (in-memory, relay) or ab (base,
        /// ours: two builds of ours).
        #[arg(long, value_enum, default_value = "servers")]
        layout: table::Layout,
    },
}

/// What every scenario takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The server, on 127.0.0.1 (`stomp-broadcast` takes several: repeat the flag).
    #[arg(long = "addr", default_value = "127.0.0.1:8080")]
    addrs: Vec<SocketAddr>,
    /// The SockJS prefix of the service.
    #[arg(long, default_value = "/echo")]
    prefix: String,
    /// Label: which server this is (ours, node, floor).
    #[arg(long, default_value = "ours")]
    server: String,
    /// Label: the runner's round.
    #[arg(long, default_value_t = 1)]
    round: u32,
    /// Label: the figure this result is for (default: scenario-transport).
    #[arg(long)]
    tag: Option<String>,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds any single network wait may take.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Sessions opened concurrently while setting up.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// The server's pid, to read its RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
}

impl Common {
    fn labels(&self, default_tag: String) -> Labels {
        Labels {
            server: self.server.clone(),
            round: self.round,
            tag: self.tag.clone().unwrap_or(default_tag),
        }
    }

    /// The (first) server.
    fn addr(&self) -> SocketAddr {
        // unwrap: clap gives at least the default address.
        self.addrs.first().copied().expect("at least one --addr")
    }

    fn duration(&self) -> Duration {
        secs(self.duration)
    }

    fn timeout(&self) -> Duration {
        secs(self.timeout)
    }

    fn check(&self, sessions: usize, many_addrs: bool) -> Result<(), String> {
        self.check_max(sessions, many_addrs, MAX_SESSIONS)
    }

    fn check_max(&self, sessions: usize, many_addrs: bool, max: usize) -> Result<(), String> {
        if let Some(addr) = self.addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(format!("{addr} is not a loopback address"));
        }
        if self.addrs.is_empty() || (self.addrs.len() > 1 && !many_addrs) {
            return Err("this scenario takes one --addr".into());
        }
        if sessions == 0 || sessions > max {
            return Err(format!("sessions must be 1..={max}"));
        }
        if self.duration() > MAX_DURATION / 2 || self.timeout() > MAX_DURATION / 10 {
            return Err("duration or timeout too long".into());
        }
        Ok(())
    }
}

/// Seconds as a `Duration`, clamped to `0..=MAX_DURATION` (NaN and negatives give 0).
pub fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s)
        .unwrap_or_default()
        .min(MAX_DURATION)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Echo(a) => run(&a.common.clone(), a.sessions, scenario::echo::run(a)).await,
        Command::Broadcast(a) => {
            run(&a.common.clone(), a.sessions, scenario::broadcast::run(a)).await
        }
        Command::StompBroadcast(a) => match a.common.check(a.sessions, true) {
            Ok(()) => bounded(scenario::stomp_broadcast::run(a)).await,
            Err(e) => Err(e),
        },
        Command::Idle(a) => run(&a.common.clone(), a.sessions, scenario::idle::run(a)).await,
        Command::Hold(a) => match a.common.check_max(a.sessions, false, MAX_HOLD_SESSIONS) {
            Ok(()) => bounded(scenario::hold::run(a)).await,
            Err(e) => Err(e),
        },
        Command::Churn(a) => run(&a.common.clone(), a.concurrency, scenario::churn::run(a)).await,
        Command::Table {
            inputs,
            markdown,
            layout,
        } => table::run(&inputs, markdown.as_deref(), layout),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Checks the common bounds (one address), then runs `scenario` under the hard time cap.
async fn run(
    common: &Common,
    sessions: usize,
    scenario: impl Future<Output = Result<(), String>>,
) -> Result<(), String> {
    common.check(sessions, false)?;
    bounded(scenario).await
}

/// Runs `scenario` under the hard time cap.
async fn bounded(scenario: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(MAX_DURATION, scenario)
        .await
        .map_err(|_| format!("scenario exceeded the hard cap of {MAX_DURATION:?}"))?
}

/// The default figure name of a scenario on a transport.
pub fn default_tag(scenario: &str, transport: Transport) -> String {
    format!("{}-{scenario}", transport.name())
}
