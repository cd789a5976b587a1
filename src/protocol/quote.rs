//! JSON string quoting as sockjs-node 0.3.x does it (`utils.quote`): `JSON.stringify` first,
//! then every character in the "escapable" ranges as a lowercase `\uxxxx` escape.
//!
//! The ranges are those of sockjs-node's `escapable` regex and of the official suite's
//! `escapable_by_server` (`JSONEncoding.test_xhr_server_encodes`): U+0000..U+001F,
//! U+200C..U+200F, U+2028..U+202F, U+2060..U+206F, U+FFF0..U+FFFF, plus the UTF-16 surrogates
//! U+D800..U+DFFF, which in a Rust string means every character above U+FFFF: it is written as
//! its two escaped surrogate halves, exactly as a JavaScript server writes it.

/// Appends `s` to `out` as a quoted JSON string with SockJS escaping.
pub fn quote_into(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    if !s.bytes().any(byte_needs_attention) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            push_char(out, c);
        }
    }
    out.push('"');
}

/// Returns `s` as a quoted JSON string with SockJS escaping.
pub fn quote(s: &str) -> String {
    let mut out = String::new();
    quote_into(&mut out, s);
    out
}

/// Appends `s` quoted as a JavaScript string literal safe inside an HTML `<script>` block:
/// SockJS escaping plus `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`, so a payload can
/// never end the script element (`</script>`) or open a comment (`<!--`).
pub fn quote_for_script_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '<' | '>' | '&' => push_escape(out, c as u32),
            c => push_char(out, c),
        }
    }
    out.push('"');
}

/// A byte that may start something needing an escape: ASCII controls, `"` and `\`, and the
/// lead bytes of U+2000..U+2FFF (0xE2), U+F000..U+FFFF (0xEF) and of 4-byte sequences.
fn byte_needs_attention(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\' || b == 0xE2 || b == 0xEF || b >= 0xF0
}

fn push_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{08}' => out.push_str("\\b"),
        '\u{0c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) > 0xFFFF => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_escape(out, u32::from(*unit));
            }
        }
        c if is_escapable(c) => push_escape(out, c as u32),
        c => out.push(c),
    }
}

/// The BMP ranges sockjs-node escapes (see the module doc).
pub fn is_escapable(c: char) -> bool {
    matches!(
        c as u32,
        0x0000..=0x001F | 0x200C..=0x200F | 0x2028..=0x202F | 0x2060..=0x206F | 0xFFF0..=0xFFFF
    )
}

fn push_escape(out: &mut String, unit: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[((unit >> shift) & 0xF) as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_ascii_is_quoted_verbatim() {
        assert_eq!(quote("hello world"), "\"hello world\"");
    }

    #[test]
    fn json_short_escapes_are_used_like_json_stringify() {
        assert_eq!(quote("a\"b\\c\n\r\t\u{8}\u{c}"), r#""a\"b\\c\n\r\t\b\f""#);
        assert_eq!(quote("\u{0}\u{1f}"), r#""\u0000\u001f""#);
    }

    #[test]
    fn sockjs_ranges_are_escaped_lowercase() {
        assert_eq!(
            quote("\u{200c}\u{2028}\u{2029}\u{206f}\u{fff0}\u{ffff}"),
            r#""\u200c\u2028\u2029\u206f\ufff0\uffff""#
        );
    }

    #[test]
    fn astral_characters_become_escaped_surrogate_pairs() {
        assert_eq!(quote("😀"), r#""\ud83d\ude00""#);
    }

    #[test]
    fn characters_outside_the_ranges_stay_verbatim() {
        assert_eq!(
            quote("é€\u{2000}\u{2030}\u{feff}/"),
            "\"é€\u{2000}\u{2030}\u{feff}/\""
        );
    }

    #[test]
    fn script_quoting_neutralises_the_closing_tag() {
        let mut out = String::new();
        quote_for_script_into(&mut out, "</script><b>&");
        assert_eq!(out, r#""\u003c/script\u003e\u003cb\u003e\u0026""#);
    }

    #[test]
    fn every_escaped_bmp_char_of_the_suite_range_is_exact() {
        // The official suite sends every char 255..65536 in its ranges and expects this text.
        let chars: String = (255u32..65536)
            .filter_map(char::from_u32)
            .filter(|c| is_escapable(*c))
            .collect();
        let expected: String = chars
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        assert_eq!(quote(&chars), format!("\"{expected}\""));
    }

    proptest! {
        #[test]
        fn quoting_round_trips_through_a_json_parser(s in any::<String>()) {
            let quoted = quote(&s);
            let back: String = serde_json::from_str(&quoted).unwrap();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn quoted_output_holds_no_escapable_character(s in any::<String>()) {
            let quoted = quote(&s);
            prop_assert!(!quoted.chars().any(|c| is_escapable(c) || (c as u32) > 0xFFFF));
        }

        #[test]
        fn script_quoting_round_trips_and_holds_no_angle_bracket(s in any::<String>()) {
            let mut out = String::new();
            quote_for_script_into(&mut out, &s);
            prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('&'));
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
