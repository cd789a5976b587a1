//! What a WebSocket peer sent before it ended its side (a frame the server refuses, its close
//! frame) is handed to the session, and what the session answers is written before the
//! server's close frame, as sockjs-node does: the echo of `["y"]` comes before the close for
//! the broken frame that followed it. The frames go out in one write, so that they reach the
//! server in one read (the case that lost the echo); each case runs [`TRIES`] times, as the
//! loss was a race with the session's actor.

mod ws_peer;

use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs};
use tokio::io::AsyncWriteExt;
use ws_peer::{CLOSE, Peer, Server, TEXT, servers, session};

/// Runs of each case: the old race lost the echo in most of them.
const TRIES: usize = 20;

/// Opcode of a binary frame.
const BINARY: u8 = 0x2;

fn mounts() -> Vec<SockJs> {
    vec![SockJs::new(Config::at("/echo"), || Echo).unwrap()]
}

/// A masked client frame (mask 0: the payload unchanged), `first` its first byte.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 125, "short frames only");
    let mut out = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    out.extend_from_slice(payload);
    out
}

/// A final client frame with `opcode`.
fn fin(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(0x80 | opcode, payload)
}

/// Bytes as escaped ASCII, for a readable failure.
fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// The close frame's code and reason, after any heartbeat.
async fn close(peer: &mut Peer) -> (u16, String) {
    loop {
        match peer.frame().await {
            (CLOSE, payload) => {
                assert!(payload.len() >= 2, "a close frame without a code");
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
            }
            (TEXT, h) if h == b"h" => {}
            (opcode, payload) => panic!(
                "expected a close frame, got {opcode} {:?}",
                String::from_utf8_lossy(&payload)
            ),
        }
    }
}

/// On a new SockJS socket of `server`, `first` then `last` in one write: the echo of `first`
/// (`echoes`, in order) comes, then the close with `code` and `reason`, then the FIN.
async fn framed(server: &Server, first: &[&[u8]], last: &[u8], echoes: &[&[u8]], code: u16) {
    let mut peer = Peer::rfc6455(server.addr(), &session("/echo")).await;
    assert_eq!(peer.text().await, b"o");
    let mut bytes: Vec<u8> = first.iter().flat_map(|text| fin(TEXT, text)).collect();
    bytes.extend_from_slice(last);
    peer.tcp.write_all(&bytes).await.unwrap();
    for echo in echoes {
        assert_eq!(
            String::from_utf8_lossy(&peer.text().await),
            String::from_utf8_lossy(echo)
        );
    }
    let (got, reason) = close(&mut peer).await;
    assert_eq!(got, code, "{reason}");
    peer.server_closes().await;
}

/// As [`framed`], on a raw socket (`/echo/websocket`).
async fn raw(server: &Server, first: &[u8], last: &[u8], code: u16) {
    let mut peer = Peer::rfc6455(server.addr(), "/echo/websocket").await;
    let mut bytes = fin(TEXT, first);
    bytes.extend_from_slice(last);
    peer.tcp.write_all(&bytes).await.unwrap();
    assert_eq!(peer.text().await, first);
    let (got, reason) = close(&mut peer).await;
    assert_eq!(got, code, "{reason}");
    peer.server_closes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_of_a_message_comes_before_the_close_for_broken_framing_after_it() {
    for server in servers(mounts) {
        for _ in 0..TRIES {
            framed(
                &server,
                &[br#"["y"]"#],
                &fin(TEXT, br#"["broken"#),
                &[br#"a["y"]"#],
                3000,
            )
            .await;
            framed(
                &server,
                &[br#"["y"]"#],
                &fin(TEXT, b"nojson"),
                &[br#"a["y"]"#],
                3000,
            )
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_for_broken_framing_keeps_its_code_and_reason() {
    let server = Server::start(mounts(), false);
    let mut peer = Peer::rfc6455(server.addr(), &session("/echo")).await;
    assert_eq!(peer.text().await, b"o");
    let mut bytes = fin(TEXT, br#"["y"]"#);
    bytes.extend_from_slice(&fin(TEXT, br#"["broken"#));
    peer.tcp.write_all(&bytes).await.unwrap();
    assert_eq!(peer.text().await, br#"a["y"]"#);
    assert_eq!(close(&mut peer).await, (3000, "Broken framing.".to_owned()));
    peer.server_closes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_messages_are_all_echoed_in_order_before_the_close() {
    let server = Server::start(mounts(), false);
    for _ in 0..TRIES {
        framed(
            &server,
            &[br#"["a","b"]"#, br#""c""#],
            &fin(BINARY, b"not text"),
            &[br#"a["a"]"#, br#"a["b"]"#, br#"a["c"]"#],
            3000,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_comes_before_the_answer_to_the_peers_close() {
    for server in servers(mounts) {
        for _ in 0..TRIES {
            let close_frame = fin(CLOSE, &1000u16.to_be_bytes());
            framed(&server, &[br#"["y"]"#], &close_frame, &[br#"a["y"]"#], 1000).await;
            raw(&server, b"y", &close_frame, 1000).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_socket_echoes_before_failing_the_connection() {
    for server in servers(mounts) {
        for _ in 0..TRIES {
            // 1007: a text message that is not UTF-8.
            raw(&server, b"y", &fin(TEXT, &[0xff, 0xfe]), 1007).await;
            // 1002: an unmasked frame.
            let mut unmasked = vec![0x80 | TEXT, 1];
            unmasked.push(b'x');
            raw(&server, b"y", &unmasked, 1002).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hixie76_socket_echoes_before_its_close() {
    for server in servers(mounts) {
        for last in [&b"\x00[\"broken\xff"[..], b"\xff\x00", b"\x80x"] {
            for _ in 0..TRIES {
                let mut peer = Peer::hixie76(server.addr(), &session("/echo")).await;
                assert_eq!(peer.take(3).await, b"\x00o\xff");
                let mut bytes = b"\x00[\"y\"]\xff".to_vec();
                bytes.extend_from_slice(last);
                peer.tcp.write_all(&bytes).await.unwrap();
                let expected = b"\x00a[\"y\"]\xff\xff\x00";
                assert_eq!(
                    shown(&peer.take(expected.len()).await),
                    shown(expected),
                    "the echo's frame, then the close"
                );
                peer.server_closes().await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_fin_comes_with_its_last_frames_still_gets_the_close() {
    // The connection's end reaches the server with the frames: with half-closed connections
    // off, actix-http shuts it down in the poll that reads the end, so the server cannot wait
    // for the echo then; the close must still go out (the echo may come before it).
    let cases: [(&[u8], Option<u16>); 3] = [
        (&fin(CLOSE, &1000u16.to_be_bytes()), Some(1000)),
        (&fin(TEXT, &[0xff]), Some(1007)),
        (b"", None),
    ];
    for server in servers(mounts) {
        for (last, code) in &cases {
            for _ in 0..TRIES {
                let mut peer = Peer::rfc6455(server.addr(), "/echo/websocket").await;
                let mut bytes = fin(TEXT, b"y");
                bytes.extend_from_slice(last);
                peer.tcp.write_all(&bytes).await.unwrap();
                peer.tcp.shutdown().await.unwrap();
                let mut frame = peer.frame().await;
                if frame == (TEXT, b"y".to_vec()) {
                    frame = peer.frame().await;
                }
                let (opcode, payload) = frame;
                assert_eq!(opcode, CLOSE, "{:?}", shown(&payload));
                let got =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                assert_eq!(got, *code, "{:?}", shown(&payload));
                peer.server_closes().await;
            }
        }
    }
}
