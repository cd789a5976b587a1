//! The relay's rewriting rules, pure: which destinations go to the broker, the CONNECT a
//! client's broker connection sends (credentials and virtual host from config, never the
//! client's own), the per-session broker queues behind `/user/...` destinations (Spring's
//! `-user{session}` suffix), and the reconnect backoff.
//!
//! Owns: these rules. Must not: do I/O, hold state or read a clock.

use std::time::Duration;

use crate::stomp::frame::{Command, Frame};
use crate::stomp::headers::{
    ACCEPT_VERSION, AUTO_DELETE, DURABLE, EXCLUSIVE, HEART_BEAT, HOST, LOGIN, PASSCODE,
};

/// RabbitMQ's destination for an existing queue, used to reach another session's user queue
/// without declaring it (RabbitMQ STOMP guide, "Destinations": `/amq/queue`).
pub const AMQ_QUEUE: &str = "/amq/queue/";
/// The suffix of a session's own broker destination (Spring's `DefaultUserDestinationResolver`).
pub const USER_SUFFIX: &str = "-user";
/// SUBSCRIBE headers making a session's own queue live and die with its broker connection
/// (RabbitMQ STOMP guide, "Queue Properties"; Spring #34540 on transient queues).
pub const OWN_QUEUE_HEADERS: [(&str, &str); 3] = [
    (EXCLUSIVE, "true"),
    (AUTO_DELETE, "true"),
    (DURABLE, "false"),
];

/// Whether `destination` goes to the broker under `prefixes` (e.g. `/topic/`, `/queue/`).
pub fn relayed(destination: &str, prefixes: &[String]) -> bool {
    prefixes
        .iter()
        .any(|p| destination.len() > p.len() && destination.starts_with(p.as_str()))
}

/// The broker destination a session subscribes to for its own `/user{path}` (`path` such
/// as `/queue/x` or `/topic/x`): `/queue/x-user{session}`.
pub fn own_destination(path: &str, session: &str) -> String {
    format!("{path}{USER_SUFFIX}{session}")
}

/// Where a SEND to session `session`'s `/user{path}` goes: its queue without declaring it
/// (`/amq/queue/x-user{session}`), or the topic (`/topic/x-user{session}`).
pub fn user_target(path: &str, session: &str) -> String {
    match path.strip_prefix("/queue/") {
        Some(name) => format!("{AMQ_QUEUE}{name}{USER_SUFFIX}{session}"),
        None => own_destination(path, session),
    }
}

/// The client's CONNECT as the broker gets it: its version and heart-beat headers (so client
/// and broker heart-beat each other through the relay), the configured virtual host and
/// login; the client's own `login`, `passcode` and `host` are dropped.
pub fn broker_connect(client: &Frame, virtual_host: &str, login: Option<(&str, &str)>) -> Frame {
    let mut frame = Frame::new(Command::Connect);
    for name in [ACCEPT_VERSION, HEART_BEAT] {
        if let Some(value) = client.get(name) {
            frame = frame.header(name, value);
        }
    }
    if client.get(ACCEPT_VERSION).is_none() {
        frame = frame.header(ACCEPT_VERSION, "1.0");
    }
    frame = frame.header(HOST, virtual_host);
    if let Some((login, passcode)) = login {
        frame = frame.header(LOGIN, login).header(PASSCODE, passcode);
    }
    frame
}

/// The frame with its first `name` header set to `value` (added if absent).
pub fn with_header(mut frame: Frame, name: &str, value: &str) -> Frame {
    match frame.headers.iter_mut().find(|(n, _)| n == name) {
        Some(header) => header.1 = value.to_owned(),
        None => frame.headers.push((name.to_owned(), value.to_owned())),
    }
    frame
}

/// The frame without any `name` header.
pub fn without_header(mut frame: Frame, name: &str) -> Frame {
    frame.headers.retain(|(n, _)| n != name);
    frame
}

/// Exponential backoff for reconnecting: `min`, doubled per failed attempt, at most `max`.
pub fn backoff(attempt: u32, min: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    min.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_destinations_under_a_relay_prefix_with_a_name_are_relayed() {
        let p = vec!["/topic/".to_owned(), "/queue/".to_owned()];
        assert!(relayed("/topic/x", &p));
        assert!(relayed("/queue/a/b", &p));
        assert!(!relayed("/topic/", &p));
        assert!(!relayed("/app/x", &p));
        assert!(!relayed("/exchange/amq.topic/x", &p));
    }

    #[test]
    fn user_destinations_map_to_one_broker_destination_per_session() {
        assert_eq!(own_destination("/queue/x", "n1s7"), "/queue/x-usern1s7");
        assert_eq!(user_target("/queue/x", "n1s7"), "/amq/queue/x-usern1s7");
        assert_eq!(user_target("/topic/x", "n1s7"), "/topic/x-usern1s7");
    }

    #[test]
    fn connect_carries_config_credentials_and_vhost_never_the_clients() {
        let client = Frame::new(Command::Connect)
            .header("accept-version", "1.1,1.2")
            .header("heart-beat", "1000,2000")
            .header("login", "mallory")
            .header("passcode", "guess")
            .header("host", "example.org");
        let f = broker_connect(&client, "/", Some(("relay", "secret")));
        assert_eq!(f.get("login"), Some("relay"));
        assert_eq!(f.get("passcode"), Some("secret"));
        assert_eq!(f.get("host"), Some("/"));
        assert_eq!(f.get("heart-beat"), Some("1000,2000"));
        assert_eq!(f.get("accept-version"), Some("1.1,1.2"));
        assert_eq!(f.headers.iter().filter(|(n, _)| n == "login").count(), 1);
        let anonymous = broker_connect(&client, "vh", None);
        assert_eq!(
            (anonymous.get("login"), anonymous.get("host")),
            (None, Some("vh"))
        );
    }

    #[test]
    fn headers_are_replaced_added_and_removed() {
        let f = Frame::new(Command::Send).header("destination", "/user/queue/x");
        let f = with_header(f, "destination", "/queue/y");
        let f = with_header(f, "receipt", "r");
        assert_eq!(
            (f.get("destination"), f.get("receipt")),
            (Some("/queue/y"), Some("r"))
        );
        assert_eq!(without_header(f, "receipt").get("receipt"), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_never_overflows() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(5));
        assert_eq!(backoff(0, min, max), min);
        assert_eq!(backoff(1, min, max), Duration::from_secs(1));
        assert_eq!(backoff(3, min, max), Duration::from_secs(4));
        assert_eq!(backoff(4, min, max), max);
        assert_eq!(backoff(u32::MAX, min, max), max);
    }
}
