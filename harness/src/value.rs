//! Section values after filters: byte strings, lists and Perl regular expressions.

use std::fmt;

use pcre2::bytes::{Regex, RegexBuilder};

/// The value of a section once its filters ran, as Test::Base holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A Perl string. Characters below 256 are one byte each; a string holding a wider
    /// character is UTF-8, as Perl prints it.
    Str(Vec<u8>),
    /// An array reference (`[ ... ]`).
    List(Vec<Value>),
    /// A compiled `qr/.../flags`.
    Regex(PerlRegex),
}

impl Value {
    /// The bytes of a string value; `None` for a list or a regex.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The value as text for messages and config: strings lossily, others as Perl shows them.
    pub fn to_text(&self) -> String {
        match self {
            Value::Str(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(Value::to_text).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Regex(re) => re.to_string(),
        }
    }

    /// Perl truthiness of a value: `""` and `"0"` are false, references are true.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Str(bytes) => !(bytes.is_empty() || bytes == b"0"),
            _ => true,
        }
    }
}

/// A Perl regular expression (`qr//`), compiled with PCRE2 so that Perl's semantics hold
/// (`$` before a final newline, lookarounds, backreferences).
#[derive(Clone)]
pub struct PerlRegex {
    source: String,
    flags: String,
    compiled: Regex,
}

impl PerlRegex {
    /// Compiles `source` with Perl's flags (`i`, `m`, `s`, `x`; `o` is ignored).
    pub fn new(source: &str, flags: &str) -> Result<PerlRegex, String> {
        let mut builder = RegexBuilder::new();
        for flag in flags.chars() {
            match flag {
                'i' => builder.caseless(true),
                'm' => builder.multi_line(true),
                's' => builder.dotall(true),
                'x' => builder.extended(true),
                'o' => &mut builder,
                other => return Err(format!("regex flag '{other}' is not supported")),
            };
        }
        let compiled = builder.build(source).map_err(|e| format!("regex /{source}/: {e}"))?;
        Ok(PerlRegex { source: source.to_string(), flags: flags.to_string(), compiled })
    }

    /// Whether the expression matches anywhere in `haystack` (a match error, such as
    /// PCRE2's match limit, counts as no match).
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.compiled.is_match(haystack).unwrap_or(false)
    }

    /// The text of the first match (Perl's `$&`) in `haystack`.
    pub fn find<'h>(&self, haystack: &'h [u8]) -> Option<&'h [u8]> {
        self.compiled.find(haystack).ok().flatten().map(|m| m.as_bytes())
    }
}

impl PartialEq for PerlRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl fmt::Debug for PerlRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = self.source.replace('\n', "\\n").replace('\r', "\\r").replace('\t', "\\t");
        write!(f, "qr/{source}/{}", self.flags)
    }
}

impl fmt::Display for PerlRegex {
    /// Shown the way Perl stringifies a Regexp: `(?^flags:source)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags: String = "msix".chars().filter(|c| self.flags.contains(*c)).collect();
        write!(f, "(?^{}:{})", flags, self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_matches_before_a_final_newline_like_perl() {
        let re = PerlRegex::new("world$", "").unwrap();
        assert!(re.is_match(b"hello world\n"));
        assert!(!re.is_match(b"hello world\nmore"));
        assert_eq!(re.find(b"hello world\n"), Some(&b"world"[..]));
    }

    #[test]
    fn flags_apply() {
        let re = PerlRegex::new("a.b", "s").unwrap();
        assert!(re.is_match(b"a\nb"));
        let re = PerlRegex::new("HELLO", "i").unwrap();
        assert!(re.is_match(b"hello"));
        assert!(PerlRegex::new("x", "e").is_err());
    }

    #[test]
    fn dollar_then_newline_matches_like_perl() {
        let re = PerlRegex::new("^a$\n", "s").unwrap();
        assert!(re.is_match(b"a\n"));
        assert!(PerlRegex::new("(?<=a)b", "").unwrap().is_match(b"ab"));
    }

    #[test]
    fn displays_like_perl() {
        assert_eq!(PerlRegex::new("a b", "s").unwrap().to_string(), "(?^s:a b)");
    }
}
