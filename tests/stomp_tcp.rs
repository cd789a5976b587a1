//! STOMP over the TCP listener against a real server: topics, queues, acks, transactions,
//! receipts, errors, user destinations, heart-beats and the slow-consumer bound.

mod stomp_common;

use sockjs_server::stomp::StompConfig;
use stomp_common::{Next, StompServer, TcpClient};

fn config() -> StompConfig {
    StompConfig::default().heart_beat((100, 100))
}

#[actix_web::test]
async fn a_topic_message_reaches_every_subscriber_and_the_receipt_follows() {
    let server = StompServer::start(config());
    let (mut a, _) = TcpClient::connect(server.tcp, "").await;
    let (mut b, _) = TcpClient::connect(server.tcp, "").await;
    for c in [&mut a, &mut b] {
        c.send("SUBSCRIBE\nid:1\ndestination:/topic/news\nreceipt:s\n\n\0")
            .await;
        assert_eq!(c.frame().await.get("receipt-id"), Some("s"));
    }
    a.send("SEND\ndestination:/topic/news\nreceipt:r\n\nextra\0")
        .await;
    let own = a.frame().await;
    assert_eq!(
        (own.get("subscription"), &own.body[..]),
        (Some("1"), &b"extra"[..])
    );
    assert_eq!(a.frame().await.get("receipt-id"), Some("r"));
    assert_eq!(b.body().await, "extra");
    a.disconnect().await;
    b.disconnect().await;
}

#[actix_web::test]
async fn queue_consumers_compete_and_a_queue_holds_messages_without_one() {
    let server = StompServer::start(config());
    let (mut producer, _) = TcpClient::connect(server.tcp, "").await;
    producer.send("SEND\ndestination:/queue/jobs\n\nearly\0SEND\ndestination:/queue/jobs\nreceipt:r\n\n\0").await;
    assert_eq!(producer.frame().await.get("receipt-id"), Some("r"));
    let (mut one, _) = TcpClient::connect(server.tcp, "").await;
    one.send("SUBSCRIBE\nid:q\ndestination:/queue/jobs\n\n\0")
        .await;
    assert_eq!(one.body().await, "early");
    assert_eq!(one.body().await, "");
    let (mut two, _) = TcpClient::connect(server.tcp, "").await;
    two.send("SUBSCRIBE\nid:q\ndestination:/queue/jobs\nreceipt:s\n\n\0")
        .await;
    assert_eq!(two.frame().await.get("receipt-id"), Some("s"));
    for n in 0..4 {
        producer
            .send(&format!("SEND\ndestination:/queue/jobs\n\n{n}\0"))
            .await;
    }
    let mut got = vec![
        one.body().await,
        one.body().await,
        two.body().await,
        two.body().await,
    ];
    got.sort();
    assert_eq!(
        got,
        ["0", "1", "2", "3"],
        "each message to exactly one consumer"
    );
}

#[actix_web::test]
async fn a_nacked_or_abandoned_message_is_redelivered() {
    let server = StompServer::start(config());
    let (mut producer, _) = TcpClient::connect(server.tcp, "").await;
    let (mut worker, _) = TcpClient::connect(server.tcp, "").await;
    worker
        .send("SUBSCRIBE\nid:w\ndestination:/queue/work\nack:client-individual\n\n\0")
        .await;
    producer
        .send("SEND\ndestination:/queue/work\n\njob\0")
        .await;
    let first = worker.frame().await;
    let ack = first.get("ack").expect("ack header in 1.2").to_owned();
    worker.send(&format!("NACK\nid:{ack}\n\n\0")).await;
    let again = worker.frame().await;
    assert_eq!(
        (&again.body[..], again.get("message-id")),
        (&b"job"[..], first.get("message-id"))
    );
    drop(worker); // never acked: goes back to the queue
    let (mut other, _) = TcpClient::connect(server.tcp, "").await;
    other
        .send("SUBSCRIBE\nid:o\ndestination:/queue/work\nack:client\n\n\0")
        .await;
    let third = other.frame().await;
    assert_eq!(&third.body[..], b"job");
    other
        .send(&format!(
            "ACK\nid:{}\nreceipt:a\n\n\0",
            third.get("ack").unwrap()
        ))
        .await;
    assert_eq!(other.frame().await.get("receipt-id"), Some("a"));
}

#[actix_web::test]
async fn transactions_send_on_commit_and_drop_on_abort() {
    let server = StompServer::start(config());
    let (mut c, _) = TcpClient::connect(server.tcp, "").await;
    c.send("SUBSCRIBE\nid:1\ndestination:/topic/tx\n\n\0").await;
    c.send("BEGIN\ntransaction:a\n\n\0SEND\ndestination:/topic/tx\ntransaction:a\n\ndropped\0ABORT\ntransaction:a\n\n\0").await;
    c.send("BEGIN\ntransaction:b\n\n\0SEND\ndestination:/topic/tx\ntransaction:b\n\nkept\0")
        .await;
    c.send("SEND\ndestination:/topic/tx\n\noutside\0COMMIT\ntransaction:b\nreceipt:c\n\n\0")
        .await;
    assert_eq!(c.body().await, "outside");
    assert_eq!(c.body().await, "kept");
    assert_eq!(c.frame().await.get("receipt-id"), Some("c"));
}

#[actix_web::test]
async fn a_bad_frame_gets_an_error_with_receipt_id_then_close_and_others_carry_on() {
    let server = StompServer::start(config());
    let (mut good, _) = TcpClient::connect(server.tcp, "").await;
    good.send("SUBSCRIBE\nid:1\ndestination:/topic/t\n\n\0")
        .await;
    let (mut bad, _) = TcpClient::connect(server.tcp, "").await;
    bad.send("SEND\nreceipt:77\n\nno destination\0").await;
    let error = bad.frame().await;
    assert_eq!(error.command.as_str(), "ERROR");
    assert_eq!(error.get("receipt-id"), Some("77"));
    assert_eq!(
        error.get("message"),
        Some("missing required header 'destination'")
    );
    assert!(matches!(bad.next().await, Next::Closed));
    let (mut worse, _) = TcpClient::connect(server.tcp, "").await;
    worse.send("NOT A FRAME\n\n\0").await;
    assert_eq!(worse.frame().await.get("message"), Some("malformed frame"));
    good.send("SEND\ndestination:/topic/t\n\nstill here\0")
        .await;
    assert_eq!(good.body().await, "still here");
}

#[actix_web::test]
async fn user_destinations_and_logins() {
    let server = StompServer::start(config());
    let (mut a1, connected) = TcpClient::connect(server.tcp, "login:alice\npasscode:pw\n").await;
    assert_eq!(connected.get("user-name"), Some("alice"));
    let (mut a2, _) = TcpClient::connect(server.tcp, "login:alice\npasscode:pw\n").await;
    for a in [&mut a1, &mut a2] {
        a.send("SUBSCRIBE\nid:1\ndestination:/user/queue/whisper\nreceipt:s\n\n\0")
            .await;
        a.frame().await;
    }
    let (mut bob, _) = TcpClient::connect(server.tcp, "login:bob\npasscode:pw\n").await;
    bob.send("SEND\ndestination:/app/whisper/alice\n\npsst\0SEND\ndestination:/user/alice/queue/whisper\n\ndirect\0").await;
    for a in [&mut a1, &mut a2] {
        let f = a.frame().await;
        assert_eq!((f.get("sender"), &f.body[..]), (Some("bob"), &b"psst"[..]));
        assert_eq!(f.get("destination"), Some("/user/queue/whisper"));
        assert_eq!(a.body().await, "direct");
    }
    let mut wrong = TcpClient::open(server.tcp).await;
    wrong
        .send("CONNECT\naccept-version:1.2\nlogin:alice\npasscode:nope\n\n\0")
        .await;
    assert_eq!(wrong.frame().await.get("message"), Some("bad credentials"));
}

#[actix_web::test]
async fn heart_beats_flow_and_a_silent_client_is_dropped() {
    let server = StompServer::start(config());
    let (mut c, connected) = TcpClient::connect(server.tcp, "heart-beat:0,100\n").await;
    assert_eq!(connected.get("heart-beat"), Some("100,100"));
    let beat = c.raw().await;
    assert!(
        !beat.is_empty() && beat.iter().all(|&b| b == b'\n'),
        "heart-beats, not a frame: {beat:?}"
    );
    let (mut silent, _) = TcpClient::connect(server.tcp, "heart-beat:100,0\n").await;
    let error = silent.frame().await;
    assert_eq!(error.get("message"), Some("heart-beat timed out"));
    assert!(matches!(silent.next().await, Next::Closed));
}

#[actix_web::test]
async fn a_slow_consumer_gets_an_error_and_is_closed() {
    let server = StompServer::start(config().max_buffered_bytes(64 * 1024));
    let (mut slow, _) = TcpClient::connect(server.tcp, "").await;
    slow.send("SUBSCRIBE\nid:1\ndestination:/topic/firehose\nreceipt:s\n\n\0")
        .await;
    slow.frame().await;
    let body = "x".repeat(32 * 1024);
    for _ in 0..2000 {
        server
            .stomp
            .publish("/topic/firehose", Vec::new(), body.clone())
            .unwrap();
    }
    let mut messages = 0;
    loop {
        match slow.next().await {
            Next::Frame(f) if f.command.as_str() == "MESSAGE" => messages += 1,
            Next::Frame(f) => {
                assert_eq!(
                    f.get("message"),
                    Some("slow consumer: more than 65536 bytes waiting to be sent")
                );
                break;
            }
            Next::Closed => panic!("closed without an ERROR"),
        }
    }
    assert!(messages < 2000, "the bound cut the stream short");
    assert!(matches!(slow.next().await, Next::Closed));
}
