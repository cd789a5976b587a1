//! The live connections of this node, by serial: who each is (user, session id), its STOMP
//! version and its [`Outlet`], so that the server side can end a connection
//! ([`Stomp::disconnect_user`], [`Stomp::disconnect_session`], the HTTP API's
//! `POST /api/disconnect`). A connection is added when it is connected (CONNECTED sent, or
//! its relayed broker session opened) and removed when it closes.
//!
//! A disconnect sends the ERROR frame and closes the outlet, nothing more: the transport
//! then sees its outlet closed and ends the connection through its one normal path
//! ([`Connection::closed`](super::Connection::closed)), so the broker's (or the relay's)
//! leave and the [`Event::Disconnected`](super::Event::Disconnected) listeners run once, as
//! for any other close. With the broker relay this reaches this node's connections only.
//!
//! Owns: the table and the server-side disconnect. Must not: touch the broker, the relay
//! or a connection's state (the connection does, when its transport closes).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::Stomp;
use super::frame::{Command, Frame, Version};
use super::headers::{CONTENT_TYPE, MESSAGE};
use super::message::{Outlet, Wire};

/// One live connection.
struct Entry {
    user: String,
    session: String,
    version: Version,
    outlet: Arc<dyn Outlet>,
}

/// The live connections of one service on this node, by serial.
#[derive(Default)]
pub(crate) struct Live(Mutex<HashMap<u64, Entry>>);

impl Live {
    /// Connection `serial` of `user` is connected as broker session `session`.
    pub(crate) fn insert(
        &self,
        serial: u64,
        user: &str,
        session: String,
        version: Version,
        outlet: Arc<dyn Outlet>,
    ) {
        let entry = Entry {
            user: user.to_owned(),
            session,
            version,
            outlet,
        };
        self.0.lock().insert(serial, entry);
    }

    /// Connection `serial` closed (a no-op if it was not live, or already disconnected).
    pub(crate) fn remove(&self, serial: u64) {
        self.0.lock().remove(&serial);
    }

    /// Takes out the connections `which` selects, each to be disconnected once.
    fn take(&self, which: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let mut live = self.0.lock();
        let serials: Vec<u64> = live
            .iter()
            .filter(|(_, e)| which(e))
            .map(|(serial, _)| *serial)
            .collect();
        serials
            .iter()
            .filter_map(|serial| live.remove(serial))
            .collect()
    }
}

/// The ERROR frame a disconnected client gets: `message` is `reason` on one line, the body
/// the whole reason (as every ERROR of this server, see `error.rs`).
fn farewell(reason: &str) -> Frame {
    Frame::new(Command::Error)
        .header(MESSAGE, reason.replace(['\r', '\n'], " "))
        .header(CONTENT_TYPE, "text/plain")
        .body(Bytes::from(reason.to_owned()))
}

/// Sends each connection its ERROR and closes it; how many there were.
fn disconnect(entries: Vec<Entry>, reason: &str) -> usize {
    let frame = farewell(reason);
    for entry in &entries {
        log::debug!(
            "stomp session {} of {:?}: disconnected by the server: {reason}",
            entry.session,
            entry.user
        );
        entry.outlet.send(Wire::whole(frame.encode(entry.version)));
        entry.outlet.close();
    }
    entries.len()
}

impl Stomp {
    /// Ends every connection of user `name` on this node: each gets an ERROR frame whose
    /// `message` is `reason`, then is closed (its broker leave and
    /// [`Event::Disconnected`](super::Event::Disconnected) follow as for any close). Returns
    /// how many were ended. With the broker relay, other nodes' sessions are not reached.
    pub fn disconnect_user(&self, name: &str, reason: &str) -> usize {
        disconnect(self.0.live.take(|e| e.user == name), reason)
    }

    /// Ends session `id` (an [`OnlineSession::id`](super::OnlineSession::id) of this node)
    /// as [`Stomp::disconnect_user`] does; 1 if it was live here, else 0.
    pub fn disconnect_session(&self, id: &str, reason: &str) -> usize {
        disconnect(self.0.live.take(|e| e.session == id), reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stomp::decode::{Decoder, Limits};

    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<Wire>>,
        closed: Mutex<bool>,
    }

    impl Outlet for Recorder {
        fn send(&self, wire: Wire) -> bool {
            self.sent.lock().push(wire);
            true
        }
        fn close(&self) {
            *self.closed.lock() = true;
        }
    }

    fn live_with(entries: &[(u64, &str)]) -> (Live, Vec<Arc<Recorder>>) {
        let live = Live::default();
        let outlets = entries
            .iter()
            .map(|(serial, user)| {
                let outlet = Arc::new(Recorder::default());
                live.insert(
                    *serial,
                    user,
                    serial.to_string(),
                    Version::V1_2,
                    outlet.clone(),
                );
                outlet
            })
            .collect();
        (live, outlets)
    }

    #[test]
    fn a_user_disconnect_sends_error_then_closes_each_of_its_connections_once() {
        let (live, outlets) = live_with(&[(1, "alice"), (2, "bob"), (3, "alice")]);
        let taken = live.take(|e| e.user == "alice");
        assert_eq!(disconnect(taken, "go\naway"), 2);
        for (outlet, hit) in outlets.iter().zip([true, false, true]) {
            assert_eq!(*outlet.closed.lock(), hit);
            assert_eq!(outlet.sent.lock().len(), usize::from(hit));
        }
        let wire = outlets[0].sent.lock()[0].clone();
        let mut decoder = Decoder::new(Limits::default());
        decoder.push(&wire.to_vec());
        let frame = decoder.next_frame().unwrap().unwrap();
        assert_eq!(frame.command, Command::Error);
        assert_eq!(frame.get(MESSAGE), Some("go away"));
        assert_eq!(&frame.body[..], b"go\naway");
        assert!(live.take(|e| e.user == "alice").is_empty(), "taken once");
    }

    #[test]
    fn a_session_disconnect_reaches_that_session_only_and_removed_ones_are_gone() {
        let (live, outlets) = live_with(&[(1, "alice"), (2, "alice")]);
        live.remove(1);
        assert!(live.take(|e| e.session == "1").is_empty());
        assert_eq!(disconnect(live.take(|e| e.session == "2"), "bye"), 1);
        assert!(!*outlets[0].closed.lock());
        assert!(*outlets[1].closed.lock());
    }
}
