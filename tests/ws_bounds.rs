//! A WebSocket client that does not read holds at most `max_buffered_bytes` of the server's
//! memory, RFC 6455 and hixie-76 alike: past it the session is closed with 4500.

mod ws_peer;

use std::time::Duration;

use sockjs_server::{Config, Handler, SessionHandle, SockJs};
use ws_peer::{Peer, Server, TEXT, session};

/// Messages a `/flood` session is sent, one a millisecond: far more than the loopback
/// buffers and `max_buffered_bytes` (the default, 1 MiB) hold together.
const FLOOD: usize = 1000;
/// Bytes of each.
const FLOOD_BYTES: usize = 64 * 1024;

/// Sends [`FLOOD`] messages to each session, whether it reads them or not.
struct Flood;

impl Handler for Flood {
    fn on_open(&mut self, session: &SessionHandle) {
        let session = session.clone();
        actix_web::rt::spawn(async move {
            let message = "x".repeat(FLOOD_BYTES);
            for _ in 0..FLOOD {
                if !session.send(&message) {
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }

    fn on_message(&mut self, _session: &SessionHandle, _message: String) {}
}

/// Reads nothing while the flood goes on, then everything up to the server's FIN: the
/// session was closed with 4500 before all of it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_does_not_read_is_bounded_by_max_buffered_bytes() {
    let server = Server::start(
        vec![SockJs::new(Config::at("/flood"), || Flood).unwrap()],
        false,
    );
    let overflow: &[u8] = br#"c[4500,"Send buffer overflow"]"#;

    let mut rfc = Peer::rfc6455(server.addr(), &session("/flood")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rfc.text().await, b"o");
    let mut messages = 0;
    loop {
        match rfc.frame().await {
            (TEXT, payload) if payload.starts_with(b"a[") => messages += 1,
            (TEXT, payload) if payload == b"h" => {}
            (TEXT, payload) => break assert_eq!(payload, overflow),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(rfc.close_code().await, 4500);
    rfc.server_closes().await;
    assert!(messages < FLOOD, "all {messages} messages were buffered");

    let mut hixie = Peer::hixie76(server.addr(), &session("/flood")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hixie.take(3).await, b"\x00o\xff");
    let mut messages = 0;
    loop {
        match hixie.hixie_frame().await {
            frame if frame.starts_with(b"a[") => messages += 1,
            frame if frame == b"h" => {}
            frame => break assert_eq!(frame, overflow),
        }
    }
    assert_eq!(hixie.take(2).await, b"\xff\x00");
    hixie.server_closes().await;
    assert!(messages < FLOOD, "all {messages} messages were buffered");
}
