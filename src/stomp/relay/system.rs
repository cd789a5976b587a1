//! The shared "system" connection (Spring's `_system_` session): it carries what the server
//! itself publishes and the user registry broadcast (each node subscribes to the registry
//! topic and announces its own users' sessions on every change and every
//! `registry_interval`), and, when presence is on, the presence topic (each node's part every
//! `registry_interval` and on connecting, with a hello the others answer with theirs; the
//! changes themselves are sent by [`crate::stomp::presence`] as they happen). It heart-beats
//! on its own, with the relay as the client, and when it fails it reconnects with backoff for
//! as long as the server runs.
//!
//! Owns: the system connection's task. Must not: end while the runtime runs, or panic.

use std::sync::Arc;
use std::time::Instant;

use super::link::{self, Incoming, LinkTx, Reader};
use super::route;
use super::{Inner, RelayError};
use crate::stomp::frame::{Command, Frame, Version};
use crate::stomp::headers::{
    ACCEPT_VERSION, CONTENT_TYPE, DESTINATION, HEART_BEAT, HOST, ID, LOGIN, MESSAGE, PASSCODE,
    SUBSCRIPTION,
};
use crate::stomp::heartbeat::{self, Clock};

/// The system connection's subscription id for the registry topic.
const REGISTRY_SUBSCRIPTION: &str = "sockjs-server.registry";
/// The system connection's subscription id for the presence topic (when presence is on).
const PRESENCE_SUBSCRIPTION: &str = "sockjs-server.presence";

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Keeps the system connection up until the runtime stops.
pub(crate) async fn run(inner: Arc<Inner>) {
    let mut attempt = 0;
    loop {
        match session(&inner).await {
            Ok(()) => attempt = 0,
            Err((was_up, e)) => {
                if was_up {
                    attempt = 0;
                    log::warn!("stomp relay: system connection lost: {e}; reconnecting");
                } else if attempt == 0 {
                    log::warn!("stomp relay: broker {}: {e}", inner.config.address);
                }
            }
        }
        inner.set_system(None);
        let (min, max) = inner.config.reconnect;
        tokio::time::sleep(route::backoff(attempt, min, max)).await;
        attempt = attempt.saturating_add(1);
    }
}

fn connect_frame(inner: &Inner) -> Frame {
    let (cx, cy) = inner.config.system_heart_beat;
    let mut frame = Frame::new(Command::Connect)
        .header(ACCEPT_VERSION, "1.2")
        .header(HOST, inner.config.virtual_host.clone())
        .header(HEART_BEAT, format!("{cx},{cy}"));
    if let Some((login, passcode)) = &inner.config.system_login {
        frame = frame
            .header(LOGIN, login.clone())
            .header(PASSCODE, passcode.clone());
    }
    frame
}

/// This node's presence part on the presence topic (`hello`: asking for the others' now).
fn announce_presence(inner: &Inner, tx: &LinkTx, hello: bool) -> Result<(), RelayError> {
    let Some(hub) = inner.presence() else {
        return Ok(());
    };
    let mut result = Ok(());
    hub.announce_part(hello, |body| {
        let frame = Frame::new(Command::Send)
            .header(DESTINATION, inner.config.presence_topic.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        result = tx.frame(&frame, Version::V1_2);
    });
    result
}

fn announce(inner: &Inner, tx: &LinkTx) -> Result<(), RelayError> {
    let frame = Frame::new(Command::Send)
        .header(DESTINATION, inner.config.registry_topic.clone())
        .header(CONTENT_TYPE, "text/plain")
        .body(inner.snapshot().into());
    tx.frame(&frame, Version::V1_2)
}

/// One system connection, until it fails; the flag says whether it got CONNECTED.
async fn session(inner: &Arc<Inner>) -> Result<(), (bool, RelayError)> {
    let config = &inner.config;
    let down = |e| (false, e);
    let (read, write) = link::connect(&config.address, config.connect_timeout)
        .await
        .map_err(down)?;
    let (tx, rx) = link::channel(config.max_buffered_bytes);
    tx.frame(&connect_frame(inner), Version::V1_2)
        .map_err(down)?;
    let mut writer = tokio::spawn(link::write(write, rx));
    let mut reader = Reader::new(read, inner.limits);
    let connected = tokio::time::timeout(config.connect_timeout, reader.next()).await;
    let connected = match connected {
        Ok(Ok(Incoming::Frame(f))) if f.command == Command::Connected => f,
        Ok(Ok(Incoming::Frame(f))) => {
            writer.abort();
            let why = f.get(MESSAGE).unwrap_or("no CONNECTED").to_owned();
            return Err(down(RelayError::Refused(why)));
        }
        Ok(Ok(Incoming::HeartBeat)) | Err(_) => {
            writer.abort();
            return Err(down(RelayError::Timeout));
        }
        Ok(Err(e)) => {
            writer.abort();
            return Err(down(e));
        }
    };
    let broker = connected
        .get(HEART_BEAT)
        .and_then(|v| heartbeat::parse(v).ok())
        .unwrap_or((0, 0));
    // We are the client here: roles swapped in the server-side negotiation.
    let mut clock = Clock::new(
        heartbeat::negotiate(broker, config.system_heart_beat),
        now(),
    );
    let subscribe = Frame::new(Command::Subscribe)
        .header(ID, REGISTRY_SUBSCRIPTION)
        .header(DESTINATION, config.registry_topic.clone());
    let up = |e| (true, e);
    tx.frame(&subscribe, Version::V1_2).map_err(up)?;
    if inner.presence().is_some() {
        let subscribe = Frame::new(Command::Subscribe)
            .header(ID, PRESENCE_SUBSCRIPTION)
            .header(DESTINATION, config.presence_topic.clone());
        tx.frame(&subscribe, Version::V1_2).map_err(up)?;
    }
    announce(inner, &tx).map_err(up)?;
    inner.set_system(Some(tx.clone()));
    // After set_system: a change announced from now on follows a part that counts it or
    // comes after it.
    announce_presence(inner, &tx, true).map_err(up)?;
    log::info!("stomp relay: system connection to {} up", config.address);
    let mut refresh = tokio::time::interval(config.registry_interval);
    let result = loop {
        let deadline = clock.next();
        let beat = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            next = reader.next() => match next {
                Ok(incoming) => {
                    clock.received(now());
                    if let Incoming::Frame(frame) = incoming
                        && let Err(e) = on_frame(inner, &tx, &frame)
                    {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e),
            },
            () = beat => {
                let due = clock.poll(now());
                if due.dead {
                    break Err(RelayError::Timeout);
                }
                if due.send {
                    tx.heartbeat();
                }
            }
            _ = refresh.tick() => {
                if let Some(hub) = inner.presence() {
                    hub.expire(now());
                }
                if let Err(e) = announce(inner, &tx).and_then(|()| announce_presence(inner, &tx, false)) {
                    break Err(e);
                }
            }
            () = inner.changed() => {
                if let Err(e) = announce(inner, &tx) {
                    break Err(e);
                }
            }
            _ = &mut writer => break Err(RelayError::Lost),
        }
    };
    inner.set_system(None);
    writer.abort();
    result.map_err(up)
}

fn on_frame(inner: &Inner, tx: &LinkTx, frame: &Frame) -> Result<(), RelayError> {
    match frame.command {
        Command::Message if frame.get(SUBSCRIPTION) == Some(PRESENCE_SUBSCRIPTION) => {
            let asked = inner
                .presence()
                .is_some_and(|hub| hub.on_announcement(&frame.body, now()));
            match asked {
                true => announce_presence(inner, tx, false),
                false => Ok(()),
            }
        }
        Command::Message if frame.get(SUBSCRIPTION) == Some(REGISTRY_SUBSCRIPTION) => {
            match std::str::from_utf8(&frame.body) {
                Ok(text) => inner.apply_snapshot(text),
                Err(_) => log::debug!("stomp relay: a registry snapshot that is not UTF-8"),
            }
            Ok(())
        }
        Command::Error => Err(RelayError::Refused(
            frame.get(MESSAGE).unwrap_or("ERROR").to_owned(),
        )),
        _ => Ok(()),
    }
}
