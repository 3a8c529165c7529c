//! The checks `nginx -t` makes, with nginx's messages: directive lookup (unknown, not allowed
//! here, block or not, argument count), value syntax (flags, enums, times, sizes, numbers),
//! repeats, and the stream module's own handlers and end-of-block checks (listen, upstreams,
//! log formats, servers without `listen` or handler, variables).
//!
//! nginx checks while it reads: each directive is handled as soon as its `;` or `{` is read,
//! block-end checks run when a block closes, and the stream block's merge and variable checks
//! run when `stream {}` closes. [`check_outcome`] walks the tree in that order, so the first
//! fault it finds is the one `nginx -t` prints; a lexer fault (from [`crate::ParseOutcome`])
//! is reported only when no check fault comes before it. Some faults nginx finds only once
//! the whole file is read, after printing `syntax is ok` ([`CycleStep`]: no `events`, a
//! shared memory zone never sized); [`review`] keeps them apart, with the warnings printed
//! before any fault.
//!
//! Host names are resolved as nginx resolves them at load (getaddrinfo), so `host not found`
//! faults match. Faults whose text comes from OpenSSL or PCRE, hash sizing and user lookups
//! are not reproduced (no certificate is loaded at check time); testdata/corpus/README.md
//! lists them.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ast::{Block, Config, Directive, Quote};
use crate::error::{ErrorKind, ErrorPlace, ParseError};
use crate::registry::{self, BlockContent, Context, Spec, Value, Version};
use crate::template::{Segment, Template};
use crate::values::{self, TimeUnit, UrlError, UrlOptions, UrlTarget};
use crate::ParseOutcome;

/// What a check is judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// The nginx version whose directives are known (newer ones are `unknown directive`).
    pub version: Version,
    /// The config prefix: the directory of the main file (password files are read from it).
    pub conf_prefix: PathBuf,
    /// The prefix (`-p`): relative `load_module` paths are taken from it.
    pub prefix: PathBuf,
    /// Look at nothing outside the configuration (for fuzzing): host names are not
    /// resolved (each is `host not found`), files named by `load_module` and the password
    /// files are not opened (each is taken as there).
    pub isolated: bool,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            version: registry::STRAIT_NGINX_VERSION,
            conf_prefix: PathBuf::from("/"),
            prefix: PathBuf::from("/"),
            isolated: false,
        }
    }
}

/// A configuration that passed: the warnings nginx would print on the way (`[warn]` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Warnings, each with nginx's text and place.
    pub warnings: Vec<ParseError>,
}

/// The steps nginx takes once the whole configuration is read, when it builds the new
/// cycle (`ngx_init_cycle`), in its order. `nginx -t` prints `syntax is ok` before them, so a
/// fault found in one of them comes after that line, without a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CycleStep {
    /// The core modules' `init_conf`: the events module wants its block, then enough
    /// `worker_connections` for the listening sockets.
    InitConf,
    /// `nginx -t` creates the pid file (or opens it, when it exists).
    PidFile,
    /// The log files are opened.
    OpenFiles,
    /// The shared memory zones are created: a zone named but never sized fails.
    SharedMemory,
    /// The listening sockets are bound (an address in use is no fault in a test).
    Listening,
}

/// A fault of one [`CycleStep`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleFault {
    /// The step that finds it.
    pub step: CycleStep,
    /// nginx's message (without a place).
    pub error: ParseError,
}

/// Everything `nginx -t` says about a configuration, in its order: the warnings, then
/// either the fault that stopped the reading or `syntax is ok` and the first cycle fault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// `[warn]` lines, in the order nginx prints them (all before any fault).
    pub warnings: Vec<ParseError>,
    /// The fault found while reading: nginx prints it instead of `syntax is ok`.
    pub fault: Option<ParseError>,
    /// Faults of the steps after reading, in step order (nginx prints the first).
    pub cycle_faults: Vec<CycleFault>,
}

impl Review {
    /// The fault nginx prints, whichever phase found it.
    pub fn first_fault(&self) -> Option<&ParseError> {
        self.fault.as_ref().or_else(|| self.cycle_faults.first().map(|fault| &fault.error))
    }

    /// The warnings of a configuration without faults, or the fault nginx prints.
    pub fn into_result(self) -> Result<Checked, ParseError> {
        match self.first_fault() {
            Some(error) => Err(error.clone()),
            None => Ok(Checked { warnings: self.warnings }),
        }
    }
}

/// Checks a parsed configuration; the first fault, as `nginx -t` reports it.
pub fn check(config: &Config, options: &CheckOptions) -> Result<Checked, ParseError> {
    review_tree(config, None, options).into_result()
}

/// Checks what a parse read, then reports the parse's own fault if the checks found none
/// before it: the first fault nginx would print for the same input.
pub fn check_outcome(
    outcome: &ParseOutcome,
    options: &CheckOptions,
) -> Result<Checked, ParseError> {
    review(outcome, options).into_result()
}

/// Checks what a parse read as `nginx -t` does, keeping what it prints: the warnings, the
/// fault that stops the reading (a check's, or else the parse's own) and the faults of the
/// steps after reading.
pub fn review(outcome: &ParseOutcome, options: &CheckOptions) -> Review {
    review_tree(&outcome.config, outcome.error.as_ref(), options)
}

/// [`review`] of a tree and the parse fault that cut it short, if any.
fn review_tree(
    config: &Config,
    parse_fault: Option<&ParseError>,
    options: &CheckOptions,
) -> Review {
    let mut checker = Checker::new(config, options, parse_fault.is_some());
    let fault = checker.run().err().or_else(|| parse_fault.cloned());
    let mut cycle_faults = if fault.is_none() { checker.cycle_faults } else { Vec::new() };
    cycle_faults.sort_by_key(|fault| fault.step);
    Review { warnings: checker.warnings, fault, cycle_faults }
}

/// Builtin stream variables (nginx-stream.md §6), with the version of the newer ones.
const STREAM_VARIABLES: &[(&str, Version)] = &[
    ("binary_remote_addr", V0),
    ("remote_addr", V0),
    ("remote_port", V0),
    ("server_addr", V0),
    ("server_port", V0),
    ("bytes_sent", V0),
    ("bytes_received", V0),
    ("session_time", V0),
    ("status", V0),
    ("connection", V0),
    ("nginx_version", V0),
    ("hostname", V0),
    ("pid", V0),
    ("msec", V0),
    ("time_iso8601", V0),
    ("time_local", V0),
    ("protocol", V0),
    ("server_name", Version(1, 25, 5)),
    ("proxy_protocol_addr", V0),
    ("proxy_protocol_port", V0),
    ("proxy_protocol_server_addr", V0),
    ("proxy_protocol_server_port", V0),
    ("ssl_protocol", V0),
    ("ssl_cipher", V0),
    ("ssl_ciphers", V0),
    ("ssl_curve", V0),
    ("ssl_curves", V0),
    ("ssl_session_id", V0),
    ("ssl_session_reused", V0),
    ("ssl_server_name", V0),
    ("ssl_alpn_protocol", V0),
    ("ssl_client_cert", V0),
    ("ssl_client_raw_cert", V0),
    ("ssl_client_escaped_cert", V0),
    ("ssl_client_s_dn", V0),
    ("ssl_client_i_dn", V0),
    ("ssl_client_serial", V0),
    ("ssl_client_fingerprint", V0),
    ("ssl_client_verify", V0),
    ("ssl_client_v_start", V0),
    ("ssl_client_v_end", V0),
    ("ssl_client_v_remain", V0),
    ("ssl_sigalg", Version(1, 29, 3)),
    ("ssl_client_sigalg", Version(1, 29, 3)),
    ("ssl_sigalgs", Version(1, 31, 2)),
    ("ssl_ech_status", Version(1, 29, 4)),
    ("ssl_ech_outer_server_name", Version(1, 29, 4)),
    ("ssl_preread_protocol", V0),
    ("ssl_preread_server_name", V0),
    ("ssl_preread_alpn_protocols", V0),
    ("upstream_addr", V0),
    ("upstream_bytes_sent", V0),
    ("upstream_bytes_received", V0),
    ("upstream_connect_time", V0),
    ("upstream_first_byte_time", V0),
    ("upstream_session_time", V0),
    ("realip_remote_addr", V0),
    ("realip_remote_port", V0),
    ("limit_conn_status", V0),
];

/// Prefixes of builtin stream variable families (`proxy_protocol_tlv_NAME`, 1.23.2).
const STREAM_VARIABLE_PREFIXES: &[(&str, Version)] = &[("proxy_protocol_tlv_", Version(1, 23, 2))];

/// "Present in every version strait compares against".
const V0: Version = Version(0, 0, 0);

/// Parameters of `listen` in stream (1.22.1, plus newer ones with their version).
const LISTEN_FLAGS: &[(&str, Version)] = &[
    ("ssl", V0),
    ("udp", V0),
    ("proxy_protocol", V0),
    ("deferred", V0),
    ("bind", V0),
    ("reuseport", V0),
    ("default_server", Version(1, 25, 5)),
    ("multipath", Version(1, 29, 7)),
];

/// `listen` parameters that take a value after `=`.
const LISTEN_VALUES: &[&str] = &[
    "setfib",
    "fastopen",
    "backlog",
    "rcvbuf",
    "sndbuf",
    "accept_filter",
    "ipv6only",
    "so_keepalive",
];

/// A stream `server {}` as its end-of-block and merge checks need it.
#[derive(Debug)]
struct StreamServer {
    /// Where `server {` was read (nginx's `cscf->file_name:line`).
    place: ErrorPlace,
    /// Whether `listen` was given.
    listen: bool,
    /// Where a `listen ... ssl` was given.
    ssl: Option<ErrorPlace>,
    /// Whether a content handler (`proxy_pass`, `return`, `pass`) was given.
    handler: bool,
    /// The TLS settings written in the server.
    tls: Tls,
    /// Zones (indexes into the shared zones) of the server's `limit_conn` directives.
    limit_conns: Vec<usize>,
}

/// The TLS settings of one level (stream or server) that the merge checks read; `None`
/// (or empty) is "not set here", inherited from the stream level.
#[derive(Debug, Default, Clone)]
struct Tls {
    /// `proxy_ssl`.
    proxy_ssl: Option<bool>,
    /// `proxy_ssl_certificate` value.
    proxy_certificate: Option<Vec<u8>>,
    /// Whether `proxy_ssl_certificate_key` is set.
    proxy_key: Option<()>,
    /// `proxy_ssl_verify`.
    proxy_verify: Option<bool>,
    /// Whether `proxy_ssl_trusted_certificate` is set.
    proxy_trusted: Option<()>,
    /// `ssl_certificate` values.
    certificates: Vec<Vec<u8>>,
    /// How many `ssl_certificate_key` values.
    keys: usize,
    /// `ssl_verify_client` (lower case).
    verify_client: Option<Vec<u8>>,
    /// Whether `ssl_client_certificate` is set.
    client_certificate: Option<()>,
}

impl Tls {
    /// The server's settings with the stream level's filling what the server left unset.
    fn merged(&self, stream: &Tls) -> Tls {
        let (certificates, keys) = if self.certificates.is_empty() && self.keys == 0 {
            (stream.certificates.clone(), stream.keys)
        } else {
            (self.certificates.clone(), self.keys)
        };
        Tls {
            proxy_ssl: self.proxy_ssl.or(stream.proxy_ssl),
            proxy_certificate: self
                .proxy_certificate
                .clone()
                .or_else(|| stream.proxy_certificate.clone()),
            proxy_key: self.proxy_key.or(stream.proxy_key),
            proxy_verify: self.proxy_verify.or(stream.proxy_verify),
            proxy_trusted: self.proxy_trusted.or(stream.proxy_trusted),
            certificates,
            keys,
            verify_client: self.verify_client.clone().or_else(|| stream.verify_client.clone()),
            client_certificate: self.client_certificate.or(stream.client_certificate),
        }
    }
}

/// One upstream of the stream block, as `ngx_stream_upstream_add` keeps them: an
/// `upstream {}` block, or one a literal `proxy_pass` target makes implicitly.
#[derive(Debug)]
struct Upstream {
    /// The host, as first written (an upstream block's name, a target's host).
    host: Vec<u8>,
    /// The target's port (0: none).
    port: u16,
    /// The target gave no port (an upstream block never has one).
    no_port: bool,
    /// An `upstream {}` block names it (nginx's `NGX_STREAM_UPSTREAM_CREATE`).
    block: bool,
    /// An implicit upstream with its one address known (an address literal with a port, or
    /// a unix socket): nothing is left to resolve.
    addressed: bool,
    /// Where it was made (nginx's `file_name:line`): the `upstream` or `proxy_pass` line.
    place: ErrorPlace,
    /// The balancer directive set in its block (`hash`, `random`, `least_conn`).
    balancer: Option<&'static [u8]>,
    /// How many of its block's `server` lines are not `backup`.
    primaries: usize,
}

/// What [`Checker::upstream_add`] looks an upstream up by: the fields of nginx's
/// `ngx_url_t` it reads.
struct UpstreamKey<'u> {
    /// The host as written.
    host: &'u [u8],
    /// The port (0: none).
    port: u16,
    /// No port was given.
    no_port: bool,
    /// The one address is known (see [`Upstream::addressed`]).
    addressed: bool,
}

/// One address of a `listen` with its ports, as the duplicate check compares them.
#[derive(Debug, Clone)]
struct ListenSocket {
    /// A UDP socket (`udp`): it never clashes with a TCP one.
    udp: bool,
    /// The address.
    addr: ListenAddr,
    /// The first and last port (the same port without a range).
    ports: (u16, u16),
}

/// A listen socket's address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ListenAddr {
    /// An IP address.
    Inet(IpAddr),
    /// A unix socket: its path, and the address as written (nginx names it so).
    Unix {
        /// The path, compared.
        path: Vec<u8>,
        /// `unix:PATH` as written.
        text: Vec<u8>,
    },
}

impl ListenSocket {
    /// The first of this socket's addresses (by port) that a socket of `before` already
    /// has, named as nginx names it in `duplicate "ADDR" address and port pair`.
    fn first_overlap(&self, before: &[ListenSocket]) -> Option<Vec<u8>> {
        let same = |other: &&ListenSocket| match (&self.addr, &other.addr) {
            (ListenAddr::Unix { path, .. }, ListenAddr::Unix { path: other, .. }) => path == other,
            (addr, other_addr) => other.udp == self.udp && addr == other_addr,
        };
        let port = before
            .iter()
            .filter(|other| other.udp == self.udp)
            .filter(same)
            .filter_map(|other| {
                let (low, high) =
                    (self.ports.0.max(other.ports.0), self.ports.1.min(other.ports.1));
                (low <= high).then_some(low)
            })
            .min()?;
        Some(match &self.addr {
            ListenAddr::Inet(ip) => values::sock_ntop(&SocketAddr::new(*ip, port)).into_bytes(),
            ListenAddr::Unix { text, .. } => text.clone(),
        })
    }
}

/// What a shared memory zone is for: nginx's tag (the module that declared it). One name
/// serves one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZoneUse {
    /// `ssl_session_cache shared:` in stream.
    StreamSslSessions,
    /// `ssl_session_cache shared:` in http.
    HttpSslSessions,
    /// `ssl_session_cache shared:` in mail.
    MailSslSessions,
    /// `zone` in a stream `upstream {}`.
    StreamUpstream,
    /// `limit_conn_zone` and `limit_conn` in stream.
    StreamLimitConn,
}

/// One shared memory zone of the cycle, as `ngx_shared_memory_add` records it.
#[derive(Debug)]
struct SharedZone {
    /// The zone's name.
    name: Vec<u8>,
    /// Its size in bytes; 0 while only named (`limit_conn`, `zone NAME;`).
    size: u64,
    /// What declared it.
    use_: ZoneUse,
    /// For a `limit_conn_zone`: the key it was bound to (nginx's `shm_zone->data`).
    key: Option<Vec<u8>>,
}

/// The static name of a balancer directive.
fn balancer_name(name: &[u8]) -> &'static [u8] {
    match name {
        b"hash" => b"hash",
        b"random" => b"random",
        _ => b"least_conn",
    }
}

/// The state of one `stream {}` block.
#[derive(Debug, Default)]
struct StreamState {
    /// Log format names defined so far.
    log_formats: HashSet<Vec<u8>>,
    /// The upstreams, blocks and implicit ones, in the order nginx made them.
    upstreams: Vec<Upstream>,
    /// The upstream whose block is being read (an index into `upstreams`).
    upstream_block: Option<usize>,
    /// Listen sockets so far: UDP or not, the address, and the ports.
    listens: Vec<ListenSocket>,
    /// Variables defined by map, geo, split_clients and set (lower case).
    defined: HashSet<Vec<u8>>,
    /// Variables used, in first-use order (as written).
    used: Vec<Vec<u8>>,
    /// The same names in lower case, for lookup.
    used_lower: HashSet<Vec<u8>>,
    /// Servers in order.
    servers: Vec<StreamServer>,
    /// The TLS settings at the stream level.
    tls: Tls,
    /// Zones (indexes into the shared zones) of the stream level's `limit_conn` directives.
    limit_conns: Vec<usize>,
}

/// The walk over the tree.
struct Checker<'a> {
    config: &'a Config,
    options: &'a CheckOptions,
    /// The tree stops at a parse fault: blocks still open there get no end checks.
    partial: bool,
    warnings: Vec<ParseError>,
    /// Modules named by `load_module` so far.
    modules: HashSet<Vec<u8>>,
    /// Whether a module block (`events`, `http`, `mail`, `stream`) was read: `load_module`
    /// after one is too late.
    block_seen: bool,
    /// Whether `events {}` was read.
    events: bool,
    /// The names of the thread pools defined so far.
    thread_pools: HashSet<Vec<u8>>,
    /// The stream block being read.
    stream: StreamState,
    /// How many http servers were opened (the last is the one being read).
    http_servers: usize,
    /// Listen addresses of http servers, by server number.
    http_listens: HashSet<(usize, String)>,
    /// Listen addresses of mail servers.
    mail_listens: HashSet<String>,
    /// The `types` extensions of each block being read, innermost last: extension and
    /// content type, as the level's location conf lists them.
    types: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
    /// The shared memory zones declared so far, in declaration order (the cycle's list).
    shared_zones: Vec<SharedZone>,
    /// Faults of the steps after reading.
    cycle_faults: Vec<CycleFault>,
}

/// A fault at the line nginx reports for directive `d`.
fn at(d: &Directive, kind: ErrorKind) -> ParseError {
    ParseError { kind, place: place_of(d) }
}

/// The place nginx names for a directive: its file and the line of its `;` or `{`.
fn place_of(d: &Directive) -> ErrorPlace {
    match &d.name.location.file {
        Some(path) => ErrorPlace::File { path: Arc::clone(path), line: d.end_line },
        None => ErrorPlace::CommandLine,
    }
}

/// The place of the `}` closing the block of `d`: where nginx's block-end checks report.
fn close_place(d: &Directive) -> ErrorPlace {
    match &d.name.location.file {
        Some(path) => ErrorPlace::File { path: Arc::clone(path), line: d.close_line },
        None => ErrorPlace::CommandLine,
    }
}

/// nginx's `"NAME" directive TEXT` for a handler's returned text.
fn directive_text(d: &Directive, text: &str) -> ParseError {
    let mut message = b"\"".to_vec();
    message.extend_from_slice(&d.name.value);
    message.extend_from_slice(b"\" directive ");
    message.extend_from_slice(text.as_bytes());
    at(d, ErrorKind::Message(message))
}

/// A message with one quoted value: `BEFORE"VALUE"AFTER`.
fn quoted(d: &Directive, before: &str, value: &[u8], after: &str) -> ParseError {
    let mut message = before.as_bytes().to_vec();
    message.push(b'"');
    message.extend_from_slice(value);
    message.push(b'"');
    message.extend_from_slice(after.as_bytes());
    at(d, ErrorKind::Message(message))
}

impl<'a> Checker<'a> {
    fn new(config: &'a Config, options: &'a CheckOptions, partial: bool) -> Checker<'a> {
        Checker {
            config,
            options,
            partial,
            warnings: Vec::new(),
            modules: HashSet::new(),
            block_seen: false,
            events: false,
            thread_pools: HashSet::new(),
            stream: StreamState::default(),
            http_servers: 0,
            http_listens: HashSet::new(),
            mail_listens: HashSet::new(),
            types: Vec::new(),
            shared_zones: Vec::new(),
            cycle_faults: Vec::new(),
        }
    }

    /// The whole configuration: `-g` directives first (nginx reads them before the file),
    /// then the main file, then the checks nginx makes once everything is read.
    fn run(&mut self) -> Result<(), ParseError> {
        // Step: one main context: a directive repeated between `-g` and the file is a repeat.
        let config = self.config;
        let globals = config.globals.expanded_with_includes(config);
        let directives: Vec<&Directive> =
            globals.chain(config.main().expanded_with_includes(config)).collect();
        self.directives(&directives, Context::Main)?;

        if self.partial {
            return Ok(());
        }

        // Step: after the whole file, the events module insists on its block.
        if !self.events {
            let text = b"no \"events\" section in configuration".to_vec();
            self.cycle_fault(CycleStep::InitConf, text);
        }

        // Step: shared memory zones are created once everything is read; the first zone
        // never sized fails there.
        if let Some(zone) = self.shared_zones.iter().find(|zone| zone.size == 0) {
            let mut message = b"zero size shared memory zone \"".to_vec();
            message.extend_from_slice(&zone.name);
            message.push(b'"');
            self.cycle_fault(CycleStep::SharedMemory, message);
        }
        Ok(())
    }

    /// Records a fault of a step after reading (nginx gives it no place).
    fn cycle_fault(&mut self, step: CycleStep, message: Vec<u8>) {
        let error = ParseError::nowhere(ErrorKind::Message(message));
        self.cycle_faults.push(CycleFault { step, error });
    }

    /// `ngx_shared_memory_add`: declares the zone `name` of `size` bytes (0: size unknown
    /// here) for `use_`, or finds the zone already declared. A name declared for another use,
    /// or with another size, is a fault at `d`. Returns the zone's index.
    fn shared_memory_add(
        &mut self,
        d: &Directive,
        name: &[u8],
        size: u64,
        use_: ZoneUse,
    ) -> Result<usize, ParseError> {
        let Some(index) = self.shared_zones.iter().position(|zone| zone.name == name) else {
            self.shared_zones.push(SharedZone { name: name.to_vec(), size, use_, key: None });
            return Ok(self.shared_zones.len() - 1);
        };
        let zone = &mut self.shared_zones[index];
        if zone.use_ != use_ {
            let after = " is already declared for a different use";
            return Err(quoted(d, "the shared memory zone ", name, after));
        }
        if zone.size == 0 {
            zone.size = size;
        }
        if size != 0 && size != zone.size {
            let before = format!("the size {size} of shared memory zone ");
            let after = format!(" conflicts with already declared size {}", zone.size);
            return Err(quoted(d, &before, name, &after));
        }
        Ok(index)
    }

    /// The directives of one block, in nginx's reading order (includes expanded).
    fn block(&mut self, block: &'a Block, context: Context) -> Result<(), ParseError> {
        let config = self.config;
        let directives: Vec<&Directive> = block.expanded_with_includes(config).collect();
        self.types.push(Vec::new());
        let result = self.directives(&directives, context);
        self.types.pop();
        result
    }

    /// A run of directives of one context level, sharing one set of `is duplicate` names.
    fn directives(
        &mut self,
        directives: &[&'a Directive],
        context: Context,
    ) -> Result<(), ParseError> {
        let mut once: HashSet<&[u8]> = HashSet::new();
        for d in directives {
            self.directive(d, context, &mut once)?;
        }
        Ok(())
    }

    /// Whether the parse stopped inside the block of `d`: its `}` was never read, so nginx
    /// never ran the checks it makes when a block closes. A block closed before the fault
    /// has its `}` line.
    fn unclosed(&self, d: &Directive) -> bool {
        self.partial && d.block.is_some() && d.close_line == 0
    }

    /// One directive: nginx's `ngx_conf_handler` steps, then the handler, then its block.
    fn directive(
        &mut self,
        d: &'a Directive,
        context: Context,
        once: &mut HashSet<&'a [u8]>,
    ) -> Result<(), ParseError> {
        let name = d.name.value.as_slice();
        let open = self.unclosed(d);

        // Step: find a definition of the name, then one allowed in this context.
        let mut specs = registry::lookup(name, self.options.version).peekable();
        if specs.peek().is_none() {
            return Err(quoted(d, "unknown directive ", name, ""));
        }
        let Some(spec) = specs.find(|spec| spec.contexts.contains(context)) else {
            return Err(quoted(d, "", name, " directive is not allowed here"));
        };

        // Step: a block directive must open a block, any other must end with `;`.
        let has_block = d.block.is_some() || d.args.last().is_some_and(|a| a.quote == Quote::Lua);
        if !spec.args.is_block() && has_block {
            return Err(quoted(d, "directive ", name, " is not terminated by \";\""));
        }
        if spec.args.is_block() && !has_block {
            return Err(quoted(d, "directive ", name, " has no opening \"{\""));
        }

        // Step: the argument count.
        if !spec.args.accepts(d.args.len()) {
            return Err(quoted(d, "invalid number of arguments in ", name, " directive"));
        }

        // Step: the handler: a repeat, then the value.
        if spec.once && !once.insert(slot_of(name)) {
            return Err(directive_text(d, "is duplicate"));
        }
        self.value(d, spec)?;
        if name == b"error_log" {
            let resolve = |host: &[u8]| self.resolve(host).map(|addrs| addrs[0]);
            error_log_target(d, &d.args[0].value, &resolve)?;
        }
        core_handler(d, context)?;
        if context == Context::Events && name == b"debug_connection" {
            self.debug_connection(d)?;
        }
        if context.is_stream() || (context == Context::Main && name == b"stream") {
            self.stream_handler(d, context)?;
        } else if context == Context::Main {
            self.main_handler(d)?;
        } else if name == b"listen" {
            self.http_mail_listen(d, context)?;
        } else if name == b"ssl_session_cache" {
            let args: Vec<&[u8]> = d.args.iter().map(|a| a.value.as_slice()).collect();
            let use_ = match context {
                Context::MailMain | Context::MailServer => ZoneUse::MailSslSessions,
                _ => ZoneUse::HttpSslSessions,
            };
            self.ssl_session_cache(d, &args, use_)?;
        }

        // Step: the block, read as the directive's module reads it.
        if let Some(block) = &d.block {
            match context.block_of(name) {
                BlockContent::Directives(child) => {
                    if name == b"stream" {
                        self.stream = StreamState::default();
                    }
                    if child == Context::HttpServer {
                        self.http_servers += 1;
                    }
                    if child == Context::StreamServer {
                        self.stream.servers.push(StreamServer {
                            place: place_of(d),
                            listen: false,
                            ssl: None,
                            handler: false,
                            tls: Tls::default(),
                            limit_conns: Vec::new(),
                        });
                    }
                    self.block(block, child)?;
                    if !open {
                        self.block_end(d, child)?;
                    }
                }
                BlockContent::Entries if context.is_stream() => self.entries(d, block, open)?,
                BlockContent::Entries => self.http_entries(d, block)?,
                BlockContent::Opaque => {}
            }
        }
        Ok(())
    }

    /// Value syntax by the slot handler that reads it.
    fn value(&mut self, d: &Directive, spec: &Spec) -> Result<(), ParseError> {
        let Some(first) = d.args.first() else { return Ok(()) };
        let v = first.value.as_slice();
        let invalid = || directive_text(d, "invalid value");
        match spec.value {
            Value::Flag if values::parse_flag(v).is_none() => {
                let mut message = b"invalid value \"".to_vec();
                message.extend_from_slice(v);
                message.extend_from_slice(b"\" in \"");
                message.extend_from_slice(&d.name.value);
                message.extend_from_slice(b"\" directive, it must be \"on\" or \"off\"");
                return Err(at(d, ErrorKind::Message(message)));
            }
            Value::Enum(words) if !words.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(v)) => {
                return Err(quoted(d, "invalid value ", v, ""));
            }
            Value::Bitmask(words) => {
                let mut seen: Vec<&str> = Vec::new();
                for arg in &d.args {
                    let v = arg.value.as_slice();
                    let Some(word) = words.iter().find(|w| w.as_bytes().eq_ignore_ascii_case(v))
                    else {
                        return Err(quoted(d, "invalid value ", v, ""));
                    };
                    if seen.contains(word) {
                        self.warnings.push(quoted(d, "duplicate value ", v, ""));
                    }
                    seen.push(word);
                }
            }
            Value::Seconds if values::parse_time(v, TimeUnit::Seconds).is_none() => {
                return Err(invalid());
            }
            Value::Milliseconds if values::parse_time(v, TimeUnit::Milliseconds).is_none() => {
                return Err(invalid());
            }
            Value::Size if values::parse_size(v).is_none() => return Err(invalid()),
            Value::Offset if values::parse_offset(v).is_none() => return Err(invalid()),
            Value::ComplexSize => {
                let template = self.template(d, v)?;
                if template.is_literal() && values::parse_size(v).is_none() {
                    return Err(invalid());
                }
            }
            Value::Number if values::parse_int(v).is_none() => {
                return Err(directive_text(d, "invalid number"));
            }
            Value::Complex => {
                self.template(d, v)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Compiles `value` as a complex value, recording the stream variables it uses.
    fn template(&mut self, d: &Directive, value: &[u8]) -> Result<Template, ParseError> {
        let template = Template::parse(value).map_err(|kind| at(d, kind))?;
        for segment in template.segments() {
            if let Segment::Variable(name) = segment {
                self.use_variable(name);
            }
        }
        Ok(template)
    }

    /// Records a variable reference for the end-of-stream check.
    fn use_variable(&mut self, name: &[u8]) {
        if self.stream.used_lower.insert(name.to_ascii_lowercase()) {
            self.stream.used.push(name.to_vec());
        }
    }

    /// Main-context handlers: `load_module` and the module blocks.
    fn main_handler(&mut self, d: &Directive) -> Result<(), ParseError> {
        match d.name.value.as_slice() {
            b"load_module" => {
                if self.block_seen {
                    return Err(directive_text(d, "is specified too late"));
                }

                // Step: nginx dlopen()s the file, named from the prefix. strait has the stream
                // and mail modules built in and loads nothing, but a file that cannot be
                // opened and read fails as it does with nginx.
                let path = &d.args[0].value;
                let full = prefixed(&self.options.prefix, path);
                let fault = if self.options.isolated { None } else { dlopen_fault(&full) };
                if let Some(reason) = fault {
                    let full = full.as_os_str().as_bytes();
                    let mut message = b"dlopen() \"".to_vec();
                    message.extend_from_slice(full);
                    message.extend_from_slice(b"\" failed (");
                    message.extend_from_slice(full);
                    message.extend_from_slice(format!(": {reason})").as_bytes());
                    return Err(at(d, ErrorKind::Message(message)));
                }

                // Step: the module, by its file's name.
                let file = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
                let module = file.strip_suffix(b".so").unwrap_or(file).to_vec();
                if module != b"ngx_stream_module" && module != b"ngx_mail_module" {
                    return Err(quoted(d, "module ", &module, " is not built into strait"));
                }
                if !self.modules.insert(module.clone()) {
                    return Err(quoted(d, "module ", &module, " is already loaded"));
                }
            }
            b"thread_pool" => self.thread_pool(d)?,
            b"events" => {
                self.events = true;
                self.block_seen = true;
            }
            b"http" | b"mail" => self.block_seen = true,
            _ => {}
        }
        Ok(())
    }

    /// `thread_pool NAME threads=N [max_queue=N]` as `ngx_thread_pool` reads it: a name
    /// defined once, a positive thread count, a number for the queue; other parameters are
    /// ignored, as nginx ignores them.
    fn thread_pool(&mut self, d: &Directive) -> Result<(), ParseError> {
        let name = &d.args[0].value;
        if self.thread_pools.contains(name) {
            return Err(quoted(d, "duplicate thread pool ", name, ""));
        }
        let mut threads = None;
        for param in &d.args[1..] {
            let param = param.value.as_slice();
            if let Some(count) = param.strip_prefix(b"threads=") {
                threads = values::parse_int(count).filter(|&n| n > 0);
                if threads.is_none() {
                    return Err(quoted(d, "invalid threads value ", param, ""));
                }
            } else if let Some(queue) = param.strip_prefix(b"max_queue=") {
                if values::parse_int(queue).is_none() {
                    return Err(quoted(d, "invalid max_queue value ", param, ""));
                }
            }
        }
        if threads.is_none() {
            return Err(quoted(d, "", &d.name.value, " must have \"threads\" parameter"));
        }
        self.thread_pools.insert(name.clone());
        Ok(())
    }

    /// `debug_connection ADDRESS` as the events module reads it: `unix:`, a CIDR (with the
    /// low-bits warning), else a host name that must resolve.
    fn debug_connection(&mut self, d: &Directive) -> Result<(), ParseError> {
        let address = d.args[0].value.as_slice();
        if address == b"unix:" {
            return Ok(());
        }
        if let Some((_, low_bits)) = values::ptocidr(address) {
            if low_bits {
                self.warnings.push(low_bits_warning(d, address));
            }
            return Ok(());
        }
        if self.resolve(address).is_none() {
            return Err(quoted(d, "host not found in debug_connection ", address, ""));
        }
        Ok(())
    }

    /// `listen` in http and mail: a repeat of the same address in one http server is
    /// `a duplicate listen ADDR`; in mail any repeat is `duplicate "ADDR" address and port
    /// pair`. Other listen faults of these modules are not modelled.
    fn http_mail_listen(&mut self, d: &Directive, context: Context) -> Result<(), ParseError> {
        let default_port = if context == Context::HttpServer { 80 } else { 0 };
        let Ok(sockets) = self.listen_sockets(&d.args[0].value, default_port) else {
            return Ok(());
        };
        let Some(socket) = sockets.first() else { return Ok(()) };
        let address = match &socket.addr {
            ListenAddr::Inet(ip) => values::sock_ntop(&SocketAddr::new(*ip, socket.ports.0)),
            ListenAddr::Unix { text, .. } => String::from_utf8_lossy(text).into_owned(),
        };
        let repeated = match context {
            Context::HttpServer => !self.http_listens.insert((self.http_servers, address.clone())),
            Context::MailServer => !self.mail_listens.insert(address.clone()),
            _ => false,
        };
        if repeated && context == Context::HttpServer {
            let text = format!("a duplicate listen {address}");
            return Err(at(d, ErrorKind::Message(text.into_bytes())));
        }
        if repeated {
            return Err(quoted(d, "duplicate ", address.as_bytes(), " address and port pair"));
        }
        Ok(())
    }

    /// The stream modules' own handlers, for what the value table does not cover.
    fn stream_handler(&mut self, d: &Directive, context: Context) -> Result<(), ParseError> {
        let args: Vec<&[u8]> = d.args.iter().map(|a| a.value.as_slice()).collect();
        match (context, d.name.value.as_slice()) {
            (Context::Main, b"stream") => self.block_seen = true,
            (Context::StreamServer, b"listen") => self.listen(d, &args)?,
            (Context::StreamServer, b"proxy_pass") => self.proxy_pass(d, args[0])?,
            (Context::StreamServer, b"return" | b"pass") => self.server().handler = true,
            (Context::StreamServer, b"set") => {
                let Some(var) = args[0].strip_prefix(b"$") else {
                    return Err(quoted(d, "invalid variable name ", args[0], ""));
                };
                self.define_variable(d, var)?;
                self.template(d, args[1])?;
            }
            (_, name) if is_tls_setting(name) => {
                let tls = match context {
                    Context::StreamServer => &mut self.server().tls,
                    _ => &mut self.stream.tls,
                };
                let value = args[0].to_vec();
                match name {
                    b"proxy_ssl" => tls.proxy_ssl = values::parse_flag(&value),
                    b"proxy_ssl_certificate" => tls.proxy_certificate = Some(value),
                    b"proxy_ssl_certificate_key" => tls.proxy_key = Some(()),
                    b"proxy_ssl_verify" => tls.proxy_verify = values::parse_flag(&value),
                    b"proxy_ssl_trusted_certificate" => tls.proxy_trusted = Some(()),
                    b"ssl_certificate" => tls.certificates.push(value),
                    b"ssl_certificate_key" => tls.keys += 1,
                    b"ssl_verify_client" => tls.verify_client = Some(value.to_ascii_lowercase()),
                    _ => tls.client_certificate = Some(()),
                }
            }
            (_, b"resolver") => resolver(d, &args, &|host| self.resolve(host).is_some())?,
            (_, b"ssl_session_cache") => {
                self.ssl_session_cache(d, &args, ZoneUse::StreamSslSessions)?
            }
            (_, b"proxy_bind") if args[0] != b"off" => {
                let template = self.template(d, args[0])?;
                if template.is_literal() && values::parse_addr_port(args[0]).is_none() {
                    return Err(quoted(d, "invalid address ", args[0], ""));
                }
                if args.len() == 2 && args[1] != b"transparent" {
                    return Err(quoted(d, "invalid parameter ", args[1], ""));
                }
            }
            (_, b"proxy_ssl_alpn") => {
                for arg in &args {
                    self.template(d, arg)?;
                }
            }
            (_, b"proxy_downstream_buffer" | b"proxy_upstream_buffer") => {
                // nginx's deprecation note is a post handler: it runs once the value is read.
                if values::parse_size(args[0]).is_none() {
                    return Err(directive_text(d, "invalid value"));
                }
                let mut message = b"the \"".to_vec();
                message.extend_from_slice(&d.name.value);
                message.extend_from_slice(
                    b"\" directive is deprecated, use the \"proxy_buffer_size\" directive instead",
                );
                self.warnings.push(at(d, ErrorKind::Message(message)));
            }
            (_, b"ssl_password_file" | b"proxy_ssl_password_file") if !self.options.isolated => {
                let path = self.conf_path(args[0]);
                if let Err(err) = std::fs::metadata(&path) {
                    let errno = err.raw_os_error().unwrap_or(2);
                    let path = path.as_os_str().as_encoded_bytes().to_vec();
                    return Err(at(d, ErrorKind::Open { path, errno }));
                }
            }
            (Context::StreamMain, b"upstream") => {
                let key = UpstreamKey { host: args[0], port: 0, no_port: true, addressed: false };
                let index = self.upstream_add(d, key, true)?;
                self.stream.upstream_block = Some(index);
            }
            (Context::StreamUpstream, b"server") => self.upstream_server(d, &args)?,
            (Context::StreamUpstream, name @ (b"hash" | b"random" | b"least_conn"))
                if self.upstream().balancer.replace(balancer_name(name)).is_some() =>
            {
                let text = b"load balancing method redefined".to_vec();
                self.warnings.push(at(d, ErrorKind::Message(text)));
                self.balancer_args(d, &args)?;
            }
            (Context::StreamUpstream, b"hash" | b"random" | b"least_conn") => {
                self.balancer_args(d, &args)?;
            }
            (Context::StreamUpstream, b"zone") => {
                if args[0].is_empty() {
                    return Err(quoted(d, "invalid zone name ", args[0], ""));
                }
                let size = match args.get(1) {
                    Some(size) => {
                        let Some(bytes) = values::parse_size(size) else {
                            return Err(quoted(d, "invalid zone size ", size, ""));
                        };
                        if bytes < MIN_ZONE_SIZE {
                            return Err(quoted(d, "zone ", args[0], " is too small"));
                        }
                        bytes
                    }
                    None => 0,
                };
                self.shared_memory_add(d, args[0], size, ZoneUse::StreamUpstream)?;
            }
            (Context::StreamMain, b"log_format") => {
                if !self.stream.log_formats.insert(args[0].to_vec()) {
                    return Err(quoted(d, "duplicate \"log_format\" name ", args[0], ""));
                }
                for arg in &args[1..] {
                    if !arg.starts_with(b"escape=") {
                        self.template(d, arg)?;
                    }
                }
            }
            (_, b"access_log") => self.access_log(d, &args)?,
            (Context::StreamMain, b"map") => {
                self.template(d, args[0])?;
                let Some(var) = args[1].strip_prefix(b"$") else {
                    return Err(quoted(d, "invalid variable name ", args[1], ""));
                };
                self.define_variable(d, var)?;
            }
            (Context::StreamMain, b"split_clients") => {
                self.template(d, args[0])?;
                let Some(var) = args[1].strip_prefix(b"$") else {
                    return Err(quoted(d, "invalid variable name ", args[1], ""));
                };
                self.define_variable(d, var)?;
            }
            (Context::StreamMain, b"geo") => {
                // The source is a variable's name, not a value: `$` and a name of any bytes
                // (`$a-b` is the variable `a-b`), checked before the variable defined.
                if args.len() == 2 {
                    match args[0].strip_prefix(b"$") {
                        Some(source) if !source.is_empty() => self.use_variable(source),
                        _ => return Err(quoted(d, "invalid variable name ", args[0], "")),
                    }
                }
                let var = args[args.len() - 1];
                let Some(var) = var.strip_prefix(b"$") else {
                    return Err(quoted(d, "invalid variable name ", var, ""));
                };
                self.define_variable(d, var)?;
            }
            (Context::StreamMain, b"limit_conn_zone") => self.limit_conn_zone(d, &args)?,
            (_, b"limit_conn") => {
                let zone = self.shared_memory_add(d, args[0], 0, ZoneUse::StreamLimitConn)?;
                let level = match context {
                    Context::StreamServer => &mut self.server().limit_conns,
                    _ => &mut self.stream.limit_conns,
                };
                if level.contains(&zone) {
                    return Err(directive_text(d, "is duplicate"));
                }
                level.push(zone);
                let limit = values::parse_int(args[1]).filter(|&n| n > 0);
                let Some(limit) = limit else {
                    return Err(quoted(d, "invalid number of connections ", args[1], ""));
                };
                if limit > 65535 {
                    let text = b"connection limit must be less 65536".to_vec();
                    return Err(at(d, ErrorKind::Message(text)));
                }
            }
            // `ngx_stream_access_rule`: `all`, `unix:` (exactly), else a CIDR.
            (_, b"allow" | b"deny") if args[0] != b"all" && args[0] != b"unix:" => {
                let Some((_, low_bits)) = values::ptocidr(args[0]) else {
                    return Err(quoted(d, "invalid parameter ", args[0], ""));
                };
                if low_bits {
                    self.warnings.push(low_bits_warning(d, args[0]));
                }
            }
            // `ngx_stream_realip_from`: `unix:` (exactly), a CIDR, else a host name that must
            // resolve.
            (_, b"set_real_ip_from") if args[0] != b"unix:" => match values::ptocidr(args[0]) {
                Some((_, true)) => self.warnings.push(low_bits_warning(d, args[0])),
                None if self.resolve(args[0]).is_none() => {
                    return Err(quoted(d, "host not found in set_real_ip_from ", args[0], ""));
                }
                Some(_) | None => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// The upstream block being read.
    fn upstream(&mut self) -> &mut Upstream {
        let index = self.stream.upstream_block.expect("inside a stream upstream");
        &mut self.stream.upstreams[index]
    }

    /// `ngx_stream_upstream_add`: finds the upstream `key` names (host ignoring case, and
    /// port), or makes it. `block`: an `upstream {}` block makes it (nginx's
    /// `NGX_STREAM_UPSTREAM_CREATE`), which turns an implicit one of the same name into
    /// the block's. A port given to a block's name is a fault, whichever came first.
    fn upstream_add(
        &mut self,
        d: &Directive,
        key: UpstreamKey<'_>,
        block: bool,
    ) -> Result<usize, ParseError> {
        for (index, upstream) in self.stream.upstreams.iter_mut().enumerate() {
            if !upstream.host.eq_ignore_ascii_case(key.host) {
                continue;
            }
            if block && upstream.block {
                return Err(quoted(d, "duplicate upstream ", key.host, ""));
            }
            if upstream.block && !key.no_port {
                let after = format!(" may not have port {}", key.port);
                return Err(quoted(d, "upstream ", key.host, &after));
            }
            if block && !upstream.no_port {
                let mut message = b"upstream \"".to_vec();
                message.extend_from_slice(key.host);
                message.extend_from_slice(
                    format!("\" may not have port {}", upstream.port).as_bytes(),
                );
                message.extend_from_slice(&upstream.place.suffix_bytes());
                return Err(ParseError::nowhere(ErrorKind::Message(message)));
            }
            if upstream.port != key.port {
                continue;
            }
            upstream.block |= block;
            return Ok(index);
        }
        self.stream.upstreams.push(Upstream {
            host: key.host.to_vec(),
            port: key.port,
            no_port: key.no_port,
            block,
            addressed: key.addressed,
            place: place_of(d),
            balancer: None,
            primaries: 0,
        });
        Ok(self.stream.upstreams.len() - 1)
    }

    /// The arguments of `hash KEY [consistent]` and `random [two [least_conn]]`.
    fn balancer_args(&mut self, d: &Directive, args: &[&[u8]]) -> Result<(), ParseError> {
        match d.name.value.as_slice() {
            b"hash" => {
                self.template(d, args[0])?;
                if args.len() == 2 && args[1] != b"consistent" {
                    return Err(quoted(d, "invalid parameter ", args[1], ""));
                }
            }
            b"random" => {
                if args.first().is_some_and(|a| *a != b"two") {
                    return Err(quoted(d, "invalid parameter ", args[0], ""));
                }
                if args.get(1).is_some_and(|a| *a != b"least_conn") {
                    return Err(quoted(d, "invalid parameter ", args[1], ""));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The server being read.
    fn server(&mut self) -> &mut StreamServer {
        self.stream.servers.last_mut().expect("inside a stream server")
    }

    /// `proxy_pass TARGET`: the content handler. A literal target is parsed now and names
    /// an upstream (`ngx_stream_upstream_add`); whether it has a port and resolves is
    /// checked when the stream block closes, as nginx's upstream module does.
    fn proxy_pass(&mut self, d: &Directive, target: &[u8]) -> Result<(), ParseError> {
        self.server().handler = true;
        let template = self.template(d, target)?;
        if !template.is_literal() {
            return Ok(());
        }
        let url = values::parse_url(target, UrlOptions::default())
            .map_err(|err| quoted(d, &format!("{err} in upstream "), target, ""))?;
        let addressed = match url.target {
            UrlTarget::Unix => true,
            UrlTarget::Addr(_) => url.port != 0,
            UrlTarget::Name => false,
        };
        let key = UpstreamKey { host: url.host, port: url.port, no_port: url.no_port, addressed };
        self.upstream_add(d, key, false)?;
        Ok(())
    }

    /// `server ADDRESS [PARAMETERS]` inside a stream `upstream`, in nginx's order: the
    /// parameters, then the address (resolved, as nginx resolves it at load), then its port.
    fn upstream_server(&mut self, d: &Directive, args: &[&[u8]]) -> Result<(), ParseError> {
        // Step: the parameters; `backup` only where the balancer allows it.
        let balancer = self.upstream().balancer;
        let mut backup = false;
        for param in &args[1..] {
            let (key, value) = match param.iter().position(|&b| b == b'=') {
                Some(at) => (&param[..at], Some(&param[at + 1..])),
                None => (*param, None),
            };
            let valid = match (key, value) {
                (b"weight", Some(v)) => values::parse_int(v).is_some_and(|n| n > 0),
                (b"max_conns" | b"max_fails", Some(v)) => values::parse_int(v).is_some(),
                (b"fail_timeout", Some(v)) => values::parse_time(v, TimeUnit::Seconds).is_some(),
                (b"backup", None) if balancer.is_some_and(|b| b != b"least_conn") => {
                    let text = b"balancing method does not support parameter \"backup\"";
                    return Err(at(d, ErrorKind::Message(text.to_vec())));
                }
                (b"backup", None) => {
                    backup = true;
                    true
                }
                (b"down", None) => true,
                // nginx 1.27.3; the runtime refuses them (strait_runtime::unsupported).
                (b"resolve", None) | (b"service", Some(_)) => true,
                _ => false,
            };
            if !valid {
                return Err(quoted(d, "invalid parameter ", param, ""));
            }
        }

        // Step: the address, which needs a port.
        let url = values::parse_url(args[0], UrlOptions::default())
            .map_err(|err| quoted(d, &format!("{err} in upstream "), args[0], ""))?;
        if url.target == UrlTarget::Name && self.resolve(url.host).is_none() {
            return Err(quoted(d, "host not found in upstream ", args[0], ""));
        }
        if url.no_port {
            return Err(quoted(d, "no port in upstream ", args[0], ""));
        }
        self.upstream().primaries += usize::from(!backup);
        Ok(())
    }

    /// `listen ADDRESS [PARAMETERS]`: the address (resolved), the parameters, then each
    /// socket it names against those before, as `ngx_stream_core_listen` does.
    fn listen(&mut self, d: &Directive, args: &[&[u8]]) -> Result<(), ParseError> {
        self.server().listen = true;
        let sockets = self.listen_sockets(args[0], 0).map_err(|what| {
            let before = format!("{what} in ");
            quoted(d, &before, args[0], " of the \"listen\" directive")
        })?;
        let mut udp = false;
        for param in &args[1..] {
            let flag = LISTEN_FLAGS.iter().find(|(name, _)| name.as_bytes() == *param);
            if let Some((name, since)) = flag {
                if *since <= self.options.version {
                    udp |= *name == "udp";
                    if *name == "ssl" {
                        self.server().ssl = Some(place_of(d));
                    }
                    continue;
                }
            }
            let (key, value) = match param.iter().position(|&b| b == b'=') {
                Some(at) => (&param[..at], &param[at + 1..]),
                None => (*param, &b""[..]),
            };
            if param.contains(&b'=') && LISTEN_VALUES.iter().any(|v| v.as_bytes() == key) {
                let valid = match key {
                    b"backlog" | b"fastopen" => values::parse_int(value).is_some_and(|n| n != 0),
                    b"rcvbuf" | b"sndbuf" => values::parse_size(value).is_some(),
                    _ => true,
                };
                if !valid {
                    let before = format!("invalid {} ", String::from_utf8_lossy(key));
                    return Err(quoted(d, &before, param, ""));
                }
                continue;
            }
            return Err(quoted(d, "the invalid ", param, " parameter"));
        }

        // Step: each address and port against the sockets before it (of this directive too).
        for socket in sockets {
            let socket = ListenSocket { udp, ..socket };
            if let Some(text) = socket.first_overlap(&self.stream.listens) {
                return Err(quoted(d, "duplicate ", &text, " address and port pair"));
            }
            self.stream.listens.push(socket);
        }
        Ok(())
    }

    /// The sockets a listen address names (`ngx_parse_url` with `listen`, host names
    /// resolved): one per address, each with its port range. `default_port` is the
    /// module's (http's 80). The fault is nginx's `u->err` text.
    fn listen_sockets(
        &self,
        text: &[u8],
        default_port: u16,
    ) -> Result<Vec<ListenSocket>, &'static str> {
        let options = UrlOptions { listen: true, default_port };
        let url = values::parse_url(text, options).map_err(UrlError::text)?;
        let ports = (url.port, url.last_port.max(url.port));
        let inet = |ip: IpAddr| ListenSocket { udp: false, addr: ListenAddr::Inet(ip), ports };
        Ok(match url.target {
            UrlTarget::Unix => {
                let addr = ListenAddr::Unix { path: url.host.to_vec(), text: text.to_vec() };
                vec![ListenSocket { udp: false, addr, ports: (0, 0) }]
            }
            UrlTarget::Addr(ip) => vec![inet(ip)],
            UrlTarget::Name => {
                self.resolve(url.host).ok_or("host not found")?.into_iter().map(inet).collect()
            }
        })
    }

    /// A host name as nginx's `ngx_inet_resolve_host` finds it (getaddrinfo): its IPv4
    /// addresses, then its IPv6 ones. `None`: not found; with [`CheckOptions::isolated`],
    /// never looked up.
    fn resolve(&self, host: &[u8]) -> Option<Vec<IpAddr>> {
        use std::net::ToSocketAddrs;
        if self.options.isolated {
            return None;
        }
        let host = std::str::from_utf8(host).ok().filter(|host| !host.contains('\0'))?;
        let found: Vec<IpAddr> = (host, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
        let (mut addrs, v6): (Vec<IpAddr>, Vec<IpAddr>) =
            found.into_iter().partition(IpAddr::is_ipv4);
        addrs.extend(v6);
        (!addrs.is_empty()).then_some(addrs)
    }

    /// `limit_conn_zone KEY zone=NAME:SIZE`: the key, the zone (its name ends at the first
    /// `:`), then the shared zone, which must not be bound to a key yet.
    fn limit_conn_zone(&mut self, d: &Directive, args: &[&[u8]]) -> Result<(), ParseError> {
        self.template(d, args[0])?;
        let Some(zone) = args[1].strip_prefix(b"zone=") else {
            return Err(quoted(d, "invalid parameter ", args[1], ""));
        };
        let Some(at) = zone.iter().position(|&b| b == b':') else {
            return Err(quoted(d, "invalid zone size ", args[1], ""));
        };
        let (name, size) = (&zone[..at], &zone[at + 1..]);
        let Some(size) = values::parse_size(size) else {
            return Err(quoted(d, "invalid zone size ", args[1], ""));
        };
        if size < MIN_ZONE_SIZE {
            return Err(quoted(d, "zone ", args[1], " is too small"));
        }
        if name.is_empty() {
            return Err(quoted(d, "", &d.name.value, " must have \"zone\" parameter"));
        }

        // Step: the zone is added first (a size conflict), then found taken by a key.
        let index = self.shared_memory_add(d, name, size, ZoneUse::StreamLimitConn)?;
        let zone = &mut self.shared_zones[index];
        if let Some(key) = &zone.key {
            let after = format!(" is already bound to key \"{}\"", String::from_utf8_lossy(key));
            return Err(quoted(d, "limit_conn_zone ", name, &after));
        }
        zone.key = Some(args[0].to_vec());
        Ok(())
    }

    /// `ssl_session_cache VALUE...` (stream, http or mail, which `use_` names): each value,
    /// and the shared zone of a `shared:NAME:SIZE` one.
    fn ssl_session_cache(
        &mut self,
        d: &Directive,
        args: &[&[u8]],
        use_: ZoneUse,
    ) -> Result<(), ParseError> {
        for arg in args {
            let Some(cache) = session_cache(arg) else {
                return Err(quoted(d, "invalid session cache ", arg, ""));
            };
            let Some((name, size)) = cache else { continue };
            if size < MIN_ZONE_SIZE {
                return Err(quoted(d, "session cache ", arg, " is too small"));
            }
            self.shared_memory_add(d, name, size, use_)?;
        }
        Ok(())
    }

    /// `access_log off` or `access_log PATH FORMAT [PARAMETERS]` as `ngx_stream_log_set_log`
    /// reads it: the destination (a `syslog:` target or a path), the format, each parameter
    /// in turn, then the rules of buffers.
    fn access_log(&mut self, d: &Directive, args: &[&[u8]]) -> Result<(), ParseError> {
        if args[0] == b"off" {
            if args.len() > 1 {
                return Err(quoted(d, "invalid parameter ", args[1], ""));
            }
            return Ok(());
        }

        // Step: the destination; a path with variables is opened for each line.
        let syslog = args[0].strip_prefix(b"syslog:");
        let variables = match syslog {
            Some(parameters) => {
                let resolve = |host: &[u8]| self.resolve(host).map(|addrs| addrs[0]);
                syslog_target(parameters, &resolve).map_err(|fault| at(d, fault.into()))?;
                false
            }
            None => !self.template(d, args[0])?.is_literal(),
        };

        // Step: the format.
        let Some(format) = args.get(1) else {
            return Err(at(d, ErrorKind::Message(b"log format is not specified".to_vec())));
        };
        if !self.stream.log_formats.contains(*format) {
            return Err(quoted(d, "unknown log format ", format, ""));
        }

        // Step: the parameters; `gzip` alone buffers 64k.
        let mut size = 0;
        let mut flush = false;
        for param in &args[2..] {
            if let Some(value) = param.strip_prefix(b"buffer=") {
                size = values::parse_size(value)
                    .filter(|n| *n > 0)
                    .ok_or_else(|| quoted(d, "invalid buffer size ", value, ""))?;
            } else if let Some(value) = param.strip_prefix(b"flush=") {
                values::parse_time(value, TimeUnit::Milliseconds)
                    .filter(|t| *t > 0)
                    .ok_or_else(|| quoted(d, "invalid flush time ", value, ""))?;
                flush = true;
            } else if *param == b"gzip" || param.starts_with(b"gzip=") {
                if size == 0 {
                    size = 64 * 1024;
                }
                if let Some(level) = param.strip_prefix(b"gzip=") {
                    if !values::parse_int(level).is_some_and(|n| (1..=9).contains(&n)) {
                        return Err(quoted(d, "invalid compression level ", level, ""));
                    }
                }
            } else if let Some(cond) = param.strip_prefix(b"if=") {
                self.template(d, cond)?;
            } else {
                return Err(quoted(d, "invalid parameter ", param, ""));
            }
        }

        // Step: a buffer needs a size, a fixed path and a file.
        if flush && size == 0 {
            return Err(quoted(d, "no buffer is defined for access_log ", args[0], ""));
        }
        if size > 0 && variables {
            let text = b"buffered logs cannot have variables in name".to_vec();
            return Err(at(d, ErrorKind::Message(text)));
        }
        if size > 0 && syslog.is_some() {
            let text = b"logs to syslog cannot be buffered".to_vec();
            return Err(at(d, ErrorKind::Message(text)));
        }
        Ok(())
    }

    /// A variable defined by map, geo, split_clients or set; builtin ones cannot be
    /// redefined.
    fn define_variable(&mut self, d: &Directive, name: &[u8]) -> Result<(), ParseError> {
        if name.is_empty() {
            return Err(quoted(d, "invalid variable name ", b"$", ""));
        }
        if self.is_builtin(name) {
            return Err(quoted(d, "the duplicate ", name, " variable"));
        }
        self.stream.defined.insert(name.to_ascii_lowercase());
        Ok(())
    }

    /// One CIDR entry of a geo block as `ngx_stream_geo_cidr` takes it: the low-bits warning,
    /// `default` as 0.0.0.0/0 and ::/0, `delete` warning when no such network was added, and
    /// a network added again warning with its new and old values (each half of `default`).
    fn geo_network(&mut self, entry: &Directive, key: &[u8], network: &[u8], geo: &mut GeoTree) {
        use std::net::{Ipv4Addr, Ipv6Addr};
        let value = entry.args[0].value.as_slice();
        if key == b"default" {
            for all in [Ipv4Addr::UNSPECIFIED.into(), Ipv6Addr::UNSPECIFIED.into()] {
                let all = values::Cidr { network: all, prefix: 0 };
                self.geo_insert(entry, key, all, value, geo);
            }
            return;
        }
        let Some((cidr, low_bits)) = geo_cidr(network) else { return };
        if low_bits {
            self.warnings.push(low_bits_warning(entry, network));
        }
        if key != b"delete" {
            self.geo_insert(entry, key, cidr, value, geo);
        } else if geo.remove(&cidr).is_none() {
            self.warnings.push(quoted(entry, "no network ", network, " to delete"));
        }
    }

    /// Adds a network to a geo tree; one already there is replaced with nginx's warning, whose
    /// old value is what the tree finds for the network's address (the longest match).
    fn geo_insert(
        &mut self,
        entry: &Directive,
        net: &[u8],
        cidr: values::Cidr,
        value: &[u8],
        geo: &mut GeoTree,
    ) {
        if geo.contains_key(&cidr) {
            let old = geo
                .iter()
                .filter(|(network, _)| network.contains(cidr.network))
                .max_by_key(|(network, _)| network.prefix)
                .map_or(&b""[..], |(_, old)| old.as_slice());
            let mut message = b"duplicate network \"".to_vec();
            message.extend_from_slice(net);
            message.extend_from_slice(b"\", value: \"");
            message.extend_from_slice(value);
            message.extend_from_slice(b"\", old value: \"");
            message.extend_from_slice(old);
            message.push(b'"');
            self.warnings.push(at(entry, ErrorKind::Message(message)));
        }
        geo.insert(cidr, value.to_vec());
    }

    /// Whether `name` is a builtin stream variable of the target version.
    fn is_builtin(&self, name: &[u8]) -> bool {
        let version = self.options.version;
        STREAM_VARIABLES
            .iter()
            .any(|(v, since)| *since <= version && v.as_bytes().eq_ignore_ascii_case(name))
            || STREAM_VARIABLE_PREFIXES.iter().any(|(prefix, since)| {
                *since <= version
                    && name.len() > prefix.len()
                    && name[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
            })
    }

    /// The entries of a stream `map`, `geo` or `split_clients` block: values may use
    /// variables; `split_clients` percentages must not pass 100% (checked once the block
    /// closes, so not when the parse stopped inside it: `open`).
    fn entries(&mut self, d: &Directive, block: &Block, open: bool) -> Result<(), ParseError> {
        let config = self.config;
        let mut percents: Vec<u64> = Vec::new();
        let mut keys: HashSet<Vec<u8>> = HashSet::new();
        let mut default = false;
        let mut ranges = false;
        // geo's networks so far with their values, as its radix tree holds them.
        let mut networks = GeoTree::new();
        // geo's address ranges so far; a `delete` names one exactly (overlapping ranges, which
        // nginx splits, are not modelled: see README).
        let mut range_set: HashSet<Vec<u8>> = HashSet::new();
        for entry in block.expanded(config) {
            let key = entry.name.value.as_slice();
            let single = entry.args.is_empty();
            no_entry_block(entry)?;

            // Step: map's own entry checks (`ngx_stream_map`).
            if d.name.value == b"map" {
                if single && (key == b"hostnames" || key == b"volatile") {
                    continue;
                }
                if entry.args.len() != 1 {
                    let text = b"invalid number of the map parameters".to_vec();
                    return Err(at(entry, ErrorKind::Message(text)));
                }
                if key == b"default" {
                    if default {
                        let text = b"duplicate default map parameter".to_vec();
                        return Err(at(entry, ErrorKind::Message(text)));
                    }
                    default = true;
                } else if !key.starts_with(b"~") {
                    // ngx_hash_add_key lowers the key in place: the message shows it so.
                    let plain = key.strip_prefix(b"\\").unwrap_or(key).to_ascii_lowercase();
                    if keys.contains(&plain) {
                        return Err(quoted(entry, "conflicting parameter ", &plain, ""));
                    }
                    keys.insert(plain);
                }
            }

            // Step: geo's own entry checks (`ngx_stream_geo`).
            if d.name.value == b"geo" {
                if single && (key == b"ranges" || key == b"volatile") {
                    ranges |= key == b"ranges";
                    continue;
                }
                if entry.args.len() != 1 {
                    let text = b"invalid number of the geo parameters".to_vec();
                    return Err(at(entry, ErrorKind::Message(text)));
                }
                let network = match key {
                    b"delete" => entry.args[0].value.as_slice(),
                    _ => key,
                };
                if key != b"default" && ranges {
                    // ngx_stream_geo_add_range: two addresses as ngx_inet_addr reads them.
                    let valid = network.iter().position(|&b| b == b'-').and_then(|dash| {
                        let a = values::inet_addr(&network[..dash])?;
                        let b = values::inet_addr(&network[dash + 1..])?;
                        (a <= b).then_some(())
                    });
                    if valid.is_none() {
                        return Err(quoted(entry, "invalid range ", network, ""));
                    }
                } else if key != b"default" && geo_cidr(network).is_none() {
                    return Err(quoted(entry, "invalid network ", network, ""));
                }
                if !ranges {
                    self.geo_network(entry, key, network, &mut networks);
                } else if key == b"delete" && !range_set.remove(network) {
                    self.warnings.push(quoted(entry, "no address range ", network, " to delete"));
                } else if key != b"delete" && key != b"default" {
                    range_set.insert(network.to_vec());
                }
                self.template(entry, &entry.args[0].value)?;
            }

            if d.name.value == b"map" {
                if let Some(regex) = key.strip_prefix(b"~") {
                    for name in named_captures(regex) {
                        self.stream.defined.insert(name.to_ascii_lowercase());
                    }
                }
                if let Some(value) = entry.args.first() {
                    if key != b"hostnames" && key != b"volatile" {
                        self.template(entry, &value.value)?;
                    }
                }
            }
            // Step: split_clients reads each percentage (`*` is the rest: 0 here).
            if d.name.value == b"split_clients" {
                let number = match key {
                    b"*" => Some(0),
                    _ => key.strip_suffix(b"%").and_then(parse_percent),
                };
                let Some(number) = number else {
                    return Err(quoted(entry, "invalid percent value ", key, ""));
                };
                percents.push(number);
            }
        }

        // Step: when the block closes, split_clients adds the parts up as
        // ngx_stream_split_clients does: `*` makes the total 100%, whatever came before.
        if !open && d.name.value == b"split_clients" {
            let mut sum: u64 = 0;
            for percent in percents {
                sum = if percent == 0 { 10_000 } else { sum + percent };
                if sum > 10_000 {
                    let text = b"percent total is greater than 100%".to_vec();
                    return Err(ParseError {
                        kind: ErrorKind::Message(text),
                        place: close_place(d),
                    });
                }
            }
        }
        Ok(())
    }

    /// The entries of an http `map`, `geo`, `split_clients`, `charset_map` or `types` block:
    /// none may open a block; `types` warns of an extension given again in the same context
    /// (the lists of one level's `types` blocks add up, as nginx's location conf holds them).
    fn http_entries(&mut self, d: &Directive, block: &Block) -> Result<(), ParseError> {
        let config = self.config;
        for entry in block.expanded_with_includes(config) {
            no_entry_block(entry)?;
            if d.name.value != b"types" {
                continue;
            }
            if entry.name.value == b"include" {
                if entry.args.len() != 1 {
                    let text = b"invalid number of arguments in \"include\" directive".to_vec();
                    return Err(at(entry, ErrorKind::Message(text)));
                }
                continue;
            }
            let types = self.types.last_mut().expect("a level per block");
            for extension in &entry.args {
                let extension = extension.value.to_ascii_lowercase();
                let content_type = entry.name.value.clone();
                let Some((_, old)) = types.iter_mut().find(|(e, _)| *e == extension) else {
                    types.push((extension, content_type));
                    continue;
                };
                let old = std::mem::replace(old, content_type);
                let mut message = b"duplicate extension \"".to_vec();
                message.extend_from_slice(&extension);
                message.extend_from_slice(b"\", content type: \"");
                message.extend_from_slice(&entry.name.value);
                message.extend_from_slice(b"\", previous content type: \"");
                message.extend_from_slice(&old);
                message.push(b'"');
                self.warnings.push(at(entry, ErrorKind::Message(message)));
            }
        }
        Ok(())
    }

    /// The checks nginx makes when a block closes.
    fn block_end(&mut self, d: &Directive, child: Context) -> Result<(), ParseError> {
        match child {
            Context::StreamServer => {
                let server = self.stream.servers.last().expect("pushed when opened");
                if !server.listen {
                    let mut message = b"no \"listen\" is defined for server".to_vec();
                    message.extend_from_slice(&server.place.suffix_bytes());
                    return Err(ParseError::nowhere(ErrorKind::Message(message)));
                }
            }
            Context::StreamUpstream => {
                let servers = d.block.as_ref().map_or(0, |block| {
                    block.expanded(self.config).filter(|e| e.name.value == b"server").count()
                });
                if servers == 0 {
                    let text = b"no servers are inside upstream".to_vec();
                    return Err(ParseError {
                        kind: ErrorKind::Message(text),
                        place: close_place(d),
                    });
                }
            }
            Context::StreamMain => self.stream_end()?,
            _ => {}
        }
        Ok(())
    }

    /// What nginx checks when `stream {}` closes, in its module order: the core merge (a
    /// handler per server), the proxy merge, implicit upstreams, the ssl merge, then the
    /// variables.
    fn stream_end(&mut self) -> Result<(), ParseError> {
        let stream = std::mem::take(&mut self.stream);

        // Step: the merge: every server needs a content handler.
        for server in &stream.servers {
            if !server.handler {
                let mut message = b"no handler for server".to_vec();
                message.extend_from_slice(&server.place.suffix_bytes());
                return Err(ParseError::nowhere(ErrorKind::Message(message)));
            }
        }

        // Step: the proxy module's merge: a client certificate needs its key, verification
        // needs trusted certificates (only where `proxy_ssl` is on).
        for server in &stream.servers {
            let tls = server.tls.merged(&stream.tls);
            if tls.proxy_ssl != Some(true) {
                continue;
            }
            if let Some(certificate) = &tls.proxy_certificate {
                if !certificate.is_empty() && tls.proxy_key.is_none() {
                    let mut message =
                        b"no \"proxy_ssl_certificate_key\" is defined for certificate \"".to_vec();
                    message.extend_from_slice(certificate);
                    message.push(b'"');
                    return Err(ParseError::nowhere(ErrorKind::Message(message)));
                }
            }
            if tls.proxy_verify == Some(true) && tls.proxy_trusted.is_none() {
                let text = b"no proxy_ssl_trusted_certificate for proxy_ssl_verify".to_vec();
                return Err(ParseError::nowhere(ErrorKind::Message(text)));
            }
        }

        // Step: the upstream module's main configuration, each upstream in the order nginx
        // made it: a block needs a primary (not `backup`) server for round robin; an implicit
        // one (a `proxy_pass` target) needs a port and, unless it named an address, a host
        // that resolves.
        for upstream in &stream.upstreams {
            let what = if upstream.block {
                if upstream.primaries > 0 {
                    continue;
                }
                "no servers"
            } else if upstream.addressed {
                continue;
            } else if upstream.port == 0 {
                "no port"
            } else if self.resolve(&upstream.host).is_none() {
                "host not found"
            } else {
                continue;
            };
            let mut message = format!("{what} in upstream \"").into_bytes();
            message.extend_from_slice(&upstream.host);
            message.push(b'"');
            message.extend_from_slice(&upstream.place.suffix_bytes());
            return Err(ParseError::nowhere(ErrorKind::Message(message)));
        }

        // Step: the ssl module's merge: certificates and keys of `listen ... ssl` servers, and
        // a CA for client verification.
        for server in &stream.servers {
            let tls = server.tls.merged(&stream.tls);
            let nowhere = |message: Vec<u8>| ParseError::nowhere(ErrorKind::Message(message));
            if let Some(listen) = &server.ssl {
                let suffix = listen.suffix_bytes();
                if tls.certificates.is_empty() {
                    let mut message =
                        b"no \"ssl_certificate\" is defined for the \"listen ... ssl\" \
                        directive"
                            .to_vec();
                    message.extend_from_slice(&suffix);
                    return Err(nowhere(message));
                }
                if tls.keys == 0 {
                    let mut message =
                        b"no \"ssl_certificate_key\" is defined for the \"listen ... \
                        ssl\" directive"
                            .to_vec();
                    message.extend_from_slice(&suffix);
                    return Err(nowhere(message));
                }
                if let Some(certificate) = tls.certificates.get(tls.keys) {
                    let mut message =
                        b"no \"ssl_certificate_key\" is defined for certificate \"".to_vec();
                    message.extend_from_slice(certificate);
                    message.extend_from_slice(b"\" and the \"listen ... ssl\" directive");
                    message.extend_from_slice(&suffix);
                    return Err(nowhere(message));
                }
            } else if tls.certificates.is_empty() {
                continue;
            } else if let Some(certificate) = tls.certificates.get(tls.keys) {
                let mut message =
                    b"no \"ssl_certificate_key\" is defined for certificate \"".to_vec();
                message.extend_from_slice(certificate);
                message.push(b'"');
                return Err(nowhere(message));
            }
            let verify = tls.verify_client.as_deref();
            if matches!(verify, Some(b"on" | b"optional")) && tls.client_certificate.is_none() {
                return Err(nowhere(b"no ssl_client_certificate for ssl_verify_client".to_vec()));
            }
        }

        // Step: every variable used must exist. nginx keeps names lower-cased
        // (ngx_stream_get_variable_index), and its message shows them so.
        for name in &stream.used {
            let name = name.to_ascii_lowercase();
            if !self.is_builtin(&name) && !stream.defined.contains(&name) {
                return Err(ParseError::nowhere(ErrorKind::UnknownVariable { name }));
            }
        }
        Ok(())
    }

    /// A path relative to the config prefix.
    fn conf_path(&self, path: &[u8]) -> PathBuf {
        prefixed(&self.options.conf_prefix, path)
    }
}

/// Error log levels (`ngx_log.c`), and the debug masks.
const LOG_LEVELS: &[&str] = &[
    "emerg",
    "alert",
    "crit",
    "error",
    "warn",
    "notice",
    "info",
    "debug",
    "debug_core",
    "debug_alloc",
    "debug_mutex",
    "debug_event",
    "debug_http",
    "debug_mail",
    "debug_stream",
];

/// Handlers of the core and events modules that strait runs: `worker_processes`,
/// `error_log` (in any context), `worker_connections`, `use`.
fn core_handler(d: &Directive, context: Context) -> Result<(), ParseError> {
    let args: Vec<&[u8]> = d.args.iter().map(|a| a.value.as_slice()).collect();
    match (context, d.name.value.as_slice()) {
        (Context::Main, b"worker_processes")
            if args[0] != b"auto" && values::parse_int(args[0]).is_none() =>
        {
            return Err(directive_text(d, "invalid value"));
        }
        (_, b"error_log") => {
            for level in &args[1..] {
                if !LOG_LEVELS.iter().any(|l| l.as_bytes() == *level) {
                    return Err(quoted(d, "invalid log level ", level, ""));
                }
            }
        }
        (Context::Events, b"worker_connections") if values::parse_int(args[0]).is_none() => {
            return Err(quoted(d, "invalid number ", args[0], ""));
        }
        (Context::Events, b"use") if !matches!(args[0], b"epoll" | b"poll" | b"select") => {
            return Err(quoted(d, "invalid event type ", args[0], ""));
        }
        _ => {}
    }
    Ok(())
}

/// The TLS directives whose values the merge checks read.
fn is_tls_setting(name: &[u8]) -> bool {
    matches!(
        name,
        b"proxy_ssl"
            | b"proxy_ssl_certificate"
            | b"proxy_ssl_certificate_key"
            | b"proxy_ssl_verify"
            | b"proxy_ssl_trusted_certificate"
            | b"ssl_certificate"
            | b"ssl_certificate_key"
            | b"ssl_verify_client"
            | b"ssl_client_certificate"
    )
}

/// `path` as nginx's `ngx_conf_full_name` makes it: as given when absolute, else under
/// `prefix`.
fn prefixed(prefix: &Path, path: &[u8]) -> PathBuf {
    let path = Path::new(std::ffi::OsStr::from_bytes(path));
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        prefix.join(path)
    }
}

/// What `dlopen()` of `path` would say (glibc's words) when the file cannot be opened or
/// read; `None` when it can. The content is not looked at: strait loads no module.
fn dlopen_fault(path: &Path) -> Option<String> {
    use std::io::Read;
    let text = |err: std::io::Error| crate::error::strerror(err.raw_os_error().unwrap_or(2));
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => return Some(format!("cannot open shared object file: {}", text(err))),
    };
    // An empty file reads to its end: not a read failure.
    match file.read_exact(&mut [0u8; 1]) {
        Err(err) if err.kind() != std::io::ErrorKind::UnexpectedEof => {
            Some(format!("cannot read file data: {}", text(err)))
        }
        _ => None,
    }
}

/// nginx's smallest shared memory zone: eight pages of 4096 bytes.
const MIN_ZONE_SIZE: u64 = 8 * 4096;

/// One `ssl_session_cache` value as nginx reads it: `off`, `none`, `builtin[:N]`, or
/// `shared:NAME:SIZE` (the name ends at the first `:`), giving the shared zone's name and
/// size. `None`: an invalid value.
fn session_cache(value: &[u8]) -> Option<Option<(&[u8], u64)>> {
    if value == b"off" || value == b"none" || value == b"builtin" {
        return Some(None);
    }
    if let Some(size) = value.strip_prefix(b"builtin:") {
        return values::parse_int(size).map(|_| None);
    }
    let rest = value.strip_prefix(b"shared:")?;
    let at = rest.iter().position(|&b| b == b':').filter(|&at| at > 0)?;
    let size = values::parse_size(&rest[at + 1..])?;
    Some(Some((&rest[..at], size)))
}

/// The names of a regex's named groups (`(?<name>`, `(?P<name>`, `(?'name'`): PCRE makes
/// each a variable when nginx compiles the regex.
fn named_captures(regex: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut rest = regex;
    while let Some(at) = rest.windows(2).position(|w| w == b"(?") {
        rest = &rest[at + 2..];
        let after = rest.strip_prefix(b"P").unwrap_or(rest);
        let Some((&open, body)) = after.split_first() else { break };
        let close = match open {
            b'<' => b'>',
            b'\'' => b'\'',
            _ => continue,
        };
        let end = body.iter().position(|&b| b == close).unwrap_or(0);
        let name = &body[..end];
        if !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_') {
            names.push(name);
        }
    }
    names
}

/// The target of `error_log` as `ngx_log_set_log` reads it before the levels: a `memory:`
/// buffer's size and a `syslog:` target's parameters (a server's host name found with
/// `resolve`); files are opened once the whole configuration is read, `stderr` needs
/// nothing.
fn error_log_target(d: &Directive, log: &[u8], resolve: &Resolve<'_>) -> Result<(), ParseError> {
    if let Some(size) = log.strip_prefix(b"memory:") {
        let file = d.name.location.file.as_deref();
        if memory_log_size(size, file).is_none() {
            return Err(quoted(d, "invalid buffer size ", size, ""));
        }
    } else if let Some(parameters) = log.strip_prefix(b"syslog:") {
        syslog_target(parameters, resolve).map_err(|fault| at(d, fault.into()))?;
    }
    Ok(())
}

/// nginx's longest error log line (`NGX_MAX_ERROR_STR`).
const MAX_ERROR_LINE: u64 = 2048;

/// The size of an `error_log memory:SIZE` buffer (nginx built `--with-debug`, as Debian's is),
/// or `None` when nginx refuses it: the buffer must hold its first line (`MEMLOG SIZE
/// FILE:LINE`, with room for the longest size and line number) and one longest error line.
/// `file` is the configuration file that names the buffer, `None` for `-g` directives (an
/// empty name then).
pub fn memory_log_size(size: &[u8], file: Option<&Path>) -> Option<u64> {
    let file_len = file.map_or(0, |path| path.as_os_str().len());
    // "MEMLOG  :\n" with its NUL, then the longest size_t and ngx_int_t texts.
    let needed = 11 + file_len as u64 + 20 + 20 + MAX_ERROR_LINE;
    values::parse_size(size).filter(|size| *size >= needed)
}

/// Where a `syslog:` log sends its datagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogServer {
    /// `server=ADDRESS[:PORT]`, port 514 by default; a host name is resolved at load.
    Inet(std::net::SocketAddr),
    /// `server=unix:PATH`: a unix datagram socket.
    Unix(PathBuf),
}

/// A `syslog:` log target of `error_log` or `access_log`, as `ngx_syslog_process_conf` reads
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogTarget {
    /// `server=`: where the datagrams go.
    pub server: SyslogServer,
    /// `facility=`: its number in nginx's list (`local7`, 23, when not given).
    pub facility: u8,
    /// `severity=`: its number (`emerg` 0 to `debug` 7); `None` when not given. An access log
    /// sends `info` then; an error log always sends the level of each line.
    pub severity: Option<u8>,
    /// `tag=`: `nginx` when not given; may be empty.
    pub tag: Vec<u8>,
    /// Whether the header names the host (`nohostname` leaves it out).
    pub hostname: bool,
}

/// What nginx finds wrong with the parameters of a `syslog:` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyslogFault {
    /// A parameter nginx does not know (`syslog:` alone is one empty parameter).
    UnknownParameter(Vec<u8>),
    /// `server`, `facility`, `severity` or `tag` given twice.
    Duplicate(&'static str),
    /// `server=` that nginx's URL parser refuses: its fault and the address.
    Server(&'static str, Vec<u8>),
    /// A `facility=` name not in nginx's list.
    UnknownFacility(Vec<u8>),
    /// A `severity=` name that is not a log level.
    UnknownSeverity(Vec<u8>),
    /// `tag=` longer than RFC 3164's 32 characters.
    TagTooLong,
    /// `tag=` with a character other than letters, digits and `_`.
    TagCharacters,
    /// No `server=`.
    NoServer,
}

impl SyslogFault {
    /// nginx's message, with the configuration's bytes as written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let quoted = |text: &str, value: &[u8]| [text.as_bytes(), b"\"", value, b"\""].concat();
        match self {
            SyslogFault::UnknownParameter(p) => quoted("unknown syslog parameter ", p),
            SyslogFault::Duplicate(name) => format!("duplicate syslog \"{name}\"").into_bytes(),
            SyslogFault::Server(fault, url) => quoted(&format!("{fault} in syslog server "), url),
            SyslogFault::UnknownFacility(name) => quoted("unknown syslog facility ", name),
            SyslogFault::UnknownSeverity(name) => quoted("unknown syslog severity ", name),
            SyslogFault::TagTooLong => b"syslog tag length exceeds 32".to_vec(),
            SyslogFault::TagCharacters => {
                b"syslog \"tag\" only allows alphanumeric characters and underscore".to_vec()
            }
            SyslogFault::NoServer => b"no syslog server specified".to_vec(),
        }
    }
}

impl std::fmt::Display for SyslogFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

impl std::error::Error for SyslogFault {}

impl From<SyslogFault> for ErrorKind {
    fn from(fault: SyslogFault) -> ErrorKind {
        ErrorKind::Message(fault.to_bytes())
    }
}

/// The facility names of `ngx_syslog.c`, in number order (`intern` is syslog's own).
const SYSLOG_FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "intern", "lpr", "news", "uucp", "clock", "authpriv",
    "ftp", "ntp", "audit", "alert", "cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// How a host name is found: its first address (nginx's `ngx_inet_resolve_host` lists the
/// IPv4 ones first), `None` when there is none.
pub type Resolve<'r> = dyn Fn(&[u8]) -> Option<IpAddr> + 'r;

/// The parameters of a `syslog:` target (the text after `syslog:`), read as
/// `ngx_syslog_parse_args` reads them: comma-separated, each checked in turn (a server's
/// host name found with `resolve` there), then a server is required.
pub fn syslog_target(
    parameters: &[u8],
    resolve: &Resolve<'_>,
) -> Result<SyslogTarget, SyslogFault> {
    let mut server = None;
    let mut facility = None;
    let mut severity = None;
    let mut tag: Option<&[u8]> = None;
    let mut hostname = true;
    for param in parameters.split(|&b| b == b',') {
        if let Some(url) = param.strip_prefix(b"server=") {
            if server.is_some() {
                return Err(SyslogFault::Duplicate("server"));
            }
            let address =
                syslog_server(url, resolve).map_err(|e| SyslogFault::Server(e, url.to_vec()))?;
            server = Some(address);
        } else if let Some(name) = param.strip_prefix(b"facility=") {
            if facility.is_some() {
                return Err(SyslogFault::Duplicate("facility"));
            }
            let number = SYSLOG_FACILITIES.iter().position(|f| f.as_bytes() == name);
            facility = Some(number.ok_or_else(|| SyslogFault::UnknownFacility(name.to_vec()))?);
        } else if let Some(name) = param.strip_prefix(b"severity=") {
            if severity.is_some() {
                return Err(SyslogFault::Duplicate("severity"));
            }
            // The eight error log levels, in number order.
            let number = LOG_LEVELS[..8].iter().position(|l| l.as_bytes() == name);
            severity = Some(number.ok_or_else(|| SyslogFault::UnknownSeverity(name.to_vec()))?);
        } else if let Some(value) = param.strip_prefix(b"tag=") {
            if tag.is_some() {
                return Err(SyslogFault::Duplicate("tag"));
            }
            // RFC 3164: alphanumeric, at most 32 characters (nginx lets `_` in too).
            if value.len() > 32 {
                return Err(SyslogFault::TagTooLong);
            }
            if !value.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                return Err(SyslogFault::TagCharacters);
            }
            tag = Some(value);
        } else if param == b"nohostname" {
            hostname = false;
        } else {
            return Err(SyslogFault::UnknownParameter(param.to_vec()));
        }
    }
    Ok(SyslogTarget {
        server: server.ok_or(SyslogFault::NoServer)?,
        facility: facility.map_or(23, |n| n as u8),
        severity: severity.map(|n| n as u8),
        tag: tag.unwrap_or(b"nginx").to_vec(),
        hostname,
    })
}

/// `server=` as `ngx_parse_url` reads it, with 514 for a missing port; a host name is found
/// with `resolve`, as nginx resolves it at load. The error is nginx's (`invalid port`, `host
/// not found`...).
fn syslog_server(url: &[u8], resolve: &Resolve<'_>) -> Result<SyslogServer, &'static str> {
    let options = UrlOptions { listen: false, default_port: 514 };
    let parsed = values::parse_url(url, options).map_err(UrlError::text)?;
    let ip = match parsed.target {
        UrlTarget::Unix => {
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(parsed.host));
            return Ok(SyslogServer::Unix(path));
        }
        UrlTarget::Addr(ip) => ip,
        UrlTarget::Name => resolve(parsed.host).ok_or("host not found")?,
    };
    Ok(SyslogServer::Inet(SocketAddr::new(ip, parsed.port)))
}

/// `resolver ADDRESS... [valid=TIME] [ipv4=on|off] [ipv6=on|off]` as `ngx_resolver_create`
/// reads it: each parameter and address in turn (host names resolved, as nginx does), then
/// at least one name server. `resolves` says whether a host name is found.
fn resolver(
    d: &Directive,
    args: &[&[u8]],
    resolves: &dyn Fn(&[u8]) -> bool,
) -> Result<(), ParseError> {
    let mut servers = 0;
    let (mut ipv4, mut ipv6) = (true, true);
    for arg in args {
        let invalid = || {
            let mut message = b"invalid parameter: ".to_vec();
            message.extend_from_slice(arg);
            at(d, ErrorKind::Message(message))
        };
        let flag = |value: &[u8]| match value {
            b"on" => Ok(true),
            b"off" => Ok(false),
            _ => Err(invalid()),
        };

        // Step: the parameters.
        if let Some(time) = arg.strip_prefix(b"valid=") {
            values::parse_time(time, TimeUnit::Seconds).ok_or_else(invalid)?;
            continue;
        }
        if let Some(value) = arg.strip_prefix(b"ipv4=") {
            ipv4 = flag(value)?;
            continue;
        }
        if let Some(value) = arg.strip_prefix(b"ipv6=") {
            ipv6 = flag(value)?;
            continue;
        }
        if arg.starts_with(b"status_zone=") {
            continue;
        }

        // Step: a name server's address (port 53 when none is given).
        let options = UrlOptions { listen: false, default_port: 53 };
        let url = values::parse_url(arg, options)
            .map_err(|err| quoted(d, &format!("{err} in resolver "), arg, ""))?;
        if url.target == UrlTarget::Name && !resolves(url.host) {
            return Err(quoted(d, "host not found in resolver ", arg, ""));
        }
        servers += 1;
    }
    if !ipv4 && !ipv6 {
        let text = b"\"ipv4\" and \"ipv6\" cannot both be \"off\"".to_vec();
        return Err(at(d, ErrorKind::Message(text)));
    }
    if servers == 0 {
        return Err(at(d, ErrorKind::Message(b"no name servers defined".to_vec())));
    }
    Ok(())
}

/// A `split_clients` percentage `NN[.NN]` in hundredths, as `ngx_atofp(.., 2)` reads it
/// (`.5` is 0.5; a third decimal is an error); 0 is no percentage either.
fn parse_percent(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, &b""[..]),
    };
    let digits = whole.iter().chain(fraction);
    if fraction.len() > 2 || !digits.clone().all(u8::is_ascii_digit) {
        return None;
    }
    let mut hundredths: u64 = 0;
    for &b in digits.chain(std::iter::repeat_n(&b'0', 2 - fraction.len())) {
        hundredths = hundredths.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (hundredths != 0 && hundredths <= i64::MAX as u64).then_some(hundredths)
}

/// A geo network as `ngx_stream_geo_cidr_value` reads it: `255.255.255.255` alone is that
/// host (which `ngx_ptocidr` refuses as `INADDR_NONE`), anything else is [`values::ptocidr`]'s.
fn geo_cidr(text: &[u8]) -> Option<(values::Cidr, bool)> {
    if text == b"255.255.255.255" {
        let network = std::net::Ipv4Addr::BROADCAST.into();
        return Some((values::Cidr { network, prefix: 32 }, false));
    }
    values::ptocidr(text)
}

/// The setting a directive's slot writes, for `is duplicate`: the deprecated aliases of
/// `proxy_buffer_size` share its slot in nginx.
fn slot_of(name: &[u8]) -> &[u8] {
    match name {
        b"proxy_downstream_buffer" | b"proxy_upstream_buffer" => b"proxy_buffer_size",
        _ => name,
    }
}

/// An entry of a block its module's handler reads (`map`, `geo`, `types`...) opening a
/// block: nginx's parser refuses the `{` before the handler sees the entry.
fn no_entry_block(entry: &Directive) -> Result<(), ParseError> {
    let lua = entry.args.last().is_some_and(|a| a.quote == Quote::Lua);
    if entry.block.is_some() || lua {
        return Err(at(entry, ErrorKind::UnexpectedChar(b'{')));
    }
    Ok(())
}

/// A geo block's networks and their values, as its radix trees hold them.
type GeoTree = std::collections::HashMap<values::Cidr, Vec<u8>>;

/// nginx's `[warn]` for a CIDR whose address has bits set past its prefix
/// (`ngx_ptocidr` returns NGX_DONE): `low address bits of 10.1.1.1/8 are meaningless`.
fn low_bits_warning(d: &Directive, text: &[u8]) -> ParseError {
    let mut message = b"low address bits of ".to_vec();
    message.extend_from_slice(text);
    message.extend_from_slice(b" are meaningless");
    at(d, ErrorKind::Message(message))
}

impl Context {
    /// Whether the context is inside `stream {}`.
    fn is_stream(self) -> bool {
        matches!(self, Context::StreamMain | Context::StreamServer | Context::StreamUpstream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::DEBIAN_NGINX_VERSION;
    use crate::{parse_bytes_partial, ParseOptions};

    const STREAM: &str = "events {}\nstream {\n    server {\n        listen 127.0.0.1:9000;\n";

    /// The first fault of `text` (as `/t/x.conf`) with `-g globals`, or "ok".
    fn first_fault(text: &str, globals: &str, version: Version) -> String {
        let options = ParseOptions { globals: globals.as_bytes().to_vec() };
        let outcome = parse_bytes_partial(text.as_bytes(), "/t/x.conf", &options);
        let options = CheckOptions {
            version,
            conf_prefix: "/t".into(),
            prefix: "/t".into(),
            ..CheckOptions::default()
        };
        match check_outcome(&outcome, &options) {
            Ok(_) => "ok".to_string(),
            Err(error) => error.to_string(),
        }
    }

    fn fault(text: &str) -> String {
        first_fault(text, "", registry::STRAIT_NGINX_VERSION)
    }

    #[test]
    fn syslog_targets_read_as_nginx_reads_them() {
        let none = |_: &[u8]| None;
        let target = syslog_target(b"server=127.0.0.1", &none).unwrap();
        assert_eq!(target.server, SyslogServer::Inet("127.0.0.1:514".parse().unwrap()));
        assert_eq!((target.facility, target.severity, target.hostname), (23, None, true));
        assert_eq!(target.tag, b"nginx");
        let all = b"tag=,nohostname,severity=debug,facility=kern,server=[::1]:5";
        let target = syslog_target(all, &none).unwrap();
        assert_eq!(target.server, SyslogServer::Inet("[::1]:5".parse().unwrap()));
        assert_eq!((target.facility, target.severity, target.hostname), (0, Some(7), false));
        assert_eq!(target.tag, b"");
        let unix = syslog_target(b"server=UNIX:/s", &none).unwrap().server;
        assert_eq!(unix, SyslogServer::Unix("/s".into()));
        let local = |host: &[u8]| (host == b"here").then_some(IpAddr::from([127, 0, 0, 2]));
        let named = syslog_target(b"server=here:7", &local).unwrap().server;
        assert_eq!(named, SyslogServer::Inet("127.0.0.2:7".parse().unwrap()));

        let fault = |text: &str| syslog_target(text.as_bytes(), &none).unwrap_err().to_string();
        assert_eq!(fault("server=here,x"), "host not found in syslog server \"here\"");
        assert_eq!(fault("server=1.2.3.4:5,,"), "unknown syslog parameter \"\"");
        assert_eq!(fault("server=::1"), "invalid port in syslog server \"::1\"");
        assert_eq!(fault("server=[zz]:5"), "invalid IPv6 address in syslog server \"[zz]:5\"");
        assert_eq!(fault("server=[::1]x"), "invalid host in syslog server \"[::1]x\"");
        assert_eq!(fault("server=[]:5"), "no host in syslog server \"[]:5\"");
        assert_eq!(fault("server=1.2.3.4?x"), "invalid host in syslog server \"1.2.3.4?x\"");
        let unknown = "unknown syslog parameter \"nohostnamex\"";
        assert_eq!(fault("server=1.2.3.4,nohostnamex"), unknown);
    }

    #[test]
    fn memory_logs_hold_their_first_line_and_one_error_line() {
        // 11 + 9 (/t/x.conf) + 40 + 2048 bytes at least; 11 + 40 + 2048 for -g.
        let conf = |size: u32| format!("error_log memory:{size};\nevents {{}}\n");
        assert_eq!(fault(&conf(2107)), "invalid buffer size \"2107\" in /t/x.conf:1");
        assert_eq!(fault(&conf(2108)), "ok");
        let version = registry::STRAIT_NGINX_VERSION;
        let got = first_fault("events {}\n", "error_log memory:2098;", version);
        assert_eq!(got, "invalid buffer size \"2098\" in command line");
        assert_eq!(first_fault("events {}\n", "error_log memory:2099;", version), "ok");
    }

    #[test]
    fn command_line_faults_say_so() {
        let got = first_fault("events {}\n", "daemon maybe;", registry::STRAIT_NGINX_VERSION);
        assert_eq!(
            got,
            "invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or \"off\" \
             in command line"
        );
    }

    #[test]
    fn a_repeat_between_command_line_and_file_is_found_in_the_file() {
        let got = first_fault("daemon off;\nevents {}\n", "daemon off;", DEBIAN_NGINX_VERSION);
        assert_eq!(got, "\"daemon\" directive is duplicate in /t/x.conf:1");
    }

    #[test]
    fn newer_directives_follow_the_target_version() {
        let text = format!("{STREAM}        pass 127.0.0.1:9001;\n    }}\n}}\n");
        assert_eq!(first_fault(&text, "", registry::STRAIT_NGINX_VERSION), "ok");
        assert_eq!(
            first_fault(&text, "", DEBIAN_NGINX_VERSION),
            "unknown directive \"pass\" in /t/x.conf:5"
        );
    }

    #[test]
    fn a_check_fault_before_a_lexer_fault_wins() {
        assert_eq!(fault("foo;\nbar \"a\"b;\n"), "unknown directive \"foo\" in /t/x.conf:1");
        assert_eq!(fault("events {}\nbar \"a\"b;\n"), "unexpected \"b\" in /t/x.conf:2");
    }

    #[test]
    fn blocks_open_at_a_lexer_fault_get_no_end_checks() {
        let text = "events {}\nstream {\n    server {\n        listen 127.0.0.1:9000;\n";
        assert_eq!(fault(text), "unexpected end of file, expecting \"}\" in /t/x.conf:5");
    }

    #[test]
    fn blocks_closed_before_a_lexer_fault_get_their_end_checks() {
        let server = "events {}\nstream {\n    server {\n        return x;\n    }\n";
        assert_eq!(
            fault(&format!("{server}}} \"a\"b\n")),
            "no \"listen\" is defined for server in /t/x.conf:3"
        );
        assert_eq!(fault(server), "no \"listen\" is defined for server in /t/x.conf:3");
        let split = "events {}\nstream {\n    split_clients $a $x {\n        60% a;\n        \
                     50% b;\n";
        assert_eq!(fault(&format!("{split}\"a\"b }}\n}}\n")), "unexpected \"b\" in /t/x.conf:6");
        assert_eq!(
            fault(&format!("{split}    }}\n\"a\"b\n")),
            "percent total is greater than 100% in /t/x.conf:6"
        );
    }

    #[test]
    fn variables_are_case_insensitive_and_prefixes_versioned() {
        let text =
            format!("{STREAM}        return $REMOTE_ADDR$proxy_protocol_tlv_alpn;\n    }}\n}}\n");
        assert_eq!(fault(&text), "ok");
        assert_eq!(
            first_fault(&text, "", DEBIAN_NGINX_VERSION),
            "unknown \"proxy_protocol_tlv_alpn\" variable"
        );
    }

    #[test]
    fn variables_defined_after_use_are_fine() {
        let text = format!(
            "{STREAM}        return $later;\n    }}\n    map $remote_addr $later {{\n        \
             default 1;\n    }}\n}}\n"
        );
        assert_eq!(fault(&text), "ok");
    }

    #[test]
    fn duplicate_bitmask_values_warn() {
        let text = format!(
            "{STREAM}        ssl_protocols TLSv1.2 tlsv1.2;\n        return x;\n    }}\n}}\n"
        );
        let outcome = parse_bytes_partial(text.as_bytes(), "/t/x.conf", &ParseOptions::default());
        let checked = check_outcome(&outcome, &CheckOptions::default()).unwrap();
        assert_eq!(checked.warnings.len(), 1);
        assert_eq!(checked.warnings[0].to_string(), "duplicate value \"tlsv1.2\" in /t/x.conf:5");
    }

    #[test]
    fn review_keeps_warnings_and_splits_faults_by_phase() {
        let review_of = |text: &str| {
            let outcome =
                parse_bytes_partial(text.as_bytes(), "/t/x.conf", &ParseOptions::default());
            review(&outcome, &CheckOptions::default())
        };
        let geo =
            "stream {\n    geo $g {\n        delete 10.0.0.1;\n        \\delete 1;\n    }\n}\n";
        let got = review_of(&format!("events {{}}\n{geo}"));
        assert_eq!(got.warnings.len(), 1);
        assert_eq!(got.fault.unwrap().to_string(), "invalid network \"\\delete\" in /t/x.conf:5");

        let got = review_of("stream { server { listen 127.0.0.1:1; limit_conn z 1; return x; } }");
        assert_eq!(got.fault, None);
        let steps: Vec<CycleStep> = got.cycle_faults.iter().map(|fault| fault.step).collect();
        assert_eq!(steps, [CycleStep::InitConf, CycleStep::SharedMemory]);
        assert_eq!(
            got.first_fault().unwrap().to_string(),
            "no \"events\" section in configuration"
        );
    }

    #[test]
    fn lua_blocks_are_unknown_directives() {
        let text = format!("{STREAM}        content_by_lua_block {{ ngx.say(1) }}\n    }}\n}}\n");
        assert_eq!(fault(&text), "unknown directive \"content_by_lua_block\" in /t/x.conf:5");
    }
}
