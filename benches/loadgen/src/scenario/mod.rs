//! The scenarios, one file each, and what they share: opening many sessions with bounded
//! concurrency.

pub mod broadcast;
pub mod churn;
pub mod echo;
pub mod idle;

use futures_util::{StreamExt, TryStreamExt, stream};

use crate::Common;
use crate::client::{Session, Transport};
use crate::error::{Error, within};

/// Opens `n` sessions at `common.prefix`, `common.connect_concurrency` at a time; the first
/// failure fails the whole set.
pub async fn open_all(
    common: &Common,
    transport: Transport,
    n: usize,
) -> Result<Vec<Session>, String> {
    let (addr, prefix, timeout) = (common.addr, common.prefix.as_str(), common.timeout());
    stream::iter(0..n)
        .map(|_| within(timeout, "open", Session::open(addr, prefix, transport)))
        .buffer_unordered(common.connect_concurrency.max(1))
        .try_collect()
        .await
        .map_err(|e: Error| format!("opening {n} {} sessions: {e}", transport.name()))
}

/// Per-second rate of `n` events over `secs` seconds.
pub fn rate(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}
