//! The adversarial suite ("torture"): black-box checks that a SockJS server holds under
//! hostile or careless clients (malformed input, huge bodies, slowloris, abandoned sessions,
//! slow consumers, garbage WebSocket frames, many clients), and a soak mode. Every check is
//! bounded in count and time, all traffic goes to the target (127.0.0.1 in CI), and a
//! misbehaving server yields `FAIL`, never a panic.
//!
//! Needs the demo services `/echo` (response_limit 4096), `/close` and `/broadcast`.
//! `src/bin/torture.rs` is the command line over [`run`] and [`soak::run`].

pub mod churn;
pub mod client;
pub mod flood;
pub mod input;
pub mod limits;
pub mod ordering;
pub mod probe;
pub mod rawws;
pub mod slowloris;
pub mod soak;
pub mod transports;
pub mod wsgarbage;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::http::Target;
use probe::Probe;

/// How many of everything a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Scaled down for CI: the whole run takes well under a minute.
    Small,
    /// The counts of the issue: 10,000 abandoned sessions, 200 slowloris connections,
    /// 50 clients x 1,000 messages, 500 dropped WebSockets.
    Full,
}

impl Size {
    /// `small` or `full`, chosen by the size.
    pub fn pick<T>(self, small: T, full: T) -> T {
        match self {
            Size::Small => small,
            Size::Full => full,
        }
    }
}

/// What every check receives.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The SockJS server (top URL; the demo services live under it).
    pub target: Target,
    /// Where RSS, fds and the sessions gauge are read.
    pub probe: Probe,
    /// Scale of the run.
    pub size: Size,
    /// The server's `--header-timeout` (how long a request head may take), in seconds.
    pub header_timeout: Duration,
}

impl Ctx {
    /// Path of a service's base URL, e.g. `/echo`.
    pub fn base(&self, service: &str) -> String {
        format!("{}{}", self.target.prefix, service)
    }

    /// Path of a fresh session of `service`, e.g. `/echo/000/<uuid>`.
    pub fn session(&self, service: &str) -> String {
        format!(
            "{}/000/{}",
            self.base(service),
            crate::checks::new_session_id()
        )
    }
}

/// The outcome of one check: `Ok(note)` (the note is printed after `ok`), or why it failed.
pub type Outcome = Result<String, String>;
type CheckFn = fn(Ctx) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// One named check.
pub struct Check {
    /// Stable name, e.g. `input.malformed_json`.
    pub name: &'static str,
    /// The check itself.
    pub run: CheckFn,
}

macro_rules! check {
    ($name:expr, $f:path) => {
        $crate::torture::Check {
            name: $name,
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}
pub(crate) use check;

/// Every check, in the order they run (cheap input checks first, churn last so that the
/// sessions of the others have expired when it takes its baseline).
pub fn all() -> Vec<Check> {
    let mut v = Vec::new();
    v.extend(input::checks());
    v.extend(flood::checks());
    v.extend(wsgarbage::checks());
    v.extend(limits::checks());
    v.extend(slowloris::checks());
    v.extend(ordering::checks());
    v.extend(churn::checks());
    v
}

/// Upper bound for one check, whatever it does.
pub fn check_timeout(size: Size) -> Duration {
    size.pick(Duration::from_secs(60), Duration::from_secs(240))
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Checks that passed.
    pub passed: Vec<String>,
    /// Checks that failed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Runs the checks whose name contains `filter` and none of `skip`, one after the other,
/// printing one line each (`skip name` for the skipped ones).
pub async fn run(ctx: Ctx, filter: Option<&str>, skip: &[String]) -> Report {
    let mut report = Report::default();
    let limit = check_timeout(ctx.size);
    for c in all()
        .into_iter()
        .filter(|c| filter.is_none_or(|f| c.name.contains(f)))
    {
        if skip.iter().any(|s| c.name.contains(s.as_str())) {
            println!("skip {}", c.name);
            continue;
        }
        let started = Instant::now();
        // Each check runs as its own task so a panic in it (a bug of ours) is a FAIL too.
        let task = tokio::spawn((c.run)(ctx.clone()));
        let outcome = match tokio::time::timeout(limit, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => Err(format!("the check crashed: {e}")),
            Err(_) => Err(format!("did not finish within {limit:?}")),
        };
        let took = started.elapsed().as_secs_f64();
        match outcome {
            Ok(note) => {
                println!(
                    "ok   {} ({took:.1}s){}",
                    c.name,
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(": {note}")
                    }
                );
                report.passed.push(c.name.to_owned());
            }
            Err(reason) => {
                println!("FAIL {}: {reason} ({took:.1}s)", c.name);
                report.failed.push((c.name.to_owned(), reason));
            }
        }
    }
    report
}

/// Fails with `msg` unless `cond`.
pub fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Mebibytes, for messages.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
