//! Decoding what clients send: xhr_send / jsonp_send bodies (a JSON array of strings) and
//! SockJS WebSocket text frames (a JSON string or an array of strings).
//!
//! Error texts are the ones the official suite checks (`XhrPolling.test_invalid_json`).
//!
//! What a Rust `String` cannot hold never costs a message: bytes that are not UTF-8 in a send
//! body, and lone UTF-16 surrogates in JSON escapes (`"\ud83d"`, which `JSON.stringify` sends
//! for a JavaScript string cut in the middle of an emoji), each become U+FFFD, as a lossy UTF-8
//! decoder does (sockjs-node decodes bodies that way; it keeps lone surrogates, which a
//! JavaScript string can hold). The rest of the message, and of its batch, is delivered.

use std::borrow::Cow;

use serde_json::Value;

/// Why an incoming payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Empty body, or JSON that is not an array of strings.
    #[error("Payload expected.")]
    PayloadExpected,
    /// Not JSON at all.
    #[error("Broken JSON encoding.")]
    BrokenJson,
}

/// Decodes an xhr_send / jsonp_send payload: a JSON array of strings. `[]` is valid (a
/// client heartbeat, `XhrPolling.test_sending_empty_frame`).
pub fn decode_array(body: &[u8]) -> Result<Vec<String>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::PayloadExpected);
    }
    // Validating UTF-8 once (lossily) and parsing a `&str` is several times faster than `from_slice`
    // on non-ASCII text (serde_json re-validates every string it reads from bytes).
    let text = String::from_utf8_lossy(body);
    match parse(&text)? {
        Value::Array(items) => strings(items),
        _ => Err(DecodeError::PayloadExpected),
    }
}

/// Decodes a SockJS WebSocket text frame: `"msg"` or `["a","b"]`. An empty frame carries no
/// message and is ignored (`Websocket.test_empty_frame`).
pub fn decode_websocket(text: &str) -> Result<Vec<String>, DecodeError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    match parse(text)? {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => strings(items),
        _ => Err(DecodeError::PayloadExpected),
    }
}

/// Parses JSON; text that fails only for lone surrogates is parsed again with each of them
/// replaced by U+FFFD (the slow path, taken only by such text).
fn parse(text: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(text).or_else(|_| match replace_lone_surrogates(text) {
        Cow::Owned(repaired) => {
            serde_json::from_str(&repaired).map_err(|_| DecodeError::BrokenJson)
        }
        Cow::Borrowed(_) => Err(DecodeError::BrokenJson),
    })
}

/// The escape a lone surrogate becomes: U+FFFD REPLACEMENT CHARACTER.
const REPLACEMENT_ESCAPE: &str = "\\ufffd";

/// `text` with every `\uXXXX` escape of a lone UTF-16 surrogate (a high one not followed by a
/// low one, or a low one alone) replaced by [`REPLACEMENT_ESCAPE`]. Escaped backslashes are
/// skipped, so `\\ud800` (a backslash, then the letters) is left alone.
fn replace_lone_surrogates(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already in `out` (or needing no change)
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_unit(bytes, i) else {
            i += 2; // `\\`, `\"`, `\n`, ...: never the start of a surrogate escape
            continue;
        };
        let next = escape_unit(bytes, i + 6);
        match (unit, next) {
            (0xD800..=0xDBFF, Some(0xDC00..=0xDFFF)) => i += 12,
            (0xD800..=0xDFFF, _) => {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..i]);
                out.push_str(REPLACEMENT_ESCAPE);
                i += 6;
                copied = i;
            }
            _ => i += 6,
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// The code unit of a `\uXXXX` escape starting at `at`, if one does.
fn escape_unit(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u16::from_str_radix(hex, 16).ok()
}

fn strings(items: Vec<Value>) -> Result<Vec<String>, DecodeError> {
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err(DecodeError::PayloadExpected),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_array_of_strings_decodes_in_order() {
        assert_eq!(
            decode_array(br#"["a","b"]"#),
            Ok(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn an_empty_array_is_a_valid_empty_batch() {
        assert_eq!(decode_array(b"[]"), Ok(vec![]));
    }

    #[test]
    fn an_empty_body_asks_for_a_payload() {
        assert_eq!(decode_array(b""), Err(DecodeError::PayloadExpected));
    }

    #[test]
    fn truncated_json_is_broken_encoding() {
        assert_eq!(decode_array(br#"["x"#), Err(DecodeError::BrokenJson));
        assert_eq!(decode_websocket(r#"["a"#), Err(DecodeError::BrokenJson));
    }

    #[test]
    fn json_that_is_not_an_array_of_strings_is_refused() {
        assert_eq!(
            decode_array(br#"{"a":1}"#),
            Err(DecodeError::PayloadExpected)
        );
        assert_eq!(decode_array(br#"[1]"#), Err(DecodeError::PayloadExpected));
    }

    #[test]
    fn a_websocket_frame_may_be_one_string_or_an_array() {
        assert_eq!(decode_websocket(r#""a""#), Ok(vec!["a".into()]));
        assert_eq!(
            decode_websocket(r#"["a","b"]"#),
            Ok(vec!["a".into(), "b".into()])
        );
        assert_eq!(decode_websocket(""), Ok(vec![]));
        assert_eq!(decode_websocket("[]"), Ok(vec![]));
    }

    #[test]
    fn client_escapes_are_decoded() {
        assert_eq!(
            decode_array(br#"["\u2028\ufff0\u0000"]"#),
            Ok(vec!["\u{2028}\u{fff0}\u{0}".into()])
        );
    }

    #[test]
    fn lone_surrogates_become_replacement_characters_and_the_batch_is_kept() {
        assert_eq!(
            decode_websocket(r#"["a\ud800b","next"]"#),
            Ok(vec!["a\u{fffd}b".into(), "next".into()])
        );
        assert_eq!(
            decode_array(br#"["\ud83d","\ude00x","\uDBFF\uDBFF\uDFFF"]"#),
            Ok(vec![
                "\u{fffd}".into(),
                "\u{fffd}x".into(),
                "\u{fffd}\u{10ffff}".into()
            ])
        );
        assert_eq!(decode_websocket(r#""\ud800""#), Ok(vec!["\u{fffd}".into()]));
    }

    #[test]
    fn surrogate_pairs_and_escaped_backslashes_are_left_alone() {
        assert_eq!(decode_websocket(r#""\ud83d\ude00""#), Ok(vec!["😀".into()]));
        assert_eq!(
            decode_websocket(r#"["\\ud800", "\u0041"]"#),
            Ok(vec!["\\ud800".into(), "A".into()])
        );
    }

    #[test]
    fn json_broken_otherwise_stays_broken() {
        assert_eq!(
            decode_websocket(r#"["\ud800"#),
            Err(DecodeError::BrokenJson)
        );
        assert_eq!(
            decode_array(br#"["\ud800",1]"#),
            Err(DecodeError::PayloadExpected)
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        assert_eq!(
            decode_array(b"[\"a\xffb\xc3\"]"),
            Ok(vec!["a\u{fffd}b\u{fffd}".into()])
        );
    }

    /// JSON as `JSON.stringify` writes a JavaScript string: UTF-16 code units, with lone
    /// surrogates as lowercase `\uxxxx` escapes, other characters verbatim.
    fn js_stringify(units: &[u16]) -> String {
        let mut out = String::from("\"");
        for c in char::decode_utf16(units.iter().copied()) {
            match c {
                Ok('"') => out.push_str("\\\""),
                Ok('\\') => out.push_str("\\\\"),
                Ok(c) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                Ok(c) => out.push(c),
                Err(e) => out.push_str(&format!("\\u{:04x}", e.unpaired_surrogate())),
            }
        }
        out.push('"');
        out
    }

    proptest! {
        /// Any JavaScript string arrives as `String::from_utf16_lossy` makes it.
        #[test]
        fn any_javascript_string_decodes_lossily(units in proptest::collection::vec(
            prop_oneof![any::<u16>(), 0xD800u16..0xE000], 0..16)) {
            let json = js_stringify(&units);
            prop_assert_eq!(
                decode_websocket(&json),
                Ok(vec![String::from_utf16_lossy(&units)])
            );
        }

        #[test]
        fn decoding_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_array(&body);
            let _ = decode_websocket(&String::from_utf8_lossy(&body));
        }

        #[test]
        fn encoded_arrays_decode_back(texts in proptest::collection::vec(any::<String>(), 0..8)) {
            let body = serde_json::to_vec(&texts).unwrap();
            prop_assert_eq!(decode_array(&body), Ok(texts));
        }
    }
}
