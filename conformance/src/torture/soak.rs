//! Soak: every transport at a steady, bounded rate for N minutes against `/echo` and
//! `/broadcast`, sampling the server's RSS and fds every few seconds. Fails when any round
//! trip fails, or when RSS or fds grew beyond [`RSS_TOLERANCE_SHARE`] / [`FD_TOLERANCE`]
//! between the first and the last third of the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::transports::{ALL, Session, Transport};
use super::{Ctx, mib};

/// Echo round trips per session before it is ended and a new one opened.
const ROUNDS_PER_SESSION: u64 = 25;
/// Pause between two round trips of one worker.
const PACE: Duration = Duration::from_millis(100);
/// Echo workers per transport.
const WORKERS_PER_TRANSPORT: usize = 2;
/// RSS tolerance: the last third's mean may exceed the first third's by this share...
pub const RSS_TOLERANCE_SHARE: f64 = 0.10;
/// ...plus this many bytes.
pub const RSS_TOLERANCE_BYTES: u64 = 4 << 20;
/// fds tolerance: the last third's highest may exceed the first third's highest by this.
pub const FD_TOLERANCE: u64 = 16;

/// Counters shared by the workers.
#[derive(Default)]
struct Tally {
    round_trips: AtomicU64,
    sessions: AtomicU64,
    errors: AtomicU64,
    stop: AtomicBool,
}

/// One sample of the run.
#[derive(Clone, Copy, Debug)]
struct Point {
    at: f64,
    rss: Option<u64>,
    fds: Option<u64>,
}

/// One echo worker: sessions over `transport` on `service`, one after the other.
async fn worker(
    ctx: Ctx,
    service: &'static str,
    transport: Transport,
    id: usize,
    tally: Arc<Tally>,
) {
    let mut n = 0u64;
    while !tally.stop.load(Ordering::Relaxed) {
        let mut session = match Session::open(&ctx.target, service, transport).await {
            Ok(s) => s,
            Err(e) => {
                report(&tally, &format!("{transport:?} worker {id}: open: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tally.sessions.fetch_add(1, Ordering::Relaxed);
        for _ in 0..ROUNDS_PER_SESSION {
            if tally.stop.load(Ordering::Relaxed) {
                break;
            }
            n += 1;
            match session
                .echo(&ctx.target, &format!("{transport:?} {id} {n}"))
                .await
            {
                Ok(()) => {
                    tally.round_trips.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    report(&tally, &format!("{transport:?} worker {id}: {e}"));
                    break;
                }
            }
            tokio::time::sleep(PACE).await;
        }
        session.end().await;
    }
}

/// Counts an error and prints the first few.
fn report(tally: &Tally, what: &str) {
    let n = tally.errors.fetch_add(1, Ordering::Relaxed);
    if n < 10 {
        println!("error: {what}");
    }
}

/// Runs the soak for `minutes`, sampling every `every`. Prints the samples and a verdict;
/// returns whether it passed.
pub async fn run(ctx: Ctx, minutes: f64, every: Duration) -> bool {
    let length = Duration::from_secs_f64((minutes * 60.0).max(3.0 * every.as_secs_f64()));
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for (i, transport) in ALL.iter().enumerate() {
        for w in 0..WORKERS_PER_TRANSPORT {
            tasks.push(tokio::spawn(worker(
                ctx.clone(),
                "/echo",
                *transport,
                i * 10 + w,
                tally.clone(),
            )));
        }
    }
    // /broadcast members echo through the group: every message reaches every member.
    for (i, transport) in [
        Transport::WebSocket,
        Transport::XhrPolling,
        Transport::EventSource,
    ]
    .iter()
    .enumerate()
    {
        tasks.push(tokio::spawn(worker(
            ctx.clone(),
            "/broadcast",
            *transport,
            100 + i,
            tally.clone(),
        )));
    }
    println!(
        "soak: {} workers over {:?}, /echo and /broadcast for {:.1} min, sampling every {:?}",
        tasks.len(),
        ALL,
        length.as_secs_f64() / 60.0,
        every
    );
    let started = Instant::now();
    let mut points = Vec::new();
    while started.elapsed() < length {
        let s = ctx.probe.sample().await;
        let p = Point {
            at: started.elapsed().as_secs_f64(),
            rss: s.rss,
            fds: s.fds,
        };
        println!(
            "sample t={:>6.1}s rss={} fds={} round_trips={} sessions={} errors={}",
            p.at,
            p.rss.map_or("?".into(), mib),
            p.fds.map_or("?".into(), |f| f.to_string()),
            tally.round_trips.load(Ordering::Relaxed),
            tally.sessions.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed)
        );
        points.push(p);
        tokio::time::sleep(every.min(length.saturating_sub(started.elapsed()))).await;
    }
    tally.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
    }
    verdict(&points, &tally)
}

fn mean(v: &[u64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<u64>() as f64 / v.len() as f64)
}

/// Compares the first and last thirds; prints the verdict.
fn verdict(points: &[Point], tally: &Tally) -> bool {
    let third = (points.len() / 3).max(1);
    let (first, last) = (
        &points[..third.min(points.len())],
        &points[points.len().saturating_sub(third)..],
    );
    let rss = |ps: &[Point]| ps.iter().filter_map(|p| p.rss).collect::<Vec<_>>();
    let fds = |ps: &[Point]| ps.iter().filter_map(|p| p.fds).collect::<Vec<_>>();
    let mut failures = Vec::new();
    let errors = tally.errors.load(Ordering::Relaxed);
    if errors > 0 {
        failures.push(format!("{errors} failed round trips or opens"));
    }
    if tally.round_trips.load(Ordering::Relaxed) == 0 {
        failures.push("no round trip succeeded".to_string());
    }
    match (mean(&rss(first)), mean(&rss(last))) {
        (Some(a), Some(b)) => {
            let allowed = a * (1.0 + RSS_TOLERANCE_SHARE) + RSS_TOLERANCE_BYTES as f64;
            println!(
                "soak: RSS mean first third {}, last third {} (allowed up to {})",
                mib(a as u64),
                mib(b as u64),
                mib(allowed as u64)
            );
            if b > allowed {
                failures.push(format!(
                    "RSS grew from {} to {}",
                    mib(a as u64),
                    mib(b as u64)
                ));
            }
        }
        _ => println!("soak: RSS not sampled (give --server-pid or --metrics-url)"),
    }
    match (fds(first).iter().max(), fds(last).iter().max()) {
        (Some(a), Some(b)) => {
            println!(
                "soak: fds max first third {a}, last third {b} (allowed up to {})",
                a + FD_TOLERANCE
            );
            if *b > a + FD_TOLERANCE {
                failures.push(format!("fds grew from {a} to {b}"));
            }
        }
        _ => println!("soak: fds not sampled"),
    }
    println!(
        "soak: {} round trips over {} sessions, {errors} errors",
        tally.round_trips.load(Ordering::Relaxed),
        tally.sessions.load(Ordering::Relaxed)
    );
    if failures.is_empty() {
        println!("ok   soak");
        println!("1 passed, 0 failed");
        true
    } else {
        println!("FAIL soak: {}", failures.join("; "));
        println!("0 passed, 1 failed");
        false
    }
}
