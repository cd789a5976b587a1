//! Who gets a session, as which client, against a real server: the session caps (503 /
//! close 1013 past them), forwarded addresses believed only from trusted proxies, and
//! sessions bound to the client that opened them.

mod common;

use common::TestServer;
use common::client::{Client, session};
use conformance::http::Request;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, Handler, SessionHandle, SockJs};

/// Answers every session with its client address.
struct WhoAmI;

impl Handler for WhoAmI {
    fn on_open(&mut self, s: &SessionHandle) {
        s.send(s.client_addr().map(|a| a.to_string()).unwrap_or_default());
    }
    fn on_message(&mut self, _s: &SessionHandle, _m: String) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let trusting = Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::at("/t")
    };
    let untrusting = Config::at("/u");
    let server = TestServer::start(vec![
        SockJs::new(trusting, || WhoAmI).unwrap(),
        SockJs::new(untrusting, || WhoAmI).unwrap(),
    ]);
    let client = Client::new(&server.url());
    for (prefix, expected) in [("/t", "198.51.100.7"), ("/u", "127.0.0.1")] {
        let path = session(prefix);
        let poll = || {
            Request::post(&format!("{path}/xhr")).header("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
        };
        assert_eq!(client.fetch(poll()).await.text(), "o\n");
        let expected = format!("a[\"{expected}\"]\n");
        assert_eq!(client.fetch(poll()).await.text(), expected, "{prefix}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_header_a_proxy_passes_on_cannot_name_another_client() {
    // nginx and Apache append to X-Forwarded-For and pass the client's own Forwarded on: when
    // the two disagree, neither is believed and the proxy's address is the client's.
    let trusting = Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::at("/t")
    };
    let server = TestServer::start(vec![SockJs::new(trusting, || WhoAmI).unwrap()]);
    let client = Client::new(&server.url());
    for (forwarded, expected) in [
        ("for=6.6.6.6", "127.0.0.1"),
        ("for=198.51.100.7", "198.51.100.7"),
    ] {
        let path = session("/t");
        let poll = || {
            Request::post(&format!("{path}/xhr"))
                .header("X-Forwarded-For", "198.51.100.7")
                .header("Forwarded", forwarded)
        };
        assert_eq!(client.fetch(poll()).await.text(), "o\n");
        let expected = format!("a[\"{expected}\"]\n");
        assert_eq!(client.fetch(poll()).await.text(), expected, "{forwarded}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_answers_only_the_client_that_opened_it() {
    // Behind a trusted proxy, two clients are told apart by their forwarded addresses.
    let config = Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Config::at("/echo")
    };
    let server = TestServer::start(vec![SockJs::new(config, || Echo).unwrap()]);
    let client = Client::new(&server.url());
    let path = session("/echo");
    let from = |who: &str, req: Request| req.header("X-Forwarded-For", who);
    let (owner, thief) = ("198.51.100.1", "203.0.113.66");
    let poll = |who| from(who, Request::post(&format!("{path}/xhr")));
    let send = |who| {
        from(
            who,
            Request::post(&format!("{path}/xhr_send")).body(r#"["mine"]"#),
        )
    };
    assert_eq!(client.fetch(poll(owner)).await.text(), "o\n");
    assert_eq!(client.fetch(send(owner)).await.status(), 204);
    // Another client can neither read the session nor write to it.
    assert_eq!(client.fetch(poll(thief)).await.status(), 404);
    assert_eq!(client.fetch(send(thief)).await.status(), 404);
    let jsonp = from(thief, Request::get(&format!("{path}/jsonp?c=x")));
    assert_eq!(client.fetch(jsonp).await.status(), 404);
    // The owner's session is untouched: only its own message waits for it.
    assert_eq!(client.fetch(poll(owner)).await.text(), "a[\"mine\"]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_limits_refuse_new_sessions_with_503_and_1013() {
    let config = Config {
        max_sessions_per_client: 2,
        ..Config::at("/echo")
    };
    let mount = SockJs::new(config, || Echo).unwrap();
    let registry = mount.registry().clone();
    let server = TestServer::start(vec![mount]);
    let client = Client::new(&server.url());
    let (a, b) = (session("/echo"), session("/echo"));
    assert_eq!(client.poll(&a).await, "o\n");
    assert_eq!(client.poll(&b).await, "o\n");
    let refused = client
        .fetch(Request::post(&format!("{}/xhr", session("/echo"))))
        .await;
    assert_eq!(
        (refused.status(), refused.text().as_str()),
        (503, "Too many sessions.")
    );
    let mut ws = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(
        ws.expect_closed().await.unwrap(),
        Some((1013, "Too many sessions".to_owned()))
    );
    // Existing sessions go on.
    assert_eq!(client.send(&a, r#"["still"]"#).await, 204);
    assert_eq!(client.poll(&a).await, "a[\"still\"]\n");
    assert_eq!(registry.len(), 2);
}
