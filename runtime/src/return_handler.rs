//! The `return` content handler: the text goes out with nginx's send timer, its failures
//! logged as `ngx_stream_return_write_handler` logs them, and the `$status` they give.

use crate::log::Level;
use crate::session::{status, Session};
use crate::socket_error::{self, Side};
use crate::stream::Stream;
use std::io;
use tokio::io::AsyncWriteExt;

/// How long `return` waits for a client that takes no bytes (ngx_stream_return's timer).
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `return` (`ngx_stream_return_write_handler`): sends the text and returns the
/// `$status`. A failed write is logged and ends with 500; a client that takes nothing for 5 s
/// ends it with 200 and `connection timed out`. `$bytes_sent` is what the socket
/// took; over TLS nginx hands the whole text to one `SSL_write`, which reports it only
/// once all of it is written. Bytes the client sent stay unread, so closing resets the
/// connection, as nginx's stream module (it has no lingering close).
pub async fn run(s: &mut Session, stream: &mut Stream, text: &[u8]) -> u16 {
    // Write the text, each write waiting 5 s at most for the client to take bytes.
    s.action = "returning text";
    let tls = matches!(stream, Stream::Tls(_));
    let mut written = 0;
    while written < text.len() {
        let write = tokio::time::timeout(SEND_TIMEOUT, stream.write(&text[written..]));
        match write.await {
            Ok(Ok(0)) => return status::INTERNAL_SERVER_ERROR,
            Ok(Ok(n)) => {
                written += n;
                if !tls {
                    s.sent += n as u64;
                }
            }
            Ok(Err(e)) => {
                let fault = socket_error::write_failed(stream, Side::Client, &e);
                s.log(fault.level, fault.errno.as_ref(), &fault.message);
                return status::INTERNAL_SERVER_ERROR;
            }
            Err(_) => {
                let err = io::Error::from_raw_os_error(libc::ETIMEDOUT);
                s.log(Level::Info, Some(&err), "connection timed out");
                return status::OK;
            }
        }
    }

    // All of it went out: TLS counts it now (close_notify follows the log phase).
    if tls {
        s.sent += written as u64;
    }
    let _ = stream.flush().await;
    status::OK
}
