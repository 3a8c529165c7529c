//! What strait does not implement yet, as data: the stream directives, `listen` parameters
//! and stream variables of nginx (the 1.31 set), and the main and `events` directives, that
//! a configuration may name but strait refuses, each with how it is refused and the reason
//! or what to use instead.
//!
//! These tables are the one source of truth: `listen`, `upstream {}` (its directives and
//! `server` parameters) and the variable table refuse what they list, the README's "Not
//! implemented yet" section lists exactly them, and `tests/unsupported_table.rs` tries every
//! stream directive, `listen` and `server` parameter and variable with `strait -t` against
//! them.

use strait_parser::registry::Version;

/// How strait refuses a configuration that uses a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `"X" directive is not supported by strait yet`, `the "X" parameter of the "listen"
    /// directive is not supported by strait yet`, `the "$X" variable is not supported by
    /// strait yet`.
    NotSupportedYet,
    /// Arrived in this nginx version, newer than the one strait claims
    /// (`strait_parser::registry::STRAIT_NGINX_VERSION`): unknown, as it is to that nginx
    /// (`unknown directive`, `the invalid "X" parameter`, `unknown "X" variable`).
    Newer(Version),
    /// Provided by a dynamic module that strait cannot load (`load_module` is refused):
    /// unknown, as to an nginx without the module.
    Module(&'static str),
}

/// One thing strait does not implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The directive, the `listen` parameter (with its `=` when it takes a value) or the
    /// variable (without `$`; a trailing `*` stands for any suffix).
    pub name: &'static str,
    /// How a configuration that uses it is refused.
    pub refusal: Refusal,
    /// Why, or what to use instead.
    pub reason: &'static str,
}

const fn yet(name: &'static str, reason: &'static str) -> Gap {
    Gap { name, refusal: Refusal::NotSupportedYet, reason }
}

const fn newer(
    name: &'static str,
    major: u16,
    minor: u16,
    patch: u16,
    reason: &'static str,
) -> Gap {
    Gap { name, refusal: Refusal::Newer(Version(major, minor, patch)), reason }
}

const fn module(name: &'static str, module: &'static str, reason: &'static str) -> Gap {
    Gap { name, refusal: Refusal::Module(module), reason }
}

/// Stream directives strait refuses wherever they appear.
pub const DIRECTIVES: &[Gap] = &[
    yet("ssl_object_cache_inheritable", "strait is one process: no master to inherit from"),
    yet("server_name", "no server selection by name; map $ssl_preread_server_name instead"),
    yet("server_names_hash_max_size", "goes with server_name"),
    yet("server_names_hash_bucket_size", "goes with server_name"),
    newer("proxy_socket_rcvbuf", 1, 31, 3, "the system default buffer size is used"),
    newer("proxy_socket_sndbuf", 1, 31, 3, "the system default buffer size is used"),
    yet("proxy_requests", "UDP proxying"),
    yet("proxy_responses", "UDP proxying"),
    newer("proxy_ssl_alpn", 1, 31, 0, "no ALPN towards the upstream"),
    yet("ssl_reject_handshake", "no handshake refusal by server name"),
    yet("ssl_ocsp", "no OCSP checks of client certificates"),
    yet("ssl_ocsp_responder", "no OCSP checks of client certificates"),
    yet("ssl_ocsp_cache", "no OCSP checks of client certificates"),
    yet("ssl_stapling", "no OCSP stapling"),
    yet("ssl_stapling_file", "no OCSP stapling"),
    yet("ssl_stapling_responder", "no OCSP stapling"),
    yet("ssl_stapling_verify", "no OCSP stapling"),
    newer("ssl_ech_file", 1, 29, 4, "no Encrypted Client Hello"),
    newer("ssl_certificate_compression", 1, 29, 1, "no certificate compression"),
    yet("pass", "no hand-over of a connection to another server; use proxy_pass"),
    yet("open_log_file_cache", "access_log paths with variables are opened for each line"),
    newer("least_time", 1, 31, 0, "use least_conn or random two least_conn"),
];

/// Directives strait implements in `stream {}` and `server {}` but refuses inside
/// `upstream {}` (`"X" directive is not supported by strait yet in upstream`).
pub const UPSTREAM_DIRECTIVES: &[Gap] = &[
    yet("resolver", "upstream peers are resolved once, at load"),
    yet("resolver_timeout", "upstream peers are resolved once, at load"),
];

/// Parameters of `server` in `upstream {}` strait refuses (`the "X" parameter of the "server"
/// directive is not supported by strait yet`).
pub const SERVER_PARAMETERS: &[Gap] = &[
    yet("resolve", "peers are resolved once, at load; no re-resolving (nginx 1.27.3)"),
    yet("service=", "no DNS SRV lookups (nginx 1.27.3)"),
];

/// `listen` parameters strait refuses.
pub const LISTEN_PARAMETERS: &[Gap] = &[
    yet("udp", "UDP proxying"),
    yet("setfib=", "FreeBSD only"),
    yet("accept_filter=", "FreeBSD only"),
    yet("default_server", "goes with server_name; the first server of an address serves it"),
    newer("multipath", 1, 29, 7, "no MPTCP"),
];

/// Stream variables strait refuses.
pub const VARIABLES: &[Gap] = &[
    yet("server_name", "goes with the server_name directive"),
    newer("ssl_sigalg", 1, 29, 3, "the signature algorithm is not read"),
    newer("ssl_client_sigalg", 1, 29, 3, "the signature algorithm is not read"),
    newer("ssl_sigalgs", 1, 31, 2, "the client's signature algorithms are not kept"),
    newer("ssl_ech_status", 1, 29, 4, "no Encrypted Client Hello"),
    newer("ssl_ech_outer_server_name", 1, 29, 4, "no Encrypted Client Hello"),
    module("geoip_*", "ngx_stream_geoip_module", "strait loads no modules; use geo"),
];

/// Directives of the main context and of `events {}` that strait refuses: nginx checks
/// their values (and so does strait's parser), but strait has nothing to apply them to.
pub const MAIN_DIRECTIVES: &[Gap] = &[
    yet("thread_pool", "no thread pools: nginx runs http's aio threads in them"),
    yet("debug_points", "strait has no debug points to stop or abort at"),
    yet("ssl_engine", "no OpenSSL engines: certificates and keys come from files or data:"),
    yet("debug_connection", "strait writes no debug-level lines"),
    yet("worker_aio_requests", "no file AIO: nginx sizes http's aio with it"),
    yet("epoll_events", "the event loop sizes its own epoll event buffer"),
];

/// The gap of `table` that names `name`: `prefix_*` entries match any suffix, `param=`
/// entries any value.
fn find(table: &'static [Gap], name: &str) -> Option<&'static Gap> {
    table.iter().find(|gap| {
        if let Some(prefix) = gap.name.strip_suffix('*') {
            name.starts_with(prefix)
        } else if gap.name.ends_with('=') {
            name.starts_with(gap.name)
        } else {
            gap.name == name
        }
    })
}

/// The gap of the stream directive `name`, if strait does not implement it.
pub fn directive(name: &str) -> Option<&'static Gap> {
    find(DIRECTIVES, name)
}

/// The gap of the directive `name` inside `upstream {}`.
pub fn upstream_directive(name: &str) -> Option<&'static Gap> {
    find(DIRECTIVES, name).or_else(|| find(UPSTREAM_DIRECTIVES, name))
}

/// The gap of the main or `events` directive `name`, if strait refuses it.
pub fn main_directive(name: &str) -> Option<&'static Gap> {
    find(MAIN_DIRECTIVES, name)
}

/// The gap of a `server` parameter in `upstream {}` as written.
pub fn server_parameter(parameter: &str) -> Option<&'static Gap> {
    find(SERVER_PARAMETERS, parameter)
}

/// The gap of a `listen` parameter as written (`setfib=0` is `setfib=`).
pub fn listen_parameter(parameter: &str) -> Option<&'static Gap> {
    find(LISTEN_PARAMETERS, parameter)
}

/// The gap of the variable `name` (lowercase, without `$`).
pub fn variable(name: &str) -> Option<&'static Gap> {
    find(VARIABLES, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_repeats_and_a_reason_each() {
        let tables = [
            DIRECTIVES,
            UPSTREAM_DIRECTIVES,
            SERVER_PARAMETERS,
            LISTEN_PARAMETERS,
            VARIABLES,
            MAIN_DIRECTIVES,
        ];
        for table in tables {
            for (i, gap) in table.iter().enumerate() {
                assert!(!gap.reason.is_empty(), "{}", gap.name);
                assert!(!table[..i].iter().any(|o| o.name == gap.name), "{} repeats", gap.name);
            }
        }
    }

    #[test]
    fn patterns_match_as_written() {
        assert_eq!(listen_parameter("setfib=1").map(|g| g.name), Some("setfib="));
        assert_eq!(listen_parameter("udp").map(|g| g.name), Some("udp"));
        assert_eq!(listen_parameter("udpx"), None);
        assert!(variable("geoip_city").is_some());
        assert!(variable("geoip").is_none());
        assert!(directive("pass").is_some() && directive("proxy_pass").is_none());
        assert!(upstream_directive("resolver").is_some() && directive("resolver").is_none());
    }

    /// Compiles `source` as `strait -t` does after the parser's checks.
    fn compile(source: &str) -> Result<crate::Plan, crate::ConfigError> {
        let dir = std::env::temp_dir();
        let path = dir.join("strait-unsupported-test.conf");
        let config =
            strait_parser::parse_bytes(source.as_bytes(), &path, &Default::default()).unwrap();
        let default_error_log = crate::plan::LogPath::Stderr;
        let paths = crate::Paths { prefix: dir.clone(), conf_prefix: dir, default_error_log };
        crate::Plan::compile(&config, &paths)
    }

    /// Every listed directive, `listen` parameter and variable is refused by the code that
    /// compiles it (the other way round, everything unlisted being accepted, needs valid
    /// arguments for each: tests/unsupported_table.rs).
    #[test]
    fn the_code_refuses_every_gap() {
        let server = |body: &str| format!("stream {{ server {{ listen 127.0.0.1:1; {body} }} }}");
        for gap in DIRECTIVES {
            let refused = format!("\"{}\" directive is not supported by strait yet", gap.name);
            let stream = compile(&format!("stream {{ {} x; }}", gap.name));
            let server = compile(&server(&format!("{} x; return ok;", gap.name)));
            let main = compile(&format!("{} x;", gap.name));
            let messages: Vec<String> = [stream, server, main]
                .into_iter()
                .filter_map(|r| r.err())
                .map(|e| e.message)
                .collect();
            assert!(messages.contains(&refused), "{}: {messages:?}", gap.name);
        }
        for gap in MAIN_DIRECTIVES {
            let refused = format!("\"{}\" directive is not supported by strait yet", gap.name);
            let main = compile(&format!("{} x;", gap.name));
            let events = compile(&format!("events {{ {} x; }}", gap.name));
            let messages: Vec<String> =
                [main, events].into_iter().filter_map(|r| r.err()).map(|e| e.message).collect();
            assert!(messages.contains(&refused), "{}: {messages:?}", gap.name);
        }
        for gap in UPSTREAM_DIRECTIVES {
            let source = format!(
                "stream {{ upstream u {{ {} x; server 127.0.0.1:1; }} {} }}",
                gap.name, "server { listen 127.0.0.1:1; proxy_pass u; }"
            );
            let e = compile(&source).unwrap_err();
            let refused =
                format!("\"{}\" directive is not supported by strait yet in upstream", gap.name);
            assert_eq!(e.message, refused);
        }
        for gap in LISTEN_PARAMETERS {
            let parameter = if gap.name.ends_with('=') {
                format!("{}1", gap.name)
            } else {
                gap.name.to_string()
            };
            let e = compile(&format!(
                "stream {{ server {{ listen 127.0.0.1:1 {parameter}; return ok; }} }}"
            ))
            .unwrap_err();
            let refused = format!(
                "the \"{parameter}\" parameter of the \"listen\" directive is not supported by \
                 strait yet"
            );
            assert_eq!(e.message, refused);
        }
        for gap in SERVER_PARAMETERS {
            let parameter = if gap.name.ends_with('=') {
                format!("{}x", gap.name)
            } else {
                gap.name.to_string()
            };
            let e = compile(&format!(
                "stream {{ upstream u {{ server 127.0.0.1:1 {parameter}; }} {} }}",
                "server { listen 127.0.0.1:1; proxy_pass u; }"
            ))
            .unwrap_err();
            let refused = format!(
                "the \"{parameter}\" parameter of the \"server\" directive is not supported by \
                 strait yet"
            );
            assert_eq!(e.message, refused);
        }
        for gap in VARIABLES {
            let name = gap.name.replace('*', "x");
            let e = compile(&server(&format!("return ${name};"))).unwrap_err();
            let refused = format!("the \"${name}\" variable is not supported by strait yet");
            assert_eq!(e.message, refused);
        }
    }
}
