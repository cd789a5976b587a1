//! Tests of the pure session state machine, with time passed in (no sleeping).

use super::*;
use proptest::prelude::*;

const HB: Duration = Duration::from_secs(25);
const DC: Duration = Duration::from_secs(5);
const TIMING: Timing = Timing {
    heartbeat: HB,
    disconnect: DC,
};
const POLL: usize = 1;
const STREAM: usize = 4096;

fn http(now: Instant) -> SessionState {
    SessionState::new(now, TIMING, Mode::Framed, false)
}

fn delivered(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_poll_gets_the_open_frame_and_ends() {
    let t = Instant::now();
    let mut s = http(t);
    let out = s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    assert_eq!(
        out,
        vec![
            Output::Deliver(Bytes::from("o\n")),
            Output::EndReceiver(None),
            Output::Opened
        ]
    );
    assert_eq!(s.phase(), &Phase::Open);
}

#[test]
fn messages_wait_for_a_receiver_and_arrive_as_one_batch_in_order() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    assert_eq!(s.send(t, Message::new("a")), Some(vec![]));
    assert_eq!(s.send(t, Message::new("b")), Some(vec![]));
    let out = s.attach(t, 2, Framing::Xhr, POLL).unwrap();
    assert_eq!(delivered(&out), vec!["a[\"a\",\"b\"]\n"]);
    assert_eq!(s.buffered_bytes(), 0);
}

#[test]
fn a_second_receiver_is_refused_with_2010_and_the_first_keeps_the_session() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    s.attach(t, 2, Framing::Xhr, POLL).unwrap();
    let refused = s.attach(t, 3, Framing::Xhr, POLL).unwrap_err();
    assert_eq!(&refused[..], b"c[2010,\"Another connection still open\"]\n");
    let out = s.send(t, Message::new("x")).unwrap();
    assert_eq!(delivered(&out), vec!["a[\"x\"]\n"]);
}

#[test]
fn an_attached_session_gets_heartbeats_and_never_expires() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, STREAM).unwrap();
    for i in 1..=10u32 {
        let now = t + HB * i;
        assert_eq!(delivered(&s.tick(now)), vec!["h\n"]);
        assert!(!s.tick(now).contains(&Output::Finished));
    }
}

#[test]
fn a_write_postpones_the_heartbeat() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, STREAM).unwrap();
    s.send(t + HB / 2, Message::new("x")).unwrap();
    assert!(s.tick(t + HB).is_empty());
    assert_eq!(delivered(&s.tick(t + HB / 2 + HB)), vec!["h\n"]);
}

#[test]
fn a_detached_session_expires_after_exactly_the_disconnect_delay() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    assert!(s.tick(t + DC - Duration::from_millis(1)).is_empty());
    let out = s.tick(t + DC);
    assert_eq!(
        out,
        vec![
            Output::Closed(CloseReason::NORMAL, CloseCause::Timeout),
            Output::Finished
        ]
    );
}

#[test]
fn a_session_no_one_ever_attached_to_expires_without_closing_the_handler() {
    let t = Instant::now();
    let mut s = http(t);
    assert_eq!(s.tick(t + DC), vec![Output::Finished]);
}

#[test]
fn a_heartbeat_does_not_extend_a_detached_session() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    // The poll ended; nothing may push the expiry further.
    assert!(s.tick(t + DC / 2).is_empty());
    assert!(s.tick(t + DC).contains(&Output::Finished));
}

#[test]
fn closing_sends_the_close_frame_and_later_receivers_get_it_again() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, STREAM).unwrap();
    let out = s.close(t, CloseReason::GO_AWAY, CloseCause::Application, None);
    assert_eq!(
        out,
        vec![
            Output::Closed(CloseReason::GO_AWAY, CloseCause::Application),
            Output::Deliver(Bytes::from("c[3000,\"Go away!\"]\n")),
            Output::EndReceiver(Some(CloseReason::GO_AWAY)),
        ]
    );
    for token in 2..4 {
        let out = s.attach(t, token, Framing::Xhr, STREAM).unwrap();
        assert_eq!(delivered(&out), vec!["c[3000,\"Go away!\"]\n"]);
        assert!(out.contains(&Output::EndReceiver(Some(CloseReason::GO_AWAY))));
    }
    assert_eq!(s.tick(t + DC), vec![Output::Finished]);
}

#[test]
fn an_aborted_receiver_closes_the_session_with_1002() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, STREAM).unwrap();
    let out = s.detach(t, 1, CloseReason::INTERRUPTED, CloseCause::Interrupted);
    assert_eq!(
        out,
        vec![Output::Closed(
            CloseReason::INTERRUPTED,
            CloseCause::Interrupted
        )]
    );
    let out = s.attach(t, 2, Framing::Xhr, POLL).unwrap();
    assert_eq!(
        delivered(&out),
        vec!["c[1002,\"Connection interrupted\"]\n"]
    );
}

#[test]
fn a_stale_detach_is_ignored() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    s.attach(t, 2, Framing::Xhr, STREAM).unwrap();
    assert!(
        s.detach(t, 1, CloseReason::INTERRUPTED, CloseCause::Interrupted)
            .is_empty()
    );
    assert_eq!(s.phase(), &Phase::Open);
}

#[test]
fn a_streaming_receiver_ends_once_it_reaches_the_response_limit() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, STREAM).unwrap();
    let msg = "x".repeat(128);
    let mut ended_after = None;
    for i in 1..=40 {
        let out = s.send(t, Message::new(msg.clone())).unwrap();
        if out.contains(&Output::EndReceiver(None)) {
            ended_after = Some(i);
            break;
        }
    }
    // 2 bytes of "o\n" then 136 bytes a message: the 31st crosses 4096 (XhrStreaming suite).
    assert_eq!(ended_after, Some(31));
}

#[test]
fn a_websocket_session_finishes_with_its_socket() {
    let t = Instant::now();
    let mut s = SessionState::new(t, TIMING, Mode::Framed, true);
    s.attach(t, 1, Framing::WebSocket, usize::MAX).unwrap();
    let out = s.detach(t, 1, CloseReason::NORMAL, CloseCause::ClientClosed);
    assert_eq!(
        out,
        vec![
            Output::Closed(CloseReason::NORMAL, CloseCause::ClientClosed),
            Output::Finished
        ]
    );
}

#[test]
fn raw_mode_sends_bare_messages_and_no_protocol_frames() {
    let t = Instant::now();
    let mut s = SessionState::new(t, TIMING, Mode::Raw, true);
    let out = s.attach(t, 1, Framing::WebSocket, usize::MAX).unwrap();
    assert_eq!(out, vec![Output::Opened]);
    let out = s.send(t, Message::new("hi \"there\"")).unwrap();
    assert_eq!(delivered(&out), vec!["hi \"there\""]);
    assert!(s.tick(t + HB).is_empty());
    let out = s.close(t, CloseReason::GO_AWAY, CloseCause::Application, None);
    assert!(out.contains(&Output::EndReceiver(Some(CloseReason::GO_AWAY))));
    assert!(delivered(&out).is_empty());
}

#[test]
fn sends_to_a_closed_session_are_refused() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    s.close(t, CloseReason::GO_AWAY, CloseCause::Application, None);
    assert_eq!(s.send(t, Message::new("late")), None);
}

#[derive(Debug, Clone)]
enum Event {
    Attach(bool),
    Detach(bool),
    Send(String),
    Close,
    Advance(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        any::<bool>().prop_map(Event::Attach),
        any::<bool>().prop_map(Event::Detach),
        "[a-z]{0,8}".prop_map(Event::Send),
        Just(Event::Close),
        (0u64..30_000).prop_map(Event::Advance),
    ]
}

proptest! {
    /// Whatever happens, messages reach receivers in the order sent, none twice, the handler
    /// hears of the close at most once, and an open session with a receiver never finishes.
    #[test]
    fn invariants_hold_for_any_event_sequence(events in proptest::collection::vec(event(), 0..60)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut s = http(t0);
        let mut token = 0u64;
        let mut sent = Vec::new();
        let mut received = Vec::new();
        let mut closes = 0;
        let mut finished = false;
        for e in events {
            if finished { break; }
            let out = match e {
                Event::Attach(poll) => {
                    token += 1;
                    s.attach(now, token, Framing::WebSocket, if poll { POLL } else { STREAM }).unwrap_or_default()
                }
                Event::Detach(interrupted) => s.detach(now, token, CloseReason::INTERRUPTED, if interrupted { CloseCause::Interrupted } else { CloseCause::ClientClosed }),
                Event::Send(m) => match s.send(now, Message::new(m.clone())) {
                    Some(out) => { sent.push(m); out }
                    None => vec![],
                },
                Event::Close => s.close(now, CloseReason::GO_AWAY, CloseCause::Application, None),
                Event::Advance(ms) => { now += Duration::from_millis(ms); s.tick(now) }
            };
            for o in &out {
                match o {
                    Output::Deliver(b) if b.first() == Some(&b'a') => {
                        let batch: Vec<String> = serde_json::from_slice(&b[1..]).unwrap();
                        received.extend(batch);
                    }
                    Output::Closed(..) => closes += 1,
                    Output::Finished => finished = true,
                    _ => {}
                }
            }
        }
        prop_assert!(closes <= 1);
        prop_assert!(received.len() <= sent.len());
        prop_assert_eq!(&received[..], &sent[..received.len()]);
    }
}

#[test]
fn messages_queued_before_a_close_are_delivered_before_the_close_frame() {
    let t = Instant::now();
    let mut s = http(t);
    s.attach(t, 1, Framing::Xhr, POLL).unwrap();
    s.send(t, Message::new("a")).unwrap();
    s.close(
        t,
        CloseReason::GO_AWAY,
        CloseCause::Application,
        Some(Message::new("bye")),
    );
    let out = s.attach(t, 2, Framing::Xhr, STREAM).unwrap();
    assert_eq!(
        delivered(&out),
        vec!["a[\"a\",\"bye\"]\n", "c[3000,\"Go away!\"]\n"]
    );
}

#[test]
fn a_message_alone_goes_out_as_its_frame_or_as_its_text() {
    let m = Message::new("say \"hi\"\u{2028}");
    assert_eq!(frame_of(Mode::Framed, &m), m.frame().clone());
    assert_eq!(frame_of(Mode::Raw, &m), "say \"hi\"\u{2028}".as_bytes());
    let raw = SessionState::new(Instant::now(), TIMING, Mode::Raw, true);
    assert_eq!(raw.direct_mode(), Some(Mode::Raw));
    let polling = SessionState::new(Instant::now(), TIMING, Mode::Framed, false);
    assert_eq!(polling.direct_mode(), None);
}

#[test]
fn an_empty_outbox_admits_one_message_of_any_size() {
    assert!(outbox_admits(0, 3 * 1024 * 1024, 1024 * 1024));
    assert!(outbox_admits(10, 90, 100));
    assert!(!outbox_admits(10, 91, 100));
    assert!(!outbox_admits(1, usize::MAX, 100));
}
