//! Stream variables: the index table compiled at load, nginx's core and upstream variables,
//! user variables (`set`, `map`, ...), complex values, and per-session evaluation with the
//! cacheable ones computed once per session, as nginx does.

use crate::conf::{text, ConfigError};
use crate::session::Session;
use std::collections::HashMap;
use std::fmt;
use strait_parser::template::{Segment, Template};
use strait_parser::values::inet_ntop;

/// The index of a variable in the table, fixed when the configuration is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarIndex(pub usize);

/// nginx's built-in stream variables that strait computes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Builtin {
    BinaryRemoteAddr,
    RemoteAddr,
    RemotePort,
    ServerAddr,
    ServerPort,
    BytesSent,
    BytesReceived,
    SessionTime,
    Status,
    Connection,
    NginxVersion,
    Hostname,
    Pid,
    Msec,
    TimeIso8601,
    TimeLocal,
    Protocol,
    UpstreamAddr,
    UpstreamBytesSent,
    UpstreamBytesReceived,
    UpstreamConnectTime,
    UpstreamFirstByteTime,
    UpstreamSessionTime,
    RealipRemoteAddr,
    RealipRemotePort,
    /// `$proxy_protocol_addr`, `_port`, `_server_addr`, `_server_port` (crate::proxy_protocol).
    ProxyProtocol(crate::proxy_protocol::ProxyPart),
    /// `$proxy_protocol_tlv_*` (nginx 1.23.2): never found, strait keeps no TLVs (README).
    ProxyProtocolTlv,
    /// `$limit_conn_status` (crate::limit_conn).
    LimitConnStatus,
}

impl Builtin {
    fn lookup(name: &str) -> Option<Builtin> {
        use crate::proxy_protocol::ProxyPart;
        use Builtin::*;
        Some(match name {
            "binary_remote_addr" => BinaryRemoteAddr,
            "remote_addr" => RemoteAddr,
            "remote_port" => RemotePort,
            "server_addr" => ServerAddr,
            "server_port" => ServerPort,
            "bytes_sent" => BytesSent,
            "bytes_received" => BytesReceived,
            "session_time" => SessionTime,
            "status" => Status,
            "connection" => Connection,
            "nginx_version" => NginxVersion,
            "hostname" => Hostname,
            "pid" => Pid,
            "msec" => Msec,
            "time_iso8601" => TimeIso8601,
            "time_local" => TimeLocal,
            "protocol" => Protocol,
            "upstream_addr" => UpstreamAddr,
            "upstream_bytes_sent" => UpstreamBytesSent,
            "upstream_bytes_received" => UpstreamBytesReceived,
            "upstream_connect_time" => UpstreamConnectTime,
            "upstream_first_byte_time" => UpstreamFirstByteTime,
            "upstream_session_time" => UpstreamSessionTime,
            "realip_remote_addr" => RealipRemoteAddr,
            "realip_remote_port" => RealipRemotePort,
            "proxy_protocol_addr" => ProxyProtocol(ProxyPart::Addr),
            "proxy_protocol_port" => ProxyProtocol(ProxyPart::Port),
            "proxy_protocol_server_addr" => ProxyProtocol(ProxyPart::ServerAddr),
            "proxy_protocol_server_port" => ProxyProtocol(ProxyPart::ServerPort),
            "limit_conn_status" => LimitConnStatus,
            _ if name.starts_with("proxy_protocol_tlv_") => ProxyProtocolTlv,
            _ => return None,
        })
    }

    /// Whether nginx computes the value once per session (false: `NGX_STREAM_VAR_NOCACHEABLE`).
    fn cacheable(self) -> bool {
        use Builtin::*;
        !matches!(
            self,
            SessionTime
                | Status
                | Msec
                | TimeIso8601
                | TimeLocal
                | UpstreamAddr
                | UpstreamBytesSent
                | UpstreamBytesReceived
                | UpstreamConnectTime
                | UpstreamFirstByteTime
                | UpstreamSessionTime
                | LimitConnStatus
        )
    }
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarSource {
    /// A built-in variable.
    Builtin(Builtin),
    /// `ssl_*` (not `ssl_preread_*`): provided by the TLS state of the client connection.
    Ssl(String),
    /// `ssl_preread_*`: provided by the ssl_preread phase.
    SslPreread(String),
    /// A `map` block, by its index in the plan.
    Map(usize),
    /// A `geo` block, by its index in the plan.
    Geo(usize),
    /// A `split_clients` block, by its index in the plan.
    SplitClients(usize),
    /// Assigned by `set`; empty until then (nginx's `ngx_stream_set_var`).
    Set,
    /// Only ever assigned by a named capture of a `map` regex; not found until one matches.
    Capture,
}

/// One entry of the variable table.
#[derive(Debug, Clone)]
pub struct VarDef {
    /// The name, lowercased (nginx matches variable names case-insensitively).
    pub name: String,
    /// Where the value comes from.
    pub source: VarSource,
    /// Whether it is computed once per session.
    pub cacheable: bool,
}

/// The variable table of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    defs: Vec<VarDef>,
    by_name: HashMap<String, VarIndex>,
}

impl Variables {
    /// Defines a user variable (`map`, `geo`, `split_clients`, `set`). A name already defined
    /// by a block keeps its source; `set` on it only assigns.
    pub fn define(
        &mut self,
        name: &[u8],
        source: VarSource,
        cacheable: bool,
    ) -> Result<VarIndex, ConfigError> {
        let name = text(name).to_ascii_lowercase();
        if let Some(&index) = self.by_name.get(&name) {
            let def = &mut self.defs[index.0];
            if matches!(def.source, VarSource::Builtin(_) | VarSource::Ssl(_)) {
                return Err(ConfigError::bare(format!("the duplicate \"{name}\" variable")));
            }
            // A later block defining the same variable replaces the handler, as in nginx;
            // `set` and captures only assign (`set` gives a capture its empty default).
            match (&def.source, &source) {
                (VarSource::Capture, VarSource::Set) => def.source = VarSource::Set,
                (_, VarSource::Set | VarSource::Capture) => {}
                _ => {
                    def.source = source;
                    def.cacheable = cacheable;
                }
            }
            return Ok(index);
        }
        if Builtin::lookup(&name).is_some() {
            return Err(ConfigError::bare(format!("the duplicate \"{name}\" variable")));
        }
        Ok(self.push(name, source, cacheable))
    }

    fn push(&mut self, name: String, source: VarSource, cacheable: bool) -> VarIndex {
        let index = VarIndex(self.defs.len());
        self.defs.push(VarDef { name: name.clone(), source, cacheable });
        self.by_name.insert(name, index);
        index
    }

    /// The index of a variable used in a value, adding built-in ones on first use;
    /// `unknown "x" variable` (no location, as nginx reports it) when nothing defines it.
    pub fn index(&mut self, name: &[u8]) -> Result<VarIndex, ConfigError> {
        let name = text(name).to_ascii_lowercase();
        if let Some(&index) = self.by_name.get(&name) {
            return Ok(index);
        }
        let (source, cacheable) = if let Some(builtin) = Builtin::lookup(&name) {
            (VarSource::Builtin(builtin), builtin.cacheable())
        } else if crate::unsupported::variable(&name).is_some() {
            return Err(ConfigError::bare(format!(
                "the \"${name}\" variable is not supported by strait yet"
            )));
        } else if name.starts_with("ssl_") {
            // The TLS module knows its variables (crate::tls::variables).
            match crate::tls::variables::check_name(&name).map_err(ConfigError::bare)? {
                true => (VarSource::SslPreread(name.clone()), true),
                false => (VarSource::Ssl(name.clone()), true),
            }
        } else {
            return Err(ConfigError::bare(format!("unknown \"{name}\" variable")));
        };
        Ok(self.push(name, source, cacheable))
    }

    /// Marks a variable computed on every use (`map ... { volatile; }`) or once.
    pub fn set_cacheable(&mut self, index: VarIndex, cacheable: bool) {
        self.defs[index.0].cacheable = cacheable;
    }

    /// The definition at `index`.
    pub fn def(&self, index: VarIndex) -> &VarDef {
        &self.defs[index.0]
    }

    /// How many variables the table holds (the size of a session's cache).
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

/// One piece of a complex value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Bytes copied as they are.
    Literal(Vec<u8>),
    /// A variable's value (empty when not found).
    Var(VarIndex),
    /// A regex capture `$1`..`$9` of the last matching `map` regex.
    Capture(usize),
}

/// A value with variables (nginx's "complex value"), compiled against the variable table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Complex {
    parts: Vec<Part>,
}

impl Complex {
    /// Compiles `value`, registering the variables it uses.
    pub fn compile(value: &[u8], vars: &mut Variables) -> Result<Complex, ConfigError> {
        let template =
            Template::parse(value).map_err(|kind| ConfigError::bare(text(&kind.message())))?;
        let mut parts = Vec::new();
        for segment in template.segments() {
            parts.push(match segment {
                Segment::Literal(bytes) => Part::Literal(bytes.clone()),
                Segment::Variable(name) => Part::Var(vars.index(name)?),
                Segment::Capture(n) => Part::Capture(*n as usize),
            });
        }
        Ok(Complex { parts })
    }

    /// A value without variables.
    pub fn literal(value: &[u8]) -> Complex {
        Complex { parts: vec![Part::Literal(value.to_vec())] }
    }

    /// The bytes when the value has no variables.
    pub fn as_literal(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The pieces of the value.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }
}

/// What the TLS layer provides for `ssl_*` / `ssl_preread_*` variables.
pub trait TlsVariables: Send + Sync + fmt::Debug {
    /// The value of variable `name` (lowercase, with its `ssl_` prefix), or `None` when it
    /// has no value for this connection.
    fn variable(&self, name: &str) -> Option<Vec<u8>>;
}

/// The per-session variable state: cached values and the last regex captures.
#[derive(Debug, Default)]
pub struct VarState {
    /// `None`: not computed yet; `Some(None)`: not found; `Some(Some(v))`: the value.
    cache: Vec<Option<Option<Vec<u8>>>>,
    /// The captures of the last regex match (`$1`..`$9`).
    pub captures: Option<crate::map::Captures>,
}

impl VarState {
    /// A state for a table of `len` variables.
    pub fn new(len: usize) -> VarState {
        VarState { cache: vec![None; len], ..VarState::default() }
    }

    /// Assigns a value (`set`).
    pub fn assign(&mut self, index: VarIndex, value: Vec<u8>) {
        self.cache[index.0] = Some(Some(value));
    }

    fn cached(&self, index: VarIndex) -> Option<&Option<Vec<u8>>> {
        self.cache[index.0].as_ref()
    }

    fn store(&mut self, index: VarIndex, value: Option<Vec<u8>>) {
        self.cache[index.0] = Some(value);
    }

    /// The bytes of capture `n` of the last match (empty when absent).
    pub fn capture(&self, n: usize) -> &[u8] {
        self.captures.as_ref().map_or(b"", |c| c.get(n))
    }
}

impl Session {
    /// The value of a variable, computing and caching it as nginx does; `None` when not found.
    pub fn variable(&mut self, index: VarIndex) -> Option<Vec<u8>> {
        let plan = self.plan.clone();
        let def = plan.variables.def(index);
        if let Some(value) = self.vars.cached(index) {
            if def.cacheable || matches!(def.source, VarSource::Set | VarSource::Capture) {
                return value.clone();
            }
        }
        let value = match &def.source {
            VarSource::Builtin(builtin) => self.builtin(*builtin),
            VarSource::Ssl(name) => self.ssl.as_ref().and_then(|t| t.variable(name)),
            VarSource::SslPreread(name) => self.ssl_preread.as_ref().and_then(|t| t.variable(name)),
            VarSource::Map(i) => crate::blocks::map_value(self, &plan, *i),
            VarSource::Geo(i) => crate::blocks::geo_value(self, &plan, *i),
            VarSource::SplitClients(i) => crate::blocks::split_clients_value(self, &plan, *i),
            VarSource::Set => Some(Vec::new()),
            VarSource::Capture => None,
        };
        if def.cacheable {
            self.vars.store(index, value.clone());
        }
        value
    }

    /// Evaluates a complex value.
    pub fn complex(&mut self, complex: &Complex) -> Vec<u8> {
        let mut out = Vec::new();
        for part in complex.parts() {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                Part::Var(index) => {
                    if let Some(value) = self.variable(*index) {
                        out.extend_from_slice(&value);
                    }
                }
                Part::Capture(n) => out.extend_from_slice(self.vars.capture(*n)),
            }
        }
        out
    }
}

/// The version strait reports as `$nginx_version` and in `-v` (see the binary's `-V`).
pub const NGINX_VERSION: &str = "1.27.5";

impl Session {
    /// Computes a built-in variable.
    fn builtin(&mut self, builtin: Builtin) -> Option<Vec<u8>> {
        use crate::session::ClientAddr;
        use Builtin::*;
        let now = std::time::SystemTime::now();
        let bytes = |s: String| Some(s.into_bytes());
        match builtin {
            BinaryRemoteAddr => match &self.client {
                ClientAddr::Inet(a) => Some(match a.ip() {
                    std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
                    std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
                }),
                ClientAddr::Unix => Some(Vec::new()),
            },
            RemoteAddr => bytes(self.client_text()),
            // nginx prints ports 1-65535 only: port 0 (a PROXY source after realip) is empty.
            RemotePort => match &self.client {
                ClientAddr::Inet(a) if a.port() > 0 => bytes(a.port().to_string()),
                _ => Some(Vec::new()),
            },
            // The connection's own address, before realip (crate::realip).
            RealipRemoteAddr => match self.realip_client() {
                ClientAddr::Inet(a) => bytes(inet_ntop(&a.ip())),
                ClientAddr::Unix => bytes("unix:".to_string()),
            },
            RealipRemotePort => match self.realip_client() {
                ClientAddr::Inet(a) => bytes(a.port().to_string()),
                ClientAddr::Unix => Some(Vec::new()),
            },
            ServerAddr => match self.local {
                Some(a) => bytes(inet_ntop(&a.ip())),
                None => bytes(self.listen_text.to_string()),
            },
            // A listen address without a port (port 0, the kernel's pick) is its own local
            // address, as in nginx, which prints ports 1-65535 only: empty.
            ServerPort => match self.local {
                Some(a) if a.port() > 0 => bytes(a.port().to_string()),
                _ => Some(Vec::new()),
            },
            BytesSent => bytes(self.sent.to_string()),
            BytesReceived => bytes(self.received.to_string()),
            SessionTime => bytes(crate::time::seconds_msec(self.start.elapsed())),
            Status => bytes(format!("{:03}", self.status)),
            Connection => bytes(self.number.to_string()),
            NginxVersion => bytes(NGINX_VERSION.to_string()),
            Hostname => bytes(hostname()),
            Pid => bytes(std::process::id().to_string()),
            Msec => bytes(crate::time::msec(now)),
            TimeIso8601 => bytes(crate::time::time_iso8601(now)),
            TimeLocal => bytes(crate::time::time_local(now)),
            Protocol => bytes("TCP".to_string()),
            ProxyProtocol(part) => self.proxy_protocol_variable(part),
            ProxyProtocolTlv => None,
            LimitConnStatus => self.limit_conn_status.map(|st| st.as_str().as_bytes().to_vec()),
            UpstreamAddr => self.upstream_list(|s| s.peer.clone()),
            UpstreamBytesSent => self.upstream_list(|s| s.bytes_sent.to_string()),
            UpstreamBytesReceived => self.upstream_list(|s| s.bytes_received.to_string()),
            UpstreamConnectTime => self.upstream_list(|s| optional_time(s.connect_time)),
            UpstreamFirstByteTime => self.upstream_list(|s| optional_time(s.first_byte_time)),
            UpstreamSessionTime => self.upstream_list(|s| optional_time(s.session_time)),
        }
    }

    /// An `$upstream_*` value: one item per attempt, joined with `, `.
    fn upstream_list(
        &self,
        item: impl Fn(&crate::session::UpstreamState) -> String,
    ) -> Option<Vec<u8>> {
        let states = &self.upstream.as_ref()?.states;
        if states.is_empty() {
            return None;
        }
        Some(states.iter().map(item).collect::<Vec<_>>().join(", ").into_bytes())
    }
}

fn optional_time(t: Option<std::time::Duration>) -> String {
    t.map_or_else(|| "-".to_string(), crate::time::seconds_msec)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_like_nginx_scripts() {
        let mut vars = Variables::default();
        let c = Complex::compile(b"a$remote_addr-${server_port}x$1", &mut vars).unwrap();
        assert_eq!(c.parts().len(), 6);
        assert_eq!(c.parts()[0], Part::Literal(b"a".to_vec()));
        assert_eq!(c.parts()[5], Part::Capture(1));
        assert!(Complex::compile(b"${x", &mut vars).is_err());
        let e = Complex::compile(b"$nope", &mut vars).unwrap_err();
        assert_eq!(e.to_string(), "unknown \"nope\" variable");
        // nginx 1.22: `return "a$";` gives `invalid variable name in FILE:LINE`.
        let e = Complex::compile(b"a$", &mut vars).unwrap_err();
        assert_eq!(e.to_string(), "invalid variable name");
    }

    #[test]
    fn names_are_case_insensitive() {
        let mut vars = Variables::default();
        let a = vars.index(b"REMOTE_ADDR").unwrap();
        let b = vars.index(b"remote_addr").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn builtins_cannot_be_redefined() {
        let mut vars = Variables::default();
        let e = vars.define(b"remote_addr", VarSource::Set, true).unwrap_err();
        assert_eq!(e.to_string(), "the duplicate \"remote_addr\" variable");
    }

    #[test]
    fn set_gives_a_capture_its_empty_default_and_blocks_keep_theirs() {
        let mut vars = Variables::default();
        let p = vars.define(b"p", VarSource::Capture, true).unwrap();
        vars.define(b"P", VarSource::Set, true).unwrap();
        assert_eq!(vars.def(p).source, VarSource::Set);
        vars.define(b"p", VarSource::Capture, true).unwrap();
        assert_eq!(vars.def(p).source, VarSource::Set);

        let m = vars.define(b"m", VarSource::Map(0), true).unwrap();
        vars.define(b"m", VarSource::Set, true).unwrap();
        vars.define(b"m", VarSource::Capture, true).unwrap();
        assert_eq!(vars.def(m).source, VarSource::Map(0));
    }
}
