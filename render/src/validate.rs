//! Validation with APISIX's rules, turning raw objects into checked, resolved ones.
//!
//! Each object is read on its own, field by field (`read.rs`: unknown fields and wrong
//! types are faults of that object, and hide none of its other fields), then checked; every
//! fault of every object is collected, so one run reports them all. An object with faults is
//! still checked (under its position when its id is not usable) but never used: a route
//! naming it says that it is invalid. Rules: `apisix/schema_def.lua`, `apisix/upstream.lua`,
//! `apisix/ssl.lua`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{self, ConfigDocument, Listener};
use crate::error::{Fault, ObjectKind};
use crate::keys;
use crate::model::{self, Id, Nodes, StreamRoute, Upstream};
use crate::read;

/// A checked stream route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The id as written.
    pub id: String,
    /// SNI condition.
    pub sni: Option<Sni>,
    /// `remote_addr` condition.
    pub remote_addr: Option<IpNet>,
    /// `server_addr` condition.
    pub server_addr: Option<IpNet>,
    /// `server_port` condition.
    pub server_port: Option<u16>,
    /// Index into [`Checked::upstreams`].
    pub upstream: usize,
}

/// A route's SNI as APISIX's router matches it, as written (APISIX compares it with the
/// client's SNI lower-cased, so one with upper-case letters never matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sni {
    /// Equal to the client's SNI.
    Exact(String),
    /// `*SUFFIX`: the client's SNI ends with SUFFIX (any depth) or is SUFFIX: APISIX's radix
    /// tree matches the reversed SUFFIX as an inclusive prefix (`*x.com` matches `x.com`).
    Wildcard(String),
}

impl Sni {
    /// The SNI as the route writes it (`*SUFFIX` for a wildcard).
    pub fn written(&self) -> String {
        match self {
            Sni::Exact(s) => s.clone(),
            Sni::Wildcard(suffix) => format!("*{suffix}"),
        }
    }
}

/// A checked upstream, inline or standalone.
#[derive(Debug, Clone)]
pub struct UpstreamPlan {
    /// The nginx `upstream {}` name.
    pub name: String,
    /// Where it comes from, for the comment above the block.
    pub origin: String,
    /// Peers.
    pub nodes: Vec<NodePlan>,
    /// Balancer.
    pub balancer: Balancer,
    /// `scheme: tls`.
    pub tls: bool,
    /// Client certificate and key to present, when set.
    pub client_cert: Option<ClientCert>,
    /// `tls.verify`.
    pub verify: bool,
    /// A `tls` block on an upstream whose scheme is not `tls`: unused, as in APISIX.
    pub tls_unused: bool,
    /// `timeout`.
    pub timeout: Option<Timeouts>,
    /// `retries`.
    pub retries: Option<u32>,
    /// `retry_timeout`.
    pub retry_timeout: Option<f64>,
}

/// An upstream's `timeout`, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// Connect timeout.
    pub connect: f64,
    /// Send timeout.
    pub send: f64,
    /// Read timeout.
    pub read: f64,
}

/// A peer.
#[derive(Debug, Clone)]
pub struct NodePlan {
    /// Host (IPv6 wrapped in brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Weight; 0 means never picked.
    pub weight: u32,
    /// Priority level.
    pub priority: i64,
}

/// The balancing method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Balancer {
    /// Weighted round robin.
    RoundRobin,
    /// Consistent hash on a variable name (without `$`).
    Chash(String),
    /// Least connections (also what `ewma` becomes).
    LeastConn {
        /// Written as `ewma`.
        from_ewma: bool,
    },
}

/// A client certificate and its decrypted key.
#[derive(Debug, Clone)]
pub struct ClientCert {
    /// Certificate chain PEM.
    pub cert: String,
    /// Private key PEM (decrypted).
    pub key: String,
    /// `inline` or `ssl "ID"`.
    pub source: String,
}

/// A server certificate for TLS listeners.
#[derive(Debug, Clone)]
pub struct ServerCert {
    /// The ssl object id.
    pub id: String,
    /// SNIs it serves.
    pub snis: Vec<String>,
    /// Certificate PEM.
    pub cert: String,
    /// Key PEM (decrypted).
    pub key: String,
}

/// Everything checked and resolved, ready to be laid out.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Routes in document order.
    pub routes: Vec<Route>,
    /// Upstreams: standalone ones in document order, then route-inline ones.
    pub upstreams: Vec<UpstreamPlan>,
    /// Server certificates in document order.
    pub server_certs: Vec<ServerCert>,
    /// Listeners.
    pub listeners: Vec<Listener>,
    /// `apisix.enable_reuseport`.
    pub reuseport: bool,
    /// `apisix.ssl.fallback_sni`.
    pub fallback_sni: Option<String>,
    /// `apisix.ssl.ssl_trusted_certificate`.
    pub trusted_certificate: Option<String>,
}

/// Checks both documents; all faults or the resolved objects.
pub fn check(routes: &Value, config: &Value) -> Result<(Checked, ConfigDocument), Vec<Fault>> {
    let mut faults = Vec::new();

    // The config document: listeners, keyring, ssl defaults.
    let config_doc: ConfigDocument =
        decode(config, ObjectKind::Config, "", &mut faults).unwrap_or_default();
    let listeners = config::tcp_listeners(&config_doc, &mut faults);
    let keyring = config::keyring(&config_doc, &mut faults);
    let fallback_sni = config_doc.apisix.ssl.fallback_sni.clone();
    let trusted_certificate = config_doc.apisix.ssl.ssl_trusted_certificate.clone();
    if let Some(sni) = &fallback_sni {
        if !host_def(sni) {
            faults.push(config::config_fault("apisix.ssl.fallback_sni", "invalid host name"));
        }
    }

    // The routes document's top level.
    let doc = read::document(routes, &mut faults);
    for key in doc.other.keys() {
        if !model::HTTP_KEYS.contains(&key.as_str()) {
            faults.push(Fault::new(
                ObjectKind::Document,
                "",
                key,
                "unknown key (expected stream_routes, upstreams, ssls)",
            ));
        }
    }

    // ssl objects, then upstreams, then routes: each refers only to those before it.
    let mut ctx = Ctx { faults, keyring, ssls: BTreeMap::new(), server_certs: Vec::new() };
    for (n, raw) in doc.ssls.iter().enumerate() {
        ctx.ssl(n, raw);
    }

    // Upstreams: one with faults is remembered as invalid, so that routes naming it say so.
    let mut upstreams = Vec::new();
    let mut upstream_ids: BTreeMap<String, Option<usize>> = BTreeMap::new();
    let mut upstream_names_lower: BTreeMap<String, String> = BTreeMap::new();
    for (n, raw) in doc.upstreams.iter().enumerate() {
        let start = ctx.faults.len();
        let label = read::label(raw, n);
        let Some(up) = read::upstream(raw, &label, &mut ctx.faults) else { continue };
        let id = ctx.id(ObjectKind::Upstream, &label, up.id.as_ref());
        let registered =
            id.filter(|id| ctx.unique(ObjectKind::Upstream, id, &mut upstream_names_lower));
        let name = format!("strait_upstream_{label}");
        let origin = format!("upstream \"{label}\"");
        let plan = ctx.upstream(ObjectKind::Upstream, &label, "", &up, name, origin);
        let Some(id) = registered else { continue };
        match plan.filter(|_| ctx.faults.len() == start) {
            Some(plan) => {
                upstream_ids.insert(id, Some(upstreams.len()));
                upstreams.push(plan);
            }
            None => {
                upstream_ids.insert(id, None);
            }
        }
    }

    // Routes.
    let mut routes = Vec::new();
    let mut route_ids_lower = BTreeMap::new();
    for (n, raw) in doc.stream_routes.iter().enumerate() {
        let start = ctx.faults.len();
        let label = read::label(raw, n);
        let Some(route) = read::stream_route(raw, &label, &mut ctx.faults) else { continue };
        let id = ctx.id(ObjectKind::StreamRoute, &label, route.id.as_ref());
        let unique =
            id.is_some_and(|id| ctx.unique(ObjectKind::StreamRoute, &id, &mut route_ids_lower));
        let checked = ctx.route(&label, &route, &upstream_ids, &mut upstreams);
        if let Some(r) = checked.filter(|_| unique && ctx.faults.len() == start) {
            routes.push(r);
        }
    }

    // Listener-level rules that need the objects: TLS listeners need a certificate.
    if listeners.iter().any(|l| l.tls) && ctx.server_certs.is_empty() {
        ctx.faults.push(config::config_fault(
            "apisix.stream_proxy.tcp",
            "a listener has tls but no ssl object of type server (enabled) has a certificate",
        ));
    }
    for up in &upstreams {
        if up.tls && up.verify && trusted_certificate.is_none() {
            ctx.faults.push(Fault::new(
                ObjectKind::Config,
                "",
                "apisix.ssl.ssl_trusted_certificate",
                format!("{} sets tls.verify but no trusted certificate is configured", up.origin),
            ));
        }
    }
    if let Some(path) = &trusted_certificate {
        let unsafe_char = path.chars().any(|c| c.is_whitespace() || "\"';{}$\\".contains(c));
        if path == "system" || path.is_empty() || unsafe_char {
            ctx.faults.push(config::config_fault(
                "apisix.ssl.ssl_trusted_certificate",
                "expect the path of a CA file (\"system\" is not resolved by strait)",
            ));
        }
    }

    nginx_settings(&config_doc, &mut ctx.faults);

    if !ctx.faults.is_empty() {
        return Err(ctx.faults);
    }
    let reuseport = config_doc.apisix.enable_reuseport.unwrap_or(true);
    let checked = Checked {
        routes,
        upstreams,
        server_certs: ctx.server_certs,
        listeners,
        reuseport,
        fallback_sni,
        trusted_certificate,
    };
    Ok((checked, config_doc))
}

/// Decodes one object, recording the field path of the first fault.
fn decode<T: DeserializeOwned>(
    raw: &Value,
    kind: ObjectKind,
    label: &str,
    faults: &mut Vec<Fault>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(raw) {
        Ok(v) => Some(v),
        Err(err) => {
            let path = err.path().to_string();
            let field = if path == "." { String::new() } else { path };
            let message = redact_quoted_string(&err.into_inner().to_string());
            faults.push(Fault::new(kind, label, &field, message));
            None
        }
    }
}

/// serde quotes the offending value (`invalid type: string "...", expected ...`); a PEM key
/// put in the wrong field must not reach a terminal or a log, so long values are elided.
fn redact_quoted_string(message: &str) -> String {
    let Some(start) = message.find("string \"").map(|i| i + "string \"".len()) else {
        return message.to_owned();
    };
    let Some(len) = message[start..].rfind("\", expected") else {
        return message.to_owned();
    };
    let value = &message[start..start + len];
    if value.len() <= 32 && !value.contains("---") {
        return message.to_owned();
    }
    format!("{}<{} bytes>{}", &message[..start], value.len(), &message[start + len..])
}

/// State shared by the checks.
struct Ctx {
    faults: Vec<Fault>,
    keyring: Vec<String>,
    /// ssl objects by id, for `client_cert_id`.
    ssls: BTreeMap<String, SslEntry>,
    server_certs: Vec<ServerCert>,
}

impl Ctx {
    fn fault(&mut self, kind: ObjectKind, id: &str, field: &str, message: impl Into<String>) {
        self.faults.push(Fault::new(kind, id, field, message));
    }

    /// Whether `field` has a fault already (a value of the wrong type, found when reading).
    fn reported(&self, kind: ObjectKind, id: &str, field: &str) -> bool {
        self.faults.iter().any(|f| f.kind == kind && f.id == id && f.field == field)
    }

    /// A fault for a field that is absent, unless it is absent because its value had a
    /// fault when it was read (then that one fault says it).
    fn absent(&mut self, kind: ObjectKind, id: &str, field: &str, message: impl Into<String>) {
        if !self.reported(kind, id, field) {
            self.fault(kind, id, field, message);
        }
    }

    /// The id of a standalone object: it must be there (its faults, when it breaks
    /// `id_schema`, are reported where it was read).
    fn id(&mut self, kind: ObjectKind, label: &str, id: Option<&Id>) -> Option<String> {
        match id {
            None => {
                self.fault(kind, label, "id", "missing (objects of a standalone file need one)");
                None
            }
            Some(Id::Invalid) => None,
            Some(Id::Valid(id)) => Some(id.clone()),
        }
    }

    /// Ids must be unique, also case-insensitively: they become nginx map keys and names.
    fn unique(&mut self, kind: ObjectKind, id: &str, seen: &mut BTreeMap<String, String>) -> bool {
        match seen.get(&id.to_ascii_lowercase()) {
            Some(other) if other == id => {
                self.fault(kind, id, "id", "duplicate id");
                false
            }
            Some(other) => {
                let other = other.clone();
                self.fault(
                    kind,
                    id,
                    "id",
                    format!(
                        "differs from \"{other}\" only in case (nginx compares them caselessly)"
                    ),
                );
                false
            }
            None => {
                seen.insert(id.to_ascii_lowercase(), id.to_owned());
                true
            }
        }
    }

    /// Metadata fields shared by all objects.
    fn metadata(
        &mut self,
        kind: ObjectKind,
        id: &str,
        prefix: &str,
        name: Option<&String>,
        desc: Option<&String>,
        labels: Option<&BTreeMap<String, String>>,
    ) {
        if let Some(name) = name {
            if name.is_empty() || name.len() > 256 {
                self.fault(kind, id, &format!("{prefix}name"), "expect a string of 1..256 bytes");
            }
        }
        if desc.is_some_and(|d| d.len() > 256) {
            self.fault(kind, id, &format!("{prefix}desc"), "expect at most 256 bytes");
        }
        for (key, value) in labels.into_iter().flatten() {
            if value.is_empty() || value.len() > 256 || value.chars().any(char::is_whitespace) {
                self.fault(
                    kind,
                    id,
                    &format!("{prefix}labels.{key}"),
                    "expect 1..256 non-blank characters",
                );
            }
        }
    }

    /// An ssl object.
    fn ssl(&mut self, n: usize, raw: &Value) {
        // Read it; its checks run under its label even when its id is not usable.
        let kind = ObjectKind::Ssl;
        let start = self.faults.len();
        let label = read::label(raw, n);
        let Some(ssl) = read::ssl(raw, &label, &mut self.faults) else {
            return;
        };
        let registered = match self.id(kind, &label, ssl.id.as_ref()) {
            Some(id) if self.ssls.keys().any(|k| k.eq_ignore_ascii_case(&id)) => {
                self.fault(kind, &id, "id", "duplicate id");
                return;
            }
            registered => registered,
        };
        let id = label;
        self.metadata(kind, &id, "", None, ssl.desc.as_ref(), ssl.labels.as_ref());

        // Type and the fields each type requires.
        let client = match ssl.kind.as_deref() {
            None | Some("server") => false,
            Some("client") => true,
            Some(other) => {
                self.fault(kind, &id, "type", format!("expect server or client, got {other:?}"));
                false
            }
        };
        if !client && ssl.sni.is_some() == ssl.snis.is_some() {
            self.absent(kind, &id, "sni", "an ssl of type server needs exactly one of sni, snis");
        }
        let mut snis: Vec<String> = ssl.sni.iter().cloned().collect();
        snis.extend(ssl.snis.iter().flatten().cloned());
        if ssl.snis.as_ref().is_some_and(|s| s.is_empty()) {
            self.fault(kind, &id, "snis", "expect at least 1 item");
        }
        for sni in &snis {
            if !host_def(sni) {
                self.fault(kind, &id, "sni", format!("invalid host name {sni:?}"));
            }
        }
        for (field, set) in [
            ("certs", ssl.certs.is_some() || ssl.keys.is_some()),
            ("client", ssl.client.is_some()),
            ("ssl_protocols", ssl.ssl_protocols.is_some()),
        ] {
            if set {
                self.fault(kind, &id, field, "not supported by strait render");
            }
        }
        let enabled = match ssl.status {
            None | Some(1) => true,
            Some(0) => false,
            Some(other) => {
                self.fault(kind, &id, "status", format!("expect 0 or 1, got {other}"));
                true
            }
        };

        // Certificate and key: references resolved, key decrypted, both parsed.
        let pair = self.cert_and_key(
            kind,
            &id,
            ("cert", ssl.cert.as_deref()),
            ("key", ssl.key.as_deref()),
        );
        let Some(id) = registered else { return };
        let Some((cert, key)) = pair.filter(|_| self.faults.len() == start) else {
            self.ssls.insert(id, SslEntry::Invalid);
            return;
        };
        if client {
            self.ssls.insert(id, SslEntry::Client(cert, key));
        } else {
            self.ssls.insert(id.clone(), SslEntry::Server);
            if enabled {
                self.server_certs.push(ServerCert { id, snis, cert, key });
            }
        }
    }

    /// A certificate and key pair as stored, checked and made usable.
    fn cert_and_key(
        &mut self,
        kind: ObjectKind,
        id: &str,
        (cert_field, cert): (&str, Option<&str>),
        (key_field, key): (&str, Option<&str>),
    ) -> Option<(String, String)> {
        let cert = match cert {
            Some(c) => self.material(kind, id, cert_field, c, 128, false),
            None => {
                self.absent(kind, id, cert_field, "missing");
                None
            }
        };
        let key = match key {
            Some(k) => self.material(kind, id, key_field, k, 64, true),
            None => {
                self.absent(kind, id, key_field, "missing");
                None
            }
        };
        Some((cert?, key?))
    }

    /// One PEM value: length rule, reference, decryption (keys), parse.
    fn material(
        &mut self,
        kind: ObjectKind,
        id: &str,
        field: &str,
        value: &str,
        min_len: usize,
        is_key: bool,
    ) -> Option<String> {
        if !keys::is_reference(value) && !(min_len..=65536).contains(&value.len()) {
            self.fault(kind, id, field, format!("expect a string of {min_len}..65536 bytes"));
            return None;
        }
        let resolved = match keys::resolve_reference(value) {
            Ok(v) => v,
            Err(message) => {
                self.fault(kind, id, field, message);
                return None;
            }
        };
        let checked = if is_key {
            keys::decrypt_private_key(&resolved, &self.keyring)
        } else {
            keys::check_certificate(&resolved).map(|()| resolved)
        };
        match checked {
            Ok(v) => Some(v),
            Err(message) => {
                self.fault(kind, id, field, message);
                None
            }
        }
    }

    /// An upstream (standalone, or inline in a route when `prefix` is `upstream.`).
    fn upstream(
        &mut self,
        kind: ObjectKind,
        id: &str,
        prefix: &str,
        up: &Upstream,
        name: String,
        origin: String,
    ) -> Option<UpstreamPlan> {
        let start = self.faults.len();
        let f = |field: &str| format!("{prefix}{field}");
        self.metadata(kind, id, prefix, up.name.as_ref(), up.desc.as_ref(), up.labels.as_ref());

        // Features with no stream meaning here.
        if up.discovery_type.is_some() || up.service_name.is_some() || up.discovery_args.is_some() {
            self.fault(
                kind,
                id,
                &f("discovery_type"),
                "service discovery is not supported by strait render",
            );
        }
        if up.checks.is_some() {
            self.fault(kind, id, &f("checks"), "health checks are not supported by strait render");
        }
        if let Some(pass) = up.pass_host.as_deref() {
            if !["pass", "node", "rewrite"].contains(&pass) {
                self.fault(kind, id, &f("pass_host"), "expect pass, node or rewrite");
            }
        }
        if up.upstream_host.as_deref().is_some_and(|h| !host_def(h)) {
            self.fault(kind, id, &f("upstream_host"), "invalid host name");
        }
        if let Some(pool) = &up.keepalive_pool {
            if pool.size.is_some_and(|s| s < 1) || pool.requests.is_some_and(|r| r < 1) {
                self.fault(kind, id, &f("keepalive_pool"), "size and requests must be at least 1");
            }
            if pool.idle_timeout.is_some_and(|t| t < 0.0) {
                self.fault(kind, id, &f("keepalive_pool.idle_timeout"), "must be at least 0");
            }
        }

        // Nodes in both forms.
        let mut nodes = Vec::new();
        match &up.nodes {
            None if up.discovery_type.is_none() => {
                self.absent(kind, id, &f("nodes"), "missing (required without service discovery)")
            }
            None => {}
            Some(Nodes::Map(map)) => {
                for (addr, weight) in map {
                    // A weight of the wrong type is reported where it was read.
                    let Some(weight) = weight else { continue };
                    let field = f(&format!("nodes.{addr}"));
                    match split_host_port(addr) {
                        Ok((host, port)) => match check_node(&host, port, *weight, 0) {
                            Ok(node) => nodes.push(node),
                            Err(message) => self.fault(kind, id, &field, message),
                        },
                        Err(message) => self.fault(kind, id, &field, message),
                    }
                }
            }
            Some(Nodes::List(list)) => {
                for (n, node) in list.iter().enumerate() {
                    // An item that is not an object is reported where it was read.
                    let Some(node) = node else { continue };
                    let field = f(&format!("nodes[{n}]"));
                    let Some(port) = node.port else {
                        let port = format!("{field}.port");
                        self.absent(kind, id, &port, "missing (strait needs a port)");
                        continue;
                    };
                    // A missing or mistyped host or weight is reported where it was read.
                    let (Some(host), Some(weight)) = (&node.host, node.weight) else { continue };
                    match check_node(host, port, weight, node.priority.unwrap_or(0)) {
                        Ok(node) => nodes.push(node),
                        Err(message) => self.fault(kind, id, &field, message),
                    }
                }
            }
        }
        if up.nodes.as_ref().is_some_and(|n| match n {
            Nodes::Map(m) => m.is_empty(),
            Nodes::List(l) => l.is_empty(),
        }) {
            self.fault(kind, id, &f("nodes"), "no valid upstream node");
        }

        // Balancer and its key.
        let balancer = match up.balancer.as_deref().unwrap_or("roundrobin") {
            "roundrobin" => Balancer::RoundRobin,
            "least_conn" => Balancer::LeastConn { from_ewma: false },
            "ewma" => Balancer::LeastConn { from_ewma: true },
            "chash" => match self.chash_key(kind, id, prefix, up) {
                Some(key) => Balancer::Chash(key),
                None => Balancer::RoundRobin,
            },
            other => {
                self.fault(
                    kind,
                    id,
                    &f("type"),
                    format!("unknown balancer {other:?} (roundrobin, chash, ewma, least_conn)"),
                );
                Balancer::RoundRobin
            }
        };

        // Timeouts and retries.
        let mut timeout = None;
        if let Some(t) = &up.timeout {
            for (name, value) in [("connect", t.connect), ("send", t.send), ("read", t.read)] {
                if value.is_some_and(|v| v <= 0.0) {
                    self.fault(kind, id, &f(&format!("timeout.{name}")), "must be greater than 0");
                }
            }
            if let (Some(connect), Some(send), Some(read)) = (t.connect, t.send, t.read) {
                timeout = Some(Timeouts { connect, send, read });
            }
        }
        let retries = match up.retries {
            None => None,
            Some(r) => match u32::try_from(r) {
                Ok(r) => Some(r),
                Err(_) => {
                    self.fault(kind, id, &f("retries"), "must be at least 0");
                    None
                }
            },
        };
        if up.retry_timeout.is_some_and(|t| t < 0.0) {
            self.fault(kind, id, &f("retry_timeout"), "must be at least 0");
        }

        // Scheme and TLS.
        let tls_scheme = match up.scheme.as_deref().unwrap_or("http") {
            "tls" => true,
            "udp" => {
                self.fault(kind, id, &f("scheme"), "udp is not supported: strait proxies TCP");
                false
            }
            "tcp" | "http" | "https" | "grpc" | "grpcs" | "kafka" => false,
            other => {
                self.fault(
                    kind,
                    id,
                    &f("scheme"),
                    format!(
                        "{other:?} is not one of grpc, grpcs, http, https, tcp, tls, udp, kafka"
                    ),
                );
                false
            }
        };
        let mut client_cert = None;
        let mut verify = false;
        if let Some(tls) = &up.tls {
            verify = tls.verify.unwrap_or(false);
            match (&tls.client_cert, &tls.client_key, &tls.client_cert_id) {
                (Some(_), Some(_), Some(_)) => self.fault(
                    kind,
                    id,
                    &f("tls.client_cert_id"),
                    "excludes client_cert and client_key",
                ),
                (Some(cert), Some(key), None) => {
                    client_cert = self
                        .cert_and_key(
                            kind,
                            id,
                            (&f("tls.client_cert"), Some(cert)),
                            (&f("tls.client_key"), Some(key)),
                        )
                        .map(|(cert, key)| ClientCert { cert, key, source: "inline".into() });
                }
                // The other one absent, not because its value had a fault.
                (Some(_), None, _) if !self.reported(kind, id, &f("tls.client_key")) => {
                    self.fault(kind, id, &f("tls.client_cert"), "requires client_key")
                }
                (None, Some(_), _) if !self.reported(kind, id, &f("tls.client_cert")) => {
                    self.fault(kind, id, &f("tls.client_key"), "requires client_cert")
                }
                (Some(_), None, _) | (None, Some(_), _) => {}
                // An invalid id is reported where it was read.
                (None, None, Some(Id::Invalid)) => {}
                (None, None, Some(Id::Valid(ssl_id))) => {
                    let ssl_id = ssl_id.clone();
                    match self.ssls.get(&ssl_id) {
                        None => self.fault(
                            kind,
                            id,
                            &f("tls.client_cert_id"),
                            format!("failed to fetch ssl info by ssl id [{ssl_id}]: not found"),
                        ),
                        Some(SslEntry::Server) => self.fault(
                            kind,
                            id,
                            &f("tls.client_cert_id"),
                            format!(
                                "failed to fetch ssl info by ssl id [{ssl_id}], wrong ssl type"
                            ),
                        ),
                        // Its own faults are reported already.
                        Some(SslEntry::Invalid) => self.faults.push(Fault::new(
                            kind,
                            id,
                            &f("tls.client_cert_id"),
                            format!("ssl \"{ssl_id}\" is invalid"),
                        )),
                        Some(SslEntry::Client(cert, key)) => {
                            client_cert = Some(ClientCert {
                                cert: cert.clone(),
                                key: key.clone(),
                                source: format!("ssl \"{ssl_id}\""),
                            })
                        }
                    }
                }
                (None, None, None) => {}
            }
        }

        if self.faults.len() > start {
            return None;
        }
        Some(UpstreamPlan {
            name,
            origin,
            nodes,
            balancer,
            tls: tls_scheme,
            tls_unused: up.tls.is_some() && !tls_scheme,
            client_cert: client_cert.filter(|_| tls_scheme),
            verify: verify && tls_scheme,
            timeout,
            retries,
            retry_timeout: up.retry_timeout,
        })
    }

    /// The chash key: `hash_on: vars` only, and a variable that exists in nginx's stream module.
    fn chash_key(
        &mut self,
        kind: ObjectKind,
        id: &str,
        prefix: &str,
        up: &Upstream,
    ) -> Option<String> {
        let field = format!("{prefix}hash_on");
        match up.hash_on.as_deref().unwrap_or("vars") {
            "vars" => {}
            other @ ("header" | "cookie" | "consumer" | "vars_combinations") => {
                self.fault(kind, id, &field, format!("{other} is not available at L4"));
                return None;
            }
            other => {
                self.fault(kind, id, &field, format!("unknown hash_on {other:?}"));
                return None;
            }
        }
        let field = format!("{prefix}key");
        let Some(key) = up.key.as_deref() else {
            self.absent(kind, id, &field, "missing key");
            return None;
        };
        match key {
            "remote_addr" | "server_addr" | "remote_port" => Some(key.to_owned()),
            _ => {
                self.fault(
                    kind,
                    id,
                    &field,
                    format!(
                        "{key:?} is not a stream variable (use remote_addr, server_addr or \
                         remote_port)"
                    ),
                );
                None
            }
        }
    }

    /// A stream route.
    fn route(
        &mut self,
        id: &str,
        route: &StreamRoute,
        upstream_ids: &BTreeMap<String, Option<usize>>,
        upstreams: &mut Vec<UpstreamPlan>,
    ) -> Option<Route> {
        let kind = ObjectKind::StreamRoute;
        let start = self.faults.len();
        self.metadata(
            kind,
            id,
            "",
            route.name.as_ref(),
            route.desc.as_ref(),
            route.labels.as_ref(),
        );

        // Match fields.
        let addr = |field: &str, value: Option<&String>, this: &mut Ctx| {
            let value = value?;
            match parse_ip_def(value) {
                Some(net) => Some(net),
                None => {
                    this.fault(kind, id, field, format!("invalid {field}: {value}"));
                    None
                }
            }
        };
        let remote_addr = addr("remote_addr", route.remote_addr.as_ref(), self);
        let server_addr = addr("server_addr", route.server_addr.as_ref(), self);
        let server_port = match route.server_port {
            None => None,
            Some(p) => match u16::try_from(p).ok().filter(|p| *p >= 1) {
                Some(p) => Some(p),
                None => {
                    self.fault(kind, id, "server_port", format!("expect 1..65535, got {p}"));
                    None
                }
            },
        };
        let sni = match route.sni.as_deref() {
            None => None,
            Some(s) if !host_def(s) => {
                self.fault(kind, id, "sni", format!("invalid host name {s:?}"));
                None
            }
            Some(s) => Some(match s.strip_prefix('*') {
                Some(suffix) => Sni::Wildcard(suffix.to_owned()),
                None => Sni::Exact(s.to_owned()),
            }),
        };

        // What the translator cannot express.
        if route.service_id.is_some() {
            self.fault(kind, id, "service_id", "services are not supported by strait render");
        }
        if route.plugins.as_ref().is_some_and(|p| !p.is_empty()) {
            self.fault(kind, id, "plugins", "stream plugins are not supported by strait render");
        }
        if route.protocol.is_some() {
            self.fault(kind, id, "protocol", "xRPC protocols are not supported by strait render");
        }

        // The upstream: `upstream_id` wins over an inline upstream, as in APISIX.
        let upstream = match (&route.upstream_id, &route.upstream) {
            // An invalid id is reported where it was read.
            (Some(Id::Invalid), _) => None,
            (Some(Id::Valid(up_id)), _) => match upstream_ids.get(up_id) {
                Some(Some(index)) => Some(*index),
                // It exists and has faults of its own (reported with it): not "missing".
                Some(None) => {
                    let message = format!("upstream \"{up_id}\" is invalid");
                    self.fault(kind, id, "upstream_id", message);
                    None
                }
                None => {
                    self.fault(
                        kind,
                        id,
                        "upstream_id",
                        format!("failed to fetch upstream info by upstream id [{up_id}]"),
                    );
                    None
                }
            },
            (None, Some(up)) => {
                let name = format!("strait_route_{id}");
                let origin = format!("stream_route \"{id}\" (inline upstream)");
                self.upstream(kind, id, "upstream.", up, name, origin).map(|plan| {
                    upstreams.push(plan);
                    upstreams.len() - 1
                })
            }
            (None, None) => {
                let message = "missing upstream configuration (upstream or upstream_id)";
                self.absent(kind, id, "upstream", message);
                None
            }
        };

        if self.faults.len() > start {
            return None;
        }
        Some(Route {
            id: id.to_owned(),
            sni,
            remote_addr,
            server_addr,
            server_port,
            upstream: upstream?,
        })
    }
}

/// What a `client_cert_id` can refer to.
enum SslEntry {
    /// A valid client certificate: chain and decrypted key.
    Client(String, String),
    /// A valid ssl object of type server.
    Server,
    /// An ssl object with faults of its own.
    Invalid,
}

/// `nginx_config` values are written into the configuration as tokens: each must be one.
fn nginx_settings(doc: &ConfigDocument, faults: &mut Vec<Fault>) {
    let nginx = &doc.nginx_config;
    let mut token = |field: &str, value: Option<&String>| {
        if value.is_some_and(|v| !plain_token(v)) {
            faults.push(config::config_fault(field, "expect one word without quotes, ; { } or $"));
        }
    };
    token("nginx_config.user", nginx.user.as_ref());
    token("nginx_config.error_log", nginx.error_log.as_ref());
    token("nginx_config.stream.access_log", nginx.stream.access_log.as_ref());
    let levels = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"];
    if let Some(level) = &nginx.error_log_level {
        if !levels.contains(&level.as_str()) {
            faults.push(config::config_fault(
                "nginx_config.error_log_level",
                format!("expect one of {}", levels.join(", ")),
            ));
        }
    }
    let escapes = ["default", "json", "none"];
    if let Some(escape) = &nginx.stream.access_log_format_escape {
        if !escapes.contains(&escape.as_str()) {
            faults.push(config::config_fault(
                "nginx_config.stream.access_log_format_escape",
                "expect default, json or none",
            ));
        }
    }
    match &nginx.worker_processes {
        None => {}
        Some(Value::String(s)) if s == "auto" => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => {}
        Some(_) => faults.push(config::config_fault(
            "nginx_config.worker_processes",
            "expect auto or a number of at least 1",
        )),
    }
}

/// A value nginx reads as one unquoted token with no variables.
fn plain_token(value: &str) -> bool {
    !value.is_empty()
        && !value.chars().any(|c| c.is_whitespace() || c.is_control() || "\"';{}$\\#".contains(c))
}

/// `host_def`: `^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$`.
fn host_def(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let rest = s.strip_prefix('*').unwrap_or(s);
    !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
}

/// `ip_def`: an IPv4 or IPv6 address, or a CIDR of either.
fn parse_ip_def(s: &str) -> Option<IpNet> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    s.parse::<IpNet>().ok()
}

/// `"host:port"` of the node map form, read as APISIX's `core.utils.parse_addr` reads it:
/// `[v6]:port` for IPv6; a key with two colons before its first dot is an unbracketed IPv6
/// address, which has no port (`"::1"`, and `"fe80::1:8080"` too: its `8080` is a group).
/// APISIX takes the scheme's port for a key without one; strait needs it written.
fn split_host_port(addr: &str) -> Result<(String, i64), String> {
    let missing = || format!("missing port in {addr:?} (strait needs host:port)");
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (v6, port) = rest.split_once("]:").ok_or_else(missing)?;
        (v6.to_owned(), port)
    } else if unbracketed_ipv6(addr) {
        return Err(missing());
    } else {
        addr.rsplit_once(':').map(|(h, p)| (h.to_owned(), p)).ok_or_else(missing)?
    };
    let port = port.parse::<i64>().map_err(|_| format!("invalid port {port}"))?;
    Ok((host, port))
}

/// `parse_addr`'s test for an IPv6 address without brackets: a second colon before the
/// first dot (`::ffff:192.0.2.1` included).
fn unbracketed_ipv6(addr: &str) -> bool {
    addr.split('.').next().is_some_and(|head| head.matches(':').count() >= 2)
}

/// One node's host, port and weight.
fn check_node(host: &str, port: i64, weight: i64, priority: i64) -> Result<NodePlan, String> {
    if !host_def(host) || host.starts_with('*') {
        return Err(format!("invalid host {host:?}"));
    }
    let port =
        u16::try_from(port).ok().filter(|p| *p >= 1).ok_or(format!("invalid port {port}"))?;
    let weight = u32::try_from(weight).map_err(|_| format!("invalid weight {weight}"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let host = match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{bare}]"),
        _ => host.to_owned(),
    };
    Ok(NodePlan { host, port, weight, priority })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fault texts for a routes document with the default config.
    fn faults(routes: Value) -> Vec<String> {
        match check(&routes, &json!({})) {
            Ok(_) => Vec::new(),
            Err(faults) => faults.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn host_def_matches_apisix_pattern() {
        for ok in ["*", "*.test.com", "*x.com", "a.test.com", "127.0.0.1", "[::1]"] {
            assert!(host_def(ok), "{ok}");
        }
        for bad in ["", "a b", "a*.com", "**.com", "a/b"] {
            assert!(!host_def(bad), "{bad}");
        }
    }

    /// Node keys as APISIX's `parse_addr` splits them: an IPv6 address carries a port only
    /// in brackets; without them the whole key is the host, with no port.
    #[test]
    fn node_keys_split_as_apisix_parse_addr() {
        let missing =
            |addr: &str| Err(format!("missing port in {addr:?} (strait needs host:port)"));
        for addr in ["::1", "fe80::1:8080", "::ffff:192.0.2.1", "a:b:c", "127.0.0.1", "[::1]"] {
            assert_eq!(split_host_port(addr), missing(addr), "{addr}");
        }
        assert_eq!(split_host_port("[::1]:1995"), Ok(("::1".to_owned(), 1995)));
        assert_eq!(split_host_port("127.0.0.1:1995"), Ok(("127.0.0.1".to_owned(), 1995)));
        assert_eq!(split_host_port("a.b:1995"), Ok(("a.b".to_owned(), 1995)));
        assert_eq!(split_host_port("a.b:c:1995"), Ok(("a.b:c".to_owned(), 1995)));
    }

    #[test]
    fn tls_dependencies() {
        let up = |tls: Value| {
            json!({"upstreams": [{"id": 1, "nodes": {"127.0.0.1:1": 1},
                                                     "scheme": "tls", "tls": tls}]})
        };
        assert_eq!(
            faults(up(json!({"client_key": "x"}))),
            ["upstream \"1\": tls.client_key: requires client_cert"]
        );
        assert_eq!(
            faults(up(json!({"client_cert_id": "nope"}))),
            ["upstream \"1\": tls.client_cert_id: failed to fetch ssl info by ssl id [nope]: \
              not found"]
        );
        assert_eq!(
            faults(up(json!({"client_cert": "a", "client_key": "b", "client_cert_id": 1}))),
            ["upstream \"1\": tls.client_cert_id: excludes client_cert and client_key"]
        );
    }

    #[test]
    fn short_material_and_secret_references() {
        let ssl = |cert: &str, key: &str| {
            let object = json!({"id": "c", "type": "client", "cert": cert, "key": key});
            json!({ "ssls": [object] })
        };
        assert_eq!(
            faults(ssl("short", "$secret://vault/1/key")),
            [
                "ssl \"c\": cert: expect a string of 128..65536 bytes",
                "ssl \"c\": key: $secret://vault/1/key: $secret:// references are not supported \
                 by strait render"
            ]
        );
    }

    #[test]
    fn server_ssl_needs_exactly_one_of_sni_and_snis() {
        let got = faults(json!({"ssls": [{"id": "s", "cert": "x".repeat(128),
                                          "key": "y".repeat(64)}]}));
        assert_eq!(got[0], "ssl \"s\": sni: an ssl of type server needs exactly one of sni, snis");
    }

    #[test]
    fn nginx_settings_must_be_single_tokens() {
        let config = json!({"nginx_config": {"user": "root; daemon on", "error_log_level": "loud",
                                             "worker_processes": 0}});
        let got: Vec<String> = match check(&json!({}), &config) {
            Ok(_) => Vec::new(),
            Err(faults) => faults.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(
            got,
            [
                "config: nginx_config.user: expect one word without quotes, ; { } or $",
                "config: nginx_config.error_log_level: expect one of debug, info, notice, warn, \
                 error, crit, alert, emerg",
                "config: nginx_config.worker_processes: expect auto or a number of at least 1",
            ]
        );
    }

    #[test]
    fn a_key_in_the_wrong_field_is_not_echoed() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
        let got = faults(json!({"upstreams": [{"id": 1, "nodes": {"127.0.0.1:1": 1},
                                                "tls": pem}]}));
        assert_eq!(got.len(), 1);
        assert!(!got[0].contains("PRIVATE") && !got[0].contains("MIIE"), "{}", got[0]);
        assert_eq!(got[0], "upstream \"1\": tls: wrong type: expected object, got string");
    }

    /// The audit's cases: each object's faults all at once, with kind, id and field.
    #[test]
    fn every_fault_of_one_object_is_reported() {
        let got = faults(json!({
            "upstreams": [
                {"id": "u", "nodes": {"127.0.0.1:1": 1}, "colour": "red", "flavour": "sweet",
                 "type": "chash"},
                {"id": "t", "nodes": {"127.0.0.1:1": 1}, "scheme": "tls",
                 "tls": {"verify": "yes", "extra": 1}},
            ],
            "stream_routes": [{"id": "r", "bar": 2,
                               "upstream": {"nodes": {"127.0.0.1:1": 1}, "foo": 1}}],
        }));
        assert_eq!(
            got,
            [
                "upstream \"u\": colour: additional properties forbidden, found colour",
                "upstream \"u\": flavour: additional properties forbidden, found flavour",
                "upstream \"u\": key: missing key",
                "upstream \"t\": tls.verify: wrong type: expected boolean, got string",
                "upstream \"t\": tls.extra: additional properties forbidden, found extra",
                "stream_route \"r\": upstream.foo: additional properties forbidden, found foo",
                "stream_route \"r\": bar: additional properties forbidden, found bar",
            ]
        );
    }

    /// An upstream that exists but has faults is not "missing": it has its own faults and
    /// the route says that it is invalid.
    #[test]
    fn a_route_naming_an_upstream_with_faults_says_it_is_invalid() {
        let got = faults(json!({
            "upstreams": [{"id": "u", "nodes": {"127.0.0.1:1": 1}, "colour": "red"}],
            "stream_routes": [{"id": 1, "upstream_id": "u"}],
        }));
        assert_eq!(
            got,
            [
                "upstream \"u\": colour: additional properties forbidden, found colour",
                "stream_route \"1\": upstream_id: upstream \"u\" is invalid",
            ]
        );
    }

    /// `nodes` and `id` are two forms in APISIX; the fault is the form's own.
    #[test]
    fn faults_of_either_form_name_the_field() {
        let got = faults(json!({
            "upstreams": [{"id": "u", "nodes": [{"host": "127.0.0.1", "port": 1}]}],
            "stream_routes": [
                {"id": 1.5, "upstream_id": "u"},
                {"id": [1], "upstream_id": "u"},
            ],
        }));
        assert_eq!(
            got,
            [
                "upstream \"u\": nodes[0].weight: property \"weight\" is required",
                "stream_route #1: id: wrong type: expected integer, got number",
                "stream_route #1: upstream_id: upstream \"u\" is invalid",
                "stream_route #2: id: object matches none of the requireds",
                "stream_route #2: upstream_id: upstream \"u\" is invalid",
            ]
        );
    }

    #[test]
    fn upstream_id_wins_over_an_inline_upstream() {
        let routes = json!({
            "upstreams": [{"id": "u", "nodes": {"127.0.0.1:1": 1}}],
            "stream_routes": [{"id": 1, "upstream_id": "u",
                               "upstream": {"nodes": {"127.0.0.1:2": 1}}}],
        });
        let (checked, _) = check(&routes, &json!({})).unwrap();
        assert_eq!(checked.upstreams[checked.routes[0].upstream].name, "strait_upstream_u");
    }
}
