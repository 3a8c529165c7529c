//! nginx's stream modules (`src/stream/*.c`, the 1.31 set): every directive with its contexts,
//! arguments, value syntax, variables, repeat rule and the version it arrived in (`since` is
//! 0.0.0 for directives Debian's 1.22.1 already has).
//!
//! Contexts and argument counts of the 1.22.1 directives were checked against the installed
//! `nginx -t`; newer ones follow the reference (nginx-stream.md §5) and nginx's sources.

use super::consts::*;
use super::{Args, Contexts, Spec, Value, Version};

/// A stream directive read by a slot handler: repeats are `is duplicate`, no variables.
const fn d(name: &'static str, contexts: Contexts, args: Args, value: Value) -> Spec {
    Spec { name, contexts, args, value, variables: false, once: true, since: Version(0, 0, 0) }
}

impl Spec {
    /// The value is compiled with variables.
    pub(super) const fn vars(mut self) -> Spec {
        self.variables = true;
        self
    }

    /// A repeat adds another value instead of failing.
    pub(super) const fn many(mut self) -> Spec {
        self.once = false;
        self
    }

    /// Arrived in nginx `major.minor.patch`.
    pub(super) const fn since(mut self, major: u16, minor: u16, patch: u16) -> Spec {
        self.since = Version(major, minor, patch);
        self
    }
}

/// Main and server level of `stream {}`.
const MS: Contexts = Contexts(STREAM_MAIN.0 | STREAM_SRV.0);
/// TLS protocol names of `ssl_protocols` / `proxy_ssl_protocols`.
const PROTOCOLS: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
/// Values of `ssl_verify_client`.
const VERIFY: &[&str] = &["off", "on", "optional", "optional_no_ca"];
/// Values of `limit_conn_log_level`.
const LOG_LEVELS: &[&str] = &["info", "notice", "warn", "error"];
/// Values of `ssl_ocsp`.
const OCSP: &[&str] = &["off", "on", "leaf"];
/// 1 to 4 arguments.
const TAKE1234: Args = Args(TAKE1.0 | TAKE2.0 | TAKE3.0 | TAKE4.0);
/// 1 to 3 arguments.
const TAKE123: Args = Args(TAKE1.0 | TAKE2.0 | TAKE3.0);
/// 1 or 2 arguments.
const TAKE12: Args = Args(TAKE1.0 | TAKE2.0);

/// The table.
pub(super) const SPECS: &[Spec] = &[
    // --- main context: the module blocks and main-level switches ---
    d("stream", MAIN, Args(NOARGS.0 | BLOCK.0), Value::Custom),
    d("include", Contexts(STREAM_MAIN.0 | STREAM_SRV.0 | STREAM_UPS.0), TAKE1, Value::Custom)
        .many(),
    d("ssl_object_cache_inheritable", MAIN, FLAG, Value::Flag).since(1, 27, 4),
    // --- ngx_stream_core_module ---
    d("server", STREAM_MAIN, Args(NOARGS.0 | BLOCK.0), Value::Custom).many(),
    d("listen", STREAM_SRV, ONE_MORE, Value::Custom).many(),
    d("server_name", STREAM_SRV, ONE_MORE, Value::Custom).many().since(1, 25, 5),
    d("error_log", MS, ONE_MORE, Value::Custom).many(),
    d("resolver", MS, ONE_MORE, Value::Custom),
    d("resolver", STREAM_UPS, ONE_MORE, Value::Custom).since(1, 27, 3),
    d("resolver_timeout", MS, TAKE1, Value::Milliseconds),
    d("resolver_timeout", STREAM_UPS, TAKE1, Value::Milliseconds).since(1, 27, 3),
    d("proxy_protocol_timeout", MS, TAKE1, Value::Milliseconds),
    d("tcp_nodelay", MS, FLAG, Value::Flag),
    d("preread_buffer_size", MS, TAKE1, Value::Size),
    d("preread_timeout", MS, TAKE1, Value::Milliseconds),
    d("variables_hash_max_size", STREAM_MAIN, TAKE1, Value::Number),
    d("variables_hash_bucket_size", STREAM_MAIN, TAKE1, Value::Number),
    d("server_names_hash_max_size", STREAM_MAIN, TAKE1, Value::Number).since(1, 25, 5),
    d("server_names_hash_bucket_size", STREAM_MAIN, TAKE1, Value::Number).since(1, 25, 5),
    // --- ngx_stream_proxy_module ---
    d("proxy_pass", STREAM_SRV, TAKE1, Value::Custom).vars(),
    d("proxy_bind", MS, TAKE12, Value::Custom).vars(),
    d("proxy_socket_keepalive", MS, FLAG, Value::Flag),
    d("proxy_socket_rcvbuf", MS, TAKE1, Value::Size).since(1, 31, 3),
    d("proxy_socket_sndbuf", MS, TAKE1, Value::Size).since(1, 31, 3),
    d("proxy_connect_timeout", MS, TAKE1, Value::Milliseconds),
    d("proxy_timeout", MS, TAKE1, Value::Milliseconds),
    d("proxy_buffer_size", MS, TAKE1, Value::Size),
    d("proxy_downstream_buffer", MS, TAKE1, Value::Custom),
    d("proxy_upstream_buffer", MS, TAKE1, Value::Custom),
    d("proxy_upload_rate", MS, TAKE1, Value::ComplexSize).vars(),
    d("proxy_download_rate", MS, TAKE1, Value::ComplexSize).vars(),
    d("proxy_requests", MS, TAKE1, Value::Number),
    d("proxy_responses", MS, TAKE1, Value::Number),
    d("proxy_next_upstream", MS, FLAG, Value::Flag),
    d("proxy_next_upstream_tries", MS, TAKE1, Value::Number),
    d("proxy_next_upstream_timeout", MS, TAKE1, Value::Milliseconds),
    d("proxy_protocol", MS, FLAG, Value::Flag),
    d("proxy_half_close", MS, FLAG, Value::Flag),
    d("proxy_ssl", MS, FLAG, Value::Flag),
    d("proxy_ssl_session_reuse", MS, FLAG, Value::Flag),
    d("proxy_ssl_protocols", MS, ONE_MORE, Value::Bitmask(PROTOCOLS)).many(),
    d("proxy_ssl_ciphers", MS, TAKE1, Value::String),
    d("proxy_ssl_name", MS, TAKE1, Value::Complex).vars(),
    d("proxy_ssl_server_name", MS, FLAG, Value::Flag),
    d("proxy_ssl_alpn", MS, ONE_MORE, Value::Custom).vars().since(1, 31, 0),
    d("proxy_ssl_verify", MS, FLAG, Value::Flag),
    d("proxy_ssl_verify_depth", MS, TAKE1, Value::Number),
    d("proxy_ssl_trusted_certificate", MS, TAKE1, Value::String),
    d("proxy_ssl_crl", MS, TAKE1, Value::String),
    d("proxy_ssl_certificate", MS, TAKE1, Value::Complex).vars(),
    d("proxy_ssl_certificate_key", MS, TAKE1, Value::Complex).vars(),
    d("proxy_ssl_certificate_cache", MS, TAKE123, Value::Custom).since(1, 27, 4),
    d("proxy_ssl_password_file", MS, TAKE1, Value::Custom),
    d("proxy_ssl_conf_command", MS, TAKE2, Value::Custom).many(),
    // --- ngx_stream_ssl_module ---
    d("ssl_handshake_timeout", MS, TAKE1, Value::Milliseconds),
    d("ssl_certificate", MS, TAKE1, Value::Complex).vars().many(),
    d("ssl_certificate_key", MS, TAKE1, Value::Complex).vars().many(),
    d("ssl_certificate_cache", MS, TAKE123, Value::Custom).since(1, 27, 4),
    d("ssl_password_file", MS, TAKE1, Value::Custom),
    d("ssl_dhparam", MS, TAKE1, Value::String),
    d("ssl_ecdh_curve", MS, TAKE1, Value::String),
    d("ssl_protocols", MS, ONE_MORE, Value::Bitmask(PROTOCOLS)).many(),
    d("ssl_ciphers", MS, TAKE1, Value::String),
    d("ssl_prefer_server_ciphers", MS, FLAG, Value::Flag),
    d("ssl_verify_client", MS, TAKE1, Value::Enum(VERIFY)),
    d("ssl_verify_depth", MS, TAKE1, Value::Number),
    d("ssl_client_certificate", MS, TAKE1, Value::String),
    d("ssl_trusted_certificate", MS, TAKE1, Value::String),
    d("ssl_crl", MS, TAKE1, Value::String),
    d("ssl_session_cache", MS, TAKE12, Value::Custom).many(),
    d("ssl_session_tickets", MS, FLAG, Value::Flag),
    d("ssl_session_ticket_key", MS, TAKE1, Value::String).many(),
    d("ssl_session_timeout", MS, TAKE1, Value::Seconds),
    d("ssl_conf_command", MS, TAKE2, Value::Custom).many(),
    d("ssl_alpn", MS, ONE_MORE, Value::Custom),
    d("ssl_reject_handshake", MS, FLAG, Value::Flag).since(1, 25, 5),
    d("ssl_ocsp", MS, TAKE1, Value::Enum(OCSP)).since(1, 27, 2),
    d("ssl_ocsp_responder", MS, TAKE1, Value::String).since(1, 27, 2),
    d("ssl_ocsp_cache", MS, TAKE1, Value::Custom).since(1, 27, 2),
    d("ssl_stapling", MS, FLAG, Value::Flag).since(1, 27, 2),
    d("ssl_stapling_file", MS, TAKE1, Value::String).since(1, 27, 2),
    d("ssl_stapling_responder", MS, TAKE1, Value::String).since(1, 27, 2),
    d("ssl_stapling_verify", MS, FLAG, Value::Flag).since(1, 27, 2),
    d("ssl_ech_file", MS, TAKE1, Value::String).many().since(1, 29, 4),
    d("ssl_certificate_compression", MS, FLAG, Value::Flag).since(1, 29, 1),
    // --- ngx_stream_ssl_preread_module, ngx_stream_realip_module ---
    d("ssl_preread", MS, FLAG, Value::Flag),
    d("set_real_ip_from", MS, TAKE1, Value::Custom).many(),
    // --- map, geo, split_clients, set, return, pass ---
    d("map", STREAM_MAIN, Args(TAKE2.0 | BLOCK.0), Value::Custom).vars().many(),
    d("map_hash_max_size", STREAM_MAIN, TAKE1, Value::Number),
    d("map_hash_bucket_size", STREAM_MAIN, TAKE1, Value::Number),
    d("geo", STREAM_MAIN, Args(TAKE12.0 | BLOCK.0), Value::Custom).vars().many(),
    d("split_clients", STREAM_MAIN, Args(TAKE2.0 | BLOCK.0), Value::Custom).vars().many(),
    d("set", STREAM_SRV, TAKE2, Value::Custom).vars().many(),
    d("return", STREAM_SRV, TAKE1, Value::Complex).vars(),
    d("pass", STREAM_SRV, TAKE1, Value::Complex).vars().since(1, 25, 5),
    // --- ngx_stream_limit_conn_module, ngx_stream_access_module ---
    d("limit_conn_zone", STREAM_MAIN, TAKE2, Value::Custom).vars().many(),
    d("limit_conn", MS, TAKE2, Value::Custom).many(),
    d("limit_conn_log_level", MS, TAKE1, Value::Enum(LOG_LEVELS)),
    d("limit_conn_dry_run", MS, FLAG, Value::Flag),
    d("allow", MS, TAKE1, Value::Custom).many(),
    d("deny", MS, TAKE1, Value::Custom).many(),
    // --- ngx_stream_log_module ---
    d("log_format", STREAM_MAIN, TWO_MORE, Value::Custom).vars().many(),
    d("access_log", MS, ONE_MORE, Value::Custom).vars().many(),
    d("open_log_file_cache", MS, TAKE1234, Value::Custom),
    // --- ngx_stream_upstream_module and its balancers ---
    d("upstream", STREAM_MAIN, Args(TAKE1.0 | BLOCK.0), Value::Custom).many(),
    d("server", STREAM_UPS, ONE_MORE, Value::Custom).many(),
    d("hash", STREAM_UPS, TAKE12, Value::Custom).vars().many(),
    d("least_conn", STREAM_UPS, NOARGS, Value::Custom).many(),
    d("least_time", STREAM_UPS, TAKE12, Value::Custom).many().since(1, 31, 0),
    d("random", STREAM_UPS, Args(NOARGS.0 | TAKE12.0), Value::Custom).many(),
    d("zone", STREAM_UPS, TAKE12, Value::Custom).many(),
];
