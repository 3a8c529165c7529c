//! The Test::Base grammar of `.t` files: the data section, `===` blocks, `---` sections,
//! inline values, filters (`norm`, `trim`, `chomp`, `chop`, `eval`, `lines`, `join`, ...) and the
//! `ONLY`/`SKIP`/`LAST` controls, with the exact results Test::Base gives.

use std::path::{Path, PathBuf};

use crate::error::SpecError;
use crate::perl;
use crate::value::Value;

/// The filters Test::Base applies to every section before the section's own ones.
const DEFAULT_FILTERS: [&str; 2] = ["norm", "trim"];

/// Names Test::Base refuses as section names: the methods and symbols of its block class.
const RESERVED_SECTIONS: &[&str] = &[
    "AUTOLOAD",
    "BEGIN",
    "DESTROY",
    "EXPORT",
    "ISA",
    "block_accessor",
    "blocks_object",
    "description",
    "is_filtered",
    "name",
    "new",
    "original_values",
    "run_filters",
    "seq_num",
    "set_value",
];

/// Test::Base::Filter's filters that this runner does not implement (distinguished from an
/// unknown filter name, which Test::Base itself refuses).
const UNIMPLEMENTED_FILTERS: &[&str] = &[
    "Join",
    "Reverse",
    "Sort",
    "Split",
    "append",
    "array",
    "base64_decode",
    "base64_encode",
    "dumper",
    "escape",
    "eval_all",
    "eval_stderr",
    "eval_stdout",
    "exec_perl_stdout",
    "flatten",
    "get_url",
    "hash",
    "head",
    "prepend",
    "read_file",
    "regexp",
    "reverse",
    "slice",
    "sort",
    "split",
    "strict",
    "tail",
    "write_file",
    "yaml",
];

/// One `.t` file: the blocks Test::Base would run, in file order.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The file the spec was read from.
    pub path: PathBuf,
    /// The blocks left after `ONLY`, `SKIP` and `LAST`.
    pub blocks: Vec<Block>,
    /// Whether a block had `--- ONLY` (Test::Base then says "I found ONLY").
    pub found_only: bool,
    /// The Perl code before `__DATA__` (where `repeat_each(2)` and the like are called).
    pub preamble: String,
}

/// One `=== ...` block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The rest of the `===` line, trailing spaces included (e.g. `TEST 1: echo`).
    pub name: String,
    /// Text between the name line and the first section, or the name.
    pub description: String,
    /// 1-based line of the `===` line in the file.
    pub line: usize,
    /// Sections in the order they appear, each with its filtered value.
    pub sections: Vec<Section>,
    /// Sections the runner could not filter as Test::Base would (Perl beyond the literals
    /// it evaluates, a filter it lacks), each message naming the section: the runner fails
    /// the block with them rather than run it with a wrong value.
    pub faults: Vec<String>,
    /// Sections written in the block whose value Test::Base leaves undefined (the filters
    /// gave an empty list, e.g. an empty `eval` body): not in `sections`, so absent for
    /// every check, as `defined $block->x` is false.
    pub undefined: Vec<String>,
}

/// One `--- name` section after its filters ran.
#[derive(Debug, Clone)]
pub struct Section {
    /// The section name (`stream_response`, ...).
    pub name: String,
    /// The filter words from the header line.
    pub filters: Vec<String>,
    /// The value after filters.
    pub value: Value,
    /// 1-based line of the section header in the file.
    pub line: usize,
}

impl Block {
    /// The value of section `name`, if the block has it (a later repeat wins).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.sections.iter().rev().find(|s| s.name == name).map(|s| &s.value)
    }

    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().rev().find(|s| s.name == name)
    }

    /// Whether the block has section `name` (Perl's `defined`).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The bytes of string section `name`.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).and_then(Value::as_bytes)
    }

    /// String section `name` as text (lossy for non-UTF-8 bytes).
    pub fn text(&self, name: &str) -> Option<String> {
        self.bytes(name).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Whether section `name` is present and true in Perl's sense.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(Value::is_true)
    }

    /// Replaces (or adds) section `name` with `value`, as `set_value` does.
    pub fn set(&mut self, name: &str, value: Value) {
        self.sections.retain(|s| s.name != name);
        self.undefined.retain(|n| n != name);
        self.sections.push(Section { name: name.to_string(), filters: Vec::new(), value, line: 0 });
    }
}

/// Reads and parses the `.t` file at `path`.
pub fn read_spec(path: &Path) -> Result<Spec, SpecError> {
    let bytes = std::fs::read(path)
        .map_err(|source| SpecError::Read { path: path.to_path_buf(), source })?;
    let text = String::from_utf8(bytes).map_err(|_| SpecError::NotUtf8 { path: path.into() })?;
    parse_file(path, &text)
}

/// Parses a whole `.t` file: the spec is what follows the `__DATA__` (or `__END__`) line.
pub fn parse_file(path: &Path, text: &str) -> Result<Spec, SpecError> {
    let mut offset = 0;
    let mut first_line = 1;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        first_line += 1;
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if trimmed == "__DATA__" || trimmed == "__END__" {
            found = true;
            break;
        }
    }
    if !found {
        return Err(SpecError::NoData { path: path.to_path_buf() });
    }
    let mut spec = parse_spec(path, &text[offset..], first_line)?;
    spec.preamble = text[..offset].to_string();
    Ok(spec)
}

/// Parses spec text (the data section), whose first line is line `first_line` of the file.
pub fn parse_spec(path: &Path, spec: &str, first_line: usize) -> Result<Spec, SpecError> {
    let mut blocks = Vec::new();
    let mut found_only = false;

    // Hunks: each starts at a line beginning with `===` and runs to the next such line.
    let mut hunks: Vec<(usize, String)> = Vec::new();
    for (line_no, line) in (first_line..).zip(spec.split_inclusive('\n')) {
        if line.starts_with("===") {
            hunks.push((line_no, String::new()));
        }
        if let Some((_, hunk)) = hunks.last_mut() {
            hunk.push_str(line);
        }
    }

    // Blocks in order; ONLY wins over everything, then SKIP drops, then LAST stops.
    for (line, hunk) in hunks {
        let block = make_block(path, line, &hunk)?;
        if block.has("ONLY") {
            found_only = true;
            blocks = vec![block];
            break;
        }
        if block.has("SKIP") {
            continue;
        }
        let last = block.has("LAST");
        blocks.push(block);
        if last {
            break;
        }
    }
    Ok(Spec { path: path.to_path_buf(), blocks, found_only, preamble: String::new() })
}

/// A section as written, before filters.
struct RawSection {
    name: String,
    filters: String,
    value: String,
    line: usize,
}

/// Builds one block from its hunk, as Test::Base's `_make_block` and `run_filters` do.
fn make_block(path: &Path, line: usize, hunk: &str) -> Result<Block, SpecError> {
    // The name is the rest of the `===` line; the whitespace after it (the newline, blank
    // lines, indentation) is consumed before the description.
    let after_delim = hunk[3..].trim_start_matches([' ', '\t']);
    let name_end = after_delim.find('\n').unwrap_or(after_delim.len());
    let name = after_delim[..name_end].to_string();
    let rest = &after_delim[name_end..];
    if rest.is_empty() {
        return Err(SpecError::Block {
            path: path.to_path_buf(),
            block: name,
            message: "the block line has no newline after it".into(),
        });
    }
    let consumed_lines = rest.len() - rest.trim_start().len();
    let skipped_newlines = rest[..consumed_lines].matches('\n').count();
    let body = rest.trim_start();
    let body_line = line + skipped_newlines;

    // Sections: headers `--- +(?(\w+))? *(.*)?\n` at line starts split the body.
    let (description, raw_sections) = split_sections(body, body_line);
    let description = {
        let text = if description.chars().any(|c| !c.is_whitespace()) && description != "0" {
            description
        } else {
            name.clone()
        };
        text.trim_end().to_string()
    };

    // Inline values, reserved names, then the filters in section order.
    let mut raw = Vec::with_capacity(raw_sections.len());
    for mut section in raw_sections {
        if section.name.starts_with('_') || RESERVED_SECTIONS.contains(&section.name.as_str()) {
            return Err(SpecError::Reserved {
                path: path.to_path_buf(),
                block: name.clone(),
                section: section.name,
            });
        }
        if let Some((filters, value)) = split_inline(&section.filters) {
            if section.value.chars().any(|c| !c.is_whitespace()) {
                return Err(SpecError::ExtraLines {
                    path: path.to_path_buf(),
                    block: name.clone(),
                    section: section.name,
                });
            }
            section.filters = filters;
            section.value = value;
        }
        raw.push(section);
    }
    let mut block = Block {
        name: name.clone(),
        description,
        line,
        sections: Vec::new(),
        faults: Vec::new(),
        undefined: Vec::new(),
    };
    run_filters(path, &mut block, raw)?;
    Ok(block)
}

/// Splits a block body into its description and raw sections.
fn split_sections(body: &str, first_line: usize) -> (String, Vec<RawSection>) {
    let mut description = String::new();
    let mut sections: Vec<RawSection> = Vec::new();
    for (line_no, line) in (first_line..).zip(body.split_inclusive('\n')) {
        match section_header(line) {
            Some((name, filters)) => {
                sections.push(RawSection { name, filters, value: String::new(), line: line_no })
            }
            None => match sections.last_mut() {
                Some(section) => section.value.push_str(line),
                None => description.push_str(line),
            },
        }
    }
    (description, sections)
}

/// Parses a section header line `--- name rest\n` into the name and the rest.
fn section_header(line: &str) -> Option<(String, String)> {
    let line = line.strip_suffix('\n')?;
    let after = line.strip_prefix("---")?;
    let after_spaces = after.trim_start_matches(' ');
    if after_spaces.len() == after.len() {
        return None;
    }
    let inner = after_spaces.strip_prefix('(').unwrap_or(after_spaces);
    let name_len = inner.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    if name_len == 0 {
        return None;
    }
    let name = &inner[..name_len];
    let rest = &inner[name_len..];
    let rest = rest.strip_prefix(')').unwrap_or(rest);
    Some((name.to_string(), rest.trim_start_matches(' ').to_string()))
}

/// Splits `filters: value` at the first colon followed by whitespace or the end, as
/// Test::Base does for inline values; `None` when the header has no such colon.
fn split_inline(rest: &str) -> Option<(String, String)> {
    let bytes = rest.as_bytes();
    let colon = (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace()))?;
    let filters = rest[..colon].trim_end().to_string();
    let value = rest[colon + 1..].trim().to_string();
    Some((filters, value))
}

/// The filter list for a header: defaults, then the header's words; `-x` removes an earlier
/// `x`, `+x` goes to the very end.
fn filter_list(header: &str) -> Vec<String> {
    let mut filters: Vec<String> = Vec::new();
    let mut append: Vec<String> = Vec::new();
    let words = DEFAULT_FILTERS
        .iter()
        .map(|s| s.to_string())
        .chain(header.split_ascii_whitespace().map(str::to_string));
    for word in words {
        if let Some(removed) = word.strip_prefix('-') {
            filters.retain(|f| f != removed);
        } else if let Some(added) = word.strip_prefix('+') {
            append.push(added.to_string());
        } else {
            filters.push(word);
        }
    }
    filters.extend(append);
    filters
}

/// Runs each section's filters in section order (a repeated section runs them again on the
/// later value, as Test::Base does). Values pass between filters as Perl lists; the section's
/// value is the first element, as Test::Base gives it in scalar context.
fn run_filters(path: &Path, block: &mut Block, raw: Vec<RawSection>) -> Result<(), SpecError> {
    let mut order: Vec<String> = Vec::new();
    for section in &raw {
        order.push(section.name.clone());
    }
    let mut last: Vec<RawSection> = Vec::new();
    for section in raw {
        last.retain(|s| s.name != section.name);
        last.push(section);
    }
    let mut values: Vec<(String, Vec<Value>)> = last
        .iter()
        .map(|s| (s.name.clone(), vec![Value::Str(s.value.clone().into_bytes())]))
        .collect();

    for name in &order {
        let Some(section) = last.iter().find(|s| &s.name == name) else { continue };
        let Some(slot) = values.iter_mut().find(|(n, _)| n == name) else { continue };
        for filter in filter_list(&section.filters) {
            let (filter_name, argument) = match filter.split_once('=') {
                Some((f, a)) => (f.to_string(), Some(a.to_string())),
                None => (filter.clone(), None),
            };
            let list = std::mem::take(&mut slot.1);
            match apply_filter(&filter_name, argument.as_deref(), list) {
                Ok(list) => slot.1 = list,
                Err(FilterFault::Fatal(message)) => {
                    return Err(SpecError::Filter {
                        path: path.to_path_buf(),
                        block: block.name.clone(),
                        section: name.clone(),
                        message,
                    });
                }
                Err(FilterFault::Unsupported(message)) => {
                    block.faults.push(format!("--- {name}: {message}"));
                    slot.1 = vec![Value::Str(Vec::new())];
                    break;
                }
            }
        }
    }

    // A section whose filters give an empty list (an empty `eval` body, `eval` of `()`) is
    // undefined in Test::Base: absent for every check, its name kept in `undefined`.
    for section in last {
        let value = values
            .iter_mut()
            .find(|(n, _)| n == &section.name)
            .and_then(|(_, list)| (!list.is_empty()).then(|| list.swap_remove(0)));
        let Some(value) = value else {
            block.undefined.push(section.name);
            continue;
        };
        block.sections.push(Section {
            filters: section.filters.split_ascii_whitespace().map(str::to_string).collect(),
            name: section.name,
            value,
            line: section.line,
        });
    }
    Ok(())
}

/// Why a filter gave no value.
enum FilterFault {
    /// Test::Base itself dies (an unknown filter, a list where a scalar must be): the file
    /// cannot be read.
    Fatal(String),
    /// Test::Base would give a value that the runner cannot compute: the block fails.
    Unsupported(String),
}

/// Applies one filter by name, with its `=argument`, to a Perl list.
fn apply_filter(
    name: &str,
    argument: Option<&str>,
    list: Vec<Value>,
) -> Result<Vec<Value>, FilterFault> {
    match name {
        "norm" => map_strings(vec![scalar(name, list)?], norm),
        "trim" => map_strings(list, trim),
        "chomp" => map_strings(list, |mut s| {
            if s.last() == Some(&b'\n') {
                s.pop();
            }
            s
        }),
        "chop" => map_strings(list, |mut s| {
            pop_char(&mut s);
            s
        }),
        "unchomp" => map_strings(list, |mut s| {
            s.push(b'\n');
            s
        }),
        "lines" => match scalar(name, list)? {
            Value::Str(s) => {
                Ok(s.split_inclusive(|b| *b == b'\n').map(|l| Value::Str(l.to_vec())).collect())
            }
            _ => Err(FilterFault::Unsupported("the lines filter needs a string".into())),
        },
        "eval" => match scalar(name, list)? {
            Value::Str(source) => perl::eval_list(&source).map_err(|e| {
                FilterFault::Unsupported(format!(
                    "the eval filter: Perl beyond the literals strait evaluates: {e}"
                ))
            }),
            _ => Err(FilterFault::Unsupported("the eval filter needs a string".into())),
        },
        "join" => join(argument, list).map(|joined| vec![Value::Str(joined)]),
        _ if UNIMPLEMENTED_FILTERS.contains(&name) => Err(FilterFault::Unsupported(format!(
            "the Test::Base filter '{name}' is not supported by strait's runner"
        ))),
        _ => {
            Err(FilterFault::Fatal(format!("Can't find a function or method for '{name}' filter")))
        }
    }
}

/// The one value of a filter that takes a scalar (`assert_scalar`: Test::Base croaks on a
/// list).
fn scalar(filter: &str, mut list: Vec<Value>) -> Result<Value, FilterFault> {
    if list.len() != 1 {
        return Err(FilterFault::Fatal(format!(
            "Input to the '{filter}' filter must be a scalar, not a list"
        )));
    }
    Ok(list.swap_remove(0))
}

/// `join`: the list's elements as strings, with the filter's argument between them
/// (Test::Base's `current_arguments`: `\s` is a space, `\n` and the like their characters).
fn join(argument: Option<&str>, list: Vec<Value>) -> Result<Vec<u8>, FilterFault> {
    let separator = argument.map(filter_argument).unwrap_or_default();
    let mut out = Vec::new();
    for (n, value) in list.into_iter().enumerate() {
        if n > 0 {
            out.extend_from_slice(&separator);
        }
        match value {
            Value::Str(bytes) => out.extend(bytes),
            Value::Regex(re) => out.extend(re.to_string().into_bytes()),
            Value::List(_) => {
                return Err(FilterFault::Unsupported(
                    "the join filter on an array reference (Perl would join ARRAY(0x...))".into(),
                ))
            }
        }
    }
    Ok(out)
}

/// A filter argument as Test::Base's `current_arguments` gives it: `\s` becomes a space,
/// then each `\` and lower-case letter becomes what that escape is in a Perl double-quoted
/// string (a letter without a meaning stands for itself; `\c`, `\l`, `\o`, `\u` for nothing).
fn filter_argument(argument: &str) -> Vec<u8> {
    let argument = argument.replace("\\s", " ");
    let bytes = argument.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape =
            bytes.get(i + 1).copied().filter(|c| bytes[i] == b'\\' && c.is_ascii_lowercase());
        let Some(letter) = escape else {
            out.push(bytes[i]);
            i += 1;
            continue;
        };
        match letter {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'e' => out.push(0x1b),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => out.push(0),
            b'c' | b'l' | b'o' | b'u' => {}
            other => out.push(other),
        }
        i += 2;
    }
    out
}

/// Applies a string filter to each string of a list (and inside array references).
fn map_strings(
    list: Vec<Value>,
    f: impl Fn(Vec<u8>) -> Vec<u8> + Copy,
) -> Result<Vec<Value>, FilterFault> {
    list.into_iter().map(|value| map_value(value, f)).collect()
}

fn map_value(value: Value, f: impl Fn(Vec<u8>) -> Vec<u8> + Copy) -> Result<Value, FilterFault> {
    match value {
        Value::Str(s) => Ok(Value::Str(f(s))),
        Value::List(items) => {
            items.into_iter().map(|v| map_value(v, f)).collect::<Result<_, _>>().map(Value::List)
        }
        Value::Regex(_) => {
            Err(FilterFault::Unsupported("a string filter applied to a regex".into()))
        }
    }
}

/// `norm`: CRLF to LF, then any remaining CR to LF.
fn norm(s: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\r' {
            out.push(b'\n');
            if s.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(s[i]);
        }
        i += 1;
    }
    out
}

/// `trim`: drops leading lines of spaces and tabs, and all whitespace after the last newline
/// when nothing but whitespace follows it.
fn trim(s: Vec<u8>) -> Vec<u8> {
    // s/\A([ \t]*\n)+//
    let mut start = 0;
    loop {
        let blank = s[start..].iter().take_while(|b| **b == b' ' || **b == b'\t').count();
        if s.get(start + blank) == Some(&b'\n') {
            start += blank + 1;
        } else {
            break;
        }
    }
    let s = &s[start..];

    // s/(?<=\n)\s*\z//: cut at the first newline after which only whitespace remains.
    let mut end = s.len();
    for i in 0..s.len() {
        if s[i] == b'\n' && s[i + 1..].iter().all(|b| is_perl_space(*b)) {
            end = i + 1;
            break;
        }
    }
    s[..end].to_vec()
}

/// Perl's `\s` on bytes: space, `\t`, `\n`, `\x0b`, `\f`, `\r`.
fn is_perl_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Removes the last character (a whole UTF-8 sequence when the text is UTF-8).
fn pop_char(s: &mut Vec<u8>) {
    if let Ok(text) = std::str::from_utf8(s) {
        if let Some(c) = text.chars().last() {
            let len = s.len() - c.len_utf8();
            s.truncate(len);
        }
    } else {
        s.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Spec {
        parse_file(Path::new("x.t"), &format!("use Test::Nginx;\n__DATA__\n{spec}")).unwrap()
    }

    fn value(spec: &str, section: &str) -> Vec<u8> {
        parse(spec).blocks[0].bytes(section).unwrap().to_vec()
    }

    #[test]
    fn multi_line_keeps_one_trailing_newline() {
        assert_eq!(value("=== T\n--- x\nhello\n\n\n", "x"), b"hello\n");
        assert_eq!(value("=== T\n--- x\n\n\nhello\n--- y\n", "x"), b"hello\n");
        assert_eq!(value("=== T\n--- x\na\n\nb\n\n", "x"), b"a\n\nb\n");
        assert_eq!(value("=== T\n--- x\n  indented\n", "x"), b"  indented\n");
        assert_eq!(value("=== T\n--- x\nline1   \n\n", "x"), b"line1   \n");
    }

    #[test]
    fn empty_and_inline_values() {
        assert_eq!(value("=== T\n--- x\n--- y: 5\n", "x"), b"");
        assert_eq!(value("=== T\n--- x\n--- y: 5\n", "y"), b"5");
        assert_eq!(value("=== T\n--- c: a: b\n", "c"), b"a: b");
        assert_eq!(value("=== T\n--- x:   spaced out  \n", "x"), b"spaced out");
        assert_eq!(value("=== T\n--- x:\n", "x"), b"");
    }

    #[test]
    fn chomp_chop_and_removal() {
        assert_eq!(value("=== T\n--- x chomp\nhello\n", "x"), b"hello");
        assert_eq!(value("=== T\n--- x chop\nhello\n", "x"), b"hello");
        assert_eq!(value("=== T\n--- x chop: hello\n", "x"), b"hell");
        assert_eq!(value("=== T\n--- x -trim\n\nhello\n\n", "x"), b"\nhello\n\n");
        assert_eq!(value("=== T\n--- x +chomp chop\nab\n", "x"), b"ab");
    }

    #[test]
    fn norm_turns_cr_into_lf() {
        assert_eq!(value("=== T\n--- x\na\r\nb\rc\n", "x"), b"a\nb\nc\n");
    }

    #[test]
    fn eval_sections() {
        assert_eq!(value("=== T\n--- x eval\n\"a\\r\\n\" . \"y\" x 3\n", "x"), b"a\r\nyyy");
        let spec = parse("=== T\n--- x eval: qr/hi/\n");
        assert!(matches!(spec.blocks[0].get("x"), Some(Value::Regex(_))));
    }

    #[test]
    fn join_takes_the_whole_list() {
        assert_eq!(value("=== T\n--- x eval join\n\"a\", \"b\", 0x41\n", "x"), b"ab65");
        assert_eq!(value("=== T\n--- x eval join=\\s\n\"a\", \"b\"\n", "x"), b"a b");
        assert_eq!(value("=== T\n--- x lines chomp join=\\n\nx\ny\n", "x"), b"x\ny");
        assert_eq!(value("=== T\n--- x eval join=-\nqr/a/i, 1\n", "x"), b"(?^i:a)-1");
        assert_eq!(value("=== T\n--- x eval join\n()\n", "x"), b"");
        assert_eq!(value("=== T\n--- x lines\none\ntwo\n", "x"), b"one\n");
        let spec = parse("=== T\n--- x eval join\n[1], 2\n");
        assert!(spec.blocks[0].faults[0].contains("array reference"), "{:?}", spec.blocks[0]);
    }

    #[test]
    fn a_list_where_a_scalar_must_be_stops_the_file() {
        let err = parse_file(Path::new("x.t"), "__DATA__\n=== T\n--- x lines eval\na\nb\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "x.t: T: --- x: Input to the 'eval' filter must be a scalar, not a list");
    }

    #[test]
    fn names_and_descriptions() {
        let spec = parse("junk\n=== TEST 1: a  \n\nsome text  \n--- x\n1\n=== TEST 2\n--- x\n");
        assert_eq!(spec.blocks[0].name, "TEST 1: a  ");
        assert_eq!(spec.blocks[0].description, "some text");
        assert_eq!(spec.blocks[1].description, "TEST 2");
        assert_eq!(spec.blocks[0].line, 4);
        assert_eq!(spec.blocks[0].section("x").unwrap().line, 7);
    }

    #[test]
    fn header_forms() {
        let spec = parse("=== T\n--- (x) chomp\nab\n---y\n--- z_1\n");
        let block = &spec.blocks[0];
        assert_eq!(block.bytes("x"), Some(&b"ab\n---y"[..]));
        assert!(block.has("z_1"));
    }

    #[test]
    fn repeated_section_later_body_wins() {
        assert_eq!(value("=== T\n--- x\none\n--- x\ntwo\n", "x"), b"two\n");
    }

    #[test]
    fn only_skip_last() {
        let spec = parse("=== A\n--- x\n=== B\n--- SKIP\n=== C\n--- LAST\n=== D\n");
        let names: Vec<_> = spec.blocks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["A", "C"]);
        let spec = parse("=== A\n--- SKIP\n=== B\n--- ONLY\n--- SKIP\n=== C\n");
        assert_eq!(spec.blocks.len(), 1);
        assert_eq!(spec.blocks[0].name, "B");
        assert!(spec.found_only);
    }

    #[test]
    fn errors_name_block_and_section() {
        let err = |spec: &str| {
            parse_file(Path::new("x.t"), &format!("__DATA__\n{spec}")).unwrap_err().to_string()
        };
        assert_eq!(
            err("=== T\n--- x: 1\nmore\n"),
            "x.t: T: Extra lines not allowed in 'x' section"
        );
        assert_eq!(
            err("=== T\n--- name\n"),
            "x.t: T: 'name' is a reserved name. Use something else."
        );
        assert_eq!(err("=== T\n--- _x\n"), "x.t: T: '_x' is a reserved name. Use something else.");
        assert_eq!(
            err("=== T\n--- x bogus\n1\n"),
            "x.t: T: --- x: Can't find a function or method for 'bogus' filter"
        );
        let spec = parse_file(Path::new("x.t"), "__DATA__\n=== T\n--- x eval\nprint 1\n").unwrap();
        assert!(spec.blocks[0].faults[0].starts_with("--- x: the eval filter: Perl beyond"));
        assert!(parse_file(Path::new("x.t"), "=== T\n").is_err());
    }
}
