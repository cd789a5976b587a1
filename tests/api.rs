//! The server HTTP API (`sockjs_server::api`) against a real server: the STOMP service on
//! SockJS and TCP, the API on a second 127.0.0.1 port. Publishing reaches WebSocket,
//! xhr-streaming and TCP subscribers; the key, the body bound and bad requests get their
//! statuses with a JSON error; the registry reads as JSON; a disconnect closes one user's
//! connections with an ERROR carrying the reason and leaves the others.

mod stomp_common;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use conformance::http::fetch;
use conformance::request::Request;
use conformance::target::Target;
use serde_json::{Value, json};
use sockjs_server::api::{Api, ApiConfig, ApiConfigError};
use sockjs_server::stomp::{Event, HistoryConfig, Stomp, StompConfig, Users};
use sockjs_server::{Config, server};
use stomp_common::{Next, SockJsClient, StompServer, TcpClient, WAIT, XhrStreamingClient};

const KEY: &str = "test-key-0123456789";
/// A small body bound, so that the 413 case need not send a mebibyte.
const MAX_BODY: usize = 4096;

/// The service (users alice/pw, bob/pw; counting Disconnected events) with its API.
struct Fixture {
    server: StompServer,
    api: SocketAddr,
    disconnected: Arc<AtomicUsize>,
}

fn start() -> Fixture {
    let disconnected = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&disconnected);
    let history = HistoryConfig::default().prefixes(vec!["/topic/log.".to_owned()]);
    let config = StompConfig::default()
        .presence(vec!["/topic/room.".to_owned()])
        .history(Some(history));
    let stomp = Stomp::builder(config)
        .authenticator(Users::new().login("alice", "pw").login("bob", "pw"))
        .on_event(move |event| {
            if matches!(event, Event::Disconnected { .. }) {
                count.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .expect("stomp");
    let config = ApiConfig::default()
        .key(KEY.to_owned())
        .max_body_bytes(MAX_BODY);
    let api = Api::new(stomp.clone(), config).expect("api config");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind api");
    let api_addr = listener.local_addr().expect("api addr");
    let options = server::Options::default()
        .workers(2)
        .drain(Duration::from_secs(1))
        .api(Some((Arc::new(listener), api)));
    let server = StompServer::serve_with_options(stomp, &Config::default(), options);
    Fixture {
        server,
        api: api_addr,
        disconnected,
    }
}

/// A request to the API with the key as a bearer token.
fn authorized(request: Request) -> Request {
    request.header("Authorization", &format!("Bearer {KEY}"))
}

/// Sends `request` to the API: the status and the JSON body.
async fn call(api: SocketAddr, request: Request) -> (u16, Value) {
    let target = Target::parse(&format!("http://{api}")).expect("url");
    let response = fetch(&target, &request).await.expect("api answered");
    let body = serde_json::from_str(&response.text())
        .unwrap_or_else(|e| panic!("JSON body ({e}): {:?}", response.text()));
    (response.status(), body)
}

async fn post(api: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let request = Request::post(path)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    call(api, authorized(request)).await
}

fn login(name: &str) -> String {
    format!("login:{name}\npasscode:pw\n")
}

fn subscribe(id: &str, destination: &str) -> String {
    format!("SUBSCRIBE\nid:{id}\ndestination:{destination}\nreceipt:r-{id}\n\n\0")
}

/// Waits (bounded by [`WAIT`]) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_publish_reaches_websocket_xhr_streaming_and_tcp_subscribers() {
    let f = start();
    let (mut ws, _) = SockJsClient::connect(f.server.http, &login("alice")).await;
    ws.send(&subscribe("w", "/topic/news")).await;
    assert_eq!(ws.frame().await.get("receipt-id"), Some("r-w"));
    let (mut xhr, _) = XhrStreamingClient::connect(f.server.http, &login("bob")).await;
    xhr.send(&subscribe("x", "/topic/news")).await;
    assert_eq!(xhr.frame().await.get("receipt-id"), Some("r-x"));
    let (mut tcp, _) = TcpClient::connect(f.server.tcp, &login("alice")).await;
    tcp.send(&subscribe("t", "/topic/news")).await;
    tcp.send(&subscribe("u", "/user/queue/inbox")).await;
    assert_eq!(tcp.frame().await.get("receipt-id"), Some("r-t"));
    assert_eq!(tcp.frame().await.get("receipt-id"), Some("r-u"));

    let (status, answer) = post(
        f.api,
        "/api/publish",
        json!({"destination": "/topic/news", "headers": {"priority": "9"}, "body": "extra!"}),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"published": "/topic/news"})));
    for (frame, subscription) in [
        (ws.frame().await, "w"),
        (xhr.frame().await, "x"),
        (tcp.frame().await, "t"),
    ] {
        assert_eq!(frame.command.as_str(), "MESSAGE", "{frame:?}");
        assert_eq!(frame.get("subscription"), Some(subscription));
        assert_eq!(frame.get("destination"), Some("/topic/news"));
        assert_eq!(frame.get("priority"), Some("9"));
        assert_eq!(&frame.body[..], b"extra!");
    }

    // A user destination reaches that user's sessions only (the TCP alice is subscribed).
    let (status, _) = post(
        f.api,
        "/api/publish",
        json!({"destination": "/user/alice/queue/inbox", "body": "for alice"}),
    )
    .await;
    assert_eq!(status, 200);
    let whisper = tcp.frame().await;
    assert_eq!(whisper.get("subscription"), Some("u"));
    assert_eq!(&whisper.body[..], b"for alice");
}

#[actix_web::test]
async fn a_missing_or_wrong_key_gets_401_and_either_header_with_the_key_passes() {
    let f = start();
    let users = || Request::get("/api/users");
    for request in [
        users(),
        users().header("Authorization", "Bearer wrong"),
        users().header("Authorization", &format!("Basic {KEY}")),
        users().header("X-API-Key", "test-key-012345678"),
        // Without the key an unknown path says nothing either.
        Request::get("/api/nosuch"),
        Request::post("/api/publish").body(r#"{"destination":"/topic/a"}"#),
    ] {
        let label = request.label();
        let (status, body) = call(f.api, request).await;
        assert_eq!(status, 401, "{label}");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("API key"))
        );
    }
    let (status, body) = call(f.api, users().header("X-API-Key", KEY)).await;
    assert_eq!((status, body), (200, json!({"count": 0, "users": []})));
    let (status, _) = call(f.api, authorized(users())).await;
    assert_eq!(status, 200);
    let (status, body) = call(f.api, authorized(Request::get("/api/nosuch"))).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    let (status, _) = call(f.api, authorized(Request::get("/api/publish"))).await;
    assert_eq!(status, 405);
}

#[actix_web::test]
async fn bad_json_gets_400_with_a_message_and_a_body_past_the_bound_gets_413() {
    let f = start();
    let raw = |body: &str| {
        authorized(Request::post("/api/publish").header("Content-Type", "application/json"))
            .body(body.to_owned())
    };
    for (body, needle) in [
        ("{\"destination\": ", "EOF"),
        ("[1, 2]", "invalid type"),
        (
            "{\"destination\": \"/topic/a\", \"colour\": 1}",
            "unknown field",
        ),
        ("{\"body\": \"no destination\"}", "missing field"),
        ("", "empty body"),
    ] {
        let (status, answer) = call(f.api, raw(body)).await;
        assert_eq!(status, 400, "{body}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("bad JSON") && error.contains(needle),
            "{body}: {error}"
        );
    }
    let big = json!({"destination": "/topic/a", "body": "x".repeat(MAX_BODY)});
    let (status, answer) = post(f.api, "/api/publish", big).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"], "request body larger than 4096 bytes");
    // Chunked, with no Content-Length to refuse it early: cut off while reading.
    let chunked = raw("")
        .without_length()
        .header("Transfer-Encoding", "chunked")
        .body(format!(
            "{:x}\r\n{}\r\n0\r\n\r\n",
            MAX_BODY + 1,
            "y".repeat(MAX_BODY + 1)
        ));
    let (status, _) = call(f.api, chunked).await;
    assert_eq!(status, 413);
}

#[actix_web::test]
async fn an_unknown_destination_prefix_or_a_reserved_header_gets_400() {
    let f = start();
    for (request, needle) in [
        (
            json!({"destination": "/elsewhere/a", "body": "x"}),
            "unknown destination",
        ),
        (
            json!({"destination": "/app/greet", "body": "x"}),
            "unknown destination",
        ),
        (
            json!({"destination": "/user/queue/own", "body": "x"}),
            "cannot be used",
        ),
        (
            json!({"destination": "/topic/a", "headers": {"destination": "/topic/b"}}),
            "set by the server",
        ),
    ] {
        let (status, answer) = post(f.api, "/api/publish", request.clone()).await;
        assert_eq!(status, 400, "{request}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{request}: {error}");
    }
}

#[actix_web::test]
async fn the_users_endpoints_list_who_is_online_with_sessions_and_subscriptions() {
    let f = start();
    let (mut tcp, connected) = TcpClient::connect(f.server.tcp, &login("alice")).await;
    tcp.send(&subscribe("a1", "/topic/chat.*")).await;
    tcp.frame().await;
    let (_ws, _) = SockJsClient::connect(f.server.http, &login("bob")).await;
    let (status, list) = call(f.api, authorized(Request::get("/api/users"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!({"count": 2, "users": [
            {"name": "alice", "sessions": 1},
            {"name": "bob", "sessions": 1},
        ]})
    );
    let (status, alice) = call(f.api, authorized(Request::get("/api/users/alice"))).await;
    assert_eq!(status, 200);
    let session = connected.get("session").expect("session header");
    assert_eq!(
        alice,
        json!({"name": "alice", "sessions": [{
            "id": session,
            "local": true,
            "subscriptions": [{"id": "a1", "destination": "/topic/chat.*"}],
        }]})
    );
    let (status, nobody) = call(f.api, authorized(Request::get("/api/users/carol"))).await;
    assert_eq!(status, 404);
    assert_eq!(nobody["error"], "user \"carol\" is not online");
}

#[actix_web::test]
async fn presence_lists_who_is_subscribed_to_a_tracked_destination() {
    let f = start();
    let (mut tcp, _) = TcpClient::connect(f.server.tcp, &login("alice")).await;
    tcp.send(&subscribe("a", "/topic/room.1")).await;
    tcp.frame().await;
    let (mut ws, _) = SockJsClient::connect(f.server.http, &login("bob")).await;
    ws.send(&subscribe("b", "/topic/room.1")).await;
    ws.frame().await;
    let ask = |destination: &str| {
        authorized(Request::get(&format!(
            "/api/presence?destination={destination}"
        )))
    };
    let start = Instant::now();
    let room = loop {
        let (status, room) = call(f.api, ask("/topic/room.1")).await;
        assert_eq!(status, 200);
        if room["user_count"] == 2 || start.elapsed() > WAIT {
            break room;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        room,
        json!({"destination": "/topic/room.1", "tracked": true, "user_count": 2, "sessions": 2,
            "users": [{"user": "alice", "sessions": 1}, {"user": "bob", "sessions": 1}]})
    );
    let (status, other) = call(f.api, ask("/topic/other")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&other["tracked"], &other["user_count"]),
        (&json!(false), &json!(0))
    );
    let (status, missing) = call(f.api, authorized(Request::get("/api/presence"))).await;
    assert_eq!(status, 400);
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("destination"))
    );
}

#[actix_web::test]
async fn history_gives_the_last_messages_of_a_destination_with_its_position() {
    let f = start();
    for n in 1..=3 {
        let publish = json!({"destination": "/topic/log.a", "body": format!("m{n}")});
        assert_eq!(post(f.api, "/api/publish", publish).await.0, 200);
    }
    let ask = |query: &str| authorized(Request::get(&format!("/api/history?{query}")));
    let (status, page) = call(f.api, ask("destination=/topic/log.a&limit=2")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["destination"], "/topic/log.a");
    assert_eq!(page["last_offset"], 3);
    let epoch = page["epoch"].as_str().expect("an epoch");
    let messages = page["messages"].as_array().expect("messages");
    let seen: Vec<(u64, &str)> = messages
        .iter()
        .map(|m| {
            (
                m["offset"].as_u64().unwrap_or(0),
                m["body"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(seen, [(2, "m2"), (3, "m3")]);
    assert_eq!(messages[0]["headers"]["epoch"], epoch);
    let (status, all) = call(f.api, ask("destination=/topic/log.a")).await;
    assert_eq!(status, 200);
    assert_eq!(all["messages"].as_array().map(Vec::len), Some(3));
    let (status, none) = call(f.api, ask("destination=/topic/news")).await;
    assert_eq!(status, 404);
    assert!(
        none["error"]
            .as_str()
            .is_some_and(|e| e.contains("no history"))
    );
    let (status, _) = call(f.api, ask("destination=/topic/log.a&limit=many")).await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn a_disconnect_closes_the_users_connections_with_the_reason_and_others_stay() {
    let f = start();
    let (mut ws, _) = SockJsClient::connect(f.server.http, &login("alice")).await;
    let (mut tcp, _) = TcpClient::connect(f.server.tcp, &login("alice")).await;
    let (mut bob, _) = XhrStreamingClient::connect(f.server.http, &login("bob")).await;
    let (mut bob_tcp, bob_tcp_connected) = TcpClient::connect(f.server.tcp, &login("bob")).await;
    bob.send(&subscribe("b", "/topic/after")).await;
    assert_eq!(bob.frame().await.get("receipt-id"), Some("r-b"));

    let (status, answer) = post(
        f.api,
        "/api/disconnect",
        json!({"user": "alice", "reason": "banned for spam"}),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"disconnected": 2})));
    for next in [ws.next().await, tcp.next().await] {
        let Next::Frame(error) = next else {
            panic!("an ERROR before the close");
        };
        assert_eq!(error.command.as_str(), "ERROR");
        assert_eq!(error.get("message"), Some("banned for spam"));
    }
    assert!(matches!(ws.next().await, Next::Closed));
    assert!(matches!(tcp.next().await, Next::Closed));
    // Each connection left once, through its normal close.
    let registry = f.server.stomp.registry();
    eventually("alice gone", || registry.user("alice").is_none()).await;
    eventually("two Disconnected events", || {
        f.disconnected.load(Ordering::SeqCst) >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(f.disconnected.load(Ordering::SeqCst), 2);

    // Bob stays, and is still served.
    let (status, _) = post(
        f.api,
        "/api/publish",
        json!({"destination": "/topic/after", "body": "still here"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&bob.frame().await.body[..], b"still here");
    let (_, again) = post(f.api, "/api/disconnect", json!({"user": "alice"})).await;
    assert_eq!(again, json!({"disconnected": 0}));

    // One session by id, with the default reason; bob's other session stays.
    let id = bob_tcp_connected.get("session").expect("session");
    let (status, answer) = post(f.api, "/api/disconnect", json!({"session": id})).await;
    assert_eq!((status, answer), (200, json!({"disconnected": 1})));
    let error = bob_tcp.frame().await;
    assert_eq!(error.get("message"), Some("disconnected by the server"));
    assert!(matches!(bob_tcp.next().await, Next::Closed));
    bob.send("SEND\ndestination:/topic/after\n\nmine\0").await;
    assert_eq!(&bob.frame().await.body[..], b"mine");

    let (status, _) = post(
        f.api,
        "/api/disconnect",
        json!({"user": "bob", "session": id, "reason": "x"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[test]
fn the_api_refuses_to_start_without_a_key() {
    let stomp = Stomp::builder(StompConfig::default())
        .build()
        .expect("stomp");
    let refused = Api::new(stomp, ApiConfig::default()).map(|_| ());
    assert_eq!(refused, Err(ApiConfigError::NoKey));
}
