//! Sessions: the pure state machine, the actor that owns one session, the handle everyone
//! else holds, the per-mount registry and the receiver pipe between a session and a transport.
//!
//! Outside `session/`, a session is reached only through [`SessionHandle`] (its public
//! methods for applications, its crate-private ones for transports) and started with
//! `session::start`.

pub(crate) mod actor;
pub(crate) mod binding;
pub(crate) mod handle;
pub mod handler;
pub mod headers;
pub(crate) mod receiver;
pub(crate) mod registry;
pub(crate) mod state;

pub(crate) use actor::NewSession;
pub(crate) use binding::Binding;
pub use handle::SessionHandle;
pub use handler::{Handler, HandlerFactory};
pub use headers::RequestHeaders;
pub(crate) use receiver::{Receiver, ReceiverItem};
pub(crate) use registry::Registry;
pub use state::CloseCause;
pub(crate) use state::{Mode, Phase, Timing};

/// Starts a session on the current arbiter; `ends_with_receiver` for WebSocket sessions
/// (their life is their socket's).
pub(crate) fn start(new: NewSession, ends_with_receiver: bool) -> SessionHandle {
    actor::SessionActor::start(new, ends_with_receiver)
}
