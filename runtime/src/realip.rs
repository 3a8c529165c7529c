//! The realip module: `set_real_ip_from` and the post-accept phase that makes the PROXY
//! protocol source the client address (`$remote_addr`, `$remote_port`, the `client:` of log
//! lines), keeping the connection's own address for `$realip_remote_addr` and
//! `$realip_remote_port`.

use crate::conf::{text, ConfigError, DirectiveExt};
use crate::plan::{AccessRule, AccessTarget};
use crate::session::{ClientAddr, Session};
use std::net::{IpAddr, SocketAddr};
use strait_parser::ast::Directive;

/// Parses one `set_real_ip_from ADDR|CIDR|unix:` into a rule of trusted addresses.
pub fn parse_from(d: &Directive) -> Result<AccessRule, ConfigError> {
    let value = &d.one_arg()?.value;
    let target = if value == b"unix:" {
        AccessTarget::Unix
    } else {
        let t = text(value);
        let net = t
            .parse::<ipnet::IpNet>()
            .or_else(|_| t.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| d.error(format!("invalid parameter \"{t}\"")))?;
        AccessTarget::Net(net.trunc())
    };
    Ok(AccessRule { allow: true, target })
}

/// The post-accept phase (`ngx_stream_realip_handler`): on a connection that brought a PROXY
/// header with addresses, from a trusted address, the header's source becomes the client.
/// A source that is not an IP address leaves the client as it was.
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
    let Ok(ip) = pp.src_addr.parse::<IpAddr>() else {
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
