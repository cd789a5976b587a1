//! Bad input and limits against a real server: oversized bodies and messages, slow
//! consumers, garbage, origins, and graceful shutdown. Each case checks that the offender gets
//! a clear answer and that nobody else is affected. (Who gets a session at all, and as which
//! client address, is `tests/admission.rs`.)

mod common;

use std::time::Duration;

use common::TestServer;
use common::client::{Client, frame, session, text};
use conformance::http::Request;
use sockjs_server::handler::text::Echo;
use sockjs_server::{Config, Handler, SessionHandle, SockJs};

fn echo(config: Config) -> Vec<SockJs> {
    vec![SockJs::new(config, || Echo).unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_send_gets_413_and_the_session_goes_on() {
    let server = TestServer::start(echo(Config::at("/echo").max_message_bytes(100)));
    let client = Client::new(&server.url());
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    let big = format!("[\"{}\"]", "x".repeat(200));
    assert_eq!(client.send(&path, &big).await, 413);
    // Without a Content-Length the body is cut off at the cap just the same.
    let encoded = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let chunked = Request::post(&format!("{path}/xhr_send"))
        .body(encoded)
        .without_length();
    assert_eq!(
        client
            .fetch(chunked.header("Transfer-Encoding", "chunked"))
            .await
            .status(),
        413
    );
    assert_eq!(client.send(&path, r#"["fine"]"#).await, 204);
    assert_eq!(client.poll(&path).await, "a[\"fine\"]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_websocket_message_closes_with_1009() {
    let server = TestServer::start(echo(Config::at("/echo").max_message_bytes(100)));
    let client = Client::new(&server.url());
    let mut ws = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(text(&mut ws).await, "o");
    ws.send(&format!("[\"{}\"]", "x".repeat(200)))
        .await
        .unwrap();
    assert_eq!(
        ws.expect_closed().await.unwrap(),
        Some((1009, "Message too big".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_a_websocket_closes_that_socket_only() {
    let server = TestServer::start(echo(Config::at("/echo")));
    let client = Client::new(&server.url());
    let mut bad = client.ws(&format!("{}/websocket", session("/echo"))).await;
    let mut good = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(text(&mut bad).await, "o");
    assert_eq!(text(&mut good).await, "o");
    bad.send("{not json").await.unwrap();
    assert_eq!(
        bad.expect_closed().await.unwrap(),
        Some((3000, "Broken framing.".to_owned()))
    );
    good.send(r#""ok""#).await.unwrap();
    assert_eq!(text(&mut good).await, r#"a["ok"]"#);
}

/// Sends `n` messages of 100 bytes when asked.
struct Flood;

impl Handler for Flood {
    fn on_message(&mut self, s: &SessionHandle, message: String) {
        let n: usize = message.parse().unwrap_or(0);
        for _ in 0..n {
            s.send("y".repeat(100));
        }
    }

    fn on_closing(
        &mut self,
        _s: &SessionHandle,
        reason: &sockjs_server::CloseReason,
        _cause: sockjs_server::CloseCause,
    ) -> Option<String> {
        Some(format!("closing: {}", reason.code))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_the_bound_closes_the_session_with_4500() {
    let config = Config::at("/flood").max_buffered_bytes(2_000);
    let server = TestServer::start(vec![SockJs::new(config, || Flood).unwrap()]);
    let client = Client::new(&server.url());
    let (flooded, calm) = (session("/flood"), session("/flood"));
    for path in [&flooded, &calm] {
        assert_eq!(client.poll(path).await, "o\n");
    }
    // No receiver is attached: 50 x ~200 queued bytes pass the 2000-byte bound. The backlog
    // is dropped; the handler's last words, then the close frame, are what is left.
    assert_eq!(client.send(&flooded, r#"["50"]"#).await, 204);
    assert_eq!(client.poll(&flooded).await, "a[\"closing: 4500\"]\n");
    assert_eq!(
        client.poll(&flooded).await,
        "c[4500,\"Send buffer overflow\"]\n"
    );
    assert_eq!(client.send(&calm, r#"["3"]"#).await, 204);
    let y = format!("\"{}\"", "y".repeat(100));
    assert_eq!(client.poll(&calm).await, format!("a[{y},{y},{y}]\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_falls_behind_is_closed_with_4500_after_what_it_had() {
    // A WebSocket session's sends skip the actor while they fit the bound; past it the
    // session closes just as an HTTP one does, and nothing follows the close frame.
    let config = Config::at("/flood").max_buffered_bytes(2_000);
    let server = TestServer::start(vec![SockJs::new(config, || Flood).unwrap()]);
    let client = Client::new(&server.url());
    let mut ws = client.ws(&format!("{}/websocket", session("/flood"))).await;
    assert_eq!(text(&mut ws).await, "o");
    let y = format!("a[\"{}\"]", "y".repeat(100));
    ws.send(r#"["1000"]"#).await.unwrap();
    let mut delivered = 0;
    let last = loop {
        let t = text(&mut ws).await;
        if t != y {
            break t;
        }
        delivered += 1;
    };
    assert!(
        delivered < 1000,
        "all {delivered} delivered past a 2000-byte bound"
    );
    assert_eq!(last, r#"a["closing: 4500"]"#, "after {delivered}");
    assert_eq!(text(&mut ws).await, r#"c[4500,"Send buffer overflow"]"#);
    assert_eq!(
        ws.expect_closed().await.unwrap(),
        Some((4500, "Send buffer overflow".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sends_get_clear_errors_and_lose_nothing() {
    let server = TestServer::start(echo(Config::at("/echo")));
    let client = Client::new(&server.url());
    let path = session("/echo");
    assert_eq!(client.poll(&path).await, "o\n");
    for (body, status, text) in [
        ("", 500, "Payload expected."),
        ("[1,2]", 500, "Payload expected."),
        ("{\"a\":1}", 500, "Payload expected."),
        ("[\"unterminated", 500, "Broken JSON encoding."),
        ("\u{0}\u{1}", 500, "Broken JSON encoding."),
    ] {
        let r = client
            .fetch(Request::post(&format!("{path}/xhr_send")).body(body))
            .await;
        assert_eq!(
            (r.status(), r.text().as_str()),
            (status, text),
            "body {body:?}"
        );
    }
    assert_eq!(client.send(&path, r#"["kept"]"#).await, 204);
    assert_eq!(client.poll(&path).await, "a[\"kept\"]\n");
    assert_eq!(
        client.send("/echo/0/no-such-session", r#"["x"]"#).await,
        404
    );
    let r = client
        .fetch(Request::get(&format!("{path}/jsonp?c=alert(1)")))
        .await;
    assert_eq!(
        (r.status(), r.text().as_str()),
        (500, "invalid \"callback\" parameter")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_origins_get_in() {
    let config = Config::at("/echo").allowed_origins(vec!["http://good.example".into()]);
    let server = TestServer::start(echo(config));
    let client = Client::new(&server.url());
    let path = session("/echo");
    let bad = client
        .fetch(Request::post(&format!("{path}/xhr")).header("Origin", "http://evil.example"))
        .await;
    assert_eq!(bad.status(), 403);
    let good = client
        .fetch(Request::post(&format!("{path}/xhr")).header("Origin", "http://good.example"))
        .await;
    assert_eq!((good.status(), good.text().as_str()), (200, "o\n"));
    assert_eq!(
        good.head.value("access-control-allow-origin"),
        "http://good.example"
    );
    let ws = Request::get(&format!("{}/websocket", session("/echo")))
        .header("Origin", "http://evil.example")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw==");
    assert_eq!(client.fetch(ws).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_every_session_a_close_frame() {
    let server = TestServer::start(echo(Config::at("/echo")));
    let client = Client::new(&server.url());
    let mut stream = client.stream(&session("/echo")).await;
    assert_eq!(frame(&mut stream).await, "o\n");
    let mut ws = client.ws(&format!("{}/websocket", session("/echo"))).await;
    assert_eq!(text(&mut ws).await, "o");
    let stopping = std::thread::spawn(move || server.shutdown());
    assert_eq!(
        frame(&mut stream).await,
        "c[1001,\"Server shutting down\"]\n"
    );
    assert_eq!(stream.next_frame().await.unwrap(), None);
    assert_eq!(text(&mut ws).await, r#"c[1001,"Server shutting down"]"#);
    assert_eq!(
        ws.expect_closed().await.unwrap(),
        Some((1001, "Server shutting down".to_owned()))
    );
    let result = tokio::task::spawn_blocking(move || stopping.join())
        .await
        .unwrap();
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_allow_list_also_says_who_may_frame_the_iframe_page() {
    let config = Config::at("/echo").allowed_origins(vec![
        "https://app.example".into(),
        "http://other.example:8080".into(),
    ]);
    let server = TestServer::start(echo(config));
    let r = Client::new(&server.url())
        .fetch(Request::get("/echo/iframe.html"))
        .await;
    assert_eq!(
        r.head.value("content-security-policy"),
        "frame-ancestors 'self' https://app.example http://other.example:8080"
    );
    let open = TestServer::start(echo(Config::at("/echo")));
    let r = Client::new(&open.url())
        .fetch(Request::get("/echo/iframe.html"))
        .await;
    assert_eq!(r.head.get("content-security-policy"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_trickles_its_headers_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let options =
        sockjs_server::server::Options::default().request_head_timeout(Duration::from_millis(300));
    let server = TestServer::start_with(echo(Config::at("/echo")), options);
    let mut slow = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    slow.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Meanwhile others are served.
    let client = Client::new(&server.url());
    assert_eq!(client.poll(&session("/echo")).await, "o\n");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    let answer = String::from_utf8_lossy(&rest);
    assert!(read.is_ok(), "the slow connection was not dropped");
    assert!(
        rest.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

/// A raw WebSocket client: handshake on `path`, then returns the socket (for frames no
/// well-behaved client library would send).
async fn raw_websocket(server: &TestServer, path: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// Reads server frames until a close frame; returns its code.
async fn close_code(s: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::AsyncReadExt;
    let read = async {
        loop {
            let mut h = [0u8; 2];
            s.read_exact(&mut h).await.unwrap();
            let len = match h[1] & 0x7F {
                126 => u64::from(s.read_u16().await.unwrap()),
                127 => s.read_u64().await.unwrap(),
                n => u64::from(n),
            };
            let mut payload = vec![0u8; len as usize];
            s.read_exact(&mut payload).await.unwrap();
            if h[0] & 0x0F == 8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("a close frame in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_declaring_a_gigabyte_is_refused_from_its_header() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(echo(Config::at("/echo")));
    for path in ["/echo/websocket", "/echo/0/abc/websocket"] {
        let mut s = raw_websocket(&server, path).await;
        // FIN + text, masked, 64-bit length 1 GiB, a mask, then a little of the payload.
        let mut frame = vec![0x81, 0xFF];
        frame.extend_from_slice(&(1u64 << 30).to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]);
        frame.extend_from_slice(&[0u8; 1000]);
        s.write_all(&frame).await.unwrap();
        assert_eq!(close_code(&mut s).await, 1009, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_message_that_is_not_utf8_closes_with_1007() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start(echo(Config::at("/echo")));
    let mut s = raw_websocket(&server, "/echo/websocket").await;
    // FIN + text, masked with a zero mask, two bytes that are not UTF-8.
    s.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xFF, 0xFE])
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await, 1007);
}
