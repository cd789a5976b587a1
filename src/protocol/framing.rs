//! How each transport wraps a SockJS frame on the wire, and the preludes of the streaming
//! transports. The session wraps each frame once, for the receiver attached at that moment.

use bytes::{BufMut, Bytes, BytesMut};

use super::quote::{quote_for_script_into, quote_into};

/// The xhr_streaming prelude: 2048 `h` bytes and a newline, for IE's XHR buffering
/// (`XhrStreaming.test_transport`).
pub const XHR_STREAMING_PRELUDE_LEN: usize = 2048;
/// The eventsource prelude, a bare line end, for an old Opera bug (`EventSource.test_transport`).
pub const EVENTSOURCE_PRELUDE: &[u8] = b"\r\n";
/// Bytes escaped in an EventSource `data:` line, as sockjs-node does (`escape_selected(p,
/// '\r\n\x00')`, with `%` always added): sockjs-client passes every event through
/// `decodeURI` (lib/transport/receiver/eventsource.js), so a raw `%41` would arrive as `A` and
/// a `%` before non-hex makes it throw; CR and LF would end the line, NUL is not carried.
const EVENTSOURCE_ESCAPED: [(u8, &[u8]); 4] = [
    (b'%', b"%25"),
    (b'\r', b"%0D"),
    (b'\n', b"%0A"),
    (0, b"%00"),
];
/// The htmlfile page must be longer than this before the first frame, for Safari's content
/// sniffing (`HtmlFile.test_transport`: `len(d) > 1024`).
pub const HTMLFILE_MIN_PRELUDE: usize = 1024;

/// The wire framing of one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// SockJS WebSocket: one frame per WebSocket text message, unwrapped.
    WebSocket,
    /// xhr polling and xhr_streaming: the frame and `\n`.
    Xhr,
    /// EventSource: `data: <frame>\r\n\r\n`.
    EventSource,
    /// htmlfile: `<script>\np("<frame>");\n</script>\r\n`, quoted safe for a script block.
    HtmlFile,
    /// JSONP polling: `/**/<callback>("<frame>");\r\n`.
    Jsonp {
        /// The validated callback name.
        callback: String,
    },
}

impl Framing {
    /// Wraps one frame for the wire (a WebSocket frame is passed through, not copied).
    pub fn wrap(&self, frame: Bytes) -> Bytes {
        match self {
            Framing::WebSocket => frame,
            Framing::Xhr => concat(&[&frame, b"\n"]),
            Framing::EventSource => eventsource_event(&frame),
            Framing::HtmlFile => {
                let mut s = String::with_capacity(frame.len() + 32);
                s.push_str("<script>\np(");
                quote_for_script_into(&mut s, &String::from_utf8_lossy(&frame));
                s.push_str(");\n</script>\r\n");
                Bytes::from(s)
            }
            Framing::Jsonp { callback } => {
                // The `/**/` prefix defeats the Rosetta Flash JSONP attack (sockjs-node #163).
                let mut s = String::with_capacity(frame.len() + callback.len() + 16);
                s.push_str("/**/");
                s.push_str(callback);
                s.push('(');
                quote_into(&mut s, &String::from_utf8_lossy(&frame));
                s.push_str(");\r\n");
                Bytes::from(s)
            }
        }
    }
}

/// The xhr_streaming prelude (see [`XHR_STREAMING_PRELUDE_LEN`]).
pub fn xhr_streaming_prelude() -> Bytes {
    let mut out = BytesMut::with_capacity(XHR_STREAMING_PRELUDE_LEN + 1);
    out.put_bytes(b'h', XHR_STREAMING_PRELUDE_LEN);
    out.put_u8(b'\n');
    out.freeze()
}

/// The htmlfile page head that calls `parent.<callback>`, padded past
/// [`HTMLFILE_MIN_PRELUDE`] bytes. `callback` must already be validated.
pub fn htmlfile_prelude(callback: &str) -> Bytes {
    let mut page = format!(
        "<!doctype html>\n<html><head>\n  \
         <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n  \
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
         </head><body><h2>Don't panic!</h2>\n  <script>\n    \
         document.domain = document.domain;\n    \
         var c = parent.{callback};\n    c.start();\n    \
         function p(d) {{c.message(d);}};\n    \
         window.onload = function() {{c.stop();}};\n  </script>"
    );
    let pad = (HTMLFILE_MIN_PRELUDE + 1).saturating_sub(page.len());
    page.extend(std::iter::repeat_n(' ', pad));
    page.push_str("\r\n\r\n");
    Bytes::from(page)
}

/// `data: <frame>\r\n\r\n` with [`EVENTSOURCE_ESCAPED`] applied to the frame.
fn eventsource_event(frame: &[u8]) -> Bytes {
    const HEAD: &[u8] = b"data: ";
    const TAIL: &[u8] = b"\r\n\r\n";
    let escaped = |b: u8| EVENTSOURCE_ESCAPED.iter().find(|(c, _)| *c == b);
    let extra = frame.iter().filter(|b| escaped(**b).is_some()).count() * 2;
    let mut out = BytesMut::with_capacity(HEAD.len() + frame.len() + extra + TAIL.len());
    out.put_slice(HEAD);
    if extra == 0 {
        out.put_slice(frame);
    } else {
        for b in frame {
            match escaped(*b) {
                Some((_, escape)) => out.put_slice(escape),
                None => out.put_u8(*b),
            }
        }
    }
    out.put_slice(TAIL);
    out.freeze()
}

fn concat(parts: &[&[u8]]) -> Bytes {
    let mut out = BytesMut::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.put_slice(part);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn xhr_frames_end_with_a_newline() {
        assert_eq!(&Framing::Xhr.wrap(Bytes::from_static(b"o"))[..], b"o\n");
    }

    #[test]
    fn eventsource_frames_are_data_lines() {
        assert_eq!(
            &Framing::EventSource.wrap(Bytes::from_static(br#"a["x"]"#))[..],
            b"data: a[\"x\"]\r\n\r\n"
        );
    }

    #[test]
    fn eventsource_escapes_what_decode_uri_and_the_line_parser_would_change() {
        assert_eq!(
            &Framing::EventSource.wrap(Bytes::from_static(b"a[\"100% %41\r\n\0\"]"))[..],
            b"data: a[\"100%25 %2541%0D%0A%00\"]\r\n\r\n"
        );
    }

    proptest! {
        /// What sockjs-client does to an event: the EventSource parser keeps the line after
        /// `data: `, then `decodeURI` turns every `%XX` back (the escapes are all ASCII).
        #[test]
        fn eventsource_events_decode_back_to_the_frame(frame in any::<String>()) {
            let wrapped = Framing::EventSource.wrap(Bytes::from(frame.clone()));
            let text = std::str::from_utf8(&wrapped).unwrap();
            let line = text.strip_prefix("data: ").and_then(|t| t.strip_suffix("\r\n\r\n"));
            let line = line.unwrap();
            prop_assert!(!line.contains(['\r', '\n', '\0']));
            prop_assert_eq!(decode_uri(line), frame);
        }
    }

    /// `decodeURI` for the escapes above: `%XX` of an ASCII byte becomes that byte.
    fn decode_uri(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            let byte = u8::from_str_radix(&rest[at + 1..at + 3], 16).unwrap();
            out.push(char::from(byte));
            rest = &rest[at + 3..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn htmlfile_frames_call_p_with_a_js_string() {
        assert_eq!(
            &Framing::HtmlFile.wrap(Bytes::from_static(br#"a["x"]"#))[..],
            b"<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n"
        );
    }

    #[test]
    fn htmlfile_frames_cannot_close_the_script_block() {
        let wrapped = Framing::HtmlFile.wrap(Bytes::from_static(
            br#"a["</script><script>alert(1)</script>"]"#,
        ));
        let text = std::str::from_utf8(&wrapped).unwrap();
        assert_eq!(text.matches("</script>").count(), 1, "{text}");
    }

    #[test]
    fn jsonp_frames_call_the_callback_after_a_comment() {
        let framing = Framing::Jsonp {
            callback: "x".into(),
        };
        assert_eq!(
            &framing.wrap(Bytes::from_static(b"o"))[..],
            b"/**/x(\"o\");\r\n"
        );
    }

    #[test]
    fn preludes_have_their_documented_sizes() {
        assert_eq!(xhr_streaming_prelude().len(), 2049);
        let page = htmlfile_prelude("callback");
        assert!(page.len() > HTMLFILE_MIN_PRELUDE + 4);
        assert!(
            std::str::from_utf8(&page)
                .unwrap()
                .contains("var c = parent.callback;")
        );
    }
}
