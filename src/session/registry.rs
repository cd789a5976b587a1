//! The sessions of one mount: HTTP sessions by the client's id, WebSocket sessions by serial.
//! Only creation, lookup and removal go through here, under short locks; it is never on the
//! message path, and sessions remove themselves when they finish (no sweeper).

use std::collections::HashMap;

use parking_lot::Mutex;

use super::actor::SessionHandle;

/// The sessions of one mount.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, SessionHandle>>,
    sockets: Mutex<HashMap<u64, SessionHandle>>,
}

impl Registry {
    /// A live HTTP session by id.
    pub fn find(&self, id: &str) -> Option<SessionHandle> {
        self.sessions
            .lock()
            .get(id)
            .filter(|h| h.is_connected())
            .cloned()
    }

    /// The live HTTP session `id`, or a new one from `create`.
    pub fn find_or_create(
        &self,
        id: &str,
        create: impl FnOnce() -> SessionHandle,
    ) -> SessionHandle {
        let mut sessions = self.sessions.lock();
        if let Some(handle) = sessions.get(id).filter(|h| h.is_connected()) {
            return handle.clone();
        }
        let handle = create();
        sessions.insert(id.to_owned(), handle.clone());
        handle
    }

    /// Registers a WebSocket session (its ids need not be unique).
    pub fn add_socket(&self, handle: SessionHandle) {
        self.sockets.lock().insert(handle.serial(), handle);
    }

    /// Forgets a finished session (a newer session under the same id is left alone).
    pub fn remove(&self, handle: &SessionHandle) {
        if self.sockets.lock().remove(&handle.serial()).is_some() {
            return;
        }
        let mut sessions = self.sessions.lock();
        if sessions.get(handle.id()).is_some_and(|h| h == handle) {
            sessions.remove(handle.id());
        }
    }

    /// Every session of the mount.
    pub fn all(&self) -> Vec<SessionHandle> {
        let mut all: Vec<SessionHandle> = self.sessions.lock().values().cloned().collect();
        all.extend(self.sockets.lock().values().cloned());
        all
    }

    /// How many sessions the mount holds.
    pub fn len(&self) -> usize {
        self.sessions.lock().len() + self.sockets.lock().len()
    }

    /// Whether the mount holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
