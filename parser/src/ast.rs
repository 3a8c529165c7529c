//! The configuration tree: directives with their arguments, blocks and source locations.
//!
//! Values are bytes, never `String`: a configuration may hold Latin-1 or other non-UTF-8
//! bytes, and they pass through unchanged.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a token starts: the file it was read from, its line (1-based, counted on LF only,
/// as nginx counts) and its column (1-based, in bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file, as nginx names it in messages (absolute for the main file and includes);
    /// `None` for the `-g` command-line directives.
    pub file: Option<Arc<Path>>,
    /// 1-based line number.
    pub line: usize,
    /// 1-based byte column.
    pub column: usize,
}

/// How an argument was written in the source, so the printer can write it back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quote {
    /// A bare token.
    None,
    /// A token between `'` quotes.
    Single,
    /// A token between `"` quotes.
    Double,
    /// The body of a `*_by_lua_block` directive: the Lua text between its `{` and matching
    /// `}`, verbatim (no escape rewriting), printed back as `{BODY}`.
    Lua,
}

/// One argument of a directive (the name is argument zero in nginx's terms; here it is kept
/// apart in [`Directive::name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The value nginx stores: quotes removed and escapes rewritten (`\"` `\'` `\\` `\n` `\r`
    /// `\t`; every other `\X` kept as written).
    pub value: Vec<u8>,
    /// The quoting the token was written with.
    pub quote: Quote,
    /// Where the token starts.
    pub location: Location,
}

/// A directive: its name, arguments, optional block and where it was written.
///
/// Entries of `map`, `geo`, `split_clients` and `types` blocks are directives too: the key is
/// the name and the value(s) the arguments, exactly as nginx's lexer hands them over.
/// `include` directives stay in the tree (for `-T`, `fmt` and JSON output) and point at the
/// files they read through [`Directive::includes`]; [`Block::expanded`] walks a block with
/// includes replaced by what they read, the view nginx's modules see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The directive name (or the entry key in a map-like block).
    pub name: Arg,
    /// The arguments after the name.
    pub args: Vec<Arg>,
    /// The block after `{`, when the directive ended with one.
    pub block: Option<Block>,
    /// For `include`: indexes into [`Config::files`] of the files it read, in read order.
    pub includes: Vec<usize>,
    /// The line of the `;` or `{` that ended the directive (for a `*_by_lua_block`, of its
    /// `{`): the line nginx's messages about this directive name, since nginx reports the
    /// lexer's current line when it handles a directive.
    pub end_line: usize,
    /// The line of the `}` that closed the block (0 without a block, or when the parse
    /// stopped inside it): nginx's line for checks made when a block closes.
    pub close_line: usize,
}

/// The directives of one block (or one file), in source order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// Directives in source order, `include` directives included.
    pub directives: Vec<Directive>,
}

/// One file of the configuration, in the order nginx read it (the main file first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The absolute path of the file.
    pub path: PathBuf,
    /// The bytes of the file as read.
    pub content: Vec<u8>,
    /// The directives this file holds, parsed in the context of the including block.
    pub block: Block,
}

/// A whole configuration: the main file and every file it includes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Every file read, main file first, then includes in read order.
    pub files: Vec<SourceFile>,
    /// Directives given with `-g`, parsed as main-context directives.
    pub globals: Block,
}
