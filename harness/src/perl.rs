//! A small evaluator for the Perl literals that `eval` sections use: quoted strings with
//! escapes, `q`/`qq`/`qr` with any delimiter (bracketing pairs nest), `.` concatenation,
//! `x` repetition (of strings, and of a parenthesized list), `[...]` lists, `qr/.../flags`
//! and numbers (every literal form, negated, printed as Perl prints them: [`number`]).
//!
//! Test::Base runs an `eval` body as Perl under `use strict`. What this evaluator accepts
//! gives the value Perl gives; a lone bareword gives Perl's strict-mode error text (that
//! string is the section's value, as in Test::Base); anything else is an [`Unsupported`]
//! error, at the offending character, so that the runner can name the block and section.

mod number;

use crate::value::{PerlRegex, Value};
use number::Number;

/// The largest string a repetition may build (characters), and the longest list.
const MAX_REPEAT_CHARS: usize = 64 << 20;
const MAX_REPEAT_ITEMS: usize = 1 << 20;

/// The Perl source uses a construct the evaluator does not implement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at offset {offset} (near {near:?})")]
pub struct Unsupported {
    /// What the evaluator met there.
    pub what: String,
    /// The byte offset of the offending character in the source.
    pub offset: usize,
    /// Up to 30 characters of the source from that offset.
    pub near: String,
}

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
/// scalar context: the first element of the list, `None` (Perl's undef) for an empty one.
pub fn eval(source: &[u8]) -> Result<Option<Value>, Unsupported> {
    Ok(eval_list(source)?.into_iter().next())
}

/// Evaluates `source` in list context, as the `eval` filter does: every element, for the
/// filters after it (`join`). An empty body is an empty list, as Perl's `eval ""`.
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
    /// A parenthesized list `( ... )`: flattened where a list is built, and repeated as a
    /// list by `x` (Perl's list repetition).
    Paren(Vec<Term>),
    /// A repeated list, flattened where a list is built.
    Flat(Vec<Term>),
}

impl Term {
    fn into_value(self) -> Value {
        match self {
            Term::Chars(chars) => Value::Str(perl_string_bytes(&chars)),
            Term::List(items) => Value::List(items.into_iter().map(Term::into_value).collect()),
            Term::Regex(re) => Value::Regex(re),
            Term::Num(n) => Value::Str(n.to_perl_string().into_bytes()),
            Term::Paren(mut items) | Term::Flat(mut items) if !items.is_empty() => {
                items.swap_remove(0).into_value()
            }
            Term::Paren(_) | Term::Flat(_) => Value::Str(Vec::new()),
        }
    }

    /// The characters of a string term that starts at offset `at`; lists and regexes in
    /// a string context are refused (Perl would give `ARRAY(0x...)`, `(?^:...)` or a
    /// comma operator's last value, which no test relies on).
    fn chars(self, parser: &Parser<'_>, at: usize) -> Result<Vec<u32>, Unsupported> {
        match self {
            Term::Chars(chars) => Ok(chars),
            Term::Num(n) => Ok(n.to_perl_string().chars().map(u32::from).collect()),
            Term::Paren(mut items) if items.len() == 1 => items.remove(0).chars(parser, at),
            _ => Err(parser.unsupported_at(at, "a list or regex used as a string")),
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

/// A string used as a number, as Perl reads it: leading whitespace, a sign, then the
/// longest decimal prefix (`"3abc"` is 3, `"0x3"` is 0, `"abc"` is 0); `Inf` and `NaN`
/// in any case.
fn numify(chars: &[u32]) -> f64 {
    let text: String = chars.iter().map(|&c| char::from_u32(c).unwrap_or('\0')).collect();
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'-') => (-1.0, &text[1..]),
        Some(b'+') => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("inf") {
        return sign * f64::INFINITY;
    }
    if lower.starts_with("nan") {
        return f64::NAN;
    }
    let bytes = rest.as_bytes();
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut end = digits(0);
    if bytes.get(end) == Some(&b'.') {
        end += 1 + digits(end + 1);
    }
    if end > 0 && bytes[..end] != *b"." && matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits(end + 1 + sign_len);
        if exponent > 0 {
            end += 1 + sign_len + exponent;
        }
    }
    sign * rest[..end].parse::<f64>().unwrap_or(0.0)
}

struct Parser<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    /// An error at the current position.
    fn unsupported(&self, what: &str) -> Unsupported {
        self.unsupported_at(self.pos, what)
    }

    /// An error at byte offset `at` of the source.
    fn unsupported_at(&self, at: usize, what: &str) -> Unsupported {
        let at = at.min(self.src.len());
        let near: String = String::from_utf8_lossy(&self.src[at..]).chars().take(30).collect();
        Unsupported { what: what.to_string(), offset: at, near }
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
                Term::Flat(inner) | Term::Paren(inner) => items.extend(inner),
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
        self.skip_space();
        let left_at = self.pos;
        let mut left = self.repetition()?;
        loop {
            self.skip_space();
            if self.peek() == Some(b'.') && self.peek_at(1).is_none_or(|c| c != b'.') {
                self.pos += 1;
                self.skip_space();
                let right_at = self.pos;
                let right = self.repetition()?;
                let mut chars = left.chars(self, left_at)?;
                chars.extend(right.chars(self, right_at)?);
                left = Term::Chars(chars);
            } else {
                return Ok(left);
            }
        }
    }

    /// repetition: primary ( `x` count )*; a parenthesized list on the left is repeated
    /// as a list, anything else as a string.
    fn repetition(&mut self) -> Result<Term, Unsupported> {
        self.skip_space();
        let start = self.pos;
        let mut term = self.primary()?;
        loop {
            self.skip_space();
            let is_x = self.peek() == Some(b'x')
                && !self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic() || c == b'_');
            if !is_x {
                return Ok(term);
            }
            let op = self.pos;
            self.pos += 1;
            let count = self.count()?;

            // Perl truncates the count; a negative or non-finite one repeats nothing.
            let count = if count.is_finite() && count >= 1.0 { count as usize } else { 0 };
            term = match term {
                Term::Paren(items) => {
                    if items.len().saturating_mul(count) > MAX_REPEAT_ITEMS {
                        return Err(self.unsupported_at(op, "a list repetition this long"));
                    }
                    let mut repeated = Vec::with_capacity(items.len() * count);
                    for _ in 0..count {
                        repeated.extend(items.iter().cloned());
                    }
                    Term::Flat(repeated)
                }
                other => {
                    let chars = other.chars(self, start)?;
                    if chars.len().saturating_mul(count) > MAX_REPEAT_CHARS {
                        return Err(self.unsupported_at(op, "repetition larger than 64 MiB"));
                    }
                    Term::Chars(chars.repeat(count))
                }
            };
        }
    }

    /// count: the right side of `x`, one operand, as `x` binds as tightly as `*`: a number,
    /// a string read as a number, a unary minus, or a parenthesized arithmetic expression.
    fn count(&mut self) -> Result<f64, Unsupported> {
        self.count_atom()
    }

    /// arithmetic: `+ - * /` over numbers and strings, with unary minus and parentheses,
    /// computed as Perl's floating-point values.
    fn arithmetic(&mut self) -> Result<f64, Unsupported> {
        let mut value = self.product()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'+') => {
                    self.pos += 1;
                    value += self.product()?;
                }
                Some(b'-') => {
                    self.pos += 1;
                    value -= self.product()?;
                }
                _ => return Ok(value),
            }
        }
    }

    fn product(&mut self) -> Result<f64, Unsupported> {
        let mut value = self.count_atom()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'*') if self.peek_at(1) != Some(b'*') => {
                    self.pos += 1;
                    value *= self.count_atom()?;
                }
                Some(b'/') => {
                    let op = self.pos;
                    self.pos += 1;
                    let divisor = self.count_atom()?;
                    if divisor == 0.0 {
                        return Err(self.unsupported_at(op, "division by zero"));
                    }
                    value /= divisor;
                }
                _ => return Ok(value),
            }
        }
    }

    /// A number, a string read as a number, `-` before one, or `( arithmetic )`.
    fn count_atom(&mut self) -> Result<f64, Unsupported> {
        self.skip_space();
        let start = self.pos;
        match self.peek() {
            Some(b'(') => {
                self.pos += 1;
                let value = self.arithmetic()?;
                self.skip_space();
                self.expect(b')')?;
                Ok(value)
            }
            Some(b'-') => {
                self.unary_minus()?;
                Ok(-self.count_atom()?)
            }
            _ if self.at_number() => Ok(self.number()?.to_f64()),
            Some(b'"' | b'\'' | b'q') => {
                let term = self.primary()?;
                Ok(numify(&term.chars(self, start)?))
            }
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

    /// primary: string | number | `-` primary | list | qr// | q// | qq// | ( list )
    fn primary(&mut self) -> Result<Term, Unsupported> {
        self.skip_space();
        let start = self.pos;
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                self.pos += 1;
                let (body, body_at) = self.delimited(quote, quote, start)?;
                if quote == b'"' {
                    Ok(Term::Chars(self.double_quoted(&body, body_at)?))
                } else {
                    Ok(Term::Chars(single_quoted(&body, quote, quote)))
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.list()
            }
            Some(b'(') => {
                self.pos += 1;
                let items = self.comma_list()?;
                self.skip_space();
                self.expect(b')')?;
                Ok(Term::Paren(items))
            }
            _ if self.at_number() => Ok(Term::Num(self.number()?)),
            Some(b'-') => {
                // Unary minus binds tighter than `x` and `.`: `-1 x 2` is `-1-1`.
                self.unary_minus()?;
                match self.primary()? {
                    Term::Num(n) => Ok(Term::Num(n.negate())),
                    Term::Paren(items) if matches!(items.as_slice(), [Term::Num(_)]) => {
                        let Some(Term::Num(n)) = items.into_iter().next() else {
                            unreachable!("matched one number")
                        };
                        Ok(Term::Num(n.negate()))
                    }
                    _ => {
                        Err(self
                            .unsupported_at(start, "unary minus on something other than a number"))
                    }
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
            return Err(self.unsupported_at(start, &format!("the word '{word}'")));
        }

        // The delimiter: any non-word character right after the word, `#` included; after
        // whitespace, `#` starts a comment instead, as in Perl.
        if self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.skip_space();
        }
        let open_at = self.pos;
        let Some(open) = self.peek() else {
            return Err(self.unsupported_at(start, "a quote operator without a delimiter"));
        };
        if open.is_ascii_alphanumeric() || open == b'_' || open.is_ascii_whitespace() {
            return Err(self.unsupported("bad quote delimiter"));
        }
        if open == b'=' && self.peek_at(1) == Some(b'>') {
            return Err(self.unsupported_at(start, &format!("'{word}' before =>")));
        }
        self.pos += 1;
        let close = closing_delimiter(open);
        let (body, body_at) = self.delimited(open, close, open_at)?;
        match word.as_str() {
            "q" => Ok(Term::Chars(single_quoted(&body, open, close))),
            "qq" => Ok(Term::Chars(self.double_quoted(&body, body_at)?)),
            _ => {
                let mut flags = String::new();
                while let Some(c) = self.peek().filter(u8::is_ascii_alphabetic) {
                    flags.push(c as char);
                    self.pos += 1;
                }
                let pattern = std::str::from_utf8(&body)
                    .map_err(|_| self.unsupported_at(body_at, "a regex that is not UTF-8"))?;
                if open != b'\'' {
                    if let Some(at) = interpolation(pattern) {
                        return Err(
                            self.unsupported_at(body_at + at, "variable interpolation in a regex")
                        );
                    }
                }
                let pattern = regex_source(pattern, open, close);
                let re = PerlRegex::new(&pattern, &flags)
                    .map_err(|e| self.unsupported_at(body_at, &e))?;
                Ok(Term::Regex(re))
            }
        }
    }

    /// The raw body after an `open` delimiter (at `open_at`) up to its unescaped `close`
    /// (consumed), counting nested pairs for bracketing delimiters; backslashes are kept.
    /// Returns the body and its offset in the source.
    fn delimited(
        &mut self,
        open: u8,
        close: u8,
        open_at: usize,
    ) -> Result<(Vec<u8>, usize), Unsupported> {
        let body_at = self.pos;
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
                return Ok((body, body_at));
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
        Err(self.unsupported_at(open_at, "unterminated string"))
    }

    /// The characters of a double-quoted body found at offset `body_at`: escapes resolved,
    /// interpolation refused.
    fn double_quoted(&self, body: &[u8], body_at: usize) -> Result<Vec<u32>, Unsupported> {
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            let at = body_at + i;
            let c = body[i];
            i += 1;
            match c {
                b'$' | b'@' => {
                    let next = body.get(i).copied();
                    let interpolates = next.is_some_and(|n| {
                        n.is_ascii_alphanumeric() || n == b'_' || n == b'{' || n == b':'
                    }) || (c == b'$' && next.is_none());
                    if interpolates {
                        return Err(self.unsupported_at(at, "variable interpolation in a string"));
                    }
                    out.push(c as u32);
                }
                b'\\' => {
                    let (chars, used) = self.escape(&body[i..], at)?;
                    out.extend(chars);
                    i += used;
                }
                _ => out.push(c as u32),
            }
        }
        Ok(out)
    }

    /// One escape after the backslash at offset `at` in a double-quoted string: the
    /// characters it stands for and the number of bytes it used after the backslash.
    fn escape(&self, rest: &[u8], at: usize) -> Result<(Vec<u32>, usize), Unsupported> {
        let Some(&c) = rest.first() else {
            return Err(self.unsupported_at(at, "a backslash at the end of a string"));
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
            b'o' | b'x' if rest.get(1) == Some(&b'{') => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| self.unsupported_at(at, "an unterminated escape"))?;
                let radix = if c == b'o' { 8 } else { 16 };
                let value = braced_code_point(&rest[2..end], radix).ok_or_else(|| {
                    self.unsupported_at(at, "a code point beyond what strait represents")
                })?;
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
                    return Err(self.unsupported_at(at, "\\c at the end of a string"));
                };
                Ok((vec![(ctrl.to_ascii_uppercase() ^ 64) as u32], 2))
            }
            b'N' if rest.get(1) == Some(&b'{') && rest.get(2) == Some(&b'U') => {
                let end = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or_else(|| self.unsupported_at(at, "unterminated \\N{U+...}"))?;
                let digits = String::from_utf8_lossy(&rest[4.min(end)..end]).into_owned();
                let value = u32::from_str_radix(&digits, 16)
                    .map_err(|_| self.unsupported_at(at, "bad \\N{U+...}"))?;
                Ok((vec![value], end + 1))
            }
            b'l' | b'u' | b'L' | b'U' | b'Q' | b'E' | b'N' => {
                Err(self.unsupported_at(at, &format!("the \\{} escape", c as char)))
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

/// The code point of a `\x{...}` (radix 16) or `\o{...}` (radix 8) body, as Perl reads
/// it: blanks around the digits and `_` between them allowed; the first other character
/// ends the number (Perl warns "Non-hex character ... terminates \x early"), none at all
/// is 0. `None` when the value does not fit in 32 bits.
fn braced_code_point(body: &[u8], radix: u32) -> Option<u32> {
    let digits: String = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|&&b| b == b'_' || (b as char).is_digit(radix))
        .filter(|&&b| b != b'_')
        .map(|&b| b as char)
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    u32::from_str_radix(&digits, radix).ok()
}

/// The characters of a single-quoted body: only `\\` and an escaped delimiter (either of a
/// bracketing pair) are escapes.
fn single_quoted(body: &[u8], open: u8, close: u8) -> Vec<u32> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let next = body.get(i + 1).copied();
        let escaped = next.filter(|&n| n == b'\\' || n == open || n == close);
        match escaped {
            Some(n) if body[i] == b'\\' => {
                out.push(n as u32);
                i += 2;
            }
            _ => {
                out.push(body[i] as u32);
                i += 1;
            }
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

/// Where a regex body interpolates a variable (`$name`, `${`, `@name`), if it does; `$` as
/// an anchor (before `)`, `|`, the end, or whitespace) does not.
fn interpolation(pattern: &str) -> Option<usize> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'$' | b'@' => {
                let next = bytes.get(i + 1).copied();
                if next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'_' || n == b'{') {
                    return Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(src: &str) -> Vec<u8> {
        match eval(src.as_bytes()).unwrap().unwrap() {
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

    /// Each checked against Test::Base 0.89 (`tests/grammar/eval-quoting.t` holds them too).
    #[test]
    fn quote_operators_take_any_delimiter() {
        assert_eq!(s("qq#a\\#b#"), b"a#b");
        assert_eq!(s("q#a\\#b#"), b"a#b");
        assert_eq!(s("qq(a(b)c)"), b"a(b)c");
        assert_eq!(s("q<a<b>c>"), b"a<b>c");
        assert_eq!(s(r"q{a\{b\}c\\d}"), b"a{b}c\\d");
        assert_eq!(s(r"qq{a\}b\{c}"), b"a}b{c");
        assert_eq!(s(r"qq|a\|b|"), b"a|b");
        assert_eq!(s("q <a>"), b"a");
        // After whitespace, `#` starts a comment and the delimiter follows it.
        assert_eq!(s("qq\n#x\n(y)"), b"y");
        for (src, perl) in
            [("qr#a/b#", "(?^:a/b)"), ("qr[a[b]c]", "(?^:a[b]c)"), ("qr#a#i", "(?^i:a)")]
        {
            let Value::Regex(re) = eval(src.as_bytes()).unwrap().unwrap() else { panic!("{src}") };
            assert_eq!(re.to_string(), perl, "{src}");
        }
    }

    /// Each checked against Test::Base 0.89: a string count is read as Perl reads a number.
    #[test]
    fn repetition_counts_may_be_strings() {
        assert_eq!(s(r#""a" x "3""#), b"aaa");
        assert_eq!(s(r#""a" x " 3 ""#), b"aaa");
        assert_eq!(s(r#""a" x "2.9""#), b"aa");
        assert_eq!(s(r#""a" x '2'"#), b"aa");
        assert_eq!(s(r#""a" x "1e1""#), b"aaaaaaaaaa");
        assert_eq!(s(r#""a" x "0x3""#), b"");
        assert_eq!(s(r#""a" x "+2""#), b"aa");
        assert_eq!(s(r#""a" x "3abc""#), b"aaa");
        assert_eq!(s(r#""a" x "inf""#), b"");
        assert_eq!(s(r#""a" x "2" . "b""#), b"aab");
        assert_eq!(s(r#""a" x ("1" + 1)"#), b"aa");
        // `x` binds as tightly as `*`: what follows a count is not part of it.
        assert!(eval(br#""a" x 2 + 1"#).is_err());
    }

    /// `(LIST) x N` repeats the list, as Perl does in list context.
    #[test]
    fn a_parenthesized_list_repeats_as_a_list() {
        let strings = |src: &str| -> Vec<Value> { eval_list(src.as_bytes()).unwrap() };
        let abab: Vec<Value> = ["a", "b", "a", "b"].map(|v| Value::Str(v.into())).to_vec();
        assert_eq!(strings(r#"("a", "b") x 2"#), abab);
        assert_eq!(strings(r#"("a") x 3"#).len(), 3);
        assert!(strings(r#"("a", "b") x 0"#).is_empty());
        assert_eq!(s(r#"("a", "b") x 2"#), b"a");
        let Value::List(items) = eval(br#"[("a", qr/b/) x 2, "c"]"#).unwrap().unwrap() else {
            panic!("not a list")
        };
        assert_eq!(items.len(), 5);
        assert!(matches!(items[3], Value::Regex(_)));
        assert_eq!(s(r#"("a") . "b""#), b"ab");
    }

    /// Perl ends a braced escape at the first character that is no digit of its radix.
    #[test]
    fn braced_escapes_end_at_the_first_non_digit() {
        assert_eq!(s(r#""\x{zz}a""#), b"\0a");
        assert_eq!(s(r#""\x{4z}a""#), b"\x04a");
        assert_eq!(s(r#""\x{4_1}""#), b"A");
        assert_eq!(s(r#""\x{ 41 }""#), b"A");
        assert_eq!(s(r#""\o{18}""#), b"\x01");
        assert!(eval(br#""\x{123456789}""#).is_err());
    }

    #[test]
    fn an_empty_list_is_undefined() {
        assert_eq!(eval(b"").unwrap(), None);
        assert_eq!(eval(b"()").unwrap(), None);
        assert_eq!(eval(b"  # only a comment\n").unwrap(), None);
    }

    /// An error names the offending character's offset, not the end of the body.
    #[test]
    fn errors_point_at_the_offending_character() {
        let offset = |src: &str| eval(src.as_bytes()).unwrap_err().offset;
        assert_eq!(offset(r#""a$foo" . "b""#), 2);
        assert_eq!(offset(r#""ok" . "\Uabc""#), 8);
        assert_eq!(offset(r#"qr/a$x/ . "b""#), 4);
        assert_eq!(offset(r#""a" . "b" "c""#), 10);
        assert_eq!(offset(r#""a" . ["b"]"#), 6);
        assert_eq!(offset("\"a\" . 'b"), 6);
        assert_eq!(offset(r#""ab" x 2 x 1e9"#), 9);
        let err = eval(br#""x" . "$y""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "variable interpolation in a string at offset 7 (near \"$y\\\"\")"
        );
    }

    #[test]
    fn numbers_and_quote_operators() {
        assert_eq!(s("1024"), b"1024");
        assert_eq!(s("qq{a\\n{b}}"), b"a\n{b}");
        assert_eq!(s("q!it's!"), b"it's");
    }

    #[test]
    fn lists_and_regexes() {
        let value = eval(br#"["a", qr/b+/i]"#).unwrap().unwrap();
        let Value::List(items) = value else { panic!("not a list") };
        assert_eq!(items[0], Value::Str(b"a".to_vec()));
        let Value::Regex(re) = &items[1] else { panic!("not a regex") };
        assert!(re.is_match(b"xBBx"));
        let Value::Regex(re) = eval(br"qr{hello world\n}").unwrap().unwrap() else { panic!() };
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
            let Value::Regex(re) = eval(src.as_bytes()).unwrap().unwrap() else { panic!("{src}") };
            assert_eq!(re.to_string(), perl, "{src}");
        }
        // The unescaped delimiter is a metacharacter again, as in Perl.
        let Value::Regex(re) = eval(br"qr|^a\|b$|").unwrap().unwrap() else { panic!() };
        assert!(re.is_match(b"b") && re.is_match(b"a|b"));
    }

    #[test]
    fn a_top_level_list_gives_its_first_element() {
        assert_eq!(s(r#""a", "b""#), b"a");
        assert_eq!(s(r#"("x" . "y", "z");"#), b"xy");
        let Value::List(items) = eval(br#"["a", ("b", "c"), "d",]"#).unwrap().unwrap() else {
            panic!()
        };
        assert_eq!(items.len(), 4);
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
