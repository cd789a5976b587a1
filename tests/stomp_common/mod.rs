//! A real server on 127.0.0.1:0 serving the demo STOMP service over SockJS (`/stomp`) and
//! TCP, plus a small STOMP-over-TCP client. Every wait is bounded by [`WAIT`].

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::{Frame, Stomp, StompConfig, Users};
use sockjs_server::{Config, demo, server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// The demo STOMP service on SockJS and TCP, stopped on drop.
pub struct StompServer {
    /// The HTTP (SockJS) address.
    pub http: SocketAddr,
    /// The STOMP TCP address.
    pub tcp: SocketAddr,
    /// The service, for server-side publishing.
    pub stomp: Stomp,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl StompServer {
    /// Starts with `config` and users alice/pw, bob/pw.
    pub fn start(config: StompConfig) -> StompServer {
        StompServer::start_with(config, &Config::default())
    }

    /// Starts with `config`, the SockJS mount built from `base`, and users alice/pw, bob/pw.
    pub fn start_with(config: StompConfig, base: &Config) -> StompServer {
        let users = Users::new().login("alice", "pw").login("bob", "pw");
        let stomp = demo::stomp(config, users).expect("stomp config");
        StompServer::serve(stomp, base)
    }
}

impl StompServer {
    /// Starts the HTTP server's shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for StompServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What came next from the server.
#[derive(Debug)]
pub enum Next {
    /// A frame.
    Frame(Frame),
    /// The connection ended.
    Closed,
}

/// A STOMP client over TCP.
pub struct TcpClient {
    stream: TcpStream,
    decoder: Decoder,
}

impl TcpClient {
    /// Connects the socket (no STOMP frame yet).
    pub async fn open(addr: SocketAddr) -> TcpClient {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        TcpClient {
            stream,
            decoder: Decoder::new(Limits::default()),
        }
    }

    /// Connects and sends CONNECT with `headers`, expecting CONNECTED.
    pub async fn connect(addr: SocketAddr, headers: &str) -> (TcpClient, Frame) {
        let mut c = TcpClient::open(addr).await;
        c.send(&format!("CONNECT\naccept-version:1.2\n{headers}\n\0"))
            .await;
        let connected = c.frame().await;
        assert_eq!(connected.command.as_str(), "CONNECTED", "{connected:?}");
        (c, connected)
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.expect("write");
    }

    /// The next frame or the end of the connection.
    pub async fn next(&mut self) -> Next {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return Next::Frame(frame);
            }
            let read = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("server answered in time");
            match read {
                Ok(0) | Err(_) => return Next::Closed,
                Ok(n) => self.decoder.push(&buf[..n]),
            }
        }
    }

    /// The next bytes as they arrive, undecoded (empty at the end of the connection).
    pub async fn raw(&mut self) -> Vec<u8> {
        let mut buf = [0u8; 8192];
        let read = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
            .await
            .expect("server answered in time");
        buf[..read.unwrap_or(0)].to_vec()
    }

    /// The next frame; panics if the connection ended.
    pub async fn frame(&mut self) -> Frame {
        match self.next().await {
            Next::Frame(f) => f,
            Next::Closed => panic!("connection closed while a frame was expected"),
        }
    }

    /// The body of the next frame, as text.
    pub async fn body(&mut self) -> String {
        let f = self.frame().await;
        String::from_utf8_lossy(&f.body).into_owned()
    }

    /// Sends DISCONNECT with a receipt and waits for it.
    pub async fn disconnect(mut self) {
        self.send("DISCONNECT\nreceipt:bye\n\n\0").await;
        let f = self.frame().await;
        assert_eq!(f.get("receipt-id"), Some("bye"));
        assert!(matches!(self.next().await, Next::Closed));
    }
}

/// A STOMP client over a SockJS WebSocket session (`/stomp/000/{id}/websocket`): frames go
/// out as SockJS messages, `a[...]` messages come back decoded (`o` and `h` skipped).
pub struct SockJsClient {
    ws: conformance::ws::Ws,
    decoder: Decoder,
}

impl SockJsClient {
    /// Opens a SockJS session and sends CONNECT with `headers`, expecting CONNECTED.
    pub async fn connect(http: SocketAddr, headers: &str) -> (SockJsClient, Frame) {
        static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = format!("ws://{http}/stomp/000/client{n}/websocket");
        let ws = conformance::ws::Ws::connect(&url).await.expect("websocket");
        let mut c = SockJsClient {
            ws,
            decoder: Decoder::new(Limits::default()),
        };
        c.send(&format!("CONNECT\naccept-version:1.2\n{headers}\n\0"))
            .await;
        let connected = c.frame().await;
        assert_eq!(connected.command.as_str(), "CONNECTED", "{connected:?}");
        (c, connected)
    }

    /// Sends `text` (one or more frames) as one SockJS message.
    pub async fn send(&mut self, text: &str) {
        let message = serde_json::to_string(&[text]).expect("json");
        self.ws.send(&message).await.expect("send");
    }

    /// The next frame; panics if the session ended.
    pub async fn frame(&mut self) -> Frame {
        use conformance::ws::Event;
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return frame;
            }
            match self.ws.next_event().await.expect("an event in time") {
                Event::Text(text) => {
                    if let Some(array) = text.strip_prefix('a') {
                        let messages: Vec<String> = serde_json::from_str(array).expect("a[...]");
                        for m in messages {
                            self.decoder.push(m.as_bytes());
                        }
                    }
                }
                other => panic!("session ended while a frame was expected: {other:?}"),
            }
        }
    }
}

/// The transports the STOMP tests run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP.
    Tcp,
    /// A SockJS WebSocket session.
    SockJs,
}

/// A STOMP client over either transport.
pub enum AnyClient {
    /// Over TCP.
    Tcp(TcpClient),
    /// Over SockJS (boxed: a WebSocket stream is large).
    SockJs(Box<SockJsClient>),
}

impl AnyClient {
    /// Connects to `server` over `transport` with CONNECT `headers`, expecting CONNECTED.
    pub async fn connect(
        server: &StompServer,
        transport: Transport,
        headers: &str,
    ) -> (AnyClient, Frame) {
        match transport {
            Transport::Tcp => {
                let (c, f) = TcpClient::connect(server.tcp, headers).await;
                (AnyClient::Tcp(c), f)
            }
            Transport::SockJs => {
                let (c, f) = SockJsClient::connect(server.http, headers).await;
                (AnyClient::SockJs(Box::new(c)), f)
            }
        }
    }

    /// Sends raw frame text.
    pub async fn send(&mut self, text: &str) {
        match self {
            AnyClient::Tcp(c) => c.send(text).await,
            AnyClient::SockJs(c) => c.send(text).await,
        }
    }

    /// The next frame.
    pub async fn frame(&mut self) -> Frame {
        match self {
            AnyClient::Tcp(c) => c.frame().await,
            AnyClient::SockJs(c) => c.frame().await,
        }
    }

    /// SUBSCRIBEs `id` to `destination` and waits for the receipt.
    pub async fn subscribe(&mut self, id: &str, destination: &str) {
        self.send(&format!(
            "SUBSCRIBE\nid:{id}\ndestination:{destination}\nreceipt:sub-{id}\n\n\0"
        ))
        .await;
        let receipt = self.frame().await;
        assert_eq!(
            receipt.get("receipt-id"),
            Some(format!("sub-{id}").as_str()),
            "{receipt:?}"
        );
    }
}

impl StompServer {
    /// Serves `stomp` (built by the test) on SockJS (`/stomp`, the mount built from `base`)
    /// and TCP.
    pub fn serve(stomp: Stomp, base: &Config) -> StompServer {
        let options = server::Options::default()
            .workers(2)
            .drain(Duration::from_secs(1));
        StompServer::serve_with_options(stomp, base, options)
    }
}

impl StompServer {
    /// Serves `stomp` as [`StompServer::serve`] does, with server `options` of the test's
    /// own (e.g. [`server::Options::api`] on a listener the test bound).
    pub fn serve_with_options(
        stomp: Stomp,
        base: &Config,
        options: server::Options,
    ) -> StompServer {
        let mount = demo::stomp_mount(base, &stomp).expect("mount");
        let http = TcpListener::bind("127.0.0.1:0").expect("bind http");
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        tcp.set_nonblocking(true).expect("nonblocking");
        let (http_addr, tcp_addr) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = stomp.clone();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(tcp)?;
                let (tcp_stop, tcp_stopped) = tokio::sync::oneshot::channel::<()>();
                actix_web::rt::spawn(service.serve_tcp(tcp, async {
                    let _ = tcp_stopped.await;
                }));
                let result = server::run(http, vec![mount], options, async {
                    let _ = stopped.await;
                })
                .await;
                let _ = tcp_stop.send(());
                result
            })
        });
        StompServer {
            http: http_addr,
            tcp: tcp_addr,
            stomp,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl SockJsClient {
    /// The next frame, or [`Next::Closed`] when the session ends (a `c[...]` frame, or the
    /// WebSocket's close or end).
    pub async fn next(&mut self) -> Next {
        use conformance::ws::Event;
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return Next::Frame(frame);
            }
            match self.ws.next_event().await.expect("an event in time") {
                Event::Text(text) if text.starts_with('c') => return Next::Closed,
                Event::Text(text) => {
                    if let Some(array) = text.strip_prefix('a') {
                        let messages: Vec<String> = serde_json::from_str(array).expect("a[...]");
                        for m in messages {
                            self.decoder.push(m.as_bytes());
                        }
                    }
                }
                Event::Close(_) | Event::Gone(_) => return Next::Closed,
                other => panic!("unexpected WebSocket event: {other:?}"),
            }
        }
    }
}

/// A STOMP client over a SockJS xhr-streaming session (an HTTP transport): frames go out by
/// `xhr_send`, come back on the streaming response (`h`, `o` and the prelude skipped).
pub struct XhrStreamingClient {
    target: conformance::target::Target,
    path: String,
    stream: conformance::stream::Stream,
    decoder: Decoder,
    lines: Vec<u8>,
}

impl XhrStreamingClient {
    /// Opens a session's streaming response and sends CONNECT with `headers`, expecting
    /// CONNECTED.
    pub async fn connect(http: SocketAddr, headers: &str) -> (XhrStreamingClient, Frame) {
        use conformance::request::Request;
        static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let target = conformance::target::Target::parse(&format!("http://{http}")).expect("url");
        let path = format!("/stomp/000/xhrs{n}-{}", std::process::id());
        let open = Request::post(&format!("{path}/xhr_streaming"));
        let stream = tokio::time::timeout(WAIT, conformance::stream::Stream::open(&target, &open))
            .await
            .expect("streaming opened in time")
            .expect("streaming response");
        assert_eq!(stream.status(), 200);
        let mut c = XhrStreamingClient {
            target,
            path,
            stream,
            decoder: Decoder::new(Limits::default()),
            lines: Vec::new(),
        };
        c.send(&format!("CONNECT\naccept-version:1.2\n{headers}\n\0"))
            .await;
        let connected = c.frame().await;
        assert_eq!(connected.command.as_str(), "CONNECTED", "{connected:?}");
        (c, connected)
    }

    /// Sends `text` (one or more frames) as one SockJS message, by `xhr_send`.
    pub async fn send(&mut self, text: &str) {
        use conformance::request::Request;
        let message = serde_json::to_string(&[text]).expect("json");
        let request = Request::post(&format!("{}/xhr_send", self.path)).body(message);
        let sent = conformance::http::fetch(&self.target, &request)
            .await
            .expect("xhr_send");
        assert_eq!(sent.status(), 204, "xhr_send: {}", sent.text());
    }

    /// The next frame, or [`Next::Closed`] at a `c[...]` frame or the end of the response.
    pub async fn next(&mut self) -> Next {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return Next::Frame(frame);
            }
            if let Some(end) = self.lines.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.lines.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line[..end]).into_owned();
                if line.starts_with('c') {
                    return Next::Closed;
                }
                if let Some(array) = line.strip_prefix('a') {
                    let messages: Vec<String> = serde_json::from_str(array).expect("a[...]");
                    for m in messages {
                        self.decoder.push(m.as_bytes());
                    }
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.stream.next_frame())
                .await
                .expect("streamed in time")
                .expect("streaming read");
            match chunk {
                Some(bytes) => self.lines.extend_from_slice(&bytes),
                None => return Next::Closed,
            }
        }
    }

    /// The next frame; panics if the session ended.
    pub async fn frame(&mut self) -> Frame {
        match self.next().await {
            Next::Frame(f) => f,
            Next::Closed => panic!("session ended while a frame was expected"),
        }
    }
}

/// A STOMP client over SockJS xhr-polling (`/stomp/000/{id}/xhr`): each wait for a frame is
/// one long poll (or several, bounded by [`WAIT`]); frames go out by `xhr_send`.
pub struct XhrPollingClient {
    target: conformance::target::Target,
    path: String,
    decoder: Decoder,
    closed: bool,
}

impl XhrPollingClient {
    /// Opens a session (`o`) and sends CONNECT with `headers`, expecting CONNECTED.
    pub async fn connect(http: SocketAddr, headers: &str) -> (XhrPollingClient, Frame) {
        static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let target = conformance::target::Target::parse(&format!("http://{http}")).expect("url");
        let path = format!("/stomp/000/xhrp{n}-{}", std::process::id());
        let mut c = XhrPollingClient {
            target,
            path,
            decoder: Decoder::new(Limits::default()),
            closed: false,
        };
        assert_eq!(c.poll().await, "o\n", "the open frame");
        c.send(&format!("CONNECT\naccept-version:1.2\n{headers}\n\0"))
            .await;
        let connected = c.frame().await;
        assert_eq!(connected.command.as_str(), "CONNECTED", "{connected:?}");
        (c, connected)
    }

    async fn poll(&self) -> String {
        let request = conformance::request::Request::post(&format!("{}/xhr", self.path));
        let answer = tokio::time::timeout(WAIT, conformance::http::fetch(&self.target, &request))
            .await
            .expect("polled in time")
            .expect("xhr poll");
        answer.text()
    }

    /// Sends `text` (one or more frames) as one SockJS message, by `xhr_send`.
    pub async fn send(&mut self, text: &str) {
        let message = serde_json::to_string(&[text]).expect("json");
        let request =
            conformance::request::Request::post(&format!("{}/xhr_send", self.path)).body(message);
        let sent = conformance::http::fetch(&self.target, &request)
            .await
            .expect("xhr_send");
        assert_eq!(sent.status(), 204, "xhr_send: {}", sent.text());
    }

    /// The next frame, or [`Next::Closed`] at a `c[...]` frame.
    pub async fn next(&mut self) -> Next {
        loop {
            if let Some(frame) = self.decoder.next_frame().expect("valid frames") {
                return Next::Frame(frame);
            }
            if self.closed {
                return Next::Closed;
            }
            let body = self.poll().await;
            for line in body.lines() {
                if line.starts_with('c') {
                    self.closed = true;
                } else if let Some(array) = line.strip_prefix('a') {
                    let messages: Vec<String> = serde_json::from_str(array).expect("a[...]");
                    for m in messages {
                        self.decoder.push(m.as_bytes());
                    }
                }
            }
        }
    }

    /// The next frame; panics if the session ended.
    pub async fn frame(&mut self) -> Frame {
        match self.next().await {
            Next::Frame(f) => f,
            Next::Closed => panic!("session ended while a frame was expected"),
        }
    }
}
