//! STOMP over plain TCP (the `--stomp-tcp` listener): one task per connection reads bytes
//! into a [`Connection`](super::Connection) and ticks it at its deadline; a writer task
//! drains a queue bounded in bytes (`max_buffered_bytes`: past it the slow consumer gets an
//! ERROR and is closed).
//!
//! Owns: the TCP listener of a service ([`Stomp::serve_tcp`]), each connection's read loop and
//! timer, and its bounded writer. Must not: let a connection's failure reach another, or grow
//! a queue without bound.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Buf;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::Stomp;
use super::connection::Flow;
use super::error::StompError;
use super::frame::Version;
use super::message::{Outlet, Wire};
use crate::session::state::outbox_admits;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Pause after a failed accept (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Time a closing connection's writer gets to flush (the ERROR or RECEIPT) before the socket
/// is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

enum Out {
    Frame(Wire),
    Close,
}

/// The writer side of one TCP connection, bounded in queued bytes.
struct TcpOutlet {
    queue: mpsc::UnboundedSender<Out>,
    queued: Arc<AtomicUsize>,
    max: usize,
    closing: AtomicBool,
    closed: watch::Sender<bool>,
}

impl TcpOutlet {
    fn push(&self, wire: Wire) {
        self.queued.fetch_add(wire.len(), Ordering::Relaxed);
        let _ = self.queue.send(Out::Frame(wire));
    }
}

impl Outlet for TcpOutlet {
    fn send(&self, wire: Wire) -> bool {
        if self.closing.load(Ordering::Acquire) {
            return false;
        }
        if !outbox_admits(self.queued.load(Ordering::Relaxed), wire.len(), self.max) {
            if !self.closing.swap(true, Ordering::AcqRel) {
                log::debug!("stomp tcp: slow consumer, closing");
                let error = StompError::SlowConsumer(self.max).frame(None);
                self.push(Wire::whole(error.encode(Version::V1_2)));
                let _ = self.queue.send(Out::Close);
                self.closed.send_replace(true);
            }
            return false;
        }
        self.push(wire);
        true
    }

    fn close(&self) {
        if !self.closing.swap(true, Ordering::AcqRel) {
            let _ = self.queue.send(Out::Close);
            self.closed.send_replace(true);
        }
    }
}

impl Stomp {
    /// Accepts STOMP connections on `listener` until `shutdown` completes.
    ///
    /// # Errors
    /// Never, today; the `Result` leaves room for fatal listener errors.
    pub async fn serve_tcp(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tokio::spawn(serve_connection(self.clone(), stream, peer));
                    }
                    Err(e) => {
                        log::warn!("stomp tcp accept failed: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
    }
}

async fn serve_connection(stomp: Stomp, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let (queue, frames) = mpsc::unbounded_channel();
    let (closed, mut closed_rx) = watch::channel(false);
    let queued = Arc::new(AtomicUsize::new(0));
    let outlet = Arc::new(TcpOutlet {
        queue,
        queued: Arc::clone(&queued),
        max: stomp.config().max_buffered_bytes,
        closing: AtomicBool::new(false),
        closed,
    });
    let mut writer = tokio::spawn(write_frames(writer, frames, queued));
    let mut connection = stomp.connection(outlet.clone(), Some(peer), now());
    log::debug!("stomp tcp connection from {peer}");
    let mut buf = vec![0; READ_CHUNK];
    loop {
        let deadline = connection.deadline();
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let flow = tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => Flow::Closed,
                Ok(n) => connection.receive(buf.get(..n).unwrap_or_default(), now()),
            },
            () = timer => connection.tick(now()),
            _ = closed_rx.changed() => Flow::Closed,
        };
        if flow == Flow::Closed {
            break;
        }
    }
    connection.closed();
    outlet.close();
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
    log::debug!("stomp tcp connection from {peer} closed");
}

async fn write_frames(
    mut writer: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Out>,
    queued: Arc<AtomicUsize>,
) {
    while let Some(out) = frames.recv().await {
        let Out::Frame(wire) = out else {
            break;
        };
        let len = wire.len();
        let mut parts = wire.head.chain(wire.tail);
        if writer.write_all_buf(&mut parts).await.is_err() {
            return;
        }
        queued.fetch_sub(len, Ordering::Relaxed);
    }
    let _ = writer.shutdown().await;
}
