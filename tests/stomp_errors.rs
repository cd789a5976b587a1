//! Every kind of ERROR a client frame can cause carries that frame's `receipt` as
//! `receipt-id` (STOMP 1.2 "ERROR"), whatever the error (the decoder's included), over TCP,
//! raw STOMP over WebSocket and SockJS-framed WebSocket.

mod stomp_common;

use conformance::ws::{Event, Ws};
use sockjs_server::stomp::decode::{Decoder, Limits};
use sockjs_server::stomp::{Frame, StompConfig};
use stomp_common::{Next, StompServer, TcpClient};

/// A CONNECT that succeeds (the demo service takes alice/pw).
const CONNECT: &str = "CONNECT\naccept-version:1.2\nhost:x\nlogin:alice\npasscode:pw\n\n\0";

/// One offending frame: whether it follows a successful CONNECT, the frame (with a
/// `receipt:` header whose value is the case's name), and how the ERROR's `message` starts.
struct Case {
    name: &'static str,
    connected: bool,
    frame: &'static str,
    message: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "unknown-command",
        connected: true,
        frame: "BOGUS\nreceipt:unknown-command\n\n\0",
        message: "malformed frame",
    },
    Case {
        name: "header-without-colon",
        connected: true,
        frame: "SEND\nreceipt:header-without-colon\nno colon\n\n\0",
        message: "malformed frame",
    },
    Case {
        name: "undefined-escape",
        connected: true,
        frame: "SEND\nreceipt:undefined-escape\ndestination:/topic/a\\t\n\n\0",
        message: "malformed frame",
    },
    Case {
        name: "bad-content-length",
        connected: true,
        frame: "SEND\nreceipt:bad-content-length\ndestination:/topic/a\ncontent-length:x\n\n\0",
        message: "malformed frame",
    },
    Case {
        name: "no-nul-after-body",
        connected: true,
        frame: "SEND\nreceipt:no-nul-after-body\ndestination:/topic/a\ncontent-length:1\n\nxy\0",
        message: "malformed frame",
    },
    Case {
        name: "too-large",
        connected: true,
        frame: "SEND\nreceipt:too-large\ndestination:/topic/a\ncontent-length:99999999\n\n\0",
        message: "malformed frame",
    },
    Case {
        name: "missing-header",
        connected: true,
        frame: "SEND\nreceipt:missing-header\n\nno destination\0",
        message: "missing required header 'destination'",
    },
    Case {
        name: "not-connected",
        connected: false,
        frame: "SEND\nreceipt:not-connected\ndestination:/topic/a\n\n\0",
        message: "not connected",
    },
    Case {
        name: "already-connected",
        connected: true,
        frame: "CONNECT\naccept-version:1.2\nreceipt:already-connected\n\n\0",
        message: "already connected",
    },
    Case {
        name: "bad-login",
        connected: false,
        frame: "CONNECT\naccept-version:1.2\nlogin:alice\npasscode:no\nreceipt:bad-login\n\n\0",
        message: "",
    },
    Case {
        name: "version",
        connected: false,
        frame: "CONNECT\naccept-version:9.9\nreceipt:version\n\n\0",
        message: "Supported protocol versions",
    },
    Case {
        name: "unknown-destination",
        connected: true,
        frame: "SEND\nreceipt:unknown-destination\ndestination:/nowhere\n\n\0",
        message: "unknown destination",
    },
    Case {
        name: "no-handler",
        connected: true,
        frame: "SEND\nreceipt:no-handler\ndestination:/app/nothing-here\n\n\0",
        message: "no handler",
    },
    Case {
        name: "unknown-transaction",
        connected: true,
        frame: "COMMIT\nreceipt:unknown-transaction\ntransaction:t0\n\n\0",
        message: "unknown transaction",
    },
];

/// A STOMP connection over one of the three ways in (the socket boxed: a WebSocket client is
/// far larger than a TCP one).
enum Conn {
    Tcp(TcpClient),
    Ws {
        ws: Box<Ws>,
        sockjs: bool,
        decoder: Decoder,
    },
}

impl Conn {
    async fn open(server: &StompServer, way: &str, n: usize) -> Conn {
        match way {
            "tcp" => Conn::Tcp(TcpClient::open(server.tcp).await),
            "websocket" => Conn::Ws {
                ws: Box::new(connect(&format!("ws://{}/stomp/websocket", server.http)).await),
                sockjs: false,
                decoder: Decoder::new(Limits::default()),
            },
            _ => {
                let url = format!("ws://{}/stomp/000/errors{n}/websocket", server.http);
                let mut ws = connect(&url).await;
                ws.expect_text("o").await.expect("open frame");
                Conn::Ws {
                    ws: Box::new(ws),
                    sockjs: true,
                    decoder: Decoder::new(Limits::default()),
                }
            }
        }
    }

    async fn send(&mut self, text: &str) {
        match self {
            Conn::Tcp(c) => c.send(text).await,
            Conn::Ws { ws, sockjs, .. } => {
                let message = if *sockjs {
                    serde_json::to_string(&[text]).expect("a JSON array")
                } else {
                    text.to_owned()
                };
                ws.send(&message).await.expect("send");
            }
        }
    }

    /// The next frame; `None` once the connection ended.
    async fn frame(&mut self) -> Option<Frame> {
        let (ws, sockjs, decoder) = match self {
            Conn::Tcp(c) => {
                return match c.next().await {
                    Next::Frame(f) => Some(f),
                    Next::Closed => None,
                };
            }
            Conn::Ws {
                ws,
                sockjs,
                decoder,
            } => (ws, *sockjs, decoder),
        };
        loop {
            if let Some(frame) = decoder.next_frame().expect("valid frames") {
                return Some(frame);
            }
            match ws.next_event().await.expect("an event in time") {
                Event::Text(text) if !sockjs => decoder.push(text.as_bytes()),
                Event::Text(text) => match text.strip_prefix('a') {
                    Some(array) => {
                        let messages: Vec<String> =
                            serde_json::from_str(array).expect("a[...] frame");
                        messages.iter().for_each(|m| decoder.push(m.as_bytes()));
                    }
                    None if text.starts_with('c') => return None,
                    None => {} // heartbeats
                },
                Event::Binary(_) => panic!("binary message"),
                Event::Close(_) | Event::Gone(_) => return None,
            }
        }
    }
}

async fn connect(url: &str) -> Ws {
    Ws::connect(url).await.expect("websocket handshake")
}

#[actix_web::test]
async fn every_error_names_the_offending_frames_receipt_on_every_way_in() {
    // Without an error destination an `/app` SEND no route serves is an ERROR too (with
    // one, the default, it is a MESSAGE to /user/queue/errors: tests/stomp_app.rs).
    let server = StompServer::start(StompConfig::default().error_destination(None));
    let mut failures = Vec::new();
    for way in ["tcp", "websocket", "sockjs"] {
        for (n, case) in CASES.iter().enumerate() {
            let mut conn = Conn::open(&server, way, n).await;
            if case.connected {
                conn.send(CONNECT).await;
                let connected = conn.frame().await.map(|f| f.command.as_str().to_owned());
                assert_eq!(
                    connected.as_deref(),
                    Some("CONNECTED"),
                    "{way} {}",
                    case.name
                );
            }
            conn.send(case.frame).await;
            let error = conn.frame().await;
            let got = error.as_ref().map(|f| {
                (
                    f.command.as_str().to_owned(),
                    f.get("receipt-id").map(str::to_owned),
                    f.get("message").unwrap_or_default().to_owned(),
                )
            });
            let ok = got.as_ref().is_some_and(|(command, receipt, message)| {
                command == "ERROR"
                    && receipt.as_deref() == Some(case.name)
                    && message.starts_with(case.message)
            });
            if !ok {
                failures.push(format!("{way} {}: {got:?}", case.name));
            }
            assert!(
                conn.frame().await.is_none(),
                "{way} {}: closed after the ERROR",
                case.name
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
