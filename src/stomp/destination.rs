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

/// A handler's destination pattern, relative to the application prefix, split on the
/// service's path separator (`/`, or `.` as Spring's `AntPathMatcher(".")`): literal
/// segments, `{name}` capturing one non-empty segment, `*` matching one non-empty segment
/// without capturing, and `**` matching zero or more segments. Wildcards are whole segments
/// only (`a*` is literal); a leading `/` is ignored, in the pattern and in the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    separator: char,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture(String),
    Any,
    Rest,
}

impl Segment {
    /// Whether this one-segment part of a pattern takes `part` (a capture is recorded).
    fn takes(&self, part: &str, captures: &mut Captures) -> bool {
        match self {
            Segment::Literal(text) => text == part,
            Segment::Capture(name) if !part.is_empty() => {
                captures.push((name.clone(), part.to_owned()));
                true
            }
            Segment::Any => !part.is_empty(),
            Segment::Capture(_) | Segment::Rest => false,
        }
    }
}

/// Variables a pattern captured, in pattern order.
pub type Captures = Vec<(String, String)>;

impl Pattern {
    /// Parses `/chat/{room}`, `/echo/**` (separator `/`) or `chat.{room}` (separator `.`).
    pub fn new(pattern: &str, separator: char) -> Self {
        let segments = pattern
            .trim_start_matches('/')
            .split(separator)
            .map(|s| match s {
                "**" => Segment::Rest,
                "*" => Segment::Any,
                _ if s.starts_with('{') && s.ends_with('}') && s.len() > 2 => {
                    Segment::Capture(s.get(1..s.len() - 1).unwrap_or_default().to_owned())
                }
                _ => Segment::Literal(s.to_owned()),
            })
            .collect();
        Pattern {
            separator,
            segments,
        }
    }

    /// The captures if `path` (relative to the prefix, starting with `/`) matches. Glob
    /// matching that backtracks only to the last `**` seen: at most segments x parts steps.
    pub fn matches(&self, path: &str) -> Option<Captures> {
        let parts: Vec<&str> = path.trim_start_matches('/').split(self.separator).collect();
        let (mut s, mut p) = (0, 0);
        let mut captures = Vec::new();
        // The last `**`: the segment after it, the part it would take next, captures before.
        let mut rest: Option<(usize, usize, usize)> = None;
        while let Some(part) = parts.get(p) {
            match self.segments.get(s) {
                Some(Segment::Rest) => {
                    rest = Some((s + 1, p, captures.len()));
                    s += 1;
                    continue;
                }
                Some(segment) if segment.takes(part, &mut captures) => {
                    (s, p) = (s + 1, p + 1);
                    continue;
                }
                _ => {}
            }
            let (after, taken, mark) = rest?;
            captures.truncate(mark);
            rest = Some((after, taken + 1, mark));
            (s, p) = (after, taken + 1);
        }
        let tail = self.segments.get(s..).unwrap_or_default();
        tail.iter().all(|t| *t == Segment::Rest).then_some(captures)
    }
}

/// The separator of words in a `/topic/` name: RabbitMQ's topic exchange routing keys.
pub const TOPIC_WORD_SEPARATOR: char = '.';
/// A topic subscription word matching exactly one word (RabbitMQ topic exchange).
pub const ONE_WORD: &str = "*";
/// A topic subscription word matching zero or more words (RabbitMQ topic exchange).
pub const ANY_WORDS: &str = "#";

/// The words of a topic name; the empty name has none (as RabbitMQ's `split_topic_key`).
fn words(name: &str) -> impl Iterator<Item = &str> {
    (!name.is_empty())
        .then(|| name.split(TOPIC_WORD_SEPARATOR))
        .into_iter()
        .flatten()
}

/// The routing pattern of a wildcard topic subscription: for `/topic/a.*.c` or `/topic/a.#`,
/// the name after `/topic/`; `None` for other destinations and for names without a word
/// that is exactly `*` or `#` (those match only themselves).
pub fn topic_wildcard(destination: &str) -> Option<&str> {
    let name = destination.strip_prefix(TOPIC_PREFIX)?;
    words(name)
        .any(|w| w == ONE_WORD || w == ANY_WORDS)
        .then_some(name)
}

/// Whether topic `name` (a routing key, after `/topic/`) matches subscription `pattern`
/// under RabbitMQ's topic exchange rules: words are separated by `.`, a word `*` matches
/// exactly one word, a word `#` matches zero or more words, any other word (`a*` included)
/// only itself. Backtracks only to the last `#`: at most words x pattern words steps.
pub fn topic_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<&str> = words(pattern).collect();
    let (mut s, mut p) = (0, 0);
    // The last `#`: the pattern word after it and the name word it would take next.
    let mut any: Option<(usize, usize)> = None;
    let name: Vec<&str> = words(name).collect();
    while let Some(word) = name.get(p) {
        match pattern.get(s) {
            Some(&ANY_WORDS) => {
                any = Some((s + 1, p));
                s += 1;
                continue;
            }
            Some(&w) if w == ONE_WORD || w == *word => {
                (s, p) = (s + 1, p + 1);
                continue;
            }
            _ => {}
        }
        let Some((after, taken)) = any else {
            return false;
        };
        any = Some((after, taken + 1));
        (s, p) = (after, taken + 1);
    }
    pattern
        .get(s..)
        .unwrap_or_default()
        .iter()
        .all(|w| *w == ANY_WORDS)
}

/// Whether a subscription to `subscription` receives a message published to `destination`:
/// the same destination, or a `/topic/` wildcard pattern matching a `/topic/` destination
/// (whose own `*` and `#` are literal words).
pub fn reaches(subscription: &str, destination: &str) -> bool {
    if subscription == destination {
        return true;
    }
    match (
        topic_wildcard(subscription),
        destination.strip_prefix(TOPIC_PREFIX),
    ) {
        (Some(pattern), Some(name)) => topic_matches(pattern, name),
        _ => false,
    }
}

#[cfg(test)]
#[path = "destination_tests.rs"]
mod tests;
