//! A raw RFC 6455 client that writes whatever frames a check asks for: unmasked, reserved
//! opcodes, RSV bits, lying lengths, headers without their payload, payloads streamed in
//! pieces (masked with a zero key, so megabytes need no copy). `crate::ws` is the well-behaved
//! client; this one is for breaking rules.
//!
//! Must not: buffer more than `MAX_READ` of what the server sends.

use std::time::Duration;

use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf,
};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::http::{Conn, Request, Target};

/// Largest server frame the client reads.
const MAX_READ: u64 = 1 << 20;

/// Text frame opcode.
pub const TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const BINARY: u8 = 0x2;
/// Continuation frame opcode.
pub const CONTINUATION: u8 = 0x0;
/// Close frame opcode.
pub const CLOSE: u8 = 0x8;
/// Ping frame opcode.
pub const PING: u8 = 0x9;

/// How a connection ended, as seen by the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// A close frame, with its code when it had one.
    Close(Option<u16>),
    /// The TCP connection ended (EOF or reset) without a close frame.
    Gone(String),
    /// Nothing within the wait.
    Silent,
}

/// The read half of a split connection.
pub type ReadSide = ReadHalf<BufReader<TcpStream>>;
/// The write half of a split connection.
pub type WriteSide = WriteHalf<BufReader<TcpStream>>;

/// A connected WebSocket, after a `101` (or one half of it, after [`RawWs::split`]).
pub struct RawWs<S = BufReader<TcpStream>> {
    io: S,
}

/// A frame from the server.
#[derive(Clone, Debug)]
pub struct ServerFrame {
    /// The opcode.
    pub opcode: u8,
    /// The payload (unmasked: servers do not mask).
    pub payload: Vec<u8>,
}

impl RawWs {
    /// Performs the RFC 6455 handshake on `path`; fails unless the answer is `101`.
    pub async fn connect(target: &Target, path: &str) -> Result<RawWs, String> {
        let mut conn = Conn::open(target).await?;
        let req = Request::get(path)
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13");
        conn.send(&req).await?;
        let head = conn
            .read_head()
            .await
            .map_err(|e| format!("GET {path} (upgrade): {e}"))?;
        if head.status != 101 {
            return Err(format!(
                "GET {path} (upgrade): expected 101, got {}",
                head.status
            ));
        }
        Ok(RawWs {
            io: conn.into_inner(),
        })
    }

    /// Makes dropping the connection send a TCP reset instead of a FIN (an abrupt drop).
    pub fn reset_on_drop(&self) -> Result<(), String> {
        self.io
            .get_ref()
            .set_zero_linger()
            .map_err(|e| format!("SO_LINGER: {e}"))
    }

    /// The read and write halves, for reading while a long write goes on.
    pub fn split(self) -> (RawWs<ReadSide>, RawWs<WriteSide>) {
        let (r, w) = tokio::io::split(self.io);
        (RawWs { io: r }, RawWs { io: w })
    }
}

impl<S: AsyncWrite + Unpin> RawWs<S> {
    /// Writes a frame header: FIN, RSV bits (0..=7), opcode, payload length and mask key.
    pub async fn write_header(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        len: u64,
        mask: Option<[u8; 4]>,
    ) -> Result<(), String> {
        let mut h = vec![(u8::from(fin) << 7) | ((rsv & 7) << 4) | (opcode & 0xf)];
        let m = if mask.is_some() { 0x80 } else { 0 };
        if len < 126 {
            h.push(m | len as u8);
        } else if len <= u64::from(u16::MAX) {
            h.push(m | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(m | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        if let Some(key) = mask {
            h.extend_from_slice(&key);
        }
        self.write_raw(&h).await
    }

    /// Writes a whole frame, masked with a random key when `masked`.
    pub async fn write_frame(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: &[u8],
        masked: bool,
    ) -> Result<(), String> {
        let key = masked.then(rand::random::<[u8; 4]>);
        self.write_header(fin, 0, opcode, payload.len() as u64, key)
            .await?;
        let body: Vec<u8> = match key {
            Some(k) => payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ k[i % 4])
                .collect(),
            None => payload.to_vec(),
        };
        self.write_raw(&body).await
    }

    /// A masked text frame.
    pub async fn send_text(&mut self, text: &str) -> Result<(), String> {
        self.write_frame(true, TEXT, text.as_bytes(), true).await
    }

    /// Writes bytes as they are (bounded by 10 s: a server that stops reading fails it).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        timeout(Duration::from_secs(10), self.io.write_all(bytes))
            .await
            .map_err(|_| "writing timed out (the server stopped reading)".to_string())?
            .map_err(|e| format!("write failed: {e}"))
    }
}

impl<S: AsyncRead + Unpin> RawWs<S> {
    /// The next frame, waiting at most `wait`; `Ok(None)` when the connection ended.
    pub async fn read_frame(&mut self, wait: Duration) -> Result<Option<ServerFrame>, String> {
        timeout(wait, self.read_frame_inner())
            .await
            .map_err(|_| "timed out waiting for a frame".to_string())?
    }

    async fn read_frame_inner(&mut self) -> Result<Option<ServerFrame>, String> {
        let mut h = [0u8; 2];
        match self.io.read_exact(&mut h).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(format!("read failed: {e}")),
        }
        let masked = h[1] & 0x80 != 0;
        let len = match h[1] & 0x7f {
            126 => u64::from(self.io.read_u16().await.map_err(|e| e.to_string())?),
            127 => self.io.read_u64().await.map_err(|e| e.to_string())?,
            n => u64::from(n),
        };
        if len > MAX_READ {
            return Err(format!("the server sent a {len}-byte frame"));
        }
        let mut key = [0u8; 4];
        if masked {
            self.io
                .read_exact(&mut key)
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut payload = vec![0u8; len as usize];
        self.io
            .read_exact(&mut payload)
            .await
            .map_err(|e| e.to_string())?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        Ok(Some(ServerFrame {
            opcode: h[0] & 0xf,
            payload,
        }))
    }

    /// The next text message, skipping pings and pongs; `Err` on anything else.
    pub async fn next_text(&mut self, wait: Duration) -> Result<String, String> {
        loop {
            match self.read_frame(wait).await? {
                Some(f) if f.opcode == TEXT => {
                    return String::from_utf8(f.payload).map_err(|e| e.to_string());
                }
                Some(f) if f.opcode == PING || f.opcode == 0xA => continue,
                Some(f) if f.opcode == CLOSE => {
                    return Err(format!("closed: {:?}", close_code(&f.payload)));
                }
                Some(f) => return Err(format!("unexpected opcode {:#x}", f.opcode)),
                None => return Err("the connection ended".to_string()),
            }
        }
    }

    /// Reads until the server closes (frames before it are skipped), within `wait`.
    pub async fn ending(&mut self, wait: Duration) -> Ending {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_frame(left).await {
                Ok(Some(f)) if f.opcode == CLOSE => return Ending::Close(close_code(&f.payload)),
                Ok(Some(_)) => continue,
                Ok(None) => return Ending::Gone("EOF".to_string()),
                Err(e) if e.starts_with("timed out") => return Ending::Silent,
                Err(e) => return Ending::Gone(e),
            }
        }
    }
}

/// The code of a close frame's payload.
pub fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}
