//! `resolver`: names from a variable `proxy_pass` resolved through a DNS server this test runs
//! on loopback (its address also written as nginx's lenient `127..0.1`); a missing name and a
//! missing resolver give nginx's lines and statuses.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::net::UdpSocket;

/// A DNS server answering `backend.test` A with 127.0.0.1, no AAAA, NXDOMAIN otherwise.
fn dns_server() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let query = &buf[..n];
            if n < 17 {
                continue;
            }
            // The question: labels from offset 12, then type and class.
            let mut at = 12;
            let mut labels = Vec::new();
            while at < n && query[at] != 0 {
                let len = query[at] as usize;
                labels.push(String::from_utf8_lossy(&query[at + 1..at + 1 + len]).into_owned());
                at += 1 + len;
            }
            let question_end = at + 5;
            let qtype = u16::from_be_bytes([query[at + 1], query[at + 2]]);
            let name = labels.join(".").to_ascii_lowercase();
            let mut answer = query[..question_end].to_vec();
            answer[2] = 0x81;
            answer[3] = 0x80;
            answer[6..12].copy_from_slice(&[0, 0, 0, 0, 0, 0]);
            if name != "backend.test" {
                answer[3] |= 3;
            } else if qtype == 1 {
                answer[7] = 1;
                answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1]);
            }
            let _ = socket.send_to(&answer, from);
        }
    });
    port
}

#[test]
fn names_resolve_through_the_configured_resolver_like_nginx() {
    let dns = dns_server();
    let echo = echo_upstream();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["GOOD", "BAD", "NONE", "LENIENT"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("DNS", dns.to_string());
        vars.insert("ECHO", echo.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("resolver.conf", &vars));
        assert_eq!(roundtrip(port("GOOD"), b"resolved"), b"resolved", "{flavor:?}");
        assert_eq!(roundtrip(port("LENIENT"), b"lenient"), b"lenient", "{flavor:?}");
        assert_eq!(read_all(port("BAD")), b"", "{flavor:?}");
        assert_eq!(read_all(port("NONE")), b"", "{flavor:?}");
        server.quit();
        let name = |text: String| {
            let mut text = text;
            for (key, value) in &vars {
                text = text.replace(&format!(":{value}"), &format!(":{key}"));
            }
            text
        };
        let mut errors: Vec<String> = session_lines(&name(server.error_log()))
            .into_iter()
            .filter(|l| l.contains("[error]"))
            .collect();
        errors.sort();
        let mut access: Vec<String> =
            name(server.read("access.log")).lines().map(String::from).collect();
        access.sort();
        runs.push((flavor, errors, access));
    }
    let (_, errors, access) = &runs[0];
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let has = |text: &str| errors.iter().any(|l| l.contains(text));
    assert!(has("nowhere.test could not be resolved (3: Host not found)"), "{errors:#?}");
    assert!(has("no resolver defined to resolve nowhere.test"), "{errors:#?}");
    let resolved = access.iter().filter(|l| *l == "200 127.0.0.1:ECHO").count();
    assert_eq!(resolved, 2, "{access:#?}");
    for run in &runs[1..] {
        assert_eq!(&run.1, errors, "{:?} error lines", run.0);
        assert_eq!(&run.2, access, "{:?} access lines", run.0);
    }
}
