//! The SockJS protocol 0.3.3 as pure code: frames, JSON quoting and decoding, per-transport
//! framing, the URL scheme and the fixed pages.
//!
//! Owns: every byte the protocol fixes. Must not: do I/O, read a clock or touch actix.
//! Everything here is unit- and property-tested and reusable outside the server.

pub(crate) mod decode;
pub(crate) mod frame;
pub(crate) mod framing;
pub(crate) mod pages;
pub(crate) mod quote;
pub(crate) mod route;

pub use decode::{DecodeError, decode_array, decode_websocket};
pub use frame::{CloseReason, Message, messages_frame};
pub use framing::Framing;
pub use quote::{quote, quote_into};
pub(crate) use route::Route;
pub use route::TransportKind;
