//! Bytes on the wire through `proxy_pass` and `return`, connect failures with next upstream,
//! and the error/access log lines they produce; each case also runs on nginx when installed.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;

struct Ports {
    vars: HashMap<&'static str, String>,
}

impl Ports {
    fn new(echo: u16) -> Ports {
        let mut vars = HashMap::new();
        for key in ["RETURN", "PROXY", "DEAD", "NEXT", "REFUSED"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("ECHO", echo.to_string());
        Ports { vars }
    }

    fn port(&self, key: &str) -> u16 {
        self.vars[key].parse().unwrap()
    }
}

#[test]
fn return_and_proxy_bytes_match_nginx() {
    let echo = echo_upstream();
    let mut results = Vec::new();
    for flavor in flavors() {
        let ports = Ports::new(echo);
        let server = Instance::start(flavor, &config("proxy.conf", &ports.vars));

        // `return` evaluates its variables.
        let ret = exchange(ports.port("RETURN"), b"");
        let expected = format!("hello 127.0.0.1 {} TCP\n", ports.port("RETURN"));
        assert_eq!(String::from_utf8_lossy(&ret), expected, "{flavor:?}");

        // 1 MiB of patterned bytes go through and come back unchanged.
        let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
        let back = roundtrip(ports.port("PROXY"), &payload);
        assert!(back == payload, "{flavor:?}: {} bytes back of {}", back.len(), payload.len());

        // A refused upstream closes the client without a byte.
        assert_eq!(exchange(ports.port("DEAD"), b"x"), b"", "{flavor:?}");

        // next upstream: the refused peer first, then the echo peer.
        assert_eq!(roundtrip(ports.port("NEXT"), b"ping"), b"ping", "{flavor:?}");

        drop(server);
        results.push((flavor, ports));
    }
}

#[test]
fn error_and_access_log_lines_match_nginx() {
    let echo = echo_upstream();
    let mut logs = Vec::new();
    for flavor in flavors() {
        let ports = Ports::new(echo);
        let mut server = Instance::start(flavor, &config("proxy.conf", &ports.vars));
        exchange(ports.port("DEAD"), b"");
        roundtrip(ports.port("NEXT"), b"abc");
        exchange(ports.port("RETURN"), b"");
        server.quit();
        let errors = server.error_log();
        let access = server.read("access.log");

        // The lines, with this run's ports named.
        let name = |text: &str| {
            let mut text = text.to_string();
            for (key, value) in &ports.vars {
                text = text.replace(&format!(":{value}"), &format!(":{key}"));
                text = text.replace(&format!(" {value} "), &format!(" {key} "));
            }
            text
        };
        let mut errors: Vec<String> = session_lines(&name(&errors));
        errors.sort();
        // Sessions end in any order: compare the access lines sorted.
        let mut access: Vec<String> = name(&access).lines().map(str::to_string).collect();
        access.sort();
        logs.push((flavor, errors, access));
    }

    let (_, errors, access) = &logs[0];
    let refused = String::from(
        "[error] PID: *N connect() failed (111: Connection refused) while connecting to \
         upstream, client: 127.0.0.1, server: 127.0.0.1:DEAD, upstream: \"127.0.0.1:REFUSED\", \
         bytes from/to client:0/0, bytes from/to upstream:0/0",
    );
    assert!(errors.contains(&refused), "{errors:#?}");
    assert!(
        errors.iter().any(|l| l.ends_with(
            "client disconnected, bytes from/to client:3/3, bytes from/to upstream:3/3"
        )),
        "{errors:#?}"
    );
    assert_eq!(
        access,
        &vec![
            "127.0.0.1 200 - 26 0 TCP RETURN \"-\" \"-\"".to_string(),
            "127.0.0.1 200 127.0.0.1:REFUSED, 127.0.0.1:ECHO 3 3 TCP NEXT \"0, 3\" \"0, 3\""
                .to_string(),
            "127.0.0.1 502 127.0.0.1:REFUSED 0 0 TCP DEAD \"0\" \"0\"".to_string(),
        ]
    );
    for (flavor, other_errors, other_access) in &logs[1..] {
        assert_eq!(other_access, access, "{flavor:?} access log differs");
        assert_eq!(other_errors, errors, "{flavor:?} error log differs");
    }
}

#[test]
fn time_and_connection_variables_have_nginx_formats() {
    let echo = echo_upstream();
    // The shape of each line: nginx's formats for times, dates, addresses.
    let line = regex::Regex::new(concat!(
        r"^(\d+\.\d{3}|-)\|(\d+\.\d{3}|-)\|(\d+\.\d{3}|-)\|(\d+\.\d{3}|-)\|\d{10}\.\d{3}\|",
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\|",
        r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\|\d+\|\d+\|",
        r"\\x7F\\x00\\x00\\x01\|\d+\|127\.0\.0\.1\|\d{3}$",
    ))
    .unwrap();
    let digits = regex::Regex::new(r"\d+\.\d{3}").unwrap();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let ports = Ports::new(echo);
        let mut server = Instance::start(flavor, &config("proxy.conf", &ports.vars));
        roundtrip(ports.port("PROXY"), b"timing");
        exchange(ports.port("DEAD"), b"");
        exchange(ports.port("RETURN"), b"");
        server.quit();

        // Every line has the shape of nginx's formats.
        let text = server.read("times.log");
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        assert_eq!(lines.len(), 3, "{flavor:?}: {lines:#?}");
        for l in &lines {
            assert!(line.is_match(l), "{flavor:?}: {l}");
        }

        // Which fields are `-` and the statuses, for the comparison with nginx.
        lines = lines
            .iter()
            .map(|l| {
                let fields: Vec<&str> = l.split('|').collect();
                let times = fields[..4].join("|");
                format!("{}|{}", digits.replace_all(&times, "T"), fields[12])
            })
            .collect();
        lines.sort();
        runs.push((flavor, lines));
    }
    assert_eq!(runs[0].1, vec!["T|-|-|-|200", "T|-|-|T|502", "T|T|T|T|200"]);
    for run in &runs[1..] {
        assert_eq!(run.1, runs[0].1, "{:?}", run.0);
    }
}
