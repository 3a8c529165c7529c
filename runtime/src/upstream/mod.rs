//! Upstream groups: `upstream {}` blocks (and the implicit group of a `proxy_pass host:port`)
//! compiled into a balancer with its peers; the balancers themselves live in [`balancer`].

pub mod balancer;

pub use balancer::{Balancer, Method, Outcome, Peer, PeerAddr, PeerHandle, Tried};

use crate::address;
use crate::conf::{expanded, parse_number, parse_time, text, ConfigError, DirectiveExt};
use crate::variables::{Complex, Variables};
use std::net::IpAddr;
use strait_parser::ast::{Config, Directive};
use strait_parser::values::{self, Url, UrlOptions, UrlTarget};

/// One upstream group.
#[derive(Debug)]
pub struct UpstreamGroup {
    /// The balancer with the peers and their shared state.
    pub balancer: Balancer,
    /// The `hash` key, evaluated once per session.
    pub hash_key: Option<Complex>,
}

impl UpstreamGroup {
    /// The group nginx creates for `proxy_pass ADDR` (round robin over what ADDR names).
    pub fn implicit(name: &str, peers: Vec<(PeerAddr, String)>) -> UpstreamGroup {
        let peers = peers
            .into_iter()
            .map(|(addr, peer_name)| Peer::new(addr, peer_name, name.to_string()))
            .collect();
        let balancer = Balancer::new(name, Method::RoundRobin, peers)
            .expect("an implicit upstream has at least one peer");
        UpstreamGroup { balancer, hash_key: None }
    }

    /// The group's name (`upstream NAME`, or the `proxy_pass` address).
    pub fn name(&self) -> &str {
        self.balancer.upstream()
    }

    /// Compiles an `upstream NAME { ... }` block.
    pub fn compile(
        d: &Directive,
        config: &Config,
        vars: &mut Variables,
    ) -> Result<UpstreamGroup, ConfigError> {
        let name = text(&d.one_arg()?.value);
        let mut method = Method::RoundRobin;
        let mut hash_key = None;
        let mut peers = Vec::new();
        let block = d
            .block
            .as_ref()
            .ok_or_else(|| d.error("directive \"upstream\" has no opening \"{\""))?;
        for entry in expanded(block, config) {
            match entry.name.value.as_slice() {
                b"server" => peers.extend(parse_server(entry)?),
                b"hash" => {
                    let values = entry.values();
                    let key = values.first().ok_or_else(|| {
                        entry.error("invalid number of arguments in \"hash\" directive")
                    })?;
                    method = match values.get(1) {
                        None => Method::Hash,
                        Some(&b"consistent") => Method::ConsistentHash,
                        Some(other) => {
                            return Err(
                                entry.error(format!("invalid parameter \"{}\"", text(other)))
                            )
                        }
                    };
                    hash_key = Some(Complex::compile(key, vars)?);
                }
                b"least_conn" => method = Method::LeastConn,
                b"random" => {
                    method = match entry.values().as_slice() {
                        [] => Method::Random,
                        [b"two"] | [b"two", b"least_conn"] => Method::RandomTwo,
                        [_, other, ..] | [other] => {
                            return Err(
                                entry.error(format!("invalid parameter \"{}\"", text(other)))
                            )
                        }
                    };
                }
                // Peer state is shared by every worker thread already: a zone adds nothing.
                b"zone" => {}
                _ => {
                    return Err(entry.error(format!(
                        "\"{}\" directive is not supported by strait yet in upstream",
                        entry.name_str()
                    )))
                }
            }
        }
        if peers.is_empty() {
            return Err(d.error("no servers are inside upstream"));
        }
        let balancer = Balancer::new(name, method, peers).map_err(|e| d.error(e.to_string()))?;
        Ok(UpstreamGroup { balancer, hash_key })
    }
}

/// Parses `server ADDR [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down]
/// [max_conns=N]` into one peer per address.
fn parse_server(d: &Directive) -> Result<Vec<Peer>, ConfigError> {
    let values = d.values();
    let Some(addr) = values.first() else {
        return Err(d.error("invalid number of arguments in \"server\" directive"));
    };
    let server = text(addr);
    let addrs = server_peers(d, addr)?;
    let mut template = Peer::new(addrs[0].0.clone(), addrs[0].1.clone(), server.clone());
    for v in &values[1..] {
        let invalid = || d.error(format!("invalid parameter \"{}\"", text(v)));
        let number = |n: &[u8]| parse_number(n).and_then(|n| u32::try_from(n).ok());
        if let Some(n) = v.strip_prefix(b"weight=") {
            template.weight = number(n).filter(|&w| w > 0).ok_or_else(invalid)?;
        } else if let Some(n) = v.strip_prefix(b"max_fails=") {
            template.max_fails = number(n).ok_or_else(invalid)?;
        } else if let Some(n) = v.strip_prefix(b"max_conns=") {
            template.max_conns = number(n).ok_or_else(invalid)?;
        } else if let Some(t) = v.strip_prefix(b"fail_timeout=") {
            template.fail_timeout = parse_time(t, false).ok_or_else(invalid)?.as_secs();
        } else if *v == b"backup" {
            template.backup = true;
        } else if *v == b"down" {
            template.down = true;
        } else if crate::unsupported::server_parameter(&text(v)).is_some() {
            return Err(d.error(format!(
                "the \"{}\" parameter of the \"server\" directive is not supported by strait yet",
                text(v)
            )));
        } else {
            return Err(invalid());
        }
    }
    Ok(addrs.into_iter().map(|(addr, name)| Peer { addr, name, ..template.clone() }).collect())
}

/// A peer's address and its name as nginx shows it (`$upstream_addr`, `upstream: "..."`).
pub type PeerName = (PeerAddr, String);

/// The peers of a `server` address in an `upstream {}` block, in nginx's order
/// (`ngx_stream_upstream_server`): the address read and its host resolved (`ngx_parse_url`),
/// then a port required. Each peer is named as nginx names it: [`values::sock_ntop`], or a
/// unix socket's address as written.
fn server_peers(d: &Directive, value: &[u8]) -> Result<Vec<PeerName>, ConfigError> {
    let fault = |what: &str| d.error(format!("{what} in upstream \"{}\"", text(value)));
    let (url, ips) = address::read(value, UrlOptions::default()).map_err(|e| fault(e.text()))?;
    if url.target == UrlTarget::Unix {
        return Ok(vec![(PeerAddr::Unix(address::unix_path(&url)), text(value))]);
    }
    if url.no_port {
        return Err(fault("no port"));
    }
    Ok(inet_peers(&url, &ips))
}

/// The peers of a `proxy_pass` address without variables, the implicit upstream nginx makes
/// for it: the address read without resolving (`ngx_stream_upstream_add`), then, as the
/// upstream module initializes it, a port required and the host resolved; those two faults
/// name the host alone (`no port in upstream "HOST"`).
pub fn implicit_peers(d: &Directive, value: &[u8]) -> Result<Vec<PeerName>, ConfigError> {
    let url = values::parse_url(value, UrlOptions::default())
        .map_err(|e| d.error(format!("{e} in upstream \"{}\"", text(value))))?;
    let fault = |what: &str| d.error(format!("{what} in upstream \"{}\"", text(url.host)));
    let ips = match url.target {
        UrlTarget::Unix => {
            return Ok(vec![(PeerAddr::Unix(address::unix_path(&url)), text(value))]);
        }
        _ if url.port == 0 => return Err(fault("no port")),
        UrlTarget::Addr(ip) => vec![ip],
        UrlTarget::Name => {
            address::resolve_host(url.host).ok_or_else(|| fault("host not found"))?
        }
    };
    Ok(inet_peers(&url, &ips))
}

/// A peer per address with the URL's port, named by [`values::sock_ntop`].
fn inet_peers(url: &Url, ips: &[IpAddr]) -> Vec<PeerName> {
    let addrs = address::socket_addrs(url, ips);
    addrs.into_iter().map(|addr| (PeerAddr::Inet(addr), values::sock_ntop(&addr))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive(source: &str) -> Directive {
        let config =
            strait_parser::parse_bytes(source.as_bytes(), "/tmp/up.conf", &Default::default())
                .unwrap();
        config.files[0].block.directives[0].clone()
    }

    fn names(peers: &[PeerName]) -> Vec<&str> {
        peers.iter().map(|(_, name)| name.as_str()).collect()
    }

    #[test]
    fn server_addresses_read_as_ngx_parse_url() {
        let peers = |arg: &str| {
            let d = directive(&format!("server {arg};"));
            server_peers(&d, arg.as_bytes())
        };
        assert_eq!(names(&peers("127..0.1:9").unwrap()), ["127.0.0.1:9"]);
        assert_eq!(names(&peers("[::0.0.1.2]:9").unwrap()), ["[::0.0.1.2]:9"]);
        let unix = peers("UNIX:/run/u.sock").unwrap();
        assert_eq!(unix, [(PeerAddr::Unix("/run/u.sock".into()), "UNIX:/run/u.sock".into())]);
        let fault = |arg: &str| peers(arg).unwrap_err().to_string();
        assert_eq!(fault("[::1]"), "no port in upstream \"[::1]\" in /tmp/up.conf:1");
        assert_eq!(
            fault("127.0.0.1:0"),
            "invalid port in upstream \"127.0.0.1:0\" in /tmp/up.conf:1"
        );
        assert_eq!(
            fault("127.0.0.1:1-2"),
            "invalid port in upstream \"127.0.0.1:1-2\" in /tmp/up.conf:1"
        );
    }

    #[test]
    fn proxy_pass_addresses_name_the_host_in_later_faults() {
        let peers =
            |arg: &str| implicit_peers(&directive(&format!("proxy_pass {arg};")), arg.as_bytes());
        assert_eq!(names(&peers("127..0.1:9").unwrap()), ["127.0.0.1:9"]);
        let fault = |arg: &str| peers(arg).unwrap_err().message;
        assert_eq!(fault("127..0.1"), "no port in upstream \"127..0.1\"");
        assert_eq!(fault("[::1]"), "no port in upstream \"[::1]\"");
        assert_eq!(fault("[::1]:x"), "invalid port in upstream \"[::1]:x\"");
    }
}
