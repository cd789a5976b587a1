//! Dead peers on WebSocket sessions: the server pings every `heartbeat_delay` (on each `h`
//! frame for SockJS sockets, on a timer of its own for raw ones) and closes a socket whose
//! peer did not answer the last ping with 3000 "No response from heartbeat"; a peer that
//! answers stays. A hand-rolled client (tests/ws_peer), since library clients answer pings
//! by themselves.

mod common;
mod ws_peer;

use std::time::{Duration, Instant};

use common::TestServer;
use common::client::session;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs};
use ws_peer::{CLOSE, PING, PONG, Peer, TEXT};

const HEARTBEAT: Duration = Duration::from_millis(200);
/// Every wait of the client is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

fn server() -> TestServer {
    TestServer::start(vec![
        SockJs::new(Config::at("/echo").heartbeat_delay(HEARTBEAT), || Echo).unwrap(),
    ])
}

fn close_code(payload: &[u8]) -> (u16, String) {
    (
        u16::from_be_bytes([payload[0], payload[1]]),
        String::from_utf8_lossy(&payload[2..]).into_owned(),
    )
}

/// Reads frames without answering pings until the close frame, for at most [`WAIT`];
/// returns it, the pings seen before it and when it came.
async fn until_closed(peer: &mut Peer) -> ((u16, String), usize, Instant) {
    let mut pings = 0;
    let read = async {
        loop {
            match peer.frame().await {
                (PING, _) => pings += 1,
                (CLOSE, payload) => return close_code(&payload),
                _ => {}
            }
        }
    };
    let close = tokio::time::timeout(WAIT, read)
        .await
        .expect("no close frame in time");
    (close, pings, Instant::now())
}

/// Opens `path`, reads its open frame if it is a SockJS socket, then waits for the close
/// without answering pings.
async fn silent(server: &TestServer, path: &str) {
    let mut peer = Peer::rfc6455(server.addr(), path).await;
    let opened = Instant::now();
    if !path.starts_with("/echo/websocket") {
        assert_eq!(peer.frame().await, (TEXT, b"o".to_vec()));
    }
    let (close, pings, at) = until_closed(&mut peer).await;
    assert_eq!(
        close,
        (3000, "No response from heartbeat".to_owned()),
        "{path}"
    );
    assert_eq!(
        pings, 1,
        "{path}: one ping, unanswered at the next heartbeat"
    );
    let after = at - opened;
    assert!(after >= 2 * HEARTBEAT, "{path}: closed after {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sockjs_socket_whose_peer_never_answers_a_ping_is_closed_with_3000() {
    silent(&server(), &format!("{}/websocket", session("/echo"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_socket_whose_peer_never_answers_a_ping_is_closed_with_3000() {
    silent(&server(), "/echo/websocket").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_answers_its_pings_stays_open() {
    let server = server();
    let paths = [
        format!("{}/websocket", session("/echo")),
        "/echo/websocket".to_owned(),
    ];
    for path in paths {
        tokio::time::timeout(WAIT, answering(&server, &path))
            .await
            .expect("four pings and an echo in time");
    }
}

/// Answers four pings (twice the time a silent peer gets), then expects the echo of a
/// message.
async fn answering(server: &TestServer, path: &str) {
    let mut peer = Peer::rfc6455(server.addr(), path).await;
    let mut pings = 0;
    while pings < 4 {
        match peer.frame().await {
            (PING, payload) => {
                pings += 1;
                peer.send(PONG, &payload).await;
            }
            (CLOSE, payload) => panic!("{path}: closed with {:?}", close_code(&payload)),
            _ => {}
        }
    }
    let (message, echo): (&[u8], &[u8]) = if path.starts_with("/echo/websocket") {
        (b"still here", b"still here")
    } else {
        (br#"["still here"]"#, br#"a["still here"]"#)
    };
    peer.send(TEXT, message).await;
    loop {
        match peer.frame().await {
            (TEXT, payload) if payload == b"h" => {}
            (TEXT, payload) => break assert_eq!(payload, echo, "{path}"),
            (PING, payload) => peer.send(PONG, &payload).await,
            other => panic!("{path}: {other:?}"),
        }
    }
}
