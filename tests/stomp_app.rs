//! Spring parity of `/app` handlers, interceptors and lifecycle events (issue #16), against a
//! real server over TCP and SockJS-framed WebSocket: a subscribe route answers only its
//! subscription and leaves none behind; a handler's error reaches the sender's
//! `/user/queue/errors` and the connection stays usable; a return value reaches `/topic/` +
//! the path; inbound interceptors rewrite, drop and reject; an outbound one rewrites; events
//! come in order, a transport lost included.

mod stomp_common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use conformance::ws::{Event as WsEvent, Ws};
use sockjs_server::Config;
use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::{
    AppError, Command, Event, Frame, Inbound, InterceptContext, Interceptor, Outbound, Reply,
    Stomp, StompConfig, Users,
};
use stomp_common::{Next, StompServer, TcpClient, WAIT};

/// Adds `stamped:in` to SENDs, drops frames with `do:drop`, rejects those with `do:reject`.
struct InboundRules;

impl Interceptor for InboundRules {
    fn inbound(&self, frame: &mut Frame, _: &InterceptContext<'_>) -> Inbound {
        match frame.get("do") {
            Some("drop") => Inbound::Drop,
            Some("reject") => Inbound::Reject("rejected by the test".into()),
            _ => {
                if frame.command == Command::Send {
                    frame.headers.push(("stamped".into(), "in".into()));
                }
                Inbound::Pass
            }
        }
    }

    fn intercepts_outbound(&self) -> bool {
        false
    }
}

/// Adds `stamped-out:yes` to every MESSAGE.
struct OutboundStamp;

impl Interceptor for OutboundStamp {
    fn outbound(&self, frame: &mut Frame, _: &InterceptContext<'_>) -> Outbound {
        if frame.command == Command::Message {
            frame.headers.push(("stamped-out".into(), "yes".into()));
        }
        Outbound::Pass
    }
}

type Seen = Arc<Mutex<Vec<Event>>>;

fn server() -> (StompServer, Seen) {
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let stomp = Stomp::builder(StompConfig::default())
        .authenticator(Users::new().login("alice", "pw"))
        .route("/greet", |m, _| {
            Ok(format!("hello, {}", m.text().unwrap_or_default()))
        })
        .route("/fail", |_, _| Err::<(), _>(AppError("boom".into())))
        .subscribe_route("/snapshot", |_, c| {
            Ok(Reply::new(format!("snapshot for {}", c.principal().name)).header("kind", "snap"))
        })
        .interceptor(InboundRules)
        .interceptor(OutboundStamp)
        .on_event(move |e| log.lock().unwrap().push(e.clone()))
        .build()
        .expect("valid service");
    (StompServer::serve(stomp, &Config::default()), seen)
}

const CONNECT: &str = "CONNECT\naccept-version:1.2\nhost:x\nlogin:alice\npasscode:pw\n\n\0";

/// A STOMP client over TCP or SockJS-framed WebSocket.
enum Conn {
    Tcp(TcpClient),
    SockJs(Box<Ws>, Decoder),
}

impl Conn {
    async fn open(server: &StompServer, way: &str) -> Conn {
        if way == "tcp" {
            return Conn::Tcp(TcpClient::open(server.tcp).await);
        }
        let url = format!("ws://{}/stomp/000/{}/websocket", server.http, unique());
        let mut ws = Ws::connect(&url).await.expect("websocket handshake");
        ws.expect_text("o").await.expect("open frame");
        Conn::SockJs(Box::new(ws), Decoder::new(Limits::default()))
    }

    async fn connected(server: &StompServer, way: &str) -> Conn {
        let mut c = Conn::open(server, way).await;
        c.send(CONNECT).await;
        let f = c.frame().await.expect("CONNECTED");
        assert_eq!(f.command, Command::Connected, "{way}: {f:?}");
        c
    }

    async fn send(&mut self, text: &str) {
        match self {
            Conn::Tcp(c) => c.send(text).await,
            Conn::SockJs(ws, _) => {
                let message = serde_json::to_string(&[text]).expect("a JSON array");
                ws.send(&message).await.expect("send");
            }
        }
    }

    /// The next frame; `None` once the connection ended.
    async fn frame(&mut self) -> Option<Frame> {
        let (ws, decoder) = match self {
            Conn::Tcp(c) => {
                return match c.next().await {
                    Next::Frame(f) => Some(f),
                    Next::Closed => None,
                };
            }
            Conn::SockJs(ws, decoder) => (ws, decoder),
        };
        loop {
            if let Some(frame) = decoder.next_frame().expect("valid frames") {
                return Some(frame);
            }
            match ws.next_event().await.expect("an event in time") {
                WsEvent::Text(text) => match text.strip_prefix('a') {
                    Some(array) => {
                        let messages: Vec<String> =
                            serde_json::from_str(array).expect("a[...] frame");
                        messages.iter().for_each(|m| decoder.push(m.as_bytes()));
                    }
                    None if text.starts_with('c') => return None,
                    None => {}
                },
                WsEvent::Binary(_) => panic!("binary message"),
                WsEvent::Close(_) | WsEvent::Gone(_) => return None,
            }
        }
    }

    async fn expect(&mut self, way: &str) -> Frame {
        self.frame()
            .await
            .unwrap_or_else(|| panic!("{way}: closed"))
    }
}

fn unique() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("app{}", N.fetch_add(1, Ordering::Relaxed))
}

const WAYS: [&str; 2] = ["tcp", "sockjs"];

#[actix_web::test]
async fn a_subscribe_route_answers_only_that_subscription_and_leaves_none() {
    let (server, _) = server();
    for way in WAYS {
        let mut c = Conn::connected(&server, way).await;
        c.send("SUBSCRIBE\nid:s1\ndestination:/app/snapshot\nreceipt:r1\n\n\0")
            .await;
        let answer = c.expect(way).await;
        assert_eq!(answer.command, Command::Message, "{way}");
        assert_eq!(answer.get("subscription"), Some("s1"), "{way}");
        assert_eq!(answer.get("destination"), Some("/app/snapshot"), "{way}");
        assert_eq!(answer.get("kind"), Some("snap"), "{way}");
        assert_eq!(&answer.body[..], b"snapshot for alice", "{way}");
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("r1"), "{way}");
        c.send("SUBSCRIBE\nid:t\ndestination:/topic/other\nreceipt:r2\n\n\0")
            .await;
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("r2"), "{way}");
        for topic in ["/topic/snapshot", "/topic/other"] {
            server.stomp.publish(topic, Vec::new(), "later").unwrap();
        }
        let next = c.expect(way).await;
        assert_eq!(next.get("subscription"), Some("t"), "{way}: nothing for s1");
        c.send("UNSUBSCRIBE\nid:s1\nreceipt:r3\n\n\0").await;
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("r3"), "{way}");
    }
}

#[actix_web::test]
async fn a_handler_error_reaches_the_senders_error_queue_and_the_connection_goes_on() {
    let (server, _) = server();
    for way in WAYS {
        let mut c = Conn::connected(&server, way).await;
        c.send("SUBSCRIBE\nid:e\ndestination:/user/queue/errors\n\n\0")
            .await;
        c.send("SUBSCRIBE\nid:g\ndestination:/topic/greet\n\n\0")
            .await;
        c.send("SEND\ndestination:/app/fail\nreceipt:f\n\n\0").await;
        let error = c.expect(way).await;
        assert_eq!(error.command, Command::Message, "{way}: {error:?}");
        assert_eq!(error.get("subscription"), Some("e"), "{way}");
        assert_eq!(
            error.get("message"),
            Some("application error: boom"),
            "{way}"
        );
        assert_eq!(&error.body[..], b"application error: boom", "{way}");
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("f"), "{way}");
        c.send("SEND\ndestination:/app/nowhere\n\n\0").await;
        let error = c.expect(way).await;
        assert!(
            error
                .get("message")
                .is_some_and(|m| m.contains("no handler")),
            "{way}: {error:?}"
        );
        // The return value goes to /topic/greet, with both interceptors' stamps.
        c.send("SEND\ndestination:/app/greet\n\nbob\0").await;
        let greeting = c.expect(way).await;
        assert_eq!(greeting.get("destination"), Some("/topic/greet"), "{way}");
        assert_eq!(&greeting.body[..], b"hello, bob", "{way}");
        assert_eq!(greeting.get("stamped-out"), Some("yes"), "{way}");
        c.send("SEND\ndestination:/topic/greet\n\nplain\0").await;
        let plain = c.expect(way).await;
        assert_eq!(plain.get("stamped"), Some("in"), "{way}: inbound rewrite");
        assert_eq!(
            plain.get("stamped-out"),
            Some("yes"),
            "{way}: outbound rewrite"
        );
    }
}

#[actix_web::test]
async fn inbound_interceptors_drop_silently_and_reject_with_an_error_then_close() {
    let (server, _) = server();
    for way in WAYS {
        let mut c = Conn::connected(&server, way).await;
        c.send("SEND\ndestination:/topic/x\ndo:drop\nreceipt:d\n\n\0")
            .await;
        c.send("SEND\ndestination:/topic/x\nreceipt:kept\n\n\0")
            .await;
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("kept"), "{way}");
        c.send("SEND\ndestination:/topic/x\ndo:reject\nreceipt:no\n\n\0")
            .await;
        let error = c.expect(way).await;
        assert_eq!(error.command, Command::Error, "{way}");
        assert_eq!(error.get("message"), Some("rejected by the test"), "{way}");
        assert_eq!(error.get("receipt-id"), Some("no"), "{way}");
        assert!(c.frame().await.is_none(), "{way}: closed");
        let mut c = Conn::open(&server, way).await;
        c.send("CONNECT\naccept-version:1.2\ndo:reject\n\n\0").await;
        assert_eq!(c.expect(way).await.command, Command::Error, "{way}");
        assert!(
            c.frame().await.is_none(),
            "{way}: a rejected CONNECT closes"
        );
    }
}

/// The events of connection `serial`, as short text.
fn events_of(seen: &Seen, serial: u64) -> Vec<String> {
    let seen = seen.lock().unwrap();
    seen.iter()
        .filter(|e| e.serial() == serial)
        .map(|e| match e {
            Event::Connected { user, .. } => format!("connected {user}"),
            Event::Subscribed {
                id, destination, ..
            } => format!("sub {id} {destination}"),
            Event::Unsubscribed {
                id, destination, ..
            } => format!("unsub {id} {destination}"),
            Event::Disconnected { .. } => "disconnected".to_owned(),
            _ => "other".to_owned(),
        })
        .collect()
}

#[actix_web::test]
async fn events_come_in_order_and_end_with_one_disconnected_even_when_the_transport_is_lost() {
    let (server, seen) = server();
    for way in WAYS {
        let before = seen.lock().unwrap().len();
        let mut c = Conn::connected(&server, way).await;
        c.send("SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\0").await;
        c.send("SUBSCRIBE\nid:2\ndestination:/app/snapshot\n\n\0")
            .await;
        c.send("UNSUBSCRIBE\nid:1\nreceipt:u\n\n\0").await;
        c.expect(way).await; // the snapshot
        assert_eq!(c.expect(way).await.get("receipt-id"), Some("u"), "{way}");
        let serial = seen.lock().unwrap()[before].serial();
        drop(c); // abruptly: no DISCONNECT
        let deadline = Instant::now() + WAIT;
        while !events_of(&seen, serial).contains(&"disconnected".to_owned()) {
            assert!(Instant::now() < deadline, "{way}: no Disconnected event");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(
            events_of(&seen, serial),
            [
                "connected alice",
                "sub 1 /topic/a",
                "sub 2 /app/snapshot",
                "unsub 1 /topic/a",
                "disconnected"
            ],
            "{way}"
        );
    }
}
