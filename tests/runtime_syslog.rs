//! `syslog:` logs: the datagrams strait and nginx send for the same sessions of
//! testdata/runtime/syslog.conf to a UDP server (and a unix datagram socket) bound here are
//! the same, byte for byte once times, host names, pids and ports are masked; the masked parts
//! are checked for nginx's format. A server nobody listens on makes every other send fail:
//! the lines nginx logs for it are compared too. The main log's own lines (start, signals)
//! differ in content and are only checked for their header.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Every datagram until none came for half a second.
fn drain(receive: impl Fn(&mut [u8]) -> std::io::Result<usize>) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = receive(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// The host name nginx puts in the header: the system's, lowercased.
fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    name.trim().to_ascii_lowercase()
}

/// A datagram with its time, host name and error log stamp, pid and ports masked; panics
/// when the header is not `<PRI>Mmm dd hh:mm:ss [HOSTNAME ]TAG: ` (the day padded with a
/// space), or names another host.
fn masked(datagram: &str, vars: &HashMap<&str, String>) -> String {
    let month = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
    let pattern = format!(r"^<(\d{{1,3}})>{month} ([ 12]\d|3[01]) \d\d:\d\d:\d\d ");
    let header = regex::Regex::new(&pattern).unwrap();
    let found = header.captures(datagram).unwrap_or_else(|| panic!("header: {datagram:?}"));
    assert!(found[1].parse::<u32>().unwrap() < 192, "{datagram:?}");
    let mut rest = datagram[found[0].len()..].to_string();
    let host = format!("{} ", hostname());
    if let Some(after) = rest.strip_prefix(&host) {
        rest = format!("HOST {after}");
    }
    let (tag, message) = rest.split_once(": ").unwrap_or_else(|| panic!("tag: {datagram:?}"));
    assert!(!message.ends_with('\n'), "{datagram:?}");
    let mut message = message.to_string();
    for (key, value) in vars {
        message = message.replace(&format!(":{value}"), &format!(":{key}"));
        message = message.replace(&format!(" {value} "), &format!(" {key} "));
    }
    format!("<{}>TIME {tag}: {}", &found[1], normalize(&message))
}

/// What one server sent and logged.
#[derive(Debug, PartialEq)]
struct Run {
    /// The UDP server's datagrams, masked: session lines and send failures, in order.
    udp: Vec<String>,
    /// The unix socket's datagrams, masked.
    unix: Vec<String>,
    /// fail.log's session lines.
    fail_log: Vec<String>,
    /// The default error log's `send() failed` lines.
    error_log: Vec<String>,
}

#[test]
fn syslog_datagrams_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        // Step: the receivers, and a port with no one behind it (outside the ephemeral
        // range, so no client's socket lands on it).
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let nobody = free_port();
        let unix_dir = tempfile::tempdir().unwrap();
        let unix_path = unix_dir.path().join("syslog.sock");
        let unix = UnixDatagram::bind(&unix_path).unwrap();
        unix.set_read_timeout(Some(Duration::from_millis(500))).unwrap();

        let mut vars = HashMap::new();
        for key in ["RETURN", "PROXY", "FAIL", "REFUSED"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("SYSLOG", udp.local_addr().unwrap().port().to_string());
        vars.insert("NOBODY", nobody.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut conf_vars = vars.clone();
        conf_vars.insert("UNIX", unix_path.display().to_string());

        // Step: the sessions, one at a time.
        let mut server = Instance::start(flavor, &config("syslog.conf", &conf_vars));
        assert_eq!(read_all(port("RETURN")), b"hello", "{flavor:?}");
        assert_eq!(read_all(port("PROXY")), b"", "{flavor:?}");
        for _ in 0..3 {
            assert_eq!(read_all(port("FAIL")), b"fail", "{flavor:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(server.quit().success(), "{flavor:?}");

        // Step: every datagram has nginx's header; the main log's own lines (start, signals)
        // are left out but for the send failures.
        let all: Vec<String> =
            drain(|buf| udp.recv(buf)).iter().map(|d| masked(d, &vars)).collect();
        // nginx 1.22 sends the lines it logs before its workers start without a host name
        // (later nginx sends it, as strait always does).
        if flavor == Flavor::Strait {
            let main: Vec<&String> = all.iter().filter(|line| line.contains("main: ")).collect();
            assert!(main.len() > 4 && main.iter().all(|line| line.contains(" HOST main: ")));
        }
        let udp: Vec<String> = all
            .into_iter()
            .filter(|line| !line.contains(" main: ") || line.contains("send() failed"))
            .collect();
        let unix = drain(|buf| unix.recv(buf)).iter().map(|d| masked(d, &vars)).collect();
        let with_ports = |text: String| {
            let mut text = text;
            for (key, value) in &vars {
                text = text.replace(&format!(":{value}"), &format!(":{key}"));
            }
            text
        };
        let fail_log = session_lines(&with_ports(server.read("fail.log")));
        let error_log = server
            .error_log()
            .lines()
            .filter(|line| line.contains("send() failed"))
            .map(normalize)
            .collect();
        runs.push((flavor, Run { udp, unix, fail_log, error_log }));
    }

    // strait's datagrams and lines, as nginx sends and logs them.
    let (_, run) = &runs[0];
    let udp: Vec<&str> = run.udp.iter().map(String::as_str).collect();
    assert_eq!(
        udp,
        [
            "<158>TIME HOST strm: [info] PID: *N client 127.0.0.1:EPH connected to \
             127.0.0.1:RETURN",
            "<190>TIME HOST nginx: 127.0.0.1 RETURN 200 5",
            "<10>TIME a_B9: 127.0.0.1 RETURN 200 5",
            "<187>TIME Proxy_2: [error] PID: *N connect() failed (111: Connection refused) \
             while connecting to upstream, client: 127.0.0.1, server: 127.0.0.1:PROXY, \
             upstream: \"127.0.0.1:REFUSED\", bytes from/to client:0/0, bytes from/to \
             upstream:0/0",
            "<0>TIME HOST nginx: 127.0.0.1 PROXY 502 0",
            "<187>TIME HOST main: [error] PID: send() failed (111: Connection refused)",
        ],
        "{:#?}",
        run.udp
    );
    assert_eq!(run.unix, ["<190>TIME HOST unix: 127.0.0.1 PROXY 502 0"]);
    let warning = "[warn] PID: *N send() to syslog failed while returning text, client: \
                   127.0.0.1, server: 127.0.0.1:FAIL";
    assert_eq!(run.fail_log.iter().filter(|line| *line == warning).count(), 1, "{run:#?}");
    assert_eq!(run.fail_log.len(), 4, "{run:#?}");
    assert_eq!(run.error_log, ["[error] PID: send() failed (111: Connection refused)"]);
    for (flavor, other) in &runs[1..] {
        assert_eq!(other, run, "{flavor:?}");
    }
}
