//! A small evaluator for the Perl literals that `eval` sections use: quoted strings with
//! escapes, `.` concatenation, `x` repetition, `[...]` lists, `qr/.../flags` and numbers
//! (every literal form, negated, printed as Perl prints them: [`number`]).
//!
//! Test::Base runs an `eval` body as Perl under `use strict`. What this evaluator accepts
//! gives the value Perl gives; a lone bareword gives Perl's strict-mode error text (that
//! string is the section's value, as in Test::Base); anything else is an [`Unsupported`]
//! error so that the runner can name the block and section.

mod number;

use crate::value::{PerlRegex, Value};
use number::Number;

/// The Perl source uses a construct the evaluator does not implement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// Perl builtins and keywords: as a lone word they do something in Perl rather than fail
/// under `strict subs`, so the evaluator refuses them instead of inventing an error text.
const BUILTINS: &[&str] = &[
    "and",
    "chr",
    "cmp",
    "defined",
    "die",
    "do",
    "else",
    "eq",
    "eval",
    "exit",
    "for",
    "foreach",
    "ge",
    "gt",
    "if",
    "join",
    "last",
    "lc",
    "le",
    "length",
    "local",
    "lt",
    "map",
    "my",
    "ne",
    "next",
    "not",
    "or",
    "ord",
    "our",
    "pack",
    "pop",
    "print",
    "push",
    "q",
    "qq",
    "qr",
    "qw",
    "ref",
    "return",
    "reverse",
    "say",
    "scalar",
    "shift",
    "sort",
    "sprintf",
    "sub",
    "time",
    "uc",
    "undef",
    "unless",
    "unpack",
    "until",
    "use",
    "wantarray",
    "warn",
    "while",
    "x",
    "xor",
];

/// Evaluates `source` the way Test::Base's `eval` filter does, as the section is read in
/// scalar context: the first element of the list (an empty list is refused).
pub fn eval(source: &[u8]) -> Result<Value, Unsupported> {
    let mut items = eval_list(source)?;
    if items.is_empty() {
        return Err(Unsupported("an empty list (the section would be undefined)".into()));
    }
    Ok(items.swap_remove(0))
}

/// Evaluates `source` in list context, as the `eval` filter does: every element, for the
/// filters after it (`join`).
pub fn eval_list(source: &[u8]) -> Result<Vec<Value>, Unsupported> {
    // A lone bareword: Perl's strict mode refuses it at compile time, and Test::Base's
    // filter returns the error text (with a newline) as the value.
    if let Some(word) = lone_bareword(source) {
        return Ok(vec![Value::Str(
            format!(
                "Bareword \"{word}\" not allowed while \"strict subs\" in use at (eval 1) \
                 line 1, <DATA> line 1.\n"
            )
            .into_bytes(),
        )]);
    }

    // Otherwise a list of expressions, optionally ended by `;`.
    let mut parser = Parser { src: source, pos: 0 };
    let items = parser.comma_list()?;
    parser.skip_space();
    if parser.peek() == Some(b';') {
        parser.pos += 1;
        parser.skip_space();
    }
    if parser.pos < source.len() {
        return Err(parser.unsupported("unexpected text"));
    }
    Ok(items.into_iter().map(Term::into_value).collect())
}

/// The word when `source` is one identifier and nothing else (a Perl bareword).
fn lone_bareword(source: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(source).ok()?.trim();
    let text = text.strip_suffix(';').map(str::trim_end).unwrap_or(text);
    let mut chars = text.chars();
    let first = chars.next()?;
    let is_word = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    (is_word && !BUILTINS.contains(&text)).then_some(text)
}

/// An evaluated expression before it becomes a [`Value`]: strings stay as characters so
/// that repetition and concatenation work on Perl characters, not UTF-8 bytes.
#[derive(Debug, Clone)]
enum Term {
    Chars(Vec<u32>),
    List(Vec<Term>),
    Regex(PerlRegex),
    /// A number, which becomes its printed form wherever a string is needed.
    Num(Number),
    /// A parenthesized list of several elements, flattened where a list is built.
    Flat(Vec<Term>),
}

impl Term {
    fn into_value(self) -> Value {
        match self {
            Term::Chars(chars) => Value::Str(perl_string_bytes(&chars)),
            Term::List(items) => Value::List(items.into_iter().map(Term::into_value).collect()),
            Term::Regex(re) => Value::Regex(re),
            Term::Num(n) => Value::Str(n.to_perl_string().into_bytes()),
            Term::Flat(mut items) if !items.is_empty() => items.swap_remove(0).into_value(),
            Term::Flat(_) => Value::Str(Vec::new()),
        }
    }

    /// The characters of a string term; lists and regexes in a string context are refused
    /// (Perl would give `ARRAY(0x...)` or `(?^:...)`, which no test relies on).
    fn chars(self, parser: &Parser<'_>) -> Result<Vec<u32>, Unsupported> {
        match self {
            Term::Chars(chars) => Ok(chars),
            Term::Num(n) => Ok(n.to_perl_string().chars().map(u32::from).collect()),
            _ => Err(parser.unsupported("a list or regex used as a string")),
        }
    }
}

/// How Perl prints a string: one byte per character when all are below 256, else UTF-8.
fn perl_string_bytes(chars: &[u32]) -> Vec<u8> {
    if chars.iter().all(|&c| c < 256) {
        return chars.iter().map(|&c| c as u8).collect();
    }
    let mut out = String::new();
    for &c in chars {
        out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
    out.into_bytes()
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn unsupported(&self, what: &str) -> Unsupported {
        let rest = String::from_utf8_lossy(&self.src[self.pos.min(self.src.len())..]);
        let rest: String = rest.chars().take(30).collect();
        Unsupported(format!("{what} at offset {} (near {rest:?})", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.pos + offset).copied()
    }

    /// Skips whitespace and `#` comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else if c == b'#' {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    /// A comma-separated list of expressions (a trailing comma allowed); parenthesized
    /// lists inside are flattened, as in Perl's list context.
    fn comma_list(&mut self) -> Result<Vec<Term>, Unsupported> {
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if matches!(self.peek(), None | Some(b')') | Some(b']') | Some(b';')) {
                return Ok(items);
            }
            match self.expression()? {
                Term::Flat(inner) => items.extend(inner),
                term => items.push(term),
            }
            self.skip_space();
            if self.peek() == Some(b',') {
                self.pos += 1;
            } else {
                return Ok(items);
            }
        }
    }

    /// expression: repetition ( `.` repetition )*
    fn expression(&mut self) -> Result<Term, Unsupported> {
        let mut left = self.repetition()?;
        loop {
            self.skip_space();
            if self.peek() == Some(b'.') && self.peek_at(1).is_none_or(|c| c != b'.') {
                self.pos += 1;
                let right = self.repetition()?;
                let mut chars = left.chars(self)?;
                chars.extend(right.chars(self)?);
                left = Term::Chars(chars);
            } else {
                return Ok(left);
            }
        }
    }

    /// repetition: primary ( `x` count )*
    fn repetition(&mut self) -> Result<Term, Unsupported> {
        let mut term = self.primary()?;
        loop {
            self.skip_space();
            let is_x = self.peek() == Some(b'x')
                && !self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
            if !is_x {
                return Ok(term);
            }
            self.pos += 1;
            let count = self.count()?;
            let chars = term.chars(self)?;
            // Perl truncates the count; a negative one repeats nothing.
            let count = if count >= 1.0 { count as usize } else { 0 };
            if chars.len().saturating_mul(count) > 64 << 20 {
                return Err(self.unsupported("repetition larger than 64 MiB"));
            }
            term = Term::Chars(chars.repeat(count));
        }
    }

    /// count: a numeric expression with `+ - * /`, unary minus and parentheses (the right
    /// side of `x`), computed as Perl's floating-point values.
    fn count(&mut self) -> Result<f64, Unsupported> {
        let mut value = self.count_product()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'+') => {
                    self.pos += 1;
                    value += self.count_product()?;
                }
                Some(b'-') => {
                    self.pos += 1;
                    value -= self.count_product()?;
                }
                _ => return Ok(value),
            }
        }
    }

    fn count_product(&mut self) -> Result<f64, Unsupported> {
        let mut value = self.count_atom()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'*') if self.peek_at(1) != Some(b'*') => {
                    self.pos += 1;
                    value *= self.count_atom()?;
                }
                Some(b'/') => {
                    self.pos += 1;
                    let divisor = self.count_atom()?;
                    if divisor == 0.0 {
                        return Err(self.unsupported("division by zero"));
                    }
                    value /= divisor;
                }
                _ => return Ok(value),
            }
        }
    }

    fn count_atom(&mut self) -> Result<f64, Unsupported> {
        self.skip_space();
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let value = self.count()?;
                self.skip_space();
                self.expect(b')')?;
                Ok(value)
            }
            Some(b'-') => {
                self.unary_minus()?;
                Ok(-self.count_atom()?)
            }
            _ if self.at_number() => Ok(self.number()?.to_f64()),
            _ => Err(self.unsupported("expected a repetition count")),
        }
    }

    /// Whether a numeric literal starts here: a digit, or a point and a digit.
    fn at_number(&self) -> bool {
        match self.peek() {
            Some(c) if c.is_ascii_digit() => true,
            Some(b'.') => self.peek_at(1).is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        }
    }

    /// A numeric literal, consumed.
    fn number(&mut self) -> Result<Number, Unsupported> {
        let (number, used) =
            number::literal(&self.src[self.pos..]).map_err(|e| self.unsupported(&e))?;
        self.pos += used;
        Ok(number)
    }

    /// The `-` of a unary minus, consumed; `--` is Perl's decrement, which no literal takes.
    fn unary_minus(&mut self) -> Result<(), Unsupported> {
        if self.peek_at(1) == Some(b'-') {
            return Err(self.unsupported("the -- operator"));
        }
        self.pos += 1;
        Ok(())
    }

    fn expect(&mut self, byte: u8) -> Result<(), Unsupported> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unsupported(&format!("expected '{}'", byte as char)))
        }
    }

    /// primary: string | number | `-` primary | list | qr// | q// | qq// | ( expression )
    fn primary(&mut self) -> Result<Term, Unsupported> {
        self.skip_space();
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let body = self.delimited(b'"')?;
                Ok(Term::Chars(self.double_quoted(&body)?))
            }
            Some(b'\'') => {
                self.pos += 1;
                let body = self.delimited(b'\'')?;
                Ok(Term::Chars(single_quoted(&body, b'\'')))
            }
            Some(b'[') => {
                self.pos += 1;
                self.list()
            }
            Some(b'(') => {
                self.pos += 1;
                let mut items = self.comma_list()?;
                self.skip_space();
                self.expect(b')')?;
                if items.len() == 1 {
                    Ok(items.remove(0))
                } else {
                    Ok(Term::Flat(items))
                }
            }
            _ if self.at_number() => Ok(Term::Num(self.number()?)),
            Some(b'-') => {
                // Unary minus binds tighter than `x` and `.`: `-1 x 2` is `-1-1`.
                self.unary_minus()?;
                match self.primary()? {
                    Term::Num(n) => Ok(Term::Num(n.negate())),
                    _ => Err(self.unsupported("unary minus on something other than a number")),
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => self.quote_like(),
            _ => Err(self.unsupported("unsupported Perl syntax")),
        }
    }

    /// `[ expression, ... ]` after the `[`.
    fn list(&mut self) -> Result<Term, Unsupported> {
        let items = self.comma_list()?;
        self.skip_space();
        self.expect(b']')?;
        Ok(Term::List(items))
    }

    /// `q`, `qq` and `qr` with any delimiter; other words are not supported here.
    fn quote_like(&mut self) -> Result<Term, Unsupported> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        let word = String::from_utf8_lossy(&self.src[start..self.pos]).into_owned();
        if !matches!(word.as_str(), "q" | "qq" | "qr") {
            self.pos = start;
            return Err(self.unsupported(&format!("the word '{word}'")));
        }
        self.skip_space();
        let open = self.peek().ok_or_else(|| self.unsupported("missing delimiter"))?;
        if open.is_ascii_alphanumeric() || open == b'_' {
            return Err(self.unsupported("bad quote delimiter"));
        }
        self.pos += 1;
        let close = closing_delimiter(open);
        let body = self.delimited_nested(open, close)?;
        match word.as_str() {
            "q" => Ok(Term::Chars(single_quoted(&body, close))),
            "qq" => Ok(Term::Chars(self.double_quoted(&body)?)),
            _ => {
                let mut flags = String::new();
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    flags.push(self.peek().unwrap_or(b' ') as char);
                    self.pos += 1;
                }
                let pattern = std::str::from_utf8(&body)
                    .map_err(|_| self.unsupported("a regex that is not UTF-8"))?;
                if open != b'\'' && has_interpolation(pattern) {
                    return Err(self.unsupported("variable interpolation in a regex"));
                }
                let pattern = regex_source(pattern, open, close);
                let re = PerlRegex::new(&pattern, &flags).map_err(Unsupported)?;
                Ok(Term::Regex(re))
            }
        }
    }

    /// The raw body up to the unescaped `close` (consumed); backslashes are kept.
    fn delimited(&mut self, close: u8) -> Result<Vec<u8>, Unsupported> {
        self.delimited_nested(close, close)
    }

    /// Like [`Parser::delimited`], counting nested `open`/`close` pairs for brackets.
    fn delimited_nested(&mut self, open: u8, close: u8) -> Result<Vec<u8>, Unsupported> {
        let mut body = Vec::new();
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == b'\\' {
                body.push(c);
                if let Some(next) = self.peek() {
                    body.push(next);
                    self.pos += 1;
                }
                continue;
            }
            if c == close && depth == 0 {
                return Ok(body);
            }
            if open != close {
                if c == open {
                    depth += 1;
                } else if c == close {
                    depth -= 1;
                }
            }
            body.push(c);
        }
        Err(self.unsupported("unterminated string"))
    }

    /// The characters of a double-quoted body: escapes resolved, interpolation refused.
    fn double_quoted(&self, body: &[u8]) -> Result<Vec<u32>, Unsupported> {
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            let c = body[i];
            i += 1;
            match c {
                b'$' | b'@' => {
                    let next = body.get(i).copied();
                    let interpolates = next.is_some_and(|n| {
                        n.is_ascii_alphanumeric() || n == b'_' || n == b'{' || n == b':'
                    }) || (c == b'$' && next.is_none());
                    if interpolates {
                        return Err(self.unsupported("variable interpolation in a string"));
                    }
                    out.push(c as u32);
                }
                b'\\' => {
                    let (chars, used) = self.escape(&body[i..])?;
                    out.extend(chars);
                    i += used;
                }
                _ => out.push(c as u32),
            }
        }
        Ok(out)
    }

    /// One escape after a backslash in a double-quoted string: the characters it stands
    /// for and the number of bytes it used.
    fn escape(&self, rest: &[u8]) -> Result<(Vec<u32>, usize), Unsupported> {
        let Some(&c) = rest.first() else {
            return Err(self.unsupported("a backslash at the end of a string"));
        };
        let simple = |ch: u32| Ok((vec![ch], 1));
        match c {
            b'n' => simple(0x0a),
            b'r' => simple(0x0d),
            b't' => simple(0x09),
            b'f' => simple(0x0c),
            b'b' => simple(0x08),
            b'a' => simple(0x07),
            b'e' => simple(0x1b),
            b'0'..=b'7' => {
                let digits: Vec<u8> = rest
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .copied()
                    .collect();
                let value = digits.iter().fold(0u32, |acc, d| acc * 8 + (d - b'0') as u32);
                Ok((vec![value], digits.len()))
            }
            b'o' if rest.get(1) == Some(&b'{') => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| self.unsupported("unterminated \\o{...}"))?;
                let digits = String::from_utf8_lossy(&rest[2..end]);
                let value = u32::from_str_radix(digits.trim(), 8)
                    .map_err(|_| self.unsupported("bad \\o{...}"))?;
                Ok((vec![value], end + 1))
            }
            b'x' if rest.get(1) == Some(&b'{') => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| self.unsupported("unterminated \\x{...}"))?;
                let digits: String = String::from_utf8_lossy(&rest[2..end])
                    .chars()
                    .filter(|c| *c != '_' && !c.is_whitespace())
                    .collect();
                let value = if digits.is_empty() {
                    0
                } else {
                    u32::from_str_radix(&digits, 16)
                        .map_err(|_| self.unsupported("bad \\x{...}"))?
                };
                Ok((vec![value], end + 1))
            }
            b'x' => {
                // Up to two hex digits; none at all means NUL, as in Perl.
                let digits: Vec<u8> = rest[1..]
                    .iter()
                    .take(2)
                    .take_while(|d| d.is_ascii_hexdigit())
                    .copied()
                    .collect();
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 16 + (*d as char).to_digit(16).unwrap_or(0));
                Ok((vec![value], 1 + digits.len()))
            }
            b'c' => {
                let Some(&ctrl) = rest.get(1) else {
                    return Err(self.unsupported("\\c at the end of a string"));
                };
                Ok((vec![(ctrl.to_ascii_uppercase() ^ 64) as u32], 2))
            }
            b'N' if rest.get(1) == Some(&b'{') && rest.get(2) == Some(&b'U') => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| self.unsupported("unterminated \\N{U+...}"))?;
                let digits = String::from_utf8_lossy(&rest[4.min(end)..end]).into_owned();
                let value = u32::from_str_radix(&digits, 16)
                    .map_err(|_| self.unsupported("bad \\N{U+...}"))?;
                Ok((vec![value], end + 1))
            }
            b'l' | b'u' | b'L' | b'U' | b'Q' | b'E' | b'N' => {
                Err(self.unsupported(&format!("the \\{} escape", c as char)))
            }
            // Any other escaped character stands for itself (`\\`, `\"`, `\$`, `\@`, ...).
            _ => {
                let ch = std::str::from_utf8(rest)
                    .ok()
                    .and_then(|s| s.chars().next())
                    .map(|ch| (ch as u32, ch.len_utf8()));
                match ch {
                    Some((ch, len)) if ch >= 0x80 => {
                        Ok((rest[..len].iter().map(|&b| b as u32).collect(), len))
                    }
                    _ => simple(c as u32),
                }
            }
        }
    }
}

/// The characters of a single-quoted body: only `\\` and the escaped delimiter are escapes.
fn single_quoted(body: &[u8], close: u8) -> Vec<u32> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && (body.get(i + 1) == Some(&b'\\') || body.get(i + 1) == Some(&close))
        {
            out.push(body[i + 1] as u32);
            i += 2;
        } else {
            out.push(body[i] as u32);
            i += 1;
        }
    }
    out
}

/// The pattern Perl compiles from a `qr` body: with a delimiter that does not bracket,
/// `\` before it is dropped (`qr/a\/b/` holds `a/b`; `qr|a\|b|` holds the alternation
/// `a|b`); bracketing delimiters keep theirs (`qr{a\}b}` holds `a\}b`).
fn regex_source(body: &str, open: u8, close: u8) -> String {
    if open != close {
        return body.to_owned();
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(next) if next as u32 == u32::from(close) => out.push(next),
            Some(next) => {
                out.push(c);
                out.push(next);
            }
            None => out.push(c),
        }
    }
    out
}

/// The closing delimiter for a quote-like operator's opening one.
fn closing_delimiter(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// Whether a regex body interpolates a variable (`$name`, `${`, `@name`); `$` as an anchor
/// (before `)`, `|`, the end, or whitespace) does not.
fn has_interpolation(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' | b'@' => {
                let next = bytes.get(i + 1).copied();
                if next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'_' || n == b'{') {
                    return true;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(src: &str) -> Vec<u8> {
        match eval(src.as_bytes()).unwrap() {
            Value::Str(bytes) => bytes,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn double_quoted_escapes() {
        assert_eq!(s(r#""a\r\n""#), b"a\r\n");
        assert_eq!(s(r#""\x10\x0f\x00\xff""#), b"\x10\x0f\x00\xff");
        assert_eq!(s(r#""\x{41}\x{263A}""#), "A\u{263A}".as_bytes());
        assert_eq!(s(r#""\0\t\\\"\$\@""#), b"\0\t\\\"$@");
        assert_eq!(s(r#""\101\x4g""#), b"A\x04g");
        assert_eq!(s(r#""\e\cA""#), b"\x1b\x01");
    }

    #[test]
    fn single_quoted_keeps_backslashes() {
        assert_eq!(s(r"'a\n\'b\\'"), b"a\\n'b\\");
    }

    #[test]
    fn concatenation_and_repetition() {
        assert_eq!(s(r#""a\r\n" . "y" x 3"#), b"a\r\nyyy");
        assert_eq!(s(r#""ab" x 2 . "c""#), b"ababc");
        assert_eq!(s(r#""-" x (2 * 3)"#), b"------");
        assert_eq!(s(r#""x"x3"#), b"xxx");
        assert_eq!(s("\"a\" .\n\"b\";\n"), b"ab");
        assert_eq!(s(r#"'a' x 0"#), b"");
    }

    /// Each checked against `perl -e 'print EXPR'` (Perl 5.36).
    #[test]
    fn numbers_read_and_print_as_perl() {
        for (src, perl) in [
            ("0x41", "65"),
            ("017", "15"),
            ("0b101", "5"),
            ("1_000", "1000"),
            ("-1", "-1"),
            ("- 1", "-1"),
            ("-(1)", "-1"),
            ("1.5", "1.5"),
            ("-1.5", "-1.5"),
            ("1e3", "1000"),
            ("-0x10", "-16"),
            ("-0", "0"),
            ("0x41 x 2", "6565"),
            ("1x3", "111"),
            ("-1 x 2", "-1-1"),
            ("1.5 x 2", "1.51.5"),
            ("017.5", "155"),
            ("\"a\" . 0x10", "a16"),
            ("\"a\" x 0x3", "aaa"),
            ("\"a\" x 2.7", "aa"),
            ("\"a\" x -1", ""),
            ("\"a\" x (5/2*2)", "aaaaa"),
            ("\"a\" x 1e1", "aaaaaaaaaa"),
        ] {
            assert_eq!(String::from_utf8(s(src)).unwrap(), perl, "{src}");
        }
    }

    #[test]
    fn numbers_and_quote_operators() {
        assert_eq!(s("1024"), b"1024");
        assert_eq!(s("qq{a\\n{b}}"), b"a\n{b}");
        assert_eq!(s("q!it's!"), b"it's");
    }

    #[test]
    fn lists_and_regexes() {
        let value = eval(br#"["a", qr/b+/i]"#).unwrap();
        let Value::List(items) = value else { panic!("not a list") };
        assert_eq!(items[0], Value::Str(b"a".to_vec()));
        let Value::Regex(re) = &items[1] else { panic!("not a regex") };
        assert!(re.is_match(b"xBBx"));
        let Value::Regex(re) = eval(br"qr{hello world\n}").unwrap() else { panic!() };
        assert!(re.is_match(b"hello world\n"));
    }

    /// Each checked against `perl -e 'print EXPR'` (Perl 5.36).
    #[test]
    fn regexes_stringify_as_perl() {
        for (src, perl) in [
            (r"qr/a\/b/", "(?^:a/b)"),
            (r"qr/a\/b/ix", "(?^ix:a/b)"),
            (r"qr/a\\\/b/", r"(?^:a\\/b)"),
            (r"qr!a\!b!", "(?^:a!b)"),
            (r"qr{a\}b}", r"(?^:a\}b)"),
            (r"qr{a\/b}", r"(?^:a\/b)"),
            (r"qr'a\'b'", "(?^:a'b)"),
            (r"qr/x/p", "(?^p:x)"),
            (r"qr/x/n", "(?^n:x)"),
        ] {
            let Value::Regex(re) = eval(src.as_bytes()).unwrap() else { panic!("{src}") };
            assert_eq!(re.to_string(), perl, "{src}");
        }
        // The unescaped delimiter is a metacharacter again, as in Perl.
        let Value::Regex(re) = eval(br"qr|^a\|b$|").unwrap() else { panic!() };
        assert!(re.is_match(b"b") && re.is_match(b"a|b"));
    }

    #[test]
    fn a_top_level_list_gives_its_first_element() {
        assert_eq!(s(r#""a", "b""#), b"a");
        assert_eq!(s(r#"("x" . "y", "z");"#), b"xy");
        let Value::List(items) = eval(br#"["a", ("b", "c"), "d",]"#).unwrap() else { panic!() };
        assert_eq!(items.len(), 4);
        assert!(eval(b"()").is_err());
    }

    #[test]
    fn bareword_gives_the_strict_error_text() {
        let text = String::from_utf8(s("mmm\n")).unwrap();
        assert!(text.starts_with("Bareword \"mmm\" not allowed while \"strict subs\" in use at"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn other_perl_is_refused() {
        assert!(eval(b"\"$foo\"").is_err());
        assert!(eval(b"join ',', 1, 2").is_err());
        assert!(eval(b"print 1").is_err());
        assert!(eval(b"\"a\" \"b\"").is_err());
        assert!(eval(b"qr/$x/").is_err());
        assert!(eval(b"\"\\Uabc\"").is_err());
        assert!(eval(b"-\"foo\"").is_err());
        assert!(eval(b"--1").is_err());
        assert!(eval(b"08").is_err());
        assert!(eval(b"1.2.3").is_err());
    }
}
