//! Serving: loading the configuration into a runtime plan and running it (no `-t`), and the
//! `-v`/`-V` version lines nginx's test harness reads.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use strait_parser::check::{check_outcome, CheckOptions};
use strait_runtime::log::{ErrorLog, Level, LogFile};
use strait_runtime::plan::{LogPath, Paths};
use strait_runtime::server::{LoadError, Loader};
use strait_runtime::ConfigError;
use strait_runtime::Plan;

/// What serving needs from the command line.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    /// `-p`: the prefix (absolute, with or without a trailing `/`).
    pub(crate) prefix: PathBuf,
    /// `-c`: the configuration file (relative paths resolve against the prefix).
    pub(crate) conf: PathBuf,
    /// `-e`: the early error log (`stderr`, or a path relative to the prefix).
    pub(crate) error_log: Option<String>,
    /// `-g`: extra main-context directives.
    pub(crate) globals: Vec<u8>,
}

impl ServeOptions {
    /// The configuration file made absolute against the prefix.
    pub(crate) fn conf_path(&self) -> PathBuf {
        if self.conf.is_absolute() {
            self.conf.clone()
        } else {
            self.prefix.join(&self.conf)
        }
    }

    /// The paths the runtime resolves against.
    pub(crate) fn paths(&self) -> Paths {
        let conf = self.conf_path();
        let default_error_log = match self.error_log.as_deref() {
            Some("stderr") => LogPath::Stderr,
            Some(path) => LogPath::File(absolute(&self.prefix, Path::new(path))),
            // No -e: stderr, nginx's error log path as Debian builds it
            // (`--error-log-path=stderr`), the same for `-t` and for serving.
            None => LogPath::Stderr,
        };
        Paths {
            prefix: self.prefix.clone(),
            conf_prefix: conf.parent().map(Path::to_path_buf).unwrap_or_default(),
            default_error_log,
        }
    }

    /// The loader the runtime calls at start and on every reload: parse, compile.
    pub(crate) fn loader(&self) -> Loader {
        self.loader_with(Plan::compile)
    }

    /// A loader compiling with `compile` (`Plan::compile_for_signal` for `-s`).
    pub(crate) fn loader_with(
        &self,
        compile: fn(&strait_parser::Config, &Paths) -> Result<Plan, ConfigError>,
    ) -> Loader {
        let conf = self.conf_path();
        let paths = self.paths();
        let options = strait_parser::ParseOptions { globals: self.globals.clone() };
        let check_options = CheckOptions {
            conf_prefix: paths.conf_prefix.clone(),
            prefix: paths.prefix.clone(),
            ..CheckOptions::default()
        };
        Arc::new(move || {
            // Parse and check as `nginx -t` does, then compile the plan.
            let fault = |e: &strait_parser::ParseError| {
                LoadError::Parse(String::from_utf8_lossy(&e.to_bytes()).into_owned())
            };
            let outcome = strait_parser::parse_file_partial(&conf, &options);
            check_outcome(&outcome, &check_options).map_err(|e| fault(&e))?;
            Ok(compile(&outcome.config, &paths)?)
        })
    }

    /// The early error log: stderr for `-e stderr`, else the `-e` file (always created, as
    /// nginx creates it before reading the configuration).
    pub(crate) fn early_log(&self) -> ErrorLog {
        use strait_runtime::log::error::{Sink, Target};
        match self.paths().default_error_log {
            LogPath::Stderr => ErrorLog::stderr(Level::Notice),
            LogPath::File(path) => match LogFile::open(&path) {
                Ok(file) => {
                    ErrorLog::new(vec![Target { sink: Sink::File(file), level: Level::Notice }])
                }
                Err(_) => ErrorLog::default(),
            },
        }
    }
}

fn absolute(prefix: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        prefix.join(path)
    }
}

/// Reports a startup fault as nginx does: `nginx: [emerg] MESSAGE` on stderr and the same
/// message as a line of the error log.
pub(crate) fn report(log: &ErrorLog, level: Level, message: &str) {
    log.write_startup(level, message);
}

/// Runs the server; returns when it stops (QUIT, TERM, INT) or fails to start.
pub(crate) fn run(options: &ServeOptions) -> ExitCode {
    let early = options.early_log();
    let loader = options.loader();
    let plan = match loader() {
        Ok(plan) => plan,
        Err(e) => {
            report(&early, Level::Emerg, &e.to_string());
            return ExitCode::FAILURE;
        }
    };
    let log = plan.main.error_log.clone();
    match strait_runtime::server::serve(plan, loader) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&log, e.level(), &e.to_string());
            ExitCode::FAILURE
        }
    }
}

/// The version line: the nginx version strait claims (`STRAIT_NGINX_VERSION`, the one the
/// parser's directive table follows; new enough for nginx-tests' version gates, reference
/// §10.2), with strait named on the same line.
pub(crate) fn version_line() -> String {
    format!("nginx version: {}", strait_runtime::server::version_build())
}

/// `-v` / `-V` on stderr. `-V` adds the build lines nginx-tests' `has_module` reads: the
/// stream modules strait implements are `--with-...`, the others `--without-...`.
pub(crate) fn version(verbose: bool) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", version_line());
    if !verbose {
        return;
    }
    let openssl = openssl_version();
    let _ = writeln!(err, "{}", strait_runtime::server::built_by());
    let _ = writeln!(err, "built with {openssl}");
    let _ = writeln!(err, "TLS SNI support enabled");
    let _ = writeln!(
        err,
        "configure arguments: --with-stream --with-stream_ssl_module \
         --with-stream_ssl_preread_module --without-http --without-mail_pop3_module \
         --without-mail_imap_module --without-mail_smtp_module \
         --without-stream_pass_module --without-stream_geoip_module \
         --without-stream_upstream_zone_module --error-log-path=stderr"
    );
}

fn openssl_version() -> String {
    // `OpenSSL 3.0.19 27 Jan 2026`, as OpenSSL words it.
    openssl::version::version().to_string()
}
