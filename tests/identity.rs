//! Identity from the opening HTTP request (src/identity.rs), end to end on the demo's STOMP
//! mount over xhr and the raw WebSocket handshake: who a session is (a login cookie, HTTP
//! Basic), the CSRF token a cookie login's CONNECT must carry, the `/csrf` endpoint's
//! same-origin answer, 401 for wrong credentials, and 404 for a later request of a session
//! that is another user.

mod common;

use common::TestServer;
use common::client::{Client, session};
use conformance::request::Request;
use sockjs_server::Config;
use sockjs_server::demo::{self, Site};
use sockjs_server::server;
use sockjs_server::stomp::{StompConfig, Users};

const ALICE_BASIC: &str = "Basic YWxpY2U6cHc="; // alice:pw
const ALICE_WRONG: &str = "Basic YWxpY2U6cHg="; // alice:px
const BOB_BASIC: &str = "Basic Ym9iOnB3"; // bob:pw

struct Demo {
    server: TestServer,
    site: Site,
    client: Client,
}

fn start() -> Demo {
    let accounts = [
        ("alice".to_owned(), "pw".to_owned()),
        ("bob".to_owned(), "pw".to_owned()),
    ];
    let site = Site::new(&accounts);
    let users = Users::new().login("alice", "pw").login("bob", "pw");
    let stomp = demo::stomp_for_site(StompConfig::default(), users, &site).expect("stomp");
    let mount = demo::stomp_mount(&Config::default(), &stomp).expect("mount");
    let options = server::Options::default().routes(Some(site.routes()));
    let server = TestServer::start_with(vec![mount], options);
    let client = Client::new(&server.url());
    Demo {
        server,
        site,
        client,
    }
}

/// A STOMP frame as one SockJS message body of an xhr_send.
fn frame(command: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{command}\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str("\n\u{0}");
    serde_json::to_string(&[text]).expect("json")
}

impl Demo {
    fn cookie(&self, name: &str) -> String {
        let login = self.site.logins().log_in(name);
        format!("{}={}", demo::LOGIN_COOKIE, login.cookie)
    }

    /// Opens session `path` over xhr with `headers` on every request and sends CONNECT with
    /// `connect` headers: the polled answer (CONNECTED or ERROR, as SockJS `a[...]`).
    async fn connect(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        connect: &[(&str, &str)],
    ) -> String {
        let with = |mut r: Request| {
            for (n, v) in headers {
                r = r.header(n, v);
            }
            r
        };
        let open = self
            .client
            .fetch(with(Request::post(&format!("{path}/xhr"))))
            .await;
        assert_eq!((open.status(), open.text()), (200, "o\n".to_owned()));
        let mut all = vec![("accept-version", "1.2")];
        all.extend_from_slice(connect);
        let sent = self
            .client
            .fetch(with(
                Request::post(&format!("{path}/xhr_send")).body(frame("CONNECT", &all)),
            ))
            .await;
        assert_eq!(sent.status(), 204, "{}", sent.text());
        self.client
            .fetch(with(Request::post(&format!("{path}/xhr"))))
            .await
            .text()
    }
}

#[actix_web::test]
async fn a_cookie_login_connects_as_its_user_with_its_csrf_token() {
    let demo = start();
    let login = demo.site.logins().log_in("alice");
    let cookie = format!("{}={}", demo::LOGIN_COOKIE, login.cookie);
    let answer = demo
        .connect(
            &session("/stomp"),
            &[("Cookie", &cookie)],
            &[("X-CSRF-TOKEN", &login.csrf_token)],
        )
        .await;
    assert!(answer.contains("CONNECTED"), "{answer}");
    assert!(answer.contains("user-name:alice"), "{answer}");
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn a_cookie_login_without_or_with_a_wrong_token_is_refused() {
    let demo = start();
    let cookie = demo.cookie("alice");
    let missing = demo
        .connect(
            &session("/stomp"),
            &[("Cookie", &cookie)],
            &[("login", "alice"), ("passcode", "pw")],
        )
        .await;
    assert!(
        missing.contains("ERROR") && missing.contains("missing CSRF token"),
        "{missing}"
    );
    let wrong = demo
        .connect(
            &session("/stomp"),
            &[("Cookie", &cookie)],
            &[("X-CSRF-TOKEN", "guess")],
        )
        .await;
    assert!(
        wrong.contains("ERROR") && wrong.contains("invalid CSRF token"),
        "{wrong}"
    );
    // Another login's token does not do either.
    let other = demo.site.logins().log_in("alice");
    let crossed = demo
        .connect(
            &session("/stomp"),
            &[("Cookie", &cookie)],
            &[("X-CSRF-TOKEN", &other.csrf_token)],
        )
        .await;
    assert!(crossed.contains("invalid CSRF token"), "{crossed}");
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn http_basic_needs_no_stomp_credentials_and_no_token() {
    let demo = start();
    let answer = demo
        .connect(&session("/stomp"), &[("Authorization", ALICE_BASIC)], &[])
        .await;
    assert!(answer.contains("user-name:alice"), "{answer}");
    // CONNECT credentials are not read when the request proved the user.
    let answer = demo
        .connect(
            &session("/stomp"),
            &[("Authorization", BOB_BASIC)],
            &[("login", "alice"), ("passcode", "pw")],
        )
        .await;
    assert!(answer.contains("user-name:bob"), "{answer}");
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn wrong_credentials_get_401_on_http_and_on_the_websocket_handshake() {
    let demo = start();
    let path = session("/stomp");
    let xhr = demo
        .client
        .fetch(Request::post(&format!("{path}/xhr")).header("Authorization", ALICE_WRONG))
        .await;
    assert_eq!(xhr.status(), 401);
    assert_eq!(xhr.head.get("www-authenticate"), Some("Bearer"));
    let handshake = |auth: &'static str| {
        Request::get("/stomp/websocket")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
            .header("Authorization", auth)
    };
    let refused = demo.client.fetch(handshake(ALICE_WRONG)).await;
    assert_eq!(refused.status(), 401);
    let sockjs_ws = demo
        .client
        .fetch(
            Request::get(&format!("{}/websocket", session("/stomp")))
                .header("Upgrade", "websocket")
                .header("Connection", "Upgrade")
                .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("Sec-WebSocket-Version", "13")
                .header("Authorization", "Bearer nosuchtoken"),
        )
        .await;
    assert_eq!(sockjs_ws.status(), 401);
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn a_later_request_of_another_user_or_of_nobody_gets_404() {
    let demo = start();
    let path = session("/stomp");
    let open = demo
        .client
        .fetch(Request::post(&format!("{path}/xhr")).header("Authorization", ALICE_BASIC))
        .await;
    assert_eq!(open.text(), "o\n");
    let send = |auth: Option<&'static str>| {
        let mut r = Request::post(&format!("{path}/xhr_send")).body(r#"["x"]"#);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r
    };
    assert_eq!(demo.client.fetch(send(Some(BOB_BASIC))).await.status(), 404);
    assert_eq!(demo.client.fetch(send(None)).await.status(), 404);
    let cookie = demo.cookie("alice");
    // The same user by another proof (a cookie login of alice) is still alice.
    let by_cookie = Request::post(&format!("{path}/xhr_send"))
        .body(r#"["x"]"#)
        .header("Cookie", &cookie);
    assert_eq!(demo.client.fetch(by_cookie).await.status(), 204);
    assert_eq!(
        demo.client.fetch(send(Some(ALICE_BASIC))).await.status(),
        204
    );
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn the_csrf_endpoint_answers_its_login_only_and_never_cross_origin() {
    let demo = start();
    let login = demo.site.logins().log_in("alice");
    let cookie = format!("{}={}", demo::LOGIN_COOKIE, login.cookie);
    let answer = demo
        .client
        .fetch(
            Request::get("/stomp/csrf")
                .header("Cookie", &cookie)
                .header("Origin", "http://evil.example"),
        )
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.head.get("access-control-allow-origin"), None);
    assert_eq!(answer.head.get("access-control-allow-credentials"), None);
    assert!(answer.head.value("cache-control").contains("no-store"));
    let json: serde_json::Value = serde_json::from_str(&answer.text()).expect("json");
    assert_eq!(json["headerName"], "X-CSRF-TOKEN");
    assert_eq!(json["token"], login.csrf_token.as_str());
    let nobody = demo.client.fetch(Request::get("/stomp/csrf")).await;
    assert_eq!(nobody.status(), 401);
    let basic = demo
        .client
        .fetch(Request::get("/stomp/csrf").header("Authorization", ALICE_BASIC))
        .await;
    assert_eq!(basic.status(), 404, "a Basic identity has no token");
    demo.server.shutdown().expect("shutdown");
}

#[actix_web::test]
async fn the_demo_login_form_sets_the_cookie_and_me_reads_it() {
    let demo = start();
    let form = |body: &str| {
        Request::post("/login")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
    };
    let failed = demo.client.fetch(form("username=alice&password=px")).await;
    assert_eq!(
        (failed.status(), failed.head.get("location")),
        (303, Some("/?login=failed"))
    );
    assert_eq!(failed.head.get("set-cookie"), None);
    let ok = demo.client.fetch(form("username=alice&password=pw")).await;
    assert_eq!(ok.status(), 303);
    let set = ok.head.value("set-cookie").to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap_or_default().to_owned();
    let me = demo
        .client
        .fetch(Request::get("/me").header("Cookie", &cookie))
        .await;
    assert!(me.text().contains("\"alice\""), "{}", me.text());
    let out = demo
        .client
        .fetch(Request::post("/logout").header("Cookie", &cookie))
        .await;
    assert_eq!(out.status(), 303);
    let me = demo
        .client
        .fetch(Request::get("/me").header("Cookie", &cookie))
        .await;
    assert!(me.text().contains("null"), "{}", me.text());
    demo.server.shutdown().expect("shutdown");
}
