//! Configuration faults: nginx's message text ([`ErrorKind`]) and where it happened
//! ([`ErrorPlace`]), shown together the way nginx shows them: `MESSAGE in FILE:LINE`.
//!
//! Design: a [`ParseError`] is a kind plus a place. The kind owns the wording, byte for byte
//! as nginx writes it; the place owns the ` in FILE:LINE` / ` in command line` suffix (or
//! nothing, for the faults nginx reports without a location). The lexer, the tree builder and
//! the template compiler build their kinds here; the checks add theirs the same way: either a
//! new variant (the enum is `#[non_exhaustive]`, so adding one breaks no caller) or
//! [`ErrorKind::Message`] for a handler text used once. Messages are bytes, because they quote
//! configuration values that may not be UTF-8: [`ParseError::to_bytes`] gives them exactly,
//! `Display` replaces invalid UTF-8.
//!
//! Length: nginx formats a configuration fault into a buffer of [`MAX_CONF_ERRSTR`] bytes
//! before it adds the place, and every log line into one of [`MAX_ERROR_STR`]; what does not
//! fit is cut, mid-value. [`ParseError::to_bytes`] makes the first cut (it depends on the
//! message only); [`ParseError::log_message`] the second, which depends on the log line's
//! prefix (time and pid) and so on the writer.

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// nginx's buffer for a configuration fault's message (`NGX_MAX_CONF_ERRSTR`,
/// `ngx_conf_log_error`): the message is cut to it before the place is added.
pub const MAX_CONF_ERRSTR: usize = 1024;

/// nginx's buffer for an error log line, its line feed included (`NGX_MAX_ERROR_STR`,
/// `ngx_log_error_core`).
pub const MAX_ERROR_STR: usize = 2048;

/// Where a fault happened, as nginx names it after the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorPlace {
    /// ` in FILE:LINE`: a line of a configuration file (line counted on LF, 1-based).
    File {
        /// The file, as nginx names it (the main file's path or the include's full name).
        path: Arc<Path>,
        /// The lexer's line when the fault was found.
        line: usize,
    },
    /// ` in command line`: a directive given with `-g`.
    CommandLine,
    /// No suffix: faults nginx reports after parsing (`unknown "x" variable`) or before any
    /// file is open (the main file itself cannot be opened).
    Nowhere,
}

impl ErrorPlace {
    /// The suffix nginx appends to the message, as bytes.
    pub fn suffix_bytes(&self) -> Vec<u8> {
        match self {
            ErrorPlace::File { path, line } => {
                let mut out = b" in ".to_vec();
                out.extend_from_slice(path.as_os_str().as_bytes());
                out.extend_from_slice(format!(":{line}").as_bytes());
                out
            }
            ErrorPlace::CommandLine => b" in command line".to_vec(),
            ErrorPlace::Nowhere => Vec::new(),
        }
    }
}

/// What went wrong, each variant rendering nginx's exact words (see [`ErrorKind::message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `unexpected "X"`: a `;`, `{` or `}` where none may be, or junk after a closing quote.
    UnexpectedChar(u8),
    /// `unexpected end of file, expecting ";" or "}"`: the file ended inside a directive.
    UnexpectedEndOfFile,
    /// `unexpected end of file, expecting "}"`: the file ended inside a block.
    UnclosedBlock,
    /// `unexpected end of parameter, expecting ";"`: a `-g` string ended inside a directive.
    UnexpectedEndOfParameter,
    /// `block directives are not supported in -g option`.
    BlockInCommandLine,
    /// `too long parameter "HEAD..." started`: a token (or comment) reached 4096 bytes;
    /// `head` holds its first 10 bytes.
    TooLongParameter {
        /// The first 10 bytes of the token as written.
        head: Vec<u8>,
    },
    /// `too long parameter, probably missing terminating "Q" character`: a quoted token
    /// reached 4096 bytes before its closing quote.
    TooLongQuoted {
        /// The quote character, `"` or `'`.
        quote: u8,
    },
    /// `unexpected end of file, expecting terminating characters for lua code block`.
    UnclosedLuaBlock,
    /// `Lua code block missing the closing long bracket "]=]", the inlined Lua code may be
    /// too long` (the wording of the lua-nginx-module Debian 12 ships).
    UnclosedLuaLongBracket {
        /// The closing bracket that was looked for, e.g. `]==]`.
        closing: Vec<u8>,
    },
    /// `open() "PATH" failed (ERRNO: REASON)`: a configuration file could not be opened.
    Open {
        /// The full name nginx tried to open.
        path: Vec<u8>,
        /// The operating system error number.
        errno: i32,
    },
    /// `pread() "PATH" failed (ERRNO: REASON)`: an opened configuration file could not be
    /// read (a directory: `21: Is a directory`). nginx logs it at `crit`, without a place.
    Read {
        /// The full name of the file.
        path: Vec<u8>,
        /// The operating system error number.
        errno: i32,
    },
    /// `the closing bracket in "NAME" variable is missing` (complex value compilation).
    VariableBracketMissing {
        /// The name read so far after `${`.
        name: Vec<u8>,
    },
    /// `invalid variable name` (complex value compilation: `$` alone, `${}`, `$-`).
    InvalidVariableName,
    /// `unknown "NAME" variable` (reported by nginx after parsing, without a place).
    UnknownVariable {
        /// The variable name as written.
        name: Vec<u8>,
    },
    /// Any other nginx text, verbatim (for handler messages used in one place only).
    Message(Vec<u8>),
}

impl ErrorKind {
    /// The message exactly as nginx formats it, without the place suffix and before any
    /// length limit.
    pub fn message(&self) -> Vec<u8> {
        let mut out = self.text();
        if let Some(errno) = self.errno() {
            out.extend_from_slice(&errno_suffix(errno));
        }
        out
    }

    /// The system error nginx appends to the message (`ngx_log_errno`), if any.
    fn errno(&self) -> Option<i32> {
        match self {
            ErrorKind::Open { errno, .. } | ErrorKind::Read { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The message without the system error nginx appends (` (2: No such file ...)`).
    fn text(&self) -> Vec<u8> {
        let quoted = |before: &str, value: &[u8], after: &str| {
            let mut out = before.as_bytes().to_vec();
            out.extend_from_slice(value);
            out.extend_from_slice(after.as_bytes());
            out
        };
        match self {
            ErrorKind::UnexpectedChar(ch) => quoted("unexpected \"", &[*ch], "\""),
            ErrorKind::UnexpectedEndOfFile => {
                b"unexpected end of file, expecting \";\" or \"}\"".to_vec()
            }
            ErrorKind::UnclosedBlock => b"unexpected end of file, expecting \"}\"".to_vec(),
            ErrorKind::UnexpectedEndOfParameter => {
                b"unexpected end of parameter, expecting \";\"".to_vec()
            }
            ErrorKind::BlockInCommandLine => {
                b"block directives are not supported in -g option".to_vec()
            }
            ErrorKind::TooLongParameter { head } => {
                quoted("too long parameter \"", head, "...\" started")
            }
            ErrorKind::TooLongQuoted { quote } => quoted(
                "too long parameter, probably missing terminating \"",
                &[*quote],
                "\" character",
            ),
            ErrorKind::UnclosedLuaBlock => {
                b"unexpected end of file, expecting terminating characters for lua code block"
                    .to_vec()
            }
            ErrorKind::UnclosedLuaLongBracket { closing } => {
                let mut out =
                    quoted("Lua code block missing the closing long bracket \"", closing, "\"");
                out.extend_from_slice(b", the inlined Lua code may be too long");
                out
            }
            ErrorKind::Open { path, .. } => quoted("open() \"", path, "\" failed"),
            ErrorKind::Read { path, .. } => quoted("pread() \"", path, "\" failed"),
            ErrorKind::VariableBracketMissing { name } => {
                quoted("the closing bracket in \"", name, "\" variable is missing")
            }
            ErrorKind::InvalidVariableName => b"invalid variable name".to_vec(),
            ErrorKind::UnknownVariable { name } => quoted("unknown \"", name, "\" variable"),
            ErrorKind::Message(text) => text.clone(),
        }
    }

    /// The error log level nginx writes the fault at: `crit` for a failed read (the
    /// system call's own report), `emerg` for every configuration fault.
    pub fn level(&self) -> &'static str {
        match self {
            ErrorKind::Read { .. } => "crit",
            _ => "emerg",
        }
    }
}

/// ` (ERRNO: REASON)`, as `ngx_log_errno` appends it.
fn errno_suffix(errno: i32) -> Vec<u8> {
    format!(" ({errno}: {})", strerror(errno)).into_bytes()
}

/// `text` and the system error `errno` formatted into a buffer of `size` bytes as nginx
/// does: the text is cut at the end of the buffer, but a system error keeps its last 50
/// bytes (the text is cut 50 bytes before the end and marked `...`).
fn bounded(text: &[u8], errno: Option<i32>, size: usize) -> Vec<u8> {
    let mut out = text[..text.len().min(size)].to_vec();
    let Some(errno) = errno else { return out };
    if out.len() > size.saturating_sub(50) {
        out.truncate(size.saturating_sub(50));
        out.extend_from_slice(b"...");
    }
    let suffix = errno_suffix(errno);
    let room = size.saturating_sub(out.len());
    if suffix.len() <= room {
        out.extend_from_slice(&suffix);
    } else {
        // No room for the closing parenthesis: nginx adds it only while there is.
        out.extend_from_slice(&suffix[..room]);
    }
    out
}

/// The C library's text for an errno value (`No such file or directory`), without the
/// ` (os error N)` suffix Rust adds.
pub(crate) fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A configuration fault: nginx's message and where it happened.
///
/// `Display` gives `MESSAGE in FILE:LINE` (invalid UTF-8 replaced); [`ParseError::to_bytes`]
/// gives the same line byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", String::from_utf8_lossy(&self.to_bytes()))]
pub struct ParseError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where nginx says it went wrong.
    pub place: ErrorPlace,
}

impl ParseError {
    /// A fault at a line of a file.
    pub fn at(kind: ErrorKind, path: &Arc<Path>, line: usize) -> ParseError {
        ParseError { kind, place: ErrorPlace::File { path: Arc::clone(path), line } }
    }

    /// A fault reported without a place.
    pub fn nowhere(kind: ErrorKind) -> ParseError {
        ParseError { kind, place: ErrorPlace::Nowhere }
    }

    /// The whole line as nginx writes it after `[emerg] `, byte for byte, for a log line
    /// with room for it (see [`ParseError::log_message`]). A configuration fault's message
    /// is cut to [`MAX_CONF_ERRSTR`] bytes before its place, as `ngx_conf_log_error` cuts
    /// it; the faults nginx logs otherwise (unknown variables, the checks that name their
    /// place themselves, a failed read) are whole.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = if self.is_conf_error() {
            bounded(&self.kind.text(), self.kind.errno(), MAX_CONF_ERRSTR)
        } else {
            self.kind.message()
        };
        out.extend_from_slice(&self.place.suffix_bytes());
        out
    }

    /// The message as nginx's error log writes it after a line prefix of `prefix_len` bytes
    /// (`TIME [LEVEL] PID#TID: `): [`ParseError::to_bytes`], cut so that the line with its
    /// line feed fits [`MAX_ERROR_STR`] bytes. nginx's stderr copy (`nginx: [LEVEL] `) has
    /// the same bytes, cut for the log line's prefix.
    pub fn log_message(&self, prefix_len: usize) -> Vec<u8> {
        let size = MAX_ERROR_STR.saturating_sub(prefix_len);
        let mut out = match (&self.kind, self.is_conf_error()) {
            (ErrorKind::Read { .. }, false) => bounded(&self.kind.text(), self.kind.errno(), size),
            _ => self.to_bytes(),
        };
        out.truncate(size.saturating_sub(1));
        out
    }

    /// Whether nginx reports this fault through `ngx_conf_log_error` (its message buffer
    /// holds [`MAX_CONF_ERRSTR`] bytes): every fault with a place of its own, and a file
    /// that cannot be opened.
    fn is_conf_error(&self) -> bool {
        self.place != ErrorPlace::Nowhere || matches!(self.kind, ErrorKind::Open { .. })
    }

    /// The line number, when the fault has one.
    pub fn line(&self) -> Option<usize> {
        match &self.place {
            ErrorPlace::File { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.suffix_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_failure_reads_like_nginx() {
        let path: Arc<Path> = Arc::from(Path::new("/etc/nginx/nginx.conf"));
        let err = ParseError::at(
            ErrorKind::Open { path: b"/etc/nginx/x.conf".to_vec(), errno: 2 },
            &path,
            3,
        );
        assert_eq!(
            err.to_string(),
            "open() \"/etc/nginx/x.conf\" failed (2: No such file or directory) \
             in /etc/nginx/nginx.conf:3"
        );
    }

    #[test]
    fn read_failure_is_crit_and_reads_like_nginx() {
        let err =
            ParseError::nowhere(ErrorKind::Read { path: b"/etc/nginx/d".to_vec(), errno: 21 });
        assert_eq!(err.to_string(), "pread() \"/etc/nginx/d\" failed (21: Is a directory)");
        assert_eq!(err.kind.level(), "crit");
        assert_eq!(ErrorKind::UnclosedBlock.level(), "emerg");
    }

    #[test]
    fn command_line_and_nowhere_suffixes() {
        let err =
            ParseError { kind: ErrorKind::BlockInCommandLine, place: ErrorPlace::CommandLine };
        assert_eq!(
            err.to_string(),
            "block directives are not supported in -g option in command line"
        );
        let err = ParseError::nowhere(ErrorKind::UnknownVariable { name: b"foo".to_vec() });
        assert_eq!(err.to_string(), "unknown \"foo\" variable");
    }

    #[test]
    fn long_messages_are_cut_as_nginx_cuts_them() {
        let path: Arc<Path> = Arc::from(Path::new("/t/x.conf"));
        let name = vec![b'a'; 4000];
        let message = [b"unknown \"", &name[..]].concat();
        let err = ParseError::at(ErrorKind::Message(message), &path, 3);
        let bytes = err.to_bytes();
        assert_eq!(bytes.len(), MAX_CONF_ERRSTR + " in /t/x.conf:3".len());
        assert!(bytes.ends_with(b"aaa in /t/x.conf:3"));

        // A system error keeps its place at the end of the buffer.
        let err = ParseError::at(ErrorKind::Open { path: name.clone(), errno: 2 }, &path, 3);
        let bytes = err.to_bytes();
        let tail = b"aaa... (2: No such file or directory) in /t/x.conf:3";
        assert!(bytes.ends_with(tail), "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(bytes.len(), MAX_CONF_ERRSTR - 50 + tail.len() - 3);

        // Faults logged without ngx_conf_log_error are cut by the log line only.
        let err = ParseError::nowhere(ErrorKind::UnknownVariable { name: name.clone() });
        assert_eq!(err.to_bytes().len(), 4000 + "unknown \"\" variable".len());
        assert_eq!(err.log_message(41).len(), MAX_ERROR_STR - 41 - 1);
        let err = ParseError::nowhere(ErrorKind::Read { path: name, errno: 21 });
        let line = err.log_message(41);
        assert!(line.ends_with(b"aaa... (21: Is a directory)"));
        assert_eq!(line.len(), MAX_ERROR_STR - 41 - 50 + "... (21: Is a directory)".len());
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let err = ParseError::nowhere(ErrorKind::UnexpectedChar(0xe9));
        assert_eq!(err.to_bytes(), b"unexpected \"\xe9\"".to_vec());
    }
}
