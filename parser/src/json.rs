//! The tree as crossplane's JSON payload (`crossplane parse`), so tools built for crossplane
//! can read strait's parse: `{status, errors, config: [{file, status, errors, parsed}]}`,
//! each parsed directive `{directive, line, args, includes?, block?}`.
//!
//! Values are the ones nginx stores (quotes removed, nginx's escapes rewritten), where
//! crossplane keeps most escapes as written (`\\`, `\n`); `line` is the line the directive's
//! name starts on, as in crossplane. JSON strings are Unicode, so bytes that are not UTF-8
//! are replaced with U+FFFD, as crossplane's own reader does (lossy, documented; the tree
//! itself keeps the bytes). `*_by_lua_block` bodies are one argument, as in crossplane with
//! its Lua extension. The parentheses of an `if` condition are stripped, as crossplane does.
//! Object keys come out sorted (serde_json without `preserve_order`), which JSON readers
//! do not mind. crossplane also drops directives its own (older) table does not know, with
//! an error; strait keeps every directive the lexer read.

use serde_json::{json, Map, Value};

use crate::ast::{Block, Config, Directive};
use crate::error::ParseError;

/// The payload for a configuration, with the fault that stopped its parse (if any).
///
/// A fault is reported crossplane's way: `status` "failed" at the top and for the file
/// named by the fault, with `{error, line}` in that file's `errors` and
/// `{file, error, line}` in the top-level `errors`.
pub fn payload(config: &Config, error: Option<&ParseError>) -> Value {
    let mut files = Vec::new();
    for file in &config.files {
        let path = String::from_utf8_lossy(file.path.as_os_str().as_encoded_bytes()).into_owned();
        files.push(json!({
            "file": path,
            "status": "ok",
            "errors": [],
            "parsed": block(&file.block),
        }));
    }
    let mut errors = Vec::new();
    if let Some(error) = error {
        let (file, line) = match &error.place {
            crate::ErrorPlace::File { path, line } => {
                (Some(path.to_string_lossy().into_owned()), Some(*line))
            }
            _ => (None, None),
        };
        if let Some(entry) = files.iter_mut().find(|f| f["file"].as_str() == file.as_deref()) {
            entry["status"] = json!("failed");
            entry["errors"] = json!([{ "error": error.to_string(), "line": line }]);
        }
        errors.push(json!({ "file": file, "error": error.to_string(), "line": line }));
    }
    let status = if errors.is_empty() { "ok" } else { "failed" };
    json!({ "status": status, "errors": errors, "config": files })
}

/// crossplane's `_prepare_if_args`: the parentheses around an `if` condition are removed
/// (`if ($a ~ b)` has the arguments `$a`, `~`, `b`), and arguments left empty dropped.
fn strip_if_parentheses(args: &mut Vec<Vec<u8>>) {
    let wrapped = args.first().is_some_and(|a| a.starts_with(b"("))
        && args.last().is_some_and(|a| a.ends_with(b")"));
    if !wrapped {
        return;
    }
    let first = args[0][1..].trim_ascii_start().to_vec();
    args[0] = first;
    let last = args.len() - 1;
    let end = args[last].len().saturating_sub(1);
    args[last] = args[last][..end].trim_ascii_end().to_vec();
    if args.last().is_some_and(Vec::is_empty) {
        args.pop();
    }
    if args.first().is_some_and(Vec::is_empty) {
        args.remove(0);
    }
}

/// The `parsed` list of a block.
fn block(block: &Block) -> Value {
    Value::Array(block.directives.iter().map(directive).collect())
}

/// One directive object.
fn directive(d: &Directive) -> Value {
    let text = |bytes: &[u8]| Value::String(String::from_utf8_lossy(bytes).into_owned());
    let mut object = Map::new();
    object.insert("directive".into(), text(&d.name.value));
    object.insert("line".into(), json!(d.name.location.line));
    let mut args: Vec<Vec<u8>> = d.args.iter().map(|a| a.value.clone()).collect();
    if d.name.value == b"if" {
        strip_if_parentheses(&mut args);
    }
    object.insert("args".into(), Value::Array(args.iter().map(|a| text(a)).collect()));
    if d.name.value == b"include" {
        object.insert("includes".into(), json!(d.includes));
    }
    if let Some(inner) = &d.block {
        object.insert("block".into(), block(inner));
    }
    Value::Object(object)
}
