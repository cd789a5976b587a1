//! `broadcast`: C websocket subscribers of a broadcast service and one sender (a session
//! of the same service) publishing at a fixed rate. Each payload starts with the send time
//! (microseconds since the scenario began, one clock: sender and subscribers share this
//! process). Figures: messages delivered per second, the share of sent x C delivered, and
//! the p50/p99 fan-out latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::{self, Frame, Session, Transport};
use crate::error::{Error, within};
use crate::stats::{Latency, emit};
use crate::{Common, default_tag, secs};

/// Most latency samples one subscriber keeps.
const MAX_SAMPLES: usize = 100_000;
/// Digits of the timestamp at the start of every payload.
const STAMP: usize = 16;

/// Arguments of `broadcast`.
#[derive(Debug, Clone, Args)]
pub struct BroadcastArgs {
    #[command(flatten)]
    pub common: Common,
    /// Subscribers.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// The subscribers' transport.
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    /// Messages per second the sender publishes.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Message size in bytes (at least the timestamp's 16).
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// Seconds to wait, after the last send, for deliveries still in flight.
    #[arg(long, default_value_t = 5.0)]
    pub grace: f64,
}

/// Runs the scenario and prints its result.
pub async fn run(args: BroadcastArgs) -> Result<(), String> {
    let common = &args.common;
    if !(0.1..=10_000.0).contains(&args.rate) {
        return Err("rate must be 0.1..=10000 msgs/s".into());
    }
    let subscribers = super::open_all(common, args.transport, args.sessions).await?;
    let base = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = subscribers
        .into_iter()
        .map(|s| tokio::spawn(subscribe(s, base, delivered.clone(), stop_rx.clone())))
        .collect();
    // Let the last subscribers' open reach the service before the first message.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = publish(&args, base).await;
    let expected = sent.as_ref().map_or(0, |&n| n * args.sessions as u64);
    let grace_end = Instant::now() + secs(args.grace);
    while delivered.load(Ordering::Relaxed) < expected && Instant::now() < grace_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut latency = Latency::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let (samples, error) = task.await.map_err(|e| format!("subscriber task: {e}"))?;
        for us in samples {
            latency.record_us(u64::from(us));
        }
        if let Some(e) = error {
            errors += 1;
            first_error.get_or_insert(e.to_string());
        }
    }
    let sent = sent?;
    let received = delivered.load(Ordering::Relaxed);
    let secs = common.duration().as_secs_f64();
    let per_s = super::rate(received, secs);
    let ratio = if expected > 0 {
        received as f64 / expected as f64
    } else {
        0.0
    };
    let (p50, p99) = (latency.quantile_us(0.5), latency.quantile_us(0.99));
    let keeps_up = ratio >= 0.99 && p99 < 1_000_000;
    let labels = common.labels(default_tag("broadcast", args.transport));
    emit(
        &labels,
        "broadcast",
        json!({
            "transport": args.transport.name(), "sessions": args.sessions, "rate": args.rate,
            "payload": args.payload, "duration_s": secs, "sent": sent, "delivered": received,
            "expected": expected, "delivered_per_s": per_s, "delivered_ratio": ratio,
            "p50_us": p50, "p99_us": p99, "max_us": latency.quantile_us(1.0),
            "keeps_up": keeps_up, "errors": errors, "first_error": first_error,
        }),
        &format!(
            "broadcast to {} at {}/s: sent {sent}, delivered {received}/{expected} \
             ({:.1} %, {per_s:.0}/s), p50 {p50} us, p99 {p99} us, keeps up: {keeps_up}, \
             {errors} errors{}",
            args.sessions,
            args.rate,
            ratio * 100.0,
            first_error
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
    );
    Ok(())
}

/// The sender: a websocket session of the service sending for the scenario's duration at
/// `args.rate`, with its own deliveries drained. Returns how many it sent.
async fn publish(args: &BroadcastArgs, base: Instant) -> Result<u64, String> {
    let common = &args.common;
    let timeout = common.timeout();
    let path = client::session_path(&common.prefix);
    let ws = within(
        timeout,
        "sender open",
        client::ws_connect(common.addr, &path),
    )
    .await
    .map_err(|e| format!("sender: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + common.duration();
    let pad = args.payload.saturating_sub(STAMP);
    let mut sent = 0;
    let outcome = loop {
        tick.tick().await;
        if Instant::now() >= end {
            break Ok(sent);
        }
        let stamp = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
        let text = format!("[\"{stamp:0STAMP$}{}\"]", "x".repeat(pad));
        match within(timeout, "send", async {
            Ok(sink.send(WsMessage::text(text)).await?)
        })
        .await
        {
            Ok(()) => sent += 1,
            Err(e) => break Err(format!("sender: {e}")),
        }
    };
    let _ = within(timeout, "sender close", async { Ok(sink.close().await?) }).await;
    drain.abort();
    outcome
}

/// One subscriber: records the fan-out latency of every message until told to stop.
async fn subscribe(
    mut session: Session,
    base: Instant,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> (Vec<u32>, Option<Error>) {
    let mut samples = Vec::new();
    loop {
        let frame = tokio::select! {
            _ = stop.changed() => break,
            frame = session.recv() => frame,
        };
        let messages = match frame {
            Ok(Frame::Messages(m)) => m,
            Ok(Frame::Heartbeat) => continue,
            Ok(other) => return (samples, Some(Error::Protocol(format!("got {other:?}")))),
            Err(e) => return (samples, Some(e)),
        };
        let now = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
        for m in &messages {
            let Some(stamp) = m.get(..STAMP).and_then(|s| s.parse::<u64>().ok()) else {
                return (samples, Some(Error::Protocol(format!("bad payload {m:?}"))));
            };
            if samples.len() < MAX_SAMPLES {
                samples.push(u32::try_from(now.saturating_sub(stamp)).unwrap_or(u32::MAX));
            }
        }
        delivered.fetch_add(messages.len() as u64, Ordering::Relaxed);
    }
    (samples, None)
}
