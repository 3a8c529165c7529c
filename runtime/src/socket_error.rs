//! Socket errors during a session as nginx logs them: the call that failed (`recv()`,
//! `writev()`, `SSL_read()`, `SSL_write()`), the level `ngx_connection_error` and
//! `ngx_ssl_connection_error` pick from the errno (or OpenSSL reason) and the side, and the
//! reads nginx treats as a plain end of stream.

use crate::log::Level;
use crate::stream::Stream;
use crate::tls::certificate::SslErrors;
use std::io;

/// Which end of the session a socket is. nginx marks client connections
/// `NGX_ERROR_INFO` and upstream ones `NGX_ERROR_ERR`, which sets the level of the
/// errors a peer causes (resets, refusals, unreachable networks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client's connection.
    Client,
    /// The connection to the upstream.
    Upstream,
}

impl Side {
    /// The level of an error the peer caused: info for the client, error for the upstream.
    fn peer_fault(self) -> Level {
        match self {
            Side::Client => Level::Info,
            Side::Upstream => Level::Error,
        }
    }
}

/// One failed read or write, ready for [`crate::session::Session::log`].
#[derive(Debug)]
pub struct SocketFault {
    /// The level nginx logs it at.
    pub level: Level,
    /// `recv() failed`, `SSL_write() failed (SSL: ...)`...
    pub message: String,
    /// The errno, printed after the message as ` (N: text)`.
    pub errno: Option<io::Error>,
}

/// The errnos `ngx_connection_error` and `ngx_ssl_connection_error` put down to the peer:
/// logged at the side's level; any other errno is strait's or the system's fault.
const PEER_ERRNOS: [i32; 9] = [
    libc::ECONNRESET,
    libc::EPIPE,
    libc::ENOTCONN,
    libc::ETIMEDOUT,
    libc::ECONNREFUSED,
    libc::ENETDOWN,
    libc::ENETUNREACH,
    libc::EHOSTDOWN,
    libc::EHOSTUNREACH,
];

/// OpenSSL reasons (`ERR_GET_REASON`) that `ngx_ssl_connection_error` counts as the peer's
/// fault, as OpenSSL 3 numbers them: broken records and handshakes, and the alerts a peer
/// sends (1000 and up); any other reason is logged at crit.
const PEER_SSL_REASONS: [i32; 59] = [
    101, 103, 118, 129, 149, 151, 152, 155, 156, 159, 182, 183, 187, 193, 213, 226, 227, 234, 244,
    245, 246, 252, 253, 258, 266, 267, 281, 335, 336, 337, 338, 345, 373, 377, 396, 1000, 1010,
    1020, 1021, 1022, 1030, 1040, 1041, 1042, 1043, 1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051,
    1060, 1070, 1071, 1080, 1090, 1100,
];

/// `SSL_R_UNEXPECTED_EOF_WHILE_READING`: the peer closed without close_notify. nginx
/// reads this as the end of the stream, without a line.
const UNEXPECTED_EOF: i32 = 294;

/// The level `ngx_connection_error` gives an errno of a plain socket.
fn plain_level(side: Side, errno: i32) -> Level {
    if errno == 0 || PEER_ERRNOS.contains(&errno) {
        side.peer_fault()
    } else {
        Level::Alert
    }
}

/// The level `ngx_connection_error` gives a failure of an established (or pending)
/// connection on `side`: the side's level for the errors a peer causes, alert otherwise.
pub fn peer_level(side: Side, err: &io::Error) -> Level {
    plain_level(side, err.raw_os_error().unwrap_or(0))
}

/// The level `ngx_event_connect_peer` gives a `connect()` call that failed at once: error
/// for refusals, resets and unreachable networks (and EAGAIN, a full unix listen queue),
/// crit for anything else, say a missing socket file.
pub fn connect_level(err: &io::Error) -> Level {
    let peer = [
        libc::ECONNREFUSED,
        libc::EAGAIN,
        libc::ECONNRESET,
        libc::ENETDOWN,
        libc::ENETUNREACH,
        libc::EHOSTDOWN,
        libc::EHOSTUNREACH,
    ];
    match err.raw_os_error() {
        Some(errno) if peer.contains(&errno) => Level::Error,
        _ => Level::Crit,
    }
}

/// The OpenSSL error of a TLS stream's io error, when OpenSSL reported one.
fn ssl_error(err: &io::Error) -> Option<&openssl::ssl::Error> {
    err.get_ref().and_then(|inner| inner.downcast_ref::<openssl::ssl::Error>())
}

/// The reason of the first queued OpenSSL error (nginx's `ERR_peek_error()`).
fn first_reason(error: &openssl::ssl::Error) -> Option<i32> {
    let stack = error.ssl_error()?;
    let first = stack.errors().first()?;
    // OpenSSL 3's ERR_GET_REASON: the low 23 bits of the packed code.
    Some((first.code() & 0x7F_FFFF) as i32)
}

/// The fault of a TLS call, as `ngx_ssl_connection_error` words and levels it.
fn ssl_fault(side: Side, call: &str, err: &io::Error) -> SocketFault {
    if let Some(error) = ssl_error(err) {
        let reason = first_reason(error).unwrap_or(0);
        let peer = PEER_SSL_REASONS.contains(&reason);
        let level = if peer { side.peer_fault() } else { Level::Crit };
        let queue = error.ssl_error().map(SslErrors::from_stack).unwrap_or_default();
        return SocketFault { level, message: format!("{call} failed{queue}"), errno: None };
    }
    let errno = err.raw_os_error().unwrap_or(0);
    let level = if PEER_ERRNOS.contains(&errno) { side.peer_fault() } else { Level::Crit };
    let errno = err.raw_os_error().map(io::Error::from_raw_os_error);
    SocketFault { level, message: format!("{call} failed"), errno }
}

/// A read of `stream` failed with `err`; `None` when nginx takes it for the end of the
/// stream without a line (TLS: the peer went away without an OpenSSL error, as
/// `ngx_ssl_handle_recv` treats an empty error queue).
pub fn read_failed(stream: &Stream, side: Side, err: &io::Error) -> Option<SocketFault> {
    if !matches!(stream, Stream::Tls(_)) {
        let errno = err.raw_os_error().unwrap_or(0);
        let level = plain_level(side, errno);
        let errno = err.raw_os_error().map(io::Error::from_raw_os_error);
        return Some(SocketFault { level, message: "recv() failed".to_string(), errno });
    }
    match ssl_error(err).map(first_reason) {
        Some(Some(reason)) if reason != UNEXPECTED_EOF => Some(ssl_fault(side, "SSL_read()", err)),
        _ => None,
    }
}

/// A write to `stream` failed with `err`: nginx's `writev() failed` for plain sockets (its
/// send chain writes buffers with writev), `SSL_write() failed` for TLS.
pub fn write_failed(stream: &Stream, side: Side, err: &io::Error) -> SocketFault {
    if matches!(stream, Stream::Tls(_)) {
        return ssl_fault(side, "SSL_write()", err);
    }
    let errno = err.raw_os_error().unwrap_or(0);
    let level = plain_level(side, errno);
    let errno = err.raw_os_error().map(io::Error::from_raw_os_error);
    SocketFault { level, message: "writev() failed".to_string(), errno }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_errnos_are_info_for_the_client_and_error_for_the_upstream() {
        assert_eq!(plain_level(Side::Client, libc::ECONNRESET), Level::Info);
        assert_eq!(plain_level(Side::Upstream, libc::ECONNRESET), Level::Error);
        assert_eq!(plain_level(Side::Upstream, libc::EPIPE), Level::Error);
        assert_eq!(plain_level(Side::Client, libc::EHOSTUNREACH), Level::Info);
    }

    #[test]
    fn other_errnos_are_alerts() {
        assert_eq!(plain_level(Side::Client, libc::EBADF), Level::Alert);
        assert_eq!(plain_level(Side::Upstream, libc::ENOMEM), Level::Alert);
    }

    #[test]
    fn immediate_connect_failures_are_error_or_crit() {
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(connect_level(&refused), Level::Error);
        let missing = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(connect_level(&missing), Level::Crit);
        let full = io::Error::from_raw_os_error(libc::EAGAIN);
        assert_eq!(connect_level(&full), Level::Error);
    }

    #[test]
    fn tls_syscall_errors_take_the_errno_level_or_crit() {
        let reset = io::Error::from_raw_os_error(libc::ECONNRESET);
        let fault = ssl_fault(Side::Client, "SSL_write()", &reset);
        assert_eq!(fault.level, Level::Info);
        assert_eq!(fault.message, "SSL_write() failed");
        assert_eq!(fault.errno.and_then(|e| e.raw_os_error()), Some(libc::ECONNRESET));
        let other = io::Error::from_raw_os_error(libc::EBADF);
        assert_eq!(ssl_fault(Side::Upstream, "SSL_read()", &other).level, Level::Crit);
    }
}
