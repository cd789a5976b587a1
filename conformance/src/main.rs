//! SockJS protocol 0.3.3 conformance suite.
//!
//! Runs a series of black-box checks against a running SockJS server and
//! prints one line per check, then `N passed, M failed`. The process exits
//! with status 1 when any check failed.

mod checks;
mod http;
mod request;
mod stream;
mod target;
mod ws;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use checks::Ctx;
use http::Target;

/// Upper bound for one whole check, whatever it does.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks a SockJS server against protocol 0.3.3.
///
/// The server must expose these services under URL: /echo (echo, with
/// response_limit 4096), /close (closes every session with 3000 "Go
/// away!"), /disabled_websocket_echo (echo without WebSocket) and
/// /cookie_needed_echo (echo with the JSESSIONID cookie). Only plain
/// http:// URLs are supported. Leave a few seconds between two runs
/// against the same server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Top URL of the server (http:// only), e.g. http://127.0.0.1:8080
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Run only checks whose `Class.name` contains this substring
    #[arg(long)]
    filter: Option<String>,
    /// List the checks (after filtering) instead of running them
    #[arg(long)]
    list: bool,
    /// Print each request and its answer
    #[arg(long)]
    verbose: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = match Target::parse(&args.url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<_> = checks::all()
        .into_iter()
        .filter(|c| {
            args.filter
                .as_deref()
                .is_none_or(|f| c.full_name().contains(f))
        })
        .collect();
    if args.list {
        for c in &selected {
            println!("{}", c.full_name());
        }
        return ExitCode::SUCCESS;
    }
    let ctx = Ctx {
        target,
        verbose: args.verbose,
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for c in &selected {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (c.run)(ctx.clone())).await {
            Ok(r) => r,
            Err(_) => Err(format!("check did not finish within {CHECK_TIMEOUT:?}")),
        };
        match outcome {
            Ok(()) => {
                passed += 1;
                println!("ok   {}", c.full_name());
            }
            Err(msg) => {
                failed += 1;
                println!("FAIL {}: {msg}", c.full_name());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
