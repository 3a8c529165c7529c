//! proxy_next_upstream_tries and proxy_next_upstream_timeout over refused peers and a peer
//! whose connects time out (replies, error lines and `$upstream_addr` compared with nginx),
//! and proxy_download_rate / proxy_upload_rate (bytes complete, no sooner than the rate).

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Placeholders of next_upstream.conf given free ports (R1..R3 are never bound: refused).
const PORTS: [&str; 11] =
    ["B", "R1", "R2", "R3", "TRIES2", "TRIES0", "OFF", "SHORT", "LONG", "DOWNLOAD", "UPLOAD"];

/// Ports for next_upstream.conf: the upstreams the test serves, then free ports; `hole` is
/// the peer whose connects time out.
fn ports(hole: u16, payload: &[u8]) -> HashMap<&'static str, String> {
    let send = sending_upstream(payload.to_vec());
    let echo = echo_upstream();
    let mut vars: HashMap<&'static str, String> =
        PORTS.iter().map(|&k| (k, free_port().to_string())).collect();
    vars.insert("HOLE", hole.to_string());
    vars.insert("SEND", send.to_string());
    vars.insert("ECHO", echo.to_string());
    vars
}

/// `text` with every port of `vars` named by its placeholder.
fn named(text: &str, vars: &HashMap<&str, String>) -> String {
    let mut text = text.to_string();
    for (key, value) in vars {
        text = text.replace(&format!(":{value}"), &format!(":{key}"));
        text = text.replace(&format!("{value} "), &format!("{key} "));
    }
    text
}

/// 20 KiB that are not all alike.
fn payload() -> Vec<u8> {
    (0..20 * 1024).map(|i| (i % 251) as u8).collect()
}

#[test]
fn next_upstream_tries_and_timeout_match_nginx() {
    let hole = blackhole_upstream();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let vars = ports(hole, b"");
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("next_upstream.conf", &vars));
        let keys = ["TRIES2", "TRIES0", "OFF", "SHORT", "LONG"];
        let replies: Vec<String> =
            keys.iter().map(|&k| String::from_utf8(read_all(port(k))).unwrap()).collect();
        server.quit();
        let errors = session_lines(&named(&server.error_log(), &vars));
        let access: Vec<String> = named(&server.read("access.log"), &vars)
            .lines()
            .filter(|l| !l.starts_with("B "))
            .map(String::from)
            .collect();
        runs.push((flavor, replies, errors, access));
    }

    let (_, replies, errors, access) = &runs[0];
    assert_eq!(replies, &["", "b", "", "", "b"]);
    assert_eq!(
        access,
        &[
            "TRIES2 502 127.0.0.1:R1, 127.0.0.1:R2",
            "TRIES0 200 127.0.0.1:R1, 127.0.0.1:R2, 127.0.0.1:R3, 127.0.0.1:B",
            "OFF 502 127.0.0.1:R1",
            "SHORT 502 127.0.0.1:HOLE",
            "LONG 200 127.0.0.1:HOLE, 127.0.0.1:R1, 127.0.0.1:B",
        ]
    );
    let timed_out: Vec<&String> = errors.iter().filter(|l| l.contains("timed out")).collect();
    assert_eq!(timed_out.len(), 2, "{errors:#?}");
    assert!(
        timed_out[0].starts_with(
            "[error] PID: *N upstream timed out (110: Connection timed out) while connecting to \
             upstream, client: 127.0.0.1, server: 127.0.0.1:SHORT, upstream: \
             \"127.0.0.1:HOLE\""
        ),
        "{errors:#?}"
    );
    let refused = errors.iter().filter(|l| l.contains("(111: Connection refused)")).count();
    assert_eq!(refused, 2 + 3 + 1 + 1, "{errors:#?}");
    for run in &runs[1..] {
        assert_eq!(run.1, *replies, "{:?} replies", run.0);
        assert_eq!(run.2, *errors, "{:?} error lines", run.0);
        assert_eq!(run.3, *access, "{:?} access log", run.0);
    }
}

#[test]
fn rate_limits_deliver_every_byte_no_sooner_than_the_rate() {
    let payload = payload();
    let hole = blackhole_upstream();
    for flavor in flavors() {
        let vars = ports(hole, &payload);
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("next_upstream.conf", &vars));

        // 20 KiB at 10 KiB/s: the first 10 KiB may pass at once, the rest needs 1 s.
        let started = Instant::now();
        let downloaded = read_exactly(port("DOWNLOAD"), payload.len());
        let took = started.elapsed();
        assert!(downloaded == payload, "{flavor:?}: {} bytes differ", downloaded.len());
        assert!(took >= Duration::from_millis(900), "{flavor:?}: download took {took:?}");

        let started = Instant::now();
        let echoed = roundtrip(port("UPLOAD"), &payload);
        let took = started.elapsed();
        assert!(echoed == payload, "{flavor:?}: {} bytes differ", echoed.len());
        assert!(took >= Duration::from_millis(900), "{flavor:?}: upload took {took:?}");
        server.quit();
    }
}
