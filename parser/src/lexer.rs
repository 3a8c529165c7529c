//! The configuration lexer: nginx's `ngx_conf_read_token` rules on bytes, plus the Lua rules
//! nginx-lua applies to the bodies of `*_by_lua_block` directives.
//!
//! The grammar functions (`blank`, `comment`, `bare_word`, `quoted_word`, `lua_body` and their
//! parts) are nom parsers over `&[u8]` that only find spans; [`Lexer`] drives them one
//! directive at a time and applies what depends on the whole file: line counting (on LF
//! only), escape rewriting, nginx's 4096-byte token buffer, and the error messages. nom's
//! error type never leaves this module: faults leave as [`LexError`] (kind and line), which the
//! tree builder turns into the public [`crate::ParseError`] once it knows the file.
//!
//! The token buffer rule, as nginx behaves: a token (or comment) fails when the lexer must
//! read the byte 4096 bytes after the token's first byte while that token is still the
//! current one. A token stays current through its terminator and, when the terminator is a
//! space, through the byte after it (nginx's `start` moves only when the next token begins).

use nom::bytes::complete::{tag, take_till, take_while};
use nom::combinator::recognize;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use std::path::Path;
use std::sync::Arc;

use crate::ast::{Arg, Location, Quote};
use crate::error::ErrorKind;

/// nginx's `NGX_CONF_BUFFER`: the most bytes one token may span.
pub(crate) const TOKEN_BUFFER: usize = 4096;

/// How many bytes of a too-long token nginx quotes in its message.
const TOO_LONG_HEAD: usize = 10;

/// Where the input comes from: a file (token limit applies, EOF says "file") or a `-g`
/// string (no limit, EOF says "parameter").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A configuration file.
    File,
    /// The `-g` command-line string.
    Param,
}

/// What one call of [`Lexer::next_event`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A directive ended by `;` (`block == false`) or `{` (`block == true`).
    Statement {
        /// The name and the arguments, as nginx stores them (quotes removed, escapes
        /// rewritten), each placed at its first byte (its opening quote when quoted).
        words: Vec<Arg>,
        /// Whether a `{` ended it.
        block: bool,
        /// The line of the `;` or `{` (the line nginx puts in its messages).
        line: usize,
    },
    /// A `}` with no pending tokens.
    BlockEnd {
        /// The line of the `}`.
        line: usize,
    },
    /// The input ended between directives.
    End {
        /// The line after the last byte (nginx's counter at the end of the input).
        line: usize,
    },
}

/// A lexical fault: the message kind and the line nginx reports it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    /// The message.
    pub(crate) kind: ErrorKind,
    /// The line nginx names.
    pub(crate) line: usize,
}

/// How a bare token ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BareEnd {
    /// At a space, TAB, CR or LF (not consumed).
    Space,
    /// At `;` or `{` (not consumed).
    Terminator,
    /// At the end of the input.
    Eof,
}

/// Bytes that separate tokens.
fn is_blank(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

/// Bytes a bare token must look at; every other byte is plain token content.
static BARE_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b" \t\r\n;{\\$";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

/// blank = { " " | TAB | CR | LF }
fn blank(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(is_blank).parse(input)
}

/// comment = "#" { any byte but LF }   (only where a token may start)
fn comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(preceded(tag(&b"#"[..]), take_till(|ch| ch == b'\n'))).parse(input)
}

/// bare_word = token content up to a blank, `;` or `{`; `\` makes the next byte plain and
/// a `{` right after `$` stays in the token (`${name}`).
fn bare_word(input: &[u8]) -> IResult<&[u8], (&[u8], BareEnd)> {
    let mut i = 0;
    let mut variable = false;
    while i < input.len() {
        let ch = input[i];
        if !BARE_SPECIAL[ch as usize] {
            variable = false;
            i += 1;
            continue;
        }
        if ch == b'{' && variable {
            i += 1;
            continue;
        }
        variable = false;
        match ch {
            b'\\' => i += 2,
            b'$' => {
                variable = true;
                i += 1;
            }
            b';' | b'{' => return Ok((&input[i..], (&input[..i], BareEnd::Terminator))),
            _ => return Ok((&input[i..], (&input[..i], BareEnd::Space))),
        }
    }
    let end = input.len();
    Ok((&input[end..], (input, BareEnd::Eof)))
}

/// quoted_word = QUOTE { `\` any | any but QUOTE } QUOTE; yields the quote, the content and
/// whether the closing quote was found before the end of the input.
fn quoted_word(input: &[u8]) -> IResult<&[u8], (u8, &[u8], bool)> {
    let Some(&quote) = input.first().filter(|&&ch| ch == b'"' || ch == b'\'') else {
        return Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Char)));
    };
    let mut i = 1;
    while let Some(at) = memchr::memchr2(quote, b'\\', input.get(i..).unwrap_or_default()) {
        i += at;
        if input[i] == quote {
            return Ok((&input[i + 1..], (quote, &input[1..i], true)));
        }
        i += 2;
    }
    let end = input.len();
    Ok((&input[end..], (quote, &input[1..], false)))
}

/// lua_long_bracket_open = "[" { "=" } "["; yields the level (the number of `=`).
fn lua_long_bracket_open(input: &[u8]) -> IResult<&[u8], usize> {
    delimited(tag(&b"["[..]), take_while(|ch| ch == b'='), tag(&b"["[..]))
        .map(|level: &[u8]| level.len())
        .parse(input)
}

/// The closing long bracket of a level: "]" { "=" } "]".
fn lua_long_bracket_close(level: usize) -> Vec<u8> {
    let mut close = vec![b']'];
    close.resize(level + 1, b'=');
    close.push(b']');
    close
}

/// lua_short_string = QUOTE { `\` any but LF | any but QUOTE, `\` or LF } QUOTE; yields its
/// length, `None` when no closing quote comes before a line end (nginx-lua then reads the
/// quote as a plain character).
fn lua_short_string(input: &[u8]) -> Option<usize> {
    let quote = *input.first()?;
    let mut i = 1;
    while let Some(&ch) = input.get(i) {
        match ch {
            b'\n' => return None,
            b'\\' if input.get(i + 1).is_some_and(|&next| next != b'\n') => i += 2,
            b'\\' => return None,
            _ if ch == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// How a Lua body scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LuaEnd {
    /// The matching `}` is at this offset (relative to the body start).
    Closed(usize),
    /// The input ended; the last `{` seen is at this offset (`None`: only the opening one).
    Eof(Option<usize>),
    /// A long bracket opened at this offset (of this level) is never closed.
    OpenBracket(usize, usize),
}

/// lua_body = { lua_comment | lua_long_string | lua_short_string | "{" lua_body "}" | any }
/// "}": the text of a `*_by_lua_block` body up to its matching `}`.
fn lua_body(input: &[u8]) -> LuaEnd {
    let mut depth = 1usize;
    let mut last_open = None;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'-' if input.get(i + 1) == Some(&b'-') => {
                // A `--[=[` long comment or a `--` line comment.
                if let Ok((rest, level)) = lua_long_bracket_open(&input[i + 2..]) {
                    let body = input.len() - rest.len();
                    let close = lua_long_bracket_close(level);
                    match find(&input[body..], &close) {
                        Some(at) => i = body + at + close.len(),
                        None => return LuaEnd::OpenBracket(i, level),
                    }
                } else {
                    i += 2 + memchr::memchr(b'\n', &input[i + 2..]).unwrap_or(input.len() - i - 2);
                }
            }
            b'[' => match lua_long_bracket_open(&input[i..]) {
                Ok((rest, level)) => {
                    let body = input.len() - rest.len();
                    let close = lua_long_bracket_close(level);
                    match find(&input[body..], &close) {
                        Some(at) => i = body + at + close.len(),
                        None => return LuaEnd::OpenBracket(i, level),
                    }
                }
                Err(_) => i += 1,
            },
            b'"' | b'\'' => i += lua_short_string(&input[i..]).unwrap_or(1),
            b'{' => {
                depth += 1;
                last_open = Some(i);
                i += 1;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return LuaEnd::Closed(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    LuaEnd::Eof(last_open)
}

/// The first offset of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// nginx's escape rewriting, applied to every token: `\"` `\'` `\\` lose the backslash,
/// `\n` `\r` `\t` become LF, CR, TAB, any other `\X` stays as written.
pub(crate) fn unescape(raw: &[u8]) -> Vec<u8> {
    if memchr::memchr(b'\\', raw).is_none() {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let ch = raw[i];
        if ch == b'\\' && i + 1 < raw.len() {
            let rewritten = match raw[i + 1] {
                b'"' => Some(b'"'),
                b'\'' => Some(b'\''),
                b'\\' => Some(b'\\'),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                _ => None,
            };
            if let Some(byte) = rewritten {
                out.push(byte);
                i += 2;
                continue;
            }
        }
        out.push(ch);
        i += 1;
    }
    out
}

/// Reads directives from one file (or the `-g` string), one event at a time.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    /// The whole input.
    src: &'a [u8],
    /// The next byte to read.
    pos: usize,
    /// File or `-g` string.
    mode: Mode,
    /// Line counting state: lines are counted up to `counted`.
    counted: usize,
    /// The line number at offset `counted`.
    line: usize,
    /// The offset where that line starts.
    line_start: usize,
    /// The file the tokens are placed in (`None`: the `-g` string).
    file: Option<Arc<Path>>,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub(crate) fn new(src: &'a [u8], mode: Mode, file: Option<Arc<Path>>) -> Lexer<'a> {
        Lexer { src, pos: 0, mode, counted: 0, line: 1, line_start: 0, file }
    }

    /// A token of this input as a tree argument.
    fn arg(&self, value: Vec<u8>, quote: Quote, (line, column): (usize, usize)) -> Arg {
        Arg { value, quote, location: Location { file: self.file.clone(), line, column } }
    }

    /// The line and column of `offset`; offsets must be asked in increasing order.
    fn locate(&mut self, offset: usize) -> (usize, usize) {
        if offset > self.counted {
            let span = &self.src[self.counted..offset];
            if span.len() < 32 {
                // Most spans are one token and a blank: a plain loop beats a vector search.
                for (at, &ch) in span.iter().enumerate() {
                    if ch == b'\n' {
                        self.line += 1;
                        self.line_start = self.counted + at + 1;
                    }
                }
            } else {
                let newlines = memchr::memchr_iter(b'\n', span).count();
                if newlines > 0 {
                    self.line += newlines;
                    let last = memchr::memrchr(b'\n', span).unwrap_or(0);
                    self.line_start = self.counted + last + 1;
                }
            }
            self.counted = offset;
        }
        (self.line, offset.saturating_sub(self.line_start) + 1)
    }

    /// The line of `offset` (the line nginx's counter shows while reading that byte).
    fn line_at(&mut self, offset: usize) -> usize {
        self.locate(offset).0
    }

    /// A fault at the line of `offset`.
    fn fault(&mut self, kind: ErrorKind, offset: usize) -> LexError {
        LexError { line: self.line_at(offset), kind }
    }

    /// The token buffer check: a token starting at `start` failed if the lexer read the byte
    /// at `last_read` while it was current and that byte lies 4096 or more bytes on.
    /// `closing_quote` is where a quoted token's closing quote is (`None`: not closed), which
    /// decides between nginx's two messages.
    fn check_token_buffer(
        &mut self,
        start: usize,
        last_read: usize,
        closing_quote: Option<(u8, Option<usize>)>,
    ) -> Result<(), LexError> {
        if self.mode == Mode::Param || last_read < start + TOKEN_BUFFER {
            return Ok(());
        }
        let line = self.line_at(start);
        let refill = start + TOKEN_BUFFER;
        let kind = match closing_quote {
            Some((quote, closed)) if closed.is_none_or(|at| at >= refill) => {
                ErrorKind::TooLongQuoted { quote }
            }
            _ => ErrorKind::TooLongParameter {
                head: self.src[start..start + TOO_LONG_HEAD].to_vec(),
            },
        };
        Err(LexError { kind, line })
    }

    /// The offset of the last byte read while a token ending with a blank at `blank_at` was
    /// current: the blank, and the byte after it when there is one.
    fn after_blank(&self, blank_at: usize) -> usize {
        (blank_at + 1).min(self.src.len() - 1)
    }

    /// Skips blanks and comments up to where a token may start.
    fn skip_blanks_and_comments(&mut self) -> Result<(), LexError> {
        loop {
            let rest = &self.src[self.pos..];
            let (rest, _) = blank(rest).unwrap_or((rest, &[]));
            self.pos = self.src.len() - rest.len();
            let Ok((rest, text)) = comment(rest) else {
                return Ok(());
            };
            let start = self.pos;
            self.pos = self.src.len() - rest.len();

            // Step: a comment holds the token buffer until its LF (nginx's `start` stays on
            // the `#`), so a comment of 4096 bytes or more fails like a long token.
            let last_read = if self.pos < self.src.len() { self.pos } else { self.pos - 1 };
            debug_assert!(text.first() == Some(&b'#'));
            self.check_token_buffer(start, last_read, None)?;
        }
    }

    /// Reads the next directive, `}` or end of input.
    pub(crate) fn next_event(&mut self) -> Result<Event, LexError> {
        let mut words = Vec::new();
        loop {
            // Step: skip what separates tokens.
            self.skip_blanks_and_comments()?;

            // Step: the end of the input ends the file only between directives.
            let Some(&ch) = self.src.get(self.pos) else {
                if words.is_empty() {
                    return Ok(Event::End { line: self.line_at(self.src.len()) });
                }
                let kind = match self.mode {
                    Mode::File => ErrorKind::UnexpectedEndOfFile,
                    Mode::Param => ErrorKind::UnexpectedEndOfParameter,
                };
                return Err(self.fault(kind, self.src.len()));
            };

            // Step: `;`, `{` and `}` where a token may start are syntax.
            match ch {
                b';' | b'{' => {
                    let line = self.line_at(self.pos);
                    if words.is_empty() {
                        return Err(LexError { kind: ErrorKind::UnexpectedChar(ch), line });
                    }
                    self.pos += 1;
                    return Ok(Event::Statement { words, block: ch == b'{', line });
                }
                b'}' => {
                    let line = self.line_at(self.pos);
                    if !words.is_empty() {
                        return Err(LexError { kind: ErrorKind::UnexpectedChar(ch), line });
                    }
                    self.pos += 1;
                    return Ok(Event::BlockEnd { line });
                }
                b'"' | b'\'' => words.push(self.read_quoted()?),
                _ => words.push(self.read_bare()?),
            }
        }
    }

    /// Reads a bare token at `self.pos`.
    fn read_bare(&mut self) -> Result<Arg, LexError> {
        let start = self.pos;
        let place = self.locate(start);
        let (rest, (raw, end)) =
            bare_word(&self.src[start..]).expect("bare_word accepts any input");
        self.pos = self.src.len() - rest.len();

        // Step: the token buffer, held through the terminator (and the byte after a blank).
        let last_read = match end {
            BareEnd::Space => self.after_blank(self.pos),
            BareEnd::Terminator => self.pos,
            BareEnd::Eof => self.src.len() - 1,
        };
        self.check_token_buffer(start, last_read, None)?;

        Ok(self.arg(unescape(raw), Quote::None, place))
    }

    /// Reads a quoted token at `self.pos` and checks what follows its closing quote.
    fn read_quoted(&mut self) -> Result<Arg, LexError> {
        let open = self.pos;
        let place = self.locate(open);
        let (rest, (quote, raw, closed)) =
            quoted_word(&self.src[open..]).expect("a quote starts here");
        self.pos = self.src.len() - rest.len();
        let content = open + 1;

        // Step: the token buffer (counted from after the opening quote), held through the
        // byte after the closing quote, and one more when that byte is a blank.
        let closing = closed.then(|| self.pos - 1);
        let last_read = match self.src.get(self.pos) {
            None => self.src.len() - 1,
            Some(&next) if is_blank(next) => self.after_blank(self.pos),
            Some(_) => self.pos,
        };
        self.check_token_buffer(content, last_read, Some((quote, closing)))?;

        // Step: after a closing quote nginx wants a blank, `;`, `{` or `)`.
        if let Some(&next) = self.src.get(self.pos) {
            if closed && !matches!(next, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b')') {
                return Err(self.fault(ErrorKind::UnexpectedChar(next), self.pos));
            }
        }

        let quote = if quote == b'"' { Quote::Double } else { Quote::Single };
        Ok(self.arg(unescape(raw), quote, place))
    }

    /// Reads a `*_by_lua_block` body right after its `{`: Lua text up to the matching `}`,
    /// kept verbatim. `open_line` is the line of the `{`.
    pub(crate) fn lua_block(&mut self, open_line: usize) -> Result<Arg, LexError> {
        let start = self.pos;
        let place = self.locate(start.saturating_sub(1));
        match lua_body(&self.src[start..]) {
            LuaEnd::Closed(len) => {
                self.pos = start + len + 1;
                let value = self.src[start..start + len].to_vec();
                Ok(self.arg(value, Quote::Lua, place))
            }
            LuaEnd::Eof(last_open) => {
                // nginx-lua names the line of the last `{` it saw.
                let line = match last_open {
                    Some(at) => self.line_at(start + at),
                    None => open_line,
                };
                Err(LexError { kind: ErrorKind::UnclosedLuaBlock, line })
            }
            LuaEnd::OpenBracket(at, level) => Err(self.fault(
                ErrorKind::UnclosedLuaLongBracket { closing: lua_long_bracket_close(level) },
                start + at,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All events of `src` up to the end or the first fault.
    fn events(src: &[u8]) -> Result<Vec<Event>, LexError> {
        let mut lexer = Lexer::new(src, Mode::File, None);
        let mut out = Vec::new();
        loop {
            match lexer.next_event()? {
                Event::End { .. } => return Ok(out),
                event => out.push(event),
            }
        }
    }

    /// The values of the words of the first statement.
    fn words(src: &[u8]) -> Vec<Vec<u8>> {
        match events(src).expect("lexes").into_iter().next() {
            Some(Event::Statement { words, .. }) => words.into_iter().map(|w| w.value).collect(),
            other => panic!("no statement: {other:?}"),
        }
    }

    fn fault(src: &[u8]) -> (String, usize) {
        let err = events(src).expect_err("must fail");
        (String::from_utf8_lossy(&err.kind.message()).into_owned(), err.line)
    }

    // Each rule below was checked against nginx 1.22.1 (`nginx -t` on the same text); the
    // integration tests in tests/lexer.rs compare the same kind of cases with nginx live.

    #[test]
    fn sharp_starts_a_comment_only_at_token_start() {
        assert_eq!(words(b"env a#b # c\n;"), vec![b"env".to_vec(), b"a#b".to_vec()]);
    }

    #[test]
    fn dollar_brace_stays_in_the_token() {
        assert_eq!(words(b"return a${b}c;"), vec![b"return".to_vec(), b"a${b}c".to_vec()]);
        // An escaped `$` does not protect the `{`: it opens a block.
        let events = events(b"x \\${ }").expect("lexes");
        assert!(matches!(&events[0], Event::Statement { block: true, .. }));
    }

    #[test]
    fn close_brace_inside_a_token_is_plain() {
        assert_eq!(words(b"env a}b;"), vec![b"env".to_vec(), b"a}b".to_vec()]);
    }

    #[test]
    fn quotes_only_at_token_start() {
        assert_eq!(words(b"env a\"b\"c;"), vec![b"env".to_vec(), b"a\"b\"c".to_vec()]);
    }

    #[test]
    fn paren_may_follow_a_closing_quote() {
        let got = words(b"if ($a = \"x\");");
        assert_eq!(
            got,
            vec![b"if".to_vec(), b"($a".to_vec(), b"=".to_vec(), b"x".to_vec(), b")".to_vec()]
        );
    }

    #[test]
    fn escapes_are_rewritten_in_bare_and_quoted_tokens() {
        let got = words(b"env a\\tb \"c\\nd\\e\" 'f\\'g';");
        assert_eq!(got[1..], [b"a\tb".to_vec(), b"c\nd\\e".to_vec(), b"f'g".to_vec()]);
    }

    #[test]
    fn faults_name_the_current_line() {
        assert_eq!(fault(b"\n\nenv \"a\"\"b\";"), ("unexpected \"\"\"".to_string(), 3));
        assert_eq!(fault(b"env \"a\"b;"), ("unexpected \"b\"".to_string(), 1));
        assert_eq!(fault(b"\n\n;"), ("unexpected \";\"".to_string(), 3));
        assert_eq!(fault(b"env a\n}"), ("unexpected \"}\"".to_string(), 2));
        assert_eq!(
            fault(b"env a\n"),
            ("unexpected end of file, expecting \";\" or \"}\"".to_string(), 2)
        );
    }

    #[test]
    fn grammar_functions_find_spans() {
        assert_eq!(blank(b" \t\r\nx").unwrap().0, b"x");
        assert_eq!(comment(b"# hi\nx").unwrap(), (&b"\nx"[..], &b"# hi"[..]));
        assert_eq!(bare_word(b"a${b}c;").unwrap().1, (&b"a${b}c"[..], BareEnd::Terminator));
        assert_eq!(quoted_word(b"'a\\'b' ").unwrap().1, (b'\'', &b"a\\'b"[..], true));
        assert_eq!(lua_long_bracket_open(b"[==[x").unwrap(), (&b"x"[..], 2));
    }
}
