//! Tests of the incremental decoder: every split of the input, escapes per version, each
//! limit and error, and property tests that it never panics and agrees with the encoder.
//! Must not: depend on anything above the codec.
use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn decode_all(decoder: &mut Decoder) -> Result<Vec<Frame>, FrameError> {
    let mut frames = Vec::new();
    while let Some(frame) = decoder.next_frame()? {
        frames.push(frame);
    }
    Ok(frames)
}

fn decode(bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let mut d = Decoder::new(Limits::default());
    d.push(bytes);
    decode_all(&mut d)
}

#[test]
fn several_frames_in_one_input_come_out_in_order() {
    let frames = decode(b"SEND\ndestination:/a\n\nx\0\n\nSEND\ndestination:/b\n\ny\0").unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].get("destination"), Some("/a"));
    assert_eq!(&frames[1].body[..], b"y");
}

#[test]
fn one_frame_split_across_inputs_is_reassembled() {
    let mut d = Decoder::new(Limits::default());
    let mut out = Vec::new();
    for piece in [&b"SE"[..], b"ND\ndest", b"ination:/q\n", b"\nhel", b"lo\0"] {
        d.push(piece);
        out.extend(decode_all(&mut d).unwrap());
    }
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].body[..], b"hello");
    assert_eq!(d.buffered(), 0);
}

#[test]
fn crlf_line_ends_and_heartbeat_eols_are_accepted() {
    let frames = decode(b"\r\n\n\r\nCONNECT\r\naccept-version:1.2\r\n\r\n\0\r\n").unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].command, Command::Connect);
    assert_eq!(frames[0].get("accept-version"), Some("1.2"));
}

#[test]
fn content_length_bodies_may_hold_nul_octets() {
    let frames = decode(b"SEND\ncontent-length:3\n\na\0b\0").unwrap();
    assert_eq!(&frames[0].body[..], b"a\0b");
}

#[test]
fn a_content_length_body_without_a_trailing_nul_is_refused() {
    assert_eq!(
        decode(b"SEND\ncontent-length:1\n\nab\0"),
        Err(FrameError::MissingNul)
    );
}

#[test]
fn unknown_commands_and_headers_without_colon_are_refused() {
    assert!(matches!(
        decode(b"FOO\n\n\0"),
        Err(FrameError::UnknownCommand(_))
    ));
    assert_eq!(
        decode(b"SEND\nnocolon\n\n\0"),
        Err(FrameError::MalformedHeader)
    );
    assert_eq!(
        decode(b"SEND\ncontent-length:x\n\n\0"),
        Err(FrameError::BadContentLength)
    );
}

#[test]
fn escapes_are_undone_per_version_and_undefined_ones_refused() {
    let mut d = Decoder::new(Limits::default());
    d.push(b"SEND\na\\cb:x\\ny\\\\\\r\n\n\0");
    assert_eq!(decode_all(&mut d).unwrap()[0].get("a:b"), Some("x\ny\\\r"));
    d.set_version(Version::V1_1);
    d.push(b"SEND\na:\\r\n\n\0");
    assert_eq!(decode_all(&mut d), Err(FrameError::BadEscape));
    let mut d = Decoder::new(Limits::default());
    d.set_version(Version::V1_0);
    d.push(b"SEND\na:\\t\n\n\0");
    assert_eq!(decode_all(&mut d).unwrap()[0].get("a"), Some("\\t"));
}

#[test]
fn connect_headers_are_never_unescaped() {
    let frames = decode(b"CONNECT\npasscode:a\\b\n\n\0").unwrap();
    assert_eq!(frames[0].get("passcode"), Some("a\\b"));
}

#[test]
fn limits_are_enforced_before_the_frame_completes() {
    let limits = Limits {
        max_frame_bytes: 64,
        max_headers: 2,
        max_header_bytes: 32,
    };
    let run = |bytes: &[u8]| {
        let mut d = Decoder::new(limits);
        d.push(bytes);
        decode_all(&mut d)
    };
    assert_eq!(run(&[b'x'; 100][..]), Err(FrameError::HeaderTooLong(32)));
    assert_eq!(
        run(b"SEND\na:1\nb:2\nc:3\n\n\0"),
        Err(FrameError::TooManyHeaders(2))
    );
    let long = format!("SEND\na:{}\n\n\0", "x".repeat(40));
    assert_eq!(run(long.as_bytes()), Err(FrameError::HeaderTooLong(32)));
    assert_eq!(
        run(b"SEND\ncontent-length:99\n\n"),
        Err(FrameError::TooLarge(64))
    );
    let mut big = b"SEND\n\n".to_vec();
    big.extend([b'x'; 70]);
    assert_eq!(run(&big), Err(FrameError::TooLarge(64)));
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:\\\\\r\n -]{0,12}",
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    let commands: Vec<Command> = Command::ALL
        .iter()
        .copied()
        .filter(|c| c.escapes_headers())
        .collect();
    (
        proptest::sample::select(commands),
        proptest::collection::vec(
            (text(), text()).prop_filter("not content-length", |(n, _)| n != CONTENT_LENGTH),
            0..5,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(command, headers, body)| {
            Frame {
                command,
                headers,
                body: Bytes::new(),
            }
            .body(Bytes::from(body))
        })
}

proptest! {
    #[test]
    fn encoded_frames_decode_to_themselves_in_1_2(f in frame()) {
        prop_assert_eq!(decode(&f.encode(Version::V1_2)), Ok(vec![f]));
    }

    #[test]
    fn decoding_never_panics_on_arbitrary_bytes(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
        version in proptest::sample::select(Version::ALL.to_vec()),
    ) {
        let mut d = Decoder::new(Limits { max_frame_bytes: 256, max_headers: 4, max_header_bytes: 32 });
        d.set_version(version);
        for chunk in chunks {
            d.push(&chunk);
            let _ = decode_all(&mut d);
        }
    }

    #[test]
    fn frames_split_at_random_points_decode_as_when_whole(
        frames in proptest::collection::vec(frame(), 1..4),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut bytes = Vec::new();
        for f in &frames {
            bytes.extend_from_slice(&f.encode(Version::V1_2));
            bytes.extend_from_slice(b"\r\n\n");
        }
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut d = Decoder::new(Limits::default());
        let mut out = Vec::new();
        let mut from = 0;
        for at in points.into_iter().chain([bytes.len()]) {
            d.push(&bytes[from..at]);
            from = at;
            out.extend(decode_all(&mut d).unwrap());
        }
        prop_assert_eq!(out, frames);
    }
}

#[test]
fn a_refused_frame_still_tells_its_receipt() {
    let mut d = Decoder::new(Limits::default());
    d.push(b"BOGUS\nfoo:bar\nreceipt:r1\nreceipt:r2\n\nbody\0");
    assert!(matches!(d.next_frame(), Err(FrameError::UnknownCommand(_))));
    assert_eq!(d.receipt().as_deref(), Some("r1"));

    let mut d = Decoder::new(Limits::default());
    d.push(b"SEND\nreceipt:r3\nno colon here\n\n\0");
    assert_eq!(d.next_frame(), Err(FrameError::MalformedHeader));
    assert_eq!(d.receipt().as_deref(), Some("r3"));

    let mut d = Decoder::new(Limits::default());
    d.push(b"SEND\nreceipt:r4\ncontent-length:1\n\nxy\0");
    assert_eq!(d.next_frame(), Err(FrameError::MissingNul));
    assert_eq!(d.receipt().as_deref(), Some("r4"));

    let mut d = Decoder::new(Limits::default());
    d.push(b"BOGUS\n\nreceipt:in-the-body\0");
    assert!(d.next_frame().is_err());
    assert_eq!(d.receipt(), None, "a body line is not a header");
}
