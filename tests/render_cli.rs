//! `strait render` and `strait up` run as a user would: the binary in a temporary directory.

mod runtime_support;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runtime_support::free_port;
const STRAIT: &str = env!("CARGO_BIN_EXE_strait");

fn testdata(case: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/render").join(case)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn render_writes_config_and_files_with_their_modes_and_says_so() {
    // The output directory does not exist yet: it is made.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out/nginx.conf");
    let output = Command::new(STRAIT)
        .args(["render", "--check", "--routes"])
        .arg(testdata("long_chain/routes.yaml"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let said = String::from_utf8(output.stderr).unwrap();
    assert!(said.contains(&format!("strait render: wrote {}\n", out.display())), "{said}");
    assert!(said.ends_with("strait render: the configuration passes strait -t's checks\n"));

    // The chain is too long for one nginx token: a file beside the configuration.
    let chain = tmp.path().join("out/upstream-strait_route_long.crt");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains(&format!("\"{}\"", chain.display())), "{text}");
    assert!(std::fs::read_to_string(&chain).unwrap().matches("BEGIN CERTIFICATE").count() == 3);
    assert_eq!(mode(&chain), 0o644);

    // The key is inline, so the configuration is 0600.
    assert!(text.contains("\"data:-----BEGIN PRIVATE KEY-----"));
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn render_prints_to_stdout_and_rejects_invalid_input() {
    let ok = Command::new(STRAIT)
        .args(["render", "--routes"])
        .arg(testdata("cidr/routes.yaml"))
        .arg("--config")
        .arg(testdata("cidr/config.yaml"))
        .output()
        .unwrap();
    assert!(ok.status.success());
    let text = String::from_utf8(ok.stdout).unwrap();
    assert!(text.contains("geo $remote_addr $strait_remote_addr_1 {"), "{text}");

    let bad = testdata("invalid/many_faults");
    let failed = Command::new(STRAIT)
        .args(["render", "--routes"])
        .arg(bad.join("routes.yaml"))
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(failed.stdout.is_empty());
    let expected: String = std::fs::read_to_string(bad.join("expected.txt"))
        .unwrap()
        .lines()
        .map(|l| format!("strait render: {l}\n"))
        .collect();
    assert_eq!(String::from_utf8(failed.stderr).unwrap(), expected);
}

/// `render` renders a YAML file without the end flag, saying that APISIX would not load it;
/// `up` refuses to start on it; JSON needs no flag.
#[test]
fn render_warns_and_up_refuses_without_the_end_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("routes.yaml");
    std::fs::write(&yaml, routes_unfinished(9100, 1995)).unwrap();
    let rendered = Command::new(STRAIT).args(["render", "--routes"]).arg(&yaml).output().unwrap();
    assert!(rendered.status.success());
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("server 127.0.0.1:1995"));
    assert_eq!(
        String::from_utf8(rendered.stderr).unwrap(),
        format!(
            "strait render: warning: missing valid end flag in file {}: APISIX would not load \
             it (a YAML routes file counts once its last 10 bytes hold #END)\n",
            yaml.display()
        )
    );

    let up = Command::new(STRAIT)
        .args(["up", "--routes"])
        .arg(&yaml)
        .arg("--dir")
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    assert_eq!(up.status.code(), Some(1));
    let stderr = String::from_utf8(up.stderr).unwrap();
    assert!(stderr.contains("missing valid end flag in file"), "{stderr}");

    let json = tmp.path().join("routes.json");
    std::fs::write(&json, "{\"stream_routes\": []}").unwrap();
    let rendered = Command::new(STRAIT).args(["render", "--routes"]).arg(&json).output().unwrap();
    assert!(rendered.status.success() && rendered.stderr.is_empty());
}

/// `--load-module` begins the output with `load_module PATH;`: Debian's nginx, whose stream
/// module is dynamic, takes the file as written (`nginx -t`, nothing prepended), and so do
/// `--check` and `strait -t`.
#[test]
fn render_with_load_module_runs_on_nginx_as_written() {
    const MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("logs")).unwrap();
    let conf = tmp.path().join("nginx.conf");
    let status = Command::new(STRAIT)
        .args(["render", "--check", "--load-module", MODULE, "--routes"])
        .arg(testdata("sni_exact_wildcard/routes.yaml"))
        .arg("-o")
        .arg(&conf)
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(text.lines().nth(1), Some(format!("load_module {MODULE};").as_str()), "{text}");

    let mut prefix = tmp.path().as_os_str().to_owned();
    prefix.push("/");
    let t = |binary: &str| {
        Command::new(binary).arg("-t").arg("-p").arg(&prefix).arg("-c").arg(&conf).output()
    };
    let out = t(STRAIT).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    if !Path::new("/usr/sbin/nginx").exists() || !Path::new(MODULE).exists() {
        eprintln!("NOTICE: Debian's nginx is not installed: nginx -t of --load-module SKIPPED");
        return;
    }
    let out = t("/usr/sbin/nginx").unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// What the server sends before closing; `None` when it cannot be reached.
fn read_all(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    Some(out)
}

/// Retries until `what` yields `want` or 10 seconds pass.
fn eventually(what: impl Fn() -> Option<String>, want: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = what();
        if got.as_deref() == Some(want) || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `strait up` stopped on drop.
struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// A routes file without APISIX's end flag (`#END`), as if caught while being written.
fn routes_unfinished(port: u32, backend: u16) -> String {
    format!(
        "stream_routes:\n  - id: 1\n    server_port: {port}\n    upstream:\n      \
         nodes: {{\"127.0.0.1:{backend}\": 1}}\n"
    )
}

/// A finished routes file: it ends with the end flag.
fn routes(port: u32, backend: u16) -> String {
    format!("{}#END\n", routes_unfinished(port, backend))
}

#[test]
fn up_serves_and_reloads_on_change_keeping_routes_on_a_bad_or_unfinished_file() {
    let tmp = tempfile::tempdir().unwrap();

    // A backend that greets and closes.
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_port = backend.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in backend.incoming().flatten() {
            let _ = std::io::Write::write_all(&mut conn, b"backend\n");
        }
    });

    // Routes for the first port only; the second has none.
    let (first, second) = (free_port(), free_port());
    let routes_path = tmp.path().join("routes.yaml");
    let config_path = tmp.path().join("config.yaml");
    std::fs::write(&routes_path, routes(first.into(), backend_port)).unwrap();
    std::fs::write(
        &config_path,
        format!(
            "apisix:\n  stream_proxy:\n    tcp: [\"127.0.0.1:{first}\", \"127.0.0.1:{second}\"]\n"
        ),
    )
    .unwrap();
    let child = Command::new(STRAIT)
        .args(["up", "--interval-ms", "100", "--routes"])
        .arg(&routes_path)
        .arg("--config")
        .arg(&config_path)
        .arg("--dir")
        .arg(tmp.path().join("run"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _up = Up(child);
    let log = || std::fs::read_to_string(tmp.path().join("run/logs/error.log")).unwrap_or_default();
    let got = eventually(|| read_all(first), "backend\n");
    assert_eq!(got.as_deref(), Some("backend\n"), "{}", log());
    assert_eq!(read_all(second).as_deref(), Some(""), "no route: closed without a byte");

    // A file that fails validation: reported, and the running routes stay.
    std::fs::write(&routes_path, routes(70000, backend_port)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(read_all(first).as_deref(), Some("backend\n"), "{}", log());

    // A file without the end flag is not loaded (APISIX: "missing valid end flag in
    // file"): the running routes stay until the flag is written.
    std::fs::write(&routes_path, routes_unfinished(second.into(), backend_port)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(read_all(first).as_deref(), Some("backend\n"), "{}", log());
    assert_eq!(read_all(second).as_deref(), Some(""), "{}", log());

    // A good change: rendered and reloaded.
    std::fs::write(&routes_path, routes(second.into(), backend_port)).unwrap();
    let got = eventually(|| read_all(second), "backend\n");
    assert_eq!(got.as_deref(), Some("backend\n"), "{}", log());
    assert_eq!(eventually(|| read_all(first), "").as_deref(), Some(""), "{}", log());
}

/// A child's stderr as it comes, collected by a thread.
fn collect_stderr(child: &mut Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { return };
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    text
}

/// `strait up` checks a change before it reloads: a new listener on an address in use (the
/// test holds it) fails the check with the server's words, is not signalled, and nginx.conf
/// stays the configuration that serves. Once the address is free, a change reloads; each
/// reload says whether the routes or the config changed, and how it went.
#[test]
fn up_checks_each_reload_and_reports_its_outcome() {
    let tmp = tempfile::tempdir().unwrap();

    // A backend that greets and closes; a port held by the test, released later for strait
    // to bind (a free port, not port 0: a port the kernel picks may be taken meanwhile).
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_port = backend.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in backend.incoming().flatten() {
            let _ = std::io::Write::write_all(&mut conn, b"backend\n");
        }
    });
    let taken_port = free_port();
    let taken = TcpListener::bind(("127.0.0.1", taken_port)).unwrap();

    // `up` on one listener; notices logged, so the reload's success line is seen.
    let first = free_port();
    let config = |ports: &[u16], note: &str| {
        let tcp: Vec<String> = ports.iter().map(|p| format!("\"127.0.0.1:{p}\"")).collect();
        format!(
            "# {note}\napisix:\n  stream_proxy:\n    tcp: [{}]\n\
             nginx_config:\n  error_log_level: notice\n",
            tcp.join(", ")
        )
    };
    let routes_path = tmp.path().join("routes.yaml");
    let config_path = tmp.path().join("config.yaml");
    std::fs::write(&routes_path, routes(first.into(), backend_port)).unwrap();
    std::fs::write(&config_path, config(&[first], "one listener")).unwrap();
    let mut child = Command::new(STRAIT)
        .args(["up", "--interval-ms", "100", "--routes"])
        .arg(&routes_path)
        .arg("--config")
        .arg(&config_path)
        .arg("--dir")
        .arg(tmp.path().join("run"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = collect_stderr(&mut child);
    let _up = Up(child);
    let said = || stderr.lock().unwrap().clone();
    let said_eventually = |line: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !said().contains(line) {
            assert!(Instant::now() < deadline, "no {line:?} from strait up:\n{}", said());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let got = eventually(|| read_all(first), "backend\n");
    assert_eq!(got.as_deref(), Some("backend\n"), "{}", said());
    let conf = tmp.path().join("run/nginx.conf");
    let running = std::fs::read_to_string(&conf).unwrap();

    // Step: a second listener on the address in use. nginx's test would pass it (an address
    // in use may be the running server's); the reload would fail and keep the old one.
    std::fs::write(&config_path, config(&[first, taken_port], "the port is taken")).unwrap();
    said_eventually(&format!(
        "strait up: config changed: the new configuration fails: bind() to \
         127.0.0.1:{taken_port} failed (98: Address already in use)\n"
    ));
    said_eventually(&format!("strait up: not reloaded; {} still serves\n", conf.display()));
    assert!(!said().contains("reloading"), "{}", said());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), running, "nginx.conf is what serves");
    assert_eq!(read_all(first).as_deref(), Some("backend\n"), "{}", said());

    // Step: the address is free again; the next change of the config reloads.
    drop(taken);
    std::fs::write(&config_path, config(&[first, taken_port], "the port is free")).unwrap();
    said_eventually("strait up: config changed, reloading\nstrait up: reloaded\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&format!("listen 127.0.0.1:{taken_port}")), "{text}");
    let got = eventually(|| read_all(taken_port), "");
    assert_eq!(got.as_deref(), Some(""), "a listener without a route: {}", said());

    // Step: the routes change: a reload that says so.
    std::fs::write(&routes_path, routes(taken_port.into(), backend_port)).unwrap();
    said_eventually("strait up: routes changed, reloading\nstrait up: reloaded\n");
    let got = eventually(|| read_all(taken_port), "backend\n");
    assert_eq!(got.as_deref(), Some("backend\n"), "{}", said());
    assert!(!said().contains("failed;"), "{}", said());
}

/// `strait up` killed with SIGKILL takes its server with it (prctl PR_SET_PDEATHSIG): the
/// listener's port is free again, so a new `strait up` can bind it.
#[test]
fn up_killed_takes_its_server_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let routes_path = tmp.path().join("routes.yaml");
    let config_path = tmp.path().join("config.yaml");
    std::fs::write(&routes_path, routes(port.into(), free_port())).unwrap();
    std::fs::write(
        &config_path,
        format!("apisix:\n  stream_proxy:\n    tcp: [\"127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let mut child = Command::new(STRAIT)
        .args(["up", "--interval-ms", "100", "--routes"])
        .arg(&routes_path)
        .arg("--config")
        .arg(&config_path)
        .arg("--dir")
        .arg(tmp.path().join("run"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Step: wait until the server listens, then SIGKILL `strait up` itself.
    let listening =
        eventually(|| TcpStream::connect(("127.0.0.1", port)).ok().map(|_| "up".into()), "up");
    assert_eq!(listening.as_deref(), Some("up"));
    child.kill().unwrap();
    child.wait().unwrap();

    // Step: the server follows; its port can be bound again.
    let freed =
        eventually(|| TcpListener::bind(("127.0.0.1", port)).ok().map(|_| "free".into()), "free");
    assert_eq!(freed.as_deref(), Some("free"), "the server outlived `strait up`");
}

/// Fixtures whose rendering uses what strait's runtime does not take yet, with the exact
/// message `strait -t` gives; when the runtime learns it, the test asks to drop the entry.
const RUNTIME_GAPS: &[(&str, &str)] = &[];

/// Every valid fixture, rendered by `strait render`, passes `strait -t` (and `nginx -t`
/// where nginx is installed; render/tests/fixtures.rs runs that too).
#[test]
fn every_rendered_fixture_passes_strait_t() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/render");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "invalid")
        .collect();
    cases.sort();
    assert!(cases.len() >= 12);
    std::env::set_var(
        "STRAIT_RENDER_TEST_CERT",
        std::fs::read_to_string(root.join("../pki/client-b.crt")).unwrap(),
    );
    std::env::set_var(
        "STRAIT_RENDER_TEST_KEY",
        std::fs::read_to_string(root.join("../pki/client-b.key")).unwrap(),
    );
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(root.join("../pki/ca.crt"), tmp.path().join("ca.crt")).unwrap();
        std::fs::create_dir(tmp.path().join("logs")).unwrap();
        let conf = tmp.path().join("nginx.conf");
        let routes = ["routes.yaml", "routes.json"]
            .map(|n| case.join(n))
            .into_iter()
            .find(|p| p.exists())
            .unwrap();
        let mut render = Command::new(STRAIT);
        // --check compiles the runtime plan too: it fails exactly where `strait -t` fails.
        render.arg("render").arg("--routes").arg(&routes).arg("-o").arg(&conf);
        if !RUNTIME_GAPS.iter().any(|(gap, _)| case.ends_with(gap)) {
            render.arg("--check");
        }
        if case.join("config.yaml").exists() {
            render.arg("--config").arg(case.join("config.yaml"));
        }
        assert!(render.status().unwrap().success(), "{}", case.display());
        let mut prefix = tmp.path().as_os_str().to_owned();
        prefix.push("/");
        let out = Command::new(STRAIT)
            .arg("-t")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        match RUNTIME_GAPS.iter().find(|(gap, _)| *gap == name) {
            Some((_, message)) => assert!(
                !out.status.success() && stderr.contains(message),
                "{name}: a known runtime gap changed (drop it from RUNTIME_GAPS?):\n{stderr}"
            ),
            None => assert!(out.status.success(), "{name}: strait -t failed:\n{stderr}"),
        }
    }
}
