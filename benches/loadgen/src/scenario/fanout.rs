//! What the fan-out scenarios (`broadcast`, `stomp-broadcast`) share: the timestamped
//! payload, the paced sender loop, the subscriber loop that times each delivery, waiting for
//! deliveries in flight, and the result line. Time is microseconds since the scenario's
//! `base` instant: sender and subscribers share this process, so there is one clock.
//!
//! Owns: how a fan-out is timed and reported. Must not: know a wire format (the scenarios
//! supply an [`Inbox`] and an [`Outbox`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, Result, within};
use crate::stats::{Labels, Latency, emit};
use crate::{Common, secs};

/// Most latency samples one subscriber keeps.
const MAX_SAMPLES: usize = 100_000;
/// Digits of the timestamp at the start of every payload.
pub const STAMP: usize = 16;
/// How often the wait for deliveries in flight looks at the count.
const SETTLE_POLL: Duration = Duration::from_millis(20);
/// The rates a sender may be asked for, in messages per second.
const RATES: std::ops::RangeInclusive<f64> = 0.1..=10_000.0;

/// The sender's pace and the wait after it: arguments every fan-out scenario takes.
#[derive(Debug, Clone, Args)]
pub struct Pace {
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

impl Pace {
    /// Refuses a rate outside [`RATES`] (before anything is opened).
    pub fn check(&self) -> std::result::Result<(), String> {
        if RATES.contains(&self.rate) {
            Ok(())
        } else {
            Err("rate must be 0.1..=10000 msgs/s".into())
        }
    }
}

/// One fan-out: every inbox subscribed, `settle` waited, then `send` (given the run's base
/// instant, returning how many it sent), the wait for deliveries in flight, and the result
/// line for `scenario`, labelled `tag`, with `extra` fields.
pub async fn run<F>(
    common: &Common,
    pace: &Pace,
    (scenario, tag): (&str, String),
    inboxes: Vec<impl Inbox>,
    settle: Duration,
    send: impl FnOnce(Instant) -> F,
    extra: Value,
) -> std::result::Result<(), String>
where
    F: Future<Output = std::result::Result<u64, String>>,
{
    let sessions = inboxes.len();
    let fan = Fanout::new();
    let tasks: Vec<_> = inboxes.into_iter().map(|i| fan.subscribe(i)).collect();
    tokio::time::sleep(settle).await;
    let sent = send(fan.base()).await;
    let expected = sent.as_ref().map_or(0, |&n| n * sessions as u64);
    let tally = fan.finish(expected, secs(pace.grace), tasks).await?;
    report(
        &common.labels(tag),
        Figures {
            scenario,
            sessions,
            rate: pace.rate,
            payload: pace.payload,
            secs: common.duration().as_secs_f64(),
            sent: sent?,
        },
        tally,
        extra,
    );
    Ok(())
}

/// Where a subscriber's deliveries come from.
pub trait Inbox: Send + 'static {
    /// The payloads of the next delivery batch (at least one); heartbeats and other control
    /// traffic skipped; anything unexpected is an error.
    fn next_payloads(&mut self) -> impl Future<Output = Result<Vec<String>>> + Send;
}

/// Where the sender's messages go.
pub trait Outbox {
    /// Publishes one payload.
    fn publish(&mut self, payload: &str) -> impl Future<Output = Result<()>> + Send;
}

/// A payload of `size` bytes (at least [`STAMP`]): the time since `base` in microseconds,
/// zero-padded, then `x`s.
pub fn payload(base: Instant, size: usize) -> String {
    let stamp = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
    format!("{stamp:0STAMP$}{}", "x".repeat(size.saturating_sub(STAMP)))
}

/// The send time at the start of `payload`.
fn stamp_of(payload: &str) -> Option<u64> {
    payload.get(..STAMP).and_then(|s| s.parse().ok())
}

/// The fan-out's shared state: the clock, the delivery count and the stop signal.
#[derive(Debug)]
pub struct Fanout {
    base: Instant,
    delivered: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
}

/// What each subscriber task returns: its latency samples (us) and the error that ended it.
pub type Samples = (Vec<u32>, Option<Error>);

impl Fanout {
    /// A fan-out whose clock starts now.
    pub fn new() -> Self {
        Fanout {
            base: Instant::now(),
            delivered: Arc::new(AtomicU64::new(0)),
            stop: watch::channel(false).0,
        }
    }

    /// The clock's zero.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// Starts a subscriber task reading `inbox` until [`Fanout::finish`].
    pub fn subscribe(&self, inbox: impl Inbox) -> JoinHandle<Samples> {
        tokio::spawn(subscriber(
            inbox,
            self.base,
            self.delivered.clone(),
            self.stop.subscribe(),
        ))
    }

    /// Waits up to `grace` for `expected` deliveries, stops the subscribers and gathers
    /// what they measured.
    pub async fn finish(
        self,
        expected: u64,
        grace: Duration,
        tasks: Vec<JoinHandle<Samples>>,
    ) -> std::result::Result<Tally, String> {
        let grace_end = Instant::now() + grace;
        while self.delivered.load(Ordering::Relaxed) < expected && Instant::now() < grace_end {
            tokio::time::sleep(SETTLE_POLL).await;
        }
        let _ = self.stop.send(true);
        let mut tally = Tally::default();
        for task in tasks {
            let (samples, error) = task.await.map_err(|e| format!("subscriber task: {e}"))?;
            for us in samples {
                tally.latency.record_us(u64::from(us));
            }
            if let Some(e) = error {
                tally.errors += 1;
                tally.first_error.get_or_insert(e.to_string());
            }
        }
        tally.delivered = self.delivered.load(Ordering::Relaxed);
        Ok(tally)
    }
}

/// One subscriber: records the fan-out latency of every payload until told to stop.
async fn subscriber(
    mut inbox: impl Inbox,
    base: Instant,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Samples {
    let mut samples = Vec::new();
    loop {
        let payloads = tokio::select! {
            _ = stop.changed() => break,
            batch = inbox.next_payloads() => match batch {
                Ok(p) => p,
                Err(e) => return (samples, Some(e)),
            },
        };
        let now = u64::try_from(base.elapsed().as_micros()).unwrap_or(u64::MAX);
        for p in &payloads {
            let Some(stamp) = stamp_of(p) else {
                return (samples, Some(Error::Protocol(format!("bad payload {p:?}"))));
            };
            if samples.len() < MAX_SAMPLES {
                samples.push(u32::try_from(now.saturating_sub(stamp)).unwrap_or(u32::MAX));
            }
        }
        delivered.fetch_add(payloads.len() as u64, Ordering::Relaxed);
    }
    (samples, None)
}

/// The sender's loop: one payload of `pace.payload` bytes every `1 / pace.rate` s for the
/// scenario's duration, each send bounded by its timeout. Returns how many were sent.
pub async fn publish(
    outbox: &mut impl Outbox,
    base: Instant,
    pace: &Pace,
    common: &Common,
) -> Result<u64> {
    let (size, duration, timeout) = (pace.payload, common.duration(), common.timeout());
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / pace.rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + duration;
    let mut sent = 0;
    loop {
        tick.tick().await;
        if Instant::now() >= end {
            return Ok(sent);
        }
        within(timeout, "send", outbox.publish(&payload(base, size))).await?;
        sent += 1;
    }
}

/// What the subscribers measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Payloads delivered, over all subscribers.
    pub delivered: u64,
    /// Send-to-arrival latencies.
    pub latency: Latency,
    /// Subscribers that ended with an error.
    pub errors: u64,
    /// The first of those errors.
    pub first_error: Option<String>,
}

/// The scenario's figures, for [`report`].
#[derive(Debug)]
struct Figures<'a> {
    /// The scenario's name in the result.
    pub scenario: &'a str,
    /// Subscribers.
    pub sessions: usize,
    /// Messages per second asked of the sender.
    pub rate: f64,
    /// Payload bytes.
    pub payload: usize,
    /// Seconds of sending.
    pub secs: f64,
    /// Messages sent.
    pub sent: u64,
}

/// Prints the result line: delivered per second, the share of sent x C delivered, p50/p99
/// fan-out latency, whether it keeps up (ratio >= 0.99 and p99 < 1 s), plus `extra` fields.
fn report(labels: &Labels, figures: Figures<'_>, tally: Tally, extra: Value) {
    let Figures {
        scenario,
        sessions,
        rate,
        payload,
        secs,
        sent,
    } = figures;
    let expected = sent * sessions as u64;
    let received = tally.delivered;
    let per_s = super::rate(received, secs);
    let ratio = if expected > 0 {
        received as f64 / expected as f64
    } else {
        0.0
    };
    let latency = &tally.latency;
    let (p50, p99) = (latency.quantile_us(0.5), latency.quantile_us(0.99));
    let keeps_up = ratio >= 0.99 && p99 < 1_000_000;
    let errors = tally.errors;
    let first_error = tally.first_error;
    let mut fields = match extra {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    if let Value::Object(common) = json!({
        "sessions": sessions, "rate": rate, "payload": payload, "duration_s": secs,
        "sent": sent, "delivered": received, "expected": expected,
        "delivered_per_s": per_s, "delivered_ratio": ratio,
        "p50_us": p50, "p99_us": p99, "max_us": latency.quantile_us(1.0),
        "keeps_up": keeps_up, "errors": errors, "first_error": first_error,
    }) {
        fields.extend(common);
    }
    emit(
        labels,
        scenario,
        Value::Object(fields),
        &format!(
            "{scenario} to {sessions} at {rate}/s: sent {sent}, delivered {received}/{expected} \
             ({:.1} %, {per_s:.0}/s), p50 {p50} us, p99 {p99} us, keeps up: {keeps_up}, \
             {errors} errors{}",
            ratio * 100.0,
            first_error
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_has_the_asked_size_and_starts_with_its_stamp() {
        let base = Instant::now();
        let p = payload(base, 32);
        assert_eq!(p.len(), 32);
        assert!(stamp_of(&p).is_some());
        assert_eq!(
            payload(base, 4).len(),
            STAMP,
            "never shorter than the stamp"
        );
    }

    #[test]
    fn a_payload_without_a_stamp_has_no_send_time() {
        assert_eq!(stamp_of("hello"), None);
        assert_eq!(stamp_of("12345678901234xyz"), None);
    }
}
