//! JSON string encoding in both directions. The server must escape (as
//! lowercase `\uxxxx`) the characters that browsers or proxies mangle, and
//! must decode any `\uxxxx` escape a client chooses to send.

use serde_json::Value;

use super::{Check, Ctx, Outcome, check, ensure, eq, status, status_body};

const CLASS: &str = "JSONEncoding";

/// Characters above U+00FF that a server must send escaped.
const SERVER_ESCAPES: [(u32, u32); 4] = [
    (0x200c, 0x200f),
    (0x2028, 0x202f),
    (0x2060, 0x206f),
    (0xfff0, 0xffff),
];

/// Characters a browser client escapes before sending (no surrogates).
const CLIENT_ESCAPES: &[(u32, u32)] = &[
    (0x0000, 0x001f),
    (0x0022, 0x0022),
    (0x007f, 0x009f),
    (0x00ad, 0x00ad),
    (0x0300, 0x0333),
    (0x033d, 0x0346),
    (0x034a, 0x034c),
    (0x0350, 0x0352),
    (0x0357, 0x0358),
    (0x035c, 0x0362),
    (0x0374, 0x0374),
    (0x037e, 0x037e),
    (0x0387, 0x0387),
    (0x0591, 0x05af),
    (0x05c4, 0x05c4),
    (0x0600, 0x0604),
    (0x0610, 0x0617),
    (0x0653, 0x0654),
    (0x0657, 0x065b),
    (0x065d, 0x065e),
    (0x06df, 0x06e2),
    (0x06eb, 0x06ec),
    (0x070f, 0x070f),
    (0x0730, 0x0730),
    (0x0732, 0x0733),
    (0x0735, 0x0736),
    (0x073a, 0x073a),
    (0x073d, 0x073d),
    (0x073f, 0x0741),
    (0x0743, 0x0743),
    (0x0745, 0x0745),
    (0x0747, 0x0747),
    (0x07eb, 0x07f1),
    (0x0951, 0x0951),
    (0x0958, 0x095f),
    (0x09dc, 0x09dd),
    (0x09df, 0x09df),
    (0x0a33, 0x0a33),
    (0x0a36, 0x0a36),
    (0x0a59, 0x0a5b),
    (0x0a5e, 0x0a5e),
    (0x0b5c, 0x0b5d),
    (0x0e38, 0x0e39),
    (0x0f43, 0x0f43),
    (0x0f4d, 0x0f4d),
    (0x0f52, 0x0f52),
    (0x0f57, 0x0f57),
    (0x0f5c, 0x0f5c),
    (0x0f69, 0x0f69),
    (0x0f72, 0x0f76),
    (0x0f78, 0x0f78),
    (0x0f80, 0x0f83),
    (0x0f93, 0x0f93),
    (0x0f9d, 0x0f9d),
    (0x0fa2, 0x0fa2),
    (0x0fa7, 0x0fa7),
    (0x0fac, 0x0fac),
    (0x0fb9, 0x0fb9),
    (0x17b4, 0x17b5),
    (0x1939, 0x193a),
    (0x1a17, 0x1a17),
    (0x1b6b, 0x1b6b),
    (0x1cda, 0x1cdb),
    (0x1dc0, 0x1dcf),
    (0x1dfc, 0x1dfc),
    (0x1dfe, 0x1dfe),
    (0x1f71, 0x1f71),
    (0x1f73, 0x1f73),
    (0x1f75, 0x1f75),
    (0x1f77, 0x1f77),
    (0x1f79, 0x1f79),
    (0x1f7b, 0x1f7b),
    (0x1f7d, 0x1f7d),
    (0x1fbb, 0x1fbb),
    (0x1fbe, 0x1fbe),
    (0x1fc9, 0x1fc9),
    (0x1fcb, 0x1fcb),
    (0x1fd3, 0x1fd3),
    (0x1fdb, 0x1fdb),
    (0x1fe3, 0x1fe3),
    (0x1feb, 0x1feb),
    (0x1fee, 0x1fef),
    (0x1ff9, 0x1ff9),
    (0x1ffb, 0x1ffb),
    (0x1ffd, 0x1ffd),
    (0x2000, 0x20ff),
    (0x2126, 0x2126),
    (0x212a, 0x212b),
    (0x2329, 0x232a),
    (0x2adc, 0x2adc),
    (0x302b, 0x302c),
    (0xaab2, 0xaab3),
    (0xf900, 0xfa0d),
    (0xfa10, 0xfa10),
    (0xfa12, 0xfa12),
    (0xfa15, 0xfa1e),
    (0xfa20, 0xfa20),
    (0xfa22, 0xfa22),
    (0xfa25, 0xfa26),
    (0xfa2a, 0xfa2d),
    (0xfa30, 0xfa6d),
    (0xfa70, 0xfad9),
    (0xfb1d, 0xfb1d),
    (0xfb1f, 0xfb1f),
    (0xfb2a, 0xfb36),
    (0xfb38, 0xfb3c),
    (0xfb3e, 0xfb3e),
    (0xfb40, 0xfb41),
    (0xfb43, 0xfb44),
    (0xfb46, 0xfb4e),
    (0xfeff, 0xfeff),
    (0xfff0, 0xffff),
];

pub fn checks() -> Vec<Check> {
    vec![
        check!(CLASS, xhr_server_encodes),
        check!(CLASS, xhr_server_decodes),
    ]
}

fn chars(ranges: &[(u32, u32)]) -> impl Iterator<Item = char> + '_ {
    ranges
        .iter()
        .flat_map(|&(a, b)| a..=b)
        .filter_map(char::from_u32)
}

/// `"\uxxxx\uxxxx..."`: a JSON string of lowercase escapes.
fn escaped(ranges: &[(u32, u32)]) -> String {
    let body: String = chars(ranges)
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    format!("\"{body}\"")
}

/// Opens an echo session, sends `payload` and returns the string the
/// next poll carries, still JSON-encoded (between `a[` and `]`).
async fn round_trip(ctx: &Ctx, payload: String) -> Result<String, String> {
    let url = ctx.session(super::ECHO);
    status_body(&ctx.post(&format!("{url}/xhr"), "").await?, 200, "o\n")?;
    status(&ctx.post(&format!("{url}/xhr_send"), &payload).await?, 204)?;
    let r = ctx.post(&format!("{url}/xhr"), "").await?;
    status(&r, 200)?;
    let text = r.text();
    text.trim_end_matches('\n')
        .strip_prefix("a[")
        .and_then(|t| t.strip_suffix(']'))
        .map(str::to_string)
        .ok_or_else(|| format!("{}: expected an a[...] frame, got {text:?}", r.label))
}

/// Raw characters in, byte-exact lowercase escapes out.
async fn xhr_server_encodes(ctx: Ctx) -> Outcome {
    let raw: String = chars(&SERVER_ESCAPES).collect();
    let got = round_trip(&ctx, format!("[\"{raw}\"]")).await?;
    let expected = escaped(&SERVER_ESCAPES);
    if got == expected {
        return Ok(());
    }
    // Name the first character that came back differently.
    let got_value: Result<String, _> = serde_json::from_str(&got);
    let first_bad = chars(&SERVER_ESCAPES).find(|c| {
        let esc = format!("\\u{:04x}", *c as u32);
        !got.contains(&esc)
    });
    Err(format!(
        "server output differs from the expected escapes; first character not sent as lowercase \\uxxxx: {:?}; decoded equal: {}; got {got:?}",
        first_bad.map(|c| format!("U+{:04X}", c as u32)),
        got_value.is_ok_and(|v| v == raw),
    ))
}

/// Escapes in, the same characters out (in whatever encoding).
async fn xhr_server_decodes(ctx: Ctx) -> Outcome {
    let sent = escaped(CLIENT_ESCAPES);
    let got = round_trip(&ctx, format!("[{sent}]")).await?;
    let got: Value = serde_json::from_str(&got)
        .map_err(|e| format!("echoed message is not a JSON string ({e}): {got:?}"))?;
    let got = got
        .as_str()
        .ok_or_else(|| format!("echoed message is not a JSON string: {got}"))?;
    let expected: String = chars(CLIENT_ESCAPES).collect();
    ensure(got.chars().count() == expected.chars().count(), || {
        format!(
            "echoed string has {} characters, sent {}",
            got.chars().count(),
            expected.chars().count()
        )
    })?;
    if let Some((i, (g, e))) = got
        .chars()
        .zip(expected.chars())
        .enumerate()
        .find(|(_, (g, e))| g != e)
    {
        return eq(
            &format!("character #{i} of the echoed string"),
            &format!("U+{:04X}", e as u32),
            &format!("U+{:04X}", g as u32),
        );
    }
    Ok(())
}
