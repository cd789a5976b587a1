//! Typed client commands made from frames (1.2 "Client Frames"): the required headers are
//! checked here, once, so the connection state machine only sees well-formed requests.
//!
//! Owns: which headers each client frame needs and what they mean. Must not: do I/O, keep
//! state or decide policy (authorization, limits).

use bytes::Bytes;

use super::frame::{Command, Frame, Version};
use super::headers::{
    ACCEPT_VERSION, ACK, CONTENT_LENGTH, DESTINATION, HEART_BEAT, ID, MESSAGE_ID, RECEIPT,
    RECOVER_EPOCH, RECOVER_OFFSET, SUBSCRIPTION, TRANSACTION,
};
use super::heartbeat::{self, HeartBeatError};

/// Why a well-formed frame is not a valid client command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A required header is absent.
    #[error("missing required header '{0}'")]
    MissingHeader(&'static str),
    /// A header's value is not one the spec allows.
    #[error("invalid '{0}' header")]
    BadHeader(&'static str),
    /// A heart-beat header is malformed.
    #[error(transparent)]
    HeartBeat(#[from] HeartBeatError),
    /// A server frame (CONNECTED, MESSAGE, RECEIPT, ERROR) came from the client.
    #[error("{0} is a server frame")]
    ServerFrame(&'static str),
    /// NACK in STOMP 1.0, which has none.
    #[error("NACK is not part of STOMP 1.0")]
    NackIn10,
}

/// How a subscription's messages are acknowledged (1.2 "SUBSCRIBE ack Header").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// Acknowledged on delivery.
    #[default]
    Auto,
    /// An ACK acknowledges the message and every earlier one of the subscription.
    Client,
    /// An ACK acknowledges that message only.
    ClientIndividual,
}

/// A CONNECT or STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Versions the client accepts (`[1.0]` when the header is absent).
    pub accept: Vec<Version>,
    /// `(cx, cy)` in milliseconds: what the client can send and wants to receive.
    pub heart_beat: (u64, u64),
    /// Every header, for authenticators that read tokens.
    pub headers: Vec<(String, String)>,
}

/// A SEND frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// The destination.
    pub destination: String,
    /// The transaction, if any.
    pub transaction: Option<String>,
    /// Headers passed on to MESSAGE frames (all but the reserved ones).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

/// A SUBSCRIBE frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The destination.
    pub destination: String,
    /// The subscription id (1.0 without `id`: the destination).
    pub id: String,
    /// The ack mode.
    pub ack: AckMode,
    /// What the client last saw of the destination's history (`recover-offset` and
    /// `recover-epoch`), asking for what it missed.
    pub recover: Option<Recover>,
}

/// A SUBSCRIBE's request to recover missed messages: the offset and epoch of the last
/// MESSAGE the client processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recover {
    /// The last offset seen.
    pub offset: u64,
    /// The epoch it belongs to.
    pub epoch: String,
}

/// An ACK or NACK frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The acknowledged message's ack id (its `message-id`).
    pub id: String,
    /// The transaction, if any.
    pub transaction: Option<String>,
}

/// A client command with its receipt request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `receipt` header, if any.
    pub receipt: Option<String>,
    /// The command.
    pub command: ClientCommand,
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// CONNECT or STOMP.
    Connect(Connect),
    /// SEND.
    Send(Send),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// UNSUBSCRIBE by subscription id.
    Unsubscribe(String),
    /// ACK.
    Ack(Ack),
    /// NACK.
    Nack(Ack),
    /// BEGIN a transaction.
    Begin(String),
    /// COMMIT a transaction.
    Commit(String),
    /// ABORT a transaction.
    Abort(String),
    /// DISCONNECT.
    Disconnect,
}

/// Headers a SEND may not pass on to MESSAGE frames: the server sets them.
const RESERVED: &[&str] = &[
    DESTINATION,
    TRANSACTION,
    RECEIPT,
    CONTENT_LENGTH,
    MESSAGE_ID,
    SUBSCRIPTION,
    ACK,
];

/// The typed command in `frame`, read as `version` says.
///
/// # Errors
/// A [`CommandError`] for missing or invalid headers and for server frames.
pub fn parse(frame: Frame, version: Version) -> Result<Request, CommandError> {
    let receipt = frame.get(RECEIPT).map(str::to_owned);
    let required = |name: &'static str| {
        frame
            .get(name)
            .map(str::to_owned)
            .ok_or(CommandError::MissingHeader(name))
    };
    let optional = |name: &str| frame.get(name).map(str::to_owned);
    let command = match frame.command {
        Command::Connect | Command::Stomp => ClientCommand::Connect(connect(&frame)?),
        Command::Send => ClientCommand::Send(Send {
            destination: required(DESTINATION)?,
            transaction: optional(TRANSACTION),
            headers: passed_on(&frame.headers),
            body: frame.body.clone(),
        }),
        Command::Subscribe => ClientCommand::Subscribe(subscribe(&frame, version)?),
        Command::Unsubscribe => ClientCommand::Unsubscribe(match version {
            Version::V1_0 => required(ID).or_else(|_| required(DESTINATION))?,
            _ => required(ID)?,
        }),
        Command::Ack | Command::Nack => {
            let ack = Ack {
                id: required(ID).or_else(|_| required(MESSAGE_ID))?,
                transaction: optional(TRANSACTION),
            };
            match (frame.command, version) {
                (Command::Ack, _) => ClientCommand::Ack(ack),
                (_, Version::V1_0) => return Err(CommandError::NackIn10),
                _ => ClientCommand::Nack(ack),
            }
        }
        Command::Begin => ClientCommand::Begin(required(TRANSACTION)?),
        Command::Commit => ClientCommand::Commit(required(TRANSACTION)?),
        Command::Abort => ClientCommand::Abort(required(TRANSACTION)?),
        Command::Disconnect => ClientCommand::Disconnect,
        other @ (Command::Connected | Command::Message | Command::Receipt | Command::Error) => {
            return Err(CommandError::ServerFrame(other.as_str()));
        }
    };
    Ok(Request { receipt, command })
}

fn connect(frame: &Frame) -> Result<Connect, CommandError> {
    let accept = match frame.get(ACCEPT_VERSION) {
        None => vec![Version::V1_0],
        Some(list) => list.split(',').filter_map(Version::parse).collect(),
    };
    let heart_beat = match frame.get(HEART_BEAT) {
        None => (0, 0),
        Some(value) => heartbeat::parse(value)?,
    };
    Ok(Connect {
        accept,
        heart_beat,
        headers: frame.headers.clone(),
    })
}

fn subscribe(frame: &Frame, version: Version) -> Result<Subscribe, CommandError> {
    let destination = frame
        .get(DESTINATION)
        .ok_or(CommandError::MissingHeader(DESTINATION))?;
    let id = match (frame.get(ID), version) {
        (Some(id), _) => id,
        (None, Version::V1_0) => destination,
        (None, _) => return Err(CommandError::MissingHeader(ID)),
    };
    let ack = match frame.get(ACK) {
        None | Some("auto") => AckMode::Auto,
        Some("client") => AckMode::Client,
        Some("client-individual") => AckMode::ClientIndividual,
        Some(_) => return Err(CommandError::BadHeader(ACK)),
    };
    let recover = match (frame.get(RECOVER_OFFSET), frame.get(RECOVER_EPOCH)) {
        (None, None) => None,
        (Some(offset), Some(epoch)) => Some(Recover {
            offset: offset
                .parse()
                .map_err(|_| CommandError::BadHeader(RECOVER_OFFSET))?,
            epoch: epoch.to_owned(),
        }),
        (None, Some(_)) => return Err(CommandError::MissingHeader(RECOVER_OFFSET)),
        (Some(_), None) => return Err(CommandError::MissingHeader(RECOVER_EPOCH)),
    };
    Ok(Subscribe {
        destination: destination.to_owned(),
        id: id.to_owned(),
        ack,
        recover,
    })
}

fn passed_on(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        if !RESERVED.contains(&name.as_str()) && !out.iter().any(|(n, _)| n == name) {
            out.push((name.clone(), value.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
        let mut f = Frame::new(command);
        for (n, v) in headers {
            f = f.header(*n, *v);
        }
        f
    }

    #[test]
    fn connect_without_accept_version_means_1_0_and_no_heart_beats() {
        let r = parse(frame(Command::Connect, &[]), Version::V1_2).unwrap();
        let ClientCommand::Connect(c) = r.command else {
            panic!("not a connect")
        };
        assert_eq!((c.accept, c.heart_beat), (vec![Version::V1_0], (0, 0)));
    }

    #[test]
    fn send_needs_a_destination_and_drops_reserved_headers() {
        let err = parse(frame(Command::Send, &[]), Version::V1_2).unwrap_err();
        assert_eq!(err, CommandError::MissingHeader(DESTINATION));
        let f = frame(
            Command::Send,
            &[
                ("destination", "/q"),
                ("message-id", "9"),
                ("x", "1"),
                ("x", "2"),
            ],
        );
        let ClientCommand::Send(s) = parse(f, Version::V1_2).unwrap().command else {
            panic!("not a send")
        };
        assert_eq!(s.headers, vec![("x".to_owned(), "1".to_owned())]);
    }

    #[test]
    fn subscribe_needs_an_id_from_1_1_on() {
        let f = frame(Command::Subscribe, &[("destination", "/topic/a")]);
        assert_eq!(
            parse(f.clone(), Version::V1_1).unwrap_err(),
            CommandError::MissingHeader(ID)
        );
        let ClientCommand::Subscribe(s) = parse(f, Version::V1_0).unwrap().command else {
            panic!("not a subscribe")
        };
        assert_eq!(s.id, "/topic/a");
    }

    #[test]
    fn ack_modes_and_ack_ids_are_read_for_every_version() {
        let f = frame(
            Command::Subscribe,
            &[
                ("destination", "/q"),
                ("id", "1"),
                ("ack", "client-individual"),
            ],
        );
        let ClientCommand::Subscribe(s) = parse(f, Version::V1_2).unwrap().command else {
            panic!("not a subscribe")
        };
        assert_eq!(s.ack, AckMode::ClientIndividual);
        let bad = frame(
            Command::Subscribe,
            &[("destination", "/q"), ("id", "1"), ("ack", "x")],
        );
        assert_eq!(
            parse(bad, Version::V1_2).unwrap_err(),
            CommandError::BadHeader(ACK)
        );
        let ack = frame(Command::Ack, &[("message-id", "7"), ("subscription", "1")]);
        let ClientCommand::Ack(a) = parse(ack, Version::V1_1).unwrap().command else {
            panic!("not an ack")
        };
        assert_eq!(a.id, "7");
        let nack = frame(Command::Nack, &[("message-id", "7")]);
        assert_eq!(
            parse(nack, Version::V1_0).unwrap_err(),
            CommandError::NackIn10
        );
    }

    #[test]
    fn server_frames_from_a_client_are_refused_and_receipts_kept() {
        let f = frame(Command::Message, &[]);
        assert_eq!(
            parse(f, Version::V1_2).unwrap_err(),
            CommandError::ServerFrame("MESSAGE")
        );
        let r = parse(
            frame(Command::Disconnect, &[("receipt", "r1")]),
            Version::V1_2,
        )
        .unwrap();
        assert_eq!(r.receipt.as_deref(), Some("r1"));
    }
}
