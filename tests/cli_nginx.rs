//! The `strait` binary's nginx command line against real nginx: the same stderr lines (error
//! log timestamps and pids normalized), stdout bytes and exit codes for `-t`, `-T`, `-q`,
//! `-g`, `-e`, and the option errors. Without /usr/sbin/nginx, strait's output is compared
//! with the lines nginx 1.22.1 was seen to print.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../testdata/corpus/prefix.rs"]
mod corpus_prefix;

const NGINX: &str = "/usr/sbin/nginx";

/// testdata/corpus/ in the repository.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus").canonicalize().unwrap()
}

/// What a run printed: exit code, stdout, stderr lines with `TIME [level] PID#TID: ` turned
/// into `nginx: [level] ` (Debian's nginx logs faults to stderr in the error log format).
fn run(binary: &str, args: &[&str]) -> (i32, Vec<u8>, Vec<String>) {
    run_in(Path::new("."), binary, args)
}

/// [`run`] in the working directory `dir`.
fn run_in(dir: &Path, binary: &str, args: &[&str]) -> (i32, Vec<u8>, Vec<String>) {
    let output = Command::new(binary).current_dir(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| match line.split_once(" [") {
            Some((time, rest)) if time.len() == 19 && time.as_bytes()[4] == b'/' => {
                let (level, message) = rest.split_once("] ").unwrap();
                let message = message.split_once(": ").map_or(message, |(_, m)| m);
                format!("nginx: [{level}] {message}")
            }
            _ => line.to_string(),
        })
        .collect();
    (output.status.code().unwrap_or(-1), output.stdout, stderr)
}

/// Runs strait and (when installed) nginx with the same arguments; they must agree.
fn same(args: &[&str]) -> (i32, Vec<u8>, Vec<String>) {
    let strait = run(env!("CARGO_BIN_EXE_strait"), args);
    if Path::new(NGINX).exists() {
        assert_eq!(strait, run(NGINX, args), "strait and nginx differ for {args:?}");
    } else {
        eprintln!("NOTICE: {NGINX} is not installed; comparing with recorded lines only");
    }
    strait
}

#[test]
fn test_success_lines_and_quiet() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = corpus().join("valid/stream_ssl.conf");
    let conf = conf.to_str().unwrap();
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", conf]);
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        [
            format!("nginx: the configuration file {conf} syntax is ok"),
            format!("nginx: configuration file {conf} test is successful"),
        ]
    );
    let (code, _, lines) = same(&["-tq", &format!("-p{p}"), "-c", conf]);
    assert_eq!((code, lines.len()), (0, 0));
}

#[test]
fn test_failure_lines() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = corpus().join("invalid/duplicate_upstream.conf");
    let conf = conf.to_str().unwrap();
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: [emerg] duplicate upstream \"u\" in {conf}:7"),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );
}

/// A relative `-p` stays relative in every name nginx prints: the success and failure lines,
/// the fault's place, the dump's headers.
#[test]
fn relative_prefix_names_files_relative() {
    let dir = corpus_prefix::prefix();
    std::fs::create_dir(dir.path().join("pre")).unwrap();
    std::fs::write(dir.path().join("pre/ok.conf"), "events {}\n").unwrap();
    std::fs::write(dir.path().join("pre/bad.conf"), "events {}\nfoo;\n").unwrap();
    let strait = |args: &[&str]| {
        let strait = run_in(dir.path(), env!("CARGO_BIN_EXE_strait"), args);
        if Path::new(NGINX).exists() {
            assert_eq!(strait, run_in(dir.path(), NGINX, args), "differ for {args:?}");
        }
        strait
    };

    let (code, _, lines) = strait(&["-t", "-p", "pre", "-c", "ok.conf"]);
    assert_eq!(code, 0);
    assert_eq!(lines[0], "nginx: the configuration file pre/ok.conf syntax is ok");
    let (code, _, lines) = strait(&["-t", "-p", "./pre", "-c", "bad.conf", "-e", "e.log"]);
    assert_eq!(code, 1);
    assert_eq!(lines[0], "nginx: [emerg] unknown directive \"foo\" in ./pre/bad.conf:2");
    assert_eq!(lines[1], "nginx: configuration file ./pre/bad.conf test failed");
    let (code, stdout, _) = strait(&["-T", "-q", "-p", "pre/", "-c", "ok.conf"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(b"# configuration file pre/ok.conf:\n"));
}

#[test]
fn dump_prints_every_file() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = corpus().join("valid/includes_glob.conf");
    let conf = conf.to_str().unwrap();
    let (code, stdout, _) = same(&["-T", "-q", "-p", &p, "-c", conf]);
    assert_eq!(code, 0);
    let stdout = String::from_utf8(stdout).unwrap();
    let headers: Vec<&str> =
        stdout.lines().filter(|line| line.starts_with("# configuration file ")).collect();
    assert_eq!(headers.len(), 4, "{stdout}");
    assert!(headers[1].ends_with("includes/upstream_a.inc:"));
}

#[test]
fn command_line_directives() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = corpus().join("valid/stream_ssl.conf");
    let conf = conf.to_str().unwrap();
    let (code, _, lines) = same(&["-t", "-q", "-p", &p, "-c", conf, "-g", "daemon maybe;"]);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        "nginx: [emerg] invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \
         \"off\" in command line"
    );
    let (code, _, lines) = same(&["-t", "-q", "-p", &p, "-c", conf, "-g", "worker_processes 2;"]);
    assert_eq!((code, lines.len()), (0, 0));
}

#[test]
fn error_log_file_gets_the_log_line() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let log = dir.path().join("e.log");
    let conf = corpus().join("invalid/no_handler.conf");
    let (code, _, lines) = run(
        env!("CARGO_BIN_EXE_strait"),
        &["-t", "-p", &p, "-c", conf.to_str().unwrap(), "-e", log.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(lines[0].starts_with("nginx: [emerg] no handler for server in "));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(" [emerg] "), "{logged}");
    assert!(logged.contains("no handler for server"), "{logged}");
}

#[test]
fn option_errors() {
    for (args, line) in [
        (&["-x"][..], "nginx: invalid option: \"x\""),
        (&["foo"], "nginx: invalid option: \"foo\""),
        (&["-s", "bogus"], "nginx: invalid option: \"-s bogus\""),
        (&["-p"], "nginx: option \"-p\" requires directory name"),
        (&["-c"], "nginx: option \"-c\" requires file name"),
        (&["-g"], "nginx: option \"-g\" requires parameter"),
    ] {
        let (code, _, lines) = same(args);
        assert_eq!((code, lines), (1, vec![line.to_string()]), "{args:?}");
    }
}

#[test]
fn missing_main_file() {
    let (code, _, lines) = same(&["-t", "-c", "/nonexistent/strait.conf"]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "nginx: [emerg] open() \"/nonexistent/strait.conf\" failed (2: No such file or \
             directory)",
            "nginx: configuration file /nonexistent/strait.conf test failed",
        ]
    );
}

#[test]
fn unimplemented_features_fail_the_test_clearly() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    // nginx accepts `listen ... udp`; strait parses it but cannot run it yet, and its test
    // says so instead of passing a configuration it would refuse to start.
    let conf = corpus().join("valid/stream_basic.conf");
    let args = ["-t", "-p", &p, "-c", conf.to_str().unwrap()];
    let (code, _, lines) = run(env!("CARGO_BIN_EXE_strait"), &args);
    assert_eq!(code, 1);
    assert!(lines[0].starts_with("nginx: [emerg] "), "{lines:?}");
    assert!(lines[0].contains("not supported by strait"), "{lines:?}");
}

/// Writes `body` after the stream module line into `dir/NAME.conf`; returns the path. The
/// module is named from the prefix (`-p` a [`corpus_prefix::prefix`]).
fn conf_file(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(format!("{name}.conf"));
    let text = format!("load_module modules/ngx_stream_module.so;\n{body}");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `[warn]` lines nginx prints while reading: a CIDR with low bits set (allow, deny,
/// set_real_ip_from, geo, geo delete) and a geo `delete` with nothing to delete.
#[test]
fn warn_low_address_bits_and_geo_delete_without_network() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = conf_file(
        dir.path(),
        "warn",
        "events {}\nstream {\n    geo $g {\n        default x;\n        127.0.0.1/8 b;\n        \
         delete 127.0.0.5/8;\n        delete 127.0.0.0/8;\n        delete ::1;\n        \
         delete 0.0.0.0/0;\n    }\n    geo $r { ranges; 10.0.0.0-10.0.0.5 a; \
         delete 10.0.0.0-10.0.0.5; delete 10.0.0.0-10.0.0.9; }\n    \
         set_real_ip_from 10.1.1.1/8;\n    server {\n        listen 127.0.0.1:19999;\n        \
         allow ::1/64;\n        deny 10.0.0.0/8;\n        deny 10.1.1.1/8;\n        \
         return x;\n    }\n}\n",
    );
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        [
            format!("nginx: [warn] low address bits of 127.0.0.1/8 are meaningless in {conf}:6"),
            format!("nginx: [warn] low address bits of 127.0.0.5/8 are meaningless in {conf}:7"),
            format!("nginx: [warn] no network \"127.0.0.0/8\" to delete in {conf}:8"),
            format!("nginx: [warn] no network \"::1\" to delete in {conf}:9"),
            format!("nginx: [warn] no address range \"10.0.0.0-10.0.0.9\" to delete in {conf}:12"),
            format!("nginx: [warn] low address bits of 10.1.1.1/8 are meaningless in {conf}:13"),
            format!("nginx: [warn] low address bits of ::1/64 are meaningless in {conf}:16"),
            format!("nginx: [warn] low address bits of 10.1.1.1/8 are meaningless in {conf}:18"),
            format!("nginx: the configuration file {conf} syntax is ok"),
            format!("nginx: configuration file {conf} test is successful"),
        ]
    );
}

/// The events module's check comes after `syntax is ok`, without a place; `worker_processes
/// 0` is accepted.
#[test]
fn worker_connections_not_enough_after_syntax_ok() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let listen = "stream { server { listen 127.0.0.1:19999; return x; } }\n";
    let conf =
        conf_file(dir.path(), "wc", &format!("events {{ worker_connections 1; }}\n{listen}"));
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: the configuration file {conf} syntax is ok"),
            "nginx: [emerg] 1 worker_connections are not enough for 1 listening sockets".into(),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );
    let body = format!("worker_processes 0;\nevents {{ worker_connections 2; }}\n{listen}");
    let conf = conf_file(dir.path(), "wp0", &body);
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!((code, lines.len()), (0, 2), "{lines:?}");
}

/// Log files are opened after the whole configuration was read: `syntax is ok` first, the
/// open() fault without a place, and a later fault in the same directive wins over it.
#[test]
fn log_open_failures_after_syntax_ok() {
    let dir = corpus_prefix::prefix();
    let prefix = corpus_prefix::prefix_arg(dir.path());
    let conf = conf_file(dir.path(), "el", "error_log /nonexistent/e.log;\nevents {}\n");
    let (code, _, lines) = same(&["-t", "-p", &prefix, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: the configuration file {conf} syntax is ok"),
            "nginx: [emerg] open() \"/nonexistent/e.log\" failed (2: No such file or directory)"
                .into(),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );
    let server = "server { listen 127.0.0.1:19999; return x; access_log";
    let body =
        format!("events {{}}\nstream {{ log_format a x;\n{server} /nonexistent/d/a.log a; }} }}\n");
    let conf = conf_file(dir.path(), "al", &body);
    let (code, _, lines) = same(&["-t", "-p", &prefix, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(lines[0], format!("nginx: the configuration file {conf} syntax is ok"));
    assert!(
        lines[1].ends_with("open() \"/nonexistent/d/a.log\" failed (2: No such file or directory)")
    );
    let body =
        format!("events {{}}\nstream {{ log_format a x;\n{server} logs/a.log a buffer=x; }} }}\n");
    let conf = conf_file(dir.path(), "buf", &body);
    let (code, _, lines) = same(&["-t", "-p", &prefix, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(lines[0], format!("nginx: [emerg] invalid buffer size \"x\" in {conf}:4"));
}

/// `-v` names the nginx version the parser's directive table follows.
#[test]
fn version_line_is_the_registry_version() {
    let (code, stdout, lines) = run(env!("CARGO_BIN_EXE_strait"), &["-v"]);
    let version = strait_parser::registry::STRAIT_NGINX_VERSION;
    assert_eq!((code, stdout.len()), (0, 0));
    assert_eq!(lines, [format!("nginx version: nginx/{version} (strait 0.1.0)")]);
}

/// nginx's wording for `listen ... so_keepalive=foo` (the value alone, quoted) and
/// `resolver ... valid=x` (`invalid parameter: valid=x`, unquoted).
#[test]
fn wording_so_keepalive_and_resolver_valid() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let cases = [
        ("ka", "listen 127.0.0.1:19999 so_keepalive=foo;", "invalid so_keepalive value: \"foo\""),
        ("rv", "listen 127.0.0.1:19999; resolver 127.0.0.1 valid=x;", "invalid parameter: valid=x"),
    ];
    for (name, directives, message) in cases {
        let body = format!("events {{}}\nstream {{ server {{ {directives} return x; }} }}\n");
        let conf = conf_file(dir.path(), name, &body);
        let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
        assert_eq!(code, 1);
        assert_eq!(lines[0], format!("nginx: [emerg] {message} in {conf}:3"));
    }
}

/// `-s stop` with a pid file that is not a number, names a dead process, or is missing:
/// nginx's lines and levels (`invalid PID number` and open() at error, kill() at alert).
#[test]
fn signal_pid_file_faults() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let pid = dir.path().join("s.pid");
    let body = format!("pid {};\nevents {{}}\n", pid.display());
    let conf = conf_file(dir.path(), "s", &body);
    let mut dead = Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    let dead = dead.id();
    let args = ["-s", "stop", "-p", &p, "-c", &conf];
    let started = "nginx: [notice] signal process started".to_string();

    std::fs::write(&pid, "garbage\n").unwrap();
    let invalid = format!("nginx: [error] invalid PID number \"garbage\" in \"{}\"", pid.display());
    assert_eq!(same(&args), (1, Vec::new(), vec![started.clone(), invalid]));

    std::fs::write(&pid, format!("{dead}\n")).unwrap();
    let kill = format!("nginx: [alert] kill({dead}, 15) failed (3: No such process)");
    assert_eq!(same(&args), (1, Vec::new(), vec![started.clone(), kill]));

    std::fs::remove_file(&pid).unwrap();
    let open = format!(
        "nginx: [error] open() \"{}\" failed (2: No such file or directory)",
        pid.display()
    );
    assert_eq!(same(&args), (1, Vec::new(), vec![started, open]));
}

/// `nginx -t` creates the pid file the configuration names once the configuration is read
/// (empty when missing, an existing one left as it was): a missing directory fails after
/// `syntax is ok`, without a place.
#[test]
fn pid_file_is_tried_after_syntax_ok() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = conf_file(dir.path(), "nopid", "pid /nonexistent/dir/x.pid;\nevents {}\n");
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: the configuration file {conf} syntax is ok"),
            "nginx: [emerg] open() \"/nonexistent/dir/x.pid\" failed (2: No such file or \
             directory)"
                .into(),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );

    let pid = dir.path().join("x.pid");
    let conf = conf_file(dir.path(), "pid", &format!("pid {};\nevents {{}}\n", pid.display()));
    assert_eq!(same(&["-t", "-q", "-p", &p, "-c", &conf]).0, 0);
    assert_eq!(std::fs::read(&pid).unwrap(), b"");
    std::fs::write(&pid, "123\n").unwrap();
    assert_eq!(same(&["-t", "-q", "-p", &p, "-c", &conf]).0, 0);
    assert_eq!(std::fs::read_to_string(&pid).unwrap(), "123\n");
}

/// Faults nginx finds once the whole configuration is read (no `events`, a shared memory
/// zone never sized) follow `syntax is ok`; a file that cannot be read is a `[crit]` line
/// without a place; warnings printed before a fault stay.
#[test]
fn faults_after_reading_and_read_failures() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let empty = dir.path().join("empty.conf");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", empty]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: the configuration file {empty} syntax is ok"),
            "nginx: [emerg] no \"events\" section in configuration".into(),
            format!("nginx: configuration file {empty} test failed"),
        ]
    );

    let body =
        "events {}\nstream { server { listen 127.0.0.1:19999; limit_conn z 1; return x; } }\n";
    let conf = conf_file(dir.path(), "zone", body);
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(lines[0], format!("nginx: the configuration file {conf} syntax is ok"));
    assert_eq!(lines[1], "nginx: [emerg] zero size shared memory zone \"z\"");

    let conf = conf_file(dir.path(), "dir", "events {}\ninclude /;\n");
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "nginx: [crit] pread() \"/\" failed (21: Is a directory)".to_string(),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );

    let body = "events {}\nstream { geo $g { delete 127.0.0.1; \\delete 1; } }\n";
    let conf = conf_file(dir.path(), "geo", body);
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!("nginx: [warn] no network \"127.0.0.1\" to delete in {conf}:3"),
            format!("nginx: [emerg] invalid network \"\\delete\" in {conf}:3"),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );
}

/// `load_module` names its file from the prefix; strait loads nothing, but a missing file
/// fails as nginx's `dlopen()` does, in the file and line of the directive.
#[test]
fn load_module_of_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = corpus_prefix::prefix_arg(dir.path());
    let conf = conf_file(dir.path(), "k2", "events {}\nstream {}\n");
    let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
    let module = dir.path().join("modules/ngx_stream_module.so");
    let module = module.display();
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            format!(
                "nginx: [emerg] dlopen() \"{module}\" failed ({module}: cannot open shared object \
                 file: No such file or directory) in {conf}:1"
            ),
            format!("nginx: configuration file {conf} test failed"),
        ]
    );
}

/// An `ssl_dhparam` file that cannot be opened is `BIO_new_file("F") failed` with OpenSSL's
/// errors (a file that is no DH PEM is `PEM_read_bio_DHparams`), without a place, as the
/// ssl module's merge at the end of `stream {}` reports it.
#[test]
fn ssl_dhparam_file_faults() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let server = "server { listen 127.0.0.1:19999 ssl; ssl_certificate $ssl_server_name; \
                  ssl_certificate_key $ssl_server_name; proxy_pass 127.0.0.1:1;";
    let cases = [("/nonexistent/dh", "BIO_new_file"), ("/etc/hostname", "PEM_read_bio_DHparams")];
    for (file, call) in cases {
        let body = format!("events {{}}\nstream {{ {server} ssl_dhparam {file}; }} }}\n");
        let conf = conf_file(dir.path(), "dh", &body);
        let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
        assert_eq!(code, 1);
        assert!(lines[0].starts_with(&format!("nginx: [emerg] {call}(\"{file}\") failed (SSL: ")));
        assert_eq!(lines[1], format!("nginx: configuration file {conf} test failed"));
    }
}

/// The last steps of a test, after `syntax is ok`: the log files of http (which strait does
/// not serve) are opened too, and the listening sockets are bound; an address that cannot be
/// had fails, one in use does not (nginx -t ignores EADDRINUSE).
#[test]
fn http_log_files_and_listening_sockets_after_syntax_ok() {
    let dir = corpus_prefix::prefix();
    let p = corpus_prefix::prefix_arg(dir.path());
    let cases = [
        ("http { server { access_log /nonexistent/a.log; } }", "open() \"/nonexistent/a.log\""),
        ("stream { server { listen 192.0.2.1:19999; return x; } }", "bind() to 192.0.2.1:19999"),
        (
            "stream { server { listen unix:/nonexistent/s; return x; } }",
            "bind() to unix:/nonexistent/s",
        ),
    ];
    for (block, what) in cases {
        let conf = conf_file(dir.path(), "cycle", &format!("events {{}}\n{block}\n"));
        let (code, _, lines) = same(&["-t", "-p", &p, "-c", &conf]);
        assert_eq!(code, 1, "{block}");
        assert_eq!(lines[0], format!("nginx: the configuration file {conf} syntax is ok"));
        assert!(lines[1].starts_with(&format!("nginx: [emerg] {what} failed (")), "{lines:?}");
    }

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let body =
        format!("events {{}}\nstream {{ server {{ listen 127.0.0.1:{port}; return x; }} }}\n");
    let conf = conf_file(dir.path(), "inuse", &body);
    assert_eq!(same(&["-t", "-q", "-p", &p, "-c", &conf]), (0, Vec::new(), Vec::new()));
}
