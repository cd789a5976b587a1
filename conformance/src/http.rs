//! A deliberately small HTTP/1.x client written directly on a tokio
//! `TcpStream`.
//!
//! A conformance suite needs more control than a regular client gives:
//! requests without `Content-Length`, HTTP/1.0 requests, several requests
//! on one connection, reading a chunked body one chunk at a time (each
//! chunk is one SockJS frame), and noticing when the server closes the
//! connection. Every read is bounded by [`READ_TIMEOUT`], so a server that
//! stays silent makes a check fail instead of hanging the suite.
//!
//! Only plain `http://` is supported.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

pub use crate::request::Request;
pub use crate::stream::Stream;
pub use crate::target::Target;

/// Upper bound for every single read from (or connect to) the server.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest body or chunk the client agrees to buffer.
const MAX_BODY: usize = 16 << 20;

/// Status line and headers of a response.
#[derive(Clone, Debug)]
pub struct Head {
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// First value of a header (case-insensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Header value, or "" when absent.
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
    pub fn is_chunked(&self) -> bool {
        self.value("transfer-encoding")
            .to_ascii_lowercase()
            .contains("chunked")
    }
    pub fn content_length(&self) -> Result<Option<usize>, String> {
        match self.get("content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("unparsable Content-Length {v:?}")),
        }
    }
}

/// A complete response (head plus the whole body).
#[derive(Clone, Debug)]
pub struct Response {
    pub label: String,
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One TCP connection to the server.
pub struct Conn {
    io: BufReader<TcpStream>,
    authority: String,
    /// Bound for each read and write; [`READ_TIMEOUT`] unless changed.
    timeout: Duration,
}

/// Renders bytes for an error message: long runs of one character are
/// abbreviated and the whole is cut after a few hundred characters.
pub fn printable(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Binary data: show it as an escaped byte string.
        let shown: String = bytes
            .iter()
            .take(200)
            .map(|b| b.escape_ascii().to_string())
            .collect();
        let more = if bytes.len() > 200 { "..." } else { "" };
        return format!("b\"{shown}\"{more} ({} bytes)", bytes.len());
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::from("\"");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        if run >= 8 {
            out.push_str(&format!("[{} x{run}]", c.escape_debug()));
        } else {
            for _ in 0..run {
                out.extend(c.escape_debug());
            }
        }
        i += run;
        if out.len() > 300 {
            out.push_str(&format!("\"... ({} bytes in all)", bytes.len()));
            return out;
        }
    }
    out.push('"');
    out
}

impl Conn {
    /// Opens a connection to the target.
    pub async fn open(target: &Target) -> Result<Conn, String> {
        let addr = (target.host.as_str(), target.port);
        let stream = timeout(READ_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {} timed out", target.authority))?
            .map_err(|e| format!("cannot connect to {}: {e}", target.authority))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            io: BufReader::new(stream),
            authority: target.authority.clone(),
            timeout: READ_TIMEOUT,
        })
    }

    /// Changes the bound of each later read and write (e.g. for a long poll).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The connection itself, with any bytes already read past the last response (e.g. the
    /// first WebSocket frames after a `101`).
    pub fn into_inner(self) -> BufReader<TcpStream> {
        self.io
    }

    /// Writes a request (head and body).
    pub async fn send(&mut self, req: &Request) -> Result<(), String> {
        let bytes = req.encode(&self.authority);
        self.write_raw(&bytes).await
    }

    /// Writes raw bytes on the connection.
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        let w = self.io.get_mut();
        timeout(self.timeout, async {
            w.write_all(bytes).await?;
            w.flush().await
        })
        .await
        .map_err(|_| "writing to the server timed out".to_string())?
        .map_err(|e| format!("writing to the server failed: {e}"))
    }

    async fn line(&mut self) -> Result<String, String> {
        let mut buf = Vec::new();
        let n = timeout(self.timeout, self.io.read_until(b'\n', &mut buf))
            .await
            .map_err(|_| "timed out waiting for a line from the server".to_string())?
            .map_err(|e| format!("read error: {e}"))?;
        if n == 0 || !buf.ends_with(b"\n") {
            return Err(format!(
                "connection closed in the middle of a line (got {})",
                printable(&buf)
            ));
        }
        let s = String::from_utf8_lossy(&buf);
        Ok(s.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Reads a status line and headers.
    pub async fn read_head(&mut self) -> Result<Head, String> {
        let status_line = self.line().await?;
        let mut parts = status_line.splitn(3, ' ');
        let proto = parts.next().unwrap_or("");
        let version = proto
            .strip_prefix("HTTP/")
            .ok_or_else(|| format!("bad status line {status_line:?}"))?
            .to_string();
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(Head {
            version,
            status,
            headers,
        })
    }

    /// Reads exactly `n` bytes.
    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if n > MAX_BODY {
            return Err(format!("refusing to read {n} bytes (limit {MAX_BODY})"));
        }
        let mut buf = vec![0u8; n];
        let mut got = 0;
        while got < n {
            let k = timeout(self.timeout, self.io.read(&mut buf[got..]))
                .await
                .map_err(|_| {
                    format!(
                        "timed out after {got} of {n} expected bytes (got {})",
                        printable(&buf[..got])
                    )
                })?
                .map_err(|e| format!("read error: {e}"))?;
            if k == 0 {
                return Err(format!(
                    "connection closed after {got} of {n} expected bytes (got {})",
                    printable(&buf[..got])
                ));
            }
            got += k;
        }
        Ok(buf)
    }

    /// One read: whatever is available (empty means the server closed).
    pub async fn read_some(&mut self) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; 65536];
        let k = timeout(self.timeout, self.io.read(&mut buf))
            .await
            .map_err(|_| "timed out waiting for data".to_string())?
            .map_err(|e| format!("read error: {e}"))?;
        buf.truncate(k);
        Ok(buf)
    }

    /// Reads until the server closes the connection.
    pub async fn read_to_eof(&mut self) -> Result<Vec<u8>, String> {
        let mut all = Vec::new();
        loop {
            let mut buf = vec![0u8; 65536];
            let k = timeout(self.timeout, self.io.read(&mut buf))
                .await
                .map_err(|_| {
                    format!(
                        "timed out waiting for the server to close the connection (read so far {})",
                        printable(&all)
                    )
                })?
                .map_err(|e| format!("read error: {e}"))?;
            if k == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&buf[..k]);
            if all.len() > MAX_BODY {
                return Err(format!("more than {MAX_BODY} bytes without the end"));
            }
        }
    }

    /// Succeeds when the server closes the connection without sending more.
    pub async fn expect_eof(&mut self) -> Result<(), String> {
        let rest = self
            .read_some()
            .await
            .map_err(|e| format!("expected the server to close the connection, but: {e}"))?;
        if rest.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected the connection to be closed, got more data {}",
                printable(&rest)
            ))
        }
    }

    /// Reads one chunk of a chunked body; an empty vector is the last chunk.
    pub async fn read_chunk(&mut self) -> Result<Vec<u8>, String> {
        let size_line = self.line().await?;
        let hex = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(hex, 16)
            .map_err(|_| format!("bad chunk size line {size_line:?}"))?;
        if size == 0 {
            // Trailer section: header lines until an empty one.
            loop {
                if self.line().await?.is_empty() {
                    break;
                }
            }
            return Ok(Vec::new());
        }
        let mut data = self.read_exact(size.saturating_add(2)).await?;
        if !data.ends_with(b"\r\n") {
            return Err(format!("chunk not followed by CRLF: {}", printable(&data)));
        }
        data.truncate(size);
        Ok(data)
    }

    /// Reads a whole body according to the framing announced in `head`.
    pub async fn read_body(&mut self, method: &str, head: &Head) -> Result<Vec<u8>, String> {
        if head.is_chunked() {
            let mut body = Vec::new();
            loop {
                let chunk = self.read_chunk().await?;
                if chunk.is_empty() {
                    return Ok(body);
                }
                body.extend_from_slice(&chunk);
            }
        }
        if let Some(n) = head.content_length()? {
            return self.read_exact(n).await;
        }
        let bodiless = matches!(head.status, 100..=199 | 204 | 304)
            || (method == "OPTIONS" && head.status == 200)
            || method == "HEAD";
        if bodiless {
            return Ok(Vec::new());
        }
        self.read_to_eof()
            .await
            .map_err(|e| format!("response has neither Content-Length nor chunked encoding: {e}"))
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub async fn fetch(target: &Target, req: &Request) -> Result<Response, String> {
    Conn::open(target).await?.exchange(req).await
}

impl Conn {
    /// Sends `req` on this connection and reads the whole response.
    pub async fn exchange(&mut self, req: &Request) -> Result<Response, String> {
        let label = req.label();
        self.send(req).await.map_err(|e| format!("{label}: {e}"))?;
        let head = self
            .read_head()
            .await
            .map_err(|e| format!("{label}: {e}"))?;
        let body = self
            .read_body(&req.method, &head)
            .await
            .map_err(|e| format!("{label}: {e}"))?;
        Ok(Response { label, head, body })
    }
}
