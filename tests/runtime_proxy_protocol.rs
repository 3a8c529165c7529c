//! `listen ... proxy_protocol` (v1 and v2 headers, timeouts, broken headers), realip
//! (`set_real_ip_from`) and `proxy_protocol on` through the real binary, compared with nginx.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A v2 PROXY header for TCP over IPv4 with the given addresses, ports and trailing TLVs.
fn v2_inet(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, tlvs: &[u8]) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[0x21, 0x11]);
    out.extend_from_slice(&((12 + tlvs.len()) as u16).to_be_bytes());
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(tlvs);
    out
}

/// Sends `header` in one write and reads the answer until the server closes.
fn send_header(port: u16, header: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(header).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn ports() -> HashMap<&'static str, String> {
    let mut vars = HashMap::new();
    for key in ["VARS", "REALIP", "UNTRUSTED", "PLAIN", "SEND"] {
        vars.insert(key, free_port().to_string());
    }
    vars
}

#[test]
fn headers_variables_realip_and_faults_match_nginx() {
    let ephemeral = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = ports();
        let echo = echo_upstream();
        vars.insert("ECHO", echo.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("proxy_protocol.conf", &vars));
        let mut answers = vec![
            send_header(port("VARS"), b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n"),
            send_header(port("VARS"), b"PROXY TCP6 2001:db8::1 2001:db8::2 1 0\r\n"),
            send_header(port("VARS"), b"PROXY UNKNOWN foo\r\n"),
            send_header(port("VARS"), &v2_inet([192, 0, 2, 9], [10, 0, 0, 1], 4000, 443, &[])),
            send_header(
                port("VARS"),
                &v2_inet([192, 0, 2, 9], [10, 0, 0, 1], 4000, 443, &[1, 0, 2, b'h', b'2']),
            ),
            send_header(port("REALIP"), b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n"),
            // Port 0 prints as empty; a source that is not an address leaves the client.
            send_header(port("REALIP"), b"PROXY TCP4 192.0.2.1 192.0.2.2 0 80\r\n"),
            send_header(port("REALIP"), b"PROXY TCP4 1.2.3 192.0.2.2 9 80\r\n"),
            send_header(port("UNTRUSTED"), b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n"),
            String::from_utf8(read_all(port("PLAIN"))).unwrap(),
            // A broken v1 header, a v2 header with another version, one longer than 107 bytes.
            send_header(port("VARS"), b"GET / HTTP/1.0"),
            send_header(port("VARS"), &{
                let mut h = v2_inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, &[]);
                h[12] = 0x11;
                h
            }),
            send_header(port("VARS"), &v2_inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2, &[4; 100])),
        ];

        // proxy_protocol on: the upstream sees the realip client and the local address,
        // then the client's bytes.
        let mut stream = TcpStream::connect(("127.0.0.1", port("SEND"))).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"PROXY TCP4 192.0.2.7 192.0.2.8 5555 80\r\nhello").unwrap();
        let expected = format!("PROXY TCP4 192.0.2.7 127.0.0.1 5555 {}\r\nhello", port("SEND"));
        let mut got = vec![0u8; expected.len()];
        stream.read_exact(&mut got).unwrap();
        answers.push(String::from_utf8(got).unwrap().replace(&vars["SEND"], "P"));
        drop(stream);

        // A client that sends nothing times out after proxy_protocol_timeout (1s).
        let mut idle = TcpStream::connect(("127.0.0.1", port("VARS"))).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        let _ = idle.read_to_end(&mut rest);
        answers.push(format!("idle: {} bytes", rest.len()));

        assert!(server.wait_log("client timed out"), "{}", server.error_log());
        let lines: Vec<String> = session_lines(&server.error_log())
            .into_iter()
            .filter(|l| !l.contains(" connected to ") && !l.contains("disconnected"))
            .map(|l| l.replace(&vars["VARS"], "V").replace(&vars["SEND"], "P"))
            .collect();
        // The access log: $status 400 for refused headers, 200 for a timeout.
        let access: Vec<String> = server
            .read("access.log")
            .lines()
            .map(|l| ephemeral.replace_all(l, "127.0.0.1:EPH").into_owned())
            .collect();
        drop(server);
        assert_eq!(access.len(), 15, "{access:?}");
        assert_eq!(
            access[10..13],
            ["400 pp=-:- to=-:- remote=127.0.0.1:EPH realip=127.0.0.1 up=-"; 3]
        );
        assert!(access[14].starts_with("200 pp=-:- "), "{access:?}");
        // The upstream got the header (43 bytes) and the client's 5 bytes.
        let sent = access.iter().find(|l| l.contains("pp=192.0.2.7")).expect("the proxied session");
        assert!(sent.ends_with(" up=48"), "{sent}");
        let lines = (lines, access);
        let answers: Vec<String> =
            answers.iter().map(|a| ephemeral.replace(a, "127.0.0.1:EPH").into_owned()).collect();
        runs.push((flavor, answers, lines));
    }
    let (_, answers, (lines, _)) = &runs[0];
    assert_eq!(
        answers[..10],
        [
            "pp=192.0.2.1:1234 to=192.0.2.2:80 remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "pp=2001:db8::1:1 to=2001:db8::2: remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "pp=: to=: remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "pp=192.0.2.9:4000 to=10.0.0.1:443 remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "pp=192.0.2.9:4000 to=10.0.0.1:443 remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "remote=192.0.2.1:1234 realip=127.0.0.1 pp=192.0.2.1\n",
            "remote=192.0.2.1: realip=127.0.0.1 pp=192.0.2.1\n",
            "remote=127.0.0.1:EPH realip=127.0.0.1 pp=1.2.3\n",
            "remote=127.0.0.1 pp=192.0.2.1\n",
            "pp=: remote=127.0.0.1\n",
        ]
    );
    assert_eq!(
        answers[10..],
        ["", "", "", "PROXY TCP4 192.0.2.7 127.0.0.1 5555 P\r\nhello", "idle: 0 bytes"]
    );
    assert_eq!(
        lines[..],
        [
            "[error] PID: *N broken header: \"GET / HTTP/1.0\" while reading PROXY protocol, \
             client: 127.0.0.1, server: 127.0.0.1:EPH",
            "[error] PID: *N unknown PROXY protocol version: 1 while reading PROXY protocol, \
             client: 127.0.0.1, server: 127.0.0.1:EPH",
            "[error] PID: *N header is too large while reading PROXY protocol, client: \
             127.0.0.1, server: 127.0.0.1:EPH",
            "[info] PID: *N client timed out (110: Connection timed out) while reading PROXY \
             protocol, client: 127.0.0.1, server: 127.0.0.1:EPH",
        ]
    );
    for (flavor, other_answers, other_lines) in &runs[1..] {
        assert_eq!(other_answers, answers, "{flavor:?}");
        assert_eq!(other_lines, &runs[0].2, "{flavor:?}");
    }
}

/// A v2 PROXY header for TCP over IPv6.
fn v2_inet6(src: std::net::Ipv6Addr, dst: std::net::Ipv6Addr, sport: u16, dport: u16) -> Vec<u8> {
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[0x21, 0x21, 0, 36]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out
}

/// Addresses in PROXY headers read and printed as nginx does: realip reads the source with
/// `ngx_parse_addr` (`192.0..2` is 192.0.0.2) and prints the client with `ngx_sock_ntop`
/// (`::0.0.1.2`, where Rust prints `::102`), as do v2 variables and the v1 header sent on.
#[test]
fn header_addresses_read_and_print_as_nginx() {
    let ephemeral = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let compat: std::net::Ipv6Addr = "::102".parse().unwrap();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = ports();
        vars.insert("ECHO", echo_upstream().to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let server = Instance::start(flavor, &config("proxy_protocol.conf", &vars));
        let mut answers = vec![
            send_header(port("REALIP"), b"PROXY TCP4 192.0..2 192.0.2.2 9 80\r\n"),
            send_header(port("REALIP"), b"PROXY TCP6 ::102 ::1 9 80\r\n"),
            send_header(port("REALIP"), &v2_inet6(compat, compat, 9, 80)),
            send_header(port("VARS"), &v2_inet6(compat, compat, 9, 80)),
        ];

        // proxy_protocol on: the header sent on names the realip client as nginx prints it.
        let mut stream = TcpStream::connect(("127.0.0.1", port("SEND"))).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"PROXY TCP6 ::102 ::1 5555 80\r\nhello").unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"hello") {
            let mut buf = [0u8; 256];
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "{flavor:?}: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        answers.push(String::from_utf8(got).unwrap().replace(&vars["SEND"], "P"));
        drop(server);
        let answers: Vec<String> =
            answers.iter().map(|a| ephemeral.replace(a, "127.0.0.1:EPH").into_owned()).collect();
        runs.push((flavor, answers));
    }
    let (_, answers) = &runs[0];
    assert_eq!(
        answers[..],
        [
            "remote=192.0.0.2:9 realip=127.0.0.1 pp=192.0..2\n",
            "remote=::0.0.1.2:9 realip=127.0.0.1 pp=::102\n",
            "remote=::0.0.1.2:9 realip=127.0.0.1 pp=::0.0.1.2\n",
            "pp=::0.0.1.2:9 to=::0.0.1.2:80 remote=127.0.0.1 realip=127.0.0.1:EPH\n",
            "PROXY TCP6 ::0.0.1.2 127.0.0.1 5555 P\r\nhello",
        ]
    );
    for (flavor, other) in &runs[1..] {
        assert_eq!(other, answers, "{flavor:?}");
    }
}
