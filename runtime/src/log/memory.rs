//! `error_log memory:SIZE`: nginx's debugging log (built `--with-debug`, as Debian's is), a
//! cyclic buffer in process memory that only a debugger or a core dump shows. It starts with
//! the line `MEMLOG SIZE FILE:LINE` to be found by; lines follow it, the oldest overwritten
//! once the buffer is full.

use std::sync::Mutex;

/// One memory log.
#[derive(Debug)]
pub struct MemoryLog {
    /// `SIZE`: the whole buffer, its first line included.
    size: usize,
    ring: Mutex<Ring>,
}

/// The buffer: grown as lines come (nginx allocates and fills it with spaces at once), up to
/// its size.
#[derive(Debug)]
struct Ring {
    /// The first line, then the cyclic part.
    bytes: Vec<u8>,
    /// The length of the first line.
    start: usize,
    /// Bytes written to the cyclic part so far.
    written: usize,
}

impl MemoryLog {
    /// A buffer of `size` bytes (at least the first line and one longest error line, as
    /// `strait_parser::check::memory_log_size` checks) named by `file` at `line`.
    pub fn new(size: usize, file: &str, line: usize) -> MemoryLog {
        let mut bytes = format!("MEMLOG {size} {file}:{line}\n").into_bytes();
        bytes.truncate(size);
        let start = bytes.len();
        MemoryLog { size, ring: Mutex::new(Ring { bytes, start, written: 0 }) }
    }

    /// Writes one line (newline included) after the last, wrapping to the start of the
    /// cyclic part when the end is reached.
    pub fn write(&self, line: &[u8]) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        let area = self.size - ring.start;
        if area == 0 {
            return;
        }
        let at = ring.written % area;
        ring.written = ring.written.wrapping_add(line.len());
        let first = line.len().min(area - at);
        ring.put(at, &line[..first]);
        // What did not fit at the end: at the start (a line never exceeds the area).
        let rest = &line[first..];
        ring.put(0, &rest[..rest.len().min(area)]);
    }

    /// The buffer as a debugger would read it (the part not written yet left out).
    pub fn contents(&self) -> Vec<u8> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).bytes.clone()
    }
}

impl Ring {
    /// Copies `bytes` to `offset` of the cyclic part, growing the buffer with spaces.
    fn put(&mut self, offset: usize, bytes: &[u8]) {
        let at = self.start + offset;
        let end = at + bytes.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, b' ');
        }
        self.bytes[at..end].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_over_the_oldest() {
        let log = MemoryLog::new(30, "/c", 3);
        assert_eq!(log.contents(), b"MEMLOG 30 /c:3\n");
        log.write(b"123456\n");
        log.write(b"abcdef\n");
        assert_eq!(log.contents(), b"MEMLOG 30 /c:3\n123456\nabcdef\n");
        // 15 bytes of cyclic part: the third line ends at its start.
        log.write(b"XYZ\n");
        assert_eq!(log.contents(), b"MEMLOG 30 /c:3\nYZ\n456\nabcdef\nX");
    }
}
