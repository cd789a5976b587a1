//! Sessions: the pure state machine, the actor that owns one session, the per-mount registry
//! and the receiver plumbing between a session and a transport.

pub mod actor;
pub mod handler;
pub mod headers;
pub mod receiver;
pub mod registry;
pub mod state;

pub use actor::{SessionActor, SessionHandle};
pub use handler::{Handler, HandlerFactory};
pub use headers::RequestHeaders;
pub use receiver::{Receiver, ReceiverItem};
pub use registry::Registry;
pub use state::{CloseCause, Mode, Phase, Timing};
