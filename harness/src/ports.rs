//! Free loopback ports for servers that another process binds later, chosen so that no
//! client connection takes them in between.
//!
//! A port the kernel picks (`bind` to port 0) lies in its ephemeral range
//! (`net.ipv4.ip_local_port_range`), the range every outgoing connection takes its local
//! port from: released and bound again a moment later by strait or nginx, it may by then
//! be the local port of some client connection, or of another listener bound to port 0, and
//! the server fails with `Address already in use`. The ports here come from outside that
//! range instead, from [`FIRST`] up: the kernel never hands them out. A process walks them from an offset derived from
//! its id, so that processes running at once rarely meet, and never hands a port out twice
//! while the pool lasts.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::ops::RangeInclusive;
use std::sync::{Mutex, OnceLock};

/// The lowest port handed out: the ports below are left to the system's own services.
pub const FIRST: u16 = 20000;

/// Linux's default ephemeral range, used when /proc cannot be read.
const DEFAULT_EPHEMERAL: RangeInclusive<u16> = 32768..=60999;

/// No run of free ports of the asked length was found in the pool.
#[derive(Debug, thiserror::Error)]
#[error("no {count} consecutive free ports on 127.0.0.1 ({FIRST}-65535 outside {ephemeral:?})")]
pub struct NoFreePorts {
    /// The ports asked for.
    pub count: u16,
    /// The ephemeral range the pool leaves out.
    pub ephemeral: RangeInclusive<u16>,
}

/// The kernel's ephemeral port range: `/proc/sys/net/ipv4/ip_local_port_range`, else
/// Linux's default 32768-60999.
pub fn ephemeral_range() -> RangeInclusive<u16> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    let bounds: Option<Vec<u16>> =
        text.ok().map(|t| t.split_whitespace().map_while(|n| n.parse().ok()).collect());
    match bounds.as_deref() {
        Some(&[low, high]) if low <= high => low..=high,
        _ => DEFAULT_EPHEMERAL,
    }
}

/// A free port on 127.0.0.1, outside the ephemeral range, not in `avoid`, never one this
/// process was given before (see [`free_ports`]).
pub fn free_port(avoid: &BTreeSet<u16>) -> Result<u16, NoFreePorts> {
    free_ports(1, avoid)
}

/// The first of `count` consecutive free ports on 127.0.0.1 (a `listen` port range, or the
/// three stream servers of a `.t` block), outside the ephemeral range, none in `avoid`.
///
/// Each port is checked by binding it on 127.0.0.1, 0.0.0.0 and [::] (and releasing it):
/// all succeed only when nothing listens on it at any address. The ports handed out are
/// remembered, so that two servers of one process never get the same port; only once every
/// port of the pool has been handed out does the process start over.
pub fn free_ports(count: u16, avoid: &BTreeSet<u16>) -> Result<u16, NoFreePorts> {
    let pool = pool();
    let count = usize::from(count.max(1));
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let start = *state.next.get_or_insert_with(|| offset(pool.ports.len()));

    // Step: walk the pool once from where the last run ended; when every port there has
    // been handed out already, forget them and walk it again.
    for _round in 0..2 {
        for step in 0..pool.ports.len() {
            let at = (start + step) % pool.ports.len();
            let Some(run) = pool.ports.get(at..at + count) else { continue };
            let consecutive = usize::from(run[count - 1] - run[0]) == count - 1;
            if !consecutive || run.iter().any(|p| state.given.contains(p) || avoid.contains(p)) {
                continue;
            }
            if run.iter().all(|&port| is_free(port)) {
                state.given.extend(run);
                state.next = Some(at + count);
                return Ok(run[0]);
            }
        }
        if state.given.is_empty() {
            break;
        }
        state.given.clear();
    }
    Err(NoFreePorts { count: count as u16, ephemeral: pool.ephemeral.clone() })
}

/// The ports that may be handed out, ascending.
#[derive(Debug)]
struct Pool {
    /// The ephemeral range left out.
    ephemeral: RangeInclusive<u16>,
    /// [`FIRST`]..=65535 without the ephemeral range.
    ports: Vec<u16>,
}

/// The pool, read once per process.
fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let ephemeral = ephemeral_range();
        let ports = (FIRST..=u16::MAX).filter(|p| !ephemeral.contains(p)).collect();
        Pool { ephemeral, ports }
    })
}

/// What this process has handed out, and where the next walk starts.
#[derive(Debug)]
struct State {
    /// Ports handed out.
    given: BTreeSet<u16>,
    /// The pool index the next walk starts at (set on first use).
    next: Option<usize>,
}

static STATE: Mutex<State> = Mutex::new(State { given: BTreeSet::new(), next: None });

/// Where this process starts in a pool of `len` ports: its id, scattered (neighbouring ids
/// start far apart), so that test processes running at once rarely try the same ports.
fn offset(len: usize) -> usize {
    let scattered = u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (scattered % len.max(1) as u64) as usize
}

/// Whether `port` binds now on 127.0.0.1, on 0.0.0.0 and, where this host has IPv6, on
/// [::] (so nothing listens on it, IPv4 or IPv6: a test may listen on [::1] as well).
fn is_free(port: u16) -> bool {
    static IPV6: OnceLock<bool> = OnceLock::new();
    let ipv6 = *IPV6.get_or_init(|| TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok());
    let v4 = [Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED].map(IpAddr::V4);
    let v6 = ipv6.then_some(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    v4.into_iter().chain(v6).all(|ip| TcpListener::bind((ip, port)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_lie_outside_the_ephemeral_range_and_are_never_given_twice() {
        let ephemeral = ephemeral_range();
        let mut seen = BTreeSet::new();
        for _ in 0..50 {
            let port = free_port(&BTreeSet::new()).unwrap();
            assert!(port >= FIRST && !ephemeral.contains(&port), "{port} in {ephemeral:?}");
            assert!(seen.insert(port), "{port} handed out twice");
        }
    }

    #[test]
    fn a_run_is_consecutive_free_and_avoids_what_it_is_told() {
        let first = free_ports(3, &BTreeSet::new()).unwrap();
        let avoid = BTreeSet::from([first + 3, first + 4, first + 5]);
        let next = free_ports(3, &avoid).unwrap();
        assert!(!(first..first + 3).any(|p| (next..next + 3).contains(&p)));
        assert!(!avoid.iter().any(|p| (next..next + 3).contains(p)));
        for port in next..next + 3 {
            assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
        }
    }

    #[test]
    fn a_port_someone_listens_on_is_not_handed_out() {
        let first = free_port(&BTreeSet::new()).unwrap();
        let _v4 = TcpListener::bind(("127.0.0.1", first + 1));
        let _v6 = TcpListener::bind(("::1", first + 2));
        let next = free_ports(2, &BTreeSet::new()).unwrap();
        let run = next..=next + 1;
        assert!(!run.contains(&(first + 1)) && !run.contains(&(first + 2)), "{run:?}");
    }
}
