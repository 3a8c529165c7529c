//! The realip module: `set_real_ip_from` and the post-accept phase that makes the PROXY
//! protocol source the client address (`$remote_addr`, `$remote_port`, the `client:` of log
//! lines), keeping the connection's own address for `$realip_remote_addr` and
//! `$realip_remote_port`.

use crate::conf::{text, ConfigError, DirectiveExt};
use crate::plan::{AccessRule, AccessTarget};
use crate::session::{ClientAddr, Session};
use std::net::SocketAddr;
use strait_parser::ast::Directive;

/// Parses one `set_real_ip_from unix:|CIDR|HOST` into rules of trusted addresses, as
/// `ngx_stream_realip_from`: `unix:` exactly, a CIDR as `ngx_ptocidr` reads it (`127..0.1/8`
/// is 127.0.0.0/8; strait -t warns of the low address bits), else a host name, which trusts
/// every address it resolves to now, as nginx resolves it at load.
pub fn parse_from(d: &Directive) -> Result<Vec<AccessRule>, ConfigError> {
    let value = &d.one_arg()?.value;
    let rule = |target| AccessRule { allow: true, target };
    if value == b"unix:" {
        return Ok(vec![rule(AccessTarget::Unix)]);
    }
    if let Some((net, _)) = strait_parser::values::ptocidr(value) {
        return Ok(vec![rule(AccessTarget::Net(net))]);
    }
    let t = text(value);
    let resolved = crate::address::resolve_host(value)
        .ok_or_else(|| d.error(format!("host not found in set_real_ip_from \"{t}\"")))?;
    Ok(resolved.into_iter().map(|ip| rule(AccessTarget::Net(ip.into()))).collect())
}

/// The post-accept phase (`ngx_stream_realip_handler`): on a connection that brought a PROXY
/// header with addresses, from a trusted address, the header's source becomes the client.
/// A source that is not an IP address (as `ngx_parse_addr` reads it, so `127..0.1` is one)
/// leaves the client as it was.
pub fn post_accept(s: &mut Session) {
    let server = s.server.clone();
    if server.realip_from.is_empty() {
        return;
    }
    let Some(pp) = &s.proxy_protocol else {
        return;
    };
    if !server.realip_from.iter().any(|rule| rule.matches(&s.client)) {
        return;
    }
    let Some(ip) = strait_parser::values::parse_addr(pp.src_addr.as_bytes()) else {
        return;
    };
    let real = ClientAddr::Inet(SocketAddr::new(ip, pp.src_port));
    s.realip = Some(std::mem::replace(&mut s.client, real));
}

impl Session {
    /// The connection's own client address, before realip replaced it.
    pub fn realip_client(&self) -> &ClientAddr {
        self.realip.as_ref().unwrap_or(&self.client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(value: &str) -> Result<Vec<AccessRule>, ConfigError> {
        let source = format!("set_real_ip_from {value};");
        let config =
            strait_parser::parse_bytes(source.as_bytes(), "/tmp/realip.conf", &Default::default())
                .unwrap();
        parse_from(&config.files[0].block.directives[0])
    }

    #[test]
    fn trusted_sources_are_addresses_networks_unix_and_hosts() {
        let client = |a: &str| ClientAddr::Inet(a.parse().unwrap());
        let net = from("127.0.0.0/8").unwrap();
        assert!(net[0].matches(&client("127.9.9.9:1")) && !net[0].matches(&client("10.0.0.1:1")));
        let one = from("192.0.2.1").unwrap();
        assert!(one[0].matches(&client("192.0.2.1:1")) && !one[0].matches(&client("192.0.2.2:1")));
        assert!(from("unix:").unwrap()[0].matches(&ClientAddr::Unix));
        // `ngx_ptocidr`: lenient IPv4, host bits cleared.
        let lenient = from("127..0.9/24").unwrap();
        assert!(lenient[0].matches(&client("127.0.0.200:1")));
        assert!(!lenient[0].matches(&client("127.0.1.9:1")));
        let host = from("localhost").unwrap();
        assert!(host.iter().any(|r| r.matches(&client("127.0.0.1:1"))));
        let e = from("nosuchhost.invalid").unwrap_err();
        assert_eq!(e.message, "host not found in set_real_ip_from \"nosuchhost.invalid\"");
    }
}
