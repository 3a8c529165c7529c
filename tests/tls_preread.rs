//! `ssl_preread`: `$ssl_preread_server_name`, `$ssl_preread_alpn_protocols` and
//! `$ssl_preread_protocol` from ClientHellos sent in one piece, in several pieces, and from
//! bytes that are not TLS; compared with nginx when installed.

mod runtime_support;

use runtime_support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const MAIN: &str = "daemon off;\npid %%DIR%%/nginx.pid;\nerror_log %%DIR%%/error.log info;\n\
                    events {}\n";

fn sni(name: &str) -> (u16, Vec<u8>) {
    let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    d.push(0);
    d.extend((name.len() as u16).to_be_bytes());
    d.extend(name.as_bytes());
    (0, d)
}

fn alpn(protocols: &[&str]) -> (u16, Vec<u8>) {
    let mut list = Vec::new();
    for p in protocols {
        list.push(p.len() as u8);
        list.extend(p.as_bytes());
    }
    let mut d = (list.len() as u16).to_be_bytes().to_vec();
    d.extend(list);
    (16, d)
}

/// Sends `pieces` with short pauses and reads the answer.
fn ask(port: u16, pieces: &[&[u8]]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for piece in pieces {
        stream.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn preread_variables_match_nginx() {
    let tls12 = client_hello([3, 3], &[0x1301], &[sni("a.example"), alpn(&["h2", "http/1.1"])]);
    let tls10 = client_hello([3, 1], &[0x1301], &[alpn(&["x"])]);
    let mut answers = Vec::new();
    for flavor in flavors() {
        let port = free_port();
        let conf = format!(
            "stream {{ server {{
                listen 127.0.0.1:{port};
                ssl_preread on;
                preread_timeout 2s;
                return \"$ssl_preread_server_name|$ssl_preread_alpn_protocols|\
                         $ssl_preread_protocol\";
            }} }}"
        );
        let _server = Instance::start(flavor, &format!("{MAIN}{conf}"));
        let whole = ask(port, &[&tls12]);
        let (head, tail) = tls12.split_at(20);
        let split = ask(port, &[head, tail]);
        let old = ask(port, &[&tls10]);
        let not_tls = ask(port, &[b"GET / HTTP/1.0\r\n\r\n"]);
        assert_eq!(whole, "a.example|h2,http/1.1|TLSv1.2", "{flavor:?}");
        assert_eq!(split, whole, "{flavor:?}");
        assert_eq!(old, "|x|TLSv1", "{flavor:?}");
        assert_eq!(not_tls, "||", "{flavor:?}");
        answers.push((whole, split, old, not_tls));
    }
    if let [strait, nginx] = answers.as_slice() {
        assert_eq!(strait, nginx);
    }
}

/// A ClientHello larger than `preread_buffer_size`, one that never completes within
/// `preread_timeout`, and a client silent until then: the same log lines and `$status` as
/// nginx (the variables are empty once a byte came, not found before). A ClientHello whose
/// first record came whole leaves what that record held, as nginx's parser does.
#[test]
fn preread_limits_match_nginx() {
    let big = client_hello([3, 3], &[0x1301], &[sni(&"x".repeat(200))]);
    // The handshake in two records, of which only the first (through the server name) is sent.
    let hello = client_hello([3, 3], &[0x1301], &[sni("a.test"), alpn(&["h2"])]);
    let body = &hello[5..hello.len() - 3];
    let mut first = vec![0x16, 3, 1];
    first.extend((body.len() as u16).to_be_bytes());
    first.extend(body);
    let mut seen = Vec::new();
    for flavor in flavors() {
        let (port, roomy) = (free_port(), free_port());
        let conf = format!(
            "stream {{
    log_format m '$status $ssl_preread_server_name';
    access_log %%DIR%%/access.log m;
    server {{
        listen 127.0.0.1:{port};
        ssl_preread on;
        preread_buffer_size 64;
        preread_timeout 1s;
        return \"$ssl_preread_server_name\";
    }}
    server {{
        listen 127.0.0.1:{roomy};
        ssl_preread on;
        preread_timeout 1s;
        return \"$ssl_preread_server_name\";
    }}
}}"
        );
        let server = Instance::start(flavor, &format!("{MAIN}{conf}"));
        assert_eq!(ask(port, &[&big]), "", "{flavor:?}");
        assert_eq!(ask(port, &[&big[..30]]), "", "{flavor:?}");
        assert_eq!(ask(port, &[]), "", "{flavor:?}");
        assert_eq!(ask(roomy, &[&first]), "", "{flavor:?}");
        let start = std::time::Instant::now();
        while server.read("access.log").lines().count() < 4 && start.elapsed().as_secs() < 5 {
            std::thread::sleep(Duration::from_millis(10));
        }
        let access = server.read("access.log");
        let log = server.error_log();
        let full = log
            .lines()
            .find(|l| l.contains("preread buffer full"))
            .map(|l| l.split_once(": *").map_or("", |(_, m)| m).to_string())
            .map(|m| {
                m.split_once(' ').map_or(String::new(), |(_, m)| m.replace(&port.to_string(), "P"))
            })
            .unwrap_or_default();
        seen.push((access, full));
    }
    for (access, full) in &seen {
        assert!(full.starts_with("preread buffer full while prereading client data"), "{full}");
        assert_eq!(access, "400 \n200 \n200 -\n200 a.test\n");
    }
    if let [strait, nginx] = seen.as_slice() {
        assert_eq!(strait, nginx);
    }
}
