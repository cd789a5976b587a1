//! SockJS protocol 0.3.3 conformance suite.
//!
//! Runs a series of black-box checks against a running SockJS server and
//! prints one line per check, then `N passed, M failed`. The process exits
//! with status 1 when any check failed.

use std::process::ExitCode;

use clap::Parser;
use conformance::Target;

/// Checks a SockJS server against protocol 0.3.3.
///
/// The server must expose these services under URL: /echo (echo, with
/// response_limit 4096), /close (closes every session with 3000 "Go
/// away!"), /disabled_websocket_echo (echo without WebSocket) and
/// /cookie_needed_echo (echo with the JSESSIONID cookie). Only plain
/// http:// URLs are supported.
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
    /// The server is behind a reverse proxy: read streaming responses as byte streams split
    /// by each transport's delimiters (a proxy re-chunks), not one frame per HTTP chunk
    #[arg(long)]
    proxied: bool,
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
    if args.list {
        for name in conformance::list(args.filter.as_deref()) {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let settings = conformance::Settings {
        filter: args.filter,
        verbose: args.verbose,
        print: true,
        proxied: args.proxied,
    };
    let report = conformance::run_with(target, &settings).await;
    println!(
        "{} passed, {} failed",
        report.passed.len(),
        report.failed.len()
    );
    if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
