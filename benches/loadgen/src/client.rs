//! SockJS client sessions over websocket, xhr-polling, xhr-streaming and eventsource, the
//! latter three sending through `xhr_send`. Each session owns its connections; nothing is
//! shared between sessions.
//!
//! Owns: the session URL scheme, frame parsing and each transport's framing on the client
//! side. Must not: time anything or keep statistics (scenarios do).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::error::{Error, Result};
use crate::http::Conn;

/// The transports the load generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// `/websocket`.
    Websocket,
    /// `/xhr` polls plus `/xhr_send`.
    XhrPolling,
    /// `/xhr_streaming` plus `/xhr_send`.
    XhrStreaming,
    /// `/eventsource` plus `/xhr_send`.
    Eventsource,
}

impl Transport {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Websocket => "websocket",
            Transport::XhrPolling => "xhr-polling",
            Transport::XhrStreaming => "xhr-streaming",
            Transport::Eventsource => "eventsource",
        }
    }
}

/// A SockJS frame as received.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// `o`.
    Open,
    /// `h` (and the xhr-streaming prelude).
    Heartbeat,
    /// `a[...]`.
    Messages(Vec<String>),
    /// `c[code,"reason"]`, kept raw.
    Close(String),
}

/// Parses one frame (without its transport's framing).
pub fn parse_frame(text: &str) -> Result<Frame> {
    match text.as_bytes().first() {
        Some(b'o') if text == "o" => Ok(Frame::Open),
        Some(b'h') => Ok(Frame::Heartbeat),
        Some(b'a') => serde_json::from_str(&text[1..])
            .map(Frame::Messages)
            .map_err(|e| Error::Protocol(format!("bad message frame: {e}"))),
        Some(b'c') => Ok(Frame::Close(text[1..].to_owned())),
        _ => Err(Error::Protocol(format!(
            "unexpected frame {:?}",
            text.chars().take(60).collect::<String>()
        ))),
    }
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(0);

/// A fresh `/{prefix}/{server}/{session}` path, unique in this process.
pub fn session_path(prefix: &str) -> String {
    let n = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}/{:03}/lg{}x{n}", n % 1000, std::process::id())
}

/// One client session.
#[derive(Debug)]
pub struct Session {
    addr: SocketAddr,
    /// `/{prefix}/{server}/{session}`.
    path: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Ws(Box<WebSocketStream<TcpStream>>),
    Poll {
        poll: Option<Conn>,
        send: Option<Conn>,
    },
    Stream {
        recv: Conn,
        send: Option<Conn>,
        eventsource: bool,
        buf: Vec<u8>,
        frames: VecDeque<Frame>,
    },
}

impl Session {
    /// Opens a session at `prefix` and waits for its open frame.
    pub async fn open(addr: SocketAddr, prefix: &str, transport: Transport) -> Result<Session> {
        let path = session_path(prefix);
        let kind = match transport {
            Transport::Websocket => Kind::Ws(Box::new(ws_connect(addr, &path).await?)),
            Transport::XhrPolling => Kind::Poll {
                poll: None,
                send: None,
            },
            Transport::XhrStreaming | Transport::Eventsource => {
                let eventsource = transport == Transport::Eventsource;
                let mut recv = Conn::connect(addr).await?;
                stream_request(addr, &path, eventsource, &mut recv).await?;
                Kind::Stream {
                    recv,
                    send: None,
                    eventsource,
                    buf: Vec::new(),
                    frames: VecDeque::new(),
                }
            }
        };
        let mut session = Session { addr, path, kind };
        loop {
            // The xhr-streaming prelude parses as a heartbeat.
            match session.recv().await? {
                Frame::Open => return Ok(session),
                Frame::Heartbeat => {}
                other => return Err(Error::Protocol(format!("expected o, got {other:?}"))),
            }
        }
    }

    /// This session's `/{prefix}/{server}/{session}` path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sends `texts` as one message batch.
    pub async fn send(&mut self, texts: &[&str]) -> Result<()> {
        let body = encode(texts)?;
        match &mut self.kind {
            Kind::Ws(ws) => Ok(ws.send(WsMessage::text(body)).await?),
            Kind::Poll { send, .. } | Kind::Stream { send, .. } => {
                xhr_send(self.addr, &self.path, send, body.as_bytes()).await
            }
        }
    }

    /// The next frame (heartbeats included).
    pub async fn recv(&mut self) -> Result<Frame> {
        let (addr, path) = (self.addr, self.path.as_str());
        match &mut self.kind {
            Kind::Ws(ws) => ws_recv(ws).await,
            Kind::Poll { poll, .. } => poll_once(addr, path, poll).await,
            Kind::Stream {
                recv,
                eventsource,
                buf,
                frames,
                ..
            } => loop {
                if let Some(frame) = frames.pop_front() {
                    return Ok(frame);
                }
                match recv.read_piece().await? {
                    Some(piece) => {
                        buf.extend_from_slice(&piece);
                        split_frames(buf, *eventsource, frames)?;
                    }
                    // The response reached its limit: open the next one, as clients do.
                    None => stream_request(addr, path, *eventsource, recv).await?,
                }
            },
        }
    }

    /// The next message batch, skipping heartbeats; a close frame is an error.
    pub async fn recv_messages(&mut self) -> Result<Vec<String>> {
        loop {
            match self.recv().await? {
                Frame::Messages(m) => return Ok(m),
                Frame::Heartbeat => {}
                Frame::Open => return Err(Error::Protocol("second open frame".into())),
                Frame::Close(c) => return Err(Error::SessionClosed(c)),
            }
        }
    }

    /// Sends `texts` and waits for the next message batch. Polling keeps the poll and the
    /// send in flight together, as sockjs-client does.
    pub async fn exchange(&mut self, texts: &[&str]) -> Result<Vec<String>> {
        if let Kind::Poll { poll, send } = &mut self.kind {
            let body = encode(texts)?;
            let (addr, path) = (self.addr, self.path.as_str());
            let (sent, polled) = tokio::join!(
                xhr_send(addr, path, send, body.as_bytes()),
                poll_once(addr, path, poll)
            );
            sent?;
            return match polled? {
                Frame::Messages(m) => Ok(m),
                _ => self.recv_messages().await,
            };
        }
        self.send(texts).await?;
        self.recv_messages().await
    }

    /// Ends the session: a websocket close handshake; HTTP transports just drop their
    /// connections (the server sees the abort, or the session expires).
    ///
    /// Once the server's close frame is in, the socket is dropped without waiting for the
    /// server's FIN, as faye-websocket does ([`Session::close_waiting_fin`] waits).
    pub async fn close(self) -> Result<()> {
        self.end(false).await
    }

    /// [`Session::close`], then for a websocket a read until the server closes the TCP
    /// connection, as RFC 6455 section 7.1.1 has clients do (tungstenite, Autobahn and other
    /// careful clients): the close then includes how soon the server closes.
    pub async fn close_waiting_fin(self) -> Result<()> {
        self.end(true).await
    }

    async fn end(self, wait_fin: bool) -> Result<()> {
        if let Kind::Ws(mut ws) = self.kind {
            WebSocketStream::close(&mut ws, None).await?;
            while let Some(msg) = ws.next().await {
                if matches!(msg, Err(_) | Ok(WsMessage::Close(_))) {
                    break;
                }
            }
            if wait_fin {
                server_fin(ws.get_mut()).await?;
            }
        }
        Ok(())
    }
}

/// Reads `tcp` until the server's FIN; nothing may come after the close frame.
async fn server_fin(tcp: &mut TcpStream) -> Result<()> {
    let mut buf = [0u8; 64];
    match tcp.read(&mut buf).await? {
        0 => Ok(()),
        n => Err(Error::Protocol(format!(
            "{n} bytes after the close handshake"
        ))),
    }
}

/// A JSON array of `texts`, the body of every client-to-server SockJS message.
pub fn encode(texts: &[&str]) -> Result<String> {
    serde_json::to_string(texts).map_err(|e| Error::Protocol(format!("encoding: {e}")))
}

/// The bytes tungstenite makes room for (and zero-fills) before each read of a socket. Its
/// default, 128 KiB, cost ~60 % of the load generator's CPU in a broadcast to 1,000 sessions
/// (perf: memset), which then bounded the fan-out latency it measured, whatever the server.
/// Longer messages still arrive whole, over several reads.
const WS_READ_BUFFER: usize = 8 * 1024;

/// Opens a websocket at `{path}/websocket`.
pub async fn ws_connect(addr: SocketAddr, path: &str) -> Result<WebSocketStream<TcpStream>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{addr}{path}/websocket");
    let config = WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER);
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

async fn ws_recv(ws: &mut WebSocketStream<TcpStream>) -> Result<Frame> {
    loop {
        match ws.next().await {
            None => return Err(Error::Closed),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(WsMessage::Text(text))) => return parse_frame(text.as_str()),
            Some(Ok(WsMessage::Close(_))) => return Err(Error::Closed),
            Some(Ok(_)) => {}
        }
    }
}

/// `conn` if it can carry another request, else a new connection.
async fn ready(addr: SocketAddr, conn: &mut Option<Conn>) -> Result<&mut Conn> {
    if !conn.as_ref().is_some_and(Conn::reusable) {
        *conn = Some(Conn::connect(addr).await?);
    }
    conn.as_mut()
        .ok_or_else(|| Error::Protocol("no connection".into()))
}

/// `POST {path}/xhr_send`; anything but 204 (or 200) is an error.
async fn xhr_send(
    addr: SocketAddr,
    path: &str,
    conn: &mut Option<Conn>,
    body: &[u8],
) -> Result<()> {
    let status = xhr_send_status(addr, path, conn, body).await?;
    match status {
        200 | 204 => Ok(()),
        404 => Err(Error::SessionClosed(
            "xhr_send: 404, no such session".into(),
        )),
        s => Err(Error::Protocol(format!("xhr_send answered {s}"))),
    }
}

/// `POST {path}/xhr_send` and its status (404 means no such session).
pub async fn xhr_send_status(
    addr: SocketAddr,
    path: &str,
    conn: &mut Option<Conn>,
    body: &[u8],
) -> Result<u16> {
    let c = ready(addr, conn).await?;
    c.send_request("POST", &format!("{path}/xhr_send"), body)
        .await?;
    let head = c.read_head().await?;
    c.read_body().await?;
    Ok(head.status)
}

/// One `POST {path}/xhr` poll and the frame it returns.
async fn poll_once(addr: SocketAddr, path: &str, conn: &mut Option<Conn>) -> Result<Frame> {
    let c = ready(addr, conn).await?;
    c.send_request("POST", &format!("{path}/xhr"), b"").await?;
    let head = c.read_head().await?;
    let body = c.read_body().await?;
    if head.status != 200 {
        return Err(Error::Protocol(format!(
            "xhr poll answered {}",
            head.status
        )));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| Error::Protocol("non-UTF-8 poll body".into()))?;
    parse_frame(text.trim_end_matches('\n'))
}

/// Starts a streaming response (`/xhr_streaming` or `/eventsource`) on `c`, or on a new
/// connection if `c` cannot carry another request.
async fn stream_request(
    addr: SocketAddr,
    path: &str,
    eventsource: bool,
    c: &mut Conn,
) -> Result<()> {
    if !c.reusable() {
        *c = Conn::connect(addr).await?;
    }
    if eventsource {
        c.send_request("GET", &format!("{path}/eventsource"), b"")
            .await?;
    } else {
        c.send_request("POST", &format!("{path}/xhr_streaming"), b"")
            .await?;
    }
    let head = c.read_head().await?;
    if head.status != 200 {
        return Err(Error::Protocol(format!("stream answered {}", head.status)));
    }
    Ok(())
}

/// Moves every complete frame of `buf` into `frames`: `\n`-terminated lines
/// (xhr-streaming) or `data: ...\r\n\r\n` events (eventsource).
fn split_frames(buf: &mut Vec<u8>, eventsource: bool, frames: &mut VecDeque<Frame>) -> Result<()> {
    let sep: &[u8] = if eventsource { b"\r\n\r\n" } else { b"\n" };
    let mut start = 0;
    while let Some(pos) = find(&buf[start..], sep) {
        let raw = std::str::from_utf8(&buf[start..start + pos])
            .map_err(|_| Error::Protocol("non-UTF-8 frame".into()))?;
        start += pos + sep.len();
        let text = if eventsource {
            let event = raw.trim_start_matches(['\r', '\n']);
            match event.strip_prefix("data: ") {
                Some(data) => data,
                None if event.is_empty() => continue,
                None => return Err(Error::Protocol(format!("bad event {event:?}"))),
            }
        } else {
            raw
        };
        frames.push_back(parse_frame(text)?);
    }
    buf.drain(..start);
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
