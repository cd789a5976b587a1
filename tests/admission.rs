//! Who gets a session, as which client, against a real server: the total session cap and
//! the opt-in per-address cap (503 / close 1013 past them), many sessions from one address
//! at the defaults, forwarded addresses believed only from trusted proxies, and sessions bound
//! to the client that opened them.

mod common;

use std::time::Duration;

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
    let trusting = Config::at("/t").trusted_proxies(vec!["127.0.0.1".parse().unwrap()]);
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
    let trusting = Config::at("/t").trusted_proxies(vec!["127.0.0.1".parse().unwrap()]);
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
    let config = Config::at("/echo").trusted_proxies(vec!["127.0.0.1".parse().unwrap()]);
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
    // The total cap (always on) and the opt-in per-address cap answer alike.
    let total = Config::at("/total").max_sessions(2);
    let per_address = Config::at("/per-address").max_sessions_per_client(Some(2));
    for config in [total, per_address] {
        let prefix = config.prefix.clone();
        let mount = SockJs::new(config, || Echo).unwrap();
        let counted = mount.clone();
        let server = TestServer::start(vec![mount]);
        let client = Client::new(&server.url());
        let (a, b) = (session(&prefix), session(&prefix));
        assert_eq!(client.poll(&a).await, "o\n");
        assert_eq!(client.poll(&b).await, "o\n");
        let refused = client
            .fetch(Request::post(&format!("{}/xhr", session(&prefix))))
            .await;
        assert_eq!(
            (refused.status(), refused.text().as_str()),
            (503, "Too many sessions."),
            "{prefix}"
        );
        let mut ws = client.ws(&format!("{}/websocket", session(&prefix))).await;
        assert_eq!(
            ws.expect_closed().await.unwrap(),
            Some((1013, "Too many sessions".to_owned())),
            "{prefix}"
        );
        // Existing sessions go on.
        assert_eq!(client.send(&a, r#"["still"]"#).await, 204);
        assert_eq!(client.poll(&a).await, "a[\"still\"]\n");
        assert_eq!(counted.session_count(), 2, "{prefix}");
    }
}

/// More sessions than the old per-address default (1,000) allowed, from one address.
const FROM_ONE_ADDRESS: usize = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_thousand_sessions_from_one_address_are_all_admitted_at_the_defaults() {
    // As many users behind one NAT address, or behind a proxy not in trusted_proxies. The
    // limits are the defaults; only the sessions live long enough to be counted at the end.
    let config = Config::at("/echo").disconnect_delay(Duration::from_secs(60));
    let defaults = Config::default();
    assert_eq!(
        (config.max_sessions, config.max_sessions_per_client),
        (defaults.max_sessions, defaults.max_sessions_per_client)
    );
    let mount = SockJs::new(config, || Echo).unwrap();
    let counted = mount.clone();
    let server = TestServer::start(vec![mount]);
    let target = conformance::http::Target::parse(&server.url()).unwrap();
    // 20 keep-alive connections, each opening its share of the sessions one after another.
    const CONNECTIONS: usize = 20;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONNECTIONS {
        let target = target.clone();
        tasks.spawn(async move {
            let mut conn = conformance::http::Conn::open(&target).await.unwrap();
            let mut opened = 0;
            for _ in 0..FROM_ONE_ADDRESS / CONNECTIONS {
                let r = conn
                    .exchange(&Request::post(&format!("{}/xhr", session("/echo"))))
                    .await
                    .unwrap();
                assert_eq!((r.status(), r.text().as_str()), (200, "o\n"));
                opened += 1;
            }
            opened
        });
    }
    let mut opened = 0;
    let all = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(n) = tasks.join_next().await {
            opened += n.unwrap();
        }
    });
    all.await.expect("5,000 sessions opened within 30 s");
    assert_eq!(opened, FROM_ONE_ADDRESS);
    assert_eq!(counted.session_count(), opened);
    assert_eq!(
        counted.session_count_of("127.0.0.1".parse().unwrap()),
        opened
    );
}
