//! Garbage WebSocket frames: binary data on a SockJS socket, reserved opcodes, unmasked client
//! frames, RSV bits, stray continuations, oversized or fragmented control frames, invalid
//! UTF-8, lying lengths and plain garbage. Each offending socket is closed promptly; an
//! observer session on another socket keeps echoing throughout.

use std::time::Duration;

use super::client::{Observer, observer_ok};
use super::rawws::{BINARY, CLOSE, CONTINUATION, Ending, PING, RawWs, TEXT};
use super::{Check, Ctx, Outcome, check, ensure};

/// How long the server may take to close an offending socket.
const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// The checks of this module.
pub fn checks() -> Vec<Check> {
    vec![check!("websocket.garbage_frames", garbage_frames)]
}

/// One kind of garbage: what to write after the handshake.
#[derive(Clone, Copy, Debug)]
enum Garbage {
    Binary,
    ReservedDataOpcode,
    ReservedControlOpcode,
    Unmasked,
    Rsv1,
    StrayContinuation,
    LongPing,
    FragmentedPing,
    InvalidUtf8,
    ShortClose,
    HugeLength,
    NotAFrame,
}

const ALL: [Garbage; 12] = [
    Garbage::Binary,
    Garbage::ReservedDataOpcode,
    Garbage::ReservedControlOpcode,
    Garbage::Unmasked,
    Garbage::Rsv1,
    Garbage::StrayContinuation,
    Garbage::LongPing,
    Garbage::FragmentedPing,
    Garbage::InvalidUtf8,
    Garbage::ShortClose,
    Garbage::HugeLength,
    Garbage::NotAFrame,
];

impl Garbage {
    async fn write(self, ws: &mut RawWs) -> Result<(), String> {
        let key = Some(rand::random::<[u8; 4]>());
        match self {
            Garbage::Binary => {
                ws.write_frame(true, BINARY, b"[\"\xff\x00binary\"]", true)
                    .await
            }
            Garbage::ReservedDataOpcode => ws.write_frame(true, 0x3, b"[\"x\"]", true).await,
            Garbage::ReservedControlOpcode => ws.write_frame(true, 0xB, b"", true).await,
            Garbage::Unmasked => ws.write_frame(true, TEXT, b"[\"unmasked\"]", false).await,
            Garbage::Rsv1 => {
                ws.write_header(true, 4, TEXT, 2, Some([0; 4])).await?;
                ws.write_raw(b"[]").await
            }
            Garbage::StrayContinuation => {
                ws.write_frame(true, CONTINUATION, b"[\"x\"]", true).await
            }
            Garbage::LongPing => ws.write_frame(true, PING, &[b'p'; 126], true).await,
            Garbage::FragmentedPing => ws.write_frame(false, PING, b"p", true).await,
            Garbage::InvalidUtf8 => {
                ws.write_frame(true, TEXT, b"[\"\xc3\x28\xff\"]", true)
                    .await
            }
            Garbage::ShortClose => ws.write_frame(true, CLOSE, b"\x03", true).await,
            Garbage::HugeLength => ws.write_header(true, 0, TEXT, 1 << 63, key).await,
            Garbage::NotAFrame => ws.write_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await,
        }
    }
}

/// Sends `garbage` on a fresh socket at `path`; how the server ended it.
async fn attempt(ctx: &Ctx, path: &str, framed: bool, garbage: Garbage) -> Result<Ending, String> {
    let mut ws = RawWs::connect(&ctx.target, path).await?;
    if framed {
        let open = ws.next_text(Duration::from_secs(2)).await?;
        ensure(open == "o", || {
            format!("{path}: expected the open frame, got {open:?}")
        })?;
    }
    // A write error means the server already hung up: that is an ending too.
    if let Err(e) = garbage.write(&mut ws).await {
        return Ok(Ending::Gone(e));
    }
    Ok(ws.ending(CLOSE_WITHIN).await)
}

async fn garbage_frames(ctx: Ctx) -> Outcome {
    let observer = Observer::start(&ctx.target, Duration::from_millis(20)).await?;
    let mut outcomes = Vec::new();
    let mut problems = Vec::new();
    for framed in [true, false] {
        for garbage in ALL {
            let path = if framed {
                format!("{}/websocket", ctx.session("/echo"))
            } else {
                format!("{}/websocket", ctx.base("/echo"))
            };
            let ending = attempt(&ctx, &path, framed, garbage).await?;
            let kind = if framed { "sockjs" } else { "raw" };
            match &ending {
                Ending::Silent => {
                    problems.push(format!("{kind} {garbage:?}: the socket stayed open"))
                }
                Ending::Close(None) => {
                    problems.push(format!("{kind} {garbage:?}: closed without a code"))
                }
                Ending::Close(Some(c)) if *c == 1000 || *c == 1001 => problems.push(format!(
                    "{kind} {garbage:?}: closed with {c}, as if nothing was wrong"
                )),
                _ => {}
            }
            outcomes.push(format!("{kind} {garbage:?}: {}", describe(&ending)));
        }
    }
    // A fresh socket still works.
    let mut fresh =
        RawWs::connect(&ctx.target, &format!("{}/websocket", ctx.base("/echo"))).await?;
    fresh.send_text("fresh").await?;
    let echoed = fresh.next_text(Duration::from_secs(2)).await?;
    let lat = observer.finish().await;
    ensure(echoed == "fresh", || {
        format!("a fresh socket after the garbage echoed {echoed:?}")
    })?;
    observer_ok(&lat, 1, 500.0)?;
    ensure(problems.is_empty(), || {
        format!("{} (all: {})", problems.join("; "), outcomes.join(", "))
    })?;
    Ok(format!(
        "{}; observer {}",
        outcomes.join(", "),
        lat.summary()
    ))
}

fn describe(e: &Ending) -> String {
    match e {
        Ending::Close(Some(c)) => format!("close {c}"),
        Ending::Close(None) => "close".into(),
        Ending::Gone(_) => "dropped".into(),
        Ending::Silent => "still open".into(),
    }
}
