//! Latency histograms, the server's resident memory, and result output: one JSON line per
//! result on stdout (for the runner) and one human line on stderr.
//!
//! Owns: what a result looks like. Must not: talk to the server.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// Largest latency recorded exactly (60 s); longer ones are recorded as this.
const MAX_LATENCY_US: u64 = 60_000_000;

/// Latencies in microseconds, two significant digits (1 % buckets): small enough to keep
/// one per session for 10,000 sessions.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u32>);

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// An empty histogram.
    pub fn new() -> Self {
        // unwrap: constant bounds that hdrhistogram accepts (low >= 1, high >= 2 * low).
        Latency(Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("valid bounds"))
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(MAX_LATENCY_US);
        self.0.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    /// Records a latency given in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, MAX_LATENCY_US));
    }

    /// Adds `other`'s samples.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides: `add` cannot fail; a failure would only lose samples.
        let _ = self.0.add(&other.0);
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The `q` quantile (0..=1) in microseconds; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q)
        }
    }
}

/// Labels every result carries, from the command line.
#[derive(Debug, Clone)]
pub struct Labels {
    /// Which server: `ours`, `node`, `floor`.
    pub server: String,
    /// Which round of the runner.
    pub round: u32,
    /// The figure this result belongs to (the runner's name for it).
    pub tag: String,
}

/// Prints one result: a JSON line on stdout and `human` on stderr.
pub fn emit(labels: &Labels, scenario: &str, fields: Value, human: &str) {
    let mut line = Map::new();
    line.insert("tag".into(), json!(labels.tag));
    line.insert("server".into(), json!(labels.server));
    line.insert("round".into(), json!(labels.round));
    line.insert("scenario".into(), json!(scenario));
    if let Value::Object(fields) = fields {
        line.extend(fields);
    }
    println!("{}", Value::Object(line));
    eprintln!(
        "[{} round {} {}] {human}",
        labels.server, labels.round, labels.tag
    );
}

/// The resident set size of process `pid`, in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| Error::Protocol(format!("no VmRSS for pid {pid}")))
}

/// `rss_kib` of `pid`, if one was given.
pub fn maybe_rss(pid: Option<u32>) -> Result<Option<u64>> {
    pid.map(rss_kib).transpose()
}
