//! Closing a TLS connection of a session as `ngx_ssl_shutdown` does: close_notify only after
//! a finished handshake and while the peer has not closed first; then, towards the client,
//! up to 3 s for its close_notify before the socket closes, and nginx's `SSL_shutdown()
//! failed` line when the client sends data instead.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::AsyncWrite;
use tokio::time::Instant;

use super::failure::{self, Peer};
use super::ffi;
use crate::session::Session;
use crate::stream::Stream;

/// How long nginx waits for the client's close_notify (`ngx_ssl_shutdown`'s timer).
const CLIENT_CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Which side of the session a TLS connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client: close_notify, then its close_notify awaited.
    Client,
    /// The upstream: close_notify only, once (nginx sets `no_wait_shutdown` for it).
    Upstream,
}

/// What one `SSL_shutdown` step came to.
enum Step {
    /// Done: sent, or the peer's close_notify (or end of stream) received.
    Done,
    /// It would block (no room to write, nothing to read yet).
    Blocked,
    /// It failed; OpenSSL's reason when there is one.
    Failed(Option<openssl::ssl::Error>),
}

/// One `SSL_shutdown` call on the stream (the first sends close_notify, the second reads
/// the peer's); the socket's write side is held open.
fn poll_step(stream: &mut Stream, cx: &mut std::task::Context<'_>) -> Poll<Step> {
    let Stream::Tls(tls) = stream else {
        return Poll::Ready(Step::Done);
    };
    match Pin::new(&mut **tls).poll_shutdown(cx) {
        Poll::Ready(Ok(())) => Poll::Ready(Step::Done),
        Poll::Ready(Err(e)) => {
            let ssl = e.into_inner().and_then(|inner| inner.downcast::<openssl::ssl::Error>().ok());
            Poll::Ready(Step::Failed(ssl.map(|e| *e)))
        }
        Poll::Pending => Poll::Ready(Step::Blocked),
    }
}

/// Runs `SSL_shutdown` steps until one is not blocked, or until `deadline` (`Blocked`);
/// also whether a step blocked first.
async fn step_until(stream: &mut Stream, deadline: Instant) -> (Step, bool) {
    let mut blocked = false;
    let run = poll_fn(|cx| match poll_step(stream, cx) {
        Poll::Ready(Step::Blocked) => {
            blocked = true;
            Poll::Pending
        }
        other => other,
    });
    let step = tokio::time::timeout_at(deadline, run).await.unwrap_or(Step::Blocked);
    (step, blocked)
}

/// Closes `stream` as nginx closes a connection of `side` (plain streams are just dropped).
pub async fn close(s: &Session, mut stream: Stream, side: Side) {
    // Step: nothing after an unfinished handshake (nginx skips SSL_shutdown while in init).
    let Stream::Tls(tls) = &stream else {
        return;
    };
    if !tls.ssl().is_init_finished() {
        return;
    }

    // Step: close_notify both ways, as far as the peer and the clock allow.
    exchange_close_notify(s, &mut stream, side).await;

    // Step: the connection is left shut down both ways, as ngx_ssl_shutdown leaves it
    // (SSL_set_shutdown): OpenSSL makes the session of a connection freed without a sent
    // close_notify unresumable, and the session cache holds that same session.
    if let Stream::Tls(tls) = &stream {
        ffi::set_shutdown_complete(tls.ssl());
    }
}

/// The close_notify exchange of a finished connection.
async fn exchange_close_notify(s: &Session, stream: &mut Stream, side: Side) {
    let Stream::Tls(tls) = stream else {
        return;
    };

    // Step: no close_notify when the peer closed first (its close_notify or end of stream:
    // `no_send_shutdown`).
    if ffi::received_shutdown(tls.ssl()) || tls.get_ref().ended() {
        return;
    }
    tls.get_mut().hold_fin();

    // Step: close_notify. Towards the upstream nginx tries once and closes, not waiting.
    let deadline = Instant::now() + CLIENT_CLOSE_WAIT;
    let sent = match side {
        Side::Upstream => poll_fn(|cx| poll_step(stream, cx)).await,
        Side::Client => step_until(stream, deadline).await.0,
    };
    match sent {
        Step::Done if side == Side::Client => {}
        Step::Failed(Some(e)) => return log_failure(s, &e, side),
        _ => return,
    }

    // Step: the client's close_notify, within the same 3 s; data instead of it fails the
    // shutdown (`application data after close notify`).
    match step_until(stream, deadline).await {
        (Step::Failed(Some(e)), _) if failure::shutdown(&e, Peer::Client).is_some() => {
            log_failure(s, &e, side)
        }
        (Step::Failed(_), true) if saw_eof(stream) => answer_end_of_stream(stream),
        _ => {}
    }
}

/// True when the plain stream under TLS has ended.
fn saw_eof(stream: &Stream) -> bool {
    matches!(stream, Stream::Tls(tls) if tls.get_ref().saw_eof())
}

/// The client ended its stream instead of sending close_notify, after nginx had to wait
/// for it. Over a socket, OpenSSL (with `SSL_OP_IGNORE_UNEXPECTED_EOF`) then marks the
/// shutdown as received only, forgetting that close_notify was sent, and the `SSL_shutdown`
/// retry of nginx's shutdown handler sends it once more before closing (when the end was
/// there at once, nginx's first call has no retry left). The stream under strait's TLS
/// cannot report that end to OpenSSL, so the same state is set here and the same second
/// close_notify goes out.
fn answer_end_of_stream(stream: &mut Stream) {
    let Stream::Tls(tls) = stream else {
        return;
    };
    ffi::set_received_shutdown_only(tls.ssl());
    let waker = std::task::Waker::noop();
    let _ = poll_step(stream, &mut std::task::Context::from_waker(waker));
}

/// Logs a failed `SSL_shutdown` as nginx does (nothing for a reset or a silent end).
fn log_failure(s: &Session, error: &openssl::ssl::Error, side: Side) {
    let peer = match side {
        Side::Client => Peer::Client,
        Side::Upstream => Peer::Upstream,
    };
    if let Some(failure) = failure::shutdown(error, peer) {
        s.log(failure.level, None, &failure.text);
    }
}
