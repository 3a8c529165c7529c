//! The config document (APISIX's `config.yaml`): listeners, keyring, ssl and nginx defaults.
//!
//! A real `config.yaml` carries many keys of other subsystems (etcd, http, plugins); those are
//! not read. The sections that are wholly about the stream proxy (`apisix.stream_proxy`,
//! `apisix.data_encryption`) reject unknown keys.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Fault, ObjectKind};

/// APISIX's default keyring (`config-default.yaml`).
pub const DEFAULT_KEYRING: [&str; 2] = ["qeddd145sfvddff3", "edd1c9f0985e76a2"];

/// The listener used when the config document sets none.
pub const DEFAULT_TCP_PORT: u16 = 9100;

/// The config document as written.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigDocument {
    /// The `apisix` section.
    #[serde(default)]
    pub apisix: ApisixSection,
    /// The `nginx_config` section.
    #[serde(default)]
    pub nginx_config: NginxSection,
}

/// `apisix:`.
#[derive(Debug, Default, Deserialize)]
pub struct ApisixSection {
    /// `stream_proxy`.
    pub stream_proxy: Option<StreamProxy>,
    /// `proxy_protocol`: defaults for the listeners' PROXY protocol flags.
    pub proxy_protocol: Option<ProxyProtocolDefaults>,
    /// `enable_reuseport` (default true).
    pub enable_reuseport: Option<bool>,
    /// `ssl`.
    #[serde(default)]
    pub ssl: SslSection,
    /// `data_encryption`.
    pub data_encryption: Option<DataEncryption>,
}

/// `apisix.stream_proxy`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamProxy {
    /// TCP listeners.
    pub tcp: Option<Vec<Value>>,
    /// UDP listeners (not supported: strait proxies TCP).
    pub udp: Option<Vec<Value>>,
}

/// `apisix.proxy_protocol`.
#[derive(Debug, Default, Deserialize)]
pub struct ProxyProtocolDefaults {
    /// Accept a PROXY header on TCP listeners.
    pub enable_tcp_pp: Option<bool>,
    /// Send a PROXY header to upstreams.
    pub enable_tcp_pp_to_upstream: Option<bool>,
}

/// `apisix.ssl` (only the keys the stream proxy uses).
#[derive(Debug, Default, Deserialize)]
pub struct SslSection {
    /// SNI used for route matching when the client sent none.
    pub fallback_sni: Option<String>,
    /// CA file for upstream verification (`tls.verify`).
    pub ssl_trusted_certificate: Option<String>,
}

/// `apisix.data_encryption`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataEncryption {
    /// Plugin field encryption switch (does not affect keys, as in APISIX).
    pub enable_encrypt_fields: Option<bool>,
    /// One key or a list of keys, each 16 or 32 bytes.
    pub keyring: Option<Keyring>,
}

/// A keyring as written: one string or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Keyring {
    /// One entry.
    One(String),
    /// Entries tried in order.
    Many(Vec<String>),
}

/// `nginx_config:` (the keys the stream proxy uses).
#[derive(Debug, Default, Deserialize)]
pub struct NginxSection {
    /// `user` of the worker processes.
    pub user: Option<String>,
    /// `error_log` path.
    pub error_log: Option<String>,
    /// `error_log` level.
    pub error_log_level: Option<String>,
    /// `worker_processes`.
    pub worker_processes: Option<Value>,
    /// `event`.
    #[serde(default)]
    pub event: EventSection,
    /// `stream`.
    #[serde(default)]
    pub stream: StreamSection,
}

/// `nginx_config.event`.
#[derive(Debug, Default, Deserialize)]
pub struct EventSection {
    /// `worker_connections`.
    pub worker_connections: Option<u32>,
}

/// `nginx_config.stream`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamSection {
    /// Turn the stream access log on.
    pub enable_access_log: Option<bool>,
    /// Access log path.
    pub access_log: Option<String>,
    /// Access log format.
    pub access_log_format: Option<String>,
    /// Access log escaping: `default`, `json` or `none`.
    pub access_log_format_escape: Option<String>,
}

/// One listening address, a range already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The address part as written (`127.0.0.1`, `[::1]`), or none for all addresses.
    pub addr: Option<String>,
    /// The port.
    pub port: u16,
    /// Terminate TLS on this listener.
    pub tls: bool,
    /// Accept a PROXY protocol header.
    pub proxy_protocol: bool,
}

impl Listener {
    /// The address as nginx's `listen` takes it.
    pub fn listen_address(&self) -> String {
        match &self.addr {
            Some(addr) => format!("{addr}:{}", self.port),
            None => self.port.to_string(),
        }
    }
}

/// Parses `apisix.stream_proxy.tcp` into listeners, with APISIX's CLI messages.
pub fn tcp_listeners(doc: &ConfigDocument, faults: &mut Vec<Fault>) -> Vec<Listener> {
    let section = &doc.apisix;
    let Some(items) = section.stream_proxy.as_ref().and_then(|s| s.tcp.as_ref()) else {
        return vec![Listener {
            addr: None,
            port: DEFAULT_TCP_PORT,
            tls: false,
            proxy_protocol: false,
        }];
    };
    let pp_default = section.proxy_protocol.as_ref().and_then(|p| p.enable_tcp_pp).unwrap_or(false);
    let pp_up_default =
        section.proxy_protocol.as_ref().and_then(|p| p.enable_tcp_pp_to_upstream).unwrap_or(false);

    if items.is_empty() {
        faults.push(config_fault("apisix.stream_proxy.tcp", "expect at least 1 item"));
    }
    let mut listeners: Vec<Listener> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let field = format!("apisix.stream_proxy.tcp[{n}]");

        // The item's forms: a port, a string address, or an object with `addr`.
        let (addr, tls, pp, pp_up) = match item {
            Value::Object(map) => {
                for key in map.keys() {
                    if !["addr", "tls", "proxy_protocol", "proxy_protocol_to_upstream"]
                        .contains(&key.as_str())
                    {
                        faults.push(config_fault(&field, format!("unknown field `{key}`")));
                    }
                }
                let flag = |key: &str, default: bool, faults: &mut Vec<Fault>| match map.get(key) {
                    None => default,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        faults.push(config_fault(&format!("{field}.{key}"), "expect a boolean"));
                        default
                    }
                };
                let tls = flag("tls", false, faults);
                let pp = flag("proxy_protocol", pp_default, faults);
                let pp_up = flag("proxy_protocol_to_upstream", pp_up_default, faults);
                match map.get("addr") {
                    Some(addr) => (addr.clone(), tls, pp, pp_up),
                    None => {
                        faults.push(config_fault(&field, "missing field `addr`"));
                        continue;
                    }
                }
            }
            other => (other.clone(), false, pp_default, pp_up_default),
        };
        if pp_up {
            faults.push(config_fault(
                &field,
                "proxy_protocol_to_upstream is not supported by strait render",
            ));
        }

        // The address: APISIX's port validation, ranges expanded.
        match parse_addr(&addr) {
            Ok((host, ports)) => {
                for port in ports {
                    let listener = Listener { addr: host.clone(), port, tls, proxy_protocol: pp };
                    let address = listener.listen_address();
                    if listeners.iter().any(|l| l.listen_address() == address) {
                        faults.push(config_fault(
                            &field,
                            format!("duplicate listen address {address}"),
                        ));
                    } else {
                        listeners.push(listener);
                    }
                }
            }
            Err(message) => faults
                .push(config_fault(&field, format!("invalid stream_proxy.tcp entry: {message}"))),
        }
    }
    if section.stream_proxy.as_ref().and_then(|s| s.udp.as_ref()).is_some() {
        faults.push(config_fault(
            "apisix.stream_proxy.udp",
            "UDP listeners are not supported: strait proxies TCP",
        ));
    }
    listeners
}

/// Splits a listener address into its host part and its ports (`apisix/cli/ops.lua` rules).
fn parse_addr(addr: &Value) -> Result<(Option<String>, Vec<u16>), String> {
    let text = match addr {
        Value::Number(n) => {
            let Some(port) = n.as_i64().filter(|_| n.is_i64()) else {
                return Err(format!("port must be an integer, got: {n}"));
            };
            return check_port(port).map(|p| (None, vec![p]));
        }
        Value::String(s) => s.as_str(),
        Value::Bool(_) => return Err("invalid port value type: boolean".into()),
        Value::Null => return Err("invalid port value type: nil".into()),
        Value::Array(_) | Value::Object(_) => return Err("invalid port value type: table".into()),
    };

    // `[v6]:port`, `ip:port` or a bare port, each port part possibly a range.
    let (host, ports) = if let Some(rest) = text.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((v6, ports)) => (Some(format!("[{v6}]")), ports),
            None => return Err(format!("missing port: {text}")),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, ports)) => (Some(host.to_owned()), ports),
            None => (None, text),
        }
    };
    if ports.is_empty() {
        return Err(format!("missing port: {text}"));
    }
    let number = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid port format: {text}"));
        }
        s.parse::<i64>().map_err(|_| format!("port out of range (1-65535): {s}"))
    };
    let list = match ports.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (check_port(number(start)?)?, check_port(number(end)?)?);
            if start > end {
                return Err(format!("invalid port range (start > end): {text}"));
            }
            (start..=end).collect()
        }
        None => vec![check_port(number(ports)?)?],
    };
    Ok((host, list))
}

/// A port in 1..65535.
fn check_port(port: i64) -> Result<u16, String> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| format!("port out of range (1-65535): {port}"))
}

/// The keyring: configured entries or APISIX's default, each checked for its length.
pub fn keyring(doc: &ConfigDocument, faults: &mut Vec<Fault>) -> Vec<String> {
    let entries = match doc.apisix.data_encryption.as_ref().and_then(|d| d.keyring.as_ref()) {
        None => return DEFAULT_KEYRING.iter().map(|s| s.to_string()).collect(),
        Some(Keyring::One(one)) => vec![one.clone()],
        Some(Keyring::Many(many)) => many.clone(),
    };
    for (n, entry) in entries.iter().enumerate() {
        if entry.len() != 16 && entry.len() != 32 {
            faults.push(config_fault(
                &format!("apisix.data_encryption.keyring[{n}]"),
                format!(
                    "expected a 16 byte (AES-128) or 32 byte (AES-256) key, got {} bytes",
                    entry.len()
                ),
            ));
        }
    }
    entries
}

/// A fault in the config document.
pub fn config_fault(field: &str, message: impl Into<String>) -> Fault {
    Fault::new(ObjectKind::Config, "", field, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listeners(tcp: Value) -> (Vec<String>, Vec<String>) {
        let doc: ConfigDocument =
            serde_json::from_value(json!({"apisix": {"stream_proxy": {"tcp": tcp}}})).unwrap();
        let mut faults = Vec::new();
        let l = tcp_listeners(&doc, &mut faults);
        (
            l.iter()
                .map(|l| format!("{}{}", l.listen_address(), if l.tls { " ssl" } else { "" }))
                .collect(),
            faults.iter().map(|f| f.to_string()).collect(),
        )
    }

    #[test]
    fn listener_forms() {
        let (l, f) = listeners(json!([
            9100, "9101", "127.0.0.1:9102", "[::1]:9103", "9104-9105",
            {"addr": "127.0.0.2:9106", "tls": true}, {"addr": 9107}
        ]));
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(
            l,
            [
                "9100",
                "9101",
                "127.0.0.1:9102",
                "[::1]:9103",
                "9104",
                "9105",
                "127.0.0.2:9106 ssl",
                "9107"
            ]
        );
    }

    #[test]
    fn listener_faults_use_apisix_messages() {
        let (_, f) = listeners(json!([0, "80.5", "9-8", "[::1]", true, 70000, 1.5, "a:"]));
        assert_eq!(
            f,
            [
                "config: apisix.stream_proxy.tcp[0]: invalid stream_proxy.tcp entry: \
                 port out of range (1-65535): 0",
                "config: apisix.stream_proxy.tcp[1]: invalid stream_proxy.tcp entry: \
                 invalid port format: 80.5",
                "config: apisix.stream_proxy.tcp[2]: invalid stream_proxy.tcp entry: \
                 invalid port range (start > end): 9-8",
                "config: apisix.stream_proxy.tcp[3]: invalid stream_proxy.tcp entry: \
                 missing port: [::1]",
                "config: apisix.stream_proxy.tcp[4]: invalid stream_proxy.tcp entry: \
                 invalid port value type: boolean",
                "config: apisix.stream_proxy.tcp[5]: invalid stream_proxy.tcp entry: \
                 port out of range (1-65535): 70000",
                "config: apisix.stream_proxy.tcp[6]: invalid stream_proxy.tcp entry: \
                 port must be an integer, got: 1.5",
                "config: apisix.stream_proxy.tcp[7]: invalid stream_proxy.tcp entry: \
                 missing port: a:",
            ]
        );
    }

    #[test]
    fn no_config_listens_on_9100_with_the_default_keyring() {
        let doc = ConfigDocument::default();
        let mut faults = Vec::new();
        assert_eq!(tcp_listeners(&doc, &mut faults)[0].listen_address(), "9100");
        assert_eq!(keyring(&doc, &mut faults), DEFAULT_KEYRING);
        assert!(faults.is_empty());
    }
}
