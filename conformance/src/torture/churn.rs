//! Churn: thousands of sessions opened and abandoned, and hundreds of WebSockets dropped in the
//! middle of a message (gauge and fds return to baseline, an observer keeps echoing).
//!
//! Abandoned sessions run in three rounds. After each, the sessions gauge must return to its
//! baseline within the disconnect delay (plus slack). RSS is judged against the end of the
//! first round, not the pre-churn figure: the allocator keeps the pages it grew into (glibc
//! does not give freed heap back to the OS), so a warm-up round sets the level, and a leak
//! shows as growth from round to round after it.

use std::time::{Duration, Instant};

use super::client::{KeepAlive, Observer, observer_ok};
use super::rawws::{RawWs, TEXT};
use super::{Check, Ctx, Outcome, check, ensure, mib};
use crate::http::{Request, Stream};

/// Concurrent connections opening sessions.
const OPENERS: usize = 16;
/// How long the gauge may take to return to its baseline.
const RETURN_WITHIN: Duration = Duration::from_secs(40);
/// RSS growth allowed from the end of the warm-up round to the end of a later one.
const ROUND_RSS_SLACK: u64 = 8 << 20;
/// Rounds of abandoned sessions (the first is the warm-up).
const ROUNDS: usize = 3;

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![
        check!("churn.abandoned_sessions", abandoned),
        check!("churn.websockets_dropped_mid_message", dropped_websockets),
    ]
}

/// Waits until the sessions gauge has not moved for a second (sessions of earlier checks
/// expiring), at most 20 s; its value then.
async fn settled_gauge(ctx: &Ctx) -> Result<i64, String> {
    let mut last = ctx.probe.sessions().await?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = ctx.probe.sessions().await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// Polls the gauge until it is at most `baseline`; how long that took, or an error.
async fn back_to(ctx: &Ctx, baseline: i64, what: &str) -> Result<Duration, String> {
    let started = Instant::now();
    loop {
        let now = ctx.probe.sessions().await?;
        if now <= baseline {
            return Ok(started.elapsed());
        }
        if started.elapsed() > RETURN_WITHIN {
            return Err(format!(
                "{what}: the sessions gauge is still {now} after {RETURN_WITHIN:?} (baseline {baseline})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Opens `count` sessions on `/echo` and abandons them: most by one poll, every tenth by an
/// xhr_streaming receiver dropped after the open frame.
async fn open_and_abandon(ctx: &Ctx, count: usize) -> Result<(), String> {
    let mut tasks = Vec::new();
    for w in 0..OPENERS {
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
            for i in (w..count).step_by(OPENERS) {
                let session = ctx.session("/echo");
                if i % 10 == 9 {
                    let mut s = Stream::open(&ctx.target, &Request::post(&format!("{session}/xhr_streaming"))).await?;
                    if s.status() == 503 {
                        return Err("503 from the per-client limit: start the server with a larger --max-sessions-per-client".to_string());
                    }
                    s.next_frame().await?;
                    s.expect_frame(b"o\n").await?;
                } else {
                    let r = client.post(&format!("{session}/xhr"), "").await?;
                    if r.status() == 503 {
                        return Err(format!("503 after {i} sessions: start the server with a larger --max-sessions-per-client"));
                    }
                    ensure(r.status() == 200 && r.body == b"o\n", || format!("{}: {} {:?}", r.label, r.status(), r.text()))?;
                }
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn abandoned(ctx: Ctx) -> Outcome {
    ensure(ctx.probe.metrics.is_some(), || {
        "needs --metrics-url (it compares the sessions gauge)".into()
    })?;
    let per_round = ctx.size.pick(2_000, 10_000) / 2;
    let baseline = settled_gauge(&ctx).await?;
    let rss0 = ctx.probe.rss().await;
    let mut notes = Vec::new();
    let mut ends = Vec::new();
    for round in 1..=ROUNDS {
        let peak = ctx.probe.peak();
        let started = Instant::now();
        open_and_abandon(&ctx, per_round).await?;
        let opened_in = started.elapsed();
        let high = ctx.probe.sessions().await?;
        let took = back_to(&ctx, baseline, &format!("round {round}")).await?;
        let peak = peak.finish().await;
        // The allocator may keep freed pages a moment; read RSS once things are quiet.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let end = ctx.probe.rss().await;
        ends.push(end);
        notes.push(format!(
            "round {round}: {per_round} sessions opened in {:.1}s, gauge {high} right after, back to {baseline} {:.1}s later, RSS peak {} end {}",
            opened_in.as_secs_f64(),
            took.as_secs_f64(),
            peak.map_or("?".into(), mib),
            end.map_or("?".into(), mib)
        ));
    }
    if let (Some(r0), Some(Some(warm))) = (rss0, ends.first().copied()) {
        for (i, end) in ends.iter().enumerate().skip(1) {
            let Some(end) = *end else { continue };
            ensure(end <= warm + ROUND_RSS_SLACK, || {
                format!(
                    "RSS kept growing: {} after the warm-up round, {} after round {} (pre-churn {}): {}",
                    mib(warm),
                    mib(end),
                    i + 1,
                    mib(r0),
                    notes.join("; ")
                )
            })?;
        }
        notes.push(format!(
            "RSS pre-churn {}, after warm-up {}, after the last round {}",
            mib(r0),
            mib(warm),
            ends.last().copied().flatten().map_or("?".into(), mib)
        ));
    }
    Ok(notes.join("; "))
}

async fn dropped_websockets(ctx: Ctx) -> Outcome {
    let n = ctx.size.pick(100, 500);
    // The observer is a session too: it is part of the baseline.
    let observer = Observer::start(&ctx.target, Duration::from_millis(20)).await?;
    let baseline = match ctx.probe.metrics {
        Some(_) => Some(settled_gauge(&ctx).await?),
        None => None,
    };
    let fds0 = ctx.probe.sample().await.fds;
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let path = if i % 2 == 0 {
            format!("{}/websocket", ctx.base("/echo"))
        } else {
            format!("{}/websocket", ctx.session("/echo"))
        };
        let mut ws = RawWs::connect(&ctx.target, &path)
            .await
            .map_err(|e| format!("socket {i}: {e}"))?;
        if i % 2 == 1 {
            ws.next_text(Duration::from_secs(2)).await?; // the open frame
        }
        // Half a message: the header promises 1000 bytes, 500 come.
        ws.write_header(true, 0, TEXT, 1000, Some([0; 4])).await?;
        ws.write_raw(&[b'x'; 500]).await?;
        if i % 4 < 2 {
            ws.reset_on_drop()?;
        }
        sockets.push(ws);
    }
    let open = match ctx.probe.metrics {
        Some(_) => Some(ctx.probe.sessions().await?),
        None => None,
    };
    let fds_open = ctx.probe.sample().await.fds;
    drop(sockets);
    let mut notes = vec![format!(
        "{n} sockets (half raw, half SockJS; half reset, half closed) dropped mid-message"
    )];
    if let (Some(b), Some(o)) = (baseline, open) {
        let took = back_to(&ctx, b, "after the drops").await?;
        notes.push(format!(
            "gauge {b} -> {o} -> back to {b} in {:.1}s",
            took.as_secs_f64()
        ));
    }
    if let (Some(f0), Some(fo)) = (fds0, fds_open) {
        let mut now = fo;
        for _ in 0..40 {
            now = ctx.probe.sample().await.fds.unwrap_or(now);
            if now <= f0 + 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        ensure(now <= f0 + 4, || {
            format!(
                "server fds {f0} before, {fo} with the sockets, still {now} 10 s after the drops"
            )
        })?;
        notes.push(format!("fds {f0} -> {fo} -> {now}"));
    }
    let lat = observer.finish().await;
    observer_ok(&lat, 1, 500.0)?;
    notes.push(format!("observer {}", lat.summary()));
    Ok(notes.join("; "))
}
