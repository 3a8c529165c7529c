//! `ssl_password_file` / `proxy_ssl_password_file`: the list of passwords tried, in order, on
//! encrypted keys, read exactly as nginx's `ngx_ssl_read_password_file` reads it.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// `NGX_SSL_PASSWORD_BUFFER_SIZE`: a line this long or longer is rejected.
const LINE_LIMIT: usize = 4096;

/// Passwords for encrypted keys. Never printed: `Debug` shows only how many there are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passwords(Arc<[Vec<u8>]>);

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Passwords({} entries)", self.0.len())
    }
}

/// Why a password file could not be read; displays as nginx's message (without location).
#[derive(Debug, thiserror::Error)]
pub enum PasswordFileError {
    /// `open() "PATH" failed (2: No such file or directory)`.
    #[error("open() \"{path}\" failed ({errno}: {reason})")]
    Open {
        /// The absolute path.
        path: String,
        /// errno.
        errno: i32,
        /// strerror text.
        reason: String,
    },
    /// `read() "PATH" failed (N: ...)`.
    #[error("read() \"{path}\" failed ({errno}: {reason})")]
    Read {
        /// The absolute path.
        path: String,
        /// errno.
        errno: i32,
        /// strerror text.
        reason: String,
    },
    /// `too long line in "PATH"`: a line of 4096 bytes or more.
    #[error("too long line in \"{path}\"")]
    TooLongLine {
        /// The absolute path.
        path: String,
    },
}

/// The errno and its text as nginx prints them (`strerror`, without Rust's suffix).
pub(crate) fn errno_parts(error: &std::io::Error) -> (i32, String) {
    let errno = error.raw_os_error().unwrap_or(0);
    let text = error.to_string();
    let reason = match text.rfind(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    };
    (errno, reason)
}

impl Passwords {
    /// No password file: encrypted keys fail (OpenSSL is never allowed to prompt).
    pub fn none() -> Passwords {
        Passwords::default()
    }

    /// Passwords given directly, in the order they are tried.
    pub fn from_lines(lines: Vec<Vec<u8>>) -> Passwords {
        Passwords(lines.into())
    }

    /// True when there is no password at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The passwords in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(Vec::as_slice)
    }

    /// Reads a password file: one password per line, a trailing CR stripped, empty lines
    /// skipped; a file with no password gives one empty password, as in nginx.
    pub fn read(path: &Path) -> Result<Passwords, PasswordFileError> {
        let shown = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| {
            let (errno, reason) = errno_parts(&e);
            PasswordFileError::Open { path: shown.clone(), errno, reason }
        })?;
        let mut content = Vec::new();
        file.read_to_end(&mut content).map_err(|e| {
            let (errno, reason) = errno_parts(&e);
            PasswordFileError::Read { path: shown.clone(), errno, reason }
        })?;
        Passwords::parse(&content).ok_or(PasswordFileError::TooLongLine { path: shown })
    }

    /// Splits file content into passwords; `None` when a line is 4096 bytes or longer.
    fn parse(content: &[u8]) -> Option<Passwords> {
        let mut lines = Vec::new();
        let mut rest = content;
        while !rest.is_empty() {
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            if line.len() >= LINE_LIMIT {
                return None;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                lines.push(line.to_vec());
            }
            rest = next;
        }
        if lines.is_empty() {
            lines.push(Vec::new());
        }
        Some(Passwords(lines.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(content: &[u8]) -> Vec<Vec<u8>> {
        Passwords::parse(content).unwrap().iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn lines_crlf_blank_and_last_line_without_newline() {
        assert_eq!(
            parsed(b"one\r\n\r\n\ntwo\nthree"),
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        // Only one trailing CR is stripped, as nginx does.
        assert_eq!(parsed(b"x\r\r\n"), vec![b"x\r".to_vec()]);
    }

    #[test]
    fn empty_file_gives_one_empty_password() {
        assert_eq!(parsed(b""), vec![Vec::<u8>::new()]);
        assert_eq!(parsed(b"\n\r\n"), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn line_of_4096_bytes_is_too_long() {
        let mut ok = vec![b'a'; 4095];
        ok.push(b'\n');
        assert_eq!(parsed(&ok).len(), 1);
        assert!(Passwords::parse(&vec![b'a'; 4096]).is_none());
    }

    #[test]
    fn missing_file_reads_like_nginx() {
        let err = Passwords::read(Path::new("/nonexistent/pw")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "open() \"/nonexistent/pw\" failed (2: No such file or directory)"
        );
    }

    #[test]
    fn debug_never_shows_passwords() {
        let p = Passwords::from_lines(vec![b"secret".to_vec()]);
        assert_eq!(format!("{p:?}"), "Passwords(1 entries)");
    }
}
