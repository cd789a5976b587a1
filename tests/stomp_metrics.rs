//! STOMP figures in the metrics: frames by command, lifecycle events, and subscriptions held,
//! back to zero when the clients go (its own test binary: the metrics are process-wide).

mod stomp_common;

use std::time::Duration;

use sockjs_server::metrics;
use sockjs_server::stomp::StompConfig;
use stomp_common::{StompServer, TcpClient};

fn line(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_owned)
}

#[actix_web::test]
async fn subscriptions_and_frames_by_command_follow_the_clients() {
    let server = StompServer::start(StompConfig::default());
    let (mut a, _) = TcpClient::connect(server.tcp, "").await;
    let (mut b, _) = TcpClient::connect(server.tcp, "").await;
    for c in [&mut a, &mut b] {
        c.send("SUBSCRIBE\nid:1\ndestination:/topic/x\n\n\0SUBSCRIBE\nid:2\ndestination:/queue/y\nreceipt:r\n\n\0")
            .await;
        assert_eq!(c.frame().await.get("receipt-id"), Some("r"));
    }
    let text = metrics::global().encode();
    assert_eq!(
        line(&text, "stomp_subscriptions ").as_deref(),
        Some("stomp_subscriptions 4")
    );
    assert_eq!(
        line(&text, "stomp_frames_total{command=\"SUBSCRIBE\"}").as_deref(),
        Some("stomp_frames_total{command=\"SUBSCRIBE\"} 4")
    );
    a.disconnect().await;
    b.disconnect().await;
    let mut text = metrics::global().encode();
    for _ in 0..50 {
        if line(&text, "stomp_subscriptions ").as_deref() == Some("stomp_subscriptions 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        text = metrics::global().encode();
    }
    assert_eq!(
        line(&text, "stomp_subscriptions ").as_deref(),
        Some("stomp_subscriptions 0")
    );
    assert_eq!(
        line(&text, "stomp_frames_total{command=\"CONNECT\"}").as_deref(),
        Some("stomp_frames_total{command=\"CONNECT\"} 2")
    );
    // Lifecycle events are counted with or without a listener.
    for (event, count) in [("connected", 2), ("subscribed", 4), ("disconnected", 2)] {
        let name = format!("stomp_events_total{{event=\"{event}\"}}");
        assert_eq!(
            line(&text, &name).as_deref(),
            Some(format!("{name} {count}").as_str()),
            "{text}"
        );
    }
}
