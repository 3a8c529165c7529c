//! Generates t/render/routes.t: routes documents rendered by strait-render, with traffic
//! checks that `strait prove t/render/routes.t` runs against strait and (`--binary`) nginx.
//!
//! Each block's `stream_config` is the `stream {}` body strait render produces for the routes
//! below, plus an mTLS backend; the harness's own server passes connections to the rendered
//! listener. Placeholder ports and the files directory are replaced by Test::Nginx's
//! variables. The test fails when t/render/routes.t differs from what the current translator
//! renders; `STRAIT_UPDATE_T=1 cargo test --test render_t_suite` rewrites it.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use strait_render::{keys, render, RenderOptions};

/// Placeholders replaced by the harness's variables.
const FRONT_PORT: u16 = 61001;
const BACKEND_PORT: u16 = 61002;
const FILES_DIR: &str = "/strait-render-t-files";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pki(name: &str) -> String {
    std::fs::read_to_string(root().join("testdata/pki").join(name)).unwrap()
}

/// Upstreams with every way of giving a client certificate, and the ssl objects.
fn objects() -> (Value, Value) {
    let node = json!({ format!("127.0.0.1:{BACKEND_PORT}"): 1 });
    let encrypted = keys::encrypt_private_key(&pki("client-a.key"), "edd1c9f0985e76a2").unwrap();
    let doc = json!({
        "ssls": [
            {"id": "server", "snis": ["localhost", "*.test.com"],
             "cert": pki("server.crt"), "key": pki("server.key")},
            {"id": "client-b", "type": "client",
             "cert": pki("client-b.crt"), "key": pki("client-b.key")},
        ],
        "upstreams": [
            {"id": "inline", "scheme": "tls", "nodes": node,
             "tls": {"client_cert": pki("client-a.crt"), "client_key": pki("client-a.key")}},
            {"id": "by-id", "scheme": "tls", "nodes": node, "tls": {"client_cert_id": "client-b"}},
            {"id": "encrypted", "scheme": "tls", "nodes": node,
             "tls": {"client_cert": pki("client-a.crt"), "client_key": encrypted}},
            {"id": "none", "scheme": "tls", "nodes": node},
        ],
    });
    (doc["ssls"].clone(), doc["upstreams"].clone())
}

/// A routes document: the shared objects and these routes.
fn routes(stream_routes: Value) -> Value {
    let (ssls, upstreams) = objects();
    json!({"ssls": ssls, "upstreams": upstreams, "stream_routes": stream_routes})
}

/// One listener on the placeholder port.
fn config(tls: bool) -> Value {
    json!({"apisix": {
        "enable_reuseport": false,
        "stream_proxy": {"tcp": [{"addr": format!("127.0.0.1:{FRONT_PORT}"), "tls": tls}]},
    }})
}

/// The documents of the suite: (routes, config, blocks).
fn documents() -> Vec<(Value, Value, Vec<Block>)> {
    let by_sni = routes(json!([
        {"id": "inline", "sni": "a.test.com", "upstream_id": "inline"},
        {"id": "by-id", "sni": "*.test.com", "upstream_id": "by-id"},
        {"id": "encrypted", "sni": "localhost", "upstream_id": "encrypted"},
        {"id": "none", "sni": "nocert.example", "upstream_id": "none"},
    ]));
    let by_address = routes(json!([
        {"id": "elsewhere", "remote_addr": "192.0.2.0/24", "upstream_id": "inline"},
        {"id": "this-port", "server_port": FRONT_PORT, "remote_addr": "127.0.0.0/8",
         "server_addr": "127.0.0.1", "upstream_id": "by-id"},
    ]));
    // The harness's server connects from 127.0.0.2 (`proxy_bind`) or from 127.0.0.1.
    let by_source = routes(json!([
        {"id": "from-two", "remote_addr": "127.0.0.2", "upstream_id": "by-id"},
        {"id": "from-one", "remote_addr": "127.0.0.1/32", "upstream_id": "inline"},
    ]));
    let other_port = routes(json!([
        {"id": "other-port", "server_port": FRONT_PORT + 8, "upstream_id": "inline"},
    ]));
    let a = "cn=CN=client-a,OU=clients,O=strait test,C=US";
    let b = "cn=CN=client-b,OU=clients,O=strait test,C=US";
    vec![
        (
            by_sni,
            config(true),
            vec![
            Block::tls("exact SNI: the route's inline client certificate", "a.test.com",
                       &format!("{a} sni=a.test.com\n")),
            Block::tls(
                "wildcard SNI at any depth: the client ssl object's certificate (client_cert_id)",
                "x.y.test.com",
                &format!("{b} sni=x.y.test.com\n"),
            ),
            Block::tls(
                "a key stored encrypted with the keyring (second default entry)",
                "localhost",
                &format!("{a} sni=localhost\n"),
            ),
            Block::tls("a TLS upstream without a client certificate", "nocert.example",
                       "cn= sni=nocert.example\n"),
            Block::tls("no route for this SNI: closed without a byte", "other.example", ""),
        ],
        ),
        (
            by_address,
            config(false),
            vec![Block::plain(
                "server_port, remote_addr and server_addr pick the route (no SNI: apisix_backend)",
                &format!("{b} sni=apisix_backend\n"),
            )],
        ),
        (
            by_source,
            config(false),
            vec![
                Block::plain_from(
                    "remote_addr 127.0.0.2: the client from 127.0.0.2 takes its route",
                    "127.0.0.2",
                    &format!("{b} sni=apisix_backend\n"),
                ),
                Block::plain(
                    "remote_addr 127.0.0.1/32: the client from 127.0.0.1 takes its route",
                    &format!("{a} sni=apisix_backend\n"),
                ),
            ],
        ),
        (
            other_port,
            config(false),
            vec![Block::plain("no route for this port: closed without a byte", "")],
        ),
    ]
}

/// One test block: a request and the expected response.
struct Block {
    title: String,
    sni: Option<String>,
    /// The address the harness's server connects from (`proxy_bind`), when not 127.0.0.1.
    source: Option<String>,
    response: String,
}

impl Block {
    fn tls(title: &str, sni: &str, response: &str) -> Block {
        let sni = Some(sni.into());
        Block { title: title.into(), sni, source: None, response: response.into() }
    }

    fn plain(title: &str, response: &str) -> Block {
        Block { title: title.into(), sni: None, source: None, response: response.into() }
    }

    fn plain_from(title: &str, source: &str, response: &str) -> Block {
        let source = Some(source.into());
        Block { title: title.into(), sni: None, source, response: response.into() }
    }
}

/// The rendered `stream {}` body with the harness's variables in place.
fn rendered_stream_body(routes: &Value, config: &Value) -> String {
    let options = RenderOptions::new(FILES_DIR);
    let rendered = render(routes, config, &options).unwrap();
    assert!(rendered.files.is_empty(), "the suite inlines everything");
    let text = rendered.config;
    let start = text.find("stream {\n").unwrap() + "stream {\n".len();
    let end = text.rfind("}\n").unwrap();
    text[start..end]
        .replace(&FRONT_PORT.to_string(), "$TEST_NGINX_RAND_PORT_1")
        .replace(&BACKEND_PORT.to_string(), "$TEST_NGINX_RAND_PORT_2")
        .replace(FILES_DIR, "$TEST_NGINX_HTML_DIR")
}

/// The backend: an mTLS upstream that reports the client certificate and SNI it got.
const BACKEND: &str = "
    # The upstream: reports the client certificate and the SNI it received.
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 ssl;
        ssl_certificate $TEST_NGINX_FILE_DIR/../../testdata/pki/server.crt;
        ssl_certificate_key $TEST_NGINX_FILE_DIR/../../testdata/pki/server.key;
        ssl_client_certificate $TEST_NGINX_FILE_DIR/../../testdata/pki/ca.crt;
        ssl_verify_client optional;
        return \"cn=$ssl_client_s_dn sni=$ssl_server_name\\n\";
    }
";

fn suite() -> String {
    let mut out = String::from(
        "# Generated by tests/render_t_suite.rs from a routes document rendered by strait render\n\
         # (STRAIT_UPDATE_T=1 cargo test --test render_t_suite); do not edit by hand.\n\
         # Routes by SNI (a TLS listener), address and port to TLS upstreams, each with its\n\
         # client certificate: inline, by client ssl object, decrypted with the keyring, none;\n\
         # routes by the client's address (the harness's server connects from 127.0.0.2 with\n\
         # proxy_bind); and connections no route matches.\n\
         # Run: strait prove t/render/routes.t (and --binary /usr/sbin/nginx). On nginx, a\n\
         # `return` server terminating TLS (the backend, the no-route server) may log [crit]\n\
         # SSL_shutdown() when the client's data arrives after its close_notify.\n\
         use Test::Nginx::Socket::Lua::Stream 'no_plan';\nrun_tests();\n\n__DATA__\n",
    );
    let mut n = 0;
    for (routes, config, blocks) in documents() {
        let body = rendered_stream_body(&routes, &config);
        for block in blocks {
            n += 1;
            let request = match &block.sni {
                Some(sni) => format!("--- stream_tls_request\nhello\n--- stream_sni: {sni}\n"),
                None => "--- stream_request\n".to_owned(),
            };
            let bind = match &block.source {
                Some(source) => format!("    proxy_bind {source};\n"),
                None => String::new(),
            };
            out.push_str(&format!(
                "\n=== TEST {n}: {}\n--- stream_config\n{body}{BACKEND}\
                 --- stream_server_config\n{bind}    \
                 proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_1;\n{request}--- response_body\n{}\
                 --- no_error_log\n[error]\n\n\n",
                block.title, block.response
            ));
        }
    }
    out
}

#[test]
fn t_render_is_rendered_from_the_current_translator() {
    let path: &Path = &root().join("t/render/routes.t");
    let want = suite();
    if std::env::var_os("STRAIT_UPDATE_T").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let got = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        got == want,
        "t/render/routes.t is stale: STRAIT_UPDATE_T=1 cargo test --test render_t_suite"
    );
}
