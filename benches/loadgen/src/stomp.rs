//! STOMP 1.2 on the client side, carried by a SockJS websocket session: a client that
//! connects, subscribes with a receipt and sends. Frames are the server's own
//! (`sockjs_server::stomp`: `Frame`, its encoder, and the `Decoder` that reassembles frames
//! from the text of successive SockJS messages).
//!
//! Owns: the client's side of the exchange. Must not: time anything or keep statistics
//! (scenarios do).

use std::collections::VecDeque;
use std::net::SocketAddr;

use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::frame::{Command, Frame, Version};

use crate::client::{Session, Transport};
use crate::error::{Error, Result};

/// The only version we ask for (STOMP 1.2, `accept-version`).
const VERSION: &str = "1.2";
/// No STOMP heart-beats either way: a subscriber that only reads needs none, and through the
/// relay the client and the broker agree them (`heart-beat`, STOMP 1.2 "Heart-beating").
const HEART_BEAT: &str = "0,0";
/// The virtual host of CONNECT (the relay replaces it with its own `--relay-vhost`).
const HOST: &str = "/";

/// An `ERROR` frame as an error (its `message` header, else its body).
fn error_of(frame: &Frame) -> Error {
    let message = match frame.get("message") {
        Some(m) => m.to_owned(),
        None => String::from_utf8_lossy(&frame.body).into_owned(),
    };
    Error::Protocol(format!("STOMP ERROR: {message}"))
}

/// A frame as the text of one SockJS message (the server's encoder, STOMP 1.2 escaping).
pub fn encode(frame: &Frame) -> Result<String> {
    String::from_utf8(frame.encode(Version::V1_2).to_vec())
        .map_err(|_| Error::Protocol("a STOMP frame that is not UTF-8".into()))
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
            decoder: Decoder::new(Limits::default()),
            frames: VecDeque::new(),
            receipts: 0,
        };
        let connect = Frame::new(Command::Connect)
            .header("accept-version", VERSION)
            .header("host", HOST)
            .header("heart-beat", HEART_BEAT);
        client.send_frame(&connect).await?;
        let frame = client.next_frame().await?;
        match frame.command {
            Command::Connected => Ok(client),
            Command::Error => Err(error_of(&frame)),
            other => Err(Error::Protocol(format!(
                "expected CONNECTED, got {}",
                other.as_str()
            ))),
        }
    }

    /// Sends one frame.
    pub async fn send_frame(&mut self, frame: &Frame) -> Result<()> {
        self.session.send(&[&encode(frame)?]).await
    }

    /// SUBSCRIBEs `id` to `destination` (ack auto) and waits for the receipt, so that the
    /// broker holds the subscription when this returns.
    pub async fn subscribe(&mut self, id: &str, destination: &str) -> Result<()> {
        let receipt = self.next_receipt();
        let frame = Frame::new(Command::Subscribe)
            .header("id", id)
            .header("destination", destination)
            .header("receipt", &receipt);
        self.send_frame(&frame).await?;
        self.await_receipt(&receipt).await
    }

    /// DISCONNECTs with a receipt and waits for it: every frame sent before has been
    /// taken by the server (and, through the relay, by the broker).
    pub async fn disconnect(mut self) -> Result<()> {
        let receipt = self.next_receipt();
        let frame = Frame::new(Command::Disconnect).header("receipt", &receipt);
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
                self.decoder.push(text.as_bytes());
                while let Some(frame) = self
                    .decoder
                    .next_frame()
                    .map_err(|e| Error::Protocol(format!("STOMP: {e}")))?
                {
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
            match frame.command {
                Command::Message => bodies.push(
                    String::from_utf8(frame.body.to_vec())
                        .map_err(|_| Error::Protocol("a MESSAGE body that is not UTF-8".into()))?,
                ),
                Command::Error => return Err(error_of(&frame)),
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
            match frame.command {
                Command::Receipt if frame.get("receipt-id") == Some(receipt) => return Ok(()),
                Command::Error => return Err(error_of(&frame)),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_goes_out_as_the_text_of_one_sockjs_message() {
        let send = Frame::new(Command::Send).header("destination", "/topic/bench");
        assert_eq!(
            encode(&send).unwrap(),
            "SEND\ndestination:/topic/bench\n\n\0"
        );
    }

    #[test]
    fn an_error_frame_reads_as_its_message_header_else_its_body() {
        let header = Frame::new(Command::Error).header("message", "Invalid destination");
        assert!(
            error_of(&header)
                .to_string()
                .contains("Invalid destination")
        );
        let body = Frame::new(Command::Error).body("slow consumer".into());
        assert!(error_of(&body).to_string().contains("slow consumer"));
    }
}
