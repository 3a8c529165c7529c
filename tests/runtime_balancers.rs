//! Balancers through the real binary, compared with nginx: least_conn and random two over
//! sessions held open, random's spread over live peers, hash and hash consistent over forty
//! client addresses, max_conns, max_fails with fail_timeout, backup and down.

mod runtime_support;

use runtime_support::*;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};
use std::thread;
use std::time::Duration;

/// Placeholders of balancers.conf given free ports (the held peers H* are bound by the test).
const PORTS: [&str; 18] = [
    "A",
    "B",
    "C",
    "D",
    "REFUSED",
    "LATE",
    "LEAST",
    "RANDOM",
    "RANDOM2",
    "RANDOM2LC",
    "HASHED",
    "CONSISTENT",
    "LIMITED",
    "FLAKY",
    "SPARE",
    "SPARES",
    "REFUSEDSPARE",
    "NONE",
];

/// Ports for balancers.conf: the held peers `a`..`d` (HA..HD), then free ports for the rest
/// (the held peers bind first, so no port handed out here is taken by them meanwhile).
fn ports() -> (HashMap<&'static str, String>, Vec<HoldingUpstream>) {
    let held: Vec<HoldingUpstream> =
        ["a", "b", "c", "d"].iter().map(|n| HoldingUpstream::start(n)).collect();
    let mut vars: HashMap<&'static str, String> =
        PORTS.iter().map(|&k| (k, free_port().to_string())).collect();
    for (key, peer) in ["HA", "HB", "HC", "HD"].into_iter().zip(&held) {
        vars.insert(key, peer.port.to_string());
    }
    (vars, held)
}

/// One server on balancers.conf with its held peers `a`..`d` (HA..HD).
struct Run {
    server: Instance,
    vars: HashMap<&'static str, String>,
    held: Vec<HoldingUpstream>,
}

impl Run {
    /// Starts `flavor` on ports of its own.
    fn start(flavor: Flavor) -> Run {
        let (vars, held) = ports();
        Run::on(flavor, vars, held)
    }

    /// Starts `flavor` on the ports given (the same for every flavor where peer names are
    /// hashed: `hash ... consistent` places its points by the `server` text).
    fn on(flavor: Flavor, vars: HashMap<&'static str, String>, held: Vec<HoldingUpstream>) -> Run {
        let server = Instance::start(flavor, &config("balancers.conf", &vars));
        Run { server, vars, held }
    }

    fn port(&self, key: &str) -> u16 {
        self.vars[key].parse().unwrap()
    }

    /// `text` with every port of this run named by its placeholder.
    fn named(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (key, value) in &self.vars {
            text = text.replace(&format!(":{value}"), &format!(":{key}"));
            text = text.replace(&format!("{value} "), &format!("{key} "));
        }
        text
    }

    /// Stops the server; its session error lines (notice and above) and its access log,
    /// ports named.
    fn finish(mut self) -> (Vec<String>, Vec<String>) {
        self.server.quit();
        let errors = session_lines(&self.named(&self.server.error_log()));
        // The proxied sessions only: a peer's own line may come before or after its client's.
        let access = self.named(&self.server.read("access.log"));
        let peers = ["A ", "B ", "C ", "D "];
        let access = access.lines().filter(|l| !peers.iter().any(|p| l.starts_with(p)));
        (errors, access.map(String::from).collect())
    }
}

/// One step of a held-session script.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Opens a session and holds it.
    Open,
    /// Closes the session opened by the Nth `Open` and waits until its peer saw it close.
    Close(usize),
}

/// What one `Open` got: the peer's name (empty: the server closed the session) and how many
/// sessions each of the peers `a`..`d` held just before.
type Opened = (String, [usize; 4]);

/// Runs `steps` against `port`, sessions reaching the held peers of `run`.
fn held_script(run: &Run, port: u16, steps: &[Step]) -> Vec<Opened> {
    let mut sessions: Vec<Option<(TcpStream, String)>> = Vec::new();
    let mut counts = [0usize; 4];
    let mut opened = Vec::new();
    for step in steps {
        match *step {
            Step::Open => {
                let (stream, name) = hold(port);
                opened.push((name.clone(), counts));
                if let Some(i) = peer_index(&name) {
                    counts[i] += 1;
                }
                sessions.push(Some((stream, name)));
            }
            Step::Close(n) => {
                let (stream, name) = sessions[n].take().expect("closed twice");
                drop(stream);
                if let Some(i) = peer_index(&name) {
                    counts[i] -= 1;
                    let peer = &run.held[i];
                    let freed = wait_until(Duration::from_secs(5), || peer.active() == counts[i]);
                    assert!(freed, "peer {name} still holds the closed session");
                    // The server frees the peer before it closes the upstream connection.
                    thread::sleep(Duration::from_millis(30));
                }
            }
        }
    }
    opened
}

fn peer_index(name: &str) -> Option<usize> {
    match name {
        "a" => Some(0),
        "b" => Some(1),
        "c" => Some(2),
        "d" => Some(3),
        _ => None,
    }
}

fn names(opened: &[Opened]) -> String {
    opened.iter().map(|(name, _)| if name.is_empty() { "-" } else { name.as_str() }).collect()
}

#[test]
fn least_conn_follows_the_sessions_held_as_nginx() {
    use Step::*;
    let steps = [
        Open,
        Open,
        Open,
        Open,
        Open,
        Open,
        Open,
        Open,
        Close(0),
        Close(1),
        Close(2),
        Open,
        Open,
        Open,
        Open,
        Close(3),
        Close(5),
        Close(9),
        Open,
        Open,
        Open,
        Close(12),
        Close(4),
        Open,
        Open,
    ];
    let weights = [2, 1, 1];
    let mut runs = Vec::new();
    for flavor in flavors() {
        let run = Run::start(flavor);
        let opened = held_script(&run, run.port("LEAST"), &steps);
        drop(run);

        // Each choice has the fewest sessions for its weight (conns / weight, as nginx
        // compares `conns * best.weight < best.conns * weight`).
        for (name, counts) in &opened {
            let p = peer_index(name).unwrap_or_else(|| panic!("{flavor:?}: {opened:?}"));
            for q in 0..3 {
                assert!(
                    counts[p] * weights[q] <= counts[q] * weights[p],
                    "{flavor:?}: {name} chosen with {counts:?}: {opened:?}"
                );
            }
        }
        runs.push((flavor, names(&opened)));
    }
    // nginx 1.22's choices: ties go by smooth weighted round robin; a (weight 2) holds
    // twice the sessions of b or c.
    assert_eq!(runs[0].1, "abcacababcabacaca");
    for run in &runs[1..] {
        assert_eq!(run.1, runs[0].1, "{:?}", run.0);
    }
}

/// The answers of `n` sessions through `port`, counted by peer name.
fn spread(port: u16, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let answer = String::from_utf8(read_all(port)).unwrap();
        *counts.entry(answer).or_insert(0) += 1;
    }
    counts
}

#[test]
fn random_choices_are_live_and_spread_by_weight_as_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let run = Run::start(flavor);

        // random: weights 3, 1, 1 and a down peer over 80 sessions. The bounds are each
        // more than four standard deviations from the mean.
        let counts = spread(run.port("RANDOM"), 80);
        assert_eq!(counts.keys().collect::<Vec<_>>(), ["a", "b", "c"], "{flavor:?}: {counts:?}");
        assert!(counts["a"] >= 30, "{flavor:?}: {counts:?}");
        assert!(counts["b"] >= 4 && counts["c"] >= 4, "{flavor:?}: {counts:?}");

        // random two: three equal peers and a down one over 60 sessions.
        let counts = spread(run.port("RANDOM2"), 60);
        assert_eq!(counts.keys().collect::<Vec<_>>(), ["a", "b", "c"], "{flavor:?}: {counts:?}");
        assert!(counts.values().all(|&n| n >= 5), "{flavor:?}: {counts:?}");

        // random two least_conn over 24 held sessions: of the two peers drawn, the one with
        // fewer sessions is taken, so a peer holding strictly more than both others never is.
        let opened = held_script(&run, run.port("RANDOM2LC"), &[Step::Open; 24]);
        for (name, counts) in &opened {
            let p = peer_index(name).unwrap_or_else(|| panic!("{flavor:?}: {opened:?}"));
            assert!(p < 3, "{flavor:?}: the down peer was chosen: {opened:?}");
            let others = (0..3).filter(|&q| q != p);
            assert!(
                others.clone().any(|q| counts[q] >= counts[p]),
                "{flavor:?}: {name} chosen with {counts:?}: {opened:?}"
            );
        }
        let held = names(&opened);
        runs.push((flavor, held.contains('a') && held.contains('b') && held.contains('c')));
        let (errors, _) = run.finish();
        assert_eq!(errors, Vec::<String>::new(), "{flavor:?}");
    }
    for run in &runs {
        assert!(run.1, "{:?}: a live peer was never chosen", run.0);
    }
}

/// The answers for clients 127.0.0.2 ..= 127.0.0.41 (one key each), then the first ten
/// again.
fn keyed(port: u16) -> String {
    (2..=41)
        .chain(2..=11)
        .map(|i| {
            let answer = read_all_from(Ipv4Addr::new(127, 0, 0, i), port);
            if answer.is_empty() {
                "-".to_string()
            } else {
                String::from_utf8(answer).unwrap()
            }
        })
        .collect()
}

#[test]
fn hash_and_consistent_hash_over_forty_keys_match_nginx() {
    let mut runs = Vec::new();
    let (vars, held) = ports();
    for flavor in flavors() {
        let run = Run::on(flavor, vars.clone(), held.clone());
        let hashed = keyed(run.port("HASHED"));
        let consistent = keyed(run.port("CONSISTENT"));
        let (errors, access) = run.finish();
        runs.push((flavor, hashed, consistent, errors, access));
    }

    // The down peer c is never chosen, the refused one answers nothing, every key keeps its
    // peer, and the keys spread over every live peer.
    let (_, hashed, consistent, errors, access) = &runs[0];
    // nginx 1.22's choices for `hash $remote_addr` (they depend on the keys and weights
    // only; `consistent` places its points by the ports, which differ between test runs).
    assert_eq!(hashed, "dadbddddaddaddbdbdddbdaddadadaadbddddddadadbddddad");
    for answers in [hashed, consistent] {
        assert_eq!(answers.len(), 50);
        assert!(!answers.contains('c') && !answers.contains('-'), "{answers}");
        assert_eq!(answers[..10], answers[40..], "{answers}");
        assert!(["a", "b", "d"].iter().all(|p| answers.contains(p)), "{answers}");
    }
    // The refused peer: one connect() failure per upstream, then the key moves on.
    assert_eq!(errors.len(), 4, "{errors:#?}");
    for line in errors {
        assert!(line.contains("upstream: \"127.0.0.1:REFUSED\""), "{line}");
    }
    assert_eq!(access.iter().filter(|l| l.contains(":REFUSED, 127.0.0.1:")).count(), 2);
    for run in &runs[1..] {
        assert_eq!(run.1, *hashed, "{:?} hash", run.0);
        assert_eq!(run.2, *consistent, "{:?} hash consistent", run.0);
        assert_eq!(run.3, *errors, "{:?} error lines", run.0);
        assert_eq!(run.4, *access, "{:?} access log", run.0);
    }
}

#[test]
fn max_conns_fills_up_to_no_live_upstreams_as_nginx() {
    use Step::*;
    let steps = [Open, Open, Open, Open, Close(1), Open, Close(0), Open, Open];
    let mut runs = Vec::new();
    for flavor in flavors() {
        let run = Run::start(flavor);
        let opened = held_script(&run, run.port("LIMITED"), &steps);
        // No peer ever holds more than its max_conns (a: 1, b: 2).
        for (name, counts) in &opened {
            if let Some(p) = peer_index(name) {
                assert!(counts[p] < [1, 2][p], "{flavor:?}: {name} over max_conns: {opened:?}");
            }
        }
        let (errors, access) = run.finish();
        runs.push((flavor, names(&opened), errors, access));
    }
    let (_, sequence, errors, access) = &runs[0];
    // Full after three sessions; each close makes room for one more.
    assert_eq!(sequence.matches('-').count(), 2, "{sequence}");
    assert_eq!(&sequence[3..4], "-", "{sequence}");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "[error] PID: *N no live upstreams while connecting to upstream, client: \
             127.0.0.1, server: 127.0.0.1:LIMITED, upstream: \"limited\""
        ),
        "{errors:#?}"
    );
    assert_eq!(access.iter().filter(|l| l.ends_with(" 502 limited")).count(), 2, "{access:#?}");
    for run in &runs[1..] {
        assert_eq!(run.1, *sequence, "{:?}", run.0);
        assert_eq!(run.2, *errors, "{:?}", run.0);
        let (mut theirs, mut ours) = (run.3.clone(), access.clone());
        theirs.sort();
        ours.sort();
        assert_eq!(theirs, ours, "{:?}", run.0);
    }
}

#[test]
fn max_fails_disables_a_peer_until_fail_timeout_as_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let run = Run::start(flavor);
        let flaky = run.port("FLAKY");
        let answer = || String::from_utf8(read_all(flaky)).unwrap();

        // LATE refuses: two failures (max_fails=2) disable it; later sessions skip it.
        let mut answers: Vec<String> = (0..4).map(|_| answer()).collect();
        // Listening now, but still within fail_timeout: skipped.
        let late = std::net::TcpListener::bind(("127.0.0.1", run.port("LATE"))).unwrap();
        thread::spawn(move || {
            for mut stream in late.incoming().flatten() {
                let _ = stream.write_all(b"late");
            }
        });
        answers.extend((0..2).map(|_| answer()));
        // fail_timeout=1s in whole seconds, as nginx's clock: tried again after 2 s at most.
        thread::sleep(Duration::from_millis(2200));
        answers.extend((0..4).map(|_| answer()));
        let (errors, _) = run.finish();
        runs.push((flavor, answers, errors));
    }
    let (_, answers, errors) = &runs[0];
    assert_eq!(answers[..6], ["b"; 6], "{answers:?}");
    assert!(answers[6..].contains(&"late".to_string()), "{answers:?}");
    assert_eq!(
        errors.iter().filter(|l| l.contains("connect() failed (111")).count(),
        2,
        "{errors:#?}"
    );
    let disabled: Vec<&String> =
        errors.iter().filter(|l| l.contains("temporarily disabled")).collect();
    assert_eq!(disabled.len(), 1, "{errors:#?}");
    assert!(
        disabled[0].starts_with(
            "[warn] PID: *N upstream server temporarily disabled while connecting to upstream, \
             client: 127.0.0.1, server: 127.0.0.1:FLAKY, upstream: \"127.0.0.1:LATE\""
        ),
        "{errors:#?}"
    );
    for run in &runs[1..] {
        assert_eq!(run.1, *answers, "{:?}", run.0);
        assert_eq!(run.2, *errors, "{:?}", run.0);
    }
}

#[test]
fn backup_and_down_peers_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let run = Run::start(flavor);
        let sequence = |key: &str, n: usize| -> String {
            (0..n)
                .map(|_| {
                    let answer = String::from_utf8(read_all(run.port(key))).unwrap();
                    if answer.is_empty() {
                        "-".to_string()
                    } else {
                        answer
                    }
                })
                .collect()
        };
        let answers = [
            sequence("SPARE", 4),
            sequence("SPARES", 6),
            sequence("REFUSEDSPARE", 4),
            sequence("NONE", 2),
        ];
        let (errors, access) = run.finish();
        runs.push((flavor, answers, errors, access));
    }
    let (_, answers, errors, access) = &runs[0];
    assert_eq!(answers[0], "aaaa");
    assert_eq!(answers[1], "cdccdc");
    // The refused primary fails once and is disabled; the backups by weight.
    assert_eq!(answers[2], "dcdd");
    assert_eq!(answers[3], "--");
    assert_eq!(errors.iter().filter(|l| l.contains("no live upstreams")).count(), 2);
    assert_eq!(errors.iter().filter(|l| l.contains("connect() failed")).count(), 1);
    for run in &runs[1..] {
        assert_eq!(run.1, *answers, "{:?}", run.0);
        assert_eq!(run.2, *errors, "{:?}", run.0);
        assert_eq!(run.3, *access, "{:?}", run.0);
    }
}
