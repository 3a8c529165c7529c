//! The table of what strait does not implement yet (`strait_runtime::unsupported`) against
//! the binary and the README: every stream directive of the parser registry, every `listen`
//! parameter and every stream variable is tried with `strait -t`, and is refused as "not
//! supported by strait yet" exactly when the table lists it; the README's "Not implemented
//! yet" section lists exactly the table.

use std::path::Path;
use std::process::Command;
use strait_parser::registry::{self, consts, Contexts, STRAIT_NGINX_VERSION};
use strait_runtime::unsupported;

const NGINX: &str = "/usr/sbin/nginx";

/// What `strait -t` says of a configuration that uses something strait lacks.
const REFUSAL: &str = "not supported by strait yet";

/// Sample arguments for every stream directive of the registry, by context: a use that nginx
/// accepts on its own (PKI paths are relative to testdata/pki/).
const SAMPLES: &[(&str, &str)] = &[
    ("include", "INCLUDE"),
    ("ssl_object_cache_inheritable", "on"),
    ("listen", "127.0.0.1:PORT"),
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

/// Where one sample goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// The main context, before `stream {}`.
    Main,
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
        let (main, stream, server, upstream) = match place {
            Place::Main => (directive, "", "", ""),
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
            "{head}daemon off;\nerror_log stderr;\npid {pid};\nevents {{}}\n{main}\n\
             stream {{\n    limit_conn_zone $remote_addr zone=every:1m;\n    {stream}\n    {upstream}\n    \
             server {{ listen 127.0.0.1:{port}; {server} {content} }}\n}}\n",
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
        let is_stream_module = spec.name == "stream" || spec.name == "ssl_object_cache_inheritable";
        let place = if is_stream_module { Some(Place::Main) } else { place_of(spec.contexts) };
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
    for (name, place, since) in stream_rows() {
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

        let table = match place {
            Place::Upstream => [unsupported::DIRECTIVES, unsupported::UPSTREAM_DIRECTIVES].concat(),
            _ => unsupported::DIRECTIVES.to_vec(),
        };
        let listed = table.iter().any(|(n, _)| *n == name);
        let verdict = verdict(&scratch, &config);
        let expected = match (&verdict, listed) {
            (Ok(()), false) => true,
            (Err(e), true) if since > STRAIT_NGINX_VERSION => {
                e.contains(&format!("unknown directive \"{name}\""))
            }
            (Err(e), true) => e.contains(&format!("\"{name}\" directive is {REFUSAL}")),
            _ => false,
        };
        if !expected {
            faults.push(format!("{name} ({place:?}, listed: {listed}): {verdict:?}"));
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}
