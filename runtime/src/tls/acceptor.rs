//! TLS termination (`listen ... ssl`): the server context built from the `ssl_*` directives
//! at config load, certificates given by variables or `data:` loaded in the handshake's
//! certificate step, and the client-certificate checks nginx makes after the handshake.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openssl::dh::Dh;
use openssl::ex_data::Index;
use openssl::ssl::{
    AlpnError, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslRef,
    SslSessionCacheMode, SslVerifyMode,
};
use openssl::x509::X509VerifyResult;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use super::cache::ObjectCache;
use super::certificate::{self, LoadError, ObjectKind, SslErrors};
use super::context::{self, Protocols, TlsConfigError};
use super::failure::{self, Failure, Peer};
use super::ffi;
use super::password::Passwords;
use crate::log::Level;

/// `ssl_verify_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VerifyClient {
    /// `off`: no client certificate is asked for.
    #[default]
    Off,
    /// `on`: a valid client certificate is required.
    On,
    /// `optional`: asked for; if sent, it must verify.
    Optional,
    /// `optional_no_ca`: asked for; chain errors about the issuer are tolerated.
    OptionalNoCa,
}

impl VerifyClient {
    /// Parses the directive's argument; anything else is `invalid value "X"`.
    pub fn parse(arg: &[u8]) -> Result<VerifyClient, String> {
        match arg {
            b"off" => Ok(VerifyClient::Off),
            b"on" => Ok(VerifyClient::On),
            b"optional" => Ok(VerifyClient::Optional),
            b"optional_no_ca" => Ok(VerifyClient::OptionalNoCa),
            _ => Err(format!("invalid value \"{}\"", String::from_utf8_lossy(arg))),
        }
    }
}

/// `ssl_session_cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessionCache {
    /// `off`: no session reuse through a cache.
    Off,
    /// `none` (the default): no cache, clients are told sessions may be reused.
    #[default]
    None,
    /// `builtin[:size]` or `shared:name:size` (one process: both are the in-memory cache);
    /// the number of sessions kept.
    Sessions(u64),
}

impl SessionCache {
    /// Parses the arguments of `ssl_session_cache`.
    pub fn parse(args: &[&[u8]]) -> Result<SessionCache, String> {
        let invalid =
            |a: &[u8]| format!("invalid session cache \"{}\"", String::from_utf8_lossy(a));
        let mut cache = SessionCache::None;
        for arg in args {
            cache = match *arg {
                b"off" => SessionCache::Off,
                b"none" => SessionCache::None,
                b"builtin" => SessionCache::Sessions(20480),
                _ if arg.starts_with(b"builtin:") => {
                    let n =
                        strait_parser::values::parse_int(&arg[8..]).ok_or_else(|| invalid(arg))?;
                    SessionCache::Sessions(n as u64)
                }
                _ if arg.starts_with(b"shared:") => {
                    let rest = &arg[7..];
                    let colon = rest.iter().position(|&b| b == b':').ok_or_else(|| invalid(arg))?;
                    let size = strait_parser::values::parse_size(&rest[colon + 1..])
                        .ok_or_else(|| invalid(arg))?;
                    // nginx: one megabyte holds about 4000 sessions.
                    SessionCache::Sessions((size / 256).max(1))
                }
                _ => return Err(invalid(arg)),
            };
        }
        Ok(cache)
    }
}

/// The `ssl_*` settings of a `listen ... ssl` server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerTlsSettings {
    /// `ssl_certificate` / `ssl_certificate_key` pairs as literal values (static ones).
    pub certificates: Vec<(Vec<u8>, Vec<u8>)>,
    /// True when a pair has variables: they are evaluated and loaded in the handshake.
    pub dynamic_certificates: bool,
    /// `ssl_password_file`, absolute.
    pub password_file: Option<PathBuf>,
    /// `ssl_protocols`.
    pub protocols: Protocols,
    /// `ssl_ciphers` (`HIGH:!aNULL:!MD5`).
    pub ciphers: String,
    /// `ssl_prefer_server_ciphers`.
    pub prefer_server_ciphers: bool,
    /// `ssl_ecdh_curve` (`auto`).
    pub ecdh_curve: String,
    /// `ssl_dhparam`, absolute.
    pub dhparam: Option<PathBuf>,
    /// `ssl_session_cache`.
    pub session_cache: SessionCache,
    /// `ssl_session_timeout` (300s).
    pub session_timeout: Duration,
    /// `ssl_session_tickets` (on).
    pub session_tickets: bool,
    /// `ssl_session_ticket_key` files, absolute (the first one encrypts).
    pub ticket_keys: Vec<PathBuf>,
    /// `ssl_alpn` protocols.
    pub alpn: Vec<Vec<u8>>,
    /// `ssl_conf_command` pairs.
    pub conf_commands: Vec<(String, String)>,
    /// `ssl_verify_client`.
    pub verify_client: VerifyClient,
    /// `ssl_verify_depth` (1).
    pub verify_depth: u32,
    /// `ssl_client_certificate`, absolute.
    pub client_certificate: Option<PathBuf>,
    /// `ssl_trusted_certificate`, absolute.
    pub trusted_certificate: Option<PathBuf>,
    /// `ssl_crl`, absolute.
    pub crl: Option<PathBuf>,
}

impl Default for ServerTlsSettings {
    fn default() -> ServerTlsSettings {
        ServerTlsSettings {
            certificates: Vec::new(),
            dynamic_certificates: false,
            password_file: None,
            protocols: Protocols::default(),
            ciphers: "HIGH:!aNULL:!MD5".to_string(),
            prefer_server_ciphers: false,
            ecdh_curve: "auto".to_string(),
            dhparam: None,
            session_cache: SessionCache::None,
            session_timeout: Duration::from_secs(300),
            session_tickets: true,
            ticket_keys: Vec::new(),
            alpn: Vec::new(),
            conf_commands: Vec::new(),
            verify_client: VerifyClient::Off,
            verify_depth: 1,
            client_certificate: None,
            trusted_certificate: None,
            crl: None,
        }
    }
}

/// Evaluates a session's `ssl_certificate` / `ssl_certificate_key` values during the
/// handshake (they may use `$ssl_server_name`, readable from the SSL object).
pub type CertificateValues = Arc<dyn Fn(&SslRef) -> Vec<(Vec<u8>, Vec<u8>)> + Send + Sync>;

/// What the certificate step of one handshake needs, and where it leaves a failure.
struct HandshakeCertificates {
    values: CertificateValues,
    objects: Arc<ObjectCache>,
    passwords: Passwords,
    failure: Mutex<Option<ServerTlsError>>,
}

impl std::fmt::Debug for HandshakeCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandshakeCertificates").field("passwords", &self.passwords).finish()
    }
}

fn handshake_index() -> Index<Ssl, Arc<HandshakeCertificates>> {
    static INDEX: OnceLock<Index<Ssl, Arc<HandshakeCertificates>>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("OpenSSL ex_data index"))
}

/// A failed TLS termination. Each ends the session with `$status` 500, as nginx finalizes
/// every failure of its ssl phase; [`ServerTlsError::lines`] is what the error log shows.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    /// A certificate given by variables could not be loaded (`[error]`).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Applying a loaded certificate failed (`[error]`).
    #[error("{call}(\"{value}\") failed{ssl}")]
    Use {
        /// The OpenSSL call.
        call: &'static str,
        /// The value as it may be logged.
        value: String,
        /// OpenSSL's errors.
        ssl: SslErrors,
    },
    /// The SSL object could not be created (`[alert]`, as `ngx_ssl_create_connection`).
    #[error("SSL_new() failed{0}")]
    Setup(SslErrors),
    /// The handshake failed, at the level nginx picks for OpenSSL's reason.
    #[error("{0}")]
    Handshake(Failure),
    /// The certificate step of the handshake failed: nginx logs why, then the handshake
    /// failure it causes (`cert cb error`).
    #[error("{handshake}")]
    Certificate {
        /// The load or use failure (`[error]`).
        cause: Box<ServerTlsError>,
        /// The handshake failure that follows.
        handshake: Failure,
    },
    /// `client SSL certificate verify error: (%l:%s)` (`[info]`).
    #[error("client SSL certificate verify error: {0}")]
    ClientVerify(String),
    /// `client sent no required SSL certificate` (`[info]`).
    #[error("client sent no required SSL certificate")]
    NoClientCertificate,
}

impl ServerTlsError {
    /// `$status` of a session that ends with this failure: nginx turns the `NGX_ERROR` of
    /// its ssl phase into 500 (`ngx_stream_core_generic_phase`), and finalizes a failed or
    /// timed-out handshake with 500.
    pub fn status(&self) -> u16 {
        500
    }

    /// The error log lines of this failure, in nginx's order and levels.
    pub fn lines(&self) -> Vec<(Level, String)> {
        match self {
            ServerTlsError::Load(_) | ServerTlsError::Use { .. } => {
                vec![(Level::Error, self.to_string())]
            }
            ServerTlsError::Setup(_) => vec![(Level::Alert, self.to_string())],
            ServerTlsError::Handshake(failure) => vec![(failure.level, failure.text.clone())],
            ServerTlsError::Certificate { cause, handshake } => {
                let mut lines = cause.lines();
                lines.push((handshake.level, handshake.text.clone()));
                lines
            }
            ServerTlsError::ClientVerify(_) | ServerTlsError::NoClientCertificate => {
                vec![(Level::Info, self.to_string())]
            }
        }
    }
}

/// The TLS context of one `listen ... ssl` server.
pub struct ServerTls {
    context: SslContext,
    settings: ServerTlsSettings,
    passwords: Passwords,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").field("settings", &self.settings).finish()
    }
}

/// `X509_V_ERR_*` codes `optional_no_ca` tolerates (nginx's `ngx_ssl_verify_error_optional`).
fn verify_error_optional(code: i32) -> bool {
    matches!(code, 2 | 18 | 19 | 20 | 21)
}

impl ServerTls {
    /// Builds the server context from the settings, in nginx's order.
    pub fn build(settings: &ServerTlsSettings, prefix: &Path) -> Result<ServerTls, TlsConfigError> {
        // Step: a server context with nginx's options.
        let mut ctx = SslContextBuilder::new(SslMethod::tls_server())
            .map_err(|e| TlsConfigError::Context(SslErrors::from_stack(&e)))?;
        context::nginx_options(&mut ctx);
        context::apply_common(&mut ctx, settings.protocols, &settings.ciphers, &[])?;
        if settings.prefer_server_ciphers {
            ctx.set_options(SslOptions::CIPHER_SERVER_PREFERENCE);
        }

        // Step: static certificates (RSA and ECDSA pairs side by side).
        let passwords = match &settings.password_file {
            Some(path) => Passwords::read(path)?,
            None => Passwords::none(),
        };
        if !settings.dynamic_certificates {
            for (cert, key) in &settings.certificates {
                let chain = certificate::load_certificate(cert, prefix)?;
                let loaded = certificate::load_config_key(key, prefix, &passwords)?;
                // Messages name the values as nginx's loaders leave them: absolute paths.
                let fail =
                    |call, kind, value, e: &openssl::error::ErrorStack| TlsConfigError::Use {
                        call,
                        value: certificate::shown(kind, value, prefix),
                        ssl: SslErrors::from_stack(e),
                    };
                ctx.set_certificate(&chain.leaf).map_err(|e| {
                    fail("SSL_CTX_use_certificate", ObjectKind::Certificate, cert, &e)
                })?;
                for extra in &chain.chain {
                    ffi::ctx_add_chain_cert(&mut ctx, extra).map_err(|e| {
                        fail("SSL_CTX_set0_chain", ObjectKind::Certificate, cert, &e)
                    })?;
                }
                ctx.set_private_key(&loaded.key)
                    .map_err(|e| fail("SSL_CTX_use_PrivateKey", ObjectKind::Key, key, &e))?;
            }
        }

        // Step: key exchange parameters, read as nginx does: BIO_new_file(), whose failure
        // carries OpenSSL's error queue, then the PEM.
        if let Some(path) = &settings.dhparam {
            let shown = path.display().to_string();
            let pem = ffi::read_file(path).map_err(|fault| match fault {
                ffi::ReadFault::Open(e) => {
                    TlsConfigError::DhParamsFile(shown.clone(), SslErrors::from_stack(&e))
                }
                ffi::ReadFault::TooLarge => TlsConfigError::DhParams(
                    shown.clone(),
                    SslErrors::from_stack(&openssl::error::ErrorStack::get()),
                ),
            })?;
            let dh = Dh::params_from_pem(&pem)
                .map_err(|e| TlsConfigError::DhParams(shown.clone(), SslErrors::from_stack(&e)))?;
            ctx.set_tmp_dh(&dh)
                .map_err(|e| TlsConfigError::DhParams(shown, SslErrors::from_stack(&e)))?;
        }
        if settings.ecdh_curve != "auto" {
            ctx.set_groups_list(&settings.ecdh_curve).map_err(|e| {
                TlsConfigError::Curves(settings.ecdh_curve.clone(), SslErrors::from_stack(&e))
            })?;
        }

        // Step: sessions: the cache, its timeout, tickets, and the id context.
        match settings.session_cache {
            SessionCache::Off | SessionCache::None => {
                ctx.set_session_cache_mode(SslSessionCacheMode::OFF);
            }
            SessionCache::Sessions(n) => {
                ctx.set_session_cache_mode(SslSessionCacheMode::SERVER);
                ctx.set_session_cache_size(i32::try_from(n).unwrap_or(i32::MAX));
            }
        }
        ffi::ctx_set_session_timeout(&mut ctx, settings.session_timeout.as_secs());
        // The ticket key files are read whether tickets are on or off, as nginx reads them.
        let keys = settings.ticket_keys.iter().map(|path| read_ticket_key(path));
        let keys = keys.collect::<Result<Vec<_>, _>>()?;
        if !settings.session_tickets {
            ctx.set_options(SslOptions::NO_TICKET);
        } else if !keys.is_empty() && !ffi::set_ticket_keys(&mut ctx, keys) {
            return Err(TlsConfigError::Missing(
                "SSL_CTX_set_tlsext_ticket_key_cb() failed".to_string(),
            ));
        }
        let sid = openssl::sha::sha256(format!("{:?}", settings.certificates).as_bytes());
        ctx.set_session_id_context(&sid[..32])
            .map_err(|e| TlsConfigError::Context(SslErrors::from_stack(&e)))?;

        // Step: ALPN, choosing the first of our protocols the client offers.
        if !settings.alpn.is_empty() {
            let ours = settings.alpn.clone();
            ctx.set_alpn_select_callback(move |_, client| {
                select_alpn(&ours, client).ok_or(AlpnError::ALERT_FATAL)
            });
        }

        // Step: client certificates: always ask-and-continue; checked after the handshake.
        // As in nginx 1.22, the CA files and the CRL are read only when ssl_verify_client
        // asks for certificates (a missing file is no fault otherwise).
        if settings.verify_client != VerifyClient::Off {
            ctx.set_verify_callback(SslVerifyMode::PEER, |_, _| true);
            ctx.set_verify_depth(settings.verify_depth);
            if let Some(path) = &settings.client_certificate {
                context::load_trusted(&mut ctx, path)?;
                let names = openssl::x509::X509Name::load_client_ca_file(path).map_err(|e| {
                    TlsConfigError::ClientCaFile(
                        path.display().to_string(),
                        SslErrors::from_stack(&e),
                    )
                })?;
                ctx.set_client_ca_list(names);
            }
            if let Some(path) = &settings.trusted_certificate {
                context::load_trusted(&mut ctx, path)?;
            }
            if let Some(path) = &settings.crl {
                context::load_crl(&mut ctx, path)?;
            }
        }

        // Step: the server-name step of every handshake, as nginx always has one: it keeps the
        // SNI name in the session (`$ssl_server_name` of resumed sessions).
        ctx.set_servername_callback(|_, _| Ok(()));

        // Step: certificates given by variables are applied in the certificate step of each
        // handshake, as nginx's `SSL_CTX_set_cert_cb`; a failure there fails the handshake
        // with `cert cb error`.
        if settings.dynamic_certificates {
            ffi::ctx_set_certificate_callback(&mut ctx, load_handshake_certificates);
        }

        // Step: conf commands last, so they can override anything above.
        context::apply_common(
            &mut ctx,
            settings.protocols,
            &settings.ciphers,
            &settings.conf_commands,
        )?;

        Ok(ServerTls { context: ctx.build(), settings: settings.clone(), passwords })
    }

    /// The settings this context was built from.
    pub fn settings(&self) -> &ServerTlsSettings {
        &self.settings
    }

    /// The SSL object of one client connection over `stream`, with what the certificate
    /// step of its handshake needs (`values`: certificates given by variables).
    pub fn start<S>(
        &self,
        stream: S,
        values: Option<CertificateValues>,
        objects: &Arc<ObjectCache>,
    ) -> Result<Handshake<S>, ServerTlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut ssl = Ssl::new(&self.context)
            .map_err(|e| ServerTlsError::Setup(SslErrors::from_stack(&e)))?;
        let certificates = values.map(|values| {
            let certs = Arc::new(HandshakeCertificates {
                values,
                objects: objects.clone(),
                passwords: self.passwords.clone(),
                failure: Mutex::new(None),
            });
            ssl.set_ex_data(handshake_index(), certs.clone());
            certs
        });
        let tls = SslStream::new(ssl, stream)
            .map_err(|e| ServerTlsError::Setup(SslErrors::from_stack(&e)))?;
        Ok(Handshake { tls, certificates, verify_client: self.settings.verify_client })
    }

    /// Runs the whole termination on `stream`: [`ServerTls::start`], then
    /// [`Handshake::run`]; the stream when both succeed.
    pub async fn accept<S>(
        &self,
        stream: S,
        values: Option<CertificateValues>,
        objects: &Arc<ObjectCache>,
    ) -> Result<SslStream<S>, ServerTlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut handshake = self.start(stream, values, objects)?;
        handshake.run().await?;
        Ok(handshake.into_stream())
    }
}

/// Reads one `ssl_session_ticket_key` file as `ngx_ssl_session_ticket_keys` does: opened,
/// its size checked (a directory opens, and has the wrong size), then read.
fn read_ticket_key(path: &Path) -> Result<ffi::TicketKey, TlsConfigError> {
    use std::io::Read;

    let shown = path.display().to_string();
    let io_fault = |e: &std::io::Error| {
        let (errno, reason) = super::password::errno_parts(e);
        TlsConfigError::TicketKeyOpen { path: shown.clone(), errno, reason }
    };
    let mut file = std::fs::File::open(path).map_err(|e| io_fault(&e))?;
    let size = file.metadata().map_err(|e| io_fault(&e))?.len();
    if size != 48 && size != 80 {
        return Err(TlsConfigError::TicketKeySize(shown));
    }
    let mut content = Vec::new();
    file.read_to_end(&mut content).map_err(|e| io_fault(&e))?;
    ffi::TicketKey::from_file_content(&content).ok_or(TlsConfigError::TicketKeySize(shown))
}

/// One server handshake in progress; its SSL object stays readable whatever the outcome
/// (nginx's `$ssl_*` variables read it after a failed or timed-out handshake too).
#[derive(Debug)]
pub struct Handshake<S> {
    tls: SslStream<S>,
    certificates: Option<Arc<HandshakeCertificates>>,
    verify_client: VerifyClient,
}

impl<S> Handshake<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs the handshake (the caller bounds it with `ssl_handshake_timeout`), then nginx's
    /// checks of the client certificate.
    pub async fn run(&mut self) -> Result<(), ServerTlsError> {
        // Step: the handshake; a failed certificate step is reported with its cause.
        if let Err(e) = Pin::new(&mut self.tls).accept().await {
            let handshake = failure::handshake(&e, Peer::Client);
            let cause = self.certificates.as_ref().and_then(|c| c.failure.lock().ok()?.take());
            return Err(match cause {
                Some(cause) => ServerTlsError::Certificate { cause: Box::new(cause), handshake },
                None => ServerTlsError::Handshake(handshake),
            });
        }

        // Step: nginx's checks of the client certificate (ngx_stream_ssl_handler).
        if self.verify_client != VerifyClient::Off {
            let result = self.tls.ssl().verify_result();
            let tolerated = self.verify_client == VerifyClient::OptionalNoCa
                && verify_error_optional(result.as_raw());
            if result != X509VerifyResult::OK && !tolerated {
                return Err(ServerTlsError::ClientVerify(context::verify_error_text(result)));
            }
            if self.verify_client == VerifyClient::On && self.tls.ssl().peer_certificate().is_none()
            {
                return Err(ServerTlsError::NoClientCertificate);
            }
        }
        Ok(())
    }

    /// The SSL object, as far as the handshake got.
    pub fn ssl(&self) -> &SslRef {
        self.tls.ssl()
    }

    /// The TLS stream.
    pub fn into_stream(self) -> SslStream<S> {
        self.tls
    }
}

/// `SSL_select_next_proto`'s choice: the first of our protocols the client offers (the
/// returned slice lies in the client's list).
fn select_alpn<'a>(ours: &[Vec<u8>], client: &'a [u8]) -> Option<&'a [u8]> {
    let mut offered = Vec::new();
    let mut rest = client;
    while let Some((&len, tail)) = rest.split_first() {
        let len = len as usize;
        if tail.len() < len {
            break;
        }
        offered.push(&tail[..len]);
        rest = &tail[len..];
    }
    ours.iter().find_map(|p| offered.iter().copied().find(|o| *o == p.as_slice()))
}

/// The certificate step (nginx's `ngx_stream_ssl_certificate`): load the evaluated values
/// through the caches and apply them; false fails the handshake, the cause kept for the log.
fn load_handshake_certificates(ssl: &mut SslRef) -> bool {
    let Some(certs) = ssl.ex_data(handshake_index()).cloned() else {
        return true;
    };
    let pairs = (certs.values)(ssl);
    for (cert, key) in pairs {
        let applied = apply_pair(ssl, &certs, &cert, &key);
        if let Err(failure) = applied {
            if let Ok(mut slot) = certs.failure.lock() {
                *slot = Some(failure);
            }
            return false;
        }
    }
    true
}

/// Loads and applies one certificate/key pair to a handshake.
fn apply_pair(
    ssl: &mut SslRef,
    certs: &HandshakeCertificates,
    cert: &[u8],
    key: &[u8],
) -> Result<(), ServerTlsError> {
    let chain = certs.objects.certificate(cert)?;
    let loaded = certs.objects.key(key, &certs.passwords)?;
    // Messages name the values as nginx's loaders leave them: absolute paths.
    let prefix = certs.objects.prefix();
    let fail = |call, kind, value, e: &openssl::error::ErrorStack| ServerTlsError::Use {
        call,
        value: certificate::shown(kind, value, prefix),
        ssl: SslErrors::from_stack(e),
    };
    ssl.set_certificate(&chain.leaf)
        .map_err(|e| fail("SSL_use_certificate", ObjectKind::Certificate, cert, &e))?;
    for extra in &chain.chain {
        ssl.add_chain_cert(extra.clone())
            .map_err(|e| fail("SSL_set0_chain", ObjectKind::Certificate, cert, &e))?;
    }
    ssl.set_private_key(&loaded.key)
        .map_err(|e| fail("SSL_use_PrivateKey", ObjectKind::Key, key, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_client_values() {
        assert_eq!(VerifyClient::parse(b"optional_no_ca"), Ok(VerifyClient::OptionalNoCa));
        assert_eq!(VerifyClient::parse(b"maybe"), Err("invalid value \"maybe\"".into()));
    }

    #[test]
    fn ticket_key_files_must_be_48_or_80_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ticket.key");
        std::fs::write(&path, [1u8; 10]).unwrap();
        let settings = ServerTlsSettings { ticket_keys: vec![path.clone()], ..Default::default() };
        let err = ServerTls::build(&settings, dir.path()).unwrap_err();
        assert_eq!(err.to_string(), format!("\"{}\" must be 48 or 80 bytes", path.display()));
        std::fs::write(&path, [1u8; 48]).unwrap();
        ServerTls::build(&settings, dir.path()).unwrap();

        // Read with tickets off too; a directory has the wrong size; a missing file.
        let off = ServerTlsSettings {
            ticket_keys: vec![dir.path().to_path_buf()],
            session_tickets: false,
            ..Default::default()
        };
        let err = ServerTls::build(&off, dir.path()).unwrap_err();
        assert!(matches!(err, TlsConfigError::TicketKeySize(_)), "{err}");
        assert!(err.at_block_end());
        let missing = dir.path().join("nope.key");
        let settings = ServerTlsSettings { ticket_keys: vec![missing.clone()], ..settings };
        let err = ServerTls::build(&settings, dir.path()).unwrap_err();
        let text =
            format!("open() \"{}\" failed (2: No such file or directory)", missing.display());
        assert_eq!(err.to_string(), text);
        assert!(err.at_block_end());
    }

    #[test]
    fn session_cache_values() {
        assert_eq!(SessionCache::parse(&[b"off"]), Ok(SessionCache::Off));
        assert_eq!(SessionCache::parse(&[b"shared:SSL:1m"]), Ok(SessionCache::Sessions(4096)));
        assert_eq!(SessionCache::parse(&[b"builtin:100"]), Ok(SessionCache::Sessions(100)));
        assert!(SessionCache::parse(&[b"weird"]).is_err());
    }
}
