//! Listen forms (wildcard sharing, unix sockets, port ranges, addresses without a port),
//! addresses as nginx reads and prints them, upstream rates, and listen faults, compared with
//! nginx when installed.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[test]
fn wildcard_unix_and_rate_limits_match_nginx() {
    let echo = echo_upstream();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["WILD", "TOUNIX", "SLOW", "SIX", "TOSIX"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("ECHO", echo.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("listen.conf", &vars));

        // The specific address wins over the wildcard that carries it; 127.0.0.2 is not it.
        let specific = String::from_utf8(read_all(port("WILD"))).unwrap();
        let stream = std::net::TcpStream::connect(("127.0.0.2", port("WILD"))).unwrap();
        drop(stream);
        let unix = String::from_utf8(read_all(port("TOUNIX"))).unwrap();
        // Anyone may connect to a unix listener: nginx makes the socket file 0666.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.path().join("s.sock")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o666, "{flavor:?}");

        // [::1]: an IPv6 listener reached through an IPv6 upstream address.
        let six = String::from_utf8(read_all(port("TOSIX"))).unwrap();
        assert_eq!(six, format!("six ::1 ::1 {}", port("SIX")), "{flavor:?}");

        // proxy_upload_rate 16k: 48 KiB need about two seconds after the first one.
        let payload = vec![b'r'; 48 * 1024];
        let started = Instant::now();
        assert_eq!(roundtrip(port("SLOW"), &payload).len(), payload.len(), "{flavor:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(1500), "{flavor:?}: {took:?}");
        assert!(took < Duration::from_secs(5), "{flavor:?}: {took:?}");

        server.quit();
        let wild = vars["WILD"].clone();
        let lines: Vec<String> = server
            .error_log()
            .lines()
            .filter(|l| l.contains("connected to") && l.contains(&format!(":{wild}")))
            .map(|l| normalize(l).replace(&wild, "WILD"))
            .collect();
        runs.push((flavor, specific, unix, lines));
    }
    assert_eq!(runs[0].1, "specific 127.0.0.1");
    assert_eq!(runs[0].2, "unix unix:");
    assert!(runs[0].3.iter().any(|l| l.ends_with("connected to 0.0.0.0:WILD")), "{:?}", runs[0].3);
    for run in &runs[1..] {
        assert_eq!(run.1, runs[0].1, "{:?}", run.0);
        assert_eq!(run.2, runs[0].2, "{:?}", run.0);
        assert_eq!(run.3, runs[0].3, "{:?}", run.0);
    }
}

#[test]
fn listen_faults_name_the_line() {
    let cases = [
        (
            "listen 127.0.0.1:%%P%%; listen 127.0.0.1:%%P%%;",
            "duplicate \"127.0.0.1:P\" address and port pair",
        ),
        (
            "listen 127.0.0.1:%%P%% udp;",
            "the \"udp\" parameter of the \"listen\" directive is not supported by strait yet",
        ),
    ];
    for (listen, message) in cases {
        let port = free_port().to_string();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nevents {{}}\nstream {{\n    \
             server {{ {} return x; }}\n}}\n",
            listen.replace("%%P%%", &port)
        );
        let server = Instance::prepare(Flavor::Strait, &conf);
        let output = server.command().output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr).replace(&port, "P");
        let expected = format!(
            "nginx: [emerg] {message} in {}:5\n",
            server.path().join("nginx.conf").display()
        );
        assert_eq!(stderr, expected);
    }
}

/// The TCP addresses process `pid` listens on: its socket inodes found in /proc/net/tcp and
/// /proc/net/tcp6 in the listen state.
fn listening(pid: i32) -> Vec<std::net::SocketAddr> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_str()?;
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields[3] != "0A" || !inodes.iter().any(|inode| inode == fields[9]) {
                continue;
            }
            // The address as the kernel's 32-bit words in hex, each in host byte order.
            let (addr, port) = fields[1].split_once(':').unwrap();
            let mut octets = Vec::new();
            for word in addr.as_bytes().chunks(8) {
                let word = u32::from_str_radix(std::str::from_utf8(word).unwrap(), 16).unwrap();
                octets.extend_from_slice(&word.to_ne_bytes());
            }
            let ip: std::net::IpAddr = match octets.len() {
                4 => <[u8; 4]>::try_from(octets).unwrap().into(),
                _ => <[u8; 16]>::try_from(octets).unwrap().into(),
            };
            out.push((ip, u16::from_str_radix(port, 16).unwrap()).into());
        }
    }
    out
}

/// Connects to `addr` and reads until the server closes, sending nothing.
fn read_from(addr: std::net::SocketAddr) -> String {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

/// The addresses `strait -t` and nginx accept, served alike: a listen port range opens a
/// socket per port, `127..0.1` is 127.0.0.1, a listen address without a port gets one from
/// the kernel (and `$server_port` is empty, as the listen address says 0), `UNIX:` names a
/// unix socket, and peers are named as nginx names them (`[::0.0.1.2]:P`, not `[::102]:P`).
#[test]
fn addresses_nginx_accepts_serve_alike() {
    let six_client = regex::Regex::new(r"client \[::1\]:\d+").unwrap();
    let echo = echo_upstream();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        let range = free_ports(3);
        vars.insert("RANGE", range.to_string());
        vars.insert("RANGE_LAST", (range + 2).to_string());
        let keys = ["LENIENT", "TOUNIX", "BLOCK", "DIRECT", "VALUE"];
        for key in keys.into_iter().chain(["COMPAT", "COMPAT_BLOCK", "VALUE6"]) {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("ECHO", echo.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("listen_addresses.conf", &vars));

        // Each port of the range, and the lenient address.
        let mut answers = Vec::new();
        for listen in [range, range + 1, range + 2, port("LENIENT")] {
            answers.push(String::from_utf8(read_all(listen)).unwrap());
        }

        // The listeners without a port: the two sockets on ports nobody chose.
        let chosen: Vec<u16> = vars.values().filter_map(|v| v.parse().ok()).collect();
        let mut picked: Vec<_> = listening(server.pid())
            .into_iter()
            .filter(|addr| {
                !chosen.contains(&addr.port()) && !(range..range + 3).contains(&addr.port())
            })
            .collect();
        picked.sort();
        let picked_ips: Vec<String> = picked.iter().map(|addr| addr.ip().to_string()).collect();
        assert_eq!(picked_ips, ["127.0.0.1", "::1"], "{flavor:?}: {picked:?}");
        for addr in &picked {
            answers.push(read_from(*addr));
        }

        // Proxied: through the unix socket, an upstream block, a literal and a variable.
        answers.push(String::from_utf8(read_all(port("TOUNIX"))).unwrap());
        for key in ["BLOCK", "DIRECT", "VALUE"] {
            answers.push(String::from_utf8(roundtrip(port(key), key.as_bytes())).unwrap());
        }

        // [::0.0.1.2] from each kind of target: the failed proxy_bind names the peer.
        for key in ["COMPAT", "COMPAT_BLOCK", "VALUE6"] {
            assert_eq!(read_all(port(key)), b"", "{flavor:?} {key}");
        }
        server.quit();

        // Logs with the ports and the prefix named.
        let dir = server.path().display().to_string();
        let mut names: Vec<(String, &str)> =
            vars.iter().map(|(key, value)| (format!(":{value}"), *key)).collect();
        names.push((format!(":{}", range + 1), "RANGE_1"));
        for addr in &picked {
            names.push((format!(":{}", addr.port()), "PICKED"));
        }
        let name = |text: &str| {
            let mut text = text.replace(&dir, "DIR");
            for (port, key) in &names {
                text = text.replace(port.as_str(), &format!(":{key}"));
            }
            text
        };
        let mut access: Vec<String> =
            name(&server.read("access.log")).lines().map(String::from).collect();
        access.sort();
        let mut lines: Vec<String> = server
            .error_log()
            .lines()
            .filter(|l| l.contains("connected to") || l.contains("[crit]"))
            .map(|l| normalize(&name(l)))
            .map(|l| six_client.replace(&l, "client [::1]:EPH").into_owned())
            .collect();
        lines.sort();
        let answers: Vec<String> = answers.iter().map(|a| name(a)).collect();
        runs.push((flavor, answers, access, lines));
    }

    // strait as expected, then nginx the same.
    let (_, answers, access, lines) = &runs[0];
    assert_eq!(
        answers,
        &[
            "127.0.0.1:RANGE",
            "127.0.0.1:RANGE_1",
            "127.0.0.1:RANGE_LAST",
            "127.0.0.1:LENIENT",
            "no port: 127.0.0.1:",
            "no port: ::1:",
            "unix",
            "BLOCK",
            "DIRECT",
            "VALUE",
        ]
    );
    for line in [
        "127.0.0.1:TOUNIX UNIX:DIR/u.sock 200",
        "127.0.0.1:VALUE 127.0.0.1:ECHO 200",
        "127.0.0.1: - 200",
        "::1: - 200",
        "127.0.0.1:COMPAT  500",
    ] {
        assert!(access.iter().any(|l| l == line), "{line}: {access:#?}");
    }
    let crit = |key: &str| {
        format!(
            "[crit] PID: *N bind(127.0.0.1) failed (22: Invalid argument) while connecting to \
             upstream, client: 127.0.0.1, server: 127.0.0.1:{key}, upstream: \
             \"[::0.0.1.2]:ECHO\", bytes from/to client:0/0, bytes from/to upstream:0/0"
        )
    };
    for key in ["COMPAT", "COMPAT_BLOCK", "VALUE6"] {
        assert!(lines.contains(&crit(key)), "{key}: {lines:#?}");
    }
    assert!(lines.iter().any(|l| l.ends_with("connected to 127.0.0.1:0")), "{lines:#?}");
    for run in &runs[1..] {
        assert_eq!(&run.1, answers, "{:?} answers", run.0);
        assert_eq!(&run.2, access, "{:?} access lines", run.0);
        assert_eq!(&run.3, lines, "{:?} error lines", run.0);
    }
}

/// A listen address that cannot be bound is named as nginx names it in the fault:
/// `bind() to [::0.0.1.2]:P failed`, where Rust would print `[::102]:P`.
#[test]
fn bind_faults_print_addresses_as_nginx() {
    let mut outputs = Vec::new();
    for flavor in flavors() {
        let port = free_port().to_string();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nevents {{}}\nstream {{\n    \
             server {{ listen [::0.0.1.2]:{port}; return x; }}\n}}\n"
        );
        let server = Instance::prepare(flavor, &conf);
        let output = server.command().output().unwrap();
        assert!(!output.status.success(), "{flavor:?}");
        let stderr = String::from_utf8_lossy(&output.stderr).replace(&port, "P");
        outputs.push((flavor, stderr));
    }
    let expected = "nginx: [emerg] bind() to [::0.0.1.2]:P failed (99: Cannot assign requested \
                    address)\n";
    for (flavor, stderr) in &outputs {
        assert_eq!(stderr, expected, "{flavor:?}");
    }
}
