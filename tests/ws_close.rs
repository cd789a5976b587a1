//! After a WebSocket close handshake the server closes the TCP connection itself, at once
//! (RFC 6455 section 7.1.1), for RFC 6455 and hixie-76 sockets, raw and SockJS: the peer's
//! close answered, the server's own close answered by the peer (or not), and a failed
//! connection (1002, 1007, 1009, 3000). The client never closes its side: it reads until the
//! server's FIN, which a connection left to actix-http's linger would not send within any
//! wait here (see `ws_peer`).

mod ws_peer;

use std::time::Duration;

use sockjs_server::handler::text::{CloseAtOnce, Echo};
use sockjs_server::{Config, SockJs};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_peer::{CLOSE, Peer, Server, TEXT, servers, session};

/// `max_message_bytes` of `/big`, whose echo of a message this long is still in flight
/// when the close comes.
const BIG: usize = 4 << 20;

fn mounts() -> Vec<SockJs> {
    let big = Config::at("/big")
        .max_message_bytes(BIG)
        .max_buffered_bytes(4 * BIG);
    vec![
        SockJs::new(Config::at("/echo"), || Echo).unwrap(),
        SockJs::new(Config::at("/close"), || CloseAtOnce).unwrap(),
        SockJs::new(big, || Echo).unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peers_close_is_answered_then_the_server_closes_the_connection() {
    for server in servers(mounts) {
        let mut raw = Peer::rfc6455(server.addr(), "/echo/websocket").await;
        raw.send(TEXT, b"hello").await;
        assert_eq!(raw.text().await, b"hello");
        raw.send(CLOSE, &1000u16.to_be_bytes()).await;
        assert_eq!(raw.close_code().await, 1000);
        raw.server_closes().await;

        let mut framed = Peer::rfc6455(server.addr(), &session("/echo")).await;
        assert_eq!(framed.text().await, b"o");
        framed.send(TEXT, br#"["hello"]"#).await;
        assert_eq!(framed.text().await, br#"a["hello"]"#);
        framed.send(CLOSE, &1000u16.to_be_bytes()).await;
        assert_eq!(framed.close_code().await, 1000);
        framed.server_closes().await;

        let mut hixie = Peer::hixie76(server.addr(), &session("/echo")).await;
        assert_eq!(hixie.take(3).await, b"\x00o\xff");
        hixie.tcp.write_all(b"\x00[\"hi\"]\xff").await.unwrap();
        assert_eq!(hixie.take(9).await, b"\x00a[\"hi\"]\xff");
        hixie.tcp.write_all(b"\xff\x00").await.unwrap();
        assert_eq!(hixie.take(2).await, b"\xff\x00");
        hixie.server_closes().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_from_the_server_answered_by_the_peer_ends_with_the_servers_fin() {
    for server in servers(mounts) {
        let mut raw = Peer::rfc6455(server.addr(), "/close/websocket").await;
        assert_eq!(raw.close_code().await, 3000);
        raw.send(CLOSE, &3000u16.to_be_bytes()).await;
        raw.server_closes().await;

        let mut framed = Peer::rfc6455(server.addr(), &session("/close")).await;
        assert_eq!(framed.text().await, b"o");
        assert_eq!(framed.text().await, br#"c[3000,"Go away!"]"#);
        assert_eq!(framed.close_code().await, 3000);
        framed.send(CLOSE, &3000u16.to_be_bytes()).await;
        framed.server_closes().await;

        let mut hixie = Peer::hixie76(server.addr(), &session("/close")).await;
        let expected = b"\x00o\xff\x00c[3000,\"Go away!\"]\xff\xff\x00";
        assert_eq!(hixie.take(expected.len()).await, expected);
        hixie.tcp.write_all(b"\xff\x00").await.unwrap();
        hixie.server_closes().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_from_the_server_that_the_peer_never_answers_still_ends_the_connection() {
    let server = Server::start(mounts(), false);
    let mut raw = Peer::rfc6455(server.addr(), "/close/websocket").await;
    assert_eq!(raw.close_code().await, 3000);
    raw.server_closes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_connection_gets_its_close_code_then_the_servers_fin() {
    for server in servers(mounts) {
        // 1002: an unmasked client frame.
        let mut peer = Peer::rfc6455(server.addr(), "/echo/websocket").await;
        peer.send_raw(0x80 | TEXT, false, b"x").await;
        assert_eq!(peer.close_code().await, 1002);
        peer.server_closes().await;

        // 1007: a text message that is not UTF-8.
        let mut peer = Peer::rfc6455(server.addr(), "/echo/websocket").await;
        peer.send(TEXT, &[0xff, 0xfe]).await;
        assert_eq!(peer.close_code().await, 1007);
        peer.server_closes().await;

        // 1009: a frame announced over `max_message_bytes` (1 MiB), refused from its header.
        let mut peer = Peer::rfc6455(server.addr(), &session("/echo")).await;
        assert_eq!(peer.text().await, b"o");
        peer.tcp
            .write_all(&[0x81, 0x80 | 127, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0])
            .await
            .unwrap();
        assert_eq!(peer.close_code().await, 1009);
        peer.server_closes().await;

        // 3000: SockJS framing that is not JSON.
        let mut peer = Peer::rfc6455(server.addr(), &session("/echo")).await;
        assert_eq!(peer.text().await, b"o");
        peer.send(TEXT, b"[\"unterminated").await;
        assert_eq!(peer.close_code().await, 3000);
        peer.server_closes().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_in_flight_when_the_peer_closes_arrives_whole_before_the_close() {
    let server = Server::start(mounts(), false);
    let mut peer = Peer::rfc6455(server.addr(), "/big/websocket").await;
    let message = vec![b'x'; BIG];
    peer.send(TEXT, &message).await;
    // The echo has started: it is the server's to write, while this client reads nothing
    // for a while and the loopback buffers fill.
    let mut head = [0u8; 1];
    peer.tcp.read_exact(&mut head).await.unwrap();
    peer.buf.push(head[0]);
    peer.send(CLOSE, &1000u16.to_be_bytes()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(peer.text().await.len(), BIG, "the whole echo");
    assert_eq!(peer.close_code().await, 1000);
    peer.server_closes().await;
}
