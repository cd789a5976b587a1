//! STOMP timing over a SockJS session against a real server: heart-beats flow both ways, a
//! silent client is dropped with an ERROR, and a session that never sends CONNECT is closed at
//! the connect timeout. All of it runs on the session actor's one timer (the handler's
//! deadline), so these are the end-to-end proof that the timer serves STOMP.

mod stomp_common;

use std::time::{Duration, Instant};

use conformance::ws::{Event, Ws};
use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::{Frame, StompConfig};
use stomp_common::{StompServer, WAIT};

/// A STOMP heart-beat (one EOL) as a SockJS message frame.
const HEART_BEAT: &str = "a[\"\\n\"]";
/// The SockJS close frame of a session the STOMP connection closed.
const NORMAL_CLOSE: &str = "c[1000,\"Normal closure\"]";

fn config() -> StompConfig {
    StompConfig::default()
        .heart_beat((100, 100))
        .connect_timeout(Duration::from_millis(300))
}

/// A SockJS WebSocket session on the `/stomp` mount, past its open frame.
async fn open(server: &StompServer, session: &str) -> Ws {
    let url = format!("ws://{}/stomp/000/{session}/websocket", server.http);
    let mut ws = Ws::connect(&url).await.expect("handshake");
    ws.expect_text("o").await.expect("open frame");
    ws
}

/// Sends STOMP text as one SockJS message.
async fn send(ws: &mut Ws, stomp: &str) {
    let message = serde_json::to_string(&[stomp]).expect("json");
    ws.send(&message).await.expect("send");
}

/// The next SockJS frame's text.
async fn next_text(ws: &mut Ws) -> String {
    match ws.next_event().await.expect("an event in time") {
        Event::Text(text) => text,
        other => panic!("expected a SockJS frame, got {other:?}"),
    }
}

/// The one STOMP frame carried by the next SockJS message.
async fn next_frame(ws: &mut Ws) -> Frame {
    let text = next_text(ws).await;
    let array = text.strip_prefix('a').unwrap_or_else(|| panic!("{text}"));
    let messages: Vec<String> = serde_json::from_str(array).expect("a[...] frame");
    let mut decoder = Decoder::new(Limits::default());
    for m in messages {
        decoder.push(m.as_bytes());
    }
    decoder
        .next_frame()
        .expect("a valid frame")
        .unwrap_or_else(|| panic!("no whole frame in {text}"))
}

#[actix_web::test]
async fn stomp_heart_beats_flow_both_ways_over_a_sockjs_session() {
    let server = StompServer::start(config());
    let mut ws = open(&server, "beating").await;
    send(
        &mut ws,
        "CONNECT\naccept-version:1.2\nheart-beat:100,100\n\n\0",
    )
    .await;
    let connected = next_frame(&mut ws).await;
    assert_eq!(connected.get("heart-beat"), Some("100,100"));
    // The client beats every 50 ms for a second: it stays, and the server beats every 100 ms.
    let until = Instant::now() + Duration::from_secs(1);
    let mut beats = 0;
    while Instant::now() < until {
        send(&mut ws, "\n").await;
        match tokio::time::timeout(Duration::from_millis(50), ws.next_event()).await {
            Err(_) => {}
            Ok(Ok(Event::Text(text))) if text == HEART_BEAT => beats += 1,
            Ok(other) => panic!("expected heart-beats only, got {other:?}"),
        }
    }
    assert!(
        beats >= 5,
        "{beats} server heart-beats in a second at 100 ms"
    );
    send(&mut ws, "SEND\ndestination:/topic/alive\nreceipt:r\n\n\0").await;
    loop {
        let text = next_text(&mut ws).await;
        if text != HEART_BEAT {
            assert!(text.contains("RECEIPT"), "still connected: {text}");
            break;
        }
    }
}

#[actix_web::test]
async fn a_silent_stomp_client_is_dropped_over_a_sockjs_session() {
    let server = StompServer::start(config());
    let mut ws = open(&server, "silent").await;
    // The client promises a beat every 100 ms (and wants none), then says nothing.
    send(
        &mut ws,
        "CONNECT\naccept-version:1.2\nheart-beat:100,0\n\n\0",
    )
    .await;
    let connected = next_frame(&mut ws).await;
    assert_eq!(connected.get("heart-beat"), Some("100,100"));
    let silent_since = Instant::now();
    let error = next_frame(&mut ws).await;
    assert_eq!(
        (error.command.as_str(), error.get("message")),
        ("ERROR", Some("heart-beat timed out"))
    );
    let waited = silent_since.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < WAIT,
        "dropped after {waited:?}, the tolerance is two 100 ms intervals"
    );
    assert_eq!(next_text(&mut ws).await, NORMAL_CLOSE);
}

#[actix_web::test]
async fn a_sockjs_session_without_connect_is_closed_at_the_connect_timeout() {
    let server = StompServer::start(config());
    let opened = Instant::now();
    let mut ws = open(&server, "mute").await;
    let error = next_frame(&mut ws).await;
    assert_eq!(
        (error.command.as_str(), error.get("message")),
        ("ERROR", Some("no CONNECT within the connect timeout"))
    );
    assert!(opened.elapsed() >= Duration::from_millis(250));
    assert_eq!(next_text(&mut ws).await, NORMAL_CLOSE);
}
