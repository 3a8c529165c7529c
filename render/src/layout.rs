//! Lays checked objects out as nginx configuration: the template context and its files.
//!
//! How APISIX's behaviour is expressed with stock nginx means (all in one `stream {}`):
//! - routes are tried through a chain of maps, one per route, each falling back to the next
//!   (`$strait_match_1` holds the first route that matches). The chain is in APISIX's order:
//!   exact SNI routes, wildcard SNI routes (longest suffix first), then the other routes in
//!   document order. Addresses are `geo` flags, ports `$server_port`, the SNI `$strait_sni`
//!   (the TLS listener's `$ssl_server_name`, trailing dot removed, else `fallback_sni` for a
//!   TLS connection only: as APISIX's `ssl.server_name()`, a plain connection has no SNI, so
//!   it never matches an SNI route and its TLS upstreams get `apisix_backend`; nginx's maps
//!   compare it caselessly, as APISIX lower-cases the client's SNI). A route
//!   whose `sni` has upper-case letters is left out of the chain with a comment: APISIX
//!   compares a route's SNI as written with the lower-cased client SNI, so it never matches;
//! - per route values (`$strait_pass`, `$upstream_mtls_cert`, `$upstream_mtls_key`) are maps
//!   over `$strait_route`;
//! - settings nginx does not take from variables (`proxy_ssl`, timeouts, tries) are static per
//!   `server {}`. When every route shares them, the listening server proxies directly
//!   ("direct" layout). Otherwise each route gets an internal server on a unix socket with
//!   its own settings, and the listening server passes connections there ("hop" layout);
//!   when a hash key needs the client's address there, with a PROXY header and realip; when
//!   a TLS upstream needs the client's SNI there, over TLS (a placeholder certificate) with
//!   that SNI;
//! - no match: the connection goes to an internal server that does `return ""` (zero bytes).

use std::path::Path;

use serde::Serialize;

use crate::validate::{Balancer, Checked, Route, Sni, UpstreamPlan};
use crate::{OutputFile, Warning, TOKEN_LIMIT};

/// The whole template context.
#[derive(Debug, Serialize)]
pub(crate) struct Context {
    pub(crate) main: Main,
    pub(crate) stream: Stream,
}

/// Main and events context values.
#[derive(Debug, Serialize)]
pub(crate) struct Main {
    /// `load_module` paths, as nginx tokens.
    pub(crate) load_modules: Vec<String>,
    pub(crate) user: Option<String>,
    pub(crate) worker_processes: String,
    pub(crate) error_log: String,
    pub(crate) pid: String,
    pub(crate) worker_connections: u32,
}

/// The `stream {}` block.
#[derive(Debug, Serialize)]
pub(crate) struct Stream {
    pub(crate) map_hash_bucket_size: Option<usize>,
    pub(crate) variables_hash_max_size: Option<usize>,
    pub(crate) access_log: Option<AccessLog>,
    /// `fallback_sni` per listening address, when configured.
    pub(crate) fallback_sni: Option<Vec<MapEntry>>,
    pub(crate) server_certs: Option<ServerCerts>,
    pub(crate) geos: Vec<Geo>,
    pub(crate) chain: Vec<ChainMap>,
    pub(crate) unreachable: Vec<String>,
    pub(crate) never_match: Vec<NeverMatch>,
    pub(crate) hop_routes: Vec<MapEntry>,
    pub(crate) pass: Vec<MapEntry>,
    pub(crate) pass_default: String,
    pub(crate) mtls: Option<Mtls>,
    pub(crate) upstream_sni: bool,
    pub(crate) upstreams: Vec<UpstreamBlock>,
    pub(crate) front: Front,
    pub(crate) hops: Vec<Hop>,
    pub(crate) no_route: Option<NoRoute>,
    /// The placeholder certificate of internal servers that take TLS from the listening one.
    pub(crate) placeholder: Option<Placeholder>,
}

/// `log_format` + `access_log`.
#[derive(Debug, Serialize)]
pub(crate) struct AccessLog {
    pub(crate) path: String,
    pub(crate) format: String,
    pub(crate) escape: String,
}

/// Certificates of TLS listeners, chosen by SNI.
#[derive(Debug, Serialize)]
pub(crate) struct ServerCerts {
    pub(crate) certs: Vec<MapEntry>,
    pub(crate) keys: Vec<MapEntry>,
    pub(crate) default_cert: String,
    pub(crate) default_key: String,
}

/// A `geo` flag for one address condition of one route.
#[derive(Debug, Serialize)]
pub(crate) struct Geo {
    pub(crate) comment: String,
    pub(crate) source: String,
    pub(crate) variable: String,
    pub(crate) network: String,
}

/// One route's map in the chain.
#[derive(Debug, Serialize)]
pub(crate) struct ChainMap {
    pub(crate) comment: String,
    pub(crate) key: String,
    pub(crate) variable: String,
    pub(crate) entry: Option<MapEntry>,
    pub(crate) default: String,
}

/// `key value;` inside a map, both already in nginx syntax.
#[derive(Debug, Serialize)]
pub(crate) struct MapEntry {
    pub(crate) key: String,
    pub(crate) value: String,
}

/// The client certificate maps.
#[derive(Debug, Serialize)]
pub(crate) struct Mtls {
    pub(crate) certs: Vec<MapEntry>,
    pub(crate) keys: Vec<MapEntry>,
}

/// An `upstream {}` block.
#[derive(Debug, Serialize)]
pub(crate) struct UpstreamBlock {
    pub(crate) comments: Vec<String>,
    pub(crate) name: String,
    pub(crate) balancer: Option<String>,
    pub(crate) servers: Vec<String>,
}

/// The listening server.
#[derive(Debug, Serialize)]
pub(crate) struct Front {
    pub(crate) listens: Vec<String>,
    pub(crate) tls: bool,
    pub(crate) hop: bool,
    /// The hops need the client's address (a hash key): a PROXY header carries it.
    pub(crate) hop_proxy_protocol: bool,
    /// The hops need the client's SNI (a TLS upstream of a wildcard or SNI-less route on a
    /// TLS listener): the listening server speaks TLS to them and sends it as its SNI.
    pub(crate) hop_tls: bool,
    pub(crate) proxy: Option<Proxy>,
}

/// Settings of the server that connects to the upstream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Proxy {
    pub(crate) ssl: bool,
    pub(crate) ssl_name: String,
    /// nginx resumes a session made with another connection's client certificate and SNI;
    /// where those vary per connection, sessions are not reused.
    pub(crate) no_session_reuse: bool,
    pub(crate) mtls: bool,
    pub(crate) trusted_certificate: Option<String>,
    pub(crate) connect_timeout: Option<String>,
    pub(crate) timeout: Option<String>,
    pub(crate) tries: Option<u32>,
    pub(crate) next_upstream_timeout: Option<String>,
}

/// An internal server for one route (hop layout).
#[derive(Debug, Serialize)]
pub(crate) struct Hop {
    pub(crate) comment: String,
    pub(crate) socket: String,
    pub(crate) upstream: String,
    pub(crate) proxy: Proxy,
}

/// The internal server that closes unmatched connections.
#[derive(Debug, Serialize)]
pub(crate) struct NoRoute {
    pub(crate) socket: String,
    pub(crate) proxy_protocol: bool,
    /// When the listening server speaks TLS to its upstreams, the no-route server terminates
    /// it with the placeholder certificate (as APISIX's `ssl_PLACE_HOLDER`), so that the
    /// connection ends cleanly instead of with a failed handshake logged at `[error]`.
    pub(crate) tls: bool,
}

/// The placeholder certificate and key as `data:` values: internal servers terminate the TLS
/// of the listening server with it (a throwaway pair; those connections stay on this host).
#[derive(Debug, Serialize)]
pub(crate) struct Placeholder {
    pub(crate) cert: String,
    pub(crate) key: String,
}

/// A throwaway self-signed certificate; it guards no data (no-route connections carry none).
const PLACEHOLDER_CERT: &str = include_str!("../../templates/no-route-placeholder.crt");
/// Its key, public by design.
const PLACEHOLDER_KEY: &str = include_str!("../../templates/no-route-placeholder.key");

/// The context and the files it refers to.
pub(crate) struct Laid {
    pub(crate) context: Context,
    pub(crate) files: Vec<OutputFile>,
    pub(crate) holds_keys: bool,
    pub(crate) warnings: Vec<Warning>,
}

/// A route that can never match, as in APISIX: its SNI has upper-case letters.
#[derive(Debug, Serialize)]
pub(crate) struct NeverMatch {
    pub(crate) id: String,
    pub(crate) sni: String,
}

/// Builds the template context from checked objects.
pub(crate) fn lay_out(
    checked: &Checked,
    main: Main,
    access_log: Option<AccessLog>,
    dir: &Path,
) -> Laid {
    let mut out = Out { dir: dir.display().to_string(), files: Vec::new(), holds_keys: false };

    // The order APISIX tries routes in, without the routes that can never match.
    let (never, order): (Vec<&Route>, Vec<&Route>) =
        route_order(&checked.routes).into_iter().partition(|r| sni_never_matches(r));
    let never_match: Vec<NeverMatch> = never
        .iter()
        .map(|r| NeverMatch {
            id: r.id.clone(),
            sni: r.sni.as_ref().map(Sni::written).unwrap_or_default(),
        })
        .collect();
    let warnings = never_match
        .iter()
        .map(|n| Warning::SniNeverMatches { route: n.id.clone(), sni: n.sni.clone() })
        .collect();

    // The chain of maps, with a geo flag per address condition.
    let mut geos = Vec::new();
    let mut chain = Vec::new();
    let mut unreachable = Vec::new();
    let mut catch_all = false;
    for (pos, route) in order.iter().enumerate() {
        let n = pos + 1;
        if catch_all {
            unreachable.push(route.id.clone());
            continue;
        }
        let mut keys: Vec<String> = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        let mut what: Vec<String> = Vec::new();
        if let Some(sni) = &route.sni {
            keys.push("$strait_sni".into());
            match sni {
                Sni::Exact(s) => {
                    parts.push(Part::Literal(s.clone()));
                    what.push(format!("sni {s}"));
                }
                Sni::Wildcard(suffix) => {
                    parts.push(Part::Regex(wildcard_regex(suffix)));
                    what.push(format!("sni *{suffix}"));
                }
            }
        }
        if let Some(port) = route.server_port {
            keys.push("$server_port".into());
            parts.push(Part::Literal(port.to_string()));
            what.push(format!("server_port {port}"));
        }
        for (field, net, source) in [
            ("remote_addr", route.remote_addr, "$remote_addr"),
            ("server_addr", route.server_addr, "$server_addr"),
        ] {
            let Some(net) = net else { continue };
            let variable = format!("$strait_{field}_{n}");
            geos.push(Geo {
                comment: format!("route \"{}\": {field} {net}", route.id),
                source: source.to_owned(),
                variable: variable.clone(),
                network: net.to_string(),
            });
            parts.push(Part::Literal("1".into()));
            what.push(format!("{field} {net}"));
            keys.push(variable);
        }
        let next =
            if pos + 1 < order.len() { format!("$strait_match_{}", n + 1) } else { "\"\"".into() };
        let value = quote(&route_value(&route.id));
        let (key, entry, default) = if parts.is_empty() {
            catch_all = true;
            ("$server_port".to_owned(), None, value)
        } else {
            let key = if keys.len() == 1 { keys[0].clone() } else { quote(&keys.join("|")) };
            (key, Some(MapEntry { key: match_key(&parts), value }), next)
        };
        let condition =
            if what.is_empty() { "every connection".to_owned() } else { what.join(", ") };
        chain.push(ChainMap {
            comment: format!("route \"{}\": {condition}", route.id),
            key,
            variable: format!("$strait_match_{n}"),
            entry,
            default,
        });
    }

    // Static settings per route; one set for all routes means the direct layout.
    let proxies: Vec<Proxy> =
        order.iter().map(|r| proxy(&checked.upstreams[r.upstream], checked)).collect();
    let mut direct = proxies.windows(2).all(|w| w[0] == w[1]);

    // A verifying upstream connection cannot reach the no-route server cleanly: hop layout.
    if !catch_all && proxies.first().is_some_and(|p| p.trusted_certificate.is_some()) {
        direct = false;
    }
    let mtls_any = checked.upstreams.iter().any(|u| u.tls && u.client_cert.is_some());

    // In the hop layout, the client's SNI reaches a hop only as the SNI of a TLS connection
    // from the listening server; needed when a TLS upstream's name is not fixed per route.
    let tls_listener = checked.listeners.iter().any(|l| l.tls);
    let hop_tls = !direct
        && tls_listener
        && order
            .iter()
            .any(|r| checked.upstreams[r.upstream].tls && !matches!(r.sni, Some(Sni::Exact(_))));

    // Per route values: where to pass, which client certificate.
    let mut pass = Vec::new();
    let mut hop_routes = Vec::new();
    let mut hops = Vec::new();
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    for (route, proxy) in order.iter().zip(&proxies) {
        let up = &checked.upstreams[route.upstream];
        let value = route_key(&route.id);
        if direct {
            pass.push(MapEntry { key: value.clone(), value: up.name.clone() });
        } else {
            let socket = format!("{}/strait-route-{}.sock", out.dir, route.id);
            pass.push(MapEntry { key: value.clone(), value: quote(&format!("unix:{socket}")) });
            hop_routes.push(MapEntry {
                key: quote(&format!("unix:{socket}")),
                value: quote(&route_value(&route.id)),
            });
            let mut proxy = proxy.clone();
            if proxy.ssl && !hop_tls {
                proxy.ssl_name = quote(&hop_sni(route));
                proxy.no_session_reuse = false;
            }
            hops.push(Hop {
                comment: format!("route \"{}\" -> {}", route.id, up.origin),
                socket,
                upstream: up.name.clone(),
                proxy,
            });
        }
        if let Some(cc) = up.client_cert.as_ref().filter(|_| up.tls) {
            let cert = out.value(&format!("upstream-{}.crt", up.name), &cc.cert, false);
            let key = out.value(&format!("upstream-{}.key", up.name), &cc.key, true);
            certs.push(MapEntry { key: value.clone(), value: cert });
            keys.push(MapEntry { key: value, value: key });
        }
    }

    // Certificates of TLS listeners.
    let server_certs =
        checked.listeners.iter().any(|l| l.tls).then(|| server_certs(checked, &mut out));

    // Unmatched connections.
    let front_ssl = (direct && proxies.first().is_some_and(|p| p.ssl)) || hop_tls;
    let hop_proxy_protocol =
        !direct && checked.upstreams.iter().any(|u| matches!(u.balancer, Balancer::Chash(_)));
    let no_route = (!catch_all).then(|| NoRoute {
        socket: format!("{}/strait-no-route.sock", out.dir),
        proxy_protocol: hop_proxy_protocol,
        tls: front_ssl,
    });
    let placeholder = (front_ssl && (no_route.is_some() || hop_tls)).then(|| {
        out.holds_keys = true;
        Placeholder {
            cert: quote(&format!("data:{PLACEHOLDER_CERT}")),
            key: quote(&format!("data:{PLACEHOLDER_KEY}")),
        }
    });
    let pass_default = match &no_route {
        Some(n) => quote(&format!("unix:{}", n.socket)),
        None => "\"\"".into(),
    };

    // Upstream blocks.
    let upstreams =
        checked.upstreams.iter().map(|u| upstream_block(u, hop_proxy_protocol)).collect();

    // The listening server.
    let reuseport = if checked.reuseport { " reuseport" } else { "" };
    let listens = checked
        .listeners
        .iter()
        .map(|l| {
            format!(
                "{}{}{}{}",
                l.listen_address(),
                if l.tls { " ssl" } else { "" },
                reuseport,
                if l.proxy_protocol { " proxy_protocol" } else { "" }
            )
        })
        .collect();
    let front = Front {
        listens,
        tls: checked.listeners.iter().any(|l| l.tls),
        hop: !direct,
        hop_proxy_protocol,
        hop_tls,
        proxy: if direct { proxies.first().cloned() } else { None },
    };

    // Long map keys (unix socket paths, long ids) need bigger hash buckets than nginx's 64.
    let longest = hop_routes
        .iter()
        .chain(&pass)
        .chain(chain.iter().filter_map(|c| c.entry.as_ref()))
        .chain(server_certs.iter().flat_map(|c| &c.certs))
        .map(|e| e.key.len())
        .max()
        .unwrap_or(0);
    let map_hash_bucket_size = (longest + 32 > 64).then(|| (longest + 32).div_ceil(64) * 64);

    // Many routes mean many variables: nginx's variables hash (1024) must grow with them,
    // with room for its own ~100 stream variables.
    let variables = geos.len() + chain.len() + 16 + 128;
    let variables_hash_max_size =
        (variables * 4 > 1024).then(|| (variables * 4).next_power_of_two());

    let stream = Stream {
        map_hash_bucket_size,
        variables_hash_max_size,
        access_log,
        fallback_sni: checked.fallback_sni.as_deref().map(|f| fallback_entries(checked, f)),
        server_certs,
        geos,
        chain,
        unreachable,
        never_match,
        hop_routes,
        pass,
        pass_default,
        mtls: mtls_any.then_some(Mtls { certs, keys }),
        upstream_sni: checked.upstreams.iter().any(|u| u.tls),
        upstreams,
        front,
        hops,
        no_route,
        placeholder,
    };
    Laid {
        context: Context { main, stream },
        files: out.files,
        holds_keys: out.holds_keys,
        warnings,
    }
}

/// The `$strait_fallback_sni` map entries, keyed by `$server_addr|$server_port`: the
/// fallback for each TLS listener, nothing for a plain one. APISIX reads `fallback_sni` only
/// when the connection is TLS (`ssl.server_name()` fails first on a plain one), and on a
/// TLS listener every connection is. The listener, unlike `$ssl_protocol`, is known before
/// the handshake, when the certificate is chosen by the same SNI. A listener on a wildcard
/// address (or a host name) is matched by its port and address family; a plain listener on
/// a specific address gets its own entry only where a TLS listener shares its port (exact
/// keys win over regexes, as nginx's `listen` prefers the specific address). Internal
/// servers (`unix:` addresses) get nothing: the listening server resolved the SNI.
fn fallback_entries(checked: &Checked, fallback: &str) -> Vec<MapEntry> {
    // Lower-cased, as APISIX's `server_name()` returns it (it is also the upstream SNI).
    let value = quote(&fallback.to_ascii_lowercase());
    let tls_ports: Vec<u16> = checked.listeners.iter().filter(|l| l.tls).map(|l| l.port).collect();
    let mut entries = Vec::new();
    for l in checked.listeners.iter().filter(|l| tls_ports.contains(&l.port)) {
        let host = l.addr.as_deref().map(|a| a.trim_start_matches('[').trim_end_matches(']'));
        let key = match host.map(str::parse::<std::net::IpAddr>) {
            Some(Ok(ip)) if !ip.is_unspecified() => quote(&format!("{ip}|{}", l.port)),
            Some(Ok(std::net::IpAddr::V6(_))) => quote_regex(&format!("~:[^|]*\\|{}$", l.port)),
            None | Some(Ok(_)) => quote_regex(&format!("~^[^:|]*\\|{}$", l.port)),
            Some(Err(_)) => quote_regex(&format!("~\\|{}$", l.port)),
        };
        let value = if l.tls { value.clone() } else { "\"\"".to_owned() };
        entries.push(MapEntry { key, value });
    }
    entries
}

/// Whether a route's SNI can never match: APISIX compares it as written with the client's
/// SNI lower-cased (`apisix/ssl.lua` `server_name`, `apisix/stream/router/ip_port.lua`).
fn sni_never_matches(route: &Route) -> bool {
    route.sni.as_ref().is_some_and(|sni| sni.written().bytes().any(|b| b.is_ascii_uppercase()))
}

/// Where values that are too long to inline go.
struct Out {
    dir: String,
    files: Vec<OutputFile>,
    holds_keys: bool,
}

impl Out {
    /// A PEM value: inline `data:` when it fits in one nginx token, else a file path.
    fn value(&mut self, name: &str, pem: &str, secret: bool) -> String {
        let inline = format!("data:{pem}");
        if inline.len() + 2 < TOKEN_LIMIT {
            self.holds_keys |= secret;
            return quote(&inline);
        }
        if !self.files.iter().any(|f| f.name == name) {
            self.files.push(OutputFile { name: name.to_owned(), contents: pem.to_owned(), secret });
        }
        quote(&format!("{}/{name}", self.dir))
    }
}

/// A piece of a route's match key.
enum Part {
    Literal(String),
    Regex(String),
}

/// The map key matching all parts: an exact string, or a caseless regex when one part is.
fn match_key(parts: &[Part]) -> String {
    if parts.iter().all(|p| matches!(p, Part::Literal(_))) {
        let joined: Vec<&str> =
            parts.iter().map(|p| if let Part::Literal(s) = p { s.as_str() } else { "" }).collect();
        return quote(&joined.join("|"));
    }
    let joined: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Part::Literal(s) => regex_escape(s),
            Part::Regex(r) => r.clone(),
        })
        .collect();
    quote_regex(&format!("~*^{}$", joined.join("\\|")))
}

/// The regex of a wildcard route's SNI, `*SUFFIX`. APISIX's radix tree keys the route by the
/// reversed SNI without its `*` and matches it as a prefix, inclusively: the client's SNI
/// ends with SUFFIX or is SUFFIX. So `*x.com` matches `x.com` itself, while `*.test.com`
/// does not match `test.com` (its suffix has the dot). A bare `*` matches any SNI, but never
/// the empty `$strait_sni` of a connection without one (APISIX dispatches no SNI then).
fn wildcard_regex(suffix: &str) -> String {
    if suffix.is_empty() {
        ".+".to_owned()
    } else {
        format!(".*{}", regex_escape(suffix))
    }
}

/// APISIX's route order: exact SNI, wildcard SNI (longest suffix first), the rest.
fn route_order(routes: &[Route]) -> Vec<&Route> {
    let exact = routes.iter().filter(|r| matches!(r.sni, Some(Sni::Exact(_))));
    let mut wildcard: Vec<&Route> =
        routes.iter().filter(|r| matches!(r.sni, Some(Sni::Wildcard(_)))).collect();
    wildcard.sort_by_key(|r| match &r.sni {
        Some(Sni::Wildcard(s)) => std::cmp::Reverse(s.len()),
        _ => std::cmp::Reverse(0),
    });
    let other = routes.iter().filter(|r| r.sni.is_none());
    exact.chain(wildcard).chain(other).collect()
}

/// The value naming a route in maps (prefixed: `default` and `include` are map keywords).
fn route_value(id: &str) -> String {
    format!("route_{id}")
}

/// The same as a map key.
fn route_key(id: &str) -> String {
    quote(&route_value(id))
}

/// The SNI a hop sends upstream when it cannot know the client's: the route's own exact
/// SNI, else `apisix_backend`. Only an exact route can have a client SNI here: a TLS
/// upstream of another route on a TLS listener makes the hops take the SNI over TLS, and
/// without a TLS listener there is no SNI (`fallback_sni` names TLS connections only).
fn hop_sni(route: &Route) -> String {
    match &route.sni {
        Some(Sni::Exact(s)) => s.clone(),
        _ => "apisix_backend".to_owned(),
    }
}

/// The static settings for connecting to an upstream.
fn proxy(up: &UpstreamPlan, checked: &Checked) -> Proxy {
    Proxy {
        ssl: up.tls,
        ssl_name: "$strait_upstream_sni".into(),
        no_session_reuse: up.tls,
        mtls: up.tls && checked.upstreams.iter().any(|u| u.tls && u.client_cert.is_some()),
        trusted_certificate: checked.trusted_certificate.clone().filter(|_| up.verify),
        connect_timeout: up.timeout.map(|t| nginx_time(t.connect)),
        timeout: up.timeout.map(|t| nginx_time(t.send.max(t.read))),
        tries: up.retries.map(|r| r.saturating_add(1)),
        next_upstream_timeout: up.retry_timeout.filter(|t| *t > 0.0).map(nginx_time),
    }
}

/// Seconds as an nginx time value (`5s`, `1500ms`).
fn nginx_time(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The certificate maps of TLS listeners.
fn server_certs(checked: &Checked, out: &mut Out) -> ServerCerts {
    let mut certs = Vec::new();
    let mut keys = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for sc in &checked.server_certs {
        let cert = out.value(&format!("server-{}.crt", sc.id), &sc.cert, false);
        let key = out.value(&format!("server-{}.key", sc.id), &sc.key, true);
        for sni in &sc.snis {
            let lower = sni.to_ascii_lowercase();
            if seen.contains(&lower) {
                continue;
            }
            seen.push(lower.clone());
            let map_key = match lower.strip_prefix('*') {
                Some(suffix) => quote_regex(&format!("~*^[^.]+{}$", regex_escape(suffix))),
                None => quote(&lower),
            };
            certs.push(MapEntry { key: map_key.clone(), value: cert.clone() });
            keys.push(MapEntry { key: map_key, value: key.clone() });
        }
    }
    let first = &checked.server_certs[0];
    ServerCerts {
        default_cert: out.value(&format!("server-{}.crt", first.id), &first.cert, false),
        default_key: out.value(&format!("server-{}.key", first.id), &first.key, true),
        certs,
        keys,
    }
}

/// One `upstream {}` block.
fn upstream_block(up: &UpstreamPlan, proxy_protocol: bool) -> UpstreamBlock {
    let mut comments = vec![up.origin.clone()];
    if up.tls_unused {
        comments.push("its tls block is unused: the scheme is not tls (as in APISIX)".into());
    }

    // The balancer.
    let balancer = match &up.balancer {
        Balancer::RoundRobin => None,
        Balancer::LeastConn { from_ewma } => {
            if *from_ewma {
                comments.push(
                    "type ewma: nginx has no EWMA balancer; least_conn is the nearest".into(),
                );
            }
            Some("least_conn;".to_owned())
        }
        Balancer::Chash(key) => {
            // In the hop layout the listening server's address arrives in the PROXY header.
            let var = match (key.as_str(), proxy_protocol) {
                ("server_addr", true) => "$proxy_protocol_server_addr".to_owned(),
                _ => format!("${key}"),
            };
            Some(format!("hash {var} consistent;"))
        }
    };

    // Priorities: the highest level is primary, lower levels become backup peers.
    let top = up.nodes.iter().map(|n| n.priority).max().unwrap_or(0);
    let levels = {
        let mut l: Vec<i64> = up.nodes.iter().map(|n| n.priority).collect();
        l.sort_unstable();
        l.dedup();
        l.len()
    };
    let backup_allowed = !matches!(up.balancer, Balancer::Chash(_));
    if levels > 1 {
        comments.push(if backup_allowed {
            format!("priorities: level {top} is primary, lower levels are backup peers")
        } else {
            "priorities: nginx hash has no backup peers; all levels are primary".to_owned()
        });
    }
    let servers = up
        .nodes
        .iter()
        .map(|n| {
            let mut line = format!("{}:{}", n.host, n.port);
            if n.weight == 0 {
                line.push_str(" down");
            } else if n.weight != 1 {
                line.push_str(&format!(" weight={}", n.weight));
            }
            if backup_allowed && n.priority < top {
                line.push_str(" backup");
            }
            line
        })
        .collect();
    UpstreamBlock { comments, name: up.name.clone(), balancer, servers }
}

/// A value as one nginx token: as it is when nginx reads it so, else quoted.
pub(crate) fn token(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "\"';{}$\\#".contains(c));
    if plain {
        s.to_owned()
    } else {
        quote(s)
    }
}

/// A double-quoted nginx string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A double-quoted regex: nginx keeps a backslash before any character but `"`, `'`, `\\`,
/// `t`, `r` and `n`, and escaped metacharacters never are one of those, so it is written as is.
fn quote_regex(re: &str) -> String {
    format!("\"{re}\"")
}

/// Escapes regex metacharacters (PCRE).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if ".^$|?*+()[]{}\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(id: &str, sni: Option<Sni>) -> Route {
        Route {
            id: id.into(),
            sni,
            remote_addr: None,
            server_addr: None,
            server_port: None,
            upstream: 0,
        }
    }

    #[test]
    fn order_is_exact_then_longest_wildcard_then_the_rest() {
        let routes = [
            route("plain", None),
            route("wild", Some(Sni::Wildcard(".test.com".into()))),
            route("exact", Some(Sni::Exact("a.test.com".into()))),
            route("deeper", Some(Sni::Wildcard(".b.test.com".into()))),
            route("plain2", None),
            route("exact2", Some(Sni::Exact("b.test.com".into()))),
        ];
        let order: Vec<&str> = route_order(&routes).iter().map(|r| r.id.as_str()).collect();
        assert_eq!(order, ["exact", "exact2", "deeper", "wild", "plain", "plain2"]);
    }

    #[test]
    fn match_keys() {
        let exact = [Part::Literal("a.test.com".into()), Part::Literal("1".into())];
        assert_eq!(match_key(&exact), "\"a.test.com|1\"");
        let wild = [Part::Regex(wildcard_regex(".test.com")), Part::Literal("9100".into())];
        assert_eq!(match_key(&wild), "\"~*^.*\\.test\\.com\\|9100$\"");
    }

    /// `*x.com` matches `x.com` (APISIX's inclusive prefix match on the reversed SNI);
    /// `*.test.com` does not match `test.com` (its dot is part of the suffix); `*` needs an SNI.
    /// (tests/render_traffic.rs runs these keys on strait and nginx.)
    #[test]
    fn wildcard_regexes_follow_the_radix_tree() {
        assert_eq!(wildcard_regex("x.com"), ".*x\\.com");
        assert_eq!(wildcard_regex(".test.com"), ".*\\.test\\.com");
        assert_eq!(wildcard_regex(""), ".+");
    }

    #[test]
    fn times_and_quotes() {
        assert_eq!(nginx_time(5.0), "5s");
        assert_eq!(nginx_time(1.5), "1500ms");
        assert_eq!(nginx_time(0.001), "1ms");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
