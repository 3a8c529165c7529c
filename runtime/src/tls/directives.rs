//! The TLS directives of `stream {}` and `server {}` (`proxy_ssl*`, `ssl_*`, `ssl_preread`):
//! read with nginx's checks and messages, merged server-over-stream as nginx merges them, and
//! built once per configuration into connectors, server contexts and caches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strait_parser::ast::{Directive, Location};

use super::acceptor::{ServerTls, ServerTlsSettings, SessionCache, VerifyClient};
use super::cache::{self, CacheSettings, ObjectCache};
use super::certificate::Redacted;
use super::connector::{NoCertificate, UpstreamTlsSet, UpstreamTlsSettings};
use super::context::{full_path, Protocols, TlsConfigError};
use super::password::Passwords;
use super::phase::{CertificateSpec, DefaultName, ProxySsl, ServerSsl};
use crate::conf::{parse_number, parse_time, text, ConfigError, DirectiveExt};
use crate::plan::ProxyPass;
use crate::variables::{Complex, Variables};

/// A certificate or key value as written, compiled.
#[derive(Debug, Clone)]
pub struct CertValue {
    /// The compiled value.
    pub value: Complex,
    /// The literal bytes when it has no variables.
    pub literal: Option<Vec<u8>>,
}

/// The TLS directives written at one level (`stream {}` or one `server {}`).
#[derive(Debug, Clone, Default)]
pub struct TlsDirectives {
    proxy_ssl: Option<bool>,
    proxy_protocols: Option<Protocols>,
    proxy_ciphers: Option<String>,
    proxy_conf_commands: Option<Vec<(String, String)>>,
    proxy_name: Option<Complex>,
    proxy_server_name: Option<bool>,
    proxy_verify: Option<bool>,
    proxy_verify_depth: Option<u32>,
    proxy_trusted: Option<PathBuf>,
    proxy_crl: Option<PathBuf>,
    proxy_session_reuse: Option<bool>,
    proxy_password_file: Option<PathBuf>,
    proxy_certificate: Option<CertValue>,
    proxy_certificate_key: Option<CertValue>,
    proxy_certificate_cache: Option<Option<CacheSettings>>,
    certificates: Option<Vec<CertValue>>,
    certificate_keys: Option<Vec<CertValue>>,
    password_file: Option<PathBuf>,
    protocols: Option<Protocols>,
    ciphers: Option<String>,
    prefer_server_ciphers: Option<bool>,
    ecdh_curve: Option<String>,
    dhparam: Option<PathBuf>,
    session_cache: Option<SessionCache>,
    session_timeout: Option<Duration>,
    session_tickets: Option<bool>,
    ticket_keys: Option<Vec<PathBuf>>,
    handshake_timeout: Option<Duration>,
    alpn: Option<Vec<Vec<u8>>>,
    conf_commands: Option<Vec<(String, String)>>,
    verify_client: Option<VerifyClient>,
    verify_depth: Option<u32>,
    client_certificate: Option<PathBuf>,
    trusted_certificate: Option<PathBuf>,
    crl: Option<PathBuf>,
    certificate_cache: Option<Option<CacheSettings>>,
    preread: Option<bool>,
}

/// Sets a slot once; a repeat is `"NAME" directive is duplicate`.
fn once<T>(slot: &mut Option<T>, d: &Directive, value: T) -> Result<(), ConfigError> {
    if slot.is_some() {
        return Err(d.directive_error("is duplicate"));
    }
    *slot = Some(value);
    Ok(())
}

/// Reads one TLS directive into `t`; `Ok(false)` when `d` is not one strait implements (the
/// caller then rejects it as unsupported).
pub fn take(
    t: &mut TlsDirectives,
    d: &Directive,
    vars: &mut Variables,
    conf_prefix: &Path,
) -> Result<bool, ConfigError> {
    let name = d.name.value.as_slice();
    let path = |d: &Directive| -> Result<PathBuf, ConfigError> {
        Ok(full_path(conf_prefix, &text(&d.one_arg()?.value)))
    };
    let seconds = |d: &Directive, ms: bool| -> Result<Duration, ConfigError> {
        parse_time(&d.one_arg()?.value, ms).ok_or_else(|| d.directive_error("invalid value"))
    };
    let number = |d: &Directive| -> Result<u32, ConfigError> {
        parse_number(&d.one_arg()?.value)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| d.directive_error("invalid number"))
    };
    let with_location = |d: &Directive, message: String| d.error(message);
    match name {
        // Upstream TLS.
        b"proxy_ssl" => once(&mut t.proxy_ssl, d, d.flag()?)?,
        b"proxy_ssl_protocols" => {
            let p = Protocols::parse(&d.values()).map_err(|m| with_location(d, m))?;
            once(&mut t.proxy_protocols, d, p)?
        }
        b"proxy_ssl_ciphers" => once(&mut t.proxy_ciphers, d, text(&d.one_arg()?.value))?,
        b"proxy_ssl_conf_command" => conf_command(&mut t.proxy_conf_commands, d)?,
        b"proxy_ssl_name" => {
            let value = compile(d, vars)?;
            once(&mut t.proxy_name, d, value.value)?
        }
        b"proxy_ssl_server_name" => once(&mut t.proxy_server_name, d, d.flag()?)?,
        b"proxy_ssl_verify" => once(&mut t.proxy_verify, d, d.flag()?)?,
        b"proxy_ssl_verify_depth" => once(&mut t.proxy_verify_depth, d, number(d)?)?,
        b"proxy_ssl_trusted_certificate" => once(&mut t.proxy_trusted, d, path(d)?)?,
        b"proxy_ssl_crl" => once(&mut t.proxy_crl, d, path(d)?)?,
        b"proxy_ssl_session_reuse" => once(&mut t.proxy_session_reuse, d, d.flag()?)?,
        b"proxy_ssl_password_file" => {
            once(&mut t.proxy_password_file, d, password_file(d, conf_prefix)?)?
        }
        b"proxy_ssl_certificate" => once(&mut t.proxy_certificate, d, compile(d, vars)?)?,
        b"proxy_ssl_certificate_key" => once(&mut t.proxy_certificate_key, d, compile(d, vars)?)?,
        b"proxy_ssl_certificate_cache" => {
            let settings = cache::parse_cache_directive("proxy_ssl_certificate_cache", &d.values())
                .map_err(|m| with_location(d, m))?;
            once(&mut t.proxy_certificate_cache, d, settings)?
        }

        // TLS termination.
        b"ssl_certificate" => t.certificates.get_or_insert_with(Vec::new).push(compile(d, vars)?),
        b"ssl_certificate_key" => {
            t.certificate_keys.get_or_insert_with(Vec::new).push(compile(d, vars)?)
        }
        b"ssl_password_file" => once(&mut t.password_file, d, password_file(d, conf_prefix)?)?,
        b"ssl_protocols" => {
            let p = Protocols::parse(&d.values()).map_err(|m| with_location(d, m))?;
            once(&mut t.protocols, d, p)?
        }
        b"ssl_ciphers" => once(&mut t.ciphers, d, text(&d.one_arg()?.value))?,
        b"ssl_prefer_server_ciphers" => once(&mut t.prefer_server_ciphers, d, d.flag()?)?,
        b"ssl_ecdh_curve" => once(&mut t.ecdh_curve, d, text(&d.one_arg()?.value))?,
        b"ssl_dhparam" => once(&mut t.dhparam, d, path(d)?)?,
        b"ssl_session_cache" => {
            let c = SessionCache::parse(&d.values()).map_err(|m| with_location(d, m))?;
            once(&mut t.session_cache, d, c)?
        }
        b"ssl_session_timeout" => once(&mut t.session_timeout, d, seconds(d, false)?)?,
        b"ssl_session_tickets" => once(&mut t.session_tickets, d, d.flag()?)?,
        b"ssl_session_ticket_key" => t.ticket_keys.get_or_insert_with(Vec::new).push(path(d)?),
        b"ssl_handshake_timeout" => once(&mut t.handshake_timeout, d, seconds(d, true)?)?,
        b"ssl_alpn" => {
            let mut protocols = Vec::new();
            for v in d.values() {
                if v.len() > 255 {
                    return Err(d.directive_error("protocol too long"));
                }
                protocols.push(v.to_vec());
            }
            once(&mut t.alpn, d, protocols)?
        }
        b"ssl_conf_command" => conf_command(&mut t.conf_commands, d)?,
        b"ssl_verify_client" => {
            let v = VerifyClient::parse(&d.one_arg()?.value).map_err(|m| with_location(d, m))?;
            once(&mut t.verify_client, d, v)?
        }
        b"ssl_verify_depth" => once(&mut t.verify_depth, d, number(d)?)?,
        b"ssl_client_certificate" => once(&mut t.client_certificate, d, path(d)?)?,
        b"ssl_trusted_certificate" => once(&mut t.trusted_certificate, d, path(d)?)?,
        b"ssl_crl" => once(&mut t.crl, d, path(d)?)?,
        b"ssl_certificate_cache" => {
            let settings = cache::parse_cache_directive("ssl_certificate_cache", &d.values())
                .map_err(|m| with_location(d, m))?;
            once(&mut t.certificate_cache, d, settings)?
        }

        // ssl_preread.
        b"ssl_preread" => once(&mut t.preread, d, d.flag()?)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A certificate-like value: compiled, with its literal form when it has no variables.
fn compile(d: &Directive, vars: &mut Variables) -> Result<CertValue, ConfigError> {
    let raw = &d.one_arg()?.value;
    let value = Complex::compile(raw, vars).map_err(|e| {
        if e.message.starts_with("unknown \"") {
            e
        } else {
            ConfigError::at(d.loc(), e.message)
        }
    })?;
    let literal = value.as_literal();
    Ok(CertValue { value, literal })
}

/// `*ssl_conf_command NAME VALUE`: repeatable pairs.
fn conf_command(
    slot: &mut Option<Vec<(String, String)>>,
    d: &Directive,
) -> Result<(), ConfigError> {
    let values = d.values();
    let [key, value] = values.as_slice() else {
        return Err(
            d.error(format!("invalid number of arguments in \"{}\" directive", d.name_str()))
        );
    };
    slot.get_or_insert_with(Vec::new).push((text(key), text(value)));
    Ok(())
}

/// `*ssl_password_file`: read now, as nginx reads it while parsing (errors carry the place).
fn password_file(d: &Directive, conf_prefix: &Path) -> Result<PathBuf, ConfigError> {
    let path = full_path(conf_prefix, &text(&d.one_arg()?.value));
    Passwords::read(&path).map_err(|e| d.error(e.to_string()))?;
    Ok(path)
}

impl TlsDirectives {
    /// The server's directives over the stream level's, as nginx's merge does.
    pub fn merged(&self, parent: &TlsDirectives) -> TlsDirectives {
        macro_rules! pick {
            ($($field:ident),* $(,)?) => {
                TlsDirectives {
                    $($field: self.$field.clone().or_else(|| parent.$field.clone()),)*
                }
            };
        }
        pick!(
            proxy_ssl,
            proxy_protocols,
            proxy_ciphers,
            proxy_conf_commands,
            proxy_name,
            proxy_server_name,
            proxy_verify,
            proxy_verify_depth,
            proxy_trusted,
            proxy_crl,
            proxy_session_reuse,
            proxy_password_file,
            proxy_certificate,
            proxy_certificate_key,
            proxy_certificate_cache,
            certificates,
            certificate_keys,
            password_file,
            protocols,
            ciphers,
            prefer_server_ciphers,
            ecdh_curve,
            dhparam,
            session_cache,
            session_timeout,
            session_tickets,
            ticket_keys,
            handshake_timeout,
            alpn,
            conf_commands,
            verify_client,
            verify_depth,
            client_certificate,
            trusted_certificate,
            crl,
            certificate_cache,
            preread,
        )
    }

    /// `ssl_preread on`.
    pub fn preread(&self) -> bool {
        self.preread.unwrap_or(false)
    }
}

/// Builds what the TLS directives of a configuration need, sharing connectors and caches.
#[derive(Debug)]
pub struct TlsBuilder {
    conf_prefix: PathBuf,
    connectors: UpstreamTlsSet,
    caches: HashMap<Option<CacheSettings>, Arc<ObjectCache>>,
    block_end: Option<Location>,
}

impl TlsBuilder {
    /// A builder resolving relative paths against the config prefix.
    pub fn new(conf_prefix: &Path) -> TlsBuilder {
        TlsBuilder {
            conf_prefix: conf_prefix.to_path_buf(),
            connectors: UpstreamTlsSet::default(),
            caches: HashMap::new(),
            block_end: None,
        }
    }

    /// Where the `stream {}` block whose servers are built next closes: the place nginx's
    /// merge names in the faults it reports with a location (an `ssl_session_ticket_key`
    /// file that cannot be opened or has the wrong size). Without it those faults go
    /// without ` in FILE:LINE`.
    pub fn set_block_end(&mut self, stream: &Directive) {
        let file = stream.name.location.file.clone();
        self.block_end = Some(Location { file, line: stream.close_line, column: 1 });
    }

    /// A fault of building a context, placed where nginx reports it.
    fn config_error(&self, e: TlsConfigError) -> ConfigError {
        match &self.block_end {
            Some(location) if e.at_block_end() => ConfigError::at(location, e.to_string()),
            _ => ConfigError::bare(e.to_string()),
        }
    }

    fn cache(&mut self, settings: Option<CacheSettings>) -> Arc<ObjectCache> {
        let prefix = self.conf_prefix.clone();
        self.caches
            .entry(settings)
            .or_insert_with(|| Arc::new(ObjectCache::new(&prefix, settings)))
            .clone()
    }

    /// The upstream TLS step of a server with `proxy_ssl on` (merged directives).
    pub fn upstream(
        &mut self,
        m: &TlsDirectives,
        pass: &ProxyPass,
    ) -> Result<Option<Arc<dyn crate::proxy::UpstreamTls>>, ConfigError> {
        if !m.proxy_ssl.unwrap_or(false) {
            return Ok(None);
        }

        // Step: the client certificate: none, literal (loaded now) or per connection.
        let cert = m.proxy_certificate.as_ref().filter(|c| c.literal.as_deref() != Some(b""));
        let (certificate, static_certificate) = match (cert, &m.proxy_certificate_key) {
            (None, _) => (CertificateSpec::None(NoCertificate::NotConfigured), None),
            (Some(cert), None) => {
                let shown = match &cert.literal {
                    Some(lit) => Redacted(lit).to_string(),
                    None => "(variable)".to_string(),
                };
                return Err(ConfigError::bare(format!(
                    "no \"proxy_ssl_certificate_key\" is defined for certificate \"{shown}\""
                )));
            }
            (Some(cert), Some(key)) => match (&cert.literal, &key.literal) {
                (Some(c), Some(k)) => (CertificateSpec::Static, Some((c.clone(), k.clone()))),
                _ => (
                    CertificateSpec::Variable { cert: cert.value.clone(), key: key.value.clone() },
                    None,
                ),
            },
        };

        // Step: the connector for these static settings (shared with equal servers).
        let settings = UpstreamTlsSettings {
            protocols: m.proxy_protocols.unwrap_or_default(),
            ciphers: m.proxy_ciphers.clone().unwrap_or_else(|| "DEFAULT".to_string()),
            conf_commands: m.proxy_conf_commands.clone().unwrap_or_default(),
            verify: m.proxy_verify.unwrap_or(false),
            verify_depth: m.proxy_verify_depth.unwrap_or(1),
            trusted_certificate: m.proxy_trusted.clone(),
            crl: m.proxy_crl.clone(),
            session_reuse: m.proxy_session_reuse.unwrap_or(true),
            password_file: m.proxy_password_file.clone(),
            static_certificate,
        };
        let prefix = self.conf_prefix.clone();
        let connector = self
            .connectors
            .get_or_build(&settings, &prefix)
            .map_err(|e| ConfigError::bare(e.to_string()))?;

        // Step: the per-connection parts: name, SNI, certificate values, caches.
        let default_name = match pass {
            ProxyPass::Group(group) => DefaultName::Fixed(group.name().as_bytes().to_vec()),
            ProxyPass::Value(value) => DefaultName::Value(value.clone()),
        };
        let objects = self.cache(m.proxy_certificate_cache.unwrap_or(None));
        Ok(Some(Arc::new(ProxySsl {
            connector,
            objects,
            name: m.proxy_name.clone(),
            default_name,
            server_name: m.proxy_server_name.unwrap_or(false),
            certificate,
        })))
    }

    /// The TLS termination of a server with a `listen ... ssl` (merged directives).
    pub fn server(
        &mut self,
        m: &TlsDirectives,
        ssl_listen: Option<&Directive>,
    ) -> Result<Option<Arc<ServerSsl>>, ConfigError> {
        let Some(listen) = ssl_listen else {
            return Ok(None);
        };

        // Step: certificate and key pairs, as nginx pairs them.
        let certs = m.certificates.clone().unwrap_or_default();
        if certs.is_empty() {
            return Err(listen
                .error("no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive"));
        }
        let keys = m.certificate_keys.clone().unwrap_or_default();
        if keys.len() < certs.len() {
            let cert = &certs[keys.len()];
            let shown =
                cert.literal.as_deref().map(|l| Redacted(l).to_string()).unwrap_or_default();
            return Err(ConfigError::bare(format!(
                "no \"ssl_certificate_key\" is defined for certificate \"{shown}\""
            )));
        }
        let dynamic = certs.iter().chain(keys.iter()).any(|c| c.literal.is_none());
        let literal_pairs = if dynamic {
            Vec::new()
        } else {
            certs
                .iter()
                .zip(keys.iter())
                .map(|(c, k)| {
                    (c.literal.clone().unwrap_or_default(), k.literal.clone().unwrap_or_default())
                })
                .collect()
        };

        // Step: the server context.
        let settings = ServerTlsSettings {
            certificates: literal_pairs,
            dynamic_certificates: dynamic,
            password_file: m.password_file.clone(),
            protocols: m.protocols.unwrap_or_default(),
            ciphers: m.ciphers.clone().unwrap_or_else(|| "HIGH:!aNULL:!MD5".to_string()),
            prefer_server_ciphers: m.prefer_server_ciphers.unwrap_or(false),
            ecdh_curve: m.ecdh_curve.clone().unwrap_or_else(|| "auto".to_string()),
            dhparam: m.dhparam.clone(),
            session_cache: m.session_cache.unwrap_or_default(),
            session_timeout: m.session_timeout.unwrap_or(Duration::from_secs(300)),
            session_tickets: m.session_tickets.unwrap_or(true),
            ticket_keys: m.ticket_keys.clone().unwrap_or_default(),
            alpn: m.alpn.clone().unwrap_or_default(),
            conf_commands: m.conf_commands.clone().unwrap_or_default(),
            verify_client: m.verify_client.unwrap_or_default(),
            verify_depth: m.verify_depth.unwrap_or(1),
            client_certificate: m.client_certificate.clone(),
            trusted_certificate: m.trusted_certificate.clone(),
            crl: m.crl.clone(),
        };
        if settings.verify_client != VerifyClient::Off
            && settings.verify_client != VerifyClient::OptionalNoCa
            && settings.client_certificate.is_none()
            && settings.trusted_certificate.is_none()
        {
            return Err(ConfigError::bare(
                "no ssl_client_certificate for ssl_verify_client".to_string(),
            ));
        }
        let tls =
            ServerTls::build(&settings, &self.conf_prefix).map_err(|e| self.config_error(e))?;
        let pairs = if dynamic {
            certs.into_iter().zip(keys).map(|(c, k)| (c.value, k.value)).collect()
        } else {
            Vec::new()
        };
        Ok(Some(Arc::new(ServerSsl {
            tls,
            objects: self.cache(m.certificate_cache.unwrap_or(None)),
            handshake_timeout: m.handshake_timeout.unwrap_or(Duration::from_secs(60)),
            pairs,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ssl_session_ticket_key` fault names the `stream {}` block's closing brace once the
    /// builder knows it, as nginx's merge does; none before.
    #[test]
    fn ticket_key_faults_name_the_stream_block_end() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
        let source = format!(
            "stream {{\n    server {{\n        listen 127.0.0.1:1 ssl;\n        \
             ssl_certificate {pki}/server.crt;\n        ssl_certificate_key {pki}/server.key;\n\
             \x20       ssl_session_ticket_key nope.key;\n        return x;\n    }}\n\n}}\n",
            pki = pki.display()
        );
        let path = dir.path().join("nginx.conf");
        let config =
            strait_parser::parse_bytes(source.as_bytes(), &path, &Default::default()).unwrap();
        let stream = &config.files[0].block.directives[0];
        let server = &stream.block.as_ref().unwrap().directives[0];
        let mut tls = TlsDirectives::default();
        let mut vars = Variables::default();
        let mut listen = None;
        for d in &server.block.as_ref().unwrap().directives {
            match d.name.value.as_slice() {
                b"listen" => listen = Some(d),
                b"return" => {}
                _ => assert!(take(&mut tls, d, &mut vars, dir.path()).unwrap()),
            }
        }

        let message = format!(
            "open() \"{}\" failed (2: No such file or directory)",
            dir.path().join("nope.key").display()
        );
        let mut builder = TlsBuilder::new(dir.path());
        let err = builder.server(&tls, listen).unwrap_err();
        assert_eq!(err.to_string(), message);
        builder.set_block_end(stream);
        let err = builder.server(&tls, listen).unwrap_err();
        assert_eq!(err.to_string(), format!("{message} in {}:10", path.display()));
    }
}
