//! The warning about forwarding headers from a peer that is not a trusted proxy, read from
//! the log: one line per peer however many requests carry them, none from a trusted proxy.
//! (Alone in its own test binary: the warned-about peers are remembered for the whole
//! process, and every test client here is 127.0.0.1.)

mod common;

use std::sync::Mutex;

use common::TestServer;
use common::client::{Client, session};
use conformance::http::Request;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs};

/// Keeps the server's warnings.
struct Captured(Mutex<Vec<String>>);

impl log::Log for Captured {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata())
            && let Ok(mut lines) = self.0.lock()
        {
            lines.push(record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static LOG: Captured = Captured(Mutex::new(Vec::new()));

/// The captured lines about untrusted forwarders.
fn warnings() -> Vec<String> {
    LOG.0
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("is not a trusted proxy"))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_are_logged_once_per_peer() {
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let trusting = Config::at("/trusting").trusted_proxies(vec!["127.0.0.1".parse().unwrap()]);
    let server = TestServer::start(vec![
        SockJs::new(trusting, || Echo).unwrap(),
        SockJs::new(Config::at("/echo"), || Echo).unwrap(),
    ]);
    let client = Client::new(&server.url());
    let xhr = |prefix: &str| Request::post(&format!("{}/xhr", session(prefix)));

    // From a trusted proxy the headers are believed, and nothing is said.
    let believed = xhr("/trusting").header("X-Forwarded-For", "198.51.100.7");
    assert_eq!(client.fetch(believed).await.text(), "o\n");
    // Without the headers there is nothing to say either.
    assert_eq!(client.fetch(xhr("/echo")).await.text(), "o\n");
    assert_eq!(warnings(), Vec::<String>::new());

    // Many requests with either header: one line.
    for _ in 0..5 {
        let r = xhr("/echo").header("X-Forwarded-For", "198.51.100.7");
        assert_eq!(client.fetch(r).await.text(), "o\n");
        let r = xhr("/echo").header("Forwarded", "for=198.51.100.8");
        assert_eq!(client.fetch(r).await.text(), "o\n");
    }
    let warned = warnings();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    let line = &warned[0];
    for part in [
        "request from 127.0.0.1 carries X-Forwarded-For",
        "start the server with --trusted-proxy 127.0.0.1",
    ] {
        assert!(line.contains(part), "{part:?} not in {line:?}");
    }
}
