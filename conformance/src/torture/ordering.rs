//! Many clients, many messages: each client sends numbered messages over xhr_send, one
//! request each, and receives the echoes over xhr polling (even clients) or xhr_streaming
//! with its response-limit rotations (odd clients). Every reply must arrive exactly once and
//! in order.

use std::time::Duration;

use super::client::{Frame, KeepAlive, parse_frame};
use super::{Check, Ctx, Outcome, check, ensure};
use crate::http::{Request, Stream};

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![check!("ordering.xhr_send", ordering)]
}

/// Receives until `count` messages arrived, by polling.
async fn receive_polling(ctx: Ctx, session: String, count: usize) -> Result<Vec<String>, String> {
    let mut client = KeepAlive::new(&ctx.target, Duration::from_secs(30));
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        for f in client.poll(&session).await? {
            match f {
                Frame::Messages(m) => got.extend(m),
                Frame::Close(c, r) => {
                    return Err(format!(
                        "{session} closed {c} {r:?} after {} messages",
                        got.len()
                    ));
                }
                Frame::Open | Frame::Heartbeat => {}
            }
        }
    }
    Ok(got)
}

/// Receives until `count` messages arrived, over xhr_streaming, reopening the stream each
/// time the server ends it (every 4096 bytes on `/echo`).
async fn receive_streaming(
    ctx: Ctx,
    session: String,
    count: usize,
    mut first: Stream,
) -> Result<Vec<String>, String> {
    let mut got = Vec::with_capacity(count);
    let mut stream = Some(first_frames(&mut first).await.map(|()| first)?);
    while got.len() < count {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => {
                let mut s = Stream::open_proxied(
                    &ctx.target,
                    &Request::post(&format!("{session}/xhr_streaming")),
                )
                .await?;
                s.next_frame().await?; // the prelude
                stream.insert(s)
            }
        };
        match s.next_frame().await? {
            None => stream = None,
            Some(bytes) => match parse_frame(&String::from_utf8_lossy(&bytes))? {
                Frame::Messages(m) => got.extend(m),
                Frame::Close(c, r) => {
                    return Err(format!(
                        "{session} closed {c} {r:?} after {} messages",
                        got.len()
                    ));
                }
                Frame::Open => {
                    return Err(format!(
                        "{session}: a second open frame after {} messages",
                        got.len()
                    ));
                }
                Frame::Heartbeat => {}
            },
        }
    }
    Ok(got)
}

/// The prelude and the open frame of the first stream.
async fn first_frames(s: &mut Stream) -> Result<(), String> {
    s.next_frame().await?;
    s.expect_frame(b"o\n").await
}

/// One client: a receiver task and a sender; the messages received.
async fn client(ctx: Ctx, id: usize, count: usize) -> Result<(), String> {
    let session = ctx.session("/echo");
    let receiver = if id.is_multiple_of(2) {
        let mut opener = KeepAlive::new(&ctx.target, Duration::from_secs(5));
        super::client::open_polling(&mut opener, &session).await?;
        tokio::spawn(receive_polling(ctx.clone(), session.clone(), count))
    } else {
        let s = Stream::open_proxied(
            &ctx.target,
            &Request::post(&format!("{session}/xhr_streaming")),
        )
        .await?;
        tokio::spawn(receive_streaming(ctx.clone(), session.clone(), count, s))
    };
    let mut sender = KeepAlive::new(&ctx.target, Duration::from_secs(10));
    for n in 0..count {
        sender
            .send(&session, &format!("client {id} message {n}"))
            .await
            .map_err(|e| format!("client {id}: {e}"))?;
    }
    let got = tokio::time::timeout(Duration::from_secs(30), receiver)
        .await
        .map_err(|_| format!("client {id}: the replies did not all arrive within 30 s"))?
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("client {id}: {e}"))?;
    for (n, m) in got.iter().enumerate() {
        let expected = format!("client {id} message {n}");
        ensure(*m == expected, || {
            format!(
                "client {id}: reply {n} is {m:?}, expected {expected:?} (lost, repeated or reordered)"
            )
        })?;
    }
    ensure(got.len() == count, || {
        format!("client {id}: {} replies for {count} messages", got.len())
    })
}

async fn ordering(ctx: Ctx) -> Outcome {
    let (clients, count) = ctx.size.pick((10, 200), (50, 1000));
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| tokio::spawn(client(ctx.clone(), id, count)))
        .collect();
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.map_err(|e| e.to_string()).and_then(|r| r) {
            failures.push(e);
        }
    }
    ensure(failures.is_empty(), || {
        format!(
            "{} of {clients} clients failed: {}",
            failures.len(),
            failures
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let took = started.elapsed().as_secs_f64();
    Ok(format!(
        "{clients} clients x {count} messages, every reply once and in order, in {took:.1}s ({:.0} sends/s)",
        (clients * count) as f64 / took
    ))
}
