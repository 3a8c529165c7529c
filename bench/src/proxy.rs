//! Starting and stopping the proxy under test (strait or nginx) with a generated configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Which program a run drives.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    /// The executable.
    pub(crate) binary: PathBuf,
    /// Lines the program needs at the top of its configuration (nginx: `load_module`,
    /// `user root;`).
    pub(crate) preamble: String,
}

/// A running proxy; stopped (TERM, then KILL) when dropped.
#[derive(Debug)]
pub(crate) struct Proxy {
    child: Child,
    /// The address it listens on.
    pub(crate) addr: SocketAddr,
    _root: tempfile::TempDir,
}

impl Proxy {
    /// Writes a configuration whose `stream {}` block holds `servers` (with `{PORT}` replaced
    /// by a free loopback port), starts the program in the foreground, and waits until its pid
    /// file exists and its port accepts connections.
    /// With `cpus`, the proxy runs under `taskset -c CPUS`.
    pub(crate) fn start(
        program: &Program,
        workers: usize,
        servers: &str,
        cpus: Option<&str>,
    ) -> anyhow::Result<Proxy> {
        let root = tempfile::Builder::new().prefix("strait-bench-").tempdir()?;
        std::fs::create_dir_all(root.path().join("conf"))?;
        std::fs::create_dir_all(root.path().join("logs"))?;
        let addr = free_port()?;
        let config = format!(
            "{preamble}daemon off;\nworker_processes {workers};\npid logs/nginx.pid;\n\
             error_log logs/error.log warn;\nevents {{ worker_connections 8192; }}\n\
             stream {{\n{servers}\n}}\n",
            preamble = program.preamble,
            servers = servers.replace("{PORT}", &addr.port().to_string()),
        );
        std::fs::write(root.path().join("conf/nginx.conf"), config)?;

        let prefix = format!("{}/", root.path().display());
        let mut command = match cpus {
            Some(cpus) => {
                let mut taskset = Command::new("taskset");
                taskset.args(["-c", cpus]).arg(&program.binary);
                taskset
            }
            None => Command::new(&program.binary),
        };
        let child = command
            .args(["-p", &prefix, "-c", "conf/nginx.conf", "-e", "logs/error.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", program.binary.display()))?;
        let mut proxy = Proxy { child, addr, _root: root };
        proxy.wait_ready()?;
        Ok(proxy)
    }

    /// Polls for the pid file and an accepting port, for at most ten seconds.
    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let pid_file = self._root.path().join("logs/nginx.pid");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(self._root.path().join("logs/error.log"))
                    .unwrap_or_default();
                bail!("the proxy exited at startup ({status}); its error log:\n{log}");
            }
            if pid_file.exists() && std::net::TcpStream::connect(self.addr).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the proxy did not become ready within 10 s")
    }

    /// CPU time the proxy has used so far, in nanoseconds: every thread of its process and
    /// of its child processes (nginx's workers), from `/proc/PID/task/TID/schedstat`.
    pub(crate) fn cpu_ns(&self) -> u64 {
        let mut total = 0;
        let mut pids = vec![self.child.id()];
        while let Some(pid) = pids.pop() {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
            for task in tasks.flatten() {
                let path = task.path();
                let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
                let ns = schedstat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
                total += ns.unwrap_or(0);
                let children = std::fs::read_to_string(path.join("children")).unwrap_or_default();
                pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
        total
    }

    /// The proxy's error log so far.
    pub(crate) fn error_log(&self) -> String {
        std::fs::read_to_string(self._root.path().join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown; a proxy that ignores it is killed.
        let pid = self.child.id() as libc::pid_t;
        let _ =
            Command::new("kill").args(["-TERM", &pid.to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port for the proxy, outside the kernel's ephemeral range: the clients of
/// the rows before leave that range crowded, and a port picked there could be taken by a
/// connection before the proxy binds it (see `strait_harness::ports`).
fn free_port() -> anyhow::Result<SocketAddr> {
    let port = strait_harness::ports::free_port(&Default::default())?;
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// nginx as Debian ships it: the stream module is dynamic, and workers drop to `nobody`
/// unless told otherwise, which would stop them reading the test certificates.
pub(crate) fn nginx(binary: &Path) -> Program {
    let mut preamble = String::new();
    let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    if module.exists() {
        preamble.push_str(&format!("load_module {};\n", module.display()));
    }
    if is_root() {
        preamble.push_str("user root;\n");
    }
    Program { binary: binary.to_path_buf(), preamble }
}

/// Whether this process runs as root, read from /proc (no unsafe call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
