//! Building the configuration tree from the lexer's directives: blocks, `include` (with
//! globs, relative to the main file's directory; inside `geo`, one file by its name, as
//! geo's own include reads it), `*_by_lua_block` bodies, and the `-g`
//! directives; and walking it with includes expanded ([`Block::expanded`]).
//!
//! The builder stops at the first fault, as nginx does, and keeps what it read before it
//! ([`ParseOutcome`]): every directive nginx would have handled before the fault is in the
//! tree, so the checks can report an earlier fault first, as nginx would.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::ast::{Block, Config, Directive, SourceFile};
use crate::error::{ErrorKind, ErrorPlace, ParseError};
use crate::lexer::{Event, LexError, Lexer, Mode};

/// How deep blocks may nest in one file. nginx has no such limit (its recursion is bounded
/// by its stack); strait needs one so that no input can exhaust the stack.
pub const MAX_BLOCK_DEPTH: usize = 500;

/// errno for "Too many open files", nginx's fate when a file includes itself.
const EMFILE: i32 = 24;

/// Options of a parse, from nginx's command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// The `-g` string: main-context directives parsed before the file (empty: none).
    pub globals: Vec<u8>,
}

/// What a parse produced: the tree as far as it got, and the fault that stopped it.
///
/// When `error` is set, the tree holds every directive nginx would have handled before the
/// fault; the blocks still open at the fault (whose closing checks nginx never ran) are, at
/// each depth, the last directive of their block, down from the file or `-g` string where
/// the fault is. When the main file cannot be opened, `config.files` is empty; after a fault
/// in the `-g` string, the main file is listed (`files[0]`) but not parsed (empty block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOutcome {
    /// The tree read.
    pub config: Config,
    /// The fault that stopped the parse, if any.
    pub error: Option<ParseError>,
}

/// Where the directives being built come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A file: `}` at top level is unexpected, end of input is fine.
    File,
    /// The `-g` string: blocks are not allowed.
    Param,
}

/// The tree under construction, and the files read so far.
#[derive(Debug)]
struct Builder {
    /// Every file read, in read order.
    files: Vec<SourceFile>,
    /// File index by full name, so a file included twice is read once.
    by_path: HashMap<PathBuf, usize>,
    /// The files being parsed, outermost first (an include of one of them is a cycle).
    open: Vec<PathBuf>,
    /// The directory of the main file, with its trailing `/` (nginx's conf prefix).
    conf_prefix: Vec<u8>,
    /// The file being parsed was included from a `geo` block: its own `include`s are geo's.
    geo_file: bool,
}

/// Parses the main file (`content`, or read from `path`), with the `-g` directives.
pub(crate) fn build(path: &Path, content: Option<Vec<u8>>, options: &ParseOptions) -> ParseOutcome {
    let bytes = path.as_os_str().as_bytes();
    let prefix_len = bytes.iter().rposition(|&ch| ch == b'/').map_or(0, |at| at + 1);
    let mut builder = Builder {
        files: Vec::new(),
        by_path: HashMap::new(),
        open: Vec::new(),
        conf_prefix: bytes[..prefix_len].to_vec(),
        geo_file: false,
    };
    let mut globals = Block::default();

    // Step: read the main file first, so that it is `files[0]` even when `-g` includes.
    let content = match content {
        Some(content) => Ok(content),
        None => read_config_file(path),
    };
    let main = content.map(|content| builder.add_file(path.to_path_buf(), content));

    // Step: nginx parses the `-g` directives before the file.
    let mut error = None;
    if !options.globals.is_empty() {
        let mut lexer = Lexer::new(&options.globals, Mode::Param, None);
        let result = builder.parse_directives(&mut lexer, None, Source::Param, &mut globals);
        error = result.err();
    }

    // Step: then the main file, unless something failed already.
    if error.is_none() {
        error = match main {
            Ok(index) => builder.parse_file_at(index).err(),
            Err(failure) => Some(failure.fault(path, ErrorPlace::Nowhere)),
        };
    }

    ParseOutcome { config: Config { files: builder.files, globals }, error }
}

/// Why a configuration file could not be read, with the errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadFailure {
    /// open() failed: nginx names the directive that asked for the file.
    Open(i32),
    /// The file opened but reading it failed (a directory: EISDIR): nginx's `[crit]`
    /// `pread()` line, without a place.
    Read(i32),
}

impl ReadFailure {
    /// The fault for `path`, placed at `place` when nginx names one.
    fn fault(self, path: &Path, place: ErrorPlace) -> ParseError {
        let path = path.as_os_str().as_bytes().to_vec();
        match self {
            ReadFailure::Open(errno) => ParseError { kind: ErrorKind::Open { path, errno }, place },
            ReadFailure::Read(errno) => ParseError::nowhere(ErrorKind::Read { path, errno }),
        }
    }
}

/// Reads a configuration file as nginx does: open() it, then read it. A directory opens
/// and fails the read, as with nginx (`pread() "D" failed (21: Is a directory)`).
fn read_config_file(path: &Path) -> Result<Vec<u8>, ReadFailure> {
    use std::io::Read;
    let errno = |err: std::io::Error| err.raw_os_error().unwrap_or(2);
    let mut file = std::fs::File::open(path).map_err(|err| ReadFailure::Open(errno(err)))?;
    let mut content = Vec::new();
    file.read_to_end(&mut content).map_err(|err| ReadFailure::Read(errno(err)))?;
    Ok(content)
}

/// The place of a fault at `line` of `file` (`None`: the `-g` string).
fn place(file: &Option<Arc<Path>>, line: usize) -> ErrorPlace {
    match file {
        Some(path) => ErrorPlace::File { path: Arc::clone(path), line },
        None => ErrorPlace::CommandLine,
    }
}

/// A lexer fault as the public error.
fn lex_error(err: LexError, file: &Option<Arc<Path>>) -> ParseError {
    ParseError { place: place(file, err.line), kind: err.kind }
}

/// Whether an include argument is a glob pattern (nginx: any of `*?[`).
fn is_glob(pattern: &[u8]) -> bool {
    pattern.iter().any(|ch| matches!(ch, b'*' | b'?' | b'['))
}

/// The files a glob pattern names, sorted by their bytes as glibc's `glob()` (C locale)
/// sorts them; `*` and `?` do not match a leading dot.
fn glob_paths(pattern: &[u8]) -> Vec<PathBuf> {
    let pattern = String::from_utf8_lossy(pattern);
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let Ok(paths) = glob::glob_with(&pattern, options) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
    paths.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    paths
}

/// One open block while a file is parsed: the directive that opened it and what it holds.
#[derive(Debug)]
struct Frame {
    directive: Directive,
}

impl Builder {
    /// Records a file read, returning its index.
    fn add_file(&mut self, path: PathBuf, content: Vec<u8>) -> usize {
        let index = self.files.len();
        self.by_path.insert(path.clone(), index);
        self.files.push(SourceFile { path, content, block: Block::default() });
        index
    }

    /// Parses the file at `index`, storing its directives (all of them read, even on error).
    fn parse_file_at(&mut self, index: usize) -> Result<(), ParseError> {
        let content = std::mem::take(&mut self.files[index].content);
        let path = self.files[index].path.clone();
        let file: Option<Arc<Path>> = Some(Arc::from(path.as_path()));
        self.open.push(path);

        let mut block = Block::default();
        let mut lexer = Lexer::new(&content, Mode::File, file.clone());
        let result = self.parse_directives(&mut lexer, file, Source::File, &mut block);

        self.open.pop();
        self.files[index].content = content;
        self.files[index].block = block;
        result
    }

    /// Reads directives into `top` until the input ends, keeping what was read on a fault.
    fn parse_directives(
        &mut self,
        lexer: &mut Lexer<'_>,
        file: Option<Arc<Path>>,
        source: Source,
        top: &mut Block,
    ) -> Result<(), ParseError> {
        let mut stack: Vec<Frame> = Vec::new();
        let result = self.parse_into(lexer, &file, source, top, &mut stack);

        // Step: on a fault, hang the blocks still open back on their parents.
        while let Some(frame) = stack.pop() {
            let parent = match stack.last_mut() {
                Some(parent) => parent.directive.block.get_or_insert_with(Block::default),
                None => &mut *top,
            };
            parent.directives.push(frame.directive);
        }
        result
    }

    /// The directive loop of [`Builder::parse_directives`]; open blocks live on `stack`.
    fn parse_into(
        &mut self,
        lexer: &mut Lexer<'_>,
        file: &Option<Arc<Path>>,
        source: Source,
        top: &mut Block,
        stack: &mut Vec<Frame>,
    ) -> Result<(), ParseError> {
        loop {
            let event = lexer.next_event().map_err(|err| lex_error(err, file))?;
            let (words, opens_block, line) = match event {
                // Step: the end of input is fine only outside blocks.
                Event::End { line } => {
                    if stack.is_empty() {
                        return Ok(());
                    }
                    return Err(ParseError {
                        kind: ErrorKind::UnclosedBlock,
                        place: place(file, line),
                    });
                }

                // Step: `}` closes the innermost block; at top level nothing is open.
                Event::BlockEnd { line } => {
                    let Some(mut frame) = stack.pop() else {
                        let kind = ErrorKind::UnexpectedChar(b'}');
                        return Err(ParseError { kind, place: place(file, line) });
                    };
                    frame.directive.close_line = line;
                    let parent = match stack.last_mut() {
                        Some(parent) => parent.directive.block.get_or_insert_with(Block::default),
                        None => &mut *top,
                    };
                    parent.directives.push(frame.directive);
                    continue;
                }
                Event::Statement { words, block, line } => (words, block, line),
            };

            // Step: `-g` takes no blocks.
            if opens_block && source == Source::Param {
                let kind = ErrorKind::BlockInCommandLine;
                return Err(ParseError { kind, place: ErrorPlace::CommandLine });
            }

            let mut args = words;
            let name = args.remove(0);
            let mut directive = Directive {
                name,
                args,
                block: None,
                includes: Vec::new(),
                end_line: line,
                close_line: 0,
            };
            let in_geo = match stack.last() {
                Some(frame) => frame.directive.name.value == b"geo",
                None => self.geo_file,
            };
            let parent = match stack.last_mut() {
                Some(parent) => parent.directive.block.get_or_insert_with(Block::default),
                None => &mut *top,
            };

            // Step: a `*_by_lua_block` body is Lua, read whole as one argument.
            if opens_block && directive.name.value.ends_with(b"_by_lua_block") {
                let body = lexer.lua_block(line).map_err(|err| lex_error(err, file))?;
                directive.args.push(body);
                parent.directives.push(directive);
                continue;
            }

            // Step: any other `{` opens a block.
            if opens_block {
                if stack.len() == MAX_BLOCK_DEPTH {
                    let text = format!("blocks nested deeper than {MAX_BLOCK_DEPTH} levels");
                    let kind = ErrorKind::Message(text.into_bytes());
                    return Err(ParseError { kind, place: place(file, line) });
                }
                directive.block = Some(Block::default());
                stack.push(Frame { directive });
                continue;
            }

            // Step: `include FILE;` reads the files right here, as nginx does; inside `geo`,
            // geo's own include reads one file by its name (no glob).
            let include = directive.name.value == b"include" && directive.args.len() == 1;
            parent.directives.push(directive);
            if include {
                let directive = parent.directives.last_mut().expect("just pushed");
                let pattern = directive.args[0].value.clone();
                self.include(&pattern, in_geo, file, line, &mut directive.includes)?;
            }
        }
    }

    /// Reads the files of `include PATTERN;` (at `line` of `from`), recording their indexes;
    /// `geo`: geo's include, which takes the pattern as one file's name.
    fn include(
        &mut self,
        pattern: &[u8],
        geo: bool,
        from: &Option<Arc<Path>>,
        line: usize,
        includes: &mut Vec<usize>,
    ) -> Result<(), ParseError> {
        // Step: a relative name is taken from the main file's directory.
        let full = if pattern.first() == Some(&b'/') {
            pattern.to_vec()
        } else {
            [self.conf_prefix.as_slice(), pattern].concat()
        };

        // Step: a plain name must exist; a glob may match nothing.
        let paths = if !geo && is_glob(&full) {
            glob_paths(&full)
        } else {
            vec![PathBuf::from(OsStr::from_bytes(&full))]
        };

        for path in paths {
            // Step: a file including itself recurses in nginx until it runs out of files.
            if self.open.contains(&path) {
                return Err(ReadFailure::Open(EMFILE).fault(&path, place(from, line)));
            }

            // Step: a file already read is the same tree again.
            if let Some(&index) = self.by_path.get(&path) {
                includes.push(index);
                continue;
            }

            let content = read_config_file(&path)
                .map_err(|failure| failure.fault(&path, place(from, line)))?;
            let index = self.add_file(path, content);
            includes.push(index);
            let outer = std::mem::replace(&mut self.geo_file, geo);
            let parsed = self.parse_file_at(index);
            self.geo_file = outer;
            parsed?;
        }
        Ok(())
    }
}

/// One level of an [`Expanded`] walk.
#[derive(Debug)]
struct Level<'a> {
    directives: std::slice::Iter<'a, Directive>,
}

/// Iterator over a block's directives with `include` directives replaced by the directives
/// of the files they read, recursively (see [`Block::expanded`]).
#[derive(Debug)]
pub struct Expanded<'a> {
    config: &'a Config,
    stack: Vec<Level<'a>>,
    keep_includes: bool,
}

impl<'a> Iterator for Expanded<'a> {
    type Item = &'a Directive;

    fn next(&mut self) -> Option<&'a Directive> {
        loop {
            let level = self.stack.last_mut()?;
            let Some(directive) = level.directives.next() else {
                self.stack.pop();
                continue;
            };
            if directive.name.value != b"include" {
                return Some(directive);
            }

            // Step: descend into the included files, first file on top.
            for &index in directive.includes.iter().rev() {
                if let Some(file) = self.config.files.get(index) {
                    self.stack.push(Level { directives: file.block.directives.iter() });
                }
            }
            if self.keep_includes {
                return Some(directive);
            }
        }
    }
}

impl Block {
    /// The directives of this block as nginx's modules see them: each `include` replaced by
    /// the directives of the files it read (recursively, in read order). The blocks of the
    /// directives yielded are not expanded; call `expanded` on them in turn.
    pub fn expanded<'a>(&'a self, config: &'a Config) -> Expanded<'a> {
        Expanded {
            config,
            stack: vec![Level { directives: self.directives.iter() }],
            keep_includes: false,
        }
    }

    /// Like [`Block::expanded`], but each `include` directive is yielded too, just before
    /// the directives of the files it read (for checks of the `include` itself).
    pub fn expanded_with_includes<'a>(&'a self, config: &'a Config) -> Expanded<'a> {
        Expanded { keep_includes: true, ..self.expanded(config) }
    }
}

impl Config {
    /// The main file's directives (empty when the main file could not be read).
    pub fn main(&self) -> &Block {
        static EMPTY: Block = Block { directives: Vec::new() };
        self.files.first().map_or(&EMPTY, |file| &file.block)
    }
}
