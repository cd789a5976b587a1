//! `broadcast`: C websocket subscribers of a broadcast service and one sender (a session
//! of the same service) publishing at a fixed rate. Each payload starts with the send time
//! (microseconds since the scenario began, one clock: sender and subscribers share this
//! process). Figures: messages delivered per second, the share of sent x C delivered, and
//! the p50/p99 fan-out latency.

use std::time::{Duration, Instant};

use clap::Args;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::fanout::{self, Inbox, Outbox, Pace};
use crate::client::{self, Frame, Session, Transport};
use crate::error::{Error, Result, within};
use crate::{Common, default_tag};

/// How long the subscribers' opens get to reach the service before the first message.
const SETTLE: Duration = Duration::from_millis(500);

/// Arguments of `broadcast`.
#[derive(Debug, Clone, Args)]
pub struct BroadcastArgs {
    #[command(flatten)]
    pub common: Common,
    /// Subscribers.
    #[arg(long, default_value_t = 1000)]
    pub sessions: usize,
    /// The subscribers' transport.
    #[arg(long, value_enum, default_value = "websocket")]
    pub transport: Transport,
    #[command(flatten)]
    pub pace: Pace,
}

/// Runs the scenario and prints its result.
pub async fn run(args: BroadcastArgs) -> std::result::Result<(), String> {
    let common = &args.common;
    args.pace.check()?;
    let subscribers = super::open_all(common, args.transport, args.sessions).await?;
    fanout::run(
        common,
        &args.pace,
        ("broadcast", default_tag("broadcast", args.transport)),
        subscribers,
        SETTLE,
        |base| publish(&args, base),
        json!({ "transport": args.transport.name() }),
    )
    .await
}

/// The sender: a websocket session of the service sending for the scenario's duration at
/// `args.rate`, with its own deliveries drained. Returns how many it sent.
async fn publish(args: &BroadcastArgs, base: Instant) -> std::result::Result<u64, String> {
    let common = &args.common;
    let timeout = common.timeout();
    let path = client::session_path(&common.prefix);
    let ws = within(
        timeout,
        "sender open",
        client::ws_connect(common.addr(), &path),
    )
    .await
    .map_err(|e| format!("sender: {e}"))?;
    let (sink, mut stream) = ws.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut sender = Sender(sink);
    let outcome = fanout::publish(&mut sender, base, &args.pace, common)
        .await
        .map_err(|e| format!("sender: {e}"));
    let _ = within(timeout, "sender close", async {
        Ok(sender.0.close().await?)
    })
    .await;
    drain.abort();
    outcome
}

/// The sending half of the sender's websocket.
struct Sender(SplitSink<WebSocketStream<TcpStream>, WsMessage>);

impl Outbox for Sender {
    async fn publish(&mut self, payload: &str) -> Result<()> {
        let text = client::encode(&[payload])?;
        Ok(self.0.send(WsMessage::text(text)).await?)
    }
}

/// A subscriber's deliveries are its session's message frames.
impl Inbox for Session {
    async fn next_payloads(&mut self) -> Result<Vec<String>> {
        loop {
            match self.recv().await? {
                Frame::Messages(m) => return Ok(m),
                Frame::Heartbeat => {}
                other => return Err(Error::Protocol(format!("got {other:?}"))),
            }
        }
    }
}
