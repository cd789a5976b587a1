//! Destination rules: what a destination names (topic, queue, application handler, a user's
//! queue) and the patterns application handlers are registered by.
//!
//! Owns: the destination grammar. Must not: hold state or know about sessions.

/// Fan-out destinations: every subscriber gets every message.
pub const TOPIC_PREFIX: &str = "/topic/";
/// Competing-consumer destinations: each message to one subscriber, held while there is none.
pub const QUEUE_PREFIX: &str = "/queue/";
/// User destinations: `/user/queue/x` (own session) and `/user/{name}/queue/x` (a user).
pub const USER_PREFIX: &str = "/user/";

/// A destination that cannot be used as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not under `/topic/`, `/queue/`, `/user/` or the application prefix.
    #[error("unknown destination {0:?}: use /topic/, /queue/, /user/ or the application prefix")]
    Unknown(String),
    /// SUBSCRIBE to an application or another user's destination, or SEND to one's own
    /// `/user/queue/...` without a user name.
    #[error("destination {0:?} cannot be used with {1}")]
    WrongUse(String, &'static str),
    /// The broker relay cannot take a server-side SEND now.
    #[error("cannot publish: {0}")]
    Unavailable(String),
}

/// What a destination names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    /// `/topic/...`.
    Topic(&'a str),
    /// `/queue/...`.
    Queue(&'a str),
    /// Under the application prefix; the part after the prefix (starting with `/`).
    App(&'a str),
    /// `/user/queue/x` or `/user/topic/x`: the session's own; holds `/queue/x`.
    Own(&'a str),
    /// `/user/{name}/queue/x`: every session of user `name`; holds (`name`, `/queue/x`).
    User(&'a str, &'a str),
}

/// Classifies `destination`, with `app_prefix` such as `/app`.
///
/// # Errors
/// [`DestinationError::Unknown`] for anything outside the known prefixes or empty names.
pub fn classify<'a>(
    destination: &'a str,
    app_prefix: &str,
) -> Result<Target<'a>, DestinationError> {
    let unknown = || DestinationError::Unknown(destination.to_owned());
    if destination.starts_with(TOPIC_PREFIX) {
        return scoped(destination)
            .then_some(Target::Topic(destination))
            .ok_or_else(unknown);
    }
    if destination.starts_with(QUEUE_PREFIX) {
        return scoped(destination)
            .then_some(Target::Queue(destination))
            .ok_or_else(unknown);
    }
    if let Some(rest) = destination.strip_prefix(USER_PREFIX) {
        // `rest` keeps its leading '/' for the own-session case: "/queue/x".
        let own = destination.get(USER_PREFIX.len() - 1..).unwrap_or_default();
        if scoped(own) {
            return Ok(Target::Own(own));
        }
        let (name, _) = rest.split_once('/').ok_or_else(unknown)?;
        let tail = rest.get(name.len()..).unwrap_or_default();
        return (!name.is_empty() && scoped(tail))
            .then_some(Target::User(name, tail))
            .ok_or_else(unknown);
    }
    match destination.strip_prefix(app_prefix) {
        Some(rest) if !app_prefix.is_empty() && rest.starts_with('/') && rest.len() > 1 => {
            Ok(Target::App(rest))
        }
        _ => Err(unknown()),
    }
}

/// Whether `path` is `/topic/name...` or `/queue/name...` with a non-empty name.
fn scoped(path: &str) -> bool {
    [TOPIC_PREFIX, QUEUE_PREFIX]
        .iter()
        .any(|p| path.strip_prefix(p).is_some_and(|name| !name.is_empty()))
}

/// A handler's destination pattern, relative to the application prefix: literal segments,
/// `{name}` capturing one segment, and a final `**` matching the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
    Rest,
}

/// Variables a pattern captured, in pattern order.
pub type Captures = Vec<(String, String)>;

impl Pattern {
    /// Parses `/chat/{room}` or `/echo/**`.
    pub fn new(pattern: &str) -> Self {
        let segments = pattern
            .trim_start_matches('/')
            .split('/')
            .map(|s| match s {
                "**" => Segment::Rest,
                _ if s.starts_with('{') && s.ends_with('}') && s.len() > 2 => {
                    Segment::Capture(s.get(1..s.len() - 1).unwrap_or_default().to_owned())
                }
                _ => Segment::Literal(s.to_owned()),
            })
            .collect();
        Pattern { segments }
    }

    /// The captures if `path` (relative to the prefix, starting with `/`) matches.
    pub fn matches(&self, path: &str) -> Option<Captures> {
        let mut parts = path.trim_start_matches('/').split('/');
        let mut captures = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Rest => return Some(captures),
                Segment::Literal(text) => (parts.next()? == text).then_some(())?,
                Segment::Capture(name) => {
                    let value = parts.next().filter(|v| !v.is_empty())?;
                    captures.push((name.clone(), value.to_owned()));
                }
            }
        }
        parts.next().is_none().then_some(captures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_classified_by_prefix() {
        assert_eq!(classify("/topic/a", "/app"), Ok(Target::Topic("/topic/a")));
        assert_eq!(
            classify("/queue/a/b", "/app"),
            Ok(Target::Queue("/queue/a/b"))
        );
        assert_eq!(classify("/app/chat", "/app"), Ok(Target::App("/chat")));
        assert_eq!(
            classify("/user/queue/x", "/app"),
            Ok(Target::Own("/queue/x"))
        );
        assert_eq!(
            classify("/user/alice/queue/x", "/app"),
            Ok(Target::User("alice", "/queue/x"))
        );
    }

    #[test]
    fn unknown_and_empty_destinations_are_refused() {
        for d in [
            "/other/x",
            "/topic/",
            "/queue/",
            "/user/alice",
            "/user//queue/x",
            "/apple",
            "/app/",
            "",
        ] {
            assert!(classify(d, "/app").is_err(), "{d}");
        }
    }

    #[test]
    fn patterns_capture_segments_and_rest() {
        let p = Pattern::new("/chat/{room}");
        assert_eq!(
            p.matches("/chat/lobby"),
            Some(vec![("room".to_owned(), "lobby".to_owned())])
        );
        assert_eq!(p.matches("/chat/lobby/x"), None);
        assert_eq!(p.matches("/chat/"), None);
        assert_eq!(Pattern::new("/echo/**").matches("/echo/a/b"), Some(vec![]));
        assert_eq!(Pattern::new("/ping").matches("/ping"), Some(vec![]));
        assert_eq!(Pattern::new("/ping").matches("/pong"), None);
    }
}
