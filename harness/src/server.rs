//! The server under test: its server root, starting it like Test::Nginx
//! (`BIN -p ROOT/ -c ROOT/conf/nginx.conf` with `daemon on`), and stopping it.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::sys;

/// How long the start command may take to put the server in the background.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the pid file may take to appear after the start command exited 0.
const PID_FILE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a server may take to exit after QUIT (Test::Nginx's default timeout).
const QUIT_TIMEOUT: Duration = Duration::from_secs(3);

const SIGQUIT: i32 = 3;
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

/// A server root: `conf/`, `logs/` and `html/` under one directory.
#[derive(Debug, Clone)]
pub struct ServerRoot {
    /// The directory (absolute).
    pub dir: PathBuf,
}

impl ServerRoot {
    /// `conf/nginx.conf`.
    pub fn conf_file(&self) -> PathBuf {
        self.dir.join("conf/nginx.conf")
    }

    /// `logs/error.log`.
    pub fn error_log(&self) -> PathBuf {
        self.dir.join("logs/error.log")
    }

    /// `logs/access.log`.
    pub fn access_log(&self) -> PathBuf {
        self.dir.join("logs/access.log")
    }

    /// `logs/nginx.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("logs/nginx.pid")
    }

    /// `html/`.
    pub fn html_dir(&self) -> PathBuf {
        self.dir.join("html")
    }

    /// Recreates the root as Test::Nginx's `setup_server_root` does: fresh `conf/`, `logs/`
    /// and `html/` (with its `index.html`). Only those and `*_temp`/`*_cache` directories
    /// are removed, never the rest of the directory (it may be a mistaken
    /// `TEST_NGINX_SERVROOT`).
    pub fn reset(&self) -> io::Result<()> {
        if self.dir.is_dir() {
            for entry in fs::read_dir(&self.dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = matches!(name.as_str(), "conf" | "logs" | "html")
                    || name.ends_with("_temp")
                    || name.ends_with("_cache");
                if ours && entry.file_type()?.is_dir() {
                    fs::remove_dir_all(entry.path())?;
                }
            }
        }
        for sub in ["conf", "logs", "html"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        fs::write(
            self.html_dir().join("index.html"),
            "<html><head><title>It works!</title></head><body>It works!</body></html>",
        )
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The pid from `logs/nginx.pid`.
    pub pid: i32,
    /// The start command's process when it stayed in the foreground (a binary that does not
    /// daemonize); reaped on stop.
    foreground: Option<Child>,
}

/// What happened when the server was started.
#[derive(Debug)]
pub enum Started {
    /// The server runs.
    Running(Server),
    /// The start command failed: its exit status and what it wrote to stderr.
    Failed {
        /// The exit status, `None` when killed by a signal.
        code: Option<i32>,
        /// Why it failed when the exit status does not tell (no pid file, timeout).
        reason: String,
        /// The command's stderr.
        stderr: String,
    },
}

/// Starts `binary` on the root and waits until it is in the background with a pid file.
/// The command's stderr goes to `stderr_path` (outside the root).
pub fn start(binary: &Path, root: &ServerRoot, stderr_path: &Path) -> io::Result<Started> {
    // The start command, as Test::Nginx runs it.
    let stderr_file = File::create(stderr_path)?;
    let mut prefix = root.dir.as_os_str().to_owned();
    prefix.push("/");
    let mut child = Command::new(binary)
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(root.conf_file())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr_file))
        .spawn()?;
    let read_stderr = || fs::read_to_string(stderr_path).unwrap_or_default();

    // Wait for the command to exit (daemon on), or for a foreground server's pid file.
    let began = Instant::now();
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(pid) = read_pid(&root.pid_file()) {
            if sys::is_running(pid) && began.elapsed() > Duration::from_millis(300) {
                return Ok(Started::Running(Server { pid, foreground: Some(child) }));
            }
        }
        if began.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Started::Failed {
                code: None,
                reason: format!("did not start within {}s", START_TIMEOUT.as_secs()),
                stderr: read_stderr(),
            });
        }
        sleep(Duration::from_millis(5));
    };
    if !status.success() {
        return Ok(Started::Failed {
            code: status.code(),
            reason: format!("the start command exited with {status}"),
            stderr: read_stderr(),
        });
    }

    // The daemon writes its pid file.
    let began = Instant::now();
    loop {
        if let Some(pid) = read_pid(&root.pid_file()) {
            return Ok(Started::Running(Server { pid, foreground: None }));
        }
        if began.elapsed() > PID_FILE_TIMEOUT {
            return Ok(Started::Failed {
                code: Some(0),
                reason: format!(
                    "exited 0 but wrote no pid file {} within {}s",
                    root.pid_file().display(),
                    PID_FILE_TIMEOUT.as_secs()
                ),
                stderr: read_stderr(),
            });
        }
        sleep(Duration::from_millis(5));
    }
}

/// The pid in a pid file, once the file holds one.
fn read_pid(path: &Path) -> Option<i32> {
    let text = fs::read_to_string(path).ok()?;
    text.trim().parse().ok().filter(|pid| *pid > 0)
}

impl Server {
    /// Whether the server process still runs (a zombie counts as gone).
    pub fn is_running(&mut self) -> bool {
        if let Some(child) = &mut self.foreground {
            return matches!(child.try_wait(), Ok(None));
        }
        alive(self.pid)
    }

    /// Stops the server as Test::Nginx does: QUIT, wait, then TERM, then KILL.
    pub fn stop(mut self) {
        // QUIT lets the server finish its sessions and write its last log lines.
        sys::signal(self.pid, SIGQUIT);
        if self.wait_exit(QUIT_TIMEOUT) {
            return;
        }

        // Then TERM, then KILL.
        sys::signal(self.pid, SIGTERM);
        if self.wait_exit(Duration::from_secs(1)) {
            return;
        }
        sys::signal(self.pid, SIGKILL);
        self.wait_exit(Duration::from_secs(1));
    }

    fn wait_exit(&mut self, limit: Duration) -> bool {
        let began = Instant::now();
        while began.elapsed() < limit {
            if !self.is_running() {
                return true;
            }
            sleep(Duration::from_millis(10));
        }
        !self.is_running()
    }
}

/// Whether `pid` runs and is not a zombie (a daemon whose parent exited may not be reaped
/// at once in a container).
fn alive(pid: i32) -> bool {
    if !sys::is_running(pid) {
        return false;
    }
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state =
                stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z') | Some('X'))
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_recreates_only_the_server_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = ServerRoot { dir: dir.path().to_path_buf() };
        fs::create_dir_all(dir.path().join("logs")).unwrap();
        fs::write(dir.path().join("logs/error.log"), "old").unwrap();
        fs::create_dir_all(dir.path().join("proxy_temp")).unwrap();
        fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        root.reset().unwrap();
        assert!(!root.error_log().exists());
        assert!(!dir.path().join("proxy_temp").exists());
        assert!(dir.path().join("keep.txt").exists());
        assert!(root.html_dir().join("index.html").exists());
        assert!(dir.path().join("conf").is_dir());
    }
}
