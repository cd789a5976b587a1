//! `Stomp::registry()` (Spring's `SimpUserRegistry`) against a real server: users connected
//! over TCP and over SockJS, their sessions and subscriptions, subscriber counts with
//! wildcard subscriptions counted, and the counts after they leave.

mod stomp_common;

use std::time::Instant;

use sockjs_server::Config;
use sockjs_server::stomp::{Stomp, StompConfig, UserRegistry, Users};
use stomp_common::{AnyClient, StompServer, TcpClient, Transport, WAIT};

/// Waits (bounded by [`WAIT`]) until `done` holds for the registry: sessions leave when
/// their connection's actor or task stops, just after the client sees the end.
async fn eventually(registry: UserRegistry<'_>, done: impl Fn(&UserRegistry<'_>) -> bool) {
    let start = Instant::now();
    while !done(&registry) {
        assert!(start.elapsed() < WAIT, "registry: {:?}", registry.users());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn the_registry_lists_users_sessions_and_subscriptions_over_tcp_and_sockjs() {
    let server = StompServer::start(StompConfig::default());
    let registry = server.stomp.registry();
    let login = |name: &str| format!("login:{name}\npasscode:pw\n");
    let (mut alice, connected) = AnyClient::connect(&server, Transport::Tcp, &login("alice")).await;
    alice.subscribe("a1", "/topic/chat.*").await;
    alice.subscribe("a2", "/queue/work").await;
    let (mut bob, _) = AnyClient::connect(&server, Transport::SockJs, &login("bob")).await;
    bob.subscribe("b1", "/topic/chat.lobby").await;
    bob.subscribe("b2", "/user/queue/echo").await;
    let (mut bob2, _) = AnyClient::connect(&server, Transport::Tcp, &login("bob")).await;
    bob2.subscribe("all", "/topic/#").await;

    assert_eq!(registry.user_count(), 2);
    let names: Vec<String> = registry.users().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["alice", "bob"]);
    let a = registry.user("alice").expect("alice online");
    assert_eq!(a.sessions.len(), 1);
    assert_eq!(Some(a.sessions[0].id.as_str()), connected.get("session"));
    let subs: Vec<(&str, &str)> = a.sessions[0]
        .subscriptions
        .iter()
        .map(|s| (s.id.as_str(), s.destination.as_str()))
        .collect();
    assert_eq!(subs, [("a1", "/topic/chat.*"), ("a2", "/queue/work")]);
    let b = registry.user("bob").expect("bob online");
    assert_eq!(b.sessions.len(), 2);
    assert!(registry.user("carol").is_none());

    // Wildcard subscriptions count: they receive what is published there.
    assert_eq!(registry.subscriber_count("/topic/chat.lobby"), 3);
    assert_eq!(registry.subscriber_count("/topic/chat"), 1);
    assert_eq!(registry.subscriber_count("/topic/chat.lobby.x"), 1);
    assert_eq!(registry.subscriber_count("/queue/work"), 1);
    assert_eq!(registry.subscriber_count("/user/queue/echo"), 1);

    bob.send("UNSUBSCRIBE\nid:b1\nreceipt:u\n\n\0").await;
    assert_eq!(bob.frame().await.get("receipt-id"), Some("u"));
    assert_eq!(registry.subscriber_count("/topic/chat.lobby"), 2);

    alice.send("DISCONNECT\nreceipt:bye\n\n\0").await;
    assert_eq!(alice.frame().await.get("receipt-id"), Some("bye"));
    eventually(registry, |r| r.user_count() == 1).await;
    assert_eq!(registry.subscriber_count("/topic/chat.lobby"), 1);
    assert_eq!(registry.subscriber_count("/queue/work"), 0);
    drop(bob2);
    eventually(registry, |r| {
        r.user("bob").is_some_and(|u| u.sessions.len() == 1)
    })
    .await;
    assert_eq!(registry.subscriber_count("/topic/chat.lobby"), 0);
}

/// Churn: three waves of 300 TCP sessions of 20 users join and subscribe (an exact topic
/// each, a wildcard for every other one); each wave a third leave with DISCONNECT and a third
/// vanish without a word, the rest stay. After every wave the registry's counts equal a
/// model of the sessions that stayed; after all go, it is empty.
#[actix_web::test]
async fn counts_stay_exact_through_churn() {
    const WAVE: usize = 300;
    const USERS: usize = 20;
    const ROOMS: usize = 5;
    let users = (0..USERS).fold(Users::new(), |u, i| u.login(format!("u{i}"), "pw"));
    let stomp = Stomp::builder(StompConfig::default())
        .authenticator(users)
        .build()
        .expect("stomp");
    let server = StompServer::serve(stomp, &Config::default());
    let registry = server.stomp.registry();
    let mut kept = Vec::new(); // (client, user, room, wildcard)
    for wave in 0..3 {
        let mut joined = Vec::new();
        for i in 0..WAVE {
            let n = wave * WAVE + i;
            let user = format!("u{}", n % USERS);
            let (mut client, _) =
                TcpClient::connect(server.tcp, &format!("login:{user}\npasscode:pw\n")).await;
            let room = n % ROOMS;
            let wildcard = n.is_multiple_of(2);
            let mut frames = format!("SUBSCRIBE\nid:r\ndestination:/topic/room.{room}\n\n\0");
            if wildcard {
                frames.push_str("SUBSCRIBE\nid:w\ndestination:/topic/room.*\n\n\0");
            }
            frames.push_str("SUBSCRIBE\nid:done\ndestination:/queue/none\nreceipt:ok\n\n\0");
            client.send(&frames).await;
            assert_eq!(client.frame().await.get("receipt-id"), Some("ok"));
            joined.push((client, user, room, wildcard));
        }
        for (i, entry) in joined.into_iter().enumerate() {
            match i % 3 {
                0 => entry.0.disconnect().await,
                1 => drop(entry.0),
                _ => kept.push(entry),
            }
        }
        let sessions = kept.len();
        let users: std::collections::BTreeSet<&String> = kept.iter().map(|k| &k.1).collect();
        let user_count = users.len();
        eventually(registry, |r| {
            r.users().iter().map(|u| u.sessions.len()).sum::<usize>() == sessions
        })
        .await;
        assert_eq!(registry.user_count(), user_count, "wave {wave}");
        let wildcards = kept.iter().filter(|k| k.3).count();
        for room in 0..ROOMS {
            let exact = kept.iter().filter(|k| k.2 == room).count();
            assert_eq!(
                registry.subscriber_count(&format!("/topic/room.{room}")),
                exact + wildcards,
                "wave {wave}, room {room}"
            );
        }
        assert_eq!(registry.subscriber_count("/queue/none"), sessions);
        for user in users {
            let expected = kept.iter().filter(|k| &k.1 == user).count();
            let online = registry.user(user).map_or(0, |u| u.sessions.len());
            assert_eq!(online, expected, "wave {wave}, {user}");
        }
    }
    drop(kept);
    eventually(registry, |r| r.user_count() == 0).await;
    assert_eq!(registry.subscriber_count("/topic/room.0"), 0);
}
