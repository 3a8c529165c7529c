//! The TLS steps of a session: the ssl phase (`listen ... ssl`), the preread phase
//! (`ssl_preread`), and the upstream TLS step behind `proxy_ssl on`, each logging nginx's
//! lines and ending the session with nginx's `$status`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::acceptor::{CertificateValues, ServerTls, ServerTlsError};
use super::cache::ObjectCache;
use super::connector::{ClientCertificate, NoCertificate, UpstreamHandshake, UpstreamTls};
use super::preread::{self, ClientHello, Preread};
use super::variables;
use crate::log::Level;
use crate::proxy::{TlsConnect, UpstreamTlsError};
use crate::session::{status, Session};
use crate::stream::{Stream, Transport};
use crate::variables::{Complex, TlsVariables, VarIndex, VarSource};

/// Where a server's client certificate comes from.
#[derive(Debug, Clone)]
pub enum CertificateSpec {
    /// None, and why.
    None(NoCertificate),
    /// Literal files or `data:` values, loaded into the connector at config load.
    Static,
    /// Values with variables, evaluated for each upstream connection.
    Variable {
        /// `proxy_ssl_certificate`.
        cert: Complex,
        /// `proxy_ssl_certificate_key`.
        key: Complex,
    },
}

/// The name `proxy_ssl_name` defaults to: the upstream group's name, or the evaluated
/// `proxy_pass` value.
#[derive(Debug, Clone)]
pub enum DefaultName {
    /// A group known at load.
    Fixed(Vec<u8>),
    /// `proxy_pass` with variables.
    Value(Complex),
}

/// The upstream TLS step of one server (`proxy_ssl on`).
#[derive(Debug)]
pub struct ProxySsl {
    /// The connector of the server's static settings (shared with equal servers).
    pub connector: Arc<UpstreamTls>,
    /// Loaded certificates and keys.
    pub objects: Arc<ObjectCache>,
    /// `proxy_ssl_name`.
    pub name: Option<Complex>,
    /// The name when `proxy_ssl_name` is not set.
    pub default_name: DefaultName,
    /// `proxy_ssl_server_name`.
    pub server_name: bool,
    /// The client certificate.
    pub certificate: CertificateSpec,
}

impl crate::proxy::UpstreamTls for ProxySsl {
    fn connect<'a>(&'a self, s: &'a mut Session, stream: Stream, peer: &'a str) -> TlsConnect<'a> {
        Box::pin(async move {
            // Step: the name (SNI and verification), evaluated for this attempt.
            s.action = "connecting to upstream";
            let name = match (&self.name, &self.default_name) {
                (Some(value), _) | (None, DefaultName::Value(value)) => s.complex(value),
                (None, DefaultName::Fixed(name)) => name.clone(),
            };

            // Step: the client certificate: the certificate value first; the key only when
            // the certificate is not empty, as nginx evaluates them.
            let (cert, key) = match &self.certificate {
                CertificateSpec::Variable { cert, key } => {
                    let cert = s.complex(cert);
                    let key = if cert.is_empty() { Vec::new() } else { s.complex(key) };
                    (cert, key)
                }
                _ => (Vec::new(), Vec::new()),
            };
            let certificate = match &self.certificate {
                CertificateSpec::None(why) => ClientCertificate::None(*why),
                CertificateSpec::Static => ClientCertificate::Static,
                CertificateSpec::Variable { .. } if cert.is_empty() => {
                    ClientCertificate::None(NoCertificate::EmptyValue)
                }
                CertificateSpec::Variable { .. } => {
                    ClientCertificate::Evaluated { certificate: &cert, key: &key }
                }
            };
            let hs =
                UpstreamHandshake { peer, name: &name, server_name: self.server_name, certificate };

            // Step: a certificate that cannot be loaded ends the session (500, no retry).
            let ssl = match self.connector.prepare(&hs, &self.objects) {
                Ok(ssl) => ssl,
                Err(e) => {
                    s.log(Level::Error, None, &e.to_string());
                    return Err(UpstreamTlsError::Fatal);
                }
            };

            // Step: the handshake and verification; failures try the next upstream. The
            // proxy bounds this step by proxy_connect_timeout.
            s.action = "SSL handshaking to upstream";
            match self.connector.handshake(ssl, Transport::new(stream), &name).await {
                Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
                Err(e) => {
                    s.log(e.level(), None, &e.to_string());
                    Err(UpstreamTlsError::NextUpstream)
                }
            }
        })
    }
}

/// TLS termination of one server (`listen ... ssl`).
#[derive(Debug)]
pub struct ServerSsl {
    /// The server context.
    pub tls: ServerTls,
    /// Loaded certificates and keys (certificates given by variables).
    pub objects: Arc<ObjectCache>,
    /// `ssl_handshake_timeout` (60s).
    pub handshake_timeout: Duration,
    /// `ssl_certificate`/`_key` pairs with variables, evaluated for each handshake.
    pub pairs: Vec<(Complex, Complex)>,
}

/// `ssl_*` values of a terminated session, taken when the handshake ended (the SSL object
/// moves on with the stream).
#[derive(Debug, Default)]
struct SslSnapshot(HashMap<String, Vec<u8>>);

impl TlsVariables for SslSnapshot {
    fn variable(&self, name: &str) -> Option<Vec<u8>> {
        self.0.get(name).cloned()
    }
}

/// `ssl_preread_*` values.
#[derive(Debug)]
struct PrereadVariables(ClientHello);

impl TlsVariables for PrereadVariables {
    fn variable(&self, name: &str) -> Option<Vec<u8>> {
        match name {
            "ssl_preread_server_name" => Some(self.0.server_name.clone()),
            "ssl_preread_alpn_protocols" => Some(self.0.alpn_protocols.clone()),
            "ssl_preread_protocol" => Some(self.0.protocol().as_bytes().to_vec()),
            _ => None,
        }
    }
}

/// The `ssl_*` names the configuration uses.
fn ssl_names_in_use(s: &Session) -> Vec<String> {
    let vars = &s.plan.variables;
    (0..vars.len())
        .filter_map(|i| match &vars.def(VarIndex(i)).source {
            VarSource::Ssl(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the session came in through a `listen ... ssl` address.
fn ssl_listener(s: &Session) -> bool {
    s.server.listens.iter().any(|l| l.ssl && l.addr.to_string() == *s.listen_text)
}

/// The ssl phase: the TLS handshake on a `listen ... ssl` address under
/// `ssl_handshake_timeout`; `Err($status)` ends the session.
pub async fn ssl(s: &mut Session, stream: Stream) -> Result<Stream, u16> {
    let Some(server) = s.server.ssl.clone() else {
        return Ok(stream);
    };
    if !ssl_listener(s) {
        return Ok(stream);
    }
    s.action = "SSL handshaking";

    // Step: certificates given by variables are evaluated before the handshake, with
    // `$ssl_server_name` taken from the ClientHello (peeked, not consumed).
    let values = if server.pairs.is_empty() {
        None
    } else {
        let hello = peek_client_hello(&stream, server.handshake_timeout).await;
        let name = hello.map(|h| h.server_name).unwrap_or_default();
        let mut early = HashMap::new();
        if !name.is_empty() {
            early.insert("ssl_server_name".to_string(), name);
        }
        s.ssl = Some(Box::new(SslSnapshot(early)));
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            server.pairs.iter().map(|(c, k)| (s.complex(c), s.complex(k))).collect();
        s.ssl = None;
        let values: CertificateValues = Arc::new(move |_| pairs.clone());
        Some(values)
    };

    // Step: the SSL object; without one the session ends at once.
    let mut handshake = match server.tls.start(Transport::new(stream), values, &server.objects) {
        Ok(handshake) => handshake,
        Err(e) => return Err(log_failure(s, &e)),
    };

    // Step: the handshake and the client certificate checks, bounded by
    // `ssl_handshake_timeout` (nginx ends a timed-out handshake without a log line).
    let outcome = tokio::time::timeout(server.handshake_timeout, handshake.run()).await;

    // Step: the `ssl_*` values the configuration reads, taken now from the SSL object as the
    // handshake left it: nginx's log phase reads the same object after a failure.
    s.ssl = Some(Box::new(snapshot(s, handshake.ssl())));
    match outcome {
        Ok(Ok(())) => Ok(Stream::Tls(Box::new(handshake.into_stream()))),
        Ok(Err(e)) => {
            let status = log_failure(s, &e);
            // After a finished handshake (a refused client certificate) the connection
            // closes as any other: close_notify, after the log phase.
            s.close_after_log(Stream::Tls(Box::new(handshake.into_stream())));
            Err(status)
        }
        Err(_) => Err(status::INTERNAL_SERVER_ERROR),
    }
}

/// Logs a failed termination as nginx does; the `$status` it ends with.
fn log_failure(s: &Session, e: &ServerTlsError) -> u16 {
    for (level, line) in e.lines() {
        s.log(level, None, &line);
    }
    e.status()
}

/// The values of the `ssl_*` variables the configuration uses (the not found ones absent).
fn snapshot(s: &Session, ssl: &openssl::ssl::SslRef) -> SslSnapshot {
    let values = ssl_names_in_use(s)
        .into_iter()
        .filter_map(|name| variables::value(ssl, &name).map(|value| (name, value)))
        .collect();
    SslSnapshot(values)
}

/// Peeks at the ClientHello of a TCP client without consuming it (bounded by `limit`).
async fn peek_client_hello(stream: &Stream, limit: Duration) -> Option<ClientHello> {
    let Stream::Tcp(tcp) = stream else {
        return None;
    };
    let mut buf = vec![0u8; 16384];
    let peek = async {
        loop {
            let n = tcp.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            match preread::parse(&buf[..n]) {
                Preread::Done(hello) => return Some(hello),
                Preread::NotTls => return None,
                Preread::NeedMore if n == buf.len() => return None,
                // More of the hello is on its way; peek again shortly.
                Preread::NeedMore => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    };
    tokio::time::timeout(limit, peek).await.ok().flatten()
}

/// A preread that ended before the ClientHello was whole leaves the variables with what the
/// complete records gave, as nginx's parser leaves them; they exist once the client sent a
/// byte, and not before (a client silent until the timeout leaves them not found, `-`).
fn ended_early(s: &mut Session) {
    if !s.preread.is_empty() {
        let hello = preread::parsed_so_far(&s.preread);
        s.ssl_preread = Some(Box::new(PrereadVariables(hello)));
    }
}

/// The preread phase (`ssl_preread on`): reads the ClientHello within `preread_buffer_size`
/// and `preread_timeout`, keeping the bytes for the upstream.
pub async fn preread(s: &mut Session, stream: &mut Stream) -> Result<(), u16> {
    if !s.server.ssl_preread {
        return Ok(());
    }
    s.action = "prereading client data";
    let limit = s.server.preread_buffer_size;
    let deadline = tokio::time::Instant::now() + s.server.preread_timeout;
    let mut chunk = vec![0u8; limit.max(1)];
    loop {
        // Step: what was read so far may already decide.
        match preread::parse(&s.preread) {
            Preread::Done(hello) => {
                s.ssl_preread = Some(Box::new(PrereadVariables(hello)));
                return Ok(());
            }
            Preread::NotTls => {
                s.ssl_preread = None;
                return Ok(());
            }
            Preread::NeedMore => {}
        }
        if s.preread.len() >= limit {
            s.log(Level::Error, None, "preread buffer full");
            ended_early(s);
            return Err(status::BAD_REQUEST);
        }

        // Step: read more, within the buffer and the timeout.
        let room = limit - s.preread.len();
        let read = tokio::time::timeout_at(deadline, stream.read(&mut chunk[..room])).await;
        match read {
            Ok(Ok(0)) | Err(_) => {
                ended_early(s);
                return Err(status::OK);
            }
            // Not `$bytes_received`: nginx counts only what the proxy reads itself; the
            // preread bytes show in `$upstream_bytes_sent` once forwarded.
            Ok(Ok(n)) => s.preread.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => {
                s.log(Level::Info, Some(&e), "recv() failed");
                ended_early(s);
                return Err(status::BAD_REQUEST);
            }
        }
    }
}
