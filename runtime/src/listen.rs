//! `listen`: parsing the address and parameters, grouping addresses into the sockets nginx
//! would open, and binding them with the requested socket options.

use crate::address;
use crate::conf::{parse_number, parse_size, text, ConfigError, DirectiveExt};
use socket2::{Domain, SockAddr, Socket, TcpKeepalive, Type};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use strait_parser::ast::Directive;
use strait_parser::values::{sock_ntop, UrlOptions, UrlTarget};

/// A listening address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListenAddr {
    /// An IP address and port (the address may be a wildcard).
    Inet(SocketAddr),
    /// A unix-domain socket path.
    Unix(PathBuf),
}

impl fmt::Display for ListenAddr {
    /// nginx's `addr_text` (`ngx_sock_ntop`): `127.0.0.1:80`, `[::0.0.1.2]:80`,
    /// `unix:/path` (the prefix in lower case, however it was written).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::Inet(addr) => f.write_str(&sock_ntop(addr)),
            ListenAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `so_keepalive=` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeepAlive {
    /// `so_keepalive=on`
    On,
    /// `so_keepalive=off`: `SO_KEEPALIVE` is cleared on the listening socket.
    Off,
    /// `so_keepalive=[idle]:[intvl]:[cnt]`
    Tuned {
        /// `TCP_KEEPIDLE`
        idle: Option<Duration>,
        /// `TCP_KEEPINTVL`
        interval: Option<Duration>,
        /// `TCP_KEEPCNT`
        count: Option<u32>,
    },
}

/// One `listen` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    /// The address.
    pub addr: ListenAddr,
    /// `backlog=` (nginx's default is 511).
    pub backlog: i32,
    /// `rcvbuf=`
    pub rcvbuf: Option<usize>,
    /// `sndbuf=`
    pub sndbuf: Option<usize>,
    /// `bind`: a socket of its own even when a wildcard on the same port exists.
    pub bind: bool,
    /// `ipv6only=` (nginx's default is on).
    pub ipv6only: bool,
    /// `reuseport`
    pub reuseport: bool,
    /// `so_keepalive=`
    pub keepalive: Option<KeepAlive>,
    /// `ssl`
    pub ssl: bool,
    /// `proxy_protocol`: a PROXY header precedes the session (crate::proxy_protocol).
    pub proxy_protocol: bool,
    /// `fastopen=N`: the `TCP_FASTOPEN` queue length.
    pub fastopen: Option<i32>,
    /// `deferred`: `TCP_DEFER_ACCEPT`.
    pub deferred: bool,
}

impl ListenSpec {
    /// Parses a `listen` directive into one spec per address the host resolves to (and per
    /// port of a range).
    pub fn parse(d: &Directive) -> Result<Vec<ListenSpec>, ConfigError> {
        let Some(first) = d.args.first() else {
            return Err(d.error("invalid number of arguments in \"listen\" directive"));
        };
        let addrs = parse_address(d, &first.value)?;
        let mut spec = ListenSpec {
            addr: addrs[0].clone(),
            backlog: 511,
            rcvbuf: None,
            sndbuf: None,
            bind: false,
            ipv6only: true,
            reuseport: false,
            keepalive: None,
            ssl: false,
            proxy_protocol: false,
            fastopen: None,
            deferred: false,
        };
        for arg in &d.args[1..] {
            let v = arg.value.as_slice();
            let invalid = || d.error(format!("invalid parameter \"{}\"", text(v)));
            if let Some(n) = v.strip_prefix(b"backlog=") {
                spec.backlog = parse_number(n)
                    .and_then(|n| i32::try_from(n).ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| d.error(format!("invalid backlog \"{}\"", text(n))))?;
            } else if let Some(n) = v.strip_prefix(b"rcvbuf=") {
                spec.rcvbuf = Some(
                    parse_size(n)
                        .ok_or_else(|| d.error(format!("invalid rcvbuf \"{}\"", text(n))))?,
                );
            } else if let Some(n) = v.strip_prefix(b"sndbuf=") {
                spec.sndbuf = Some(
                    parse_size(n)
                        .ok_or_else(|| d.error(format!("invalid sndbuf \"{}\"", text(n))))?,
                );
            } else if v == b"bind" {
                spec.bind = true;
            } else if let Some(n) = v.strip_prefix(b"ipv6only=") {
                spec.bind = true;
                spec.ipv6only = match n {
                    b"on" => true,
                    b"off" => false,
                    _ => return Err(d.error(format!("invalid ipv6only flags \"{}\"", text(n)))),
                };
            } else if v == b"reuseport" {
                spec.bind = true;
                spec.reuseport = true;
            } else if let Some(n) = v.strip_prefix(b"so_keepalive=") {
                spec.bind = true;
                spec.keepalive = Some(parse_keepalive(n).ok_or_else(|| {
                    d.error(format!("invalid so_keepalive value: \"{}\"", text(n)))
                })?);
            } else if v == b"deferred" {
                spec.bind = true;
                spec.deferred = true;
            } else if v == b"ssl" {
                spec.ssl = true;
            } else if v == b"proxy_protocol" {
                spec.proxy_protocol = true;
            } else if let Some(n) = v.strip_prefix(b"fastopen=") {
                spec.bind = true;
                spec.fastopen = Some(
                    parse_number(n)
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| d.error(format!("invalid fastopen \"{}\"", text(v))))?,
                );
            } else if crate::unsupported::listen_parameter(&text(v)).is_some() {
                return Err(d.error(format!(
                    "the \"{}\" parameter of the \"listen\" directive is not supported by \
                     strait yet",
                    text(v)
                )));
            } else {
                return Err(invalid());
            }
        }
        Ok(addrs.into_iter().map(|addr| ListenSpec { addr, ..spec.clone() }).collect())
    }
}

fn parse_keepalive(v: &[u8]) -> Option<KeepAlive> {
    match v {
        b"on" => return Some(KeepAlive::On),
        b"off" => return Some(KeepAlive::Off),
        _ => {}
    }
    let parts: Vec<&[u8]> = v.split(|&c| c == b':').collect();
    if parts.len() != 3 {
        return None;
    }
    let time = |p: &[u8]| -> Option<Option<Duration>> {
        if p.is_empty() {
            Some(None)
        } else {
            crate::conf::parse_time(p, false).map(Some)
        }
    };
    let count =
        if parts[2].is_empty() { None } else { Some(u32::try_from(parse_number(parts[2])?).ok()?) };
    Some(KeepAlive::Tuned { idle: time(parts[0])?, interval: time(parts[1])?, count })
}

/// Reads the address as `ngx_parse_url` does for `listen`: `unix:PATH`, `ADDR[:PORT]`,
/// `[V6][:PORT]`, `*:PORT`, a port alone, a port range (`9000-9002`: one address per port),
/// or `HOST[:PORT]` resolved now to every address, as nginx resolves it at load. Without a
/// port the port is 0: the kernel picks one, as for nginx.
fn parse_address(d: &Directive, v: &[u8]) -> Result<Vec<ListenAddr>, ConfigError> {
    let options = UrlOptions { listen: true, default_port: 0 };
    let (url, ips) = address::read(v, options).map_err(|e| {
        d.error(format!("{} in \"{}\" of the \"listen\" directive", e.text(), text(v)))
    })?;
    if url.target == UrlTarget::Unix {
        return Ok(vec![ListenAddr::Unix(address::unix_path(&url))]);
    }
    Ok(address::socket_addrs(&url, &ips).into_iter().map(ListenAddr::Inet).collect())
}

/// Binds and listens on `spec`'s address as `nginx -t` does (`ngx_open_listening_sockets`
/// in a test): only the options set before bind (`SO_REUSEADDR`, `reuseport`, `ipv6only`);
/// the socket is closed again and a unix socket's file removed. An address in use is no
/// fault in a test: `Ok`.
pub fn test_bind(spec: &ListenSpec) -> std::io::Result<()> {
    let (socket, addr) = unbound_socket(spec)?;
    match socket.bind(&addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Ok(()),
        result => result?,
    }
    let listened = socket.listen(spec.backlog);
    if let ListenAddr::Unix(path) = &spec.addr {
        let _ = std::fs::remove_file(path);
    }
    listened
}

/// A socket for `spec`'s address with the options nginx sets before `bind()` in every case
/// (`SO_REUSEADDR` on inet sockets, `reuseport`, `ipv6only`), and the address to bind.
fn unbound_socket(spec: &ListenSpec) -> std::io::Result<(Socket, SockAddr)> {
    let (domain, addr) = match &spec.addr {
        ListenAddr::Inet(a) => (Domain::for_address(*a), SockAddr::from(*a)),
        ListenAddr::Unix(path) => (Domain::UNIX, SockAddr::unix(path)?),
    };
    let socket = Socket::new(domain, Type::STREAM, None)?;
    if domain != Domain::UNIX {
        socket.set_reuse_address(true)?;
    }
    if spec.reuseport {
        socket.set_reuse_port(true)?;
    }
    if domain == Domain::IPV6 {
        socket.set_only_v6(spec.ipv6only)?;
    }
    Ok((socket, addr))
}

/// Opens a listening socket for `spec` with its options (the pre-bind ones before `bind`).
pub fn bind(spec: &ListenSpec) -> std::io::Result<Socket> {
    let (socket, addr) = unbound_socket(spec)?;
    if let Some(size) = spec.rcvbuf {
        socket.set_recv_buffer_size(size)?;
    }
    if let Some(size) = spec.sndbuf {
        socket.set_send_buffer_size(size)?;
    }
    match &spec.keepalive {
        None => {}
        Some(KeepAlive::On) => socket.set_keepalive(true)?,
        Some(KeepAlive::Off) => socket.set_keepalive(false)?,
        Some(KeepAlive::Tuned { idle, interval, count }) => {
            socket.set_keepalive(true)?;
            let mut ka = TcpKeepalive::new();
            if let Some(idle) = idle {
                ka = ka.with_time(*idle);
            }
            if let Some(interval) = interval {
                ka = ka.with_interval(*interval);
            }
            if let Some(count) = count {
                ka = ka.with_retries(*count);
            }
            socket.set_tcp_keepalive(&ka)?;
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr)?;
    if let Some(queue) = spec.fastopen {
        use std::os::fd::AsFd;
        crate::sys::set_tcp_fastopen(socket.as_fd(), queue)?;
    }
    socket.listen(spec.backlog)?;
    if spec.deferred {
        // nginx's timeout: 1 s, as it cannot know how long a connection was queued.
        use std::os::fd::AsFd;
        crate::sys::set_tcp_defer_accept(socket.as_fd(), 1)?;
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(args: &[&str]) -> Directive {
        let source = format!("listen {};", args.join(" "));
        let config =
            strait_parser::parse_bytes(source.as_bytes(), "/tmp/listen.conf", &Default::default())
                .unwrap();
        config.files[0].block.directives[0].clone()
    }

    #[test]
    fn addresses_print_as_nginx_addr_text() {
        let specs = ListenSpec::parse(&listen(&["8080"])).unwrap();
        assert_eq!(specs[0].addr.to_string(), "0.0.0.0:8080");
        let specs = ListenSpec::parse(&listen(&["[::1]:81"])).unwrap();
        assert_eq!(specs[0].addr.to_string(), "[::1]:81");
        let specs = ListenSpec::parse(&listen(&["unix:/tmp/x.sock"])).unwrap();
        assert_eq!(specs[0].addr.to_string(), "unix:/tmp/x.sock");
        let specs = ListenSpec::parse(&listen(&["[::0.0.1.2]:82"])).unwrap();
        assert_eq!(specs[0].addr.to_string(), "[::0.0.1.2]:82");
    }

    #[test]
    fn addresses_read_as_ngx_parse_url() {
        let addrs = |arg: &str| -> Vec<String> {
            let specs = ListenSpec::parse(&listen(&[arg])).unwrap();
            specs.iter().map(|spec| spec.addr.to_string()).collect()
        };
        assert_eq!(
            addrs("127.0.0.1:9000-9002"),
            ["127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002"]
        );
        assert_eq!(addrs("90-91"), ["0.0.0.0:90", "0.0.0.0:91"]);
        assert_eq!(addrs("127..0.1:9003"), ["127.0.0.1:9003"]);
        assert_eq!(addrs("UNIX:/tmp/y.sock"), ["unix:/tmp/y.sock"]);
        assert_eq!(addrs("[::1]"), ["[::1]:0"]);
        assert_eq!(addrs("127.0.0.1"), ["127.0.0.1:0"]);
        for (arg, fault) in [
            ("127.0.0.1:9002-9000", "invalid port range"),
            ("[::1", "invalid host"),
            ("[zz]:1", "invalid IPv6 address"),
            ("unix:", "no path in the unix domain socket"),
        ] {
            let e = ListenSpec::parse(&listen(&[arg])).unwrap_err();
            assert_eq!(e.message, format!("{fault} in \"{arg}\" of the \"listen\" directive"));
        }
    }

    #[test]
    fn parameters_parse_and_unsupported_ones_fail() {
        let specs =
            ListenSpec::parse(&listen(&["127.0.0.1:81", "backlog=10", "reuseport"])).unwrap();
        assert_eq!(specs[0].backlog, 10);
        assert!(specs[0].reuseport && specs[0].bind);
        let e = ListenSpec::parse(&listen(&["81", "udp"])).unwrap_err();
        assert!(e.message.contains("\"udp\" parameter"), "{e}");
        let e = ListenSpec::parse(&listen(&["81", "bogus"])).unwrap_err();
        assert_eq!(e.message, "invalid parameter \"bogus\"");
        let specs = ListenSpec::parse(&listen(&["*:81", "fastopen=8", "proxy_protocol"])).unwrap();
        assert_eq!(specs[0].addr.to_string(), "0.0.0.0:81");
        assert_eq!(specs[0].fastopen, Some(8));
        assert!(specs[0].bind && specs[0].proxy_protocol);
        let any_port = ListenAddr::Inet("127.0.0.1:0".parse().unwrap());
        bind(&ListenSpec { addr: any_port, ..specs[0].clone() }).expect("TCP_FASTOPEN socket");
        let e = ListenSpec::parse(&listen(&["0"])).unwrap_err();
        assert_eq!(e.message, "invalid port in \"0\" of the \"listen\" directive");
    }
}
