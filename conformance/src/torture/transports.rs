//! One echo session over any SockJS transport, for the soak: open it, send a message, wait
//! for its echo. Receiving knows each transport's framing (xhr polling, jsonp, xhr_streaming,
//! eventsource, htmlfile with their response-limit rotations, and the SockJS WebSocket).
//!
//! Must not: panic on anything the server sends.

use std::time::Duration;

use super::client::{Frame, KeepAlive, parse_frame};
use crate::http::{Request, Stream, Target, printable};
use crate::ws::{Event, Ws};

/// The transports the soak mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// SockJS WebSocket (`/websocket`).
    WebSocket,
    /// xhr polling.
    XhrPolling,
    /// xhr streaming.
    XhrStreaming,
    /// EventSource.
    EventSource,
    /// JSONP polling with jsonp_send.
    Jsonp,
    /// htmlfile.
    HtmlFile,
}

/// Every transport, in a fixed order.
pub const ALL: [Transport; 6] = [
    Transport::WebSocket,
    Transport::XhrPolling,
    Transport::XhrStreaming,
    Transport::EventSource,
    Transport::Jsonp,
    Transport::HtmlFile,
];

/// How long to wait for a reply.
const REPLY_WITHIN: Duration = Duration::from_secs(10);

/// An open echo session.
pub enum Session {
    /// Over a WebSocket.
    Ws(Box<Ws>),
    /// Over HTTP.
    Http(Box<HttpSession>),
}

/// An echo session over an HTTP transport: sends on one kept-alive connection, receives on
/// another (or on a streaming response).
pub struct HttpSession {
    path: String,
    transport: Transport,
    sender: KeepAlive,
    poller: KeepAlive,
    /// The current streaming response (streaming transports), reopened when it ends.
    stream: Option<Stream>,
    /// Messages received but not yet asked for.
    inbox: Vec<String>,
}

/// The frame inside one piece of a transport's body.
fn unwrap_frame(transport: Transport, piece: &[u8]) -> Result<Frame, String> {
    let text = String::from_utf8_lossy(piece);
    let inner = match transport {
        Transport::EventSource => text.trim_end().strip_prefix("data: ").map(str::to_owned),
        Transport::HtmlFile | Transport::Jsonp => {
            // p("...");  or  /**/cb("...");  : a JSON string between the parentheses.
            let open = text.find("(\"");
            let close = text.rfind("\");");
            match (open, close) {
                (Some(o), Some(c)) if c > o => {
                    serde_json::from_str::<String>(&text[o + 1..c + 1]).ok()
                }
                _ => None,
            }
        }
        _ => Some(text.trim_end().to_owned()),
    };
    let inner =
        inner.ok_or_else(|| format!("{transport:?}: unreadable piece {}", printable(piece)))?;
    parse_frame(&inner)
}

impl Session {
    /// Opens a session on `service` over `transport`, reading its open frame.
    pub async fn open(
        target: &Target,
        service: &str,
        transport: Transport,
    ) -> Result<Session, String> {
        let path = format!(
            "{}{service}/000/{}",
            target.prefix,
            crate::checks::new_session_id()
        );
        if transport == Transport::WebSocket {
            let mut ws = Ws::connect(&format!("ws://{}{path}/websocket", target.authority)).await?;
            ws.expect_text("o").await?;
            return Ok(Session::Ws(Box::new(ws)));
        }
        let mut s = HttpSession {
            path,
            transport,
            sender: KeepAlive::new(target, Duration::from_secs(5)),
            poller: KeepAlive::new(target, Duration::from_secs(30)),
            stream: None,
            inbox: Vec::new(),
        };
        match s.next_frame(target).await? {
            Frame::Open => Ok(Session::Http(Box::new(s))),
            other => Err(format!(
                "{transport:?}: expected the open frame, got {other:?}"
            )),
        }
    }

    /// Sends `message` and waits for its echo (messages before it are skipped).
    pub async fn echo(&mut self, target: &Target, message: &str) -> Result<(), String> {
        match self {
            Session::Ws(ws) => {
                let quoted = serde_json::to_string(&[message]).map_err(|e| e.to_string())?;
                ws.send(&quoted).await?;
                loop {
                    match ws.next_event().await? {
                        Event::Text(t) => match parse_frame(&t)? {
                            Frame::Messages(m) if m.iter().any(|x| x == message) => return Ok(()),
                            Frame::Messages(_) | Frame::Heartbeat => continue,
                            other => {
                                return Err(format!(
                                    "websocket echo of {message:?}: got {other:?}"
                                ));
                            }
                        },
                        other => {
                            return Err(format!("websocket echo of {message:?}: got {other:?}"));
                        }
                    }
                }
            }
            Session::Http(s) => s.echo(target, message).await,
        }
    }

    /// Ends the session: a WebSocket is closed, an HTTP session is abandoned.
    pub async fn end(self) {
        if let Session::Ws(ws) = self {
            ws.close().await;
        }
    }
}

impl HttpSession {
    async fn echo(&mut self, target: &Target, message: &str) -> Result<(), String> {
        let quoted = serde_json::to_string(&[message]).map_err(|e| e.to_string())?;
        if self.transport == Transport::Jsonp {
            let req = Request::post(&format!("{}/jsonp_send", self.path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("d={}", urlencode(&quoted)));
            let r = self.sender.request(&req).await?;
            if r.status() != 200 {
                return Err(format!("{}: status {}", r.label, r.status()));
            }
        } else {
            self.sender.send(&self.path, message).await?;
        }
        let deadline = tokio::time::Instant::now() + REPLY_WITHIN;
        while tokio::time::Instant::now() < deadline {
            if let Some(i) = self.inbox.iter().position(|m| m == message) {
                self.inbox.drain(..=i);
                return Ok(());
            }
            match self.next_frame(target).await? {
                Frame::Messages(m) => self.inbox.extend(m),
                Frame::Heartbeat => {}
                other => {
                    return Err(format!(
                        "waiting for the echo of {message:?}: got {other:?}"
                    ));
                }
            }
        }
        Err(format!("no echo of {message:?} within {REPLY_WITHIN:?}"))
    }

    /// The next frame (reopening streams and polls as needed).
    async fn next_frame(&mut self, target: &Target) -> Result<Frame, String> {
        let path = &self.path;
        match self.transport {
            Transport::XhrPolling => {
                let mut frames = self.poller.poll(path).await?;
                match frames.len() {
                    1 => Ok(frames.remove(0)),
                    n => Err(format!("a poll answered {n} frames")),
                }
            }
            Transport::Jsonp => {
                let r = self
                    .poller
                    .request(&Request::get(&format!("{path}/jsonp?c=cb")))
                    .await?;
                if r.status() != 200 {
                    return Err(format!("{}: status {}", r.label, r.status()));
                }
                unwrap_frame(self.transport, &r.body)
            }
            transport => loop {
                let s = match self.stream.as_mut() {
                    Some(s) => s,
                    None => {
                        let req = match transport {
                            Transport::XhrStreaming => {
                                Request::post(&format!("{path}/xhr_streaming"))
                            }
                            Transport::EventSource => Request::get(&format!("{path}/eventsource")),
                            _ => Request::get(&format!("{path}/htmlfile?c=cb")),
                        };
                        let mut s = Stream::open_proxied(target, &req).await?;
                        if s.status() != 200 {
                            return Err(format!("{}: status {}", s.label, s.status()));
                        }
                        s.next_frame().await?; // prelude or page head
                        self.stream.insert(s)
                    }
                };
                match s.next_frame().await? {
                    None => self.stream = None,
                    Some(piece) => return unwrap_frame(transport, &piece),
                }
            },
        }
    }
}

/// Percent-encodes every byte outside `[A-Za-z0-9]`.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
