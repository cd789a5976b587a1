//! Metrics against reality: after thousands of sessions are opened and abandoned, the
//! sessions gauge equals the registry, and both return to zero once the sessions expire.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use common::client::{Client, session, text};
use conformance::http::{Request, Target};
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs, server};

const POLLED: usize = 2_000;
const SOCKETS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_follow_thousands_of_abandoned_sessions_back_to_zero() {
    let config = Config::at("/churn").// Long enough that nothing expires while the sessions are opened (a few seconds).
        disconnect_delay(Duration::from_secs(8));
    let mount = SockJs::new(config, || Echo).unwrap();
    let (counted, metrics) = (mount.clone(), mount.metrics().clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_url = format!("http://{}", listener.local_addr().unwrap());
    let options = server::Options::default().metrics(Some(Arc::new(listener)));
    let server = TestServer::start_with(vec![mount], options);
    let client = Client::new(&server.url());

    for _ in 0..POLLED {
        assert_eq!(client.poll(&session("/churn")).await, "o\n");
    }
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        let mut ws = client.ws(&format!("{}/websocket", session("/churn"))).await;
        assert_eq!(text(&mut ws).await, "o");
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(counted.session_count(), POLLED + SOCKETS);
    assert_eq!(metrics.open_sessions("xhr-polling"), POLLED as i64);
    assert_eq!(metrics.open_sessions("websocket"), SOCKETS as i64);

    // Abandon everything: drop the sockets without a close, leave the polled sessions alone.
    drop(sockets);
    let mut waited = Duration::ZERO;
    while counted.session_count() != 0 && waited < Duration::from_secs(40) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert!(
        counted.session_count() == 0,
        "{} sessions left",
        counted.session_count()
    );
    assert_eq!(metrics.open_sessions("xhr-polling"), 0);
    assert_eq!(metrics.open_sessions("websocket"), 0);

    let scrape = conformance::http::fetch(
        &Target::parse(&metrics_url).unwrap(),
        &Request::get("/metrics"),
    )
    .await
    .unwrap();
    assert_eq!(scrape.status(), 200);
    let text = scrape.text();
    for line in [
        "sockjs_sessions{mount=\"/churn\",transport=\"xhr-polling\"} 0",
        "sockjs_sessions{mount=\"/churn\",transport=\"websocket\"} 0",
        &format!(
            "sockjs_sessions_opened_total{{mount=\"/churn\",transport=\"xhr-polling\"}} {POLLED}"
        ),
        &format!("sockjs_sessions_closed_total{{mount=\"/churn\",code=\"1000\"}} {POLLED}"),
        &format!("sockjs_sessions_closed_total{{mount=\"/churn\",code=\"1002\"}} {SOCKETS}"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in:\n{text}"
        );
    }
    assert!(text.contains("process_resident_memory_bytes "), "{text}");
}
