//! Addresses in the configuration, read as nginx reads them at load: `ngx_parse_url`
//! ([`strait_parser::values::parse_url`], the one reader `strait -t` uses too), a host name
//! found with getaddrinfo (`ngx_inet_resolve_host`), and each address with each port of a
//! `listen` range (`ngx_inet_add_addr`).

use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use strait_parser::values::{self, Url, UrlError, UrlOptions, UrlTarget};

/// Why an address names no socket; [`AddressError::text`] is nginx's `u->err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressError {
    /// `ngx_parse_url` refused the text.
    Url(UrlError),
    /// `host not found`: the name has no address.
    HostNotFound,
}

impl AddressError {
    /// nginx's text, which callers put before ` in upstream "URL"` and the like.
    pub fn text(self) -> &'static str {
        match self {
            AddressError::Url(err) => err.text(),
            AddressError::HostNotFound => "host not found",
        }
    }
}

/// An address read and its host found: the URL, and the IP addresses it names (its address
/// literal, or every address of its host name; none for a unix socket).
pub fn read(text: &[u8], options: UrlOptions) -> Result<(Url<'_>, Vec<IpAddr>), AddressError> {
    let url = values::parse_url(text, options).map_err(AddressError::Url)?;
    let ips = match url.target {
        UrlTarget::Unix => Vec::new(),
        UrlTarget::Addr(ip) => vec![ip],
        UrlTarget::Name => resolve_host(url.host).ok_or(AddressError::HostNotFound)?,
    };
    Ok((url, ips))
}

/// The socket addresses of `ips` with the URL's port, or each port of its `listen` range,
/// in nginx's order (every port of the first address, then of the next).
pub fn socket_addrs(url: &Url, ips: &[IpAddr]) -> Vec<SocketAddr> {
    let last = url.last_port.max(url.port);
    ips.iter()
        .flat_map(|&ip| (url.port..=last).map(move |port| SocketAddr::new(ip, port)))
        .collect()
}

/// A unix socket's path as written after `unix:`, bytes kept as they are.
pub fn unix_path(url: &Url) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(url.host))
}

/// A host name's addresses as nginx's `ngx_inet_resolve_host` lists them (getaddrinfo): the
/// IPv4 ones, then the IPv6 ones. `None` when nothing is found.
pub fn resolve_host(host: &[u8]) -> Option<Vec<IpAddr>> {
    let host = std::str::from_utf8(host).ok().filter(|host| !host.contains('\0'))?;
    let found: Vec<IpAddr> = (host, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
    let (mut ips, v6): (Vec<IpAddr>, Vec<IpAddr>) = found.into_iter().partition(IpAddr::is_ipv4);
    ips.extend(v6);
    (!ips.is_empty()).then_some(ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_ranges_name_a_socket_per_port() {
        let listen = UrlOptions { listen: true, default_port: 0 };
        let (url, ips) = read(b"127..0.1:9000-9002", listen).unwrap();
        let addrs: Vec<String> = socket_addrs(&url, &ips).iter().map(values::sock_ntop).collect();
        assert_eq!(addrs, ["127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002"]);
        let (url, ips) = read(b"[::1]", listen).unwrap();
        assert_eq!(socket_addrs(&url, &ips), ["[::1]:0".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn unix_sockets_and_faults() {
        let (url, ips) = read(b"UNIX:/run/x.sock", UrlOptions::default()).unwrap();
        assert_eq!((&url.target, ips.len()), (&UrlTarget::Unix, 0));
        assert_eq!(unix_path(&url), PathBuf::from("/run/x.sock"));
        let fault = |t: &[u8]| read(t, UrlOptions::default()).map(drop).unwrap_err().text();
        assert_eq!(fault(b"127.0.0.1:0"), "invalid port");
        assert_eq!(fault(b"[::1]:1-2"), "invalid port");
        assert_eq!(fault(b"a\0b:1"), "host not found");
    }

    #[test]
    fn names_list_ipv4_first() {
        let ips = resolve_host(b"localhost").expect("localhost resolves");
        let first_v6 = ips.iter().position(IpAddr::is_ipv6).unwrap_or(ips.len());
        assert!(ips[first_v6..].iter().all(IpAddr::is_ipv6), "{ips:?}");
        assert_eq!(resolve_host(b"a\0b"), None);
    }
}
