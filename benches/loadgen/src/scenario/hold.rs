//! `hold`: open C idle websocket or xhr-streaming sessions, each its own small task bound to
//! one of several loopback source addresses (127.0.0.2, 127.0.0.3, ... round-robin, so C is
//! not bounded by one address's ephemeral ports), hold them for `--duration` seconds while
//! the server's heartbeats arrive, then close them. Figures: time to open all, heartbeat
//! lateness (the gap between two consecutive `h` frames of a session minus the server's
//! heartbeat delay), sessions lost (closed or failed before the end: target 0) and the load
//! generator's own RSS per session. benches/scale.sh reads the server's side from /proc.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::{StreamExt, stream};
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::client::{Frame, Transport, parse_frame, session_path};
use crate::error::{Error, Result, within};
use crate::http::Conn;
use crate::stats::{emit, rss_kib};
use crate::{Common, default_tag};

/// Arguments of `hold`.
#[derive(Debug, Clone, Args)]
pub struct HoldArgs {
    #[command(flatten)]
    pub common: Common,
    /// The transport: websocket or xhr-streaming.
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    /// Sessions to hold.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// Source addresses: sockets bind to 127.0.0.2 .. 127.0.0.(N+1), round-robin (0: let the
    /// kernel choose, 127.0.0.1).
    #[arg(long, default_value_t = 4)]
    pub source_addrs: u8,
    /// The server's heartbeat delay in seconds, subtracted from each gap between two `h`.
    #[arg(long, default_value_t = 25.0)]
    pub heartbeat_delay: f64,
    /// Count websocket pings as heartbeats (and `h` frames too): sockjs-node 0.3 sends a
    /// ping instead of `h` on websocket.
    #[arg(long)]
    pub ping_heartbeats: bool,
    /// Touch this file once every session is open (benches/scale.sh then reads the server).
    #[arg(long)]
    pub ready_file: Option<std::path::PathBuf>,
}

/// The bytes tungstenite reserves for reading each socket: an idle session reads only `h`
/// frames (a few bytes), and 500,000 sessions x the usual 8 KiB would be 4 GiB.
const HOLD_READ_BUFFER: usize = 512;

/// What the session tasks count, shared: lateness in ms (signed) -> count, and why
/// sessions were lost -> count.
#[derive(Debug, Default)]
struct Tally(Mutex<(BTreeMap<i64, u64>, BTreeMap<String, u64>)>);

impl Tally {
    /// Adds a session's lateness samples and, if it was lost, why.
    fn add(&self, lateness: &[i64], lost: Option<String>) {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for &l in lateness {
            *g.0.entry(l).or_default() += 1;
        }
        if let Some(why) = lost {
            *g.1.entry(why).or_default() += 1;
        }
    }
}

/// Runs the scenario and prints its result.
pub async fn run(args: HoldArgs) -> std::result::Result<(), String> {
    let common = args.common.clone();
    let me = std::process::id();
    let rss_start = rss_kib(me).ok();
    let hold = common.duration();
    let delay_ms = (args.heartbeat_delay * 1000.0) as i64;
    let tally = Arc::new(Tally::default());
    let (addr, prefix) = (common.addr(), common.prefix.clone());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.sessions);
    let mut open_failed: BTreeMap<String, u64> = BTreeMap::new();
    let mut opens = stream::iter(0..args.sessions)
        .map(|i| {
            let source = source(i, args.source_addrs);
            let path = session_path(&prefix);
            within(
                common.timeout(),
                "open",
                open(addr, source, path, args.transport),
            )
        })
        .buffer_unordered(common.connect_concurrency.max(1));
    // Every session ends together, `hold` after the last one opened.
    let (end_tx, end_rx) = tokio::sync::watch::channel(false);
    while let Some(opened) = opens.next().await {
        match opened {
            Ok(held) => {
                let (tally, end) = (Arc::clone(&tally), end_rx.clone());
                let pings = args.ping_heartbeats;
                tasks.push(tokio::spawn(held.hold(end, delay_ms, pings, tally)));
            }
            Err(e) => *open_failed.entry(kind(&e)).or_default() += 1,
        }
    }
    drop(opens);
    let open_secs = started.elapsed().as_secs_f64();
    let opened = tasks.len();
    let rss_holding = rss_kib(me).ok();
    eprintln!(
        "hold: {opened} of {} {} sessions open in {open_secs:.1} s; holding {:.0} s",
        args.sessions,
        args.transport.name(),
        hold.as_secs_f64()
    );
    if let Some(path) = &args.ready_file {
        std::fs::write(path, format!("{opened}\n")).map_err(|e| format!("{path:?}: {e}"))?;
    }
    tokio::time::sleep(hold).await;
    let _ = end_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    let (lateness, lost) = {
        let g = tally.0.lock().unwrap_or_else(|e| e.into_inner());
        (g.0.clone(), g.1.clone())
    };
    let samples: u64 = lateness.values().sum();
    let q = |p: f64| quantile(&lateness, p);
    let lost_n: u64 = lost.values().sum();
    let per_conn = rss_start
        .zip(rss_holding)
        .map(|(s, h)| (h as f64 - s as f64) / opened.max(1) as f64);
    let labels = common.labels(default_tag("hold", args.transport));
    let failed_n: u64 = open_failed.values().sum();
    emit(
        &labels,
        "hold",
        json!({
            "transport": args.transport.name(), "sessions": args.sessions, "opened": opened,
            "open_failed": failed_n, "open_failures": open_failed, "open_secs": open_secs,
            "hold_secs": hold.as_secs_f64(), "heartbeat_delay": args.heartbeat_delay,
            "heartbeat_gaps": samples, "lateness_ms": lateness.iter()
                .map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "lateness_p50_ms": q(0.5), "lateness_p99_ms": q(0.99),
            "lateness_max_ms": lateness.keys().next_back(),
            "lost": lost_n, "lost_reasons": lost,
            "loadgen_rss_start_kib": rss_start, "loadgen_rss_holding_kib": rss_holding,
            "loadgen_kib_per_session": per_conn,
        }),
        &format!(
            "hold {} x{}: opened {opened} in {open_secs:.1} s ({failed_n} failed), lost \
             {lost_n}; heartbeat lateness p50 {} ms, p99 {} ms ({samples} gaps); loadgen {} \
             KiB per session",
            args.transport.name(),
            args.sessions,
            show(q(0.5)),
            show(q(0.99)),
            per_conn.map_or("?".into(), |k| format!("{k:.2}")),
        ),
    );
    Ok(())
}

fn show(v: Option<i64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

/// The value at quantile `p` of a histogram of counts.
pub fn quantile(h: &BTreeMap<i64, u64>, p: f64) -> Option<i64> {
    let total: u64 = h.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64 * p).ceil() as u64).max(1);
    let mut seen = 0;
    for (&v, &n) in h {
        seen += n;
        if seen >= rank {
            return Some(v);
        }
    }
    h.keys().next_back().copied()
}

/// The source address of the `i`th session: 127.0.0.2 .. 127.0.0.(n+1) round-robin.
pub fn source(i: usize, n: u8) -> Option<IpAddr> {
    (n > 0).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(n)) as u8)))
}

/// A short, countable name of an error.
fn kind(e: &Error) -> String {
    let s = e.to_string();
    s.chars().take(80).collect()
}

/// A socket to `addr` from `source` (port chosen at connect, `IP_BIND_ADDRESS_NO_PORT`, so
/// one source address serves ~28k connections to every server address, not ~28k in all).
async fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        bind_address_no_port(&socket)?;
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `setsockopt(IP_BIND_ADDRESS_NO_PORT, 1)` (Linux 4.2+; elsewhere nothing).
fn bind_address_no_port(socket: &TcpSocket) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        /// linux/in.h.
        const IPPROTO_IP: i32 = 0;
        /// linux/in.h.
        const IP_BIND_ADDRESS_NO_PORT: i32 = 24;
        unsafe extern "C" {
            fn setsockopt(fd: i32, level: i32, name: i32, value: *const i32, len: u32) -> i32;
        }
        let one: i32 = 1;
        // SAFETY: a valid fd of ours, a pointer to a live i32 and its size.
        let rc = unsafe {
            setsockopt(
                socket.as_raw_fd(),
                IPPROTO_IP,
                IP_BIND_ADDRESS_NO_PORT,
                &one,
                4,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let _ = socket;
    Ok(())
}

/// An open session, past its `o` frame.
enum Held {
    Ws(Box<tokio_tungstenite::WebSocketStream<TcpStream>>),
    Stream(Box<Conn>, Vec<u8>),
}

async fn open(
    addr: SocketAddr,
    source: Option<IpAddr>,
    path: String,
    transport: Transport,
) -> Result<Held> {
    let tcp = connect_from(addr, source).await?;
    match transport {
        Transport::Websocket => {
            let url = format!("ws://{addr}{path}/websocket");
            let config = WebSocketConfig::default().read_buffer_size(HOLD_READ_BUFFER);
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
            match ws_frame(&mut ws, false).await? {
                Frame::Open => Ok(Held::Ws(Box::new(ws))),
                f => Err(Error::Protocol(format!("expected o, got {f:?}"))),
            }
        }
        Transport::XhrStreaming => {
            let mut conn = Conn::from_stream(tcp);
            conn.send_request("POST", &format!("{path}/xhr_streaming"), b"")
                .await?;
            let head = conn.read_head().await?;
            if head.status != 200 {
                return Err(Error::Protocol(format!("stream answered {}", head.status)));
            }
            let mut buf = Vec::new();
            // The prelude (2048 `h` and a newline), then `o`.
            let mut lines = 0;
            while lines < 2 {
                let piece = conn.read_piece().await?.ok_or(Error::Closed)?;
                buf.extend_from_slice(&piece);
                while let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    lines += 1;
                    if lines == 2 && line != b"o\n" {
                        return Err(Error::Protocol("expected o after the prelude".into()));
                    }
                }
            }
            Ok(Held::Stream(Box::new(conn), buf))
        }
        t => Err(Error::Protocol(format!(
            "hold takes websocket or xhr-streaming, not {}",
            t.name()
        ))),
    }
}

/// The next frame; with `pings`, a ping is a heartbeat.
async fn ws_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    pings: bool,
) -> Result<Frame> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Ping(_))) if pings => return Ok(Frame::Heartbeat),
            None => return Err(Error::Closed),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(WsMessage::Text(text))) => return parse_frame(text.as_str()),
            Some(Ok(WsMessage::Close(_))) => return Err(Error::Closed),
            Some(Ok(_)) => {}
        }
    }
}

impl Held {
    /// The next frame.
    async fn frame(&mut self, pings: bool) -> Result<Frame> {
        match self {
            Held::Ws(ws) => ws_frame(ws, pings).await,
            Held::Stream(conn, buf) => loop {
                if let Some(pos) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    let text = std::str::from_utf8(&line[..pos])
                        .map_err(|_| Error::Protocol("non-UTF-8 frame".into()))?;
                    return parse_frame(text);
                }
                let piece = conn.read_piece().await?.ok_or(Error::Closed)?;
                buf.extend_from_slice(&piece);
            },
        }
    }

    /// Reads frames until `end` turns true, timing the gaps between heartbeats; then closes.
    async fn hold(
        mut self,
        mut end: tokio::sync::watch::Receiver<bool>,
        delay_ms: i64,
        pings: bool,
        tally: Arc<Tally>,
    ) {
        let mut last_h: Option<Instant> = None;
        let mut lateness = Vec::new();
        let lost = loop {
            tokio::select! {
                _ = end.changed() => break None,
                f = self.frame(pings) => match f {
                    Ok(Frame::Heartbeat) => {
                        let now = Instant::now();
                        if let Some(prev) = last_h {
                            lateness.push(now.duration_since(prev).as_millis() as i64 - delay_ms);
                        }
                        last_h = Some(now);
                    }
                    Ok(Frame::Close(c)) => break Some(format!("close frame {c}")),
                    Ok(_) => {}
                    Err(e) => break Some(kind(&e)),
                },
            }
        };
        if lost.is_none()
            && let Held::Ws(mut ws) = self
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
        }
        tally.add(&lateness, lost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_go_round_robin_from_127_0_0_2() {
        assert_eq!(source(0, 0), None);
        assert_eq!(source(0, 3), Some("127.0.0.2".parse().unwrap()));
        assert_eq!(source(4, 3), Some("127.0.0.3".parse().unwrap()));
    }

    #[test]
    fn quantiles_of_a_count_histogram() {
        let h: BTreeMap<i64, u64> = [(-1, 1), (0, 97), (5, 1), (900, 1)].into();
        assert_eq!(quantile(&h, 0.5), Some(0));
        assert_eq!(quantile(&h, 0.99), Some(5));
        assert_eq!(quantile(&h, 1.0), Some(900));
        assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    }
}
