//! Start-up checks of the operating-system limits that bound how many sessions one process
//! can hold (issue 18): the open-file limit (every websocket or streaming session is one
//! socket), `fs.nr_open`, `net.core.somaxconn` against the listen backlog, and the local
//! port range (which bounds clients and proxies, not the server). Reading `/proc` and the
//! one `setrlimit` are here; the parsing and the judgement are pure functions, tested below.
//!
//! Must not: change anything but this process's soft open-file limit.

use std::fmt::Write as _;

/// File descriptors a server needs besides its sessions: listeners, epoll and event fds of
/// each worker, log and metrics sockets, a broker relay, static files being served.
pub const FD_MARGIN: u64 = 256;

/// The accept backlog asked of the kernel for the service listener (as actix-web's
/// `HttpServer::backlog` default); the kernel silently caps it at `net.core.somaxconn`.
pub const BACKLOG: u64 = 2048;

/// Local ports below this many make a client (or a proxy in front of us) run out of source
/// ports before it reaches a few tens of thousands of connections to one address.
pub const FEW_PORTS: u32 = 28_000;

/// What `/proc` says about this process and this kernel; `None` where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsLimits {
    /// `Max open files` of `/proc/self/limits`: (soft, hard); `u64::MAX` is unlimited.
    pub open_files: Option<(u64, u64)>,
    /// `/proc/sys/fs/nr_open`: the ceiling of any process's open-file limit.
    pub nr_open: Option<u64>,
    /// `/proc/sys/net/core/somaxconn`: the cap on any listen backlog.
    pub somaxconn: Option<u64>,
    /// `/proc/sys/net/ipv4/ip_local_port_range`: (first, last) ephemeral port.
    pub port_range: Option<(u16, u16)>,
}

impl OsLimits {
    /// Reads them from `/proc` (all `None` where `/proc` is missing, e.g. not Linux).
    pub fn read() -> OsLimits {
        let file = |path: &str| std::fs::read_to_string(path).ok();
        OsLimits {
            open_files: file("/proc/self/limits").and_then(|s| parse_open_files(&s)),
            nr_open: file("/proc/sys/fs/nr_open").and_then(|s| s.trim().parse().ok()),
            somaxconn: file("/proc/sys/net/core/somaxconn").and_then(|s| s.trim().parse().ok()),
            port_range: file("/proc/sys/net/ipv4/ip_local_port_range")
                .and_then(|s| parse_port_range(&s)),
        }
    }
}

/// The (soft, hard) `Max open files` of a `/proc/PID/limits` text; `unlimited` is `u64::MAX`.
pub fn parse_open_files(limits: &str) -> Option<(u64, u64)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut values = line["Max open files".len()..]
        .split_whitespace()
        .map(|v| match v {
            "unlimited" => Some(u64::MAX),
            v => v.parse().ok(),
        });
    Some((values.next()??, values.next()??))
}

/// The (first, last) ports of `ip_local_port_range` ("32768\t60999").
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut ports = text.split_whitespace().map(str::parse::<u16>);
    match (ports.next()?, ports.next()?) {
        (Ok(first), Ok(last)) if first <= last => Some((first, last)),
        _ => None,
    }
}

/// Open files needed for `max_sessions` sessions plus [`FD_MARGIN`].
pub fn fds_needed(max_sessions: usize) -> u64 {
    max_sessions as u64 + FD_MARGIN
}

/// The soft open-file limit to ask for at start: the hard limit when the soft one is lower
/// and the hard one is finite (an unlimited hard limit is capped at `nr_open`, which the
/// kernel enforces anyway); `None` when there is nothing to raise.
pub fn raised_soft_limit(limits: &OsLimits) -> Option<u64> {
    let (soft, hard) = limits.open_files?;
    let target = match hard {
        u64::MAX => limits.nr_open?,
        hard => hard,
    };
    (soft < target).then_some(target)
}

/// One line per limit that is too low for `max_sessions` sessions and a listen backlog of
/// `backlog`, each saying what it limits and what to raise; empty when all are enough.
pub fn warnings(limits: &OsLimits, max_sessions: usize, backlog: u64) -> Vec<String> {
    let mut out = Vec::new();
    let needed = fds_needed(max_sessions);
    if let Some((soft, hard)) = limits.open_files
        && soft < needed
    {
        let most = soft.saturating_sub(FD_MARGIN);
        let mut line = format!(
            "open files limit is {soft}: at most about {most} sessions, not max_sessions \
             {max_sessions}: raise ulimit -n to {needed} or more"
        );
        if hard < needed {
            let _ = write!(
                line,
                " (the hard limit is {hard}: raise it too, e.g. LimitNOFILE= in a systemd \
                 unit or nofile in /etc/security/limits.conf)"
            );
        }
        out.push(line);
    }
    if let Some(nr_open) = limits.nr_open
        && nr_open < needed
    {
        out.push(format!(
            "fs.nr_open is {nr_open}: no process may open more files, so at most about {} \
             sessions: sysctl -w fs.nr_open={needed}",
            nr_open.saturating_sub(FD_MARGIN)
        ));
    }
    if let Some(somaxconn) = limits.somaxconn
        && somaxconn < backlog
    {
        out.push(format!(
            "net.core.somaxconn is {somaxconn}: the listen backlog of {backlog} is cut to it, \
             so a burst of more than {somaxconn} connections at once (a restart, a reconnect \
             storm) is refused or retried: sysctl -w net.core.somaxconn={backlog}"
        ));
    }
    if let Some((first, last)) = limits.port_range {
        let ports = u32::from(last) - u32::from(first) + 1;
        if ports < FEW_PORTS {
            out.push(format!(
                "net.ipv4.ip_local_port_range gives {ports} ports: a proxy on this host (or a \
                 load generator) reaches at most {ports} connections to one server address: \
                 sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\""
            ));
        }
    }
    out
}

/// The start-up check: raises the soft open-file limit to the hard limit when `raise` (and
/// logs it), then logs a warning for every limit too low for `max_sessions`.
pub fn check(max_sessions: usize, raise: bool) {
    let mut limits = OsLimits::read();
    if raise
        && let Some(target) = raised_soft_limit(&limits)
        && let Some((soft, hard)) = limits.open_files
    {
        match set_soft_open_files(target, hard) {
            Ok(()) => {
                log::info!("raised the open files limit from {soft} to {target} (the hard limit)");
                limits.open_files = Some((target, hard));
            }
            Err(e) => log::warn!("could not raise the open files limit from {soft}: {e}"),
        }
    }
    for line in warnings(&limits, max_sessions, BACKLOG) {
        log::warn!("{line}");
    }
}

/// Sets the accept backlog of an already listening socket to [`BACKLOG`] (Linux takes a
/// second `listen` as a new backlog): `std::net::TcpListener::bind` listens with 128, which a
/// reconnect storm of thousands of clients overflows (SYNs dropped, clients retrying after
/// 1 s, 3 s, 7 s), and actix-web's own 2048 applies only to the addresses it binds itself.
#[cfg(unix)]
pub fn widen_backlog(listener: &std::net::TcpListener) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        /// libc, sys/socket.h.
        fn listen(fd: std::ffi::c_int, backlog: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: the fd is the listener's own, open for the duration of the borrow; listen
    // takes no pointers.
    match unsafe { listen(listener.as_raw_fd(), BACKLOG as std::ffi::c_int) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Elsewhere the listener keeps the backlog it was bound with.
#[cfg(not(unix))]
pub fn widen_backlog(_listener: &std::net::TcpListener) -> std::io::Result<()> {
    Ok(())
}

/// `setrlimit(RLIMIT_NOFILE, {soft, hard})`.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn set_soft_open_files(soft: u64, hard: u64) -> std::io::Result<()> {
    /// `struct rlimit` of 64-bit Linux (`rlim_t` is 64 bits).
    #[repr(C)]
    struct Rlimit {
        cur: u64,
        max: u64,
    }
    /// `RLIMIT_NOFILE` on Linux (asm-generic/resource.h; the same on x86 and arm).
    const RLIMIT_NOFILE: std::ffi::c_int = 7;
    unsafe extern "C" {
        /// libc, sys/resource.h.
        fn setrlimit(resource: std::ffi::c_int, rlim: *const Rlimit) -> std::ffi::c_int;
    }
    let limit = Rlimit {
        cur: soft,
        max: hard,
    };
    // SAFETY: `limit` is a valid, initialised struct rlimit that outlives the call, which
    // only reads it.
    match unsafe { setrlimit(RLIMIT_NOFILE, &limit) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn set_soft_open_files(_soft: u64, _hard: u64) -> std::io::Result<()> {
    Err(std::io::Error::other("not supported on this platform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max cpu time              unlimited            unlimited            seconds   \n\
        Max open files            1024                 20000                files     \n\
        Max locked memory         8388608              8388608              bytes     \n";

    fn roomy() -> OsLimits {
        OsLimits {
            open_files: Some((1_048_576, 1_048_576)),
            nr_open: Some(1_048_576),
            somaxconn: Some(4096),
            port_range: Some((1024, 65535)),
        }
    }

    #[test]
    fn reads_the_open_files_line_of_proc_limits() {
        assert_eq!(parse_open_files(LIMITS), Some((1024, 20_000)));
        let unlimited = LIMITS.replace("1024                 20000", "unlimited unlimited");
        assert_eq!(parse_open_files(&unlimited), Some((u64::MAX, u64::MAX)));
        assert_eq!(parse_open_files("Max cpu time 1 2"), None);
        assert_eq!(parse_open_files("Max open files soft 2"), None);
    }

    #[test]
    fn reads_the_port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("60999 32768"), None);
        assert_eq!(parse_port_range("1024"), None);
        assert_eq!(parse_port_range("a b"), None);
    }

    #[test]
    fn enough_of_everything_gives_no_warning() {
        assert!(warnings(&roomy(), 500_000, BACKLOG).is_empty());
        assert!(warnings(&OsLimits::default(), 500_000, BACKLOG).is_empty());
    }

    #[test]
    fn a_low_fd_limit_says_how_many_sessions_fit_and_what_to_raise() {
        let limits = OsLimits {
            open_files: Some((20_000, 20_000)),
            ..roomy()
        };
        let w = warnings(&limits, 100_000, BACKLOG);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("at most about 19744 sessions"), "{}", w[0]);
        assert!(w[0].contains("raise ulimit -n to 100256"), "{}", w[0]);
        assert!(w[0].contains("the hard limit is 20000"), "{}", w[0]);
    }

    #[test]
    fn nr_open_somaxconn_and_few_ports_each_warn() {
        let limits = OsLimits {
            nr_open: Some(65_536),
            somaxconn: Some(128),
            port_range: Some((32768, 49999)),
            ..roomy()
        };
        let w = warnings(&limits, 100_000, BACKLOG).join("\n");
        assert!(w.contains("fs.nr_open is 65536"), "{w}");
        assert!(
            w.contains("somaxconn is 128: the listen backlog of 2048"),
            "{w}"
        );
        assert!(w.contains("gives 17232 ports"), "{w}");
    }

    #[test]
    fn the_soft_limit_is_raised_to_a_finite_hard_limit_or_nr_open() {
        let low = |soft, hard| OsLimits {
            open_files: Some((soft, hard)),
            ..roomy()
        };
        assert_eq!(raised_soft_limit(&low(1024, 20_000)), Some(20_000));
        assert_eq!(raised_soft_limit(&low(20_000, 20_000)), None);
        assert_eq!(raised_soft_limit(&low(1024, u64::MAX)), Some(1_048_576));
        assert_eq!(raised_soft_limit(&OsLimits::default()), None);
    }
}
