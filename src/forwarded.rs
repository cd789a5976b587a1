//! The client's address behind reverse proxies: `X-Forwarded-For` and `Forwarded` are read
//! only when the connection comes from a configured trusted proxy, and the client is the
//! rightmost address that is not itself a trusted proxy (anything left of it could be forged
//! by the client). Also which untrusted peers to warn about ([`ForwarderWarnings`]). Pure: no
//! I/O, no clock, no logging (the caller passes `now` and does the logging).

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A trusted proxy address or network (`10.0.0.0/8`, `::1`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    prefix: u8,
}

/// A malformed proxy network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid trusted proxy {0:?}: expected an IP address or CIDR network")]
pub struct ProxyNetError(String);

impl FromStr for ProxyNet {
    type Err = ProxyNetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ProxyNetError(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(err)?,
            None => max,
        };
        Ok(ProxyNet { addr, prefix })
    }
}

impl ProxyNet {
    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// `ip` with an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a socket bound to `[::]`
/// reports for an IPv4 peer) written as the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn masked(net: u128, ip: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix.min(bits));
    net.checked_shr(shift).unwrap_or(0) == ip.checked_shr(shift).unwrap_or(0)
}

/// The client address for a connection from `peer`, given the values of its
/// `X-Forwarded-For` and `Forwarded` headers (in order of appearance).
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: &[&str],
    forwarded: &[&str],
    trusted: &[ProxyNet],
) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let by_forwarded = rightmost_untrusted(
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| parse_node(v))?
                })
            }),
        trusted,
    );
    let by_xff = rightmost_untrusted(
        forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(parse_node),
        trusted,
    );
    // A proxy writes one of the two headers and passes the other on as the client sent it
    // (nginx and Apache write only X-Forwarded-For): when both name a client and disagree,
    // one of them is the client's own claim and nothing says which, so neither is believed.
    match (by_forwarded, by_xff) {
        (Some(a), Some(b)) if canonical(a) != canonical(b) => peer,
        (a, b) => a.or(b).unwrap_or(peer),
    }
}

/// Whether `ip` is one of the `trusted` proxies.
pub fn is_trusted(ip: IpAddr, trusted: &[ProxyNet]) -> bool {
    trusted.iter().any(|n| n.contains(ip))
}

/// The last of `hops` (nearest to us) that is not a trusted proxy.
fn rightmost_untrusted(
    hops: impl DoubleEndedIterator<Item = IpAddr>,
    trusted: &[ProxyNet],
) -> Option<IpAddr> {
    hops.rev().find(|ip| !is_trusted(*ip, trusted))
}

/// How long after warning about an untrusted forwarder the same peer is warned about again.
pub const FORWARDER_WARNING_EVERY: Duration = Duration::from_secs(10 * 60);
/// Peers remembered as warned about at most: past it new peers are not warned about until
/// older entries expire, so memory and log lines stay bounded whoever connects.
pub const FORWARDER_WARNINGS_MAX: usize = 64;

/// Which peers that send forwarding headers without being trusted proxies to warn about: each
/// peer at most once per `every`, and at most `capacity` peers per `every` in all (the peers
/// are the TCP peers' addresses, which an IPv6 client has plenty of).
#[derive(Debug)]
pub struct ForwarderWarnings {
    every: Duration,
    capacity: usize,
    warned: HashSet<IpAddr>,
    /// The entries of `warned`, oldest first (they are added with a non-decreasing `now`).
    order: VecDeque<(IpAddr, Instant)>,
}

impl Default for ForwarderWarnings {
    fn default() -> Self {
        ForwarderWarnings::new(FORWARDER_WARNING_EVERY, FORWARDER_WARNINGS_MAX)
    }
}

impl ForwarderWarnings {
    /// Warnings for each peer at most once per `every`, about at most `capacity` peers.
    pub fn new(every: Duration, capacity: usize) -> Self {
        ForwarderWarnings {
            every,
            capacity,
            warned: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether to warn now about `peer`; if so, it is remembered as warned about at `now`.
    pub fn should_warn(&mut self, peer: IpAddr, now: Instant) -> bool {
        while let Some(&(ip, at)) = self.order.front()
            && now.saturating_duration_since(at) >= self.every
        {
            self.order.pop_front();
            self.warned.remove(&ip);
        }
        if self.warned.contains(&peer) || self.warned.len() >= self.capacity {
            return false;
        }
        self.warned.insert(peer);
        self.order.push_back((peer, now));
        true
    }
}

/// An address as forwarding headers write it: `1.2.3.4`, `1.2.3.4:5`, `"[::1]:5"`, `[::1]`.
fn parse_node(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.parse()
        .ok()
        .or_else(|| v.rsplit_once(':').and_then(|(host, _)| host.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ProxyNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let got = client_ip(ip("203.0.113.9"), &["1.2.3.4"], &[], &nets(&["127.0.0.1"]));
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let got = client_ip(
            ip("127.0.0.1"),
            &["6.6.6.6, 198.51.100.7, 10.1.2.3"],
            &[],
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_accepts_ports_and_brackets() {
        let trusted = nets(&["::1"]);
        let got = client_ip(
            ip("::1"),
            &[],
            &[r#"for="[2001:db8::7]:4711";proto=https"#],
            &trusted,
        );
        assert_eq!(got, ip("2001:db8::7"));
        let got = client_ip(ip("::1"), &[], &["for=192.0.2.60:8080"], &trusted);
        assert_eq!(got, ip("192.0.2.60"));
    }

    #[test]
    fn disagreeing_headers_are_both_ignored() {
        // nginx appends to X-Forwarded-For and passes the client's own Forwarded on.
        let trusted = nets(&["127.0.0.1"]);
        let got = client_ip(
            ip("127.0.0.1"),
            &["198.51.100.7"],
            &["for=6.6.6.6"],
            &trusted,
        );
        assert_eq!(got, ip("127.0.0.1"));
        let agreeing = client_ip(
            ip("127.0.0.1"),
            &["198.51.100.7"],
            &["for=198.51.100.7"],
            &trusted,
        );
        assert_eq!(agreeing, ip("198.51.100.7"));
    }

    #[test]
    fn a_trusted_peer_without_headers_is_the_client() {
        assert_eq!(
            client_ip(ip("127.0.0.1"), &[], &[], &nets(&["127.0.0.1"])),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_peer_is_warned_about_once_per_period() {
        let mut w = ForwarderWarnings::new(Duration::from_secs(600), 8);
        let t = Instant::now();
        assert!(w.should_warn(ip("10.1.2.3"), t));
        assert!(!w.should_warn(ip("10.1.2.3"), t + Duration::from_secs(1)));
        assert!(!w.should_warn(ip("10.1.2.3"), t + Duration::from_secs(599)));
        // Another peer is its own matter.
        assert!(w.should_warn(ip("10.9.9.9"), t + Duration::from_secs(2)));
        assert!(w.should_warn(ip("10.1.2.3"), t + Duration::from_secs(600)));
        assert!(!w.should_warn(ip("10.1.2.3"), t + Duration::from_secs(601)));
    }

    #[test]
    fn past_its_capacity_new_peers_wait_for_old_entries_to_expire() {
        let mut w = ForwarderWarnings::new(Duration::from_secs(60), 3);
        let t = Instant::now();
        let peer = |n: u8| IpAddr::from([10, 0, 0, n]);
        for n in 0..3 {
            assert!(w.should_warn(peer(n), t + Duration::from_secs(u64::from(n))));
        }
        // Hundreds of new peers within the period: no warning, no growth.
        for n in 3..=255 {
            assert!(!w.should_warn(peer(n), t + Duration::from_secs(10)));
        }
        assert_eq!((w.warned.len(), w.order.len()), (3, 3));
        // Once the oldest entry expires, one new peer gets its warning.
        assert!(w.should_warn(peer(200), t + Duration::from_secs(60)));
        assert!(!w.should_warn(peer(201), t + Duration::from_secs(60)));
        assert_eq!((w.warned.len(), w.order.len()), (3, 3));
    }

    #[test]
    fn networks_match_by_prefix_and_v4_mapped_addresses() {
        let net: ProxyNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        assert!(
            "0.0.0.0/0"
                .parse::<ProxyNet>()
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert!("10.0.0.0/33".parse::<ProxyNet>().is_err());
        assert!("nonsense".parse::<ProxyNet>().is_err());
    }
}
