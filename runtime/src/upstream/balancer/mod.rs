//! Upstream balancers: the peer list of an `upstream {}` block, the shared per-peer state and
//! the choice of a peer for each connection attempt, exactly as nginx's stream balancers.
//!
//! # How the core uses a balancer
//!
//! ```text
//! let balancer = Balancer::new("backend", Method::RoundRobin, peers)?;   // at config load
//!
//! let mut tried = balancer.session(key);        // once per session (`hash` key evaluated)
//! loop {
//!     let peer = match balancer.get(&mut tried) {
//!         Ok(peer) => peer,                        // connect to peer.addr, log peer.name
//!         Err(busy) => /* [error] "no live upstreams", $upstream_addr = busy.upstream */,
//!     };
//!     let outcome = connect(&peer);                // Outcome::Failed or Outcome::Succeeded
//!     if let Some(event) = balancer.free(&mut tried, peer, outcome) {
//!         /* [warn] "{event}" in the session's error log context */
//!     }
//!     if succeeded || tried.tries_left() == 0 { break }  // proxy_next_upstream logic
//! }
//! ```
//!
//! `get` follows `peer.get` and `free` follows `peer.free` of nginx: call `free` exactly once
//! for every peer `get` returned: with [`Outcome::Failed`] when connecting failed, with
//! [`Outcome::Succeeded`] when the session ends after a successful connect. `free` returns a
//! [`PeerEvent`] when nginx would log `upstream server temporarily disabled`; the caller logs
//! it (this module does no I/O).
//!
//! The per-peer runtime state (weights, connections, failures) is shared by all sessions
//! behind a mutex, like nginx's `zone`; the [`Tried`] value is the per-session part (nginx's
//! `rrp->tried` bitmap, the number of tries left, the hash position). Time is read from a
//! [`Clock`] in whole seconds, as nginx's `ngx_time()`; tests use [`ManualClock`].

mod hash;
mod least_conn;
mod random;
mod round_robin;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a peer listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PeerAddr {
    /// A TCP address.
    Inet(SocketAddr),
    /// A unix-domain socket path (`unix:/path`).
    Unix(PathBuf),
}

/// One address of a `server` line in an `upstream {}` block, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The address to connect to.
    pub addr: PeerAddr,
    /// The peer's name as nginx shows it in `$upstream_addr` and `upstream: "..."`
    /// (`127.0.0.1:8080`, `[::1]:8080`, `unix:/path`).
    pub name: String,
    /// The `server` argument as written in the config (`backend.local:8080`); several peers
    /// share it when a name resolves to several addresses. `hash ... consistent` places its
    /// points by this string.
    pub server: String,
    /// `weight=` (default 1).
    pub weight: u32,
    /// `max_fails=` (default 1; 0 disables failure accounting).
    pub max_fails: u32,
    /// `fail_timeout=` in seconds (default 10).
    pub fail_timeout: u64,
    /// `backup`.
    pub backup: bool,
    /// `down`.
    pub down: bool,
    /// `max_conns=` (default 0: no limit).
    pub max_conns: u32,
}

impl Peer {
    /// A peer with nginx's default parameters (`weight=1 max_fails=1 fail_timeout=10`).
    pub fn new(addr: PeerAddr, name: impl Into<String>, server: impl Into<String>) -> Peer {
        Peer {
            addr,
            name: name.into(),
            server: server.into(),
            weight: 1,
            max_fails: 1,
            fail_timeout: 10,
            backup: false,
            down: false,
            max_conns: 0,
        }
    }

    /// A peer for a TCP address, named and keyed (`server`) by the address itself.
    pub fn inet(addr: SocketAddr) -> Peer {
        let name = strait_parser::values::sock_ntop(&addr);
        Peer::new(PeerAddr::Inet(addr), name.clone(), name)
    }
}

/// The balancing method of an upstream block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// No method directive: smooth weighted round robin.
    RoundRobin,
    /// `hash KEY`: crc32-based, with up to 20 rehashes, then round robin.
    Hash,
    /// `hash KEY consistent`: ketama points, 160 per weight unit.
    ConsistentHash,
    /// `least_conn`: fewest connections relative to weight, round robin among equals.
    LeastConn,
    /// `random`: weighted random choice.
    Random,
    /// `random two` and `random two least_conn` (the same in open-source nginx): two weighted
    /// random peers, the one with fewer connections relative to weight.
    RandomTwo,
}

/// Whether the connection attempt to a peer succeeded (nginx's `NGX_PEER_FAILED` or 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Connecting failed (refused, timed out, TLS handshake failed).
    Failed,
    /// The peer served the session; the session is over.
    Succeeded,
}

/// Something `free` observed that nginx logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// The peer reached `max_fails`: `[warn] upstream server temporarily disabled`.
    TemporarilyDisabled,
}

impl fmt::Display for PeerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerEvent::TemporarilyDisabled => f.write_str("upstream server temporarily disabled"),
        }
    }
}

/// No peer can be tried: nginx logs `no live upstreams` and sets `$upstream_addr` to the
/// upstream's name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no live upstreams")]
pub struct NoLiveUpstreams {
    /// The upstream block's name, shown in `$upstream_addr`.
    pub upstream: String,
}

/// A balancer cannot be built from the configured servers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BalancerError {
    /// Every server is a `backup` one (nginx: `no servers in upstream "NAME" in FILE:LINE`;
    /// the caller appends the location).
    #[error("no servers in upstream \"{upstream}\"")]
    NoServers {
        /// The upstream block's name.
        upstream: String,
    },
    /// A peer with `weight=0` (nginx rejects it when parsing `server`).
    #[error("invalid parameter \"weight=0\"")]
    ZeroWeight,
}

/// The peer chosen for one connection attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerHandle {
    /// The address to connect to.
    pub addr: PeerAddr,
    /// The peer's name for `$upstream_addr` and log lines.
    pub name: String,
    list: ListId,
    index: usize,
}

impl PeerHandle {
    /// Whether the peer is one of the `backup` servers.
    pub fn is_backup(&self) -> bool {
        self.list == ListId::Backup
    }
}

/// A source of the current time in whole seconds, like nginx's `ngx_time()`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since an epoch; only differences matter.
    fn now(&self) -> u64;
}

/// The wall clock, in Unix seconds (what nginx reads).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to; for tests of `fail_timeout`.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `now` seconds.
    pub fn new(now: u64) -> ManualClock {
        ManualClock(AtomicU64::new(now))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which of the two peer lists (nginx's `peers` and `peers->next`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListId {
    Primary,
    Backup,
}

/// The runtime state of one peer (fields of `ngx_stream_upstream_rr_peer_t`).
#[derive(Clone, Debug, Default)]
struct PeerState {
    current_weight: i64,
    effective_weight: i64,
    conns: u32,
    fails: u32,
    accessed: u64,
    checked: u64,
}

/// The shared state of both lists, guarded by the balancer's mutex.
#[derive(Debug)]
struct States {
    primary: Vec<PeerState>,
    backup: Vec<PeerState>,
}

impl States {
    fn list(&mut self, id: ListId) -> &mut Vec<PeerState> {
        match id {
            ListId::Primary => &mut self.primary,
            ListId::Backup => &mut self.backup,
        }
    }
}

/// The per-session part of balancing: nginx's `tried` bitmap, the tries left and the
/// hash/random positions. Create it with [`Balancer::session`].
#[derive(Clone, Debug)]
pub struct Tried {
    list: ListId,
    bits: Vec<u64>,
    tries: usize,
    key: Vec<u8>,
    /// Failed rehash/rescan rounds of `hash` and `random` (nginx's `hp->tries`).
    rounds: usize,
    /// `hash`: the sum of the rehash values; `hash consistent`: the point index.
    hash: u64,
    /// `hash`: the number of rehashes done.
    rehash: u64,
}

impl Tried {
    /// How many more peers may be tried (nginx's `pc->tries`): the number of peers at the
    /// start, one less after each `free`, 0 after a single-peer upstream was freed.
    pub fn tries_left(&self) -> usize {
        self.tries
    }

    fn is_tried(&self, index: usize) -> bool {
        self.bits[index / 64] & (1 << (index % 64)) != 0
    }

    fn mark_tried(&mut self, index: usize) {
        self.bits[index / 64] |= 1 << (index % 64);
    }

    /// Moves the session to the backup list with a fresh `tried` bitmap.
    fn switch_to_backup(&mut self) {
        self.list = ListId::Backup;
        self.bits.iter_mut().for_each(|word| *word = 0);
    }
}

/// A consistent-hash point: a crc32 value and the index of the `server` string it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    hash: u32,
    server: usize,
}

/// The balancer of one `upstream {}` block.
#[derive(Debug)]
pub struct Balancer {
    upstream: String,
    method: Method,
    primary: Vec<Peer>,
    backup: Vec<Peer>,
    /// `hash consistent`: the sorted, deduplicated points.
    points: Vec<Point>,
    /// `hash consistent`: the distinct `server` strings the points refer to.
    servers: Vec<String>,
    states: Mutex<States>,
    rng: Mutex<fastrand::Rng>,
    clock: Arc<dyn Clock>,
}

impl Balancer {
    /// Builds the balancer of upstream `upstream` from its peers in config order.
    pub fn new(
        upstream: impl Into<String>,
        method: Method,
        peers: Vec<Peer>,
    ) -> Result<Balancer, BalancerError> {
        let upstream = upstream.into();

        // Split the peers into the primary and backup lists, as nginx's init_round_robin.
        let (backup, primary): (Vec<Peer>, Vec<Peer>) = peers.into_iter().partition(|p| p.backup);
        if primary.is_empty() {
            return Err(BalancerError::NoServers { upstream });
        }
        if primary.iter().chain(&backup).any(|p| p.weight == 0) {
            return Err(BalancerError::ZeroWeight);
        }

        // Every peer starts with effective_weight = weight.
        let state_of = |peer: &Peer| PeerState {
            effective_weight: i64::from(peer.weight),
            ..PeerState::default()
        };
        let states = States {
            primary: primary.iter().map(state_of).collect(),
            backup: backup.iter().map(state_of).collect(),
        };

        // `hash ... consistent` builds its points once, at config load.
        let (points, servers) = match method {
            Method::ConsistentHash => hash::build_points(&primary),
            _ => (Vec::new(), Vec::new()),
        };

        Ok(Balancer {
            upstream,
            method,
            primary,
            backup,
            points,
            servers,
            states: Mutex::new(states),
            rng: Mutex::new(fastrand::Rng::new()),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the clock (tests of `fail_timeout`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Balancer {
        self.clock = clock;
        self
    }

    /// Seeds the random generator of `random` (reproducible tests).
    pub fn with_seed(self, seed: u64) -> Balancer {
        *lock(&self.rng) = fastrand::Rng::with_seed(seed);
        self
    }

    /// The upstream block's name.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The balancing method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The primary (non-backup) peers in config order.
    pub fn primary(&self) -> &[Peer] {
        &self.primary
    }

    /// The backup peers in config order.
    pub fn backup(&self) -> &[Peer] {
        &self.backup
    }

    /// Current connection counts of the primary peers then the backup peers.
    pub fn conns(&self) -> Vec<u32> {
        let states = lock(&self.states);
        states.primary.iter().chain(&states.backup).map(|s| s.conns).collect()
    }

    /// Starts the balancing of one session. `key` is the evaluated `hash` key (ignored by the
    /// other methods), computed once per session as nginx does.
    pub fn session(&self, key: Option<&[u8]>) -> Tried {
        let words = self.primary.len().max(self.backup.len()).div_ceil(64);
        let mut tried = Tried {
            list: ListId::Primary,
            bits: vec![0; words],
            tries: self.primary.len() + self.backup.len(),
            key: key.unwrap_or_default().to_vec(),
            rounds: 0,
            hash: 0,
            rehash: 0,
        };
        if self.method == Method::ConsistentHash && !self.points.is_empty() {
            tried.hash = hash::find_point(&self.points, crc32fast::hash(&tried.key)) as u64;
        }
        tried
    }

    /// Chooses the peer for the next connection attempt of a session.
    pub fn get(&self, tried: &mut Tried) -> Result<PeerHandle, NoLiveUpstreams> {
        let now = self.clock.now();
        let mut states = lock(&self.states);
        let found = match self.method {
            Method::RoundRobin => round_robin::get(self, &mut states, tried, now),
            Method::Hash => hash::get(self, &mut states, tried, now),
            Method::ConsistentHash => hash::get_consistent(self, &mut states, tried, now),
            Method::LeastConn => least_conn::get(self, &mut states, tried, now),
            Method::Random => random::get(self, &mut states, tried, now),
            Method::RandomTwo => random::get_two(self, &mut states, tried, now),
        };
        found.ok_or_else(|| NoLiveUpstreams { upstream: self.upstream.clone() })
    }

    /// Releases a peer `get` returned, with the outcome of the attempt; returns the event
    /// nginx logs, if any.
    pub fn free(&self, tried: &mut Tried, peer: PeerHandle, outcome: Outcome) -> Option<PeerEvent> {
        let now = self.clock.now();
        let mut states = lock(&self.states);
        round_robin::free(self, &mut states, tried, &peer, outcome, now)
    }

    fn peers(&self, id: ListId) -> &[Peer] {
        match id {
            ListId::Primary => &self.primary,
            ListId::Backup => &self.backup,
        }
    }

    /// nginx's `peers->single`: one primary peer and no backup.
    fn single(&self, id: ListId) -> bool {
        id == ListId::Primary && self.primary.len() == 1 && self.backup.is_empty()
    }

    /// The sum of the primary weights (nginx's `peers->total_weight`, down peers included).
    fn total_weight(&self) -> u64 {
        self.primary.iter().map(|p| u64::from(p.weight)).sum()
    }

    /// Builds the handle of peer `index` of the session's current list.
    fn handle(&self, tried: &Tried, index: usize) -> PeerHandle {
        let peer = &self.peers(tried.list)[index];
        PeerHandle { addr: peer.addr.clone(), name: peer.name.clone(), list: tried.list, index }
    }

    /// Takes peer `index` of the session's list after a successful search: starts a new
    /// `fail_timeout` window if the last one is over, marks it tried, counts the connection.
    fn take(&self, states: &mut States, tried: &mut Tried, index: usize, now: u64) -> PeerHandle {
        let peer = &self.peers(tried.list)[index];
        let state = &mut states.list(tried.list)[index];
        if now.saturating_sub(state.checked) > peer.fail_timeout {
            state.checked = now;
        }
        state.conns += 1;
        tried.mark_tried(index);
        self.handle(tried, index)
    }
}

/// Whether a peer may be chosen now, apart from the `tried` bitmap: not `down`, not failed
/// `max_fails` times within `fail_timeout`, below `max_conns`.
fn available(peer: &Peer, state: &PeerState, now: u64) -> bool {
    if peer.down {
        return false;
    }
    if peer.max_fails != 0
        && state.fails >= peer.max_fails
        && now.saturating_sub(state.checked) <= peer.fail_timeout
    {
        return false;
    }
    peer.max_conns == 0 || state.conns < peer.max_conns
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
