//! What clients send that a Rust `String` cannot hold, and what transports must not change,
//! against a real server at the default limits: lone surrogates and bytes that are not UTF-8
//! become U+FFFD and cost neither the session nor the rest of the batch; `%` survives
//! EventSource (sockjs-client `decodeURI`s every event); the largest message a client may
//! send can be echoed back.

mod common;

use common::TestServer;
use common::client::{Client, frame, session, text};
use conformance::http::{Request, Stream, Target};
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs};

/// A server with `/echo` at the library's defaults.
fn echo_server() -> TestServer {
    TestServer::start(vec![SockJs::new(Config::at("/echo"), || Echo).unwrap()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lone_surrogates_sent_by_xhr_become_replacement_characters_and_the_batch_is_kept() {
    let server = echo_server();
    let client = Client::new(&server.url());
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    assert_eq!(
        client.send(&path, r#"["a\ud800b","\ud83d","next"]"#).await,
        204
    );
    assert_eq!(
        client.poll(&path).await,
        "a[\"a\\ufffdb\",\"\\ufffd\",\"next\"]\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_body_that_is_not_utf8_is_decoded_lossily() {
    let server = echo_server();
    let client = Client::new(&server.url());
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    let body = b"[\"caf\xe9\",\"ok\"]".to_vec(); // Latin-1, not UTF-8
    let status = client
        .fetch(Request::post(&format!("{path}/xhr_send")).body(body))
        .await
        .status();
    assert_eq!(status, 204);
    assert_eq!(client.poll(&path).await, "a[\"caf\\ufffd\",\"ok\"]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_over_websocket_keeps_the_session() {
    let server = echo_server();
    let client = Client::new(&server.url());
    let mut ws = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(text(&mut ws).await, "o");
    ws.send(r#"["a\ud800b","next"]"#).await.unwrap();
    assert_eq!(text(&mut ws).await, "a[\"a\\ufffdb\"]");
    assert_eq!(text(&mut ws).await, "a[\"next\"]");
    ws.send(r#""\udc00 still open""#).await.unwrap();
    assert_eq!(text(&mut ws).await, "a[\"\\ufffd still open\"]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_signs_reach_eventsource_clients_escaped_for_decode_uri() {
    let server = echo_server();
    let client = Client::new(&server.url());
    let path = session("/echo");
    let target = Target::parse(&server.url()).unwrap();
    let mut events = Stream::open(&target, &Request::get(&format!("{path}/eventsource")))
        .await
        .unwrap();
    assert_eq!(frame(&mut events).await, "\r\n");
    assert_eq!(frame(&mut events).await, "data: o\r\n\r\n");
    assert_eq!(client.send(&path, r#"["100% sure %41 %%"]"#).await, 204);
    assert_eq!(
        frame(&mut events).await,
        "data: a[\"100%25 sure %2541 %25%25\"]\r\n\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_accepted_message_is_echoed_at_the_defaults() {
    let max = Config::default().max_message_bytes;
    let server = echo_server();
    let client = Client::new(&server.url());

    // Raw WebSocket: a message of exactly max_message_bytes, and its echo.
    let mut raw = client.ws("/echo/websocket").await;
    let message = "x".repeat(max);
    raw.send(&message).await.unwrap();
    assert!(text(&mut raw).await == message, "the raw echo differs");

    // xhr_send: a body of exactly max_message_bytes; its echo (quoting makes it longer than
    // max_buffered_bytes) goes out through the next poll.
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    let inner = "\\n".repeat((max - 4) / 2);
    let body = format!("[\"{inner}\"]");
    assert!(body.len() <= max && body.len() > max - 4);
    assert_eq!(client.send(&path, &body).await, 204);
    let echoed = client.poll(&path).await;
    assert_eq!(echoed, format!("a[\"{inner}\"]\n"));
    assert!(echoed.len() > Config::default().max_buffered_bytes);
}
