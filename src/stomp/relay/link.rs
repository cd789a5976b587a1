//! One TCP connection to the broker: a writer draining a queue bounded in bytes (frames are
//! written as encoded headers, then the body bytes as they came, then NUL), and a reader
//! turning bytes into frames and heart-beats.
//!
//! Owns: broker socket I/O. Must not: grow a queue without bound or panic on broker bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::RelayError;
use crate::stomp::decode::{Decoder, Limits};
use crate::stomp::frame::{Frame, LF, NUL, Version, encode_headers};

/// Bytes read from the broker at a time.
const READ_CHUNK: usize = 16 * 1024;

enum Out {
    Frame { head: Bytes, body: Bytes },
    HeartBeat,
    Close,
}

/// The sending side of a broker connection. Cheap to clone.
#[derive(Clone)]
pub struct LinkTx {
    queue: mpsc::UnboundedSender<Out>,
    queued: Arc<AtomicUsize>,
    max: usize,
}

/// The receiving end the writer drains.
pub struct LinkRx {
    queue: mpsc::UnboundedReceiver<Out>,
    queued: Arc<AtomicUsize>,
}

/// A queue towards the broker holding at most `max` bytes.
pub fn channel(max: usize) -> (LinkTx, LinkRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let tx = LinkTx {
        queue: tx,
        queued: Arc::clone(&queued),
        max,
    };
    (tx, LinkRx { queue: rx, queued })
}

/// The command line and headers of `frame` in `version`'s escaping, with the blank line.
fn head(frame: &Frame, version: Version) -> Bytes {
    let mut out = BytesMut::with_capacity(128);
    out.put_slice(frame.command.as_str().as_bytes());
    out.put_u8(LF);
    encode_headers(&mut out, &frame.headers, version, frame.command);
    out.put_u8(LF);
    out.freeze()
}

impl LinkTx {
    /// Queues `frame`; its body is written as it is (shared, not re-encoded).
    ///
    /// # Errors
    /// [`RelayError::Backlog`] past the bound, [`RelayError::Lost`] if the writer is gone.
    pub fn frame(&self, frame: &Frame, version: Version) -> Result<(), RelayError> {
        let head = head(frame, version);
        let len = head.len() + frame.body.len() + 1;
        if self.queued.load(Ordering::Relaxed) + len > self.max {
            return Err(RelayError::Backlog(self.max));
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        self.queue
            .send(Out::Frame {
                head,
                body: frame.body.clone(),
            })
            .map_err(|_| RelayError::Lost)
    }

    /// Queues a heart-beat (an EOL) unless the queue is already busy.
    pub fn heartbeat(&self) {
        if self.queued.load(Ordering::Relaxed) == 0 {
            let _ = self.queue.send(Out::HeartBeat);
        }
    }

    /// Ends the connection once what is queued is written.
    pub fn close(&self) {
        let _ = self.queue.send(Out::Close);
    }
}

/// Opens a connection to `address`.
///
/// # Errors
/// [`RelayError::Unavailable`] if it fails or takes longer than `timeout`.
pub async fn connect(
    address: &str,
    timeout: std::time::Duration,
) -> Result<(OwnedReadHalf, OwnedWriteHalf), RelayError> {
    match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream.into_split())
        }
        Ok(Err(e)) => {
            log::debug!("stomp relay: connecting to {address}: {e}");
            Err(RelayError::Unavailable)
        }
        Err(_) => Err(RelayError::Unavailable),
    }
}

/// Writes what is queued until the queue closes or a write fails, then shuts the socket.
pub async fn write(mut writer: OwnedWriteHalf, mut rx: LinkRx) {
    while let Some(out) = rx.queue.recv().await {
        let ok = match out {
            Out::Frame { head, body } => {
                let len = head.len() + body.len() + 1;
                let ok = writer.write_all(&head).await.is_ok()
                    && writer.write_all(&body).await.is_ok()
                    && writer.write_all(&[NUL]).await.is_ok();
                rx.queued.fetch_sub(len, Ordering::Relaxed);
                ok
            }
            Out::HeartBeat => writer.write_all(&[LF]).await.is_ok(),
            Out::Close => break,
        };
        if !ok {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// What came from the broker.
#[derive(Debug)]
pub enum Incoming {
    /// A frame.
    Frame(Frame),
    /// Only end-of-lines: a heart-beat.
    HeartBeat,
}

/// Frames from the broker.
pub struct Reader {
    half: OwnedReadHalf,
    decoder: Decoder,
    buf: Vec<u8>,
}

impl Reader {
    /// A reader of `half`, frames bounded by `limits`.
    pub fn new(half: OwnedReadHalf, limits: Limits) -> Self {
        Reader {
            half,
            decoder: Decoder::new(limits),
            buf: vec![0; READ_CHUNK],
        }
    }

    /// Sets the version agreed in CONNECTED (header unescaping).
    pub fn set_version(&mut self, version: Version) {
        self.decoder.set_version(version);
    }

    /// The next frame or heart-beat.
    ///
    /// # Errors
    /// [`RelayError::Lost`] when the connection ends, [`RelayError::Frame`] on bad bytes.
    pub async fn next(&mut self) -> Result<Incoming, RelayError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Incoming::Frame(frame));
            }
            let n = match self.half.read(&mut self.buf).await {
                Ok(0) | Err(_) => return Err(RelayError::Lost),
                Ok(n) => n,
            };
            let bytes = self.buf.get(..n).unwrap_or_default();
            self.decoder.push(bytes);
            if self.decoder.buffered() == n && bytes.iter().all(|b| *b == LF || *b == b'\r') {
                return Ok(Incoming::HeartBeat);
            }
        }
    }
}
