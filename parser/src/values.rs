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

/// `ngx_inet6_addr`: IPv6 text in standard notation, with an optional trailing dotted quad;
/// no brackets, no zone.
pub fn inet6_addr(text: &[u8]) -> Option<Ipv6Addr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `ngx_parse_addr`: an IPv4 address as [`inet_addr`] reads it, else an IPv6 one.
pub fn parse_addr(text: &[u8]) -> Option<IpAddr> {
    inet_addr(text).map(IpAddr::V4).or_else(|| inet6_addr(text).map(IpAddr::V6))
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
