//! Open log files, shared by every log that names the same path and reopened on USR1; a file
//! written by buffered access logs holds their buffer, as nginx keeps it on the open file. The
//! syslog peers of a configuration are kept beside them.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use super::buffer::{BufferSettings, LogBuffer};
use super::syslog::SyslogPeer;
use super::ErrorLog;
use strait_parser::check::SyslogTarget;

/// One log file opened for appending. Writes of whole lines are single `write` calls on an
/// `O_APPEND` descriptor, so concurrent writers never interleave within a line.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    /// `None` when the file could not be opened: the configuration that named it is refused
    /// (`LogFiles::first_failure`), so nothing writes through it.
    file: RwLock<Option<File>>,
    /// The access log buffer, once an `access_log ... buffer=` (or `gzip`) names the file.
    buffer: OnceLock<LogBuffer>,
}

impl LogFile {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Arc<LogFile>> {
        let file = open_append(path)?;
        Ok(Arc::new(LogFile {
            path: path.to_path_buf(),
            file: RwLock::new(Some(file)),
            buffer: OnceLock::new(),
        }))
    }

    /// Gives the file a buffer, or checks that the one it has agrees with `settings` (nginx:
    /// `access_log "PATH" already defined with conflicting parameters` otherwise).
    pub fn set_buffer(&self, settings: BufferSettings) -> Result<(), BufferSettings> {
        let buffer = self.buffer.get_or_init(|| LogBuffer::new(settings));
        if buffer.settings() == settings {
            Ok(())
        } else {
            Err(buffer.settings())
        }
    }

    /// Writes an access log line: through the buffer when the file has one.
    pub fn write_line(&self, line: &[u8]) {
        match self.buffer.get() {
            Some(buffer) => buffer.append(self, line),
            None => self.write(line),
        }
    }

    /// Whether an `access_log ... buffer=` (or `gzip`) gave the file a buffer.
    pub fn is_buffered(&self) -> bool {
        self.buffer.get().is_some()
    }

    /// Writes out buffered lines whose `flush=` time has passed (all of them when `force`).
    pub fn flush(&self, force: bool) {
        if let Some(buffer) = self.buffer.get() {
            buffer.flush(self, force);
        }
    }

    /// The absolute path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` (one or more whole lines).
    pub fn write(&self, bytes: &[u8]) {
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        // A log write that fails has nowhere to be reported; nginx ignores it too.
        if let Some(file) = &*file {
            let _ = (&*file).write_all(bytes);
        }
    }

    /// Opens the path again (USR1), so a rotated file is replaced by a fresh one; buffered
    /// lines go to the old file first, as nginx flushes before it reopens.
    pub fn reopen(&self) -> io::Result<()> {
        self.flush(true);
        let fresh = open_append(&self.path)?;
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        Ok(())
    }
}

impl Drop for LogFile {
    /// Buffered lines are written when the configuration that opened the file goes away.
    fn drop(&mut self) {
        self.flush(true);
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The set of log files a configuration opened, by path: the same path opens once.
///
/// nginx opens the files only after reading the whole configuration, so a fault later in the
/// file is reported before an `open()` failure: a path that cannot be opened is remembered
/// here and reported by the caller once the configuration was read (`first_failure`).
#[derive(Debug, Default)]
pub struct LogFiles {
    files: Mutex<HashMap<PathBuf, Arc<LogFile>>>,
    failures: Mutex<Vec<(PathBuf, io::Error)>>,
    /// Every `syslog:` log's peer, each directive its own (as in nginx).
    syslog_peers: Mutex<Vec<Arc<SyslogPeer>>>,
    /// Files are named but never opened (a configuration read by `-s`).
    unopened: bool,
}

impl LogFiles {
    /// A set that opens nothing: every file is closed, and nothing fails.
    pub fn unopened() -> LogFiles {
        LogFiles { unopened: true, ..LogFiles::default() }
    }

    /// The file for `path`, opening it on first use; a failure is kept for `first_failure`.
    pub fn get(&self, path: &Path) -> Arc<LogFile> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = files.get(path) {
            return file.clone();
        }
        let closed = || {
            Arc::new(LogFile {
                path: path.to_path_buf(),
                file: RwLock::new(None),
                buffer: OnceLock::new(),
            })
        };
        let file = if self.unopened {
            closed()
        } else {
            LogFile::open(path).unwrap_or_else(|e| {
                let failures = &mut self.failures.lock().unwrap_or_else(|e| e.into_inner());
                failures.push((path.to_path_buf(), e));
                closed()
            })
        };
        files.insert(path.to_path_buf(), file.clone());
        file
    }

    /// nginx's message for the first path that could not be opened, in the order of `get`:
    /// `open() "PATH" failed (2: No such file or directory)`.
    pub fn first_failure(&self) -> Option<String> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.first().map(|(path, e)| {
            format!("open() \"{}\" failed{}", path.display(), crate::log::error::errno_suffix(e))
        })
    }

    /// A new syslog peer for a `syslog:` log; it connects on its first line.
    pub fn syslog(&self, target: SyslogTarget) -> Arc<SyslogPeer> {
        let peer = Arc::new(SyslogPeer::new(target));
        self.syslog_peers.lock().unwrap_or_else(|e| e.into_inner()).push(peer.clone());
        peer
    }

    /// Gives every syslog peer the main error log, where nginx logs their failures.
    pub fn report_to(&self, main_log: &ErrorLog) {
        for peer in self.syslog_peers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            peer.report_to(main_log);
        }
    }

    /// Reopens every file (USR1); returns the failures with their paths.
    pub fn reopen_all(&self) -> Vec<(PathBuf, io::Error)> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut failures = Vec::new();
        for file in files.values() {
            if let Err(e) = file.reopen() {
                failures.push((file.path.clone(), e));
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_writes_buffered_lines_to_the_old_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let file = LogFile::open(&path).unwrap();
        let settings = BufferSettings { size: 1024, flush: None, gzip: None };
        file.set_buffer(settings).unwrap();
        file.write_line(b"before\n");
        let rotated = dir.path().join("access.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        file.reopen().unwrap();
        file.write_line(b"after\n");
        drop(file);
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "before\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
    }

    #[test]
    fn a_second_buffer_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let file = LogFile::open(&dir.path().join("a.log")).unwrap();
        let settings = BufferSettings { size: 1024, flush: None, gzip: Some(1) };
        assert!(file.set_buffer(settings).is_ok());
        assert!(file.set_buffer(settings).is_ok());
        assert!(file.set_buffer(BufferSettings { gzip: None, ..settings }).is_err());
    }
}
