//! Peer sequences of every balancer: nginx's algorithms step by step, and tables of the
//! choices real nginx 1.22.1 made for the same upstreams (recorded as described below).

use super::*;
use std::net::{IpAddr, Ipv4Addr};

fn peer(port: u16) -> Peer {
    Peer::inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
}

fn weighted(port: u16, weight: u32) -> Peer {
    Peer { weight, ..peer(port) }
}

/// Picks `n` peers, one session each, freeing each as succeeded; returns the port numbers.
fn sequence(balancer: &Balancer, key: Option<&[u8]>, n: usize) -> Vec<u16> {
    (0..n)
        .map(|_| {
            let mut tried = balancer.session(key);
            let handle = balancer.get(&mut tried).expect("a live peer");
            let port = port_of(&handle);
            balancer.free(&mut tried, handle, Outcome::Succeeded);
            port
        })
        .collect()
}

fn port_of(handle: &PeerHandle) -> u16 {
    match &handle.addr {
        PeerAddr::Inet(addr) => addr.port(),
        PeerAddr::Unix(_) => 0,
    }
}

// === round robin ===

/// Real nginx 1.22.1, weights 5,1,1 (a, b, c), 14 sequential sessions: `aabacaaaabacaa`.
#[test]
fn round_robin_smooth_weights_match_nginx() {
    let b = Balancer::new("u", Method::RoundRobin, vec![weighted(1, 5), peer(2), peer(3)]).unwrap();
    assert_eq!(sequence(&b, None, 14), [1, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1]);
}

#[test]
fn round_robin_equal_weights_rotate() {
    let b = Balancer::new("u", Method::RoundRobin, vec![peer(1), peer(2), peer(3)]).unwrap();
    assert_eq!(sequence(&b, None, 6), [1, 2, 3, 1, 2, 3]);
}

#[test]
fn round_robin_skips_down_peers() {
    let down = Peer { down: true, ..peer(2) };
    let b = Balancer::new("u", Method::RoundRobin, vec![peer(1), down, peer(3)]).unwrap();
    assert_eq!(sequence(&b, None, 4), [1, 3, 1, 3]);
}

#[test]
fn round_robin_tries_each_peer_once_per_session() {
    let b = Balancer::new("u", Method::RoundRobin, vec![peer(1), peer(2), peer(3)]).unwrap();
    let mut tried = b.session(None);
    assert_eq!(tried.tries_left(), 3);
    let mut ports = Vec::new();
    while let Ok(handle) = b.get(&mut tried) {
        ports.push(port_of(&handle));
        b.free(&mut tried, handle, Outcome::Failed);
    }
    ports.sort_unstable();
    assert_eq!(ports, [1, 2, 3]);
    assert_eq!(tried.tries_left(), 0);
    assert_eq!(b.get(&mut tried), Err(NoLiveUpstreams { upstream: "u".into() }));
}

#[test]
fn max_fails_disables_for_fail_timeout_then_retries() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let flaky = Peer { max_fails: 2, fail_timeout: 30, ..peer(1) };
    let b = Balancer::new("u", Method::RoundRobin, vec![flaky, peer(2)])
        .unwrap()
        .with_clock(clock.clone());

    // Two failures of peer 1: the second reaches max_fails and is reported.
    let mut events = Vec::new();
    for _ in 0..2 {
        let mut tried = b.session(None);
        loop {
            let handle = b.get(&mut tried).unwrap();
            if port_of(&handle) == 1 {
                events.push(b.free(&mut tried, handle, Outcome::Failed));
                break;
            }
            b.free(&mut tried, handle, Outcome::Succeeded);
            tried = b.session(None);
        }
    }
    assert_eq!(events, [None, Some(PeerEvent::TemporarilyDisabled)]);
    assert_eq!(PeerEvent::TemporarilyDisabled.to_string(), "upstream server temporarily disabled");

    // Within fail_timeout (now - checked <= 30) only peer 2 is used.
    clock.advance(30);
    assert_eq!(sequence(&b, None, 3), [2, 2, 2]);

    // Past fail_timeout peer 1 is tried again; a success makes it live for good.
    clock.advance(1);
    let seq = sequence(&b, None, 4);
    assert!(seq.contains(&1), "{seq:?}");
    assert_eq!(sequence(&b, None, 4).iter().filter(|&&p| p == 1).count(), 2);
}

#[test]
fn failure_lowers_effective_weight_which_recovers() {
    // weight 4, max_fails 2: one failure costs 4/2 = 2 effective weight.
    let a = Peer { max_fails: 2, ..weighted(1, 4) };
    let b = Balancer::new("u", Method::RoundRobin, vec![a, peer(2)])
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    let mut tried = b.session(None);
    let first = b.get(&mut tried).unwrap();
    assert_eq!(port_of(&first), 1);
    assert_eq!(b.free(&mut tried, first, Outcome::Failed), None);

    // Effective weight 2, +1 per round up to 4. By hand (current weights A, B after each
    // round; A starts at -1): B wins round 1 (1 vs 2), then A's weight is back to 4 and the
    // usual 4:1 pattern continues from A=1, B=-1.
    assert_eq!(sequence(&b, None, 10), [2, 1, 1, 1, 2, 1, 1, 1, 1, 2]);
}

#[test]
fn single_peer_is_never_marked_failed() {
    let only = Peer { max_fails: 1, ..peer(1) };
    let b = Balancer::new("u", Method::RoundRobin, vec![only])
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    let mut tried = b.session(None);
    assert_eq!(tried.tries_left(), 1);
    let handle = b.get(&mut tried).unwrap();
    assert_eq!(b.free(&mut tried, handle, Outcome::Failed), None);
    assert_eq!(tried.tries_left(), 0);
    assert_eq!(sequence(&b, None, 2), [1, 1]);
}

#[test]
fn single_down_peer_means_no_live_upstreams() {
    let b =
        Balancer::new("backend", Method::RoundRobin, vec![Peer { down: true, ..peer(1) }]).unwrap();
    let err = b.get(&mut b.session(None)).unwrap_err();
    assert_eq!(err.to_string(), "no live upstreams");
    assert_eq!(err.upstream, "backend");
}

#[test]
fn backup_peers_used_when_primary_peers_fail() {
    let backup = |port| Peer { backup: true, ..peer(port) };
    let b = Balancer::new("u", Method::RoundRobin, vec![peer(1), backup(8), peer(2), backup(9)])
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    assert_eq!(b.primary().len(), 2);
    assert_eq!(b.backup().len(), 2);

    // One session: both primaries fail, then a backup serves it.
    let mut tried = b.session(None);
    assert_eq!(tried.tries_left(), 4);
    let mut ports = Vec::new();
    while let Ok(handle) = b.get(&mut tried) {
        let port = port_of(&handle);
        ports.push(port);
        assert_eq!(handle.is_backup(), port >= 8);
        let outcome = if port < 8 { Outcome::Failed } else { Outcome::Succeeded };
        b.free(&mut tried, handle, outcome);
        if outcome == Outcome::Succeeded {
            break;
        }
    }
    assert_eq!(ports, [1, 2, 8]);
    assert_eq!(tried.tries_left(), 1);

    // Both primaries are now down for fail_timeout: new sessions go to the backups.
    assert_eq!(sequence(&b, None, 3), [9, 8, 9]);

    // Every peer failed: no live upstreams.
    let mut tried = b.session(None);
    while let Ok(handle) = b.get(&mut tried) {
        b.free(&mut tried, handle, Outcome::Failed);
    }
    assert_eq!(b.get(&mut b.session(None)).unwrap_err().upstream, "u");
}

#[test]
fn all_backup_servers_is_a_config_error() {
    let err =
        Balancer::new("u", Method::RoundRobin, vec![Peer { backup: true, ..peer(1) }]).unwrap_err();
    assert_eq!(err.to_string(), "no servers in upstream \"u\"");
}

#[test]
fn zero_weight_is_rejected() {
    let err = Balancer::new("u", Method::Hash, vec![peer(1), weighted(2, 0)]).unwrap_err();
    assert_eq!(err, BalancerError::ZeroWeight);
    assert_eq!(err.to_string(), "invalid parameter \"weight=0\"");
}

#[test]
fn max_conns_limits_concurrent_sessions() {
    let limited = Peer { max_conns: 1, ..peer(1) };
    let b = Balancer::new("u", Method::RoundRobin, vec![limited, peer(2)]).unwrap();
    let mut s1 = b.session(None);
    let h1 = b.get(&mut s1).unwrap();
    assert_eq!(port_of(&h1), 1);
    // Peer 1 is full while the first session holds it.
    assert_eq!(sequence(&b, None, 3), [2, 2, 2]);
    assert_eq!(b.conns(), [1, 0]);
    b.free(&mut s1, h1, Outcome::Succeeded);
    assert_eq!(b.conns(), [0, 0]);
    assert!(sequence(&b, None, 2).contains(&1));
}

#[test]
fn single_peer_at_max_conns_is_busy() {
    let b = Balancer::new("u", Method::RoundRobin, vec![Peer { max_conns: 1, ..peer(1) }]).unwrap();
    let mut s1 = b.session(None);
    let _held = b.get(&mut s1).unwrap();
    assert!(b.get(&mut b.session(None)).is_err());
}

#[test]
fn more_than_64_peers_use_a_wider_tried_bitmap() {
    let peers: Vec<Peer> = (1..=130).map(peer).collect();
    let b = Balancer::new("u", Method::RoundRobin, peers).unwrap();
    let mut tried = b.session(None);
    let mut seen = Vec::new();
    while let Ok(handle) = b.get(&mut tried) {
        seen.push(port_of(&handle));
        b.free(&mut tried, handle, Outcome::Failed);
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=130).collect::<Vec<u16>>());
}

// === hash ===

/// The upstream real nginx 1.22.1 ran for [`HASH_TABLE`]: weights 1, 2, down, 1.
fn hash_peers() -> Vec<Peer> {
    let ports = [53039, 45715, 51339, 35169];
    let mut peers: Vec<Peer> = ports.iter().map(|&p| peer(p)).collect();
    peers[1].weight = 2;
    peers[2].down = true;
    peers
}

/// Real nginx 1.22.1: `upstream h { hash $k; server 127.0.0.1:53039; server
/// 127.0.0.1:45715 weight=2; server 127.0.0.1:51339 down; server 127.0.0.1:35169; }` and
/// the same with `hash $k consistent` (`ch`); one front server per key doing
/// `set $k "KEY"; proxy_pass h;` (or `ch`), each backend `return "INDEX"`; three sessions
/// per key. Columns: key, index chosen by `hash`, index chosen by `hash consistent`.
const HASH_TABLE: &[(&str, usize, usize)] = &[
    ("a", 1, 1),
    ("b", 0, 1),
    ("c", 1, 3),
    ("key1", 1, 1),
    ("key2", 0, 0),
    ("user42", 1, 1),
    ("10.0.0.1", 1, 3),
    ("hello world", 1, 3),
    ("xxxxxxxxxx", 1, 1),
    ("example.com", 3, 1),
    ("www.example.com", 0, 3),
    ("0", 0, 1),
    ("1", 3, 1),
    ("12345", 0, 3),
    ("strait", 1, 0),
    ("nginx", 0, 1),
    ("Z", 1, 3),
    ("abc", 3, 3),
    ("tenant-7", 0, 1),
];

fn index_of(balancer: &Balancer, port: u16) -> usize {
    balancer.primary().iter().position(|p| p.name.ends_with(&format!(":{port}"))).unwrap()
}

#[test]
fn hash_picks_the_peer_nginx_picks() {
    let b = Balancer::new("h", Method::Hash, hash_peers()).unwrap();
    for &(key, expected, _) in HASH_TABLE {
        let got: Vec<usize> =
            sequence(&b, Some(key.as_bytes()), 3).iter().map(|&p| index_of(&b, p)).collect();
        assert_eq!(got, [expected; 3], "hash key {key:?}");
    }
}

#[test]
fn consistent_hash_picks_the_peer_nginx_picks() {
    let b = Balancer::new("ch", Method::ConsistentHash, hash_peers()).unwrap();
    for &(key, _, expected) in HASH_TABLE {
        let got: Vec<usize> =
            sequence(&b, Some(key.as_bytes()), 3).iter().map(|&p| index_of(&b, p)).collect();
        assert_eq!(got, [expected; 3], "consistent hash key {key:?}");
    }
}

/// Real nginx 1.22.1, same upstreams, key "": round robin (`1 0 3` for both methods).
#[test]
fn empty_hash_key_falls_back_to_round_robin() {
    for method in [Method::Hash, Method::ConsistentHash] {
        let b = Balancer::new("h", method, hash_peers()).unwrap();
        let got: Vec<usize> = sequence(&b, Some(b""), 3).iter().map(|&p| index_of(&b, p)).collect();
        assert_eq!(got, [1, 0, 3], "{method:?}");
    }
}

#[test]
fn hash_rehashes_past_a_failed_peer_within_the_session() {
    let b = Balancer::new("h", Method::Hash, vec![peer(1), peer(2), peer(3)])
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    let mut tried = b.session(Some(b"some key"));
    let first = b.get(&mut tried).unwrap();
    let first_port = port_of(&first);
    b.free(&mut tried, first, Outcome::Failed);
    let second = b.get(&mut tried).unwrap();
    assert_ne!(port_of(&second), first_port);
}

#[test]
fn consistent_hash_points_follow_ketama() {
    // 160 points per weight unit, deduplicated and sorted.
    let b = Balancer::new("ch", Method::ConsistentHash, hash_peers()).unwrap();
    assert_eq!(b.points.len(), 5 * 160);
    assert!(b.points.windows(2).all(|w| w[0].hash < w[1].hash));

    // The first point of "127.0.0.1:80" is crc32("127.0.0.1" NUL "80" 00 00 00 00).
    let (points, servers) = hash::build_points(&[peer(80)]);
    assert_eq!(servers, ["127.0.0.1:80"]);
    let first = crc32fast::hash(b"127.0.0.1\x0080\x00\x00\x00\x00");
    assert!(points.iter().any(|p| p.hash == first));
    let second = crc32fast::hash(&[b"127.0.0.1\x0080".as_slice(), &first.to_le_bytes()].concat());
    assert!(points.iter().any(|p| p.hash == second));
}

#[test]
fn consistent_hash_unix_and_portless_servers() {
    let unix = Peer::new(PeerAddr::Unix("/tmp/s".into()), "unix:/tmp/s", "unix:/tmp/s");
    let (points, _) = hash::build_points(&[unix]);
    assert!(points.iter().any(|p| p.hash == crc32fast::hash(b"/tmp/s\x00\x00\x00\x00\x00")));

    // "[::1]" ends in a non-digit: all host, no port.
    let v6 = Peer::new(PeerAddr::Unix("/x".into()), "[::1]:80", "[::1]");
    let (points, _) = hash::build_points(&[v6]);
    assert!(points.iter().any(|p| p.hash == crc32fast::hash(b"[::1]\x00\x00\x00\x00\x00")));
}

#[test]
fn consistent_hash_moves_along_the_ring_past_a_down_server() {
    // Same key, with and without the chosen server: the choice moves to another server,
    // keys of other servers stay.
    let peers = || vec![peer(1), peer(2), peer(3), peer(4)];
    let all = Balancer::new("ch", Method::ConsistentHash, peers()).unwrap();
    let keys: Vec<String> = (0..40).map(|i| format!("key{i}")).collect();
    let before: Vec<u16> = keys.iter().map(|k| sequence(&all, Some(k.as_bytes()), 1)[0]).collect();

    let mut with_down = peers();
    with_down[1].down = true;
    let less = Balancer::new("ch", Method::ConsistentHash, with_down).unwrap();
    for (key, &was) in keys.iter().zip(&before) {
        let now = sequence(&less, Some(key.as_bytes()), 1)[0];
        if was == 2 {
            assert_ne!(now, 2);
        } else {
            assert_eq!(now, was, "key {key} moved although its server is up");
        }
    }
}

// === least_conn ===

#[test]
fn least_conn_prefers_fewest_connections() {
    let b = Balancer::new("u", Method::LeastConn, vec![peer(1), peer(2), peer(3)]).unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tried = b.session(None);
        let handle = b.get(&mut tried).unwrap();
        held.push((tried, handle));
    }
    // One connection each; release peer 2's: the next session goes there.
    let (mut tried, handle) = held.remove(1);
    assert_eq!(port_of(&handle), 2);
    b.free(&mut tried, handle, Outcome::Succeeded);
    assert_eq!(sequence(&b, None, 3), [2, 2, 2]);
}

#[test]
fn least_conn_weights_scale_connections() {
    // weight 3 with 2 connections (2/3) beats weight 1 with 1 connection (1/1).
    let b = Balancer::new("u", Method::LeastConn, vec![weighted(1, 3), peer(2)]).unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut tried = b.session(None);
        let handle = b.get(&mut tried).unwrap();
        held.push(port_of(&handle));
    }
    // 0/3 and 0/1 tie: smooth round robin gives peer 1; then 1/3 against 0/1: peer 2;
    // then 1/3 against 1/1: peer 1; then 2/3 against 1/1: peer 1 again.
    assert_eq!(held, [1, 2, 1]);
    assert_eq!(sequence(&b, None, 1), [1]);
}

#[test]
fn least_conn_ties_are_smooth_round_robin() {
    let b = Balancer::new("u", Method::LeastConn, vec![weighted(1, 5), peer(2), peer(3)]).unwrap();
    assert_eq!(sequence(&b, None, 7), [1, 1, 2, 1, 3, 1, 1]);
}

#[test]
fn least_conn_falls_back_to_backup() {
    let b = Balancer::new(
        "u",
        Method::LeastConn,
        vec![Peer { down: true, ..peer(1) }, Peer { backup: true, ..peer(9) }],
    )
    .unwrap();
    assert_eq!(sequence(&b, None, 2), [9, 9]);
}

// === random ===

#[test]
fn random_follows_weights() {
    let b = Balancer::new("u", Method::Random, vec![weighted(1, 3), peer(2)]).unwrap().with_seed(7);
    let seq = sequence(&b, None, 4000);
    let ones = seq.iter().filter(|&&p| p == 1).count();
    // Expected 3000; a seeded generator keeps this deterministic.
    assert!((2800..3200).contains(&ones), "{ones}");
}

#[test]
fn random_never_picks_down_or_tried_peers() {
    let b =
        Balancer::new("u", Method::Random, vec![peer(1), Peer { down: true, ..peer(2) }, peer(3)])
            .unwrap()
            .with_seed(1)
            .with_clock(Arc::new(ManualClock::new(1_000_000)));
    assert!(sequence(&b, None, 200).iter().all(|&p| p != 2));
    let mut tried = b.session(None);
    let first = b.get(&mut tried).unwrap();
    let first_port = port_of(&first);
    b.free(&mut tried, first, Outcome::Failed);
    let second = b.get(&mut tried).unwrap();
    assert_ne!(port_of(&second), first_port);
    assert_ne!(port_of(&second), 2);
}

#[test]
fn random_two_prefers_fewer_connections() {
    let b = Balancer::new("u", Method::RandomTwo, vec![peer(1), peer(2)]).unwrap().with_seed(3);
    // Hold a connection on whichever peer comes first: every later pick (of the two
    // distinct draws) must be the other peer.
    let mut s = b.session(None);
    let held = b.get(&mut s).unwrap();
    let other = if port_of(&held) == 1 { 2 } else { 1 };
    assert_eq!(sequence(&b, None, 20), [other; 20]);
}

// === sequences recorded from real nginx 1.22.1 with live connections ===

/// Real nginx 1.22.1: `upstream lc { least_conn; server A weight=2; server B; server C; }`,
/// backends (a Python listener per port) that send their name and keep the connection open;
/// the client keeps each connection open too. Nine connections gave `abcacabab`; after
/// closing the 2nd (b) and 3rd (c), four more gave `cacb`.
#[test]
fn least_conn_with_held_connections_matches_nginx() {
    let b = Balancer::new("lc", Method::LeastConn, vec![weighted(1, 2), peer(2), peer(3)]).unwrap();
    let name = |h: &PeerHandle| ["a", "b", "c"][usize::from(port_of(h)) - 1];
    let mut held: Vec<(Tried, PeerHandle)> = Vec::new();
    let open = |b: &Balancer, held: &mut Vec<(Tried, PeerHandle)>, n: usize| {
        let mut seq = String::new();
        for _ in 0..n {
            let mut tried = b.session(None);
            let handle = b.get(&mut tried).unwrap();
            seq.push_str(name(&handle));
            held.push((tried, handle));
        }
        seq
    };
    assert_eq!(open(&b, &mut held, 9), "abcacabab");
    for (mut tried, handle) in held.drain(1..3) {
        b.free(&mut tried, handle, Outcome::Succeeded);
    }
    assert_eq!(open(&b, &mut held, 4), "cacb");
}

/// Real nginx 1.22.1: `upstream ff { server DEAD max_fails=2 fail_timeout=60s weight=3;
/// server E; server F weight=2; }` where nothing listens on DEAD (connection refused) and
/// E, F `return` their name; twelve sessions served `feffeffeffef`, the error log had two
/// `connect() failed` lines and one `upstream server temporarily disabled`.
#[test]
fn failover_sequence_matches_nginx() {
    let dead = Peer { max_fails: 2, fail_timeout: 60, ..weighted(1, 3) };
    let b = Balancer::new("ff", Method::RoundRobin, vec![dead, peer(2), weighted(3, 2)])
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    let (mut served, mut failures, mut disabled) = (String::new(), 0, 0);
    for _ in 0..12 {
        let mut tried = b.session(None);
        loop {
            let handle = b.get(&mut tried).unwrap();
            if port_of(&handle) == 1 {
                failures += 1;
                disabled += usize::from(b.free(&mut tried, handle, Outcome::Failed).is_some());
                continue;
            }
            served.push_str(if port_of(&handle) == 2 { "e" } else { "f" });
            b.free(&mut tried, handle, Outcome::Succeeded);
            break;
        }
    }
    assert_eq!(served, "feffeffeffef");
    assert_eq!((failures, disabled), (2, 1));
}

/// Real nginx 1.22.1: `hash $k` and `hash $k consistent` over `server 127.0.0.1:39503;
/// server 127.0.0.1:39287 weight=2; server 127.0.0.1:44477; server 127.0.0.1:36419;` where
/// nothing listens on the third (refused); one session per key, keys in this order. Each
/// upstream logged one `connect() failed` and one `upstream server temporarily disabled`.
#[test]
fn hash_failover_matches_nginx() {
    const KEYS: [&str; 16] = [
        "a",
        "b",
        "c",
        "key1",
        "key2",
        "user42",
        "10.0.0.1",
        "hello world",
        "example.com",
        "0",
        "1",
        "12345",
        "strait",
        "nginx",
        "Z",
        "abc",
    ];
    let cases = [(Method::Hash, "1011011130301013"), (Method::ConsistentHash, "3101013030103110")];
    for (method, expected) in cases {
        let ports = [39503, 39287, 44477, 36419];
        let mut peers: Vec<Peer> = ports.iter().map(|&p| peer(p)).collect();
        peers[1].weight = 2;
        let b = Balancer::new("h", method, peers)
            .unwrap()
            .with_clock(Arc::new(ManualClock::new(1_000_000)));
        let (mut served, mut failures, mut disabled) = (String::new(), 0, 0);
        for key in KEYS {
            let mut tried = b.session(Some(key.as_bytes()));
            loop {
                let handle = b.get(&mut tried).unwrap();
                let index = index_of(&b, port_of(&handle));
                if index == 2 {
                    failures += 1;
                    disabled += usize::from(b.free(&mut tried, handle, Outcome::Failed).is_some());
                    continue;
                }
                served.push_str(&index.to_string());
                b.free(&mut tried, handle, Outcome::Succeeded);
                break;
            }
        }
        assert_eq!(served, expected, "{method:?}");
        assert_eq!((failures, disabled), (1, 1), "{method:?}");
    }
}

/// Real nginx 1.22.1: `upstream u { server D1; server X backup; server D2 weight=2;
/// server Y backup weight=2; server Z backup; }` with nothing listening on D1 and D2;
/// eight sessions served `yxzyyxzy`, with two `connect() failed` and two
/// `upstream server temporarily disabled` lines.
#[test]
fn backup_sequence_matches_nginx() {
    let backup = |port, weight| Peer { backup: true, ..weighted(port, weight) };
    let peers = vec![peer(1), backup(7, 1), weighted(2, 2), backup(8, 2), backup(9, 1)];
    let b = Balancer::new("u", Method::RoundRobin, peers)
        .unwrap()
        .with_clock(Arc::new(ManualClock::new(1_000_000)));
    let (mut served, mut failures, mut disabled) = (String::new(), 0, 0);
    for _ in 0..8 {
        let mut tried = b.session(None);
        loop {
            let handle = b.get(&mut tried).unwrap();
            let port = port_of(&handle);
            if port < 7 {
                failures += 1;
                disabled += usize::from(b.free(&mut tried, handle, Outcome::Failed).is_some());
                continue;
            }
            served.push(char::from(b"xyz"[usize::from(port - 7)]));
            b.free(&mut tried, handle, Outcome::Succeeded);
            break;
        }
    }
    assert_eq!(served, "yxzyyxzy");
    assert_eq!((failures, disabled), (2, 2));
}

// === properties ===

/// Over `sum(weights)` sessions, smooth weighted round robin picks every peer exactly
/// `weight` times, whatever the weights (deterministic pseudo-random cases).
#[test]
fn smooth_round_robin_honours_weights_exactly() {
    let mut rng = fastrand::Rng::with_seed(42);
    for _ in 0..200 {
        let weights: Vec<u32> = (0..rng.usize(2..9)).map(|_| rng.u32(1..10)).collect();
        let peers = weights.iter().enumerate().map(|(i, &w)| weighted(i as u16 + 1, w)).collect();
        let b = Balancer::new("u", Method::RoundRobin, peers).unwrap();
        let total: u32 = weights.iter().sum();
        for _ in 0..2 {
            let seq = sequence(&b, None, total as usize);
            for (i, &w) in weights.iter().enumerate() {
                let picks = seq.iter().filter(|&&p| p == i as u16 + 1).count();
                assert_eq!(picks, w as usize, "weights {weights:?}, sequence {seq:?}");
            }
        }
    }
}

/// Whatever fails, one session never gets the same peer twice and gets at most as many peers
/// as there are; every method.
#[test]
fn a_session_never_repeats_a_peer() {
    let mut rng = fastrand::Rng::with_seed(7);
    let methods = [
        Method::RoundRobin,
        Method::Hash,
        Method::ConsistentHash,
        Method::LeastConn,
        Method::Random,
        Method::RandomTwo,
    ];
    for method in methods {
        for case in 0..50 {
            let peers: Vec<Peer> = (1..=rng.u16(1..12))
                .map(|p| Peer { max_fails: rng.u32(0..3), ..weighted(p, rng.u32(1..5)) })
                .collect();
            let count = peers.len();
            let b = Balancer::new("u", method, peers)
                .unwrap()
                .with_seed(case)
                .with_clock(Arc::new(ManualClock::new(1_000_000)));
            for session in 0..5 {
                let key = format!("key{case}-{session}");
                let mut tried = b.session(Some(key.as_bytes()));
                let mut seen = Vec::new();
                while tried.tries_left() > 0 {
                    let Ok(handle) = b.get(&mut tried) else { break };
                    let port = port_of(&handle);
                    assert!(!seen.contains(&port), "{method:?}: {port} twice in {seen:?}");
                    seen.push(port);
                    b.free(&mut tried, handle, Outcome::Failed);
                }
                assert!(seen.len() <= count);
            }
            assert!(b.conns().iter().all(|&c| c == 0), "{method:?}: connections leaked");
        }
    }
}
