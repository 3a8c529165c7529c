//! `$ssl_ciphers`, `$ssl_curve`, `$ssl_curves` and `$ssl_client_escaped_cert` on strait and
//! nginx 1.22 side by side: one config, the same `openssl s_client` runs (TLS 1.2 and 1.3,
//! chosen cipher lists and groups, with and without a client certificate, a resumed session)
//! and hand-made ClientHellos with GREASE values OpenSSL does not know; the `return`ed line
//! and the access log line of each session must be the same bytes.

mod runtime_support;

use runtime_support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const MAIN: &str = "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
                    events {}\n";

/// The four variables, `|`-separated (none of them holds a `|` or a newline).
const LINE: &str = "$ssl_ciphers|$ssl_curve|$ssl_curves|$ssl_client_escaped_cert";

/// One server that answers the line and logs it; the access log goes to `log`.
fn conf(port: u16, log: &Path) -> String {
    format!(
        "stream {{
    log_format vars '{LINE}';
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.crt;
        ssl_certificate_key server.key;
        ssl_verify_client optional;
        ssl_verify_depth 2;
        ssl_client_certificate ca.crt;
        access_log {} vars;
        return \"{LINE}\\n\";
    }}
}}",
        log.display()
    )
}

/// `openssl s_client` runs: a name, and the arguments after `-connect`.
const CLIENTS: &[(&str, &[&str])] = &[
    (
        "TLS 1.3, two suites, X25519 then P-256, client-a",
        &[
            "-tls1_3",
            "-ciphersuites",
            "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
            "-groups",
            "X25519:P-256",
            "-cert",
            "client-a.crt",
            "-key",
            "client-a.key",
        ],
    ),
    (
        "TLS 1.3, an ffdhe2048 key share, client-b",
        &[
            "-tls1_3",
            "-groups",
            "ffdhe2048:X25519",
            "-cert",
            "client-b.crt",
            "-key",
            "client-b.key",
        ],
    ),
    ("TLS 1.3 and 1.2 suites as s_client offers them by default", &[]),
    (
        "TLS 1.2, ECDHE on secp384r1, no certificate",
        &[
            "-tls1_2",
            "-cipher",
            "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256",
            "-curves",
            "secp384r1:prime256v1",
        ],
    ),
    (
        "TLS 1.2, RSA key exchange: no group",
        &["-tls1_2", "-cipher", "AES128-GCM-SHA256", "-curves", "X25519"],
    ),
    (
        "TLS 1.2, client-c with its intermediate",
        &[
            "-tls1_2",
            "-cert",
            "client-c.crt",
            "-key",
            "client-c.key",
            "-cert_chain",
            "intermediate.crt",
        ],
    ),
];

/// Runs `openssl s_client -quiet` against `port` from testdata/pki; its stdout.
fn s_client(port: u16, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &format!("127.0.0.1:{port}")])
        .args(args)
        .current_dir(pki())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `items` as big-endian u16s after a length prefix of `prefix` bytes (1 or 2).
fn u16_list(items: &[u16], prefix: usize) -> Vec<u8> {
    let len = (items.len() * 2) as u16;
    let mut out = if prefix == 1 { vec![len as u8] } else { len.to_be_bytes().to_vec() };
    for item in items {
        out.extend(item.to_be_bytes());
    }
    out
}

/// GREASE: a cipher suite and group id OpenSSL has no name for (RFC 8701).
const GREASE: u16 = 0x0a0a;

/// A TLS 1.2 ClientHello led by GREASE in its suites and groups.
fn grease_tls12() -> Vec<u8> {
    client_hello(
        [3, 3],
        &[GREASE, 0xc02f, 0xc030, 0x009c, 0x00ff],
        &[
            (10, u16_list(&[GREASE, 0x001d, 0x0017, 0x0018], 2)),
            (11, vec![1, 0]),
            (13, u16_list(&[0x0804, 0x0401], 2)),
        ],
    )
}

/// A TLS 1.3 ClientHello with GREASE in its suites, groups and key shares, and an X25519
/// share (the base point: a valid public key).
fn grease_tls13() -> Vec<u8> {
    let mut x25519 = [0u8; 32];
    x25519[0] = 9;
    let mut shares = Vec::new();
    shares.extend(GREASE.to_be_bytes());
    shares.extend([0, 1, 0]);
    shares.extend(0x001du16.to_be_bytes());
    shares.extend(32u16.to_be_bytes());
    shares.extend(x25519);
    let mut key_share = (shares.len() as u16).to_be_bytes().to_vec();
    key_share.extend(shares);
    client_hello(
        [3, 3],
        &[GREASE, 0x1302, 0x1301],
        &[
            (10, u16_list(&[GREASE, 0x001d, 0x0017], 2)),
            (13, u16_list(&[0x0804, 0x0403], 2)),
            (43, u16_list(&[GREASE, 0x0304], 1)),
            (45, vec![1, 1]),
            (51, key_share),
        ],
    )
}

/// Sends `hello`, reads the server's first flight, then closes: the handshake fails on the
/// server, which still logs the session.
fn hello_and_close(port: u16, hello: &[u8]) -> usize {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(hello).unwrap();
    let mut buf = [0u8; 16384];
    let n = stream.read(&mut buf).unwrap_or(0);
    stream.shutdown(Shutdown::Both).ok();
    n
}

/// What one server answered and logged.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    /// The `return`ed line of each s_client run, by name.
    answers: Vec<(String, String)>,
    /// The access log, one line per session (the GREASE hellos last).
    log: String,
}

fn run(flavor: Flavor) -> Seen {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("vars.log");
    let port = free_port();
    let server = Instance::prepare(flavor, &format!("{MAIN}{}", conf(port, &log)));
    for name in ["server.crt", "server.key", "ca.crt"] {
        std::fs::copy(pki().join(name), server.path().join(name)).unwrap();
    }
    let server = server.launch();

    // Step: the s_client runs, each answered with the line.
    let mut answers = Vec::new();
    for (name, args) in CLIENTS {
        answers.push((name.to_string(), s_client(port, args)));
    }

    // Step: a TLS 1.2 session resumed from its ticket (no supported_groups kept by OpenSSL).
    let session = logs.path().join("session.pem");
    let session = session.to_str().unwrap();
    let first = s_client(port, &["-tls1_2", "-sess_out", session]);
    let resumed = s_client(port, &["-tls1_2", "-sess_in", session]);
    answers.push(("TLS 1.2, new session".into(), first));
    answers.push(("TLS 1.2, resumed".into(), resumed));

    // Step: hellos with GREASE; the handshakes fail when the client closes.
    assert!(hello_and_close(port, &grease_tls12()) > 0, "{flavor:?}: no ServerHello");
    assert!(hello_and_close(port, &grease_tls13()) > 0, "{flavor:?}: no ServerHello");

    // Step: the access log, once every session is in it.
    let sessions = answers.len() + 2;
    let lines = || std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
    assert!(
        wait_until(Duration::from_secs(5), || lines() == sessions),
        "{flavor:?}: {} of {sessions} access log lines:\n{}",
        lines(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let log = std::fs::read_to_string(&log).unwrap();

    // The access log holds client certificates (public PEM, escaped) by design; it lies
    // outside the prefix directory the shared key check scans, so it is checked here.
    let without_certificates = log.replace("-----BEGIN%20CERTIFICATE-----", "");
    assert_eq!(key_material_in(&without_certificates), Vec::<String>::new(), "{flavor:?}");
    drop(server);
    Seen { answers, log }
}

/// The certificate of testdata/pki `name` as nginx escapes it.
fn escaped_pem(name: &str) -> String {
    let pem = std::fs::read(pki().join(name)).unwrap();
    let pem = openssl_pem(&pem);
    pem.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first certificate block of a PEM file, as `PEM_write_bio_X509` writes it back.
fn openssl_pem(pem: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem);
    let end = "-----END CERTIFICATE-----\n";
    let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let stop = text[start..].find(end).unwrap() + start + end.len();
    text[start..stop].to_string()
}

#[test]
fn ssl_list_variables_match_nginx() {
    let seen: Vec<(Flavor, Seen)> = flavors().into_iter().map(|f| (f, run(f))).collect();
    let (_, strait) = &seen[0];
    let answer = |name: &str| {
        let found = strait.answers.iter().find(|(n, _)| n == name);
        found.map(|(_, a)| a.as_str()).unwrap_or_default()
    };

    // What strait says on its own, field by field.
    let a = answer("TLS 1.3, two suites, X25519 then P-256, client-a");
    let fields: Vec<&str> = a.trim_end().split('|').collect();
    assert_eq!(fields.len(), 4, "{a}");
    assert!(fields[0].starts_with("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"), "{a}");
    assert_eq!(fields[1..3], ["X25519", "X25519:prime256v1"], "{a}");
    assert_eq!(fields[3], escaped_pem("client-a.crt"));
    let b = answer("TLS 1.3, an ffdhe2048 key share, client-b");
    assert!(b.contains("|ffdhe2048|ffdhe2048:X25519|"), "{b}");
    let ecdhe = answer("TLS 1.2, ECDHE on secp384r1, no certificate");
    assert_eq!(
        ecdhe,
        "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:\
         TLS_EMPTY_RENEGOTIATION_INFO_SCSV|secp384r1|secp384r1:prime256v1|\n"
    );
    let rsa = answer("TLS 1.2, RSA key exchange: no group");
    // An OpenSSL client sends no supported_groups without an ECDHE suite to use them with.
    assert_eq!(rsa, "AES128-GCM-SHA256:TLS_EMPTY_RENEGOTIATION_INFO_SCSV|||\n");
    let c = answer("TLS 1.2, client-c with its intermediate");
    assert!(c.trim_end().ends_with(&escaped_pem("client-c.crt")), "{c}");
    // A resumed TLS 1.2 session: the group comes from the session, the client's groups are
    // not kept.
    let resumed = answer("TLS 1.2, resumed");
    assert!(resumed.ends_with("|X25519||\n"), "{resumed}");
    assert!(answer("TLS 1.2, new session").contains("|X25519|X25519:prime256v1:"));

    // The access log: `-` for what is not found.
    let log: Vec<&str> = strait.log.lines().collect();
    assert!(log.contains(&"AES128-GCM-SHA256:TLS_EMPTY_RENEGOTIATION_INFO_SCSV|-|-|-"), "{log:?}");
    assert_eq!(
        log[log.len() - 2],
        "0x0a0a:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256:\
         TLS_EMPTY_RENEGOTIATION_INFO_SCSV|X25519|0x0a0a:X25519:prime256v1:secp384r1|-"
    );
    assert!(log[log.len() - 1].starts_with("0x0a0a:TLS_AES_256_GCM_SHA384:"), "{log:?}");
    assert!(log[log.len() - 1].ends_with("|0x0a0a:X25519:prime256v1|-"), "{log:?}");

    // The same bytes from nginx 1.22, answer by answer and line by line.
    if let [(_, strait), (_, nginx)] = seen.as_slice() {
        for ((name, s), (_, n)) in strait.answers.iter().zip(&nginx.answers) {
            assert_eq!(s, n, "{name}");
        }
        for (s, n) in strait.log.lines().zip(nginx.log.lines()) {
            assert_eq!(s, n);
        }
        assert_eq!(strait, nginx);
    }
}
