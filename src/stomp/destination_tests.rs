//! Tests of the destination grammar: classification, `/app` route patterns with either
//! separator, and topic wildcards against plain reference implementations (every small case,
//! then proptest). Must not: depend on anything but this module.
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

fn slash(pattern: &str) -> Pattern {
    Pattern::new(pattern, '/')
}

fn caught(pairs: &[(&str, &str)]) -> Option<Captures> {
    Some(
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[test]
fn patterns_capture_segments_and_rest() {
    let p = slash("/chat/{room}");
    assert_eq!(p.matches("/chat/lobby"), caught(&[("room", "lobby")]));
    assert_eq!(p.matches("/chat/lobby/x"), None);
    assert_eq!(p.matches("/chat/"), None);
    assert_eq!(slash("/echo/**").matches("/echo/a/b"), Some(vec![]));
    assert_eq!(slash("/echo/**").matches("/echo"), Some(vec![]));
    assert_eq!(slash("/ping").matches("/ping"), Some(vec![]));
    assert_eq!(slash("/ping").matches("/pong"), None);
}

#[test]
fn a_dot_separator_splits_patterns_and_paths_on_dots_with_or_without_a_leading_slash() {
    for pattern in ["chat.{room}", "/chat.{room}"] {
        let p = Pattern::new(pattern, '.');
        assert_eq!(p.matches("/chat.lobby"), caught(&[("room", "lobby")]));
        assert_eq!(p.matches("/chat.lobby.x"), None);
        assert_eq!(p.matches("/chat/lobby"), None, "a slash is no separator");
    }
    let spring = Pattern::new("springcamp.{year}", '.');
    assert_eq!(
        spring.matches("/springcamp.2024"),
        caught(&[("year", "2024")])
    );
    let p = Pattern::new("a.{x}.**", '.');
    assert_eq!(p.matches("/a.b/c.d.e"), caught(&[("x", "b/c")]));
}

#[test]
fn a_star_segment_matches_one_segment_without_capturing_and_a_star_in_a_word_is_literal() {
    let p = Pattern::new("chat.*.{user}", '.');
    assert_eq!(p.matches("/chat.lobby.ann"), caught(&[("user", "ann")]));
    assert_eq!(p.matches("/chat.ann"), None);
    assert_eq!(p.matches("/chat..ann"), None, "an empty segment is none");
    assert_eq!(slash("/a*").matches("/ab"), None);
    assert_eq!(slash("/a*").matches("/a*"), Some(vec![]));
    assert_eq!(
        slash("/**/{last}").matches("/x/y/z"),
        caught(&[("last", "z")])
    );
    assert_eq!(slash("/a/**/b").matches("/a/b"), Some(vec![]));
    assert_eq!(slash("/a/**/b").matches("/a/x/y/b"), Some(vec![]));
    assert_eq!(slash("/a/**/b").matches("/a/x/y"), None);
}

/// RabbitMQ's topic rules, written as plainly as possible: the reference the fast
/// matcher is checked against.
fn topic_reference(pattern: &[&str], name: &[&str]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((&"#", rest)) => (0..=name.len()).any(|i| topic_reference(rest, &name[i..])),
        Some((&"*", rest)) => !name.is_empty() && topic_reference(rest, &name[1..]),
        Some((word, rest)) => name.first() == Some(word) && topic_reference(rest, &name[1..]),
    }
}

fn split_words(name: &str) -> Vec<&str> {
    words(name).collect()
}

#[test]
fn topic_wildcards_follow_rabbitmq_topic_exchange_examples() {
    for (pattern, name, expected) in [
        ("a.#", "a", true),
        ("a.#", "a.b", true),
        ("a.#", "a.b.c", true),
        ("a.#", "b.a", false),
        ("#", "a.b.c", true),
        ("#", "x", true),
        ("a.*.c", "a.b.c", true),
        ("a.*.c", "a.c", false),
        ("a.*.c", "a.b.b.c", false),
        ("a.*", "a", false),
        ("a.*", "a.b", true),
        ("a.*", "a.b.c", false),
        ("a*", "ab", false),
        ("a*", "a*", true),
        ("*.b", ".b", true),
        ("#.b.#", "b", true),
        ("chat.*", "chat.*", true),
    ] {
        assert_eq!(topic_matches(pattern, name), expected, "{pattern} {name}");
    }
    assert_eq!(topic_wildcard("/topic/a.*"), Some("a.*"));
    assert_eq!(topic_wildcard("/topic/#"), Some("#"));
    assert_eq!(topic_wildcard("/topic/a*.b#"), None);
    assert_eq!(topic_wildcard("/queue/a.*"), None);
}

#[test]
fn topic_matching_agrees_with_the_reference_on_every_small_case() {
    let alphabet = ["a", "b", "", "*", "#", "a*"];
    let mut names = vec![String::new()];
    let mut all = names.clone();
    for _ in 0..4 {
        names = names
            .iter()
            .flat_map(|n| {
                alphabet.iter().map(move |w| match n.is_empty() {
                    true => (*w).to_owned(),
                    false => format!("{n}.{w}"),
                })
            })
            .collect();
        all.extend(names.iter().cloned());
    }
    for pattern in &all {
        for name in all
            .iter()
            .filter(|n| !n.contains(['*', '#']) || n.len() < 4)
        {
            let expected = topic_reference(&split_words(pattern), &split_words(name));
            assert_eq!(
                topic_matches(pattern, name),
                expected,
                "{pattern:?} {name:?}"
            );
        }
    }
}

/// Pattern matching written plainly: shortest `**` first, captures in order.
fn pattern_reference(segments: &[Segment], parts: &[&str]) -> Option<Captures> {
    let Some((first, rest)) = segments.split_first() else {
        return parts.is_empty().then(Vec::new);
    };
    if *first == Segment::Rest {
        return (0..=parts.len()).find_map(|i| pattern_reference(rest, &parts[i..]));
    }
    let (part, tail) = parts.split_first()?;
    let mut captures = Vec::new();
    first.takes(part, &mut captures).then_some(())?;
    captures.extend(pattern_reference(rest, tail)?);
    Some(captures)
}

proptest::proptest! {
    #[test]
    fn topic_matching_agrees_with_the_reference(
        pattern in proptest::collection::vec("[ab*#]|a\\*|", 0..8),
        name in proptest::collection::vec("[ab*#]|", 0..10),
    ) {
        let (pattern, name) = (pattern.join("."), name.join("."));
        let expected = topic_reference(&split_words(&pattern), &split_words(&name));
        proptest::prop_assert_eq!(topic_matches(&pattern, &name), expected);
    }

    #[test]
    fn pattern_matching_agrees_with_the_reference(
        pattern in proptest::collection::vec("[ab]|\\*|\\*\\*|\\{[xy]\\}|", 0..7),
        path in proptest::collection::vec("[ab]|", 0..9),
        dot in proptest::bool::ANY,
    ) {
        let separator = if dot { '.' } else { '/' };
        let sep = separator.to_string();
        let p = Pattern::new(&pattern.join(&sep), separator);
        let path = format!("/{}", path.join(&sep));
        let parts: Vec<&str> = path.trim_start_matches('/').split(separator).collect();
        proptest::prop_assert_eq!(p.matches(&path), pattern_reference(&p.segments, &parts));
    }
}
