//! `table`: the medians over rounds of every figure, per server, and the ratios between
//! servers, as plain text on stdout and optionally as markdown. Layouts: `servers`
//! (benches/run.sh: ours, node, floor; ratios ours/node and ours/floor), `relay`
//! (benches/relay.sh: the in-memory broker on one node against the RabbitMQ relay on two;
//! ratio relay/in-memory), `history` (benches/history.sh: the in-memory broker with message
//! history off and on; ratio on/off) and `ab` (two builds of ours).
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
        "churn-ws-fin",
        "sessions_per_s",
        "churn websocket, client waits for the server's FIN, sessions/s",
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

/// The rows of a `loadgen stomp-broadcast` result, shared by the relay and history tables.
const STOMP_BROADCAST_FIGURES: &[Figure] = &[
    fig(
        "stomp-broadcast",
        "delivered_per_s",
        "STOMP broadcast, delivered msgs/s",
    ),
    fig(
        "stomp-broadcast",
        "delivered_ratio",
        "STOMP broadcast, delivered / sent x C",
    ),
    fig(
        "stomp-broadcast",
        "p50_us",
        "STOMP broadcast, p50 fan-out us",
    ),
    fig(
        "stomp-broadcast",
        "p99_us",
        "STOMP broadcast, p99 fan-out us",
    ),
    fig(
        "stomp-broadcast",
        "max_us",
        "STOMP broadcast, max fan-out us",
    ),
];

/// The relay comparison's own rows after the broadcast's; benches/relay.sh tags its CPU
/// readings `stomp-cpu`.
const RELAY_FIGURES: &[Figure] = &[
    fig("stomp-cpu", "nodes_cpu_s", "CPU seconds, the node(s)"),
    fig("stomp-cpu", "broker_cpu_s", "CPU seconds, RabbitMQ"),
];

/// The history cost comparison's own rows after the broadcast's (benches/history.sh): the
/// runner's CPU and memory readings, tagged `history-cost`.
const HISTORY_FIGURES: &[Figure] = &[
    fig(
        "history-cost",
        "cpu_us_per_delivery",
        "node CPU us per delivery (whole run)",
    ),
    fig(
        "history-cost",
        "fill_rss_kib",
        "RSS growth while filling history, KiB",
    ),
    fig(
        "history-cost",
        "bytes_per_retained",
        "RSS bytes per retained message",
    ),
];

/// Which comparison a table makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// benches/run.sh: ours against node and the floor.
    Servers,
    /// benches/relay.sh: the in-memory broker (`inmem`) against the relay (`relay`).
    Relay,
    /// benches/history.sh: the in-memory broker without history (`off`) against the same
    /// with history on (`on`).
    History,
    /// benches/run.sh with `BASE_SERVER`: two builds of ours, the base (`base`) against the
    /// one under test (`ours`), for a same-run A/B of two commits.
    Ab,
}

/// A layout's markdown title, its rows, its server labels with their column headings, and
/// its ratios as (numerator, denominator) labels.
struct Columns {
    title: &'static str,
    /// Groups of rows, in order.
    figures: &'static [&'static [Figure]],
    servers: &'static [(&'static str, &'static str)],
    ratios: &'static [(&'static str, &'static str)],
}

impl Layout {
    fn columns(self) -> Columns {
        match self {
            Layout::Servers => Columns {
                title: "Benchmark results",
                figures: &[FIGURES],
                servers: &[("ours", "ours"), ("node", "node"), ("floor", "floor")],
                ratios: &[("ours", "node"), ("ours", "floor")],
            },
            Layout::Ab => Columns {
                title: "A/B of two builds of ours",
                figures: &[FIGURES],
                servers: &[("base", "base"), ("ours", "ours")],
                ratios: &[("ours", "base")],
            },
            Layout::History => Columns {
                title: "Cost of message history",
                figures: &[STOMP_BROADCAST_FIGURES, HISTORY_FIGURES],
                servers: &[("off", "history off"), ("on", "history on")],
                ratios: &[("on", "off")],
            },
            Layout::Relay => Columns {
                title: "Broker relay benchmark results",
                figures: &[STOMP_BROADCAST_FIGURES, RELAY_FIGURES],
                servers: &[("inmem", "in-memory, 1 node"), ("relay", "relay, 2 nodes")],
                ratios: &[("relay", "inmem")],
            },
        }
    }
}

/// Reads `inputs`, prints the table, and writes it as markdown to `markdown` if given.
pub fn run(
    inputs: &[std::path::PathBuf],
    markdown: Option<&Path>,
    layout: Layout,
) -> Result<(), String> {
    let mut results: Vec<Value> = Vec::new();
    // Rounds are counted per input file: several runs' files give their rounds' sum.
    let mut rounds = 0;
    for input in inputs {
        let text = std::fs::read_to_string(input)
            .map_err(|e| format!("reading {}: {e}", input.display()))?;
        let start = results.len();
        results.extend(
            text.lines()
                .filter(|l| l.starts_with('{'))
                .filter_map(|l| serde_json::from_str(l).ok()),
        );
        rounds += results[start..]
            .iter()
            .filter_map(|r| r["round"].as_u64())
            .max()
            .unwrap_or(0);
    }
    let columns = layout.columns();
    let rows = rows(&results, &columns);
    let mut header = vec!["figure".to_owned()];
    header.extend(
        columns
            .servers
            .iter()
            .map(|(_, heading)| (*heading).to_owned()),
    );
    header.extend(columns.ratios.iter().map(|(a, b)| format!("{a}/{b}")));
    header.push("n".into());
    print!("{}", plain(&header, &rows));
    if let Some(path) = markdown {
        let labels: Vec<&str> = columns.servers.iter().map(|(label, _)| *label).collect();
        let mut md = format!(
            "# {}\n\nMedians over {rounds} round(s); n = results per server \
             ({}).\n\n| {} |\n|{}\n",
            columns.title,
            labels.join("/"),
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

/// `header` and `rows` as aligned plain text: the first column left, the others right.
fn plain(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(header)
                .chain(rows.iter().map(Vec::as_slice))
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, (cell, width)) in r.iter().zip(&widths).enumerate() {
            let _ = match i {
                0 => write!(text, "{cell:<width$}"),
                _ => write!(text, " {cell:>width$}"),
            };
        }
        text.push('\n');
    }
    text
}

/// One row of cells per figure that has at least one result.
fn rows(results: &[Value], columns: &Columns) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for f in columns.figures.iter().copied().flatten() {
        let mut medians: BTreeMap<&str, f64> = BTreeMap::new();
        let mut counts = Vec::new();
        let mut sessions = None;
        for (server, _) in columns.servers {
            let mut values: Vec<f64> = results
                .iter()
                .filter(|r| r["tag"] == f.tag && r["server"] == *server)
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
        let mut row = vec![label];
        row.extend(columns.servers.iter().map(|(server, _)| cell(server)));
        row.extend(columns.ratios.iter().map(|(a, b)| ratio(a, b)));
        row.push(counts.join("/"));
        rows.push(row);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(server: &str, round: u64, per_s: f64, p99: u64) -> Value {
        serde_json::json!({
            "tag": "stomp-broadcast", "server": server, "round": round, "sessions": 1000,
            "delivered_per_s": per_s, "delivered_ratio": 1.0, "p50_us": 900, "p99_us": p99,
            "max_us": p99,
        })
    }

    #[test]
    fn the_relay_layout_gives_medians_and_the_ratio_relay_over_in_memory() {
        let results = [
            result("inmem", 1, 20000.0, 1000),
            result("relay", 1, 19000.0, 4000),
            result("inmem", 2, 20000.0, 3000),
            result("relay", 2, 19500.0, 2000),
            result("inmem", 3, 19000.0, 2000),
            result("relay", 3, 18000.0, 6000),
        ];
        let rows = rows(&results, &Layout::Relay.columns());
        let p99 = rows
            .iter()
            .find(|r| r[0].starts_with("STOMP broadcast, p99"))
            .expect("a p99 row");
        assert_eq!(p99[0], "STOMP broadcast, p99 fan-out us (C=1000)");
        assert_eq!(&p99[1..], ["2000", "4000", "2.00", "3/3"]);
    }

    #[test]
    fn the_servers_layout_ignores_relay_results() {
        let results = [result("inmem", 1, 20000.0, 1000)];
        assert!(rows(&results, &Layout::Servers.columns()).is_empty());
    }

    #[test]
    fn plain_text_aligns_every_column() {
        let header = ["figure".to_owned(), "a".to_owned()];
        let rows = vec![vec!["long figure".to_owned(), "12345".to_owned()]];
        assert_eq!(
            plain(&header, &rows),
            "figure          a\nlong figure 12345\n"
        );
    }
}
