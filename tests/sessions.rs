//! Session lifecycle and the handler API against a real server: heartbeats, expiry, several
//! mounts, broadcast across transports, what a handler can read, and handler failures.

mod common;

use std::time::Duration;

use common::TestServer;
use common::client::{Client, frame, session, text};
use sockjs_server::handler::text::{Broadcast, Echo};
use sockjs_server::{Config, Handler, SessionHandle, SockJs};

fn config(prefix: &str) -> Config {
    Config::at(prefix)
        .heartbeat_delay(Duration::from_millis(150))
        .disconnect_delay(Duration::from_millis(300))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attached_streaming_receiver_gets_heartbeats() {
    let server = TestServer::start(vec![SockJs::new(config("/echo"), || Echo).unwrap()]);
    let client = Client::new(&server.url());
    let mut s = client.stream(&session("/echo")).await;
    assert_eq!(frame(&mut s).await, "o\n");
    assert_eq!(frame(&mut s).await, "h\n");
    assert_eq!(frame(&mut s).await, "h\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_receiver_expires_and_leaves_the_registry() {
    let mount = SockJs::new(config("/echo"), || Echo).unwrap();
    let counted = mount.clone();
    let server = TestServer::start(vec![mount]);
    let client = Client::new(&server.url());
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    assert_eq!(counted.session_count(), 1);
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(client.send(&path, r#"["late"]"#).await, 404);
    assert!(
        counted.session_count() == 0,
        "{} sessions left",
        counted.session_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounts_have_their_own_sessions_and_options() {
    let fast = SockJs::new(config("/fast"), || Echo).unwrap();
    let slow = SockJs::new(
        Config::at("/slow").heartbeat_delay(Duration::from_secs(60)),
        || Echo,
    )
    .unwrap();
    let server = TestServer::start(vec![fast, slow]);
    let client = Client::new(&server.url());
    let id = conformance::checks::new_session_id();
    assert_eq!(client.poll(&format!("/fast/0/{id}")).await, "o\n");
    // The same id on another mount is another session.
    assert_eq!(client.poll(&format!("/slow/0/{id}")).await, "o\n");
    assert_eq!(client.send(&format!("/slow/0/{id}"), r#"["s"]"#).await, 204);
    assert_eq!(client.poll(&format!("/slow/0/{id}")).await, "a[\"s\"]\n");
    assert_eq!(client.poll(&format!("/fast/0/{id}")).await, "h\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_session_whatever_its_transport() {
    let group = Broadcast::new();
    let members = group.clone();
    let server = TestServer::start(vec![
        SockJs::new(Config::at("/broadcast"), move || group.clone()).unwrap(),
    ]);
    let client = Client::new(&server.url());
    let mut stream = client.stream(&session("/broadcast")).await;
    assert_eq!(frame(&mut stream).await, "o\n");
    let mut ws = client
        .ws(&format!("{}/websocket", session("/broadcast")))
        .await;
    assert_eq!(text(&mut ws).await, "o");
    let polled = session("/broadcast");
    assert_eq!(client.poll(&polled).await, "o\n");
    for _ in 0..50 {
        if members.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(members.len(), 3);
    ws.send(r#"["hello all"]"#).await.unwrap();
    assert_eq!(text(&mut ws).await, r#"a["hello all"]"#);
    assert_eq!(frame(&mut stream).await, "a[\"hello all\"]\n");
    assert_eq!(client.poll(&polled).await, "a[\"hello all\"]\n");
}

/// Tells the client what its handle knows, then fails on "boom".
struct Introspect;

impl Handler for Introspect {
    fn on_open(&mut self, s: &SessionHandle) {
        let agent = s
            .headers()
            .get("x-test")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let peer = s
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        s.send(format!(
            "{} {} {} {}",
            s.id(),
            s.transport().name(),
            agent,
            peer
        ));
    }

    fn on_message(&mut self, s: &SessionHandle, message: String) {
        if message == "boom" {
            panic!("handler failure requested by the test");
        }
        s.send(message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_reads_id_transport_headers_and_peer() {
    let server = TestServer::start(vec![SockJs::new(Config::at("/i"), || Introspect).unwrap()]);
    let client = Client::new(&server.url());
    let id = conformance::checks::new_session_id();
    let req = conformance::http::Request::post(&format!("/i/0/{id}/xhr")).header("X-Test", "yes");
    assert_eq!(client.fetch(req).await.text(), "o\n");
    assert_eq!(
        client.poll(&format!("/i/0/{id}")).await,
        format!("a[\"{id} xhr-polling yes 127.0.0.1\"]\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_closes_only_its_own_session() {
    let server = TestServer::start(vec![SockJs::new(Config::at("/i"), || Introspect).unwrap()]);
    let client = Client::new(&server.url());
    let mut victim = client.ws(&format!("{}/websocket", session("/i"))).await;
    let mut bystander = client.ws(&format!("{}/websocket", session("/i"))).await;
    for ws in [&mut victim, &mut bystander] {
        assert_eq!(text(ws).await, "o");
        assert!(text(ws).await.starts_with("a["));
    }
    victim.send(r#"["boom"]"#).await.unwrap();
    assert_eq!(text(&mut victim).await, r#"c[1011,"Internal error"]"#);
    assert_eq!(
        victim.expect_closed().await.unwrap(),
        Some((1011, "Internal error".to_owned()))
    );
    bystander.send(r#"["still here"]"#).await.unwrap();
    assert_eq!(text(&mut bystander).await, r#"a["still here"]"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_peer_that_stops_answering_pings_is_closed_and_forgotten() {
    let mount = SockJs::new(config("/echo"), || Echo).unwrap();
    let counted = mount.clone();
    let server = TestServer::start(vec![mount]);
    let client = Client::new(&server.url());
    let mut ws = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(text(&mut ws).await, "o");
    // Not reading means not answering pings (the client answers them as it reads).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        counted.session_count() == 0,
        "{} sessions left",
        counted.session_count()
    );
    loop {
        match ws.next_event().await.expect("event") {
            conformance::ws::Event::Text(t) if t == "h" => continue,
            other => {
                assert_eq!(
                    other,
                    conformance::ws::Event::Close(Some((
                        3000,
                        "No response from heartbeat".to_owned()
                    )))
                );
                break;
            }
        }
    }
}
