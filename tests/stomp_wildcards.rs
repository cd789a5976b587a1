//! Topic wildcards (RabbitMQ's `*` and `#`) and `.`-separated `/app` route patterns (Spring's
//! `AntPathMatcher(".")`) against a real server, over TCP and over SockJS. The relay suite
//! (`tests/relay/`) runs the same wildcard case through RabbitMQ.

mod stomp_common;

use sockjs_server::Config;
use sockjs_server::stomp::{Stomp, StompConfig, Users};
use stomp_common::{AnyClient, StompServer, TcpClient, Transport};

const TRANSPORTS: [Transport; 2] = [Transport::Tcp, Transport::SockJs];

/// Every MESSAGE until one to `/topic/done`, as (subscription, destination), sorted.
async fn until_done(client: &mut AnyClient) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    loop {
        let f = client.frame().await;
        assert_eq!(f.command.as_str(), "MESSAGE", "{f:?}");
        let destination = f.get("destination").unwrap_or_default().to_owned();
        if destination == "/topic/done" {
            seen.sort();
            return seen;
        }
        seen.push((
            f.get("subscription").unwrap_or_default().to_owned(),
            destination,
        ));
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(s, d)| ((*s).to_owned(), (*d).to_owned()))
        .collect()
}

#[actix_web::test]
async fn star_matches_one_word_and_hash_any_number_once_per_subscription() {
    let server = StompServer::start(StompConfig::default());
    for transport in TRANSPORTS {
        let (mut sub, _) = AnyClient::connect(&server, transport, "").await;
        sub.subscribe("star", "/topic/chat.*").await;
        sub.subscribe("hash", "/topic/chat.#").await;
        sub.subscribe("done", "/topic/done").await;
        let (mut publisher, _) = TcpClient::connect(server.tcp, "").await;
        for name in ["chat", "chat.a", "chat.a.b", "chatty", "chat.*", "done"] {
            publisher
                .send(&format!("SEND\ndestination:/topic/{name}\n\n{name}\0"))
                .await;
        }
        let expected = pairs(&[
            ("hash", "/topic/chat"),
            ("hash", "/topic/chat.*"),
            ("hash", "/topic/chat.a"),
            ("hash", "/topic/chat.a.b"),
            ("star", "/topic/chat.*"),
            ("star", "/topic/chat.a"),
        ]);
        assert_eq!(until_done(&mut sub).await, expected, "{transport:?}");
        publisher.disconnect().await;
    }
}

/// A service splitting `/app` destinations on `.`: `chat.{room}` publishes to
/// `/topic/room.{room}` with a `room` header, `*.shout.{word}` to `/topic/shout` with `word`.
fn dotted() -> Stomp {
    let config = StompConfig::default().path_separator('.');
    Stomp::builder(config)
        .authenticator(Users::new())
        .route("chat.{room}", |message, context| {
            let room = message.param("room").unwrap_or_default().to_owned();
            let headers = vec![("room".to_owned(), room.clone())];
            context.publish(
                &format!("/topic/room.{room}"),
                headers,
                message.body.clone(),
            )?;
            Ok(())
        })
        .route("/*.shout.{word}", |message, context| {
            let word = message.param("word").unwrap_or_default().to_owned();
            let headers = vec![("word".to_owned(), word)];
            context.publish("/topic/shout", headers, message.body.clone())?;
            Ok(())
        })
        .build()
        .expect("valid config")
}

#[actix_web::test]
async fn dot_separated_app_routes_capture_segments() {
    let server = StompServer::serve(dotted(), &Config::default());
    for transport in TRANSPORTS {
        let (mut client, _) = AnyClient::connect(&server, transport, "").await;
        client.subscribe("rooms", "/topic/room.*").await;
        client.subscribe("shout", "/topic/shout").await;
        client
            .send("SEND\ndestination:/app/chat.lobby\n\nhello\0")
            .await;
        let m = client.frame().await;
        assert_eq!(
            (m.get("destination"), m.get("room"), &m.body[..]),
            (Some("/topic/room.lobby"), Some("lobby"), &b"hello"[..]),
            "{transport:?}"
        );
        client
            .send("SEND\ndestination:/app/anyone.shout.hey\n\nHEY\0")
            .await;
        let m = client.frame().await;
        assert_eq!(
            (m.get("subscription"), m.get("word")),
            (Some("shout"), Some("hey")),
            "{transport:?}"
        );
    }
}
