//! Idle timeouts, half close, and access_log escaping, `if=` and `buffer=`/`flush=`, each
//! compared with nginx when installed.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn idle_timeout_half_close_and_access_log_escapes_match_nginx() {
    let echo = echo_upstream();
    let silent = silent_upstream();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = HashMap::new();
        for key in ["IDLE", "HALF", "ESCAPED", "OFF", "VARPATH", "LOSTPATH"] {
            vars.insert(key, free_port().to_string());
        }
        vars.insert("ECHO", echo.to_string());
        vars.insert("SILENT", silent.to_string());
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("timeouts.conf", &vars));

        // proxy_timeout 1s: a silent upstream ends the session after about a second.
        let started = Instant::now();
        let mut idle = TcpStream::connect(("127.0.0.1", port("IDLE"))).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 16];
        let n = idle.read(&mut buf).unwrap_or(99);
        let waited = started.elapsed();
        assert_eq!(n, 0, "{flavor:?}: the idle session was not closed");
        assert!(waited >= Duration::from_millis(900), "{flavor:?}: closed after {waited:?}");

        // proxy_half_close: the client's EOF is passed on, the answer still arrives.
        assert_eq!(exchange(port("HALF"), b"half-closed"), b"half-closed", "{flavor:?}");
        assert_eq!(read_all(port("ESCAPED")), b"ok", "{flavor:?}");

        // access_log off writes nothing; a path with variables is evaluated per line.
        assert_eq!(read_all(port("OFF")), b"off", "{flavor:?}");
        assert_eq!(read_all(port("VARPATH")), b"v", "{flavor:?}");
        // One whose directory is missing: the session's critical line, the answer unharmed.
        assert_eq!(read_all(port("LOSTPATH")), b"lost", "{flavor:?}");

        // buffer=64k: nothing is written before the flush interval.
        std::thread::sleep(Duration::from_millis(200));
        let buffered_early = server.read("buffered.log");
        assert!(server.quit().success(), "{flavor:?}");
        let by_port = server.read(&format!("var-{}.log", vars["VARPATH"]));
        assert_eq!(by_port, "[varpath] 200\n", "{flavor:?}");

        let timed_out = server
            .error_log()
            .lines()
            .filter(|l| l.contains("timed out") || l.contains("[crit]"))
            .map(|l| {
                let dir = server.path().display().to_string();
                let l = normalize(l).replace(&vars["IDLE"], "IDLE").replace(&dir, "DIR");
                l.replace(&vars["SILENT"], "SILENT").replace(&vars["LOSTPATH"], "LOST")
            })
            .collect::<Vec<_>>();
        let mut escaped: Vec<String> =
            server.read("escaped.log").lines().map(String::from).collect();
        escaped.sort();
        let mut json: Vec<String> = server.read("json.log").lines().map(String::from).collect();
        json.sort();
        let mut buffered: Vec<String> =
            server.read("buffered.log").lines().map(String::from).collect();
        buffered.sort();
        runs.push((flavor, timed_out, escaped, json, buffered_early, buffered));
    }

    let (_, timed_out, escaped, json, buffered_early, buffered) = &runs[0];
    assert_eq!(
        timed_out,
        &vec![
            "[info] PID: *N connection timed out (110: Connection timed out) while proxying \
             connection, client: 127.0.0.1, server: 127.0.0.1:EPH, upstream: \
             \"127.0.0.1:EPH\", bytes from/to client:0/0, bytes from/to upstream:0/0"
                .to_string(),
            "[crit] PID: *N open() \"DIR/missing/LOST.log\" failed (2: No such file or \
             directory) while returning text, client: 127.0.0.1, server: 127.0.0.1:EPH"
                .to_string()
        ]
    );
    assert_eq!(
        escaped,
        &vec![
            "[a\\x22b\\x5Cc\\x09d] 200".to_string(),
            "[half] 200".to_string(),
            "[idle] 200".to_string()
        ]
    );
    assert_eq!(
        json,
        &vec!["{\"name\":\"a\\\"b\\\\c\\td\"}".to_string(), "{\"name\":\"half\"}".to_string()]
    );
    assert_eq!(buffered_early, "");
    assert_eq!(
        buffered,
        &vec!["[a\"b\\c\td] ".to_string(), "[half] ".to_string(), "[idle] ".to_string()]
    );
    for run in &runs[1..] {
        assert_eq!(&run.1, timed_out, "{:?} timeout line", run.0);
        assert_eq!(&run.2, escaped, "{:?} escape=default", run.0);
        assert_eq!(&run.3, json, "{:?} escape=json", run.0);
        assert_eq!(&run.4, buffered_early, "{:?} buffer", run.0);
        assert_eq!(&run.5, buffered, "{:?} escape=none", run.0);
    }
}

/// A listening socket whose accept queue is full: connecting to it hangs.
fn blackhole() -> (u16, socket2::Socket, Vec<TcpStream>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    socket.listen(0).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let fillers =
        (0..4).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok());
    (port, socket, fillers.collect())
}

#[test]
fn connect_timeout_line_matches_nginx() {
    let (hole, _socket, _fillers) = blackhole();
    let mut lines = Vec::new();
    for flavor in flavors() {
        let port = free_port();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
             events {{}}\nstream {{\n    server {{\n        listen 127.0.0.1:{port};\n        \
             proxy_connect_timeout 500ms;\n        proxy_pass 127.0.0.1:{hole};\n    }}\n}}\n"
        );
        let mut server = Instance::start(flavor, &conf);
        let started = Instant::now();
        assert_eq!(read_all(port), b"", "{flavor:?}");
        assert!(started.elapsed() >= Duration::from_millis(400), "{flavor:?}");
        server.quit();
        let log = server
            .error_log()
            .replace(&port.to_string(), "PORT")
            .replace(&hole.to_string(), "HOLE");
        lines.push(
            session_lines(&log).into_iter().filter(|l| l.contains("[error]")).collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        lines[0],
        vec!["[error] PID: *N upstream timed out (110: Connection timed out) while connecting to \
             upstream, client: 127.0.0.1, server: 127.0.0.1:PORT, upstream: \"127.0.0.1:HOLE\", \
             bytes from/to client:0/0, bytes from/to upstream:0/0"
            .to_string()]
    );
    for other in &lines[1..] {
        assert_eq!(other, &lines[0]);
    }
}

#[test]
fn return_to_a_client_that_reads_nothing_times_out_after_5s_as_nginx() {
    // Both servers at once: the case waits out nginx's 5 s send timer of `return`.
    let runs: Vec<_> = flavors()
        .into_iter()
        .map(|flavor| {
            std::thread::spawn(move || {
                let mut vars = HashMap::new();
                for key in ["BIG", "BIGTLS", "DOWNLOAD", "CLIENTRST", "UPSTREAMRST", "TLSPROXY"] {
                    vars.insert(key, free_port().to_string());
                }
                for key in ["SILENT", "RESETTER", "FIREHOSE"] {
                    vars.insert(key, "9".to_string());
                }
                vars.insert("CHUNK", "x".repeat(4000));
                vars.insert("TEXT", "$chunk".repeat(600));
                vars.insert("PKI", pki().display().to_string());
                let port: u16 = vars["BIG"].parse().unwrap();
                let mut server = Instance::start(flavor, &config("resets.conf", &vars));

                // The client connects and never reads: the session ends after about 5 s.
                let started = Instant::now();
                let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                while !server.error_log().contains("connection timed out") {
                    assert!(started.elapsed() < Duration::from_secs(8), "{flavor:?}");
                    std::thread::sleep(Duration::from_millis(50));
                }
                let waited = started.elapsed();
                assert!(waited >= Duration::from_millis(4500), "{flavor:?}: {waited:?}");
                drop(stream);
                server.quit();
                let log = server.error_log().replace(&format!(":{port}"), ":BIG");
                let lines: Vec<String> =
                    session_lines(&log).into_iter().filter(|l| l.contains("timed out")).collect();
                let access = server.read("access.log").replace(&vars["BIG"], "BIG");
                (flavor, lines, access)
            })
        })
        .collect();
    let runs: Vec<_> = runs.into_iter().map(|r| r.join().unwrap()).collect();

    let (_, lines, access) = &runs[0];
    assert_eq!(
        lines,
        &vec!["[info] PID: *N connection timed out (110: Connection timed out) while returning \
             text, client: 127.0.0.1, server: 127.0.0.1:BIG"
            .to_string()]
    );
    let access = regex::Regex::new(r"^BIG 200 \d+ 0\n$").unwrap().is_match(access);
    assert!(access, "{:?}", runs[0].2);
    for run in &runs[1..] {
        assert_eq!(&run.1, lines, "{:?}", run.0);
        assert!(run.2.starts_with("BIG 200 "), "{:?}: {}", run.0, run.2);
    }
}

/// The gzip members of a file: each one's 10-byte header and what it decompresses to.
fn gzip_members(bytes: &[u8]) -> Vec<(Vec<u8>, String)> {
    let mut members = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = rest[..10.min(rest.len())].to_vec();
        let mut decoder = flate2::bufread::GzDecoder::new(rest);
        let mut text = String::new();
        decoder.read_to_string(&mut text).unwrap();
        rest = decoder.into_inner();
        members.push((header, text));
    }
    members
}

#[test]
fn gzip_access_logs_match_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let port = free_port();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
             events {{}}\nstream {{\n    log_format g '$server_port $status';\n    \
             access_log %%DIR%%/default.log.gz g gzip;\n    \
             access_log %%DIR%%/small.log.gz g gzip=9 buffer=64 flush=1s;\n    \
             server {{ listen 127.0.0.1:{port}; return a; }}\n}}\n"
        );
        let mut server = Instance::start(flavor, &conf);

        // 8 lines of 10 bytes: the 7th does not fit in 64, the first 6 go out as one member.
        for _ in 0..8 {
            assert_eq!(read_all(port), b"a", "{flavor:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
        let small_path = server.path().join("small.log.gz");
        let small_early = gzip_members(&std::fs::read(&small_path).unwrap());

        // flush=1s writes the other 2; the 64k buffer of plain `gzip` waits for the exit.
        std::thread::sleep(Duration::from_millis(1300));
        let default_early = server.read("default.log.gz");
        assert!(server.quit().success(), "{flavor:?}");
        let small = gzip_members(&std::fs::read(&small_path).unwrap());
        let default = gzip_members(&std::fs::read(server.path().join("default.log.gz")).unwrap());
        let name = |members: Vec<(Vec<u8>, String)>| {
            members
                .into_iter()
                .map(|(header, text)| (header, text.replace(&port.to_string(), "PORT")))
                .collect::<Vec<_>>()
        };
        runs.push((flavor, name(small_early), default_early, name(small), name(default)));
    }

    let line = "PORT 200\n";
    let (_, small_early, default_early, small, default) = &runs[0];
    // zlib's headers: no name or time, Unix; extra flags 2 for level 9, 4 for level 1.
    let best = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3];
    let fast = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 3];
    assert_eq!(small_early, &vec![(best.clone(), line.repeat(6))]);
    assert_eq!(default_early, "");
    assert_eq!(small, &vec![(best.clone(), line.repeat(6)), (best, line.repeat(2))]);
    assert_eq!(default, &vec![(fast, line.repeat(8))]);
    for run in &runs[1..] {
        assert_eq!(&run.1, small_early, "{:?}", run.0);
        assert_eq!(&run.2, default_early, "{:?}", run.0);
        assert_eq!(&run.3, small, "{:?}", run.0);
        assert_eq!(&run.4, default, "{:?}", run.0);
    }
}

#[test]
fn access_log_buffer_faults_match_nginx() {
    let cases = [
        ("access_log %%DIR%%/a.log g gzip=10;", "invalid compression level \"10\""),
        ("access_log %%DIR%%/a.log g gzip=;", "invalid compression level \"\""),
        ("access_log %%DIR%%/a.log g gzipped;", "invalid parameter \"gzipped\""),
        ("access_log %%DIR%%/a.log g buffer=0;", "invalid buffer size \"0\""),
        (
            "access_log %%DIR%%/$server_port.log g gzip;",
            "buffered logs cannot have variables in name",
        ),
        (
            "access_log %%DIR%%/a.log g gzip;\n    access_log %%DIR%%/a.log g buffer=64k;",
            "access_log \"%%DIR%%/a.log\" already defined with conflicting parameters",
        ),
    ];
    for (directive, fault) in cases {
        for flavor in flavors() {
            let conf = format!(
                "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
                 events {{}}\nstream {{\n    log_format g '$status';\n    {directive}\n    \
                 server {{ listen 127.0.0.1:{}; return a; }}\n}}\n",
                free_port()
            );
            let server = Instance::prepare(flavor, &conf);
            let output = server.command().arg("-t").output().unwrap();
            assert!(!output.status.success(), "{flavor:?}: {directive}");
            let dir = server.path().display().to_string();
            let stderr = String::from_utf8_lossy(&output.stderr).replace(&dir, "%%DIR%%");
            let first = stderr.lines().next().unwrap_or_default().to_string();
            let expected = format!("nginx: [emerg] {fault} in %%DIR%%/nginx.conf:");
            assert!(first.starts_with(&expected), "{flavor:?}: {first}");
        }
    }
}
