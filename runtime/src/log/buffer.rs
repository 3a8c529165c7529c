//! The buffer of a buffered access log (`buffer=`, `flush=`, `gzip[=N]`). nginx keeps one per
//! open file, shared by every `access_log` naming it; each time it is written out it becomes
//! one complete gzip member when `gzip` is on, so the file reads with `zcat`.

use super::LogFile;
use flate2::{Compression, GzBuilder};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What `buffer=`, `flush=` and `gzip` set; two `access_log`s of one file must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSettings {
    /// `buffer=SIZE`: 64k when only `gzip` is given.
    pub size: usize,
    /// `flush=TIME`: buffered lines are written at most this long after the first of them.
    pub flush: Option<Duration>,
    /// `gzip[=LEVEL]`: the compression level, 1 when none is given.
    pub gzip: Option<u32>,
}

/// The lines waiting in a buffer, and when the first of them came.
#[derive(Debug)]
struct Pending {
    bytes: Vec<u8>,
    since: Instant,
}

/// A log file's buffer.
#[derive(Debug)]
pub struct LogBuffer {
    settings: BufferSettings,
    pending: Mutex<Pending>,
}

impl LogBuffer {
    /// An empty buffer.
    pub fn new(settings: BufferSettings) -> LogBuffer {
        let pending = Pending { bytes: Vec::with_capacity(settings.size), since: Instant::now() };
        LogBuffer { settings, pending: Mutex::new(pending) }
    }

    /// What the buffer was configured with.
    pub fn settings(&self) -> BufferSettings {
        self.settings
    }

    /// Adds a line, as `ngx_stream_log_handler` does: what waits is written out first when the
    /// line does not fit; a line larger than the whole buffer is written on its own.
    pub fn append(&self, file: &LogFile, line: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());

        // No room: out with what waits.
        if line.len() > self.settings.size - pending.bytes.len() {
            self.write_out(file, &pending.bytes);
            pending.bytes.clear();
        }

        // Room now: the line waits (the flush interval runs from the first line).
        if line.len() <= self.settings.size - pending.bytes.len() {
            if pending.bytes.is_empty() {
                pending.since = Instant::now();
            }
            pending.bytes.extend_from_slice(line);
            return;
        }

        // Larger than the buffer: written alone.
        self.write_out(file, line);
    }

    /// Writes out what waits once the flush interval has passed since its first line, or
    /// at once when `force` (reopening, the configuration going away).
    pub fn flush(&self, file: &LogFile, force: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.bytes.is_empty() {
            return;
        }
        let due = self.settings.flush.is_some_and(|flush| pending.since.elapsed() >= flush);
        if force || due {
            self.write_out(file, &pending.bytes);
            pending.bytes.clear();
        }
    }

    /// Writes `bytes` to the file: as they are, or as one gzip member.
    fn write_out(&self, file: &LogFile, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match self.settings.gzip {
            None => file.write(bytes),
            Some(level) => file.write(&gzip_member(bytes, level)),
        }
    }
}

/// `bytes` as one complete gzip member at `level`, with the header zlib writes for nginx
/// (no name, no time, Unix).
pub fn gzip_member(bytes: &[u8], level: u32) -> Vec<u8> {
    let out = Vec::with_capacity(bytes.len() / 4 + 32);
    let mut encoder = GzBuilder::new().operating_system(3).write(out, Compression::new(level));
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn settings(size: usize, gzip: Option<u32>) -> BufferSettings {
        BufferSettings { size, flush: None, gzip }
    }

    fn gunzip_all(bytes: &[u8]) -> String {
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn members_decompress_to_the_lines() {
        let member = gzip_member(b"a line\n", 1);
        assert_eq!(&member[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(member[9], 3);
        let two = [gzip_member(b"one\n", 1), gzip_member(b"two\n", 9)].concat();
        assert_eq!(gunzip_all(&two), "one\ntwo\n");
    }

    #[test]
    fn lines_wait_until_one_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let file = LogFile::open(&path).unwrap();
        let buffer = LogBuffer::new(settings(9, None));
        buffer.append(&file, b"1234\n");
        buffer.append(&file, b"567\n");
        // Exactly full: still waiting, as nginx keeps it until the next line.
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        buffer.append(&file, b"8\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"1234\n567\n");
        // Larger than the buffer: what waits, then the line alone.
        buffer.append(&file, b"a long line\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"1234\n567\n8\na long line\n");
        buffer.flush(&file, true);
        assert_eq!(std::fs::read(&path).unwrap().len(), 23);
    }

    #[test]
    fn each_write_out_is_one_gzip_member() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log.gz");
        let file = LogFile::open(&path).unwrap();
        let buffer = LogBuffer::new(settings(8, Some(1)));
        buffer.append(&file, b"1234\n");
        buffer.append(&file, b"5678\n");
        buffer.flush(&file, true);
        let bytes = std::fs::read(&path).unwrap();
        let members = bytes.windows(4).filter(|w| *w == [0x1f, 0x8b, 8, 0]).count();
        assert_eq!(members, 2);
        assert_eq!(gunzip_all(&bytes), "1234\n5678\n");
    }
}
