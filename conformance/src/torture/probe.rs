//! What the suite can see of the server besides its answers: resident memory and open file
//! descriptors (from `/proc/PID` when the pid is known, else from the metrics endpoint's
//! `process_resident_memory_bytes` / `process_open_fds`), and the `sockjs_sessions` gauge and
//! counters from the Prometheus endpoint. Also a sampler that records peak RSS while a check
//! works.
//!
//! Must not: fail a check by itself; a figure that cannot be read is `None`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::http::{self, Request, Target};

/// How often the sampler reads RSS.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Where server figures come from.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// The server's process id (read `/proc/PID`).
    pub pid: Option<u32>,
    /// The server's metrics endpoint (`http://host:port[/metrics]`).
    pub metrics: Option<Target>,
}

/// One reading.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// Resident memory, bytes.
    pub rss: Option<u64>,
    /// Open file descriptors.
    pub fds: Option<u64>,
}

impl Probe {
    /// Whether RSS can be read at all.
    pub fn has_rss(&self) -> bool {
        self.pid.is_some() || self.metrics.is_some()
    }

    /// RSS and fds now.
    pub async fn sample(&self) -> Sample {
        if let Some(pid) = self.pid {
            return Sample {
                rss: proc_rss(pid),
                fds: proc_fds(pid),
            };
        }
        match self.scrape().await {
            Ok(text) => Sample {
                rss: metric_sum(&text, "process_resident_memory_bytes").map(|v| v as u64),
                fds: metric_sum(&text, "process_open_fds").map(|v| v as u64),
            },
            Err(_) => Sample::default(),
        }
    }

    /// RSS now, bytes.
    pub async fn rss(&self) -> Option<u64> {
        self.sample().await.rss
    }

    /// The metrics exposition text.
    pub async fn scrape(&self) -> Result<String, String> {
        let target = self
            .metrics
            .as_ref()
            .ok_or_else(|| "no --metrics-url given".to_string())?;
        let path = if target.prefix.is_empty() {
            "/metrics"
        } else {
            target.prefix.as_str()
        };
        let r = http::fetch(target, &Request::get(path)).await?;
        if r.status() != 200 {
            return Err(format!(
                "GET {path} on the metrics endpoint: status {}",
                r.status()
            ));
        }
        Ok(r.text())
    }

    /// Sessions open now, every mount and transport (the `sockjs_sessions` gauge; no series
    /// yet means no session was ever opened).
    pub async fn sessions(&self) -> Result<i64, String> {
        let text = self.scrape().await?;
        Ok(metric_sum(&text, "sockjs_sessions").map_or(0, |v| v as i64))
    }

    /// Sum of the series of counter `name` (OpenMetrics adds `_total`) whose labels contain
    /// `label` (e.g. `code="4500"`); 0 when there is none yet.
    pub async fn counter(&self, name: &str, label: &str) -> Result<f64, String> {
        let text = self.scrape().await?;
        Ok(text
            .lines()
            .filter(|l| l.contains(label))
            .filter(|l| {
                let rest = l.strip_prefix(name).unwrap_or("");
                let rest = rest.strip_prefix("_total").unwrap_or(rest);
                l.starts_with(name) && rest.starts_with(['{', ' '])
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .fold(0.0, |a, b| a + b))
    }

    /// Starts recording the peak RSS until the returned [`Peak`] is finished.
    pub fn peak(&self) -> Peak {
        let max = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (probe, m, s) = (self.clone(), max.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(rss) = probe.rss().await {
                    m.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
        Peak { max, stop, task }
    }
}

/// A running peak-RSS recorder.
pub struct Peak {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Peak {
    /// Stops recording; the highest RSS seen (`None` if none could be read).
    pub async fn finish(self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        match self.max.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }
}

/// Sum of every sample of metric family `name` (exactly that name, any labels).
pub fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !rest.starts_with(['{', ' ']) {
            continue;
        }
        if let Some(v) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// `VmRSS` of `/proc/PID/status`, in bytes.
pub fn proc_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Entries of `/proc/PID/fd`.
pub fn proc_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sums_match_the_exact_family_name() {
        let text = "# TYPE sockjs_sessions gauge\n\
                    sockjs_sessions{mount=\"/echo\",transport=\"xhr\"} 3\n\
                    sockjs_sessions{mount=\"/echo\",transport=\"websocket\"} 2\n\
                    sockjs_sessions_opened_total{mount=\"/echo\",transport=\"xhr\"} 9\n\
                    process_open_fds 17\n";
        assert_eq!(metric_sum(text, "sockjs_sessions"), Some(5.0));
        assert_eq!(metric_sum(text, "process_open_fds"), Some(17.0));
        assert_eq!(metric_sum(text, "process_resident_memory_bytes"), None);
    }
}
