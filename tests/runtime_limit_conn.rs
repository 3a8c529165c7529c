//! `limit_conn_zone`, `limit_conn`, `limit_conn_dry_run`, `limit_conn_log_level` and
//! `$limit_conn_status` through the real binary, compared with nginx.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::Read;
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

/// Connects and leaves the connection open (the upstream is silent).
fn hold(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // Let the session pass the preaccess phase before the next one arrives.
    thread::sleep(Duration::from_millis(300));
    stream
}

/// Whether the server closed the connection at once (read returns end of stream).
fn refused(port: u16) -> bool {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
    let mut buf = [0u8; 16];
    matches!(stream.read(&mut buf), Ok(0))
}

#[test]
fn limits_statuses_and_log_lines_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["LIMIT", "DRY", "EMPTY", "SETKEY"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("SILENT", silent_upstream().to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("limit_conn.conf", &vars));

        // limit_conn one 1: a second session from the same address is refused until the
        // first ends.
        let first = hold(port("LIMIT"));
        let mut outcomes = vec![refused(port("LIMIT"))];
        drop(first);
        thread::sleep(Duration::from_millis(300));
        let again = hold(port("LIMIT"));
        outcomes.push(refused(port("LIMIT")));
        drop(again);

        // Dry run: the second session goes on.
        let first = hold(port("DRY"));
        outcomes.push(refused(port("DRY")));
        drop(first);

        // A key set to "" is not counted; one set to "k" is.
        outcomes.push(String::from_utf8(read_all(port("EMPTY"))).unwrap() == "[]\n");
        let first = hold(port("SETKEY"));
        outcomes.push(refused(port("SETKEY")));
        drop(first);
        thread::sleep(Duration::from_millis(300));

        let lines: Vec<String> = session_lines(&server.error_log())
            .into_iter()
            .filter(|l| l.contains("limiting"))
            .collect();
        let mut access: Vec<String> = server
            .read("access.log")
            .lines()
            .map(|l| {
                let name = vars.iter().find(|(_, v)| l.starts_with(v.as_str())).unwrap().0;
                l.replacen(&vars[name], name, 1)
            })
            .collect();
        access.sort();
        drop(server);
        runs.push((flavor, outcomes, lines, access));
    }
    let (_, outcomes, lines, access) = &runs[0];
    assert_eq!(outcomes, &[true, true, false, true, true]);
    assert_eq!(
        lines,
        &[
            "[error] PID: *N limiting connections by zone \"one\" while initializing session, \
             client: 127.0.0.1, server: 127.0.0.1:EPH",
            "[error] PID: *N limiting connections by zone \"one\" while initializing session, \
             client: 127.0.0.1, server: 127.0.0.1:EPH",
            "[warn] PID: *N limiting connections, dry run, by zone \"two\" while initializing \
             session, client: 127.0.0.1, server: 127.0.0.1:EPH",
            "[error] PID: *N limiting connections by zone \"bykey\" while initializing session, \
             client: 127.0.0.1, server: 127.0.0.1:EPH",
        ]
    );
    assert_eq!(
        access,
        &[
            "DRY 200 PASSED",
            "DRY 200 REJECTED_DRY_RUN",
            "EMPTY 200 -",
            "LIMIT 200 PASSED",
            "LIMIT 200 PASSED",
            "LIMIT 503 REJECTED",
            "LIMIT 503 REJECTED",
            "SETKEY 200 PASSED",
            "SETKEY 503 REJECTED",
        ]
    );
    for (flavor, other_outcomes, other_lines, other_access) in &runs[1..] {
        assert_eq!(other_outcomes, outcomes, "{flavor:?}");
        assert_eq!(other_lines, lines, "{flavor:?}");
        assert_eq!(other_access, access, "{flavor:?}");
    }
}
