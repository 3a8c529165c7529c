//! What strait does not implement yet, as data: the stream directives, `listen` parameters
//! and stream variables of nginx (the 1.31 set) that a configuration may name but strait
//! refuses, each with the reason or what to use instead.
//!
//! These tables are the one source of truth: `listen` and the variable table refuse what they
//! list, the README's "Not implemented yet" section lists exactly them, and
//! `tests/unsupported_table.rs` tries every stream directive, `listen` parameter and variable
//! with `strait -t` against them. A refusal reads `"X" directive is not supported by strait
//! yet`, `the "X" parameter of the "listen" directive is not supported by strait yet` or
//! `the "$X" variable is not supported by strait yet`; directives newer than the nginx version
//! strait claims (`strait_parser::registry::STRAIT_NGINX_VERSION`) are `unknown directive`, as
//! they are to that nginx.

/// Stream directives strait refuses: name, reason.
pub const DIRECTIVES: &[(&str, &str)] = &[
    ("ssl_object_cache_inheritable", "strait is one process: there is no master to inherit from"),
    ("server_name", "no virtual server selection by SNI (nginx 1.25.5); use map $ssl_preread_server_name"),
    ("server_names_hash_max_size", "goes with server_name"),
    ("server_names_hash_bucket_size", "goes with server_name"),
    ("proxy_socket_rcvbuf", "nginx 1.31.3, newer than strait's 1.27.5"),
    ("proxy_socket_sndbuf", "nginx 1.31.3, newer than strait's 1.27.5"),
    ("proxy_downstream_buffer", "deprecated alias: use proxy_buffer_size"),
    ("proxy_upstream_buffer", "deprecated alias: use proxy_buffer_size"),
    ("proxy_requests", "UDP proxying"),
    ("proxy_responses", "UDP proxying"),
    ("proxy_ssl_alpn", "nginx 1.31.0, newer than strait's 1.27.5"),
    ("ssl_reject_handshake", "no handshake refusal by server name"),
    ("ssl_ocsp", "no OCSP checks of client certificates"),
    ("ssl_ocsp_responder", "no OCSP checks of client certificates"),
    ("ssl_ocsp_cache", "no OCSP checks of client certificates"),
    ("ssl_stapling", "no OCSP stapling"),
    ("ssl_stapling_file", "no OCSP stapling"),
    ("ssl_stapling_responder", "no OCSP stapling"),
    ("ssl_stapling_verify", "no OCSP stapling"),
    ("ssl_ech_file", "nginx 1.29.4, newer than strait's 1.27.5"),
    ("ssl_certificate_compression", "nginx 1.29.1, newer than strait's 1.27.5"),
    ("pass", "no hand-over of a connection to another server"),
    ("open_log_file_cache", "access_log paths with variables are opened per line"),
    ("least_time", "nginx 1.31.0, newer than strait's 1.27.5"),
];

/// Directives strait implements elsewhere but refuses inside `upstream {}`: name, reason.
pub const UPSTREAM_DIRECTIVES: &[(&str, &str)] = &[
    ("resolver", "no re-resolving of `server ... resolve` peers (nginx 1.27.3)"),
    ("resolver_timeout", "no re-resolving of `server ... resolve` peers (nginx 1.27.3)"),
];

/// `listen` parameters strait refuses: the parameter (with its `=` when it takes a value),
/// reason.
pub const LISTEN_PARAMETERS: &[(&str, &str)] = &[
    ("udp", "UDP proxying"),
    ("default_server", "goes with server_name"),
    ("deferred", "no TCP_DEFER_ACCEPT"),
    ("setfib=", "FreeBSD only"),
    ("accept_filter=", "FreeBSD only"),
    ("multipath", "nginx 1.29.7: MPTCP"),
];

/// Stream variables strait refuses: the name, or a prefix ending in `_` followed by `*`;
/// reason.
pub const VARIABLES: &[(&str, &str)] = &[
    ("server_name", "goes with the server_name directive"),
    ("ssl_ciphers", "the client's cipher list is not kept"),
    ("ssl_curve", "the negotiated group is not read"),
    ("ssl_curves", "the client's groups are not kept"),
    ("ssl_client_escaped_cert", "use $ssl_client_raw_cert"),
    ("ssl_sigalg", "nginx 1.29.3"),
    ("ssl_client_sigalg", "nginx 1.29.3"),
    ("ssl_sigalgs", "nginx 1.31.2"),
    ("ssl_ech_status", "nginx 1.29.4"),
    ("ssl_ech_outer_server_name", "nginx 1.29.4"),
    ("geoip_*", "the geoip module: strait loads no modules; use geo"),
];

/// The entry of `table` that names `name`, for names and `prefix_*` patterns.
fn find<'t>(table: &'t [(&'t str, &'t str)], name: &str) -> Option<&'t (&'t str, &'t str)> {
    table.iter().find(|(entry, _)| match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => *entry == name,
    })
}

/// Whether strait refuses the stream directive `name`.
pub fn is_directive(name: &str) -> bool {
    find(DIRECTIVES, name).is_some()
}

/// The table entry of a `listen` parameter as written (`setfib=0` is `setfib=`).
pub fn listen_parameter(parameter: &str) -> Option<&'static str> {
    LISTEN_PARAMETERS
        .iter()
        .find(|(entry, _)| match entry.strip_suffix('=') {
            Some(_) => parameter.starts_with(entry),
            None => parameter == *entry,
        })
        .map(|(entry, _)| *entry)
}

/// Whether strait refuses the variable `name` (lowercase, without `$`).
pub fn is_variable(name: &str) -> bool {
    find(VARIABLES, name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_repeats_and_a_reason_each() {
        for table in [DIRECTIVES, UPSTREAM_DIRECTIVES, LISTEN_PARAMETERS, VARIABLES] {
            for (i, (name, reason)) in table.iter().enumerate() {
                assert!(!reason.is_empty(), "{name}");
                assert!(!table[..i].iter().any(|(other, _)| other == name), "{name} repeats");
            }
        }
    }

    #[test]
    fn patterns_match_as_written() {
        assert_eq!(listen_parameter("setfib=1"), Some("setfib="));
        assert_eq!(listen_parameter("udp"), Some("udp"));
        assert_eq!(listen_parameter("udpx"), None);
        assert!(is_variable("geoip_city"));
        assert!(!is_variable("geoip"));
        assert!(is_directive("pass") && !is_directive("proxy_pass"));
    }
}
