//! SockJS frames (protocol 0.3.3, "Framing accepted by the client"): `o`, `h`, `a[...]` and
//! `c[code,"reason"]`, and the outgoing [`Message`] that is quoted once and shared.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use super::quote::{quote, quote_into};

/// The open frame, sent once when a session is established (`Protocol.test_simpleSession`).
pub const OPEN: Bytes = Bytes::from_static(b"o");
/// The heartbeat frame, sent every `heartbeat_delay` while a receiver is attached.
pub const HEARTBEAT: Bytes = Bytes::from_static(b"h");

/// A close code and reason, as carried by a `c[code,"reason"]` frame and a WebSocket close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// The close code.
    pub code: u16,
    /// The human-readable reason.
    pub reason: Cow<'static, str>,
}

impl CloseReason {
    /// The application's default close (sockjs-node `Session.close` defaults).
    pub const NORMAL: CloseReason = CloseReason::fixed(1000, "Normal closure");
    /// The server is going away (graceful shutdown); WebSocket code 1001 "going away".
    pub const SHUTDOWN: CloseReason = CloseReason::fixed(1001, "Server shutting down");
    /// A receiver was aborted mid-stream (`HandlingClose.test_abort_xhr_streaming`).
    pub const INTERRUPTED: CloseReason = CloseReason::fixed(1002, "Connection interrupted");
    /// An application handler failed (error or panic); WebSocket code 1011 "internal error".
    pub const INTERNAL_ERROR: CloseReason = CloseReason::fixed(1011, "Internal error");
    /// A second receiver while one is attached (`Protocol.test_simpleSession`); the session
    /// itself stays open.
    pub const ANOTHER_CONNECTION: CloseReason =
        CloseReason::fixed(2010, "Another connection still open");
    /// The demo `/close` service's close (`Protocol.test_closeSession`).
    pub const GO_AWAY: CloseReason = CloseReason::fixed(3000, "Go away!");
    /// A WebSocket peer sent something that is not SockJS framing (sockjs-node: 3000
    /// "Broken framing.").
    pub const BROKEN_FRAMING: CloseReason = CloseReason::fixed(3000, "Broken framing.");
    /// The session's outgoing queue passed `max_buffered_bytes` (a slow consumer). 4500 is
    /// Spring's `SESSION_NOT_RELIABLE`, the precedent for this outcome.
    pub const BUFFER_OVERFLOW: CloseReason = CloseReason::fixed(4500, "Send buffer overflow");

    /// A close reason with a static text.
    pub const fn fixed(code: u16, reason: &'static str) -> Self {
        CloseReason {
            code,
            reason: Cow::Borrowed(reason),
        }
    }

    /// A close reason with any text.
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }

    /// The `c[code,"reason"]` frame.
    pub fn frame(&self) -> Bytes {
        Bytes::from(format!("c[{},{}]", self.code, quote(&self.reason)))
    }
}

/// One outgoing message as its one-message `a[...]` frame (whose middle is the SockJS-quoted
/// text), built once and shared by every session it is sent to (cheap to clone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    frame: Bytes,
    quoted: Bytes,
}

impl Message {
    /// Quotes `text` once.
    pub fn new(text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let mut frame = String::with_capacity(text.len() + 4);
        frame.push_str("a[");
        quote_into(&mut frame, text);
        frame.push(']');
        let frame = Bytes::from(frame);
        let quoted = frame.slice(2..frame.len() - 1);
        Message { frame, quoted }
    }

    /// The `a[...]` frame of this message alone.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// The text as the application sent it (what raw WebSocket receivers get), decoded
    /// from the quoted form: only raw WebSocket needs it, so it is not kept twice.
    pub fn text(&self) -> String {
        // The quoted form is JSON this type wrote, so decoding it cannot fail.
        serde_json::from_slice(&self.quoted).unwrap_or_default()
    }

    /// The quoted JSON string.
    pub fn quoted(&self) -> &Bytes {
        &self.quoted
    }

    /// Bytes this message holds while queued.
    pub fn cost(&self) -> usize {
        self.frame.len()
    }
}

/// The `a[...]` frame for a batch of messages, in order.
pub fn messages_frame<'a>(messages: impl IntoIterator<Item = &'a Message> + Clone) -> Bytes {
    let mut iter = messages.clone().into_iter();
    if let (Some(only), None) = (iter.next(), iter.next()) {
        return only.frame.clone();
    }
    let len: usize = messages
        .clone()
        .into_iter()
        .map(|m| m.quoted.len() + 1)
        .sum();
    let mut out = BytesMut::with_capacity(len + 3);
    out.put_slice(b"a[");
    for (i, m) in messages.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&m.quoted);
    }
    out.put_u8(b']');
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn close_frame_matches_the_protocol_text() {
        assert_eq!(&CloseReason::GO_AWAY.frame()[..], br#"c[3000,"Go away!"]"#);
        assert_eq!(
            &CloseReason::ANOTHER_CONNECTION.frame()[..],
            br#"c[2010,"Another connection still open"]"#
        );
    }

    #[test]
    fn messages_are_joined_into_one_array_frame() {
        let batch = [Message::new("a"), Message::new("b\"c")];
        assert_eq!(&messages_frame(&batch)[..], br#"a["a","b\"c"]"#);
    }

    #[test]
    fn an_empty_batch_is_an_empty_array() {
        let batch: [Message; 0] = [];
        assert_eq!(&messages_frame(&batch)[..], b"a[]");
    }

    proptest! {
        #[test]
        fn an_array_frame_decodes_back_to_its_messages(texts in proptest::collection::vec(any::<String>(), 0..8)) {
            let batch: Vec<Message> = texts.iter().map(|t| Message::new(t.clone())).collect();
            let frame = messages_frame(&batch);
            prop_assert_eq!(frame[0], b'a');
            let back: Vec<String> = serde_json::from_slice(&frame[1..]).unwrap();
            prop_assert_eq!(back, texts);
        }

        #[test]
        fn a_close_frame_decodes_back_to_code_and_reason(code in any::<u16>(), reason in any::<String>()) {
            let frame = CloseReason::new(code, reason.clone()).frame();
            let (c, r): (u16, String) = serde_json::from_slice(&frame[1..]).unwrap();
            prop_assert_eq!((c, r), (code, reason));
        }
    }
}
