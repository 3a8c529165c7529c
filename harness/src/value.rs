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
    modifiers: Modifiers,
    compiled: Regex,
}

/// The modifiers of a `qr//` once Perl has read them: repeats folded, `o` dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Modifiers {
    multi_line: bool,
    single_line: bool,
    caseless: bool,
    /// `x` once (1) or twice (2, `xx`: spaces in bracketed classes ignored too).
    extended: u8,
    /// `n`: groups do not capture.
    no_capture: bool,
    /// `p`: keep a copy of the match (always so in current Perl).
    keep_copy: bool,
    /// `a` (1) or `aa` (2): ASCII rules, which are PCRE2's own for byte strings.
    ascii: u8,
}

impl Modifiers {
    /// Reads the flags after `qr/.../`; what Perl refuses, and the Unicode and locale rules
    /// (`u`, `l`) that differ from PCRE2's on bytes, are errors.
    fn parse(flags: &str) -> Result<Modifiers, String> {
        let mut m = Modifiers::default();
        let mut charset: Option<char> = None;
        for flag in flags.chars() {
            match flag {
                'm' => m.multi_line = true,
                's' => m.single_line = true,
                'i' => m.caseless = true,
                'x' => m.extended = (m.extended + 1).min(2),
                'n' => m.no_capture = true,
                'p' => m.keep_copy = true,
                'o' => {}
                'a' | 'd' | 'u' | 'l' => {
                    if charset.is_some_and(|c| c != flag) {
                        return Err(format!(
                            "regex modifiers '{}' and '{flag}' are mutually exclusive",
                            charset.unwrap_or(flag)
                        ));
                    }
                    charset = Some(flag);
                    if flag == 'a' {
                        m.ascii += 1;
                        if m.ascii > 2 {
                            return Err("regex modifier 'a' may appear at most twice".into());
                        }
                    } else if flag != 'd' {
                        return Err(format!("regex flag '{flag}' is not supported"));
                    }
                }
                other => return Err(format!("regex flag '{other}' is not supported")),
            }
        }
        Ok(m)
    }

    /// The flags as Perl shows them in `(?^...:...)`: charset, `p`, then `msixxn`; the `^`
    /// goes when every standard flag and a charset are set.
    fn shown(&self) -> String {
        let mut out = String::new();
        let all_standard = self.multi_line
            && self.single_line
            && self.caseless
            && self.extended == 2
            && self.no_capture;
        if !(all_standard && self.ascii > 0) {
            out.push('^');
        }
        out.push_str(&"a".repeat(usize::from(self.ascii)));
        let flags = [
            (self.keep_copy, "p"),
            (self.multi_line, "m"),
            (self.single_line, "s"),
            (self.caseless, "i"),
            (self.extended >= 1, "x"),
            (self.extended == 2, "x"),
            (self.no_capture, "n"),
        ];
        for (set, letter) in flags {
            if set {
                out.push_str(letter);
            }
        }
        out
    }
}

impl PerlRegex {
    /// Compiles `source` (the pattern as Perl holds it: the delimiter unescaped) with
    /// Perl's flags `m s i x xx n p a aa d o`.
    pub fn new(source: &str, flags: &str) -> Result<PerlRegex, String> {
        let modifiers = Modifiers::parse(flags)?;
        let mut builder = RegexBuilder::new();
        builder
            .caseless(modifiers.caseless)
            .multi_line(modifiers.multi_line)
            .dotall(modifiers.single_line)
            .extended(modifiers.extended >= 1);

        // PCRE2 has no builder options for these two; its inline settings mean the same.
        let mut pattern = String::new();
        if modifiers.extended == 2 {
            pattern.push_str("(?xx)");
        }
        if modifiers.no_capture {
            pattern.push_str("(?n)");
        }
        pattern.push_str(source);
        let compiled = builder.build(&pattern).map_err(|e| format!("regex /{source}/: {e}"))?;
        Ok(PerlRegex { source: source.to_string(), flags: flags.to_string(), modifiers, compiled })
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
        self.source == other.source && self.modifiers == other.modifiers
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
        write!(f, "(?{}:{})", self.modifiers.shown(), self.source)
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

    /// Each checked against `perl -e 'print qr/x/FLAGS'` (Perl 5.36).
    #[test]
    fn displays_like_perl() {
        assert_eq!(PerlRegex::new("a b", "s").unwrap().to_string(), "(?^s:a b)");
        for (flags, perl) in [
            ("p", "(?^p:x)"),
            ("n", "(?^n:x)"),
            ("msixpn", "(?^pmsixn:x)"),
            ("xix", "(?^ixx:x)"),
            ("xxx", "(?^xx:x)"),
            ("ia", "(?^ai:x)"),
            ("aai", "(?^aai:x)"),
            ("msixxna", "(?amsixxn:x)"),
            ("msixna", "(?^amsixn:x)"),
            ("ssiio", "(?^si:x)"),
            ("d", "(?^:x)"),
        ] {
            assert_eq!(PerlRegex::new("x", flags).unwrap().to_string(), perl, "{flags}");
        }
    }

    #[test]
    fn n_and_xx_mean_what_perl_means() {
        // Perl: "Reference to nonexistent group" under n.
        assert!(PerlRegex::new("(a)\\1", "n").is_err(), "with n, (a) does not capture");
        assert!(PerlRegex::new("(a)\\1", "").unwrap().is_match(b"aa"));
        let spaced = PerlRegex::new("[a b]", "xx").unwrap();
        assert!(!spaced.is_match(b" "), "xx ignores spaces inside a class");
        assert!(PerlRegex::new("[a b]", "x").unwrap().is_match(b" "));
    }

    #[test]
    fn refuses_what_perl_refuses_and_unicode_rules() {
        for flags in ["e", "g", "aaa", "ad", "u", "l"] {
            assert!(PerlRegex::new("x", flags).is_err(), "{flags}");
        }
    }
}
