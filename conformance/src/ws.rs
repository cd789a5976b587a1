//! RFC 6455 WebSocket helpers on top of `tokio-tungstenite`.
//!
//! Every wait is bounded by [`READ_TIMEOUT`]; ping/pong control frames are
//! skipped so that callers only see text messages and the end of the
//! connection.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::http::READ_TIMEOUT;

/// What the server did next on a WebSocket.
#[derive(Debug, PartialEq)]
pub enum Event {
    /// A text message.
    Text(String),
    /// A binary message (SockJS never sends these).
    Binary(Vec<u8>),
    /// A close frame, with code and reason when the server gave them.
    Close(Option<(u16, String)>),
    /// The TCP connection ended (cleanly or not) without a close frame.
    Gone(String),
}

/// A connected WebSocket client.
pub struct Ws {
    url: String,
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Performs the opening handshake against a `ws://` URL.
    pub async fn connect(url: &str) -> Result<Ws, String> {
        let (inner, _resp) = timeout(READ_TIMEOUT, connect_async(url))
            .await
            .map_err(|_| format!("{url}: WebSocket handshake timed out"))?
            .map_err(|e| format!("{url}: WebSocket handshake failed: {e}"))?;
        Ok(Ws {
            url: url.to_string(),
            inner,
        })
    }

    /// Sends one text message.
    pub async fn send(&mut self, text: &str) -> Result<(), String> {
        timeout(READ_TIMEOUT, self.inner.send(Message::text(text)))
            .await
            .map_err(|_| format!("{}: sending timed out", self.url))?
            .map_err(|e| format!("{}: sending {text:?} failed: {e}", self.url))
    }

    /// Waits for the next event, ignoring ping/pong frames.
    pub async fn next_event(&mut self) -> Result<Event, String> {
        loop {
            let item = timeout(READ_TIMEOUT, self.inner.next())
                .await
                .map_err(|_| format!("{}: timed out waiting for a message", self.url))?;
            return Ok(match item {
                None => Event::Gone("stream ended".to_string()),
                Some(Err(e)) => Event::Gone(e.to_string()),
                Some(Ok(Message::Text(t))) => Event::Text(t.as_str().to_string()),
                Some(Ok(Message::Binary(b))) => Event::Binary(b.to_vec()),
                Some(Ok(Message::Close(frame))) => {
                    Event::Close(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_string())))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            });
        }
    }

    /// Requires the next message to be exactly the text `expected`.
    pub async fn expect_text(&mut self, expected: &str) -> Result<(), String> {
        match self.next_event().await? {
            Event::Text(t) if t == expected => Ok(()),
            other => Err(format!(
                "{}: expected message {expected:?}, got {other:?}",
                self.url
            )),
        }
    }

    /// Requires the connection to end next: a close frame or the end of
    /// the TCP stream, with no further message before it.
    pub async fn expect_closed(&mut self) -> Result<Option<(u16, String)>, String> {
        match self.next_event().await {
            Ok(Event::Close(frame)) => Ok(frame),
            Ok(Event::Gone(_)) => Ok(None),
            Ok(other) => Err(format!(
                "{}: expected the connection to close, got {other:?}",
                self.url
            )),
            Err(e) => Err(format!("expected the connection to close, but: {e}")),
        }
    }

    /// Starts a clean close; errors are irrelevant at this point.
    pub async fn close(mut self) {
        let _ = timeout(READ_TIMEOUT, self.inner.close(None)).await;
    }
}
