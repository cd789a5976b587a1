//! `churn`: C workers each opening a session, exchanging one message and closing it, in a
//! loop. Figures: sessions per second; the server's RSS before, at the end and after its
//! disconnect delay; and how many of a sample of the closed sessions the server still
//! knows afterwards (an `xhr_send` to a forgotten session answers 404). With `--wait-fin` a
//! websocket session ends only when the server has closed the TCP connection (RFC 6455
//! clients wait for it), so the rate includes how soon the server closes.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::client::{Session, Transport, xhr_send_status};
use crate::error::{Error, within};
use crate::scenario::idle::show;
use crate::stats::{emit, maybe_rss};
use crate::{Common, default_tag, secs};

/// Most sessions one run opens.
const MAX_TOTAL: u64 = 1_000_000;

/// Arguments of `churn`.
#[derive(Debug, Clone, Args)]
pub struct ChurnArgs {
    #[command(flatten)]
    pub common: Common,
    /// The transport: websocket closes each session itself; xhr-polling abandons it, so the
    /// server must expire it.
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    /// Concurrent workers.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Stop after this many sessions even if time is left.
    #[arg(long, default_value_t = 200_000)]
    pub max_sessions: u64,
    /// Seconds to wait after the last session before reading RSS and probing (the server's
    /// disconnect delay plus a margin).
    #[arg(long, default_value_t = 7.0)]
    pub after: f64,
    /// How many closed sessions each worker keeps to probe afterwards.
    #[arg(long, default_value_t = 20)]
    pub probe: usize,
    /// Websocket: after the close handshake, wait for the server's FIN before the next
    /// session (as RFC 6455 clients do) instead of dropping the socket.
    #[arg(long)]
    pub wait_fin: bool,
}

/// Runs the scenario and prints its result.
pub async fn run(args: ChurnArgs) -> Result<(), String> {
    let common = &args.common;
    let pid = common.server_pid;
    let before = maybe_rss(pid).map_err(|e| e.to_string())?;
    let end = Instant::now() + common.duration();
    let started = Instant::now();
    let per_worker = args.max_sessions.min(MAX_TOTAL) / args.concurrency.max(1) as u64;
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(args.clone(), end, per_worker.max(1))))
        .collect();
    let (mut done, mut errors, mut first_error, mut probe) = (0, 0, None, Vec::new());
    for task in tasks {
        let (n, paths, error) = task.await.map_err(|e| format!("worker: {e}"))?;
        done += n;
        probe.extend(paths);
        if let Some(e) = error {
            errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let at_end = maybe_rss(pid).map_err(|e| e.to_string())?;
    tokio::time::sleep(secs(args.after)).await;
    let after = maybe_rss(pid).map_err(|e| e.to_string())?;
    let left = probe_left(common, &probe).await?;
    let per_s = super::rate(done, elapsed);
    let labels = common.labels(default_tag("churn", args.transport));
    emit(
        &labels,
        "churn",
        json!({
            "transport": args.transport.name(), "concurrency": args.concurrency,
            "wait_fin": args.wait_fin,
            "sessions": done, "duration_s": elapsed, "sessions_per_s": per_s,
            "rss_before_kib": before, "rss_end_kib": at_end, "rss_after_kib": after,
            "rss_left_kib": after.zip(before).map(|(a, b)| a as i64 - b as i64),
            "probed": probe.len(), "left_behind": left,
            "errors": errors, "first_error": first_error,
        }),
        &format!(
            "churn {}{} C={}: {done} sessions, {per_s:.0}/s; RSS before {} KiB, end {} KiB, \
             after {} KiB; {left}/{} probed sessions still known; {errors} errors{}",
            args.transport.name(),
            if args.wait_fin {
                " (waiting for FIN)"
            } else {
                ""
            },
            args.concurrency,
            show(before),
            show(at_end),
            show(after),
            probe.len(),
            first_error
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
    );
    Ok(())
}

/// One worker: sessions until `end` or `max`; returns how many, the paths to probe and the
/// error that stopped it early.
async fn worker(args: ChurnArgs, end: Instant, max: u64) -> (u64, Vec<String>, Option<Error>) {
    let common = &args.common;
    let timeout = common.timeout();
    let (mut n, mut paths) = (0, Vec::new());
    while n < max && Instant::now() < end {
        let one = async {
            let mut s = Session::open(common.addr(), &common.prefix, args.transport).await?;
            let echoed = s.exchange(&["churn"]).await?;
            if echoed != ["churn"] {
                return Err(Error::Protocol(format!("echo {echoed:?}")));
            }
            let path = s.path().to_owned();
            if args.wait_fin {
                s.close_waiting_fin().await?;
            } else {
                s.close().await?;
            }
            Ok(path)
        };
        match within(timeout, "churn session", one).await {
            Ok(path) => {
                n += 1;
                // Keep the latest: they had the least time to expire.
                if paths.len() >= args.probe && !paths.is_empty() {
                    paths.remove(0);
                }
                if args.probe > 0 {
                    paths.push(path);
                }
            }
            Err(e) => return (n, paths, Some(e)),
        }
    }
    (n, paths, None)
}

/// How many of `paths` the server still knows (`xhr_send` not answered 404).
async fn probe_left(common: &Common, paths: &[String]) -> Result<usize, String> {
    let mut conn = None;
    let mut left = 0;
    for path in paths {
        let status = within(
            common.timeout(),
            "probe",
            xhr_send_status(common.addr(), path, &mut conn, b"[\"probe\"]"),
        )
        .await
        .map_err(|e| format!("probing {path}: {e}"))?;
        if status != 404 {
            left += 1;
        }
    }
    Ok(left)
}
