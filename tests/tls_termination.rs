//! TLS termination (`listen ... ssl`): the `$ssl_*` variables in nginx's exact formats, client
//! certificate checks, and certificates chosen by `$ssl_server_name` (file and `data:`),
//! compared with nginx when installed. The client is the `openssl s_client` command.

mod runtime_support;

use runtime_support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn pki() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pki")
}

const MAIN: &str = "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log debug;\n\
                    events {}\n";

fn start(flavor: Flavor, conf: &str) -> Instance {
    let instance = Instance::prepare(flavor, &format!("{MAIN}{conf}"));
    for entry in std::fs::read_dir(pki()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), instance.path().join(entry.file_name())).unwrap();
    }
    instance.launch()
}

/// Runs `openssl s_client` against `port` with `args`; returns (stdout, stderr).
fn s_client(port: u16, args: &[&str]) -> (String, String) {
    let output = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .current_dir(pki())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

const VARIABLES: &[&str] = &[
    "ssl_protocol",
    "ssl_cipher",
    "ssl_server_name",
    "ssl_alpn_protocol",
    "ssl_session_reused",
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
    "ssl_client_cert",
    "ssl_client_raw_cert",
];

fn conf(port: u16, sni_port: u16) -> String {
    let answer: Vec<String> = VARIABLES.iter().map(|v| format!("{v}=${v}")).collect();
    let pem = std::fs::read_to_string(pki().join("mismatch.crt")).unwrap();
    let key = std::fs::read_to_string(pki().join("mismatch.key")).unwrap();
    format!(
        "stream {{
    map $ssl_server_name $cert {{ other.test \"data:{pem}\"; default server.crt; }}
    map $ssl_server_name $key {{ other.test \"data:{key}\"; default server.key; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.crt;
        ssl_certificate_key server.key;
        ssl_verify_client optional;
        ssl_verify_depth 2;
        ssl_client_certificate ca.crt;
        ssl_alpn h2 x-strait;
        return \"{}\\n\";
    }}
    server {{
        listen 127.0.0.1:{sni_port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        return \"$ssl_server_name\\n\";
    }}
}}",
        answer.join("\\n")
    )
}

/// The answer as `name=value` lines; multi-line values (certificates) keep their lines.
fn answer(stdout: &str) -> String {
    stdout.to_string()
}

#[test]
fn ssl_variables_match_nginx() {
    let mut answers = Vec::new();
    for flavor in flavors() {
        let (port, sni_port) = (free_port(), free_port());
        let server = start(flavor, &conf(port, sni_port));

        // A client certificate issued by the trusted CA, with SNI and ALPN.
        let (a, _) = s_client(
            port,
            &[
                "-quiet",
                "-cert",
                "client-a.crt",
                "-key",
                "client-a.key",
                "-servername",
                "x.test",
                "-alpn",
                "x-strait,h2",
                "-tls1_3",
            ],
        );
        assert!(a.contains("ssl_client_verify=SUCCESS\n"), "{flavor:?}: {a}");
        assert!(
            a.contains("ssl_client_s_dn=CN=client-a,OU=clients,O=strait test,C=US\n"),
            "{flavor:?}: {a}"
        );
        assert!(a.contains("ssl_server_name=x.test\n"), "{flavor:?}: {a}");
        assert!(a.contains("ssl_alpn_protocol=h2\n"), "{flavor:?}: {a}");

        // No certificate; and one whose issuer the server does not have.
        let (none, _) = s_client(port, &["-quiet", "-tls1_2"]);
        assert!(none.contains("ssl_client_verify=NONE\n"), "{flavor:?}: {none}");
        // client-c without its intermediate: `optional` still refuses a certificate that does
        // not verify; with the chain it verifies at depth 2.
        let (c, _) = s_client(port, &["-quiet", "-cert", "client-c.crt", "-key", "client-c.key"]);
        assert_eq!(c, "", "{flavor:?}");
        let verify_line = server.wait_log("client SSL certificate verify error: ");
        assert!(verify_line, "{flavor:?}: {}", server.error_log());
        let log = server.error_log();
        let refused = log.lines().find(|l| l.contains("client SSL certificate verify error"));
        let refused = refused.unwrap_or_default().split(": *").nth(1).unwrap_or_default();
        let refused = refused.split_once(' ').map(|(_, m)| m.to_string()).unwrap_or_default();
        let (c, _) = s_client(
            port,
            &[
                "-quiet",
                "-cert",
                "client-c.crt",
                "-key",
                "client-c.key",
                "-cert_chain",
                "intermediate.crt",
            ],
        );
        assert!(c.contains("ssl_client_verify=SUCCESS\n"), "{flavor:?}: {c}");

        // The certificate chosen by `$ssl_server_name`: a file, or `data:` for other.test.
        let (out, err) = s_client(sni_port, &["-ign_eof", "-servername", "localhost"]);
        assert!(format!("{out}{err}").contains("depth=0 O = strait, CN = localhost"), "{err}");
        let (out, err) = s_client(sni_port, &["-ign_eof", "-servername", "other.test"]);
        assert!(format!("{out}{err}").contains("depth=0 O = strait, CN = other.test"), "{err}");
        assert!(out.contains("\nother.test\n"), "{flavor:?}: {out}");

        let log = server.error_log();
        // nginx's debug lines print `data:` values whole; strait never does.
        if flavor == Flavor::Strait {
            assert!(!log.contains("-----BEGIN"), "PEM in strait's log");
        } else if log.contains("-----BEGIN") {
            eprintln!("NOTICE: nginx wrote PEM into its debug log (README, differences)");
        }
        let refused = refused.replace(&port.to_string(), "PORT");
        answers.push((flavor, answer(&a), answer(&none), format!("{c}{refused}")));
    }

    // Every variable reads the same on strait and nginx.
    if let [(_, a_s, none_s, c_s), (_, a_n, none_n, c_n)] = answers.as_slice() {
        let strip = |s: &str| s.replace("ssl_session_reused=r", "ssl_session_reused=.");
        assert_eq!(strip(a_s), strip(a_n));
        assert_eq!(strip(none_s), strip(none_n));
        assert_eq!(strip(c_s), strip(c_n));
    }
}

/// Startup faults of TLS configurations: the same message as nginx's, and no pid file.
#[test]
fn startup_errors_match_nginx() {
    let cases = [
        "server { listen 127.0.0.1:%%PORT%% ssl; return x; }",
        "server { listen 127.0.0.1:%%PORT%%; proxy_ssl_certificate a.crt; proxy_pass \
         127.0.0.1:1; proxy_ssl on; }",
        "server { listen 127.0.0.1:%%PORT%%; proxy_ssl_certificate missing.crt; \
         proxy_ssl_certificate_key missing.key; proxy_pass 127.0.0.1:1; proxy_ssl on; }",
        "server { listen 127.0.0.1:%%PORT%%; proxy_ssl_password_file nope; \
         proxy_pass 127.0.0.1:1; }",
        "server { listen 127.0.0.1:%%PORT%%; proxy_ssl_protocols TLSv9; proxy_pass 127.0.0.1:1; }",
    ];
    let place = regex::Regex::new(r"nginx\.conf:(\d+)").unwrap();
    for case in cases {
        let mut messages = Vec::new();
        for flavor in flavors() {
            let conf =
                format!("stream {{ {} }}", case.replace("%%PORT%%", &free_port().to_string()));
            let instance = Instance::prepare(flavor, &format!("{MAIN}{conf}"));
            let output = instance.command().stdin(Stdio::null()).output().unwrap();
            assert!(!output.status.success(), "{flavor:?} accepted {case}");
            assert!(!instance.path().join("nginx.pid").exists());
            let log = instance.error_log();
            let line = log.lines().find(|l| l.contains("[emerg]")).unwrap_or_default();
            let message = line.split(": ").skip(1).collect::<Vec<_>>().join(": ");
            let dir = instance.path().display().to_string();
            // The nginx config has two more lines at its top (load_module, user).
            let shift = if flavor == Flavor::Nginx { 2 } else { 0 };
            let message = place.replace(&message, |c: &regex::Captures<'_>| {
                format!("nginx.conf:{}", c[1].parse::<usize>().unwrap() - shift)
            });
            messages.push(message.replace(&dir, "DIR"));
        }
        if let [strait, nginx] = messages.as_slice() {
            assert_eq!(strait, nginx, "{case}");
        }
        assert!(!messages[0].is_empty(), "{case}");
    }
}

/// RSA and ECDSA certificates side by side (the client's signature algorithms choose), and a
/// resumed session through `ssl_session_cache`; compared with nginx.
#[test]
fn certificate_pairs_and_session_resumption() {
    for flavor in flavors() {
        let port = free_port();
        let conf = format!(
            "stream {{ server {{
                listen 127.0.0.1:{port} ssl;
                ssl_protocols TLSv1.2 TLSv1.3;
                ssl_certificate server.crt;
                ssl_certificate_key server.key;
                ssl_certificate server-ecdsa.crt;
                ssl_certificate_key server-ecdsa.key;
                ssl_session_cache shared:SSL:1m;
                ssl_session_tickets off;
                return \"$ssl_protocol $ssl_session_reused\";
            }} }}"
        );
        let server = start(flavor, &conf);
        let key_type = |sigalgs: &str| {
            let (out, _) = s_client(port, &["-ign_eof", "-tls1_3", "-sigalgs", sigalgs]);
            let line = out.lines().find(|l| l.starts_with("Server public key is")).unwrap_or("");
            line.to_string()
        };
        assert_eq!(
            key_type("ecdsa_secp256r1_sha256"),
            "Server public key is 256 bit",
            "{flavor:?}"
        );
        assert_eq!(key_type("rsa_pss_rsae_sha256"), "Server public key is 2048 bit", "{flavor:?}");

        let session = server.path().join("session.pem");
        let session = session.to_str().unwrap();
        let (first, _) = s_client(port, &["-ign_eof", "-tls1_2", "-sess_out", session]);
        let (second, _) = s_client(port, &["-ign_eof", "-tls1_2", "-sess_in", session]);
        assert!(first.contains("TLSv1.2 ."), "{flavor:?}: {first}");
        assert!(second.contains("Reused, TLSv1.2"), "{flavor:?}: {second}");
        assert!(second.contains("TLSv1.2 r"), "{flavor:?}: {second}");
    }
}

/// `ssl_crl` (client-b is revoked), `ssl_verify_client optional_no_ca`, `ssl_dhparam`,
/// `ssl_ecdh_curve` and `ssl_conf_command`: the same answers and refusals as nginx.
#[test]
fn crl_no_ca_and_context_settings_match_nginx() {
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (crl_port, no_ca_port) = (free_port(), free_port());
        let conf = format!(
            "stream {{
    server {{
        listen 127.0.0.1:{crl_port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.crt;
        ssl_certificate_key server.key;
        ssl_verify_client on;
        ssl_client_certificate ca.crt;
        ssl_crl crl.pem;
        ssl_dhparam dhparam.pem;
        ssl_ecdh_curve prime256v1:X25519;
        ssl_conf_command Options -SessionTicket;
        return \"$ssl_client_verify\";
    }}
    server {{
        listen 127.0.0.1:{no_ca_port} ssl;
        ssl_certificate server.crt;
        ssl_certificate_key server.key;
        ssl_verify_client optional_no_ca;
        ssl_client_certificate ca.crt;
        return \"$ssl_client_verify\";
    }}
}}"
        );
        let server = start(flavor, &conf);
        let client = |port: u16, name: &str| {
            let cert = format!("{name}.crt");
            let key = format!("{name}.key");
            s_client(port, &["-quiet", "-cert", &cert, "-key", &key]).0
        };
        let a = client(crl_port, "client-a");
        let b = client(crl_port, "client-b");
        let c = client(no_ca_port, "client-c");
        assert_eq!(a, "SUCCESS", "{flavor:?}");
        assert_eq!(b, "", "{flavor:?}: revoked");
        assert!(server.wait_log("client SSL certificate verify error: (23:certificate revoked)"));
        assert_eq!(c, "FAILED:unable to verify the first certificate", "{flavor:?}");
        seen.push((a, b, c));
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// `ssl_session_ticket_key`: a ticket issued by one server resumes on another server with
/// the same key file and certificates (48- and 80-byte key files).
#[test]
fn ticket_keys_are_shared_between_servers() {
    for size in [48u8, 80] {
        let key: Vec<u8> = (0..size).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        let mut servers = Vec::new();
        for _ in 0..2 {
            let port = free_port();
            let conf = format!(
                "stream {{ server {{
                    listen 127.0.0.1:{port} ssl;
                    ssl_protocols TLSv1.2;
                    ssl_certificate server.crt;
                    ssl_certificate_key server.key;
                    ssl_session_ticket_key ticket.key;
                    return \"$ssl_session_reused\";
                }} }}"
            );
            let instance = Instance::prepare(Flavor::Strait, &format!("{MAIN}{conf}"));
            for entry in std::fs::read_dir(pki()).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), instance.path().join(entry.file_name())).unwrap();
            }
            std::fs::write(instance.path().join("ticket.key"), &key).unwrap();
            servers.push((port, instance.launch()));
        }
        let session = servers[0].1.path().join("session.pem");
        let session = session.to_str().unwrap();
        let (first, _) = s_client(servers[0].0, &["-ign_eof", "-sess_out", session]);
        assert!(first.contains("New, TLSv1.2") && first.contains("\n."), "{first}");
        let (again, _) = s_client(servers[1].0, &["-ign_eof", "-sess_in", session]);
        assert!(again.contains("Reused, TLSv1.2") && again.contains("\nr"), "{size}: {again}");
    }
}

/// A TLS record holding a ClientHello for TLSv1.3 (x25519, TLS_AES_128_GCM_SHA256) with
/// `extensions` after supported_versions and supported_groups.
fn client_hello(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend((0..32u8).map(|i| i.wrapping_mul(7)));
    body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
    let mut ext = Vec::new();
    let standard = [(0x2b, vec![2, 3, 4]), (0x0a, vec![0, 2, 0, 0x1d])];
    for (kind, data) in standard.iter().chain(extensions) {
        ext.extend(kind.to_be_bytes());
        ext.extend((data.len() as u16).to_be_bytes());
        ext.extend(data);
    }
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut handshake = vec![1, 0];
    handshake.extend((body.len() as u16).to_be_bytes());
    handshake.extend(body);
    let mut record = vec![0x16, 3, 1];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// A key_share extension offering an x25519 key made of `byte`.
fn key_share(byte: u8) -> (u16, Vec<u8>) {
    let mut data = vec![0, 36, 0, 0x1d, 0, 32];
    data.extend([byte; 32]);
    (0x33, data)
}

/// How a raw client ends its side after sending.
#[derive(Clone, Copy)]
enum End {
    /// Closes its write side.
    Fin,
    /// Resets the connection after a moment.
    Reset,
    /// Keeps it open, reading.
    Open,
}

/// Sends `bytes` on a fresh connection and ends its side as `end` says; what comes back
/// until the server closes, or how reading failed (a reset).
fn raw(port: u16, bytes: &[u8], end: End) -> Result<Vec<u8>, std::io::ErrorKind> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    tcp.write_all(bytes).unwrap();
    match end {
        End::Reset => {
            std::thread::sleep(std::time::Duration::from_millis(200));
            socket2::SockRef::from(&tcp).set_linger(Some(std::time::Duration::ZERO)).unwrap();
            return Ok(Vec::new());
        }
        End::Fin => {
            let _ = tcp.shutdown(std::net::Shutdown::Write);
        }
        End::Open => {}
    }
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).map_err(|e| e.kind())?;
    Ok(out)
}

/// The session lines of an error log at info and above, as `[level] message` without the
/// connection number (`connected to` lines left out); `port` shown as PORT.
fn failure_lines(log: &str, port: u16) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(": *") && !l.contains(" connected to "))
        .filter(|l| !l.contains("[debug]") && !l.contains("[notice]"))
        .map(|l| {
            let level = l.split(' ').nth(2).unwrap_or_default();
            let message = l.split(": *").nth(1).unwrap_or_default();
            let message = message.split_once(' ').map(|(_, m)| m).unwrap_or_default();
            format!("{level} {}", message.replace(&port.to_string(), "PORT"))
        })
        .collect()
}

/// Every way a server handshake fails ends with `$status` 500 and nginx's line at nginx's
/// level (`info` or `crit` by OpenSSL's first reason, nothing for a timeout); the `$ssl_*`
/// values are read from the SSL object as the failure left it, as nginx's log phase does.
#[test]
fn handshake_failures_match_nginx() {
    let session_id = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (port, tls12, key_port) = (free_port(), free_port(), free_port());
        let conf = format!(
            "stream {{
    log_format m '$server_port $status $ssl_protocol $ssl_cipher $ssl_server_name \
                  $ssl_session_reused $ssl_client_verify $ssl_session_id';
    access_log %%DIR%%/access.log m;
    ssl_certificate server.crt;
    ssl_certificate_key server.key;
    map $server_port $key {{ default client-enc.key; }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_handshake_timeout 1s;
        return x;
    }}
    server {{
        listen 127.0.0.1:{tls12} ssl;
        ssl_protocols TLSv1.2;
        ssl_ciphers AES128-SHA;
        return x;
    }}
    server {{
        listen 127.0.0.1:{key_port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate client-enc.crt;
        ssl_certificate_key $key;
        return x;
    }}
}}"
        );
        let server = start(flavor, &conf);
        let mut sessions = 0;
        let mut done = |server: &Instance| {
            sessions += 1;
            wait_lines(server, "access.log", sessions);
        };

        // A client that sends nothing and waits: the handshake times out, without a line.
        let started = std::time::Instant::now();
        let _ = read_all(port);
        done(&server);
        let silent = started.elapsed();
        assert!(silent >= std::time::Duration::from_millis(500), "{flavor:?}: {silent:?}");

        // Not TLS at all: nginx has read it all (it reads ahead), so it closes with a FIN,
        // not a reset. A record that is not a handshake gets an alert.
        let http = raw(port, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n", End::Open);
        assert_eq!(http, Ok(Vec::new()), "{flavor:?}");
        done(&server);
        let alert = raw(port, b"\x16\x03\x01\x00\x05hello", End::Open);
        assert_eq!(alert, Ok(b"\x15\x03\x03\x00\x02\x02\x0a".to_vec()), "{flavor:?}");
        done(&server);

        // Hellos OpenSSL refuses for reasons nginx 1.22 logs at crit: no signature
        // algorithms; a key share that fails derivation (the first error is the provider's).
        let _ = raw(port, &client_hello(&[key_share(9)]), End::Fin);
        done(&server);
        let _ = raw(port, &client_hello(&[(0x0d, vec![0, 2, 8, 4]), key_share(0)]), End::Fin);
        done(&server);

        // A partial hello, then the end of the stream or a reset.
        let partial = &client_hello(&[key_share(9)])[..20];
        let _ = raw(port, partial, End::Fin);
        done(&server);
        let _ = raw(port, partial, End::Reset);
        done(&server);

        // No shared cipher; a protocol the server does not enable; a client refusing the
        // server's certificate (its alert).
        s_client(tls12, &["-tls1_2", "-cipher", "AES256-SHA"]);
        done(&server);
        s_client(tls12, &["-tls1_3"]);
        done(&server);
        s_client(port, &["-verify_return_error", "-CAfile", "ca2.crt", "-servername", "a.test"]);
        done(&server);

        // A certificate given by a variable that cannot be loaded (an encrypted key and no
        // password file): the load error, then the handshake failure it causes.
        s_client(key_port, &[]);
        done(&server);

        let access = server.read("access.log");
        assert_eq!(access.lines().filter(|l| l.contains(" 500 ")).count(), sessions, "{access}");
        let access = session_id.replace_all(&access, "HEX").into_owned();
        let access = access.replace(&port.to_string(), "PORT");
        let access =
            access.replace(&tls12.to_string(), "TLS12").replace(&key_port.to_string(), "KEY");
        let dir = server.path().display().to_string();
        let lines: Vec<String> = failure_lines(&server.error_log(), port)
            .iter()
            .map(|l| l.replace(&tls12.to_string(), "TLS12").replace(&key_port.to_string(), "KEY"))
            .map(|l| l.replace(&dir, "DIR"))
            .collect();
        assert!(lines.iter().any(|l| l.starts_with("[crit] ")), "{flavor:?}: {lines:#?}");
        assert!(lines.iter().any(|l| l.contains("cert cb error")), "{flavor:?}: {lines:#?}");
        seen.push((access, lines));
    }
    if let [(access_s, lines_s), (access_n, lines_n)] = seen.as_slice() {
        assert_eq!(access_s, access_n);
        assert_eq!(lines_s, lines_n);
    }
}

/// Waits until `file` of the prefix has `n` lines (5 s at most) and returns it.
fn wait_lines(server: &Instance, file: &str, n: usize) -> String {
    let start = std::time::Instant::now();
    while server.read(file).lines().count() < n && start.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    server.read(file)
}

/// A TLS server on `port` (server.crt, TLSv1.2 and 1.3) with `extra` directives, logging
/// `format` to access.log and answering `answer`.
fn logged_server(port: u16, format: &str, extra: &str, answer: &str) -> String {
    format!(
        "stream {{
    log_format m '{format}';
    access_log %%DIR%%/access.log m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.crt;
        ssl_certificate_key server.key;
        {extra}
        return \"{answer}\";
    }}
}}"
    )
}

/// Every `$ssl_*` variable of a terminated session, for a log_format or a `return`.
const ALL_SSL: &[&str] = &[
    "ssl_protocol",
    "ssl_cipher",
    "ssl_session_id",
    "ssl_session_reused",
    "ssl_server_name",
    "ssl_alpn_protocol",
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_cert",
    "ssl_client_raw_cert",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
];

/// `$ssl_*` values that are empty are not found, as nginx's `ngx_stream_ssl_variable` makes
/// them: `-` in the access log, nothing in `return`; `$ssl_session_id` is lower-case hex.
#[test]
fn empty_ssl_values_are_not_found_as_in_nginx() {
    let session_id = regex::Regex::new(r"ssl_session_id=[0-9a-f]{64} ").unwrap();
    let hex = regex::Regex::new(r"\[[0-9a-f]{64}\]").unwrap();
    let mut seen = Vec::new();
    for flavor in flavors() {
        let port = free_port();
        let fields: Vec<String> = ALL_SSL.iter().map(|v| format!("{v}=${v}")).collect();
        let shown: Vec<String> = ALL_SSL.iter().map(|v| format!("[${v}]")).collect();
        let verify = "ssl_verify_client optional; ssl_client_certificate ca.crt;";
        let conf = logged_server(port, &fields.join(" "), verify, &shown.join(""));
        let server = start(flavor, &conf);

        // Nothing optional: no SNI, no ALPN, no certificate; TLSv1.2 with a ticket (no id).
        let (bare, _) = s_client(port, &["-quiet", "-noservername", "-tls1_2"]);
        // TLSv1.3 (a session id) with SNI, without a certificate.
        let (named, _) = s_client(port, &["-quiet", "-servername", "x.test", "-tls1_3"]);
        let log = wait_lines(&server, "access.log", 2);

        let log = session_id.replace_all(&log, "ssl_session_id=HEX ").into_owned();
        assert!(log.contains("ssl_server_name=- "), "{flavor:?}: {log}");
        assert!(log.contains("ssl_session_id=HEX ssl_session_reused=. "), "{flavor:?}: {log}");
        assert!(log.contains("ssl_client_raw_cert=- "), "{flavor:?}: {log}");
        assert_eq!(bare, "[TLSv1.2][ECDHE-RSA-AES256-GCM-SHA384][][.][][][NONE][][][][][][][][][]");
        let named = hex.replace(&named, "[HEX]").into_owned();
        assert!(named.starts_with("[TLSv1.3][TLS_AES_256_GCM_SHA384][HEX][.][x.test]"), "{named}");
        seen.push((log, bare, named));
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// `$ssl_curve` after a handshake that failed before OpenSSL made a session (plain text on
/// the TLS port) is not found, and the server lives on. Strait only: OpenSSL 3.0 reads the
/// group from the missing session, and nginx 1.22's worker dies of it in the log phase.
#[test]
fn ssl_curve_after_a_failed_handshake_is_not_found() {
    let port = free_port();
    let conf = logged_server(port, "$ssl_curve $ssl_curves $status", "", "[$ssl_curve]");
    let server = start(Flavor::Strait, &conf);

    let _ = raw(port, b"GET / HTTP/1.0\r\n\r\n", End::Fin);
    let (answer, _) = s_client(port, &["-quiet", "-tls1_3", "-groups", "X25519"]);
    let log = wait_lines(&server, "access.log", 2);
    assert_eq!(answer, "[X25519]");
    assert_eq!(log.lines().next(), Some("- - 500"), "{log}");
    assert!(log.lines().nth(1).is_some_and(|l| l.starts_with("X25519 ")), "{log}");
}

/// A TLS client of the `openssl` crate on `port`, presenting `cert` (a name in the PKI) when
/// given, limited to TLSv1.2 or TLSv1.3; the server's certificate is not checked.
fn tls_client(
    port: u16,
    cert: Option<&str>,
    tls13: bool,
) -> Result<openssl::ssl::SslStream<std::net::TcpStream>, String> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    let version = if tls13 { SslVersion::TLS1_3 } else { SslVersion::TLS1_2 };
    builder.set_min_proto_version(Some(version)).unwrap();
    builder.set_max_proto_version(Some(version)).unwrap();
    if let Some(name) = cert {
        builder.set_certificate_chain_file(pki().join(format!("{name}.crt"))).unwrap();
        builder
            .set_private_key_file(pki().join(format!("{name}.key")), openssl::ssl::SslFiletype::PEM)
            .unwrap();
    }
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(8))).unwrap();
    let ssl = builder.build().configure().unwrap().verify_hostname(false);
    ssl.connect("localhost", tcp).map_err(|e| e.to_string())
}

/// A client certificate that fails nginx's checks after the handshake (revoked, without its
/// chain, none where one is required) ends the session with `$status` 500 and nginx's line,
/// and the `$ssl_*` values of the finished handshake are logged.
#[test]
fn client_certificate_failures_match_nginx() {
    let session_id = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (required, optional) = (free_port(), free_port());
        let conf = format!(
            "stream {{
    log_format m '$server_port $status $ssl_protocol $ssl_cipher $ssl_client_verify \
                  $ssl_client_s_dn $ssl_session_id';
    access_log %%DIR%%/access.log m;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate server.crt;
    ssl_certificate_key server.key;
    ssl_client_certificate ca.crt;
    ssl_crl crl.pem;
    server {{ listen 127.0.0.1:{required} ssl; ssl_verify_client on; return x; }}
    server {{ listen 127.0.0.1:{optional} ssl; ssl_verify_client optional; return x; }}
}}"
        );
        let server = start(flavor, &conf);
        let mut outcomes = Vec::new();
        let cases = [
            (required, Some("client-b")),
            (required, None),
            (optional, Some("client-b")),
            (optional, Some("client-c")),
        ];
        for (n, (port, cert)) in cases.iter().enumerate() {
            for tls13 in [false, true] {
                // The handshake completes; the check after it ends the session.
                let stream = tls_client(*port, *cert, tls13);
                outcomes.push(stream.is_ok());
                drop(stream);
                wait_lines(&server, "access.log", 2 * n + 1 + usize::from(tls13));
            }
        }
        assert!(outcomes.iter().all(|ok| *ok), "{flavor:?}: {outcomes:?}");

        let access = server.read("access.log");
        let access = session_id.replace_all(&access, "HEX").into_owned();
        let access =
            access.replace(&required.to_string(), "ON").replace(&optional.to_string(), "OPT");
        let revoked = "ON 500 TLSv1.3 TLS_AES_256_GCM_SHA384 FAILED:certificate revoked";
        assert!(access.contains(revoked), "{flavor:?}: {access}");
        let lines: Vec<String> = failure_lines(&server.error_log(), required)
            .iter()
            .map(|l| l.replace(&optional.to_string(), "OPT"))
            .collect();
        assert_eq!(lines.len(), 8, "{flavor:?}: {lines:#?}");
        seen.push((access, lines));
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// Reads a TLS client until the data ends: how many bytes came, and what ended them (a
/// close_notify, or the OpenSSL error code).
fn tls_data(stream: &mut openssl::ssl::SslStream<std::net::TcpStream>) -> (usize, String) {
    let mut buf = [0u8; 1024];
    let mut data = 0;
    loop {
        match stream.ssl_read(&mut buf) {
            Ok(n) => data += n,
            Err(e) if e.code() == openssl::ssl::ErrorCode::ZERO_RETURN => {
                return (data, "close_notify".into())
            }
            Err(e) => return (data, format!("error {}", e.code().as_raw())),
        }
    }
}

/// What the socket under a TLS client shows after the TLS data (more bytes, the FIN or a
/// reset), and how many whole seconds that took.
fn tcp_end(stream: &mut openssl::ssl::SslStream<std::net::TcpStream>) -> (String, u64) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let end = match stream.get_mut().read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => "fin".to_string(),
        Ok(_) => format!("{} more bytes, fin", rest.len()),
        Err(e) => format!("{:?}", e.kind()),
    };
    (end, started.elapsed().as_secs())
}

/// How a TLS connection ended, seen from a client that sends nothing more: the data, what
/// ended it, what the socket showed then, and how many seconds the server took to close.
fn ending(stream: &mut openssl::ssl::SslStream<std::net::TcpStream>) -> (String, u64) {
    let (data, tls) = tls_data(stream);
    let (tcp, waited) = tcp_end(stream);
    (format!("{data} bytes, {tls}, {tcp}"), waited)
}

/// An upstream that reads once, answers `bye` and closes first.
fn closing_upstream() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 64];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"bye");
        }
    });
    port
}

/// Closing as nginx's `ngx_ssl_shutdown`: close_notify after a refused client certificate,
/// then up to 3 s for the client's before the FIN; data sent instead of it is nginx's
/// `[crit] SSL_shutdown() failed` line (1.22 ranks that reason crit); a client that closes
/// first (close_notify or FIN) gets no close_notify back.
#[test]
fn closing_matches_nginx() {
    use std::io::{Read, Write};
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (refuse, text, proxy, first) = (free_port(), free_port(), free_port(), free_port());
        let (upstream, closing) = (echo_upstream(), closing_upstream());
        let conf = format!(
            "stream {{
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate server.crt;
    ssl_certificate_key server.key;
    server {{
        listen 127.0.0.1:{refuse} ssl;
        ssl_verify_client on;
        ssl_client_certificate ca.crt;
        ssl_crl crl.pem;
        return x;
    }}
    server {{ listen 127.0.0.1:{text} ssl; return x; }}
    server {{ listen 127.0.0.1:{proxy} ssl; proxy_pass 127.0.0.1:{upstream}; }}
    server {{ listen 127.0.0.1:{first} ssl; proxy_pass 127.0.0.1:{closing}; }}
}}"
        );
        let server = start(flavor, &conf);
        let mut outcomes = Vec::new();

        // A revoked client certificate: close_notify, then the FIN once nginx gave up
        // waiting for the client's close_notify.
        let mut refused = tls_client(refuse, Some("client-b"), true).unwrap();
        let (end, waited) = ending(&mut refused);
        outcomes.push(format!("refused: {end}"));
        assert!((2..=4).contains(&waited), "{flavor:?}: waited {waited} s");

        // The client answers with its close_notify: the server closes at once.
        let mut answered = tls_client(refuse, Some("client-b"), false).unwrap();
        let (data, tls) = tls_data(&mut answered);
        let _ = answered.shutdown();
        let (tcp, waited) = tcp_end(&mut answered);
        outcomes.push(format!("answered: {data} bytes, {tls}, {tcp}, {waited} s"));

        // Data sent after the handshake is still unread when nginx waits for close_notify.
        let mut eager = tls_client(text, None, true).unwrap();
        eager.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let (end, _) = ending(&mut eager);
        outcomes.push(format!("eager: {end}"));
        assert!(server.wait_log("SSL_shutdown() failed"), "{flavor:?}");

        // The client closes first, with close_notify, then with a bare FIN.
        for notify in [true, false] {
            let mut client = tls_client(proxy, None, true).unwrap();
            client.write_all(b"hi").unwrap();
            let mut echo = [0u8; 2];
            client.read_exact(&mut echo).unwrap();
            if notify {
                let _ = client.shutdown();
            } else {
                client.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
            }
            let mut rest = Vec::new();
            let end = client.get_mut().read_to_end(&mut rest).map(|_| rest.len());
            outcomes.push(format!("client first ({notify}): {:?}", end.map_err(|e| e.kind())));
        }

        // The upstream closes first; the client still sends while nginx waits for its
        // close_notify (the line's context counts nothing sent to the closed upstream).
        let mut late = tls_client(first, None, true).unwrap();
        late.write_all(b"hi").unwrap();
        let mut bye = [0u8; 3];
        late.read_exact(&mut bye).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = late.write_all(b"more");
        let (end, _) = ending(&mut late);
        outcomes.push(format!("late: {end}"));
        assert!(server.wait_log("while proxying connection"), "{flavor:?}");

        let lines: Vec<String> = failure_lines(&server.error_log(), text)
            .into_iter()
            .filter(|l| !l.contains("client sent") && !l.contains("verify error"))
            .filter(|l| !l.contains(" disconnected, "))
            .map(|l| l.replace(&first.to_string(), "FIRST").replace(&closing.to_string(), "UP"))
            .collect();
        assert_eq!(
            lines,
            [
                "[crit] SSL_shutdown() failed (SSL: error:0A000123:SSL routines::application \
                 data after close notify) while returning text, client: 127.0.0.1, server: \
                 127.0.0.1:PORT",
                "[crit] SSL_shutdown() failed (SSL: error:0A000123:SSL routines::application \
                 data after close notify) while proxying connection, client: 127.0.0.1, \
                 server: 127.0.0.1:FIRST, upstream: \"127.0.0.1:UP\", bytes from/to \
                 client:2/3, bytes from/to upstream:3/0",
            ],
            "{flavor:?}"
        );
        assert_eq!(
            outcomes,
            [
                "refused: 0 bytes, close_notify, fin",
                "answered: 0 bytes, close_notify, fin, 0 s",
                "eager: 1 bytes, close_notify, fin",
                "client first (true): Ok(0)",
                "client first (false): Ok(0)",
                "late: 0 bytes, close_notify, fin",
            ],
            "{flavor:?}"
        );
        seen.push(outcomes);
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// An encrypted static key without a password file: nginx lets OpenSSL prompt on its
/// terminal; without one (started by a service manager, standard input closed) the prompt
/// fails and nginx logs its errors. strait never prompts and logs the same line, for
/// `ssl_certificate_key` and `proxy_ssl_certificate_key`.
#[test]
fn encrypted_key_without_password_file_matches_nginx() {
    let cases = [
        "server { listen 127.0.0.1:%%PORT%% ssl; ssl_certificate client-enc.crt; \
         ssl_certificate_key client-enc.key; return x; }",
        "server { listen 127.0.0.1:%%PORT%%; proxy_ssl on; proxy_ssl_certificate \
         client-enc.crt; proxy_ssl_certificate_key client-enc.key; proxy_pass 127.0.0.1:1; }",
    ];
    for case in cases {
        let mut messages = Vec::new();
        for flavor in flavors() {
            let conf =
                format!("stream {{ {} }}", case.replace("%%PORT%%", &free_port().to_string()));
            let instance = Instance::prepare(flavor, &format!("{MAIN}{conf}"));
            for entry in std::fs::read_dir(pki()).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), instance.path().join(entry.file_name())).unwrap();
            }
            // A session of its own: no controlling terminal for OpenSSL's prompt to open
            // (`--wait`: setsid forks when it leads a process group; its exit is the child's).
            let command = instance.command();
            let output = Command::new("setsid")
                .arg("--wait")
                .arg(command.get_program())
                .args(command.get_args())
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{flavor:?} started with {case}: {stderr}");
            if flavor == Flavor::Strait {
                assert!(!stderr.contains("pass phrase"), "strait prompted: {stderr}");
            }
            let log = instance.error_log();
            let line = log.lines().find(|l| l.contains("[emerg]")).unwrap_or_default();
            let message = line.split(": ").skip(1).collect::<Vec<_>>().join(": ");
            let message = message.replace(&instance.path().display().to_string(), "DIR");
            messages.push(message);
        }
        let expected = "processing error:while reading strings";
        assert!(messages[0].contains(expected), "{}", messages[0]);
        match messages.as_slice() {
            [strait, nginx] if nginx.contains(expected) => assert_eq!(strait, nginx, "{case}"),
            // nginx's prompt found something to read after all (a terminal it could open).
            [_, nginx] => eprintln!("NOTICE: nginx did not fail as without a terminal: {nginx}"),
            _ => {}
        }
    }
}

/// The `[emerg]` message a config fails to start with (the PKI copied into the prefix when
/// `with_pki`), its prefix written `DIR` and its line numbers those of `conf` itself (the
/// nginx config has two more lines at its top: load_module, user).
fn startup_message(flavor: Flavor, conf: &str, with_pki: bool) -> String {
    let instance = Instance::prepare(flavor, &format!("{MAIN}{conf}"));
    if with_pki {
        for entry in std::fs::read_dir(pki()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), instance.path().join(entry.file_name())).unwrap();
        }
    }
    let output = instance.command().stdin(Stdio::null()).output().unwrap();
    assert!(!output.status.success(), "{flavor:?} started with {conf}");
    assert!(!instance.path().join("nginx.pid").exists());
    let log = instance.error_log();
    let line = log.lines().find(|l| l.contains("[emerg]")).unwrap_or_default();
    let message = line.split(": ").skip(1).collect::<Vec<_>>().join(": ");
    let shift = if flavor == Flavor::Nginx { 2 } else { 0 };
    let place = regex::Regex::new(r"nginx\.conf:(\d+)").unwrap();
    let message = place.replace(&message, |c: &regex::Captures<'_>| {
        format!("nginx.conf:{}", c[1].parse::<usize>().unwrap() - shift)
    });
    message.replace(&instance.path().display().to_string(), "DIR")
}

/// A key that does not match its certificate is named by its absolute path, as nginx's
/// loaders leave a relative one: `SSL_CTX_use_PrivateKey("DIR/client-b.key")` at startup
/// (`ssl_certificate_key`, `proxy_ssl_certificate_key`), `SSL_use_PrivateKey(...)` in the
/// certificate step of a handshake (certificates given by variables); `data:` values stay
/// redacted.
#[test]
fn mismatched_keys_are_named_by_absolute_path_as_nginx() {
    let startup = [
        "stream { server { listen 127.0.0.1:%%PORT%% ssl; ssl_certificate client-a.crt; \
         ssl_certificate_key client-b.key; return x; } }",
        "stream { server { listen 127.0.0.1:%%PORT%%; proxy_ssl on; \
         proxy_ssl_certificate client-a.crt; proxy_ssl_certificate_key client-b.key; \
         proxy_pass 127.0.0.1:1; } }",
    ];
    let mismatch = "(SSL: error:05800074:x509 certificate routines::key values mismatch)";
    for case in startup {
        let mut messages = Vec::new();
        for flavor in flavors() {
            let conf = case.replace("%%PORT%%", &free_port().to_string());
            messages.push(startup_message(flavor, &conf, true));
        }
        let expected = format!("SSL_CTX_use_PrivateKey(\"DIR/client-b.key\") failed {mismatch}");
        assert_eq!(messages[0], expected, "{case}");
        if let [strait, nginx] = messages.as_slice() {
            assert_eq!(strait, nginx, "{case}");
        }
    }

    // In the certificate step of a handshake: a file, and a `data:` key (strait redacts it).
    let data_key = std::fs::read_to_string(pki().join("client-b.key")).unwrap();
    let redacted =
        regex::Regex::new(r#"SSL_use_PrivateKey\("data:sha256:[0-9a-f]{12},\d+ bytes"\) failed"#)
            .unwrap();
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (file_port, data_port) = (free_port(), free_port());
        let conf = format!(
            "stream {{
    map $server_port $cert {{ default client-a.crt; }}
    map $server_port $key {{ {file_port} client-b.key; default \"data:{data_key}\"; }}
    server {{
        listen 127.0.0.1:{file_port} ssl;
        listen 127.0.0.1:{data_port} ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        return x;
    }}
}}"
        );
        let server = start(flavor, &conf);
        s_client(file_port, &[]);
        assert!(server.wait_log("cert cb error"), "{flavor:?}");
        let dir = server.path().display().to_string();
        let lines: Vec<String> = failure_lines(&server.error_log(), file_port)
            .iter()
            .filter(|l| l.contains("SSL_use_PrivateKey"))
            .map(|l| l.replace(&dir, "DIR"))
            .collect();
        assert_eq!(
            lines.first().map(String::as_str),
            Some(
                format!(
                    "[error] SSL_use_PrivateKey(\"DIR/client-b.key\") failed {mismatch} while \
                     SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:PORT"
                )
                .as_str()
            ),
            "{flavor:?}"
        );
        if flavor == Flavor::Strait {
            s_client(data_port, &[]);
            let start = std::time::Instant::now();
            while !redacted.is_match(&server.error_log()) && start.elapsed().as_secs() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let log = server.error_log();
            assert!(redacted.is_match(&log), "{log}");
        }
        seen.push(lines);
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// `ssl_crl` and `proxy_ssl_crl` are read as nginx reads them (`X509_LOOKUP_load_file`):
/// a missing file or one with neither certificate nor CRL fails with nginx's error queue;
/// certificates in the file are accepted and trusted too; and, as in nginx 1.22, the server
/// reads its CA files and CRL only when `ssl_verify_client` asks for certificates.
#[test]
fn crl_files_are_read_as_nginx_reads_them() {
    let server = "listen 127.0.0.1:%%PORT%% ssl; ssl_certificate server.crt; \
                  ssl_certificate_key server.key; return x;";
    let cases = [
        format!("{server} ssl_verify_client on; ssl_client_certificate ca.crt; ssl_crl nope.pem;"),
        format!("{server} ssl_verify_client on; ssl_client_certificate ca.crt; ssl_crl password;"),
        "listen 127.0.0.1:%%PORT%%; proxy_pass 127.0.0.1:1; proxy_ssl on; proxy_ssl_verify on; \
         proxy_ssl_trusted_certificate ca.crt; proxy_ssl_crl nope.pem;"
            .to_string(),
    ];
    let expected = [
        "X509_LOOKUP_load_file(\"DIR/nope.pem\") failed (SSL: error:80000002:system library::No \
         such file or directory:calling fopen(DIR/nope.pem, r) error:10000080:BIO routines::no \
         such file error:05880002:x509 certificate routines::system lib)",
        "X509_LOOKUP_load_file(\"DIR/password\") failed (SSL: error:05800088:x509 certificate \
         routines::no certificate or crl found)",
        "X509_LOOKUP_load_file(\"DIR/nope.pem\") failed (SSL: error:80000002:system library::No \
         such file or directory:calling fopen(DIR/nope.pem, r) error:10000080:BIO routines::no \
         such file error:05880002:x509 certificate routines::system lib)",
    ];
    for (case, expected) in cases.iter().zip(expected) {
        let mut messages = Vec::new();
        for flavor in flavors() {
            let conf = format!(
                "stream {{ server {{ {} }} }}",
                case.replace("%%PORT%%", &free_port().to_string())
            );
            messages.push(startup_message(flavor, &conf, true));
        }
        assert_eq!(messages[0], expected, "{case}");
        if let [strait, nginx] = messages.as_slice() {
            assert_eq!(strait, nginx, "{case}");
        }
    }

    // Served: a CRL file holding the CA too, behind a client CA list that lacks it (the CA
    // is trusted from the CRL file); missing files are no fault without verification.
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (port, plain) = (free_port(), free_port());
        let conf = format!(
            "stream {{
    ssl_certificate server.crt;
    ssl_certificate_key server.key;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_verify_client optional;
        ssl_client_certificate ca2.crt;
        ssl_crl ca-and-crl.pem;
        return \"$ssl_client_verify\";
    }}
    server {{
        listen 127.0.0.1:{plain} ssl;
        ssl_trusted_certificate nope.crt;
        ssl_crl nope.pem;
        return \"$ssl_client_verify\";
    }}
}}"
        );
        let instance = Instance::prepare(flavor, &format!("{MAIN}{conf}"));
        for entry in std::fs::read_dir(pki()).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), instance.path().join(entry.file_name())).unwrap();
        }
        let mut both = std::fs::read(pki().join("ca.crt")).unwrap();
        both.extend(std::fs::read(pki().join("crl.pem")).unwrap());
        std::fs::write(instance.path().join("ca-and-crl.pem"), both).unwrap();
        let server = instance.launch();
        let client = |port: u16, name: &str| {
            let (cert, key) = (format!("{name}.crt"), format!("{name}.key"));
            s_client(port, &["-quiet", "-cert", &cert, "-key", &key]).0
        };
        let answers =
            (client(port, "client-a"), client(port, "client-b"), client(plain, "client-a"));
        assert_eq!(answers.0, "SUCCESS", "{flavor:?}: the CA from the CRL file is trusted");
        assert_eq!(answers.1, "", "{flavor:?}: revoked");
        assert_eq!(answers.2, "NONE", "{flavor:?}");
        assert!(server.wait_log("(23:certificate revoked)"), "{flavor:?}");
        seen.push(answers);
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// `ssl_session_ticket_key` faults end with nginx's ` in FILE:LINE`, the line of the closing
/// brace of `stream {}` (nginx reports them from its merge, which runs there); the files
/// are read with tickets off too, and a directory has the wrong size.
#[test]
fn ticket_key_faults_match_nginx() {
    let server = "listen 127.0.0.1:%%PORT%% ssl; ssl_certificate server.crt; \
                  ssl_certificate_key server.key; return x;";
    let cases = [
        (
            format!("{server} ssl_session_ticket_key ca.crt;"),
            "\"DIR/ca.crt\" must be 48 or 80 bytes",
        ),
        (
            format!("{server} ssl_session_ticket_key nope.key;"),
            "open() \"DIR/nope.key\" failed (2: No such file or directory)",
        ),
        (
            format!("{server} ssl_session_tickets off; ssl_session_ticket_key nope.key;"),
            "open() \"DIR/nope.key\" failed (2: No such file or directory)",
        ),
        (format!("{server} ssl_session_ticket_key .;"), "\"DIR/.\" must be 48 or 80 bytes"),
    ];
    for (case, expected) in &cases {
        let mut messages = Vec::new();
        for flavor in flavors() {
            let port = free_port().to_string();
            let conf = format!(
                "stream {{\n    server {{\n{}\n    }}\n\n}}\n",
                case.replace("%%PORT%%", &port)
            );
            messages.push(startup_message(flavor, &conf, true));
        }
        // MAIN takes four lines; `stream {` closes on the sixth line of `conf`.
        assert_eq!(messages[0], format!("{expected} in DIR/nginx.conf:10"), "{case}");
        if let [strait, nginx] = messages.as_slice() {
            assert_eq!(strait, nginx, "{case}");
        }
    }
}
