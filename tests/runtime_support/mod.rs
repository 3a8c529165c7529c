//! Shared helpers of the runtime tests: start strait (and nginx, when installed) on a
//! config from testdata/runtime/, loopback clients and upstreams on ports bound here.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use strait_harness::ports;

/// The real nginx, when installed.
pub(crate) const NGINX: &str = "/usr/sbin/nginx";
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// Which server runs a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// The strait binary of this build.
    Strait,
    /// /usr/sbin/nginx.
    Nginx,
}

/// Flavors to run a differential test with: strait, and nginx when it is installed (a loud
/// notice when it is not).
pub(crate) fn flavors() -> Vec<Flavor> {
    if Path::new(NGINX).exists() && Path::new(STREAM_MODULE).exists() {
        vec![Flavor::Strait, Flavor::Nginx]
    } else {
        eprintln!("NOTICE: {NGINX} not installed: comparing with nginx is skipped");
        vec![Flavor::Strait]
    }
}

/// A free loopback port for a server strait or nginx binds later, never one this test
/// process was given before (two listeners of one config, or two keys of one
/// `map $server_port`, on the same port would fail the test for no fault). It lies outside
/// the kernel's ephemeral range, so no client connection takes it before the server binds
/// it: see `strait_harness::ports`.
pub(crate) fn free_port() -> u16 {
    free_ports(1)
}

/// The first of `count` consecutive free loopback ports (for a `listen` port range), as
/// [`free_port`].
pub(crate) fn free_ports(count: u16) -> u16 {
    ports::free_ports(count, &BTreeSet::new()).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads testdata/runtime/NAME and replaces `%%KEY%%` placeholders.
pub(crate) fn config(name: &str, vars: &HashMap<&str, String>) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/runtime").join(name);
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    for (key, value) in vars {
        text = text.replace(&format!("%%{key}%%"), value);
    }
    assert!(!text.replace("%%DIR%%", "").contains("%%"), "unreplaced placeholder in {name}");
    text
}

/// A running server in its own prefix directory.
pub(crate) struct Instance {
    /// strait or nginx.
    pub(crate) flavor: Flavor,
    /// The prefix directory (holds nginx.conf, error.log, nginx.pid).
    pub(crate) dir: tempfile::TempDir,
    /// The server process.
    pub(crate) child: Option<Child>,
}

impl Instance {
    /// The prefix path.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes `conf` (the main-context lines for the flavor are prepended) and starts the
    /// server the way nginx-tests does; waits for the pid file.
    pub(crate) fn start(flavor: Flavor, conf: &str) -> Instance {
        let instance = Instance::prepare(flavor, conf);
        instance.launch()
    }

    /// Writes the config without starting.
    pub(crate) fn prepare(flavor: Flavor, conf: &str) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let conf = conf.replace("%%DIR%%", dir.path().to_str().unwrap());
        let mut text = String::new();
        if flavor == Flavor::Nginx {
            text.push_str(&format!("load_module {STREAM_MODULE};\nuser root;\n"));
        }
        text.push_str(&conf);
        std::fs::write(dir.path().join("nginx.conf"), text).unwrap();
        Instance { flavor, dir, child: None }
    }

    /// The command line for this instance.
    pub(crate) fn command(&self) -> Command {
        let binary = match self.flavor {
            Flavor::Strait => env!("CARGO_BIN_EXE_strait"),
            Flavor::Nginx => NGINX,
        };
        let mut cmd = Command::new(binary);
        cmd.arg("-p").arg(format!("{}/", self.dir.path().display())).args([
            "-c",
            "nginx.conf",
            "-e",
            "error.log",
        ]);
        cmd
    }

    /// Starts the server and waits for its pid file (5 s, as nginx-tests).
    pub(crate) fn launch(mut self) -> Instance {
        let child = self.command().stdin(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        self.child = Some(child);
        let pid = self.dir.path().join("nginx.pid");
        let start = Instant::now();
        while !pid.exists() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let mut err = String::new();
                self.child.as_mut().unwrap().stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("{:?} exited before writing its pid file ({status}): {err}", self.flavor);
            }
            assert!(start.elapsed() < Duration::from_secs(5), "no pid file after 5 s");
            thread::sleep(Duration::from_millis(20));
        }
        // The pid file may be created before its content is written.
        while std::fs::read_to_string(&pid).map_or(true, |s| !s.ends_with('\n')) {
            thread::sleep(Duration::from_millis(5));
        }
        self
    }

    /// The server's pid, from the pid file.
    pub(crate) fn pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.dir.path().join("nginx.pid")).unwrap();
        text.trim().parse().unwrap()
    }

    /// Sends a signal to the server.
    pub(crate) fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([&format!("-{signal}"), &self.pid().to_string()]).status();
        assert!(status.unwrap().success());
    }

    /// Rewrites the config (same prepended lines) for a reload.
    pub(crate) fn rewrite(&self, conf: &str) {
        let conf = conf.replace("%%DIR%%", self.dir.path().to_str().unwrap());
        let mut text = String::new();
        if self.flavor == Flavor::Nginx {
            text.push_str(&format!("load_module {STREAM_MODULE};\nuser root;\n"));
        }
        text.push_str(&conf);
        std::fs::write(self.dir.path().join("nginx.conf"), text).unwrap();
    }

    /// The error log so far.
    pub(crate) fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// A file of the prefix directory.
    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Waits until the error log contains `needle` (bounded).
    pub(crate) fn wait_log(&self, needle: &str) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.error_log().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends QUIT and waits for the exit (bounded).
    pub(crate) fn quit(&mut self) -> std::process::ExitStatus {
        self.signal("QUIT");
        self.wait_exit()
    }

    /// Waits for the process to exit (10 s at most, then kills it).
    pub(crate) fn wait_exit(&mut self) -> std::process::ExitStatus {
        let child = self.child.as_mut().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                child.kill().ok();
                panic!("server did not exit");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
                let start = Instant::now();
                while child.try_wait().ok().flatten().is_none()
                    && start.elapsed() < Duration::from_secs(3)
                {
                    thread::sleep(Duration::from_millis(10));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Every log strait wrote must be free of key material (README: a `data:` value is
        // never logged); nginx prints `data:` values whole, so only strait is checked.
        if self.flavor == Flavor::Strait && !thread::panicking() {
            let logs = self.written_logs();
            for (name, text) in &logs {
                let found = key_material_in(text);
                assert!(found.is_empty(), "key material in {name}: {found:?}");
            }
        }
    }
}

/// Connects, sends `request`, closes the write side, and reads until the server closes
/// (5 s at most).
pub(crate) fn exchange(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(request).unwrap();
    let _ = stream.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// Connects and reads until the server closes, sending nothing.
pub(crate) fn read_all(port: u16) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// An echo upstream on a port of its own: every connection gets its bytes back.
pub(crate) fn echo_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let mut buf = [0u8; 65536];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    port
}

/// An upstream that accepts and then stays silent (holding each connection 30 s at most).
pub(crate) fn silent_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || {
                stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
                let mut buf = [0u8; 1024];
                let mut stream = stream;
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    port
}

/// Masks what differs between runs in an error log line: the stamp, pid#tid, connection
/// numbers, and ephemeral client ports.
pub(crate) fn normalize(line: &str) -> String {
    // Compiled once: an unoptimized build takes milliseconds per regex, per line.
    static PATTERNS: std::sync::OnceLock<[regex::Regex; 4]> = std::sync::OnceLock::new();
    let [stamp, pid, conn, port] = PATTERNS.get_or_init(|| {
        [
            regex::Regex::new(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ").unwrap(),
            regex::Regex::new(r"\] \d+#\d+: ").unwrap(),
            regex::Regex::new(r": \*\d+ ").unwrap(),
            regex::Regex::new(r"127\.0\.0\.1:\d{5}").unwrap(),
        ]
    });
    let line = stamp.replace(line, "");
    let line = pid.replace(&line, "] PID: ");
    let line = conn.replace(&line, ": *N ");
    port.replace_all(&line, "127.0.0.1:EPH").into_owned()
}

/// The session lines of an error log (those with a `*N` connection), normalized.
pub(crate) fn session_lines(log: &str) -> Vec<String> {
    log.lines().filter(|l| l.contains(": *")).map(normalize).collect()
}

/// Connects, sends `payload` (without closing the write side: a client EOF ends a session
/// unless `proxy_half_close` is on) and reads until as many bytes came back, then closes.
pub(crate) fn roundtrip(port: u16, payload: &[u8]) -> Vec<u8> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let data = payload.to_vec();
    let sender = thread::spawn(move || {
        let _ = writer.write_all(&data);
    });
    let mut reader = stream;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while out.len() < payload.len() {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let _ = sender.join();
    out
}

/// Closes `stream` with a reset (SO_LINGER 0), as a peer that aborts its connection.
pub(crate) fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

/// An upstream that sends `hi` on each connection, then resets it 200 ms later.
pub(crate) fn resetting_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let _ = stream.write_all(b"hi");
                thread::sleep(Duration::from_millis(200));
                reset(stream);
            });
        }
    });
    port
}

/// An upstream that writes to each connection until the write fails (30 s at most).
pub(crate) fn firehose_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            thread::spawn(move || {
                let chunk = vec![b'z'; 65536];
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(30) && stream.write_all(&chunk).is_ok()
                {
                }
            });
        }
    });
    port
}

/// The private keys of testdata/pki as lines that must never reach a log: each key's PEM
/// body lines (all but very short last lines, which could occur by chance), with the key's
/// file name; read once.
fn key_lines() -> &'static [(String, String)] {
    static LINES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(pki()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "key") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let pem = std::fs::read_to_string(&path).unwrap();
            let body = pem.lines().filter(|l| !l.starts_with("-----") && !l.contains(':'));
            for line in body.filter(|l| l.trim().len() >= 16) {
                lines.push((name.clone(), line.trim().to_string()));
            }
        }
        assert!(!lines.is_empty(), "no keys in {}", pki().display());
        lines
    })
}

/// What of a private key `text` carries: PEM markers (`-----BEGIN`, `PRIVATE KEY`) and
/// body lines of the keys of testdata/pki, each named with the line of `text` it is in;
/// empty when there is none.
pub(crate) fn key_material_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for marker in ["-----BEGIN", "PRIVATE KEY"] {
            if line.contains(marker) {
                found.push(format!("line {}: {marker:?}", n + 1));
            }
        }
        for (key, body) in key_lines() {
            if line.contains(body.as_str()) {
                found.push(format!("line {}: a line of {key}", n + 1));
            }
        }
    }
    found
}

impl Instance {
    /// Every log this instance wrote, by name: the files of its prefix directory whose name
    /// holds `.log` (gzip ones uncompressed) or that lie in a `logs` directory, and the
    /// server's stderr when it was captured (read once the server has exited).
    pub(crate) fn written_logs(&mut self) -> Vec<(String, String)> {
        let mut logs = Vec::new();
        let mut dirs = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
                let in_logs = dir.file_name().is_some_and(|d| d == "logs");
                if !name.contains(".log") && !in_logs {
                    continue;
                }
                let Ok(bytes) = std::fs::read(&path) else { continue };
                let text = if name.ends_with(".gz") {
                    let mut plain = Vec::new();
                    let mut gz = flate2::read::MultiGzDecoder::new(bytes.as_slice());
                    match gz.read_to_end(&mut plain) {
                        Ok(_) => plain,
                        Err(_) => bytes,
                    }
                } else {
                    bytes
                };
                logs.push((path.display().to_string(), String::from_utf8_lossy(&text).into()));
            }
        }
        let exited = self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_some());
        let stderr = self.child.as_mut().and_then(|c| c.stderr.take());
        if let (true, Some(mut stderr)) = (exited, stderr) {
            // Read on a thread: a process the server started might still hold the pipe.
            let (tx, rx) = std::sync::mpsc::channel();
            thread::spawn(move || {
                let mut text = Vec::new();
                let _ = stderr.read_to_end(&mut text);
                let _ = tx.send(text);
            });
            if let Ok(text) = rx.recv_timeout(Duration::from_secs(2)) {
                logs.push(("stderr".to_string(), String::from_utf8_lossy(&text).into()));
            }
        }
        logs
    }
}

/// The test PKI of testdata/pki.
pub(crate) fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki")
}

impl Instance {
    /// Starts the server with `extra` arguments after `-p`, `-c` and `-e` (`-g DIRECTIVES`),
    /// and waits for its pid file as [`Instance::launch`] does.
    pub(crate) fn launch_with(mut self, extra: &[&str]) -> Instance {
        let mut command = self.command();
        command.args(extra);
        let child = command.stdin(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        self.child = Some(child);
        let pid = self.dir.path().join("nginx.pid");
        let start = Instant::now();
        while std::fs::read_to_string(&pid).map_or(true, |s| !s.ends_with('\n')) {
            let child = self.child.as_mut().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("{:?} exited before writing its pid file ({status}): {err}", self.flavor);
            }
            assert!(start.elapsed() < Duration::from_secs(5), "no pid file after 5 s");
            thread::sleep(Duration::from_millis(20));
        }
        self
    }
}

/// A loopback client whose source address is `source` (any of 127/8 is local on Linux):
/// connects to 127.0.0.1:`port` and reads until the server closes, sending nothing.
pub(crate) fn read_all_from(source: std::net::Ipv4Addr, port: u16) -> Vec<u8> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&std::net::SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    out
}

/// Polls `done` every 10 ms until it holds (true) or `limit` passed (false).
pub(crate) fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    done()
}

/// An upstream that answers each connection with its name and holds it until the other side
/// closes (30 s at most), counting the connections it holds.
#[derive(Debug, Clone)]
pub(crate) struct HoldingUpstream {
    /// Its loopback port.
    pub(crate) port: u16,
    /// The connections open now.
    pub(crate) active: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl HoldingUpstream {
    /// Listens on a port of its own.
    pub(crate) fn start(name: &str) -> HoldingUpstream {
        HoldingUpstream::on(TcpListener::bind("127.0.0.1:0").unwrap(), name)
    }

    /// Serves `listener`.
    pub(crate) fn on(listener: TcpListener, name: &str) -> HoldingUpstream {
        use std::sync::atomic::Ordering;
        let port = listener.local_addr().unwrap().port();
        let active = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = active.clone();
        let name = name.as_bytes().to_vec();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let counter = counter.clone();
                let name = name.clone();
                thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
                    if stream.write_all(&name).is_ok() {
                        let mut buf = [0u8; 1024];
                        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                    }
                    drop(stream);
                    counter.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        HoldingUpstream { port, active }
    }

    /// The connections it holds now.
    pub(crate) fn active(&self) -> usize {
        self.active.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A client session held open: connects to `port` and reads the first bytes the upstream
/// sends (a peer's name; empty when the server closed the session instead).
pub(crate) fn hold(port: u16) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap_or(0);
    (stream, String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A loopback port whose connects time out: a listener with a backlog of 0 that never
/// accepts, its one queue slot taken, so further SYNs are dropped (it lives as long as the
/// test process).
pub(crate) fn blackhole_upstream() -> u16 {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    socket.listen(0).unwrap();
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    let filler = TcpStream::connect(addr).unwrap();
    std::mem::forget(listener);
    std::mem::forget(filler);
    // The queue is full once a connect with a short timeout no longer completes.
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(extra) => std::mem::forget(extra),
            Err(_) => return addr.port(),
        }
    }
}

/// An upstream that sends `data` on each connection, then holds it until the other side
/// closes (30 s at most).
pub(crate) fn sending_upstream(data: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = std::sync::Arc::new(data);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let data = data.clone();
            thread::spawn(move || {
                stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
                if stream.write_all(&data).is_ok() {
                    let mut buf = [0u8; 1024];
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                }
            });
        }
    });
    port
}

/// Connects to `port` and reads until `len` bytes came (or the server closed, or 10 s of
/// silence), sending nothing.
pub(crate) fn read_exactly(port: u16, len: usize) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while out.len() < len {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

/// A TLS ClientHello record (in a TLS 1.0 record header, as clients send it): `version`,
/// a fixed random, no session id, `ciphers`, no compression, then `extensions` (type, data)
/// in order.
pub(crate) fn client_hello(
    version: [u8; 2],
    ciphers: &[u16],
    extensions: &[(u16, Vec<u8>)],
) -> Vec<u8> {
    let mut body = version.to_vec();
    body.extend([7u8; 32]);
    body.push(0);
    body.extend(((ciphers.len() * 2) as u16).to_be_bytes());
    for cipher in ciphers {
        body.extend(cipher.to_be_bytes());
    }
    body.extend([1, 0]);
    let mut ext = Vec::new();
    for (kind, data) in extensions {
        ext.extend(kind.to_be_bytes());
        ext.extend((data.len() as u16).to_be_bytes());
        ext.extend(data);
    }
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut message = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    message.extend(body);
    let mut record = vec![0x16, 3, 1, (message.len() >> 8) as u8, message.len() as u8];
    record.extend(message);
    record
}
