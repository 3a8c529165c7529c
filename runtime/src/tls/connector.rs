//! Upstream TLS (`proxy_ssl on`): one connector per distinct set of static `proxy_ssl_*`
//! settings, built at config load; per upstream connection only the dynamic parts are applied
//! (SNI, and the client certificate and key from evaluated variables), then the handshake, the
//! verification with nginx's messages, and session reuse keyed by (peer, SNI, client identity).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;
use openssl::ex_data::Index;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslRef, SslSession, SslSessionCacheMode,
    SslVerifyMode,
};
use openssl::x509::X509VerifyResult;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use super::cache::ObjectCache;
use super::certificate::{self, CertificateChain, LoadError, ObjectKind, PrivateKey, SslErrors};
use super::context::{self, Protocols, TlsConfigError};
use super::failure::{self, Failure, Peer};
use super::ffi;
use super::password::Passwords;
use crate::log::Level;

/// How many upstream sessions one connector remembers.
const SESSION_CACHE_ENTRIES: usize = 1024;

/// The static `proxy_ssl_*` settings of a server: equal settings share one connector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTlsSettings {
    /// `proxy_ssl_protocols`.
    pub protocols: Protocols,
    /// `proxy_ssl_ciphers` (`DEFAULT`).
    pub ciphers: String,
    /// `proxy_ssl_conf_command` pairs, in order.
    pub conf_commands: Vec<(String, String)>,
    /// `proxy_ssl_verify`.
    pub verify: bool,
    /// `proxy_ssl_verify_depth` (1).
    pub verify_depth: u32,
    /// `proxy_ssl_trusted_certificate`, absolute.
    pub trusted_certificate: Option<PathBuf>,
    /// `proxy_ssl_crl`, absolute.
    pub crl: Option<PathBuf>,
    /// `proxy_ssl_session_reuse` (on).
    pub session_reuse: bool,
    /// `proxy_ssl_password_file`, absolute.
    pub password_file: Option<PathBuf>,
    /// `proxy_ssl_certificate` and `_key` when both are literals (loaded into the context at
    /// config load); `None` when there is none or either has variables.
    pub static_certificate: Option<(Vec<u8>, Vec<u8>)>,
}

impl Default for UpstreamTlsSettings {
    fn default() -> UpstreamTlsSettings {
        UpstreamTlsSettings {
            protocols: Protocols::default(),
            ciphers: "DEFAULT".to_string(),
            conf_commands: Vec::new(),
            verify: false,
            verify_depth: 1,
            trusted_certificate: None,
            crl: None,
            session_reuse: true,
            password_file: None,
            static_certificate: None,
        }
    }
}

/// Which client this connection presents itself as, for the session cache.
type Identity = Option<[u8; 32]>;

/// The session cache key: strait never resumes a session made for another peer, name or
/// client certificate (nginx 1.22 keys by peer only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SessionKey {
    peer: String,
    name: Vec<u8>,
    identity: Identity,
}

/// Sessions of one connector.
type SessionCache = Mutex<LruCache<SessionKey, SslSession>>;

/// The ex_data slot carrying a connection's session key to the new-session callback.
fn session_key_index() -> Index<Ssl, SessionKey> {
    static INDEX: OnceLock<Index<Ssl, SessionKey>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index().expect("OpenSSL ex_data index"))
}

/// Why a connection presents no client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCertificate {
    /// No `proxy_ssl_certificate` applies.
    NotConfigured,
    /// The certificate value evaluated to the empty string.
    EmptyValue,
}

/// The client certificate of one upstream connection.
#[derive(Debug, Clone, Copy)]
pub enum ClientCertificate<'a> {
    /// The literal certificate loaded into the connector at config load.
    Static,
    /// Values evaluated for this connection (certificate first; the key only when the
    /// certificate was not empty, as nginx evaluates them).
    Evaluated {
        /// The evaluated `proxy_ssl_certificate`.
        certificate: &'a [u8],
        /// The evaluated `proxy_ssl_certificate_key`.
        key: &'a [u8],
    },
    /// No client certificate, and why.
    None(NoCertificate),
}

/// The per-connection inputs of an upstream handshake.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamHandshake<'a> {
    /// The peer as logged (`127.0.0.1:9002`): part of the session key.
    pub peer: &'a str,
    /// The evaluated `proxy_ssl_name`, or the default (host of proxy_pass / group name).
    pub name: &'a [u8],
    /// `proxy_ssl_server_name`.
    pub server_name: bool,
    /// The client certificate to present.
    pub certificate: ClientCertificate<'a>,
}

/// An upstream TLS failure. Certificate faults end the session with `$status` 500 and no next
/// upstream; handshake and verification faults are next-upstream conditions, as in nginx.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamTlsError {
    /// `cannot load certificate "..."` / `cannot load certificate key "..."`.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// `SSL_use_certificate("%s") failed`, `SSL_set0_chain`, `SSL_use_PrivateKey` (a
    /// certificate/key mismatch after one reload).
    #[error("{call}(\"{value}\") failed{ssl}")]
    Use {
        /// The OpenSSL call.
        call: &'static str,
        /// The value as it may be logged.
        value: String,
        /// OpenSSL's errors.
        ssl: SslErrors,
    },
    /// The SSL object could not be set up (SNI, session).
    #[error("{0}{1}")]
    Setup(&'static str, SslErrors),
    /// `SSL_do_handshake() failed (SSL: ...)`, or the peer closed the connection, at the
    /// level nginx picks for an upstream connection.
    #[error("{0}")]
    Handshake(Failure),
    /// `upstream SSL certificate verify error: (%l:%s)`.
    #[error("upstream SSL certificate verify error: {0}")]
    Verify(String),
    /// `upstream SSL certificate does not match "%V"`.
    #[error("upstream SSL certificate does not match \"{0}\"")]
    NameMismatch(String),
}

impl UpstreamTlsError {
    /// The error log level: `error`, or what nginx picks for a failed handshake.
    pub fn level(&self) -> Level {
        match self {
            UpstreamTlsError::Handshake(failure) => failure.level,
            _ => Level::Error,
        }
    }

    /// Whether nginx tries the next upstream after this failure.
    pub fn is_next_upstream(&self) -> bool {
        !matches!(
            self,
            UpstreamTlsError::Load(_) | UpstreamTlsError::Use { .. } | UpstreamTlsError::Setup(..)
        )
    }

    /// The `$status` a session ends with when no next upstream is tried for this failure.
    pub fn status(&self) -> u16 {
        if self.is_next_upstream() {
            502
        } else {
            500
        }
    }

    /// nginx's log action at the moment of the failure (`while ...`).
    pub fn action(&self) -> &'static str {
        match self {
            UpstreamTlsError::Load(_)
            | UpstreamTlsError::Use { .. }
            | UpstreamTlsError::Setup(..) => "connecting to upstream",
            _ => "SSL handshaking to upstream",
        }
    }
}

/// `proxy_ssl_name` rules: a `:port` suffix is stripped (after a `[v6]` literal's bracket).
pub fn ssl_name(name: &[u8]) -> &[u8] {
    let start = if name.first() == Some(&b'[') {
        name.iter().position(|&b| b == b']').unwrap_or(0)
    } else {
        0
    };
    match name[start..].iter().position(|&b| b == b':') {
        Some(at) => &name[..start + at],
        None => name,
    }
}

/// Whether a name may be sent as SNI: never empty, never an IP literal (RFC 6066), an IPv4
/// one being what nginx's lenient `ngx_inet_addr` reads (`127..0.1`, `01.2.3.4`).
pub fn sni_allowed(name: &[u8]) -> bool {
    if name.is_empty() || name[0] == b'[' {
        return false;
    }
    strait_parser::values::inet_addr(name).is_none()
}

/// A connector for one static setting.
pub struct UpstreamTls {
    context: SslContext,
    settings: UpstreamTlsSettings,
    passwords: Passwords,
    sessions: Option<Arc<SessionCache>>,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls").field("settings", &self.settings).finish()
    }
}

impl UpstreamTls {
    /// Builds the connector: context options, protocols, ciphers, conf commands, verification
    /// material, the static certificate, and the session cache.
    pub fn build(
        settings: &UpstreamTlsSettings,
        prefix: &Path,
    ) -> Result<UpstreamTls, TlsConfigError> {
        // Step: a client context with nginx's options (no automatic chain building).
        let mut ctx = SslContextBuilder::new(SslMethod::tls_client())
            .map_err(|e| TlsConfigError::Context(SslErrors::from_stack(&e)))?;
        context::nginx_options(&mut ctx);
        // nginx's verify callback accepts every step, so the result is the chain's last
        // error, read after the handshake (a client context asks for no verification).
        ctx.set_verify_callback(SslVerifyMode::NONE, |_, _| true);
        context::apply_common(
            &mut ctx,
            settings.protocols,
            &settings.ciphers,
            &settings.conf_commands,
        )?;

        // Step: the password file, read now (as the master does before dropping privileges).
        let passwords = match &settings.password_file {
            Some(path) => Passwords::read(path)?,
            None => Passwords::none(),
        };

        // Step: a literal certificate and key go into the context once.
        if let Some((cert, key)) = &settings.static_certificate {
            let chain = certificate::load_certificate(cert, prefix)?;
            let loaded = certificate::load_config_key(key, prefix, &passwords)?;
            install_on_context(&mut ctx, &chain, &loaded, (cert, key), prefix)?;
        }

        // Step: verification material; nginx checks the result after the handshake.
        if settings.verify {
            let Some(trusted) = &settings.trusted_certificate else {
                return Err(TlsConfigError::Missing(
                    "no proxy_ssl_trusted_certificate for proxy_ssl_verify".to_string(),
                ));
            };
            ctx.set_verify_depth(settings.verify_depth);
            context::load_trusted(&mut ctx, trusted)?;
            if let Some(crl) = &settings.crl {
                context::load_crl(&mut ctx, crl)?;
            }
        }

        // Step: the session cache, filled as sessions (or TLS 1.3 tickets) arrive.
        let sessions = settings.session_reuse.then(|| {
            let capacity = NonZeroUsize::new(SESSION_CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
            Arc::new(Mutex::new(LruCache::new(capacity)))
        });
        if let Some(cache) = &sessions {
            let cache = cache.clone();
            ctx.set_session_cache_mode(
                SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL,
            );
            ctx.set_new_session_callback(move |ssl, session| {
                // Saved as a copy, as nginx saves a serialized one: OpenSSL marks a session
                // unresumable when its connection ends badly, which must not reach the copy
                // kept for the next connection. The copy shares the peer's certificates; a
                // serialized round trip would parse them again for every new session.
                let copy = ffi::session_copy(&session);
                if let (Some(key), Ok(copy)) = (ssl.ex_data(session_key_index()), copy) {
                    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                    cache.put(key.clone(), copy);
                }
            });
        }

        Ok(UpstreamTls { context: ctx.build(), settings: settings.clone(), passwords, sessions })
    }

    /// The settings this connector was built from.
    pub fn settings(&self) -> &UpstreamTlsSettings {
        &self.settings
    }

    /// The passwords for keys loaded per connection (`proxy_ssl_password_file`).
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Prepares the SSL object of one upstream connection: SNI, client certificate, session.
    pub fn prepare(
        &self,
        hs: &UpstreamHandshake<'_>,
        objects: &ObjectCache,
    ) -> Result<Ssl, UpstreamTlsError> {
        let setup = |what, e: &openssl::error::ErrorStack| {
            UpstreamTlsError::Setup(what, SslErrors::from_stack(e))
        };
        let mut ssl = Ssl::new(&self.context).map_err(|e| setup("SSL_new() failed", &e))?;
        ssl.set_connect_state();

        // Step: SNI, when asked for and the name is not an IP literal.
        let name = ssl_name(hs.name);
        if hs.server_name && sni_allowed(name) {
            let text = String::from_utf8_lossy(name);
            ssl.set_hostname(&text).map_err(|e| setup("SSL_set_tlsext_host_name() failed", &e))?;
        }

        // Step: the client certificate evaluated for this connection.
        let identity = match hs.certificate {
            ClientCertificate::Static => Some([0xff; 32]),
            ClientCertificate::None(_) => None,
            ClientCertificate::Evaluated { certificate, key } => {
                Some(self.use_certificate(&mut ssl, certificate, key, objects)?)
            }
        };

        // Step: the session to resume, only one made for this peer, name and identity. Each
        // connection resumes its own copy, as each nginx connection decodes its own: OpenSSL
        // marks the session of a connection unresumable when a TLS 1.3 ticket replaces it,
        // and the cached one must stay resumable for the connections that follow.
        if let Some(cache) = &self.sessions {
            let key = SessionKey { peer: hs.peer.to_string(), name: name.to_vec(), identity };
            let cached = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
            if let Some(cached) = cached {
                let session = ffi::session_copy(&cached)
                    .map_err(|e| setup("SSL_SESSION_dup() failed", &e))?;
                ffi::set_session(&mut ssl, &session)
                    .map_err(|e| setup("SSL_set_session() failed", &e))?;
            }
            ssl.set_ex_data(session_key_index(), key);
        }
        Ok(ssl)
    }

    /// Loads (through the caches) and applies an evaluated certificate and key; a key that
    /// does not match is reloaded once, as nginx does.
    fn use_certificate(
        &self,
        ssl: &mut SslRef,
        cert: &[u8],
        key: &[u8],
        objects: &ObjectCache,
    ) -> Result<[u8; 32], UpstreamTlsError> {
        let mut retried = false;
        loop {
            let chain = objects.certificate(cert)?;
            let loaded = objects.key(key, &self.passwords)?;
            match apply_to_ssl(ssl, &chain, &loaded, (cert, key), objects.prefix()) {
                Ok(()) => return Ok(chain.identity),
                Err(UpstreamTlsError::Use { call: "SSL_use_PrivateKey", .. }) if !retried => {
                    retried = true;
                    objects.invalidate(certificate::ObjectKind::Certificate, cert);
                    objects.invalidate(certificate::ObjectKind::Key, key);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The whole upstream TLS step over a connected stream: prepare, handshake, verify.
    pub async fn connect<S>(
        &self,
        stream: S,
        hs: &UpstreamHandshake<'_>,
        objects: &ObjectCache,
    ) -> Result<SslStream<S>, UpstreamTlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let ssl = self.prepare(hs, objects)?;
        self.handshake(ssl, stream, hs.name).await
    }

    /// The handshake over a prepared SSL object, then `proxy_ssl_verify`'s checks against
    /// `name` (the port is stripped here).
    pub async fn handshake<S>(
        &self,
        ssl: Ssl,
        stream: S,
        name: &[u8],
    ) -> Result<SslStream<S>, UpstreamTlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut tls = SslStream::new(ssl, stream).map_err(|e| {
            UpstreamTlsError::Setup("SSL_set_fd() failed", SslErrors::from_stack(&e))
        })?;

        // Step: the handshake (the caller bounds it with proxy_connect_timeout).
        if let Err(e) = Pin::new(&mut tls).connect().await {
            return Err(UpstreamTlsError::Handshake(failure::handshake(&e, Peer::Upstream)));
        }

        // Step: verification, checked after the handshake as nginx does.
        if self.settings.verify {
            self.verify(tls.ssl(), ssl_name(name))?;
        }
        Ok(tls)
    }

    /// `proxy_ssl_verify`: the chain result, then the name.
    fn verify(&self, ssl: &SslRef, name: &[u8]) -> Result<(), UpstreamTlsError> {
        let result = ssl.verify_result();
        if result != X509VerifyResult::OK {
            return Err(UpstreamTlsError::Verify(context::verify_error_text(result)));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let matches = ssl.peer_certificate().is_some_and(|cert| ffi::check_host(&cert, &name));
        if !matches {
            return Err(UpstreamTlsError::NameMismatch(name));
        }
        Ok(())
    }
}

/// Puts a literal certificate, its chain and key on a context. `values` are the
/// certificate and key values, named in messages as nginx names them (absolute paths,
/// `data:` redacted).
fn install_on_context(
    ctx: &mut SslContextBuilder,
    chain: &CertificateChain,
    key: &PrivateKey,
    values: (&[u8], &[u8]),
    prefix: &Path,
) -> Result<(), TlsConfigError> {
    let (cert_value, key_value) = values;
    let fail = |call, kind, value, e: &openssl::error::ErrorStack| TlsConfigError::Use {
        call,
        value: certificate::shown(kind, value, prefix),
        ssl: SslErrors::from_stack(e),
    };
    ctx.set_certificate(&chain.leaf)
        .map_err(|e| fail("SSL_CTX_use_certificate", ObjectKind::Certificate, cert_value, &e))?;
    for extra in &chain.chain {
        ffi::ctx_add_chain_cert(ctx, extra)
            .map_err(|e| fail("SSL_CTX_set0_chain", ObjectKind::Certificate, cert_value, &e))?;
    }
    ctx.set_private_key(&key.key)
        .map_err(|e| fail("SSL_CTX_use_PrivateKey", ObjectKind::Key, key_value, &e))?;
    Ok(())
}

/// Puts a per-connection certificate, its chain and key on one SSL object. `values` are the
/// certificate and key values, named in messages as nginx names them (absolute paths,
/// `data:` redacted).
fn apply_to_ssl(
    ssl: &mut SslRef,
    chain: &CertificateChain,
    key: &PrivateKey,
    values: (&[u8], &[u8]),
    prefix: &Path,
) -> Result<(), UpstreamTlsError> {
    let (cert_value, key_value) = values;
    let fail = |call, kind, value, e: &openssl::error::ErrorStack| UpstreamTlsError::Use {
        call,
        value: certificate::shown(kind, value, prefix),
        ssl: SslErrors::from_stack(e),
    };
    ssl.set_certificate(&chain.leaf)
        .map_err(|e| fail("SSL_use_certificate", ObjectKind::Certificate, cert_value, &e))?;
    for extra in &chain.chain {
        ssl.add_chain_cert(extra.clone())
            .map_err(|e| fail("SSL_set0_chain", ObjectKind::Certificate, cert_value, &e))?;
    }
    ssl.set_private_key(&key.key)
        .map_err(|e| fail("SSL_use_PrivateKey", ObjectKind::Key, key_value, &e))?;
    Ok(())
}

/// The connectors of one configuration: one per distinct static setting.
#[derive(Debug, Default)]
pub struct UpstreamTlsSet {
    connectors: HashMap<UpstreamTlsSettings, Arc<UpstreamTls>>,
}

impl UpstreamTlsSet {
    /// The connector for `settings`, built on first use.
    pub fn get_or_build(
        &mut self,
        settings: &UpstreamTlsSettings,
        prefix: &Path,
    ) -> Result<Arc<UpstreamTls>, TlsConfigError> {
        if let Some(existing) = self.connectors.get(settings) {
            return Ok(existing.clone());
        }
        let built = Arc::new(UpstreamTls::build(settings, prefix)?);
        self.connectors.insert(settings.clone(), built.clone());
        Ok(built)
    }

    /// How many distinct connectors exist.
    pub fn len(&self) -> usize {
        self.connectors.len()
    }

    /// True when no server uses upstream TLS.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_name_strips_the_port() {
        assert_eq!(ssl_name(b"example.com:443"), b"example.com");
        assert_eq!(ssl_name(b"example.com"), b"example.com");
        assert_eq!(ssl_name(b"[::1]:443"), b"[::1]");
        assert_eq!(ssl_name(b"127.0.0.1:8443"), b"127.0.0.1");
        assert_eq!(ssl_name(b""), b"");
    }

    #[test]
    fn sni_is_never_an_ip_literal() {
        assert!(sni_allowed(b"upstream.test"));
        assert!(!sni_allowed(b"127.0.0.1"));
        assert!(!sni_allowed(b"127..0.1") && !sni_allowed(b"01.2.3.4"));
        assert!(sni_allowed(b"1.2.3") && sni_allowed(b"255.255.255.255"));
        assert!(!sni_allowed(b"[::1]"));
        assert!(!sni_allowed(b""));
    }

    #[test]
    fn equal_settings_share_one_connector() {
        let mut set = UpstreamTlsSet::default();
        let prefix = Path::new("/");
        let a = set.get_or_build(&UpstreamTlsSettings::default(), prefix).unwrap();
        let b = set.get_or_build(&UpstreamTlsSettings::default(), prefix).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = UpstreamTlsSettings { ciphers: "HIGH".into(), ..Default::default() };
        set.get_or_build(&other, prefix).unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn verify_without_trusted_certificate_is_refused() {
        let settings = UpstreamTlsSettings { verify: true, ..Default::default() };
        let err = UpstreamTls::build(&settings, Path::new("/")).unwrap_err();
        assert_eq!(err.to_string(), "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
    }

    #[test]
    fn bad_ciphers_read_like_nginx() {
        let settings = UpstreamTlsSettings { ciphers: "NOPE".into(), ..Default::default() };
        let err = UpstreamTls::build(&settings, Path::new("/")).unwrap_err();
        assert!(
            err.to_string().starts_with("SSL_CTX_set_cipher_list(\"NOPE\") failed (SSL: "),
            "{err}"
        );
    }
}
