//! Traffic through a rendered configuration, served by strait and by real nginx (the nginx
//! runs are skipped, loudly, where nginx is not installed).
//!
//! A backend server (nginx where installed, else strait) serves a plain echo and an mTLS
//! upstream that reports the client certificate's subject and the SNI it received. The
//! rendered configuration is then checked for the behaviour APISIX has: the right route by
//! SNI, address and port, the right client certificate per route (inline, by id,
//! decrypted, none), and a connection closed without a byte when no route matches. Both
//! layouts are covered: direct (all routes share their static settings) and hop (plain and
//! TLS upstreams behind one listener).

mod runtime_support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use runtime_support::free_port;
use serde_json::{json, Value};
use strait_render::{keys, render, RenderOptions, Rendered};

const NGINX: &str = "/usr/sbin/nginx";
const MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";
const STRAIT: &str = env!("CARGO_BIN_EXE_strait");

/// Whether real nginx with the stream module is here.
fn have_nginx() -> bool {
    Path::new(NGINX).exists() && Path::new(MODULE).exists()
}

/// The servers under test: strait, and nginx where installed.
fn servers() -> Vec<&'static str> {
    if have_nginx() {
        vec![STRAIT, NGINX]
    } else {
        eprintln!("NOTICE: nginx with the stream module is not installed: nginx runs SKIPPED");
        vec![STRAIT]
    }
}

fn pki(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki").join(name);
    std::fs::read_to_string(path).unwrap()
}

fn pki_path(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki").join(name);
    path.canonicalize().unwrap().display().to_string()
}

/// A running server (strait or nginx), stopped on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Nginx {
    fn start(binary: &str, dir: &Path, conf: &str, ports: &[u16]) -> Nginx {
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let path = dir.join("nginx.conf");
        let module =
            if binary == NGINX { format!("load_module {MODULE};\n") } else { String::new() };
        std::fs::write(&path, format!("{module}daemon off;\n{conf}")).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut prefix = dir.as_os_str().to_owned();
        prefix.push("/");
        let child = Command::new(binary)
            .stderr(stderr)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&path)
            .spawn()
            .unwrap();
        let nginx = Nginx { child, dir: dir.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in ports {
            while TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nginx did not listen on {port}: {}",
                    nginx.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        nginx
    }

    fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        read("stderr.log") + &read("logs/error.log")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // `kill` through the command line keeps the test crate free of unsafe code.
        let _ = Command::new("kill").arg("-QUIT").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Reads what the proxy sends until it closes.
fn plain(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// TLS to the proxy with an SNI; what it sends until it closes.
fn tls(port: u16, sni: Option<&str>) -> String {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    let connector = builder.build();
    let mut config = connector.configure().unwrap();
    config.set_verify_hostname(false);
    config.set_use_server_name_indication(sni.is_some());
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut s = config.connect(sni.unwrap_or("ignored"), tcp).unwrap();
    let _ = s.write_all(b"");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The backends: a plain echo and an mTLS upstream reporting the client certificate and SNI.
fn backends(dir: &Path, plain_port: u16, mtls_port: u16) -> Nginx {
    let conf = format!(
        "user root;\nerror_log logs/error.log info;\npid logs/nginx.pid;\nevents {{}}\n\
         stream {{\n\
         server {{ listen 127.0.0.1:{plain_port}; return \"plain\\n\"; }}\n\
         server {{ listen 127.0.0.1:{mtls_port} ssl;\n\
           ssl_certificate {crt}; ssl_certificate_key {key};\n\
           ssl_verify_client optional; ssl_client_certificate {ca}; ssl_verify_depth 3;\n\
           return \"cn=$ssl_client_s_dn sni=$ssl_server_name\\n\"; }}\n}}\n",
        crt = pki_path("server.crt"),
        key = pki_path("server.key"),
        ca = pki_path("ca.crt"),
    );
    let binary = if have_nginx() { NGINX } else { STRAIT };
    Nginx::start(binary, dir, &conf, &[plain_port, mtls_port])
}

/// No line at `[error]` or worse: unmatched connections end as cleanly as matched ones.
fn assert_quiet(proxy: &Nginx, binary: &str) {
    std::thread::sleep(Duration::from_millis(300));
    let log = proxy.log();
    for level in ["[error]", "[crit]", "[alert]", "[emerg]"] {
        assert!(!log.contains(level), "{binary}: {level} in the proxy's log:\n{log}");
    }
}

fn render_into(dir: &Path, routes: &Value, config: &Value) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let rendered: Rendered = render(routes, config, &RenderOptions::new(dir)).unwrap();
    for f in &rendered.files {
        std::fs::write(dir.join(&f.name), &f.contents).unwrap();
    }
    rendered.config
}

#[test]
fn routes_and_client_certificates() {
    for binary in servers() {
        routes_and_client_certificates_on(binary);
    }
}

#[test]
fn direct_layout_forwards_the_client_sni() {
    for binary in servers() {
        direct_layout_on(binary);
    }
}

fn routes_and_client_certificates_on(binary: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (b_plain, b_mtls) = (free_port(), free_port());
    let _backends = backends(&tmp.path().join("backends"), b_plain, b_mtls);

    // The routes: every shape of client certificate, SNI, address and port.
    let (tls_port, plain_port, other_port) = (free_port(), free_port(), free_port());
    let encrypted = keys::encrypt_private_key(&pki("client-a.key"), "edd1c9f0985e76a2").unwrap();
    let mtls_node = json!({ format!("127.0.0.1:{b_mtls}"): 1 });
    let routes = json!({
        "ssls": [
            {"id": "server", "snis": ["localhost", "*.test.com", "b.test.com"],
             "cert": pki("server.crt"), "key": pki("server.key")},
            {"id": "client-b", "type": "client",
             "cert": pki("client-b.crt"), "key": pki("client-b.key")},
        ],
        "upstreams": [
            {"id": "inline", "scheme": "tls", "nodes": mtls_node,
             "tls": {"client_cert": pki("client-a.crt"), "client_key": pki("client-a.key")}},
            {"id": "by-id", "scheme": "tls", "nodes": mtls_node,
             "tls": {"client_cert_id": "client-b"}},
            {"id": "encrypted", "scheme": "tls", "nodes": mtls_node,
             "tls": {"client_cert": pki("client-a.crt"), "client_key": encrypted}},
            {"id": "none", "scheme": "tls", "nodes": mtls_node},
            {"id": "plain", "nodes": {format!("127.0.0.1:{b_plain}"): 1}},
        ],
        "stream_routes": [
            {"id": "a", "sni": "a.test.com", "upstream_id": "inline"},
            {"id": "wild", "sni": "*.test.com", "upstream_id": "by-id"},
            {"id": "enc", "sni": "localhost", "upstream_id": "encrypted"},
            {"id": "b-elsewhere", "sni": "b.test.com", "remote_addr": "192.0.2.1",
             "upstream_id": "inline"},
            {"id": "none", "server_port": tls_port, "upstream_id": "none"},
            {"id": "plain", "server_port": plain_port, "remote_addr": "127.0.0.0/8",
             "upstream_id": "plain"},
        ],
    });
    let config = json!({
        "apisix": {"enable_reuseport": false, "stream_proxy": {"tcp": [
            {"addr": format!("127.0.0.1:{tls_port}"), "tls": true},
            format!("127.0.0.1:{plain_port}"),
            format!("127.0.0.1:{other_port}"),
        ]}},
        "nginx_config": {"user": "root", "error_log_level": "info"},
    });
    let dir = tmp.path().join("proxy");
    let conf = render_into(&dir, &routes, &config);
    assert!(conf.contains("listen unix:"), "plain and TLS routes need the hop layout");
    let proxy = Nginx::start(binary, &dir, &conf, &[tls_port, plain_port, other_port]);
    let ctx = |what: &str| format!("{binary}: {what}\n--- proxy log:\n{}", proxy.log());

    // SNI: exact, wildcard (any depth), exact with an address that does not match.
    let got = tls(tls_port, Some("a.test.com"));
    assert!(got.contains("CN=client-a") && got.contains("sni=a.test.com"), "{}", ctx(&got));
    let got = tls(tls_port, Some("A.Test.COM"));
    assert!(got.contains("CN=client-a"), "SNI is matched caselessly: {}", ctx(&got));
    // The hops get the client's SNI (over TLS from the listening server) and pass it on.
    let got = tls(tls_port, Some("x.y.test.com"));
    assert!(got.contains("CN=client-b,") && got.contains("sni=x.y.test.com"), "{}", ctx(&got));
    let got = tls(tls_port, Some("b.test.com"));
    assert!(got.contains("CN=client-b"), "falls through to the wildcard: {}", ctx(&got));

    // Decrypted key; no certificate where none is configured.
    let got = tls(tls_port, Some("localhost"));
    assert!(got.contains("CN=client-a") && got.contains("sni=localhost"), "{}", ctx(&got));
    let got = tls(tls_port, Some("other.example"));
    assert_eq!(got, "cn= sni=other.example\n", "{}", ctx(&got));
    let got = tls(tls_port, None);
    assert_eq!(got, "cn= sni=apisix_backend\n", "{}", ctx(&got));

    // Port and address routes; no match closes without a byte.
    assert_eq!(plain(plain_port), "plain\n", "{}", ctx("plain"));
    assert_eq!(plain(other_port), "", "{}", ctx("no route"));
    assert_quiet(&proxy, binary);
}

fn direct_layout_on(binary: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (b_plain, b_mtls) = (free_port(), free_port());
    let _backends = backends(&tmp.path().join("backends"), b_plain, b_mtls);
    let (tls_port, other_port) = (free_port(), free_port());
    let routes = json!({
        "ssls": [
            {"id": "server", "snis": ["*.test.com"],
             "cert": pki("server.crt"), "key": pki("server.key")},
            {"id": "client-b", "type": "client",
             "cert": pki("client-b.crt"), "key": pki("client-b.key")},
        ],
        "upstreams": [
            {"id": "b", "scheme": "tls", "nodes": {format!("127.0.0.1:{b_mtls}"): 1},
             "tls": {"client_cert_id": "client-b"}},
            {"id": "a", "scheme": "tls", "nodes": {format!("127.0.0.1:{b_mtls}"): 1},
             "tls": {"client_cert": pki("client-a.crt"), "client_key": pki("client-a.key")}},
        ],
        // APISIX compares a route's SNI as written with the client's lower-cased one: the
        // upper-case route, tried first, never matches.
        "stream_routes": [
            {"id": "upper", "sni": "A.Test.COM", "upstream_id": "b"},
            {"id": "wild", "sni": "*.test.com", "upstream_id": "b"},
            {"id": "a", "sni": "a.test.com", "upstream_id": "a"},
        ],
    });
    let config = json!({
        "apisix": {"stream_proxy": {"tcp": [
            {"addr": format!("127.0.0.1:{tls_port}"), "tls": true},
            format!("127.0.0.1:{other_port}"),
        ]}},
        "nginx_config": {"user": "root", "error_log_level": "info"},
    });
    let dir = tmp.path().join("proxy");
    let conf = render_into(&dir, &routes, &config);
    assert!(!conf.contains("strait-route-"), "one set of settings: direct layout");
    let proxy = Nginx::start(binary, &dir, &conf, &[tls_port, other_port]);
    let ctx = |what: &str| format!("{binary}: {what}\n--- proxy log:\n{}", proxy.log());
    let got = tls(tls_port, Some("deep.sub.test.com"));
    assert!(got.contains("CN=client-b") && got.contains("sni=deep.sub.test.com"), "{}", ctx(&got));
    // One server, certificates per connection: no session of another identity is resumed.
    for (sni, cn) in [
        ("a.test.com", "client-a"),
        ("b.test.com", "client-b"),
        ("a.test.com", "client-a"),
        ("A.TEST.COM", "client-a"),
    ] {
        let got = tls(tls_port, Some(sni));
        assert!(got.contains(&format!("CN={cn},")), "{sni}: {}", ctx(&got));
    }
    let got = tls(tls_port, Some("trailing.test.com."));
    assert!(got.contains("sni=trailing.test.com\n"), "trailing dot: {}", ctx(&got));
    assert_eq!(plain(other_port), "", "no route: closed without a byte: {}", ctx(""));
    assert_quiet(&proxy, binary);
}

#[test]
fn verify_checks_the_upstream_certificate() {
    for binary in servers() {
        verify_on(binary);
    }
}

/// `tls.verify` with the trusted certificate of the config; `fallback_sni` names the upstream
/// for a TLS client that sent no SNI (a plain client's upstream SNI is `apisix_backend`).
fn verify_on(binary: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (b_plain, b_mtls) = (free_port(), free_port());
    let _backends = backends(&tmp.path().join("backends"), b_plain, b_mtls);
    for (ca, want) in [("ca.crt", "cn= sni=localhost\n"), ("ca2.crt", "")] {
        let port = free_port();
        let routes = json!({
            "ssls": [{"id": "server", "snis": ["localhost"],
                      "cert": pki("server.crt"), "key": pki("server.key")}],
            "upstreams": [{"id": "checked", "scheme": "tls",
                           "nodes": {format!("127.0.0.1:{b_mtls}"): 1}, "tls": {"verify": true}}],
            "stream_routes": [{"id": "checked", "upstream_id": "checked"}],
        });
        let config = json!({
            "apisix": {
                "stream_proxy": {"tcp": [{"addr": format!("127.0.0.1:{port}"), "tls": true}]},
                "ssl": {"fallback_sni": "localhost", "ssl_trusted_certificate": pki_path(ca)},
            },
            "nginx_config": {"user": "root", "error_log_level": "info"},
        });
        let dir = tmp.path().join(format!("proxy-{ca}"));
        let conf = render_into(&dir, &routes, &config);
        let proxy = Nginx::start(binary, &dir, &conf, &[port]);
        let got = tls(port, None);
        assert_eq!(got, want, "{binary} with {ca}:\n{}", proxy.log());
        if want.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
            assert!(
                proxy.log().contains("upstream SSL certificate verify error"),
                "{}",
                proxy.log()
            );
        }
    }
}

/// Backends that answer their own name and close, one port each.
fn named_backends(names: &[&'static str]) -> Vec<u16> {
    names
        .iter()
        .map(|&name| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.write_all(format!("{name}\n").as_bytes());
                }
            });
            port
        })
        .collect()
}

#[test]
fn chash_by_remote_addr_through_the_hop_layout() {
    // The same backends for every server under test: the hash ring depends on their names.
    let nodes = named_backends(&["b1", "b2", "b3", "b4"]);
    let mut runs = Vec::new();
    for binary in servers() {
        runs.push((binary, chash_hop_on(binary, &nodes)));
    }
    for (binary, answers) in &runs[1..] {
        assert_eq!(answers, &runs[0].1, "{binary} picks other nodes than {}", runs[0].0);
    }
}

/// Two chash routes whose static settings differ (hop layout: PROXY protocol to internal
/// servers with realip): the client's address and the listener's address pick the node,
/// the same node for every connection.
fn chash_hop_on(binary: &str, nodes: &[u16]) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let (client_port, listener_port) = (free_port(), free_port());
    let node = |i: usize| format!("127.0.0.1:{}", nodes[i]);
    let routes = json!({
        "upstreams": [
            {"id": "by-client", "type": "chash", "key": "remote_addr",
             "nodes": {node(0): 1, node(1): 1}},
            {"id": "by-listener", "type": "chash", "key": "server_addr",
             "nodes": {node(2): 1, node(3): 1}, "timeout": {"connect": 1, "send": 5, "read": 5}},
        ],
        "stream_routes": [
            {"id": "client", "server_port": client_port, "upstream_id": "by-client"},
            {"id": "listener", "upstream_id": "by-listener"},
        ],
    });
    let config = json!({
        "apisix": {"stream_proxy": {"tcp": [
            format!("127.0.0.1:{client_port}"),
            format!("127.0.0.1:{listener_port}"),
        ]}},
        "nginx_config": {"user": "root", "error_log_level": "info"},
    });
    let dir = tmp.path().join("proxy");
    let conf = render_into(&dir, &routes, &config);
    assert!(conf.contains("proxy_protocol on;"), "hop layout:\n{conf}");
    let proxy = Nginx::start(binary, &dir, &conf, &[client_port, listener_port]);
    let ctx = |what: &str| format!("{binary}: {what}\n--- proxy log:\n{}", proxy.log());
    let mut answers = Vec::new();
    for (port, pair) in [(client_port, ["b1\n", "b2\n"]), (listener_port, ["b3\n", "b4\n"])] {
        let first = plain(port);
        assert!(pair.contains(&first.as_str()), "{}", ctx(&first));
        for _ in 0..3 {
            assert_eq!(plain(port), first, "{}", ctx("the same node each time"));
        }
        answers.push(first);
    }
    assert_quiet(&proxy, binary);
    answers
}

#[test]
fn a_star_without_a_dot_matches_the_bare_name() {
    let nodes = named_backends(&["star-x", "star-dot-test", "other"]);
    for binary in servers() {
        star_without_a_dot_on(binary, &nodes);
    }
}

/// APISIX's radix tree strips a route SNI's `*` and prefix-matches the reversed name,
/// inclusively: `*x.com` matches `x.com` itself and any name ending in `x.com`, while
/// `*.test.com` does not match `test.com`.
fn star_without_a_dot_on(binary: &str, nodes: &[u16]) {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = |i: usize| json!({ format!("127.0.0.1:{}", nodes[i]): 1 });
    let routes = json!({
        "ssls": [{"id": "server", "snis": ["*.test.com"],
                  "cert": pki("server.crt"), "key": pki("server.key")}],
        "stream_routes": [
            {"id": "star-x", "sni": "*x.com", "upstream": {"nodes": node(0)}},
            {"id": "star-dot-test", "sni": "*.test.com", "upstream": {"nodes": node(1)}},
            {"id": "other", "upstream": {"nodes": node(2)}},
        ],
    });
    let config = json!({
        "apisix": {"stream_proxy": {"tcp": [{"addr": format!("127.0.0.1:{port}"), "tls": true}]}},
        "nginx_config": {"user": "root", "error_log_level": "info"},
    });
    let dir = tmp.path().join("proxy");
    let conf = render_into(&dir, &routes, &config);
    let proxy = Nginx::start(binary, &dir, &conf, &[port]);
    for (sni, want) in [
        ("x.com", "star-x\n"),
        ("X.Com", "star-x\n"),
        ("ax.com", "star-x\n"),
        ("b.x.com", "star-x\n"),
        ("x.co", "other\n"),
        ("a.test.com", "star-dot-test\n"),
        ("a.b.test.com", "star-dot-test\n"),
        ("test.com", "other\n"),
    ] {
        let got = tls(port, Some(sni));
        assert_eq!(got, want, "{binary}: SNI {sni}\n--- proxy log:\n{}", proxy.log());
    }
    assert_quiet(&proxy, binary);
}

#[test]
fn fallback_sni_names_tls_connections_only() {
    let sni_route = named_backends(&["sni-route"])[0];
    for binary in servers() {
        fallback_sni_on(binary, sni_route);
    }
}

/// APISIX reads `fallback_sni` only for a TLS connection that sent no SNI (`ssl.server_name()`
/// fails on a plain one first): a plain connection never goes through SNI dispatch, so it
/// takes the route without SNI, and a TLS upstream gets `apisix_backend` as its SNI. In the
/// direct layout (plain upstreams only) and the hop layout (a TLS upstream too: the internal
/// servers are reached over TLS, and must not apply the fallback to that connection).
fn fallback_sni_on(binary: &str, sni_route: u16) {
    let tmp = tempfile::tempdir().unwrap();
    let (b_plain, b_mtls) = (free_port(), free_port());
    let _backends = backends(&tmp.path().join("backends"), b_plain, b_mtls);
    let direct = (b_plain, "plain\n", "plain\n");
    let hop = (b_mtls, "cn= sni=apisix_backend\n", "cn= sni=b.test.com\n");
    for (n, (rest, plain_want, other_want)) in [direct, hop].into_iter().enumerate() {
        let (plain_port, tls_port) = (free_port(), free_port());
        let routes = json!({
            "ssls": [{"id": "server", "snis": ["*.test.com"],
                      "cert": pki("server.crt"), "key": pki("server.key")}],
            "upstreams": [
                {"id": "sni-route", "nodes": {format!("127.0.0.1:{sni_route}"): 1}},
                {"id": "rest", "scheme": if rest == b_mtls { "tls" } else { "tcp" },
                 "nodes": {format!("127.0.0.1:{rest}"): 1}},
            ],
            "stream_routes": [
                {"id": "a", "sni": "a.test.com", "upstream_id": "sni-route"},
                {"id": "rest", "upstream_id": "rest"},
            ],
        });
        let config = json!({
            "apisix": {
                "ssl": {"fallback_sni": "a.test.com"},
                "stream_proxy": {"tcp": [
                    format!("127.0.0.1:{plain_port}"),
                    {"addr": format!("127.0.0.1:{tls_port}"), "tls": true},
                ]},
            },
            "nginx_config": {"user": "root", "error_log_level": "info"},
        });
        let dir = tmp.path().join(format!("proxy-{n}"));
        let conf = render_into(&dir, &routes, &config);
        assert_eq!(conf.contains("strait-route-"), rest == b_mtls, "layout:\n{conf}");
        let proxy = Nginx::start(binary, &dir, &conf, &[plain_port, tls_port]);
        let ctx = |what: &str| format!("{binary}: {what}\n--- proxy log:\n{}", proxy.log());
        assert_eq!(plain(plain_port), plain_want, "{}", ctx("plain: the route without SNI"));
        assert_eq!(tls(tls_port, None), "sni-route\n", "{}", ctx("TLS without SNI: fallback"));
        assert_eq!(tls(tls_port, Some("a.test.com")), "sni-route\n", "{}", ctx("a.test.com"));
        assert_eq!(tls(tls_port, Some("b.test.com")), other_want, "{}", ctx("b.test.com"));
        assert_quiet(&proxy, binary);
    }
}

#[test]
fn remote_addr_routes_by_the_client_source_address() {
    let nodes = named_backends(&["from-127.0.0.2", "from-127.0.0.1"]);
    for binary in servers() {
        remote_addr_on(binary, &nodes);
    }
}

/// Connects from `source` (the whole of 127/8 is local on Linux) to the proxy; what it sends
/// until it closes.
fn plain_from(source: &str, port: u16) -> String {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let source: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&source.into()).unwrap();
    let proxy: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&proxy.into()).unwrap();
    let mut s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// `remote_addr` routes taken by a client's real source address: a single address and a
/// /32, each picked by its own client; another source address matches neither.
fn remote_addr_on(binary: &str, nodes: &[u16]) {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = |i: usize| json!({ format!("127.0.0.1:{}", nodes[i]): 1 });
    let routes = json!({
        "stream_routes": [
            {"id": "two", "remote_addr": "127.0.0.2", "upstream": {"nodes": node(0)}},
            {"id": "one", "remote_addr": "127.0.0.1/32", "upstream": {"nodes": node(1)}},
        ],
    });
    let config = json!({
        "apisix": {"stream_proxy": {"tcp": [format!("127.0.0.1:{port}")]}},
        "nginx_config": {"user": "root", "error_log_level": "info"},
    });
    let dir = tmp.path().join("proxy");
    let conf = render_into(&dir, &routes, &config);
    let proxy = Nginx::start(binary, &dir, &conf, &[port]);
    for (source, want) in
        [("127.0.0.2", "from-127.0.0.2\n"), ("127.0.0.1", "from-127.0.0.1\n"), ("127.0.0.3", "")]
    {
        let got = plain_from(source, port);
        assert_eq!(got, want, "{binary}: from {source}\n--- proxy log:\n{}", proxy.log());
    }
    assert_quiet(&proxy, binary);
}
