//! Open log files, shared by every log that names the same path and reopened on USR1.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// One log file opened for appending. Writes of whole lines are single `write` calls on an
/// `O_APPEND` descriptor, so concurrent writers never interleave within a line.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: RwLock<File>,
}

impl LogFile {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Arc<LogFile>> {
        let file = open_append(path)?;
        Ok(Arc::new(LogFile { path: path.to_path_buf(), file: RwLock::new(file) }))
    }

    /// The absolute path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` (one or more whole lines).
    pub fn write(&self, bytes: &[u8]) {
        let file = self.file.read().unwrap_or_else(|e| e.into_inner());
        // A log write that fails has nowhere to be reported; nginx ignores it too.
        let _ = (&*file).write_all(bytes);
    }

    /// Opens the path again (USR1), so a rotated file is replaced by a fresh one.
    pub fn reopen(&self) -> io::Result<()> {
        let fresh = open_append(&self.path)?;
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The set of log files a configuration opened, by path: the same path opens once.
#[derive(Debug, Default)]
pub struct LogFiles {
    files: Mutex<HashMap<PathBuf, Arc<LogFile>>>,
}

impl LogFiles {
    /// The open file for `path`, opening it on first use.
    pub fn get(&self, path: &Path) -> io::Result<Arc<LogFile>> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = files.get(path) {
            return Ok(file.clone());
        }
        let file = LogFile::open(path)?;
        files.insert(path.to_path_buf(), file.clone());
        Ok(file)
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
