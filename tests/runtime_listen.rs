//! Listen forms (wildcard sharing, unix sockets), upstream rates, and listen faults, compared
//! with nginx when installed.

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
