//! The error log: levels, targets (files, stderr, syslog servers, memory buffers) and nginx's
//! line format `YYYY/MM/DD HH:MM:SS [LEVEL] PID#TID: *CONN MESSAGE`.

use super::files::LogFile;
use super::memory::MemoryLog;
use super::syslog::SyslogPeer;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

/// nginx's longest error log line (`NGX_MAX_ERROR_STR`), newline included.
const MAX_LINE: usize = 2048;

/// Error log severity, most severe first, as nginx orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `emerg`
    Emerg,
    /// `alert`
    Alert,
    /// `crit`
    Crit,
    /// `error`
    Error,
    /// `warn`
    Warn,
    /// `notice`
    Notice,
    /// `info`
    Info,
    /// `debug`
    Debug,
}

impl Level {
    /// The level's name as written in configuration and log lines.
    pub fn name(self) -> &'static str {
        match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    /// The level's syslog severity: `emerg` 0 to `debug` 7, as nginx sends it.
    pub fn severity(self) -> u8 {
        self as u8
    }

    /// Parses a level name (`error_log FILE LEVEL`).
    pub fn parse(name: &[u8]) -> Option<Level> {
        Some(match name {
            b"emerg" => Level::Emerg,
            b"alert" => Level::Alert,
            b"crit" => Level::Crit,
            b"error" => Level::Error,
            b"warn" => Level::Warn,
            b"notice" => Level::Notice,
            b"info" => Level::Info,
            b"debug" => Level::Debug,
            _ => return None,
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where error log lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// The process's standard error.
    Stderr,
    /// A file opened for appending.
    File(Arc<LogFile>),
    /// `syslog:`: a datagram per line to a syslog server.
    Syslog(Arc<SyslogPeer>),
    /// `memory:SIZE`: a cyclic buffer in process memory.
    Memory(Arc<MemoryLog>),
}

impl Sink {
    /// Whether the sink is a file (stderr included): nginx adds the default file log to a
    /// main context whose error logs are all syslog or memory ones.
    pub fn is_file(&self) -> bool {
        matches!(self, Sink::Stderr | Sink::File(_))
    }
}

/// One `error_log` directive: a sink and the least severe level it records.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where lines go.
    pub sink: Sink,
    /// Lines at this level or more severe are written.
    pub level: Level,
}

/// An error log: every `error_log` directive of one context.
#[derive(Debug, Clone, Default)]
pub struct ErrorLog {
    targets: Arc<Vec<Target>>,
}

impl ErrorLog {
    /// A log writing to `targets`.
    pub fn new(targets: Vec<Target>) -> ErrorLog {
        ErrorLog { targets: Arc::new(targets) }
    }

    /// A log writing to stderr at `level`.
    pub fn stderr(level: Level) -> ErrorLog {
        ErrorLog::new(vec![Target { sink: Sink::Stderr, level }])
    }

    /// Whether any target records `level`.
    pub fn enabled(&self, level: Level) -> bool {
        self.targets.iter().any(|t| level <= t.level)
    }

    /// Whether one of the targets is stderr.
    pub fn writes_stderr(&self) -> bool {
        self.targets.iter().any(|t| matches!(t.sink, Sink::Stderr))
    }

    /// Writes one line: `connection` is the `*N` number when a connection is known, `message`
    /// the text after it (with any errno and context already appended).
    pub fn write(&self, level: Level, connection: Option<u64>, message: &str) {
        if !self.enabled(level) {
            return;
        }
        let now = SystemTime::now();
        let line = format_line(now, level, connection, message);
        for target in self.targets.iter().filter(|t| level <= t.level) {
            match &target.sink {
                Sink::Stderr => {
                    let _ = io::stderr().lock().write_all(line.as_bytes());
                }
                Sink::File(file) => file.write(line.as_bytes()),
                // The line as the file has it, without its newline, after the syslog header.
                Sink::Syslog(peer) => {
                    let line = line.strip_suffix('\n').unwrap_or(&line);
                    peer.write_error(now, level, line.as_bytes());
                }
                Sink::Memory(memory) => memory.write(line.as_bytes()),
            }
        }
    }

    /// A reference that does not keep the log's targets alive (a syslog peer of the log
    /// reports its own failures to it).
    pub fn downgrade(&self) -> WeakErrorLog {
        WeakErrorLog(Arc::downgrade(&self.targets))
    }
}

/// An [`ErrorLog`] that may be gone: [`ErrorLog::downgrade`].
#[derive(Debug, Clone)]
pub struct WeakErrorLog(Weak<Vec<Target>>);

impl WeakErrorLog {
    /// The log, while its configuration is in use.
    pub fn upgrade(&self) -> Option<ErrorLog> {
        self.0.upgrade().map(|targets| ErrorLog { targets })
    }
}

impl ErrorLog {
    /// Writes a line while the server starts, as nginx does before it serves: a line at
    /// `warn` or more severe also goes to stderr as `nginx: [LEVEL] MESSAGE`, unless a target
    /// already is stderr.
    pub fn write_startup(&self, level: Level, message: &str) {
        self.write(level, None, message);
        if level <= Level::Warn && !self.writes_stderr() {
            let _ = writeln!(io::stderr().lock(), "nginx: [{level}] {message}");
        }
    }
}

/// Formats one error log line, newline included, cut at nginx's maximum length.
pub fn format_line(
    now: SystemTime,
    level: Level,
    connection: Option<u64>,
    message: &str,
) -> String {
    let mut line = format!(
        "{} [{}] {}#{}: ",
        crate::time::error_log_stamp(now),
        level,
        std::process::id(),
        crate::sys::thread_id()
    );
    if let Some(n) = connection {
        line.push_str(&format!("*{n} "));
    }
    line.push_str(message);
    if line.len() > MAX_LINE - 1 {
        let mut cut = MAX_LINE - 1;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line.push('\n');
    line
}

/// nginx's ` (ERRNO: STRERROR)` suffix for an OS error.
pub fn errno_suffix(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => {
            let text = io::Error::from_raw_os_error(code).to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            format!(" ({code}: {text})")
        }
        None => format!(" ({err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_like_nginx() {
        assert!(Level::Emerg < Level::Error);
        assert!(Level::Info < Level::Debug);
        assert_eq!(Level::parse(b"warn"), Some(Level::Warn));
        assert_eq!(Level::parse(b"WARN"), None);
    }

    #[test]
    fn line_has_nginx_shape() {
        let line = format_line(SystemTime::now(), Level::Info, Some(3), "hello");
        let re =
            regex::Regex::new(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[info\] \d+#\d+: \*3 hello\n$")
                .unwrap();
        assert!(re.is_match(&line), "{line}");
    }

    #[test]
    fn errno_text_matches_strerror() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(errno_suffix(&e), " (111: Connection refused)");
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(5000);
        let line = format_line(SystemTime::now(), Level::Error, None, &long);
        assert_eq!(line.len(), MAX_LINE);
    }
}
