//! `resolver`: a small DNS client for names in a `proxy_pass` with variables, asking the
//! configured servers for A (and, unless `ipv6=off`, AAAA) records over UDP (or a unix
//! datagram socket), as nginx's resolver does. Answers are not cached (nginx keeps them for
//! their TTL or `valid=`).

use crate::address;
use crate::conf::{parse_time, text, ConfigError, DirectiveExt};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use strait_parser::ast::Directive;
use strait_parser::values::{UrlOptions, UrlTarget};
use tokio::net::{UdpSocket, UnixDatagram};

/// Record types strait asks for.
const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;

/// The configured `resolver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    servers: Vec<NameServer>,
    ipv4: bool,
    ipv6: bool,
}

/// A name server, as `ngx_resolver_create` keeps each address of a `resolver` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NameServer {
    /// An IP address and port (53 unless given).
    Inet(SocketAddr),
    /// `unix:PATH`, a datagram socket. As from nginx, the query is sent from an unbound
    /// socket, which no answer can reach: such a server never answers.
    Unix(PathBuf),
}

/// A socket connected to one name server.
enum Connected {
    /// UDP.
    Udp(UdpSocket),
    /// A unix datagram socket.
    Unix(UnixDatagram),
}

impl Connected {
    /// A socket for `server`, connected to it (nginx's `ngx_udp_connect`: no local address).
    async fn to(server: &NameServer) -> io::Result<Connected> {
        match server {
            NameServer::Inet(addr) => {
                let local: SocketAddr = if addr.is_ipv4() {
                    (Ipv4Addr::UNSPECIFIED, 0).into()
                } else {
                    (Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local).await?;
                socket.connect(addr).await?;
                Ok(Connected::Udp(socket))
            }
            NameServer::Unix(path) => {
                let socket = UnixDatagram::unbound()?;
                socket.connect(path)?;
                Ok(Connected::Unix(socket))
            }
        }
    }

    async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Connected::Udp(socket) => socket.send(buf).await,
            Connected::Unix(socket) => socket.send(buf).await,
        }
    }

    async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connected::Udp(socket) => socket.recv(buf).await,
            Connected::Unix(socket) => socket.recv(buf).await,
        }
    }
}

/// Why a name could not be resolved, with nginx's codes and texts
/// (`ngx_resolver_strerror`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A DNS response code other than success.
    #[error("{}: {}", .0, rcode_text(*.0))]
    Response(u8),
    /// No answer within `resolver_timeout`.
    #[error("110: Operation timed out")]
    TimedOut,
}

fn rcode_text(code: u8) -> &'static str {
    match code {
        1 => "Format error",
        2 => "Server failure",
        3 => "Host not found",
        4 => "Unimplemented",
        5 => "Operation refused",
        _ => "Unknown error",
    }
}

impl Resolver {
    /// Parses `resolver ADDRESS ... [valid=TIME] [ipv4=on|off] [ipv6=on|off]`.
    pub fn parse(d: &Directive) -> Result<Resolver, ConfigError> {
        let mut resolver = Resolver { servers: Vec::new(), ipv4: true, ipv6: true };
        for v in d.values() {
            let flag = |value: &[u8]| match value {
                b"on" => Ok(true),
                b"off" => Ok(false),
                _ => Err(d.error(format!("invalid parameter: {}", text(v)))),
            };
            if let Some(time) = v.strip_prefix(b"valid=") {
                parse_time(time, false)
                    .ok_or_else(|| d.error(format!("invalid parameter: {}", text(v))))?;
            } else if let Some(value) = v.strip_prefix(b"ipv4=") {
                resolver.ipv4 = flag(value)?;
            } else if let Some(value) = v.strip_prefix(b"ipv6=") {
                resolver.ipv6 = flag(value)?;
            } else if v.starts_with(b"status_zone=") {
            } else {
                resolver.servers.extend(name_servers(d, v)?);
            }
        }
        if !resolver.ipv4 && !resolver.ipv6 {
            return Err(d.error("\"ipv4\" and \"ipv6\" cannot both be \"off\""));
        }
        Ok(resolver)
    }

    /// Resolves `name` to its addresses, asking each server in turn.
    pub async fn resolve(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Vec<IpAddr>, ResolveError> {
        let attempt = async {
            let mut last = ResolveError::TimedOut;
            for server in &self.servers {
                match self.ask(server, name).await {
                    Ok(addrs) => return Ok(addrs),
                    Err(e) => last = e,
                }
            }
            Err(last)
        };
        tokio::time::timeout(timeout, attempt).await.unwrap_or(Err(ResolveError::TimedOut))
    }

    /// Asks one server for the record types in use; an empty answer is `Host not found`.
    async fn ask(&self, server: &NameServer, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        let socket = Connected::to(server).await.map_err(|_| ResolveError::TimedOut)?;
        let mut addrs = Vec::new();
        let types = [(self.ipv4, TYPE_A), (self.ipv6, TYPE_AAAA)];
        for (_, qtype) in types.iter().filter(|(on, _)| *on) {
            let id = fastrand::u16(..);
            socket.send(&query(id, name, *qtype)).await.map_err(|_| ResolveError::TimedOut)?;
            let mut buf = vec![0u8; 4096];
            loop {
                let n = socket.recv(&mut buf).await.map_err(|_| ResolveError::TimedOut)?;
                match parse_response(&buf[..n], id) {
                    Some(Ok(found)) => {
                        addrs.extend(found);
                        break;
                    }
                    Some(Err(code)) => return Err(ResolveError::Response(code)),
                    // Not our answer (another id, or garbage): keep waiting.
                    None => continue,
                }
            }
        }
        if addrs.is_empty() {
            return Err(ResolveError::Response(3));
        }
        Ok(addrs)
    }
}

/// The name servers of one `resolver` address, read as `ngx_resolver_create` reads it
/// (`ngx_parse_url`, port 53 unless given): an IP address, a host name resolved now to each
/// of its addresses, or `unix:PATH`. The faults are nginx's (`invalid port in resolver "V"`).
fn name_servers(d: &Directive, value: &[u8]) -> Result<Vec<NameServer>, ConfigError> {
    let options = UrlOptions { listen: false, default_port: 53 };
    let (url, ips) = address::read(value, options)
        .map_err(|e| d.error(format!("{} in resolver \"{}\"", e.text(), text(value))))?;
    if url.target == UrlTarget::Unix {
        return Ok(vec![NameServer::Unix(address::unix_path(&url))]);
    }
    Ok(address::socket_addrs(&url, &ips).into_iter().map(NameServer::Inet).collect())
}

/// A recursive query for one name and type.
fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + name.len());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len().min(63) as u8);
        out.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    out.push(0);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out
}

/// Parses a response to query `id`: `None` if it is not one, the response code if it is an
/// error, else the A/AAAA addresses of the answer section.
fn parse_response(msg: &[u8], id: u16) -> Option<Result<Vec<IpAddr>, u8>> {
    if msg.len() < 12 || u16::from_be_bytes([msg[0], msg[1]]) != id || msg[2] & 0x80 == 0 {
        return None;
    }
    let rcode = msg[3] & 0x0f;
    if rcode != 0 {
        return Some(Err(rcode));
    }
    let questions = u16::from_be_bytes([msg[4], msg[5]]);
    let answers = u16::from_be_bytes([msg[6], msg[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(msg, at)? + 4;
    }
    let mut addrs = Vec::new();
    for _ in 0..answers {
        at = skip_name(msg, at)?;
        let header = msg.get(at..at + 10)?;
        let rtype = u16::from_be_bytes([header[0], header[1]]);
        let len = u16::from_be_bytes([header[8], header[9]]) as usize;
        let data = msg.get(at + 10..at + 10 + len)?;
        match (rtype, len) {
            (TYPE_A, 4) => addrs.push(IpAddr::from(<[u8; 4]>::try_from(data).ok()?)),
            (TYPE_AAAA, 16) => addrs.push(IpAddr::from(<[u8; 16]>::try_from(data).ok()?)),
            _ => {}
        }
        at += 10 + len;
    }
    Some(Ok(addrs))
}

/// The offset after a (possibly compressed) name.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        if len & 0xc0 == 0xc0 {
            return Some(at + 2);
        }
        if len == 0 {
            return Some(at + 1);
        }
        at += 1 + len as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(args: &str) -> Result<Resolver, ConfigError> {
        let source = format!("resolver {args};");
        let config =
            strait_parser::parse_bytes(source.as_bytes(), "/tmp/r.conf", &Default::default())
                .unwrap();
        Resolver::parse(&config.files[0].block.directives[0])
    }

    #[test]
    fn servers_read_as_ngx_parse_url() {
        let inet = |a: &str| NameServer::Inet(a.parse().unwrap());
        let servers = resolver("127..0.1 [::1] [::1]:54 127.0.0.2:5 UNIX:/run/dns").unwrap();
        assert_eq!(
            servers.servers,
            [
                inet("127.0.0.1:53"),
                inet("[::1]:53"),
                inet("[::1]:54"),
                inet("127.0.0.2:5"),
                NameServer::Unix("/run/dns".into()),
            ]
        );
        let fault = |args: &str| resolver(args).unwrap_err().to_string();
        assert_eq!(
            fault("127.0.0.1:x"),
            "invalid port in resolver \"127.0.0.1:x\" in /tmp/r.conf:1"
        );
        assert_eq!(fault("[::1"), "invalid host in resolver \"[::1\" in /tmp/r.conf:1");
        assert_eq!(
            fault("unix:"),
            "no path in the unix domain socket in resolver \"unix:\" in /tmp/r.conf:1"
        );
    }

    /// A unix name server gets the query, as from nginx, and its answer cannot come back.
    #[tokio::test]
    async fn a_unix_server_is_asked_and_never_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dns.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let resolver = resolver(&format!("unix:{}", path.display())).unwrap();
        let timeout = Duration::from_millis(200);
        let resolved = resolver.resolve("backend.test", timeout).await;
        assert_eq!(resolved, Err(ResolveError::TimedOut));
        let mut buf = [0u8; 512];
        let (n, from) = server.try_recv_from(&mut buf).expect("the query arrived");
        assert_eq!(&buf[12..n - 4], b"\x07backend\x04test\x00");
        assert!(from.is_unnamed(), "{from:?}");
    }

    #[test]
    fn queries_and_answers_round_trip() {
        let q = query(0x1234, "backend.test", TYPE_A);
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..], b"\x07backend\x04test\x00\x00\x01\x00\x01");

        // The question echoed, then one compressed A answer.
        let mut answer = q.clone();
        answer[2] |= 0x80;
        answer[7] = 1;
        answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 7]);
        let found = parse_response(&answer, 0x1234).unwrap().unwrap();
        assert_eq!(found, vec![IpAddr::from([10, 0, 0, 7])]);
        assert!(parse_response(&answer, 0x9999).is_none());

        let mut nx = q;
        nx[2] |= 0x80;
        nx[3] |= 3;
        assert_eq!(parse_response(&nx, 0x1234), Some(Err(3)));
        assert_eq!(ResolveError::Response(3).to_string(), "3: Host not found");
    }
}
