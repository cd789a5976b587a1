//! `stomp-broadcast`: C STOMP clients over SockJS websocket sessions (at `--prefix`, e.g.
//! `/stomp`), spread round-robin over every `--addr`, each SUBSCRIBEd to one topic, and one
//! STOMP client on the first address SENDing to it at a fixed rate. With one node this
//! measures the in-memory broker; with several nodes relaying through RabbitMQ
//! (`--broker-relay`), the relay. Each payload starts with its send time (see
//! [`fanout`]). Figures: messages delivered per second, the share of sent x C
//! delivered, and the p50/p99 fan-out latency.

use std::time::Instant;

use clap::Args;
use serde_json::json;

use super::fanout::{self, Fanout, Figures, Inbox, Outbox};
use crate::error::{Result, within};
use crate::stomp::{self, Client};
use crate::{Common, secs};

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
    /// Messages per second the sender publishes.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Message body size in bytes (at least the timestamp's 16).
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// Seconds to wait, after the last send, for deliveries still in flight.
    #[arg(long, default_value_t = 5.0)]
    pub grace: f64,
}

/// Runs the scenario and prints its result.
pub async fn run(args: StompBroadcastArgs) -> std::result::Result<(), String> {
    let common = &args.common;
    if !fanout::RATES.contains(&args.rate) {
        return Err("rate must be 0.1..=10000 msgs/s".into());
    }
    let (addrs, prefix, dest) = (&common.addrs, common.prefix.as_str(), &args.destination);
    // `check` let no empty address list through: the modulo and the index are in range.
    let subscribers = super::open_each(common, args.sessions, |i| async move {
        let mut client = Client::connect(addrs[i % addrs.len()], prefix).await?;
        client.subscribe(SUBSCRIPTION, dest).await?;
        Ok(client)
    })
    .await
    .map_err(|e| format!("opening {} STOMP subscribers: {e}", args.sessions))?;
    let fan = Fanout::new();
    // Every subscription has its receipt: no settling time is needed before sending.
    let tasks: Vec<_> = subscribers.into_iter().map(|s| fan.subscribe(s)).collect();
    let sent = publish(&args, fan.base()).await;
    let expected = sent.as_ref().map_or(0, |&n| n * args.sessions as u64);
    let tally = fan.finish(expected, secs(args.grace), tasks).await?;
    let sent = sent?;
    fanout::report(
        &common.labels("stomp-broadcast".into()),
        Figures {
            scenario: "stomp-broadcast",
            sessions: args.sessions,
            rate: args.rate,
            payload: args.payload,
            secs: common.duration().as_secs_f64(),
            sent,
        },
        tally,
        json!({
            "transport": "websocket", "prefix": prefix, "destination": dest,
            "nodes": addrs.len(),
        }),
    );
    Ok(())
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
        let sent = fanout::publish(
            &mut sender,
            base,
            (args.rate, args.payload),
            common.duration(),
            timeout,
        )
        .await?;
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
        let headers = [
            ("destination", self.destination),
            ("content-type", "text/plain"),
        ];
        let frame = stomp::encode("SEND", &headers, payload);
        self.client.send_frame(&frame).await
    }
}

/// A subscriber's deliveries are the bodies of its MESSAGE frames.
impl Inbox for Client {
    async fn next_payloads(&mut self) -> Result<Vec<String>> {
        self.next_bodies().await
    }
}
