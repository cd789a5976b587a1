//! Streaming responses read one frame at a time: with chunked encoding a
//! frame is one chunk; otherwise it is one read, or a known number of bytes
//! when the caller knows what to expect.

use crate::http::{Conn, Head, Request, Target, printable};

/// How the body of a streaming response is delimited.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

/// A response whose body is read incrementally, one frame at a time.
pub struct Stream {
    pub label: String,
    pub head: Head,
    conn: Conn,
    framing: Framing,
}

impl Stream {
    /// Sends `req` on a fresh connection and reads the response head.
    pub async fn open(target: &Target, req: &Request) -> Result<Stream, String> {
        let mut conn = Conn::open(target).await?;
        conn.send(req).await?;
        let head = conn
            .read_head()
            .await
            .map_err(|e| format!("{}: {e}", req.label()))?;
        let framing = if head.is_chunked() {
            Framing::Chunked
        } else if let Some(n) = head
            .content_length()
            .map_err(|e| format!("{}: {e}", req.label()))?
        {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        Ok(Stream {
            label: req.label(),
            head,
            conn,
            framing,
        })
    }

    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The next frame: one chunk, or one read for unchunked bodies.
    /// `None` means the body ended.
    pub async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        let label = self.label.clone();
        self.read_frame().await.map_err(|e| format!("{label}: {e}"))
    }

    async fn read_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        let data = match self.framing {
            Framing::Chunked => self.conn.read_chunk().await?,
            Framing::Length(0) => return Ok(None),
            Framing::Length(n) => {
                let d = self.conn.read_some().await?;
                if d.is_empty() {
                    return Err("body cut short".to_string());
                }
                self.framing = Framing::Length(n.saturating_sub(d.len()));
                d
            }
            Framing::UntilClose => self.conn.read_some().await?,
        };
        Ok(if data.is_empty() { None } else { Some(data) })
    }

    /// Reads the next frame and requires it to equal `expected`. For an
    /// unchunked body exactly `expected.len()` bytes are read.
    pub async fn expect_frame(&mut self, expected: &[u8]) -> Result<(), String> {
        let got =
            match self.framing {
                Framing::Chunked => self.conn.read_chunk().await.map_err(|e| {
                    format!("{}: expected {}: {e}", self.label, printable(expected))
                })?,
                _ => self.conn.read_exact(expected.len()).await.map_err(|e| {
                    format!("{}: expected {}: {e}", self.label, printable(expected))
                })?,
            };
        if let Framing::Length(n) = self.framing {
            self.framing = Framing::Length(n.saturating_sub(got.len()));
        }
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "{}: expected frame {}, got {}",
                self.label,
                printable(expected),
                printable(&got)
            ))
        }
    }

    /// Requires the body to end now (last chunk, or connection closed).
    pub async fn expect_end(&mut self) -> Result<(), String> {
        match self.read_frame().await {
            Ok(None) => Ok(()),
            Ok(Some(d)) => Err(format!(
                "{}: expected the response to end, got {}",
                self.label,
                printable(&d)
            )),
            Err(e) => Err(format!(
                "{}: expected the response to end, but: {e}",
                self.label
            )),
        }
    }
}
