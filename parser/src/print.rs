//! The canonical printer behind `strait fmt`: 4-space indentation, one directive per line,
//! each argument written so that nginx's lexer reads back the same value.
//!
//! An argument keeps the quoting it was written with; a bare argument that would not read
//! back the same (empty, a space, `;`, a leading `#` or quote) is put in double quotes.
//! A bare argument keeps its escapes (a backslash the lexer would rewrite is doubled, a tab,
//! CR or LF that no backslash shields is written `\t`, `\r`, `\n`), so it is as long as
//! written and still fits nginx's token buffer. Inside quotes only what the lexer would
//! rewrite is escaped, so a backslash before an ordinary character (`"\d+"`, a map key
//! `\default`) stays as written and multi-line values (`data:` PEM) stay multi-line.
//! `*_by_lua_block` bodies are written back verbatim between their braces.
//!
//! The tree holds no comments, so the printer cannot keep them; `include` directives are
//! printed as written (the included files are not inlined).

use crate::ast::{Arg, Block, Directive, Quote};

/// Prints a block (a file's directives) canonically.
pub fn print_block(block: &Block) -> Vec<u8> {
    let mut out = Vec::new();
    write_block(&mut out, block, 0);
    out
}

/// Writes the directives of `block` at `depth` levels of indentation.
fn write_block(out: &mut Vec<u8>, block: &Block, depth: usize) {
    for directive in &block.directives {
        write_directive(out, directive, depth);
    }
}

/// Writes one directive, and its block.
fn write_directive(out: &mut Vec<u8>, directive: &Directive, depth: usize) {
    // Step: the indentation, the name and the arguments.
    out.extend(std::iter::repeat_n(b' ', depth * 4));
    let mut token_start = out.len();
    write_arg(out, &directive.name);
    for arg in &directive.args {
        // After a closing quote, nginx's buffer still holds the token while blanks follow:
        // a quoted token near the limit takes a `)` without the space, as it may be written;
        // any token near the limit takes a Lua block's `{` without it (see below).
        let after_quote = matches!(out.last(), Some(b'"' | b'\''));
        let long = out.len() - token_start >= LONG_TOKEN;
        let paren = arg.quote == Quote::None && arg.value.starts_with(b")");
        let lua = arg.quote == Quote::Lua && out.last() != Some(&b'$');
        if !(long && ((after_quote && paren) || lua)) {
            out.push(b' ');
        }
        token_start = out.len();
        if arg.quote == Quote::Lua {
            out.push(b'{');
            out.extend_from_slice(&arg.value);
            out.push(b'}');
        } else {
            write_arg(out, arg);
        }
    }

    // Step: the end: `;`, a Lua body (already closed), or a block. nginx counts the byte
    // that ends a token into its 4096-byte buffer, and a space there overflows where `{`
    // does not: a token near the limit takes its `{` without the space.
    let lua = directive.args.last().is_some_and(|arg| arg.quote == Quote::Lua);
    // (A token ending in `$` keeps the space: `${` would continue it.)
    let long = out.len() - token_start >= LONG_TOKEN && out.last() != Some(&b'$');
    let open: &[u8] = if long { b"{\n" } else { b" {\n" };
    match &directive.block {
        _ if lua => out.push(b'\n'),
        None => out.extend_from_slice(b";\n"),
        Some(block) => {
            out.extend_from_slice(open);
            write_block(out, block, depth + 1);
        }
    }
    if directive.block.is_some() && !lua {
        out.extend(std::iter::repeat_n(b' ', depth * 4));
        out.extend_from_slice(b"}\n");
    }
}

/// Printed tokens at least this long take their `{` without a space (see
/// [`write_directive`]).
const LONG_TOKEN: usize = 4000;

/// Writes one argument so that the lexer reads back `arg.value`.
fn write_arg(out: &mut Vec<u8>, arg: &Arg) {
    match arg.quote {
        Quote::None if is_bare_safe(&arg.value) => write_bare(out, &arg.value),
        Quote::Single => write_quoted(out, &arg.value, b'\''),
        _ => write_quoted(out, &arg.value, b'"'),
    }
}

/// The bytes nginx's lexer rewrites after a backslash.
fn is_escape_letter(byte: u8) -> bool {
    matches!(byte, b'"' | b'\'' | b'\\' | b'n' | b'r' | b't')
}

/// Whether `value`, written bare by [`write_bare`], reads back as one token with the same
/// value.
fn is_bare_safe(value: &[u8]) -> bool {
    let Some(&first) = value.first() else { return false };
    if matches!(first, b'"' | b'\'' | b'#' | b'}') {
        return false;
    }
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            // A backslash shields the next byte; before an escape letter (or at the end) it
            // is doubled, and the letter is an ordinary byte.
            b'\\' => match value.get(i + 1) {
                Some(&next) if !is_escape_letter(next) => {
                    i += 2;
                    continue;
                }
                _ => {}
            },
            b' ' | b';' => return false,
            // `{` ends a bare token, except right after an unescaped `$` (`${name}`).
            b'{' if i == 0 || value[i - 1] != b'$' || (i >= 2 && value[i - 2] == b'\\') => {
                return false
            }
            _ => {}
        }
        i += 1;
    }
    true
}

/// Writes `value` as a bare token, as long as it was written: a backslash and the byte after
/// it as they are when the lexer keeps both (a tab, CR or LF too: the backslash shields it),
/// doubled before an escape letter or last; a tab, CR or LF alone as its escape (`\t`,
/// `\r`, `\n`); any other byte as it is.
fn write_bare(out: &mut Vec<u8>, value: &[u8]) {
    let mut i = 0;
    while i < value.len() {
        match (value[i], value.get(i + 1)) {
            (b'\\', Some(&next)) if !is_escape_letter(next) => {
                out.extend_from_slice(&[b'\\', next]);
                i += 1;
            }
            (b'\\', _) => out.extend_from_slice(b"\\\\"),
            (b'\t', _) => out.extend_from_slice(b"\\t"),
            (b'\r', _) => out.extend_from_slice(b"\\r"),
            (b'\n', _) => out.extend_from_slice(b"\\n"),
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
}

/// Writes `value` between `quote` characters, escaping what the lexer would rewrite.
fn write_quoted(out: &mut Vec<u8>, value: &[u8], quote: u8) {
    out.push(quote);
    for (i, &byte) in value.iter().enumerate() {
        match byte {
            b'"' | b'\'' if byte == quote => {
                out.push(b'\\');
                out.push(byte);
            }
            // A backslash stays bare unless it would form an escape (or escape the quote).
            b'\\' => match value.get(i + 1) {
                Some(&next) if !is_escape_letter(next) => out.push(b'\\'),
                _ => out.extend_from_slice(b"\\\\"),
            },
            _ => out.push(byte),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_safety() {
        assert!(is_bare_safe(b"127.0.0.1:80"));
        assert!(is_bare_safe(b"${name}x"));
        assert!(is_bare_safe(b"\\default"));
        assert!(is_bare_safe(b"a\\;b"));
        assert!(is_bare_safe(b"a}b"));
        assert!(!is_bare_safe(b""));
        assert!(!is_bare_safe(b"a b"));
        assert!(!is_bare_safe(b"#x"));
        assert!(!is_bare_safe(b"a{"));
        assert!(is_bare_safe(b"a\\\nb"));
        assert!(is_bare_safe(b"a\tb\r\n"));
        assert!(is_bare_safe(b"a\\nb"));
        assert!(is_bare_safe(b"a\\"));
    }

    #[test]
    fn bare_arguments_keep_their_escapes() {
        let mut out = Vec::new();
        write_bare(&mut out, b"a\\\\d\\n\\");
        assert_eq!(out, b"a\\\\\\d\\\\n\\\\".to_vec());
    }

    #[test]
    fn bare_arguments_write_tabs_and_line_feeds_as_escapes() {
        let mut out = Vec::new();
        write_bare(&mut out, b"e\"\n\\\nf\t\\\\");
        assert_eq!(out, b"e\"\\n\\\nf\\t\\\\\\\\".to_vec());
    }

    /// Found by the fuzzer: a bare token of ~4050 bytes with quotes and a `\n` escape was
    /// printed in quotes, each `"` escaped, past nginx's 4096-byte token buffer.
    #[test]
    fn a_long_bare_token_with_quotes_and_escaped_newline_stays_bare() {
        let token = [&b"e"[..], &[b'"'; 4000], b"\\nf\""].concat();
        let text = [&token[..], b";\n"].concat();
        let block = crate::parse_bytes(&text, "/x.conf", &Default::default()).unwrap();
        assert_eq!(print_block(block.main()), text);
    }

    /// Found by the fuzzer: a quoted token at the buffer's limit followed by `)` (as in
    /// `if ($a ~ "...")`) overflowed once a space was put before the `)`.
    #[test]
    fn a_quoted_token_at_the_limit_takes_its_paren_without_a_space() {
        let token = [&b"\""[..], &[b'a'; 4094], b"\""].concat();
        let text = [&b"if ($a ~ "[..], &token, b") {\n}\n"].concat();
        let config = crate::parse_bytes(&text, "/x.conf", &Default::default()).unwrap();
        let printed = print_block(config.main());
        assert!(printed.windows(2).any(|w| w == b"\")"), "{}", String::from_utf8_lossy(&printed));
        crate::parse_bytes(&printed, "/x.conf", &Default::default()).unwrap();
    }

    /// Found by the fuzzer: a token near the limit written right against a Lua block's `{`
    /// overflowed once a space was put before the `{`.
    #[test]
    fn a_long_token_takes_its_lua_block_without_a_space() {
        let text = [&b"set_by_lua_block $r "[..], &[b'x'; 4090], b"{ return 1 }\n"].concat();
        let config = crate::parse_bytes(&text, "/x.conf", &Default::default()).unwrap();
        assert_eq!(print_block(config.main()), text);
    }

    #[test]
    fn quoted_escapes_only_what_the_lexer_rewrites() {
        let mut out = Vec::new();
        write_quoted(&mut out, b"say \"hi\" \\d \\n \\", b'"');
        assert_eq!(out, b"\"say \\\"hi\\\" \\d \\\\n \\\\\"".to_vec());
    }
}
