//! Loading client and server certificates and keys exactly as nginx does (`data:` inline PEM,
//! files relative to the config prefix, encrypted keys with a password list), with error texts
//! in nginx's words and key material kept out of every message.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::ffi::{self, PemStep};
use super::password::Passwords;

/// The prefix that marks an inline PEM value.
pub const DATA_PREFIX: &[u8] = b"data:";

/// `PEM_BUFSIZE`: the buffer OpenSSL hands to a password callback.
const PEM_BUFSIZE: usize = 1024;

/// Which of the two objects a value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `*ssl_certificate`: a certificate and its chain.
    Certificate,
    /// `*ssl_certificate_key`: a private key.
    Key,
}

/// Where an evaluated certificate or key value points (nginx's `ngx_ssl_cache_init_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `data:PEM`: the PEM text in memory.
    Data(Vec<u8>),
    /// A file, made absolute against the config prefix.
    File(PathBuf),
    /// `engine:NAME:ID` (keys only): not supported by strait.
    Engine,
    /// `store:URI` (keys only): not supported by strait.
    Store,
}

impl Source {
    /// Classifies an evaluated value; relative paths are joined to `prefix`.
    pub fn classify(kind: ObjectKind, value: &[u8], prefix: &Path) -> Source {
        if let Some(pem) = value.strip_prefix(DATA_PREFIX) {
            return Source::Data(pem.to_vec());
        }
        if kind == ObjectKind::Key && value.starts_with(b"engine:") {
            return Source::Engine;
        }
        if kind == ObjectKind::Key && value.starts_with(b"store:") {
            return Source::Store;
        }
        let path = Path::new(OsStr::from_bytes(value));
        Source::File(if path.is_absolute() { path.to_path_buf() } else { prefix.join(path) })
    }
}

/// How a certificate or key value is shown in a log line: paths as they are, `data:` values as
/// `data:` plus a short SHA-256 digest and the length — never the PEM (nginx prints it whole).
#[derive(Debug, Clone, Copy)]
pub struct Redacted<'a>(pub &'a [u8]);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.strip_prefix(DATA_PREFIX) {
            Some(pem) => {
                let digest = openssl::sha::sha256(pem);
                write!(f, "data:sha256:")?;
                for byte in &digest[..6] {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, ",{} bytes", pem.len())
            }
            None => f.write_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

/// OpenSSL's error queue formatted as nginx appends it: ` (SSL: error:... error:...)`, or
/// nothing when the queue was empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslErrors(String);

impl SslErrors {
    /// Formats the drained queue like nginx's `ngx_ssl_error`.
    pub fn from_stack(stack: &ErrorStack) -> SslErrors {
        let mut text = String::new();
        for error in stack.errors() {
            text.push(' ');
            text.push_str(&ffi::error_string(error.code()));
            if let Some(data) = error.data().filter(|d| !d.is_empty()) {
                text.push(':');
                text.push_str(data);
            }
        }
        if text.is_empty() {
            return SslErrors(text);
        }
        SslErrors(format!(" (SSL:{text})"))
    }

    /// True when OpenSSL reported nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for SslErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The step of loading that failed, named by the OpenSSL call as nginx names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStep {
    /// `BIO_new_file() failed`.
    OpenFile,
    /// `BIO_new_mem_buf() failed`.
    MemoryBuffer,
    /// `PEM_read_bio_X509_AUX() failed`: no readable certificate.
    ReadCertificate,
    /// `PEM_read_bio_X509() failed`: a broken certificate in the chain.
    ReadChain,
    /// `PEM_read_bio_PrivateKey() failed`: no readable key, or no password fit.
    ReadKey,
    /// `engine:` keys are not supported.
    EngineUnsupported,
    /// `store:` keys are not supported.
    StoreUnsupported,
    /// The file holds more than strait reads of one (strait's own text).
    TooLarge,
}

impl LoadStep {
    /// The text nginx logs for this step.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadStep::OpenFile => "BIO_new_file() failed",
            LoadStep::MemoryBuffer => "BIO_new_mem_buf() failed",
            LoadStep::ReadCertificate => "PEM_read_bio_X509_AUX() failed",
            LoadStep::ReadChain => "PEM_read_bio_X509() failed",
            LoadStep::ReadKey => "PEM_read_bio_PrivateKey() failed",
            LoadStep::EngineUnsupported => {
                "loading \"engine:...\" certificate keys is not supported"
            }
            LoadStep::StoreUnsupported => "loading \"store:...\" certificate keys is not supported",
            LoadStep::TooLarge => "the file is larger than 1 MiB",
        }
    }
}

/// A certificate or key that could not be loaded; displays as nginx's
/// `cannot load certificate "%s": %s` / `cannot load certificate key "%s": %s`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot load certificate{} \"{shown}\": {}{ssl}", key_word(*kind), step.as_str())]
pub struct LoadError {
    /// Certificate or key.
    pub kind: ObjectKind,
    /// The value as it may be logged: an absolute path, or a [`Redacted`] `data:` value.
    pub shown: String,
    /// What failed.
    pub step: LoadStep,
    /// OpenSSL's error queue at the failure.
    pub ssl: SslErrors,
}

/// `" key"` for keys, nothing for certificates.
fn key_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Certificate => "",
        ObjectKind::Key => " key",
    }
}

/// A loaded certificate with its chain, and the identity used to key upstream sessions.
#[derive(Clone)]
pub struct CertificateChain {
    /// The certificate itself.
    pub leaf: X509,
    /// Further certificates, in file order.
    pub chain: Vec<X509>,
    /// SHA-256 of the leaf's DER: which client this certificate makes us.
    pub identity: [u8; 32],
}

impl fmt::Debug for CertificateChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateChain")
            .field("subject", &self.leaf.subject_name())
            .field("chain", &self.chain.len())
            .finish()
    }
}

/// A loaded private key; `encrypted` records whether a password was asked for (nginx never
/// caches those).
#[derive(Clone)]
pub struct PrivateKey {
    /// The key.
    pub key: PKey<Private>,
    /// The password callback ran while reading it.
    pub encrypted: bool,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key itself: only what kind of key it is.
        f.debug_struct("PrivateKey")
            .field("id", &self.key.id())
            .field("bits", &self.key.bits())
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

/// How a value is named in messages: absolute path, or the redacted `data:` form.
pub fn shown_value(source: &Source, value: &[u8]) -> String {
    match source {
        Source::File(path) => path.display().to_string(),
        _ => Redacted(value).to_string(),
    }
}

/// How an evaluated value is named in messages about it (`SSL_use_PrivateKey("%s")` and the
/// other calls that apply a loaded object): a relative path made absolute against `prefix`,
/// as nginx's loaders leave it, and a `data:` value redacted.
pub fn shown(kind: ObjectKind, value: &[u8], prefix: &Path) -> String {
    shown_value(&Source::classify(kind, value, prefix), value)
}

/// The PEM bytes an evaluated value holds or names (a file is read now). How messages name
/// the value ([`shown`]) is worked out only for a failure: for a `data:` value it is a SHA-256
/// digest, which a connection that finds its objects cached should not pay for.
pub fn read_value(kind: ObjectKind, value: &[u8], prefix: &Path) -> Result<Vec<u8>, LoadError> {
    let source = Source::classify(kind, value, prefix);
    let fail = |source: &Source, step, stack: &ErrorStack| LoadError {
        kind,
        shown: shown_value(source, value),
        step,
        ssl: SslErrors::from_stack(stack),
    };
    match source {
        Source::Data(pem) => Ok(pem),
        Source::File(ref path) => ffi::read_file(path).map_err(|fault| match fault {
            ffi::ReadFault::Open(e) => fail(&source, LoadStep::OpenFile, &e),
            ffi::ReadFault::TooLarge => fail(&source, LoadStep::TooLarge, &ErrorStack::get()),
        }),
        Source::Engine => Err(fail(&source, LoadStep::EngineUnsupported, &ErrorStack::get())),
        Source::Store => Err(fail(&source, LoadStep::StoreUnsupported, &ErrorStack::get())),
    }
}

/// Loads a certificate and its chain from an evaluated value (`ngx_ssl_load_certificate`).
pub fn load_certificate(value: &[u8], prefix: &Path) -> Result<CertificateChain, LoadError> {
    let pem = read_value(ObjectKind::Certificate, value, prefix)?;
    certificate_from_pem(&pem, &shown(ObjectKind::Certificate, value, prefix))
}

/// Parses a certificate PEM (first certificate, then its chain).
pub fn certificate_from_pem(pem: &[u8], shown: &str) -> Result<CertificateChain, LoadError> {
    let (leaf, chain) = ffi::read_certificate_chain(pem).map_err(|(step, stack)| LoadError {
        kind: ObjectKind::Certificate,
        shown: shown.to_string(),
        step: match step {
            PemStep::Leaf => LoadStep::ReadCertificate,
            PemStep::Chain => LoadStep::ReadChain,
        },
        ssl: SslErrors::from_stack(&stack),
    })?;
    let identity = leaf
        .digest(MessageDigest::sha256())
        .ok()
        .and_then(|d| <[u8; 32]>::try_from(&d[..]).ok())
        .unwrap_or([0; 32]);
    Ok(CertificateChain { leaf, chain, identity })
}

/// Loads a private key from an evaluated value (`ngx_ssl_load_certificate_key`): each password
/// is tried in order; without passwords an encrypted key fails instead of prompting.
pub fn load_key(
    value: &[u8],
    prefix: &Path,
    passwords: &Passwords,
) -> Result<PrivateKey, LoadError> {
    let pem = read_value(ObjectKind::Key, value, prefix)?;
    key_from_pem(&pem, &shown(ObjectKind::Key, value, prefix), passwords)
}

/// Loads a key of the configuration itself (`ssl_certificate_key` or
/// `proxy_ssl_certificate_key` without variables), at startup. With a password file this is
/// [`load_key`]. Without one nginx passes OpenSSL no password callback, so OpenSSL prompts
/// on nginx's terminal; strait never prompts, and an encrypted key fails with the errors
/// that prompt gives when there is no terminal to read (nginx started with its standard
/// input closed, as under a service manager).
pub fn load_config_key(
    value: &[u8],
    prefix: &Path,
    passwords: &Passwords,
) -> Result<PrivateKey, LoadError> {
    if !passwords.is_empty() {
        return load_key(value, prefix, passwords);
    }
    let pem = read_value(ObjectKind::Key, value, prefix)?;
    match ffi::read_private_key_without_terminal(&pem) {
        Ok(key) => Ok(PrivateKey { key, encrypted: false }),
        Err(stack) => Err(LoadError {
            kind: ObjectKind::Key,
            shown: shown(ObjectKind::Key, value, prefix),
            step: LoadStep::ReadKey,
            ssl: SslErrors::from_stack(&stack),
        }),
    }
}

/// Parses a key PEM, trying each password in order (a single try with none when the list is
/// empty); the callback always exists, so OpenSSL never reads a terminal.
pub fn key_from_pem(
    pem: &[u8],
    shown: &str,
    passwords: &Passwords,
) -> Result<PrivateKey, LoadError> {
    let candidates: Vec<Option<&[u8]>> =
        if passwords.is_empty() { vec![None] } else { passwords.iter().map(Some).collect() };
    let mut last_error = ErrorStack::get();
    let mut encrypted = false;
    for password in candidates {
        let result = PKey::private_key_from_pem_callback(pem, |buf| {
            encrypted = true;
            let Some(password) = password else {
                return Ok(0);
            };
            let len = password.len().min(buf.len()).min(PEM_BUFSIZE);
            buf[..len].copy_from_slice(&password[..len]);
            Ok(len)
        });
        match result {
            Ok(key) => return Ok(PrivateKey { key, encrypted }),
            Err(stack) => last_error = stack,
        }
    }
    Err(LoadError {
        kind: ObjectKind::Key,
        shown: shown.to_string(),
        step: LoadStep::ReadKey,
        ssl: SslErrors::from_stack(&last_error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki")
    }

    fn data_value(file: &str) -> Vec<u8> {
        let mut value = b"data:".to_vec();
        value.extend(std::fs::read(pki().join(file)).unwrap());
        value
    }

    #[test]
    fn file_relative_to_prefix_loads_leaf_and_chain() {
        let cert = load_certificate(b"client-c-chain.crt", &pki()).unwrap();
        assert_eq!(cert.chain.len(), 1);
        let cn = cert.leaf.subject_name().entries().last().unwrap().data().as_slice();
        assert_eq!(cn, b"client-c");
    }

    #[test]
    fn data_value_loads_certificate_and_key() {
        let cert =
            load_certificate(&data_value("client-a.crt"), Path::new("/nonexistent")).unwrap();
        assert!(cert.chain.is_empty());
        let key =
            load_key(&data_value("client-a.key"), Path::new("/"), &Passwords::none()).unwrap();
        assert!(!key.encrypted);
        assert!(cert.leaf.public_key().unwrap().public_eq(&key.key));
    }

    #[test]
    fn missing_file_reads_like_nginx() {
        let err = load_certificate(b"missing.crt", Path::new("/PREFIX")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot load certificate \"/PREFIX/missing.crt\": BIO_new_file() failed \
             (SSL: error:80000002:system library::No such file or directory:calling \
             fopen(/PREFIX/missing.crt, r) error:10000080:BIO routines::no such file)"
        );
    }

    #[test]
    fn files_past_the_limit_are_not_read_whole() {
        // An endless device, a large file, and one just within the limit (a PEM that
        // fails only as PEM).
        let err = load_certificate(b"/dev/zero", Path::new("/")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot load certificate \"/dev/zero\": the file is larger than 1 MiB"
        );
        let dir = tempfile::tempdir().unwrap();
        let large = std::fs::File::create(dir.path().join("large.key")).unwrap();
        large.set_len(ffi::PEM_FILE_LIMIT + 1).unwrap();
        let err = load_key(b"large.key", dir.path(), &Passwords::none()).unwrap_err();
        assert_eq!(err.step, LoadStep::TooLarge);
        let within = std::fs::File::create(dir.path().join("within.crt")).unwrap();
        within.set_len(ffi::PEM_FILE_LIMIT).unwrap();
        let err = load_certificate(b"within.crt", dir.path()).unwrap_err();
        assert_eq!(err.step, LoadStep::ReadCertificate);
    }

    #[test]
    fn bad_data_value_is_redacted_and_reads_like_nginx() {
        let err = load_certificate(b"data:garbage", Path::new("/")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot load certificate \"data:sha256:795b6904e54f,7 bytes\": \
             PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start \
             line:Expecting: TRUSTED CERTIFICATE)"
        );
    }

    #[test]
    fn redacted_never_shows_pem() {
        let value = data_value("client-a.key");
        let shown = Redacted(&value).to_string();
        assert!(shown.starts_with("data:sha256:"), "{shown}");
        assert!(!shown.contains("BEGIN"));
        assert!(shown.ends_with(&format!(",{} bytes", value.len() - 5)));
        assert_eq!(Redacted(b"/etc/x.crt").to_string(), "/etc/x.crt");
    }

    #[test]
    fn shown_values_are_absolute_or_redacted() {
        let prefix = Path::new("/conf");
        assert_eq!(shown(ObjectKind::Key, b"client-b.key", prefix), "/conf/client-b.key");
        assert_eq!(shown(ObjectKind::Certificate, b"/etc/a.crt", prefix), "/etc/a.crt");
        let value = data_value("client-b.key");
        let text = shown(ObjectKind::Key, &value, prefix);
        assert_eq!(text, Redacted(&value).to_string());
        assert!(text.starts_with("data:sha256:") && !text.contains("BEGIN"), "{text}");
    }

    #[test]
    fn encrypted_key_needs_the_password_file() {
        let passwords = Passwords::read(&pki().join("password")).unwrap();
        let key = load_key(b"client-enc.key", &pki(), &passwords).unwrap();
        assert!(key.encrypted);

        // Without passwords it fails instead of prompting on a terminal.
        let err = load_key(b"client-enc.key", &pki(), &Passwords::none()).unwrap_err();
        assert_eq!(err.step, LoadStep::ReadKey);
        assert!(err.to_string().starts_with(&format!(
            "cannot load certificate key \"{}/client-enc.key\": PEM_read_bio_PrivateKey() failed",
            pki().display()
        )));

        // A wrong password only.
        let wrong = Passwords::from_lines(vec![b"nope".to_vec()]);
        let err = load_key(b"client-enc.key", &pki(), &wrong).unwrap_err();
        assert!(err.to_string().contains("bad decrypt"), "{err}");
    }

    #[test]
    fn config_key_without_password_file_fails_as_a_prompt_without_terminal() {
        let err = load_config_key(b"client-enc.key", &pki(), &Passwords::none()).unwrap_err();
        let text = err.to_string();
        let first = "PEM_read_bio_PrivateKey() failed (SSL: error:1400006B:UI routines::\
                     processing error:while reading strings error:0480006D:PEM routines::\
                     problems getting password error:07880109:common libcrypto routines::\
                     interrupted or cancelled";
        assert!(text.contains(first), "{text}");
        assert!(text.ends_with("error:04800068:PEM routines::bad password read)"), "{text}");

        // A key that is not encrypted, and the password file when there is one.
        load_config_key(b"client-a.key", &pki(), &Passwords::none()).unwrap();
        let passwords = Passwords::read(&pki().join("password")).unwrap();
        assert!(load_config_key(b"client-enc.key", &pki(), &passwords).unwrap().encrypted);
    }

    #[test]
    fn engine_and_store_keys_are_not_supported() {
        let err = load_key(b"engine:pkcs11:id", Path::new("/"), &Passwords::none()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot load certificate key \"engine:pkcs11:id\": loading \"engine:...\" \
             certificate keys is not supported"
        );
        let err = load_key(b"store:file:/x", Path::new("/"), &Passwords::none()).unwrap_err();
        assert_eq!(err.step, LoadStep::StoreUnsupported);
    }

    /// An empty key variable names the prefix directory, as in nginx: it opens, reads as
    /// nothing, and fails at the PEM read with OpenSSL's text, not at `BIO_new_file`.
    #[test]
    fn empty_key_value_fails_at_the_pem_read() {
        let err = load_key(b"", &pki(), &Passwords::none()).unwrap_err();
        assert_eq!(err.step, LoadStep::ReadKey);
        assert!(err.to_string().contains("PEM_read_bio_PrivateKey() failed (SSL: "), "{err}");
    }
}
