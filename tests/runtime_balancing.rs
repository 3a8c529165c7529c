//! Peer choice sequences through the real binary: smooth weighted round robin, backup peers
//! after a failure, and `hash` over several client addresses; compared with nginx when
//! installed.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::net::Ipv4Addr;

fn vars() -> HashMap<&'static str, String> {
    let mut vars = HashMap::new();
    for key in
        ["A", "B", "C", "WEIGHTED", "BACKUP", "HASHED", "REFUSED", "REFUSED2", "DEAD", "TRIES"]
    {
        vars.insert(key, free_port().to_string());
    }
    vars
}

fn sequence(port: u16, n: usize) -> String {
    (0..n).map(|_| String::from_utf8(read_all(port)).unwrap()).collect()
}

/// The answers for twelve client addresses, 127.0.0.2 ..= 127.0.0.13 (one hash key each),
/// then the first four again.
fn keyed(port: u16) -> String {
    (2..=13)
        .chain(2..=5)
        .map(|i| String::from_utf8(read_all_from(Ipv4Addr::new(127, 0, 0, i), port)).unwrap())
        .collect()
}

#[test]
fn peer_sequences_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let vars = vars();
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("balance.conf", &vars));
        let weighted = sequence(port("WEIGHTED"), 14);
        let backup = sequence(port("BACKUP"), 3);
        let hashed = keyed(port("HASHED"));

        // A single down peer: no live upstreams. Two tries over three peers whose first two
        // refuse: the third is never reached.
        let dead = sequence(port("DEAD"), 1);
        let tries = sequence(port("TRIES"), 1);
        assert_eq!((dead.as_str(), tries.as_str()), ("", ""), "{flavor:?}");
        let mut server = server;
        server.quit();
        let mut log = server.error_log();
        for key in ["A", "REFUSED", "REFUSED2", "DEAD", "TRIES"] {
            log = log.replace(&format!(":{}", vars[key]), &format!(":{key}"));
        }
        let mut errors: Vec<String> = session_lines(&log)
            .into_iter()
            .filter(|l| l.contains("live upstreams") || l.contains("server: 127.0.0.1:TRIES"))
            .collect();
        errors.sort();
        runs.push((flavor, weighted, backup, hashed, errors));
    }

    // nginx's smooth weighted round robin for weights 5, 1, 1.
    assert_eq!(runs[0].1, "aabacaaaabacaa");
    // The primary peer is refused: each session falls back to the backup.
    assert_eq!(runs[0].2, "ccc");
    // nginx 1.22's choices for `hash $remote_addr` over three equal peers: one client
    // address always hashes to one peer, twelve addresses spread over all three.
    assert_eq!(runs[0].3, "bccbcbacababbccb");
    assert_eq!(
        runs[0].4[0],
        "[error] PID: *N connect() failed (111: Connection refused) while connecting to \
         upstream, client: 127.0.0.1, server: 127.0.0.1:TRIES, upstream: \"127.0.0.1:REFUSED\", \
         bytes from/to client:0/0, bytes from/to upstream:0/0"
    );
    assert!(
        runs[0].4.iter().any(|l| l.starts_with(
            "[error] PID: *N no live upstreams while connecting to upstream, client: 127.0.0.1, \
         server: 127.0.0.1:DEAD, upstream: \"dead\""
        )),
        "{:#?}",
        runs[0].4
    );
    for run in &runs[1..] {
        assert_eq!(run.4, runs[0].4, "{:?} error lines", run.0);
        assert_eq!(run.1, runs[0].1, "{:?} weighted", run.0);
        assert_eq!(run.2, runs[0].2, "{:?} backup", run.0);
        assert_eq!(run.3, runs[0].3, "{:?} hash", run.0);
    }
}
