//! The scenarios, one file each, and what they share: opening many sessions with bounded
//! concurrency; `fanout` holds what the two fan-out scenarios share.

pub mod broadcast;
pub mod churn;
pub mod echo;
pub mod fanout;
pub mod hold;
pub mod idle;
pub mod stomp_broadcast;

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::Common;
use crate::client::{Session, Transport};
use crate::error::{Result, within};

/// Opens `n` sessions at `common.prefix`, `common.connect_concurrency` at a time; the first
/// failure fails the whole set.
pub async fn open_all(
    common: &Common,
    transport: Transport,
    n: usize,
) -> std::result::Result<Vec<Session>, String> {
    let (addr, prefix) = (common.addr(), common.prefix.as_str());
    open_each(common, n, |_| Session::open(addr, prefix, transport))
        .await
        .map_err(|e| format!("opening {n} {} sessions: {e}", transport.name()))
}

/// Runs `open(i)` for `i` in `0..n`, `common.connect_concurrency` at a time, each bounded by
/// `common.timeout`; the first failure fails the whole set.
pub async fn open_each<T, F>(
    common: &Common,
    n: usize,
    open: impl FnMut(usize) -> F,
) -> Result<Vec<T>>
where
    F: Future<Output = Result<T>>,
{
    let timeout = common.timeout();
    stream::iter(0..n)
        .map(open)
        .map(|f| within(timeout, "open", f))
        .buffer_unordered(common.connect_concurrency.max(1))
        .try_collect()
        .await
}

/// Per-second rate of `n` events over `secs` seconds.
pub fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}
