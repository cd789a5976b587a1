//! Slow consumers and contested sessions: a streaming receiver on `/broadcast` that stops
//! reading while the group is flooded is closed with 4500 and costs bounded memory while
//! a fast member gets everything; a second receiver on a session gets 2010 on every
//! transport and the first receiver goes on unharmed.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::client::{Frame, KeepAlive, parse_frame};
use super::{Check, Ctx, Outcome, check, ensure, mib};
use crate::http::{self, Request, Stream, printable};

/// Size of one flood message.
const FLOOD_MESSAGE: usize = 16 << 10;
/// RSS may grow by at most this much during the flood.
const FLOOD_RSS_LIMIT: u64 = 24 << 20;
/// Close frame of a session over its send buffer.
const OVERFLOW: u16 = 4500;

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![
        check!("flood.slow_consumer", slow_consumer),
        check!("flood.second_receiver", second_receiver),
    ]
}

/// Opens an xhr_streaming receiver on `session` (frames split by delimiter) and reads the
/// prelude and the open frame.
async fn streaming_receiver(ctx: &Ctx, session: &str) -> Result<Stream, String> {
    let mut s = Stream::open_proxied(
        &ctx.target,
        &Request::post(&format!("{session}/xhr_streaming")),
    )
    .await?;
    ensure(s.status() == 200, || {
        format!("{}: status {}", s.label, s.status())
    })?;
    s.next_frame().await?; // prelude
    s.expect_frame(b"o\n").await?;
    Ok(s)
}

/// Sends `count` messages to `/broadcast` over a WebSocket member that reads everything the
/// group sends back at once; returns how long until the member had all of them.
async fn flood(ctx: &Ctx, count: usize) -> Result<Duration, String> {
    let url = format!(
        "ws://{}{}/broadcast/websocket",
        ctx.target.authority, ctx.target.prefix
    );
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(2),
        tokio_tungstenite::connect_async(url.as_str()),
    )
    .await
    .map_err(|_| format!("{url}: handshake timed out"))?
    .map_err(|e| format!("{url}: {e}"))?;
    let (mut sink, mut stream) = ws.split();
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        let mut got = 0usize;
        while got < count {
            match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => got += 1,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => return Err(format!("fast member: {e} after {got} messages")),
                Ok(None) => {
                    return Err(format!(
                        "fast member: connection ended after {got} messages"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "fast member: stalled after {got} of {count} messages"
                    ));
                }
            }
        }
        Ok(())
    });
    let body = "b".repeat(FLOOD_MESSAGE);
    for i in 0..count {
        let text = format!("{i:08} {body}");
        tokio::time::timeout(Duration::from_secs(5), sink.send(Message::text(text)))
            .await
            .map_err(|_| format!("sending flood message {i} timed out"))?
            .map_err(|e| format!("sending flood message {i}: {e}"))?;
    }
    reader.await.map_err(|e| e.to_string())??;
    let took = started.elapsed();
    let _ = sink.close().await;
    Ok(took)
}

async fn slow_consumer(ctx: Ctx) -> Outcome {
    let count = ctx.size.pick(2000, 4000);
    let closed_before = ctx
        .probe
        .counter("sockjs_sessions_closed", &format!("code=\"{OVERFLOW}\""))
        .await
        .ok();
    let session = ctx.session("/broadcast");
    let mut slow = streaming_receiver(&ctx, &session).await?;
    let before = ctx.probe.rss().await;
    let peak = ctx.probe.peak();
    let took = flood(&ctx, count).await?;
    let peak = peak.finish().await;
    // Now read what the slow receiver was sent: buffered frames, then (perhaps) the close.
    let mut seen_close = None;
    for _ in 0..(count + 10) {
        match slow.next_frame().await {
            Ok(Some(f)) => {
                if let Ok(Frame::Close(code, reason)) = parse_frame(&String::from_utf8_lossy(&f)) {
                    seen_close = Some((code, reason));
                    break;
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    if seen_close.is_none() {
        let r = http::fetch(&ctx.target, &Request::post(&format!("{session}/xhr"))).await?;
        seen_close = match parse_frame(&r.text()) {
            Ok(Frame::Close(code, reason)) => Some((code, reason)),
            _ => {
                return Err(format!(
                    "after the flood the slow session still answers {} {}",
                    r.status(),
                    printable(&r.body)
                ));
            }
        };
    }
    ensure(matches!(seen_close, Some((OVERFLOW, _))), || {
        format!("the slow session was closed with {seen_close:?}, expected {OVERFLOW}")
    })?;
    let mut note = format!(
        "{count} x {} KiB flooded; the fast member had them all in {:.2}s; the slow session closed {seen_close:?}",
        FLOOD_MESSAGE >> 10,
        took.as_secs_f64()
    );
    if let (Some(b), Some(p)) = (before, peak) {
        let grew = p.saturating_sub(b);
        ensure(grew < FLOOD_RSS_LIMIT, || {
            format!(
                "server RSS grew by {} during a {} flood (limit {})",
                mib(grew),
                mib((count * FLOOD_MESSAGE) as u64),
                mib(FLOOD_RSS_LIMIT)
            )
        })?;
        note.push_str(&format!("; RSS {} -> peak {}", mib(b), mib(p)));
    }
    if let (Some(b), Ok(a)) = (
        closed_before,
        ctx.probe
            .counter("sockjs_sessions_closed", &format!("code=\"{OVERFLOW}\""))
            .await,
    ) {
        ensure(a > b, || {
            format!("sockjs_sessions_closed{{code=\"{OVERFLOW}\"}} did not grow ({b} -> {a})")
        })?;
    }
    Ok(note)
}

/// A second receiver of each transport gets 2010; the first keeps receiving.
async fn second_receiver(ctx: Ctx) -> Outcome {
    let session = ctx.session("/echo");
    let mut first = streaming_receiver(&ctx, &session).await?;
    let second = [
        Request::post(&format!("{session}/xhr")),
        Request::post(&format!("{session}/xhr_streaming")),
        Request::get(&format!("{session}/eventsource")),
        Request::get(&format!("{session}/htmlfile?c=cb")),
        Request::get(&format!("{session}/jsonp?c=cb")),
    ];
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(5));
    for (i, req) in second.iter().enumerate() {
        let mut s = Stream::open_proxied(&ctx.target, req).await?;
        let mut body = Vec::new();
        while let Some(f) = s.next_frame().await? {
            body.extend_from_slice(&f);
            if body.len() > 64 << 10 {
                break;
            }
        }
        let text = String::from_utf8_lossy(&body);
        ensure(
            text.contains("2010") && text.contains("Another connection still open"),
            || {
                format!(
                    "{}: expected c[2010,\"Another connection still open\"], got {}",
                    s.label,
                    printable(&body)
                )
            },
        )?;
        // The first receiver is unharmed: it gets the next message.
        let msg = format!("after second receiver {i}");
        client.send(&session, &msg).await?;
        let expected = format!(
            "a{}\n",
            serde_json::to_string(&[&msg]).map_err(|e| e.to_string())?
        );
        first
            .expect_frame(expected.as_bytes())
            .await
            .map_err(|e| format!("after {}: {e}", s.label))?;
    }
    // And the other way round: a pending poll first, a stream second.
    let polled = ctx.session("/echo");
    let mut poller = KeepAlive::new(&ctx.target, Duration::from_secs(10));
    ensure(poller.poll(&polled).await? == [Frame::Open], || {
        format!("POST {polled}/xhr: no open frame")
    })?;
    let path = polled.clone();
    let pending = tokio::spawn(async move { poller.poll(&path).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = http::fetch(
        &ctx.target,
        &Request::post(&format!("{polled}/xhr_streaming")),
    )
    .await;
    let text = r.map(|r| r.text()).unwrap_or_else(|e| e);
    ensure(text.contains("c[2010,"), || {
        format!(
            "a stream while a poll waits: expected 2010, got {}",
            printable(text.as_bytes())
        )
    })?;
    client.send(&polled, "to the poll").await?;
    let frames = pending.await.map_err(|e| e.to_string())??;
    ensure(
        frames == [Frame::Messages(vec!["to the poll".into()])],
        || format!("the waiting poll got {frames:?} after a refused stream"),
    )?;
    Ok(format!(
        "{} second receivers got 2010, the first received every message after each; a waiting poll survived a refused stream",
        second.len()
    ))
}
