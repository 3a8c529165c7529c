//! Smooth weighted round robin, failure accounting and backup fallback (nginx's
//! `ngx_stream_upstream_round_robin.c`); the other methods fall back to it and share `free`.

use super::{
    available, Balancer, ListId, Outcome, Peer, PeerEvent, PeerHandle, PeerState, States, Tried,
};

/// Round robin `get`: the session's list, then the backup list once the primary one has no
/// peer left; `None` is nginx's `NGX_BUSY` (`no live upstreams`).
pub(super) fn get(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    now: u64,
) -> Option<PeerHandle> {
    loop {
        let list = tried.list;

        // A single peer is used without looking at failures or the tried bitmap.
        if balancer.single(list) {
            let peer = &balancer.primary[0];
            let state = &mut states.primary[0];
            let full = peer.max_conns != 0 && state.conns >= peer.max_conns;
            if !peer.down && !full {
                state.conns += 1;
                return Some(balancer.handle(tried, 0));
            }
        } else {
            let peers = balancer.peers(list);
            let found = smooth(peers, states.list(list), tried, now, |_, _, _| true);
            if let Some(index) = found {
                return Some(balancer.take(states, tried, index, now));
            }
        }

        // Nothing left in the primary list: move to the backup servers, once.
        if list == ListId::Primary && !balancer.backup.is_empty() {
            tried.switch_to_backup();
            continue;
        }
        return None;
    }
}

/// nginx's smooth weighted selection over the peers of one list that are not tried, are
/// available and pass `accept`: every candidate gains its effective weight, the heaviest
/// wins (the first one on ties) and loses the total. Effective weights lowered by failures
/// recover by one per selection round.
pub(super) fn smooth(
    peers: &[Peer],
    states: &mut [PeerState],
    tried: &Tried,
    now: u64,
    accept: impl Fn(usize, &Peer, &PeerState) -> bool,
) -> Option<usize> {
    let mut best: Option<(usize, i64)> = None;
    let mut total = 0i64;

    // Raise every candidate's current weight and remember the heaviest.
    for (index, (peer, state)) in peers.iter().zip(states.iter_mut()).enumerate() {
        if tried.is_tried(index) || !available(peer, state, now) || !accept(index, peer, state) {
            continue;
        }
        state.current_weight += state.effective_weight;
        total += state.effective_weight;
        if state.effective_weight < i64::from(peer.weight) {
            state.effective_weight += 1;
        }
        if best.is_none_or(|(_, weight)| state.current_weight > weight) {
            best = Some((index, state.current_weight));
        }
    }

    // The winner pays the total back.
    let (best, _) = best?;
    states[best].current_weight -= total;
    Some(best)
}

/// Releases a peer (nginx's `free_round_robin_peer`): failure accounting on
/// [`Outcome::Failed`], recovery on success after a new check window, one try less.
pub(super) fn free(
    balancer: &Balancer,
    states: &mut States,
    tried: &mut Tried,
    handle: &PeerHandle,
    outcome: Outcome,
    now: u64,
) -> Option<PeerEvent> {
    let peer = &balancer.peers(handle.list)[handle.index];
    let state = &mut states.list(handle.list)[handle.index];

    // A single peer is never marked failed, and there is nothing to retry.
    if balancer.single(tried.list) {
        state.conns = state.conns.saturating_sub(1);
        tried.tries = 0;
        return None;
    }

    let mut event = None;
    match outcome {
        // A failure counts against max_fails and lowers the peer's effective weight.
        Outcome::Failed => {
            state.fails += 1;
            state.accessed = now;
            state.checked = now;
            if let Some(share) = peer.weight.checked_div(peer.max_fails) {
                state.effective_weight -= i64::from(share);
                if state.fails >= peer.max_fails {
                    event = Some(PeerEvent::TemporarilyDisabled);
                }
            }
            state.effective_weight = state.effective_weight.max(0);
        }
        // A success after a new check window started marks the peer live again.
        Outcome::Succeeded => {
            if state.accessed < state.checked {
                state.fails = 0;
            }
        }
    }

    state.conns = state.conns.saturating_sub(1);
    tried.tries = tried.tries.saturating_sub(1);
    event
}
