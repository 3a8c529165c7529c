//! The stream client: what Test::Nginx's HTTP-to-stream bridge (and APISIX's
//! `stream_tls_request` location) do, with the same observable texts, done natively.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use openssl::ssl::{SslConnector, SslMethod, SslOptions, SslSession, SslVerifyMode};

use crate::sys;

/// How long one exchange may take, and what expiry means.
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    /// The block's `timeout`.
    pub limit: Duration,
    /// `--- abort`: expiry is reported in the body (`... error: timeout`) instead of failing
    /// the block as a client timeout.
    pub abort: bool,
}

/// One stream server to talk to.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The server's port on 127.0.0.1.
    pub port: u16,
    /// Bytes to send; nothing is sent when `None`.
    pub request: Option<Vec<u8>>,
}

/// The result of talking to the stream servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// What the bridge would have printed.
    Body(Vec<u8>),
    /// The block's timeout expired without `abort` (Test::Nginx: "client socket timed out").
    ClientTimeout {
        /// What was printed before the timeout.
        partial: Vec<u8>,
    },
}

/// A failure inside one exchange, reported in the body the way the bridge does.
struct StepError {
    message: String,
    timed_out: bool,
}

impl StepError {
    fn from_io(err: &io::Error) -> StepError {
        let timed_out = matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut);
        StepError { message: lua_socket_error(err), timed_out }
    }
}

/// The error text ngx_lua's cosockets give for an I/O error (lower case, no errno).
fn lua_socket_error(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timeout".into(),
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".into(),
        io::ErrorKind::BrokenPipe => "broken pipe".into(),
        io::ErrorKind::UnexpectedEof => "closed".into(),
        _ => {
            let text = err.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            text.to_lowercase()
        }
    }
}

/// Talks to each server in turn as Test::Nginx's bridge does: connect, send the request if
/// any, read until the server closes; the data is printed only when `print` (a response
/// check exists). The first failure ends the exchange with its message.
pub fn plain_exchanges(exchanges: &[Exchange], print: bool, timeout: Timeout) -> Outcome {
    let deadline = Instant::now() + timeout.limit;
    let mut body = Vec::new();
    for exchange in exchanges {
        match plain_exchange(exchange, deadline, timeout) {
            Ok(data) => {
                if print {
                    body.extend_from_slice(&data);
                }
            }
            Err((step, err)) => {
                if err.timed_out && !timeout.abort {
                    return Outcome::ClientTimeout { partial: body };
                }
                body.extend_from_slice(format!("{step} error: {}\n", err.message).as_bytes());
                return Outcome::Body(body);
            }
        }
    }
    Outcome::Body(body)
}

fn plain_exchange(
    exchange: &Exchange,
    deadline: Instant,
    timeout: Timeout,
) -> Result<Vec<u8>, (&'static str, StepError)> {
    // Connect.
    let step_limit = |deadline: Instant| {
        if timeout.abort {
            timeout.limit
        } else {
            deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], exchange.port));
    let mut stream = TcpStream::connect_timeout(&addr, step_limit(deadline))
        .map_err(|e| ("connect to stream server", StepError::from_io(&e)))?;

    // Send the request, if any.
    if let Some(request) = &exchange.request {
        let _ = stream.set_write_timeout(Some(step_limit(deadline)));
        stream.write_all(request).map_err(|e| ("send stream request", StepError::from_io(&e)))?;
    }

    // Read until the server closes.
    read_to_close(&mut stream, |s, limit| s.set_read_timeout(Some(limit)), deadline, timeout)
        .map_err(|e| ("receive stream response", e))
}

/// Reads until end of stream, each read bounded by what is left of the deadline (or by the
/// whole limit with `abort`, where the limit is the socket's own timeout).
fn read_to_close<S: Read>(
    stream: &mut S,
    set_timeout: impl Fn(&mut S, Duration) -> io::Result<()>,
    deadline: Instant,
    timeout: Timeout,
) -> Result<Vec<u8>, StepError> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let limit = if timeout.abort {
            timeout.limit
        } else {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StepError { message: "timeout".into(), timed_out: true });
            }
            left
        };
        set_timeout(stream, limit).map_err(|e| StepError::from_io(&e))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(data),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StepError::from_io(&e)),
        }
    }
}

/// APISIX's `stream_tls_request`: TLS to the stream server (no verification of the server,
/// SNI when given), send the data, read to the end, print it. With session reuse there are
/// two rounds, the second resuming the first one's session.
pub fn tls_exchanges(
    port: u16,
    request: &[u8],
    sni: Option<&str>,
    rounds: usize,
    timeout: Timeout,
) -> Outcome {
    let deadline = Instant::now() + timeout.limit;
    let mut body = Vec::new();

    // One connector for every round: a session may only be resumed with the context that
    // made it. The test client does not verify the server (like `sslhandshake(nil, sni,
    // false)`).
    let connector = match SslConnector::builder(SslMethod::tls_client()) {
        Ok(mut builder) => {
            builder.set_verify(SslVerifyMode::NONE);
            // A server that closes without close_notify ends the data, as in nginx.
            builder.set_options(SslOptions::IGNORE_UNEXPECTED_EOF);
            builder.build()
        }
        Err(e) => {
            return Outcome::Body(format!("failed to do SSL handshake: {e}\n").into_bytes());
        }
    };
    let mut session: Option<SslSession> = None;
    for _ in 0..rounds {
        let round = tls_round(&connector, port, request, sni, session.as_ref(), deadline, timeout);
        match round {
            Ok((data, next_session)) => {
                body.extend_from_slice(&data);
                session = next_session.or(session);
            }
            Err((step, err)) => {
                if err.timed_out && !timeout.abort {
                    return Outcome::ClientTimeout { partial: body };
                }
                body.extend_from_slice(format!("{step}: {}\n", err.message).as_bytes());
                return Outcome::Body(body);
            }
        }
    }
    Outcome::Body(body)
}

type TlsRound = (Vec<u8>, Option<SslSession>);

fn tls_round(
    connector: &SslConnector,
    port: u16,
    request: &[u8],
    sni: Option<&str>,
    session: Option<&SslSession>,
    deadline: Instant,
    timeout: Timeout,
) -> Result<TlsRound, (&'static str, StepError)> {
    let limit = || {
        if timeout.abort {
            timeout.limit
        } else {
            deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1))
        }
    };
    let handshake_error =
        |message: String| ("failed to do SSL handshake", StepError { message, timed_out: false });

    // Connect.
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = TcpStream::connect_timeout(&addr, limit())
        .map_err(|e| ("failed to connect", StepError::from_io(&e)))?;
    let _ = tcp.set_read_timeout(Some(limit()));
    let _ = tcp.set_write_timeout(Some(limit()));

    // Handshake: SNI only when the block names one; the previous round's session offered.
    let mut config = connector.configure().map_err(|e| handshake_error(e.to_string()))?;
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(sni.is_some());
    let mut ssl =
        config.into_ssl(sni.unwrap_or("localhost")).map_err(|e| handshake_error(e.to_string()))?;
    if let Some(session) = session {
        sys::offer_session(&mut ssl, session).map_err(|e| handshake_error(e.to_string()))?;
    }
    let mut stream =
        openssl::ssl::SslStream::new(ssl, tcp).map_err(|e| handshake_error(e.to_string()))?;
    stream.connect().map_err(|_| handshake_error("handshake failed".into()))?;

    // Send the data, then read until the server closes.
    stream.write_all(request).map_err(|e| ("send stream request error", StepError::from_io(&e)))?;
    let data = read_to_close(
        &mut stream,
        |s, limit| s.get_ref().set_read_timeout(Some(limit)),
        deadline,
        timeout,
    )
    .map_err(|e| ("receive stream response error", e))?;

    // Close like the Lua socket does (close_notify): OpenSSL marks the session of a
    // connection dropped without it as not resumable.
    let _ = stream.shutdown();
    let next_session = stream.ssl().session().map(|s| s.to_owned());
    Ok((data, next_session))
}

/// Resolves the escapes of a Lua double-quoted string (APISIX embeds the
/// `stream_tls_request` data in one): `\n \r \t \a \b \f \v \\ \" \'`, `\ddd`, `\xHH`.
pub fn lua_unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] != b'\\' || i + 1 == data.len() {
            out.push(data[i]);
            i += 1;
            continue;
        }
        let c = data[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'x' => {
                let hex: Vec<u8> = data[i..]
                    .iter()
                    .take(2)
                    .take_while(|d| d.is_ascii_hexdigit())
                    .copied()
                    .collect();
                let value = hex.iter().fold(0u8, |acc, d| {
                    acc.wrapping_mul(16).wrapping_add((*d as char).to_digit(16).unwrap_or(0) as u8)
                });
                out.push(value);
                i += hex.len();
            }
            b'0'..=b'9' => {
                let mut value: u32 = (c - b'0') as u32;
                let mut used = 0;
                while used < 2 && data.get(i).is_some_and(|d| d.is_ascii_digit()) {
                    value = value * 10 + (data[i] - b'0') as u32;
                    i += 1;
                    used += 1;
                }
                out.push(value.min(255) as u8);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    fn timeout(ms: u64, abort: bool) -> Timeout {
        Timeout { limit: Duration::from_millis(ms), abort }
    }

    /// A one-shot server on 127.0.0.1:0 that reads `expect` bytes, replies and closes.
    fn one_shot(expect: usize, reply: &'static [u8], hold: Duration) -> u16 {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = vec![0u8; expect];
            conn.read_exact(&mut buf).unwrap();
            conn.write_all(reply).unwrap();
            thread::sleep(hold);
        });
        port
    }

    #[test]
    fn reads_until_close_and_prints() {
        let port = one_shot(3, b"pong\n", Duration::ZERO);
        let ex = [Exchange { port, request: Some(b"abc".to_vec()) }];
        assert_eq!(
            plain_exchanges(&ex, true, timeout(3000, false)),
            Outcome::Body(b"pong\n".to_vec())
        );
    }

    #[test]
    fn refused_connection_is_reported_in_the_body() {
        let port = crate::ports::free_port(&Default::default()).unwrap();
        let ex = [Exchange { port, request: None }];
        assert_eq!(
            plain_exchanges(&ex, true, timeout(1000, false)),
            Outcome::Body(b"connect to stream server error: connection refused\n".to_vec())
        );
    }

    #[test]
    fn slow_server_times_out_as_client_or_in_body_with_abort() {
        let port = one_shot(0, b"x", Duration::from_millis(600));
        let ex = [Exchange { port, request: None }];
        assert_eq!(
            plain_exchanges(&ex, true, timeout(200, false)),
            Outcome::ClientTimeout { partial: Vec::new() }
        );
        let port = one_shot(0, b"x", Duration::from_millis(600));
        let ex = [Exchange { port, request: None }];
        assert_eq!(
            plain_exchanges(&ex, true, timeout(200, true)),
            Outcome::Body(b"receive stream response error: timeout\n".to_vec())
        );
    }

    #[test]
    fn lua_escapes() {
        assert_eq!(lua_unescape(br"a\r\n\x41\65\\\q"), b"a\r\nAA\\q");
    }
}
