//! Argument templates, nginx's "complex values": an argument split into literal text,
//! variables (`$name`, `${name}`) and regex captures (`$1`..`$9`), compiled once at load.
//!
//! Rules, as nginx's script compiler applies them: a variable name is `[A-Za-z0-9_]+`;
//! `${name}` lets a name touch the text after it; there is no escape for `$` (`\$x` keeps
//! the backslash and still reads `$x`); `$` followed by a digit 1-9 is a capture. Names are
//! kept as written (nginx matches variable names case-insensitively when it looks them up).
//! A `data:` prefix is not recognised here: nginx looks at the evaluated value at runtime.

use crate::error::ErrorKind;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Text copied as is.
    Literal(Vec<u8>),
    /// A variable, by name as written (without `$` and brackets).
    Variable(Vec<u8>),
    /// A regex capture, `$1`..`$9`.
    Capture(u8),
}

/// A compiled argument: literal and variable segments in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Template {
    segments: Vec<Segment>,
}

/// Bytes allowed in a variable name.
fn is_name_byte(ch: u8) -> bool {
    ch.is_ascii_alphanumeric() || ch == b'_'
}

impl Template {
    /// Compiles an argument value (as stored in [`crate::ast::Arg::value`]).
    ///
    /// Errors carry nginx's messages: `the closing bracket in "NAME" variable is missing`,
    /// `invalid variable name`; the caller adds the place (the directive's line).
    pub fn parse(value: &[u8]) -> Result<Template, ErrorKind> {
        let mut segments = Vec::new();
        let mut i = 0;
        while i < value.len() {
            // Step: literal text runs up to the next `$`.
            if value[i] != b'$' {
                let end = memchr::memchr(b'$', &value[i..]).map_or(value.len(), |at| i + at);
                segments.push(Segment::Literal(value[i..end].to_vec()));
                i = end;
                continue;
            }

            // Step: `$` must be followed by something.
            i += 1;
            let Some(&first) = value.get(i) else {
                return Err(ErrorKind::InvalidVariableName);
            };

            // Step: `$1`..`$9` are captures.
            if (b'1'..=b'9').contains(&first) {
                segments.push(Segment::Capture(first - b'0'));
                i += 1;
                continue;
            }

            // Step: `${name}` or `$name`.
            let mut bracket = first == b'{';
            if bracket {
                i += 1;
                if i == value.len() {
                    return Err(ErrorKind::InvalidVariableName);
                }
            }
            let name_start = i;
            let mut name_end = i;
            while i < value.len() {
                let ch = value[i];
                if ch == b'}' && bracket {
                    name_end = i;
                    i += 1;
                    bracket = false;
                    break;
                }
                if !is_name_byte(ch) {
                    break;
                }
                i += 1;
                name_end = i;
            }
            if bracket {
                let name = value[name_start..name_end].to_vec();
                return Err(ErrorKind::VariableBracketMissing { name });
            }
            if name_end == name_start {
                return Err(ErrorKind::InvalidVariableName);
            }
            segments.push(Segment::Variable(value[name_start..name_end].to_vec()));
        }
        Ok(Template { segments })
    }

    /// The segments in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the template has no variables and no captures (nginx stores such a value as
    /// plain text).
    pub fn is_literal(&self) -> bool {
        self.segments.iter().all(|s| matches!(s, Segment::Literal(_)))
    }

    /// The text of a literal template (`None` when it has variables or captures).
    pub fn literal(&self) -> Option<Vec<u8>> {
        self.is_literal().then(|| {
            self.segments
                .iter()
                .flat_map(|s| match s {
                    Segment::Literal(text) => text.as_slice(),
                    _ => &[],
                })
                .copied()
                .collect()
        })
    }

    /// The names of the variables used, in order of appearance (repeats included).
    pub fn variables(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Variable(name) => Some(name.as_slice()),
            _ => None,
        })
    }

    /// The capture numbers used, in order of appearance.
    pub fn captures(&self) -> impl Iterator<Item = u8> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Capture(n) => Some(*n),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str) -> Segment {
        Segment::Literal(text.as_bytes().to_vec())
    }

    fn var(name: &str) -> Segment {
        Segment::Variable(name.as_bytes().to_vec())
    }

    #[test]
    fn literal_only() {
        let t = Template::parse(b"/etc/ssl/a.pem").unwrap();
        assert!(t.is_literal());
        assert_eq!(t.literal().unwrap(), b"/etc/ssl/a.pem");
        assert!(Template::parse(b"").unwrap().is_literal());
    }

    #[test]
    fn variables_plain_and_bracketed() {
        let t = Template::parse(b"a$b_1-${c}d$E").unwrap();
        assert_eq!(t.segments(), &[lit("a"), var("b_1"), lit("-"), var("c"), lit("d"), var("E")]);
        assert_eq!(t.variables().collect::<Vec<_>>(), vec![&b"b_1"[..], b"c", b"E"]);
        assert!(!t.is_literal());
    }

    #[test]
    fn captures_are_one_digit() {
        let t = Template::parse(b"$12$0x").unwrap();
        assert_eq!(t.segments(), &[Segment::Capture(1), lit("2"), var("0x")]);
    }

    #[test]
    fn backslash_does_not_escape_dollar() {
        let t = Template::parse(b"\\$x").unwrap();
        assert_eq!(t.segments(), &[lit("\\"), var("x")]);
    }

    // Messages observed with nginx 1.22.1: `return "${foo";` -> the closing bracket in "foo"
    // variable is missing; `return "$";`, `"${}"`, `"a$-"` -> invalid variable name;
    // `"a${foo-x}"` -> the closing bracket in "foo" variable is missing.
    #[test]
    fn faults_read_like_nginx() {
        let msg = |v: &[u8]| String::from_utf8(Template::parse(v).unwrap_err().message()).unwrap();
        assert_eq!(msg(b"${foo"), "the closing bracket in \"foo\" variable is missing");
        assert_eq!(msg(b"a${foo-x}"), "the closing bracket in \"foo\" variable is missing");
        assert_eq!(msg(b"$"), "invalid variable name");
        assert_eq!(msg(b"${}"), "invalid variable name");
        assert_eq!(msg(b"${"), "invalid variable name");
        assert_eq!(msg(b"a$-"), "invalid variable name");
    }
}
