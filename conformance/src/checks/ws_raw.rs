//! The raw WebSocket endpoint `<base>/websocket`: no SockJS framing at all,
//! messages go through untouched.

use super::{Check, Ctx, Outcome, check, eq};
use crate::ws::{Event, Ws};

const CLASS: &str = "RawWebsocket";

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, "transport", raw_transport),
        check!(CLASS, "close", raw_close),
    ]
}

/// A message (including U+FFFF) comes back unchanged, with no open frame.
async fn raw_transport(ctx: Ctx) -> Outcome {
    let mut ws = Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.base(super::ECHO)))).await?;
    let msg = "Hello world!\u{ffff}";
    ws.send(msg).await?;
    ws.expect_text(msg).await?;
    ws.close().await;
    Ok(())
}

/// Closing the session closes the WebSocket with the reason given.
async fn raw_close(ctx: Ctx) -> Outcome {
    let mut ws = Ws::connect(&ctx.ws_url(&format!("{}/websocket", ctx.base(super::CLOSE)))).await?;
    match ws.next_event().await? {
        Event::Close(Some((_code, reason))) => eq("close reason", "Go away!", reason.as_str()),
        other => Err(format!(
            "expected a close frame with reason \"Go away!\", got {other:?}"
        )),
    }
}
