//! permessage-deflate (RFC 7692) end to end, with the hand-rolled client (tests/ws_peer):
//! negotiation, compressed and plain messages both ways on raw and SockJS sockets, the
//! threshold, a zip bomb refused with 1009, a bad stream with 1007, and RSV1 without the
//! extension with 1002.

mod ws_peer;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use sockjs_server::config::Deflate;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, SockJs};
use ws_peer::{Peer, Server, TEXT, session};

/// What the server answers to any acceptable offer.
const AGREED: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
/// Chromium's offer.
const CHROMIUM: &str = "permessage-deflate; client_max_window_bits";
/// FIN and RSV1 ("compressed") on a text frame.
const COMPRESSED_TEXT: u8 = 0x80 | 0x40 | TEXT;
const PLAIN_TEXT: u8 = 0x80 | TEXT;

fn mounts() -> Vec<SockJs> {
    let deflate = Config::at("/deflate").permessage_deflate(Some(Deflate::default()));
    vec![
        SockJs::new(deflate, || Echo).unwrap(),
        SockJs::new(Config::at("/plain"), || Echo).unwrap(),
    ]
}

/// `message` deflated on its own, without its sync-flush tail (RFC 7692 section 7.2.1).
fn deflate(message: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(message.len() + 64);
    compress
        .compress_vec(message, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]) && out.len() < out.capacity());
    out.truncate(out.len() - 4);
    out
}

fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(1 << 20);
    Decompress::new(false)
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

#[tokio::test]
async fn raw_echoes_come_back_compressed_above_the_threshold_and_plain_below() {
    let server = Server::start(mounts(), false);
    let (mut peer, answer) =
        Peer::rfc6455_offering(server.addr(), "/deflate/websocket", CHROMIUM).await;
    assert_eq!(answer.as_deref(), Some(AGREED));

    // A short compressed message: its echo is under the threshold, so plain.
    peer.send_raw(COMPRESSED_TEXT, true, &deflate(b"hello"))
        .await;
    assert_eq!(
        peer.frame_with_flags().await,
        (PLAIN_TEXT, b"hello".to_vec())
    );

    // A long plain message: its echo is compressed.
    let long = "a message long enough to be compressed, ".repeat(20);
    peer.send(TEXT, long.as_bytes()).await;
    let (first, payload) = peer.frame_with_flags().await;
    assert_eq!(first, COMPRESSED_TEXT);
    assert!(payload.len() < long.len() / 4);
    assert_eq!(inflate(&payload), long.as_bytes());

    // A compressed message in three fragments, RSV1 on the first only, a ping among them.
    let compressed = deflate(long.as_bytes());
    let third = compressed.len() / 3;
    peer.send_raw(0x40 | TEXT, true, &compressed[..third]).await;
    peer.send(ws_peer::PING, b"p").await;
    peer.send_raw(0x00, true, &compressed[third..2 * third])
        .await;
    peer.send_raw(0x80, true, &compressed[2 * third..]).await;
    assert_eq!(
        peer.frame_with_flags().await,
        (0x80 | ws_peer::PONG, b"p".to_vec())
    );
    let (first, payload) = peer.frame_with_flags().await;
    assert_eq!(
        (first, inflate(&payload)),
        (COMPRESSED_TEXT, long.into_bytes())
    );
}

#[tokio::test]
async fn sockjs_frames_are_compressed_too() {
    let server = Server::start(mounts(), false);
    let (mut peer, answer) =
        Peer::rfc6455_offering(server.addr(), &session("/deflate"), "permessage-deflate").await;
    assert_eq!(answer.as_deref(), Some(AGREED));
    assert_eq!(peer.text().await, b"o");
    let long = "x".repeat(400);
    let frame = format!("[\"{long}\"]");
    peer.send_raw(COMPRESSED_TEXT, true, &deflate(frame.as_bytes()))
        .await;
    let (first, payload) = peer.frame_with_flags().await;
    assert_eq!(first, COMPRESSED_TEXT);
    assert_eq!(inflate(&payload), format!("a[\"{long}\"]").into_bytes());
}

#[tokio::test]
async fn a_zip_bomb_is_closed_with_1009() {
    let server = Server::start(mounts(), false);
    let (mut peer, _) = Peer::rfc6455_offering(server.addr(), "/deflate/websocket", CHROMIUM).await;
    // 8 MiB of text inflated, far over max_message_bytes (1 MiB); about 8 KiB sent.
    let bomb = deflate(&vec![b'a'; 8 << 20]);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    peer.send_raw(COMPRESSED_TEXT, true, &bomb).await;
    assert_eq!(peer.close_code().await, 1009);
    peer.server_closes().await;
}

#[tokio::test]
async fn a_bad_deflate_stream_is_closed_with_1007() {
    let server = Server::start(mounts(), false);
    let (mut peer, _) = Peer::rfc6455_offering(server.addr(), "/deflate/websocket", CHROMIUM).await;
    peer.send_raw(COMPRESSED_TEXT, true, &[0xff; 16]).await;
    assert_eq!(peer.close_code().await, 1007);
    peer.server_closes().await;
}

#[tokio::test]
async fn without_the_extension_agreed_rsv1_is_a_protocol_error() {
    let server = Server::start(mounts(), false);
    // Off on the mount: the offer is not answered.
    let (mut peer, answer) =
        Peer::rfc6455_offering(server.addr(), "/plain/websocket", CHROMIUM).await;
    assert_eq!(answer, None);
    peer.send_raw(COMPRESSED_TEXT, true, &deflate(b"hello"))
        .await;
    assert_eq!(peer.close_code().await, 1002);
    // On, but not offered (or no offer acceptable): the same.
    let (mut peer, answer) = Peer::rfc6455_offering(
        server.addr(),
        "/deflate/websocket",
        "permessage-deflate; server_max_window_bits=16",
    )
    .await;
    assert_eq!(answer, None);
    peer.send_raw(COMPRESSED_TEXT, true, &deflate(b"hello"))
        .await;
    assert_eq!(peer.close_code().await, 1002);
}
