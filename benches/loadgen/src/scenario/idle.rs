//! `idle`: open C sessions, hold them without traffic, and read the server's resident
//! memory (`VmRSS`) before opening, while holding and after closing. Figure: KiB per idle
//! session, (holding - before) / C.

use std::time::Duration;

use clap::Args;
use serde_json::json;

use crate::client::Transport;
use crate::error::within;
use crate::stats::{emit, maybe_rss};
use crate::{Common, default_tag, secs};

/// Arguments of `idle`.
#[derive(Debug, Clone, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub common: Common,
    /// The transport (websocket or xhr-streaming are the interesting ones).
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    /// Sessions to hold.
    #[arg(long, default_value_t = 5000)]
    pub sessions: usize,
    /// Seconds to let the server settle once all are open, before reading its RSS.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// Seconds to wait after closing them all before reading its RSS again (the server's
    /// disconnect delay plus a margin).
    #[arg(long, default_value_t = 7.0)]
    pub after: f64,
}

/// Runs the scenario and prints its result.
pub async fn run(args: IdleArgs) -> Result<(), String> {
    let common = &args.common;
    let pid = common.server_pid;
    let before = maybe_rss(pid).map_err(|e| e.to_string())?;
    let sessions = super::open_all(common, args.transport, args.sessions).await?;
    tokio::time::sleep(secs(args.settle)).await;
    let holding = maybe_rss(pid).map_err(|e| e.to_string())?;
    let timeout = common.timeout();
    let closing: Vec<_> = sessions
        .into_iter()
        .map(|s| tokio::spawn(async move { within(timeout, "close", s.close()).await }))
        .collect();
    for task in closing {
        // A session that fails to close cleanly is dropped all the same.
        let _ = task.await;
    }
    tokio::time::sleep(secs(args.after).max(Duration::from_millis(100))).await;
    let after = maybe_rss(pid).map_err(|e| e.to_string())?;
    let per_session = match (before, holding) {
        (Some(b), Some(h)) => Some((h as f64 - b as f64) / args.sessions as f64),
        _ => None,
    };
    let labels = common.labels(default_tag("idle", args.transport));
    emit(
        &labels,
        "idle",
        json!({
            "transport": args.transport.name(), "sessions": args.sessions,
            "rss_before_kib": before, "rss_holding_kib": holding, "rss_after_kib": after,
            "kib_per_session": per_session,
            "rss_left_kib": after.zip(before).map(|(a, b)| a as i64 - b as i64),
        }),
        &format!(
            "idle {} x{}: RSS before {} KiB, holding {} KiB, after {} KiB: {} KiB per session",
            args.transport.name(),
            args.sessions,
            show(before),
            show(holding),
            show(after),
            per_session.map_or("?".into(), |k| format!("{k:.2}")),
        ),
    );
    Ok(())
}

/// A figure that may be missing (no --server-pid).
pub fn show(v: Option<u64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}
