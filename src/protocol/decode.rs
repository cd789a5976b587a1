//! Decoding what clients send: xhr_send / jsonp_send bodies (a JSON array of strings) and
//! SockJS WebSocket text frames (a JSON string or an array of strings).
//!
//! Error texts are the ones the official suite checks (`XhrPolling.test_invalid_json`).

use serde_json::Value;

/// Why an incoming payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Empty body, or JSON that is not an array of strings.
    #[error("Payload expected.")]
    PayloadExpected,
    /// Not JSON at all (or JSON that Rust strings cannot hold, such as a lone surrogate).
    #[error("Broken JSON encoding.")]
    BrokenJson,
}

/// Decodes an xhr_send / jsonp_send payload: a JSON array of strings. `[]` is valid (a
/// client heartbeat, `XhrPolling.test_sending_empty_frame`).
pub fn decode_array(body: &[u8]) -> Result<Vec<String>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::PayloadExpected);
    }
    // Checking UTF-8 first and parsing a `&str` is several times faster than `from_slice`
    // on non-ASCII text (serde_json re-validates every string it reads from bytes).
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(DecodeError::BrokenJson);
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => strings(items),
        Ok(_) => Err(DecodeError::PayloadExpected),
        Err(_) => Err(DecodeError::BrokenJson),
    }
}

/// Decodes a SockJS WebSocket text frame: `"msg"` or `["a","b"]`. An empty frame carries no
/// message and is ignored (`Websocket.test_empty_frame`).
pub fn decode_websocket(text: &str) -> Result<Vec<String>, DecodeError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => Ok(vec![s]),
        Ok(Value::Array(items)) => strings(items),
        Ok(_) => Err(DecodeError::PayloadExpected),
        Err(_) => Err(DecodeError::BrokenJson),
    }
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

    proptest! {
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
