//! STOMP frames as values, and their encoding (STOMP 1.2 "STOMP Frames"; 1.1 and 1.0 where they
//! differ): commands, versions, header escaping per version, and the bytes of a frame.
//!
//! Owns: every byte the STOMP specification fixes on the way out. Must not: do I/O, read a
//! clock or know about sessions. Decoding lives in [`super::decode`].

use bytes::{BufMut, Bytes, BytesMut};

use super::headers::CONTENT_LENGTH;

/// Ends every frame (1.2 "STOMP Frames": "The body is then followed by the NULL octet").
pub const NUL: u8 = 0;
/// Ends command and header lines; a lone one between frames is a heart-beat (1.2 "Heart-beating").
pub const LF: u8 = b'\n';
/// May precede [`LF`] at the end of a line (1.2 "STOMP Frames": `EOL = [CR] LF`).
pub const CR: u8 = b'\r';
/// Separates a header's name from its value (1.2 "STOMP Frames").
pub const COLON: u8 = b':';
/// Starts an escape sequence in a header (1.2 "Value Encoding").
pub const BACKSLASH: u8 = b'\\';

/// A STOMP protocol version (1.2 "Protocol Negotiation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// STOMP 1.0: no header escaping, no NACK, no heart-beats.
    V1_0,
    /// STOMP 1.1: escapes `\n`, `:` and `\` in headers.
    V1_1,
    /// STOMP 1.2: also escapes `\r`; ACK/NACK by the MESSAGE's `ack` header.
    V1_2,
}

impl Version {
    /// Every supported version, oldest first.
    pub const ALL: [Version; 3] = [Version::V1_0, Version::V1_1, Version::V1_2];

    /// The version as it appears in `accept-version` and `version` headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// A version named in an `accept-version` list, if supported.
    pub fn parse(text: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.as_str() == text.trim())
    }

    /// The comma-separated list of supported versions (the ERROR `version` header).
    pub fn supported_list() -> &'static str {
        "1.0,1.1,1.2"
    }
}

macro_rules! commands {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// A frame's command line (1.2 "Client Frames" and "Server Frames").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Command {
            $(#[doc = $doc] $variant,)*
        }

        impl Command {
            /// Every command.
            pub const ALL: &'static [Command] = &[$(Command::$variant,)*];

            /// The command line's text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Command::$variant => $text,)*
                }
            }

            /// The command named by a command line (case-sensitive, as the spec's grammar).
            pub fn parse(line: &[u8]) -> Option<Command> {
                match line {
                    $(x if x == $text.as_bytes() => Some(Command::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

commands! {
    Connect => "CONNECT", "Client: open a STOMP session.";
    Stomp => "STOMP", "Client: open a STOMP session (1.1+ name for CONNECT).";
    Send => "SEND", "Client: send a message to a destination.";
    Subscribe => "SUBSCRIBE", "Client: subscribe to a destination.";
    Unsubscribe => "UNSUBSCRIBE", "Client: end a subscription.";
    Ack => "ACK", "Client: acknowledge a message.";
    Nack => "NACK", "Client: refuse a message (1.1+).";
    Begin => "BEGIN", "Client: start a transaction.";
    Commit => "COMMIT", "Client: commit a transaction.";
    Abort => "ABORT", "Client: roll a transaction back.";
    Disconnect => "DISCONNECT", "Client: end the session gracefully.";
    Connected => "CONNECTED", "Server: the session is open.";
    Message => "MESSAGE", "Server: a message for a subscription.";
    Receipt => "RECEIPT", "Server: a frame asking for a receipt was processed.";
    Error => "ERROR", "Server: something went wrong; the connection then closes.";
}

impl Command {
    /// Whether header names and values are escaped in this frame: never in CONNECT, STOMP
    /// and CONNECTED (1.2 "Value Encoding"), since the version is not yet agreed.
    pub fn escapes_headers(self) -> bool {
        !matches!(self, Command::Connect | Command::Stomp | Command::Connected)
    }
}

/// One STOMP frame: a command, ordered headers (repeats allowed; the first one wins, 1.2
/// "Repeated Header Entries") and a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The command.
    pub command: Command,
    /// Headers, unescaped, in wire order.
    pub headers: Vec<(String, String)>,
    /// The body (shared, never copied when fanned out).
    pub body: Bytes,
}

impl Frame {
    /// A frame with no headers and no body.
    pub fn new(command: Command) -> Self {
        Frame {
            command,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body and a matching `content-length` header.
    #[must_use]
    pub fn body(mut self, body: Bytes) -> Self {
        self.headers
            .push((CONTENT_LENGTH.to_owned(), body.len().to_string()));
        self.body = body;
        self
    }

    /// The first value of header `name` (1.2 "Repeated Header Entries").
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The frame's bytes in `version`'s escaping.
    pub fn encode(&self, version: Version) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len_hint());
        out.put_slice(self.command.as_str().as_bytes());
        out.put_u8(LF);
        encode_headers(&mut out, &self.headers, version, self.command);
        out.put_u8(LF);
        out.put_slice(&self.body);
        out.put_u8(NUL);
        out.freeze()
    }

    fn encoded_len_hint(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum();
        self.command.as_str().len() + headers + self.body.len() + 3
    }
}

/// Writes `name:value\n` for each header, escaped as `version` and `command` require.
pub fn encode_headers(
    out: &mut BytesMut,
    headers: &[(String, String)],
    version: Version,
    command: Command,
) {
    let mode = Escaping::of(version, command);
    for (name, value) in headers {
        escape_into(out, name, mode);
        out.put_u8(COLON);
        escape_into(out, value, mode);
        out.put_u8(LF);
    }
}

/// How header text is written for a version and command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// STOMP 1.0, CONNECT and CONNECTED: no escapes; CR and LF, which cannot be written,
    /// become spaces.
    Raw,
    /// STOMP 1.1: `\\`, `\n`, `\c` (1.1 "Value Encoding"); CR is written as a space.
    V1_1,
    /// STOMP 1.2: `\\`, `\n`, `\c`, `\r` (1.2 "Value Encoding").
    V1_2,
}

impl Escaping {
    /// The escaping of headers in `command` frames once `version` is agreed.
    pub fn of(version: Version, command: Command) -> Escaping {
        match version {
            _ if !command.escapes_headers() => Escaping::Raw,
            Version::V1_0 => Escaping::Raw,
            Version::V1_1 => Escaping::V1_1,
            Version::V1_2 => Escaping::V1_2,
        }
    }
}

fn escape_into(out: &mut BytesMut, text: &str, mode: Escaping) {
    for &b in text.as_bytes() {
        match (b, mode) {
            (CR | LF, Escaping::Raw) | (CR, Escaping::V1_1) => out.put_u8(b' '),
            (BACKSLASH, Escaping::V1_1 | Escaping::V1_2) => out.put_slice(b"\\\\"),
            (LF, _) => out.put_slice(b"\\n"),
            (COLON, Escaping::V1_1 | Escaping::V1_2) => out.put_slice(b"\\c"),
            (CR, Escaping::V1_2) => out.put_slice(b"\\r"),
            _ => out.put_u8(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_encodes_to_the_spec_layout() {
        let f = Frame::new(Command::Receipt).header("receipt-id", "77");
        assert_eq!(
            &f.encode(Version::V1_2)[..],
            b"RECEIPT\nreceipt-id:77\n\n\0"
        );
    }

    #[test]
    fn headers_are_escaped_per_version() {
        let f = Frame::new(Command::Message).header("a:b", "x\\y\nz\r");
        assert_eq!(
            &f.encode(Version::V1_2)[..],
            b"MESSAGE\na\\cb:x\\\\y\\nz\\r\n\n\0"
        );
        assert_eq!(
            &f.encode(Version::V1_1)[..],
            b"MESSAGE\na\\cb:x\\\\y\\nz \n\n\0"
        );
        assert_eq!(&f.encode(Version::V1_0)[..], b"MESSAGE\na:b:x\\y z \n\n\0");
    }

    #[test]
    fn connected_frames_are_never_escaped() {
        let f = Frame::new(Command::Connected).header("server", "a:b\\c");
        assert_eq!(
            &f.encode(Version::V1_2)[..],
            b"CONNECTED\nserver:a:b\\c\n\n\0"
        );
    }

    #[test]
    fn body_sets_content_length_and_keeps_nul_bytes() {
        let f = Frame::new(Command::Message).body(Bytes::from_static(b"a\0b"));
        assert_eq!(f.get("content-length"), Some("3"));
        assert_eq!(
            &f.encode(Version::V1_2)[..],
            b"MESSAGE\ncontent-length:3\n\na\0b\0"
        );
    }

    #[test]
    fn the_first_repeated_header_wins() {
        let f = Frame::new(Command::Send).header("x", "1").header("x", "2");
        assert_eq!(f.get("x"), Some("1"));
    }

    #[test]
    fn every_command_parses_back_from_its_text() {
        for &c in Command::ALL {
            assert_eq!(Command::parse(c.as_str().as_bytes()), Some(c));
        }
        assert_eq!(Command::parse(b"send"), None);
    }

    #[test]
    fn versions_parse_with_whitespace_and_refuse_unknown_ones() {
        assert_eq!(Version::parse(" 1.1"), Some(Version::V1_1));
        assert_eq!(Version::parse("2.0"), None);
    }
}
