//! Slowloris: many connections trickle a request head one byte at a time and never finish
//! it. The server must drop each within its header timeout (plus slack), and an observer
//! session must keep echoing with normal latency all the while.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{Observer, observer_ok};
use super::{Check, Ctx, Outcome, check, ensure};
use crate::http::{self, Request};

/// Pause between two trickled bytes.
const TRICKLE: Duration = Duration::from_millis(200);
/// Time past the header timeout a connection may live.
const SLACK: Duration = Duration::from_secs(3);
/// Observer round trips must stay under this 99th percentile, in ms.
const OBSERVER_P99_MS: f64 = 500.0;

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![check!("slowloris", slowloris)]
}

/// One trickling connection: how long it lived before the server dropped it (`None`: still
/// open at `give_up`).
async fn trickle(ctx: Ctx, give_up: Duration) -> Result<Option<Duration>, String> {
    let started = Instant::now();
    let mut s = TcpStream::connect((ctx.target.host.as_str(), ctx.target.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let head = format!(
        "GET {}/echo/info HTTP/1.1\r\nHost: {}\r\nX-Slow: {}",
        ctx.target.prefix,
        ctx.target.authority,
        "a".repeat(4096)
    );
    let mut bytes = head.bytes();
    let mut buf = [0u8; 1024];
    let mut tick = tokio::time::interval(TRICKLE);
    while started.elapsed() < give_up {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Ok(Some(started.elapsed())),
                Ok(_) => continue, // e.g. a 408 before the close
            },
            _ = tick.tick() => {
                let b = bytes.next().unwrap_or(b'a');
                if s.write_all(&[b]).await.is_err() {
                    return Ok(Some(started.elapsed()));
                }
            }
        }
    }
    Ok(None)
}

async fn slowloris(ctx: Ctx) -> Outcome {
    let n = ctx.size.pick(50, 200);
    let observer = Observer::start(&ctx.target, Duration::from_millis(20)).await?;
    let give_up = ctx.header_timeout + SLACK;
    let mut tasks = Vec::new();
    for _ in 0..n {
        tasks.push(tokio::spawn(trickle(ctx.clone(), give_up)));
    }
    // Meanwhile ordinary requests are answered promptly.
    let mut worst_info = Duration::ZERO;
    let deadline = Instant::now() + ctx.header_timeout;
    while Instant::now() < deadline {
        let t = Instant::now();
        let r = http::fetch(
            &ctx.target,
            &Request::get(&format!("{}/echo/info", ctx.target.prefix)),
        )
        .await?;
        ensure(r.status() == 200, || {
            format!("GET /echo/info during the attack: status {}", r.status())
        })?;
        worst_info = worst_info.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut lived = Vec::new();
    let mut survivors = 0;
    for t in tasks {
        match t.await.map_err(|e| format!("slowloris task: {e}"))?? {
            Some(d) => lived.push(d),
            None => survivors += 1,
        }
    }
    let lat = observer.finish().await;
    ensure(survivors == 0, || {
        format!(
            "{survivors} of {n} slowloris connections were still open after {give_up:?} (header timeout {:?})",
            ctx.header_timeout
        )
    })?;
    observer_ok(&lat, 20, OBSERVER_P99_MS)?;
    ensure(worst_info < Duration::from_secs(1), || {
        format!("GET /echo/info took {worst_info:?} during the attack")
    })?;
    let longest = lived.iter().max().copied().unwrap_or_default();
    Ok(format!(
        "{n} connections dropped after at most {:.1}s; observer {}; slowest /info {:.0} ms",
        longest.as_secs_f64(),
        lat.summary(),
        worst_info.as_secs_f64() * 1000.0
    ))
}
