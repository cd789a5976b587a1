//! `table`: the medians over rounds of every figure, per server, and the ratios ours/node
//! and ours/floor, as plain text on stdout and optionally as markdown.
//!
//! Owns: which figures the table shows. Must not: run anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// One row: a metric of the results tagged `tag`.
struct Figure {
    tag: &'static str,
    metric: &'static str,
    label: &'static str,
}

const fn fig(tag: &'static str, metric: &'static str, label: &'static str) -> Figure {
    Figure { tag, metric, label }
}

/// The rows, in order; the runner tags its results with these names.
const FIGURES: &[Figure] = &[
    fig("ws-echo", "msgs_per_s", "websocket echo, msgs/s"),
    fig("ws-echo", "p50_us", "websocket echo, p50 us"),
    fig("ws-echo", "p99_us", "websocket echo, p99 us"),
    fig("xhr-polling-echo", "msgs_per_s", "xhr-polling echo, msgs/s"),
    fig(
        "xhr-streaming-echo",
        "msgs_per_s",
        "xhr-streaming echo, msgs/s",
    ),
    fig("eventsource-echo", "msgs_per_s", "eventsource echo, msgs/s"),
    fig(
        "broadcast-1k",
        "delivered_per_s",
        "broadcast, delivered msgs/s",
    ),
    fig("broadcast-1k", "p50_us", "broadcast, p50 fan-out us"),
    fig("broadcast-1k", "p99_us", "broadcast, p99 fan-out us"),
    fig(
        "broadcast-10k",
        "delivered_per_s",
        "broadcast, delivered msgs/s",
    ),
    fig(
        "broadcast-10k",
        "delivered_ratio",
        "broadcast, delivered / sent x C",
    ),
    fig("broadcast-10k", "p99_us", "broadcast, p99 fan-out us"),
    fig(
        "idle-ws",
        "kib_per_session",
        "idle websocket, KiB per session",
    ),
    fig(
        "idle-xhr-streaming",
        "kib_per_session",
        "idle xhr-streaming, KiB per session",
    ),
    fig(
        "idle-ws",
        "rss_left_kib",
        "idle websocket, RSS left after close, KiB",
    ),
    fig("churn-ws", "sessions_per_s", "churn websocket, sessions/s"),
    fig(
        "churn-ws",
        "rss_left_kib",
        "churn websocket, RSS after delay - before, KiB",
    ),
    fig(
        "churn-ws",
        "left_behind",
        "churn websocket, probed sessions still known",
    ),
    fig(
        "churn-xhr",
        "sessions_per_s",
        "churn xhr-polling, sessions/s",
    ),
    fig(
        "churn-xhr",
        "rss_left_kib",
        "churn xhr-polling, RSS after delay - before, KiB",
    ),
    fig(
        "churn-xhr",
        "left_behind",
        "churn xhr-polling, probed sessions still known",
    ),
];

const SERVERS: [&str; 3] = ["ours", "node", "floor"];

/// Reads `inputs`, prints the table, and writes it as markdown to `markdown` if given.
pub fn run(inputs: &[std::path::PathBuf], markdown: Option<&Path>) -> Result<(), String> {
    let mut results: Vec<Value> = Vec::new();
    for input in inputs {
        let text = std::fs::read_to_string(input)
            .map_err(|e| format!("reading {}: {e}", input.display()))?;
        results.extend(
            text.lines()
                .filter(|l| l.starts_with('{'))
                .filter_map(|l| serde_json::from_str(l).ok()),
        );
    }
    let rows = rows(&results);
    let rounds = results
        .iter()
        .filter_map(|r| r["round"].as_u64())
        .max()
        .unwrap_or(0);
    let header = [
        "figure",
        "ours",
        "node",
        "floor",
        "ours/node",
        "ours/floor",
        "n",
    ];
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<58} {:>11} {:>11} {:>11} {:>9} {:>10} {:>5}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6]
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:<58} {:>11} {:>11} {:>11} {:>9} {:>10} {:>5}",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        );
    }
    print!("{text}");
    if let Some(path) = markdown {
        let mut md = format!(
            "# Benchmark results\n\nMedians over {rounds} round(s); n = results per server \
             (ours/node/floor).\n\n| {} |\n|{}\n",
            header.join(" | "),
            " --- |".repeat(header.len())
        );
        for r in &rows {
            let _ = writeln!(md, "| {} |", r.join(" | "));
        }
        std::fs::write(path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// One row of cells per figure that has at least one result.
fn rows(results: &[Value]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in FIGURES {
        let mut medians: BTreeMap<&str, f64> = BTreeMap::new();
        let mut counts = Vec::new();
        let mut sessions = None;
        for server in SERVERS {
            let mut values: Vec<f64> = results
                .iter()
                .filter(|r| r["tag"] == f.tag && r["server"] == server)
                .inspect(|r| sessions = sessions.or(r["sessions"].as_u64()))
                .filter_map(|r| as_number(&r[f.metric]))
                .collect();
            counts.push(values.len().to_string());
            if let Some(m) = median(&mut values) {
                medians.insert(server, m);
            }
        }
        if medians.is_empty() {
            continue;
        }
        let cell = |s: &str| medians.get(s).map_or("-".into(), |v| number(*v));
        let ratio = |a: &str, b: &str| match (medians.get(a), medians.get(b)) {
            (Some(x), Some(y)) if *y != 0.0 => format!("{:.2}", x / y),
            _ => "-".into(),
        };
        let label = match (f.tag.starts_with("churn"), sessions) {
            (false, Some(c)) => format!("{} (C={c})", f.label),
            _ => f.label.to_owned(),
        };
        rows.push(vec![
            label,
            cell("ours"),
            cell("node"),
            cell("floor"),
            ratio("ours", "node"),
            ratio("ours", "floor"),
            counts.join("/"),
        ]);
    }
    rows
}

fn as_number(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_bool().map(|b| f64::from(u8::from(b))))
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
