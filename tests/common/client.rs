//! Small client helpers over the conformance crate's raw HTTP and WebSocket clients.

#![allow(dead_code)]

use conformance::http::{self, Request, Response, Stream, Target};
use conformance::ws::{Event, Ws};

/// A client for one test server.
pub struct Client {
    target: Target,
}

impl Client {
    /// A client for `url` (`http://127.0.0.1:PORT`).
    pub fn new(url: &str) -> Client {
        Client {
            target: Target::parse(url).expect("test url"),
        }
    }

    /// Sends a request and reads the whole answer.
    pub async fn fetch(&self, req: Request) -> Response {
        http::fetch(&self.target, &req).await.expect("request")
    }

    /// `POST path/xhr` and its body as text.
    pub async fn poll(&self, session_path: &str) -> String {
        self.fetch(Request::post(&format!("{session_path}/xhr")))
            .await
            .text()
    }

    /// `POST path/xhr_send` with `body`; the status.
    pub async fn send(&self, session_path: &str, body: &str) -> u16 {
        self.fetch(Request::post(&format!("{session_path}/xhr_send")).body(body))
            .await
            .status()
    }

    /// Opens `POST path/xhr_streaming` and reads its prelude.
    pub async fn stream(&self, session_path: &str) -> Stream {
        let mut s = Stream::open(
            &self.target,
            &Request::post(&format!("{session_path}/xhr_streaming")),
        )
        .await
        .expect("stream");
        let prelude = s
            .next_frame()
            .await
            .expect("prelude")
            .expect("prelude chunk");
        assert_eq!(prelude.len(), 2049);
        s
    }

    /// Connects a WebSocket to `path`.
    pub async fn ws(&self, path: &str) -> Ws {
        Ws::connect(&format!("ws://{}{}", self.target.authority, path))
            .await
            .expect("websocket")
    }
}

/// The next frame of a stream as text; panics at the end of the body.
pub async fn frame(s: &mut Stream) -> String {
    let bytes = s
        .next_frame()
        .await
        .expect("frame")
        .expect("a frame, not the end");
    String::from_utf8(bytes).expect("utf-8 frame")
}

/// The next text message of a WebSocket.
pub async fn text(ws: &mut Ws) -> String {
    match ws.next_event().await.expect("event") {
        Event::Text(t) => t,
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// A fresh session path under `prefix`.
pub fn session(prefix: &str) -> String {
    format!("{prefix}/000/{}", conformance::checks::new_session_id())
}
