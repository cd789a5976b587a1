//! `stomp-broadcast`: C STOMP clients over SockJS websocket sessions (at `--prefix`, e.g.
//! `/stomp`), spread round-robin over every `--addr`, each SUBSCRIBEd to one topic, and one
//! STOMP client on the first address SENDing to it at a fixed rate. With one node this
//! measures the in-memory broker; with several nodes relaying through RabbitMQ
//! (`--broker-relay`), the relay. Each payload starts with its send time (see
//! [`fanout`]). Figures: messages delivered per second, the share of sent x C
//! delivered, and the p50/p99 fan-out latency.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use serde_json::json;
use sockjs_server::stomp::frame::{Command, Frame};

use super::fanout::{self, Inbox, Outbox, Pace};
use crate::Common;
use crate::error::{Result, within};
use crate::stomp::Client;

/// The subscription id every subscriber uses (one subscription per client).
const SUBSCRIPTION: &str = "0";

/// Arguments of `stomp-broadcast` (give `--prefix` of the STOMP mount, e.g. `/stomp`).
#[derive(Debug, Clone, Args)]
pub struct StompBroadcastArgs {
    #[command(flatten)]
    pub common: Common,
    /// Subscribers, spread round-robin over the addresses.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// The topic: a name RabbitMQ accepts too (`/topic/` then a routing key, no `/`).
    #[arg(long, default_value = "/topic/bench")]
    pub destination: String,
    #[command(flatten)]
    pub pace: Pace,
}

/// Runs the scenario and prints its result.
pub async fn run(args: StompBroadcastArgs) -> std::result::Result<(), String> {
    let common = &args.common;
    args.pace.check()?;
    let (addrs, prefix, dest) = (&common.addrs, common.prefix.as_str(), &args.destination);
    // `check` let no empty address list through: the modulo and the index are in range.
    let subscribers = super::open_each(common, args.sessions, |i| async move {
        let mut client = Client::connect(addrs[i % addrs.len()], prefix).await?;
        client.subscribe(SUBSCRIPTION, dest).await?;
        Ok(client)
    })
    .await
    .map_err(|e| format!("opening {} STOMP subscribers: {e}", args.sessions))?;
    // Every subscription has its receipt: no settling time is needed before sending.
    fanout::run(
        common,
        &args.pace,
        ("stomp-broadcast", "stomp-broadcast".into()),
        subscribers,
        Duration::ZERO,
        |base| publish(&args, base),
        json!({
            "transport": "websocket", "prefix": prefix, "destination": dest,
            "nodes": addrs.len(),
        }),
    )
    .await
}

/// The sender: a STOMP client on the first address sending for the scenario's duration at
/// `args.rate`, then DISCONNECTing with a receipt (so every SEND was taken). Returns how
/// many it sent.
async fn publish(args: &StompBroadcastArgs, base: Instant) -> std::result::Result<u64, String> {
    let common = &args.common;
    let timeout = common.timeout();
    let outcome = async {
        let client = within(
            timeout,
            "sender CONNECTED",
            Client::connect(common.addr(), &common.prefix),
        )
        .await?;
        let mut sender = Sender {
            client,
            destination: &args.destination,
        };
        let sent = fanout::publish(&mut sender, base, &args.pace, common).await?;
        within(timeout, "sender DISCONNECT", sender.client.disconnect()).await?;
        Ok::<_, crate::error::Error>(sent)
    };
    outcome.await.map_err(|e| format!("sender: {e}"))
}

/// The sender's client and where it sends.
struct Sender<'a> {
    client: Client,
    destination: &'a str,
}

impl Outbox for Sender<'_> {
    async fn publish(&mut self, payload: &str) -> Result<()> {
        let frame = Frame::new(Command::Send)
            .header("destination", self.destination)
            .header("content-type", "text/plain")
            .body(Bytes::copy_from_slice(payload.as_bytes()));
        self.client.send_frame(&frame).await
    }
}

/// A subscriber's deliveries are the bodies of its MESSAGE frames.
impl Inbox for Client {
    async fn next_payloads(&mut self) -> Result<Vec<String>> {
        self.next_bodies().await
    }
}
