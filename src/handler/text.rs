//! The shipped text handlers: echo, close (the suite's `/close`) and broadcast.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::Handler;
use crate::protocol::{CloseReason, Message};
use crate::session::{CloseCause, SessionHandle};

/// Sends every message back to its sender.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, session: &SessionHandle, message: String) {
        session.send(message);
    }
}

/// Closes every session as soon as it opens, with 3000 "Go away!" (the suite's `/close`).
#[derive(Debug, Default, Clone, Copy)]
pub struct CloseAtOnce;

impl Handler for CloseAtOnce {
    fn on_open(&mut self, session: &SessionHandle) {
        let CloseReason { code, reason } = CloseReason::GO_AWAY;
        session.close(code, reason);
    }

    fn on_message(&mut self, _session: &SessionHandle, _message: String) {}
}

/// The sessions of one broadcast group. Clone it into the factory of a mount.
#[derive(Debug, Default, Clone)]
pub struct Broadcast {
    members: Arc<Mutex<HashMap<u64, SessionHandle>>>,
}

impl Broadcast {
    /// A new, empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `text` to every member: quoted once, shared by all.
    pub fn publish(&self, text: &str) {
        let message = Message::new(text);
        let members: Vec<SessionHandle> = self.members.lock().values().cloned().collect();
        for member in members {
            member.send_message(message.clone());
        }
    }

    /// How many sessions are in the group.
    pub fn len(&self) -> usize {
        self.members.lock().len()
    }

    /// Whether the group is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Handler for Broadcast {
    fn on_open(&mut self, session: &SessionHandle) {
        self.members
            .lock()
            .insert(session.serial(), session.clone());
    }

    fn on_message(&mut self, _session: &SessionHandle, message: String) {
        self.publish(&message);
    }

    fn on_close(&mut self, session: &SessionHandle, _reason: &CloseReason, _cause: CloseCause) {
        self.members.lock().remove(&session.serial());
    }
}
