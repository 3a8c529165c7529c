//! nginx's value syntaxes (`src/core/ngx_parse.c`, `ngx_string.c`, `ngx_inet.c`): numbers,
//! sizes, offsets, times, flags and addresses, with nginx's acceptance rules and limits.
//!
//! The checks call these to reject what `nginx -t` rejects; the runtime calls them to read the
//! same values. Every function takes the stored bytes of one argument (quotes removed) and
//! returns `None` where nginx returns `NGX_ERROR`; the caller turns that into nginx's message
//! (`invalid number`, `invalid value`, ...), which depends on the directive.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// nginx's `NGX_MAX_INT_T_VALUE` on 64-bit Linux.
const MAX_INT: i64 = i64::MAX;

/// `ngx_atoi`: a non-empty run of decimal digits, no sign, no overflow past `i64::MAX`.
///
/// `"0012"` is 12; `""`, `"-1"`, `"1k"` and `" 1"` are errors.
pub fn parse_int(value: &[u8]) -> Option<i64> {
    if value.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    Some(n)
}

/// `ngx_parse_size`: bytes, or a number with a `k`/`K` (KiB) or `m`/`M` (MiB) suffix.
pub fn parse_size(value: &[u8]) -> Option<u64> {
    parse_scaled(value, false)
}

/// `ngx_parse_offset`: like [`parse_size`], and also `g`/`G` (GiB).
pub fn parse_offset(value: &[u8]) -> Option<u64> {
    parse_scaled(value, true)
}

/// The shared body of [`parse_size`] and [`parse_offset`]: an optional unit letter at the end
/// scales a decimal number; the scaled value must stay within the signed 64-bit range.
fn parse_scaled(value: &[u8], giga: bool) -> Option<u64> {
    let (&unit, digits) = value.split_last()?;
    let (digits, scale): (&[u8], i64) = match unit {
        b'k' | b'K' => (digits, 1 << 10),
        b'm' | b'M' => (digits, 1 << 20),
        b'g' | b'G' if giga => (digits, 1 << 30),
        _ => (value, 1),
    };
    let n = parse_int(digits)?;
    if n > MAX_INT / scale {
        return None;
    }
    Some((n * scale) as u64)
}

/// The precision of a time directive: nginx's `ngx_conf_set_sec_slot` reads seconds,
/// `ngx_conf_set_msec_slot` milliseconds (and accepts the `ms` unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// The result is in seconds; `ms` is rejected.
    Seconds,
    /// The result is in milliseconds; a bare number still means seconds.
    Milliseconds,
}

/// `ngx_parse_time`: parts like `1y 2M 3w 4d 5h 6m 7s 8ms` in that order (each unit once,
/// spaces allowed between parts); a bare number means seconds. Returns the total in the
/// requested unit.
///
/// As in nginx, milliseconds directives refuse `y` and `M`, and a seconds directive refuses
/// `ms`. Overflow past the signed 64-bit range is an error.
pub fn parse_time(value: &[u8], unit: TimeUnit) -> Option<u64> {
    // nginx's steps: each unit must come after the previous ones.
    const START: u8 = 0;
    const YEAR: u8 = 1;
    const MONTH: u8 = 2;
    const WEEK: u8 = 3;
    const DAY: u8 = 4;
    const HOUR: u8 = 5;
    const MIN: u8 = 6;
    const SEC: u8 = 7;
    const MSEC: u8 = 8;
    const LAST: u8 = 9;

    let is_sec = unit == TimeUnit::Seconds;
    let mut step = if is_sec { START } else { MONTH };
    let mut valid = false;
    let mut number: i64 = 0;
    let mut total: i64 = 0;
    let mut i = 0;

    while i < value.len() {
        let c = value[i];
        i += 1;

        // Digits accumulate the current part's number.
        if c.is_ascii_digit() {
            number = number.checked_mul(10)?.checked_add((c - b'0') as i64)?;
            valid = true;
            continue;
        }

        // A unit letter (or a space) closes the part; it must follow the previous unit.
        let (next, mut max, mut scale): (u8, i64, i64) = match c {
            b'y' if step == START => (YEAR, MAX_INT / 31_536_000, 31_536_000),
            b'M' if step < MONTH => (MONTH, MAX_INT / 2_592_000, 2_592_000),
            b'w' if step < WEEK => (WEEK, MAX_INT / 604_800, 604_800),
            b'd' if step < DAY => (DAY, MAX_INT / 86_400, 86_400),
            b'h' if step < HOUR => (HOUR, MAX_INT / 3_600, 3_600),
            b'm' if value.get(i) == Some(&b's') => {
                if is_sec || step >= MSEC {
                    return None;
                }
                i += 1;
                (MSEC, MAX_INT, 1)
            }
            b'm' if step < MIN => (MIN, MAX_INT / 60, 60),
            b's' if step < SEC => (SEC, MAX_INT, 1),
            b' ' if step < SEC => (LAST, MAX_INT, 1),
            _ => return None,
        };
        step = next;

        // Scale the part to the result's unit and add it.
        if step != MSEC && !is_sec {
            scale *= 1000;
            max /= 1000;
        }
        if number > max {
            return None;
        }
        total = total.checked_add(number * scale)?;
        number = 0;
        while value.get(i) == Some(&b' ') {
            i += 1;
        }
    }

    // A trailing bare number is seconds.
    if !valid {
        return None;
    }
    if !is_sec {
        number = number.checked_mul(1000)?;
    }
    Some(total.checked_add(number)? as u64)
}

/// `ngx_conf_set_flag_slot`: `on` or `off`, in any letter case.
pub fn parse_flag(value: &[u8]) -> Option<bool> {
    if value.eq_ignore_ascii_case(b"on") {
        Some(true)
    } else if value.eq_ignore_ascii_case(b"off") {
        Some(false)
    } else {
        None
    }
}

/// `ngx_inet_addr`: digits and exactly three dots, each part <= 255 (an empty part counts as
/// 0, so `1..2.3` is `1.0.2.3`); `255.255.255.255` is `INADDR_NONE`, i.e. rejected.
pub fn inet_addr(text: &[u8]) -> Option<Ipv4Addr> {
    let (mut addr, mut octet, mut dots) = (0u32, 0u32, 0);
    for &c in text {
        match c {
            b'0'..=b'9' => {
                octet = octet * 10 + u32::from(c - b'0');
                if octet > 255 {
                    return None;
                }
            }
            b'.' => {
                addr = (addr << 8) + octet;
                octet = 0;
                dots += 1;
            }
            _ => return None,
        }
    }
    let addr = (dots == 3).then(|| (addr << 8) + octet)?;
    (addr != u32::MAX).then_some(Ipv4Addr::from(addr))
}

/// `ngx_inet6_addr`: IPv6 text as nginx reads it: groups of up to four hex digits, one `::`,
/// a dotted quad in place of the last two groups; no brackets, no zone. nginx is more
/// lenient than the RFC in one place: a leading `:` is skipped (`:1::` is `1::`).
pub fn inet6_addr(text: &[u8]) -> Option<Ipv6Addr> {
    let text = match text.split_first() {
        None => return None,
        Some((b':', rest)) => rest,
        Some(_) => text,
    };
    let mut addr = [0u8; 16];
    let (mut at, mut groups_left) = (0usize, 8u32);
    let (mut zero, mut group_start) = (None, None);
    let (mut nibbles, mut word) = (0u32, 0u32);

    // Step: the groups, each written when its `:` is read.
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        i += 1;
        if c == b':' {
            if nibbles > 0 {
                group_start = Some(i);
                addr[at..at + 2].copy_from_slice(&(word as u16).to_be_bytes());
                at += 2;
                groups_left -= 1;
                if groups_left == 0 {
                    return None;
                }
                (nibbles, word) = (0, 0);
                continue;
            }
            if zero.is_some() {
                return None;
            }
            (group_start, zero) = (Some(i), Some(at));
            continue;
        }

        // A dot ends the text with a dotted quad, from the start of the group.
        if c == b'.' && nibbles > 0 {
            let start = group_start.filter(|_| groups_left >= 2)?;
            word = u32::from(inet_addr(&text[start..])?);
            addr[at..at + 2].copy_from_slice(&((word >> 16) as u16).to_be_bytes());
            at += 2;
            groups_left -= 1;
            break;
        }

        nibbles += 1;
        let digit = (c as char).to_digit(16).filter(|_| nibbles <= 4)?;
        word = word * 16 + digit;
    }

    // Step: the last group, then the zeros of `::` moved in before the groups after it.
    if nibbles == 0 && zero.is_none() {
        return None;
    }
    addr[at..at + 2].copy_from_slice(&(word as u16).to_be_bytes());
    at += 2;
    groups_left -= 1;
    match (groups_left, zero) {
        (0, None) => Some(Ipv6Addr::from(addr)),
        (1.., Some(zero)) => {
            let tail = at - zero;
            addr.copy_within(zero..at, 16 - tail);
            addr[zero..16 - tail].fill(0);
            Some(Ipv6Addr::from(addr))
        }
        _ => None,
    }
}

/// `ngx_inet6_ntop`: nginx's text for an IPv6 address: lower-case hex groups without
/// leading zeros, the longest run of two or more zero groups as `::`, and a dotted quad
/// after `::` for mapped and compatible addresses (`::ffff:1.2.3.4`, `::1.2.3.4`).
pub fn inet6_ntop(addr: &Ipv6Addr) -> String {
    let p = addr.octets();
    let group = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);

    // Step: the longest run of zero groups (its first byte and length in groups).
    let (mut zero, mut max, mut last, mut run) = (None, 1, 0, 0);
    for i in (0..16).step_by(2) {
        if group(i) != 0 {
            if max < run {
                (zero, max) = (Some(last), run);
            }
            run = 0;
            continue;
        }
        if run == 0 {
            last = i;
        }
        run += 1;
    }
    if max < run {
        (zero, max) = (Some(last), run);
    }

    // Step: the groups, the run as `::`, and the dotted quad.
    let mut out = String::new();
    let mut end = 16;
    if zero == Some(0) {
        let mapped = max == 5 && p[10] == 0xff && p[11] == 0xff;
        if mapped || max == 6 || (max == 7 && p[14] != 0 && p[15] != 1) {
            end = 12;
        }
        out.push(':');
    }
    let mut i = 0;
    while i < end {
        if Some(i) == zero {
            out.push(':');
            i += max * 2;
            continue;
        }
        out.push_str(&format!("{:x}", group(i)));
        if i < 14 {
            out.push(':');
        }
        i += 2;
    }
    if end == 12 {
        out.push_str(&format!("{}.{}.{}.{}", p[12], p[13], p[14], p[15]));
    }
    out
}

/// `ngx_sock_ntop` with the port: `127.0.0.1:80`, `[::1]:80`, `[::0.0.1.2]:80` (a scope id
/// is not printed).
pub fn sock_ntop(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", inet6_ntop(v6.ip()), v6.port()),
    }
}

/// `ngx_sock_ntop` without the port (`ngx_inet_ntop`): `127.0.0.1`, `::1`, `::0.0.1.2`.
pub fn inet_ntop(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => inet6_ntop(v6),
    }
}

/// `ngx_parse_addr`: an IPv4 address as [`inet_addr`] reads it, else an IPv6 one.
pub fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    inet_addr(text).map(IpAddr::V4).or_else(|| inet6_addr(text).map(IpAddr::V6))
}

/// A network as `ngx_ptocidr` leaves it in `ngx_cidr_t`: the address with the bits past the
/// prefix cleared, and the prefix length (32 or 128 for an address alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network's address, its bits past the prefix cleared.
    pub network: IpAddr,
    /// The prefix length: 0 to 32 for IPv4, 0 to 128 for IPv6.
    pub prefix: u8,
}

impl Cidr {
    /// Whether `addr` is in the network: the same family and the same leading `prefix` bits,
    /// as `ngx_cidr_match` compares one entry. An IPv4-mapped IPv6 address is IPv6 here:
    /// nginx's callers (`ngx_cidr_match`, the access handler) map it to IPv4 first.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr) {
            (IpAddr::V4(network), IpAddr::V4(addr)) => {
                u32::from(addr) & v4_mask(self.prefix) == u32::from(network)
            }
            (IpAddr::V6(network), IpAddr::V6(addr)) => {
                u128::from(addr) & v6_mask(self.prefix) == u128::from(network)
            }
            _ => false,
        }
    }
}

impl From<IpAddr> for Cidr {
    /// An address alone: a /32 or /128 network, as `ngx_ptocidr` reads one without `/BITS`.
    fn from(addr: IpAddr) -> Cidr {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Cidr { network: addr, prefix }
    }
}

/// The IPv4 netmask of a prefix length (0 is no bits, as nginx special-cases the shift).
fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// The IPv6 netmask of a prefix length.
fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// `ngx_ptocidr`: `ADDR[/BITS]` for `allow`, `deny`, `set_real_ip_from`, `geo` networks and
/// `debug_connection`. The address is read as [`parse_addr`] reads it (`127..0.1/8` is
/// 127.0.0.0/8; `255.255.255.255` is no address), the bits by `ngx_atoi` (`/08` is 8; `/`,
/// `/+8` are errors), at most 32 or 128. Returns the network and whether the address had
/// bits set past the prefix, which nginx clears and returns `NGX_DONE` for: its callers warn
/// `low address bits of TEXT are meaningless`. `None` where nginx returns `NGX_ERROR`.
pub fn ptocidr(text: &[u8]) -> Option<(Cidr, bool)> {
    let (addr, bits) = match text.iter().position(|&b| b == b'/') {
        Some(slash) => (&text[..slash], Some(&text[slash + 1..])),
        None => (text, None),
    };
    let addr = parse_addr(addr)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let Some(bits) = bits else { return Some((addr.into(), false)) };
    let prefix = parse_int(bits).filter(|&n| n <= max)? as u8;
    let network = match addr {
        IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & v4_mask(prefix)).into()),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & v6_mask(prefix)).into()),
    };
    Some((Cidr { network, prefix }, network != addr))
}

/// `ngx_parse_addr_port`: an address (port 0), or `ADDR:PORT` / `[V6]:PORT` with a port from
/// 1 to 65535. Host names are not resolved.
pub fn parse_addr_port(text: &[u8]) -> Option<SocketAddr> {
    if let Some(ip) = parse_addr(text) {
        return Some(SocketAddr::new(ip, 0));
    }
    let (host, port) = match text.strip_prefix(b"[") {
        Some(rest) => {
            let close = rest.iter().position(|&b| b == b']')?;
            (&rest[..close], rest[close + 1..].strip_prefix(b":")?)
        }
        None => {
            let colon = text.iter().position(|&b| b == b':')?;
            (&text[..colon], &text[colon + 1..])
        }
    };
    let port = parse_int(port).filter(|p| (1..=65535).contains(p))?;
    Some(SocketAddr::new(parse_addr(host)?, port as u16))
}

/// What the caller of `ngx_parse_url` asks for (the flags it sets in nginx's `ngx_url_t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlOptions {
    /// `listen`: a number alone is a port, `*` is every address, a port may be a range
    /// (`9000-9010`).
    pub listen: bool,
    /// The port when none is given (`default_port`): 53 for `resolver`, 80 for http's
    /// `listen`, else 0.
    pub default_port: u16,
}

/// Where an address parsed by [`parse_url`] points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlTarget {
    /// `unix:PATH` (the prefix in any letter case).
    Unix,
    /// An address literal (IPv4 as [`inet_addr`] reads it, `[IPv6]`), or the wildcard of a
    /// listen address given as `*` or as a port alone.
    Addr(IpAddr),
    /// A host name: nginx resolves it (getaddrinfo), unless asked not to.
    Name,
}

/// An address as `ngx_parse_url` leaves it in `ngx_url_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url<'a> {
    /// `host`: as written, with the brackets of an IPv6 address; a unix socket's path; empty
    /// for a listen port alone.
    pub host: &'a [u8],
    /// What the host is.
    pub target: UrlTarget,
    /// The port, or the default port when none was given.
    pub port: u16,
    /// The last port of a listen range (`last_port`), 0 without a range.
    pub last_port: u16,
    /// No port was given (`no_port`).
    pub no_port: bool,
}

/// Why `ngx_parse_url` refused an address: its `u->err` text ([`UrlError::text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// `no path in the unix domain socket`.
    NoUnixPath,
    /// `too long path in the unix domain socket`: the path and its NUL pass 108 bytes.
    TooLongUnixPath,
    /// `invalid host`: a `/` or `?` in the address, an unclosed `[`, junk after `]`.
    InvalidHost,
    /// `invalid port`: not a number from 1 to 65535.
    InvalidPort,
    /// `invalid port range`: a listen range whose first port is above its last.
    InvalidPortRange,
    /// `no host`: nothing before the `:`, or `[]`.
    NoHost,
    /// `invalid IPv6 address`: the text in brackets is not one.
    InvalidIpv6,
}

impl UrlError {
    /// nginx's text, which callers put before ` in upstream "URL"` and the like.
    pub fn text(self) -> &'static str {
        match self {
            UrlError::NoUnixPath => "no path in the unix domain socket",
            UrlError::TooLongUnixPath => "too long path in the unix domain socket",
            UrlError::InvalidHost => "invalid host",
            UrlError::InvalidPort => "invalid port",
            UrlError::InvalidPortRange => "invalid port range",
            UrlError::NoHost => "no host",
            UrlError::InvalidIpv6 => "invalid IPv6 address",
        }
    }
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// The longest path of a unix socket address, without its NUL (`sun_path` is 108 bytes).
const MAX_UNIX_PATH: usize = 107;

/// `ngx_parse_url` for the addresses nginx's stream, http and mail modules read (`listen`,
/// `proxy_pass`, `server`, `resolver`): `unix:PATH`, `[IPv6][:PORT]`, `HOST[:PORT]`, and
/// for `listen` also `PORT`, `*:PORT` and port ranges. Host names are not resolved here: a
/// caller that resolves (as nginx does without `no_resolve`) does it for
/// [`UrlTarget::Name`]. No URI part is accepted (nginx's `uri_part` is http's only).
pub fn parse_url(text: &[u8], options: UrlOptions) -> Result<Url<'_>, UrlError> {
    if text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"unix:") {
        let path = &text[5..];
        if path.is_empty() {
            return Err(UrlError::NoUnixPath);
        }
        if path.len() > MAX_UNIX_PATH {
            return Err(UrlError::TooLongUnixPath);
        }
        let target = UrlTarget::Unix;
        return Ok(Url { host: path, target, port: 0, last_port: 0, no_port: false });
    }
    if text.first() == Some(&b'[') {
        return parse_inet6_url(text, options);
    }
    parse_inet_url(text, options)
}

/// `ngx_atoi` of a port: 1 to 65535.
fn url_port(text: &[u8]) -> Result<u16, UrlError> {
    parse_int(text)
        .filter(|n| (1..=65535).contains(n))
        .map(|n| n as u16)
        .ok_or(UrlError::InvalidPort)
}

/// The port text after a `:` (`PORT`, or `PORT-LAST` for `listen`): the port and last port.
fn url_port_range(text: &[u8], listen: bool) -> Result<(u16, u16), UrlError> {
    let dash = text.iter().position(|&b| b == b'-').filter(|_| listen);
    let (first, last) = match dash {
        Some(at) => (&text[..at], url_port(&text[at + 1..])?),
        None => (text, 0),
    };
    let port = url_port(first)?;
    if last != 0 && port > last {
        return Err(UrlError::InvalidPortRange);
    }
    Ok((port, last))
}

/// `ngx_parse_inet_url`: `HOST[:PORT]`, and for `listen` a port (range) alone.
fn parse_inet_url(text: &[u8], options: UrlOptions) -> Result<Url<'_>, UrlError> {
    let find = |ch: u8| text.iter().position(|&b| b == ch);

    // Step: a URI (`/` or `?`) is never allowed here.
    if find(b'/').is_some() || find(b'?').is_some() {
        return Err(UrlError::InvalidHost);
    }

    // Step: the port after the first `:`; for `listen`, a number alone is the port.
    let (host, port, last_port, no_port) = match find(b':') {
        Some(colon) => {
            let (port, last) = url_port_range(&text[colon + 1..], options.listen)?;
            (&text[..colon], port, last, false)
        }
        None => {
            if options.listen {
                if let Some((port, last)) = listen_port_only(text)? {
                    let target = UrlTarget::Addr(Ipv4Addr::UNSPECIFIED.into());
                    return Ok(Url { host: b"", target, port, last_port: last, no_port: false });
                }
            }
            (text, options.default_port, 0, true)
        }
    };

    // Step: the host: `*` for listen, an IPv4 literal, else a name.
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let target = if options.listen && host == b"*" {
        UrlTarget::Addr(Ipv4Addr::UNSPECIFIED.into())
    } else {
        inet_addr(host).map_or(UrlTarget::Name, |ip| UrlTarget::Addr(ip.into()))
    };
    Ok(Url { host, target, port, last_port, no_port })
}

/// A listen address without `:`, tried as a port (range) alone: `Ok(None)` when it is no
/// number (then it is a host), as `ngx_parse_inet_url` tests it.
fn listen_port_only(text: &[u8]) -> Result<Option<(u16, u16)>, UrlError> {
    let (first, last) = match text.iter().position(|&b| b == b'-') {
        Some(at) => {
            let Some(last) = parse_int(&text[at + 1..]) else { return Ok(None) };
            (&text[..at], Some(last))
        }
        None => (text, None),
    };
    let Some(port) = parse_int(first) else { return Ok(None) };

    // A bad last port is reported only once the first one is a number.
    let last = match last {
        Some(last) if !(1..=65535).contains(&last) => return Err(UrlError::InvalidPort),
        Some(last) => last as u16,
        None => 0,
    };
    if !(1..=65535).contains(&port) {
        return Err(UrlError::InvalidPort);
    }
    if last != 0 && port as u16 > last {
        return Err(UrlError::InvalidPortRange);
    }
    Ok(Some((port as u16, last)))
}

/// `ngx_parse_inet6_url`: `[IPv6]` with an optional `:PORT` (a range for `listen`).
fn parse_inet6_url(text: &[u8], options: UrlOptions) -> Result<Url<'_>, UrlError> {
    let close = text.iter().position(|&b| b == b']').ok_or(UrlError::InvalidHost)?;
    let rest = &text[close + 1..];
    if rest.contains(&b'/') {
        return Err(UrlError::InvalidHost);
    }
    let (port, last_port, no_port) = match rest.split_first() {
        None => (options.default_port, 0, true),
        Some((b':', port)) => {
            let (port, last) = url_port_range(port, options.listen)?;
            (port, last, false)
        }
        Some(_) => return Err(UrlError::InvalidHost),
    };
    if close == 1 {
        return Err(UrlError::NoHost);
    }
    let ip = inet6_addr(&text[1..close]).ok_or(UrlError::InvalidIpv6)?;
    let target = UrlTarget::Addr(ip.into());
    Ok(Url { host: &text[..=close], target, port, last_port, no_port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_follows_ngx_atoi() {
        assert_eq!(parse_int(b"0012"), Some(12));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        for bad in [&b""[..], b"-1", b"+1", b"1k", b" 1", b"1.5"] {
            assert_eq!(parse_int(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn size_and_offset_units() {
        assert_eq!(parse_size(b"16k"), Some(16 * 1024));
        assert_eq!(parse_size(b"1M"), Some(1 << 20));
        assert_eq!(parse_size(b"1g"), None);
        assert_eq!(parse_offset(b"2G"), Some(2 << 30));
        assert_eq!(parse_size(b"k"), None);
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"10"), Some(10));
    }

    #[test]
    fn time_parts_in_order() {
        let s = |v: &[u8]| parse_time(v, TimeUnit::Seconds);
        let ms = |v: &[u8]| parse_time(v, TimeUnit::Milliseconds);
        assert_eq!(s(b"30"), Some(30));
        assert_eq!(s(b"1m30s"), Some(90));
        assert_eq!(s(b"1h 30m"), Some(5400));
        assert_eq!(s(b"1y"), Some(31_536_000));
        assert_eq!(s(b"1M"), Some(2_592_000));
        assert_eq!(s(b"500ms"), None);
        assert_eq!(s(b"30s1m"), None);
        assert_eq!(s(b"1x"), None);
        assert_eq!(s(b""), None);
        assert_eq!(ms(b"500ms"), Some(500));
        assert_eq!(ms(b"1s 500ms"), Some(1500));
        assert_eq!(ms(b"10"), Some(10_000));
        assert_eq!(ms(b"1y"), None);
        assert_eq!(ms(b"2m"), Some(120_000));
    }

    #[test]
    fn flag_any_case() {
        assert_eq!(parse_flag(b"ON"), Some(true));
        assert_eq!(parse_flag(b"Off"), Some(false));
        assert_eq!(parse_flag(b"yes"), None);
    }

    #[test]
    fn inet_addr_is_nginx_lenient() {
        let v4 = |t: &[u8]| inet_addr(t).map(u32::from);
        assert_eq!(v4(b"1..2.3"), Some(0x0100_0203));
        assert_eq!(v4(b"1.2.3."), Some(0x0102_0300));
        assert_eq!(v4(b"01.002.3.4"), Some(0x0102_0304));
        for bad in [&b"1.2.3"[..], b"1.2.3.256", b"255.255.255.255", b"1.2.3.4 "] {
            assert_eq!(v4(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn inet6_addr_is_ngx_inet6_addr() {
        let v6 = |t: &str| inet6_addr(t.as_bytes()).map(|a| inet6_ntop(&a));
        assert_eq!(v6(":1::"), Some("1::".into()));
        assert_eq!(v6("::0.0.0.1"), Some("::1".into()));
        assert_eq!(v6("::1:2:3:4:5:6:7"), Some("0:1:2:3:4:5:6:7".into()));
        assert_eq!(v6("1:2:3:4:5:6:1.2.3.4"), Some("1:2:3:4:5:6:102:304".into()));
        assert_eq!(v6("::FFFF:1.2.3.4"), Some("::ffff:1.2.3.4".into()));
        assert_eq!(v6("::1.2.3.4"), Some("::1.2.3.4".into()));
        assert_eq!(v6("1:0:0:1:0:0:0:1"), Some("1:0:0:1::1".into()));
        assert_eq!(v6("0:0:1::"), Some("0:0:1::".into()));
        for bad in [
            "1:2:3:4:5:6:7::",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "12345::",
            "::1.2.3",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4",
            ":",
            ":::",
            "fe80::1%eth0",
            "",
        ] {
            assert_eq!(v6(bad), None, "{bad}");
        }
    }

    #[test]
    fn addresses_print_as_ngx_sock_ntop() {
        let sock = |t: &str| sock_ntop(&t.parse().unwrap());
        assert_eq!(sock("127.0.0.1:80"), "127.0.0.1:80");
        assert_eq!(sock("[::1]:80"), "[::1]:80");
        assert_eq!(sock("[::102]:80"), "[::0.0.1.2]:80");
        assert_eq!(sock("[fe80::1%2]:80"), "[fe80::1]:80");
        let ip = |t: &str| inet_ntop(&t.parse().unwrap());
        assert_eq!(ip("127.0.0.1"), "127.0.0.1");
        assert_eq!(ip("::102"), "::0.0.1.2");
        assert_eq!(ip("::ffff:127.0.0.1"), "::ffff:127.0.0.1");
    }

    #[test]
    fn cidr_as_ngx_ptocidr() {
        // (text, network, prefix, low bits set), each as nginx 1.22.1 reads it.
        let cidr =
            |t: &str| ptocidr(t.as_bytes()).map(|(c, low)| (inet_ntop(&c.network), c.prefix, low));
        for (text, network, prefix, low) in [
            ("10.0.0.0/8", "10.0.0.0", 8, false),
            ("10.1.1.1/8", "10.0.0.0", 8, true),
            ("127..0.1/8", "127.0.0.0", 8, true),
            ("127..0.1", "127.0.0.1", 32, false),
            ("01.2.3.4", "1.2.3.4", 32, false),
            ("1.2.3.4/08", "1.0.0.0", 8, true),
            ("1.2.3.4/0", "0.0.0.0", 0, true),
            ("0.0.0.0/0", "0.0.0.0", 0, false),
            ("::1", "::1", 128, false),
            ("::1/64", "::", 64, true),
            (":1::/16", "1::", 16, false),
            ("::ffff:1.2.3.4/104", "::ffff:1.0.0.0", 104, true),
            ("2001:db8::/32", "2001:db8::", 32, false),
        ] {
            assert_eq!(cidr(text), Some((network.into(), prefix, low)), "{text}");
        }
        for bad in [
            "255.255.255.255",
            "255.255.255.255/32",
            "1.2.3.4/33",
            "::1/129",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "1.2.3.4/8/8",
            "1.2.3.4/99999999999999999999",
            "1.2.3",
            "[::1]",
            "all",
            "unix:",
            "localhost",
            "",
            "/8",
        ] {
            assert_eq!(cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn cidr_contains_its_family_only() {
        let net = |t: &str| ptocidr(t.as_bytes()).unwrap().0;
        let ip = |t: &str| t.parse::<IpAddr>().unwrap();
        assert!(net("127.0.0.0/8").contains(ip("127.9.9.9")));
        assert!(!net("127.0.0.0/8").contains(ip("128.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
        assert!(!net("0.0.0.0/0").contains(ip("::ffff:1.2.3.4")));
        assert!(net("::/0").contains(ip("::ffff:1.2.3.4")));
        assert!(net("fe80::/10").contains(ip("febf::1")));
        assert!(!net("fe80::/10").contains(ip("fec0::1")));
        assert!(net("192.0.2.1").contains(ip("192.0.2.1")));
        assert!(!net("192.0.2.1").contains(ip("192.0.2.2")));
    }

    #[test]
    fn url_as_ngx_parse_url() {
        let listen = UrlOptions { listen: true, default_port: 0 };
        let plain = UrlOptions::default();
        let parse = |t: &str, o: UrlOptions| {
            parse_url(t.as_bytes(), o).map(|u| {
                let host = String::from_utf8_lossy(u.host).into_owned();
                (host, u.target, u.port, u.last_port, u.no_port)
            })
        };
        let any = UrlTarget::Addr(Ipv4Addr::UNSPECIFIED.into());
        let local = UrlTarget::Addr(Ipv4Addr::LOCALHOST.into());

        // Step: listen addresses: a port alone, ranges, `*`, lenient IPv4, unix in any case.
        assert_eq!(parse("90-100", listen), Ok(("".into(), any.clone(), 90, 100, false)));
        assert_eq!(parse("*:90-92", listen), Ok(("*".into(), any.clone(), 90, 92, false)));
        assert_eq!(parse("127..0.1:9", listen), Ok(("127..0.1".into(), local, 9, 0, false)));
        assert_eq!(parse("90-", listen), Ok(("90-".into(), UrlTarget::Name, 0, 0, true)));
        assert_eq!(parse("-100", listen), Ok(("-100".into(), UrlTarget::Name, 0, 0, true)));
        assert_eq!(parse("UNIX:/s", plain).map(|u| u.1), Ok(UrlTarget::Unix));
        assert_eq!(parse("[::1]", listen).map(|u| (u.0, u.4)), Ok(("[::1]".into(), true)));
        assert_eq!(parse("localhost", plain).map(|u| (u.1, u.4)), Ok((UrlTarget::Name, true)));
        let resolver = UrlOptions { listen: false, default_port: 53 };
        assert_eq!(parse("10.0.0.1", resolver).map(|u| u.2), Ok(53));

        // Step: nginx's faults, in its order.
        for (text, options, err) in [
            ("100-90", listen, UrlError::InvalidPortRange),
            ("[::1]:95-90", listen, UrlError::InvalidPortRange),
            ("0-5", listen, UrlError::InvalidPort),
            ("1-65536", listen, UrlError::InvalidPort),
            ("127.0.0.1:90-", listen, UrlError::InvalidPort),
            ("127.0.0.1:1-5", plain, UrlError::InvalidPort),
            ("::1:9000", listen, UrlError::InvalidPort),
            ("127./0.0.1:1", plain, UrlError::InvalidHost),
            ("127.0.0.1:9000?x", listen, UrlError::InvalidHost),
            ("[::1", plain, UrlError::InvalidHost),
            ("[::1]x", plain, UrlError::InvalidHost),
            ("[::1]:5/x", plain, UrlError::InvalidHost),
            (":80", plain, UrlError::NoHost),
            ("[]:5", plain, UrlError::NoHost),
            ("", plain, UrlError::NoHost),
            ("[zz]:5", plain, UrlError::InvalidIpv6),
            ("unix:", plain, UrlError::NoUnixPath),
        ] {
            assert_eq!(parse(text, options), Err(err), "{text}");
        }
        let long = format!("unix:/{}", "a".repeat(106));
        assert!(parse(&long, plain).is_ok());
        assert_eq!(parse(&format!("{long}a"), plain), Err(UrlError::TooLongUnixPath));
    }

    #[test]
    fn addr_port_as_ngx_parse_addr_port() {
        let parse = |t: &str| parse_addr_port(t.as_bytes()).map(|a| a.to_string());
        assert_eq!(parse("127.0.0.2"), Some("127.0.0.2:0".into()));
        assert_eq!(parse("127.0.0.2:8080"), Some("127.0.0.2:8080".into()));
        assert_eq!(parse("::1"), Some("[::1]:0".into()));
        assert_eq!(parse("[::1]:5"), Some("[::1]:5".into()));
        for bad in ["[::1]", "[::1]:", "127.0.0.1:0", "127.0.0.1:65536", "localhost", "a:1"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
