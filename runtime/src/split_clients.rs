//! `split_clients` blocks: nginx's MurmurHash2 of the evaluated source picks a bucket by
//! cumulative percentage, exactly as `ngx_stream_split_clients_module`.
//!
//! Percentages have at most two decimals (`0.25%`, `.5%`, `5.%`); `*` takes the rest and
//! ends the sum (a later percentage exceeds 100%). A value that falls in no bucket (the sum
//! is below 100% and there is no `*`) is the empty string. Difference from nginx: a line
//! with a lone percentage and no value is rejected (nginx reads a stale token there); extra
//! tokens after the value are ignored as nginx does.

/// A fault in a `split_clients` block; messages are nginx's except `MissingValue` (the
/// caller adds ` in FILE:LINE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitClientsError {
    /// Not `*` and not `N%` with at most two decimals and N > 0.
    #[error("invalid percent value \"{0}\"")]
    InvalidPercent(String),
    /// The percentages add up to more than 100% (a `*` counts as the rest).
    #[error("percent total is greater than 100%")]
    TotalOver100,
    /// A line with a percentage and no value.
    #[error("no value for percent \"{0}\" in \"split_clients\" (not supported by strait)")]
    MissingValue(String),
}

/// One bucket: the upper bound of its hash range (0 for `*`) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    bound: u32,
    value: Vec<u8>,
}

/// Builds a [`SplitClients`] line by line, in config order.
#[derive(Debug, Default)]
pub struct SplitClientsBuilder {
    /// Percentages in hundredths (0 for `*`) and values, in config order.
    parts: Vec<(u32, Vec<u8>)>,
}

impl SplitClientsBuilder {
    /// An empty block.
    pub fn new() -> SplitClientsBuilder {
        SplitClientsBuilder::default()
    }

    /// Adds one `PERCENT VALUE;` line.
    pub fn line(&mut self, tokens: &[&[u8]]) -> Result<(), SplitClientsError> {
        let percent = tokens.first().copied().unwrap_or_default();
        let Some(&value) = tokens.get(1) else {
            return Err(SplitClientsError::MissingValue(display(percent)));
        };
        let hundredths = if percent == b"*" {
            0
        } else {
            parse_percent(percent)
                .ok_or_else(|| SplitClientsError::InvalidPercent(display(percent)))?
        };
        self.parts.push((hundredths, value.to_vec()));
        Ok(())
    }

    /// Checks the total and turns the percentages into cumulative hash bounds.
    pub fn build(self) -> Result<SplitClients, SplitClientsError> {
        let mut sum = 0u64;
        let mut last = 0u64;
        let mut parts = Vec::with_capacity(self.parts.len());
        for (hundredths, value) in self.parts {
            // `*` makes the total 100%.
            sum = if hundredths == 0 { 10_000 } else { sum + u64::from(hundredths) };
            if sum > 10_000 {
                return Err(SplitClientsError::TotalOver100);
            }
            let bound = if hundredths == 0 {
                0
            } else {
                last += u64::from(hundredths) * u64::from(u32::MAX) / 10_000;
                last as u32
            };
            parts.push(Part { bound, value });
        }
        Ok(SplitClients { parts })
    }
}

/// nginx's `ngx_atofp(text, len - 1, 2)` on `N%`: digits with at most one dot and two
/// decimals, in hundredths; zero is invalid.
fn parse_percent(text: &[u8]) -> Option<u32> {
    let number = text.strip_suffix(b"%")?;
    if number.is_empty() {
        return None;
    }
    let (mut value, mut point, mut dot) = (0u64, 2u32, false);
    for &c in number {
        if c == b'.' {
            if dot {
                return None;
            }
            dot = true;
            continue;
        }
        if !c.is_ascii_digit() || (dot && point == 0) {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if dot {
            point -= 1;
        }
    }
    let value = value.checked_mul(10u64.pow(point))?;
    (value != 0).then_some(value).and_then(|v| u32::try_from(v).ok())
}

/// A compiled `split_clients` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitClients {
    parts: Vec<Part>,
}

impl SplitClients {
    /// The value for the evaluated source: the first bucket whose bound is above the
    /// source's MurmurHash2, or `*`; empty when none.
    pub fn find(&self, source: &[u8]) -> &[u8] {
        let hash = murmur_hash2(source);
        self.parts
            .iter()
            .find(|part| hash < part.bound || part.bound == 0)
            .map_or(b"", |part| &part.value)
    }
}

/// nginx's `ngx_murmur_hash2`: 32-bit MurmurHash2 with seed 0 (`h = len`), little-endian
/// words.
pub fn murmur_hash2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h = data.len() as u32;

    // Mix four bytes at a time.
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // The last one to three bytes.
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    // Final avalanche.
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

fn display(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(block: &str) -> Result<SplitClients, SplitClientsError> {
        let mut builder = SplitClientsBuilder::new();
        for line in block.split(';').map(str::trim).filter(|l| !l.is_empty()) {
            let tokens: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
            builder.line(&tokens)?;
        }
        builder.build()
    }

    fn find(split: &SplitClients, source: &str) -> String {
        String::from_utf8(split.find(source.as_bytes()).to_vec()).unwrap()
    }

    /// Real nginx 1.22.1: `split_clients "$k" $v { 10% a; 20.5% b; 0.25% c; 33.33% d; * e; }`
    /// and `split_clients "${k}salt" $w { 50% one; 49.99% two; }`, one server per source
    /// doing `set $k "SOURCE"; return "$v|$w";`. Columns: source, `$v`, `$w`.
    const NGINX: &[(&str, &str, &str)] = &[
        ("", "a", "two"),
        ("a", "d", "one"),
        ("b", "d", "two"),
        ("abc", "a", "two"),
        ("127.0.0.1", "e", "one"),
        ("10.0.0.1", "d", "two"),
        ("192.168.1.1", "b", "one"),
        ("user1", "a", "one"),
        ("user2", "b", "one"),
        ("user3", "e", "two"),
        ("hello", "e", "one"),
        ("world", "e", "two"),
        ("xxxxxxxxxxxxxxxxx", "d", "two"),
        ("1234", "a", "two"),
        ("12345", "e", "one"),
        ("AAA", "d", "one"),
        ("client-42", "b", "two"),
        ("z", "d", "two"),
        ("tenant", "d", "two"),
        ("strait", "d", "two"),
    ];

    #[test]
    fn buckets_match_nginx() {
        let v = build("10% a; 20.5% b; 0.25% c; 33.33% d; * e").unwrap();
        let w = build("50% one; 49.99% two").unwrap();
        for &(source, want_v, want_w) in NGINX {
            assert_eq!(find(&v, source), want_v, "$v of {source:?}");
            assert_eq!(find(&w, &format!("{source}salt")), want_w, "$w of {source:?}");
        }
    }

    #[test]
    fn murmur_hash2_reference_values() {
        // MurmurHash2 with seed 0 maps the empty input to 0 (h = len = 0 stays 0); the
        // table above checks real values against nginx.
        assert_eq!(murmur_hash2(b""), 0);
        let h = murmur_hash2(b"hello");
        assert_ne!(h, murmur_hash2(b"hellp"));
        // Tail lengths 1..3 and full words all contribute.
        let hashes: Vec<u32> = (0..9).map(|n| murmur_hash2(&b"abcdefghi"[..n])).collect();
        let mut unique = hashes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), hashes.len());
    }

    #[test]
    fn bucket_bounds_are_cumulative() {
        let split = build("50% low; * high").unwrap();
        assert_eq!(split.parts[0].bound, (5_000u64 * u64::from(u32::MAX) / 10_000) as u32);
        let full = build("100% all").unwrap();
        assert_eq!(full.parts[0].bound, u32::MAX);
    }

    #[test]
    fn under_100_percent_without_star_can_miss() {
        // Sources hashing above 0.01% of the range find no bucket: the empty string.
        let split = build("0.01% tiny").unwrap();
        let misses = (0..50).filter(|i| find(&split, &i.to_string()).is_empty()).count();
        assert!(misses >= 49, "{misses}");
    }

    /// Messages of real nginx 1.22.1 `nginx -t` (before ` in FILE:LINE`).
    #[test]
    fn config_errors_match_nginx() {
        let cases = [
            ("33.333% a", "invalid percent value \"33.333%\""),
            ("0% a", "invalid percent value \"0%\""),
            ("60% a; 50% b", "percent total is greater than 100%"),
            ("* a; 1% b", "percent total is greater than 100%"),
            ("50 a", "invalid percent value \"50\""),
            ("%% a", "invalid percent value \"%%\""),
            ("1.2.3% a", "invalid percent value \"1.2.3%\""),
            ("-1% a", "invalid percent value \"-1%\""),
        ];
        for (block, message) in cases {
            assert_eq!(build(block).unwrap_err().to_string(), message, "{block}");
        }

        // Accepted by nginx: `.5%`, `5.%`, `100%` then `*`, extra tokens.
        assert!(build(".5% a; 5.% b").is_ok());
        assert!(build("100% a; * b").is_ok());
        assert_eq!(find(&build("100% a b").unwrap(), "x"), "a");
        assert!(matches!(build("50%"), Err(SplitClientsError::MissingValue(_))));
    }

    #[test]
    fn percent_parsing() {
        assert_eq!(parse_percent(b"10%"), Some(1000));
        assert_eq!(parse_percent(b"20.5%"), Some(2050));
        assert_eq!(parse_percent(b"0.25%"), Some(25));
        assert_eq!(parse_percent(b".5%"), Some(50));
        assert_eq!(parse_percent(b"5.%"), Some(500));
        assert_eq!(parse_percent(b"%"), None);
        assert_eq!(parse_percent(b"1.234%"), None);
    }
}
