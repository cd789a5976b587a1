//! STOMP 1.2 on the client side, carried by a SockJS websocket session: frames written as
//! text (each one SockJS message), frames read back out of SockJS messages (a message may
//! hold several frames, or part of one), and a client that connects, subscribes with a
//! receipt and sends.
//!
//! Owns: the STOMP framing the load generator needs. Must not: time anything or keep
//! statistics (scenarios do).

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::client::{Session, Transport};
use crate::error::{Error, Result};

/// The only version we ask for (STOMP 1.2, `accept-version`).
const VERSION: &str = "1.2";
/// No STOMP heart-beats either way: a subscriber that only reads needs none, and through the
/// relay the client and the broker agree them (`heart-beat`, STOMP 1.2 "Heart-beating").
const HEART_BEAT: &str = "0,0";
/// The virtual host of CONNECT (the relay replaces it with its own `--relay-vhost`).
const HOST: &str = "/";

/// A frame as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// `MESSAGE`, `RECEIPT`, `ERROR`, `CONNECTED`.
    pub command: String,
    /// The headers, in order (values not unescaped: the load generator only reads simple ones).
    pub headers: Vec<(String, String)>,
    /// The body (UTF-8, as SockJS carries text).
    pub body: String,
}

impl Frame {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// An `ERROR` frame as an error (its `message` header, else its body).
    fn into_error(self) -> Error {
        let message = self.header("message").unwrap_or(&self.body).to_owned();
        Error::Protocol(format!("STOMP ERROR: {message}"))
    }
}

/// One frame as text: `COMMAND`, `name:value` lines, a blank line, the body and a NUL.
/// Header values are written as given: callers pass plain names without `:`, CR or LF.
pub fn encode(command: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = String::with_capacity(command.len() + body.len() + 64);
    text.push_str(command);
    text.push('\n');
    for (name, value) in headers {
        text.push_str(name);
        text.push(':');
        text.push_str(value);
        text.push('\n');
    }
    text.push('\n');
    text.push_str(body);
    text.push('\0');
    text
}

/// Reassembles frames from the text of successive SockJS messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Appends the text of one SockJS message.
    pub fn push(&mut self, text: &str) {
        self.buf.extend_from_slice(text.as_bytes());
    }

    /// The next complete frame, if the buffer holds one. Heart-beat EOLs between frames are
    /// skipped; a `content-length` header is honoured (its body may hold NULs).
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        let start = self
            .buf
            .iter()
            .position(|&b| b != b'\n' && b != b'\r')
            .unwrap_or(self.buf.len());
        self.buf.drain(..start);
        let Some(head_len) = find(&self.buf, b"\n\n") else {
            return Ok(None);
        };
        let head = std::str::from_utf8(&self.buf[..head_len])
            .map_err(|_| Error::Protocol("non-UTF-8 STOMP head".into()))?;
        let mut lines = head.lines();
        let command = lines.next().unwrap_or_default().trim_end().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.trim_end_matches('\r').split_once(':'))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let body_start = head_len + 2;
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let body_end = match length {
            Some(n) if self.buf.len() > body_start + n => body_start + n,
            Some(_) => return Ok(None),
            None => match self.buf[body_start..].iter().position(|&b| b == 0) {
                Some(n) => body_start + n,
                None => return Ok(None),
            },
        };
        if self.buf.get(body_end) != Some(&0) {
            return Err(Error::Protocol("STOMP frame without its NUL".into()));
        }
        let body = String::from_utf8(self.buf[body_start..body_end].to_vec())
            .map_err(|_| Error::Protocol("non-UTF-8 STOMP body".into()))?;
        self.buf.drain(..=body_end);
        Ok(Some(Frame {
            command,
            headers,
            body,
        }))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A STOMP client on a SockJS websocket session.
#[derive(Debug)]
pub struct Client {
    session: Session,
    decoder: Decoder,
    frames: VecDeque<Frame>,
    receipts: u64,
}

impl Client {
    /// Opens a websocket session at `prefix` on `addr`, sends CONNECT and waits for
    /// CONNECTED (an ERROR is an error).
    pub async fn connect(addr: SocketAddr, prefix: &str) -> Result<Client> {
        let session = Session::open(addr, prefix, Transport::Websocket).await?;
        let mut client = Client {
            session,
            decoder: Decoder::default(),
            frames: VecDeque::new(),
            receipts: 0,
        };
        let connect = encode(
            "CONNECT",
            &[
                ("accept-version", VERSION),
                ("host", HOST),
                ("heart-beat", HEART_BEAT),
            ],
            "",
        );
        client.session.send(&[&connect]).await?;
        let frame = client.next_frame().await?;
        match frame.command.as_str() {
            "CONNECTED" => Ok(client),
            "ERROR" => Err(frame.into_error()),
            other => Err(Error::Protocol(format!("expected CONNECTED, got {other}"))),
        }
    }

    /// Sends one frame.
    pub async fn send_frame(&mut self, text: &str) -> Result<()> {
        self.session.send(&[text]).await
    }

    /// SUBSCRIBEs `id` to `destination` (ack auto) and waits for the receipt, so that the
    /// broker holds the subscription when this returns.
    pub async fn subscribe(&mut self, id: &str, destination: &str) -> Result<()> {
        let receipt = self.next_receipt();
        let frame = encode(
            "SUBSCRIBE",
            &[
                ("id", id),
                ("destination", destination),
                ("receipt", &receipt),
            ],
            "",
        );
        self.send_frame(&frame).await?;
        self.await_receipt(&receipt).await
    }

    /// DISCONNECTs with a receipt and waits for it: every frame sent before has been
    /// taken by the server (and, through the relay, by the broker).
    pub async fn disconnect(mut self) -> Result<()> {
        let receipt = self.next_receipt();
        let frame = encode("DISCONNECT", &[("receipt", &receipt)], "");
        self.send_frame(&frame).await?;
        self.await_receipt(&receipt).await?;
        self.session.close().await
    }

    /// The next frame from the server; SockJS heartbeats are skipped, a close frame is an
    /// error.
    pub async fn next_frame(&mut self) -> Result<Frame> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Ok(frame);
            }
            for text in self.session.recv_messages().await? {
                self.decoder.push(&text);
                while let Some(frame) = self.decoder.next_frame()? {
                    self.frames.push_back(frame);
                }
            }
        }
    }

    /// The bodies of the next MESSAGE frames (at least one); RECEIPTs are skipped, an ERROR
    /// is an error.
    pub async fn next_bodies(&mut self) -> Result<Vec<String>> {
        let mut bodies = Vec::new();
        while bodies.is_empty() || !self.frames.is_empty() {
            let frame = self.next_frame().await?;
            match frame.command.as_str() {
                "MESSAGE" => bodies.push(frame.body),
                "ERROR" => return Err(frame.into_error()),
                _ => {}
            }
        }
        Ok(bodies)
    }

    fn next_receipt(&mut self) -> String {
        self.receipts += 1;
        format!("r{}", self.receipts)
    }

    /// Reads frames until the RECEIPT for `receipt` (MESSAGEs before it are dropped).
    async fn await_receipt(&mut self, receipt: &str) -> Result<()> {
        loop {
            let frame = self.next_frame().await?;
            match frame.command.as_str() {
                "RECEIPT" if frame.header("receipt-id") == Some(receipt) => return Ok(()),
                "ERROR" => return Err(frame.into_error()),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(pieces: &[&str]) -> Vec<Frame> {
        let mut decoder = Decoder::default();
        let mut frames = Vec::new();
        for piece in pieces {
            decoder.push(piece);
            while let Some(f) = decoder.next_frame().expect("valid frames") {
                frames.push(f);
            }
        }
        frames
    }

    #[test]
    fn an_encoded_frame_decodes_to_itself() {
        let text = encode("MESSAGE", &[("destination", "/topic/bench")], "0001 hello");
        assert_eq!(text, "MESSAGE\ndestination:/topic/bench\n\n0001 hello\0");
        let frames = decode_all(&[&text]);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].command, "MESSAGE");
        assert_eq!(frames[0].header("destination"), Some("/topic/bench"));
        assert_eq!(frames[0].body, "0001 hello");
    }

    #[test]
    fn frames_split_across_messages_and_joined_in_one_are_both_read() {
        let a = encode("RECEIPT", &[("receipt-id", "r1")], "");
        let b = encode("MESSAGE", &[("content-length", "3")], "a\0b");
        let joined = format!("\n{a}\n{b}");
        let (left, right) = joined.split_at(joined.len() / 2);
        let frames = decode_all(&[left, right]);
        assert_eq!(
            frames
                .iter()
                .map(|f| f.command.as_str())
                .collect::<Vec<_>>(),
            ["RECEIPT", "MESSAGE"]
        );
        assert_eq!(frames[1].body, "a\0b");
    }

    #[test]
    fn an_incomplete_frame_waits_for_the_rest() {
        let mut decoder = Decoder::default();
        decoder.push("MESSAGE\ncontent-length:5\n\nab");
        assert_eq!(decoder.next_frame().expect("no error"), None);
        decoder.push("cde\0");
        let frame = decoder.next_frame().expect("no error").expect("a frame");
        assert_eq!(frame.body, "abcde");
    }

    #[test]
    fn a_body_longer_than_its_content_length_is_an_error() {
        let mut decoder = Decoder::default();
        decoder.push("MESSAGE\ncontent-length:1\n\nab\0");
        assert!(decoder.next_frame().is_err());
    }

    #[test]
    fn an_error_frame_reads_as_its_message_header() {
        let frame = decode_all(&["ERROR\nmessage:Invalid destination\n\n\0"]).remove(0);
        let error = frame.into_error().to_string();
        assert!(error.contains("Invalid destination"), "{error}");
    }
}
