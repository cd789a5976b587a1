//! Presence (`StompConfig::presence`, docs/stomp.md "Presence") against a real server:
//! SUBSCRIBE `/presence{destination}` gets a snapshot, then join and leave events in order,
//! over TCP and SockJS; a user's second session is not a second join; counts stay exact
//! through the churn of 1,000 sessions; and presence is off by default and outside its
//! prefixes.

mod stomp_common;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;
use sockjs_server::Config;
use sockjs_server::stomp::{Frame, Presence, Stomp, StompConfig, Users};
use stomp_common::{AnyClient, StompServer, TcpClient, Transport, WAIT};

const LOBBY: &str = "/topic/chat.lobby";
const WATCH_LOBBY: &str = "/presence/topic/chat.lobby";

/// A server with presence on `/topic/chat.` and users alice, bob, carol and u0..u19 (pw).
fn server() -> StompServer {
    let mut users = Users::new();
    for name in ["alice", "bob", "carol"] {
        users = users.login(name, "pw");
    }
    for i in 0..20 {
        users = users.login(format!("u{i}"), "pw");
    }
    let config = StompConfig::default().presence(vec!["/topic/chat.".to_owned()]);
    let stomp = Stomp::builder(config)
        .authenticator(users)
        .build()
        .expect("stomp");
    StompServer::serve(stomp, &Config::default())
}

fn login(name: &str) -> String {
    format!("login:{name}\npasscode:pw\n")
}

fn json(frame: &Frame) -> Value {
    serde_json::from_slice(&frame.body).expect("a JSON body")
}

/// SUBSCRIBEs `id` to `destination` with a receipt: the snapshot MESSAGE comes first, then
/// the RECEIPT. Returns the snapshot's body.
async fn watch(client: &mut AnyClient, id: &str, destination: &str) -> Value {
    client
        .send(&format!(
            "SUBSCRIBE\nid:{id}\ndestination:{destination}\nreceipt:w-{id}\n\n\0"
        ))
        .await;
    let snapshot = client.frame().await;
    assert_eq!(snapshot.command.as_str(), "MESSAGE", "{snapshot:?}");
    assert_eq!(snapshot.get("presence"), Some("snapshot"));
    assert_eq!(snapshot.get("subscription"), Some(id));
    assert_eq!(snapshot.get("destination"), Some(destination));
    assert_eq!(snapshot.get("content-type"), Some("application/json"));
    let receipt = client.frame().await;
    assert_eq!(receipt.get("receipt-id"), Some(format!("w-{id}").as_str()));
    json(&snapshot)
}

/// The next presence event: (`presence` header, `user` header, body).
async fn event(client: &mut AnyClient) -> (String, String, Value) {
    let f = client.frame().await;
    assert_eq!(f.command.as_str(), "MESSAGE", "{f:?}");
    let kind = f.get("presence").expect("a presence header").to_owned();
    let user = f.get("user").expect("a user header").to_owned();
    (kind, user, json(&f))
}

/// Asks for a receipt and expects it as the very next frame: nothing else was pending.
async fn nothing_pending(client: &mut AnyClient, tag: &str) {
    client
        .send(&format!(
            "SUBSCRIBE\nid:probe-{tag}\ndestination:/topic/probe\nreceipt:p-{tag}\n\n\0"
        ))
        .await;
    let f = client.frame().await;
    assert_eq!(
        f.get("receipt-id"),
        Some(format!("p-{tag}").as_str()),
        "{f:?}"
    );
}

/// Users and their session counts, as `Stomp::presence` lists them.
fn counts(p: &Presence) -> BTreeMap<String, usize> {
    p.users
        .iter()
        .map(|u| (u.name.clone(), u.sessions))
        .collect()
}

/// Waits (bounded by [`WAIT`]) until the presence of `destination` is `want`: sessions
/// leave when their connection's task or actor stops, just after the client sees the end.
async fn eventually(stomp: &Stomp, destination: &str, want: &BTreeMap<String, usize>) {
    let start = Instant::now();
    loop {
        let p = stomp.presence(destination);
        if &counts(&p) == want {
            assert_eq!(p.sessions, want.values().sum::<usize>());
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "{destination}: {p:?}, want {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_presence_subscription_gets_a_snapshot_then_joins_and_leaves_in_order() {
    for transport in [Transport::Tcp, Transport::SockJs] {
        let server = server();
        let (mut alice, _) = AnyClient::connect(&server, transport, &login("alice")).await;
        alice.subscribe("a", LOBBY).await;
        let (mut watcher, _) = AnyClient::connect(&server, transport, &login("bob")).await;
        let snapshot = watch(&mut watcher, "p", WATCH_LOBBY).await;
        assert_eq!(
            snapshot,
            serde_json::json!({
                "destination": LOBBY,
                "users": [{"user": "alice", "sessions": 1}],
                "user_count": 1,
                "session_count": 1,
            }),
            "{transport:?}"
        );

        // carol joins with two sessions; a wildcard and another room are not this presence.
        let (mut carol, _) = AnyClient::connect(&server, transport, &login("carol")).await;
        carol.subscribe("c", LOBBY).await;
        let (mut carol2, _) = TcpClient::connect(server.tcp, &login("carol")).await;
        carol2
            .send("SUBSCRIBE\nid:c2\ndestination:/topic/chat.lobby\nreceipt:r\n\n\0")
            .await;
        assert_eq!(carol2.frame().await.get("receipt-id"), Some("r"));
        alice.subscribe("wild", "/topic/chat.*").await;
        alice.subscribe("other", "/topic/chat.other").await;
        let (kind, user, body) = event(&mut watcher).await;
        assert_eq!((kind.as_str(), user.as_str()), ("join", "carol"));
        assert_eq!(body["event"], "join");
        assert_eq!(body["sessions"], 1);
        assert_eq!(
            (body["user_count"].as_u64(), body["session_count"].as_u64()),
            (Some(2), Some(2))
        );
        let p = server.stomp.presence(LOBBY);
        assert!(p.tracked);
        assert_eq!(p.user_count(), 2);
        assert_eq!(p.user("carol").map(|u| u.sessions), Some(2));
        assert_eq!(p.sessions, 3);

        // carol's first session leaves by UNSUBSCRIBE: she is still there (her TCP one).
        carol.send("UNSUBSCRIBE\nid:c\nreceipt:u\n\n\0").await;
        assert_eq!(carol.frame().await.get("receipt-id"), Some("u"));
        // alice leaves by DISCONNECT, then carol's last session vanishes without a word.
        alice.send("DISCONNECT\nreceipt:bye\n\n\0").await;
        assert_eq!(alice.frame().await.get("receipt-id"), Some("bye"));
        let (kind, user, body) = event(&mut watcher).await;
        assert_eq!((kind.as_str(), user.as_str()), ("leave", "alice"));
        assert_eq!(
            (body["sessions"].as_u64(), body["user_count"].as_u64()),
            (Some(0), Some(1))
        );
        drop(carol2);
        let (kind, user, body) = event(&mut watcher).await;
        assert_eq!((kind.as_str(), user.as_str()), ("leave", "carol"));
        assert_eq!(
            (body["user_count"].as_u64(), body["session_count"].as_u64()),
            (Some(0), Some(0))
        );
        nothing_pending(&mut watcher, "end").await;
        assert!(server.stomp.presence(LOBBY).users.is_empty());
        assert_eq!(
            counts(&server.stomp.presence("/topic/chat.other")),
            BTreeMap::new(),
            "alice's DISCONNECT ended her other room too"
        );
    }
}

#[actix_web::test]
async fn a_user_with_two_sessions_joins_once_and_leaves_once() {
    let server = server();
    let (mut watcher, _) = AnyClient::connect(&server, Transport::Tcp, &login("bob")).await;
    let snapshot = watch(&mut watcher, "p", WATCH_LOBBY).await;
    assert_eq!(snapshot["users"], serde_json::json!([]));
    let (mut tab1, _) = AnyClient::connect(&server, Transport::Tcp, &login("alice")).await;
    let (mut tab2, _) = AnyClient::connect(&server, Transport::SockJs, &login("alice")).await;
    tab1.subscribe("a", LOBBY).await;
    tab2.subscribe("a", LOBBY).await;
    tab2.subscribe("again", LOBBY).await;
    let (kind, user, body) = event(&mut watcher).await;
    assert_eq!(
        (kind.as_str(), user.as_str(), body["sessions"].as_u64()),
        ("join", "alice", Some(1))
    );
    eventually(
        &server.stomp,
        LOBBY,
        &BTreeMap::from([("alice".to_owned(), 2)]),
    )
    .await;
    nothing_pending(&mut watcher, "two-tabs").await;
    tab1.send("DISCONNECT\nreceipt:bye\n\n\0").await;
    assert_eq!(tab1.frame().await.get("receipt-id"), Some("bye"));
    eventually(
        &server.stomp,
        LOBBY,
        &BTreeMap::from([("alice".to_owned(), 1)]),
    )
    .await;
    tab2.send("UNSUBSCRIBE\nid:a\nreceipt:u1\n\n\0").await;
    assert_eq!(tab2.frame().await.get("receipt-id"), Some("u1"));
    nothing_pending(&mut watcher, "one-left").await;
    tab2.send("UNSUBSCRIBE\nid:again\nreceipt:u2\n\n\0").await;
    assert_eq!(tab2.frame().await.get("receipt-id"), Some("u2"));
    let (kind, user, _) = event(&mut watcher).await;
    assert_eq!((kind.as_str(), user.as_str()), ("leave", "alice"));
    nothing_pending(&mut watcher, "gone").await;
}

/// Churn: four waves of 250 TCP sessions of 20 users over 3 rooms (some subscribe twice to
/// their room, every fourth also to a wildcard, which is not presence). Each wave a quarter
/// DISCONNECT, a quarter vanish, a quarter UNSUBSCRIBE and stay, the rest stay subscribed.
/// After every wave `Stomp::presence` equals a model of who stayed, and a watcher of room 0,
/// replaying its joins and leaves (a join of a present user or a leave of an absent one
/// fails), holds exactly the model's users, with nothing more pending. At the end all leave.
#[actix_web::test]
async fn presence_counts_stay_exact_through_the_churn_of_a_thousand_sessions() {
    const WAVES: usize = 4;
    const WAVE: usize = 250;
    const USERS: usize = 20;
    const ROOMS: usize = 3;
    let server = server();
    let stomp = server.stomp.clone();
    let room = |r: usize| format!("/topic/chat.room{r}");
    let (mut watcher, _) = AnyClient::connect(&server, Transport::Tcp, &login("bob")).await;
    watch(&mut watcher, "p", "/presence/topic/chat.room0").await;
    let mut seen: BTreeMap<String, ()> = BTreeMap::new(); // room 0 as the events tell it
    let mut kept = Vec::new(); // (client, user, room) still subscribed
    let mut idle = Vec::new(); // clients that unsubscribed and stay connected
    for wave in 0..WAVES {
        let mut joined = Vec::new();
        for i in 0..WAVE {
            let n = wave * WAVE + i;
            let user = format!("u{}", (n * 7) % USERS);
            let (mut client, _) = TcpClient::connect(server.tcp, &login(&user)).await;
            let r = n % ROOMS;
            let mut frames = format!("SUBSCRIBE\nid:r\ndestination:{}\n\n\0", room(r));
            if n.is_multiple_of(3) {
                frames.push_str(&format!("SUBSCRIBE\nid:r2\ndestination:{}\n\n\0", room(r)));
            }
            if n.is_multiple_of(4) {
                frames.push_str("SUBSCRIBE\nid:w\ndestination:/topic/chat.*\n\n\0");
            }
            frames.push_str("SUBSCRIBE\nid:done\ndestination:/queue/none\nreceipt:ok\n\n\0");
            client.send(&frames).await;
            assert_eq!(client.frame().await.get("receipt-id"), Some("ok"));
            joined.push((client, user, r, n.is_multiple_of(3)));
        }
        for (i, (mut client, user, r, twice)) in joined.into_iter().enumerate() {
            match i % 4 {
                0 => client.disconnect().await,
                1 => drop(client),
                2 => {
                    let mut frames = "UNSUBSCRIBE\nid:r\n\n\0".to_owned();
                    if twice {
                        frames.push_str("UNSUBSCRIBE\nid:r2\n\n\0");
                    }
                    frames.push_str("UNSUBSCRIBE\nid:done\nreceipt:u\n\n\0");
                    client.send(&frames).await;
                    assert_eq!(client.frame().await.get("receipt-id"), Some("u"));
                    idle.push(client);
                }
                _ => kept.push((client, user, r)),
            }
        }
        for r in 0..ROOMS {
            let mut want: BTreeMap<String, usize> = BTreeMap::new();
            for (_, user, _) in kept.iter().filter(|k| k.2 == r) {
                *want.entry(user.clone()).or_default() += 1;
            }
            eventually(&stomp, &room(r), &want).await;
            if r == 0 {
                replay(&mut watcher, &mut seen, &want, wave).await;
            }
        }
    }
    drop(kept);
    drop(idle);
    for r in 0..ROOMS {
        eventually(&stomp, &room(r), &BTreeMap::new()).await;
    }
    replay(&mut watcher, &mut seen, &BTreeMap::new(), WAVES).await;
}

/// Applies the watcher's events to `seen` up to a receipt asked for now (the counts are
/// already `want`, so every event of the changes is queued before it), then compares.
async fn replay(
    watcher: &mut AnyClient,
    seen: &mut BTreeMap<String, ()>,
    want: &BTreeMap<String, usize>,
    wave: usize,
) {
    watcher
        .send(&format!(
            "SUBSCRIBE\nid:probe{wave}\ndestination:/topic/probe\nreceipt:p{wave}\n\n\0"
        ))
        .await;
    loop {
        let f = watcher.frame().await;
        if f.command.as_str() == "RECEIPT" {
            assert_eq!(f.get("receipt-id"), Some(format!("p{wave}").as_str()));
            break;
        }
        let (kind, user) = (f.get("presence"), f.get("user").unwrap_or_default());
        match kind {
            Some("join") => assert!(
                seen.insert(user.to_owned(), ()).is_none(),
                "{user} joined twice"
            ),
            Some("leave") => assert!(seen.remove(user).is_some(), "{user} left unseen"),
            _ => panic!("unexpected frame {f:?}"),
        }
        assert_eq!(json(&f)["user"], user);
    }
    assert!(
        seen.keys().eq(want.keys()),
        "wave {wave}: events say {seen:?}, want {want:?}"
    );
}

#[actix_web::test]
async fn presence_is_off_by_default_and_outside_its_prefixes() {
    let plain = StompServer::start(StompConfig::default());
    let (mut alice, _) = AnyClient::connect(&plain, Transport::Tcp, &login("alice")).await;
    alice.subscribe("a", LOBBY).await;
    let p = plain.stomp.presence(LOBBY);
    assert!(!p.tracked && p.users.is_empty() && p.sessions == 0, "{p:?}");
    let (mut bob, _) = AnyClient::connect(&plain, Transport::Tcp, &login("bob")).await;
    bob.send("SUBSCRIBE\nid:p\ndestination:/presence/topic/chat.lobby\n\n\0")
        .await;
    assert_eq!(bob.frame().await.command.as_str(), "ERROR");

    let server = server();
    let (mut alice, _) = AnyClient::connect(&server, Transport::SockJs, &login("alice")).await;
    alice.subscribe("news", "/topic/news").await;
    alice.subscribe("wild", "/topic/chat.*").await;
    for destination in ["/topic/news", "/topic/chat.*"] {
        let p = server.stomp.presence(destination);
        assert!(!p.tracked && p.users.is_empty(), "{p:?}");
    }
    for watched in ["/presence/topic/news", "/presence/topic/chat.*"] {
        let (mut bob, _) = AnyClient::connect(&server, Transport::Tcp, &login("bob")).await;
        bob.send(&format!("SUBSCRIBE\nid:p\ndestination:{watched}\n\n\0"))
            .await;
        let error = bob.frame().await;
        assert_eq!(error.command.as_str(), "ERROR", "{watched}");
        assert!(
            error
                .get("message")
                .unwrap_or_default()
                .contains("unknown destination")
        );
    }
}
