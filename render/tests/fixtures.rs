//! Fixture tests: every folder of testdata/render/ rendered and compared with its snapshot;
//! every folder of testdata/render/invalid/ rejected with the text of its expected.txt.
//!
//! Convention: `testdata/render/<case>/routes.yaml` (or `routes.json`) and an optional
//! `config.yaml`; the snapshot `snapshots/fixtures__<case>.snap` holds the whole output, the
//! files written beside it listed after the configuration. Output files are rendered for the
//! directory `/run/strait` so that snapshots do not depend on the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use strait_render::{check_config, load_document, render, RenderError, RenderOptions, Rendered};

/// The directory output files are rendered for.
const FILES_DIR: &str = "/run/strait";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/render")
}

/// The environment the `$env://` fixture reads.
fn set_fixture_env() {
    let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
    let read = |name: &str| std::fs::read_to_string(pki.join(name)).unwrap();
    std::env::set_var("STRAIT_RENDER_TEST_CERT", read("client-b.crt"));
    std::env::set_var("STRAIT_RENDER_TEST_KEY", read("client-b.key"));
}

/// Loads a case's documents (an absent config is the empty document).
fn inputs(dir: &Path) -> (Value, Value) {
    let routes = ["routes.yaml", "routes.json"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{}: no routes.yaml or routes.json", dir.display()));
    let routes = load_document(&routes, "routes document").unwrap();
    let config = dir.join("config.yaml");
    let config = if config.exists() {
        load_document(&config, "config document").unwrap()
    } else {
        Value::Object(Default::default())
    };
    (routes, config)
}

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.file_name().unwrap() != "invalid")
        .collect();
    cases.sort();
    cases
}

fn render_case(dir: &Path) -> Result<Rendered, RenderError> {
    let (routes, config) = inputs(dir);
    render(&routes, &config, &RenderOptions::new(FILES_DIR))
}

/// The whole output as one text: configuration, then each file with its mode.
fn whole_output(r: &Rendered) -> String {
    let mut out = format!("# mode {}\n{}", if r.holds_keys { "0600" } else { "0644" }, r.config);
    for f in &r.files {
        let mode = if f.secret { "0600" } else { "0644" };
        out.push_str(&format!("\n=== file {FILES_DIR}/{} (mode {mode})\n{}", f.name, f.contents));
    }
    out
}

#[test]
fn valid_fixtures_match_their_snapshots() {
    set_fixture_env();
    let cases = cases(&testdata());
    assert!(cases.len() >= 12, "expected the fixture folders, found {}", cases.len());
    for dir in cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let rendered = render_case(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));

        // Same input, same bytes.
        let again = render_case(&dir).unwrap();
        assert_eq!(rendered.config, again.config, "{name}: output is not deterministic");

        insta::assert_snapshot!(name.clone(), whole_output(&rendered));
    }
}

/// The parser's checks (`strait -t`) accept every rendered fixture.
#[test]
fn strait_checks_accept_every_fixture() {
    set_fixture_env();
    for dir in cases(&testdata()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let rendered = render_case(&dir).unwrap();
        let path = Path::new(FILES_DIR).join("nginx.conf");
        if let Err(e) = check_config(&rendered.config, &path) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn invalid_fixtures_report_every_fault() {
    set_fixture_env();
    let root = testdata().join("invalid");
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 2);
    for dir in cases {
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let err = render_case(&dir).expect_err(&dir.display().to_string());
        assert!(matches!(err, RenderError::Invalid(_)), "{err}");
        assert_eq!(err.to_string(), expected.trim_end(), "{}", dir.display());
    }
}

/// Runs `nginx -t` on every rendered fixture (files written into a temporary directory).
#[test]
fn nginx_accepts_every_fixture() {
    set_fixture_env();
    let nginx = Path::new("/usr/sbin/nginx");
    let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    if !nginx.exists() {
        eprintln!(
            "NOTICE: /usr/sbin/nginx is not installed: `nginx -t` of rendered fixtures SKIPPED"
        );
        return;
    }
    for dir in cases(&testdata()) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("logs")).unwrap();
        let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
        std::fs::copy(pki.join("ca.crt"), tmp.path().join("ca.crt")).unwrap();
        let (routes, config) = inputs(&dir);
        let mut options = RenderOptions::new(tmp.path());
        if module.exists() {
            options.load_modules.push(module.display().to_string());
        }
        let rendered = render(&routes, &config, &options).unwrap();
        let conf = tmp.path().join("nginx.conf");
        rendered.write(&conf, tmp.path()).unwrap();
        let out = Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(tmp.path())
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: nginx -t failed:\n{stderr}");
    }
}

/// The keys the snapshots show decrypted are the test PKI's keys, byte for byte.
#[test]
fn decrypted_keys_are_the_pki_keys() {
    let pki = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki");
    let key = |name: &str| std::fs::read_to_string(pki.join(name)).unwrap();
    let encrypted = render_case(&testdata().join("encrypted_key")).unwrap().config;
    assert!(encrypted.contains(&format!("\"route_1\" \"data:{}\"", key("client-a.key"))));
    let two = render_case(&testdata().join("two_keyring_entries")).unwrap().config;
    assert!(two.contains(&format!("\"route_a\" \"data:{}\"", key("client-a.key"))));
    assert!(two.contains(&format!("\"route_b\" \"data:{}\"", key("client-b.key"))));
}

/// 1000 routes of every kind: nginx -t accepts them without a warning (hash sizes grow).
#[test]
fn many_routes_pass_nginx_t_without_warnings() {
    let nginx = Path::new("/usr/sbin/nginx");
    let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    if !nginx.exists() || !module.exists() {
        eprintln!("NOTICE: nginx is not installed: the 1000-route nginx -t check is SKIPPED");
        return;
    }
    let mut upstreams = Vec::new();
    let mut routes = Vec::new();
    for i in 0..1000 {
        let node = format!("127.0.0.{}:{}", 1 + i % 250, 2000 + i);
        upstreams.push(serde_json::json!({"id": format!("u{i}"), "nodes": {node: 1}}));
        let mut route = serde_json::json!({"id": format!("r{i}"), "upstream_id": format!("u{i}")});
        match i % 3 {
            0 => route["sni"] = format!("h{i}.test.com").into(),
            1 => route["remote_addr"] = format!("10.{}.0.0/16", i % 250).into(),
            _ => route["server_port"] = 9100.into(),
        }
        routes.push(route);
    }
    let doc = serde_json::json!({"upstreams": upstreams, "stream_routes": routes});
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("logs")).unwrap();
    let mut options = RenderOptions::new(tmp.path());
    options.load_modules.push(module.display().to_string());
    let rendered = render(&doc, &Value::Object(Default::default()), &options).unwrap();
    let conf = tmp.path().join("nginx.conf");
    std::fs::write(&conf, &rendered.config).unwrap();
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(tmp.path())
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("[warn]"), "{stderr}");
}
