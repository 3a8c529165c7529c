//! Upstream groups: `upstream {}` blocks (and the implicit group of a `proxy_pass host:port`)
//! compiled into a balancer with its peers; the balancers themselves live in [`balancer`].

pub mod balancer;

pub use balancer::{Balancer, Method, Outcome, Peer, PeerAddr, PeerHandle, Tried};

use crate::conf::{expanded, parse_number, parse_time, text, ConfigError, DirectiveExt};
use crate::variables::{Complex, Variables};
use std::net::{SocketAddr, ToSocketAddrs};
use strait_parser::ast::{Config, Directive};

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
    let addrs = resolve_peer(d, &server)?;
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

/// Resolves a peer address: `unix:path`, `ip:port`, `[v6]:port` or `host:port`.
pub fn resolve_peer(d: &Directive, value: &str) -> Result<Vec<(PeerAddr, String)>, ConfigError> {
    if let Some(path) = value.strip_prefix("unix:") {
        return Ok(vec![(PeerAddr::Unix(path.into()), value.to_string())]);
    }
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(vec![(PeerAddr::Inet(addr), addr.to_string())]);
    }
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(d.error(format!("no port in upstream \"{value}\"")));
    };
    let port: u16 =
        port.parse().map_err(|_| d.error(format!("invalid port in upstream \"{value}\"")))?;
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| d.error(format!("host not found in upstream \"{value}\"")))?
        .collect();
    if addrs.is_empty() {
        return Err(d.error(format!("host not found in upstream \"{value}\"")));
    }
    Ok(addrs.into_iter().map(|a| (PeerAddr::Inet(a), a.to_string())).collect())
}
