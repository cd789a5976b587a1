use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

/// Per destination of the model: its epoch and every (offset, message, at) it was given.
type Model<'a> = HashMap<&'a str, (String, Vec<(u64, u64, Instant)>)>;

const DESTINATIONS: [&str; 3] = ["/topic/a", "/topic/b", "/topic/c"];

fn config(max_messages: usize, max_age_ms: u64, max_bytes: usize) -> HistoryConfig {
    HistoryConfig::default()
        .max_messages(max_messages)
        .max_age(Duration::from_millis(max_age_ms))
        .max_bytes(max_bytes)
}

/// Appends message `n` (its value is its number) and returns its offset.
fn append(h: &mut History<u64>, d: &str, size: usize, now: Instant, n: u64) -> (u64, String) {
    let mut at = (0, String::new());
    h.append(d, now, |p| {
        at = (p.offset, p.epoch.clone());
        (n, size)
    });
    at
}

#[test]
fn offsets_count_from_one_and_recovery_replays_what_came_after() {
    let t0 = Instant::now();
    let mut h = History::new(&config(10, 60_000, 1 << 20), 7);
    let (first, epoch) = append(&mut h, "/topic/a", 1, t0, 100);
    assert_eq!(first, 1);
    for n in 101..105 {
        append(&mut h, "/topic/a", 1, t0, n);
    }
    let r = h.recover("/topic/a", Some((2, &epoch)), t0);
    assert!(r.complete);
    assert_eq!(r.replay, vec![(3, 102), (4, 103), (5, 104)]);
    assert_eq!(r.position.offset, 5);
    let caught_up = h.recover("/topic/a", Some((5, &epoch)), t0);
    assert!(caught_up.complete && caught_up.replay.is_empty());
    let other = h.recover("/topic/a", Some((2, "bogus")), t0);
    assert!(!other.complete && other.replay.is_empty());
    let future = h.recover("/topic/a", Some((9, &epoch)), t0);
    assert!(!future.complete && future.replay.is_empty());
}

#[test]
fn a_count_bound_leaves_a_gap_that_recovery_reports() {
    let t0 = Instant::now();
    let mut h = History::new(&config(3, 60_000, 1 << 20), 7);
    let (_, epoch) = append(&mut h, "/topic/a", 1, t0, 1);
    for n in 2..=6 {
        append(&mut h, "/topic/a", 1, t0, n);
    }
    let r = h.recover("/topic/a", Some((1, &epoch)), t0);
    assert!(!r.complete, "offsets 2 and 3 are gone");
    assert_eq!(r.replay, vec![(4, 4), (5, 5), (6, 6)]);
    assert!(h.recover("/topic/a", Some((3, &epoch)), t0).complete);
}

#[test]
fn an_idle_stream_is_forgotten_after_max_age_and_starts_a_new_epoch() {
    let t0 = Instant::now();
    let mut h = History::new(&config(10, 1_000, 1 << 20), 7);
    let (_, epoch) = append(&mut h, "/topic/a", 1, t0, 1);
    let later = t0 + Duration::from_millis(1_500);
    let r = h.recover("/topic/a", Some((1, &epoch)), later);
    assert!(!r.complete);
    assert_ne!(r.position.epoch, epoch);
    assert_eq!(r.position.offset, 0);
    assert_eq!(append(&mut h, "/topic/a", 1, later, 2).0, 1);
}

#[test]
fn the_byte_bound_evicts_the_oldest_of_any_destination() {
    let t0 = Instant::now();
    let mut h = History::new(&config(10, 60_000, 25), 7);
    let (_, a) = append(&mut h, "/topic/a", 10, t0, 1);
    append(&mut h, "/topic/b", 10, t0, 2);
    append(&mut h, "/topic/b", 10, t0, 3);
    assert!(h.bytes() <= 25);
    let r = h.recover("/topic/a", Some((0, &a)), t0);
    assert!(
        !r.complete && r.replay.is_empty(),
        "a's only message went first"
    );
    assert_eq!(r.position.epoch, a, "a is still known: its epoch stays");
    assert_eq!(
        h.retained("/topic/b", 10, t0).map(|(_, m)| m.len()),
        Some(2)
    );
}

#[test]
fn retained_gives_the_last_messages_and_the_position() {
    let t0 = Instant::now();
    let mut h = History::new(&config(10, 60_000, 1 << 20), 7);
    assert!(h.retained("/topic/a", 5, t0).is_none());
    for n in 1..=4 {
        append(&mut h, "/topic/a", 1, t0, n);
    }
    let (position, messages) = h.retained("/topic/a", 2, t0).unwrap();
    assert_eq!(position.offset, 4);
    assert_eq!(messages, vec![(3, 3), (4, 4)]);
}

proptest! {
    #[test]
    fn offsets_increase_replay_is_exactly_what_is_retained_and_bounds_hold(
        ops in prop::collection::vec((0usize..3, 0usize..40, 0u64..300, any::<bool>()), 1..200),
        max_messages in 1usize..8,
        max_age_ms in 100u64..2_000,
        max_bytes in 10usize..200,
    ) {
        let t0 = Instant::now();
        let mut h = History::new(&config(max_messages, max_age_ms, max_bytes), 1);
        let max_age = Duration::from_millis(max_age_ms);
        // Per destination: its epoch, and every (offset, message, at) it was given.
        let mut model: Model<'_> = HashMap::new();
        let mut now = t0;
        for (n, (d, size, dt, probe)) in ops.into_iter().enumerate() {
            let d = DESTINATIONS[d];
            now += Duration::from_millis(dt);
            let n = n as u64;
            if probe {
                let Some((epoch, given)) = model.get(d) else { continue };
                let Some(&(since, _, _)) = given.get(given.len() / 2) else { continue };
                let r = h.recover(d, Some((since, epoch)), now);
                if r.position.epoch != *epoch {
                    prop_assert!(!r.complete && r.replay.is_empty());
                    continue;
                }
                let kept = h.retained(d, usize::MAX, now).map(|(_, m)| m).unwrap_or_default();
                let after: Vec<(u64, u64)> =
                    kept.iter().copied().filter(|(o, _)| *o > since).collect();
                prop_assert_eq!(&r.replay, &after);
                let last = given.last().map_or(0, |g| g.0);
                let whole = after.first().is_some_and(|(o, _)| *o == since + 1);
                prop_assert_eq!(r.complete, since == last || whole);
                continue;
            }
            let (offset, epoch) = append(&mut h, d, size, now, n);
            let entry = model.entry(d).or_insert_with(|| (epoch.clone(), Vec::new()));
            if entry.0 != epoch {
                *entry = (epoch, Vec::new());
                prop_assert_eq!(offset, 1, "a new epoch starts at 1");
            }
            if let Some(&(previous, _, _)) = entry.1.last() {
                prop_assert_eq!(offset, previous + 1, "offsets increase by one");
            }
            entry.1.push((offset, n, now));
            prop_assert!(h.bytes() <= max_bytes, "bytes {} > {}", h.bytes(), max_bytes);
            for (d, (_, given)) in &model {
                let kept = h.retained(d, usize::MAX, now).map(|(_, m)| m).unwrap_or_default();
                prop_assert!(kept.len() <= max_messages);
                // What is kept is the newest of what was given, contiguous, none too old.
                let tail = &given[given.len().saturating_sub(kept.len())..];
                let expected: Vec<(u64, u64)> = tail.iter().map(|g| (g.0, g.1)).collect();
                if h.retained(d, 0, now).is_some_and(|(p, _)| Some(&p.epoch) == model.get(d).map(|m| &m.0)) {
                    prop_assert_eq!(&kept, &expected);
                    prop_assert!(tail.iter().all(|g| g.2 + max_age > now));
                }
            }
        }
    }
}
