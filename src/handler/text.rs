//! The shipped text handlers: echo, close (the suite's `/close`) and broadcast.
//!
//! Owns: these three handlers and a broadcast group's membership. Must not: hold the group's
//! lock while sending, or keep a session that has closed.

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
    members: Arc<Mutex<Members>>,
}

/// The members by serial, and a list of them made for publishing: made again by the first
/// publish after a change, shared by every publish until the next one (so a publish clones
/// one `Arc`, not a handle per member).
#[derive(Debug, Default)]
struct Members {
    by_serial: HashMap<u64, SessionHandle>,
    list: Option<Arc<[SessionHandle]>>,
}

impl Broadcast {
    /// A new, empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `text` to every member: quoted once, shared by all.
    pub fn publish(&self, text: &str) {
        let message = Message::new(text);
        let list = {
            let mut members = self.members.lock();
            let Members { by_serial, list } = &mut *members;
            Arc::clone(list.get_or_insert_with(|| by_serial.values().cloned().collect()))
        };
        for member in list.iter() {
            member.send_message(message.clone());
        }
    }

    /// How many sessions are in the group.
    pub fn len(&self) -> usize {
        self.members.lock().by_serial.len()
    }

    /// Whether the group is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn join(&self, session: &SessionHandle) {
        let mut members = self.members.lock();
        members.by_serial.insert(session.serial(), session.clone());
        members.list = None;
    }

    fn leave(&self, session: &SessionHandle) {
        let mut members = self.members.lock();
        if members.by_serial.remove(&session.serial()).is_some() {
            members.list = None;
        }
    }
}

impl Handler for Broadcast {
    fn on_open(&mut self, session: &SessionHandle) {
        self.join(session);
    }

    fn on_message(&mut self, _session: &SessionHandle, message: String) {
        self.publish(&message);
    }

    fn on_close(&mut self, session: &SessionHandle, _reason: &CloseReason, _cause: CloseCause) {
        self.leave(session);
    }
}
