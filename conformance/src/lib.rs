//! SockJS protocol 0.3.3 conformance suite, as a library: the checks, the raw HTTP/1.x and
//! WebSocket clients they use, and a runner. `src/main.rs` is the command line over it; the
//! server's own integration tests run it in-process. [`torture`] is the adversarial suite and
//! soak (`src/bin/torture.rs`).

pub mod checks;
pub mod http;
pub mod request;
pub mod split;
pub mod stream;
pub mod target;
pub mod torture;
pub mod ws;

use std::time::Duration;

use checks::Ctx;
pub use http::Target;

/// Upper bound for one whole check, whatever it does.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Names of the checks that passed.
    pub passed: Vec<String>,
    /// Names and failure messages of the checks that failed.
    pub failed: Vec<(String, String)>,
}

/// The names (`Class.name`) of the checks whose name contains `filter`.
pub fn list(filter: Option<&str>) -> Vec<String> {
    checks::all()
        .into_iter()
        .map(|c| c.full_name())
        .filter(|n| filter.is_none_or(|f| n.contains(f)))
        .collect()
}

/// How a run goes.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Run only the checks whose `Class.name` contains this.
    pub filter: Option<String>,
    /// Print every request and its answer.
    pub verbose: bool,
    /// Print one line per check.
    pub print: bool,
    /// The server is behind a proxy: streaming bodies are split into frames by each
    /// transport's delimiters instead of one frame per HTTP chunk, and checks of chunking
    /// itself check the byte stream instead (chunk boundaries are hop-by-hop).
    pub proxied: bool,
}

/// Runs the checks whose name contains `filter` against `target`, one after the other,
/// printing one line per check when `print` is set (direct mode: one frame per chunk).
pub async fn run(target: Target, filter: Option<&str>, verbose: bool, print: bool) -> Report {
    let settings = Settings {
        filter: filter.map(str::to_owned),
        verbose,
        print,
        proxied: false,
    };
    run_with(target, &settings).await
}

/// Runs the checks [`Settings`] select against `target`, one after the other.
pub async fn run_with(target: Target, settings: &Settings) -> Report {
    let (filter, print) = (settings.filter.as_deref(), settings.print);
    let ctx = Ctx {
        target,
        verbose: settings.verbose,
        proxied: settings.proxied,
    };
    let mut report = Report::default();
    for c in checks::all()
        .into_iter()
        .filter(|c| filter.is_none_or(|f| c.full_name().contains(f)))
    {
        if ctx.verbose {
            println!("---- {}", c.full_name());
        }
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (c.run)(ctx.clone())).await {
            Ok(r) => r,
            Err(_) => Err(format!("check did not finish within {CHECK_TIMEOUT:?}")),
        };
        match outcome {
            Ok(()) => {
                if print {
                    println!("ok   {}", c.full_name());
                }
                report.passed.push(c.full_name());
            }
            Err(msg) => {
                if print {
                    println!("FAIL {}: {msg}", c.full_name());
                }
                report.failed.push((c.full_name(), msg));
            }
        }
    }
    report
}
