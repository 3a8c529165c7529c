//! The route objects as APISIX stores them: stream routes, upstreams and ssl objects.
//!
//! They are read from JSON values field by field (`read.rs`): unknown fields are faults,
//! as in APISIX's schemas (`additionalProperties = false`), and a field whose value has the
//! wrong type is a fault and absent here, so that one bad field hides nothing else. Types
//! follow `apisix/schema_def.lua`; ranges and cross-field rules are checked in
//! [`crate::validate`], so that all faults of a document are reported at once.

use std::collections::BTreeMap;

use serde_json::Value;

/// An object id as read: `id_schema` is a string `^[a-zA-Z0-9-_.]+$` of 1..64 characters or
/// an integer ≥ 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    /// A valid id, integers in decimal.
    Valid(String),
    /// An id that breaks `id_schema`; its fault is reported where it was read.
    Invalid,
}

/// The routes document: APISIX's standalone `apisix.yaml` layout (or the same in JSON).
///
/// Only the stream objects are read. The other keys of a standalone file (http routes,
/// services, consumers...) are kept in `other` and checked against the known list, so that a
/// misspelt `stream_route:` is a fault rather than an empty document.
#[derive(Debug, Default)]
pub struct RoutesDocument {
    /// `stream_routes`, each still raw so that one bad object does not hide the others.
    pub stream_routes: Vec<Value>,
    /// `upstreams`, raw.
    pub upstreams: Vec<Value>,
    /// `ssls`, raw.
    pub ssls: Vec<Value>,
    /// Every other top-level key.
    pub other: BTreeMap<String, Value>,
}

/// Top-level keys of a standalone file that belong to the http subsystem or to plugins:
/// accepted and not used at L4.
pub const HTTP_KEYS: &[&str] = &[
    "routes",
    "services",
    "consumers",
    "consumer_groups",
    "plugin_configs",
    "plugin_metadata",
    "global_rules",
    "protos",
    "secrets",
    "plugins",
    "stream_plugins",
];

/// A stream route (`/apisix/admin/stream_routes/{id}`).
#[derive(Debug, Default)]
pub struct StreamRoute {
    /// The route id.
    pub id: Option<Id>,
    /// Free-form name.
    pub name: Option<String>,
    /// Free-form description.
    pub desc: Option<String>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Creation time (epoch seconds).
    pub create_time: Option<i64>,
    /// Update time (epoch seconds).
    pub update_time: Option<i64>,
    /// Client address, IP or CIDR, matched against `$remote_addr`.
    pub remote_addr: Option<String>,
    /// Server address, IP or CIDR, matched against `$server_addr`.
    pub server_addr: Option<String>,
    /// Server port, equal to `$server_port`.
    pub server_port: Option<i64>,
    /// SNI, exact or `*.suffix`.
    pub sni: Option<String>,
    /// Inline upstream.
    pub upstream: Option<Upstream>,
    /// Id of an upstream object.
    pub upstream_id: Option<Id>,
    /// Id of a service object (not supported by the translator).
    pub service_id: Option<Id>,
    /// Stream plugins (not supported by the translator).
    pub plugins: Option<BTreeMap<String, Value>>,
    /// xRPC protocol (not supported by the translator).
    pub protocol: Option<Value>,
}

/// An upstream (`/apisix/admin/upstreams/{id}` or inline in a route).
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// The upstream id (absent for inline upstreams).
    pub id: Option<Id>,
    /// Free-form name.
    pub name: Option<String>,
    /// Free-form description.
    pub desc: Option<String>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Creation time.
    pub create_time: Option<i64>,
    /// Update time.
    pub update_time: Option<i64>,
    /// The peers: a `"host:port" -> weight` map or a list of node objects.
    pub nodes: Option<Nodes>,
    /// Retries after the first try; unset means one try per node.
    pub retries: Option<i64>,
    /// Deadline for retries in seconds; 0 means none.
    pub retry_timeout: Option<f64>,
    /// Connect, send and read timeouts in seconds.
    pub timeout: Option<Timeout>,
    /// Upstream TLS settings.
    pub tls: Option<UpstreamTls>,
    /// Keepalive pool (http only: APISIX does not pool stream connections).
    pub keepalive_pool: Option<KeepalivePool>,
    /// Balancer (`type`): roundrobin (default), chash, ewma, least_conn.
    pub balancer: Option<String>,
    /// Health checks (not supported by the translator).
    pub checks: Option<Value>,
    /// What the chash key is taken from.
    pub hash_on: Option<String>,
    /// The chash key.
    pub key: Option<String>,
    /// Protocol to the peers; only `tls` turns on upstream TLS at L4.
    pub scheme: Option<String>,
    /// Service discovery type (not supported by the translator).
    pub discovery_type: Option<String>,
    /// Service discovery arguments (not supported by the translator).
    pub discovery_args: Option<Value>,
    /// Service discovery name (not supported by the translator).
    pub service_name: Option<String>,
    /// Host header handling (http only, unused at L4 as in APISIX).
    pub pass_host: Option<String>,
    /// Host header value (http only, unused at L4 as in APISIX).
    pub upstream_host: Option<String>,
}

/// The two forms of `nodes`.
#[derive(Debug, Clone)]
pub enum Nodes {
    /// `{"host:port": weight}`; `None` for a weight of the wrong type (a fault).
    Map(BTreeMap<String, Option<i64>>),
    /// `[{host, port, weight, priority, metadata}]`; `None` for an item that is not an object
    /// (a fault).
    List(Vec<Option<Node>>),
}

/// One node of the list form.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// Host name or address (required: absent when missing or invalid, a fault).
    pub host: Option<String>,
    /// Port 1..65535.
    pub port: Option<i64>,
    /// Weight ≥ 0 (required: absent when missing or invalid, a fault).
    pub weight: Option<i64>,
    /// Priority: higher levels are tried first.
    pub priority: Option<i64>,
    /// Free-form metadata.
    pub metadata: Option<Value>,
}

/// `timeout`: all three required, seconds (absent when missing or invalid, a fault).
#[derive(Debug, Clone, Default)]
pub struct Timeout {
    /// Connect timeout.
    pub connect: Option<f64>,
    /// Send timeout.
    pub send: Option<f64>,
    /// Read timeout.
    pub read: Option<f64>,
}

/// `keepalive_pool`.
#[derive(Debug, Clone, Default)]
pub struct KeepalivePool {
    /// Pool size ≥ 1.
    pub size: Option<i64>,
    /// Idle timeout ≥ 0.
    pub idle_timeout: Option<f64>,
    /// Requests per connection ≥ 1.
    pub requests: Option<i64>,
}

/// The `tls` block of an upstream.
#[derive(Debug, Clone, Default)]
pub struct UpstreamTls {
    /// Client certificate (PEM).
    pub client_cert: Option<String>,
    /// Client key (PEM or keyring-encrypted).
    pub client_key: Option<String>,
    /// Id of an ssl object of type `client`.
    pub client_cert_id: Option<Id>,
    /// Verify the upstream certificate.
    pub verify: Option<bool>,
}

/// An ssl object (`/apisix/admin/ssls/{id}`).
#[derive(Debug, Default)]
pub struct Ssl {
    /// The ssl id.
    pub id: Option<Id>,
    /// Free-form description.
    pub desc: Option<String>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Creation time.
    pub create_time: Option<i64>,
    /// Update time.
    pub update_time: Option<i64>,
    /// `type`: `server` (default) or `client`.
    pub kind: Option<String>,
    /// Certificate (PEM) or a `$env://` reference.
    pub cert: Option<String>,
    /// Private key (PEM, keyring-encrypted, or a `$env://` reference).
    pub key: Option<String>,
    /// One SNI.
    pub sni: Option<String>,
    /// Several SNIs.
    pub snis: Option<Vec<String>>,
    /// Extra certificates (not supported by the translator).
    pub certs: Option<Vec<String>>,
    /// Extra keys (not supported by the translator).
    pub keys: Option<Vec<String>>,
    /// Downstream mTLS (not supported by the translator).
    pub client: Option<Value>,
    /// 1 enabled (default), 0 disabled.
    pub status: Option<i64>,
    /// TLS protocols (not supported by the translator).
    pub ssl_protocols: Option<Vec<String>>,
}
