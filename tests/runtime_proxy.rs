//! Bytes on the wire through `proxy_pass` and `return`, connect failures with next upstream,
//! and the error/access log lines they produce; each case also runs on nginx when installed.

mod runtime_support;

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

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

/// Sends `request`, reads `n` bytes (within 5 s), then resets the connection.
fn read_then_reset(port: u16, request: &[u8], n: usize) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(request).unwrap();
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).unwrap();
    reset(stream);
}

/// A TLS client (no verification) on `port`.
fn tls_connect(port: u16) -> openssl::ssl::SslStream<TcpStream> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    let mut config = builder.build().configure().unwrap();
    config.set_verify_hostname(false);
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    config.connect("localhost", tcp).unwrap()
}

/// Resets the TCP connection under a TLS stream without a close_notify.
fn tls_reset(stream: openssl::ssl::SslStream<TcpStream>) {
    let tcp = stream.get_ref().try_clone().unwrap();
    drop(stream);
    reset(tcp);
}

#[test]
fn resets_in_flight_are_logged_as_nginx() {
    let silent = silent_upstream();
    let resetter = resetting_upstream();
    let firehose = firehose_upstream();
    let keys = ["BIG", "BIGTLS", "DOWNLOAD", "CLIENTRST", "UPSTREAMRST", "TLSPROXY"];
    let counts = regex::Regex::new(r"client:\d+/\d+, bytes from/to upstream:\d+/\d+").unwrap();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars: HashMap<&str, String> =
            keys.iter().map(|k| (*k, free_port().to_string())).collect();
        vars.insert("SILENT", silent.to_string());
        vars.insert("RESETTER", resetter.to_string());
        vars.insert("FIREHOSE", firehose.to_string());
        vars.insert("CHUNK", "x".repeat(4000));
        vars.insert("TEXT", "$chunk".repeat(600));
        vars.insert("PKI", pki().display().to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("resets.conf", &vars));

        // A large return, plain and TLS, and a download: the client reads a little, resets.
        read_then_reset(port("BIG"), b"", 10);
        let mut tls = tls_connect(port("BIGTLS"));
        let mut buf = [0u8; 10];
        tls.read_exact(&mut buf).unwrap();
        tls_reset(tls);
        read_then_reset(port("DOWNLOAD"), b"0123456789", 10);

        // A client sends 3 bytes to a silent upstream and resets.
        let mut client = TcpStream::connect(("127.0.0.1", port("CLIENTRST"))).unwrap();
        client.write_all(b"abc").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        reset(client);

        // The upstream sends 2 bytes and resets: the client gets them, then the end.
        assert_eq!(read_all(port("UPSTREAMRST")), b"hi", "{flavor:?}");

        // A TLS client sends a byte and resets.
        let mut tls = tls_connect(port("TLSPROXY"));
        tls.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        tls_reset(tls);
        std::thread::sleep(Duration::from_millis(300));
        assert!(server.quit().success(), "{flavor:?}");

        // Error lines with the ports named; the byte counts of the download vary.
        let mut log = server.error_log();
        for (key, value) in &vars {
            log = log.replace(&format!(":{value}"), &format!(":{key}"));
        }
        let mut errors: Vec<String> = session_lines(&log)
            .into_iter()
            .filter(|l| !l.contains(" connected to "))
            .map(|l| {
                if l.contains(":DOWNLOAD") {
                    counts.replace(&l, "client:N/N, bytes from/to upstream:N/N").into_owned()
                } else {
                    l
                }
            })
            .collect();
        errors.sort();

        // Access lines: `$bytes_sent` of the large return and the download is what the
        // socket took before the reset, some but not all.
        let total = 4000 * 600;
        let mut access = Vec::new();
        for line in server.read("access.log").lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let key = keys.iter().find(|k| vars[**k] == fields[0]).expect("a port of the test");
            let sent: usize = fields[2].parse().unwrap();
            let sent = match *key {
                "BIG" | "DOWNLOAD" => {
                    assert!(sent > 0 && sent < total, "{flavor:?} {key}: {sent}");
                    "N".to_string()
                }
                _ => sent.to_string(),
            };
            access.push(format!("{key} {} {sent} {}", fields[1], fields[3]));
        }
        access.sort();
        runs.push((flavor, errors, access));
    }

    let (_, errors, access) = &runs[0];
    // `[level] call failed (104: ...) while ACTION, client: .., server: ..` and the rest.
    let line = |level: &str, call: &str, action: &str, server: &str, rest: &str| {
        format!(
            "[{level}] PID: *N {call} failed (104: Connection reset by peer) while {action}, \
             client: 127.0.0.1, server: 127.0.0.1:{server}{rest}"
        )
    };
    let end = |level: &str, side: &str, counts: &str| {
        format!("[{level}] PID: *N {side} disconnected, bytes from/to client:{counts}")
    };
    let expected = vec![
        line(
            "error",
            "recv()",
            "proxying and reading from upstream",
            "UPSTREAMRST",
            ", upstream: \"127.0.0.1:RESETTER\", bytes from/to client:0/2, \
             bytes from/to upstream:2/0",
        ),
        line("info", "SSL_write()", "returning text", "BIGTLS", ""),
        end("info", "client", "1/0, bytes from/to upstream:0/1"),
        end("info", "client", "3/0, bytes from/to upstream:0/3"),
        line(
            "info",
            "recv()",
            "proxying and reading from client",
            "CLIENTRST",
            ", upstream: \"127.0.0.1:SILENT\", bytes from/to client:3/0, \
             bytes from/to upstream:0/3",
        ),
        end("info", "upstream", "0/2, bytes from/to upstream:2/0"),
        line(
            "info",
            "writev()",
            "proxying and sending to client",
            "DOWNLOAD",
            ", upstream: \"127.0.0.1:FIREHOSE\", bytes from/to client:N/N, \
             bytes from/to upstream:N/N",
        ),
        line("info", "writev()", "returning text", "BIG", ""),
    ];
    assert_eq!(errors, &expected);
    assert_eq!(
        access,
        &vec![
            "BIG 500 N 0".to_string(),
            "BIGTLS 500 0 0".to_string(),
            "CLIENTRST 200 0 3".to_string(),
            "DOWNLOAD 200 N 1".to_string(),
            "TLSPROXY 200 0 1".to_string(),
            "UPSTREAMRST 200 2 0".to_string(),
        ]
    );
    for (flavor, other_errors, other_access) in &runs[1..] {
        assert_eq!(other_errors, errors, "{flavor:?} error log differs");
        assert_eq!(other_access, access, "{flavor:?} access log differs");
    }
}

#[test]
fn variable_targets_and_unix_connect_failures_match_nginx() {
    let keys = ["EMPTY", "NOPORT", "BADPORT", "PATH", "V6", "NOHOST", "MISSING", "DEAD", "FIXED"];
    let mut runs = Vec::new();
    for flavor in flavors() {
        let vars: HashMap<&str, String> =
            keys.iter().map(|k| (*k, free_port().to_string())).collect();
        let mut server = Instance::start(flavor, &config("targets.conf", &vars));

        // A socket file nobody listens on: bound, never listening.
        let dead = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None);
        let dead_path = server.path().join("dead.sock");
        dead.unwrap().bind(&socket2::SockAddr::unix(&dead_path).unwrap()).unwrap();
        for key in keys {
            assert_eq!(read_all(vars[key].parse().unwrap()), b"", "{flavor:?} {key}");
        }
        server.quit();

        // The lines with the ports and the prefix named.
        let name = |text: String| {
            let mut text = text.replace(server.path().to_str().unwrap(), "DIR");
            for (key, value) in &vars {
                text = text.replace(&format!(":{value}"), &format!(":{key}"));
                text = text.replace(&format!("{value} "), &format!("{key} "));
            }
            text
        };
        let mut errors: Vec<String> = session_lines(&name(server.error_log()))
            .into_iter()
            .filter(|l| !l.contains(" connected to "))
            .collect();
        errors.sort();
        let mut access: Vec<String> =
            name(server.read("access.log")).lines().map(String::from).collect();
        access.sort();
        runs.push((flavor, errors, access));
    }

    let (_, errors, access) = &runs[0];
    let fault = |text: &str, server: &str| {
        format!(
            "[error] PID: *N {text}, client: 127.0.0.1, server: 127.0.0.1:{server}, \
             bytes from/to client:0/0, bytes from/to upstream:0/0"
        )
    };
    let unix = |level: &str, socket: &str, errno: &str, server: &str| {
        format!(
            "[{level}] PID: *N connect() to unix:DIR/{socket} failed ({errno}) while connecting \
             to upstream, client: 127.0.0.1, server: 127.0.0.1:{server}, upstream: \
             \"unix:DIR/{socket}\", bytes from/to client:0/0, bytes from/to upstream:0/0"
        )
    };
    let mut expected = vec![
        unix("crit", "missing.sock", "2: No such file or directory", "MISSING"),
        unix("error", "dead.sock", "111: Connection refused", "DEAD"),
        unix("error", "dead.sock", "111: Connection refused", "FIXED"),
        fault("no host in upstream \"\"", "EMPTY"),
        fault("no port in upstream \"127.0.0.1\"", "NOPORT"),
        fault("invalid port in upstream \"127.0.0.1:0\"", "BADPORT"),
        fault("invalid host in upstream \"a/b:80\"", "PATH"),
        fault("invalid IPv6 address in upstream \"[zz]:80\"", "V6"),
        fault("no host in upstream \":80\"", "NOHOST"),
    ];
    expected.sort();
    assert_eq!(errors, &expected);
    let mut expected_access = vec![
        "BADPORT 500 -".to_string(),
        "DEAD 502 unix:DIR/dead.sock".to_string(),
        "EMPTY 500 -".to_string(),
        "FIXED 502 unix:DIR/dead.sock".to_string(),
        "MISSING 502 unix:DIR/missing.sock".to_string(),
        "NOHOST 500 -".to_string(),
        "NOPORT 500 -".to_string(),
        "PATH 500 -".to_string(),
        "V6 500 -".to_string(),
    ];
    expected_access.sort();
    assert_eq!(access, &expected_access);
    for (flavor, other_errors, other_access) in &runs[1..] {
        assert_eq!(other_errors, errors, "{flavor:?} error log differs");
        assert_eq!(other_access, access, "{flavor:?} access log differs");
    }
}

/// A relay that waits `delay` after each accept, then connects to `target` and copies both
/// ways: an upstream whose TCP connect is instant and whose first bytes come late.
fn delayed_relay(target: u16, delay: Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { return };
                let copy = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    })
                };
                let up = copy(client.try_clone().unwrap(), server.try_clone().unwrap());
                let down = copy(server, client);
                let _ = (up.join(), down.join());
            });
        }
    });
    port
}

#[test]
fn upstream_connect_time_covers_the_tls_handshake_as_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars: HashMap<&str, String> =
            ["BACKEND", "GOOD", "BADNAME"].iter().map(|k| (*k, free_port().to_string())).collect();
        let backend: u16 = vars["BACKEND"].parse().unwrap();
        vars.insert("RELAY", delayed_relay(backend, Duration::from_millis(300)).to_string());
        vars.insert("PKI", pki().display().to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("upstream_tls.conf", &vars));
        assert_eq!(read_all(port("GOOD")), b"tls\n", "{flavor:?}");
        assert_eq!(read_all(port("BADNAME")), b"", "{flavor:?}");
        server.quit();

        // The connect time of the relayed session includes the 300 ms before the handshake.
        let mut access = Vec::new();
        for line in server.read("access.log").lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(key) = ["GOOD", "BADNAME"].into_iter().find(|k| vars[*k] == fields[0]) else {
                continue;
            };
            let time = fields[3].trim_matches('"');
            if key == "GOOD" {
                let seconds: f64 = time.parse().unwrap();
                assert!((0.3..3.0).contains(&seconds), "{flavor:?}: {line}");
            }
            let time = if time == "-" { "-" } else { "T" };
            access.push(format!("{key} {} {time}", fields[1]));
        }
        access.sort();

        // `proxy ... connected` comes once the handshake is done, and not for a failed one.
        let log = server.error_log();
        let proxy_lines: Vec<&str> =
            log.lines().filter(|l| l.contains(" proxy 127.0.0.1:")).collect();
        assert_eq!(proxy_lines.len(), 1, "{flavor:?}: {log}");
        let relayed = format!("connected to 127.0.0.1:{}\n", vars["BACKEND"]);
        let backend_accept = log.lines().position(|l| format!("{l}\n").ends_with(&relayed));
        let proxy_line = log.lines().position(|l| l.contains(" proxy 127.0.0.1:"));
        assert!(backend_accept < proxy_line, "{flavor:?}: {log}");
        runs.push((flavor, access));
    }
    assert_eq!(runs[0].1, vec!["BADNAME 502 -".to_string(), "GOOD 200 T".to_string()]);
    for (flavor, access) in &runs[1..] {
        assert_eq!(access, &runs[0].1, "{flavor:?}");
    }
}

/// A ClientHello record (TLS 1.2, one cipher, no extensions).
fn client_hello() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend([7u8; 32]);
    body.extend([0, 0, 2, 0x13, 0x01, 1, 0, 0, 0]);
    let mut message = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    message.extend(body);
    let mut record = vec![0x16, 3, 1, (message.len() >> 8) as u8, message.len() as u8];
    record.extend(message);
    record
}

#[test]
fn preread_bytes_are_not_bytes_received_as_nginx() {
    let echo = echo_upstream();
    let hello = client_hello();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let (ret, proxy, plain) = (free_port(), free_port(), free_port());
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
             events {{}}\nstream {{\n    \
             log_format b '$server_port $status $bytes_received $bytes_sent \
             $upstream_bytes_sent';\n    access_log %%DIR%%/access.log b;\n    \
             ssl_preread on;\n    \
             server {{ listen 127.0.0.1:{ret}; return r; }}\n    \
             server {{ listen 127.0.0.1:{plain}; return p; }}\n    \
             server {{ listen 127.0.0.1:{proxy}; proxy_pass 127.0.0.1:{echo}; }}\n}}\n"
        );
        let mut server = Instance::start(flavor, &conf);

        // A ClientHello, then `return`; bytes that are not TLS, then `return`.
        assert_eq!(exchange(ret, &hello), b"r", "{flavor:?}");
        assert_eq!(exchange(plain, b"hello\n"), b"p", "{flavor:?}");

        // Through the proxy: the ClientHello is forwarded, then 4 more bytes.
        let mut stream = TcpStream::connect(("127.0.0.1", proxy)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(&hello).unwrap();
        let mut back = vec![0u8; hello.len()];
        stream.read_exact(&mut back).unwrap();
        stream.write_all(b"tail").unwrap();
        let mut tail = [0u8; 4];
        stream.read_exact(&mut tail).unwrap();
        drop(stream);
        std::thread::sleep(Duration::from_millis(200));
        server.quit();

        let text = server.read("access.log");
        let mut access: Vec<String> = text
            .replace(&ret.to_string(), "RETURN")
            .replace(&plain.to_string(), "PLAIN")
            .replace(&proxy.to_string(), "PROXY")
            .lines()
            .map(String::from)
            .collect();
        access.sort();
        runs.push((flavor, access));
    }
    let n = hello.len();
    assert_eq!(
        runs[0].1,
        vec![
            "PLAIN 200 0 1 -".to_string(),
            format!("PROXY 200 4 {} {}", n + 4, n + 4),
            "RETURN 200 0 1 -".to_string(),
        ]
    );
    for (flavor, access) in &runs[1..] {
        assert_eq!(access, &runs[0].1, "{flavor:?}");
    }
}

/// The processes whose parent is `pid` (nginx's workers).
fn children(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // pid (comm) state ppid ...: the parent follows the last ')'.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            found.push(child);
        }
    }
    found
}

/// Stops a process until dropped (SIGSTOP, then SIGCONT).
struct Stopped(i32);

impl Stopped {
    fn new(pid: i32) -> Stopped {
        let status = std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status();
        assert!(status.unwrap().success());
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}

#[test]
fn return_with_unread_client_bytes_resets_as_nginx() {
    for flavor in flavors() {
        let port = free_port();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
             events {{}}\nstream {{\n    server {{ listen 127.0.0.1:{port}; return x; }}\n}}\n"
        );
        let server = Instance::start(flavor, &conf);

        // The bytes are queued before the server accepts: its worker is stopped meanwhile.
        let worker = match flavor {
            Flavor::Nginx => children(server.pid())[0],
            Flavor::Strait => server.pid(),
        };
        let mut stream = {
            let _stopped = Stopped::new(worker);
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.write_all(&[b'd'; 40]).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            stream
        };

        // The server closes with the bytes unread: the kernel resets the connection.
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let end = stream.read_to_end(&mut got).map_err(|e| e.kind());
        assert_eq!(end, Err(std::io::ErrorKind::ConnectionReset), "{flavor:?}: {got:?}");
    }
}
