//! Tests of the connection state machine with time passed in: negotiation, commands,
//! transactions, errors, heart-beats and the connect timeout, and a property test that no
//! input makes it panic. Must not: sleep or use a real transport.
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::stomp::auth::{Action, Users};
use crate::stomp::broker::tests::Recorder;
use crate::stomp::{Reply, Stomp, StompConfig};

fn stomp() -> Stomp {
    Stomp::builder(StompConfig {
        heart_beat: (1000, 1000),
        ..StompConfig::default()
    })
    .authenticator(Users::new().login("alice", "pw"))
    .authorizer(|_: &Principal, _: Action, d: &str| !d.starts_with("/topic/secret"))
    .route("/echo", |m, c| {
        c.reply("/queue/echo", Vec::new(), m.body.clone());
        Ok(())
    })
    .route("/fail", |_, _| {
        Err::<(), _>(crate::stomp::AppError("nope".into()))
    })
    .route("/greet", |m, _| {
        Ok(format!("hello, {}", m.text().unwrap_or_default()))
    })
    .subscribe_route("/snapshot", |_, _| Ok(Reply::new("snap")))
    .build()
    .unwrap()
}

struct Client {
    out: Arc<Recorder>,
    conn: Connection,
    t0: Instant,
}

impl Client {
    fn new(stomp: &Stomp) -> Self {
        let out = Arc::new(Recorder::default());
        let t0 = Instant::now();
        let conn = stomp.connection(out.clone(), None, t0);
        Client { out, conn, t0 }
    }

    fn send(&mut self, bytes: &str) -> Flow {
        self.conn.receive(bytes.as_bytes(), self.t0)
    }

    fn connected(stomp: &Stomp) -> Self {
        let mut c = Client::new(stomp);
        c.send("CONNECT\naccept-version:1.1,1.2\nheart-beat:500,2000\n\n\0");
        let frames = c.out.take();
        assert_eq!(frames[0].command, Command::Connected);
        c
    }
}

#[test]
fn connect_negotiates_the_highest_version_and_heart_beats() {
    let mut c = Client::new(&stomp());
    assert_eq!(
        c.send("STOMP\naccept-version:1.0,1.1\nheart-beat:500,2000\n\n\0"),
        Flow::Open
    );
    let f = &c.out.take()[0];
    assert_eq!(f.get("version"), Some("1.1"));
    assert_eq!(f.get("heart-beat"), Some("1000,1000"));
    assert!(
        f.get("user-name")
            .is_some_and(|n| n.starts_with("anonymous-"))
    );
    let next = c.conn.deadline().unwrap();
    assert_eq!(
        next,
        c.t0 + Duration::from_millis(2000),
        "server sends every max(1000, 2000)"
    );
}

#[test]
fn an_unsupported_version_gets_an_error_listing_supported_ones_then_close() {
    let mut c = Client::new(&stomp());
    assert_eq!(c.send("CONNECT\naccept-version:2.0\n\n\0"), Flow::Closed);
    let f = &c.out.take()[0];
    assert_eq!(
        (f.command, f.get("version")),
        (Command::Error, Some("1.0,1.1,1.2"))
    );
    assert!(c.out.is_closed());
}

#[test]
fn bad_credentials_and_frames_before_connect_are_refused() {
    let mut c = Client::new(&stomp());
    c.send("CONNECT\naccept-version:1.2\nlogin:alice\npasscode:no\n\n\0");
    assert_eq!(c.out.take()[0].get("message"), Some("bad credentials"));
    let mut c = Client::new(&stomp());
    c.send("SEND\ndestination:/topic/a\nreceipt:r1\n\n\0");
    let f = &c.out.take()[0];
    assert_eq!(
        (f.command, f.get("receipt-id")),
        (Command::Error, Some("r1"))
    );
}

#[test]
fn send_with_receipt_reaches_a_subscriber_then_the_receipt_follows() {
    let s = stomp();
    let mut a = Client::connected(&s);
    let mut b = Client::connected(&s);
    b.send("SUBSCRIBE\nid:0\ndestination:/topic/t\n\n\0");
    a.send("SEND\ndestination:/topic/t\ncontent-type:text/plain\nreceipt:r\n\nhello\0");
    let got = b.out.take();
    assert_eq!(&got[0].body[..], b"hello");
    assert_eq!(got[0].get("content-type"), Some("text/plain"));
    assert_eq!(a.out.take()[0].get("receipt-id"), Some("r"));
}

#[test]
fn transactions_hold_sends_until_commit_and_drop_them_on_abort() {
    let s = stomp();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:0\ndestination:/queue/q\n\n\0");
    a.send("BEGIN\ntransaction:t1\n\n\0SEND\ndestination:/queue/q\ntransaction:t1\n\nx\0");
    assert!(a.out.take().is_empty());
    a.send("ABORT\ntransaction:t1\n\n\0");
    a.send("BEGIN\ntransaction:t2\n\n\0SEND\ndestination:/queue/q\ntransaction:t2\n\ny\0");
    a.send("COMMIT\ntransaction:t2\n\n\0");
    let got = a.out.take();
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"y");
    assert_eq!(
        a.send("COMMIT\ntransaction:t2\n\n\0"),
        Flow::Closed,
        "t2 is over"
    );
}

#[test]
fn app_handlers_reply_to_their_sender_and_errors_go_to_its_error_queue() {
    let s = stomp();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:0\ndestination:/user/queue/echo\n\n\0");
    a.send("SUBSCRIBE\nid:1\ndestination:/user/queue/errors\n\n\0");
    a.send("SEND\ndestination:/app/echo\n\nping\0");
    let got = a.out.take();
    assert_eq!(&got[0].body[..], b"ping");
    assert_eq!(got[0].get("destination"), Some("/user/queue/echo"));
    let flow = a.send("SEND\ndestination:/app/nothing\nreceipt:r\n\n\0");
    assert_eq!(flow, Flow::Open);
    let got = a.out.take();
    assert_eq!(got[0].get("destination"), Some("/user/queue/errors"));
    assert!(
        got[0]
            .get("message")
            .is_some_and(|m| m.contains("no handler"))
    );
    assert_eq!(
        got[1].get("receipt-id"),
        Some("r"),
        "the frame was processed"
    );
    a.send("SEND\ndestination:/app/fail\n\n\0");
    assert_eq!(&a.out.take()[0].body[..], b"application error: nope");
}

#[test]
fn without_an_error_destination_app_errors_close_with_an_error() {
    let s = Stomp::builder(StompConfig::default().error_destination(None))
        .route("/fail", |_, _| {
            Err::<(), _>(crate::stomp::AppError("nope".into()))
        })
        .build()
        .unwrap();
    let mut a = Client::connected(&s);
    assert_eq!(a.send("SEND\ndestination:/app/nothing\n\n\0"), Flow::Closed);
    let mut b = Client::connected(&s);
    assert_eq!(b.send("SEND\ndestination:/app/fail\n\n\0"), Flow::Closed);
    let f = &b.out.take()[0];
    assert_eq!(f.command, Command::Error);
    assert!(f.get("message").is_some_and(|m| m.contains("nope")));
}

#[test]
fn a_return_value_goes_to_topic_plus_the_path() {
    let s = stomp();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:0\ndestination:/topic/greet\n\n\0");
    a.send("SEND\ndestination:/app/greet\n\nbob\0");
    let got = a.out.take();
    assert_eq!(got[0].get("destination"), Some("/topic/greet"));
    assert_eq!(&got[0].body[..], b"hello, bob");
}

#[test]
fn a_subscribe_route_answers_once_and_its_unsubscribe_is_a_no_op() {
    let s = stomp();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:s\ndestination:/app/snapshot\nreceipt:r\n\n\0");
    let got = a.out.take();
    assert_eq!(got[0].get("subscription"), Some("s"));
    assert_eq!(got[0].get("destination"), Some("/app/snapshot"));
    assert_eq!(&got[0].body[..], b"snap");
    assert_eq!(got[1].get("receipt-id"), Some("r"));
    let flow = a.send("SUBSCRIBE\nid:s\ndestination:/topic/x\n\n\0");
    assert_eq!(flow, Flow::Closed, "the id is in use until UNSUBSCRIBE");
    let mut b = Client::connected(&s);
    b.send("SUBSCRIBE\nid:s\ndestination:/app/snapshot\n\n\0");
    b.send("UNSUBSCRIBE\nid:s\nreceipt:u\n\n\0");
    assert_eq!(b.out.take()[1].get("receipt-id"), Some("u"));
    assert_eq!(b.send("UNSUBSCRIBE\nid:s\n\n\0"), Flow::Closed, "once");
    let mut c = Client::connected(&s);
    let flow = c.send("SUBSCRIBE\nid:0\ndestination:/app/echo\n\n\0");
    assert_eq!(flow, Flow::Closed, "no subscribe route: refused as before");
}

#[test]
fn user_destinations_reach_every_session_of_that_user() {
    let s = stomp();
    let login = "CONNECT\naccept-version:1.2\nlogin:alice\npasscode:pw\n\n\0";
    let (mut a1, mut a2, mut other) = (Client::new(&s), Client::new(&s), Client::connected(&s));
    for a in [&mut a1, &mut a2] {
        a.send(login);
        a.send("SUBSCRIBE\nid:0\ndestination:/user/queue/inbox\n\n\0");
        a.out.take();
    }
    other.send("SUBSCRIBE\nid:0\ndestination:/user/queue/inbox\n\n\0");
    other.send("SEND\ndestination:/user/alice/queue/inbox\n\nhi alice\0");
    assert_eq!(&a1.out.take()[0].body[..], b"hi alice");
    assert_eq!(&a2.out.take()[0].body[..], b"hi alice");
    assert!(other.out.take().is_empty());
}

#[test]
fn forbidden_destinations_and_missing_headers_get_an_error() {
    let s = stomp();
    let mut a = Client::connected(&s);
    assert_eq!(
        a.send("SUBSCRIBE\nid:0\ndestination:/topic/secret\nreceipt:9\n\n\0"),
        Flow::Closed
    );
    let f = &a.out.take()[0];
    assert_eq!(
        (f.command, f.get("receipt-id")),
        (Command::Error, Some("9"))
    );
    let mut b = Client::connected(&s);
    b.send("SUBSCRIBE\ndestination:/topic/a\n\n\0");
    assert_eq!(
        b.out.take()[0].get("message"),
        Some("missing required header 'id'")
    );
    let mut c = Client::connected(&s);
    c.send("BOGUS\n\n\0");
    assert_eq!(c.out.take()[0].get("message"), Some("malformed frame"));
}

#[test]
fn disconnect_with_receipt_answers_then_closes() {
    let mut a = Client::connected(&stomp());
    assert_eq!(a.send("DISCONNECT\nreceipt:bye\n\n\0"), Flow::Closed);
    assert_eq!(a.out.take()[0].get("receipt-id"), Some("bye"));
    assert!(a.out.is_closed());
}

#[test]
fn heart_beats_are_sent_on_time_and_a_silent_client_is_closed() {
    let mut a = Client::connected(&stomp());
    let t0 = a.t0;
    let ms = Duration::from_millis;
    assert_eq!(a.conn.tick(t0 + ms(1999)), Flow::Open);
    assert!(a.out.raw().is_empty(), "nothing due before 2000 ms");
    a.conn.receive(b"\n", t0 + ms(1500));
    assert_eq!(a.conn.tick(t0 + ms(2000)), Flow::Open);
    assert_eq!(a.out.raw(), b"\n", "one heart-beat at 2000 ms");
    // The client promised every max(500, 1000) ms; twice that in silence is death.
    assert_eq!(a.conn.tick(t0 + ms(3400)), Flow::Open);
    assert_eq!(a.conn.tick(t0 + ms(3500)), Flow::Closed);
    assert!(
        a.out
            .take()
            .iter()
            .any(|f| f.get("message") == Some("heart-beat timed out"))
    );
}

#[test]
fn a_connection_that_never_connects_is_closed_at_the_timeout() {
    let mut c = Client::new(&stomp());
    let deadline = c.conn.deadline().unwrap();
    assert_eq!(c.conn.tick(deadline - Duration::from_millis(1)), Flow::Open);
    assert_eq!(c.conn.tick(deadline), Flow::Closed);
}

proptest::proptest! {
    #[test]
    fn a_connection_never_panics_on_arbitrary_input(
        chunks in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48),
                proptest::sample::select(vec![
                    b"CONNECT\naccept-version:1.0,1.2\n\n\0".to_vec(),
                    b"SUBSCRIBE\nid:1\ndestination:/queue/q\nack:client\n\n\0".to_vec(),
                    b"SEND\ndestination:/queue/q\n\nx\0".to_vec(),
                    b"BEGIN\ntransaction:t\n\n\0".to_vec(),
                    b"ACK\nid:1\ntransaction:t\n\n\0".to_vec(),
                    b"COMMIT\ntransaction:t\n\n\0".to_vec(),
                    b"NACK\nid:2\n\n\0".to_vec(),
                ]),
            ],
            0..12,
        ),
    ) {
        let s = stomp();
        let mut c = Client::new(&s);
        for chunk in chunks {
            let open = c.conn.receive(&chunk, c.t0) == Flow::Open;
            proptest::prop_assert_eq!(open, !c.out.is_closed());
        }
        c.conn.closed();
    }
}

#[test]
fn events_come_in_order_and_disconnected_once_whatever_ends_the_connection() {
    use crate::stomp::Event;
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let s = Stomp::builder(StompConfig::default())
        .on_event(move |e| log.lock().push(e.clone()))
        .build()
        .unwrap();
    let mut never = Client::new(&s);
    never.conn.closed();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\0");
    a.send("UNSUBSCRIBE\nid:1\n\n\0");
    a.send("SUBSCRIBE\nid:2\ndestination:/topic/b\n\n\0");
    a.send("BOGUS\n\n\0");
    a.conn.closed();
    let kinds: Vec<String> = seen
        .lock()
        .iter()
        .map(|e| match e {
            Event::Connected { .. } => "connected".to_owned(),
            Event::Subscribed {
                id, destination, ..
            } => format!("sub {id} {destination}"),
            Event::Unsubscribed {
                id, destination, ..
            } => format!("unsub {id} {destination}"),
            Event::Disconnected { .. } => "disconnected".to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "connected",
            "sub 1 /topic/a",
            "unsub 1 /topic/a",
            "sub 2 /topic/b",
            "disconnected"
        ]
    );
}

#[test]
fn inbound_interceptors_rewrite_drop_or_reject_in_order() {
    use crate::stomp::{Inbound, InterceptContext, Interceptor};
    struct Rules;
    impl Interceptor for Rules {
        fn inbound(&self, frame: &mut Frame, cx: &InterceptContext<'_>) -> Inbound {
            match frame.get("do") {
                Some("drop") => Inbound::Drop,
                Some("reject") => Inbound::Reject("go away".into()),
                _ if frame.command == Command::Send => {
                    let user = cx.principal.map(|p| p.name.clone()).unwrap_or_default();
                    frame.headers.push(("by".into(), user));
                    Inbound::Pass
                }
                _ => Inbound::Pass,
            }
        }
    }
    let s = Stomp::builder(StompConfig::default())
        .interceptor(Rules)
        .build()
        .unwrap();
    let mut a = Client::connected(&s);
    a.send("SUBSCRIBE\nid:0\ndestination:/topic/t\n\n\0");
    a.send("SEND\ndestination:/topic/t\ndo:drop\nreceipt:r0\n\nx\0");
    a.send("SEND\ndestination:/topic/t\nreceipt:r1\n\ny\0");
    let got = a.out.take();
    assert_eq!(got.len(), 2, "the dropped SEND left no trace: {got:?}");
    assert!(
        got[0]
            .get("by")
            .is_some_and(|b| b.starts_with("anonymous-"))
    );
    assert_eq!(got[1].get("receipt-id"), Some("r1"));
    let flow = a.send("SEND\ndestination:/topic/t\ndo:reject\nreceipt:r2\n\n\0");
    assert_eq!(flow, Flow::Closed);
    let f = &a.out.take()[0];
    assert_eq!(
        (f.command, f.get("message"), f.get("receipt-id")),
        (Command::Error, Some("go away"), Some("r2"))
    );
}
