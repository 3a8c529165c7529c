//! The runtime plan: the configuration tree compiled once into what sessions need —
//! main settings, listeners, servers with their phase handlers, upstream groups, variables.

use crate::conf::{
    expanded, parse_number, parse_size, parse_time, text, ConfigError, DirectiveExt,
};
use crate::listen::{ListenAddr, ListenSpec};
use crate::log::access::{AccessLog, LogFormat};
use crate::log::error::{Sink, Target};
use crate::log::memory::MemoryLog;
use crate::log::{ErrorLog, Level, LogFiles};
use crate::proxy::UpstreamTls;
use crate::session::ClientAddr;
use crate::upstream::UpstreamGroup;
use crate::variables::{Complex, VarIndex, VarSource, Variables};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use strait_parser::ast::{Config, Directive};
use strait_parser::check::CycleStep;

/// Where relative paths resolve (reference §1.5) and what the command line set.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `-p`: pid, logs and access logs resolve against it.
    pub prefix: PathBuf,
    /// The directory of the main configuration file: includes and certificates.
    pub conf_prefix: PathBuf,
    /// The error log used when the configuration sets none (`-e`, or stderr).
    pub default_error_log: LogPath,
}

/// An error log destination as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogPath {
    /// `stderr`
    Stderr,
    /// A file path, absolute.
    File(PathBuf),
}

impl Paths {
    /// `path` made absolute against the prefix.
    pub fn prefixed(&self, path: &[u8]) -> PathBuf {
        let path = PathBuf::from(text(path));
        if path.is_absolute() {
            path
        } else {
            self.prefix.join(path)
        }
    }
}

/// Main-context settings.
#[derive(Debug, Clone)]
pub struct MainConf {
    /// `daemon` (default on).
    pub daemon: bool,
    /// `worker_processes`: the number of worker threads.
    pub worker_processes: usize,
    /// `worker_connections` (per worker, as nginx counts them).
    pub worker_connections: usize,
    /// `pid` file path.
    pub pid: PathBuf,
    /// The main error log.
    pub error_log: ErrorLog,
    /// `env` directives: variables to keep, or to set.
    pub env: Vec<(String, Option<String>)>,
    /// `worker_rlimit_nofile`.
    pub rlimit_nofile: Option<u64>,
    /// `worker_rlimit_core`: the size of a core file, in bytes.
    pub rlimit_core: Option<u64>,
    /// `worker_shutdown_timeout`: how long QUIT waits for sessions before closing them.
    pub shutdown_timeout: Option<Duration>,
    /// `working_directory`.
    pub working_directory: Option<PathBuf>,
    /// `accept_mutex_delay`: how long accepting rests when no descriptor is left (500 ms).
    pub accept_mutex_delay: Duration,
}

/// A `proxy_bind` setting.
#[derive(Debug, Clone, Default)]
pub enum ProxyBind {
    /// `proxy_bind off` or unset.
    #[default]
    Off,
    /// `proxy_bind ADDR [transparent]`.
    Addr {
        /// The local address (may hold variables).
        value: Complex,
        /// `transparent`
        transparent: bool,
    },
}

/// What `proxy_pass` names.
#[derive(Debug, Clone)]
pub enum ProxyPass {
    /// A group known at load: an `upstream {}` block or the implicit group of an address.
    Group(Arc<UpstreamGroup>),
    /// A value with variables, resolved per session.
    Value(Complex),
}

/// The proxy module's settings for one server.
#[derive(Debug, Clone)]
pub struct ProxyConf {
    /// The target.
    pub pass: ProxyPass,
    /// `proxy_connect_timeout` (60s).
    pub connect_timeout: Duration,
    /// `proxy_timeout` (10m).
    pub timeout: Duration,
    /// `proxy_next_upstream` (on).
    pub next_upstream: bool,
    /// `proxy_next_upstream_tries` (0: unlimited).
    pub next_upstream_tries: usize,
    /// `proxy_next_upstream_timeout` (unset: unlimited).
    pub next_upstream_timeout: Option<Duration>,
    /// `proxy_buffer_size` (16k).
    pub buffer_size: usize,
    /// `proxy_half_close` (off).
    pub half_close: bool,
    /// `proxy_bind`.
    pub bind: ProxyBind,
    /// `proxy_socket_keepalive` (off).
    pub socket_keepalive: bool,
    /// `proxy_upload_rate` (unset: unlimited).
    pub upload_rate: Option<Complex>,
    /// `proxy_download_rate`.
    pub download_rate: Option<Complex>,
    /// The `resolver`, when configured.
    pub resolver: Option<crate::resolver::Resolver>,
    /// `resolver_timeout` (30s).
    pub resolver_timeout: Duration,
    /// The upstream TLS step, when `proxy_ssl on`.
    pub tls: Option<Arc<dyn UpstreamTls>>,
    /// `proxy_protocol` (off): send a PROXY v1 header after connecting (crate::proxy_protocol).
    pub proxy_protocol: bool,
}

/// The content handler of a server.
#[derive(Debug, Clone)]
pub enum Content {
    /// `return VALUE`.
    Return(Complex),
    /// `proxy_pass`.
    Proxy(Box<ProxyConf>),
}

/// One `allow`/`deny` rule.
#[derive(Debug, Clone)]
pub struct AccessRule {
    /// `allow` (true) or `deny`.
    pub allow: bool,
    /// What it matches.
    pub target: AccessTarget,
}

/// What an access rule matches.
#[derive(Debug, Clone)]
pub enum AccessTarget {
    /// `all`
    All,
    /// An address or CIDR, as `ngx_ptocidr` reads it.
    Net(strait_parser::values::Cidr),
    /// `unix:`
    Unix,
}

impl AccessRule {
    /// Whether the rule applies to `client`.
    pub fn matches(&self, client: &ClientAddr) -> bool {
        match (&self.target, client) {
            (AccessTarget::All, _) => true,
            (AccessTarget::Unix, ClientAddr::Unix) => true,
            (AccessTarget::Net(net), ClientAddr::Inet(addr)) => {
                let ip = match addr.ip() {
                    std::net::IpAddr::V6(v6) => {
                        v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(addr.ip())
                    }
                    ip => ip,
                };
                net.contains(ip)
            }
            _ => false,
        }
    }
}

/// One `server {}` block, compiled.
#[derive(Debug)]
pub struct ServerConf {
    /// Its `listen` directives.
    pub listens: Vec<ListenSpec>,
    /// The content phase handler.
    pub content: Content,
    /// `set` assignments, run in the preaccess phase.
    pub sets: Vec<(VarIndex, Complex)>,
    /// `allow`/`deny` rules, run in the access phase.
    pub access: Vec<AccessRule>,
    /// `tcp_nodelay` (on).
    pub tcp_nodelay: bool,
    /// `preread_buffer_size` (16k).
    pub preread_buffer_size: usize,
    /// `preread_timeout` (30s).
    pub preread_timeout: Duration,
    /// The error log of this server.
    pub error_log: ErrorLog,
    /// `access_log` directives in effect.
    pub access_logs: Vec<Arc<AccessLog>>,
    /// TLS termination for its `listen ... ssl` addresses (crate::tls).
    pub ssl: Option<Arc<crate::tls::phase::ServerSsl>>,
    /// `ssl_preread on`.
    pub ssl_preread: bool,
    /// `proxy_protocol_timeout` (30s), for `listen ... proxy_protocol` addresses.
    pub proxy_protocol_timeout: Duration,
    /// `set_real_ip_from` addresses, trusted in the post-accept phase (crate::realip).
    pub realip_from: Vec<AccessRule>,
    /// `limit_conn` limits, checked in the preaccess phase (crate::limit_conn).
    pub limit_conn: crate::limit_conn::LimitConn,
}

/// A listening socket and the servers reached through it.
#[derive(Debug, Clone)]
pub struct Listener {
    /// The socket to open.
    pub spec: ListenSpec,
    /// The socket's address text.
    text: Arc<str>,
    /// The servers behind it: the exact address (`None` for the socket's own address) with
    /// the server and the `server: ...` text.
    pub servers: Vec<(Option<SocketAddr>, Arc<ServerConf>, Arc<str>)>,
}

impl Listener {
    /// The socket's own address text (`server: ...` in session log lines).
    pub fn text(&self) -> Arc<str> {
        self.text.clone()
    }

    /// The server for a connection that arrived at `local`, as nginx picks it when a
    /// wildcard socket also serves specific addresses.
    pub fn server_for(&self, local: Option<SocketAddr>) -> (&Arc<ServerConf>, &Arc<str>) {
        let exact = self.servers.iter().find(|(addr, _, _)| addr.is_some() && *addr == local);
        let (_, server, text) = exact
            .or_else(|| self.servers.iter().find(|(addr, _, _)| addr.is_none()))
            .unwrap_or(&self.servers[0]);
        (server, text)
    }
}

/// A compiled configuration.
#[derive(Debug)]
pub struct Plan {
    /// Main-context settings.
    pub main: MainConf,
    /// The sockets to open.
    pub listeners: Vec<Listener>,
    /// The upstream blocks by lower-cased name (nginx finds them ignoring case).
    pub upstreams: HashMap<String, Arc<UpstreamGroup>>,
    /// The variable table.
    pub variables: Variables,
    /// `map` blocks, by the index their variables refer to.
    pub maps: Vec<crate::blocks::MapBlock>,
    /// `geo` blocks.
    pub geos: Vec<crate::blocks::GeoBlock>,
    /// `split_clients` blocks.
    pub split_clients: Vec<crate::blocks::SplitClientsBlock>,
    /// Every log file the configuration opened (reopened on USR1).
    pub log_files: Arc<LogFiles>,
}

impl Plan {
    /// The upstream block named `name`, in any case.
    pub fn upstream(&self, name: &str) -> Option<Arc<UpstreamGroup>> {
        self.upstreams.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Compiles a parsed configuration.
    pub fn compile(config: &Config, paths: &Paths) -> Result<Plan, ConfigError> {
        Compiler::new(config, paths).run()
    }

    /// Compiles a parsed configuration as `nginx -t` tests it: [`Plan::compile`], and the
    /// pid file the configuration names is created empty (or opened, when there is one), as
    /// nginx's test does.
    pub fn compile_for_test(config: &Config, paths: &Paths) -> Result<Plan, ConfigError> {
        Compiler { test: true, ..Compiler::new(config, paths) }.run()
    }

    /// Compiles a parsed configuration as nginx's signaller (`-s`) reads it, only to find the
    /// pid file: [`Plan::compile`] without opening (or creating) any log file.
    pub fn compile_for_signal(config: &Config, paths: &Paths) -> Result<Plan, ConfigError> {
        let log_files = Arc::new(LogFiles::unopened());
        Compiler { log_files, ..Compiler::new(config, paths) }.run()
    }
}

/// Settings that a `server {}` inherits from `stream {}`.
#[derive(Debug, Clone, Default)]
struct Inherited {
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    next_upstream: Option<bool>,
    next_upstream_tries: Option<usize>,
    next_upstream_timeout: Option<Duration>,
    buffer_size: Option<usize>,
    half_close: Option<bool>,
    bind: Option<ProxyBind>,
    socket_keepalive: Option<bool>,
    upload_rate: Option<Complex>,
    download_rate: Option<Complex>,
    tcp_nodelay: Option<bool>,
    preread_buffer_size: Option<usize>,
    preread_timeout: Option<Duration>,
    resolver: Option<crate::resolver::Resolver>,
    resolver_timeout: Option<Duration>,
    error_log: Vec<Target>,
    access_log: Option<Vec<Arc<AccessLog>>>,
    access: Vec<AccessRule>,
    /// `proxy_ssl*`, `ssl_*` and `ssl_preread` (crate::tls::directives).
    tls: crate::tls::directives::TlsDirectives,
    proxy_protocol: Option<bool>,
    proxy_protocol_timeout: Option<Duration>,
    realip_from: Vec<AccessRule>,
    limits: Option<Vec<crate::limit_conn::Limit>>,
    limit_conn_log_level: Option<Level>,
    limit_conn_dry_run: Option<bool>,
}

fn set_once<T>(slot: &mut Option<T>, d: &Directive, value: T) -> Result<(), ConfigError> {
    if slot.is_some() {
        return Err(d.directive_error("is duplicate"));
    }
    *slot = Some(value);
    Ok(())
}

struct Compiler<'a> {
    config: &'a Config,
    paths: &'a Paths,
    vars: Variables,
    log_files: Arc<LogFiles>,
    formats: HashMap<Vec<u8>, Arc<LogFormat>>,
    upstreams: HashMap<String, Arc<UpstreamGroup>>,
    maps: Vec<crate::blocks::MapBlock>,
    geos: Vec<crate::blocks::GeoBlock>,
    split_clients: Vec<crate::blocks::SplitClientsBlock>,
    /// Connectors, server contexts and certificate caches (crate::tls).
    tls: crate::tls::directives::TlsBuilder,
    /// `limit_conn_zone` zones.
    zones: Vec<Arc<crate::limit_conn::Zone>>,
    /// Compiling for `nginx -t` (the configured pid file is created).
    test: bool,
}

impl<'a> Compiler<'a> {
    fn new(config: &'a Config, paths: &'a Paths) -> Compiler<'a> {
        Compiler {
            config,
            paths,
            vars: Variables::default(),
            log_files: Arc::new(LogFiles::default()),
            formats: HashMap::new(),
            upstreams: HashMap::new(),
            maps: Vec::new(),
            geos: Vec::new(),
            split_clients: Vec::new(),
            tls: crate::tls::directives::TlsBuilder::new(&paths.conf_prefix),
            zones: Vec::new(),
            test: false,
        }
    }

    fn run(mut self) -> Result<Plan, ConfigError> {
        let config = self.config;
        let mut main_directives: Vec<&Directive> = Vec::new();
        if let Some(file) = config.files.first() {
            main_directives.extend(expanded(&file.block, config));
        }
        main_directives.extend(expanded(&config.globals, config));

        // Main context.
        let mut daemon = None;
        let mut workers = None;
        let mut worker_connections = None;
        let mut accept_mutex_delay = None;
        let mut pid = None;
        let mut error_targets = Vec::new();
        let mut env = Vec::new();
        let mut rlimit_nofile = None;
        let mut rlimit_core = None;
        let mut shutdown_timeout = None;
        let mut working_directory = None;
        let mut stream = None;
        for d in &main_directives {
            match d.name.value.as_slice() {
                b"daemon" => set_once(&mut daemon, d, d.flag()?)?,
                b"worker_processes" => {
                    let v = &d.one_arg()?.value;
                    let n = if v == b"auto" {
                        std::thread::available_parallelism().map_or(1, |n| n.get())
                    } else {
                        // 0 is accepted as nginx does (see README: differences).
                        parse_number(v).ok_or_else(|| d.invalid_value(&d.args[0]))?
                    };
                    set_once(&mut workers, d, n)?;
                }
                b"pid" => set_once(&mut pid, d, self.paths.prefixed(&d.one_arg()?.value))?,
                b"error_log" => error_targets.push(self.error_log_target(d)?),
                b"env" => {
                    let v = text(&d.one_arg()?.value);
                    env.push(match v.split_once('=') {
                        Some((name, value)) => (name.to_string(), Some(value.to_string())),
                        None => (v, None),
                    });
                }
                b"events" => {
                    let block = d
                        .block
                        .as_ref()
                        .ok_or_else(|| d.error("directive \"events\" has no opening \"{\""))?;
                    for e in expanded(block, config) {
                        match e.name.value.as_slice() {
                            b"worker_connections" => {
                                let v = &e.one_arg()?.value;
                                let n =
                                    parse_number(v).ok_or_else(|| e.invalid_value(&e.args[0]))?;
                                set_once(&mut worker_connections, e, n)?;
                            }
                            b"accept_mutex_delay" => {
                                let v = &e.one_arg()?.value;
                                let t = parse_time(v, true)
                                    .ok_or_else(|| e.invalid_value(&e.args[0]))?;
                                set_once(&mut accept_mutex_delay, e, t)?;
                            }
                            // Event-loop tuning of nginx: tokio has its own loop, nothing to tune.
                            b"use" | b"multi_accept" | b"accept_mutex" => {}
                            _ => return Err(unsupported(e)),
                        }
                    }
                }
                b"stream" => {
                    if stream.is_some() {
                        return Err(d.directive_error("is duplicate"));
                    }
                    stream = Some(*d);
                }
                // strait serves stream only; http and mail are read and skipped, but their
                // log files are opened, as nginx opens them.
                b"http" | b"mail" => self.open_unserved_logs(d),
                // The stream module is built in; other modules' directives are checked when used.
                b"load_module" => {}
                // `user`: strait is one process and keeps its identity (README, differences).
                b"user" => {}
                b"worker_rlimit_nofile" => {
                    let v = &d.one_arg()?.value;
                    let n = parse_number(v).ok_or_else(|| d.invalid_value(&d.args[0]))?;
                    set_once(&mut rlimit_nofile, d, n as u64)?;
                }
                b"worker_rlimit_core" => {
                    let v = &d.one_arg()?.value;
                    let size = strait_parser::values::parse_offset(v)
                        .ok_or_else(|| d.invalid_value(&d.args[0]))?;
                    set_once(&mut rlimit_core, d, size)?;
                }
                b"worker_shutdown_timeout" => {
                    let v = &d.one_arg()?.value;
                    let t = parse_time(v, true).ok_or_else(|| d.invalid_value(&d.args[0]))?;
                    set_once(&mut shutdown_timeout, d, t)?;
                }
                b"working_directory" => {
                    let dir = PathBuf::from(text(&d.one_arg()?.value));
                    set_once(&mut working_directory, d, dir)?;
                }
                // Process tuning with no counterpart in one tokio process (README: differences):
                // PCRE JIT is used whenever available; there is no accept mutex to lock; the
                // process is its own master; priority and CPU affinity are left to the system.
                b"pcre_jit"
                | b"timer_resolution"
                | b"worker_priority"
                | b"worker_cpu_affinity"
                | b"lock_file"
                | b"master_process" => {}
                _ => return Err(unsupported(d)),
            }
        }
        // The main error log; without a file among its targets (none, or only syslog and
        // memory ones), nginx adds the default one at `error`.
        if !error_targets.iter().any(|target| target.sink.is_file()) {
            let sink = match &self.paths.default_error_log {
                LogPath::Stderr => Sink::Stderr,
                LogPath::File(path) => Sink::File(self.open_log(path)),
            };
            error_targets.push(Target { sink, level: Level::Error });
        }
        let main_log = ErrorLog::new(error_targets.clone());
        // A test tries the pid file the configuration names; strait's default one
        // (PREFIX/logs/nginx.pid, where Debian's nginx has /run/nginx.pid) is not tried, so
        // that `-t` gives nginx's verdict where the prefix has no logs/ (README).
        let tested_pid = pid.clone().filter(|_| self.test);
        let main = MainConf {
            daemon: daemon.unwrap_or(true),
            worker_processes: workers.unwrap_or(1),
            worker_connections: worker_connections.unwrap_or(512),
            pid: pid.unwrap_or_else(|| self.paths.prefix.join("logs/nginx.pid")),
            error_log: main_log.clone(),
            env,
            rlimit_nofile,
            rlimit_core,
            shutdown_timeout,
            working_directory,
            accept_mutex_delay: accept_mutex_delay.unwrap_or(Duration::from_millis(500)),
        };

        // The stream block.
        let mut listeners = Vec::new();
        if let Some(stream) = stream {
            listeners = self.stream(stream, &main_log)?;
        }

        // After the configuration was read (nginx prints `syntax is ok` first), in nginx's
        // order and without a place: the events module's check that each listening socket
        // leaves a connection to serve with, the pid file of a test, then the log files'
        // open() failures.
        if main.worker_connections <= listeners.len() {
            return Err(ConfigError::cycle(
                CycleStep::InitConf,
                format!(
                    "{} worker_connections are not enough for {} listening sockets",
                    main.worker_connections,
                    listeners.len()
                ),
            ));
        }
        if let Some(path) = &tested_pid {
            test_pid_file(path)?;
        }
        if let Some(message) = self.log_files.first_failure() {
            return Err(ConfigError::cycle(CycleStep::OpenFiles, message));
        }
        self.log_files.report_to(&main.error_log);
        Ok(Plan {
            main,
            listeners,
            upstreams: self.upstreams,
            variables: self.vars,
            maps: self.maps,
            geos: self.geos,
            split_clients: self.split_clients,
            log_files: self.log_files,
        })
    }

    /// The log file at `path`; a failure to open it is reported after the whole configuration
    /// was read, as nginx opens its files then (`LogFiles::first_failure`).
    fn open_log(&self, path: &Path) -> Arc<crate::log::LogFile> {
        self.log_files.get(path)
    }

    /// Opens the files the `error_log` and `access_log` directives of an http or mail block
    /// name (at any depth), as nginx opens them once the configuration is read, so that a
    /// file that cannot be opened fails as it does with nginx. Nothing is written to them.
    /// Not opened, as in nginx: `stderr`, `syslog:` and `memory:` logs, `access_log off` and
    /// paths with variables (opened per request); nor the default access log of a level
    /// without `access_log`.
    fn open_unserved_logs(&self, block_directive: &Directive) {
        let config = self.config;
        let Some(block) = &block_directive.block else { return };
        for d in expanded(block, config) {
            let path = d.args.first().map(|arg| arg.value.as_slice());
            let special = |path: &[u8]| {
                path == b"stderr"
                    || path == b"off"
                    || path.starts_with(b"syslog:")
                    || path.starts_with(b"memory:")
                    || path.contains(&b'$')
            };
            match (d.name.value.as_slice(), path) {
                (b"error_log" | b"access_log", Some(path)) if !special(path) => {
                    self.open_log(&self.paths.prefixed(path));
                }
                _ => {}
            }
            // Blocks of entries (`map`, `types`...) hold no directives.
            let entries = matches!(
                d.name.value.as_slice(),
                b"map" | b"geo" | b"split_clients" | b"types" | b"charset_map"
            );
            if d.block.is_some() && !entries {
                self.open_unserved_logs(d);
            }
        }
    }

    /// `error_log TARGET [LEVEL]`: the target, then the level, as `ngx_log_set_log` reads
    /// them; a file is opened once both are good.
    fn error_log_target(&self, d: &Directive) -> Result<Target, ConfigError> {
        let values = d.values();
        if !(1..=2).contains(&values.len()) {
            return Err(d.error("invalid number of arguments in \"error_log\" directive"));
        }

        // Step: stderr, a memory buffer (its first line names the directive's file and
        // line), or a syslog server.
        let path = values[0];
        let sink = if path == b"stderr" {
            Some(Sink::Stderr)
        } else if let Some(size) = path.strip_prefix(b"memory:") {
            let file = d.loc().file.as_deref();
            let size = strait_parser::check::memory_log_size(size, file)
                .and_then(|size| usize::try_from(size).ok())
                .ok_or_else(|| d.error(format!("invalid buffer size \"{}\"", text(size))))?;
            let name = file.map_or(String::new(), |file| file.display().to_string());
            Some(Sink::Memory(Arc::new(MemoryLog::new(size, &name, d.end_line))))
        } else if let Some(parameters) = path.strip_prefix(b"syslog:") {
            let resolve = crate::log::syslog::resolve_host;
            let target = strait_parser::check::syslog_target(parameters, &resolve)
                .map_err(|fault| d.error(fault.to_string()))?;
            Some(Sink::Syslog(self.log_files.syslog(target)))
        } else {
            None
        };

        // Step: the level, then a file.
        let level = match values.get(1) {
            None => Level::Error,
            Some(level) => Level::parse(level)
                .ok_or_else(|| d.error(format!("invalid log level \"{}\"", text(level))))?,
        };
        let sink = sink.unwrap_or_else(|| Sink::File(self.open_log(&self.paths.prefixed(path))));
        Ok(Target { sink, level })
    }

    fn stream(
        &mut self,
        stream: &Directive,
        main_log: &ErrorLog,
    ) -> Result<Vec<Listener>, ConfigError> {
        let config = self.config;
        let block = stream
            .block
            .as_ref()
            .ok_or_else(|| stream.error("directive \"stream\" has no opening \"{\""))?;
        let directives = expanded(block, config);
        // TLS faults found after the block was read name its closing brace, as nginx's do.
        self.tls.set_block_end(stream);

        // Pass 1: variables defined by blocks and `set`, so values may use them anywhere.
        let mut map_vars = Vec::new();
        let mut geo_vars = Vec::new();
        let mut split_count = 0;
        for d in &directives {
            match d.name.value.as_slice() {
                b"map" => {
                    let values = d.values();
                    let Some(name) = values.get(1).and_then(|v| v.strip_prefix(b"$")) else {
                        return Err(d.error("invalid number of arguments in \"map\" directive"));
                    };
                    let index = self.maps.len();
                    let var = self.vars.define(name, VarSource::Map(index), true)?;
                    crate::blocks::MapBlock::define_captures(d, config, &mut self.vars)?;
                    self.maps.push(crate::blocks::MapBlock::placeholder());
                    map_vars.push(var);
                }
                b"geo" => {
                    let values = d.values();
                    let Some(name) = values.last().and_then(|v| v.strip_prefix(b"$")) else {
                        return Err(d.error("invalid number of arguments in \"geo\" directive"));
                    };
                    let var = self.vars.define(name, VarSource::Geo(geo_vars.len()), true)?;
                    geo_vars.push(var);
                }
                b"split_clients" => {
                    let values = d.values();
                    let Some(name) = values.get(1).and_then(|v| v.strip_prefix(b"$")) else {
                        return Err(
                            d.error("invalid number of arguments in \"split_clients\" directive")
                        );
                    };
                    let index = split_count;
                    split_count += 1;
                    self.vars.define(name, VarSource::SplitClients(index), true)?;
                }
                b"server" => {
                    if let Some(block) = &d.block {
                        for s in expanded(block, config) {
                            if s.name.value == b"set" {
                                let name =
                                    s.args.first().map(|a| a.value.as_slice()).unwrap_or(b"");
                                let Some(name) = name.strip_prefix(b"$") else {
                                    return Err(s.error(format!(
                                        "invalid variable name \"{}\"",
                                        text(name)
                                    )));
                                };
                                self.vars.define(name, VarSource::Set, true)?;
                            }
                        }
                    }
                }
                _ => {}
            }
        }

        // Pass 1b: limit_conn zones, so limits may name them before or after.
        for d in &directives {
            if d.name.value == b"limit_conn_zone" {
                let zone = crate::limit_conn::Zone::compile(d, &mut self.vars)?;
                self.zones.push(Arc::new(zone));
            }
        }

        // Pass 2: stream-level settings, log formats, upstreams, maps.
        let mut inherited = Inherited::default();
        let mut map_index = 0;
        for d in &directives {
            match d.name.value.as_slice() {
                b"server" | b"limit_conn_zone" => {}
                b"upstream" => {
                    let group = UpstreamGroup::compile(d, config, &mut self.vars)?;
                    let name = group.name().to_string();
                    let key = name.to_ascii_lowercase();
                    if self.upstreams.contains_key(&key) {
                        return Err(d.error(format!("duplicate upstream \"{name}\"")));
                    }
                    self.upstreams.insert(key, Arc::new(group));
                }
                b"map" => {
                    self.maps[map_index] = crate::blocks::MapBlock::compile(
                        d,
                        config,
                        &mut self.vars,
                        map_vars[map_index],
                    )?;
                    map_index += 1;
                }
                b"geo" => {
                    let var = geo_vars[self.geos.len()];
                    let block = crate::blocks::GeoBlock::compile(d, config, &mut self.vars, var)?;
                    self.geos.push(block);
                }
                b"split_clients" => {
                    let block =
                        crate::blocks::SplitClientsBlock::compile(d, config, &mut self.vars)?;
                    self.split_clients.push(block);
                }
                b"log_format" => {
                    let format = LogFormat::compile(d, &mut self.vars)?;
                    let name = d.args[0].value.to_ascii_lowercase();
                    if self.formats.contains_key(&name) {
                        return Err(
                            d.error(format!("duplicate \"log_format\" name \"{}\"", text(&name)))
                        );
                    }
                    self.formats.insert(name, Arc::new(format));
                }
                // Hash sizing of nginx's variable tables: strait's tables need none.
                b"variables_hash_max_size"
                | b"variables_hash_bucket_size"
                | b"map_hash_max_size"
                | b"map_hash_bucket_size" => {}
                _ => {
                    if !self.setting(&mut inherited, d)? {
                        return Err(unsupported(d));
                    }
                }
            }
        }
        if inherited.error_log.is_empty() {
            inherited.error_log = Vec::new();
        }

        // Pass 3: servers.
        let stream_log = if inherited.error_log.is_empty() {
            main_log.clone()
        } else {
            ErrorLog::new(inherited.error_log.clone())
        };
        let mut bound: Vec<(ListenSpec, Arc<ServerConf>, &Directive)> = Vec::new();
        for d in &directives {
            if d.name.value != b"server" {
                continue;
            }
            let (server, listen_directives) = self.server(d, &inherited, &stream_log)?;
            let server = Arc::new(server);
            for (spec, ld) in server.listens.iter().zip(listen_directives) {
                bound.push((spec.clone(), server.clone(), ld));
            }
        }
        group_listeners(bound)
    }

    /// Applies a directive allowed in both `stream {}` and `server {}`; false if it is not one.
    fn setting(&mut self, s: &mut Inherited, d: &Directive) -> Result<bool, ConfigError> {
        let time = |d: &Directive| -> Result<Duration, ConfigError> {
            let arg = d.one_arg()?;
            parse_time(&arg.value, true).ok_or_else(|| d.directive_error("invalid value"))
        };
        let size = |d: &Directive| -> Result<usize, ConfigError> {
            let arg = d.one_arg()?;
            parse_size(&arg.value).ok_or_else(|| d.directive_error("invalid value"))
        };
        match d.name.value.as_slice() {
            b"proxy_connect_timeout" => set_once(&mut s.connect_timeout, d, time(d)?)?,
            b"proxy_timeout" => set_once(&mut s.timeout, d, time(d)?)?,
            b"proxy_next_upstream" => set_once(&mut s.next_upstream, d, d.flag()?)?,
            b"proxy_next_upstream_tries" => {
                let arg = d.one_arg()?;
                let n =
                    parse_number(&arg.value).ok_or_else(|| d.directive_error("invalid number"))?;
                set_once(&mut s.next_upstream_tries, d, n)?
            }
            b"proxy_next_upstream_timeout" => set_once(&mut s.next_upstream_timeout, d, time(d)?)?,
            // The deprecated aliases write proxy_buffer_size's slot, as in nginx.
            b"proxy_buffer_size" | b"proxy_downstream_buffer" | b"proxy_upstream_buffer" => {
                set_once(&mut s.buffer_size, d, size(d)?)?
            }
            b"proxy_half_close" => set_once(&mut s.half_close, d, d.flag()?)?,
            b"proxy_socket_keepalive" => set_once(&mut s.socket_keepalive, d, d.flag()?)?,
            b"tcp_nodelay" => set_once(&mut s.tcp_nodelay, d, d.flag()?)?,
            b"preread_buffer_size" => set_once(&mut s.preread_buffer_size, d, size(d)?)?,
            b"preread_timeout" => set_once(&mut s.preread_timeout, d, time(d)?)?,
            b"resolver_timeout" => set_once(&mut s.resolver_timeout, d, time(d)?)?,
            b"resolver" => set_once(&mut s.resolver, d, crate::resolver::Resolver::parse(d)?)?,
            b"proxy_protocol_timeout" => set_once(&mut s.proxy_protocol_timeout, d, time(d)?)?,
            b"proxy_protocol" => set_once(&mut s.proxy_protocol, d, d.flag()?)?,
            b"set_real_ip_from" => s.realip_from.extend(crate::realip::parse_from(d)?),
            b"limit_conn" => {
                let limit = crate::limit_conn::parse_limit(d, &self.zones)?;
                s.limits.get_or_insert_with(Vec::new).push(limit);
            }
            b"limit_conn_log_level" => {
                set_once(&mut s.limit_conn_log_level, d, crate::limit_conn::parse_log_level(d)?)?
            }
            b"limit_conn_dry_run" => set_once(&mut s.limit_conn_dry_run, d, d.flag()?)?,
            b"proxy_upload_rate" | b"proxy_download_rate" => {
                let arg = d.one_arg()?;
                let value = Complex::compile(&arg.value, &mut self.vars).map_err(|e| at(d, e))?;
                if let Some(lit) = value.as_literal() {
                    parse_size(&lit).ok_or_else(|| d.directive_error("invalid value"))?;
                }
                let slot = if d.name.value == b"proxy_upload_rate" {
                    &mut s.upload_rate
                } else {
                    &mut s.download_rate
                };
                set_once(slot, d, value)?;
            }
            b"proxy_bind" => {
                let values = d.values();
                let bind = match values.as_slice() {
                    [b"off"] => ProxyBind::Off,
                    [addr] => ProxyBind::Addr {
                        value: Complex::compile(addr, &mut self.vars).map_err(|e| at(d, e))?,
                        transparent: false,
                    },
                    [addr, b"transparent"] => ProxyBind::Addr {
                        value: Complex::compile(addr, &mut self.vars).map_err(|e| at(d, e))?,
                        transparent: true,
                    },
                    [_, other] => {
                        return Err(d.error(format!("invalid parameter \"{}\"", text(other))))
                    }
                    _ => {
                        return Err(
                            d.error("invalid number of arguments in \"proxy_bind\" directive")
                        )
                    }
                };
                set_once(&mut s.bind, d, bind)?;
            }
            b"error_log" => s.error_log.push(self.error_log_target(d)?),
            b"access_log" => {
                let log = self.access_log(d)?;
                let logs = s.access_log.get_or_insert_with(Vec::new);
                if let Some(log) = log {
                    logs.push(Arc::new(log));
                }
            }
            b"allow" | b"deny" => {
                let value = &d.one_arg()?.value;
                let target = if value == b"all" {
                    AccessTarget::All
                } else if value == b"unix:" {
                    AccessTarget::Unix
                } else {
                    // `ngx_stream_access_rule`: a CIDR as `ngx_ptocidr` reads it (strait -t
                    // warns of low address bits, which are cleared).
                    let (net, _) = strait_parser::values::ptocidr(value)
                        .ok_or_else(|| d.error(format!("invalid parameter \"{}\"", text(value))))?;
                    AccessTarget::Net(net)
                };
                s.access.push(AccessRule { allow: d.name.value == b"allow", target });
            }
            // TLS directives: crate::tls::directives.
            _ => {
                let conf_prefix = &self.paths.conf_prefix;
                return crate::tls::directives::take(&mut s.tls, d, &mut self.vars, conf_prefix);
            }
        }
        Ok(true)
    }

    fn access_log(&mut self, d: &Directive) -> Result<Option<AccessLog>, ConfigError> {
        let values = d.values();
        if values.as_slice() == [b"off"] {
            return Ok(None);
        }
        if values.len() < 2 {
            return Err(d.error("log format is not specified"));
        }
        let format = self
            .formats
            .get(&values[1].to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| d.error(format!("unknown log format \"{}\"", text(values[1]))))?;
        AccessLog::compile(d, format, self.paths, &self.log_files, &mut self.vars).map(Some)
    }

    /// Compiles one `server {}` block.
    fn server<'d>(
        &mut self,
        d: &'d Directive,
        stream: &Inherited,
        stream_log: &ErrorLog,
    ) -> Result<(ServerConf, Vec<&'d Directive>), ConfigError>
    where
        'a: 'd,
    {
        let config = self.config;
        let block =
            d.block.as_ref().ok_or_else(|| d.error("directive \"server\" has no opening \"{\""))?;
        let mut own = Inherited::default();
        let mut listens = Vec::new();
        let mut listen_directives = Vec::new();
        let mut content: Option<(&Directive, ContentSpec)> = None;
        let mut sets = Vec::new();
        let mut ssl_listen: Option<&Directive> = None;
        for s in expanded(block, config) {
            match s.name.value.as_slice() {
                b"listen" => {
                    for spec in ListenSpec::parse(s)? {
                        if spec.ssl && ssl_listen.is_none() {
                            ssl_listen = Some(s);
                        }
                        listens.push(spec);
                        listen_directives.push(s);
                    }
                }
                b"proxy_pass" | b"return" => {
                    if let Some((prev, _)) = content {
                        if prev.name.value == s.name.value {
                            return Err(s.directive_error("is duplicate"));
                        }
                    }
                    let arg = s.one_arg()?;
                    let spec = if s.name.value == b"return" {
                        ContentSpec::Return(
                            Complex::compile(&arg.value, &mut self.vars).map_err(|e| at(s, e))?,
                        )
                    } else {
                        ContentSpec::Proxy(self.proxy_pass(s)?)
                    };
                    content = Some((s, spec));
                }
                b"set" => {
                    let values = s.values();
                    let [name, value] = values.as_slice() else {
                        return Err(s.error("invalid number of arguments in \"set\" directive"));
                    };
                    let index = self.vars.index(&name[1..]).map_err(|e| at(s, e))?;
                    let value = Complex::compile(value, &mut self.vars).map_err(|e| at(s, e))?;
                    sets.push((index, value));
                }
                _ => {
                    if !self.setting(&mut own, s)? {
                        return Err(unsupported(s));
                    }
                }
            }
        }
        if listens.is_empty() {
            return Err(d.error("no \"listen\" is defined for server"));
        }
        let Some((_, content)) = content else {
            return Err(d.error("no handler for server"));
        };

        // Merge with the stream-level settings and nginx's defaults.
        let error_log = if own.error_log.is_empty() {
            stream_log.clone()
        } else {
            ErrorLog::new(own.error_log.clone())
        };
        let access = if own.access.is_empty() { stream.access.clone() } else { own.access };
        let access_logs = own.access_log.or_else(|| stream.access_log.clone()).unwrap_or_default();
        let tls = own.tls.merged(&stream.tls);
        let ssl = self.tls.server(&tls, ssl_listen)?;
        let content = match content {
            ContentSpec::Return(value) => Content::Return(value),
            ContentSpec::Proxy(pass) => Content::Proxy(Box::new(ProxyConf {
                tls: self.tls.upstream(&tls, &pass)?,
                pass,
                connect_timeout: own
                    .connect_timeout
                    .or(stream.connect_timeout)
                    .unwrap_or(Duration::from_secs(60)),
                timeout: own.timeout.or(stream.timeout).unwrap_or(Duration::from_secs(600)),
                next_upstream: own.next_upstream.or(stream.next_upstream).unwrap_or(true),
                next_upstream_tries: own
                    .next_upstream_tries
                    .or(stream.next_upstream_tries)
                    .unwrap_or(0),
                next_upstream_timeout: own
                    .next_upstream_timeout
                    .or(stream.next_upstream_timeout)
                    .filter(|t| !t.is_zero()),
                buffer_size: own.buffer_size.or(stream.buffer_size).unwrap_or(16384),
                half_close: own.half_close.or(stream.half_close).unwrap_or(false),
                bind: own.bind.or_else(|| stream.bind.clone()).unwrap_or_default(),
                socket_keepalive: own.socket_keepalive.or(stream.socket_keepalive).unwrap_or(false),
                upload_rate: own.upload_rate.or_else(|| stream.upload_rate.clone()),
                download_rate: own.download_rate.or_else(|| stream.download_rate.clone()),
                resolver: own.resolver.or_else(|| stream.resolver.clone()),
                resolver_timeout: own
                    .resolver_timeout
                    .or(stream.resolver_timeout)
                    .unwrap_or(Duration::from_secs(30)),
                proxy_protocol: own.proxy_protocol.or(stream.proxy_protocol).unwrap_or(false),
            })),
        };
        let realip_from =
            if own.realip_from.is_empty() { stream.realip_from.clone() } else { own.realip_from };
        let limit_conn = crate::limit_conn::LimitConn {
            limits: own.limits.or_else(|| stream.limits.clone()).unwrap_or_default(),
            log_level: own
                .limit_conn_log_level
                .or(stream.limit_conn_log_level)
                .unwrap_or(Level::Error),
            dry_run: own.limit_conn_dry_run.or(stream.limit_conn_dry_run).unwrap_or(false),
        };
        let server = ServerConf {
            listens,
            content,
            sets,
            access,
            tcp_nodelay: own.tcp_nodelay.or(stream.tcp_nodelay).unwrap_or(true),
            preread_buffer_size: own
                .preread_buffer_size
                .or(stream.preread_buffer_size)
                .unwrap_or(16384),
            preread_timeout: own
                .preread_timeout
                .or(stream.preread_timeout)
                .unwrap_or(Duration::from_secs(30)),
            error_log,
            access_logs,
            ssl,
            ssl_preread: tls.preread(),
            proxy_protocol_timeout: own
                .proxy_protocol_timeout
                .or(stream.proxy_protocol_timeout)
                .unwrap_or(Duration::from_secs(30)),
            realip_from,
            limit_conn,
        };
        Ok((server, listen_directives))
    }

    /// `proxy_pass`: an upstream name, an address, or a value with variables.
    fn proxy_pass(&mut self, d: &Directive) -> Result<ProxyPass, ConfigError> {
        let value = &d.one_arg()?.value;
        let complex = Complex::compile(value, &mut self.vars).map_err(|e| at(d, e))?;
        let Some(literal) = complex.as_literal() else {
            return Ok(ProxyPass::Value(complex));
        };
        let name = text(&literal);
        if let Some(group) = self.upstreams.get(&name.to_ascii_lowercase()) {
            return Ok(ProxyPass::Group(group.clone()));
        }
        let peers = crate::upstream::implicit_peers(d, &literal)?;
        Ok(ProxyPass::Group(Arc::new(UpstreamGroup::implicit(&name, peers))))
    }
}

enum ContentSpec {
    Return(Complex),
    Proxy(ProxyPass),
}

/// A location-less error (variables) placed at the directive that caused it, as nginx does
/// for script compile errors; `unknown "x" variable` keeps no location.
fn at(d: &Directive, e: ConfigError) -> ConfigError {
    if e.message.starts_with("unknown \"") {
        e
    } else {
        ConfigError::at(d.loc(), e.message)
    }
}

/// `nginx -t`'s pid file step (`ngx_create_pidfile` in a test): the file is opened for
/// reading and writing, created empty when missing, and left as it was.
fn test_pid_file(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false).mode(0o644);
    options.open(path).map(drop).map_err(|e| {
        let suffix = crate::log::error::errno_suffix(&e);
        let message = format!("open() \"{}\" failed{suffix}", path.display());
        ConfigError::cycle(CycleStep::PidFile, message)
    })
}

fn unsupported(d: &Directive) -> ConfigError {
    d.error(format!("\"{}\" directive is not supported by strait yet", d.name_str()))
}

/// Groups listen addresses into sockets the way nginx does: a wildcard address on a port
/// also serves the specific addresses of that port unless they ask for `bind`.
fn group_listeners(
    bound: Vec<(ListenSpec, Arc<ServerConf>, &Directive)>,
) -> Result<Vec<Listener>, ConfigError> {
    // Duplicate addresses are a configuration error.
    for (i, (spec, _, d)) in bound.iter().enumerate() {
        if bound[..i].iter().any(|(other, _, _)| other.addr == spec.addr) {
            return Err(d.error(format!("duplicate \"{}\" address and port pair", spec.addr)));
        }
    }
    let wildcard_of = |addr: &SocketAddr| -> Option<usize> {
        bound.iter().position(|(spec, _, _)| match &spec.addr {
            ListenAddr::Inet(w) => {
                w.ip().is_unspecified() && w.port() == addr.port() && w.is_ipv4() == addr.is_ipv4()
            }
            ListenAddr::Unix(_) => false,
        })
    };
    let mut listeners: Vec<Listener> = Vec::new();
    let mut socket_of: Vec<Option<usize>> = vec![None; bound.len()];
    for (i, (spec, server, _)) in bound.iter().enumerate() {
        let text: Arc<str> = Arc::from(spec.addr.to_string());
        let shared = match &spec.addr {
            ListenAddr::Inet(addr) if !addr.ip().is_unspecified() && !spec.bind => {
                wildcard_of(addr).filter(|&w| w != i)
            }
            _ => None,
        };
        match shared {
            Some(w) => {
                let exact = match &spec.addr {
                    ListenAddr::Inet(addr) => Some(*addr),
                    ListenAddr::Unix(_) => None,
                };
                let index = match socket_of[w] {
                    Some(index) => index,
                    None => {
                        let (wspec, wserver, _) = &bound[w];
                        listeners.push(Listener {
                            text: Arc::from(wspec.addr.to_string()),
                            spec: wspec.clone(),
                            servers: vec![(
                                None,
                                wserver.clone(),
                                Arc::from(wspec.addr.to_string()),
                            )],
                        });
                        socket_of[w] = Some(listeners.len() - 1);
                        listeners.len() - 1
                    }
                };
                listeners[index].servers.push((exact, server.clone(), text));
            }
            None => {
                if socket_of[i].is_some() {
                    continue;
                }
                listeners.push(Listener {
                    text: text.clone(),
                    spec: spec.clone(),
                    servers: vec![(None, server.clone(), text)],
                });
                socket_of[i] = Some(listeners.len() - 1);
            }
        }
    }
    Ok(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(source: &str) -> Result<Plan, ConfigError> {
        let dir = std::env::temp_dir();
        let path = dir.join("strait-plan-test.conf");
        let config =
            strait_parser::parse_bytes(source.as_bytes(), &path, &Default::default()).unwrap();
        let paths =
            Paths { prefix: dir.clone(), conf_prefix: dir, default_error_log: LogPath::Stderr };
        Plan::compile(&config, &paths)
    }

    fn proxy(plan: &Plan, listener: usize) -> &ProxyConf {
        match &plan.listeners[listener].servers[0].1.content {
            Content::Proxy(proxy) => proxy,
            Content::Return(_) => panic!("not a proxy server"),
        }
    }

    #[test]
    fn servers_inherit_stream_settings_and_nginx_defaults() {
        let plan = compile(
            "stream { proxy_timeout 5s; proxy_buffer_size 4k;
               server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; }
               server { listen 127.0.0.1:3; proxy_timeout 1s; proxy_pass 127.0.0.1:2; } }",
        )
        .unwrap();
        assert_eq!(proxy(&plan, 0).timeout, Duration::from_secs(5));
        assert_eq!(proxy(&plan, 0).buffer_size, 4096);
        assert_eq!(proxy(&plan, 0).connect_timeout, Duration::from_secs(60));
        assert!(proxy(&plan, 0).next_upstream);
        assert_eq!(proxy(&plan, 1).timeout, Duration::from_secs(1));
        assert!(plan.main.daemon);
        assert_eq!(plan.main.worker_connections, 512);
    }

    #[test]
    fn deprecated_buffer_aliases_set_proxy_buffer_size() {
        let plan = compile(
            "stream { proxy_downstream_buffer 2k;
               server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; }
               server { listen 127.0.0.1:3; proxy_upstream_buffer 1k; proxy_pass 127.0.0.1:2; } }",
        )
        .unwrap();
        assert_eq!(proxy(&plan, 0).buffer_size, 2048);
        assert_eq!(proxy(&plan, 1).buffer_size, 1024);
    }

    #[test]
    fn upstream_names_match_in_any_case_as_in_nginx() {
        let plan = compile(
            "stream { upstream Backend { server 127.0.0.1:2; }
               server { listen 127.0.0.1:1; proxy_pass bACKEND; } }",
        )
        .unwrap();
        let ProxyPass::Group(group) = &proxy(&plan, 0).pass else { panic!("not a group") };
        assert!(Arc::ptr_eq(group, &plan.upstream("backend").unwrap()));
        assert_eq!(group.name(), "Backend");
        let duplicate = compile(
            "stream { upstream Backend { server 127.0.0.1:2; } upstream backend { server \
             127.0.0.1:3; } server { listen 127.0.0.1:1; proxy_pass backend; } }",
        );
        let error = duplicate.unwrap_err().to_string();
        assert!(error.starts_with("duplicate upstream \"backend\""), "{error}");
    }

    #[test]
    fn a_wildcard_socket_carries_the_specific_addresses_of_its_port() {
        let plan = compile(
            "stream { server { listen 8000; return a; }
               server { listen 127.0.0.1:8000; return b; }
               server { listen 127.0.0.2:8000 bind; return c; } }",
        )
        .unwrap();
        assert_eq!(plan.listeners.len(), 2);
        assert_eq!(plan.listeners[0].spec.addr.to_string(), "0.0.0.0:8000");
        assert_eq!(plan.listeners[0].servers.len(), 2);
        let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let other: SocketAddr = "127.0.0.9:8000".parse().unwrap();
        assert!(Arc::ptr_eq(
            plan.listeners[0].server_for(Some(local)).0,
            &plan.listeners[0].servers[1].1
        ));
        assert!(Arc::ptr_eq(
            plan.listeners[0].server_for(Some(other)).0,
            &plan.listeners[0].servers[0].1
        ));
        assert_eq!(plan.listeners[1].spec.addr.to_string(), "127.0.0.2:8000");
    }

    #[test]
    fn faults_carry_nginx_messages() {
        let cases = [
            (
                "stream { server { listen 1; listen 1; return a; } }",
                "duplicate \"0.0.0.0:1\" address and port pair",
            ),
            ("stream { server { listen 1; } }", "no handler for server"),
            (
                "stream { proxy_timeout 1s; proxy_timeout 2s; }",
                "\"proxy_timeout\" directive is duplicate",
            ),
            (
                "stream { server { listen 1; proxy_pass nowhere; } }",
                "no port in upstream \"nowhere\"",
            ),
            (
                "stream { server { listen 1; pass 127.0.0.1:2; } }",
                "\"pass\" directive is not supported by strait yet",
            ),
        ];
        for (source, message) in cases {
            let e = compile(source).unwrap_err();
            assert_eq!(e.message, message, "{source}");
        }
    }
}
