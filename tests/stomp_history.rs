//! History and recovery on the in-memory broker (docs/stomp.md, "History and recovery"), over
//! TCP and over SockJS with every transport a client reconnects with (websocket,
//! xhr-streaming, xhr-polling): a subscriber that read messages 1..k and dropped gets exactly
//! what it missed, then the live stream, with nothing lost or doubled at the seam (messages
//! are published while it resubscribes); a changed epoch or a too-old offset says
//! `recovered:false`; the count, age and byte bounds.

mod stomp_common;

use std::time::Duration;

use sockjs_server::stomp::{Frame, HistoryConfig, StompConfig};
use stomp_common::{SockJsClient, StompServer, TcpClient, XhrPollingClient, XhrStreamingClient};

#[derive(Debug, Clone, Copy)]
enum Via {
    Tcp,
    WebSocket,
    XhrStreaming,
    XhrPolling,
}

enum Client {
    Tcp(TcpClient),
    Ws(Box<SockJsClient>),
    Streaming(Box<XhrStreamingClient>),
    Polling(XhrPollingClient),
}

impl Client {
    async fn connect(server: &StompServer, via: Via) -> Client {
        match via {
            Via::Tcp => Client::Tcp(TcpClient::connect(server.tcp, "").await.0),
            Via::WebSocket => Client::Ws(Box::new(SockJsClient::connect(server.http, "").await.0)),
            Via::XhrStreaming => Client::Streaming(Box::new(
                XhrStreamingClient::connect(server.http, "").await.0,
            )),
            Via::XhrPolling => Client::Polling(XhrPollingClient::connect(server.http, "").await.0),
        }
    }

    async fn send(&mut self, text: &str) {
        match self {
            Client::Tcp(c) => c.send(text).await,
            Client::Ws(c) => c.send(text).await,
            Client::Streaming(c) => c.send(text).await,
            Client::Polling(c) => c.send(text).await,
        }
    }

    async fn frame(&mut self) -> Frame {
        match self {
            Client::Tcp(c) => c.frame().await,
            Client::Ws(c) => c.frame().await,
            Client::Streaming(c) => c.frame().await,
            Client::Polling(c) => c.frame().await,
        }
    }

    /// SUBSCRIBEs with `extra` headers and a receipt; the frames up to and including the
    /// RECEIPT.
    async fn subscribe(&mut self, id: &str, destination: &str, extra: &str) -> Vec<Frame> {
        self.send(&format!(
            "SUBSCRIBE\nid:{id}\ndestination:{destination}\nreceipt:r-{id}\n{extra}\n\0"
        ))
        .await;
        let mut frames = Vec::new();
        loop {
            let f = self.frame().await;
            let done = f.command.as_str() == "RECEIPT";
            assert!(done || f.command.as_str() == "MESSAGE", "{f:?}");
            frames.push(f);
            if done {
                return frames;
            }
        }
    }
}

fn history(config: HistoryConfig) -> StompConfig {
    StompConfig::default().history(Some(config))
}

fn number(f: &Frame) -> u64 {
    let body = String::from_utf8_lossy(&f.body);
    body.strip_prefix('m')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a numbered message: {f:?}"))
}

fn offset(f: &Frame) -> u64 {
    f.get("offset")
        .and_then(|o| o.parse().ok())
        .expect("offset")
}

fn publish(server: &StompServer, destination: &str, numbers: std::ops::RangeInclusive<u64>) {
    for n in numbers {
        server
            .stomp
            .publish(destination, Vec::new(), format!("m{n}"))
            .expect("publish");
    }
}

async fn recovers_exactly_what_was_missed_then_goes_live(via: Via) {
    let server = StompServer::start(history(HistoryConfig::default().max_messages(1000)));
    let topic = format!("/topic/history.{via:?}");
    let mut first = Client::connect(&server, via).await;
    let receipt = first.subscribe("s", &topic, "").await;
    assert_eq!(receipt.len(), 1);
    assert_eq!(receipt[0].get("offset"), Some("0"), "{:?}", receipt[0]);
    let epoch = receipt[0].get("epoch").expect("epoch").to_owned();
    publish(&server, &topic, 1..=5);
    let mut last = None;
    for n in 1..=3 {
        let f = first.frame().await;
        assert_eq!((number(&f), offset(&f)), (n, n), "{f:?}");
        assert_eq!(f.get("epoch"), Some(epoch.as_str()));
        last = Some((offset(&f), f.get("epoch").unwrap_or_default().to_owned()));
    }
    drop(first);
    publish(&server, &topic, 6..=10);
    let (k, e) = last.expect("read three");

    // Resubscribe while 11..=60 are being published: the seam must hold.
    let mut second = Client::connect(&server, via).await;
    let publisher = {
        let stomp = server.stomp.clone();
        let topic = topic.clone();
        std::thread::spawn(move || {
            for n in 11..=60u64 {
                stomp
                    .publish(&topic, Vec::new(), format!("m{n}"))
                    .expect("publish");
            }
        })
    };
    let frames = second
        .subscribe(
            "s",
            &topic,
            &format!("recover-offset:{k}\nrecover-epoch:{e}\n"),
        )
        .await;
    let receipt = frames.last().expect("receipt");
    assert_eq!(receipt.get("recovered"), Some("true"), "{receipt:?}");
    assert_eq!(receipt.get("epoch"), Some(epoch.as_str()));
    let mut got: Vec<u64> = frames
        .iter()
        .filter(|f| f.command.as_str() == "MESSAGE")
        .map(number)
        .collect();
    while got.last() != Some(&60) {
        got.push(number(&second.frame().await));
    }
    publisher.join().expect("publisher");
    assert_eq!(
        got,
        (4..=60).collect::<Vec<_>>(),
        "exactly the missed ones, then live"
    );
    publish(&server, &topic, 61..=61);
    let live = second.frame().await;
    assert_eq!((number(&live), offset(&live)), (61, 61));
}

#[tokio::test]
async fn recovery_over_tcp() {
    recovers_exactly_what_was_missed_then_goes_live(Via::Tcp).await;
}

#[tokio::test]
async fn recovery_over_websocket() {
    recovers_exactly_what_was_missed_then_goes_live(Via::WebSocket).await;
}

#[tokio::test]
async fn recovery_over_xhr_streaming() {
    recovers_exactly_what_was_missed_then_goes_live(Via::XhrStreaming).await;
}

#[tokio::test]
async fn recovery_over_xhr_polling() {
    recovers_exactly_what_was_missed_then_goes_live(Via::XhrPolling).await;
}

/// The first frame after a recovering SUBSCRIBE to `topic`, which must be its RECEIPT (no
/// replay), and the messages that came with it.
async fn resubscribe(server: &StompServer, topic: &str, k: u64, epoch: &str) -> Vec<Frame> {
    let mut c = Client::connect(server, Via::Tcp).await;
    c.subscribe(
        "s",
        topic,
        &format!("recover-offset:{k}\nrecover-epoch:{epoch}\n"),
    )
    .await
}

async fn epoch_of(server: &StompServer, topic: &str) -> String {
    let mut c = Client::connect(server, Via::Tcp).await;
    let frames = c.subscribe("probe", topic, "").await;
    frames[0].get("epoch").expect("epoch").to_owned()
}

#[tokio::test]
async fn another_epoch_replays_nothing_and_says_not_recovered() {
    let server = StompServer::start(history(HistoryConfig::default()));
    publish(&server, "/topic/e", 1..=3);
    let frames = resubscribe(&server, "/topic/e", 1, "bogus").await;
    assert_eq!(frames.len(), 1, "no replay: {frames:?}");
    assert_eq!(frames[0].get("recovered"), Some("false"));
    assert_eq!(frames[0].get("offset"), Some("3"));
}

#[tokio::test]
async fn an_offset_older_than_the_count_bound_replays_what_is_kept_and_says_not_recovered() {
    let server = StompServer::start(history(HistoryConfig::default().max_messages(5)));
    let epoch = epoch_of(&server, "/topic/c").await;
    publish(&server, "/topic/c", 1..=20);
    let frames = resubscribe(&server, "/topic/c", 2, &epoch).await;
    let (receipt, replay) = frames.split_last().expect("receipt");
    assert_eq!(receipt.get("recovered"), Some("false"));
    assert_eq!(
        replay.iter().map(number).collect::<Vec<_>>(),
        (16..=20).collect::<Vec<_>>()
    );
    let ok = resubscribe(&server, "/topic/c", 15, &epoch).await;
    assert_eq!(ok.last().and_then(|r| r.get("recovered")), Some("true"));
    assert_eq!(ok.len(), 6);
}

#[tokio::test]
async fn past_max_age_the_history_and_its_epoch_are_gone() {
    let config = HistoryConfig::default().max_age(Duration::from_millis(300));
    let server = StompServer::start(history(config));
    let epoch = epoch_of(&server, "/topic/a").await;
    publish(&server, "/topic/a", 1..=3);
    let fresh = resubscribe(&server, "/topic/a", 1, &epoch).await;
    assert_eq!(fresh.last().and_then(|r| r.get("recovered")), Some("true"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let frames = resubscribe(&server, "/topic/a", 1, &epoch).await;
    assert_eq!(frames.len(), 1, "nothing replayed: {frames:?}");
    assert_eq!(frames[0].get("recovered"), Some("false"));
    assert_ne!(frames[0].get("epoch"), Some(epoch.as_str()), "a new epoch");
}

#[tokio::test]
async fn the_byte_bound_evicts_the_oldest_messages_of_any_destination() {
    let server = StompServer::start(history(HistoryConfig::default().max_bytes(1000)));
    let epoch = epoch_of(&server, "/topic/a").await;
    publish(&server, "/topic/a", 1..=2);
    let body = "x".repeat(200);
    for _ in 0..5 {
        server
            .stomp
            .publish("/topic/b", Vec::new(), body.clone())
            .expect("publish");
    }
    let frames = resubscribe(&server, "/topic/a", 0, &epoch).await;
    assert_eq!(frames.len(), 1, "a's messages went first: {frames:?}");
    assert_eq!(frames[0].get("recovered"), Some("false"));
    let page = server.stomp.history("/topic/b", 10).expect("b's history");
    assert!(
        page.messages.len() < 5 && !page.messages.is_empty(),
        "{}",
        page.messages.len()
    );
    assert_eq!(page.last_offset, 5);
}

#[tokio::test]
async fn wildcard_and_queue_subscriptions_cannot_recover() {
    let server = StompServer::start(history(HistoryConfig::default()));
    let epoch = epoch_of(&server, "/topic/chat.a").await;
    publish(&server, "/topic/chat.a", 1..=2);
    let frames = resubscribe(&server, "/topic/chat.*", 0, &epoch).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(frames[0].get("recovered"), Some("false"));
    assert_eq!(frames[0].get("epoch"), None);
    let queue = resubscribe(&server, "/queue/q", 0, &epoch).await;
    assert_eq!(queue[0].get("recovered"), Some("false"));
}

#[tokio::test]
async fn without_history_messages_have_no_offset() {
    let server = StompServer::start(StompConfig::default());
    let mut c = Client::connect(&server, Via::Tcp).await;
    let frames = c.subscribe("s", "/topic/plain", "").await;
    assert_eq!(frames[0].get("epoch"), None);
    publish(&server, "/topic/plain", 1..=1);
    let f = c.frame().await;
    assert_eq!((f.get("offset"), f.get("epoch")), (None, None));
    assert!(server.stomp.history("/topic/plain", 10).is_none());
}
