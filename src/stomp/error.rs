//! The STOMP layer's error: every reason a connection ends with an ERROR frame, and the one
//! table turning it into that frame (1.2 "ERROR": a `message` header, the offending frame's
//! `receipt-id`, a plain-text body; the server then closes the connection). An `/app`
//! handler's error ([`StompError::App`], [`StompError::NoHandler`]) is the exception when
//! `StompConfig::error_destination` is set: the same `message` and body then go as a MESSAGE
//! to the sender's own error queue, and the connection stays open.
//!
//! Owns: [`StompError`] and its ERROR frame. Must not: send the frame or close anything (the
//! connection and the transports do), or put a line break in the `message` header.

use bytes::Bytes;

use super::auth::AuthError;
use super::broker::BrokerError;
use super::command::CommandError;
use super::decode::FrameError;
use super::destination::DestinationError;
use super::frame::{Command, Frame, Version};
use super::headers::{CONTENT_TYPE, MESSAGE, RECEIPT_ID, VERSION};

/// Why a STOMP connection is being closed with an ERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StompError {
    /// Bytes that are not a frame.
    #[error("malformed frame: {0}")]
    Frame(#[from] FrameError),
    /// A frame that is not a valid client command.
    #[error("{0}")]
    Command(#[from] CommandError),
    /// No version in `accept-version` is supported.
    #[error("Supported protocol versions are 1.0,1.1,1.2")]
    Version,
    /// A frame other than CONNECT before CONNECT.
    #[error("not connected: the first frame must be CONNECT or STOMP")]
    NotConnected,
    /// A second CONNECT.
    #[error("already connected")]
    AlreadyConnected,
    /// CONNECT was refused.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// SUBSCRIBE or SEND to a destination the authorizer refused.
    #[error("access to {0:?} denied")]
    Forbidden(String),
    /// A destination that cannot be used that way.
    #[error("{0}")]
    Destination(#[from] DestinationError),
    /// The in-memory broker refused (a duplicate or unknown subscription id, too many).
    #[error("{0}")]
    Broker(#[from] BrokerError),
    /// No application handler for an `/app` destination.
    #[error("no handler for {0:?}")]
    NoHandler(String),
    /// An application handler failed.
    #[error("application error: {0}")]
    App(String),
    /// A transaction that is not open.
    #[error("unknown transaction {0:?}")]
    UnknownTransaction(String),
    /// BEGIN of a transaction already open.
    #[error("transaction {0:?} already begun")]
    DuplicateTransaction(String),
    /// More than `max_transactions` open, or more than `max_transaction_frames` in one.
    #[error("transaction limit of {0} passed")]
    TransactionLimit(usize),
    /// The client sent no CONNECT in time.
    #[error("no CONNECT within the connect timeout")]
    ConnectTimeout,
    /// The client reads too slowly: its outgoing buffer passed `max_buffered_bytes`.
    #[error("slow consumer: more than {0} bytes waiting to be sent")]
    SlowConsumer(usize),
    /// A SockJS session's backlog passed the mount's `max_buffered_bytes`.
    #[error("slow consumer: the session's backlog passed max_buffered_bytes")]
    Overflow,
    /// The server is shutting down.
    #[error("server shutting down")]
    ShuttingDown,
    /// The broker relay failed (broker gone, slow or refusing).
    #[error("{0}")]
    Relay(super::relay::RelayError),
    /// The client stopped heart-beating.
    #[error("heart-beat timed out")]
    HeartBeatTimeout,
    /// An inbound [`Interceptor`](super::Interceptor) rejected a frame, with this text.
    #[error("{0}")]
    Rejected(String),
}

impl StompError {
    /// A short `message` header: the first words of the error, never a newline.
    pub(crate) fn short(&self) -> String {
        match self {
            StompError::Frame(_) => "malformed frame".to_owned(),
            other => other.to_string().replace(['\r', '\n'], " "),
        }
    }

    /// The ERROR frame for this error, naming the offending frame's receipt if it had one.
    pub fn frame(&self, receipt: Option<&str>) -> Frame {
        let mut frame = Frame::new(Command::Error).header(MESSAGE, self.short());
        if let Some(receipt) = receipt {
            frame = frame.header(RECEIPT_ID, receipt);
        }
        if *self == StompError::Version {
            frame = frame.header(VERSION, Version::supported_list());
        }
        frame
            .header(CONTENT_TYPE, "text/plain")
            .body(Bytes::from(self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frames_carry_message_receipt_id_and_a_body() {
        let f = StompError::NotConnected.frame(Some("r7"));
        assert_eq!(f.command, Command::Error);
        assert!(
            f.get(MESSAGE)
                .is_some_and(|m| m.starts_with("not connected"))
        );
        assert_eq!(f.get(RECEIPT_ID), Some("r7"));
        assert!(!f.body.is_empty());
        let v = StompError::Version.frame(None);
        assert_eq!(v.get(VERSION), Some("1.0,1.1,1.2"));
        assert_eq!(v.get(RECEIPT_ID), None);
    }
}
