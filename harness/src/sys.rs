//! The runner's only `unsafe`: signals to the server under test and the effective user id.
//!
//! Each function is one libc call on plain integers; none touches memory.
#![allow(unsafe_code)]

/// Sends `signal` to process `pid`; `false` when the process does not exist (or the signal
/// could not be sent).
pub(crate) fn signal(pid: i32, signal: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) takes two integers and has no memory effects; a positive pid names
    // one process (never a process group).
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Whether process `pid` exists (signal 0 probes without delivering anything).
pub(crate) fn is_running(pid: i32) -> bool {
    signal(pid, 0)
}

/// Whether the runner runs as root (Test::Nginx then writes `user root;`).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Offers `session` for resumption on `ssl` (APISIX's `stream_session_reuse`).
///
/// `session` must come from a connection made with the same `SslContext` as `ssl`:
/// client.rs builds one connector per `stream_tls_request` and uses it for every round.
pub(crate) fn offer_session(
    ssl: &mut openssl::ssl::SslRef,
    session: &openssl::ssl::SslSessionRef,
) -> Result<(), openssl::error::ErrorStack> {
    // SAFETY: the caller guarantees the session and `ssl` share one SslContext, which is
    // what SSL_set_session requires; the session is reference-counted by OpenSSL.
    unsafe { ssl.set_session(session) }
}
