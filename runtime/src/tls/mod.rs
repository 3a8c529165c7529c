//! TLS for strait sessions: upstream TLS with per-connection client certificates
//! (`proxy_ssl*`), TLS termination (`listen ... ssl`, `ssl_*`), `ssl_preread`, the certificate
//! and key loaders and caches behind them, and the `$ssl_*` variables.
//!
//! | module | owns |
//! |---|---|
//! | [`certificate`] | loading certificates/keys as nginx does; redacted names; error texts |
//! | [`password`] | `*ssl_password_file` |
//! | [`cache`] | parsed PEM by content (`data:`, files read afresh), `*ssl_certificate_cache` |
//! | [`connector`] | upstream TLS: one connector per static setting, per-connection SNI/cert |
//! | [`acceptor`] | `listen ... ssl`: the server context and the handshake |
//! | [`failure`] | how nginx words and ranks failed handshakes and shutdowns |
//! | [`variables`] | `$ssl_*` values of a terminated session, in nginx's formats |
//! | [`preread`] | the ClientHello parser behind `ssl_preread` |
//! | [`context`] | what both sides share: protocols, ciphers, conf commands, CAs, CRLs |
//! | [`directives`] | reading, merging and building the TLS directives of a configuration |
//! | [`phase`] | the session's ssl and preread phases and the upstream TLS step |
//! | [`shutdown`] | closing TLS connections as `ngx_ssl_shutdown` does |
//! | `ffi` | the few OpenSSL calls the `openssl` crate lacks (the only `unsafe` code) |
//!
//! Faults map to what the outside sees in one place each: [`connector::UpstreamTlsError`]
//! (`$status` 500 and no next upstream for certificate faults, next upstream for handshake
//! and verification), [`acceptor::ServerTlsError`] (500, with nginx's lines and levels),
//! [`context::TlsConfigError`] (startup).

pub mod acceptor;
pub mod cache;
pub mod certificate;
pub mod connector;
pub mod context;
pub mod directives;
pub mod failure;
mod ffi;
pub mod password;
pub mod phase;
pub mod preread;
pub mod shutdown;
#[cfg(test)]
mod tests;
pub mod variables;
