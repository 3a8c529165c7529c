//! `map` blocks: a compiled key table (exact keys, `hostnames` wildcards, `~`/`~*` regexes)
//! looked up as nginx's `ngx_stream_map_module` does; values are the caller's compiled
//! templates (`V`), evaluated by the caller.
//!
//! Lookup order, as nginx: with `hostnames`, one trailing dot of the source value is dropped;
//! then the exact keys (matched case-insensitively: nginx lowercases keys and the value);
//! then, for a non-empty value, the `*.example.com` / `.example.com` wildcards (longest
//! suffix), then the `www.example.*` wildcards (longest prefix); then, for a non-empty value,
//! the regexes in config order (on the value as is); else `default` (or the empty string).
//! A leading `\` makes a key literal (`\default`, `\~x`, `\hostnames` stay keys).
//!
//! Regular expressions use PCRE2 (the `pcre2` crate, JIT when available), the library
//! Debian's nginx 1.22 links, compiled without UTF mode like nginx: the same syntax
//! (lookaround, backreferences, possessive quantifiers), the same byte-wise matching and
//! the same compile error texts (`pcre2_compile() failed: ... in "..." at "..."`). Known
//! differences from nginx:
//! - a regex key that is not valid UTF-8 is rejected (the crate takes `&str` patterns);
//! - the PCRE2 built into the crate may be a newer 10.x than the system's, so a rare
//!   compile error message may be worded differently;
//! - equal keys' values are not shared (nginx deduplicates identical value strings; this
//!   changes memory only).
//!
//! The tables are Rust hash maps; [`MapBuilder::check_hash`] reproduces nginx's verdicts on
//! `map_hash_max_size` / `map_hash_bucket_size` (a key over 46 bytes fails with the default
//! bucket size), so a map nginx rejects is rejected here too.

use std::collections::HashMap;
use std::fmt;

/// A fault in a `map` block; messages are nginx's (the caller adds ` in FILE:LINE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A line with one token other than `hostnames`/`volatile`, or with three or more.
    #[error("invalid number of the map parameters")]
    ParameterCount,
    /// A second `default` line.
    #[error("duplicate default map parameter")]
    DuplicateDefault,
    /// A key given twice (after lowercasing), or an exact key clashing with `.name`.
    #[error("conflicting parameter \"{0}\"")]
    Conflicting(String),
    /// A `hostnames` key with a misplaced `*`, `..` or a NUL byte.
    #[error("invalid hostname or wildcard \"{0}\"")]
    InvalidWildcard(String),
    /// A regex key PCRE2 rejects: `pcre2_compile() failed: MESSAGE in "RE"[ at "REST"]`.
    #[error("{0}")]
    Regex(String),
    /// nginx could not size one of the map's hash tables with `map_hash_max_size` and
    /// `map_hash_bucket_size` (`could not build map_hash, ...`).
    #[error("{0}")]
    Hash(String),
}

/// What one line of a `map` block says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapEntry<'a> {
    /// `hostnames;`: later keys may be wildcards; a trailing dot of the value is dropped.
    Hostnames,
    /// `volatile;`: the variable is not cacheable.
    Volatile,
    /// `KEY VALUE;` (including `default VALUE;`).
    Pair {
        /// The key as written (after the lexer's unquoting).
        key: &'a [u8],
        /// The value, to be compiled as a complex value by the caller.
        value: &'a [u8],
    },
}

impl<'a> MapEntry<'a> {
    /// Classifies the tokens of one line (`include` is expanded by the parser beforehand).
    pub fn parse(tokens: &[&'a [u8]]) -> Result<MapEntry<'a>, MapError> {
        match tokens {
            [b"hostnames"] => Ok(MapEntry::Hostnames),
            [b"volatile"] => Ok(MapEntry::Volatile),
            [key, value] => Ok(MapEntry::Pair { key, value }),
            _ => Err(MapError::ParameterCount),
        }
    }
}

/// Builds a [`Map`] line by line, in config order.
#[derive(Debug)]
pub struct MapBuilder<V> {
    map: Map<V>,
    /// Exact names taken, including `example.com` of a `.example.com` key (nginx's
    /// `keys_hash`, used only to detect conflicts).
    exact_names: HashMap<Vec<u8>, ()>,
}

impl<V> Default for MapBuilder<V> {
    fn default() -> Self {
        MapBuilder::new()
    }
}

impl<V> MapBuilder<V> {
    /// An empty map.
    pub fn new() -> MapBuilder<V> {
        MapBuilder {
            map: Map {
                hostnames: false,
                volatile: false,
                values: Vec::new(),
                default: None,
                exact: HashMap::new(),
                head: HashMap::new(),
                tail: HashMap::new(),
                regexes: Vec::new(),
            },
            exact_names: HashMap::new(),
        }
    }

    /// `hostnames;`: the keys added after it may be wildcards.
    pub fn hostnames(&mut self) {
        self.map.hostnames = true;
    }

    /// `volatile;`.
    pub fn volatile(&mut self) {
        self.map.volatile = true;
    }

    /// Adds `KEY VALUE;` with the value already compiled by the caller.
    pub fn add(&mut self, key: &[u8], value: V) -> Result<(), MapError> {
        // `default` sets the fallback, once.
        if key == b"default" {
            if self.map.default.is_some() {
                return Err(MapError::DuplicateDefault);
            }
            self.map.default = Some(self.push_value(value));
            return Ok(());
        }

        // `~RE` and `~*RE` are regexes, kept in config order.
        if let Some(pattern) = key.strip_prefix(b"~") {
            let (pattern, caseless) = match pattern.strip_prefix(b"*") {
                Some(rest) => (rest, true),
                None => (pattern, false),
            };
            let regex = MapRegex::compile(pattern, caseless)?;
            let index = self.push_value(value);
            self.map.regexes.push((regex, index));
            return Ok(());
        }

        // A leading backslash makes the rest a literal key.
        let key = key.strip_prefix(b"\\").unwrap_or(key);

        // Wildcards when `hostnames` is on and the key has one of the three forms.
        if self.map.hostnames {
            match wildcard_form(key)? {
                Some(Wildcard::Head { suffix, dot }) => {
                    return self.add_head(key, suffix, dot, value)
                }
                Some(Wildcard::Tail { prefix }) => return self.add_tail(key, prefix, value),
                None => {}
            }
        }
        self.add_exact(key, value)
    }

    /// Finishes the map.
    pub fn build(self) -> Map<V> {
        self.map
    }

    /// Sizes the map's hash tables as nginx does (`ngx_hash_init` for the exact keys, then
    /// every level of the head and tail wildcard tables) and fails where nginx fails: a key
    /// or label too long for `map_hash_bucket_size` (46 bytes with the default 64), or a
    /// `map_hash_max_size` too small. Returns the warnings nginx logs (`could not build
    /// optimal map_hash, ...`). Call it before [`MapBuilder::build`].
    pub fn check_hash(&self, sizes: HashSizes) -> Result<Vec<String>, MapError> {
        let mut warnings = Vec::new();

        // The exact keys form one table.
        if !self.map.exact.is_empty() {
            let keys: Vec<&[u8]> = self.map.exact.keys().map(Vec::as_slice).collect();
            sizes.init(&keys, &mut warnings)?;
        }

        // `*.example.com` is stored as "com.example." and `.example.com` as "com.example".
        if !self.map.head.is_empty() {
            let mut keys: Vec<Vec<u8>> = self
                .map
                .head
                .iter()
                .map(|(suffix, head)| {
                    let mut key = suffix.rsplit(|&c| c == b'.').collect::<Vec<_>>().join(&b'.');
                    if !head.dot {
                        key.push(b'.');
                    }
                    key
                })
                .collect();
            keys.sort_by(|a, b| dns_cmp(a, b));
            sizes.wildcard_init(
                &keys.iter().map(Vec::as_slice).collect::<Vec<_>>(),
                &mut warnings,
            )?;
        }

        // `www.example.*` is stored as "www.example".
        if !self.map.tail.is_empty() {
            let mut keys: Vec<&[u8]> = self.map.tail.keys().map(Vec::as_slice).collect();
            keys.sort_by(|a, b| dns_cmp(a, b));
            sizes.wildcard_init(&keys, &mut warnings)?;
        }
        Ok(warnings)
    }

    fn push_value(&mut self, value: V) -> usize {
        self.map.values.push(value);
        self.map.values.len() - 1
    }

    fn add_exact(&mut self, key: &[u8], value: V) -> Result<(), MapError> {
        let lower = key.to_ascii_lowercase();
        if self.exact_names.contains_key(&lower) {
            return Err(MapError::Conflicting(display(&lower)));
        }
        self.exact_names.insert(lower.clone(), ());
        let index = self.push_value(value);
        self.map.exact.insert(lower, index);
        Ok(())
    }

    fn add_head(&mut self, key: &[u8], suffix: &[u8], dot: bool, value: V) -> Result<(), MapError> {
        let lower = suffix.to_ascii_lowercase();
        let conflict = || MapError::Conflicting(display(&key.to_ascii_lowercase()));

        // `.example.com` also takes the exact name `example.com`.
        if dot {
            if self.exact_names.contains_key(&lower) {
                return Err(conflict());
            }
            self.exact_names.insert(lower.clone(), ());
        }

        // `*.example.com` and `.example.com` share one slot.
        if self.map.head.contains_key(&lower) {
            return Err(conflict());
        }
        let index = self.push_value(value);
        self.map.head.insert(lower, Head { value: index, dot });
        Ok(())
    }

    fn add_tail(&mut self, key: &[u8], prefix: &[u8], value: V) -> Result<(), MapError> {
        let lower = prefix.to_ascii_lowercase();
        if self.map.tail.contains_key(&lower) {
            return Err(MapError::Conflicting(display(&key.to_ascii_lowercase())));
        }
        let index = self.push_value(value);
        self.map.tail.insert(lower, index);
        Ok(())
    }
}

/// A `hostnames` wildcard key.
enum Wildcard<'k> {
    /// `*.example.com` (`dot: false`) or `.example.com` (`dot: true`, matches the bare name).
    Head { suffix: &'k [u8], dot: bool },
    /// `www.example.*`.
    Tail { prefix: &'k [u8] },
}

/// Recognises nginx's wildcard forms (`ngx_hash_add_key` with `NGX_HASH_WILDCARD_KEY`).
fn wildcard_form(key: &[u8]) -> Result<Option<Wildcard<'_>>, MapError> {
    let invalid = || MapError::InvalidWildcard(display(key));

    // At most one `*`, no empty label, no NUL byte.
    if key.iter().filter(|&&c| c == b'*').count() > 1
        || key.windows(2).any(|w| w == b"..")
        || key.contains(&0)
    {
        return Err(invalid());
    }

    // `.example.com`, `*.example.com`, `www.example.*`; any other `*` is invalid.
    if key.len() > 1 && key[0] == b'.' {
        return Ok(Some(Wildcard::Head { suffix: &key[1..], dot: true }));
    }
    if key.len() > 2 {
        if key.starts_with(b"*.") {
            return Ok(Some(Wildcard::Head { suffix: &key[2..], dot: false }));
        }
        if key.ends_with(b".*") {
            return Ok(Some(Wildcard::Tail { prefix: &key[..key.len() - 2] }));
        }
    }
    if key.contains(&b'*') {
        return Err(invalid());
    }
    Ok(None)
}

/// A head wildcard's value and whether it also matches the bare name.
#[derive(Clone, Copy, Debug)]
struct Head {
    value: usize,
    dot: bool,
}

/// A compiled regex key.
struct MapRegex {
    pattern: String,
    regex: pcre2::bytes::Regex,
}

impl fmt::Debug for MapRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MapRegex").field(&self.pattern).finish()
    }
}

impl MapRegex {
    /// Compiles like nginx's `ngx_regex_compile` (no UTF mode, `~*` is `PCRE2_CASELESS`).
    fn compile(pattern: &[u8], caseless: bool) -> Result<MapRegex, MapError> {
        let Ok(text) = std::str::from_utf8(pattern) else {
            return Err(MapError::Regex(format!(
                "regex \"{}\" is not valid UTF-8 (not supported by strait)",
                display(pattern)
            )));
        };
        let regex = pcre2::bytes::RegexBuilder::new()
            .caseless(caseless)
            .jit_if_available(true)
            .build(text)
            .map_err(|e| MapError::Regex(compile_error(text, &e)))?;
        Ok(MapRegex { pattern: text.to_string(), regex })
    }
}

/// nginx's compile error text from a PCRE2 error: the message, the pattern and, unless the
/// error is at its end, the rest of the pattern from the error offset.
fn compile_error(pattern: &str, error: &pcre2::Error) -> String {
    // The crate renders "PCRE2: error compiling pattern at offset N: MESSAGE".
    let text = error.to_string();
    let message = match text.split_once(": error compiling pattern") {
        Some((_, rest)) => rest.split_once(": ").map_or(rest, |(_, m)| m).to_string(),
        None => text,
    };
    match error.offset() {
        Some(offset) if offset < pattern.len() => format!(
            "pcre2_compile() failed: {message} in \"{pattern}\" at \"{}\"",
            String::from_utf8_lossy(&pattern.as_bytes()[offset..])
        ),
        _ => format!("pcre2_compile() failed: {message} in \"{pattern}\""),
    }
}

/// A compiled `map` block.
#[derive(Debug)]
pub struct Map<V> {
    hostnames: bool,
    volatile: bool,
    values: Vec<V>,
    default: Option<usize>,
    exact: HashMap<Vec<u8>, usize>,
    head: HashMap<Vec<u8>, Head>,
    tail: HashMap<Vec<u8>, usize>,
    regexes: Vec<(MapRegex, usize)>,
}

/// The result of a lookup.
#[derive(Debug)]
pub struct MapMatch<'m, V> {
    /// The value of the matching key, or `default`'s; `None` when nothing matched and there
    /// is no `default` (the variable is then the empty string).
    pub value: Option<&'m V>,
    /// The captures of the regex that matched, for `$1`..`$9` and named captures.
    pub captures: Option<Captures>,
    /// A regex failed to run (nginx logs it at `alert` and uses the default):
    /// `pcre2_match() failed: CODE on "VALUE" using "RE"`.
    pub regex_error: Option<String>,
}

impl<V> Map<V> {
    /// Whether `volatile` was given (the variable is not cacheable).
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// Whether `hostnames` was given.
    pub fn is_hostnames(&self) -> bool {
        self.hostnames
    }

    /// The capture names of every regex key, for the caller to declare named-capture
    /// variables (index = capture number).
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regexes
            .iter()
            .flat_map(|(r, _)| r.regex.capture_names().iter().flatten().map(String::as_str))
    }

    /// Looks the evaluated source value up.
    pub fn find(&self, source: &[u8]) -> MapMatch<'_, V> {
        // `hostnames` drops one trailing dot.
        let source = match source {
            [rest @ .., b'.'] if self.hostnames => rest,
            _ => source,
        };
        let found = |index: usize| MapMatch {
            value: Some(&self.values[index]),
            captures: None,
            regex_error: None,
        };

        // Exact keys, then wildcards, all on the lowercased value.
        let lower = source.to_ascii_lowercase();
        if let Some(&index) = self.exact.get(&lower) {
            return found(index);
        }
        if !lower.is_empty() {
            if let Some(index) = self.find_head(&lower).or_else(|| self.find_tail(&lower)) {
                return found(index);
            }
        }

        // Regexes in config order, on the value as is; an empty value skips them.
        if !source.is_empty() {
            for (map_regex, index) in &self.regexes {
                let mut locations = map_regex.regex.capture_locations();
                match map_regex.regex.captures_read(&mut locations, source) {
                    Ok(Some(_)) => {
                        return MapMatch {
                            value: Some(&self.values[*index]),
                            captures: Some(Captures::new(source, &locations, &map_regex.regex)),
                            regex_error: None,
                        };
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        let error = format!(
                            "pcre2_match() failed: {} on \"{}\" using \"{}\"",
                            e.code(),
                            display(source),
                            map_regex.pattern
                        );
                        return MapMatch { regex_error: Some(error), ..self.fallback() };
                    }
                }
            }
        }

        self.fallback()
    }

    fn fallback(&self) -> MapMatch<'_, V> {
        MapMatch {
            value: self.default.map(|index| &self.values[index]),
            captures: None,
            regex_error: None,
        }
    }

    /// The longest `*.suffix` / `.suffix` key matching `name` (a `*.` key needs at least one
    /// more label; a `.` key also matches the bare suffix).
    fn find_head(&self, name: &[u8]) -> Option<usize> {
        if self.head.is_empty() {
            return None;
        }
        let starts = std::iter::once(0)
            .chain(name.iter().enumerate().filter(|(_, &c)| c == b'.').map(|(i, _)| i + 1));
        for start in starts {
            if let Some(head) = self.head.get(&name[start..]) {
                if head.dot || start > 0 {
                    return Some(head.value);
                }
            }
        }
        None
    }

    /// The longest `prefix.*` key matching `name` (at least one more label after it).
    fn find_tail(&self, name: &[u8]) -> Option<usize> {
        if self.tail.is_empty() {
            return None;
        }
        let dots = name.iter().enumerate().filter(|(_, &c)| c == b'.').map(|(i, _)| i);
        let ends: Vec<usize> = dots.collect();
        ends.iter().rev().find_map(|&end| self.tail.get(&name[..end]).copied())
    }
}

/// The captures of a regex match: `$0` is the whole match, `$1`..`$N` the groups (empty when
/// a group did not take part or `N` is past the last group), and named groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captures {
    subject: Vec<u8>,
    groups: Vec<Option<(usize, usize)>>,
    names: Vec<(String, usize)>,
}

impl Captures {
    fn new(
        subject: &[u8],
        locations: &pcre2::bytes::CaptureLocations,
        regex: &pcre2::bytes::Regex,
    ) -> Captures {
        let groups = (0..locations.len()).map(|i| locations.get(i)).collect();
        let names = regex
            .capture_names()
            .iter()
            .enumerate()
            .filter_map(|(i, name)| name.clone().map(|n| (n, i)))
            .collect();
        Captures { subject: subject.to_vec(), groups, names }
    }

    /// `$n`: the bytes of group `n`, empty if it did not match or does not exist.
    pub fn get(&self, n: usize) -> &[u8] {
        match self.groups.get(n).copied().flatten() {
            Some((start, end)) => &self.subject[start..end],
            None => b"",
        }
    }

    /// The number of groups including `$0`.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Always false: a match has at least `$0`.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The named groups and their values, in pattern order.
    pub fn named(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.names.iter().map(|(name, i)| (name.as_str(), self.get(*i)))
    }
}

/// `map_hash_max_size` and `map_hash_bucket_size`, the sizes nginx builds a map's hash tables
/// with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSizes {
    /// `map_hash_max_size` (default 2048).
    pub max_size: usize,
    /// `map_hash_bucket_size` rounded up to the cache line (default: the cache line, 64).
    pub bucket_size: usize,
}

/// The CPU cache line nginx aligns bucket sizes to (`ngx_cacheline_size` on x86-64).
const CACHE_LINE: usize = 64;

impl Default for HashSizes {
    fn default() -> HashSizes {
        HashSizes { max_size: 2048, bucket_size: CACHE_LINE }
    }
}

impl HashSizes {
    /// The sizes from the directives, if given (`map_hash_bucket_size` is rounded up to a
    /// multiple of the cache line, as nginx does).
    pub fn new(max_size: Option<usize>, bucket_size: Option<usize>) -> HashSizes {
        HashSizes {
            max_size: max_size.unwrap_or(2048),
            bucket_size: bucket_size.map_or(CACHE_LINE, |b| b.div_ceil(CACHE_LINE) * CACHE_LINE),
        }
    }

    /// nginx's `ngx_hash_wildcard_init` on keys sorted by [`dns_cmp`]: one table per level of
    /// labels, the deeper levels first.
    fn wildcard_init(&self, keys: &[&[u8]], warnings: &mut Vec<String>) -> Result<(), MapError> {
        let mut labels: Vec<&[u8]> = Vec::new();
        let mut n = 0;
        while n < keys.len() {
            // The group of keys sharing the first label of keys[n].
            let key = keys[n];
            let dot = key.iter().position(|&c| c == b'.');
            let label_len = dot.unwrap_or(key.len());
            labels.push(&key[..label_len]);
            let len = if dot.is_some() { label_len + 1 } else { label_len };
            let mut next: Vec<&[u8]> = Vec::new();
            if key.len() != len {
                next.push(&key[len..]);
            }
            let mut i = n + 1;
            while i < keys.len() {
                let other = keys[i];
                if other.get(..len) != Some(&key[..len])
                    || (dot.is_none() && other.len() > len && other[len] != b'.')
                {
                    break;
                }
                next.push(&other[label_len + 1..]);
                i += 1;
            }

            // The rest of the group is the next level.
            if !next.is_empty() {
                self.wildcard_init(&next, warnings)?;
            }
            n = i;
        }
        self.init(&labels, warnings)
    }

    /// nginx's `ngx_hash_init` checks for one table of `keys`.
    fn init(&self, keys: &[&[u8]], warnings: &mut Vec<String>) -> Result<(), MapError> {
        let HashSizes { max_size, bucket_size } = *self;
        let fail = |what: String| Err(MapError::Hash(format!("could not build map_hash, {what}")));

        // Limits on the sizes themselves and on each element.
        if max_size == 0 {
            return fail(format!("you should increase map_hash_max_size: {max_size}"));
        }
        if bucket_size > 65536 - CACHE_LINE {
            return fail(format!("too large map_hash_bucket_size: {bucket_size}"));
        }
        let element = |key: &[u8]| 8 + (key.len() + 2).div_ceil(8) * 8;
        if keys.iter().any(|k| bucket_size < element(k) + 8) {
            return fail(format!("you should increase map_hash_bucket_size: {bucket_size}"));
        }

        // The smallest table size whose buckets all fit bucket_size.
        let hashes: Vec<u64> = keys.iter().map(|k| key_hash(k)).collect();
        let bucket = bucket_size - 8;
        let mut start = (keys.len() / (bucket / 16)).max(1);
        if max_size > 10_000 && !keys.is_empty() && max_size / keys.len() < 100 {
            start = max_size - 1000;
        }
        let fits = |size: usize| {
            let mut used = vec![0usize; size];
            keys.iter().zip(&hashes).all(|(key, &hash)| {
                let slot = &mut used[(hash % size as u64) as usize];
                *slot += element(key);
                *slot <= bucket
            })
        };
        let size = match (start..=max_size).find(|&size| fits(size)) {
            Some(size) => size,
            None => {
                warnings.push(format!(
                    "could not build optimal map_hash, you should increase either \
                     map_hash_max_size: {max_size} or map_hash_bucket_size: {bucket_size}; \
                     ignoring map_hash_bucket_size"
                ));
                max_size
            }
        };

        // Every bucket (with its end marker) must stay below 64K.
        let mut used = vec![8usize; size];
        for (key, &hash) in keys.iter().zip(&hashes) {
            let slot = &mut used[(hash % size as u64) as usize];
            *slot += element(key);
            if *slot > 65536 - CACHE_LINE {
                return fail(format!("you should increase map_hash_max_size: {max_size}"));
            }
        }
        Ok(())
    }
}

/// nginx's `ngx_hash_key_lc`: `key * 31 + byte` over the lowercased bytes.
fn key_hash(key: &[u8]) -> u64 {
    key.iter()
        .fold(0u64, |k, &c| k.wrapping_mul(31).wrapping_add(u64::from(c.to_ascii_lowercase())))
}

/// nginx's `ngx_dns_strcmp`: ASCII case-insensitive; at the first difference `.` counts as
/// a space, so it sorts below every other byte but the end of the string.
fn dns_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for i in 0.. {
        let c1 = a.get(i).map_or(0, u8::to_ascii_lowercase);
        let c2 = b.get(i).map_or(0, u8::to_ascii_lowercase);
        if c1 == c2 {
            if c1 == 0 {
                break;
            }
            continue;
        }
        let dot_low = |c: u8| if c == b'.' { b' ' } else { c };
        return dot_low(c1).cmp(&dot_low(c2));
    }
    std::cmp::Ordering::Equal
}

/// Bytes as nginx prints them in messages (`%V`: raw; non-UTF-8 shown lossily here).
fn display(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a map of string values from `(key, value)` lines; `hostnames`/`volatile` as keys
    /// with an empty value are the one-token lines.
    fn build(lines: &[(&str, &str)]) -> Result<Map<String>, MapError> {
        let mut builder = MapBuilder::new();
        for (key, value) in lines {
            let tokens: Vec<&[u8]> = if value.is_empty() && ["hostnames", "volatile"].contains(key)
            {
                vec![key.as_bytes()]
            } else {
                vec![key.as_bytes(), value.as_bytes()]
            };
            match MapEntry::parse(&tokens)? {
                MapEntry::Hostnames => builder.hostnames(),
                MapEntry::Volatile => builder.volatile(),
                MapEntry::Pair { key, value } => {
                    builder.add(key, String::from_utf8(value.to_vec()).unwrap())?
                }
            }
        }
        Ok(builder.build())
    }

    /// The value as nginx's `return "$m"` shows it, with `$1`..`$3` and `$lbl` expanded.
    fn lookup(map: &Map<String>, source: &str) -> String {
        let found = map.find(source.as_bytes());
        let Some(value) = found.value else { return String::new() };
        let Some(captures) = found.captures else { return value.clone() };
        let mut out = value.clone();
        for (name, bytes) in captures.named() {
            out = out.replace(&format!("${name}"), &String::from_utf8_lossy(bytes));
        }
        for n in (1..=9).rev() {
            let group = String::from_utf8_lossy(captures.get(n)).into_owned();
            out = out.replace(&format!("${n}"), &group);
        }
        out
    }

    /// The first map of the real-nginx run below: plain keys and regexes.
    fn plain() -> Map<String> {
        build(&[
            ("default", "D"),
            ("foo", "F"),
            ("\\~lit", "TILDE"),
            ("*.star.com", "STARLIT"),
            ("", "EMPTY"),
            ("\\default", "DEF"),
            ("~^abc(\\d+)$", "re:$1"),
            ("~*^img(\\d+)\\.cdn\\.(io)$", "rei:$1:$2"),
        ])
        .unwrap()
    }

    /// The `hostnames` map of the real-nginx run below.
    fn hosts() -> Map<String> {
        build(&[
            ("hostnames", ""),
            ("default", "D"),
            (".example.com", "DOT"),
            ("*.a.b.example.com", "SUB"),
            ("www.example.*", "TAIL"),
            ("example.com.*", "T2"),
            ("*.test.net", "STAR"),
            ("mail.test.net", "EXACT"),
            ("www.foo.*", "WF"),
            ("~^(?<lbl>[a-z]+)\\.foo\\.", "named:$lbl:$1"),
            ("~^(.)\\.(.)$", "two:$2$1:$3"),
            ("~*^(a)(b)$", "$2$1"),
        ])
        .unwrap()
    }

    /// Real nginx 1.22.1 with the two maps above, one server per source value doing
    /// `set $k "VALUE"; return "$plain|$host";`. Columns: value, `$plain`, `$host`.
    const NGINX: &[(&str, &str, &str)] = &[
        ("foo", "F", "D"),
        ("FOO", "F", "D"),
        ("Foo", "F", "D"),
        ("bar", "D", "D"),
        ("www.example.com", "D", "DOT"),
        ("WWW.Example.COM", "D", "DOT"),
        ("example.com", "D", "DOT"),
        ("a.b.example.com", "D", "DOT"),
        ("x.a.b.example.com", "D", "SUB"),
        ("example.com.", "D", "DOT"),
        ("www.example.com.", "D", "DOT"),
        ("www.example.org", "D", "TAIL"),
        ("www.example", "D", "D"),
        ("example.com.au", "D", "T2"),
        ("mail.test.net", "D", "EXACT"),
        ("x.mail.test.net", "D", "STAR"),
        ("www.test.net", "D", "STAR"),
        ("test.net", "D", "D"),
        ("img42.cdn.io", "rei:42:io", "D"),
        ("IMG7.CDN.IO", "rei:7:IO", "D"),
        ("", "EMPTY", "D"),
        ("default", "DEF", "D"),
        ("~lit", "TILDE", "D"),
        ("*.star.com", "STARLIT", "D"),
        ("q.star.com", "D", "D"),
        ("www.foo.bar.baz", "D", "WF"),
        ("www.foo", "D", "D"),
        ("abc.foo.x", "D", "named:abc:abc"),
        ("x.y", "D", "two:yx:"),
        ("A.B", "D", "two:BA:"),
        ("ab", "D", "ba"),
        ("abc123", "re:123", "D"),
        ("ABC123", "D", "D"),
        ("hostnames", "D", "D"),
        ("*", "D", "D"),
        ("foo.bar", "D", "D"),
    ];

    #[test]
    fn lookups_match_nginx() {
        let (plain, hosts) = (plain(), hosts());
        for &(source, want_plain, want_host) in NGINX {
            assert_eq!(lookup(&plain, source), want_plain, "plain map, {source:?}");
            assert_eq!(lookup(&hosts, source), want_host, "hostnames map, {source:?}");
        }
    }

    #[test]
    fn no_default_is_empty_and_empty_value_skips_regexes() {
        let map = build(&[("~^$", "never"), ("~.*", "any")]).unwrap();
        assert!(map.find(b"").value.is_none());
        assert_eq!(lookup(&map, "x"), "any");
    }

    #[test]
    fn head_wildcards_prefer_the_longest_suffix() {
        let map = build(&[
            ("hostnames", ""),
            ("*.com", "COM"),
            ("*.example.com", "EX"),
            (".deep.example.com", "DEEP"),
        ])
        .unwrap();
        assert_eq!(lookup(&map, "a.b.example.com"), "EX");
        assert_eq!(lookup(&map, "example.com"), "COM");
        assert_eq!(lookup(&map, "deep.example.com"), "DEEP");
        assert_eq!(lookup(&map, "x.deep.example.com"), "DEEP");
        assert_eq!(lookup(&map, "com"), "");
    }

    #[test]
    fn tail_wildcards_prefer_the_longest_prefix() {
        let map = build(&[("hostnames", ""), ("www.*", "W"), ("www.example.*", "WE")]).unwrap();
        assert_eq!(lookup(&map, "www.example.com"), "WE");
        assert_eq!(lookup(&map, "www.example"), "W");
        assert_eq!(lookup(&map, "www"), "");
    }

    #[test]
    fn wildcards_without_hostnames_are_exact_keys() {
        let map = build(&[("*.example.com", "X")]).unwrap();
        assert_eq!(lookup(&map, "*.EXAMPLE.com"), "X");
        assert_eq!(lookup(&map, "a.example.com"), "");
        assert!(!map.is_hostnames());
    }

    #[test]
    fn volatile_is_recorded() {
        assert!(build(&[("volatile", ""), ("a", "b")]).unwrap().is_volatile());
        assert!(!build(&[("a", "b")]).unwrap().is_volatile());
    }

    /// Messages of real nginx 1.22.1 `nginx -t` for the same blocks (before ` in FILE:LINE`).
    #[test]
    fn config_errors_match_nginx() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("~(a", "x")], "pcre2_compile() failed: missing closing parenthesis in \"(a\""),
            (
                &[("~a)", "x")],
                "pcre2_compile() failed: unmatched closing parenthesis in \"a)\" at \")\"",
            ),
            (
                &[("~*[", "x")],
                "pcre2_compile() failed: missing terminating ] for character class in \"[\"",
            ),
            (
                &[("~(?<n>a)(?<n>b)", "x")],
                "pcre2_compile() failed: two named subpatterns have the same name \
                 (PCRE2_DUPNAMES not set) in \"(?<n>a)(?<n>b)\" at \"b)\"",
            ),
            (&[("~a\\", "x")], "pcre2_compile() failed: \\ at end of pattern in \"a\\\""),
            (&[("a", "x"), ("A", "y")], "conflicting parameter \"a\""),
            (
                &[("hostnames", ""), (".a.com", "x"), ("a.com", "y")],
                "conflicting parameter \"a.com\"",
            ),
            (
                &[("hostnames", ""), ("a.com", "x"), (".a.com", "y")],
                "conflicting parameter \".a.com\"",
            ),
            (
                &[("hostnames", ""), ("*.a.com", "x"), (".a.com", "y")],
                "conflicting parameter \".a.com\"",
            ),
            (
                &[("hostnames", ""), ("www.a.*", "x"), ("www.A.*", "y")],
                "conflicting parameter \"www.a.*\"",
            ),
            (&[("hostnames", ""), ("w*.a.com", "x")], "invalid hostname or wildcard \"w*.a.com\""),
            (&[("hostnames", ""), ("a..com", "x")], "invalid hostname or wildcard \"a..com\""),
            (&[("hostnames", ""), ("*", "x")], "invalid hostname or wildcard \"*\""),
            (&[("hostnames", ""), ("a.*.c", "x")], "invalid hostname or wildcard \"a.*.c\""),
            (&[("default", "a"), ("default", "b")], "duplicate default map parameter"),
        ];
        for (lines, message) in cases {
            let err = build(lines).unwrap_err();
            assert_eq!(err.to_string(), *message, "{lines:?}");
        }
        assert_eq!(
            MapEntry::parse(&[b"a", b"b", b"c"]).unwrap_err().to_string(),
            "invalid number of the map parameters"
        );
        assert_eq!(MapEntry::parse(&[b"a"]), Err(MapError::ParameterCount));
        assert_eq!(
            MapEntry::parse(&[b"hostnames", b"x"]),
            Ok(MapEntry::Pair { key: b"hostnames", value: b"x" })
        );
    }

    fn builder(lines: &[(&str, &str)]) -> MapBuilder<String> {
        let mut builder = MapBuilder::new();
        for (key, value) in lines {
            if *key == "hostnames" {
                builder.hostnames();
            } else {
                builder.add(key.as_bytes(), value.to_string()).unwrap();
            }
        }
        builder
    }

    /// Real nginx 1.22.1 `nginx -t` on the same blocks (messages before ` in FILE:LINE`).
    #[test]
    fn hash_sizes_match_nginx() {
        let long = |n: usize| "k".repeat(n);
        let bucket =
            |n| format!("could not build map_hash, you should increase map_hash_bucket_size: {n}");
        let optimal = |max| {
            format!(
                "could not build optimal map_hash, you should increase either \
                 map_hash_max_size: {max} or map_hash_bucket_size: 64; \
                 ignoring map_hash_bucket_size"
            )
        };
        let check = |sizes: HashSizes, lines: Vec<(String, &str)>| {
            let lines: Vec<(&str, &str)> = lines.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            builder(&lines).check_hash(sizes).map_err(|e| e.to_string())
        };
        let default = HashSizes::default();

        // Key length against the default 64-byte buckets, and a rounded-up bucket size.
        assert_eq!(check(default, vec![(long(46), "v")]), Ok(vec![]));
        assert_eq!(check(default, vec![(long(47), "v")]), Err(bucket(64)));
        let b100 = HashSizes::new(None, Some(100));
        assert_eq!(b100.bucket_size, 128);
        assert_eq!(check(b100, vec![(long(100), "v")]), Ok(vec![]));
        assert_eq!(check(b100, vec![(long(120), "v")]), Err(bucket(128)));

        // Wildcard labels are sized level by level.
        let host = |k: String| vec![("hostnames".to_string(), ""), (k, "v")];
        assert_eq!(check(default, host(format!("*.{}.com", long(46)))), Ok(vec![]));
        assert_eq!(check(default, host(format!("*.{}.com", long(47)))), Err(bucket(64)));
        assert_eq!(check(default, host(format!("www.{}.*", long(47)))), Err(bucket(64)));

        // Too small a max_size: one warning per table that cannot be optimal.
        let max4 = HashSizes::new(Some(4), None);
        let keys: Vec<(String, &str)> = (0..40).map(|i| (format!("key{i}"), "v")).collect();
        assert_eq!(check(max4, keys), Ok(vec![optimal(4)]));
        let max10 = HashSizes::new(Some(10), None);
        let mut wild = vec![("hostnames".to_string(), "")];
        wild.extend((0..40).map(|i| (format!("*.d{i}.com"), "v")));
        assert_eq!(check(max10, wild.clone()), Ok(vec![optimal(10)]));
        for i in 0..40 {
            wild.push((format!("www.d{i}.*"), "w"));
            wild.push((format!("e{i}"), "x"));
        }
        assert_eq!(check(max10, wild), Ok(vec![optimal(10); 3]));
        let big = HashSizes::new(Some(20_000), None);
        let keys: Vec<(String, &str)> = (0..300).map(|i| (format!("key{i}"), "v")).collect();
        assert_eq!(check(big, keys), Ok(vec![]));

        // Invalid sizes.
        let zero = HashSizes::new(Some(0), None);
        assert_eq!(
            check(zero, vec![("a".into(), "v")]),
            Err("could not build map_hash, you should increase map_hash_max_size: 0".into())
        );
        let huge = HashSizes::new(None, Some(65536));
        assert_eq!(
            check(huge, vec![("a".into(), "v")]),
            Err("could not build map_hash, too large map_hash_bucket_size: 65536".into())
        );
    }

    #[test]
    fn dns_order_puts_dots_first() {
        let mut keys: Vec<&[u8]> =
            vec![b"com.example-a", b"com.example.", b"com.example", b"COM.a"];
        keys.sort_by(|a, b| dns_cmp(a, b));
        assert_eq!(keys, [b"COM.a".as_slice(), b"com.example", b"com.example.", b"com.example-a"]);
    }

    #[test]
    fn duplicate_regexes_are_allowed_and_first_wins() {
        let map = build(&[("~a", "first"), ("~a", "second")]).unwrap();
        assert_eq!(lookup(&map, "a"), "first");
    }

    #[test]
    fn captures_expose_groups_and_names() {
        let map = build(&[("~^(?<user>[^@]+)@(.*)$", "v")]).unwrap();
        let found = map.find(b"joe@example.com");
        let captures = found.captures.unwrap();
        assert_eq!(captures.len(), 3);
        assert_eq!(captures.get(0), b"joe@example.com");
        assert_eq!(captures.get(1), b"joe");
        assert_eq!(captures.get(2), b"example.com");
        assert_eq!(captures.get(7), b"");
        assert_eq!(captures.named().collect::<Vec<_>>(), [("user", b"joe".as_slice())]);
        assert_eq!(map.capture_names().collect::<Vec<_>>(), ["user"]);
    }

    #[test]
    fn regexes_match_bytes_not_utf8() {
        let map = build(&[("~^\\x{ff}.$", "bytes")]).unwrap();
        assert_eq!(map.find(b"\xff\xfe").value.map(String::as_str), Some("bytes"));
    }
}
