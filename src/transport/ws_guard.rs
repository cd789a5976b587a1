//! What guards a WebSocket's request payload at both ends, between actix-http's connection
//! and the codec.
//!
//! On the way in, [`FrameGuard`] reads each frame header as the bytes arrive and refuses a
//! data message whose declared length (one frame, or its fragments together) passes
//! `max_message_bytes`, before the codec buffers it. actix-http checks a frame's size only
//! once the whole frame has arrived, so without this a client could make the server buffer
//! any amount (a frame header can declare 2^63 bytes). Pure: bytes in, a verdict out; the
//! stream wrapper [`guard`] only applies it.
//!
//! At the end, [`ConnectionSocket`] (recorded by the [`on_connect`] hook) ends the request
//! when the close handshake is over, so that actix-http closes the connection at once
//! instead of lingering (see `transport/websocket/pump.rs`).

use std::any::Any;

use actix_web::HttpRequest;
use actix_web::dev::{Extensions, Payload};
use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// A data message (or frame) longer than the limit was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooBig;

/// Follows RFC 6455 frame boundaries through a byte stream (client-to-server frames).
#[derive(Debug, Clone)]
pub struct FrameGuard {
    max: u64,
    header: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// Bytes of the fragmented data message so far.
    message: u64,
}

impl FrameGuard {
    /// A guard allowing data messages of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameGuard {
            max: max as u64,
            header: [0; 14],
            have: 0,
            skip: 0,
            message: 0,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), TooBig> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64);
                self.skip -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if let Some((fin, opcode, len)) = self.complete_header() {
                self.have = 0;
                self.skip = len;
                self.check(fin, opcode, len)?;
            }
        }
        Ok(())
    }

    /// The header's (FIN, opcode, payload length) once all its bytes are in.
    fn complete_header(&self) -> Option<(bool, u8, u64)> {
        if self.have < 2 {
            return None;
        }
        let masked = self.header[1] & 0x80 != 0;
        let (ext, len7) = match self.header[1] & 0x7F {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(u64::from(n))),
        };
        let need = 2 + ext + if masked { 4 } else { 0 };
        if self.have < need {
            return None;
        }
        let len = len7.unwrap_or_else(|| {
            self.header[2..2 + ext]
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
        });
        Some((self.header[0] & 0x80 != 0, self.header[0] & 0x0F, len))
    }

    fn check(&mut self, fin: bool, opcode: u8, len: u64) -> Result<(), TooBig> {
        // Control frames (opcode 8 and above) are at most 125 bytes; the codec checks them.
        if opcode >= 8 {
            return Ok(());
        }
        let total = if opcode == 0 {
            self.message.saturating_add(len)
        } else {
            len
        };
        if total > self.max {
            return Err(TooBig);
        }
        self.message = if fin { 0 } else { total };
        Ok(())
    }
}

/// Wraps a request payload with a [`FrameGuard`]; when it trips, the stream ends with an
/// [`PayloadError::Overflow`] (so the socket is closed with 1009). Nothing else yields that
/// error on a WebSocket's payload: after the handshake actix-http parses no more request
/// heads on the connection, which is its only other source.
pub fn guard(payload: Payload, max: usize) -> Payload {
    let mut guard = FrameGuard::new(max);
    let stream = payload.map(move |chunk: Result<Bytes, PayloadError>| {
        let bytes = chunk?;
        match guard.feed(&bytes) {
            Ok(()) => Ok(bytes),
            Err(TooBig) => Err(PayloadError::Overflow),
        }
    });
    let boxed: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(stream);
    Payload::from(boxed)
}

/// The socket of one accepted plain-TCP connection, kept in its connection data by
/// [`on_connect`], so that a WebSocket can end its request once the close handshake is over
/// (see the module documentation). Without it (the hook not installed, or TLS) a closed
/// WebSocket's connection lingers in actix-http until the client closes it or
/// `client_disconnect_timeout` passes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionSocket {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
}

/// `how` for `shutdown(2)`: no more receptions (`SHUT_RD`, 0 in every Unix `<sys/socket.h>`).
#[cfg(unix)]
const SHUT_RD: std::ffi::c_int = 0;

#[cfg(unix)]
unsafe extern "C" {
    /// POSIX `shutdown(2)`: it takes a descriptor number and touches no memory of ours.
    safe fn shutdown(socket: std::ffi::c_int, how: std::ffi::c_int) -> std::ffi::c_int;
}

impl ConnectionSocket {
    /// The socket of the HTTP/1.1 connection `req` came on, if [`on_connect`] recorded it
    /// (an HTTP/2 connection carries other requests: it is never ended for one of them).
    pub fn of(req: &HttpRequest) -> Option<ConnectionSocket> {
        (req.version() == actix_web::http::Version::HTTP_11)
            .then(|| req.conn_data::<ConnectionSocket>().copied())
            .flatten()
    }

    /// Shuts the socket's read half. actix-http then reads the end of the request, writes
    /// out what it holds, sends its FIN and drops the connection at once, where a response
    /// that ends before its request otherwise makes it linger (reading until the client
    /// closes, for up to `client_disconnect_timeout`) before its FIN.
    ///
    /// Only for code running inside the connection's own task (a response body polled by
    /// actix-http): the connection, hence its descriptor, is alive while that runs, so the
    /// number names this socket and no other.
    pub(crate) fn end_read(self) {
        #[cfg(unix)]
        if shutdown(self.fd, SHUT_RD) != 0 {
            // The peer reset the connection already: actix-http sees that by itself.
            log::trace!("shutdown(SHUT_RD): {}", std::io::Error::last_os_error());
        }
    }
}

/// The connection hook: records each plain-TCP connection's socket.
/// `server::run` installs it; a server of your own should too, before binding:
/// `HttpServer::new(..).on_connect(sockjs_server::server::on_connect)`.
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    #[cfg(unix)]
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsRawFd;
        data.insert(ConnectionSocket {
            fd: tcp.as_raw_fd(),
        });
    }
    #[cfg(not(unix))]
    let _ = (connection, data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..=125 => out.push(0x80 | len as u8),
            126..=65535 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend(std::iter::repeat_n(0u8, len.min(100_000) as usize));
        out
    }

    #[test]
    fn frames_within_the_limit_pass() {
        let mut g = FrameGuard::new(1000);
        let mut bytes = frame(true, 1, 1000);
        bytes.extend(frame(true, 9, 5));
        bytes.extend(frame(true, 2, 300));
        assert_eq!(g.feed(&bytes), Ok(()));
    }

    #[test]
    fn a_huge_declared_length_trips_on_the_header_alone() {
        let mut g = FrameGuard::new(1000);
        let header = &frame(true, 1, 1 << 40)[..14];
        assert_eq!(g.feed(header), Err(TooBig));
    }

    #[test]
    fn fragments_count_together() {
        let mut g = FrameGuard::new(1000);
        assert_eq!(g.feed(&frame(false, 1, 600)), Ok(()));
        assert_eq!(g.feed(&frame(true, 9, 3)), Ok(()));
        assert_eq!(g.feed(&frame(true, 0, 600)), Err(TooBig));
    }

    #[test]
    fn a_finished_message_resets_the_count() {
        let mut g = FrameGuard::new(1000);
        for _ in 0..5 {
            assert_eq!(g.feed(&frame(false, 1, 500)), Ok(()));
            assert_eq!(g.feed(&frame(true, 0, 500)), Ok(()));
        }
    }

    proptest! {
        #[test]
        fn byte_splits_do_not_change_the_verdict(lens in proptest::collection::vec(0u64..3000, 1..6), cut in 0usize..10_000) {
            let bytes: Vec<u8> = lens.iter().flat_map(|l| frame(true, 1, *l)).collect();
            let whole = FrameGuard::new(2000).feed(&bytes);
            let cut = cut.min(bytes.len());
            let mut g = FrameGuard::new(2000);
            let split = g.feed(&bytes[..cut]).and_then(|()| g.feed(&bytes[cut..]));
            prop_assert_eq!(whole, split);
            prop_assert_eq!(whole.is_err(), lens.iter().any(|l| *l > 2000));
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = FrameGuard::new(100).feed(&bytes);
        }
    }
}
