//! listen parameters through the binary, compared with nginx: the options set on the
//! listening sockets as `ss` shows them (backlog, buffers, v6only), the keepalive timers of
//! the sessions accepted, a reuseport socket another may join, ipv6only=off on an
//! IPv4-mapped address, and so_keepalive=off; `deferred` (strait only).

mod runtime_support;

use runtime_support::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;

/// `ss` with `args` (no header, one line per socket); None when ss cannot run.
fn ss(args: &[&str]) -> Option<String> {
    let output = Command::new("ss").args(["-H", "-O"]).args(args).output().ok()?;
    assert!(output.status.success(), "ss {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8(output.stdout).unwrap())
}

/// The listening socket on `port` as `ss -ltnem` shows it: `backlog B rb R tb T v6only V`
/// (V is `-` for IPv4).
fn listener(port: u16) -> String {
    let out = ss(&["-ltnem", &format!("sport = :{port}")]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one listener on {port}: {out}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    let field = |prefix: &str| {
        fields.iter().find_map(|f| f.strip_prefix(prefix)).unwrap_or("-").to_string()
    };
    let skmem = field("skmem:(");
    let mem = |name: &str| {
        skmem.trim_end_matches(')').split(',').find_map(|m| m.strip_prefix(name)).unwrap_or("-")
    };
    format!("backlog {} rb {} tb {} v6only {}", fields[2], mem("rb"), mem("tb"), field("v6only:"))
}

/// The keepalive timer of the session accepted on `port`, to the nearest ten minutes (ss
/// shows whole minutes, and a timer just armed for 30 minutes may show 29 or 30): `keepalive
/// 30min`, or `none`.
fn keepalive_timer(port: u16) -> String {
    let out = ss(&["-tno", "state", "established", &format!("sport = :{port}")]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one session on {port}: {out}");
    let Some((_, timer)) = lines[0].split_once("timer:(") else {
        return "none".to_string();
    };
    let fields: Vec<&str> = timer.split(',').collect();
    let minutes: u32 = match fields[1].strip_suffix("min").map(str::parse) {
        Some(Ok(minutes)) => minutes,
        _ => panic!("a keepalive timer of minutes: {}", lines[0]),
    };
    format!("{} {}min", fields[0], (minutes + 5) / 10 * 10)
}

/// Whether a socket with SO_REUSEPORT may bind 127.0.0.1:`port` beside the server's.
fn joins(port: u16) -> bool {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_reuse_port(true).unwrap();
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into()).is_ok()
}

fn ports(hold: u16, keys: &[&'static str]) -> HashMap<&'static str, String> {
    let mut vars: HashMap<&'static str, String> =
        keys.iter().map(|&k| (k, free_port().to_string())).collect();
    vars.insert("HOLD", hold.to_string());
    vars
}

#[test]
fn listen_socket_options_match_nginx() {
    if ss(&["-V"]).is_none() {
        eprintln!("NOTICE: ss not found: listen socket options are not checked");
        return;
    }
    let hold_upstream = HoldingUpstream::start("h");
    let mut runs = Vec::new();
    for flavor in flavors() {
        let keys = ["TUNED", "KEEPON", "KEEPINTVL", "PLAIN", "MAPPED", "SIX"];
        let vars = ports(hold_upstream.port, &keys);
        let port = |k: &str| vars[k].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("listen_options.conf", &vars));
        let mut seen: Vec<String> =
            keys.iter().map(|&k| format!("{k} {}", listener(port(k)))).collect();

        // so_keepalive= reaches the sessions accepted: their keepalive timers.
        let mut held = Vec::new();
        for key in ["TUNED", "KEEPON", "KEEPINTVL", "PLAIN"] {
            let (stream, name) = hold(port(key));
            assert_eq!(name, "h", "{flavor:?} {key}");
            seen.push(format!("{key} {}", keepalive_timer(port(key))));
            held.push(stream);
        }
        drop(held);

        // reuseport: another socket of this user may bind the same address, not without.
        seen.push(format!("reuseport {} {}", joins(port("TUNED")), joins(port("PLAIN"))));

        // ipv6only=off on [::ffff:127.0.0.1]: IPv4 clients reach it.
        seen.push(String::from_utf8(read_all(port("MAPPED"))).unwrap());
        let mut six = TcpStream::connect(("::1", port("SIX"))).unwrap();
        let mut reply = String::new();
        std::io::Read::read_to_string(&mut six, &mut reply).unwrap();
        seen.push(reply);
        server.quit();
        runs.push((flavor, seen));
    }

    let seen = &runs[0].1;
    let expected = [
        "TUNED backlog 7 rb 65536 tb 49152 v6only -",
        "MAPPED backlog 511",
        "SIX backlog 9",
        "TUNED keepalive 30min",
        "KEEPON keepalive 120min",
        "KEEPINTVL keepalive 120min",
        "PLAIN none",
        "reuseport true false",
        "mapped ::ffff:127.0.0.1 ::ffff:127.0.0.1",
        "six",
    ];
    for line in expected {
        assert!(seen.iter().any(|s| s.starts_with(line)), "{line}: {seen:#?}");
    }
    assert!(seen.iter().any(|s| s.starts_with("MAPPED") && s.ends_with("v6only 0")));
    assert!(seen.iter().any(|s| s.starts_with("SIX") && s.ends_with("v6only 1")));
    for run in &runs[1..] {
        assert_eq!(run.1, *seen, "{:?}", run.0);
    }
}

#[test]
fn ipv6only_on_an_ipv4_mapped_address_fails_to_bind_as_nginx() {
    let mut runs = Vec::new();
    for flavor in flavors() {
        let port = free_port().to_string();
        let conf = format!(
            "daemon off;\npid %%DIR%%/nginx.pid;\nevents {{}}\nstream {{\n    \
             server {{ listen [::ffff:127.0.0.1]:{port}; return x; }}\n}}\n"
        );
        let server = Instance::prepare(flavor, &conf);
        let output = server.command().output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).replace(&port, "PORT");
        runs.push((flavor, output.status.code(), stderr));
    }
    assert_eq!(
        (runs[0].1, runs[0].2.as_str()),
        (
            Some(1),
            "nginx: [emerg] bind() to [::ffff:127.0.0.1]:PORT failed (22: Invalid argument)\n"
        )
    );
    for run in &runs[1..] {
        assert_eq!((run.1, &run.2), (runs[0].1, &runs[0].2), "{:?}", run.0);
    }
}

#[test]
fn so_keepalive_off_is_taken_as_nginx() {
    let hold_upstream = HoldingUpstream::start("h");
    for flavor in flavors() {
        let vars = ports(hold_upstream.port, &["OFF"]);
        let port = vars["OFF"].parse::<u16>().unwrap();
        let mut server = Instance::start(flavor, &config("listen_keepalive_off.conf", &vars));
        let (stream, name) = hold(port);
        assert_eq!(name, "h", "{flavor:?}");
        if ss(&["-V"]).is_some() {
            assert_eq!(keepalive_timer(port), "none", "{flavor:?}");
        }
        drop(stream);
        server.quit();
    }
}

/// `deferred` sets TCP_DEFER_ACCEPT: a silent client is not accepted (so not answered by
/// `return`) until it sends, while the plain listener answers at once. strait only: nginx
/// 1.22 does not take `deferred` in stream.
#[test]
fn deferred_accepts_once_data_arrives() {
    let vars = ports(0, &["DEFERRED", "PLAIN"]);
    let port = |k: &str| vars[k].parse::<u16>().unwrap();
    let _server = Instance::start(Flavor::Strait, &config("listen_deferred.conf", &vars));

    // Whether `port` answers a silent client within 400 ms; then what it answers once the
    // client has sent a byte.
    let answer = |port: u16| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_millis(400))).unwrap();
        let mut buf = [0u8; 64];
        let early = stream.read(&mut buf).map(|n| buf[..n].to_vec()).ok();
        if early.is_some() {
            return (early, Vec::new());
        }
        stream.write_all(b"x").unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut late = Vec::new();
        let _ = stream.read_to_end(&mut late);
        (None, late)
    };
    assert_eq!(answer(port("PLAIN")), (Some(b"plain".to_vec()), Vec::new()));
    assert_eq!(answer(port("DEFERRED")), (None, b"deferred".to_vec()));
}
