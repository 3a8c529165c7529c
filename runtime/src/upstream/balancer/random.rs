//! `random` and `random two [least_conn]` (nginx's `ngx_stream_upstream_random_module.c`):
//! weighted random peers, up to 20 unusable draws, then round robin.

use super::hash::slot_owner;
use super::round_robin;
use super::{available, lock, Balancer, ListId, PeerHandle, States, Tried};

/// After this many unusable draws the random methods fall back to round robin.
const MAX_ROUNDS: usize = 20;

/// `random`: one weighted random peer.
pub(super) fn get(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    // Too many draws or a lone peer: plain round robin.
    if tried.rounds > MAX_ROUNDS || balancer.primary.len() < 2 || tried.list != ListId::Primary {
        return round_robin::get(balancer, states, tried, now);
    }

    loop {
        // Draw a peer; take it if usable.
        let index = draw(balancer);
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

/// `random two`: draw two distinct usable peers, take the one with fewer connections relative
/// to its weight (the first drawn on ties).
pub(super) fn get_two(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    // Too many draws or a lone peer: plain round robin.
    if tried.rounds > MAX_ROUNDS || balancer.primary.len() < 2 || tried.list != ListId::Primary {
        return round_robin::get(balancer, states, tried, now);
    }

    let mut first: Option<usize> = None;
    loop {
        // Draw a peer; the second usable one decides.
        let index = draw(balancer);
        let usable = first != Some(index)
            && !tried.is_tried(index)
            && available(&balancer.primary[index], &states.primary[index], now);
        if usable {
            if let Some(prev) = first {
                let conns = |i: usize| u64::from(states.primary[i].conns);
                let weight = |i: usize| u64::from(balancer.primary[i].weight);
                let chosen = if conns(index) * weight(prev) > conns(prev) * weight(index) {
                    prev
                } else {
                    index
                };
                return Some(balancer.take(states, tried, chosen, now));
            }
            first = Some(index);
        }

        tried.rounds += 1;
        if tried.rounds > MAX_ROUNDS {
            return round_robin::get(balancer, states, tried, now);
        }
    }
}

/// A weighted random primary peer (`ngx_random() % total_weight`, down peers included).
fn draw(balancer: &Balancer) -> usize {
    let x = lock(&balancer.rng).u64(0..balancer.total_weight());
    slot_owner(&balancer.primary, x)
}
