//! The table of what strait does not implement yet (`strait_runtime::unsupported`) against
//! the binary and the README: every stream, main and `events` directive of the parser
//! registry, every `listen` and upstream `server` parameter and every stream variable is
//! tried with `strait -t`. It
//! is accepted when the table does not list it, and refused as the table says when it does
//! ("not supported by strait yet", or unknown for what is newer than the nginx version strait
//! claims); the README's "Not implemented yet" section lists exactly the table.

use std::path::Path;
use std::process::Command;
use strait_parser::registry::{self, consts, Contexts, STRAIT_NGINX_VERSION};
use strait_runtime::unsupported::{self, Gap, Refusal};

const NGINX: &str = "/usr/sbin/nginx";

/// What `strait -t` says of a configuration that uses something strait lacks.
const REFUSAL: &str = "not supported by strait yet";

/// Sample arguments for every stream directive of the registry, by context: a use that nginx
/// accepts on its own (PKI paths are relative to testdata/pki/).
const SAMPLES: &[(&str, &str)] = &[
    ("include", "INCLUDE"),
    ("ssl_object_cache_inheritable", "on"),
    ("server_name", "example.com"),
    ("error_log", "stderr"),
    ("resolver", "127.0.0.1"),
    ("resolver_timeout", "5s"),
    ("proxy_protocol_timeout", "5s"),
    ("tcp_nodelay", "off"),
    ("preread_buffer_size", "8k"),
    ("preread_timeout", "5s"),
    ("variables_hash_max_size", "2048"),
    ("variables_hash_bucket_size", "128"),
    ("server_names_hash_max_size", "1024"),
    ("server_names_hash_bucket_size", "128"),
    ("proxy_pass", "127.0.0.1:PORT"),
    ("proxy_bind", "127.0.0.1"),
    ("proxy_socket_keepalive", "on"),
    ("proxy_socket_rcvbuf", "64k"),
    ("proxy_socket_sndbuf", "64k"),
    ("proxy_connect_timeout", "5s"),
    ("proxy_timeout", "5s"),
    ("proxy_buffer_size", "8k"),
    ("proxy_downstream_buffer", "8k"),
    ("proxy_upstream_buffer", "8k"),
    ("proxy_upload_rate", "1m"),
    ("proxy_download_rate", "1m"),
    ("proxy_requests", "1"),
    ("proxy_responses", "1"),
    ("proxy_next_upstream", "off"),
    ("proxy_next_upstream_tries", "2"),
    ("proxy_next_upstream_timeout", "5s"),
    ("proxy_protocol", "on"),
    ("proxy_half_close", "on"),
    ("proxy_ssl", "on"),
    ("proxy_ssl_session_reuse", "off"),
    ("proxy_ssl_protocols", "TLSv1.2 TLSv1.3"),
    ("proxy_ssl_ciphers", "HIGH"),
    ("proxy_ssl_name", "example.com"),
    ("proxy_ssl_server_name", "on"),
    ("proxy_ssl_alpn", "h2"),
    ("proxy_ssl_verify", "off"),
    ("proxy_ssl_verify_depth", "2"),
    ("proxy_ssl_trusted_certificate", "PKI/ca.crt"),
    ("proxy_ssl_crl", "PKI/crl.pem"),
    ("proxy_ssl_certificate", "PKI/client-a.crt"),
    ("proxy_ssl_certificate_key", "PKI/client-a.key"),
    ("proxy_ssl_certificate_cache", "max=10"),
    ("proxy_ssl_password_file", "PKI/password"),
    ("proxy_ssl_conf_command", "Options -SessionTicket"),
    ("ssl_handshake_timeout", "5s"),
    ("ssl_certificate", "PKI/server.crt; ssl_certificate_key PKI/server.key"),
    ("ssl_certificate_key", "PKI/server.key"),
    ("ssl_certificate_cache", "max=10"),
    ("ssl_password_file", "PKI/password"),
    ("ssl_dhparam", "PKI/dhparam.pem"),
    ("ssl_ecdh_curve", "prime256v1"),
    ("ssl_protocols", "TLSv1.2 TLSv1.3"),
    ("ssl_ciphers", "HIGH"),
    ("ssl_prefer_server_ciphers", "on"),
    ("ssl_verify_client", "off"),
    ("ssl_verify_depth", "2"),
    ("ssl_client_certificate", "PKI/ca.crt"),
    ("ssl_trusted_certificate", "PKI/ca.crt"),
    ("ssl_crl", "PKI/crl.pem"),
    ("ssl_session_cache", "shared:s:1m"),
    ("ssl_session_tickets", "off"),
    ("ssl_session_ticket_key", "TICKET"),
    ("ssl_session_timeout", "5m"),
    ("ssl_conf_command", "Options -SessionTicket"),
    ("ssl_alpn", "h2"),
    ("ssl_reject_handshake", "on"),
    ("ssl_ocsp", "on"),
    ("ssl_ocsp_responder", "http://127.0.0.1:1/"),
    ("ssl_ocsp_cache", "shared:o:1m"),
    ("ssl_stapling", "on"),
    ("ssl_stapling_file", "PKI/ca.crt"),
    ("ssl_stapling_responder", "http://127.0.0.1:1/"),
    ("ssl_stapling_verify", "on"),
    ("ssl_ech_file", "PKI/ech.pem"),
    ("ssl_certificate_compression", "on"),
    ("ssl_preread", "on"),
    ("set_real_ip_from", "127.0.0.1"),
    ("map", "$remote_addr $sample { default 1; }"),
    ("map_hash_max_size", "4096"),
    ("map_hash_bucket_size", "128"),
    ("geo", "$sample { default 1; }"),
    ("split_clients", "$remote_addr $sample { * 1; }"),
    ("set", "$sample 1"),
    ("return", "ok"),
    ("pass", "127.0.0.1:PORT"),
    ("limit_conn_zone", "$remote_addr zone=sample:1m"),
    ("limit_conn", "every 1"),
    ("limit_conn_log_level", "warn"),
    ("limit_conn_dry_run", "on"),
    ("allow", "127.0.0.1"),
    ("deny", "all"),
    ("log_format", "sample $remote_addr"),
    ("access_log", "off"),
    ("open_log_file_cache", "off"),
    ("upstream", "sample { server 127.0.0.1:PORT; }"),
    ("server", "127.0.0.1:PORT"),
    ("hash", "$remote_addr"),
    ("least_conn", ""),
    ("least_time", "connect"),
    ("random", "two"),
    ("zone", "sample 64k"),
];

/// Sample arguments for every main and `events` directive of the registry that is not in
/// every sample configuration already: a use that nginx accepts on its own.
const MAIN_SAMPLES: &[(&str, &str)] = &[
    ("accept_mutex", "on"),
    ("accept_mutex_delay", "100ms"),
    ("debug_connection", "127.0.0.1"),
    ("debug_points", "stop"),
    ("env", "TZ"),
    ("epoll_events", "512"),
    ("http", "{ }"),
    ("lock_file", "logs/nginx.lock"),
    ("master_process", "off"),
    ("multi_accept", "on"),
    ("pcre_jit", "on"),
    ("ssl_engine", "dynamic"),
    ("thread_pool", "sample threads=2"),
    ("timer_resolution", "100ms"),
    ("use", "epoll"),
    ("worker_aio_requests", "32"),
    ("worker_connections", "512"),
    ("worker_cpu_affinity", "auto"),
    ("worker_priority", "0"),
    ("worker_processes", "1"),
    ("worker_rlimit_core", "10m"),
    ("worker_rlimit_nofile", "1024"),
    ("worker_shutdown_timeout", "5s"),
    ("working_directory", "/tmp"),
];

/// Main and `events` directives without a sample, and why.
const MAIN_UNSAMPLED: &[(&str, &str)] = &[
    ("daemon", "in every sample configuration"),
    ("error_log", "in every sample configuration"),
    ("pid", "in every sample configuration"),
    ("events", "in every sample configuration"),
    ("stream", "in every sample configuration"),
    ("user", "in every sample configuration nginx checks"),
    ("load_module", "in every sample configuration nginx checks (tests/cli_nginx.rs for strait)"),
    ("include", "a sample of the stream rows"),
    ("ssl_object_cache_inheritable", "a sample of the stream rows"),
    ("mail", "needs its module loaded for nginx; checked by the corpus (valid/mail.conf)"),
];

/// Where one sample goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// The main context, before `stream {}`.
    Main,
    /// `events {}`.
    Events,
    /// `stream {}`.
    Stream,
    /// A stream `server {}`.
    Server,
    /// An `upstream {}` block.
    Upstream,
}

/// A scratch directory with the configuration's files.
struct Scratch {
    dir: tempfile::TempDir,
    port: u16,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty.conf"), "").unwrap();
        std::fs::write(dir.path().join("ticket.key"), [7u8; 80]).unwrap();
        // A port bound by this test and held while strait and nginx read the configuration.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::mem::forget(listener);
        Scratch { dir, port }
    }

    /// `ARGS` with the placeholders filled in.
    fn fill(&self, args: &str) -> String {
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki");
        args.replace("PORT", &self.port.to_string())
            .replace("PKI", pki.to_str().unwrap())
            .replace("INCLUDE", self.dir.path().join("empty.conf").to_str().unwrap())
            .replace("TICKET", self.dir.path().join("ticket.key").to_str().unwrap())
    }

    /// A whole configuration using `directive` at `place` (nginx module line optional).
    fn config(&self, place: Place, directive: &str, for_nginx: bool) -> String {
        let head = if for_nginx {
            "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nuser root;\n"
        } else {
            ""
        };
        let port = self.port;
        let events = if place == Place::Events { directive } else { "" };
        let (main, stream, server, upstream) = match place {
            Place::Main => (directive, "", "", ""),
            Place::Events => ("", "", "", ""),
            Place::Stream => ("", directive, "", ""),
            Place::Server => ("", "", directive, ""),
            Place::Upstream => ("", "", "", directive),
        };
        let content = if ["proxy_pass", "return", "pass"].iter().any(|c| server.starts_with(c)) {
            String::new()
        } else if upstream.is_empty() {
            "return ok;".to_string()
        } else {
            "proxy_pass up;".to_string()
        };
        let upstream = if upstream.is_empty() {
            String::new()
        } else {
            format!("upstream up {{ {upstream} server 127.0.0.1:{port}; }}")
        };
        format!(
            "{head}daemon off;\nerror_log stderr;\npid {pid};\nevents {{ {events} }}\n{main}\n\
             stream {{\n    limit_conn_zone $remote_addr zone=every:1m;\n    {stream}\n    \
             {upstream}\n    server {{ listen 127.0.0.1:{port}; {server} {content} }}\n}}\n",
            pid = self.dir.path().join("pid").display(),
        )
    }

    /// Runs `binary -t` on `config`: (success, stderr).
    fn check(&self, binary: &str, config: &str) -> (bool, String) {
        let path = self.dir.path().join("nginx.conf");
        std::fs::write(&path, config).unwrap();
        let prefix = format!("{}/", self.dir.path().display());
        let output = Command::new(binary)
            .args(["-t", "-p", &prefix, "-c", path.to_str().unwrap()])
            .output()
            .unwrap();
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The place to try a registry row in: its innermost stream context.
fn place_of(contexts: Contexts) -> Option<Place> {
    let has = |c: Contexts| contexts.0 & c.0 != 0;
    if has(consts::STREAM_SRV) {
        Some(Place::Server)
    } else if has(consts::STREAM_MAIN) {
        Some(Place::Stream)
    } else if has(consts::STREAM_UPS) {
        Some(Place::Upstream)
    } else {
        None
    }
}

/// The stream rows of the registry: (name, place, since), one per name and place.
fn stream_rows() -> Vec<(&'static str, Place, registry::Version)> {
    let mut rows: Vec<(&'static str, Place, registry::Version)> = Vec::new();
    for spec in registry::all() {
        // The stream module's main-context rows: `stream` itself and one switch.
        let main_row = spec.name == "stream" || spec.name == "ssl_object_cache_inheritable";
        let place = if main_row { Some(Place::Main) } else { place_of(spec.contexts) };
        let Some(place) = place else { continue };
        // Every sample configuration has `stream`, a `server {}` and its `listen`.
        let in_every_config = matches!(
            (spec.name, place),
            ("stream", _) | ("server", Place::Stream) | ("listen", Place::Server)
        );
        if in_every_config || rows.iter().any(|(n, p, _)| *n == spec.name && *p == place) {
            continue;
        }
        rows.push((spec.name, place, spec.since));
    }
    rows
}

fn sample(name: &str) -> &'static str {
    SAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, args)| *args)
        .unwrap_or_else(|| panic!("no sample arguments for \"{name}\" in SAMPLES"))
}

/// How `strait -t` treats something: accepted, refused as not supported yet, or refused
/// otherwise (with the message).
fn verdict(scratch: &Scratch, config: &str) -> Result<(), String> {
    let (ok, stderr) = scratch.check(env!("CARGO_BIN_EXE_strait"), config);
    if ok {
        Ok(())
    } else {
        Err(stderr)
    }
}

#[test]
fn every_stream_directive_is_refused_iff_the_table_lists_it() {
    let scratch = Scratch::new();
    let nginx = Path::new(NGINX).exists();
    let mut faults = Vec::new();
    let rows = stream_rows();
    for (name, _) in SAMPLES {
        if !rows.iter().any(|(row, _, _)| row == name) {
            faults.push(format!("the sample of \"{name}\" is for no stream row of the registry"));
        }
    }
    for (name, place, since) in rows {
        let args = scratch.fill(sample(name));
        let end = if args.ends_with('}') { "" } else { ";" };
        let directive = format!("{name} {args}{end}").replace(" ;", ";");
        let config = scratch.config(place, &directive, false);

        // The sample must be valid for nginx where 1.22 knows the directive.
        if nginx && since <= registry::DEBIAN_NGINX_VERSION {
            let (ok, stderr) = scratch.check(NGINX, &scratch.config(place, &directive, true));
            if !ok {
                faults.push(format!("nginx refuses the sample of \"{name}\": {stderr}"));
            }
        }

        let gap = match place {
            Place::Upstream => unsupported::upstream_directive(name),
            _ => unsupported::directive(name),
        };
        let verdict = verdict(&scratch, &config);
        let expected = match (&verdict, gap.map(|g| g.refusal)) {
            (Ok(()), None) => true,
            (Err(e), Some(Refusal::NotSupportedYet)) => {
                e.contains(&format!("\"{name}\" directive is {REFUSAL}"))
            }
            (Err(e), Some(Refusal::Newer(version))) => {
                version == since
                    && since > STRAIT_NGINX_VERSION
                    && e.contains(&format!("unknown directive \"{name}\""))
            }
            _ => false,
        };
        if !expected {
            faults.push(format!("{name} ({place:?}, listed: {gap:?}): {verdict:?}"));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// The main and `events` rows of the registry: (name, place), one per name.
fn main_rows() -> Vec<(&'static str, Place)> {
    let mut rows: Vec<(&'static str, Place)> = Vec::new();
    for spec in registry::all() {
        let has = |c: Contexts| spec.contexts.0 & c.0 != 0;
        let place = if has(consts::EVENTS) {
            Place::Events
        } else if has(consts::MAIN) {
            Place::Main
        } else {
            continue;
        };
        if !rows.iter().any(|(name, _)| *name == spec.name) {
            rows.push((spec.name, place));
        }
    }
    rows
}

#[test]
fn every_main_and_events_directive_is_refused_iff_the_table_lists_it() {
    let scratch = Scratch::new();
    let nginx = Path::new(NGINX).exists();
    let mut faults = Vec::new();
    let rows = main_rows();
    for (name, _) in MAIN_SAMPLES.iter().chain(MAIN_UNSAMPLED) {
        if !rows.iter().any(|(row, _)| row == name) {
            faults.push(format!("\"{name}\" is listed here but no main or events row"));
        }
    }
    for (name, place) in rows {
        if MAIN_UNSAMPLED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let Some((_, args)) = MAIN_SAMPLES.iter().find(|(n, _)| *n == name) else {
            faults.push(format!("no sample arguments for \"{name}\" in MAIN_SAMPLES"));
            continue;
        };
        let end = if args.ends_with('}') { "" } else { ";" };
        let directive = format!("{name} {args}{end}");

        // The sample must be valid for nginx.
        if nginx {
            let (ok, stderr) = scratch.check(NGINX, &scratch.config(place, &directive, true));
            if !ok {
                faults.push(format!("nginx refuses the sample of \"{name}\": {stderr}"));
            }
        }

        let gap = unsupported::main_directive(name);
        let verdict = verdict(&scratch, &scratch.config(place, &directive, false));
        let expected = match (&verdict, gap.map(|g| g.refusal)) {
            (Ok(()), None) => true,
            (Err(e), Some(Refusal::NotSupportedYet)) => {
                e.contains(&format!("\"{name}\" directive is {REFUSAL}"))
            }
            _ => false,
        };
        if !expected {
            faults.push(format!("{name} ({place:?}, listed: {gap:?}): {verdict:?}"));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// Every `listen` parameter of nginx's stream module (reference §5.1), as used in a sample,
/// with the address to use it on and the server directives it needs.
const LISTEN_SAMPLES: &[(&str, &str, &str)] = &[
    ("ssl", "127.0.0.1", "ssl_certificate PKI/server.crt; ssl_certificate_key PKI/server.key;"),
    ("udp", "127.0.0.1", ""),
    ("proxy_protocol", "127.0.0.1", ""),
    ("setfib=1", "127.0.0.1", ""),
    ("fastopen=8", "127.0.0.1", ""),
    ("backlog=8", "127.0.0.1", ""),
    ("rcvbuf=64k", "127.0.0.1", ""),
    ("sndbuf=64k", "127.0.0.1", ""),
    ("accept_filter=dataready", "127.0.0.1", ""),
    ("deferred", "127.0.0.1", ""),
    ("bind", "127.0.0.1", ""),
    ("ipv6only=on", "[::1]", ""),
    ("reuseport", "127.0.0.1", ""),
    ("so_keepalive=on", "127.0.0.1", ""),
    ("so_keepalive=30m::10", "127.0.0.1", ""),
    ("default_server", "127.0.0.1", ""),
    ("multipath", "127.0.0.1", ""),
];

#[test]
fn every_listen_parameter_is_refused_iff_the_table_lists_it() {
    let scratch = Scratch::new();
    let mut faults = Vec::new();
    for (parameter, host, extra) in LISTEN_SAMPLES {
        let port = scratch.port;
        let config = scratch.fill(&format!(
            "daemon off;\nerror_log stderr;\nevents {{}}\nstream {{\n    server {{ listen \
             {host}:{port} {parameter}; {extra} return ok; }}\n}}\n"
        ));
        let listed = unsupported::listen_parameter(parameter);
        let verdict = verdict(&scratch, &config);
        let expected = match (&verdict, listed.map(|g| g.refusal)) {
            (Ok(()), None) => true,
            (Err(e), Some(Refusal::NotSupportedYet)) => e.contains(&format!(
                "the \"{parameter}\" parameter of the \"listen\" directive is {REFUSAL}"
            )),
            (Err(e), Some(Refusal::Newer(version))) => {
                version > STRAIT_NGINX_VERSION
                    && e.contains(&format!("the invalid \"{parameter}\" parameter"))
            }
            _ => false,
        };
        if !expected {
            faults.push(format!("{parameter} (listed: {listed:?}): {verdict:?}"));
        }
    }

    // Every table entry has a sample.
    for gap in unsupported::LISTEN_PARAMETERS {
        if !LISTEN_SAMPLES.iter().any(|(p, _, _)| unsupported::listen_parameter(p) == Some(gap)) {
            faults.push(format!("no sample uses the listed parameter \"{}\"", gap.name));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// Every parameter of `server` in `upstream {}` (reference §5.4).
const SERVER_SAMPLES: &[&str] = &[
    "weight=2",
    "max_conns=8",
    "max_fails=2",
    "fail_timeout=5s",
    "backup",
    "down",
    "resolve",
    "service=http",
];

#[test]
fn every_upstream_server_parameter_is_refused_iff_the_table_lists_it() {
    let scratch = Scratch::new();
    let mut faults = Vec::new();
    for parameter in SERVER_SAMPLES {
        let port = scratch.port;
        let directive = format!("zone sample 64k; server 127.0.0.1:{port} {parameter};");
        let config = scratch.config(Place::Upstream, &directive, false);
        let listed = unsupported::server_parameter(parameter);
        let verdict = verdict(&scratch, &config);
        let expected = match (&verdict, listed.map(|g| g.refusal)) {
            (Ok(()), None) => true,
            (Err(e), Some(Refusal::NotSupportedYet)) => e.contains(&format!(
                "the \"{parameter}\" parameter of the \"server\" directive is {REFUSAL}"
            )),
            _ => false,
        };
        if !expected {
            faults.push(format!("{parameter} (listed: {listed:?}): {verdict:?}"));
        }
    }
    for gap in unsupported::SERVER_PARAMETERS {
        if !SERVER_SAMPLES.iter().any(|p| unsupported::server_parameter(p) == Some(gap)) {
            faults.push(format!("no sample uses the listed parameter \"{}\"", gap.name));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// Every stream variable of nginx (reference §6; one name stands for a `*` prefix).
const VARIABLES: &[&str] = &[
    // core
    "binary_remote_addr",
    "remote_addr",
    "remote_port",
    "server_addr",
    "server_port",
    "bytes_sent",
    "bytes_received",
    "session_time",
    "status",
    "connection",
    "nginx_version",
    "hostname",
    "pid",
    "msec",
    "time_iso8601",
    "time_local",
    "protocol",
    "server_name",
    // PROXY protocol
    "proxy_protocol_addr",
    "proxy_protocol_port",
    "proxy_protocol_server_addr",
    "proxy_protocol_server_port",
    "proxy_protocol_tlv_alpn",
    "proxy_protocol_tlv_0x01",
    // ssl
    "ssl_protocol",
    "ssl_cipher",
    "ssl_ciphers",
    "ssl_curve",
    "ssl_curves",
    "ssl_session_id",
    "ssl_session_reused",
    "ssl_server_name",
    "ssl_alpn_protocol",
    "ssl_client_cert",
    "ssl_client_raw_cert",
    "ssl_client_escaped_cert",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_verify",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
    "ssl_sigalg",
    "ssl_client_sigalg",
    "ssl_sigalgs",
    "ssl_ech_status",
    "ssl_ech_outer_server_name",
    // ssl_preread
    "ssl_preread_protocol",
    "ssl_preread_server_name",
    "ssl_preread_alpn_protocols",
    // upstream
    "upstream_addr",
    "upstream_bytes_sent",
    "upstream_bytes_received",
    "upstream_connect_time",
    "upstream_first_byte_time",
    "upstream_session_time",
    // realip, limit_conn
    "realip_remote_addr",
    "realip_remote_port",
    "limit_conn_status",
    // geoip (a dynamic module)
    "geoip_country_code",
    "geoip_country_code3",
    "geoip_country_name",
    "geoip_org",
    "geoip_city_continent_code",
    "geoip_city_country_code",
    "geoip_city_country_code3",
    "geoip_city_country_name",
    "geoip_region",
    "geoip_region_name",
    "geoip_city",
    "geoip_postal_code",
    "geoip_latitude",
    "geoip_longitude",
    "geoip_dma_code",
    "geoip_area_code",
];

#[test]
fn every_stream_variable_is_refused_iff_the_table_lists_it() {
    let scratch = Scratch::new();
    let mut faults = Vec::new();
    for name in VARIABLES {
        let config = scratch.config(Place::Server, &format!("return \"${name}\";"), false);
        let listed = unsupported::variable(name);
        let verdict = verdict(&scratch, &config);
        let expected = match (&verdict, listed.map(|g| g.refusal)) {
            (Ok(()), None) => true,
            (Err(e), Some(Refusal::NotSupportedYet)) => {
                e.contains(&format!("the \"${name}\" variable is {REFUSAL}"))
            }
            (Err(e), Some(Refusal::Newer(version))) => {
                version > STRAIT_NGINX_VERSION
                    && e.contains(&format!("unknown \"{name}\" variable"))
            }
            (Err(e), Some(Refusal::Module(_))) => {
                e.contains(&format!("unknown \"{name}\" variable"))
            }
            _ => false,
        };
        if !expected {
            faults.push(format!("${name} (listed: {listed:?}): {verdict:?}"));
        }
    }

    // Every table entry stands for some variable of nginx.
    for gap in unsupported::VARIABLES {
        if !VARIABLES.iter().any(|v| unsupported::variable(v) == Some(gap)) {
            faults.push(format!("the listed variable \"{}\" is not a stream variable", gap.name));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// The README line of one gap (`$` before variables).
fn readme_line(gap: &Gap, sigil: &str) -> String {
    let how = match gap.refusal {
        Refusal::NotSupportedYet => String::new(),
        Refusal::Newer(v) => format!(
            " (nginx {}.{}.{}; unknown, as to nginx {}.{}.{})",
            v.0, v.1, v.2, STRAIT_NGINX_VERSION.0, STRAIT_NGINX_VERSION.1, STRAIT_NGINX_VERSION.2
        ),
        Refusal::Module(module) => format!(" (`{module}`, which strait cannot load)"),
    };
    format!("- `{sigil}{}`{how}: {}", gap.name, gap.reason)
}

#[test]
fn the_readme_lists_exactly_the_table() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();

    // The section: from its heading to the next `## ` heading; its list items by subsection.
    let start =
        readme.find("\n## Not implemented yet\n").expect("a \"Not implemented yet\" section");
    let body = &readme[start + 1..];
    let body = &body[..body[3..].find("\n## ").map_or(body.len(), |end| end + 4)];
    let mut found = Vec::new();
    for line in body.lines() {
        if line.starts_with("### ") || line.starts_with("- ") {
            found.push(line.to_string());
        } else if line.starts_with("  ") && found.last().is_some_and(|l| l.starts_with("- ")) {
            // A list item continued on the next line.
            let last = found.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim_start());
        }
    }

    let mut expected = Vec::new();
    let tables: [(&str, &[Gap], &str); 6] = [
        ("### Directives", unsupported::DIRECTIVES, ""),
        ("### Directives inside `upstream {}`", unsupported::UPSTREAM_DIRECTIVES, ""),
        ("### `server` parameters in `upstream {}`", unsupported::SERVER_PARAMETERS, ""),
        ("### `listen` parameters", unsupported::LISTEN_PARAMETERS, ""),
        ("### Variables", unsupported::VARIABLES, "$"),
        ("### Directives of the main and `events` contexts", unsupported::MAIN_DIRECTIVES, ""),
    ];
    for (heading, table, sigil) in tables {
        expected.push(heading.to_string());
        expected.extend(table.iter().map(|gap| readme_line(gap, sigil)));
    }
    assert!(
        found == expected,
        "README.md \"Not implemented yet\" differs from strait_runtime::unsupported; expected \
         these headings and items:\n{}",
        expected.join("\n")
    );
}
