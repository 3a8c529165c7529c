//! The process: pid file timing, config errors before the pid file, reload (valid and
//! invalid), QUIT draining sessions, TERM, USR1 reopening logs, `-s`, `-v`/`-V`, daemon.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn vars(answer: &str, extra: &str) -> HashMap<&'static str, String> {
    let mut vars = HashMap::new();
    vars.insert("RETURN", free_port().to_string());
    vars.insert("PROXY", free_port().to_string());
    vars.insert("ECHO", echo_upstream().to_string());
    vars.insert("ANSWER", answer.to_string());
    vars.insert("EXTRA", extra.to_string());
    vars
}

fn port(vars: &HashMap<&'static str, String>, key: &str) -> u16 {
    vars[key].parse().unwrap()
}

#[test]
fn listeners_accept_as_soon_as_the_pid_file_exists() {
    for flavor in flavors() {
        let vars = vars("first", "");
        let server = Instance::start(flavor, &config("process.conf", &vars));
        // No retry: the listener must already be bound.
        assert_eq!(read_all(port(&vars, "RETURN")), b"first", "{flavor:?}");
        assert_eq!(server.pid(), server.child.as_ref().unwrap().id() as i32, "{flavor:?}");
    }
}

#[test]
fn a_config_error_exits_before_the_pid_file() {
    for flavor in flavors() {
        let vars = vars("x", "bogus_directive on;");
        let server = Instance::prepare(flavor, &config("process.conf", &vars));
        let output = server.command().output().unwrap();
        assert!(!output.status.success(), "{flavor:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let conf = server.path().join("nginx.conf");
        let line = if flavor == Flavor::Nginx { 18 } else { 16 };
        let expected = format!(
            "nginx: [emerg] unknown directive \"bogus_directive\" in {}:{line}\n",
            conf.display()
        );
        assert_eq!(stderr, expected, "{flavor:?}");
        assert!(!server.path().join("nginx.pid").exists(), "{flavor:?}");
        assert!(server.error_log().contains("[emerg]"), "{flavor:?}: error.log lacks the fault");
    }
}

#[test]
fn reload_applies_a_valid_config_and_keeps_the_old_one_on_error() {
    for flavor in flavors() {
        let mut vars = vars("first", "");
        let mut server = Instance::start(flavor, &config("process.conf", &vars));
        assert_eq!(read_all(port(&vars, "RETURN")), b"first");

        // A valid config with a new answer and a new listener.
        let added = free_port();
        vars.insert("ANSWER", "second".into());
        vars.insert("EXTRA", format!("server {{ listen 127.0.0.1:{added}; return added; }}"));
        server.rewrite(&config("process.conf", &vars));
        server.signal("HUP");
        assert!(server.wait_log("(SIGHUP) received from "), "{flavor:?}");
        assert!(server.wait_log(": reconfiguring\n"), "{flavor:?}");
        let start = std::time::Instant::now();
        while read_all(port(&vars, "RETURN")) != b"second" {
            assert!(start.elapsed() < Duration::from_secs(5), "{flavor:?}: reload not applied");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(read_all(added), b"added", "{flavor:?}");

        // An invalid config: logged, the running one stays.
        vars.insert("ANSWER", "third".into());
        vars.insert("EXTRA", "bogus_directive on;".into());
        server.rewrite(&config("process.conf", &vars));
        server.signal("HUP");
        assert!(server.wait_log("unknown directive \"bogus_directive\""), "{flavor:?}");
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(read_all(port(&vars, "RETURN")), b"second", "{flavor:?}");
        assert_eq!(read_all(added), b"added", "{flavor:?}");
        assert!(server.quit().success());
        assert!(!server.error_log().contains("[alert]"), "{flavor:?}");
    }
}

#[test]
fn quit_lets_sessions_in_flight_finish() {
    for flavor in flavors() {
        let vars = vars("x", "");
        let mut server = Instance::start(flavor, &config("process.conf", &vars));
        let mut stream = TcpStream::connect(("127.0.0.1", port(&vars, "PROXY"))).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"before").unwrap();
        let mut buf = [0u8; 6];
        stream.read_exact(&mut buf).unwrap();

        // QUIT: new connections are refused, the open session still proxies.
        server.signal("QUIT");
        std::thread::sleep(Duration::from_millis(300));
        assert!(TcpStream::connect(("127.0.0.1", port(&vars, "RETURN"))).is_err(), "{flavor:?}");
        stream.write_all(b"after!").unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"after!", "{flavor:?}");
        assert!(server.child.as_mut().unwrap().try_wait().unwrap().is_none(), "{flavor:?}");

        // The last session ends: the server exits cleanly and removes its pid file.
        drop(stream);
        assert!(server.wait_exit().success(), "{flavor:?}");
        assert!(!server.path().join("nginx.pid").exists(), "{flavor:?}");
    }
}

#[test]
fn signals_through_dash_s_and_reopen() {
    for flavor in flavors() {
        let vars = vars("x", "");
        let mut server = Instance::start(flavor, &config("process.conf", &vars));

        // -s reopen: a rotated error log is replaced by a fresh file; the rotated one ends
        // with the signal, naming the process that sent it, as nginx's master writes it.
        let log = server.path().join("error.log");
        let rotated = server.path().join("error.log.1");
        std::fs::rename(&log, &rotated).unwrap();
        let mut sender = server.command().args(["-s", "reopen"]).spawn().unwrap();
        let sender_pid = sender.id();
        assert!(sender.wait().unwrap().success(), "{flavor:?}");
        let start = std::time::Instant::now();
        while !log.exists() {
            assert!(start.elapsed() < Duration::from_secs(5), "{flavor:?}: log not reopened");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The new file may come from the `-s` process itself (its early log): wait for the
        // server's lines in the rotated one.
        let line = format!(
            "[notice] {pid}#{pid}: signal 10 (SIGUSR1) received from {sender_pid}, reopening logs",
            pid = server.pid()
        );
        let mut old = std::fs::read_to_string(&rotated).unwrap();
        while !old.contains(": reopening logs\n") && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
            old = std::fs::read_to_string(&rotated).unwrap();
        }
        assert!(old.contains(&line), "{flavor:?}: no {line:?} in\n{old}");
        assert!(old.contains(&format!("{line}\n")), "{flavor:?}");
        let after = old.split(&line).nth(1).unwrap();
        assert!(after.contains(": reopening logs\n"), "{flavor:?}: {after}");

        // -s stop ends it.
        let status = server.command().args(["-s", "stop"]).status().unwrap();
        assert!(status.success(), "{flavor:?}");
        server.wait_exit();
    }
}

#[test]
fn dash_s_signals_though_a_log_of_the_new_config_cannot_be_opened() {
    for flavor in flavors() {
        let mut vars = vars("first", "");
        let mut server = Instance::start(flavor, &config("process.conf", &vars));
        let missing = server.path().join("missing/access.log");
        vars.insert("EXTRA", format!("log_format f $status; access_log {} f;", missing.display()));
        server.rewrite(&config("process.conf", &vars));

        // The signaller opens no log: the running instance reloads, fails and says why.
        let sent = server.command().args(["-s", "reload"]).output().unwrap();
        assert!(sent.status.success(), "{flavor:?}: {}", String::from_utf8_lossy(&sent.stderr));
        let fault =
            format!("open() \"{}\" failed (2: No such file or directory)\n", missing.display());
        assert!(server.wait_log(&fault), "{flavor:?}: no {fault:?} in\n{}", server.error_log());
        let log = server.error_log();
        let line = log.lines().find(|line| line.contains(fault.trim_end())).unwrap();
        assert!(line.contains(&format!(" [emerg] {}#", server.pid())), "{flavor:?}: {line}");
        assert!(!missing.parent().unwrap().exists(), "{flavor:?}");
        assert_eq!(read_all(port(&vars, "RETURN")), b"first", "{flavor:?}");

        // And `-s quit` still reaches it.
        let sent = server.command().args(["-s", "quit"]).output().unwrap();
        assert!(sent.status.success(), "{flavor:?}: {}", String::from_utf8_lossy(&sent.stderr));
        assert!(server.wait_exit().success(), "{flavor:?}");
    }
}

#[test]
fn dash_s_without_a_running_instance_reports_the_pid_file() {
    let vars = vars("x", "");
    let server = Instance::prepare(Flavor::Strait, &config("process.conf", &vars));
    let output = server.command().args(["-s", "reload"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!(
        "nginx: [error] open() \"{}/nginx.pid\" failed (2: No such file or directory)\n",
        server.path().display()
    );
    assert_eq!(stderr, expected);
}

#[test]
fn version_lines_satisfy_nginx_tests() {
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_strait")).arg("-V").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    let version = regex::Regex::new(r"(?m)^nginx version: nginx/(\d+)\.(\d+)\.(\d+)").unwrap();
    let v = version.captures(&text).expect("nginx version line");
    let numbers: Vec<u32> = (1..=3).map(|i| v[i].parse().unwrap()).collect();
    assert!(numbers >= vec![1, 27, 5], "{text}");
    assert!(text.contains("strait"), "{text}");
    assert!(regex::Regex::new(r"(?m)^built with OpenSSL \d+\.\d+\.\d+").unwrap().is_match(&text));
    assert!(text.contains("\nTLS SNI support enabled\n"), "{text}");
    assert!(text.contains("--with-stream "), "{text}");
    assert!(!text.contains("=dynamic"), "{text}");
}

#[test]
fn daemon_on_detaches_and_the_pid_file_names_the_daemon() {
    let vars = vars("daemonized", "");
    let conf = config("process.conf", &vars).replace("daemon off;", "daemon on;");
    let server = Instance::prepare(Flavor::Strait, &conf);
    // The foreground process exits at once; the daemon keeps serving.
    let status = server.command().status().unwrap();
    assert!(status.success());
    let pid_file = server.path().join("nginx.pid");
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&pid_file).map_or(true, |s| !s.ends_with('\n')) {
        assert!(start.elapsed() < Duration::from_secs(5), "no pid file");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read_all(port(&vars, "RETURN")), b"daemonized");
    let pid = server.pid();
    std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    let start = std::time::Instant::now();
    while pid_file.exists() {
        assert!(start.elapsed() < Duration::from_secs(5), "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn worker_shutdown_timeout_closes_sessions_left_open() {
    for flavor in flavors() {
        let vars = vars("x", "");
        let conf = config("process.conf", &vars)
            .replace("events {}", "worker_shutdown_timeout 1s;\nevents {}");
        let mut server = Instance::start(flavor, &conf);
        let mut stream = TcpStream::connect(("127.0.0.1", port(&vars, "PROXY"))).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).unwrap();

        // QUIT with the session still open: it is closed after about a second.
        let started = std::time::Instant::now();
        server.signal("QUIT");
        let n = stream.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "{flavor:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(800), "{flavor:?}: {took:?}");
        assert!(server.wait_exit().success(), "{flavor:?}");
    }
}

#[test]
fn worker_connections_caps_sessions() {
    let silent = silent_upstream();
    let port = free_port();
    let conf = format!(
        "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log notice;\n\
         events {{ worker_connections 2; }}\nstream {{\n    server {{\n        \
         listen 127.0.0.1:{port};\n        proxy_pass 127.0.0.1:{silent};\n    }}\n}}\n"
    );
    let server = Instance::start(Flavor::Strait, &conf);
    let held: Vec<TcpStream> =
        (0..2).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));

    // The third connection is closed at once, with nginx's alert.
    assert_eq!(read_all(port), b"");
    assert!(server.wait_log("[alert]"), "{}", server.error_log());
    assert!(server.error_log().contains("2 worker_connections are not enough"));

    // Once one ends, a new session is served again.
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let mut again = TcpStream::connect(("127.0.0.1", port)).unwrap();
    again.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 1];
    let err = again.read(&mut buf).unwrap_err();
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
}

/// `worker_rlimit_core` sets the core file size limit, soft and hard, as nginx's workers do
/// (strait's one process is its own worker; nginx's master keeps its limit, so only strait is
/// looked at).
#[test]
fn worker_rlimit_core_sets_the_core_size_limit() {
    let vars = vars("x", "");
    let conf = format!("worker_rlimit_core 10m;\n{}", config("process.conf", &vars));
    let server = Instance::start(Flavor::Strait, &conf);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits.lines().find(|line| line.starts_with("Max core file size")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[4..6], ["10485760", "10485760"], "{line}");
}

/// The error log lines without their stamp and pid, ports named.
fn bare_lines(log: &str, held: u16) -> Vec<String> {
    log.lines()
        .map(|l| normalize(&l.replace(&format!(":{held}"), ":HELD")))
        .map(|l| l.replacen("] PID: ", "] ", 1))
        .collect()
}

/// nginx's lines for an address that stays in use: 5 tries 500 ms apart, then the end.
fn bind_retry_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..5 {
        lines.push(
            "[emerg] bind() to 127.0.0.1:HELD failed (98: Address already in use)".to_string(),
        );
        lines.push("[notice] try again to bind() after 500ms".to_string());
    }
    lines.push("[emerg] still could not bind()".to_string());
    lines
}

#[test]
fn an_address_in_use_is_tried_five_times_at_startup_as_nginx() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    // Both servers at once: each spends 2.5 s trying.
    let runs: Vec<_> = flavors()
        .into_iter()
        .map(|flavor| {
            std::thread::spawn(move || {
                let free = free_port();
                let conf = format!(
                    "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
                     events {{}}\nstream {{\n    server {{ listen 127.0.0.1:{free}; return a; }}\n\
                     \x20   server {{ listen 127.0.0.1:{held}; return b; }}\n}}\n"
                );
                let server = Instance::prepare(flavor, &conf);
                let started = std::time::Instant::now();
                let output = server.command().output().unwrap();
                let took = started.elapsed();
                let stderr =
                    String::from_utf8_lossy(&output.stderr).replace(&held.to_string(), "HELD");
                (flavor, output.status.code(), took, stderr, bare_lines(&server.error_log(), held))
            })
        })
        .collect();
    let mut expected_stderr = String::new();
    for _ in 0..5 {
        expected_stderr.push_str(
            "nginx: [emerg] bind() to 127.0.0.1:HELD failed (98: Address already in use)\n",
        );
    }
    expected_stderr.push_str("nginx: [emerg] still could not bind()\n");
    for run in runs {
        let (flavor, code, took, stderr, log) = run.join().unwrap();
        assert_eq!(code, Some(1), "{flavor:?}");
        assert!(took >= Duration::from_millis(2400), "{flavor:?}: {took:?}");
        assert_eq!(stderr, expected_stderr, "{flavor:?}");
        assert_eq!(log, bind_retry_lines(), "{flavor:?}");
    }
    drop(holder);
}

#[test]
fn a_reload_with_an_address_in_use_keeps_the_old_configuration_as_nginx() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    let runs: Vec<_> = flavors()
        .into_iter()
        .map(|flavor| {
            std::thread::spawn(move || {
                let mut vars = vars("first", "");
                let server = Instance::start(flavor, &config("process.conf", &vars));
                let before = server.error_log().lines().count();

                // The new configuration adds the address in use: tried 5 times, then dropped.
                vars.insert("ANSWER", "second".into());
                vars.insert("EXTRA", format!("server {{ listen 127.0.0.1:{held}; return x; }}"));
                server.rewrite(&config("process.conf", &vars));
                server.signal("HUP");
                let started = std::time::Instant::now();
                while !server.error_log().contains("still could not bind()") {
                    assert!(started.elapsed() < Duration::from_secs(8), "{flavor:?}");
                    std::thread::sleep(Duration::from_millis(50));
                }

                // The old configuration keeps serving.
                assert_eq!(read_all(port(&vars, "RETURN")), b"first", "{flavor:?}");
                let log = server.error_log();
                let lines: Vec<String> = bare_lines(&log, held)
                    .into_iter()
                    .skip(before)
                    .filter(|l| l.contains("bind()"))
                    .collect();
                (flavor, lines)
            })
        })
        .collect();
    for run in runs {
        let (flavor, lines) = run.join().unwrap();
        assert_eq!(lines, bind_retry_lines(), "{flavor:?}");
    }
    drop(holder);
}

#[test]
fn start_and_reload_notices_match_nginx() {
    let announced = regex::Regex::new(concat!(
        r#"^\[notice\] PID: (using the "epoll" event method|nginx/|OS: |getrlimit|"#,
        r#"start worker|reconfiguring$)"#
    ))
    .unwrap();
    let version = regex::Regex::new(r"nginx/\d+\.\d+\.\d+.*").unwrap();
    let worker = regex::Regex::new(r"start worker process \d+$").unwrap();
    let mut runs = Vec::new();
    for flavor in flavors() {
        let mut vars = vars("first", "");
        let conf =
            config("process.conf", &vars).replace("events {}", "worker_processes 2;\nevents {}");
        let mut server = Instance::start(flavor, &conf);
        assert!(server.wait_log("start worker process "), "{flavor:?}");

        // A reload: nginx starts new workers; strait names its workers again.
        vars.insert("ANSWER", "second".into());
        let conf =
            config("process.conf", &vars).replace("events {}", "worker_processes 2;\nevents {}");
        server.rewrite(&conf);
        server.signal("HUP");
        let started = std::time::Instant::now();
        while server.error_log().matches("start worker process ").count() < 4 {
            assert!(started.elapsed() < Duration::from_secs(5), "{flavor:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(server.quit().success(), "{flavor:?}");

        // The notices nginx harnesses look for, in order, with what varies masked.
        let lines: Vec<String> = server
            .error_log()
            .lines()
            .map(normalize)
            .filter(|l| announced.is_match(l))
            .map(|l| version.replace(&l, "nginx/VERSION").into_owned())
            .map(|l| worker.replace(&l, "start worker process N").into_owned())
            .collect();
        runs.push((flavor, lines));
    }

    let (system, release) = {
        let uname = |flag| {
            let out = std::process::Command::new("uname").arg(flag).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        (uname("-s"), uname("-r"))
    };
    let limits = {
        let ulimit = |flag| {
            let out = std::process::Command::new("sh").args(["-c", flag]).output().unwrap();
            String::from_utf8_lossy(&out.stdout).trim().replace("unlimited", "-1")
        };
        format!("{}:{}", ulimit("ulimit -Sn"), ulimit("ulimit -Hn"))
    };
    let notice = |text: &str| format!("[notice] PID: {text}");
    let expected = vec![
        notice("using the \"epoll\" event method"),
        notice("nginx/VERSION"),
        notice(&format!("OS: {system} {release}")),
        notice(&format!("getrlimit(RLIMIT_NOFILE): {limits}")),
        notice("start worker processes"),
        notice("start worker process N"),
        notice("start worker process N"),
        notice("reconfiguring"),
        notice("using the \"epoll\" event method"),
        notice("start worker processes"),
        notice("start worker process N"),
        notice("start worker process N"),
    ];
    assert_eq!(runs[0].1, expected, "{:?}", runs[0].0);
    for (flavor, lines) in &runs[1..] {
        assert_eq!(lines, &expected, "{flavor:?}");
    }
}
