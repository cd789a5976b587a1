//! Interceptors on a connection's inbound and outbound frames (Spring's `ChannelInterceptor`
//! on the client inbound and outbound channels), registered with
//! [`StompBuilder::interceptor`](super::StompBuilder::interceptor).
//!
//! Inbound: every client frame, once decoded (CONNECT included) and before the connection
//! acts on it, goes through each interceptor's [`Interceptor::inbound`] in the order added;
//! one may rewrite it, drop it silently, or reject it (the client gets an ERROR with the
//! given text, naming the frame's `receipt`, and is disconnected). Outbound: every frame to
//! the client (CONNECTED, MESSAGE, RECEIPT, ERROR, whether from the in-memory broker or the
//! relay) goes through each [`Interceptor::outbound`] in the order added, which may rewrite
//! or drop it. Heart-beats and the last ERROR a transport sends itself when it closes a
//! connection (a slow consumer, shutdown) are not intercepted.
//!
//! Cost: none without interceptors. With one whose
//! [`intercepts_outbound`](Interceptor::intercepts_outbound) is true (the default, so that an
//! `outbound` hook is never silently skipped), each connection's outlet is wrapped, and every outgoing frame is decoded into a
//! [`Frame`] (a copy of its headers and a new buffer), given to the hooks and encoded again,
//! per subscriber: a MESSAGE is no longer encoded once for all its subscribers.
//!
//! Owns: the interceptor trait, the hooks of a service, and the outlet wrapper. Must not:
//! block (hooks run on the connection's task, or on the task of whoever delivers to it).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use super::auth::Principal;
use super::decode::{Decoder, Limits};
use super::events::Listeners;
use super::frame::{Frame, Version};
use super::headers::CONTENT_LENGTH;
use super::heartbeat::EOL;
use super::message::{Outlet, Wire};

/// What becomes of a client frame after an inbound hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// Go on (to the next interceptor, then the connection), with the frame as it now is.
    Pass,
    /// Ignore the frame silently (no receipt, no error).
    Drop,
    /// Refuse it: the client gets an ERROR with this text and is disconnected.
    Reject(String),
}

/// What becomes of a frame to the client after an outbound hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outbound {
    /// Go on, with the frame as it now is.
    Pass,
    /// Do not send it.
    Drop,
}

/// Who a frame comes from or goes to.
#[derive(Debug, Clone, Copy)]
pub struct InterceptContext<'a> {
    /// The connection's serial (its broker id; the CONNECTED `session` without the relay).
    pub serial: u64,
    /// The principal, once connected (`None` for CONNECT and frames before it).
    pub principal: Option<&'a Principal>,
    /// The client's address, when the transport knows it.
    pub peer: Option<SocketAddr>,
}

/// An interceptor of a connection's frames; both hooks pass by default. Hooks must not
/// block.
pub trait Interceptor: Send + Sync + 'static {
    /// A client frame before the connection acts on it: inspect it, rewrite it in place, or
    /// say to drop or reject it.
    fn inbound(&self, frame: &mut Frame, context: &InterceptContext<'_>) -> Inbound {
        let _ = (frame, context);
        Inbound::Pass
    }

    /// A frame to the client: inspect it, rewrite it in place (a changed body gets its
    /// `content-length` fixed), or say to drop it. Not called if
    /// [`Interceptor::intercepts_outbound`] is false.
    fn outbound(&self, frame: &mut Frame, context: &InterceptContext<'_>) -> Outbound {
        let _ = (frame, context);
        Outbound::Pass
    }

    /// Whether [`Interceptor::outbound`] should be called. Default: true. An inbound-only
    /// interceptor returns false, so that frames to clients are not decoded and encoded
    /// again for nothing (see the module's cost note).
    fn intercepts_outbound(&self) -> bool {
        true
    }
}

/// A service's interceptors and event listeners.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) interceptors: Vec<Box<dyn Interceptor>>,
    pub(crate) listeners: Listeners,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("interceptors", &self.interceptors.len())
            .field("listeners", &self.listeners.len())
            .finish()
    }
}

impl Hooks {
    /// Runs the inbound hooks in order; the first that does not pass decides.
    pub(crate) fn inbound(&self, frame: &mut Frame, context: &InterceptContext<'_>) -> Inbound {
        for interceptor in &self.interceptors {
            match interceptor.inbound(frame, context) {
                Inbound::Pass => {}
                other => return other,
            }
        }
        Inbound::Pass
    }

    /// `outlet`, wrapped to run the outbound hooks if any interceptor has one.
    pub(crate) fn wrap(
        self: &Arc<Self>,
        outlet: Arc<dyn Outlet>,
        serial: u64,
        peer: Option<SocketAddr>,
    ) -> (Arc<dyn Outlet>, Option<Arc<Intercepted>>) {
        if !self.interceptors.iter().any(|i| i.intercepts_outbound()) {
            return (outlet, None);
        }
        let wrapped = Arc::new(Intercepted {
            inner: outlet,
            hooks: Arc::clone(self),
            serial,
            peer,
            principal: OnceLock::new(),
            version: OnceLock::new(),
        });
        (wrapped.clone(), Some(wrapped))
    }
}

/// An outlet running the outbound hooks: each frame is decoded, given to the hooks in order,
/// and encoded again.
pub(crate) struct Intercepted {
    inner: Arc<dyn Outlet>,
    hooks: Arc<Hooks>,
    serial: u64,
    peer: Option<SocketAddr>,
    principal: OnceLock<Principal>,
    version: OnceLock<Version>,
}

/// Outgoing frames were encoded by the server itself: no bound applies when reading them back.
const UNBOUNDED: Limits = Limits {
    max_frame_bytes: usize::MAX,
    max_headers: usize::MAX,
    max_header_bytes: usize::MAX,
};

impl Intercepted {
    /// The connection is connected as `principal`, speaking `version`.
    pub(crate) fn connected(&self, principal: &Principal, version: Version) {
        let _ = self.principal.set(principal.clone());
        let _ = self.version.set(version);
    }

    /// The hooks' verdict on `wire`, and its bytes if they changed.
    fn intercept(&self, wire: Wire) -> Option<Wire> {
        if wire.tail.is_empty() && wire.head == EOL {
            return Some(wire);
        }
        let version = self.version.get().copied().unwrap_or(Version::V1_2);
        let mut decoder = Decoder::new(UNBOUNDED);
        decoder.set_version(version);
        decoder.push(&wire.head);
        decoder.push(&wire.tail);
        let mut frame = match decoder.next_frame() {
            Ok(Some(frame)) => frame,
            _ => {
                log::debug!(
                    "stomp connection {}: an outgoing frame did not decode",
                    self.serial
                );
                return Some(wire);
            }
        };
        let context = InterceptContext {
            serial: self.serial,
            principal: self.principal.get(),
            peer: self.peer,
        };
        for interceptor in self
            .hooks
            .interceptors
            .iter()
            .filter(|i| i.intercepts_outbound())
        {
            if interceptor.outbound(&mut frame, &context) == Outbound::Drop {
                return None;
            }
        }
        fix_content_length(&mut frame);
        Some(Wire::whole(frame.encode(version)))
    }
}

/// Makes a `content-length` header, if the frame has one, match its body.
fn fix_content_length(frame: &mut Frame) {
    let length = frame.body.len().to_string();
    for (name, value) in &mut frame.headers {
        if name == CONTENT_LENGTH {
            value.clone_from(&length);
        }
    }
}

impl Outlet for Intercepted {
    fn send(&self, wire: Wire) -> bool {
        match self.intercept(wire) {
            Some(wire) => self.inner.send(wire),
            None => true,
        }
    }

    fn close(&self) {
        self.inner.close();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::stomp::broker::tests::Recorder;
    use crate::stomp::frame::Command;

    struct Stamp;

    impl Interceptor for Stamp {
        fn outbound(&self, frame: &mut Frame, _: &InterceptContext<'_>) -> Outbound {
            if frame.command == Command::Receipt {
                return Outbound::Drop;
            }
            frame.headers.push(("stamp".into(), "1".into()));
            frame.body = Bytes::from_static(b"longer body");
            Outbound::Pass
        }
    }

    fn hooks(interceptor: impl Interceptor) -> Arc<Hooks> {
        Arc::new(Hooks {
            interceptors: vec![Box::new(interceptor)],
            ..Hooks::default()
        })
    }

    #[test]
    fn the_outlet_is_wrapped_unless_every_interceptor_opts_out() {
        struct InboundOnly;
        impl Interceptor for InboundOnly {
            fn intercepts_outbound(&self) -> bool {
                false
            }
        }
        struct Defaults;
        impl Interceptor for Defaults {}
        let out: Arc<dyn Outlet> = Arc::new(Recorder::default());
        let (_, wrapped) = hooks(InboundOnly).wrap(Arc::clone(&out), 1, None);
        assert!(wrapped.is_none());
        let (_, wrapped) = hooks(Defaults).wrap(out, 1, None);
        assert!(
            wrapped.is_some(),
            "an outbound hook is never skipped by default"
        );
    }

    #[test]
    fn an_outbound_hook_rewrites_with_a_fixed_content_length_or_drops() {
        let recorder = Arc::new(Recorder::default());
        let (out, _) = hooks(Stamp).wrap(recorder.clone(), 1, None);
        let message = Frame::new(Command::Message)
            .header("destination", "/topic/a")
            .body(Bytes::from_static(b"hi"));
        assert!(out.send(Wire::whole(message.encode(Version::V1_2))));
        let receipt = Frame::new(Command::Receipt).header("receipt-id", "r");
        assert!(out.send(Wire::whole(receipt.encode(Version::V1_2))));
        assert!(out.send(Wire::whole(Bytes::from_static(EOL))));
        assert!(recorder.raw().ends_with(b"\0\n"), "the heart-beat passes");
        let got = recorder.take();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].get("stamp"), Some("1"));
        assert_eq!(got[0].get("content-length"), Some("11"));
        assert_eq!(&got[0].body[..], b"longer body");
    }
}
