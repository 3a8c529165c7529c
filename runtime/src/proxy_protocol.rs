//! The PROXY protocol: reading the v1 and v2 header on `listen ... proxy_protocol` sockets
//! before the phases (as nginx 1.22 does, with its log lines and statuses), the
//! `$proxy_protocol_*` addresses, and writing the v1 header to an upstream (`proxy_protocol
//! on`). Parsing and writing are pure functions over bytes.

use crate::log::Level;
use crate::session::{status, ClientAddr, Session};
use crate::stream::Stream;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use strait_parser::values::inet_ntop;
use tokio::io::Interest;

/// The most bytes nginx 1.22 peeks for a header (`NGX_PROXY_PROTOCOL_MAX_HEADER`): a longer
/// v2 header is `header is too large`, a longer v1 line is broken.
pub const MAX_HEADER: usize = 107;

/// The v2 signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The fixed part of a v2 header: signature, version and command, family and transport,
/// length.
const V2_HEADER_LEN: usize = 16;

/// The addresses a PROXY header carried (`$proxy_protocol_addr` and the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAddrs {
    /// The source address as text: as sent for v1, formatted for v2.
    pub src_addr: String,
    /// The source port.
    pub src_port: u16,
    /// The destination address as text.
    pub dst_addr: String,
    /// The destination port.
    pub dst_port: u16,
}

/// A header read from the start of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// How many bytes the header takes (consumed before the session goes on).
    pub len: usize,
    /// The addresses; `None` for `PROXY UNKNOWN` and v2 headers nginx does not take
    /// addresses from (LOCAL command, non-stream transport, unspecified family).
    pub addrs: Option<ProxyAddrs>,
}

/// Why a header was refused; the `Display` text is nginx's error line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A v1 header that does not parse: nginx 1.22 shows every byte it peeked, line breaks
    /// included.
    #[error("broken header: \"{}\"", String::from_utf8_lossy(.0))]
    Broken(Vec<u8>),
    /// A v2 signature with another version in the high nibble.
    #[error("unknown PROXY protocol version: {0}")]
    UnknownVersion(u8),
    /// A v2 header longer than the bytes at hand.
    #[error("header is too large")]
    TooLarge,
    /// A v2 address block shorter than its family needs (nginx logs nothing).
    #[error("")]
    ShortAddresses,
}

impl HeaderError {
    /// Whether nginx writes an error line for this fault.
    pub fn logged(&self) -> bool {
        !matches!(self, HeaderError::ShortAddresses)
    }
}

/// Parses a PROXY header (v1 or v2) at the start of `buf`, the bytes peeked so far.
pub fn parse(buf: &[u8]) -> Result<Header, HeaderError> {
    if buf.len() >= V2_HEADER_LEN && buf.starts_with(V2_SIGNATURE) {
        return parse_v2(buf);
    }
    parse_v1(buf).ok_or_else(|| HeaderError::Broken(buf.to_vec()))
}

/// `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n` or `PROXY UNKNOWN ...\r\n`.
fn parse_v1(buf: &[u8]) -> Option<Header> {
    if buf.len() < 8 || !buf.starts_with(b"PROXY ") {
        return None;
    }
    let rest = &buf[6..];

    // UNKNOWN: skip to the end of the line, no addresses.
    if rest.starts_with(b"UNKNOWN") {
        let from = 6 + 7;
        let end = buf[from..].windows(2).position(|w| w == b"\r\n")?;
        return Some(Header { len: from + end + 2, addrs: None });
    }

    // TCP4 or TCP6, then a space.
    if rest.len() < 5 || !rest.starts_with(b"TCP") || !matches!(rest[3], b'4' | b'6') {
        return None;
    }
    if rest[4] != b' ' {
        return None;
    }
    let mut at = 6 + 5;

    // Two addresses of hex digits, dots and colons, each ended by a space.
    let mut address = || -> Option<String> {
        let start = at;
        loop {
            let c = *buf.get(at)?;
            at += 1;
            if c == b' ' {
                return Some(String::from_utf8_lossy(&buf[start..at - 1]).into_owned());
            }
            if !(c == b':' || c == b'.' || c.is_ascii_hexdigit()) {
                return None;
            }
        }
    };
    let src_addr = address()?;
    let dst_addr = address()?;

    // Two ports: the first ended by a space, the second by CR, then LF.
    let mut port = |sep: u8| -> Option<u16> {
        let start = at;
        loop {
            let c = *buf.get(at)?;
            at += 1;
            if c == sep {
                break;
            }
        }
        let digits = &buf[start..at - 1];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits
            .iter()
            .try_fold(0u32, |n, &d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')));
        u16::try_from(n?).ok()
    };
    let src_port = port(b' ')?;
    let dst_port = port(b'\r')?;
    if *buf.get(at)? != b'\n' {
        return None;
    }
    Some(Header { len: at + 1, addrs: Some(ProxyAddrs { src_addr, src_port, dst_addr, dst_port }) })
}

/// The binary v2 header.
fn parse_v2(buf: &[u8]) -> Result<Header, HeaderError> {
    // Version 2 only.
    let version = buf[12] >> 4;
    if version != 2 {
        return Err(HeaderError::UnknownVersion(version));
    }

    // The announced length must be at hand.
    let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let body = &buf[V2_HEADER_LEN..];
    if body.len() < len {
        return Err(HeaderError::TooLarge);
    }
    let body = &body[..len];
    let header = |addrs| Header { len: V2_HEADER_LEN + len, addrs };

    // Only the PROXY command over a stream transport carries addresses nginx uses.
    let command = buf[12] & 0x0f;
    let transport = buf[13] & 0x0f;
    if command != 1 || transport != 1 {
        return Ok(header(None));
    }

    // The address block by family; TLVs after it are skipped (nginx 1.22 keeps none).
    let (src, dst, ports) = match buf[13] >> 4 {
        1 => {
            if body.len() < 12 {
                return Err(HeaderError::ShortAddresses);
            }
            let ip = |b: &[u8]| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]));
            (ip(&body[0..4]), ip(&body[4..8]), &body[8..12])
        }
        2 => {
            if body.len() < 36 {
                return Err(HeaderError::ShortAddresses);
            }
            let ip =
                |b: &[u8]| IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).expect("16 bytes")));
            (ip(&body[0..16]), ip(&body[16..32]), &body[32..36])
        }
        _ => return Ok(header(None)),
    };
    Ok(header(Some(ProxyAddrs {
        src_addr: inet_ntop(&src),
        src_port: u16::from_be_bytes([ports[0], ports[1]]),
        dst_addr: inet_ntop(&dst),
        dst_port: u16::from_be_bytes([ports[2], ports[3]]),
    })))
}

/// The v1 header nginx 1.22 sends upstream (`ngx_proxy_protocol_write`): the client and the
/// local address the client reached; `PROXY UNKNOWN` for clients without an IP address.
pub fn write_v1(client: &ClientAddr, local: Option<SocketAddr>) -> Vec<u8> {
    let (ClientAddr::Inet(client), Some(local)) = (client, local) else {
        return b"PROXY UNKNOWN\r\n".to_vec();
    };
    let family = if client.is_ipv4() { "TCP4" } else { "TCP6" };
    let (client_ip, local_ip) = (inet_ntop(&client.ip()), inet_ntop(&local.ip()));
    format!("PROXY {family} {client_ip} {local_ip} {} {}\r\n", client.port(), local.port())
        .into_bytes()
}

/// Whether the session arrived on a `listen ... proxy_protocol` address.
pub fn enabled(s: &Session) -> bool {
    s.server.listens.iter().any(|l| l.proxy_protocol && *l.addr.to_string() == *s.addr_text)
}

/// Reads the header before the phases (`ngx_stream_proxy_protocol_handler`): waits up to
/// `proxy_protocol_timeout` for data, peeks at most [`MAX_HEADER`] bytes, parses them and
/// consumes the header. Returns the status to end the session with on failure.
pub async fn read(s: &mut Session, stream: &mut Stream) -> Result<(), u16> {
    s.action = "reading PROXY protocol";

    // Wait for the first bytes, bounded by proxy_protocol_timeout.
    let mut buf = [0u8; MAX_HEADER];
    let timeout = s.server.proxy_protocol_timeout;
    let n = match tokio::time::timeout(timeout, peek(stream, &mut buf)).await {
        Err(_) => {
            let err = io::Error::from_raw_os_error(libc::ETIMEDOUT);
            s.log(Level::Info, Some(&err), "client timed out");
            return Err(status::OK);
        }
        Ok(Err(err)) => {
            s.log(Level::Error, Some(&err), "recv() failed");
            return Err(status::OK);
        }
        Ok(Ok(n)) => n,
    };

    // Parse; a refused header ends the session with 400.
    let header = match parse(&buf[..n]) {
        Ok(header) => header,
        Err(err) => {
            if err.logged() {
                s.log(Level::Error, None, &err.to_string());
            }
            return Err(status::BAD_REQUEST);
        }
    };

    // Consume the header bytes; what follows belongs to the session.
    let mut consumed = vec![0u8; header.len];
    if tokio::io::AsyncReadExt::read_exact(stream, &mut consumed).await.is_err() {
        return Err(status::INTERNAL_SERVER_ERROR);
    }
    s.proxy_protocol = header.addrs.map(Box::new);
    Ok(())
}

/// Peeks at the bytes waiting on the connection without consuming them (`MSG_PEEK`).
async fn peek(stream: &mut Stream, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsFd;
    match stream {
        Stream::Tcp(tcp) => tcp.peek(buf).await,
        Stream::Unix(unix) => loop {
            unix.readable().await?;
            match unix.try_io(Interest::READABLE, || crate::sys::peek(unix.as_fd(), buf)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return result,
            }
        },
        // The PROXY header comes before TLS: a TLS stream never reaches here.
        Stream::Tls(_) => Ok(0),
    }
}

impl Session {
    /// `$proxy_protocol_addr` and the others: not found without a header with addresses;
    /// a port of 0 is empty, as nginx prints only ports 1-65535.
    pub fn proxy_protocol_variable(&self, part: ProxyPart) -> Option<Vec<u8>> {
        let pp = self.proxy_protocol.as_ref()?;
        let port = |p: u16| if p == 0 { Vec::new() } else { p.to_string().into_bytes() };
        Some(match part {
            ProxyPart::Addr => pp.src_addr.clone().into_bytes(),
            ProxyPart::Port => port(pp.src_port),
            ProxyPart::ServerAddr => pp.dst_addr.clone().into_bytes(),
            ProxyPart::ServerPort => port(pp.dst_port),
        })
    }
}

/// Which `$proxy_protocol_*` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyPart {
    /// `$proxy_protocol_addr`
    Addr,
    /// `$proxy_protocol_port`
    Port,
    /// `$proxy_protocol_server_addr`
    ServerAddr,
    /// `$proxy_protocol_server_port`
    ServerPort,
}

/// Sends the v1 header to a connected upstream (`proxy_protocol on`), counted in the bytes
/// sent to it as nginx counts them.
pub async fn send(s: &mut Session, upstream: &mut Stream) -> io::Result<()> {
    let header = write_v1(&s.client, s.local);
    tokio::io::AsyncWriteExt::write_all(upstream, &header).await?;
    if let Some(u) = s.upstream.as_mut() {
        u.sent += header.len() as u64;
        if let Some(state) = u.states.last_mut() {
            state.bytes_sent += header.len() as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(src: &str, sp: u16, dst: &str, dp: u16) -> Option<ProxyAddrs> {
        Some(ProxyAddrs {
            src_addr: src.to_string(),
            src_port: sp,
            dst_addr: dst.to_string(),
            dst_port: dp,
        })
    }

    #[test]
    fn v1_lines_parse_with_their_length() {
        let line = b"PROXY TCP4 192.0.2.1 192.0.2.2 1234 80\r\nrest";
        let h = parse(line).unwrap();
        assert_eq!(h.len, line.len() - 4);
        assert_eq!(h.addrs, addrs("192.0.2.1", 1234, "192.0.2.2", 80));
        let h = parse(b"PROXY TCP6 2001:db8::1 ::1 65535 0\r\n").unwrap();
        assert_eq!(h.addrs, addrs("2001:db8::1", 65535, "::1", 0));
        let h = parse(b"PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n").unwrap();
        assert_eq!(h.addrs, addrs("1.2.3.4", 1, "5.6.7.8", 2));
        let h = parse(b"PROXY UNKNOWN whatever\r\nx").unwrap();
        assert_eq!((h.len, h.addrs), (24, None));
    }

    #[test]
    fn broken_v1_lines_show_what_was_peeked() {
        let cases: [(&[u8], &str); 7] = [
            (b"GET / HTTP/1.0\r\nx", "broken header: \"GET / HTTP/1.0\r\nx\""),
            (b"", "broken header: \"\""),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
                "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\"",
            ),
            (
                b"PROXY TCP5 1.2.3.4 5.6.7.8 1 2",
                "broken header: \"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\"",
            ),
            (
                b"PROXY TCP4 1.2.3.x 5.6.7.8 1 2",
                "broken header: \"PROXY TCP4 1.2.3.x 5.6.7.8 1 2\"",
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2",
                "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\"",
            ),
            (
                b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
                "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n\"",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(parse(input).unwrap_err().to_string(), message);
        }
    }

    fn v2(command: u8, family_transport: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(0x20 | command);
        out.push(family_transport);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn v2_headers_parse_inet_and_inet6_and_skip_tlvs() {
        let mut body = vec![192, 0, 2, 1, 127, 0, 0, 1, 0x04, 0xd2, 0, 80];
        body.extend_from_slice(&[0x01, 0, 2, b'h', b'2']);
        let mut input = v2(1, 0x11, &body);
        input.extend_from_slice(b"data");
        let h = parse(&input).unwrap();
        assert_eq!(h.len, 16 + body.len());
        assert_eq!(h.addrs, addrs("192.0.2.1", 1234, "127.0.0.1", 80));

        let mut body = vec![0u8; 36];
        body[15] = 1;
        body[16..28].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        body[28..32].copy_from_slice(&[10, 0, 0, 1]);
        body[32..36].copy_from_slice(&[0, 1, 0, 2]);
        let h = parse(&v2(1, 0x21, &body)).unwrap();
        assert_eq!(h.addrs, addrs("::1", 1, "::ffff:10.0.0.1", 2));

        // Addresses print as nginx prints them (ngx_sock_ntop): `::0.0.1.2`, not `::102`.
        body[14] = 1;
        body[15] = 2;
        let h = parse(&v2(1, 0x21, &body)).unwrap();
        assert_eq!(h.addrs, addrs("::0.0.1.2", 1, "::ffff:10.0.0.1", 2));
    }

    #[test]
    fn v2_local_and_other_transports_carry_no_addresses() {
        let h = parse(&v2(0, 0x00, b"")).unwrap();
        assert_eq!((h.len, h.addrs), (16, None));
        let h = parse(&v2(1, 0x12, &[0; 12])).unwrap();
        assert_eq!((h.len, h.addrs), (28, None));
    }

    #[test]
    fn v2_faults() {
        let mut input = v2(1, 0x11, &[0; 12]);
        input[12] = 0x31;
        assert_eq!(parse(&input).unwrap_err().to_string(), "unknown PROXY protocol version: 3");
        let input = v2(1, 0x11, &[0; 12]);
        assert_eq!(parse(&input[..20]).unwrap_err(), HeaderError::TooLarge);
        assert_eq!(parse(&v2(1, 0x11, &[0; 8])).unwrap_err(), HeaderError::ShortAddresses);
        assert!(!HeaderError::ShortAddresses.logged());
    }

    #[test]
    fn v1_header_written_for_the_client() {
        let client = ClientAddr::Inet("192.0.2.1:5000".parse().unwrap());
        let local = Some("127.0.0.1:8080".parse().unwrap());
        assert_eq!(write_v1(&client, local), b"PROXY TCP4 192.0.2.1 127.0.0.1 5000 8080\r\n");
        let client = ClientAddr::Inet("[::1]:5000".parse().unwrap());
        let local = Some("[::1]:81".parse().unwrap());
        assert_eq!(write_v1(&client, local), b"PROXY TCP6 ::1 ::1 5000 81\r\n");
        let client = ClientAddr::Inet("[::102]:5000".parse().unwrap());
        assert_eq!(write_v1(&client, local), b"PROXY TCP6 ::0.0.1.2 ::1 5000 81\r\n");
        assert_eq!(write_v1(&ClientAddr::Unix, None), b"PROXY UNKNOWN\r\n");
    }
}
