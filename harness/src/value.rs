//! Section values after filters: byte strings, lists and Perl regular expressions.

use std::fmt;

use regex::bytes::Regex;

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

/// A Perl regular expression (`qr//`) translated to the `regex` crate.
#[derive(Clone)]
pub struct PerlRegex {
    source: String,
    flags: String,
    compiled: Regex,
    /// Whether a Perl `$` (end, or before a final newline) was translated to `\n?\z`, in
    /// which case a match may carry the newline that Perl's match would leave out.
    end_translated: bool,
}

impl PerlRegex {
    /// Compiles `source` with Perl's flags (`i`, `m`, `s`, `x`; `o` is ignored).
    pub fn new(source: &str, flags: &str) -> Result<PerlRegex, String> {
        let mut inline = String::new();
        for flag in flags.chars() {
            match flag {
                'i' | 'm' | 's' | 'x' => {
                    if !inline.contains(flag) {
                        inline.push(flag);
                    }
                }
                'o' => {}
                other => return Err(format!("regex flag '{other}' is not supported")),
            }
        }
        let multi_line = inline.contains('m');
        let (translated, end_translated) = translate_perl_regex(source, multi_line);
        let pattern =
            if inline.is_empty() { translated } else { format!("(?{inline}){translated}") };
        let compiled = Regex::new(&pattern).map_err(|e| format!("regex /{source}/: {e}"))?;
        Ok(PerlRegex { source: source.to_string(), flags: flags.to_string(), compiled, end_translated })
    }

    /// Whether the expression matches anywhere in `haystack`.
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.compiled.is_match(haystack)
    }

    /// The text of the first match (Perl's `$&`) in `haystack`.
    pub fn find<'h>(&self, haystack: &'h [u8]) -> Option<&'h [u8]> {
        let found = self.compiled.find(haystack)?.as_bytes();
        match found.strip_suffix(b"\n") {
            Some(stripped) if self.end_translated && haystack.ends_with(found) => Some(stripped),
            _ => Some(found),
        }
    }
}

impl PartialEq for PerlRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl fmt::Debug for PerlRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "qr/{}/{}", self.source, self.flags)
    }
}

impl fmt::Display for PerlRegex {
    /// Shown the way Perl stringifies a Regexp: `(?^flags:source)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags: String = "msix".chars().filter(|c| self.flags.contains(*c)).collect();
        write!(f, "(?^{}:{})", flags, self.source)
    }
}

/// Rewrites the Perl constructs whose meaning differs in the `regex` crate: `$` and `\Z`
/// (end of string or before a final newline, without `m`) become `\n?\z`.
fn translate_perl_regex(source: &str, multi_line: bool) -> (String, bool) {
    let mut out = String::with_capacity(source.len() + 8);
    let mut translated = false;
    let mut in_class = false;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') => {
                    out.push_str(r"(?:\n?\z)");
                    translated = true;
                }
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` right after `[` or `[^` is a literal member of the class.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str(r"\]");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class && !multi_line => {
                out.push_str(r"(?:\n?\z)");
                translated = true;
            }
            other => out.push(other),
        }
    }
    (out, translated)
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
    fn dollar_inside_a_class_is_literal() {
        let re = PerlRegex::new("[$]x", "").unwrap();
        assert!(re.is_match(b"$x"));
    }

    #[test]
    fn displays_like_perl() {
        assert_eq!(PerlRegex::new("a b", "s").unwrap().to_string(), "(?^s:a b)");
    }
}
