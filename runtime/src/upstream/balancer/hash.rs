//! `hash KEY` and `hash KEY consistent` (nginx's `ngx_stream_upstream_hash_module.c`): the
//! Cache::Memcached rehash loop and the Cache::Memcached::Fast ketama points.

use super::round_robin::{self, smooth};
use super::{available, Balancer, ListId, Peer, PeerHandle, Point, States, Tried};

/// After this many unusable rounds the hash methods fall back to round robin.
const MAX_ROUNDS: usize = 20;

/// Points per unit of weight on the consistent-hash ring.
const POINTS_PER_WEIGHT: u32 = 160;

/// `hash KEY`: `hash += (crc32([REHASH] KEY) >> 16) & 0x7fff`, the peer whose weight slot
/// holds `hash % total_weight`; rehash up to 20 times, then round robin.
pub(super) fn get(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    // Too many rounds, a lone peer or an empty key: plain round robin.
    if tried.rounds > MAX_ROUNDS
        || balancer.primary.len() < 2
        || tried.key.is_empty()
        || tried.list != ListId::Primary
    {
        return round_robin::get(balancer, states, tried, now);
    }

    let total_weight = balancer.total_weight();
    loop {
        // Hash the key, prefixed by the rehash count after the first round.
        let mut crc = crc32fast::Hasher::new();
        if tried.rehash > 0 {
            crc.update(tried.rehash.to_string().as_bytes());
        }
        crc.update(&tried.key);
        let hash = (crc.finalize() >> 16) & 0x7fff;
        tried.hash = (tried.hash + u64::from(hash)) & u64::from(u32::MAX);
        tried.rehash += 1;

        // Find the peer owning that weight slot (down peers keep their slots).
        let index = slot_owner(&balancer.primary, tried.hash % total_weight);
        if !tried.is_tried(index)
            && available(&balancer.primary[index], &states.primary[index], now)
        {
            return Some(balancer.take(states, tried, index, now));
        }

        tried.rounds += 1;
        if tried.rounds > MAX_ROUNDS {
            return round_robin::get(balancer, states, tried, now);
        }
    }
}

/// `hash KEY consistent`: walk the ring from the key's point; at each point, smooth round
/// robin among the usable peers of that point's `server`; after 20 points, round robin.
pub(super) fn get_consistent(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    // Too many rounds, a lone peer or an empty key: plain round robin.
    if tried.rounds > MAX_ROUNDS
        || balancer.single(tried.list)
        || tried.key.is_empty()
        || tried.list != ListId::Primary
    {
        return round_robin::get(balancer, states, tried, now);
    }

    let points = &balancer.points;
    loop {
        // The server of the current point, and the best usable peer of that server.
        let server = &balancer.servers[points[(tried.hash % points.len() as u64) as usize].server];
        let found = smooth(&balancer.primary, &mut states.primary, tried, now, |_, peer, _| {
            peer.server == *server
        });
        if let Some(index) = found {
            return Some(balancer.take(states, tried, index, now));
        }

        // Move to the next point.
        tried.hash += 1;
        tried.rounds += 1;
        if tried.rounds > MAX_ROUNDS {
            return round_robin::get(balancer, states, tried, now);
        }
    }
}

/// The index of the peer whose weight slot holds `w` (`w < total_weight`).
pub(super) fn slot_owner(peers: &[Peer], mut w: u64) -> usize {
    let mut index = 0;
    while w >= u64::from(peers[index].weight) {
        w -= u64::from(peers[index].weight);
        index += 1;
    }
    index
}

/// Builds the consistent-hash ring: for each peer, `weight * 160` points
/// `crc32(HOST "\0" PORT PREV)` where PREV is the previous point as 4 little-endian bytes
/// (0 at first); sorted, equal hashes kept once. Returns the points and the distinct
/// `server` strings they refer to.
pub(super) fn build_points(peers: &[Peer]) -> (Vec<Point>, Vec<String>) {
    let mut servers: Vec<String> = Vec::new();
    let mut points = Vec::new();

    for peer in peers {
        // The server string's index (peers of one `server` line share it).
        let server = match servers.iter().position(|s| *s == peer.server) {
            Some(index) => index,
            None => {
                servers.push(peer.server.clone());
                servers.len() - 1
            }
        };

        // crc32 over HOST, a NUL byte and PORT, then each point chains the previous one.
        let (host, port) = split_server(&peer.server);
        let mut base = crc32fast::Hasher::new();
        base.update(host);
        base.update(b"\0");
        base.update(port);
        let mut prev = 0u32;
        for _ in 0..peer.weight * POINTS_PER_WEIGHT {
            let mut crc = base.clone();
            crc.update(&prev.to_le_bytes());
            let hash = crc.finalize();
            points.push(Point { hash, server });
            prev = hash;
        }
    }

    // Sort the ring and keep the first point of equal hashes.
    points.sort_by_key(|p| p.hash);
    points.dedup_by_key(|p| p.hash);
    (points, servers)
}

/// Splits a `server` string as nginx does for the ring: `unix:PATH` is all host; otherwise a
/// trailing `:DIGITS` is the port; anything else is all host.
fn split_server(server: &str) -> (&[u8], &[u8]) {
    let bytes = server.as_bytes();
    if bytes.len() >= 5 && bytes[..5].eq_ignore_ascii_case(b"unix:") {
        return (&bytes[5..], b"");
    }
    for (j, &c) in bytes.iter().rev().enumerate() {
        if c == b':' {
            let colon = bytes.len() - j - 1;
            return (&bytes[..colon], &bytes[colon + 1..]);
        }
        if !c.is_ascii_digit() {
            break;
        }
    }
    (bytes, b"")
}

/// The index of the first point whose hash is `>= hash` (may be `points.len()`, which wraps
/// to the first point when used modulo the ring size).
pub(super) fn find_point(points: &[Point], hash: u32) -> usize {
    points.partition_point(|p| p.hash < hash)
}
