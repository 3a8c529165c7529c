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

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

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
    /// The message exactly as nginx writes it, without the place suffix.
    pub fn message(&self) -> Vec<u8> {
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
            ErrorKind::Open { path, errno } => {
                let mut out = quoted("open() \"", path, "\" failed");
                out.extend_from_slice(format!(" ({errno}: {})", strerror(*errno)).as_bytes());
                out
            }
            ErrorKind::Read { path, errno } => {
                let mut out = quoted("pread() \"", path, "\" failed");
                out.extend_from_slice(format!(" ({errno}: {})", strerror(*errno)).as_bytes());
                out
            }
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

    /// The whole line as nginx writes it after `[emerg] `, byte for byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.kind.message();
        out.extend_from_slice(&self.place.suffix_bytes());
        out
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
    fn non_utf8_bytes_pass_through() {
        let err = ParseError::nowhere(ErrorKind::UnexpectedChar(0xe9));
        assert_eq!(err.to_bytes(), b"unexpected \"\xe9\"".to_vec());
    }
}
