//! The SockJS protocol 0.3.3 as pure code: frames, JSON quoting and decoding, per-transport
//! framing, the URL scheme and the fixed pages.
//!
//! Owns: every byte the protocol fixes. Must not: do I/O, read a clock or touch actix.
//! Everything here is unit- and property-tested and reusable outside the server.

pub mod decode;
pub mod frame;
pub mod framing;
pub mod pages;
pub mod quote;
pub mod route;

pub use decode::{DecodeError, decode_array, decode_websocket};
pub use frame::{CloseReason, Message};
pub use framing::Framing;
pub use route::{Route, TransportKind};
