//! strait-render: turns APISIX-style stream route objects into nginx stream configuration.
//!
//! The input is a routes document (`stream_routes`, `upstreams`, `ssls` in APISIX's
//! standalone layout, YAML or JSON) and an optional config document (APISIX's `config.yaml`).
//! [`render`] validates both with APISIX's rules ([`validate`]), decrypts keys ([`keys`]) and
//! renders `templates/*.tera` into a complete nginx configuration ([`Rendered`]); the way
//! APISIX's behaviour maps onto nginx directives is described in `layout.rs`.
//!
//! # The end flag
//!
//! APISIX's standalone mode loads a YAML routes file only when its last 10 bytes match
//! `#END\s*$` (else it logs `missing valid end flag in file PATH` and keeps what it has), so
//! that a file caught half-written is never served; a JSON file needs no flag (a half-written
//! one does not parse). [`render_paths`] takes the rule as [`EndFlag`]: `strait up`, which
//! watches the file, does not load such a file ([`RenderError::MissingEndFlag`]: at start it
//! exits, later the running routes stay); `strait render`, a one-shot command run on a file
//! the user has finished, renders it with [`Warning::MissingEndFlag`].
//!
//! # Differences from APISIX
//!
//! | case | APISIX 3.18 | strait render |
//! |---|---|---|
//! | an object with several faults | the schema check stops at the first | every fault of every object, each naming kind, id (or `#N`, the position, when the id is not usable) and field, in the validator's words (`read.rs`) |
//! | a value of neither form of `id` or `nodes` (`anyOf`) | `object matches none of the requireds` | the fault of the form the value's JSON type selects (`nodes[0].weight: property "weight" is required`, `id: expected 0 to be greater than 1`); that text for a value of neither type |
//! | several wildcard SNI routes | radix tree on the reversed SNI | longest suffix first, then document order |
//! | `type: ewma` | EWMA picker | `least_conn` (nginx has no EWMA) |
//! | node `priority` levels | priority balancer | highest level primary, the others `backup`; with `chash` all primary (nginx `hash` has no backup) |
//! | node `weight: 0` | never picked | `down` |
//! | node without a port | port from the scheme | rejected |
//! | `timeout.send` / `.read` | two socket timeouts | one `proxy_timeout`, the larger (nginx has one idle timeout) |
//! | `retries` | `retries` more tries | `proxy_next_upstream_tries retries+1`; unset: nginx's default, every peer once (as APISIX) |
//! | `tls.verify` | not verified at L4 (issue #12783) | `proxy_ssl_verify on` with `apisix.ssl.ssl_trusted_certificate` (an error when unset; `system` is not resolved); the name checked is the upstream SNI: the client's, `fallback_sni` for a TLS client without one, else `apisix_backend` |
//! | routes that differ in `proxy_ssl`, timeouts or tries (e.g. plain and TLS upstreams behind one listener) | set per connection from Lua | an internal server per route on a unix socket; when a TLS upstream needs the client's SNI there, the listening server reaches it over TLS (placeholder certificate) with that SNI: one more handshake, on the host |
//! | TLS listener, SNI without a server ssl object | handshake fails | the first server ssl object's certificate |
//! | session reuse to TLS upstreams | per certificate (C API) | off in the direct layout: nginx 1.22 resumes across client certificates |
//! | client certificate and key | parsed once, cached, never in variables | `data:` PEM in variables: nginx parses it per connection and its debug log prints variable values; the configuration is written 0600 |
//! | `chash` key | any nginx variable in the pattern | `remote_addr`, `server_addr`, `remote_port` (the stream variables among them) |
//! | ids differing only in case | distinct | rejected: nginx map keys and upstream names are caseless |
//! | `keepalive_pool`, `pass_host`, `upstream_host` | no effect at L4 | accepted, no effect |
//! | services, stream plugins, xRPC `protocol`, discovery, `checks`, ssl `certs`/`keys`/`client`/`ssl_protocols`, `$secret://`, UDP, `proxy_protocol_to_upstream` | supported | rejected with a fault naming the field |
//! | config document keys of other subsystems | used | not read (`stream_proxy` and `data_encryption` reject unknown keys) |
//! | no match when every route has a TLS upstream (direct layout) | `ngx.exit` in preread | the connection goes over TLS to an internal server with a placeholder certificate (as APISIX's `ssl_PLACE_HOLDER`) that returns nothing; if the client had sent data, nginx may log `[crit] SSL_shutdown() failed (... application data after close notify)` for that internal connection |
//! | PROXY protocol: listeners with `proxy_protocol`, chash behind the hop layout (the header carries the client's address to the internal servers) | – | rendered for nginx; strait's runtime does not take PROXY headers yet |
#![warn(missing_docs)]

pub mod config;
pub mod error;
pub mod keys;
mod layout;
pub mod model;
mod read;
pub mod validate;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use error::{Fault, Faults, ObjectKind, RenderError, Warning};

/// nginx refuses a token of this many bytes or more (`NGX_CONF_BUFFER`).
pub const TOKEN_LIMIT: usize = 4096;

/// The templates, compiled into the binary so that `strait render` needs no install tree.
const TEMPLATES: [(&str, &str); 3] = [
    ("nginx.conf.tera", include_str!("../../templates/nginx.conf.tera")),
    ("stream.tera", include_str!("../../templates/stream.tera")),
    ("proxy.tera", include_str!("../../templates/proxy.tera")),
];

/// Options of one render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Absolute directory for files the configuration refers to: PEM values too long to
    /// inline, and the unix sockets of internal servers.
    pub files_dir: PathBuf,
    /// Modules the configuration loads first (`load_module PATH;`): an nginx built with a
    /// dynamic stream module, as Debian's, needs
    /// `/usr/lib/nginx/modules/ngx_stream_module.so`. strait has stream built in and takes
    /// that line (and no other module).
    pub load_modules: Vec<String>,
}

impl RenderOptions {
    /// Options for files in `files_dir`, loading no module.
    pub fn new(files_dir: impl Into<PathBuf>) -> RenderOptions {
        RenderOptions { files_dir: files_dir.into(), load_modules: Vec::new() }
    }
}

/// A file the configuration refers to, relative to [`RenderOptions::files_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// File name.
    pub name: String,
    /// Contents (PEM).
    pub contents: String,
    /// Holds a private key: written with mode 0600.
    pub secret: bool,
}

/// A rendered configuration.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The nginx configuration text.
    pub config: String,
    /// Files it refers to.
    pub files: Vec<OutputFile>,
    /// The configuration text itself holds private keys (`data:` values).
    pub holds_keys: bool,
    /// What is rendered but behaves in a way the user may not expect, as in APISIX.
    pub warnings: Vec<Warning>,
    /// The main `error_log`, where the server reports a reload's outcome (`strait up`).
    pub error_log: MainErrorLog,
}

/// The main `error_log` line of a rendered configuration, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainErrorLog {
    /// `nginx_config.error_log`: a path relative to the prefix, an absolute one, `stderr`
    /// (APISIX's default `logs/error.log`).
    pub path: String,
    /// `nginx_config.error_log_level` (APISIX's default `warn`).
    pub level: String,
}

/// Parses a document: JSON when it starts with `{`, YAML otherwise (an empty text is `{}`).
///
/// `what` names the document in messages (`routes document routes.yaml`). A standalone file's
/// closing `#END` line is a YAML comment; whether it is there is [`has_end_flag`]'s question.
pub fn parse_document(text: &str, what: &str) -> Result<Value, RenderError> {
    if is_json(text) {
        return serde_json::from_str(text).map_err(|e| RenderError::Syntax {
            what: what.to_owned(),
            format: "JSON",
            message: e.to_string(),
        });
    }
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| RenderError::Syntax {
        what: what.to_owned(),
        format: "YAML",
        message: e.to_string(),
    })?;
    Ok(if value.is_null() { Value::Object(Default::default()) } else { value })
}

/// Whether a document is read as JSON: it starts with `{`.
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Whether a YAML routes file ends with APISIX's end flag: its last 10 bytes (all of it when
/// shorter) match `#END\s*$`. APISIX's standalone mode does not load a YAML file without
/// it, so a file caught half-written is never picked up; a JSON file needs none.
pub fn has_end_flag(text: &str) -> bool {
    let bytes = text.as_bytes();
    let tail = &bytes[bytes.len().saturating_sub(10)..];
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    (0..tail.len()).any(|i| tail[i..].starts_with(b"#END") && tail[i + 4..].iter().all(is_space))
}

/// Reads and parses a document file.
pub fn load_document(path: &Path, what: &str) -> Result<Value, RenderError> {
    let text = read_text(path)?;
    parse_document(&text, &format!("{what} {}", path.display()))
}

fn read_text(path: &Path) -> Result<String, RenderError> {
    std::fs::read_to_string(path)
        .map_err(|source| RenderError::Read { path: path.to_owned(), source })
}

/// What happens to a YAML routes file without APISIX's end flag ([`has_end_flag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndFlag {
    /// It is not loaded, as in APISIX: [`RenderError::MissingEndFlag`] (`strait up`, which
    /// watches the file while it may be being written).
    Required,
    /// It is rendered with [`Warning::MissingEndFlag`] (`strait render`, a one-shot command
    /// the user runs on a file they have finished).
    Warn,
}

/// Reads the documents (an absent config is the empty document: defaults) and renders them.
pub fn render_paths(
    routes: &Path,
    config: Option<&Path>,
    end_flag: EndFlag,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    // The routes file, with APISIX's end flag rule for YAML.
    let text = read_text(routes)?;
    let missing_end_flag = !is_json(&text) && !has_end_flag(&text);
    if missing_end_flag && end_flag == EndFlag::Required {
        return Err(RenderError::MissingEndFlag { path: routes.to_owned() });
    }
    let routes_doc = parse_document(&text, &format!("routes document {}", routes.display()))?;

    // The config document, then the render.
    let config = match config {
        Some(path) => load_document(path, "config document")?,
        None => Value::Object(Default::default()),
    };
    let mut rendered = render(&routes_doc, &config, options)?;
    if missing_end_flag {
        rendered.warnings.insert(0, Warning::MissingEndFlag { path: routes.to_owned() });
    }
    Ok(rendered)
}

/// Validates the documents and renders the configuration.
pub fn render(
    routes: &Value,
    config: &Value,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    // Validation: every fault of both documents at once.
    let (checked, config_doc) =
        validate::check(routes, config).map_err(|faults| RenderError::Invalid(Faults(faults)))?;

    // Main-context values with APISIX's defaults.
    let nginx = &config_doc.nginx_config;
    let worker_processes = match &nginx.worker_processes {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "auto".to_owned(),
    };
    let error_log = MainErrorLog {
        path: nginx.error_log.clone().unwrap_or_else(|| "logs/error.log".into()),
        level: nginx.error_log_level.clone().unwrap_or_else(|| "warn".into()),
    };
    let main = layout::Main {
        load_modules: options.load_modules.iter().map(|m| layout::token(m)).collect(),
        user: nginx.user.clone(),
        worker_processes,
        error_log: format!("{} {}", error_log.path, error_log.level),
        pid: "logs/nginx.pid".to_owned(),
        worker_connections: nginx.event.worker_connections.unwrap_or(10620),
    };
    let stream = &nginx.stream;
    let access_log = stream.enable_access_log.unwrap_or(false).then(|| layout::AccessLog {
        path: stream.access_log.clone().unwrap_or_else(|| "logs/access_stream.log".into()),
        format: layout::quote(stream.access_log_format.as_deref().unwrap_or(
            "$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received \
             $session_time",
        )),
        escape: stream.access_log_format_escape.clone().unwrap_or_else(|| "default".into()),
    });

    // Unix sockets of internal servers must fit in `sun_path` (108 bytes with its NUL).
    let dir_len = options.files_dir.as_os_str().len();
    let longest_name = checked
        .routes
        .iter()
        .map(|r| format!("/strait-route-{}.sock", r.id).len())
        .chain(std::iter::once("/strait-no-route.sock".len()))
        .max()
        .unwrap_or(0);
    if !options.files_dir.is_absolute() || dir_len + longest_name >= 108 {
        return Err(RenderError::Invalid(Faults(vec![Fault::new(
            ObjectKind::Config,
            "",
            "files directory",
            format!(
                "{} must be absolute and short enough for the unix socket paths of \
                 internal servers (108 bytes)",
                options.files_dir.display()
            ),
        )])));
    }

    // Layout and templates.
    let laid = layout::lay_out(&checked, main, access_log, &options.files_dir);
    let config = render_templates(&laid.context)?;
    let (files, holds_keys, warnings) = (laid.files, laid.holds_keys, laid.warnings);
    Ok(Rendered { config, files, holds_keys, warnings, error_log })
}

/// Runs the parser's checks (what `strait -t` checks) on a rendered configuration, read as
/// if it were the file `path` (includes and relative paths resolve from its directory).
pub fn check_config(config: &str, path: &Path) -> Result<(), RenderError> {
    let options = strait_parser::ParseOptions::default();
    let failed =
        |error: strait_parser::ParseError| RenderError::Check { message: error.to_string() };
    let parsed = strait_parser::parse_bytes(config.as_bytes(), path, &options).map_err(failed)?;
    let check_options = strait_parser::check::CheckOptions {
        conf_prefix: path.parent().map(Path::to_path_buf).unwrap_or_else(|| "/".into()),
        ..Default::default()
    };
    strait_parser::check::check(&parsed, &check_options).map_err(failed)?;
    Ok(())
}

/// Runs tera over the context.
fn render_templates(context: &layout::Context) -> Result<String, RenderError> {
    let template_error = |name: &str, err: tera::Error| {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        RenderError::Template { name: name.to_owned(), message }
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::new());
    tera.add_raw_templates(TEMPLATES).map_err(|e| template_error("templates", e))?;
    let ctx = tera::Context::from_serialize(context).map_err(|e| template_error("context", e))?;
    tera.render("nginx.conf.tera", &ctx).map_err(|e| template_error("nginx.conf.tera", e))
}

impl Rendered {
    /// Writes the configuration to `path` and the files into `files_dir`; key-holding files
    /// (and the configuration when it holds keys) get mode 0600.
    pub fn write(&self, path: &Path, files_dir: &Path) -> Result<(), RenderError> {
        self.write_files(files_dir)?;
        write_file(path, &self.config, self.holds_keys)
    }

    /// Writes only the files the configuration refers to (for a configuration printed).
    pub fn write_files(&self, files_dir: &Path) -> Result<(), RenderError> {
        for file in &self.files {
            write_file(&files_dir.join(&file.name), &file.contents, file.secret)?;
        }
        Ok(())
    }
}

/// Writes one file with its mode from the start (never briefly readable by others), through
/// a temporary name and a rename, so a server reading it never sees half a file. A missing
/// directory is made.
fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), RenderError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let err = |source| RenderError::Write { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mode = if secret { 0o600 } else { 0o644 };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".strait-{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)
        .map_err(err)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(err)?;
    file.write_all(contents.as_bytes()).map_err(err)?;
    std::fs::rename(&temporary, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// APISIX's rule: `#END\s*$` in the last 10 bytes (`f:seek('end', -10)`; the whole
    /// file when it is shorter).
    #[test]
    fn the_end_flag_is_looked_for_in_the_last_10_bytes() {
        for text in ["a: 1\n#END", "a: 1\n#END\n", "#END", "a: 1 #END\n", "x\n#END \t\r\n\n"] {
            assert!(has_end_flag(text), "{text:?}");
        }
        for text in ["a: 1\n", "", "#END\n\n\n\n\n\n\n", "#ENDX\n", "# END\n", "#end\n"] {
            assert!(!has_end_flag(text), "{text:?}");
        }
    }

    /// APISIX lower-cases the client's SNI and compares the route's as written: a route
    /// whose SNI has upper-case letters never matches, so it is not in the chain of maps.
    #[test]
    fn a_route_sni_with_upper_case_letters_never_matches() {
        let routes = serde_json::json!({
            "upstreams": [{"id": "u", "nodes": {"127.0.0.1:1995": 1}}],
            "stream_routes": [
                {"id": "upper", "sni": "A.Test.COM", "upstream_id": "u"},
                {"id": "wild", "sni": "*.Test.com", "upstream_id": "u"},
                {"id": "lower", "sni": "a.test.com", "upstream_id": "u"},
            ],
        });
        let options = RenderOptions::new("/run/strait");
        let rendered = render(&routes, &Value::Object(Default::default()), &options).unwrap();
        let never = |route: &str, sni: &str| Warning::SniNeverMatches {
            route: route.into(),
            sni: sni.into(),
        };
        assert_eq!(rendered.warnings, [never("upper", "A.Test.COM"), never("wild", "*.Test.com")]);
        let config = &rendered.config;
        assert!(config.contains("# route \"upper\": never matches: APISIX compares sni A.Test.COM"));
        assert!(config.contains("    map $strait_sni $strait_match_1 {\n        \"a.test.com\""));
        assert!(!config.contains("\"route_upper\"") && !config.contains("\"route_wild\""));
        assert!(!config.contains("$strait_match_2"), "one route in the chain: {config}");
    }

    #[test]
    fn a_yaml_file_without_the_end_flag_is_refused_or_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let options = RenderOptions::new(dir.path());
        let yaml = dir.path().join("routes.yaml");
        std::fs::write(&yaml, "stream_routes: []\n").unwrap();
        let err = render_paths(&yaml, None, EndFlag::Required, &options).unwrap_err();
        assert!(matches!(err, RenderError::MissingEndFlag { .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with(&format!("missing valid end flag in file {}", yaml.display())));
        let rendered = render_paths(&yaml, None, EndFlag::Warn, &options).unwrap();
        assert_eq!(rendered.warnings, [Warning::MissingEndFlag { path: yaml.clone() }]);

        // With the flag, and JSON (which needs none): no warning.
        std::fs::write(&yaml, "stream_routes: []\n#END\n").unwrap();
        assert!(render_paths(&yaml, None, EndFlag::Required, &options)
            .unwrap()
            .warnings
            .is_empty());
        let json = dir.path().join("routes.json");
        std::fs::write(&json, "{\"stream_routes\": []}\n").unwrap();
        assert!(render_paths(&json, None, EndFlag::Required, &options)
            .unwrap()
            .warnings
            .is_empty());
    }
}
