//! `torture`: the adversarial suite against a running SockJS server (the demo services
//! `/echo`, `/close`, `/broadcast`), or with `--soak` a steady mix of every transport for N
//! minutes. Prints `ok`/`FAIL name: reason` per check and `N passed, M failed` last; exits 1
//! on any failure, 2 on a bad command line. All logic is in `conformance::torture`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use conformance::Target;
use conformance::torture::probe::Probe;
use conformance::torture::{self, Ctx, Size};

/// Adversarial checks (or a soak) against a SockJS server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Top URL of the server (http:// only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's Prometheus endpoint, e.g. http://127.0.0.1:9100 (sessions gauge; RSS and
    /// fds when --server-pid is not given).
    #[arg(long)]
    metrics_url: Option<String>,
    /// The server's process id: RSS and fds are read from /proc/PID.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Scale: small (CI, well under a minute) or full (the counts).
    #[arg(long, value_enum, default_value = "small")]
    size: SizeArg,
    /// The server's --header-timeout in seconds (how long slowloris connections may live).
    #[arg(long, default_value_t = 5.0)]
    header_timeout: f64,
    /// Run only the checks whose name contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Do not run the checks whose name contains this (repeatable), e.g. a known server bug.
    #[arg(long)]
    skip: Vec<String>,
    /// Soak instead of the checks: every transport at a steady rate for --minutes.
    #[arg(long)]
    soak: bool,
    /// Length of the soak, in minutes.
    #[arg(long, default_value_t = 1.0)]
    minutes: f64,
    /// Seconds between two soak samples of RSS and fds.
    #[arg(long, default_value_t = 5.0)]
    sample_every: f64,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SizeArg {
    Small,
    Full,
}

fn parse(args: &Args) -> Result<Ctx, String> {
    let target = Target::parse(&args.url)?;
    let metrics = args.metrics_url.as_deref().map(Target::parse).transpose()?;
    let header_timeout = Duration::try_from_secs_f64(args.header_timeout)
        .map_err(|e| format!("--header-timeout: {e}"))?;
    let minutes_ok = args.minutes > 0.0 && args.minutes <= 24.0 * 60.0;
    let every_ok = args.sample_every >= 0.5 && args.sample_every <= 600.0;
    if !(minutes_ok && every_ok) {
        return Err("--minutes must be in (0, 1440] and --sample-every in [0.5, 600]".into());
    }
    Ok(Ctx {
        target,
        probe: Probe {
            pid: args.server_pid,
            metrics,
        },
        size: match args.size {
            SizeArg::Small => Size::Small,
            SizeArg::Full => Size::Full,
        },
        header_timeout,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let ctx = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.soak {
        let every = Duration::from_secs_f64(args.sample_every);
        return if torture::soak::run(ctx, args.minutes, every).await {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    let report = torture::run(ctx, args.filter.as_deref(), &args.skip).await;
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
