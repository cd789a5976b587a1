//! A hand-rolled WebSocket client (RFC 6455 and hixie-76) that does only what a test tells
//! it, never closing its side of the connection nor reading by itself, and an embedder's
//! server for it: `server::on_connect` installed, `client_disconnect_timeout` an hour, so a
//! connection left to actix-http's linger outlasts every wait of a test.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::{App, HttpServer};
use sockjs_server::{SockJs, server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// actix-http's linger after a response that ends before its request, made longer than
/// any wait here.
const LINGER: Duration = Duration::from_secs(3600);
/// Every wait of the client is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

/// An embedder's server on a free loopback port, stopped on drop.
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `mounts`, with half-closed connections allowed or not.
    pub fn start(mounts: Vec<SockJs>, half_closed: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    mounts
                        .iter()
                        .fold(App::new(), |app, mount| app.service(mount.clone()))
                })
                .on_connect(server::on_connect)
                .h1_allow_half_closed(half_closed)
                .client_disconnect_timeout(LINGER)
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)
                .unwrap()
                .run();
                let handle = server.handle();
                let running = actix_web::rt::spawn(server);
                let _ = stopped.await;
                handle.stop(false).await;
                let _ = running.await;
            })
        });
        Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Server {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Opcode of a text frame.
pub const TEXT: u8 = 0x1;
/// Opcode of a close frame.
pub const CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const PONG: u8 = 0xA;

/// A client over a plain TCP stream that does only what the test tells it; it never closes
/// its side of the connection.
pub struct Peer {
    /// The connection.
    pub tcp: TcpStream,
    /// Bytes read and not yet taken.
    pub buf: Vec<u8>,
}

impl Peer {
    /// Connects to `addr` (any server on loopback) and sends the handshake `head`.
    pub async fn connect(addr: SocketAddr, head: &str) -> Peer {
        Peer::connect_with_head(addr, head).await.0
    }

    /// Connects as [`Peer::connect`] does, and gives the server's response head too.
    pub async fn connect_with_head(addr: SocketAddr, head: &str) -> (Peer, String) {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut peer = Peer {
            tcp,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(end) = peer.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            peer.fill().await;
        };
        let head: Vec<u8> = peer.buf.drain(..end).collect();
        assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
        (peer, String::from_utf8_lossy(&head).into_owned())
    }

    /// An RFC 6455 socket at `path` offering `extensions` (`Sec-WebSocket-Extensions`), and
    /// the server's `Sec-WebSocket-Extensions` answer, if any.
    pub async fn rfc6455_offering(
        addr: SocketAddr,
        path: &str,
        extensions: &str,
    ) -> (Peer, Option<String>) {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: {extensions}\r\n\r\n"
        );
        let (peer, head) = Peer::connect_with_head(addr, &head).await;
        let answer = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        (peer, answer)
    }

    /// The next RFC 6455 frame from the server (unmasked): its first header byte (FIN, RSV
    /// bits and opcode) and payload.
    pub async fn frame_with_flags(&mut self) -> (u8, Vec<u8>) {
        let head = self.take(2).await;
        let len = match head[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes(self.take(2).await.try_into().unwrap())),
            127 => u64::from_be_bytes(self.take(8).await.try_into().unwrap()),
            n => u64::from(n),
        };
        (head[0], self.take(len as usize).await)
    }

    /// An RFC 6455 socket at `path`.
    pub async fn rfc6455(addr: SocketAddr, path: &str) -> Peer {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        Peer::connect(addr, &head).await
    }

    /// A hixie-76 socket at `path`: key3 is sent once the response head is in, as through
    /// HAProxy; the answer (`Websocket.test_haproxy`'s) is checked.
    pub async fn hixie76(addr: SocketAddr, path: &str) -> Peer {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: WebSocket\r\n\
             Connection: Upgrade\r\nOrigin: http://127.0.0.1\r\n\
             Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n\
             Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n"
        );
        let mut peer = Peer::connect(addr, &head).await;
        peer.tcp.write_all(b"aaaaaaaa").await.unwrap();
        assert_eq!(
            peer.take(16).await,
            b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"
        );
        peer
    }

    /// Reads more; the server must not close before the test expects it.
    pub async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
            .await
            .expect("the server went quiet")
            .expect("the connection broke");
        assert!(n > 0, "the server closed the connection too early");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    pub async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill().await;
        }
        self.buf.drain(..n).collect()
    }

    /// The next RFC 6455 frame from the server (unmasked): opcode and payload.
    pub async fn frame(&mut self) -> (u8, Vec<u8>) {
        let head = self.take(2).await;
        let len = match head[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes(self.take(2).await.try_into().unwrap())),
            127 => u64::from_be_bytes(self.take(8).await.try_into().unwrap()),
            n => u64::from(n),
        };
        (head[0] & 0x0F, self.take(len as usize).await)
    }

    /// The next hixie-76 text frame's payload.
    pub async fn hixie_frame(&mut self) -> Vec<u8> {
        assert_eq!(self.take(1).await, [0x00]);
        loop {
            if let Some(end) = self.buf.iter().position(|b| *b == 0xFF) {
                let frame = self.buf.drain(..=end).collect::<Vec<u8>>();
                return frame[..end].to_vec();
            }
            self.fill().await;
        }
    }

    /// The next frame, which must be text.
    pub async fn text(&mut self) -> Vec<u8> {
        let (opcode, payload) = self.frame().await;
        assert_eq!(opcode, TEXT, "{:?}", String::from_utf8_lossy(&payload));
        payload
    }

    /// The close frame's code, after any heartbeat.
    pub async fn close_code(&mut self) -> u16 {
        loop {
            match self.frame().await {
                (CLOSE, payload) => return u16::from_be_bytes([payload[0], payload[1]]),
                (TEXT, h) if h == b"h" => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Sends an RFC 6455 client frame (masked, mask 0: the payload unchanged).
    pub async fn send(&mut self, opcode: u8, payload: &[u8]) {
        self.send_raw(0x80 | opcode, true, payload).await;
    }

    pub async fn send_raw(&mut self, first: u8, masked: bool, payload: &[u8]) {
        let mask = if masked { 0x80 } else { 0 };
        let mut out = vec![first];
        match payload.len() {
            n @ 0..=125 => out.push(mask | n as u8),
            n @ 126..=65535 => {
                out.push(mask | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&[0; 4]);
        }
        out.extend_from_slice(payload);
        self.tcp.write_all(&out).await.unwrap();
    }

    /// Nothing more from the server but its FIN: what is left is read until it, cleanly
    /// (a reset would fail here), and must be empty.
    pub async fn server_closes(&mut self) {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
            .await
            .expect("the server did not close the connection")
            .expect("the connection was reset, not closed");
        assert_eq!(
            (n, self.buf.len()),
            (0, 0),
            "bytes after the close: {:?}",
            &chunk[..n]
        );
    }
}

/// A new SockJS websocket path under `prefix`.
pub fn session(prefix: &str) -> String {
    format!("{prefix}/000/{}/websocket", rand_id())
}

fn rand_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "s{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Both settings of half-closed connections (`server::run` turns them off, actix-web's
/// default is on), each serving `mounts()`.
pub fn servers(mounts: fn() -> Vec<SockJs>) -> [Server; 2] {
    [
        Server::start(mounts(), false),
        Server::start(mounts(), true),
    ]
}
