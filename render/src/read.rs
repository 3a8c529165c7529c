//! Reads the routes document and its objects from JSON values field by field, so that every
//! fault of every object is found in one pass, each worded as APISIX's JSON schema validator
//! (api7/jsonschema) words it: `additional properties forbidden, found X`,
//! `property "X" is required`, `wrong type: expected T, got LUA_TYPE`.
//!
//! A field with a fault is left out of the object read, so that the checks after reading
//! ([`crate::validate`]) see it as absent and report nothing more about it.
//!
//! `id_schema` and `nodes` are `anyOf` two forms in APISIX, whose validator then only says
//! `object matches none of the requireds`; here the form the value's JSON type selects is
//! checked and its own fault reported (`nodes[0].weight: property "weight" is required`),
//! and the `anyOf` text is kept for a value of neither type.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Fault, ObjectKind};
use crate::model::{
    Id, KeepalivePool, Node, Nodes, RoutesDocument, Ssl, StreamRoute, Timeout, Upstream,
    UpstreamTls,
};

/// `id_schema`'s pattern for string ids (1..64 characters).
const ID_PATTERN: &str = "^[a-zA-Z0-9-_.]+$";

/// APISIX's validator's message for a value that matches no form of an `anyOf`.
const NO_FORM: &str = "object matches none of the requireds";

/// The routes document's top level: the three stream collections and every other key.
pub(crate) fn document(value: &Value, faults: &mut Vec<Fault>) -> RoutesDocument {
    let mut r = Reader { kind: ObjectKind::Document, label: String::new(), faults };
    let Some(mut f) = r.object(value, "") else { return RoutesDocument::default() };
    let mut doc = RoutesDocument {
        stream_routes: r.array(&mut f, "stream_routes").unwrap_or_default(),
        upstreams: r.array(&mut f, "upstreams").unwrap_or_default(),
        ssls: r.array(&mut f, "ssls").unwrap_or_default(),
        other: BTreeMap::new(),
    };
    for (key, value) in f.unread() {
        doc.other.insert(key.clone(), value.clone());
    }
    doc
}

/// The name of an object in messages: its id when that is a valid one, else `#N`, its
/// position from 1 (a `#` is never part of an id).
pub(crate) fn label(value: &Value, n: usize) -> String {
    match value.get("id").map(id_value) {
        Some(Ok(id)) => id,
        _ => format!("#{}", n + 1),
    }
}

/// A stream route; `None` (a fault) when the value is not an object.
pub(crate) fn stream_route(
    value: &Value,
    label: &str,
    faults: &mut Vec<Fault>,
) -> Option<StreamRoute> {
    let mut r = Reader { kind: ObjectKind::StreamRoute, label: label.to_owned(), faults };
    let mut f = r.object(value, "")?;
    let route = StreamRoute {
        id: r.id(&mut f, "id"),
        name: r.string(&mut f, "name"),
        desc: r.string(&mut f, "desc"),
        labels: r.labels(&mut f, "labels"),
        create_time: r.integer(&mut f, "create_time"),
        update_time: r.integer(&mut f, "update_time"),
        remote_addr: r.string(&mut f, "remote_addr"),
        server_addr: r.string(&mut f, "server_addr"),
        server_port: r.integer(&mut f, "server_port"),
        sni: r.string(&mut f, "sni"),
        upstream: r.get(&mut f, "upstream").and_then(|v| read_upstream(&mut r, v, "upstream")),
        upstream_id: r.id(&mut f, "upstream_id"),
        service_id: r.id(&mut f, "service_id"),
        plugins: r.map(&mut f, "plugins"),
        protocol: r.any(&mut f, "protocol"),
    };
    r.finish(f);
    Some(route)
}

/// A standalone upstream; `None` (a fault) when the value is not an object.
pub(crate) fn upstream(value: &Value, label: &str, faults: &mut Vec<Fault>) -> Option<Upstream> {
    let mut r = Reader { kind: ObjectKind::Upstream, label: label.to_owned(), faults };
    read_upstream(&mut r, value, "")
}

/// An ssl object; `None` (a fault) when the value is not an object.
pub(crate) fn ssl(value: &Value, label: &str, faults: &mut Vec<Fault>) -> Option<Ssl> {
    let mut r = Reader { kind: ObjectKind::Ssl, label: label.to_owned(), faults };
    let mut f = r.object(value, "")?;
    let ssl = Ssl {
        id: r.id(&mut f, "id"),
        desc: r.string(&mut f, "desc"),
        labels: r.labels(&mut f, "labels"),
        create_time: r.integer(&mut f, "create_time"),
        update_time: r.integer(&mut f, "update_time"),
        kind: r.string(&mut f, "type"),
        cert: r.string(&mut f, "cert"),
        key: r.string(&mut f, "key"),
        sni: r.string(&mut f, "sni"),
        snis: r.strings(&mut f, "snis"),
        certs: r.strings(&mut f, "certs"),
        keys: r.strings(&mut f, "keys"),
        client: r.any(&mut f, "client"),
        status: r.integer(&mut f, "status"),
        ssl_protocols: r.strings(&mut f, "ssl_protocols"),
    };
    r.finish(f);
    Some(ssl)
}

/// An upstream at `path` (empty for a standalone one, `upstream` inline in a route).
fn read_upstream(r: &mut Reader<'_>, value: &Value, path: &str) -> Option<Upstream> {
    let mut f = r.object(value, path)?;
    let upstream = Upstream {
        id: r.id(&mut f, "id"),
        name: r.string(&mut f, "name"),
        desc: r.string(&mut f, "desc"),
        labels: r.labels(&mut f, "labels"),
        create_time: r.integer(&mut f, "create_time"),
        update_time: r.integer(&mut f, "update_time"),
        nodes: read_nodes(r, &mut f),
        retries: r.integer(&mut f, "retries"),
        retry_timeout: r.number(&mut f, "retry_timeout"),
        timeout: r.get(&mut f, "timeout").and_then(|v| read_timeout(r, v, &f.field("timeout"))),
        tls: r.get(&mut f, "tls").and_then(|v| read_tls(r, v, &f.field("tls"))),
        keepalive_pool: r
            .get(&mut f, "keepalive_pool")
            .and_then(|v| read_pool(r, v, &f.field("keepalive_pool"))),
        balancer: r.string(&mut f, "type"),
        checks: r.any(&mut f, "checks"),
        hash_on: r.string(&mut f, "hash_on"),
        key: r.string(&mut f, "key"),
        scheme: r.string(&mut f, "scheme"),
        discovery_type: r.string(&mut f, "discovery_type"),
        discovery_args: r.any(&mut f, "discovery_args"),
        service_name: r.string(&mut f, "service_name"),
        pass_host: r.string(&mut f, "pass_host"),
        upstream_host: r.string(&mut f, "upstream_host"),
    };
    r.finish(f);
    Some(upstream)
}

/// `timeout`: connect, send and read, each required.
fn read_timeout(r: &mut Reader<'_>, value: &Value, path: &str) -> Option<Timeout> {
    let mut f = r.object(value, path)?;
    let timeout = Timeout {
        connect: r.required(&mut f, "connect").and_then(|()| r.number(&mut f, "connect")),
        send: r.required(&mut f, "send").and_then(|()| r.number(&mut f, "send")),
        read: r.required(&mut f, "read").and_then(|()| r.number(&mut f, "read")),
    };
    r.finish(f);
    Some(timeout)
}

/// An upstream's `tls`.
fn read_tls(r: &mut Reader<'_>, value: &Value, path: &str) -> Option<UpstreamTls> {
    let mut f = r.object(value, path)?;
    let tls = UpstreamTls {
        client_cert: r.string(&mut f, "client_cert"),
        client_key: r.string(&mut f, "client_key"),
        client_cert_id: r.id(&mut f, "client_cert_id"),
        verify: r.boolean(&mut f, "verify"),
    };
    r.finish(f);
    Some(tls)
}

/// `keepalive_pool`.
fn read_pool(r: &mut Reader<'_>, value: &Value, path: &str) -> Option<KeepalivePool> {
    let mut f = r.object(value, path)?;
    let pool = KeepalivePool {
        size: r.integer(&mut f, "size"),
        idle_timeout: r.number(&mut f, "idle_timeout"),
        requests: r.integer(&mut f, "requests"),
    };
    r.finish(f);
    Some(pool)
}

/// `nodes`: the `"host:port": weight` map when the value is an object, the list of node
/// objects when it is an array.
fn read_nodes(r: &mut Reader<'_>, f: &mut Fields<'_>) -> Option<Nodes> {
    let value = r.get(f, "nodes")?;
    let path = f.field("nodes");
    match value {
        Value::Object(map) => {
            let mut weights = BTreeMap::new();
            for (addr, weight) in map {
                let integer = integer_value(weight);
                if integer.is_none() {
                    r.wrong_type(&format!("{path}.{addr}"), "integer", weight);
                }
                weights.insert(addr.clone(), integer);
            }
            Some(Nodes::Map(weights))
        }
        Value::Array(items) => {
            let mut nodes = Vec::new();
            for (n, item) in items.iter().enumerate() {
                let Some(mut node) = r.object(item, &format!("{path}[{n}]")) else {
                    nodes.push(None);
                    continue;
                };
                nodes.push(Some(Node {
                    host: r.required(&mut node, "host").and_then(|()| r.string(&mut node, "host")),
                    port: r.integer(&mut node, "port"),
                    weight: r
                        .required(&mut node, "weight")
                        .and_then(|()| r.integer(&mut node, "weight")),
                    priority: r.integer(&mut node, "priority"),
                    metadata: r.any(&mut node, "metadata"),
                }));
                r.finish(node);
            }
            Some(Nodes::List(nodes))
        }
        _ => {
            r.fault(&path, NO_FORM);
            None
        }
    }
}

/// Where the faults of one object go, and the name they carry.
struct Reader<'f> {
    kind: ObjectKind,
    label: String,
    faults: &'f mut Vec<Fault>,
}

/// The fields of one JSON object being read. The keys read are remembered; the others are
/// unknown fields, reported by [`Reader::finish`].
struct Fields<'v> {
    /// `None` for an empty array, which APISIX's validator takes for an empty object (Lua
    /// has one table type for both).
    map: Option<&'v Map<String, Value>>,
    /// The object's path in its top-level object (empty for the object itself).
    path: String,
    read: Vec<&'static str>,
}

impl<'v> Fields<'v> {
    /// The path of field `name`.
    fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The fields not read.
    fn unread(&self) -> impl Iterator<Item = (&'v String, &'v Value)> + '_ {
        self.map.into_iter().flatten().filter(|(key, _)| !self.read.contains(&key.as_str()))
    }
}

impl Reader<'_> {
    fn fault(&mut self, field: &str, message: impl Into<String>) {
        self.faults.push(Fault::new(self.kind, &self.label, field, message));
    }

    /// `wrong type: expected T, got LUA_TYPE`.
    fn wrong_type(&mut self, field: &str, expected: &str, value: &Value) {
        self.fault(field, format!("wrong type: expected {expected}, got {}", lua_type(value)));
    }

    /// The fields of `value`, an object at `path`; `None` (a fault) when it is not one.
    fn object<'v>(&mut self, value: &'v Value, path: &str) -> Option<Fields<'v>> {
        let map = match value {
            Value::Object(map) => Some(map),
            Value::Array(items) if items.is_empty() => None,
            other => {
                let field = if path.is_empty() { "" } else { path };
                self.wrong_type(field, "object", other);
                return None;
            }
        };
        Some(Fields { map, path: path.to_owned(), read: Vec::new() })
    }

    /// Field `name` (marked read); a null is an absent field.
    fn get<'v>(&mut self, f: &mut Fields<'v>, name: &'static str) -> Option<&'v Value> {
        f.read.push(name);
        f.map?.get(name).filter(|v| !v.is_null())
    }

    /// `Some(())` when field `name` is there; a fault (`property "X" is required`) when not.
    fn required(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<()> {
        if f.map.and_then(|m| m.get(name)).is_some_and(|v| !v.is_null()) {
            return Some(());
        }
        f.read.push(name);
        self.fault(&f.field(name), format!("property \"{name}\" is required"));
        None
    }

    fn string(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<String> {
        match self.get(f, name)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(&f.field(name), "string", other);
                None
            }
        }
    }

    fn integer(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<i64> {
        let value = self.get(f, name)?;
        let integer = integer_value(value);
        if integer.is_none() {
            self.wrong_type(&f.field(name), "integer", value);
        }
        integer
    }

    fn number(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<f64> {
        let value = self.get(f, name)?;
        let number = value.as_f64();
        if number.is_none() {
            self.wrong_type(&f.field(name), "number", value);
        }
        number
    }

    fn boolean(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<bool> {
        let value = self.get(f, name)?;
        let boolean = value.as_bool();
        if boolean.is_none() {
            self.wrong_type(&f.field(name), "boolean", value);
        }
        boolean
    }

    /// A field of any type (free-form, or refused later as unsupported).
    fn any(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<Value> {
        self.get(f, name).cloned()
    }

    /// An array, its items still raw; an empty object counts as an empty array.
    fn array(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<Vec<Value>> {
        match self.get(f, name)? {
            Value::Array(items) => Some(items.clone()),
            Value::Object(map) if map.is_empty() => Some(Vec::new()),
            other => {
                self.wrong_type(&f.field(name), "array", other);
                None
            }
        }
    }

    /// An array of strings; an item of another type is a fault and left out.
    fn strings(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<Vec<String>> {
        let items = self.array(f, name)?;
        let mut strings = Vec::new();
        for (n, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => strings.push(s.clone()),
                other => self.wrong_type(&format!("{}[{n}]", f.field(name)), "string", other),
            }
        }
        Some(strings)
    }

    /// An object of free-form values (`plugins`).
    fn map(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<BTreeMap<String, Value>> {
        let value = self.get(f, name)?;
        let fields = self.object(value, &f.field(name))?;
        Some(fields.unread().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// `labels`: an object of strings; a value of another type is a fault and left out.
    fn labels(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
    ) -> Option<BTreeMap<String, String>> {
        let labels = self.map(f, name)?;
        let mut strings = BTreeMap::new();
        for (key, value) in labels {
            match value {
                Value::String(s) => {
                    strings.insert(key, s);
                }
                other => self.wrong_type(&format!("{}.{key}", f.field(name)), "string", &other),
            }
        }
        Some(strings)
    }

    /// An `id_schema` field: [`Id::Invalid`] (a fault) when the value breaks it.
    fn id(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<Id> {
        let value = self.get(f, name)?;
        Some(match id_value(value) {
            Ok(id) => Id::Valid(id),
            Err(message) => {
                self.fault(&f.field(name), message);
                Id::Invalid
            }
        })
    }

    /// Reports the fields not read: `additional properties forbidden, found X` each.
    fn finish(&mut self, f: Fields<'_>) {
        let unread: Vec<String> = f.unread().map(|(key, _)| key.clone()).collect();
        for key in unread {
            self.fault(&f.field(&key), format!("additional properties forbidden, found {key}"));
        }
    }
}

/// An `id_schema` value: a string of 1..64 characters matching [`ID_PATTERN`], or an integer
/// of at least 1 (printed in decimal). The fault of the form the JSON type selects.
fn id_value(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => {
            let len = s.chars().count();
            if len < 1 {
                Err(format!("string too short, expected at least 1, got {len}"))
            } else if len > 64 {
                Err(format!("string too long, expected at most 64, got {len}"))
            } else if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                Err(format!(
                    "failed to match pattern {} with {}",
                    lua_quote(ID_PATTERN),
                    lua_quote(s)
                ))
            } else {
                Ok(s.clone())
            }
        }
        Value::Number(_) => match integer_value(value) {
            Some(n) if n >= 1 => Ok(n.to_string()),
            Some(n) => Err(format!("expected {n} to be greater than 1")),
            None => Err("wrong type: expected integer, got number".into()),
        },
        _ => Err(NO_FORM.into()),
    }
}

/// A JSON number that is an integer (`1` and `1.0` alike, as Lua has one number type).
fn integer_value(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(n) = number.as_i64() {
        return Some(n);
    }
    if let Some(n) = number.as_u64() {
        return Some(i64::try_from(n).unwrap_or(i64::MAX));
    }
    let float = number.as_f64()?;
    (float.is_finite() && float.fract() == 0.0).then_some(float as i64)
}

/// The Lua type APISIX's validator names for a decoded JSON value.
fn lua_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Array(_) | Value::Object(_) => "table",
        Value::Null => "userdata",
    }
}

/// Lua's `%q`: double quotes, with `"`, `\` escaped, a newline as `\` and a newline, a CR as
/// `\r` and NUL as `\0`.
fn lua_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fault texts of reading `value` as an upstream.
    fn upstream_faults(value: Value) -> Vec<String> {
        let mut faults = Vec::new();
        upstream(&value, "u", &mut faults);
        faults.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn ids_follow_id_schema_with_apisix_messages() {
        assert_eq!(id_value(&json!(1)), Ok("1".into()));
        assert_eq!(id_value(&json!(2.0)), Ok("2".into()));
        assert_eq!(id_value(&json!("a-b_c.1")), Ok("a-b_c.1".into()));
        assert_eq!(id_value(&json!(0)), Err("expected 0 to be greater than 1".into()));
        assert_eq!(id_value(&json!(1.5)), Err("wrong type: expected integer, got number".into()));
        assert_eq!(id_value(&json!([1])), Err("object matches none of the requireds".into()));
        assert_eq!(
            id_value(&json!("a b")),
            Err(r#"failed to match pattern "^[a-zA-Z0-9-_.]+$" with "a b""#.into())
        );
        assert_eq!(
            id_value(&json!("x".repeat(65))),
            Err("string too long, expected at most 64, got 65".into())
        );
        assert_eq!(
            id_value(&json!("")),
            Err("string too short, expected at least 1, got 0".into())
        );
    }

    #[test]
    fn every_fault_of_an_object_is_reported() {
        let got = upstream_faults(json!({
            "nodes": [{"host": "127.0.0.1", "port": 1}, {"host": 1, "weight": "x", "w": 0}],
            "colour": "red", "flavour": "sweet", "retries": "3",
            "tls": {"verify": "yes", "extra": 1}, "timeout": {"connect": 1},
        }));
        assert_eq!(
            got,
            [
                "upstream \"u\": nodes[0].weight: property \"weight\" is required",
                "upstream \"u\": nodes[1].host: wrong type: expected string, got number",
                "upstream \"u\": nodes[1].weight: wrong type: expected integer, got string",
                "upstream \"u\": nodes[1].w: additional properties forbidden, found w",
                "upstream \"u\": retries: wrong type: expected integer, got string",
                "upstream \"u\": timeout.send: property \"send\" is required",
                "upstream \"u\": timeout.read: property \"read\" is required",
                "upstream \"u\": tls.verify: wrong type: expected boolean, got string",
                "upstream \"u\": tls.extra: additional properties forbidden, found extra",
                "upstream \"u\": colour: additional properties forbidden, found colour",
                "upstream \"u\": flavour: additional properties forbidden, found flavour",
            ]
        );
    }

    #[test]
    fn nodes_of_neither_form_and_weights_of_the_wrong_type() {
        assert_eq!(
            upstream_faults(json!({"nodes": "127.0.0.1:80"})),
            ["upstream \"u\": nodes: object matches none of the requireds"]
        );
        assert_eq!(
            upstream_faults(json!({"nodes": {"127.0.0.1:80": "1"}})),
            ["upstream \"u\": nodes.127.0.0.1:80: wrong type: expected integer, got string"]
        );
    }

    #[test]
    fn an_inline_upstream_reports_under_its_route() {
        let mut faults = Vec::new();
        let route = json!({"id": "r", "bar": 2, "upstream": {"nodes": {"a:1": 1}, "foo": 1}});
        stream_route(&route, "r", &mut faults);
        let got: Vec<String> = faults.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "stream_route \"r\": upstream.foo: additional properties forbidden, found foo",
                "stream_route \"r\": bar: additional properties forbidden, found bar",
            ]
        );
    }

    #[test]
    fn labels_name_objects_by_a_valid_id_or_their_position() {
        assert_eq!(label(&json!({"id": "a"}), 0), "a");
        assert_eq!(label(&json!({"id": 7}), 0), "7");
        assert_eq!(label(&json!({"id": 1.5}), 1), "#2");
        assert_eq!(label(&json!({"id": [1]}), 2), "#3");
        assert_eq!(label(&json!({}), 3), "#4");
    }

    #[test]
    fn the_document_takes_empty_objects_for_empty_arrays_as_lua_does() {
        let mut faults = Vec::new();
        let doc =
            document(&json!({"stream_routes": {}, "upstreams": "x", "routes": []}), &mut faults);
        assert!(doc.stream_routes.is_empty() && doc.other.contains_key("routes"));
        let got: Vec<String> = faults.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["routes document: upstreams: wrong type: expected array, got string"]);
    }
}
