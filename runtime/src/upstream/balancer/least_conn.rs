//! `least_conn` (nginx's `ngx_stream_upstream_least_conn_module.c`): the peer with the fewest
//! connections relative to its weight; smooth round robin among equals; then the backups.

use super::round_robin::{self, smooth};
use super::{available, Balancer, ListId, PeerHandle, States, Tried};

/// least_conn `get`; `None` is nginx's `NGX_BUSY` (`no live upstreams`).
pub(super) fn get(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    loop {
        let list = tried.list;

        // A single peer: round robin handles it.
        if balancer.single(list) {
            return round_robin::get(balancer, states, tried, now);
        }
        let peers = balancer.peers(list);
        let list_states = states.list(list);

        // Find the lowest conns/weight ratio (compared as conns_a * weight_b) and whether
        // several peers share it.
        let mut best: Option<usize> = None;
        let mut many = false;
        for (index, (peer, state)) in peers.iter().zip(list_states.iter()).enumerate() {
            if tried.is_tried(index) || !available(peer, state, now) {
                continue;
            }
            let Some(b) = best else {
                best = Some(index);
                continue;
            };
            let mine = u64::from(state.conns) * u64::from(peers[b].weight);
            let theirs = u64::from(list_states[b].conns) * u64::from(peer.weight);
            if mine < theirs {
                best = Some(index);
                many = false;
            } else if mine == theirs {
                many = true;
            }
        }

        if let Some(b) = best {
            // Several peers share the lowest ratio: smooth round robin among them.
            let chosen = if many {
                let (conns, weight) = (u64::from(list_states[b].conns), u64::from(peers[b].weight));
                smooth(peers, list_states, tried, now, |_, peer, state| {
                    u64::from(state.conns) * weight == conns * u64::from(peer.weight)
                })
                .unwrap_or(b)
            } else {
                b
            };
            return Some(balancer.take(states, tried, chosen, now));
        }

        // Nothing left in the primary list: move to the backup servers, once.
        if list == ListId::Primary && !balancer.backup.is_empty() {
            tried.switch_to_backup();
            continue;
        }
        return None;
    }
}
