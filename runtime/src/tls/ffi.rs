//! The few OpenSSL calls the `openssl` crate does not wrap, as safe functions.
//!
//! strait matches nginx byte for byte, so it calls the same OpenSSL functions nginx does where
//! the result is observable: `BIO_new_file` (its error queue is logged),
//! `PEM_read_bio_X509_AUX` (accepts `TRUSTED CERTIFICATE`), `X509_NAME_print_ex` (the RFC 2253
//! form of `$ssl_client_s_dn`), `X509_check_host` (the name check of `proxy_ssl_verify`) and
//! `SSL_CONF_cmd` (`*ssl_conf_command`), `SSL_CTX_set_cert_cb` (certificates from variables),
//! `SSL_get_shutdown` (the close), `PEM_read_bio_PrivateKey` with a callback that fails
//! as OpenSSL's prompt fails without a terminal, `X509_LOOKUP_load_file` (`*ssl_crl`:
//! its error queue, and the certificates it also accepts), and the ClientHello lists and the
//! group behind `$ssl_ciphers`, `$ssl_curves` and `$ssl_curve` (`SSL_get0_raw_cipherlist`,
//! `SSL_CIPHER_find`, `SSL_get1_curves`, `SSL_get_negotiated_group`). This is the only module
//! with `unsafe`.
#![allow(unsafe_code)] // the FFI boundary; every block states why it is sound

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslCipherRef, SslContextBuilder, SslRef, SslSession, SslSessionRef};
use openssl::x509::store::{File as X509LookupFile, X509LookupRef};
use openssl::x509::{X509NameRef, X509Ref, X509};
use openssl_sys as sys;

/// `XN_FLAG_RFC2253` from `openssl/x509.h`: RFC 2253 escaping, comma separators, reversed order.
const XN_FLAG_RFC2253: c_ulong = 0x0111_0317;
/// `PEM_R_NO_START_LINE`: the reader found no further PEM block.
const PEM_R_NO_START_LINE: c_int = 108;
/// `ERR_LIB_PEM`.
const ERR_LIB_PEM: c_int = 9;
/// `SSL_CTRL_GET_GROUPS` (`SSL_get1_curves`).
const SSL_CTRL_GET_GROUPS: c_int = 90;
/// `SSL_CTRL_GET_RAW_CIPHERLIST` (`SSL_get0_raw_cipherlist`).
const SSL_CTRL_GET_RAW_CIPHERLIST: c_int = 110;
/// `SSL_CTRL_GET_NEGOTIATED_GROUP` (`SSL_get_negotiated_group`).
const SSL_CTRL_GET_NEGOTIATED_GROUP: c_int = 134;
/// `TLSEXT_nid_unknown`: the flag OpenSSL sets on a group id it has no NID for.
const TLSEXT_NID_UNKNOWN: c_int = 0x0100_0000;
/// `SSL_CONF_FLAG_*` as nginx sets them for `ssl_conf_command`.
const SSL_CONF_FLAGS: [c_ulong; 5] = [0x2, 0x8, 0x4, 0x20, 0x10];

extern "C" {
    fn BIO_new_file(filename: *const c_char, mode: *const c_char) -> *mut sys::BIO;
    fn PEM_read_bio_X509_AUX(
        bp: *mut sys::BIO,
        x: *mut *mut sys::X509,
        cb: *mut c_void,
        u: *mut c_void,
    ) -> *mut sys::X509;
    fn X509_NAME_print_ex(
        out: *mut sys::BIO,
        nm: *const sys::X509_NAME,
        indent: c_int,
        flags: c_ulong,
    ) -> c_int;
    fn ERR_error_string_n(e: c_ulong, buf: *mut c_char, len: usize);
    fn SSL_CONF_CTX_new() -> *mut c_void;
    fn SSL_CONF_CTX_free(cctx: *mut c_void);
    fn SSL_CONF_CTX_set_flags(cctx: *mut c_void, flags: c_ulong) -> c_ulong;
    fn SSL_CONF_CTX_set_ssl_ctx(cctx: *mut c_void, ctx: *mut sys::SSL_CTX);
    fn SSL_CONF_cmd(cctx: *mut c_void, cmd: *const c_char, value: *const c_char) -> c_int;
    fn SSL_CONF_CTX_finish(cctx: *mut c_void) -> c_int;
    fn SSL_CIPHER_find(ssl: *mut sys::SSL, ptr: *const u8) -> *const sys::SSL_CIPHER;
    fn SSL_CTX_set_timeout(ctx: *mut sys::SSL_CTX, t: std::ffi::c_long) -> std::ffi::c_long;
    fn SSL_SESSION_dup(src: *const sys::SSL_SESSION) -> *mut sys::SSL_SESSION;
    fn SSL_CTX_set_cert_cb(
        ctx: *mut sys::SSL_CTX,
        cb: Option<unsafe extern "C" fn(*mut sys::SSL, *mut c_void) -> c_int>,
        arg: *mut c_void,
    );
}

/// An owned OpenSSL `BIO`, freed on drop.
struct Bio(*mut sys::BIO);

impl Drop for Bio {
    fn drop(&mut self) {
        // SAFETY: the pointer came non-null from a BIO constructor and is freed exactly once.
        unsafe { sys::BIO_free_all(self.0) }
    }
}

impl Bio {
    /// A read-only memory BIO over `data`; the BIO must not outlive `data`.
    fn memory(data: &[u8]) -> Result<Bio, ErrorStack> {
        let len = c_int::try_from(data.len()).unwrap_or(c_int::MAX);
        // SAFETY: BIO_new_mem_buf only reads `len` bytes of `data`; every caller drops the Bio
        // before `data` goes away (the Bio never leaves the function that borrowed `data`).
        let bio = unsafe { sys::BIO_new_mem_buf(data.as_ptr().cast(), len) };
        if bio.is_null() {
            return Err(ErrorStack::get());
        }
        Ok(Bio(bio))
    }

    /// An empty writable memory BIO.
    fn writable() -> Result<Bio, ErrorStack> {
        // SAFETY: BIO_s_mem returns a static method table; BIO_new allocates a fresh BIO.
        let bio = unsafe { sys::BIO_new(sys::BIO_s_mem()) };
        if bio.is_null() {
            return Err(ErrorStack::get());
        }
        Ok(Bio(bio))
    }

    /// The bytes written into a memory BIO so far.
    fn contents(&self) -> Vec<u8> {
        let mut data: *mut c_char = ptr::null_mut();
        // SAFETY: self.0 is a live memory BIO; BIO_get_mem_data stores a pointer to its buffer
        // and returns the length, valid until the next write, which cannot happen here.
        unsafe {
            let len = sys::BIO_get_mem_data(self.0, &mut data);
            if data.is_null() || len <= 0 {
                return Vec::new();
            }
            std::slice::from_raw_parts(data.cast::<u8>(), len as usize).to_vec()
        }
    }
}

/// The most bytes of a certificate, key or parameters file strait reads: a file named by a
/// variable may be anything a client's SNI or a map leads to (`/dev/zero`, a large file), and
/// is read on the event loop.
pub(crate) const PEM_FILE_LIMIT: u64 = 1 << 20;

/// Why a PEM file could not be read.
#[derive(Debug)]
pub(crate) enum ReadFault {
    /// It cannot be opened: the error queue of `BIO_new_file(path, "r")`.
    Open(ErrorStack),
    /// It holds more than [`PEM_FILE_LIMIT`] bytes.
    TooLarge,
}

/// Reads the whole file at `path`, up to [`PEM_FILE_LIMIT`] bytes; if it cannot be opened,
/// fails with the error queue of `BIO_new_file(path, "r")`, OpenSSL's own text, which nginx
/// logs. A directory (an empty variable names the prefix, as in nginx) reads as nothing, so
/// the PEM read then fails with OpenSSL's decoder error, as nginx logs it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ReadFault> {
    // Step: the read itself; this is every connection's path when a variable names a file.
    let error = match read_bounded(path) {
        Ok(Some(pem)) => return Ok(pem),
        Ok(None) => return Err(ReadFault::TooLarge),
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => return Ok(Vec::new()),
        Err(e) => e,
    };

    // Step: the failure, told as OpenSSL tells it.
    let Ok(name) = CString::new(path.as_os_str().as_bytes()) else {
        return Err(ReadFault::Open(ErrorStack::get()));
    };
    // SAFETY: both arguments are NUL-terminated strings that live across the call.
    let bio = unsafe { BIO_new_file(name.as_ptr(), c"r".as_ptr()) };
    if bio.is_null() {
        return Err(ReadFault::Open(ErrorStack::get()));
    }
    drop(Bio(bio));
    // It opens now (a race, or a file that opens but cannot be read): an empty error queue,
    // and the read's own error in strait's diagnostics.
    tracing::debug!(path = %path.display(), %error, "reading failed after opening");
    Err(ReadFault::Open(ErrorStack::get()))
}

/// The file's bytes, `None` past [`PEM_FILE_LIMIT`]. The size the file reports sizes the
/// buffer (a regular file reads in one call, as `std::fs::read` reads it); the limit holds
/// for files that report none (devices, pipes).
fn read_bounded(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;

    let file = std::fs::File::open(path)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > PEM_FILE_LIMIT {
        return Ok(None);
    }
    let mut pem = Vec::with_capacity(size as usize);
    file.take(PEM_FILE_LIMIT + 1).read_to_end(&mut pem)?;
    Ok((pem.len() as u64 <= PEM_FILE_LIMIT).then_some(pem))
}

/// Which read of a certificate PEM failed: the leaf (`PEM_read_bio_X509_AUX`) or a chain
/// certificate (`PEM_read_bio_X509`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemStep {
    /// The first certificate.
    Leaf,
    /// A further certificate of the chain.
    Chain,
}

/// Reads a certificate and its chain from PEM the way nginx does: the first certificate with
/// `PEM_read_bio_X509_AUX`, then further certificates until "no start line".
pub(crate) fn read_certificate_chain(
    pem: &[u8],
) -> Result<(X509, Vec<X509>), (PemStep, ErrorStack)> {
    let bio = Bio::memory(pem).map_err(|e| (PemStep::Leaf, e))?;

    // Step: the certificate itself.
    // SAFETY: bio is live; null out/callback/userdata ask OpenSSL to allocate and not prompt
    // (a certificate is never encrypted, so no password callback runs).
    let leaf =
        unsafe { PEM_read_bio_X509_AUX(bio.0, ptr::null_mut(), ptr::null_mut(), ptr::null_mut()) };
    if leaf.is_null() {
        return Err((PemStep::Leaf, ErrorStack::get()));
    }
    // SAFETY: leaf is a fresh, owned X509 pointer.
    let leaf = unsafe { X509::from_ptr(leaf) };

    // Step: the rest of the chain, until the reader reports "no start line".
    let mut chain = Vec::new();
    loop {
        // SAFETY: as above; PEM_read_bio_X509 with no callback.
        let cert = unsafe { sys::PEM_read_bio_X509(bio.0, ptr::null_mut(), None, ptr::null_mut()) };
        if cert.is_null() {
            let errors = ErrorStack::get();
            let last = errors.errors().last();
            if last.is_some_and(|e| {
                e.library_code() == ERR_LIB_PEM && e.reason_code() == PEM_R_NO_START_LINE
            }) {
                break;
            }
            return Err((PemStep::Chain, errors));
        }
        // SAFETY: a fresh, owned X509 pointer.
        chain.push(unsafe { X509::from_ptr(cert) });
    }
    Ok((leaf, chain))
}

/// `ERR_LIB_UI`.
const ERR_LIB_UI: c_int = 40;
/// `UI_R_PROCESSING_ERROR`.
const UI_R_PROCESSING_ERROR: c_int = 107;
/// `PEM_R_PROBLEMS_GETTING_PASSWORD`.
const PEM_R_PROBLEMS_GETTING_PASSWORD: c_int = 109;

/// Reads a private key the way nginx does when it has no password for it (no callback, so
/// OpenSSL prompts on the terminal), without ever prompting: asked for a password, the
/// callback raises the errors OpenSSL's own prompt raises with no terminal and an empty
/// standard input (`UI_process`: "processing error: while reading strings", then
/// `PEM_def_callback`: "problems getting password") and refuses, so the error queue is the
/// one nginx logs. An unencrypted key reads as usual.
pub(crate) fn read_private_key_without_terminal(pem: &[u8]) -> Result<PKey<Private>, ErrorStack> {
    let bio = Bio::memory(pem)?;
    // SAFETY: bio is live; the callback takes no user data and only raises errors.
    let key = unsafe {
        sys::PEM_read_bio_PrivateKey(
            bio.0,
            ptr::null_mut(),
            Some(no_terminal_password),
            ptr::null_mut(),
        )
    };
    if key.is_null() {
        return Err(ErrorStack::get());
    }
    // SAFETY: a fresh, owned EVP_PKEY pointer.
    Ok(unsafe { PKey::from_ptr(key) })
}

/// The password callback of [`read_private_key_without_terminal`]: fails as a prompt with
/// nothing to read fails.
unsafe extern "C" fn no_terminal_password(
    _buf: *mut c_char,
    _size: c_int,
    _rwflag: c_int,
    _user: *mut c_void,
) -> c_int {
    let file = c"runtime/src/tls/ffi.rs".as_ptr();
    let function = c"no_terminal_password".as_ptr();
    let line = c_int::try_from(line!()).unwrap_or(0);
    // SAFETY: ERR_new/ERR_set_debug/ERR_set_error are the expansion of ERR_raise_data; the
    // location, the format and its argument are NUL-terminated static strings.
    unsafe {
        sys::ERR_new();
        sys::ERR_set_debug(file, line, function);
        sys::ERR_set_error(
            ERR_LIB_UI,
            UI_R_PROCESSING_ERROR,
            c"%s".as_ptr(),
            c"while reading strings".as_ptr(),
        );
        sys::ERR_new();
        sys::ERR_set_debug(file, line, function);
        sys::ERR_set_error(ERR_LIB_PEM, PEM_R_PROBLEMS_GETTING_PASSWORD, ptr::null());
    }
    -1
}

/// `X509_NAME_print_ex(..., XN_FLAG_RFC2253)`: the name as nginx prints `$ssl_client_s_dn`.
pub(crate) fn name_rfc2253(name: &X509NameRef) -> String {
    let Ok(bio) = Bio::writable() else {
        return String::new();
    };
    // SAFETY: bio is a live memory BIO and name a live X509_NAME borrowed for the call.
    let rc = unsafe { X509_NAME_print_ex(bio.0, name.as_ptr(), 0, XN_FLAG_RFC2253) };
    if rc < 0 {
        return String::new();
    }
    String::from_utf8_lossy(&bio.contents()).into_owned()
}

/// `X509_check_host(cert, name, len, 0, NULL) == 1`, nginx's `ngx_ssl_check_host`.
pub(crate) fn check_host(cert: &X509Ref, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    // SAFETY: cert is live for the call; name is passed with its length (no NUL needed).
    let rc = unsafe {
        sys::X509_check_host(cert.as_ptr(), name.as_ptr().cast(), name.len(), 0, ptr::null_mut())
    };
    rc == 1
}

/// `ERR_error_string_n(code)`: `error:XXXXXXXX:lib:func:reason` exactly as nginx prints it.
pub(crate) fn error_string(code: c_ulong) -> String {
    let mut buf = [0 as c_char; 256];
    // SAFETY: the buffer and its length are passed together; OpenSSL NUL-terminates.
    unsafe { ERR_error_string_n(code, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: OpenSSL wrote a NUL-terminated string into buf.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// Resumes `session` on `ssl` (`SSL_set_session`).
pub(crate) fn set_session(ssl: &mut SslRef, session: &SslSessionRef) -> Result<(), ErrorStack> {
    // SAFETY: the session cache that hands out `session` is owned by one connector and only
    // stores sessions made with that connector's SSL_CTX, which is `ssl`'s context.
    unsafe { ssl.set_session(session) }
}

/// A copy of `session` that later changes to the original (OpenSSL marks a session
/// unresumable when its connection ends without close_notify) do not reach
/// (`SSL_SESSION_dup`). The copy shares the peer's certificates instead of parsing them
/// again, as a serialized round trip would.
pub(crate) fn session_copy(session: &SslSessionRef) -> Result<SslSession, ErrorStack> {
    // SAFETY: SSL_SESSION_dup reads a valid session and returns a new one with its own
    // reference, or null (with the error queue set), which is checked before wrapping.
    let copy = unsafe { SSL_SESSION_dup(session.as_ptr()) };
    if copy.is_null() {
        return Err(ErrorStack::get());
    }
    // SAFETY: `copy` is non-null and owned by nobody else; SslSession frees it on drop.
    Ok(unsafe { SslSession::from_ptr(copy) })
}

/// A failed `SSL_CONF_cmd`: which command, and OpenSSL's errors.
#[derive(Debug)]
pub(crate) enum ConfCommandError {
    /// `SSL_CONF_cmd("%s", "%s") failed`.
    Command(String, String, ErrorStack),
    /// `SSL_CONF_finish() failed`.
    Finish(ErrorStack),
}

/// Applies `*ssl_conf_command` pairs to a context the way nginx's `ngx_ssl_conf_commands` does.
pub(crate) fn conf_commands(
    ctx: &mut SslContextBuilder,
    commands: &[(String, String)],
) -> Result<(), ConfCommandError> {
    if commands.is_empty() {
        return Ok(());
    }
    // SAFETY: a fresh SSL_CONF_CTX, freed below on every path; ctx outlives the calls.
    unsafe {
        let cctx = SSL_CONF_CTX_new();
        if cctx.is_null() {
            return Err(ConfCommandError::Finish(ErrorStack::get()));
        }
        for flag in SSL_CONF_FLAGS {
            SSL_CONF_CTX_set_flags(cctx, flag);
        }
        SSL_CONF_CTX_set_ssl_ctx(cctx, ctx.as_ptr());
        for (key, value) in commands {
            let (Ok(k), Ok(v)) = (CString::new(key.as_str()), CString::new(value.as_str())) else {
                SSL_CONF_CTX_free(cctx);
                return Err(ConfCommandError::Command(
                    key.clone(),
                    value.clone(),
                    ErrorStack::get(),
                ));
            };
            let n = SSL_CONF_cmd(cctx, k.as_ptr(), v.as_ptr());
            if n == 0 || n == -2 {
                let errors = ErrorStack::get();
                SSL_CONF_CTX_free(cctx);
                return Err(ConfCommandError::Command(key.clone(), value.clone(), errors));
            }
        }
        let finished = SSL_CONF_CTX_finish(cctx);
        SSL_CONF_CTX_free(cctx);
        if finished != 1 {
            return Err(ConfCommandError::Finish(ErrorStack::get()));
        }
    }
    Ok(())
}

/// `X509_L_FILE_LOAD`: the control command behind the `X509_LOOKUP_load_file` macro.
const X509_L_FILE_LOAD: c_int = 1;
/// `X509_FILETYPE_PEM`.
const X509_FILETYPE_PEM: c_long = 1;

/// `X509_LOOKUP_load_file(lookup, path, X509_FILETYPE_PEM)`, as nginx's `ngx_ssl_crl` loads
/// `*ssl_crl`: OpenSSL's `X509_load_cert_crl_file`, which puts every certificate and every
/// CRL of the file into the lookup's store and fails only when it finds neither (or cannot
/// open the file, with `BIO routines::no such file` in its error queue).
pub(crate) fn lookup_load_file(
    lookup: &mut X509LookupRef<X509LookupFile>,
    path: &Path,
) -> Result<(), ErrorStack> {
    let Ok(name) = CString::new(path.as_os_str().as_bytes()) else {
        return Err(ErrorStack::get());
    };
    // SAFETY: lookup is a live file lookup borrowed mutably for the call; the name is a
    // NUL-terminated string that outlives it; X509_L_FILE_LOAD reads only the name and the
    // file type and writes no result through the (null) return pointer.
    let rc = unsafe {
        sys::X509_LOOKUP_ctrl(
            lookup.as_ptr(),
            X509_L_FILE_LOAD,
            name.as_ptr(),
            X509_FILETYPE_PEM,
            ptr::null_mut(),
        )
    };
    if rc == 0 {
        return Err(ErrorStack::get());
    }
    Ok(())
}

/// `SSL_CTRL_CHAIN_CERT`.
const SSL_CTRL_CHAIN_CERT: c_int = 89;

/// `SSL_CTX_add1_chain_cert`: adds `cert` to the chain of the context's current certificate
/// (nginx's `SSL_CTX_set0_chain` per certificate, so RSA and ECDSA pairs keep their chains).
pub(crate) fn ctx_add_chain_cert(
    ctx: &mut SslContextBuilder,
    cert: &X509Ref,
) -> Result<(), ErrorStack> {
    // SAFETY: ctx and cert are live; the "add1" form takes its own reference to cert.
    let rc =
        unsafe { sys::SSL_CTX_ctrl(ctx.as_ptr(), SSL_CTRL_CHAIN_CERT, 1, cert.as_ptr().cast()) };
    if rc != 1 {
        return Err(ErrorStack::get());
    }
    Ok(())
}

/// `SSL_get_shutdown() & SSL_RECEIVED_SHUTDOWN`: the peer's close_notify (or, with
/// `SSL_OP_IGNORE_UNEXPECTED_EOF`, its end of stream) has been read.
pub(crate) fn received_shutdown(ssl: &SslRef) -> bool {
    /// `SSL_RECEIVED_SHUTDOWN`.
    const RECEIVED: c_int = 2;
    // SAFETY: ssl is live for the call, which only reads a flag.
    unsafe { sys::SSL_get_shutdown(ssl.as_ptr()) & RECEIVED != 0 }
}

/// `SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN)`: what OpenSSL sets when a socket reaches
/// its end under `SSL_OP_IGNORE_UNEXPECTED_EOF` (the sent flag is cleared with it).
pub(crate) fn set_received_shutdown_only(ssl: &SslRef) {
    /// `SSL_RECEIVED_SHUTDOWN`.
    const RECEIVED: c_int = 2;
    // SAFETY: ssl is live; `SslRef` wraps an opaque (`UnsafeCell`) type, so OpenSSL may
    // change it behind a shared reference, and no other call uses the object meanwhile (the
    // caller holds its stream mutably).
    unsafe { sys::SSL_set_shutdown(ssl.as_ptr(), RECEIVED) }
}

/// `SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN)`: the connection is
/// done with, whatever was exchanged, so that `SSL_free` keeps its session resumable.
pub(crate) fn set_shutdown_complete(ssl: &SslRef) {
    /// `SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN`.
    const SENT_AND_RECEIVED: c_int = 1 | 2;
    // SAFETY: as for set_received_shutdown_only: ssl is live, the flag is OpenSSL's own
    // state behind an opaque type, and the caller is the stream's only user.
    unsafe { sys::SSL_set_shutdown(ssl.as_ptr(), SENT_AND_RECEIVED) }
}

/// One cipher suite of the client's list (`$ssl_ciphers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientCipher {
    /// One OpenSSL knows: its `SSL_CIPHER_get_name`.
    Known(&'static str),
    /// One it does not: the suite's bytes as the client sent them.
    Unknown(Vec<u8>),
}

/// `SSL_get0_raw_cipherlist`, each suite looked up with `SSL_CIPHER_find`, as nginx's
/// `ngx_ssl_get_ciphers` reads them: the client's cipher suites in its order (the signalling
/// suites and GREASE values included); empty when no ClientHello was read.
pub(crate) fn client_ciphers(ssl: &SslRef) -> Vec<ClientCipher> {
    let mut list: *mut u8 = ptr::null_mut();
    // SAFETY: ssl is live; with a NULL argument the call returns the size of one suite, with
    // a pointer it stores a pointer to the list OpenSSL keeps in `ssl` (or nothing) and
    // returns its length. Neither call changes the object.
    let (bytes, len) = unsafe {
        let bytes = sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_RAW_CIPHERLIST, 0, ptr::null_mut());
        let len = sys::SSL_ctrl(
            ssl.as_ptr(),
            SSL_CTRL_GET_RAW_CIPHERLIST,
            0,
            (&mut list as *mut *mut u8).cast(),
        );
        (bytes, len)
    };
    let (Ok(bytes), Ok(len)) = (usize::try_from(bytes), usize::try_from(len)) else {
        return Vec::new();
    };
    if bytes == 0 || len == 0 || list.is_null() {
        return Vec::new();
    }
    // SAFETY: OpenSSL returned `len` bytes at `list`, owned by `ssl`, which outlives this
    // copy; nothing writes to the SSL object meanwhile (it is borrowed here).
    let raw = unsafe { std::slice::from_raw_parts(list, len) }.to_vec();
    raw.chunks_exact(bytes).map(|suite| find_cipher(ssl, suite)).collect()
}

/// `SSL_CIPHER_find`: the cipher with the wire id `suite`.
fn find_cipher(ssl: &SslRef, suite: &[u8]) -> ClientCipher {
    /// `TLS_CIPHER_LEN`: what `SSL_CIPHER_find` reads.
    const TLS_CIPHER_LEN: usize = 2;
    if suite.len() < TLS_CIPHER_LEN {
        return ClientCipher::Unknown(suite.to_vec());
    }
    // SAFETY: ssl is live; the function reads TLS_CIPHER_LEN bytes of `suite`, checked above,
    // and returns NULL or a pointer into OpenSSL's static cipher tables.
    let cipher = unsafe { SSL_CIPHER_find(ssl.as_ptr(), suite.as_ptr()) };
    if cipher.is_null() {
        return ClientCipher::Unknown(suite.to_vec());
    }
    // SAFETY: the cipher is a static table entry, valid for the life of the process.
    let cipher = unsafe { SslCipherRef::from_ptr(cipher.cast_mut()) };
    ClientCipher::Known(cipher.name())
}

/// A key exchange group as `SSL_get1_curves` and `SSL_get_negotiated_group` name it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// One with an OpenSSL NID (a curve, X25519, an ffdhe group).
    Known(Nid),
    /// One OpenSSL has no NID for: its TLS group id.
    Unknown(u16),
}

impl Group {
    /// Reads a NID that may carry `TLSEXT_nid_unknown`.
    fn from_nid(nid: c_int) -> Group {
        if nid & TLSEXT_NID_UNKNOWN != 0 {
            return Group::Unknown((nid & 0xffff) as u16);
        }
        Group::Known(Nid::from_raw(nid))
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Group::Known(nid) => write!(f, "Known({})", nid.as_raw()),
            Group::Unknown(id) => write!(f, "Unknown({id:#06x})"),
        }
    }
}

/// `SSL_get_negotiated_group`: the group of the key exchange, `None` when there is none
/// (`NID_undef`: no handshake yet, or a key exchange without a group). Without a session
/// (a handshake that failed before the ClientHello was taken) there is none either: OpenSSL
/// 3.0 reads the group from the session and would dereference a null pointer (nginx 1.22's
/// worker dies of it when `$ssl_curve` is logged after such a handshake).
pub(crate) fn negotiated_group(ssl: &SslRef) -> Option<Group> {
    ssl.session()?;
    // SAFETY: ssl is live; the call only reads the group id of the connection.
    let nid =
        unsafe { sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_NEGOTIATED_GROUP, 0, ptr::null_mut()) };
    let nid = c_int::try_from(nid).ok()?;
    (nid != sys::NID_undef).then(|| Group::from_nid(nid))
}

/// `SSL_get1_curves`: the groups of the client's supported_groups extension, in its order;
/// empty without one (or on a resumed TLS 1.2 session, where OpenSSL does not keep it).
pub(crate) fn client_groups(ssl: &SslRef) -> Vec<Group> {
    // SAFETY: ssl is live; with a NULL list the call only returns how many groups there are.
    let count = unsafe { sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_GROUPS, 0, ptr::null_mut()) };
    let Ok(count) = usize::try_from(count) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let mut nids: Vec<c_int> = vec![0; count];
    // SAFETY: the list has room for the `count` ints the call writes: the same SSL object,
    // unchanged since the first call, holds the same number of groups.
    let written =
        unsafe { sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_GET_GROUPS, 0, nids.as_mut_ptr().cast()) };
    let written = usize::try_from(written).unwrap_or(0).min(count);
    nids[..written].iter().map(|&nid| Group::from_nid(nid)).collect()
}

/// The certificate step of a handshake: false fails the handshake.
pub(crate) type CertificateCallback = fn(&mut SslRef) -> bool;

/// `SSL_CTX_set_cert_cb`: `callback` runs in the certificate step of every handshake of the
/// context; false fails the handshake with `cert cb error`, as nginx's callback does.
pub(crate) fn ctx_set_certificate_callback(
    ctx: &mut SslContextBuilder,
    callback: CertificateCallback,
) {
    // SAFETY: ctx is live; the argument is a plain function pointer (no state, 'static),
    // which `certificate_trampoline` turns back into the same type.
    unsafe {
        SSL_CTX_set_cert_cb(ctx.as_ptr(), Some(certificate_trampoline), callback as *mut c_void)
    };
}

/// Calls the [`CertificateCallback`] stored as the callback argument; a panic fails the
/// handshake instead of unwinding into OpenSSL.
unsafe extern "C" fn certificate_trampoline(ssl: *mut sys::SSL, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` was made from a `CertificateCallback` by ctx_set_certificate_callback, and
    // OpenSSL passes the live SSL object of the handshake, used only for this call.
    let (callback, ssl) = unsafe {
        (std::mem::transmute::<*mut c_void, CertificateCallback>(arg), SslRef::from_ptr_mut(ssl))
    };
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(ssl)));
    c_int::from(ok.unwrap_or(false))
}

/// `SSL_CTX_set_timeout`: `ssl_session_timeout`.
pub(crate) fn ctx_set_session_timeout(ctx: &mut SslContextBuilder, seconds: u64) {
    let seconds = std::ffi::c_long::try_from(seconds).unwrap_or(std::ffi::c_long::MAX);
    // SAFETY: ctx is live; the call only stores a number.
    unsafe { SSL_CTX_set_timeout(ctx.as_ptr(), seconds) };
}

/// One `ssl_session_ticket_key` file: the key name, the HMAC-SHA256 key and the AES-CBC key
/// (48-byte files: AES-128, 80-byte files: AES-256), as nginx splits it.
#[derive(Clone)]
pub(crate) struct TicketKey {
    name: [u8; 16],
    hmac: Vec<u8>,
    aes: Vec<u8>,
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key bytes.
        f.debug_struct("TicketKey").field("bits", &(self.aes.len() * 8)).finish()
    }
}

impl TicketKey {
    /// Splits a key file's content as nginx does; `None` unless it is 48 or 80 bytes.
    /// 48 bytes: name, AES-128 key, HMAC key; 80 bytes: name, HMAC key, AES-256 key.
    pub(crate) fn from_file_content(bytes: &[u8]) -> Option<TicketKey> {
        let name = <[u8; 16]>::try_from(bytes.get(..16)?).ok()?;
        let (hmac, aes) = match bytes.len() {
            48 => (&bytes[32..48], &bytes[16..32]),
            80 => (&bytes[16..48], &bytes[48..80]),
            _ => return None,
        };
        Some(TicketKey { name, hmac: hmac.to_vec(), aes: aes.to_vec() })
    }

    fn cipher(&self) -> *const sys::EVP_CIPHER {
        // SAFETY: both return static cipher tables.
        unsafe {
            if self.aes.len() == 32 {
                sys::EVP_aes_256_cbc()
            } else {
                sys::EVP_aes_128_cbc()
            }
        }
    }
}

/// The ex_data slot holding a context's ticket keys (the first one encrypts).
fn ticket_keys_index() -> Option<openssl::ex_data::Index<openssl::ssl::SslContext, Vec<TicketKey>>>
{
    static INDEX: std::sync::OnceLock<
        Option<openssl::ex_data::Index<openssl::ssl::SslContext, Vec<TicketKey>>>,
    > = std::sync::OnceLock::new();
    *INDEX.get_or_init(|| openssl::ssl::SslContext::new_ex_index().ok())
}

/// `SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB`.
const SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB: c_int = 72;

/// Installs `ssl_session_ticket_key` keys on a context (nginx's `ngx_ssl_session_ticket_keys`).
pub(crate) fn set_ticket_keys(ctx: &mut SslContextBuilder, keys: Vec<TicketKey>) -> bool {
    let Some(index) = ticket_keys_index() else {
        return false;
    };
    ctx.set_ex_data(index, keys);
    type Callback = unsafe extern "C" fn(
        *mut sys::SSL,
        *mut u8,
        *mut u8,
        *mut sys::EVP_CIPHER_CTX,
        *mut sys::HMAC_CTX,
        c_int,
    ) -> c_int;
    let callback: Callback = ticket_key_callback;
    // SAFETY: OpenSSL calls the function back with the ticket callback's signature; the
    // transmute only erases that signature for the generic `callback_ctrl` entry point.
    let rc = unsafe {
        let erased = std::mem::transmute::<Callback, unsafe extern "C" fn()>(callback);
        sys::SSL_CTX_callback_ctrl__fixed_rust(
            ctx.as_ptr(),
            SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB,
            Some(erased),
        )
    };
    rc == 1
}

/// The ticket callback: encrypt new tickets with the first key; decrypt with the key the
/// ticket names (asking for a fresh ticket when it is not the first); unknown names get a
/// full handshake.
unsafe extern "C" fn ticket_key_callback(
    ssl: *mut sys::SSL,
    name: *mut u8,
    iv: *mut u8,
    cipher_ctx: *mut sys::EVP_CIPHER_CTX,
    hmac_ctx: *mut sys::HMAC_CTX,
    enc: c_int,
) -> c_int {
    // SAFETY: OpenSSL passes a live SSL, a 16-byte name buffer, an IV buffer of the cipher's
    // IV length, and initialised cipher and HMAC contexts, all valid for this call.
    unsafe {
        let ssl = SslRef::from_ptr_mut(ssl);
        let Some(index) = ticket_keys_index() else {
            return -1;
        };
        let Some(keys) = ssl.ssl_context().ex_data(index) else {
            return -1;
        };
        let name = std::slice::from_raw_parts_mut(name, 16);
        if enc == 1 {
            let Some(key) = keys.first() else {
                return -1;
            };
            let cipher = key.cipher();
            let iv_len = sys::EVP_CIPHER_iv_length(cipher);
            if sys::RAND_bytes(iv, iv_len) != 1
                || sys::EVP_EncryptInit_ex(
                    cipher_ctx,
                    cipher,
                    ptr::null_mut(),
                    key.aes.as_ptr(),
                    iv,
                ) != 1
                || hmac_init(hmac_ctx, key) != 1
            {
                return -1;
            }
            name.copy_from_slice(&key.name);
            return 1;
        }
        let Some((position, key)) = keys.iter().enumerate().find(|(_, k)| k.name == *name) else {
            return 0;
        };
        if hmac_init(hmac_ctx, key) != 1
            || sys::EVP_DecryptInit_ex(
                cipher_ctx,
                key.cipher(),
                ptr::null_mut(),
                key.aes.as_ptr(),
                iv,
            ) != 1
        {
            return -1;
        }
        if position == 0 {
            1
        } else {
            2
        }
    }
}

/// `HMAC_Init_ex(hctx, key, len, EVP_sha256(), NULL)`.
///
/// # Safety
/// `hmac_ctx` must be the live HMAC context OpenSSL handed to the ticket callback.
unsafe fn hmac_init(hmac_ctx: *mut sys::HMAC_CTX, key: &TicketKey) -> c_int {
    let len = c_int::try_from(key.hmac.len()).unwrap_or(0);
    // SAFETY: per this function's contract; the key bytes live across the call.
    unsafe {
        sys::HMAC_Init_ex(
            hmac_ctx,
            key.hmac.as_ptr().cast(),
            len,
            sys::EVP_sha256(),
            ptr::null_mut(),
        )
    }
}
