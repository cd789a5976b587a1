//! STOMP over the `/stomp` SockJS mount against a real server: raw STOMP over WebSocket
//! (`/stomp/websocket`) and SockJS-framed WebSocket sessions, including frames split across
//! messages, several frames in one message, and delivery across transports.

mod common;
mod stomp_common;

use common::client::Client;

use conformance::ws::{Event, Ws};
use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::{Frame, StompConfig};
use stomp_common::{StompServer, TcpClient};

/// Frames from a sequence of text messages.
struct Frames {
    decoder: Decoder,
}

impl Frames {
    fn new() -> Self {
        Frames {
            decoder: Decoder::new(Limits::default()),
        }
    }

    /// The next frame, reading messages with `next_text` as needed.
    async fn next(&mut self, ws: &mut Ws, sockjs: bool) -> Frame {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return frame;
            }
            let text = match ws.next_event().await.expect("an event in time") {
                Event::Text(text) => text,
                other => panic!("expected a message, got {other:?}"),
            };
            if !sockjs {
                self.decoder.push(text.as_bytes());
            } else if let Some(array) = text.strip_prefix('a') {
                let messages: Vec<String> = serde_json::from_str(array).expect("a[...] frame");
                for m in messages {
                    self.decoder.push(m.as_bytes());
                }
            }
        }
    }
}

fn sockjs_send(frames: &[&str]) -> String {
    serde_json::to_string(frames).unwrap()
}

#[actix_web::test]
async fn raw_websocket_speaks_stomp_with_frames_split_across_messages() {
    let server = StompServer::start(StompConfig::default());
    let mut ws = Ws::connect(&format!("ws://{}/stomp/websocket", server.http))
        .await
        .unwrap();
    let mut frames = Frames::new();
    ws.send("CONNECT\naccept-version:1.1,1.2\nhost:x\n")
        .await
        .unwrap();
    ws.send("\n\0").await.unwrap();
    let connected = frames.next(&mut ws, false).await;
    assert_eq!(connected.get("version"), Some("1.2"));
    ws.send("SUBSCRIBE\nid:0\ndestination:/topic/raw\n\n\0SEND\ndestination:/topic/raw\n\nhi\0")
        .await
        .unwrap();
    let message = frames.next(&mut ws, false).await;
    assert_eq!(
        (message.command.as_str(), &message.body[..]),
        ("MESSAGE", &b"hi"[..])
    );
    ws.send("SEND\n\n\0").await.unwrap();
    assert_eq!(frames.next(&mut ws, false).await.command.as_str(), "ERROR");
    ws.expect_closed().await.unwrap();
}

#[actix_web::test]
async fn sockjs_sessions_carry_several_frames_per_message_and_reach_tcp_clients() {
    let server = StompServer::start(StompConfig::default());
    let (mut tcp, _) = TcpClient::connect(server.tcp, "").await;
    tcp.send("SUBSCRIBE\nid:0\ndestination:/topic/chat.lobby\nreceipt:s\n\n\0")
        .await;
    tcp.frame().await;
    let url = format!("ws://{}/stomp/000/stomptest/websocket", server.http);
    let mut ws = Ws::connect(&url).await.unwrap();
    ws.expect_text("o").await.unwrap();
    let mut frames = Frames::new();
    let connect = "CONNECT\naccept-version:1.2\nlogin:alice\npasscode:pw\n\n\0";
    let subscribe = "SUBSCRIBE\nid:e\ndestination:/user/queue/echo\n\n\0";
    ws.send(&sockjs_send(&[connect, subscribe])).await.unwrap();
    assert_eq!(
        frames.next(&mut ws, true).await.get("user-name"),
        Some("alice")
    );
    ws.send(&sockjs_send(&[
        "SEND\ndestination:/app/echo\n\nme",
        "?\0SEND\ndestination:/app/chat/lobby\n\nhello lobby\0",
    ]))
    .await
    .unwrap();
    let echo = frames.next(&mut ws, true).await;
    assert_eq!(&echo.body[..], b"me?");
    let chat = tcp.frame().await;
    assert_eq!(
        (chat.get("sender"), &chat.body[..]),
        (Some("alice"), &b"hello lobby"[..])
    );
}

#[actix_web::test]
async fn a_slow_sockjs_consumer_gets_an_error_frame_before_the_overflow_close() {
    let base = sockjs_server::Config::default().max_buffered_bytes(4_000);
    let server = StompServer::start_with(StompConfig::default(), &base);
    let client = Client::new(&format!("http://{}", server.http));
    let path = "/stomp/000/slowpoke";
    assert_eq!(client.poll(path).await, "o\n");
    let connect = "CONNECT\naccept-version:1.2\n\n\0";
    let subscribe = "SUBSCRIBE\nid:0\ndestination:/topic/flood\nreceipt:s\n\n\0";
    assert_eq!(
        client.send(path, &sockjs_send(&[connect, subscribe])).await,
        204
    );
    let answer = client.poll(path).await;
    assert!(answer.contains("CONNECTED"), "{answer}");
    // No receiver is attached while the server publishes past the bound.
    for _ in 0..10 {
        let _ = server
            .stomp
            .publish("/topic/flood", Vec::new(), "x".repeat(1_000));
    }
    let mut last = String::new();
    for _ in 0..5 {
        let answer = client.poll(path).await;
        if answer.starts_with('c') {
            assert_eq!(answer, "c[4500,\"Send buffer overflow\"]\n");
            assert!(last.contains("ERROR\\nmessage:slow consumer"), "{last}");
            return;
        }
        last = answer;
    }
    panic!("no close after the overflow; last answer {last}");
}

#[actix_web::test]
async fn shutdown_sends_each_stomp_session_an_error_frame() {
    let mut server = StompServer::start(StompConfig::default());
    let url = format!("ws://{}/stomp/000/leaving/websocket", server.http);
    let mut ws = Ws::connect(&url).await.unwrap();
    ws.expect_text("o").await.unwrap();
    let mut frames = Frames::new();
    ws.send(&sockjs_send(&["CONNECT\naccept-version:1.2\n\n\0"]))
        .await
        .unwrap();
    assert_eq!(
        frames.next(&mut ws, true).await.command.as_str(),
        "CONNECTED"
    );
    server.begin_shutdown();
    let error = frames.next(&mut ws, true).await;
    assert_eq!(
        (error.command.as_str(), error.get("message")),
        ("ERROR", Some("server shutting down"))
    );
}
