//! CIDRs as nginx's `ngx_ptocidr` reads them (`allow`/`deny`, `set_real_ip_from`, `geo`
//! networks), served by the real binary and compared with nginx: lenient IPv4
//! (`127..0.2`, `127.0.0.004`) and networks written with host bits set (`127.1.2.3/16` is
//! 127.1.0.0/16), from client source addresses in 127/8.

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// One server per module; each answers with what it found for the client.
const CONF: &str = r#"
daemon off;
pid %%DIR%%/nginx.pid;
error_log %%DIR%%/error.log info;
events {}
stream {
    geo $net {
        default none;
        127..0.9 nine;
        127.0.0.11/31 ten-eleven;
    }

    server {
        listen 127.0.0.1:%%ACCESS%%;
        allow 127..0.2;
        allow 127.1.2.3/16;
        allow 127.0.0.004;
        deny all;
        return "allowed $remote_addr\n";
    }

    server {
        listen 127.0.0.1:%%REALIP%% proxy_protocol;
        set_real_ip_from 127..0.5;
        set_real_ip_from 127.0.0.7/31;
        return "remote=$remote_addr realip=$realip_remote_addr\n";
    }

    server {
        listen 127.0.0.1:%%GEO%%;
        return "$net\n";
    }
}
"#;

/// A client from `source` that sends `data` to 127.0.0.1:`port` and reads until the server
/// closes.
fn send_from(source: Ipv4Addr, port: u16, data: &[u8]) -> String {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket.connect(&SocketAddr::from(([127, 0, 0, 1], port)).into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(data).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn lenient_cidrs_match_clients_as_nginx() {
    let ip = |text: &str| text.parse::<Ipv4Addr>().unwrap();
    let header = b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\n";
    let mut runs = Vec::new();
    for flavor in flavors() {
        let keys = ["ACCESS", "REALIP", "GEO"];
        let vars: HashMap<&str, String> =
            keys.into_iter().map(|k| (k, free_port().to_string())).collect();
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut conf = CONF.to_string();
        for (key, value) in &vars {
            conf = conf.replace(&format!("%%{key}%%"), value);
        }
        let server = Instance::start(flavor, &conf);

        // Step: allow/deny: a denied client is closed without an answer.
        let mut answers = Vec::new();
        for source in ["127.0.0.1", "127.0.0.2", "127.1.9.9", "127.2.0.1", "127.0.0.4"] {
            let answer = read_all_from(ip(source), port("ACCESS"));
            answers.push(format!("access {source}: {}", String::from_utf8_lossy(&answer)));
        }

        // Step: realip trusts 127.0.0.5 and 127.0.0.6/31 only.
        for source in ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"] {
            let answer = send_from(ip(source), port("REALIP"), header);
            answers.push(format!("realip {source}: {answer}"));
        }

        // Step: geo: 127.0.0.9 alone, 127.0.0.10/31.
        for source in ["127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12"] {
            let answer = read_all_from(ip(source), port("GEO"));
            answers.push(format!("geo {source}: {}", String::from_utf8_lossy(&answer)));
        }
        drop(server);
        runs.push((flavor, answers));
    }

    let expected = [
        "access 127.0.0.1: ",
        "access 127.0.0.2: allowed 127.0.0.2\n",
        "access 127.1.9.9: allowed 127.1.9.9\n",
        "access 127.2.0.1: ",
        "access 127.0.0.4: allowed 127.0.0.4\n",
        "realip 127.0.0.5: remote=192.0.2.1 realip=127.0.0.5\n",
        "realip 127.0.0.6: remote=192.0.2.1 realip=127.0.0.6\n",
        "realip 127.0.0.7: remote=192.0.2.1 realip=127.0.0.7\n",
        "realip 127.0.0.8: remote=127.0.0.8 realip=127.0.0.8\n",
        "geo 127.0.0.9: nine\n",
        "geo 127.0.0.10: ten-eleven\n",
        "geo 127.0.0.11: ten-eleven\n",
        "geo 127.0.0.12: none\n",
    ];
    for (flavor, answers) in &runs {
        assert_eq!(answers, &expected, "{flavor:?}");
    }
}
