//! proxy_bind: the address the upstream sees, a value from variables that is no address
//! (logged, then no bind), and a bind the socket refuses (the session fails with 500); the
//! replies, error log lines and access log lines of strait and nginx are compared.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;

#[test]
fn proxy_bind_matches_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let keys = ["REMOTE", "VARIABLE", "INVALID", "EMPTY", "NOTLOCAL", "UNIX"];
        let vars: HashMap<&str, String> =
            keys.iter().map(|&k| (k, free_port().to_string())).collect();
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("proxy_bind.conf", &vars));
        let replies: Vec<String> =
            keys[1..].iter().map(|&k| String::from_utf8(read_all(port(k))).unwrap()).collect();
        server.quit();

        // Ports and the prefix directory differ between runs: name them.
        let mut log = server.error_log();
        let mut access = server.read("access.log");
        for (key, value) in &vars {
            log = log.replace(&format!(":{value}"), &format!(":{key}"));
            access = access.replace(value.as_str(), key);
        }
        let log = session_lines(&log).join("\n");
        let dir = server.path().display().to_string();
        let log: Vec<String> = log
            .replace(&dir, "DIR")
            .lines()
            .filter(|l| !l.contains("[info]"))
            .map(String::from)
            .collect();
        let access: Vec<String> = access.replace(&dir, "DIR").lines().map(String::from).collect();
        runs.push((flavor, replies, log, access));
    }

    let (_, replies, log, access) = &runs[0];
    assert_eq!(replies, &["from 127.0.0.3", "from 127.0.0.1", "from 127.0.0.1", "", ""]);
    let tail = "bytes from/to client:0/0, bytes from/to upstream:0/0";
    assert_eq!(
        log,
        &[
            format!(
                "[error] PID: *N invalid local address \"not-an-address\", client: 127.0.0.1, \
                 server: 127.0.0.1:INVALID, {tail}"
            ),
            format!(
                "[crit] PID: *N bind(192.0.2.1) failed (99: Cannot assign requested address) \
                 while connecting to upstream, client: 127.0.0.1, server: 127.0.0.1:NOTLOCAL, \
                 upstream: \"127.0.0.1:REMOTE\", {tail}"
            ),
            format!(
                "[crit] PID: *N bind(127.0.0.2) failed (22: Invalid argument) while connecting \
                 to upstream, client: 127.0.0.1, server: 127.0.0.1:UNIX, upstream: \
                 \"unix:DIR/remote.sock\", {tail}"
            ),
        ]
    );
    // The failed binds end with 500 and no upstream address; the others connected.
    for line in ["NOTLOCAL 500 ", "UNIX 500 ", "INVALID 200 127.0.0.1:REMOTE"] {
        assert!(access.contains(&line.to_string()), "{line}: {access:#?}");
    }
    for run in &runs[1..] {
        assert_eq!(run.1, *replies, "{:?}", run.0);
        assert_eq!(run.2, *log, "{:?}", run.0);
        let mut theirs = run.3.clone();
        let mut ours = access.clone();
        theirs.sort();
        ours.sort();
        assert_eq!(theirs, ours, "{:?}", run.0);
    }
}
