//! STOMP heart-beats (1.2 "Heart-beating"), apart from SockJS `h` frames: the header's
//! grammar, the negotiation, and a pure clock of when to send one and when the peer is late.
//!
//! Owns: heart-beat arithmetic. Must not: read a clock (`now` is passed in) or do I/O.

use std::time::{Duration, Instant};

/// A peer is dead after this many of its negotiated intervals pass in silence (1.2
/// "Heart-beating" allows "some tolerance"; RabbitMQ and Spring use 2 to 3).
pub const TOLERANCE: u32 = 2;
/// What the server sends as a heart-beat: one EOL (1.2 "Heart-beating").
pub const EOL: &[u8] = b"\n";

/// A malformed `heart-beat` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("heart-beat header must be two non-negative integers: {0:?}")]
pub struct HeartBeatError(pub String);

/// Reads `cx,cy` (milliseconds).
///
/// # Errors
/// [`HeartBeatError`] unless the value is two comma-separated non-negative integers.
pub fn parse(value: &str) -> Result<(u64, u64), HeartBeatError> {
    let bad = || HeartBeatError(value.to_owned());
    let (x, y) = value.split_once(',').ok_or_else(bad)?;
    let x = x.trim().parse().map_err(|_| bad())?;
    let y = y.trim().parse().map_err(|_| bad())?;
    Ok((x, y))
}

/// The intervals agreed for one connection; `None` means none in that direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// How often the server sends a heart-beat.
    pub send_every: Option<Duration>,
    /// How often the client promised to send something.
    pub expect_every: Option<Duration>,
}

/// Agrees intervals from the client's `(cx, cy)` and the server's `(sx, sy)`: the server
/// sends every `max(sx, cy)` and expects every `max(cx, sy)`, each only if both are non-zero.
pub fn negotiate(client: (u64, u64), server: (u64, u64)) -> Negotiated {
    let both = |a: u64, b: u64| (a != 0 && b != 0).then(|| Duration::from_millis(a.max(b)));
    Negotiated {
        send_every: both(server.0, client.1),
        expect_every: both(client.0, server.1),
    }
}

/// When to send the next heart-beat and when silence means death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    agreed: Negotiated,
    last_sent: Instant,
    last_received: Instant,
}

/// What the clock says at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// Send a heart-beat now.
    pub send: bool,
    /// The client is silent past the tolerance: close the connection.
    pub dead: bool,
    /// When to ask again (`None`: never, unless something changes).
    pub next: Option<Instant>,
}

impl Clock {
    /// A clock started at `now`.
    pub fn new(agreed: Negotiated, now: Instant) -> Self {
        Clock {
            agreed,
            last_sent: now,
            last_received: now,
        }
    }

    /// Bytes arrived at `now` (any bytes count, 1.2 "Heart-beating").
    pub fn received(&mut self, now: Instant) {
        self.last_received = now;
    }

    /// What is due at `now`; a due heart-beat is counted as sent.
    pub fn poll(&mut self, now: Instant) -> Due {
        let send_at = self.agreed.send_every.map(|d| self.last_sent + d);
        let send = send_at.is_some_and(|at| at <= now);
        if send {
            self.last_sent = now;
        }
        let dead = self.dead_at().is_some_and(|at| at <= now);
        Due {
            send,
            dead,
            next: self.next(),
        }
    }

    /// When something is next due (`None`: never, unless something changes).
    pub fn next(&self) -> Option<Instant> {
        let send_at = self.agreed.send_every.map(|d| self.last_sent + d);
        match (send_at, self.dead_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn dead_at(&self) -> Option<Instant> {
        self.agreed
            .expect_every
            .map(|d| self.last_received + d * TOLERANCE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_two_integers() {
        assert_eq!(parse("1000, 0"), Ok((1000, 0)));
        assert!(parse("1000").is_err());
        assert!(parse("-1,0").is_err());
    }

    #[test]
    fn negotiation_takes_the_larger_interval_and_zero_disables() {
        let n = negotiate((500, 2000), (1000, 1000));
        assert_eq!(n.send_every, Some(Duration::from_millis(2000)));
        assert_eq!(n.expect_every, Some(Duration::from_millis(1000)));
        assert_eq!(negotiate((0, 0), (1000, 1000)), Negotiated::default());
        assert_eq!(negotiate((1000, 1000), (0, 0)), Negotiated::default());
    }

    #[test]
    fn the_clock_sends_on_time_and_declares_a_silent_client_dead() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let agreed = Negotiated {
            send_every: Some(ms(100)),
            expect_every: Some(ms(300)),
        };
        let mut clock = Clock::new(agreed, t0);
        assert_eq!(
            clock.poll(t0 + ms(50)),
            Due {
                send: false,
                dead: false,
                next: Some(t0 + ms(100))
            }
        );
        let due = clock.poll(t0 + ms(100));
        assert!(due.send && !due.dead);
        assert_eq!(due.next, Some(t0 + ms(200)));
        clock.received(t0 + ms(500));
        assert!(!clock.poll(t0 + ms(1000)).dead);
        assert!(clock.poll(t0 + ms(1100)).dead);
    }

    #[test]
    fn a_clock_with_nothing_agreed_never_fires() {
        let t0 = Instant::now();
        let mut clock = Clock::new(Negotiated::default(), t0);
        let due = clock.poll(t0 + Duration::from_secs(3600));
        assert_eq!(
            due,
            Due {
                send: false,
                dead: false,
                next: None
            }
        );
    }
}
