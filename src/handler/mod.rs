//! Application handlers: the [`Handler`] seam (defined with the session, re-exported here)
//! and the shipped text handlers in [`text`] (echo, close at once, broadcast).

pub mod text;

pub use crate::session::handler::{Handler, HandlerFactory};
