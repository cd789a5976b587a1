//! Client pieces the torture checks share: SockJS frame parsing, a keep-alive HTTP
//! connection for many small requests, and an observer session that keeps echoing and
//! records its round-trip times while a check attacks the server.
//!
//! Must not: panic on anything the server sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::http::{Conn, Request, Response, Target, printable};
use crate::ws::{Event, Ws};

/// One SockJS frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `o`
    Open,
    /// `h`
    Heartbeat,
    /// `a[...]`
    Messages(Vec<String>),
    /// `c[code,"reason"]`
    Close(u16, String),
}

/// Parses one frame (`o`, `h`, `a[..]`, `c[..]`), trailing whitespace ignored.
pub fn parse_frame(text: &str) -> Result<Frame, String> {
    let t = text.trim_end();
    match t.as_bytes().first() {
        Some(b'o') if t.len() == 1 => Ok(Frame::Open),
        Some(b'h') if t.len() == 1 => Ok(Frame::Heartbeat),
        Some(b'a') => serde_json::from_str::<Vec<String>>(&t[1..])
            .map(Frame::Messages)
            .map_err(|e| format!("bad a-frame {}: {e}", printable(t.as_bytes()))),
        Some(b'c') => match serde_json::from_str::<(u16, String)>(&t[1..]) {
            Ok((code, reason)) => Ok(Frame::Close(code, reason)),
            Err(e) => Err(format!("bad c-frame {}: {e}", printable(t.as_bytes()))),
        },
        _ => Err(format!("not a SockJS frame: {}", printable(t.as_bytes()))),
    }
}

/// Parses a polling body: one or more newline-terminated frames.
pub fn parse_frames(body: &str) -> Result<Vec<Frame>, String> {
    body.lines()
        .filter(|l| !l.is_empty())
        .map(parse_frame)
        .collect()
}

/// One kept-alive HTTP connection for a series of requests, reopened when the server closed
/// it or it sat idle long enough that the server may have.
pub struct KeepAlive {
    target: Target,
    conn: Option<(Conn, Instant)>,
    timeout: Duration,
}

/// Idle time after which a kept-alive connection is not trusted any more (the server's
/// keep-alive default is 5 s).
const IDLE_REOPEN: Duration = Duration::from_millis(1500);

impl KeepAlive {
    /// A client for `target` whose reads wait at most `timeout` (long polls need more than
    /// the default 2 s).
    pub fn new(target: &Target, timeout: Duration) -> KeepAlive {
        KeepAlive {
            target: target.clone(),
            conn: None,
            timeout,
        }
    }

    /// Sends `req` and reads the whole answer.
    pub async fn request(&mut self, req: &Request) -> Result<Response, String> {
        let mut conn = match self.conn.take() {
            Some((c, used)) if used.elapsed() < IDLE_REOPEN => c,
            _ => {
                let mut c = Conn::open(&self.target).await?;
                c.set_timeout(self.timeout);
                c
            }
        };
        let response = conn.exchange(req).await?;
        if !response
            .head
            .value("connection")
            .eq_ignore_ascii_case("close")
        {
            self.conn = Some((conn, Instant::now()));
        }
        Ok(response)
    }

    /// `POST path` with `body`.
    pub async fn post(&mut self, path: &str, body: &str) -> Result<Response, String> {
        self.request(&Request::post(path).body(body)).await
    }

    /// `POST session/xhr_send` with one JSON-quoted message; requires 204.
    pub async fn send(&mut self, session: &str, message: &str) -> Result<(), String> {
        let body = serde_json::to_string(&[message]).map_err(|e| e.to_string())?;
        let r = self.post(&format!("{session}/xhr_send"), &body).await?;
        if r.status() == 204 {
            Ok(())
        } else {
            Err(format!(
                "{}: status {} ({})",
                r.label,
                r.status(),
                printable(&r.body)
            ))
        }
    }

    /// `POST session/xhr` (one poll); the frames of the answer.
    pub async fn poll(&mut self, session: &str) -> Result<Vec<Frame>, String> {
        let r = self.post(&format!("{session}/xhr"), "").await?;
        if r.status() != 200 {
            return Err(format!(
                "{}: status {} ({})",
                r.label,
                r.status(),
                printable(&r.body)
            ));
        }
        parse_frames(&r.text())
    }
}

/// Round-trip times of an observer session, in milliseconds.
#[derive(Debug, Default)]
pub struct Latency {
    /// Every round trip, in the order made.
    pub rtts: Vec<f64>,
    /// Why the observer stopped early, if it did.
    pub error: Option<String>,
}

impl Latency {
    /// The `q`-quantile (0..=1) of the round trips.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut v = self.rtts.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v[i.min(v.len() - 1)]
    }

    /// `n rtts, p50 x ms, p99 y ms, max z ms`.
    pub fn summary(&self) -> String {
        format!(
            "{} echoes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.rtts.len(),
            self.quantile(0.5),
            self.quantile(0.99),
            self.quantile(1.0)
        )
    }
}

/// A WebSocket session on `/echo` that echoes one message every `every` until stopped.
pub struct Observer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Latency>,
}

impl Observer {
    /// Connects (raw `/echo/websocket`) and starts echoing.
    pub async fn start(target: &Target, every: Duration) -> Result<Observer, String> {
        let url = format!("ws://{}{}/echo/websocket", target.authority, target.prefix);
        let mut ws = Ws::connect(&url).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut lat = Latency::default();
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) {
                n += 1;
                let text = format!("observer {n}");
                let sent = Instant::now();
                if let Err(e) = ws.send(&text).await {
                    lat.error = Some(e);
                    break;
                }
                match ws.next_event().await {
                    Ok(Event::Text(t)) if t == text => {
                        lat.rtts.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(other) => {
                        lat.error = Some(format!("observer expected {text:?}, got {other:?}"));
                        break;
                    }
                    Err(e) => {
                        lat.error = Some(format!("observer: {e}"));
                        break;
                    }
                }
                tokio::time::sleep(every).await;
            }
            ws.close().await;
            lat
        });
        Ok(Observer { stop, task })
    }

    /// Stops echoing; the round trips made.
    pub async fn finish(self) -> Latency {
        self.stop.store(true, Ordering::Relaxed);
        match self.task.await {
            Ok(l) => l,
            Err(e) => Latency {
                rtts: Vec::new(),
                error: Some(format!("observer task failed: {e}")),
            },
        }
    }
}

/// Requires the observer to have kept echoing (at least `min` round trips, no error) with a
/// 99th percentile under `p99_ms`.
pub fn observer_ok(lat: &Latency, min: usize, p99_ms: f64) -> Result<(), String> {
    if let Some(e) = &lat.error {
        return Err(format!(
            "the observer session broke: {e} ({})",
            lat.summary()
        ));
    }
    if lat.rtts.len() < min {
        return Err(format!(
            "the observer made only {} round trips (at least {min} expected)",
            lat.rtts.len()
        ));
    }
    let p99 = lat.quantile(0.99);
    if p99 > p99_ms {
        return Err(format!(
            "observer latency too high: {} (p99 limit {p99_ms} ms)",
            lat.summary()
        ));
    }
    Ok(())
}

/// Opens a session on `session` by polling once; requires the open frame.
pub async fn open_polling(client: &mut KeepAlive, session: &str) -> Result<(), String> {
    match client.poll(session).await?.as_slice() {
        [Frame::Open] => Ok(()),
        other => Err(format!(
            "POST {session}/xhr: expected the open frame, got {other:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_and_garbage_is_an_error() {
        assert_eq!(parse_frame("o\n"), Ok(Frame::Open));
        assert_eq!(
            parse_frame("a[\"x\",\"y\"]"),
            Ok(Frame::Messages(vec!["x".into(), "y".into()]))
        );
        assert_eq!(
            parse_frame("c[4500,\"Send buffer overflow\"]\n"),
            Ok(Frame::Close(4500, "Send buffer overflow".into()))
        );
        assert!(parse_frame("a[").is_err());
        assert!(parse_frame("").is_err());
        assert_eq!(parse_frames("o\nh\n").map(|v| v.len()), Ok(2));
    }

    #[test]
    fn quantiles_of_round_trips() {
        let l = Latency {
            rtts: vec![5.0, 1.0, 3.0],
            error: None,
        };
        assert_eq!(l.quantile(0.5), 3.0);
        assert_eq!(l.quantile(1.0), 5.0);
    }
}
