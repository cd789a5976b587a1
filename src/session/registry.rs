//! The sessions of one mount: HTTP sessions by the client's id, WebSocket sessions by serial,
//! and how many each client address holds. Only creation, lookup and removal go through here,
//! under one short lock; it is never on the message path, and sessions remove themselves when
//! they finish (no sweeper). Admission limits are enforced here, at creation.

use std::collections::HashMap;
use std::net::IpAddr;

use parking_lot::Mutex;

use super::handle::SessionHandle;

/// Session-count limits of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sessions the mount may hold in total.
    pub max_sessions: usize,
    /// Sessions one client address may hold (`None`: no per-address limit).
    pub max_per_client: Option<usize>,
}

/// Why a new session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The mount holds `max_sessions`.
    #[error("the mount holds its maximum of sessions")]
    Full,
    /// The client address holds `max_sessions_per_client`.
    #[error("this client holds its maximum of sessions")]
    ClientFull,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<String, SessionHandle>,
    sockets: HashMap<u64, SessionHandle>,
    per_client: HashMap<IpAddr, usize>,
}

impl Inner {
    fn len(&self) -> usize {
        self.sessions.len() + self.sockets.len()
    }

    fn admit(&self, client: Option<IpAddr>, limits: Limits) -> Result<(), Refused> {
        if self.len() >= limits.max_sessions {
            return Err(Refused::Full);
        }
        if let Some(max) = limits.max_per_client {
            let held = client
                .and_then(|c| self.per_client.get(&c))
                .copied()
                .unwrap_or(0);
            if held >= max {
                return Err(Refused::ClientFull);
            }
        }
        Ok(())
    }

    fn count(&mut self, handle: &SessionHandle) {
        if let Some(client) = handle.client_addr() {
            *self.per_client.entry(client).or_default() += 1;
        }
    }

    fn uncount(&mut self, handle: &SessionHandle) {
        if let Some(client) = handle.client_addr()
            && let Some(n) = self.per_client.get_mut(&client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_client.remove(&client);
            }
        }
    }
}

/// The sessions of one mount.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    /// A live HTTP session by id.
    pub fn find(&self, id: &str) -> Option<SessionHandle> {
        self.inner
            .lock()
            .sessions
            .get(id)
            .filter(|h| h.is_connected())
            .cloned()
    }

    /// The live HTTP session `id`, or a new one from `create` if `client` is admitted.
    pub fn find_or_create(
        &self,
        id: &str,
        client: Option<IpAddr>,
        limits: Limits,
        create: impl FnOnce() -> SessionHandle,
    ) -> Result<SessionHandle, Refused> {
        let mut inner = self.inner.lock();
        if let Some(handle) = inner.sessions.get(id).filter(|h| h.is_connected()) {
            return Ok(handle.clone());
        }
        if let Some(stale) = inner.sessions.remove(id) {
            inner.uncount(&stale);
        }
        inner.admit(client, limits)?;
        let handle = create();
        inner.count(&handle);
        inner.sessions.insert(id.to_owned(), handle.clone());
        Ok(handle)
    }

    /// Registers a new WebSocket session from `create` if `client` is admitted (WebSocket
    /// session ids need not be unique).
    pub fn add_socket(
        &self,
        client: Option<IpAddr>,
        limits: Limits,
        create: impl FnOnce() -> SessionHandle,
    ) -> Result<SessionHandle, Refused> {
        let mut inner = self.inner.lock();
        inner.admit(client, limits)?;
        let handle = create();
        inner.count(&handle);
        inner.sockets.insert(handle.serial(), handle.clone());
        Ok(handle)
    }

    /// Forgets a finished session (a newer session under the same id is left alone).
    pub fn remove(&self, handle: &SessionHandle) {
        let mut inner = self.inner.lock();
        let removed = match inner.sockets.remove(&handle.serial()) {
            Some(h) => Some(h),
            None if inner.sessions.get(handle.id()).is_some_and(|h| h == handle) => {
                inner.sessions.remove(handle.id())
            }
            None => None,
        };
        if let Some(h) = removed {
            inner.uncount(&h);
        }
    }

    /// Every session of the mount.
    pub fn all(&self) -> Vec<SessionHandle> {
        let inner = self.inner.lock();
        inner
            .sessions
            .values()
            .chain(inner.sockets.values())
            .cloned()
            .collect()
    }

    /// How many sessions the mount holds.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// How many sessions `client` holds.
    pub fn held_by(&self, client: IpAddr) -> usize {
        self.inner
            .lock()
            .per_client
            .get(&client)
            .copied()
            .unwrap_or(0)
    }
}
