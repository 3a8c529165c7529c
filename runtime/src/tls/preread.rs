//! `ssl_preread`: reads the TLS ClientHello from the bytes a client sent first, without
//! terminating TLS, giving `$ssl_preread_server_name`, `$ssl_preread_alpn_protocols` and
//! `$ssl_preread_protocol` with the acceptance rules of nginx's ssl_preread module.
//!
//! The parser is incremental over a growing buffer: each call looks at everything received so
//! far and says whether it needs more bytes, found the ClientHello, or the bytes are not TLS.
//! The buffer itself is never changed; the caller forwards it untouched.

/// What the bytes received so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preread {
    /// The ClientHello is not complete yet; read more (within `preread_buffer_size`).
    NeedMore,
    /// The ClientHello was read.
    Done(ClientHello),
    /// Not a TLS ClientHello: the preread variables stay empty and the session goes on.
    NotTls,
}

/// What nginx's ssl_preread takes from a ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The first host name of the server_name extension (empty without one).
    pub server_name: Vec<u8>,
    /// The ALPN protocols in client order, joined by commas.
    pub alpn_protocols: Vec<u8>,
    /// The version bytes: `client_version`, or 3.4 when supported_versions was sent, or the
    /// SSLv2 hello's version.
    pub version: [u8; 2],
}

impl ClientHello {
    /// `$ssl_preread_protocol`, in `SSL_get_version()`'s words; empty for an unknown version.
    pub fn protocol(&self) -> &'static str {
        match self.version {
            [0, 2] => "SSLv2",
            [3, 0] => "SSLv3",
            [3, 1] => "TLSv1",
            [3, 2] => "TLSv1.1",
            [3, 3] => "TLSv1.2",
            [3, 4] => "TLSv1.3",
            _ => "",
        }
    }
}

/// TLS record header length.
const RECORD_HEADER: usize = 5;
/// ContentType handshake.
const HANDSHAKE: u8 = 0x16;
/// HandshakeType client_hello.
const CLIENT_HELLO: u8 = 1;
/// Extension types nginx looks at.
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Parses what was received so far.
pub fn parse(buf: &[u8]) -> Preread {
    let mut handshake = Vec::new();
    let mut rest = buf;
    loop {
        match next_record(rest) {
            Record::SslV2(version) => {
                return Preread::Done(ClientHello { version, ..Default::default() })
            }
            Record::NotTls => return Preread::NotTls,
            Record::Incomplete => return Preread::NeedMore,
            Record::Handshake(body, after) => {
                handshake.extend_from_slice(body);
                rest = after;
            }
        }

        // Step: a ClientHello may span records; try with what is there.
        let mut hello = ClientHello::default();
        match read_client_hello(&handshake, &mut hello) {
            Err(Stop::Incomplete) => continue,
            Err(Stop::Invalid) => return Preread::NotTls,
            Ok(()) => return Preread::Done(hello),
        }
    }
}

/// What the complete records received so far give of a ClientHello that is not complete:
/// the fields read whole. nginx parses record by record into its variables, so a preread that
/// ends early (timeout, end of input, a full buffer) leaves them as far as they got.
pub fn parsed_so_far(buf: &[u8]) -> ClientHello {
    let mut handshake = Vec::new();
    let mut rest = buf;
    while let Record::Handshake(body, after) = next_record(rest) {
        handshake.extend_from_slice(body);
        rest = after;
    }
    let mut hello = ClientHello::default();
    let _ = read_client_hello(&handshake, &mut hello);
    hello
}

/// The next record of the bytes received.
enum Record<'a> {
    /// An SSLv2-compatible hello, which ends the preread at once with its version.
    SslV2([u8; 2]),
    /// Bytes that are not an SSLv3/TLS handshake record.
    NotTls,
    /// The record is not complete (or no header yet): only complete records are parsed.
    Incomplete,
    /// A complete handshake record's body, and the bytes after it.
    Handshake(&'a [u8], &'a [u8]),
}

fn next_record(rest: &[u8]) -> Record<'_> {
    if rest.len() < RECORD_HEADER {
        return Record::Incomplete;
    }
    if rest[0] & 0x80 != 0 && rest[2] == 1 && (rest[3] == 0 || rest[3] == 3) {
        return Record::SslV2([rest[3], rest[4]]);
    }
    if rest[0] != HANDSHAKE || rest[1] != 3 {
        return Record::NotTls;
    }
    let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
    match rest.get(RECORD_HEADER..RECORD_HEADER + len) {
        Some(body) => Record::Handshake(body, &rest[RECORD_HEADER + len..]),
        None => Record::Incomplete,
    }
}

/// Why the ClientHello parse stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// More handshake bytes are needed.
    Incomplete,
    /// The bytes break the grammar nginx expects.
    Invalid,
}

/// A cursor over handshake bytes bounded by the declared message length (`left`): asking for
/// more than `left` is invalid, more than received is incomplete.
struct Cursor<'a> {
    data: &'a [u8],
    left: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Stop> {
        if n > self.left {
            return Err(Stop::Invalid);
        }
        if n > self.data.len() {
            return Err(Stop::Incomplete);
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        self.left -= n;
        Ok(head)
    }

    fn u8(&mut self) -> Result<usize, Stop> {
        Ok(self.take(1)?[0] as usize)
    }

    fn u16(&mut self) -> Result<usize, Stop> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
    }
}

/// Reads a ClientHello message (header included) from the joined handshake bytes into
/// `hello`, field by field: what was read before a stop stays.
fn read_client_hello(handshake: &[u8], hello: &mut ClientHello) -> Result<(), Stop> {
    // Step: the handshake header: type client_hello and the message length.
    let mut header = Cursor { data: handshake, left: 4 };
    let head = header.take(4)?;
    if head[0] != CLIENT_HELLO {
        return Err(Stop::Invalid);
    }
    let length = (head[1] as usize) << 16 | (head[2] as usize) << 8 | head[3] as usize;
    let mut c = Cursor { data: header.data, left: length };

    // Step: the fixed part: version, random, session id, cipher suites, compression methods.
    let version = c.take(2)?;
    hello.version = [version[0], version[1]];
    c.take(32)?;
    let n = c.u8()?;
    c.take(n)?;
    let n = c.u16()?;
    c.take(n)?;
    let n = c.u8()?;
    c.take(n)?;
    if c.left == 0 {
        return Ok(());
    }
    // The extensions' total length is read and not used, as in nginx.
    c.take(2)?;

    // Step: the extensions nginx reads (the first server_name and ALPN, supported_versions).
    let mut sni_seen = false;
    let mut alpn_seen = false;
    while c.left != 0 {
        let kind = c.u16()? as u16;
        let len = c.u16()?;
        match kind {
            EXT_SERVER_NAME if !sni_seen => {
                sni_seen = true;
                let mut list = c.u16()?;
                let entry = c.take(3)?;
                if entry[0] != 0 {
                    return Err(Stop::Invalid);
                }
                let size = u16::from_be_bytes([entry[1], entry[2]]) as usize;
                if list < 3 + size {
                    return Err(Stop::Invalid);
                }
                list -= 3 + size;
                hello.server_name = c.take(size)?.to_vec();
                c.take(list)?;
            }
            EXT_ALPN if !alpn_seen => {
                alpn_seen = true;
                let mut list = c.u16()?;
                loop {
                    let size = c.u8()?;
                    if size == 0 || list < 1 + size {
                        return Err(Stop::Invalid);
                    }
                    list -= 1 + size;
                    hello.alpn_protocols.extend_from_slice(c.take(size)?);
                    if list == 0 {
                        break;
                    }
                    hello.alpn_protocols.push(b',');
                }
            }
            EXT_SUPPORTED_VERSIONS => {
                hello.version = [3, 4];
                let n = c.u8()?;
                c.take(n)?;
            }
            _ => {
                c.take(len)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record with the given extensions (type, data).
    fn hello(version: [u8; 2], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![version[0], version[1]];
        body.extend([7u8; 32]);
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        if !extensions.is_empty() {
            let mut ext = Vec::new();
            for (kind, data) in extensions {
                ext.extend(kind.to_be_bytes());
                ext.extend((data.len() as u16).to_be_bytes());
                ext.extend(data);
            }
            body.extend((ext.len() as u16).to_be_bytes());
            body.extend(ext);
        }
        let mut msg = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend(body);
        let mut record = vec![0x16, 3, 1, (msg.len() >> 8) as u8, msg.len() as u8];
        record.extend(msg);
        record
    }

    fn sni(name: &[u8]) -> (u16, Vec<u8>) {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend((name.len() as u16).to_be_bytes());
        d.extend(name);
        (0, d)
    }

    fn alpn(protos: &[&[u8]]) -> (u16, Vec<u8>) {
        let mut list = Vec::new();
        for p in protos {
            list.push(p.len() as u8);
            list.extend(*p);
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend(list);
        (16, d)
    }

    #[test]
    fn an_early_end_keeps_the_fields_of_complete_records() {
        let record = hello([3, 3], &[sni(b"a.test"), alpn(&[b"h2", b"http/1.1"])]);
        // Re-framed as one record cut inside the second ALPN protocol: a complete record.
        let body = &record[5..record.len() - 3];
        let mut first = vec![0x16, 3, 1];
        first.extend((body.len() as u16).to_be_bytes());
        first.extend(body);
        assert_eq!(parse(&first), Preread::NeedMore);
        let h = parsed_so_far(&first);
        assert_eq!((h.server_name.as_slice(), h.protocol()), (&b"a.test"[..], "TLSv1.2"));
        assert_eq!(h.alpn_protocols, b"h2,");
        // The same bytes in a record not yet whole give nothing.
        assert_eq!(parsed_so_far(&record[..record.len() - 3]), ClientHello::default());
    }

    #[test]
    fn server_name_alpn_and_protocol() {
        let record =
            hello([3, 3], &[sni(b"a.example.com"), (23, vec![]), alpn(&[b"h2", b"http/1.1"])]);
        let Preread::Done(h) = parse(&record) else { panic!() };
        assert_eq!(h.server_name, b"a.example.com");
        assert_eq!(h.alpn_protocols, b"h2,http/1.1");
        assert_eq!(h.protocol(), "TLSv1.2");
    }

    #[test]
    fn supported_versions_means_tls13() {
        let record = hello([3, 3], &[(43, vec![2, 3, 4])]);
        let Preread::Done(h) = parse(&record) else { panic!() };
        assert_eq!(h.protocol(), "TLSv1.3");
        assert!(h.server_name.is_empty());
    }

    #[test]
    fn every_prefix_needs_more_and_the_whole_is_done() {
        let record = hello([3, 1], &[sni(b"x.test")]);
        for cut in 0..record.len() {
            assert_eq!(parse(&record[..cut]), Preread::NeedMore, "cut at {cut}");
        }
        assert!(matches!(parse(&record), Preread::Done(_)));
    }

    #[test]
    fn client_hello_split_over_two_records() {
        let record = hello([3, 3], &[sni(b"split.test")]);
        let msg = &record[5..];
        let (a, b) = msg.split_at(20);
        let mut buf = vec![0x16, 3, 1, 0, a.len() as u8];
        buf.extend(a);
        assert_eq!(parse(&buf), Preread::NeedMore);
        buf.extend([0x16, 3, 1, (b.len() >> 8) as u8, b.len() as u8]);
        buf.extend(b);
        let Preread::Done(h) = parse(&buf) else { panic!() };
        assert_eq!(h.server_name, b"split.test");
    }

    #[test]
    fn not_tls() {
        assert_eq!(parse(b"GET / HTTP/1.0\r\n\r\n"), Preread::NotTls);
        assert_eq!(parse(&[0x16, 2, 0, 0, 0]), Preread::NotTls);
        // A handshake record that is not a ClientHello.
        assert_eq!(parse(&[0x16, 3, 1, 0, 4, 2, 0, 0, 0]), Preread::NotTls);
        // An SNI entry that is not a host name.
        let mut bad = sni(b"x");
        bad.1[2] = 1;
        assert_eq!(parse(&hello([3, 3], &[bad])), Preread::NotTls);
        // An empty ALPN protocol.
        assert_eq!(parse(&hello([3, 3], &[(16, vec![0, 1, 0])])), Preread::NotTls);
    }

    #[test]
    fn sslv2_hello() {
        let Preread::Done(h) = parse(&[0x80, 0x2e, 1, 3, 1, 0, 0]) else { panic!() };
        assert_eq!(h.protocol(), "TLSv1");
    }

    #[test]
    fn a_real_openssl_client_hello() {
        use openssl::ssl::{SslConnector, SslMethod};
        use std::io::Read;
        use std::os::unix::net::UnixStream;

        let (client, mut server) = UnixStream::pair().unwrap();
        let thread = std::thread::spawn(move || {
            let mut builder = SslConnector::builder(SslMethod::tls()).unwrap();
            builder.set_alpn_protos(b"\x02h2\x08http/1.1").unwrap();
            let connector = builder.build();
            let _ = connector.connect("upstream.test", client);
        });
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let hello = loop {
            let n = server.read(&mut chunk).unwrap();
            buf.extend(&chunk[..n]);
            match parse(&buf) {
                Preread::NeedMore => continue,
                Preread::Done(h) => break h,
                Preread::NotTls => panic!("not TLS"),
            }
        };
        drop(server);
        thread.join().unwrap();
        assert_eq!(hello.server_name, b"upstream.test");
        assert_eq!(hello.alpn_protocols, b"h2,http/1.1");
        assert_eq!(hello.protocol(), "TLSv1.3");
    }
}
