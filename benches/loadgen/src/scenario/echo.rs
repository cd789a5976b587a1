//! `echo`: C sessions, each sending one message and waiting for its echo, in a closed loop.
//! Figures: messages echoed per second and the p50/p99 round-trip latency.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use crate::client::{Session, Transport};
use crate::error::{Error, within};
use crate::stats::{Latency, emit};
use crate::{Common, default_tag, secs};

/// Arguments of `echo`.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    #[command(flatten)]
    pub common: Common,
    /// The transport.
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    /// Concurrent sessions.
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Message size in bytes (ASCII).
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// Seconds of traffic before measuring.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
}

/// What one session measured.
struct Outcome {
    latency: Latency,
    error: Option<Error>,
}

/// Runs the scenario and prints its result.
pub async fn run(args: EchoArgs) -> Result<(), String> {
    let common = &args.common;
    let sessions = super::open_all(common, args.transport, args.sessions).await?;
    let payload: String = "x".repeat(args.payload.clamp(1, 1 << 20));
    let start = Instant::now() + secs(args.warmup);
    let end = start + common.duration();
    let timeout = common.timeout();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let payload = payload.clone();
            tokio::spawn(session_loop(session, payload, start, end, timeout))
        })
        .collect();
    let mut latency = Latency::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let outcome = task.await.map_err(|e| format!("session task: {e}"))?;
        latency.merge(&outcome.latency);
        if let Some(e) = outcome.error {
            errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    let secs = common.duration().as_secs_f64();
    let msgs_per_s = super::rate(latency.count(), secs);
    let (p50, p99) = (latency.quantile_us(0.5), latency.quantile_us(0.99));
    let labels = common.labels(default_tag("echo", args.transport));
    emit(
        &labels,
        "echo",
        json!({
            "transport": args.transport.name(), "sessions": args.sessions,
            "payload": args.payload, "duration_s": secs, "messages": latency.count(),
            "msgs_per_s": msgs_per_s, "p50_us": p50, "p99_us": p99,
            "p999_us": latency.quantile_us(0.999), "errors": errors, "first_error": first_error,
        }),
        &format!(
            "echo {} C={}: {msgs_per_s:.0} msgs/s, p50 {p50} us, p99 {p99} us, {errors} errors{}",
            args.transport.name(),
            args.sessions,
            first_error
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
    );
    Ok(())
}

/// One session's closed loop: send, wait for the echo, record the round trip if it
/// started inside the measured window.
async fn session_loop(
    mut session: Session,
    payload: String,
    start: Instant,
    end: Instant,
    timeout: std::time::Duration,
) -> Outcome {
    let mut latency = Latency::new();
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let echoed = match within(timeout, "echo", session.exchange(&[&payload])).await {
            Ok(m) => m,
            Err(e) => {
                return Outcome {
                    latency,
                    error: Some(e),
                };
            }
        };
        if echoed.len() != 1 || echoed[0] != payload {
            let e = Error::Protocol(format!("echo of {} messages, not ours", echoed.len()));
            return Outcome {
                latency,
                error: Some(e),
            };
        }
        if sent >= start {
            latency.record(sent.elapsed());
        }
    }
    let _ = within(timeout, "close", session.close()).await;
    Outcome {
        latency,
        error: None,
    }
}
