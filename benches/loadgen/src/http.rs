//! A minimal HTTP/1.1 client over one keep-alive `TcpStream`, enough for SockJS's HTTP
//! transports: requests with a small body, responses framed by `Content-Length`, chunked
//! encoding or connection close, read either whole or piece by piece (streaming).
//!
//! Owns: request writing and response framing. Must not: know SockJS framing.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// Longest status or header line accepted.
const MAX_LINE: usize = 8 * 1024;
/// Largest body read whole (polling responses and error pages are small).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// A response head.
#[derive(Debug)]
pub struct Head {
    /// The status code.
    pub status: u16,
}

/// One HTTP/1.1 connection to the server under test.
#[derive(Debug)]
pub struct Conn {
    io: BufReader<TcpStream>,
    /// Bytes left in the current chunk (chunked) or body (length) of a streamed response.
    remaining: usize,
    framing: Framing,
    /// Whether the server asked to close after this response.
    close: bool,
    done: bool,
}

impl Conn {
    /// Connects to `addr` with `TCP_NODELAY` set.
    pub async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn::from_stream(stream))
    }

    /// A connection over a stream already connected.
    pub fn from_stream(stream: TcpStream) -> Conn {
        Conn {
            io: BufReader::with_capacity(4096, stream),
            remaining: 0,
            framing: Framing::Length(0),
            close: false,
            done: true,
        }
    }

    /// Whether the connection can carry another request.
    pub fn reusable(&self) -> bool {
        self.done && !self.close
    }

    /// Writes one request; `body` is sent with a `Content-Length`.
    pub async fn send_request(&mut self, method: &str, path: &str, body: &[u8]) -> Result<()> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !body.is_empty() {
            req.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
        }
        req.push_str("\r\n");
        let stream = self.io.get_mut();
        stream.write_all(req.as_bytes()).await?;
        if !body.is_empty() {
            stream.write_all(body).await?;
        }
        Ok(())
    }

    /// Reads a response head; the body is then read with [`Conn::read_body`] or
    /// [`Conn::read_piece`].
    pub async fn read_head(&mut self) -> Result<Head> {
        let status_line = self.line().await?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| Error::Protocol(format!("bad status line {status_line:?}")))?;
        let mut framing = Framing::UntilClose;
        let mut close = false;
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(Error::Protocol(format!("bad header line {line:?}")));
            };
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => {
                    let n = value
                        .parse()
                        .map_err(|_| Error::Protocol(format!("bad content-length {value:?}")))?;
                    if framing != Framing::Chunked {
                        framing = Framing::Length(n);
                    }
                }
                "transfer-encoding" if value.eq_ignore_ascii_case("chunked") => {
                    framing = Framing::Chunked
                }
                "connection" if value.eq_ignore_ascii_case("close") => close = true,
                _ => {}
            }
        }
        if status == 204 || status == 304 {
            framing = Framing::Length(0);
        }
        self.framing = framing;
        self.close = close || framing == Framing::UntilClose;
        self.remaining = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        self.done = framing == Framing::Length(0);
        Ok(Head { status })
    }

    /// Reads the rest of the current body whole.
    pub async fn read_body(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(piece) = self.read_piece().await? {
            if body.len() + piece.len() > MAX_BODY {
                return Err(Error::Protocol("response body too large".into()));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body)
    }

    /// The next piece of the current body as it arrives, or `None` at its end.
    pub async fn read_piece(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        match self.framing {
            Framing::Length(_) => {
                let piece = self.some_bytes(self.remaining).await?;
                self.remaining -= piece.len();
                self.done = self.remaining == 0;
                Ok(Some(piece))
            }
            Framing::UntilClose => {
                let piece = self.some_bytes(64 * 1024).await;
                match piece {
                    Ok(p) => Ok(Some(p)),
                    Err(Error::Closed) => {
                        self.done = true;
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
            Framing::Chunked => {
                if self.remaining == 0 {
                    let size_line = self.line().await?;
                    let hex = size_line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(hex, 16)
                        .map_err(|_| Error::Protocol(format!("bad chunk size {size_line:?}")))?;
                    if size == 0 {
                        // Trailers (none expected) end with an empty line.
                        while !self.line().await?.is_empty() {}
                        self.done = true;
                        return Ok(None);
                    }
                    self.remaining = size;
                }
                let piece = self.some_bytes(self.remaining).await?;
                self.remaining -= piece.len();
                if self.remaining == 0 && !self.line().await?.is_empty() {
                    return Err(Error::Protocol("chunk not followed by CRLF".into()));
                }
                Ok(Some(piece))
            }
        }
    }

    /// Up to `max` bytes, at least one; `Error::Closed` at EOF.
    async fn some_bytes(&mut self, max: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; max.clamp(1, 64 * 1024)];
        let n = self.io.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Closed);
        }
        buf.truncate(n);
        Ok(buf)
    }

    /// One CRLF-terminated line without its terminator.
    async fn line(&mut self) -> Result<String> {
        let mut line = Vec::new();
        let n = (&mut self.io)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Err(Error::Closed);
        }
        if line.last() != Some(&b'\n') {
            return Err(Error::Protocol("header line too long".into()));
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        String::from_utf8(line).map_err(|_| Error::Protocol("non-UTF-8 header line".into()))
    }
}
