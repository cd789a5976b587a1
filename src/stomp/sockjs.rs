//! STOMP over SockJS (and the mount's raw `/websocket`): one [`Handler`] per session drives a
//! [`Connection`]. A SockJS message may carry several frames or part of one; the decoder
//! reassembles them. STOMP heart-beats run on a task of the session's arbiter, woken when the
//! connection's deadline moves; they are separate from the SockJS `h` frames.
//!
//! When the server closes a session for a reason of its own (a backlog past the mount's
//! `max_buffered_bytes`, shutdown), the client's last message is an ERROR frame saying so.
//!
//! Must not: block, or outlive the session (the task is aborted on close and on drop).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use actix_web::rt::task::JoinHandle;
use tokio::sync::Notify;

use super::Stomp;
use super::connection::{Connection, Flow};
use super::error::StompError;
use super::message::{Outlet, Wire};
use crate::handler::Handler;
use crate::protocol::CloseReason;
use crate::session::{CloseCause, SessionHandle};

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Frames to a SockJS session: SockJS carries text, so a frame that is not UTF-8 (a binary
/// body sent over TCP) is skipped for this subscriber, with a debug log.
struct SessionOutlet(SessionHandle);

impl Outlet for SessionOutlet {
    fn send(&self, wire: Wire) -> bool {
        match String::from_utf8(wire.to_vec()) {
            Ok(text) => self.0.send(text),
            Err(_) => {
                log::debug!("session {}: skipping a non-UTF-8 STOMP frame", self.0.id());
                self.0.is_connected()
            }
        }
    }

    fn close(&self) {
        let CloseReason { code, reason } = CloseReason::NORMAL;
        self.0.close(code, reason);
    }
}

struct Live {
    connection: Rc<RefCell<Connection>>,
    wake: Rc<Notify>,
    timer: JoinHandle<()>,
}

/// The STOMP handler of one SockJS session.
pub struct StompSession {
    stomp: Stomp,
    live: Option<Live>,
}

impl StompSession {
    /// A handler for a new session of `stomp`.
    pub fn new(stomp: Stomp) -> Self {
        StompSession { stomp, live: None }
    }

    fn end(&mut self) {
        if let Some(live) = self.live.take() {
            live.timer.abort();
            if let Ok(mut connection) = live.connection.try_borrow_mut() {
                connection.closed();
            }
        }
    }
}

/// Ticks the connection at its deadline until it closes.
async fn heartbeats(connection: Rc<RefCell<Connection>>, wake: Rc<Notify>) {
    loop {
        let deadline = connection.try_borrow().ok().and_then(|c| c.deadline());
        match deadline {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at.into()) => {}
                    () = wake.notified() => continue,
                }
            }
            None => {
                wake.notified().await;
                continue;
            }
        }
        let flow = match connection.try_borrow_mut() {
            Ok(mut c) => c.tick(now()),
            Err(_) => Flow::Open,
        };
        if flow == Flow::Closed {
            return;
        }
    }
}

impl Handler for StompSession {
    fn on_open(&mut self, session: &SessionHandle) {
        let outlet = std::sync::Arc::new(SessionOutlet(session.clone()));
        let connection = self.stomp.connection(outlet, session.peer_addr(), now());
        let connection = Rc::new(RefCell::new(connection));
        let wake = Rc::new(Notify::new());
        let timer = actix_web::rt::spawn(heartbeats(Rc::clone(&connection), Rc::clone(&wake)));
        self.live = Some(Live {
            connection,
            wake,
            timer,
        });
    }

    fn on_message(&mut self, _session: &SessionHandle, message: String) {
        let Some(live) = &self.live else {
            return;
        };
        let Ok(mut connection) = live.connection.try_borrow_mut() else {
            return;
        };
        let before = connection.deadline();
        let flow = connection.receive(message.as_bytes(), now());
        // Only an earlier deadline needs the task woken; a later one it finds by itself.
        let moved = match (before, connection.deadline()) {
            (Some(before), Some(after)) => after < before,
            (None, after) => after.is_some(),
            (Some(_), None) => false,
        };
        drop(connection);
        if flow == Flow::Closed {
            self.end();
        } else if moved {
            live.wake.notify_one();
        }
    }

    fn on_closing(
        &mut self,
        _session: &SessionHandle,
        _reason: &CloseReason,
        cause: CloseCause,
    ) -> Option<String> {
        let error = match cause {
            CloseCause::Overflow => StompError::Overflow,
            CloseCause::Shutdown => StompError::ShuttingDown,
            _ => return None,
        };
        let live = self.live.as_ref()?;
        let words = live.connection.try_borrow_mut().ok()?.last_words(&error)?;
        String::from_utf8(words.to_vec()).ok()
    }

    fn on_close(&mut self, _session: &SessionHandle, _reason: &CloseReason, _cause: CloseCause) {
        self.end();
    }
}

impl Drop for StompSession {
    fn drop(&mut self) {
        self.end();
    }
}
