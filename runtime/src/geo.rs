//! `geo` blocks: CIDR networks (IPv4 and IPv6, longest prefix) or, with `ranges`, IPv4
//! address ranges, mapped to static values exactly as nginx's `ngx_stream_geo_module`.
//!
//! The source is the client address, or the value of the variable named in
//! `geo $src $var`, parsed as nginx's `ngx_parse_addr` does (dotted quads are nginx's
//! lenient `ngx_inet_addr`: `1..2.3` is `1.0.2.3`). An address that cannot be parsed, a
//! unix-socket client and `255.255.255.255` all look up `255.255.255.255`; IPv4-mapped IPv6
//! addresses look up their IPv4 address. Differences from nginx: `include` of a compiled
//! binary range base (`FILE.bin`) is not read (the parser includes the text file), and
//! `volatile` is accepted as in nginx 1.25+ (nginx 1.22 rejects it).

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use strait_parser::values::{inet_addr, parse_addr, ptocidr};

/// A fault in a `geo` block; messages are nginx's (the caller adds ` in FILE:LINE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    /// A line with other than two tokens (one-token lines: `ranges`, `volatile`).
    #[error("invalid number of the geo parameters")]
    ParameterCount,
    /// `ranges` after a network line.
    #[error("the \"ranges\" directive must be the first directive inside \"geo\" block")]
    RangesNotFirst,
    /// A network nginx's `ngx_ptocidr` rejects.
    #[error("invalid network \"{0}\"")]
    InvalidNetwork(String),
    /// A range that is not `A-B` with IPv4 addresses `A <= B` (255.255.255.255 excluded).
    #[error("invalid range \"{0}\"")]
    InvalidRange(String),
    /// A range partly overlapping an existing one (inside one /16 block).
    #[error("range \"{range}\" overlaps \"{existing}\"")]
    Overlaps {
        /// The range being added.
        range: String,
        /// The existing range it overlaps, within the /16 block of the overlap.
        existing: String,
    },
}

/// A warning nginx logs at config load (`[warn] MESSAGE in FILE:LINE`); the line is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeoWarning {
    /// A network given twice; the new value replaces the old one. `old` is what the address
    /// looked up before (nginx reports a longer prefix's value when there is one).
    DuplicateNetwork {
        /// The network as written (`default` for the default line).
        net: String,
        /// The new value.
        value: String,
        /// The value looked up for the network's address before the change.
        old: String,
    },
    /// Host bits set in a CIDR network (they are cleared).
    LowBits(String),
    /// `delete` of a network that is not there.
    NoNetwork(String),
    /// A second `default` in `ranges` mode.
    DuplicateDefaultRange {
        /// The new value.
        value: String,
        /// The old value.
        old: String,
    },
    /// A range given twice; the new value replaces the old one.
    DuplicateRange {
        /// The range as written.
        range: String,
        /// The new value.
        value: String,
        /// The old value.
        old: String,
    },
    /// `delete` of a range that is not there (exactly, in every /16 block it spans).
    NoRange(String),
}

impl fmt::Display for GeoWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeoWarning::DuplicateNetwork { net, value, old } => {
                write!(f, "duplicate network \"{net}\", value: \"{value}\", old value: \"{old}\"")
            }
            GeoWarning::LowBits(net) => write!(f, "low address bits of {net} are meaningless"),
            GeoWarning::NoNetwork(net) => write!(f, "no network \"{net}\" to delete"),
            GeoWarning::DuplicateDefaultRange { value, old } => {
                write!(f, "duplicate default geo range value: \"{value}\", old value: \"{old}\"")
            }
            GeoWarning::DuplicateRange { range, value, old } => {
                write!(f, "duplicate range \"{range}\", value: \"{value}\", old value: \"{old}\"")
            }
            GeoWarning::NoRange(range) => write!(f, "no address range \"{range}\" to delete"),
        }
    }
}

/// One IPv4 range inside a /16 block: low 16 bits `start..=end` and a value index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: u16,
    end: u16,
    value: usize,
}

/// Builds a [`Geo`] line by line, in config order.
#[derive(Debug, Default)]
pub struct GeoBuilder {
    values: Vec<Vec<u8>>,
    volatile: bool,
    /// `ranges` was given.
    ranges: bool,
    /// A network line was seen (nginx created its radix trees).
    trees: bool,
    v4: HashMap<(u32, u8), usize>,
    v6: HashMap<(u128, u8), usize>,
    /// `ranges` mode: the sorted disjoint ranges of each /16 block.
    blocks: HashMap<u16, Vec<Range>>,
    range_default: Option<usize>,
}

impl GeoBuilder {
    /// An empty `geo` block.
    pub fn new() -> GeoBuilder {
        GeoBuilder::default()
    }

    /// Adds one line of the block (`include` is expanded by the parser beforehand); returns
    /// the warnings nginx would log for it.
    pub fn line(&mut self, tokens: &[&[u8]]) -> Result<Vec<GeoWarning>, GeoError> {
        match tokens {
            // `ranges` switches to range mode, before any network.
            [b"ranges"] => {
                if self.trees {
                    return Err(GeoError::RangesNotFirst);
                }
                self.ranges = true;
                Ok(Vec::new())
            }
            [b"volatile"] => {
                self.volatile = true;
                Ok(Vec::new())
            }
            [key, value] if self.ranges => self.range_line(key, value),
            [key, value] => self.cidr_line(key, value),
            _ => Err(GeoError::ParameterCount),
        }
    }

    /// Finishes the block; a missing default is the empty string.
    pub fn build(mut self) -> Geo {
        let empty = self.value(b"");
        let mode = if self.ranges {
            Mode::Ranges {
                blocks: self.blocks.into_iter().filter(|(_, r)| !r.is_empty()).collect(),
                default: self.range_default.unwrap_or(empty),
            }
        } else {
            self.v4.entry((0, 0)).or_insert(empty);
            self.v6.entry((0, 0)).or_insert(empty);
            Mode::Cidr {
                v4_lens: prefix_lengths(self.v4.keys().map(|&(_, len)| len)),
                v6_lens: prefix_lengths(self.v6.keys().map(|&(_, len)| len)),
                v4: self.v4,
                v6: self.v6,
            }
        };
        Geo { values: self.values, volatile: self.volatile, mode }
    }

    fn value(&mut self, value: &[u8]) -> usize {
        match self.values.iter().position(|v| v == value) {
            Some(index) => index,
            None => {
                self.values.push(value.to_vec());
                self.values.len() - 1
            }
        }
    }

    fn text(&self, index: usize) -> String {
        String::from_utf8_lossy(&self.values[index]).into_owned()
    }

    /// A line in CIDR mode: `default V`, `NET V` or `delete NET`.
    fn cidr_line(&mut self, key: &[u8], value: &[u8]) -> Result<Vec<GeoWarning>, GeoError> {
        self.trees = true;

        // `default` is 0.0.0.0/0 and ::/0.
        if key == b"default" {
            let index = self.value(value);
            let mut warnings = Vec::new();
            warnings.extend(self.insert(Net::V4(0, 0), index, "default"));
            warnings.extend(self.insert(Net::V6(0, 0), index, "default"));
            return Ok(warnings);
        }

        // `delete NET` removes exactly that network.
        let (net_text, delete) = match key {
            b"delete" => (value, true),
            _ => (key, false),
        };
        let net_name = display(net_text);
        let (net, low_bits) =
            parse_cidr(net_text).ok_or_else(|| GeoError::InvalidNetwork(net_name.clone()))?;
        let mut warnings = Vec::new();
        if low_bits {
            warnings.push(GeoWarning::LowBits(net_name.clone()));
        }
        if delete {
            let removed = match net {
                Net::V4(addr, len) => self.v4.remove(&(addr, len)).is_some(),
                Net::V6(addr, len) => self.v6.remove(&(addr, len)).is_some(),
            };
            if !removed {
                warnings.push(GeoWarning::NoNetwork(net_name));
            }
            return Ok(warnings);
        }

        let index = self.value(value);
        warnings.extend(self.insert(net, index, &net_name));
        Ok(warnings)
    }

    /// Inserts a network; a duplicate replaces the old value with a warning.
    fn insert(&mut self, net: Net, index: usize, net_name: &str) -> Option<GeoWarning> {
        let old = match net {
            Net::V4(addr, len) => {
                let old = self.v4.contains_key(&(addr, len)).then(|| longest_v4(&self.v4, addr));
                self.v4.insert((addr, len), index);
                old
            }
            Net::V6(addr, len) => {
                let old = self.v6.contains_key(&(addr, len)).then(|| longest_v6(&self.v6, addr));
                self.v6.insert((addr, len), index);
                old
            }
        };
        old.flatten().map(|old| GeoWarning::DuplicateNetwork {
            net: net_name.to_string(),
            value: self.text(index),
            old: self.text(old),
        })
    }

    /// A line in `ranges` mode: `default V`, `A-B V` or `delete A-B`.
    fn range_line(&mut self, key: &[u8], value: &[u8]) -> Result<Vec<GeoWarning>, GeoError> {
        // `default` replaces the previous one with a warning.
        if key == b"default" {
            let index = self.value(value);
            let warning = self.range_default.map(|old| GeoWarning::DuplicateDefaultRange {
                value: display(value),
                old: self.text(old),
            });
            self.range_default = Some(index);
            return Ok(warning.into_iter().collect());
        }

        // `A-B`, both dotted quads (nginx's parser), A <= B.
        let (range_text, delete) = match key {
            b"delete" => (value, true),
            _ => (key, false),
        };
        let range_name = display(range_text);
        let invalid = || GeoError::InvalidRange(range_name.clone());
        let dash = range_text.iter().position(|&c| c == b'-').ok_or_else(invalid)?;
        let start = u32::from(inet_addr(&range_text[..dash]).ok_or_else(invalid)?);
        let end = u32::from(inet_addr(&range_text[dash + 1..]).ok_or_else(invalid)?);
        if start > end {
            return Err(invalid());
        }

        if delete {
            let warn = self.delete_range(start, end);
            return Ok(if warn { vec![GeoWarning::NoRange(range_name)] } else { Vec::new() });
        }
        let index = self.value(value);
        self.add_range(start, end, index, &range_name)
    }

    /// The pieces of `start..=end` per /16 block: (block, low start, low end).
    fn pieces(start: u32, end: u32) -> impl Iterator<Item = (u16, u16, u16)> {
        let blocks = (start >> 16)..=(end >> 16);
        blocks.map(move |block| {
            let s = if block == start >> 16 { start as u16 } else { 0 };
            let e = if block == end >> 16 { end as u16 } else { 0xffff };
            (block as u16, s, e)
        })
    }

    /// nginx's `ngx_stream_geo_add_range`: a range inside an existing one splits it, an equal
    /// one replaces its value, a partial overlap is an error.
    fn add_range(
        &mut self,
        start: u32,
        end: u32,
        value: usize,
        range_name: &str,
    ) -> Result<Vec<GeoWarning>, GeoError> {
        let mut warnings = Vec::new();
        for (block, s, e) in GeoBuilder::pieces(start, end) {
            let ranges = self.blocks.entry(block).or_default();

            // Scan from the highest range down to the first one not wholly above the new one.
            let mut placed = false;
            for i in (0..ranges.len()).rev() {
                let old = ranges[i];
                if e < old.start {
                    continue;
                }
                let new = Range { start: s, end: e, value };
                if s > old.end {
                    ranges.insert(i + 1, new);
                } else if s == old.start && e == old.end {
                    let (value_text, old_text) =
                        (display(&self.values[value]), display(&self.values[old.value]));
                    warnings.push(GeoWarning::DuplicateRange {
                        range: range_name.to_string(),
                        value: value_text,
                        old: old_text,
                    });
                    ranges[i].value = value;
                } else if s > old.start && e < old.end {
                    ranges[i].end = s - 1;
                    ranges.insert(i + 1, new);
                    ranges.insert(i + 2, Range { start: e + 1, ..old });
                } else if s == old.start && e < old.end {
                    ranges[i].start = e + 1;
                    ranges.insert(i, new);
                } else if s > old.start && e == old.end {
                    ranges[i].end = s - 1;
                    ranges.insert(i + 1, new);
                } else {
                    let (hi, lo) = (block >> 8, block & 0xff);
                    return Err(GeoError::Overlaps {
                        range: range_name.to_string(),
                        existing: format!(
                            "{hi}.{lo}.{}.{}-{hi}.{lo}.{}.{}",
                            old.start >> 8,
                            old.start & 0xff,
                            old.end >> 8,
                            old.end & 0xff
                        ),
                    });
                }
                placed = true;
                break;
            }

            // Below every existing range (or the first one): insert at the front.
            if !placed {
                ranges.insert(0, Range { start: s, end: e, value });
            }
        }
        Ok(warnings)
    }

    /// nginx's `ngx_stream_geo_delete_range`: removes the exact piece in every /16 block;
    /// true when some block had no such piece.
    fn delete_range(&mut self, start: u32, end: u32) -> bool {
        let mut warn = false;
        for (block, s, e) in GeoBuilder::pieces(start, end) {
            let ranges = self.blocks.entry(block).or_default();
            match ranges.iter().position(|r| r.start == s && r.end == e) {
                Some(i) => {
                    ranges.remove(i);
                }
                None => warn = true,
            }
        }
        warn
    }
}

/// A parsed network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Net {
    V4(u32, u8),
    V6(u128, u8),
}

/// nginx's `ngx_stream_geo_cidr_value`: `255.255.255.255` alone is that host (which
/// `ngx_ptocidr` refuses); anything else is a CIDR as [`ptocidr`] reads it, its host bits
/// cleared (second value true).
fn parse_cidr(text: &[u8]) -> Option<(Net, bool)> {
    if text == b"255.255.255.255" {
        return Some((Net::V4(u32::MAX, 32), false));
    }
    let (cidr, low_bits) = ptocidr(text)?;
    let net = match cidr.network {
        IpAddr::V4(v4) => Net::V4(v4.into(), cidr.prefix),
        IpAddr::V6(v6) => Net::V6(v6.into(), cidr.prefix),
    };
    Some((net, low_bits))
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// The value of the longest IPv4 network holding `addr`, trying the prefix lengths `lens`.
fn longest_v4_in(
    table: &HashMap<(u32, u8), usize>,
    lens: impl IntoIterator<Item = u8>,
    addr: u32,
) -> Option<usize> {
    lens.into_iter().find_map(|len| table.get(&(addr & mask32(len), len)).copied())
}

/// The value of the longest IPv6 network holding `addr`, trying the prefix lengths `lens`.
fn longest_v6_in(
    table: &HashMap<(u128, u8), usize>,
    lens: impl IntoIterator<Item = u8>,
    addr: u128,
) -> Option<usize> {
    lens.into_iter().find_map(|len| table.get(&(addr & mask128(len), len)).copied())
}

fn longest_v4(table: &HashMap<(u32, u8), usize>, addr: u32) -> Option<usize> {
    longest_v4_in(table, (0..=32u8).rev(), addr)
}

fn longest_v6(table: &HashMap<(u128, u8), usize>, addr: u128) -> Option<usize> {
    longest_v6_in(table, (0..=128u8).rev(), addr)
}

/// The distinct prefix lengths in use, longest first (the lookup tries only these).
fn prefix_lengths(lens: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut lens: Vec<u8> = lens.collect();
    lens.sort_unstable_by(|a, b| b.cmp(a));
    lens.dedup();
    lens
}

/// How a [`Geo`] looks addresses up.
#[derive(Debug)]
enum Mode {
    Cidr {
        v4: HashMap<(u32, u8), usize>,
        v6: HashMap<(u128, u8), usize>,
        v4_lens: Vec<u8>,
        v6_lens: Vec<u8>,
    },
    Ranges {
        blocks: HashMap<u16, Vec<Range>>,
        default: usize,
    },
}

/// A compiled `geo` block.
#[derive(Debug)]
pub struct Geo {
    values: Vec<Vec<u8>>,
    volatile: bool,
    mode: Mode,
}

impl Geo {
    /// Whether `volatile` was given (the variable is not cacheable).
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// The value for a client address (`geo $var`): `None` is a unix-socket client.
    pub fn find_addr(&self, addr: Option<IpAddr>) -> &[u8] {
        // IPv4-mapped IPv6 addresses are IPv4; anything else unusable is INADDR_NONE.
        match addr {
            Some(IpAddr::V4(v4)) => self.find_v4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => self.find_v4(u32::from(v4)),
                None => self.find_v6(v6),
            },
            None => self.find_v4(u32::MAX),
        }
    }

    /// The value for the source variable's value (`geo $src $var`): `None` when the
    /// variable is not found. Text that is not an address looks up `255.255.255.255`.
    pub fn find_text(&self, text: Option<&[u8]>) -> &[u8] {
        self.find_addr(text.and_then(parse_addr))
    }

    fn find_v4(&self, addr: u32) -> &[u8] {
        let index = match &self.mode {
            Mode::Cidr { v4, v4_lens, .. } => longest_v4_in(v4, v4_lens.iter().copied(), addr),
            Mode::Ranges { blocks, default } => {
                let low = addr as u16;
                let found = blocks.get(&((addr >> 16) as u16)).and_then(|ranges| {
                    ranges.iter().find(|r| r.start <= low && low <= r.end).map(|r| r.value)
                });
                Some(found.unwrap_or(*default))
            }
        };
        index.map_or(b"", |i| &self.values[i])
    }

    fn find_v6(&self, addr: Ipv6Addr) -> &[u8] {
        match &self.mode {
            Mode::Cidr { v6, v6_lens, .. } => {
                longest_v6_in(v6, v6_lens.iter().copied(), u128::from(addr))
                    .map_or(b"", |i| &self.values[i])
            }
            // Ranges are IPv4 only: other IPv6 addresses get the default.
            Mode::Ranges { .. } => self.find_v4(u32::MAX),
        }
    }
}

fn display(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a geo block from `;`-separated lines of space-separated tokens, collecting the
    /// warnings as nginx prints them.
    fn build(block: &str) -> Result<(Geo, Vec<String>), GeoError> {
        let mut builder = GeoBuilder::new();
        let mut warnings = Vec::new();
        for line in block.split(';').map(str::trim).filter(|l| !l.is_empty()) {
            let tokens: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
            warnings.extend(builder.line(&tokens)?.iter().map(ToString::to_string));
        }
        Ok((builder.build(), warnings))
    }

    fn text(geo: &Geo, source: &str) -> String {
        String::from_utf8(geo.find_text(Some(source.as_bytes())).to_vec()).unwrap()
    }

    const CIDR: &str = "default DEF; 10.0.0.0/8 TEN; 10.0.0.0/16 TEN16; 10.0.0.0/8 TEN-AGAIN;
        192.168.1.0/24 LAN; 192.168.1.200 HOST; delete 192.168.1.200; delete 172.16.0.0/12;
        2001:db8::/32 DOC; ::1 LOOP6; 255.255.255.255 BCAST; 10.1.2.3/8 LOW; 1.0.2.3 ODD";

    const RANGES: &str = "ranges; default RDEF; 10.0.0.0-10.255.255.255 R10;
        10.0.5.0-10.0.5.255 R10-5; 192.168.0.0-192.168.3.255 RLAN;
        192.168.1.0-192.168.1.255 RLAN1; delete 192.168.1.0-192.168.1.255; 1.2.3.4-1.2.3.4 ONE;
        127.0.0.1-127.0.0.1 LO";

    /// Real nginx 1.22.1: `geo $k $cidr { CIDR }`, `geo $k $rng { RANGES }` and
    /// `geo $cidr2 { default X; 127.0.0.0/8 LOOPBACK; }` (client 127.0.0.1), one server per
    /// source doing `set $k "SOURCE"; return "$cidr|$rng|$cidr2";`.
    const NGINX: &[(&str, &str, &str)] = &[
        ("10.1.2.3", "LOW", "R10"),
        ("10.0.0.1", "TEN16", "R10"),
        ("10.0.5.5", "TEN16", "R10-5"),
        ("192.168.1.77", "LAN", "RDEF"),
        ("192.168.1.200", "LAN", "RDEF"),
        ("8.8.8.8", "DEF", "RDEF"),
        ("::1", "LOOP6", "RDEF"),
        ("2001:db8::5", "DOC", "RDEF"),
        ("2001:db8:1::1", "DOC", "RDEF"),
        ("::ffff:10.1.2.3", "LOW", "R10"),
        ("garbage", "BCAST", "RDEF"),
        ("", "BCAST", "RDEF"),
        ("255.255.255.255", "BCAST", "RDEF"),
        ("127.0.0.1", "DEF", "LO"),
        ("01.2.3.4", "DEF", "ONE"),
        ("1..2.3", "ODD", "RDEF"),
        ("172.16.0.0", "DEF", "RDEF"),
        ("fe80::1", "DEF", "RDEF"),
    ];

    #[test]
    fn lookups_match_nginx() {
        let (cidr, warnings) = build(CIDR).unwrap();
        assert_eq!(
            warnings,
            [
                "duplicate network \"10.0.0.0/8\", value: \"TEN-AGAIN\", old value: \"TEN16\"",
                "no network \"172.16.0.0/12\" to delete",
                "low address bits of 10.1.2.3/8 are meaningless",
                "duplicate network \"10.1.2.3/8\", value: \"LOW\", old value: \"TEN16\"",
            ]
        );
        let (ranges, warnings) = build(RANGES).unwrap();
        assert!(warnings.is_empty());
        for &(source, want_cidr, want_range) in NGINX {
            assert_eq!(text(&cidr, source), want_cidr, "cidr {source:?}");
            assert_eq!(text(&ranges, source), want_range, "ranges {source:?}");
        }

        let (client, _) = build("default X; 127.0.0.0/8 LOOPBACK").unwrap();
        assert_eq!(client.find_addr(Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))), b"LOOPBACK");
    }

    #[test]
    fn unix_clients_and_missing_variables_look_up_inaddr_none() {
        let (geo, _) = build("default D; 255.255.255.255 NONE").unwrap();
        assert_eq!(geo.find_addr(None), b"NONE");
        assert_eq!(geo.find_text(None), b"NONE");
    }

    #[test]
    fn no_default_is_empty() {
        let (geo, _) = build("10.0.0.0/8 TEN").unwrap();
        assert_eq!(text(&geo, "11.0.0.1"), "");
        assert_eq!(text(&geo, "::2"), "");
        let (ranges, _) = build("ranges; 10.0.0.0-10.0.0.9 T").unwrap();
        assert_eq!(text(&ranges, "10.0.0.10"), "");
        assert_eq!(text(&ranges, "10.0.0.9"), "T");
    }

    #[test]
    fn ranges_spanning_blocks_and_nested_ranges() {
        let (geo, _) = build("ranges; 1.0.255.0-1.2.0.10 A; 1.1.0.5-1.1.0.6 B").unwrap();
        assert_eq!(text(&geo, "1.0.254.255"), "");
        assert_eq!(text(&geo, "1.0.255.0"), "A");
        assert_eq!(text(&geo, "1.1.0.4"), "A");
        assert_eq!(text(&geo, "1.1.0.5"), "B");
        assert_eq!(text(&geo, "1.1.0.7"), "A");
        assert_eq!(text(&geo, "1.2.0.10"), "A");
        assert_eq!(text(&geo, "1.2.0.11"), "");

        // Real nginx 1.22.1: a range crossing a split piece overlaps the piece above it.
        let err = build("ranges; 1.0.255.0-1.2.0.10 A; 1.1.0.5-1.1.0.6 B; 1.1.0.6-1.1.0.9 C");
        assert_eq!(
            err.unwrap_err().to_string(),
            "range \"1.1.0.6-1.1.0.9\" overlaps \"1.1.0.7-1.1.255.255\""
        );
    }

    /// Messages of real nginx 1.22.1 `nginx -t` (before ` in FILE:LINE`).
    #[test]
    fn config_messages_match_nginx() {
        let errors: &[(&str, &str)] = &[
            ("10.0.0.0/33 a", "invalid network \"10.0.0.0/33\""),
            ("255.255.255.255/32 a", "invalid network \"255.255.255.255/32\""),
            ("fe80::1/129 x", "invalid network \"fe80::1/129\""),
            ("a b c", "invalid number of the geo parameters"),
            (
                "default a; ranges",
                "the \"ranges\" directive must be the first directive inside \"geo\" block",
            ),
            ("ranges; 1.2.3.4 a", "invalid range \"1.2.3.4\""),
            ("ranges; 1.2.3.5-1.2.3.4 a", "invalid range \"1.2.3.5-1.2.3.4\""),
            ("ranges; 10.0.0.0-10.0.0.255.255 a", "invalid range \"10.0.0.0-10.0.0.255.255\""),
            (
                "ranges; 255.255.255.0-255.255.255.255 x",
                "invalid range \"255.255.255.0-255.255.255.255\"",
            ),
            (
                "ranges; 1.2.3.0-1.2.3.10 a; 1.2.3.5-1.2.3.20 b",
                "range \"1.2.3.5-1.2.3.20\" overlaps \"1.2.3.0-1.2.3.10\"",
            ),
            (
                "ranges; 1.0.255.0-1.1.0.10 a; 1.1.0.5-1.1.0.6 b; 1.0.0.0-1.0.255.255 c",
                "range \"1.0.0.0-1.0.255.255\" overlaps \"1.0.255.0-1.0.255.255\"",
            ),
        ];
        for (block, message) in errors {
            assert_eq!(build(block).unwrap_err().to_string(), *message, "{block}");
        }

        let warnings: &[(&str, &[&str])] = &[
            (
                "default a; default b",
                &[
                    "duplicate network \"default\", value: \"b\", old value: \"a\"",
                    "duplicate network \"default\", value: \"b\", old value: \"a\"",
                ],
            ),
            (
                "ranges; default a; default b; 1.2.3.0-1.2.3.10 a; 1.2.3.0-1.2.3.10 b; \
                 delete 1.2.3.0-1.2.3.11",
                &[
                    "duplicate default geo range value: \"b\", old value: \"a\"",
                    "duplicate range \"1.2.3.0-1.2.3.10\", value: \"b\", old value: \"a\"",
                    "no address range \"1.2.3.0-1.2.3.11\" to delete",
                ],
            ),
            ("delete 10.0.0.0/8", &["no network \"10.0.0.0/8\" to delete"]),
            (
                "10.0.0.0/8 a; 10.0.0.0/16 b; 10.0.0.0/8 c",
                &["duplicate network \"10.0.0.0/8\", value: \"c\", old value: \"b\""],
            ),
            (
                "::/0 a; default b",
                &["duplicate network \"default\", value: \"b\", old value: \"a\""],
            ),
            (
                "ranges; delete 1.2.3.0-1.2.4.10",
                &["no address range \"1.2.3.0-1.2.4.10\" to delete"],
            ),
        ];
        for (block, expected) in warnings {
            assert_eq!(build(block).unwrap().1, *expected, "{block}");
        }
    }

    #[test]
    fn volatile_is_recorded() {
        assert!(build("volatile; ranges; default x").unwrap().0.is_volatile());
        assert!(!build("default x").unwrap().0.is_volatile());
    }
}
