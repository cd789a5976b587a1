//! Outgoing bytes: the [`Outlet`] a connection's frames go to (a SockJS session or a TCP
//! writer), and [`Published`], a message encoded once and shared by every subscriber. Only
//! the `subscription` and `ack` headers are written per delivery.
//!
//! Owns: the MESSAGE frame layout. Must not: do I/O itself or know about sessions.

use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};

use super::frame::{Command, LF, NUL, Version, encode_headers};
use super::headers::{ACK, CONTENT_LENGTH, DESTINATION, MESSAGE_ID, SUBSCRIPTION};

/// One frame on its way out, in two parts so that a shared tail is never copied: `head` is
/// per delivery, `tail` is shared (empty for frames that are not MESSAGEs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    /// The frame's first bytes: the whole frame, or a MESSAGE's per-delivery headers.
    pub head: Bytes,
    /// The rest: a MESSAGE's shared headers and body (empty for any other frame).
    pub tail: Bytes,
}

impl Wire {
    /// A whole frame in one part.
    pub fn whole(bytes: Bytes) -> Self {
        Wire {
            head: bytes,
            tail: Bytes::new(),
        }
    }

    /// The frame's length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// Whether the frame is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame in one buffer (for transports that need contiguous text).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.tail);
        out
    }
}

/// Where one connection's frames go. Implementations must not block.
pub trait Outlet: Send + Sync + 'static {
    /// Queues a frame; false if the connection is gone or closing. An outlet with a byte
    /// bound that is passed sends an ERROR itself and closes (a slow consumer).
    fn send(&self, wire: Wire) -> bool;

    /// Closes the connection once what is queued has been written.
    fn close(&self);
}

/// A message published to a destination: headers and body encoded once per version, lazily,
/// and shared by every delivery.
#[derive(Debug)]
pub struct Published {
    id: String,
    destination: String,
    headers: Vec<(String, String)>,
    body: Bytes,
    encoded: [OnceLock<Bytes>; 3],
}

impl Published {
    /// A message with id `id` for `destination` (as subscribers see it).
    pub fn new(
        id: String,
        destination: String,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Self {
        Published {
            id,
            destination,
            headers,
            body,
            encoded: Default::default(),
        }
    }

    /// The `message-id` (also the ack id).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The headers given when it was published (and the history's `offset` and `epoch`).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The same message with `extra` headers after its own (the history's `offset` and
    /// `epoch`, added once, before any delivery encodes it).
    pub fn with_headers(self: Arc<Self>, extra: Vec<(String, String)>) -> Arc<Published> {
        let (id, destination, mut headers, body) = match Arc::try_unwrap(self) {
            Ok(p) => (p.id, p.destination, p.headers, p.body),
            Err(shared) => (
                shared.id.clone(),
                shared.destination.clone(),
                shared.headers.clone(),
                shared.body.clone(),
            ),
        };
        headers.retain(|(name, _)| !extra.iter().any(|(n, _)| n == name));
        headers.extend(extra);
        Arc::new(Published::new(id, destination, headers, body))
    }

    /// Bytes the message holds.
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    /// The MESSAGE frame for one delivery: `subscription` and (when acks are expected)
    /// `ack` per delivery, the rest shared.
    pub fn wire(&self, version: Version, subscription: &str, needs_ack: bool) -> Wire {
        let mut per = vec![(SUBSCRIPTION.to_owned(), subscription.to_owned())];
        if needs_ack && version == Version::V1_2 {
            per.push((ACK.to_owned(), self.id.clone()));
        }
        let mut head = BytesMut::with_capacity(64);
        head.put_slice(Command::Message.as_str().as_bytes());
        head.put_u8(LF);
        encode_headers(&mut head, &per, version, Command::Message);
        Wire {
            head: head.freeze(),
            tail: self.tail(version),
        }
    }

    fn tail(&self, version: Version) -> Bytes {
        let slot = match version {
            Version::V1_0 => &self.encoded[0],
            Version::V1_1 => &self.encoded[1],
            Version::V1_2 => &self.encoded[2],
        };
        slot.get_or_init(|| {
            let mut fixed = vec![
                (DESTINATION.to_owned(), self.destination.clone()),
                (MESSAGE_ID.to_owned(), self.id.clone()),
                (CONTENT_LENGTH.to_owned(), self.body.len().to_string()),
            ];
            fixed.extend(self.headers.iter().cloned());
            let mut out = BytesMut::with_capacity(self.size() + 128);
            encode_headers(&mut out, &fixed, version, Command::Message);
            out.put_u8(LF);
            out.put_slice(&self.body);
            out.put_u8(NUL);
            out.freeze()
        })
        .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stomp::decode::{Decoder, Limits};

    #[test]
    fn a_published_message_decodes_as_a_message_frame_per_subscriber() {
        let p = Published::new(
            "7".into(),
            "/topic/a".into(),
            vec![("content-type".into(), "text/plain".into())],
            Bytes::from_static(b"hi\0there"),
        );
        let one = p.wire(Version::V1_2, "s1", true);
        let two = p.wire(Version::V1_2, "s2", false);
        assert_eq!(one.tail.as_ptr(), two.tail.as_ptr(), "the tail is shared");
        let mut d = Decoder::new(Limits::default());
        d.push(&one.to_vec());
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.command, Command::Message);
        assert_eq!(f.get("subscription"), Some("s1"));
        assert_eq!(f.get("ack"), Some("7"));
        assert_eq!(f.get("message-id"), Some("7"));
        assert_eq!(f.get("destination"), Some("/topic/a"));
        assert_eq!(&f.body[..], b"hi\0there");
        d.push(&two.to_vec());
        assert_eq!(d.next_frame().unwrap().unwrap().get("ack"), None);
    }
}
