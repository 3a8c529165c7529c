//! strait-parser: reads nginx configuration exactly as nginx does.
//!
//! [`parse_file`] reads a configuration (with its includes and the `-g` directives) into a
//! [`Config`] tree of byte values; [`parse_file_partial`] also returns the tree read before a
//! fault, so the checks can report faults in nginx's order. [`template::Template`] compiles
//! an argument into literal and variable segments.
//!
//! # Differences from nginx (parser core)
//!
//! - A file that includes itself: nginx recurses until `open() "F" failed (24: Too many open
//!   files)`; strait gives that message as soon as the cycle closes, so directives nginx
//!   would handle on the repeated passes (and their faults) are not seen.
//! - Blocks nested more than [`MAX_BLOCK_DEPTH`] (500) deep: nginx accepts them; strait
//!   reports `blocks nested deeper than 500 levels`, so that no input can exhaust the stack.
//! - Glob patterns that are not UTF-8 or are malformed (an unclosed `[`): glibc's `glob()`
//!   decides in nginx; strait matches nothing.
//! - A Lua token (long string or comment) that does not fit nginx-lua's 4096-byte buffer:
//!   nginx-lua fails (`too long lua code block, ...` or `... missing the closing long
//!   bracket ..., the inlined Lua code may be too long`); strait accepts it.
//! - `include` inside `split_clients`: its handler reads `include` as a key; strait reads
//!   the file.
//! - `include NAME` inside a `geo` block with `ranges`: nginx first tries `NAME.bin`, a
//!   binary base it wrote earlier; strait reads `NAME` only.
#![warn(missing_docs)]

pub mod ast;
pub mod check;
pub mod error;
pub mod json;
mod lexer;
pub mod print;
pub mod registry;
pub mod template;
mod tree;
pub mod values;

use std::path::Path;

pub use ast::{Arg, Block, Config, Directive, Location, Quote, SourceFile};
pub use error::{ErrorKind, ErrorPlace, ParseError};
pub use template::{Segment, Template};
pub use tree::{Expanded, ParseOptions, ParseOutcome, MAX_BLOCK_DEPTH};

/// Parses the configuration file at `path` (the name nginx would print: absolute, or as
/// given) with its includes, and the `-g` directives of `options`.
///
/// Relative includes are taken from the directory of `path`. The first fault stops the
/// parse and is returned with nginx's message and place.
pub fn parse_file(path: impl AsRef<Path>, options: &ParseOptions) -> Result<Config, ParseError> {
    into_result(parse_file_partial(path, options))
}

/// Like [`parse_file`], with the main file's content given (includes are still read from
/// disk, relative to the directory of `path`).
pub fn parse_bytes(
    bytes: &[u8],
    path: impl AsRef<Path>,
    options: &ParseOptions,
) -> Result<Config, ParseError> {
    into_result(parse_bytes_partial(bytes, path, options))
}

/// Like [`parse_file`], but returns the tree read before a fault together with the fault.
pub fn parse_file_partial(path: impl AsRef<Path>, options: &ParseOptions) -> ParseOutcome {
    tree::build(path.as_ref(), None, options)
}

/// Like [`parse_bytes`], but returns the tree read before a fault together with the fault.
pub fn parse_bytes_partial(
    bytes: &[u8],
    path: impl AsRef<Path>,
    options: &ParseOptions,
) -> ParseOutcome {
    tree::build(path.as_ref(), Some(bytes.to_vec()), options)
}

/// The tree, or the fault that stopped it.
fn into_result(outcome: ParseOutcome) -> Result<Config, ParseError> {
    match outcome.error {
        Some(error) => Err(error),
        None => Ok(outcome.config),
    }
}
