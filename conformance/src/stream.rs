//! Streaming responses read one frame at a time. Direct (the default): with chunked encoding
//! a frame is one chunk; otherwise it is one read, or a known number of bytes when the caller
//! knows what to expect. Proxied ([`Stream::open_proxied`]): the body is read as a byte stream
//! and split by the transport's own delimiters (`split.rs`), since a proxy re-chunks.

use crate::http::{Conn, Head, Request, Target, printable};
use crate::split::{Delimiters, Splitter};

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
    /// Set when frames are found by delimiters rather than by chunks.
    splitter: Option<Splitter>,
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
            splitter: None,
        })
    }

    /// As [`Stream::open`], but frames are split by the transport's delimiters (named by the
    /// request path) whatever the chunking, as a client behind a proxy must. A path that names
    /// no streaming transport is read as [`Stream::open`] reads it.
    pub async fn open_proxied(target: &Target, req: &Request) -> Result<Stream, String> {
        let mut s = Stream::open(target, req).await?;
        s.splitter = Delimiters::for_path(&req.path).map(Splitter::new);
        Ok(s)
    }

    /// Whether frames are split by delimiters (proxied mode).
    pub fn is_proxied(&self) -> bool {
        self.splitter.is_some()
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
        if self.splitter.is_some() {
            return self.split_frame().await;
        }
        self.read_piece().await
    }

    /// The next delimited frame; bytes left after the last frame when the body ends are
    /// returned as a frame of their own, so a check sees what came.
    async fn split_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        loop {
            let Some(splitter) = self.splitter.as_mut() else {
                return self.read_piece().await;
            };
            if let Some(frame) = splitter.next_frame() {
                return Ok(Some(frame));
            }
            let piece = self.read_piece().await;
            let Some(splitter) = self.splitter.as_mut() else {
                return piece;
            };
            match piece? {
                Some(bytes) => splitter.push(&bytes),
                None if splitter.pending() == 0 => return Ok(None),
                None => return Ok(Some(splitter.rest())),
            }
        }
    }

    /// One chunk, or one read for unchunked bodies; `None` at the end of the body.
    async fn read_piece(&mut self) -> Result<Option<Vec<u8>>, String> {
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
        if self.splitter.is_some() {
            let got = self
                .split_frame()
                .await
                .map_err(|e| format!("{}: expected {}: {e}", self.label, printable(expected)))?
                .ok_or_else(|| {
                    format!(
                        "{}: expected {}, the response ended",
                        self.label,
                        printable(expected)
                    )
                })?;
            return self.compare(expected, &got);
        }
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
        self.compare(expected, &got)
    }

    fn compare(&self, expected: &[u8], got: &[u8]) -> Result<(), String> {
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "{}: expected frame {}, got {}",
                self.label,
                printable(expected),
                printable(got)
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
