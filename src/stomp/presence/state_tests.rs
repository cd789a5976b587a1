use super::*;

const LOBBY: &str = "/topic/chat.lobby";
const EXPIRY: Duration = Duration::from_secs(15);

fn kinds(outcome: &Outcome) -> Vec<(Kind, &str, usize)> {
    let t = outcome.transitions.iter();
    t.map(|t| (t.kind, t.user.as_str(), t.sessions)).collect()
}

#[test]
fn a_user_joins_on_its_first_subscription_and_leaves_with_its_last() {
    let mut s = State::new("a".into(), EXPIRY);
    assert_eq!(
        kinds(&s.subscribe(1, "ann", "x", LOBBY)),
        [(Kind::Join, "ann", 1)]
    );
    assert!(
        kinds(&s.subscribe(1, "ann", "y", LOBBY)).is_empty(),
        "a second id"
    );
    assert!(
        kinds(&s.subscribe(2, "ann", "x", LOBBY)).is_empty(),
        "a second tab"
    );
    assert_eq!(s.users(LOBBY), BTreeMap::from([("ann".to_owned(), 2)]));
    assert!(kinds(&s.unsubscribe(1, "x")).is_empty());
    assert!(kinds(&s.disconnect(1)).is_empty(), "tab 2 is still there");
    assert_eq!(kinds(&s.unsubscribe(2, "x")), [(Kind::Leave, "ann", 0)]);
    assert!(s.users(LOBBY).is_empty());
    assert!(s.part().is_empty());
    assert_eq!(s.unsubscribe(9, "x"), Outcome::default());
}

#[test]
fn a_disconnect_ends_every_tracked_subscription_and_local_counts_are_announced() {
    let mut s = State::new("a".into(), EXPIRY);
    s.subscribe(1, "ann", "x", LOBBY);
    s.subscribe(1, "ann", "y", "/topic/chat.b");
    let out = s.disconnect(1);
    assert_eq!(out.transitions.len(), 2);
    let local: Vec<_> = out
        .local
        .iter()
        .map(|l| (l.destination.as_str(), l.sessions))
        .collect();
    assert_eq!(local, [("/topic/chat.b", 0), (LOBBY, 0)]);
}

#[test]
fn other_nodes_count_and_a_user_present_elsewhere_does_not_join_again() {
    let t0 = Instant::now();
    let mut a = State::new("a".into(), EXPIRY);
    let mut b = State::new("b".into(), EXPIRY);
    b.subscribe(1, "bob", "x", LOBBY);
    assert_eq!(
        kinds(&a.remote_part("b", b.part(), t0)),
        [(Kind::Join, "bob", 1)]
    );
    assert!(
        kinds(&a.subscribe(1, "bob", "x", LOBBY)).is_empty(),
        "bob was on b"
    );
    assert_eq!(a.users(LOBBY).get("bob"), Some(&2));
    assert!(kinds(&a.remote_change("b", LOBBY, "bob", 0, t0)).is_empty());
    assert_eq!(kinds(&a.disconnect(1)), [(Kind::Leave, "bob", 0)]);
    assert!(
        a.remote_change("a", LOBBY, "x", 3, t0)
            .transitions
            .is_empty(),
        "own news"
    );
    a.remote_change("b", LOBBY, "cid", 2, t0);
    assert!(kinds(&a.expire(t0 + EXPIRY / 2)).is_empty());
    assert_eq!(kinds(&a.expire(t0 + EXPIRY)), [(Kind::Leave, "cid", 0)]);
    assert!(a.users(LOBBY).is_empty());
}
