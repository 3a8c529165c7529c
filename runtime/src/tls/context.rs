//! What upstream and server TLS contexts share: the protocol set (`*ssl_protocols`), ciphers,
//! `*ssl_conf_command`, trusted certificates and CRLs, and the config-time errors, worded as
//! nginx words them.

use std::path::{Path, PathBuf};

use openssl::ssl::{SslContextBuilder, SslMode, SslOptions};
use openssl::x509::store::X509Lookup;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::X509VerifyResult;

use super::certificate::{LoadError, SslErrors};
use super::ffi::{self, ConfCommandError};
use super::password::PasswordFileError;

/// The options and modes `ngx_ssl_create` gives every context, server or client: no
/// compression or renegotiation, an end of stream without close_notify taken as the peer's
/// close (`SSL_OP_IGNORE_UNEXPECTED_EOF`), no automatic chain building, and reading ahead
/// (a failed handshake has consumed what the client sent, so closing sends a FIN, not a
/// reset).
pub(crate) fn nginx_options(ctx: &mut SslContextBuilder) {
    ctx.set_options(
        SslOptions::NO_COMPRESSION
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::IGNORE_UNEXPECTED_EOF,
    );
    ctx.set_mode(SslMode::RELEASE_BUFFERS | SslMode::NO_AUTO_CHAIN);
    ctx.set_read_ahead(true);
}

/// A set of protocol versions (`*ssl_protocols`), nginx's bitmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protocols(u8);

/// The protocol names `*ssl_protocols` accepts, with their bits.
const PROTOCOL_NAMES: [(&str, u8); 6] = [
    ("SSLv2", 0x01),
    ("SSLv3", 0x02),
    ("TLSv1", 0x04),
    ("TLSv1.1", 0x08),
    ("TLSv1.2", 0x10),
    ("TLSv1.3", 0x20),
];

impl Default for Protocols {
    /// nginx >= 1.27.3's default, `TLSv1.2 TLSv1.3` (1.22.1 had `TLSv1 TLSv1.1 TLSv1.2`).
    fn default() -> Protocols {
        Protocols(0x30)
    }
}

impl Protocols {
    /// Parses the arguments of `*ssl_protocols`; an unknown name is `invalid value "X"`.
    pub fn parse(args: &[&[u8]]) -> Result<Protocols, String> {
        let mut bits = 0;
        for arg in args {
            let Some((_, bit)) = PROTOCOL_NAMES.iter().find(|(n, _)| n.as_bytes() == *arg) else {
                return Err(format!("invalid value \"{}\"", String::from_utf8_lossy(arg)));
            };
            bits |= bit;
        }
        Ok(Protocols(bits))
    }

    /// Disables on `ctx` every protocol not in the set, as nginx does with `SSL_OP_NO_*`.
    fn apply(self, ctx: &mut SslContextBuilder) {
        let options = [
            (0x02, SslOptions::NO_SSLV3),
            (0x04, SslOptions::NO_TLSV1),
            (0x08, SslOptions::NO_TLSV1_1),
            (0x10, SslOptions::NO_TLSV1_2),
            (0x20, SslOptions::NO_TLSV1_3),
        ];
        for (bit, option) in options {
            if self.0 & bit == 0 {
                ctx.set_options(option);
            }
        }
    }
}

/// A TLS setting that cannot be applied at config load; `Display` is nginx's `[emerg]` text
/// (the caller adds ` in FILE:LINE` where nginx does).
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A static certificate or key failed to load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A password file could not be read.
    #[error(transparent)]
    PasswordFile(#[from] PasswordFileError),
    /// `SSL_CTX_new() failed`.
    #[error("SSL_CTX_new() failed{0}")]
    Context(SslErrors),
    /// `SSL_CTX_set_cipher_list("%V") failed`.
    #[error("SSL_CTX_set_cipher_list(\"{0}\") failed{1}")]
    Ciphers(String, SslErrors),
    /// `SSL_CTX_load_verify_locations("%s") failed`.
    #[error("SSL_CTX_load_verify_locations(\"{0}\") failed{1}")]
    VerifyLocations(String, SslErrors),
    /// `SSL_load_client_CA_file("%s") failed`.
    #[error("SSL_load_client_CA_file(\"{0}\") failed{1}")]
    ClientCaFile(String, SslErrors),
    /// `X509_LOOKUP_load_file("%s") failed`.
    #[error("X509_LOOKUP_load_file(\"{0}\") failed{1}")]
    Crl(String, SslErrors),
    /// `SSL_CONF_cmd("%s", "%s") failed`.
    #[error("SSL_CONF_cmd(\"{0}\", \"{1}\") failed{2}")]
    ConfCommand(String, String, SslErrors),
    /// `SSL_CONF_finish() failed`.
    #[error("SSL_CONF_finish() failed{0}")]
    ConfFinish(SslErrors),
    /// `SSL_use_certificate`/`SSL_CTX_use_PrivateKey` and friends failed.
    #[error("{call}(\"{value}\") failed{ssl}")]
    Use {
        /// The OpenSSL call, e.g. `SSL_CTX_use_PrivateKey`.
        call: &'static str,
        /// The value as it may be logged.
        value: String,
        /// OpenSSL's errors.
        ssl: SslErrors,
    },
    /// `BIO_new_file("%s") failed`: the `ssl_dhparam` file cannot be opened.
    #[error("BIO_new_file(\"{0}\") failed{1}")]
    DhParamsFile(String, SslErrors),
    /// `PEM_read_bio_DHparams("%s") failed` and other DH parameter faults.
    #[error("PEM_read_bio_DHparams(\"{0}\") failed{1}")]
    DhParams(String, SslErrors),
    /// `SSL_CTX_set1_curves_list("%s") failed`.
    #[error("SSL_CTX_set1_curves_list(\"{0}\") failed{1}")]
    Curves(String, SslErrors),
    /// `open() "%s" failed (%d: %s)`: an `ssl_session_ticket_key` file cannot be opened.
    #[error("open() \"{path}\" failed ({errno}: {reason})")]
    TicketKeyOpen {
        /// The file, absolute.
        path: String,
        /// The system's error number.
        errno: i32,
        /// Its text.
        reason: String,
    },
    /// `"%s" must be 48 or 80 bytes`: an `ssl_session_ticket_key` file of another size.
    #[error("\"{0}\" must be 48 or 80 bytes")]
    TicketKeySize(String),
    /// `no proxy_ssl_trusted_certificate for proxy_ssl_verify` and similar merge-time faults.
    #[error("{0}")]
    Missing(String),
    /// A directive strait does not implement (never silently ignored).
    #[error("{0}")]
    Unsupported(String),
}

impl TlsConfigError {
    /// Whether nginx reports this fault where its merge of the `stream {}` block runs, with
    /// ` in FILE:LINE` of the block's closing brace (`ngx_conf_log_error` at merge time);
    /// nginx reports the others without a location.
    pub fn at_block_end(&self) -> bool {
        matches!(self, TlsConfigError::TicketKeyOpen { .. } | TlsConfigError::TicketKeySize(_))
    }
}

/// Sets protocols, ciphers and conf commands on a context, in nginx's order.
pub(crate) fn apply_common(
    ctx: &mut SslContextBuilder,
    protocols: Protocols,
    ciphers: &str,
    conf_commands: &[(String, String)],
) -> Result<(), TlsConfigError> {
    protocols.apply(ctx);
    ctx.set_cipher_list(ciphers)
        .map_err(|e| TlsConfigError::Ciphers(ciphers.to_string(), SslErrors::from_stack(&e)))?;
    ffi::conf_commands(ctx, conf_commands).map_err(|e| match e {
        ConfCommandError::Command(k, v, s) => {
            TlsConfigError::ConfCommand(k, v, SslErrors::from_stack(&s))
        }
        ConfCommandError::Finish(s) => TlsConfigError::ConfFinish(SslErrors::from_stack(&s)),
    })
}

/// `*_trusted_certificate` / `ssl_client_certificate`: CA certificates to verify the peer.
pub(crate) fn load_trusted(ctx: &mut SslContextBuilder, path: &Path) -> Result<(), TlsConfigError> {
    ctx.set_ca_file(path).map_err(|e| {
        TlsConfigError::VerifyLocations(path.display().to_string(), SslErrors::from_stack(&e))
    })
}

/// `*_crl`: revocation lists, checked for the whole chain. The file is read as nginx's
/// `ngx_ssl_crl` reads it (`X509_LOOKUP_load_file`): certificates in it are accepted too and
/// join the trusted ones, and a failure carries the same error queue.
pub(crate) fn load_crl(ctx: &mut SslContextBuilder, path: &Path) -> Result<(), TlsConfigError> {
    let fail = |e: &openssl::error::ErrorStack| {
        TlsConfigError::Crl(path.display().to_string(), SslErrors::from_stack(e))
    };
    let store = ctx.cert_store_mut();
    let lookup = store.add_lookup(X509Lookup::file()).map_err(|e| fail(&e))?;
    ffi::lookup_load_file(lookup, path).map_err(|e| fail(&e))?;
    store
        .set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)
        .map_err(|e| fail(&e))?;
    Ok(())
}

/// A path argument made absolute against the config prefix.
pub fn full_path(prefix: &Path, value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        prefix.join(path)
    }
}

/// `(%l:%s)` of a verify result, as nginx prints it.
pub fn verify_error_text(result: X509VerifyResult) -> String {
    format!("({}:{})", result.as_raw(), result.error_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_parse() {
        assert_eq!(Protocols::parse(&[b"TLSv1.2", b"TLSv1.3"]), Ok(Protocols::default()));
        assert_eq!(Protocols::parse(&[b"TLSv9"]), Err("invalid value \"TLSv9\"".into()));
    }
}
