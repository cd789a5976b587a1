//! permessage-deflate (RFC 7692): the negotiation (here, pure: header values in, an
//! agreement out), the deflate and inflate of one message ([`zlib`]) and the RFC 6455 codec
//! that reads and writes compressed frames ([`codec`]). Only used when the mount turns it on
//! (`Config::permessage_deflate`); the default path never comes here.
//!
//! # What the server agrees to
//! The first offer it can honour (RFC 7692 section 5.1), always answered with
//! `server_no_context_takeover; client_no_context_takeover` (sections 7.1.1.1 and 7.1.1.2
//! allow the server to add both to any offer): each message is compressed on its own, so a
//! socket holds no LZ77 window between messages and the compressor and decompressor are one
//! per worker thread, not one per socket. An offer with an unknown parameter, a parameter
//! twice, or a bad value is declined (the next offer is tried; no offer accepted means no
//! extension, never a failed handshake).
//!
//! Window sizes: miniz_oxide always inflates with a 32 KiB window, which decodes anything a
//! client compresses with a smaller one, so `client_max_window_bits` (with or without a
//! value) needs no answer (section 7.1.2.2 lets the server leave it out) and costs nothing.
//! miniz_oxide cannot deflate with a smaller window, though: an offer with
//! `server_max_window_bits=N` (N < 15) is accepted and echoed (section 7.1.2.1), and the
//! server then compresses only messages of at most 2^N bytes, whose back-references cannot
//! reach further than the window since nothing is kept from earlier messages; longer messages
//! go uncompressed (RSV1 clear, which section 6 allows for any message).

pub(crate) mod codec;
pub(crate) mod zlib;

/// The extension's name in `Sec-WebSocket-Extensions` (RFC 7692 section 7).
pub const EXTENSION: &str = "permessage-deflate";
/// The server resets its compressor after every message (RFC 7692 section 7.1.1.1).
const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
/// The client must reset its compressor after every message (RFC 7692 section 7.1.1.2).
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
/// The largest LZ77 window the server may use, as a power of two (RFC 7692 section 7.1.2.1).
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
/// The largest LZ77 window the client will use (RFC 7692 section 7.1.2.2).
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";
/// Window sizes are 2^8 to 2^15 bytes (RFC 7692 section 7.1.2).
const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// What was agreed for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The `server_max_window_bits` the client asked for, if any (8 to 15).
    pub server_max_window_bits: Option<u8>,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` answer.
    pub fn header(&self) -> String {
        let mut out =
            format!("{EXTENSION}; {SERVER_NO_CONTEXT_TAKEOVER}; {CLIENT_NO_CONTEXT_TAKEOVER}");
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; {SERVER_MAX_WINDOW_BITS}={bits}"));
        }
        out
    }

    /// The longest message the server may compress: any, unless the client limited the
    /// server's window (see the module documentation).
    pub fn max_compressed_message(&self) -> usize {
        match self.server_max_window_bits {
            Some(bits) if bits < 15 => 1 << bits,
            _ => usize::MAX,
        }
    }
}

/// The first acceptable permessage-deflate offer among the `Sec-WebSocket-Extensions`
/// header values, in order; `None` when there is none.
pub fn negotiate<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Agreed> {
    values
        .into_iter()
        .flat_map(split_outside_quotes)
        .find_map(accept_offer)
}

/// Splits one header value into its comma-separated elements, commas inside quoted strings
/// left alone (RFC 7230 section 7's list syntax).
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// One offer (`permessage-deflate; param[=value]; ...`): agreed, or `None` when it is for
/// another extension or asks for what the server does not do.
fn accept_offer(offer: &str) -> Option<Agreed> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut agreed = Agreed {
        server_max_window_bits: None,
    };
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(unquote(value.trim())?)),
            None => (param, None),
        };
        // A parameter at most once (RFC 7692 section 7, "MUST decline").
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            (SERVER_NO_CONTEXT_TAKEOVER | CLIENT_NO_CONTEXT_TAKEOVER, None) => {}
            (SERVER_MAX_WINDOW_BITS, Some(bits)) => {
                agreed.server_max_window_bits = Some(window_bits(bits)?);
            }
            (CLIENT_MAX_WINDOW_BITS, None) => {}
            (CLIENT_MAX_WINDOW_BITS, Some(bits)) => {
                window_bits(bits)?;
            }
            _ => return None,
        }
    }
    Some(agreed)
}

/// A parameter value, a token or a quoted string (RFC 7692 section 7: the unquoted value
/// must still be a token, which a window size always is).
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"'),
        None => Some(value),
    }
}

/// A window size: a decimal 8 to 15 without leading zeros (RFC 7692 section 7.1.2.1).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| WINDOW_BITS.contains(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(n: u8) -> Option<Agreed> {
        Some(Agreed {
            server_max_window_bits: Some(n),
        })
    }

    const PLAIN: Option<Agreed> = Some(Agreed {
        server_max_window_bits: None,
    });

    #[test]
    fn a_bare_offer_is_accepted_without_context_takeover_both_ways() {
        let agreed = negotiate(["permessage-deflate"]);
        assert_eq!(agreed, PLAIN);
        assert_eq!(
            agreed.map(|a| a.header()).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
    }

    #[test]
    fn chromiums_offer_is_accepted() {
        assert_eq!(
            negotiate(["permessage-deflate; client_max_window_bits"]),
            PLAIN
        );
    }

    #[test]
    fn every_parameter_with_a_valid_value_is_accepted() {
        let offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                     server_max_window_bits=10; client_max_window_bits=\"9\"";
        let agreed = negotiate([offer]);
        assert_eq!(agreed, bits(10));
        assert_eq!(agreed.map(|a| a.max_compressed_message()), Some(1024));
        assert!(
            agreed
                .map(|a| a.header())
                .is_some_and(|h| h.ends_with("; server_max_window_bits=10"))
        );
        assert_eq!(
            bits(15).map(|a| a.max_compressed_message()),
            Some(usize::MAX)
        );
    }

    #[test]
    fn the_first_acceptable_offer_wins_and_bad_ones_are_declined_not_fatal() {
        let values = [
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=12, permessage-deflate",
        ];
        assert_eq!(negotiate(values), bits(12));
        assert_eq!(
            negotiate(["permessage-deflate; mystery, permessage-deflate"]),
            PLAIN
        );
    }

    #[test]
    fn unknown_repeated_or_malformed_parameters_decline_the_offer() {
        for offer in [
            "permessage-deflate; mystery",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=yes",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=0x9",
            "permessage-deflate; client_max_window_bits=\"9",
            "permessage-deflate; client_max_window_bits=",
            "x-webkit-deflate-frame",
            "",
        ] {
            assert_eq!(negotiate([offer]), None, "{offer}");
        }
        assert_eq!(negotiate([]), None);
    }

    #[test]
    fn commas_inside_quotes_do_not_split_an_offer() {
        assert_eq!(
            split_outside_quotes("a; b=\"x,y\", c"),
            vec!["a; b=\"x,y\"", " c"]
        );
    }
}
