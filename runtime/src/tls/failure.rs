//! How nginx 1.22 words and ranks a failed OpenSSL call on a client or upstream connection:
//! the texts of `ngx_ssl_handshake` and `ngx_ssl_shutdown`, and the level
//! `ngx_ssl_connection_error` and `ngx_connection_error` choose from OpenSSL's reason or the
//! errno.

use openssl::error::ErrorStack;
use openssl::ssl::{Error, ErrorCode};

use super::certificate::SslErrors;
use super::password::errno_parts;
use crate::log::Level;

/// The OpenSSL reasons nginx 1.22.1 logs at its connection's level ([`Peer::level`]); any
/// other reason is `crit`. nginx reads the reason of the first error in the queue
/// (`ERR_GET_REASON(ERR_peek_error())`; later versions read the last one). Taken from the
/// Debian 1.22.1 build, which has a few reasons fewer than current nginx (no
/// `application data after close notify`, no `bad key share`, no `bad packet length`).
const INFO_REASONS: &[(i32, &str)] = &[
    (101, "no suitable key share"),
    (103, "bad change cipher spec"),
    (118, "no suitable signature algorithm"),
    (129, "block cipher pad is wrong"),
    (149, "digest check failed"),
    (151, "error in received cipher list"),
    (152, "excessive message size"),
    (155, "https proxy request"),
    (156, "http request"),
    (159, "length mismatch"),
    (183, "no ciphers specified"),
    (187, "no compression specified"),
    (193, "no shared cipher"),
    (213, "record length mismatch"),
    (226, "clienthello tlsext"),
    (227, "parse tlsext"),
    (234, "callback failed"),
    (235, "no application protocol"),
    (244, "unexpected message"),
    (245, "unexpected record"),
    (246, "unknown alert type"),
    (252, "unknown protocol"),
    (258, "unsupported protocol"),
    (267, "wrong version number"),
    (281, "decryption failed or bad record mac"),
    (335, "renegotiate ext too long"),
    (336, "renegotiation encoding err"),
    (337, "renegotiation mismatch"),
    (338, "unsafe legacy renegotiation disabled"),
    (345, "scsv received when renegotiating"),
    (373, "inappropriate fallback"),
    (377, "cert cb error"),
    (396, "version too low"),
    (1000, "sslv3 alert close notify"),
    (1010, "sslv3 alert unexpected message"),
    (1020, "sslv3 alert bad record mac"),
    (1021, "tlsv1 alert decryption failed"),
    (1022, "tlsv1 alert record overflow"),
    (1030, "sslv3 alert decompression failure"),
    (1040, "sslv3 alert handshake failure"),
    (1041, "sslv3 alert no certificate"),
    (1042, "sslv3 alert bad certificate"),
    (1043, "sslv3 alert unsupported certificate"),
    (1044, "sslv3 alert certificate revoked"),
    (1045, "sslv3 alert certificate expired"),
    (1046, "sslv3 alert certificate unknown"),
    (1047, "sslv3 alert illegal parameter"),
    (1048, "tlsv1 alert unknown ca"),
    (1049, "tlsv1 alert access denied"),
    (1050, "tlsv1 alert decode error"),
    (1051, "tlsv1 alert decrypt error"),
    (1060, "tlsv1 alert export restriction"),
    (1070, "tlsv1 alert protocol version"),
    (1071, "tlsv1 alert insufficient security"),
    (1080, "tlsv1 alert internal error"),
    (1090, "tlsv1 alert user cancelled"),
    (1100, "tlsv1 alert no renegotiation"),
];

/// The errnos that mean the peer went away: nginx logs them at its connection's level
/// (ECONNRESET, EPIPE, ENOTCONN, ETIMEDOUT, ECONNREFUSED, ENETDOWN, ENETUNREACH,
/// EHOSTDOWN, EHOSTUNREACH).
const PEER_GONE_ERRNOS: &[i32] = &[104, 32, 107, 110, 111, 100, 101, 112, 113];

/// Whose connection failed; nginx ranks the expected failures of each at its own level
/// (`c->log_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A client connection (`NGX_ERROR_INFO`).
    Client,
    /// An upstream connection (`NGX_ERROR_ERR`).
    Upstream,
}

impl Peer {
    /// The level of an expected failure: `info` for a client, `error` for an upstream.
    pub fn level(self) -> Level {
        match self {
            Peer::Client => Level::Info,
            Peer::Upstream => Level::Error,
        }
    }
}

/// A failed call as nginx logs it: the level and the message (without the log context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error log level.
    pub level: Level,
    /// The message, OpenSSL's queue and the errno included.
    pub text: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// `ngx_ssl_connection_error`'s level for an OpenSSL error queue (`SSL_ERROR_SSL`).
fn queue_level(stack: &ErrorStack, peer: Peer) -> Level {
    let reason = stack.errors().first().map(|e| e.reason_code());
    match reason {
        Some(r) if INFO_REASONS.iter().any(|(code, _)| *code == r) => peer.level(),
        _ => Level::Crit,
    }
}

/// `ngx_ssl_connection_error`'s level for an errno (`SSL_ERROR_SYSCALL`).
fn syscall_level(errno: i32, peer: Peer) -> Level {
    if PEER_GONE_ERRNOS.contains(&errno) {
        peer.level()
    } else {
        Level::Crit
    }
}

/// `ngx_connection_error`'s level: no errno or a peer-gone errno is the connection's level,
/// others `alert`.
fn connection_level(errno: i32, peer: Peer) -> Level {
    if errno == 0 || PEER_GONE_ERRNOS.contains(&errno) {
        peer.level()
    } else {
        Level::Alert
    }
}

/// The errno of a `SSL_ERROR_SYSCALL` failure (0 for the others, as nginx takes it).
fn errno_of(error: &Error) -> i32 {
    if error.code() != ErrorCode::SYSCALL {
        return 0;
    }
    error.io_error().and_then(std::io::Error::raw_os_error).unwrap_or(0)
}

/// ` (N: strerror)`, or nothing for errno 0.
fn errno_suffix(error: &Error) -> String {
    match error.io_error() {
        Some(io) if errno_of(error) != 0 => {
            let (errno, text) = errno_parts(io);
            format!(" ({errno}: {text})")
        }
        _ => String::new(),
    }
}

/// The OpenSSL queue of a failure, empty when there is none.
fn queue(error: &Error) -> Option<&ErrorStack> {
    error.ssl_error().filter(|stack| !stack.errors().is_empty())
}

/// `ngx_ssl_connection_error(c, sslerr, err, CALL " failed")`.
fn connection_error(call: &str, error: &Error, stack: &ErrorStack, peer: Peer) -> Failure {
    let level = match errno_of(error) {
        0 => queue_level(stack, peer),
        errno => syscall_level(errno, peer),
    };
    let text = format!("{call} failed{}{}", SslErrors::from_stack(stack), errno_suffix(error));
    Failure { level, text }
}

/// A failed handshake with `peer` (`ngx_ssl_handshake`): the peer closed (a close_notify,
/// an end of stream or an errno with nothing queued), or `SSL_do_handshake() failed` with
/// OpenSSL's queue.
pub fn handshake(error: &Error, peer: Peer) -> Failure {
    match queue(error) {
        Some(stack) if error.code() != ErrorCode::ZERO_RETURN => {
            connection_error("SSL_do_handshake()", error, stack, peer)
        }
        _ => Failure {
            level: connection_level(errno_of(error), peer),
            text: format!("peer closed connection in SSL handshake{}", errno_suffix(error)),
        },
    }
}

/// A failed `SSL_shutdown` with `peer` (`ngx_ssl_shutdown`): `None` when nginx ends quietly
/// (the peer's close_notify, or nothing queued, such as an end of stream or a reset).
pub fn shutdown(error: &Error, peer: Peer) -> Option<Failure> {
    if error.code() == ErrorCode::ZERO_RETURN {
        return None;
    }
    queue(error).map(|stack| connection_error("SSL_shutdown()", error, stack, peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_sorted_and_unique() {
        assert!(INFO_REASONS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn levels_follow_nginx() {
        assert_eq!(syscall_level(104, Peer::Client), Level::Info);
        assert_eq!(syscall_level(104, Peer::Upstream), Level::Error);
        assert_eq!(syscall_level(9, Peer::Upstream), Level::Crit);
        assert_eq!(connection_level(0, Peer::Client), Level::Info);
        assert_eq!(connection_level(9, Peer::Client), Level::Alert);
    }
}
