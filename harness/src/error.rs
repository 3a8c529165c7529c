//! The runner's typed errors: faults in a `.t` file, and faults that stop a whole run.

use std::path::PathBuf;

use crate::report::Summary;

/// A fault in a `.t` file found while reading it; the message names file, block and section.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// The file has no `__DATA__` line, so no spec.
    #[error("{}: no __DATA__ line: a .t file keeps its blocks after __DATA__", path.display())]
    NoData {
        /// The file.
        path: PathBuf,
    },
    /// A section uses a name Test::Base reserves.
    #[error("{}: {block}: '{section}' is a reserved name. Use something else.", path.display())]
    Reserved {
        /// The file.
        path: PathBuf,
        /// The block name.
        block: String,
        /// The section name.
        section: String,
    },
    /// An inline section (`--- x: value`) also has body lines.
    #[error("{}: {block}: Extra lines not allowed in '{section}' section", path.display())]
    ExtraLines {
        /// The file.
        path: PathBuf,
        /// The block name.
        block: String,
        /// The section name.
        section: String,
    },
    /// A filter failed or is unknown.
    #[error("{}: {block}: --- {section}: {message}", path.display())]
    Filter {
        /// The file.
        path: PathBuf,
        /// The block name.
        block: String,
        /// The section name.
        section: String,
        /// What went wrong.
        message: String,
    },
    /// A block is malformed.
    #[error("{}: {block}: {message}", path.display())]
    Block {
        /// The file.
        path: PathBuf,
        /// The block name.
        block: String,
        /// What went wrong.
        message: String,
    },
}

/// A fault that stops the whole run (Test::Nginx's "bail out").
#[derive(Debug, thiserror::Error)]
pub enum BailOut {
    /// A `.t` file could not be parsed.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// `$TEST_NGINX_X` is used where it is expanded but not defined.
    #[error("{file}: {block} - No environment {name} defined.")]
    UndefinedEnv {
        /// The file.
        file: String,
        /// The block name.
        block: String,
        /// The variable name.
        name: String,
    },
    /// No free port could be found.
    #[error(transparent)]
    NoFreePort(#[from] crate::ports::NoFreePorts),
    /// The binary under test could not be run at all.
    #[error("cannot run {}: {source}", binary.display())]
    Binary {
        /// The binary.
        binary: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file system step of the runner failed (server root, config file).
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What the runner was doing.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The table of deliberate differences is malformed.
    #[error("{}: {message}", path.display())]
    Differences {
        /// The table file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The paths given hold no `.t` file.
    #[error("no .t files in {0}")]
    NoFiles(String),
    /// A path given to the runner is neither a `.t` file nor a directory.
    #[error("{}: not a .t file or a directory", path.display())]
    NotATestPath {
        /// The path.
        path: PathBuf,
    },
}

/// A run that bailed out: what ran before it stopped, and why (Test::Nginx runs the blocks
/// before the one that bails out, and prove reports their checks).
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Stopped {
    /// The files that ran, the last of them cut short at the bail-out.
    pub ran: Summary,
    /// Why the run stopped.
    pub reason: BailOut,
}

impl Stopped {
    /// The closing line of what ran, saying that the run bailed out.
    pub fn closing_line(&self) -> String {
        format!("{} (bailed out)", self.ran.closing_line())
    }
}

impl From<BailOut> for Box<Stopped> {
    /// A bail-out before any file ran.
    fn from(reason: BailOut) -> Box<Stopped> {
        Box::new(Stopped { ran: Summary::default(), reason })
    }
}
