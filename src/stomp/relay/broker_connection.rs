//! A client session's own broker connection (Spring: one TCP connection per STOMP session):
//! opened on the client's CONNECT with the rewritten CONNECT, it relays the broker's frames
//! to the client's [`Outlet`] (CONNECTED gets the `user-name`; MESSAGEs of the session's own
//! `/user/...` subscriptions get their destination back). A broker ERROR, or the broker going
//! away, ends the client's connection with an ERROR, as the spec says, whatever the broker
//! does with its side.
//!
//! Owns: the task of one client's broker connection. Must not: outlive the client (dropping
//! the [`BrokerConnection`] closes it) or wait on the broker without a bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use super::link::{self, Incoming, LinkTx, Reader};
use super::stream::Streams;
use super::{Inner, RelayError};
use crate::stomp::command::Recover;
use crate::stomp::error::StompError;
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::headers::{DESTINATION, SUBSCRIPTION, USER_NAME};
use crate::stomp::heartbeat::EOL;
use crate::stomp::message::{Outlet, Wire};

/// Time the broker gets to close its side (after a DISCONNECT) once the client is gone.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct State {
    /// The client is gone: no ERROR when the broker side ends.
    closing: AtomicBool,
    /// A DISCONNECT was relayed: the broker closing is expected.
    disconnecting: AtomicBool,
    /// Subscription id -> the client's own `/user/...` destination.
    own: Mutex<HashMap<String, String>>,
    /// Subscriptions to history destinations (RabbitMQ streams).
    streams: Mutex<Streams>,
}

/// A client session's own connection to the broker (Spring's per-session relay connection;
/// the shared one is [`super::system`]'s).
pub struct BrokerConnection {
    tx: LinkTx,
    state: Arc<State>,
    inner: Arc<Inner>,
}

impl BrokerConnection {
    /// Opens the connection: `connect` goes first; the broker's frames go to `outlet` in
    /// `version`.
    pub(crate) fn open(
        inner: &Arc<Inner>,
        connect: &Frame,
        user: String,
        outlet: Arc<dyn Outlet>,
        version: Version,
    ) -> Result<BrokerConnection, RelayError> {
        let (tx, rx) = link::channel(inner.config.max_buffered_bytes);
        tx.frame(connect, version)?;
        let state = Arc::new(State::default());
        let task = run(
            Arc::clone(inner),
            (rx, tx.clone()),
            user,
            outlet,
            version,
            Arc::clone(&state),
        );
        tokio::spawn(task);
        Ok(BrokerConnection {
            tx,
            state,
            inner: Arc::clone(inner),
        })
    }

    /// Subscription `id` to history `destination` (see [`super::stream`]): a stream consumer
    /// instead of the client's SUBSCRIBE; the RECEIPT, if asked, comes at the replay's end.
    ///
    /// # Errors
    /// [`RelayError`] if the broker is slow or gone.
    pub fn history_subscribe(
        &self,
        id: &str,
        destination: &str,
        receipt: Option<String>,
        recover: Option<Recover>,
        max_bytes: usize,
        version: Version,
    ) -> Result<(), RelayError> {
        let frames = self.state.streams.lock().subscribe(
            id,
            destination,
            receipt,
            recover,
            max_bytes,
            &mut || self.inner.stamp(),
        );
        frames.iter().try_for_each(|f| self.tx.frame(f, version))
    }

    /// A stamp for a SEND to a history destination.
    pub fn stamp(&self) -> String {
        self.inner.stamp()
    }

    /// Relays a client frame.
    ///
    /// # Errors
    /// [`RelayError`] if the broker is slow or gone.
    pub fn send(&self, frame: &Frame, version: Version) -> Result<(), RelayError> {
        self.tx.frame(frame, version)
    }

    /// A heart-beat towards the broker in lieu of a frame not relayed.
    pub fn heartbeat(&self) {
        self.tx.heartbeat();
    }

    /// Subscription `id` is the client's own `destination` (`/user/queue/x`).
    pub fn own_subscription(&self, id: &str, destination: &str) {
        self.state
            .own
            .lock()
            .insert(id.to_owned(), destination.to_owned());
    }

    /// Subscription `id` ended.
    ///
    /// # Errors
    /// [`RelayError`] if the broker is slow or gone (a probe's UNSUBSCRIBE).
    pub fn unsubscribed(&self, id: &str, version: Version) -> Result<(), RelayError> {
        self.state.own.lock().remove(id);
        let frames = self.state.streams.lock().unsubscribe(id);
        frames.iter().try_for_each(|f| self.tx.frame(f, version))
    }

    /// A DISCONNECT was relayed: the broker closing its side is no error.
    pub fn disconnecting(&self) {
        self.state.disconnecting.store(true, Ordering::Release);
    }
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.state.closing.store(true, Ordering::Release);
        self.tx.close();
    }
}

fn error_wire(error: &StompError, version: Version) -> Wire {
    Wire::whole(error.frame(None).encode(version))
}

async fn run(
    inner: Arc<Inner>,
    (rx, tx): (link::LinkRx, LinkTx),
    user: String,
    outlet: Arc<dyn Outlet>,
    version: Version,
    state: Arc<State>,
) {
    let config = &inner.config;
    let (read, write) = match link::connect(&config.address, config.connect_timeout).await {
        Ok(halves) => halves,
        Err(e) => {
            if !state.closing.load(Ordering::Acquire) {
                outlet.send(error_wire(&StompError::Relay(e), version));
                outlet.close();
            }
            return;
        }
    };
    let mut writer = tokio::spawn(link::write(write, rx));
    let mut reader = Reader::new(read, inner.limits);
    reader.set_version(version);
    let relayed = async {
        let mut connected = false;
        loop {
            let next = if connected {
                reader.next().await
            } else {
                tokio::time::timeout(config.connect_timeout, reader.next())
                    .await
                    .unwrap_or(Err(RelayError::Timeout))
            };
            let frame = match next {
                Ok(Incoming::HeartBeat) => {
                    if !outlet.send(Wire::whole(Bytes::from_static(EOL))) {
                        return Ok(());
                    }
                    continue;
                }
                Ok(Incoming::Frame(frame)) => frame,
                Err(e) => return Err(e),
            };
            let command = frame.command;
            connected |= command == Command::Connected;
            for frame in from_broker(frame, &user, &state, &inner, &tx, version)? {
                if !outlet.send(Wire::whole(frame.encode(version))) {
                    return Ok(());
                }
            }
            if command == Command::Error {
                return Ok(());
            }
        }
    };
    tokio::pin!(relayed);
    let ended = tokio::select! {
        ended = &mut relayed => ended,
        // The client side closed the link: the broker gets a moment to close its side.
        _ = &mut writer => tokio::time::timeout(CLOSE_GRACE, &mut relayed)
            .await
            .unwrap_or(Ok(())),
    };
    writer.abort();
    let quiet =
        state.closing.load(Ordering::Acquire) || state.disconnecting.load(Ordering::Acquire);
    if let Err(e) = ended
        && !quiet
    {
        log::debug!("stomp relay: a client's broker connection ended: {e}");
        outlet.send(error_wire(&StompError::Relay(e), version));
    }
    if !state.closing.load(Ordering::Acquire) {
        outlet.close();
    }
}

/// What the client gets of a broker frame: a history subscription's MESSAGEs are rewritten
/// (and ACKed here), markers dropped, RECEIPTs made at the replay's end.
fn from_broker(
    frame: Frame,
    user: &str,
    state: &State,
    inner: &Inner,
    tx: &LinkTx,
    version: Version,
) -> Result<Vec<Frame>, RelayError> {
    let history = frame.command == Command::Message
        && frame
            .get(SUBSCRIPTION)
            .is_some_and(|id| state.streams.lock().handles(id));
    if !history {
        return Ok(vec![to_client(frame, user, state)]);
    }
    let fx = state.streams.lock().message(frame, &mut || inner.stamp());
    fx.to_broker.iter().try_for_each(|f| tx.frame(f, version))?;
    Ok(fx.to_client)
}

/// A broker frame as the client sees it.
fn to_client(frame: Frame, user: &str, state: &State) -> Frame {
    match frame.command {
        Command::Connected if frame.get(USER_NAME).is_none() => frame.header(USER_NAME, user),
        Command::Message => {
            let own = frame
                .get(SUBSCRIPTION)
                .and_then(|id| state.own.lock().get(id).cloned());
            match own {
                Some(destination) => super::route::with_header(frame, DESTINATION, &destination),
                None => frame,
            }
        }
        _ => frame,
    }
}
